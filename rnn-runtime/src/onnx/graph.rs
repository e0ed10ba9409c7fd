//! The graph of a model, layer by layer, from its [`Architecture`] and parameters.

use super::builder::Builder;
use super::lengths::StepLengths;
use super::proto::AttrValue;
use super::unroll;
use super::weights::{transpose, Rec, Weights};
use crate::architecture::{Architecture, Cell, Layer};
use crate::error::{Error, Result};
use crate::kernels::activation::Activation;
use crate::layers::CellActivation;

/// How recurrent layers appear in the graph.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Recurrence {
    /// ONNX's `LSTM`, `GRU` and `RNN` operators: compact, and what ONNX Runtime runs
    /// with its fused kernels.
    #[default]
    Operators,
    /// Every time step as primitive operators (`MatMul`, `Add`, `Split`, the
    /// activations). For engines that ignore the recurrent operators' `activations`
    /// attribute, as tract 0.23 does, when a cell's activations are overridden; the
    /// graph grows with the number of steps.
    Unrolled,
}

/// Where the current tensor's axes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// `[batch, T, width]`.
    BatchMajor,
    /// `[T, batch, width]`: what ONNX's recurrent operators read and write.
    SeqMajor,
    /// `[batch, width]`.
    Flat,
}

/// A tensor of the graph and the meaning of its axes.
#[derive(Clone, Debug)]
pub(crate) struct Value {
    pub(crate) name: String,
    pub(crate) layout: Layout,
}

/// Builds the whole graph into `b` from the input `input`; returns the output
/// tensor's name (`[batch, OUT]` or `[batch, T, OUT]`). With `lengths`, every
/// recurrent layer runs each sample over its first `len` steps only.
pub(crate) fn build(
    b: &mut Builder,
    arch: &Architecture,
    w: &Weights,
    input: &str,
    recurrence: Recurrence,
    lengths: Option<&StepLengths>,
) -> Result<String> {
    let mut cur = Value {
        name: input.to_string(),
        layout: Layout::BatchMajor,
    };
    for (index, layer) in arch.layers.iter().enumerate() {
        cur = match *layer {
            Layer::Embedding { vocab, dim } => {
                let table = w.get(&format!("{index}.weight"), vocab * dim)?;
                let table = b.f32(&format!("l{index}_embedding"), &[vocab, dim], table);
                Value {
                    name: b.op(
                        "Gather",
                        &[&table, &cur.name],
                        &[("axis", AttrValue::Int(0))],
                    ),
                    layout: Layout::BatchMajor,
                }
            }
            Layer::Dropout { .. } => cur,
            Layer::Dense {
                inputs,
                units,
                activation,
                ..
            } => dense(b, w, index, inputs, units, activation, cur)?,
            Layer::Recurrent {
                cell,
                inputs,
                hidden,
                bidirectional,
                return_sequences,
                activation,
                recurrent_activation,
                ..
            } => {
                let x = match cur.layout {
                    Layout::SeqMajor => cur.name,
                    Layout::BatchMajor => b.transpose(&cur.name, &[1, 0, 2]),
                    Layout::Flat => {
                        return Err(Error::OnnxExport(format!(
                            "layer {index} is recurrent but its input is not a sequence"
                        )))
                    }
                };
                let rec = Rec {
                    index,
                    cell,
                    inputs,
                    hidden,
                    bidirectional,
                    return_sequences,
                    activation,
                    recurrent_activation,
                };
                let name = match recurrence {
                    Recurrence::Operators => recurrent_operator(b, w, &rec, &x, lengths)?,
                    Recurrence::Unrolled => {
                        unroll::recurrent(b, w, &rec, &x, arch.timesteps, lengths)?
                    }
                };
                Value {
                    name,
                    layout: if return_sequences {
                        Layout::SeqMajor
                    } else {
                        Layout::Flat
                    },
                }
            }
        };
    }
    Ok(match cur.layout {
        Layout::SeqMajor => b.transpose(&cur.name, &[1, 0, 2]),
        _ => cur.name,
    })
}

/// `x · Wᵀ + b` on the last axis (MatMul broadcasts over the leading ones, so one form
/// serves a vector and every step of a sequence), then the activation.
fn dense(
    b: &mut Builder,
    w: &Weights,
    index: usize,
    inputs: usize,
    units: usize,
    activation: Activation,
    x: Value,
) -> Result<Value> {
    let weight = w.get(&format!("{index}.weight"), units * inputs)?;
    let bias = w.get(&format!("{index}.bias"), units)?;
    let wt = transpose(weight, units, inputs);
    let wt = b.f32(&format!("l{index}_weight_t"), &[inputs, units], &wt);
    let bias = b.f32(&format!("l{index}_bias"), &[units], bias);
    let z = b.bin("MatMul", &x.name, &wt);
    let z = b.bin("Add", &z, &bias);
    Ok(Value {
        name: dense_activation(b, activation, &z),
        layout: x.layout,
    })
}

/// A dense layer's activation in standard operators.
fn dense_activation(b: &mut Builder, activation: Activation, z: &str) -> String {
    match activation {
        Activation::Linear => z.to_string(),
        Activation::Relu => b.op("Relu", &[z], &[]),
        Activation::Tanh => b.op("Tanh", &[z], &[]),
        Activation::Sigmoid => b.op("Sigmoid", &[z], &[]),
        Activation::Softmax => b.op("Softmax", &[z], &[("axis", AttrValue::Int(-1))]),
        Activation::Elu => b.op("Elu", &[z], &[]),
        Activation::Softplus => b.op("Softplus", &[z], &[]),
        Activation::Gelu => {
            // x · ½ · (1 + erf(x / √2)): ONNX's Gelu operator arrived only in opset 20.
            let sqrt2 = b.scalar("sqrt2", std::f32::consts::SQRT_2);
            let one = b.scalar("one", 1.0);
            let half = b.scalar("half", 0.5);
            let e = b.bin("Div", z, &sqrt2);
            let e = b.op("Erf", &[&e], &[]);
            let e = b.bin("Add", &e, &one);
            let e = b.bin("Mul", z, &e);
            b.bin("Mul", &e, &half)
        }
    }
}

/// ONNX's name of a recurrent activation.
fn onnx_activation(a: CellActivation) -> &'static str {
    match a {
        CellActivation::Tanh => "Tanh",
        CellActivation::Sigmoid => "Sigmoid",
        CellActivation::Relu => "Relu",
        // Affine with its default α = 1, β = 0 is the identity.
        CellActivation::Linear => "Affine",
    }
}

/// Gate blocks of `rows` values each, rearranged: block `k` of the result is block
/// `order[k]` of `m`.
pub(crate) fn regate(m: &[f32], block: usize, order: &[usize]) -> Vec<f32> {
    order
        .iter()
        .flat_map(|&g| m[g * block..(g + 1) * block].iter().copied())
        .collect()
}

/// ONNX's `LSTM` / `GRU` / `RNN` operator for one layer reading `x` (`[T, batch, I]`),
/// with `lengths` as its `sequence_lens`; returns `[T, batch, D·H]` or `[batch, D·H]`.
fn recurrent_operator(
    b: &mut Builder,
    w: &Weights,
    rec: &Rec,
    x: &str,
    lengths: Option<&StepLengths>,
) -> Result<String> {
    let (h, i, dirs) = (rec.hidden, rec.inputs, rec.directions());
    // PyTorch's blocks → ONNX's: LSTM i f g o → i o f c; GRU r z n → z r h.
    let (op, order): (&str, &[usize]) = match rec.cell {
        Cell::Lstm => ("LSTM", &[0, 3, 1, 2]),
        Cell::Gru => ("GRU", &[1, 0, 2]),
        Cell::SimpleRnn => ("RNN", &[0]),
    };
    let g = order.len();
    let (mut wv, mut rv, mut bv) = (Vec::new(), Vec::new(), Vec::new());
    for d in 0..dirs {
        let [w_ih, w_hh, b_ih, b_hh] = rec.tensors(w, d)?;
        wv.extend(regate(w_ih, h * i, order));
        rv.extend(regate(w_hh, h * h, order));
        bv.extend(regate(b_ih, h, order));
        bv.extend(regate(b_hh, h, order));
    }
    let n = rec.index;
    let wn = b.f32(&format!("l{n}_W"), &[dirs, g * h, i], &wv);
    let rn = b.f32(&format!("l{n}_R"), &[dirs, g * h, h], &rv);
    let bn = b.f32(&format!("l{n}_B"), &[dirs, 2 * g * h], &bv);

    let mut attrs = vec![
        ("hidden_size", AttrValue::Int(h as i64)),
        (
            "direction",
            AttrValue::Str(if rec.bidirectional {
                "bidirectional"
            } else {
                "forward"
            }),
        ),
    ];
    if rec.cell == Cell::Gru {
        // PyTorch's GRU (and ours) applies the reset gate after `W_hn h + b_hn`.
        attrs.push(("linear_before_reset", AttrValue::Int(1)));
    }
    let (act, gate) = (rec.activation, rec.recurrent_activation);
    let per_direction: Vec<CellActivation> = match rec.cell {
        Cell::Lstm => vec![gate, act, act],
        Cell::Gru => vec![gate, act],
        Cell::SimpleRnn => vec![act],
    };
    let defaults = act == CellActivation::Tanh
        && (rec.cell == Cell::SimpleRnn || gate == CellActivation::Sigmoid);
    if !defaults {
        let names: Vec<&'static str> = (0..dirs)
            .flat_map(|_| per_direction.iter().map(|&a| onnx_activation(a)))
            .collect();
        if names.contains(&"Affine") {
            // Engines differ on whether α and β are consumed per listed activation or
            // only by those that take them; all ones and zeros read the same either way.
            attrs.push((
                "activation_alpha",
                AttrValue::Floats(vec![1.0; names.len()]),
            ));
            attrs.push(("activation_beta", AttrValue::Floats(vec![0.0; names.len()])));
        }
        attrs.push(("activations", AttrValue::Strs(names)));
    }

    let out = b.fresh(&format!("l{n}_{op}"));
    let mut inputs = vec![x, &wn, &rn, &bn];
    if let Some(l) = lengths {
        inputs.push(&l.lens);
    }
    if rec.return_sequences {
        b.op_into(op, &inputs, &[&out], &attrs);
        // Y is [T, D, batch, H]; the layer's output is [T, batch, D·H], forward first.
        Ok(if dirs == 1 {
            b.squeeze(&out, &[1])
        } else {
            let t = b.transpose(&out, &[0, 2, 1, 3]);
            b.reshape(&t, &[0, 0, -1])
        })
    } else {
        b.op_into(op, &inputs, &["", &out], &attrs);
        // Y_h is [D, batch, H]: each direction's final state (the reverse one's after
        // original step 0; with `sequence_lens`, the forward one's after the sample's
        // last step), as PyTorch's h_n.
        Ok(if dirs == 1 {
            b.squeeze(&out, &[0])
        } else {
            let t = b.transpose(&out, &[1, 0, 2]);
            b.reshape(&t, &[0, -1])
        })
    }
}

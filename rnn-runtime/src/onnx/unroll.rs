//! Recurrent layers as one block of primitive operators per time step.
//!
//! The alternative to ONNX's `LSTM` / `GRU` / `RNN` operators for engines that do not
//! honour their `activations` attribute (tract 0.23 always runs the default
//! sigmoid/tanh): every step is MatMul, Add, Split and the activations themselves, so
//! any engine computes exactly the declared cell. The graph grows with `T`.

use super::builder::Builder;
use super::lengths::StepLengths;
use super::proto::AttrValue;
use super::weights::{transpose, Rec, Weights};
use crate::architecture::Cell;
use crate::error::Result;
use crate::layers::CellActivation;

/// A cell activation applied to `x` (the identity adds no node).
fn act(b: &mut Builder, a: CellActivation, x: &str) -> String {
    match a {
        CellActivation::Tanh => b.op("Tanh", &[x], &[]),
        CellActivation::Sigmoid => b.op("Sigmoid", &[x], &[]),
        CellActivation::Relu => b.op("Relu", &[x], &[]),
        CellActivation::Linear => x.to_string(),
    }
}

/// The layer reading `x` (`[T, batch, I]`), unrolled over its `steps` steps; returns
/// `[T, batch, D·H]` or `[batch, D·H]` as the operator form does. With `lengths`, a
/// sample's state passes unchanged through the steps after its last one.
pub(crate) fn recurrent(
    b: &mut Builder,
    w: &Weights,
    rec: &Rec,
    x: &str,
    steps: usize,
    lengths: Option<&StepLengths>,
) -> Result<String> {
    let mut seqs = Vec::new();
    let mut lasts = Vec::new();
    for d in 0..rec.directions() {
        let (seq, last) = direction(b, w, rec, x, steps, d, lengths)?;
        seqs.push(seq);
        lasts.push(last);
    }
    Ok(if rec.return_sequences {
        let refs: Vec<&str> = seqs.iter().map(String::as_str).collect();
        if refs.len() == 1 {
            seqs.swap_remove(0)
        } else {
            b.concat(&refs, 2)
        }
    } else {
        let refs: Vec<&str> = lasts.iter().map(String::as_str).collect();
        if refs.len() == 1 {
            lasts.swap_remove(0)
        } else {
            b.concat(&refs, 1)
        }
    })
}

/// One direction: its `[T, batch, H]` outputs in original step order (built only for
/// `return_sequences`) and its final state `[batch, H]`.
///
/// With `lengths` the steps past a sample's length keep its state: the forward
/// direction ends on its last valid step, and the reverse one, starting from 0 at the
/// padding, begins at that step, as PyTorch's packed sequences and `sequence_lens` do.
fn direction(
    b: &mut Builder,
    w: &Weights,
    rec: &Rec,
    x: &str,
    steps: usize,
    d: usize,
    lengths: Option<&StepLengths>,
) -> Result<(String, String)> {
    let (h, i, gates) = (rec.hidden, rec.inputs, rec.cell.gates());
    let [w_ih, w_hh, b_ih, b_hh] = rec.tensors(w, d)?;
    let tag = format!("l{}{}", rec.index, Rec::suffix(d));
    // Input side for every step at once: x · W_ihᵀ + b_ih (+ b_hh where it is a plain sum).
    let mut bias: Vec<f32> = b_ih.iter().zip(b_hh).map(|(a, c)| a + c).collect();
    let mut b_hn = None;
    if rec.cell == Cell::Gru {
        // b_hn sits inside r · (W_hn h + b_hn): keep it on the hidden side.
        bias[2 * h..].copy_from_slice(&b_ih[2 * h..]);
        b_hn = Some(b.f32(&format!("{tag}_b_hn"), &[h], &b_hh[2 * h..]));
    }
    let wt = b.f32(
        &format!("{tag}_W_ih_t"),
        &[i, gates * h],
        &transpose(w_ih, gates * h, i),
    );
    let rt = b.f32(
        &format!("{tag}_W_hh_t"),
        &[h, gates * h],
        &transpose(w_hh, gates * h, h),
    );
    let bias = b.f32(&format!("{tag}_bias"), &[gates * h], &bias);
    let xw = b.bin("MatMul", x, &wt);
    let xw = b.bin("Add", &xw, &bias);

    let order: Vec<usize> = if d == 0 {
        (0..steps).collect()
    } else {
        (0..steps).rev().collect()
    };
    let mut state: Option<(String, Option<String>)> = None;
    let mut outputs: Vec<Option<String>> = vec![None; steps];
    let (a, ga) = (rec.activation, rec.recurrent_activation);
    let split =
        |b: &mut Builder, v: &str| b.op_n("Split", &[v], gates, &[("axis", AttrValue::Int(1))]);
    for &t in &order {
        let idx = b.i64("t", &[t as i64], true);
        let xt = b.op("Gather", &[&xw, &idx], &[("axis", AttrValue::Int(0))]);
        let hr = state.as_ref().map(|(hp, _)| b.bin("MatMul", hp, &rt));
        let (h_new, c_new) = match rec.cell {
            Cell::SimpleRnn => {
                let z = match &hr {
                    Some(hr) => b.bin("Add", &xt, hr),
                    None => xt,
                };
                (act(b, a, &z), None)
            }
            Cell::Lstm => {
                let z = match &hr {
                    Some(hr) => b.bin("Add", &xt, hr),
                    None => xt,
                };
                let parts = split(b, &z);
                let ig = act(b, ga, &parts[0]);
                let fg = act(b, ga, &parts[1]);
                let gg = act(b, a, &parts[2]);
                let og = act(b, ga, &parts[3]);
                let ic = b.bin("Mul", &ig, &gg);
                let c = match state.as_ref().and_then(|(_, c)| c.clone()) {
                    Some(cp) => {
                        let fc = b.bin("Mul", &fg, &cp);
                        b.bin("Add", &fc, &ic)
                    }
                    None => ic,
                };
                let ac = act(b, a, &c);
                (b.bin("Mul", &og, &ac), Some(c))
            }
            Cell::Gru => {
                let b_hn = b_hn.clone().unwrap_or_default();
                let xs = split(b, &xt);
                let (r, z, hn) = match &hr {
                    Some(hr) => {
                        let hs = split(b, hr);
                        let r = b.bin("Add", &xs[0], &hs[0]);
                        let z = b.bin("Add", &xs[1], &hs[1]);
                        (r, z, b.bin("Add", &hs[2], &b_hn))
                    }
                    // h = 0: the hidden side is its bias alone.
                    None => (xs[0].clone(), xs[1].clone(), b_hn),
                };
                let r = act(b, ga, &r);
                let z = act(b, ga, &z);
                let rn = b.bin("Mul", &r, &hn);
                let n = b.bin("Add", &xs[2], &rn);
                let n = act(b, a, &n);
                // h' = (1 - z) n + z h = n + z (h - n).
                let h_new = match &state {
                    Some((hp, _)) => {
                        let diff = b.bin("Sub", hp, &n);
                        let zd = b.bin("Mul", &z, &diff);
                        b.bin("Add", &n, &zd)
                    }
                    None => {
                        let zn = b.bin("Mul", &z, &n);
                        b.bin("Sub", &n, &zn)
                    }
                };
                (h_new, None)
            }
        };
        let (h_new, c_new) = match lengths {
            Some(l) => {
                let valid = b.op("Gather", &[&l.valid, &idx], &[("axis", AttrValue::Int(0))]);
                let keep = |b: &mut Builder, new: &str, old: Option<&str>| {
                    let old = old.map_or_else(|| b.scalar("zero", 0.0), str::to_string);
                    b.op("Where", &[&valid, new, &old], &[])
                };
                let h_prev = state.as_ref().map(|(h, _)| h.clone());
                let c_prev = state.as_ref().and_then(|(_, c)| c.clone());
                let h = keep(b, &h_new, h_prev.as_deref());
                let c = c_new.map(|c| keep(b, &c, c_prev.as_deref()));
                (h, c)
            }
            None => (h_new, c_new),
        };
        if rec.return_sequences {
            outputs[t] = Some(b.unsqueeze(&h_new, &[0]));
        }
        state = Some((h_new, c_new));
    }
    let last = state.map(|(h, _)| h).unwrap_or_default();
    let seq = if rec.return_sequences {
        let names: Vec<String> = outputs.into_iter().flatten().collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        b.concat(&refs, 0)
    } else {
        String::new()
    };
    Ok((seq, last))
}

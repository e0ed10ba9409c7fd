//! Export to ONNX: a standard graph that ONNX Runtime, Triton, tract or any other ONNX
//! engine runs unchanged.
//!
//! The graph is built from the model's [`Architecture`](crate::Architecture) with
//! ONNX's own operators at opset [`OPSET`]: `LSTM`, `GRU` (`linear_before_reset = 1`,
//! PyTorch's form) and `RNN` with their gate orders and overridden cell activations
//! in the `activations` attribute; `MatMul` + `Add` for dense layers (also per step on
//! a sequence); `Relu`, `Tanh`, `Sigmoid`, `Softmax(axis = -1)`, `Elu`, `Softplus`, and
//! GELU as `x · ½ · (1 + Erf(x / √2))`; `Gather` for an embedding. Dropout is the
//! identity at inference and leaves no node.
//!
//! Input `x` is float32 `[batch, T, F]`, or int64 token ids `[batch, T]` for a model
//! whose layer 0 is an embedding; output `y` is float32 `[batch, OUT]` or
//! `[batch, T, OUT]`. `batch` is a symbolic dimension.
//!
//! Variable lengths: the graph of a masked model (`masking(…)`, `mask_zero = true`)
//! reads each sample's valid steps from its padding, before or after the steps, as
//! `predict` does, and feeds them to the recurrent operators as `sequence_lens`;
//! [`to_onnx_bytes_with_lengths`] adds a `lengths` input for a model trained with
//! [`Fit::lengths`](crate::Fit::lengths). Either way a sequence output is 0 at padded
//! steps. ONNX Runtime runs both forms; tract 0.23 runs `sequence_lens` only when every
//! sample has the same length, so for tract export [`Recurrence::Unrolled`], which
//! masks each step with primitive operators. Like `predict_one`, the graph does not
//! check its input: padding between valid steps, which `predict` refuses, is run as a
//! valid step there.
//!
//! ```
//! use rnn_runtime::{model, onnx};
//!
//! model! { struct Net < input(8, 2), lstm(4), dense(1) > }
//!
//! let bytes = onnx::to_onnx_bytes(&Net::new(7)).unwrap();
//! assert!(!bytes.is_empty());
//! ```

mod builder;
mod graph;
mod lengths;
mod proto;
mod unroll;
mod weights;

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::io::write_atomic;
use crate::model::Network;
pub use graph::Recurrence;
use proto::{DataType, Dim};

/// The ONNX operator set the graph imports: run by tract and by ONNX Runtime 1.9 on.
pub const OPSET: i64 = 14;

/// The ONNX IR version written, the one that came with opset 14.
pub const IR_VERSION: i64 = 7;

/// The ONNX model of `model`, encoded, with ONNX's recurrent operators.
pub fn to_onnx_bytes<M: Network>(model: &M) -> Result<Vec<u8>> {
    to_onnx_bytes_with(model, Recurrence::Operators)
}

/// The ONNX model of `model`, encoded, with recurrent layers as `recurrence` says.
///
/// ```
/// use rnn_runtime::model;
/// use rnn_runtime::onnx::{to_onnx_bytes, to_onnx_bytes_with, Recurrence};
///
/// model! { struct Net < input(5, 2), gru(3, activation = relu), dense(1) > }
///
/// let net = Net::new(0);
/// let operators = to_onnx_bytes(&net)?;
/// // Every step as plain MatMul / Add / activation nodes, for engines that ignore
/// // the recurrent operators' `activations` attribute: a bigger graph.
/// let unrolled = to_onnx_bytes_with(&net, Recurrence::Unrolled)?;
/// assert!(unrolled.len() > operators.len());
/// # Ok::<(), rnn_runtime::Error>(())
/// ```
pub fn to_onnx_bytes_with<M: Network>(model: &M, recurrence: Recurrence) -> Result<Vec<u8>> {
    build(model, recurrence, false)
}

/// The ONNX model of `model`, encoded, with a second input `lengths`: int64 `[batch]`,
/// each sample's number of valid steps, its padding after them — what
/// [`Fit::lengths`](crate::Fit::lengths) and [`forward_lengths`](crate::forward_lengths)
/// take. The recurrent layers read it as ONNX's `sequence_lens`; a sequence output is 0
/// at padded steps.
///
/// A masked model (`masking(…)` or `mask_zero = true`) needs no such input: its graph
/// reads the lengths from the padding, as `predict` does, and is refused here.
///
/// ```
/// use rnn_runtime::model;
/// use rnn_runtime::onnx::{to_onnx_bytes_with_lengths, Recurrence};
///
/// model! { struct Net < input(6, 2), lstm(4), dense(1) > }
///
/// let bytes = to_onnx_bytes_with_lengths(&Net::new(0), Recurrence::Operators)?;
/// assert!(!bytes.is_empty());
/// # Ok::<(), rnn_runtime::Error>(())
/// ```
pub fn to_onnx_bytes_with_lengths<M: Network>(
    model: &M,
    recurrence: Recurrence,
) -> Result<Vec<u8>> {
    if let Some(padding) = M::ARCHITECTURE.padding {
        let declared = match padding {
            crate::architecture::Padding::ZeroId => "`mask_zero = true`".to_owned(),
            crate::architecture::Padding::Value(v) => format!("`masking({v})`"),
        };
        return Err(Error::OnnxExport(format!(
            "the model declares {declared}: its graph reads each sample's length from the \
             padding, with no `lengths` input; export it with `to_onnx_bytes`"
        )));
    }
    build(model, recurrence, true)
}

/// The graph of `model`, with a `lengths` input when `lengths_input`.
fn build<M: Network>(model: &M, recurrence: Recurrence, lengths_input: bool) -> Result<Vec<u8>> {
    let arch = M::ARCHITECTURE;
    let mut weights = HashMap::new();
    let mut specs = M::param_specs().iter();
    model.visit_params(&mut |t| {
        if let Some(spec) = specs.next() {
            weights.insert(spec.name, t.to_vec());
        }
    });
    let mut b = builder::Builder::default();
    let (x, steps) = match (arch.padding, lengths_input) {
        (Some(padding), _) => {
            let (moved, steps, placement) = lengths::from_padding(&mut b, &arch, padding, "x");
            (moved, Some((steps, placement)))
        }
        (None, true) => {
            let (steps, placement) = lengths::from_input(&mut b, &arch, "lengths");
            ("x".to_string(), Some((steps, placement)))
        }
        (None, false) => ("x".to_string(), None),
    };
    let w = weights::Weights(weights);
    let lens = steps.as_ref().map(|(s, _)| s);
    let mut out = graph::build(&mut b, &arch, &w, &x, recurrence, lens)?;
    if let (Some((_, placement)), true) = (&steps, arch.sequence_output) {
        out = lengths::place(&mut b, &out, placement, arch.timesteps);
    }
    b.op_into("Identity", &[&out], &["y"], &[]);

    let batch = Dim::Symbolic("batch");
    let mut inputs = vec![if arch.tokens {
        proto::value_info("x", DataType::Int64, &[batch, Dim::Fixed(arch.timesteps)])
    } else {
        let dims = [batch, Dim::Fixed(arch.timesteps), Dim::Fixed(arch.features)];
        proto::value_info("x", DataType::Float, &dims)
    }];
    if lengths_input {
        inputs.push(proto::value_info("lengths", DataType::Int64, &[batch]));
    }
    let output = if arch.sequence_output {
        let dims = [batch, Dim::Fixed(arch.timesteps), Dim::Fixed(M::OUTPUTS)];
        proto::value_info("y", DataType::Float, &dims)
    } else {
        proto::value_info("y", DataType::Float, &[batch, Dim::Fixed(M::OUTPUTS)])
    };
    let g = proto::graph("rnn", &b.nodes, &b.initializers, &inputs, &[output]);
    let m = proto::model(IR_VERSION, OPSET, "rnn", env!("CARGO_PKG_VERSION"), &g);
    Ok(m.into_bytes())
}

/// Writes the ONNX model of `model` to `path` (ONNX's recurrent operators), atomically
/// as [`save_safetensors`](crate::save_safetensors) does.
///
/// ```
/// use rnn_runtime::model;
///
/// model! { struct Net < input(20, 1), lstm(8), dense(1) > }
///
/// let dir = std::env::temp_dir().join(format!("rnn-doc-onnx-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let net = Net::new(0);
/// net.save_onnx(dir.join("net.onnx"))?;      // the generated method calls this function
/// rnn_runtime::onnx::save_onnx(&net, dir.join("same.onnx"))?;
/// assert_eq!(std::fs::read(dir.join("net.onnx"))?, std::fs::read(dir.join("same.onnx"))?);
/// assert_eq!(std::fs::read(dir.join("net.onnx"))?, rnn_runtime::onnx::to_onnx_bytes(&net)?);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn save_onnx<M: Network>(model: &M, path: impl AsRef<Path>) -> Result<()> {
    save_onnx_with(model, path, Recurrence::Operators)
}

/// Writes the ONNX model of `model` to `path` with recurrent layers as `recurrence`
/// says.
pub fn save_onnx_with<M: Network>(
    model: &M,
    path: impl AsRef<Path>,
    recurrence: Recurrence,
) -> Result<()> {
    write_atomic(path.as_ref(), &to_onnx_bytes_with(model, recurrence)?)
}

/// Writes the ONNX model of `model` with a `lengths` input (see
/// [`to_onnx_bytes_with_lengths`]) to `path`, atomically.
pub fn save_onnx_with_lengths<M: Network>(
    model: &M,
    path: impl AsRef<Path>,
    recurrence: Recurrence,
) -> Result<()> {
    write_atomic(
        path.as_ref(),
        &to_onnx_bytes_with_lengths(model, recurrence)?,
    )
}

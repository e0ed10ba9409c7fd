//! Layer kernels: forward, backward (BPTT) and single-sample steps per layer kind.
//!
//! Sequences are kept time-major (`[T, B, width]`, row-major) inside the kernels so
//! that the rows of one time step are contiguous: every per-step matrix product and
//! gate loop then runs over one contiguous block. Buffers live in per-layer `*Buffers`
//! structs that grow on first use and are reused by every later batch, so training
//! allocates nothing after its first batch.
//!
//! Shapes are const generics (`I` inputs, `H` or `N` units): the macro instantiates
//! each layer with literal sizes, and the kernels see them as constants.
//!
//! Recurrent layers take optional Keras-style dropout masks and initial states per
//! forward pass ([`SeqOptions`]) and optional activations ([`CellActivations`]); the
//! default activations without options run the fused kernels unchanged.
//! [`RecurrentLayer`] abstracts over the three cell kinds, which
//! [`BidirectionalLayer`] wraps.
//!
//! Without the `std` feature only the single-sample half exists: parameters, `step_one`,
//! `forward_one` and the `*State` types; the sequence kernels and their buffers need
//! the heap.

mod bidirectional;
mod cell;
mod dense;
mod gru;
mod lstm;
#[cfg(feature = "std")]
mod options;
mod recurrent;
mod simple_rnn;
mod tensor;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_bidirectional;
#[cfg(test)]
mod tests_fixtures;

pub use crate::kernels::cell_activation::{CellActivation, CellActivations};
pub use bidirectional::BidirectionalLayer;
#[cfg(feature = "std")]
pub use bidirectional::{BiSeqOptions, BidirectionalBuffers};
pub use cell::CellParams;
#[cfg(feature = "std")]
pub use dense::DenseBuffers;
pub use dense::DenseLayer;
pub use gru::{GruLayer, GruState};
pub use lstm::{LstmLayer, LstmState};
#[cfg(feature = "std")]
pub use options::SeqOptions;
pub use recurrent::{RecurrentLayer, SampleState};
pub use simple_rnn::{SimpleRnnLayer, SimpleRnnState};

#[cfg(feature = "std")]
use options::KeptOptions;

#[cfg(feature = "std")]
/// Work buffers of any recurrent layer, sized on first use and reused afterwards.
///
/// One type serves every cell kind; a cell leaves the fields it does not need empty.
#[derive(Clone, Debug, Default)]
pub struct RecurrentBuffers {
    steps: usize,
    batch: usize,
    inputs: usize,
    units: usize,
    /// Gate activations `[T, B, G·H]`.
    gates: Vec<f32>,
    /// Per-step cell state (LSTM `c`) or recurrent candidate term (GRU `W_hn h + b_hn`),
    /// `[T, B, H]`.
    state: Vec<f32>,
    /// LSTM `tanh(c)`, `[T, B, H]`.
    tanh_c: Vec<f32>,
    /// GRU recurrent projection of one step, `[B, 3H]`.
    hidden_proj: Vec<f32>,
    /// Hidden states `[T, B, H]`: the layer's output.
    h: Vec<f32>,
    /// Gradient of the input-side pre-activations `[T, B, G·H]`.
    d_in: Vec<f32>,
    /// Gradient of the hidden-side pre-activations `[T, B, G·H]` (GRU only; the other
    /// cells share `d_in`).
    d_hid: Vec<f32>,
    /// Gradient of the hidden state at the current step `[B, H]`.
    dh: Vec<f32>,
    /// Gradient carried to the previous step's hidden state `[B, H]`.
    dh_carry: Vec<f32>,
    /// Gradient carried to the previous step's cell state `[B, H]` (LSTM).
    dc_carry: Vec<f32>,
    /// Gradient of the layer's input `[T, B, I]`.
    dx: Vec<f32>,
    /// Whether `state` holds an LSTM's cell states.
    has_cell: bool,
    /// The masks and initial states of the last forward pass.
    kept: KeptOptions,
}

#[cfg(feature = "std")]
impl RecurrentBuffers {
    fn set_shape(&mut self, steps: usize, batch: usize, inputs: usize, units: usize) {
        self.steps = steps;
        self.batch = batch;
        self.inputs = inputs;
        self.units = units;
    }

    /// Hidden states of every step of the last forward pass, `[T, B, H]`.
    pub fn hidden(&self) -> &[f32] {
        &self.h[..self.steps * self.batch * self.units]
    }

    /// Hidden state after the last step of the last forward pass, `[B, H]`.
    pub fn last_hidden(&self) -> &[f32] {
        let step = self.batch * self.units;
        &self.h[(self.steps.max(1) - 1) * step..self.steps * step]
    }

    /// Cell state after the last step of the last forward pass, `[B, H]`: the LSTM's
    /// final `c`; empty for cells without one.
    pub fn last_cell(&self) -> &[f32] {
        if !self.has_cell {
            return &[];
        }
        let step = self.batch * self.units;
        &self.state[(self.steps.max(1) - 1) * step..self.steps * step]
    }

    /// Gradient of the input from the last backward pass, `[T, B, I]`.
    pub fn input_grad(&self) -> &[f32] {
        &self.dx[..self.steps * self.batch * self.inputs]
    }
}

#[cfg(feature = "std")]
/// The gradient arriving at a recurrent layer's output.
#[derive(Clone, Copy, Debug)]
pub enum SeqGrad<'a> {
    /// Only the last hidden state was used downstream: `[B, H]`.
    Last(&'a [f32]),
    /// Every hidden state was used downstream: `[T, B, H]`, time-major.
    All(&'a [f32]),
}

#[cfg(feature = "std")]
impl SeqGrad<'_> {
    /// Writes the gradient for step `t` of `steps` (`[B, H]`) plus `carry` into `out`.
    fn at_step(self, t: usize, steps: usize, carry: &[f32], out: &mut [f32]) {
        let n = out.len();
        let here = match self {
            SeqGrad::Last(d) if t + 1 == steps => Some(&d[..n]),
            SeqGrad::Last(_) => None,
            SeqGrad::All(d) => Some(&d[t * n..(t + 1) * n]),
        };
        match here {
            Some(d) => out
                .iter_mut()
                .zip(d.iter().zip(carry))
                .for_each(|(o, (a, b))| *o = a + b),
            None => out.copy_from_slice(carry),
        }
    }
}

#[cfg(feature = "std")]
pub(crate) use crate::kernels::ensure;

#[cfg(feature = "std")]
/// Copies a batch-major `[batch, steps, width]` block into time-major order in `out`.
///
/// Generated code calls it (through `__private`); not part of the documented API.
#[doc(hidden)]
pub fn to_time_major(x: &[f32], batch: usize, steps: usize, width: usize, out: &mut Vec<f32>) {
    let out = ensure(out, batch * steps * width);
    for b in 0..batch {
        for t in 0..steps {
            let src = (b * steps + t) * width;
            let dst = (t * batch + b) * width;
            out[dst..dst + width].copy_from_slice(&x[src..src + width]);
        }
    }
}

#[cfg(feature = "std")]
mod dropout;
mod embedding;
#[cfg(feature = "std")]
mod layout;

#[cfg(feature = "std")]
pub use dropout::{DropoutBuffers, DropoutLayer};
#[cfg(feature = "std")]
pub use embedding::EmbeddingBuffers;
pub use embedding::EmbeddingLayer;
// Called by generated code only: kept at these paths, hidden, for code generated by
// earlier versions of the macro; new code names them through `crate::__private`.
#[doc(hidden)]
pub use embedding::check_ids;
#[cfg(feature = "std")]
#[doc(hidden)]
pub use layout::{ids_to_time_major, to_batch_major};

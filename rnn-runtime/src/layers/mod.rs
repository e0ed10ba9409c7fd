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
#[cfg(feature = "std")]
mod infer;
mod lstm;
#[cfg(feature = "std")]
mod options;
#[cfg(feature = "std")]
mod packing;
mod recurrent;
mod simple_rnn;
mod tensor;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_bidirectional;
#[cfg(test)]
mod tests_fixtures;
#[cfg(test)]
mod tests_fused;

pub use crate::kernels::cell_activation::{CellActivation, CellActivations};
// The single-sample element-wise steps, shared with the int8 cells (`quant`).
pub use bidirectional::BidirectionalLayer;
#[cfg(feature = "std")]
pub use bidirectional::{BiSeqOptions, BidirectionalBuffers};
pub use cell::CellParams;
#[cfg(feature = "std")]
pub use dense::DenseBuffers;
pub use dense::DenseLayer;
pub(crate) use gru::step_row as gru_step_row;
pub use gru::{GruLayer, GruState};
#[cfg(feature = "std")]
pub use infer::Inference;
pub(crate) use lstm::step_row as lstm_step_row;
pub use lstm::{LstmLayer, LstmState};
#[cfg(feature = "std")]
pub use options::SeqOptions;
#[cfg(feature = "std")]
pub use packing::Packing;
pub use recurrent::{RecurrentLayer, SampleState};
pub use simple_rnn::{SimpleRnnLayer, SimpleRnnState};

#[cfg(feature = "std")]
use options::KeptOptions;

#[cfg(feature = "std")]
/// Work buffers of any recurrent layer, sized on first use and reused afterwards.
///
/// One type serves every cell kind; a cell leaves the fields it does not need empty.
/// Sequences are stored in the packed layout of the last pass ([`Packing`]): `[T, B,
/// …]` time-major when every sample is full, else only the valid steps, `[rows, …]`.
#[derive(Clone, Debug, Default)]
pub struct RecurrentBuffers {
    steps: usize,
    batch: usize,
    inputs: usize,
    units: usize,
    /// Gate activations `[rows, G·H]`.
    gates: Vec<f32>,
    /// Per-step cell state (LSTM `c`) or recurrent candidate term (GRU `W_hn h + b_hn`),
    /// `[rows, H]`.
    state: Vec<f32>,
    /// LSTM `tanh(c)`, `[rows, H]`.
    tanh_c: Vec<f32>,
    /// GRU recurrent projection of one step, `[B, 3H]`.
    hidden_proj: Vec<f32>,
    /// Hidden states `[rows, H]`: the layer's output.
    h: Vec<f32>,
    /// Each sample's hidden and cell state after its own last step, `[B, H]` each,
    /// when the samples differ in length (else they are the last step's rows).
    last_h: Vec<f32>,
    last_c: Vec<f32>,
    /// Gradient of the input-side pre-activations `[rows, G·H]`.
    d_in: Vec<f32>,
    /// Gradient of the hidden-side pre-activations `[rows, G·H]` (GRU only; the other
    /// cells share `d_in`).
    d_hid: Vec<f32>,
    /// Gradient of the hidden state at the current step `[B, H]`.
    dh: Vec<f32>,
    /// Gradient carried to the previous step's hidden state `[B, H]`.
    dh_carry: Vec<f32>,
    /// Gradient carried to the previous step's cell state `[B, H]` (LSTM).
    dc_carry: Vec<f32>,
    /// Gradient of the layer's input `[rows, I]`.
    dx: Vec<f32>,
    /// Whether `state` holds an LSTM's cell states.
    has_cell: bool,
    /// The lengths, masks and initial states of the last forward pass.
    kept: KeptOptions,
    /// What the next forward passes keep: everything BPTT needs, or only what an
    /// inference reads ([`Inference`]).
    inference: Inference,
    /// Whether the last forward pass took the inference path, which leaves each
    /// sample's final states in `last_h` and `last_c` whatever the packing.
    inferred: bool,
}

#[cfg(feature = "std")]
impl RecurrentBuffers {
    fn set_shape(&mut self, steps: usize, batch: usize, inputs: usize, units: usize) {
        self.steps = steps;
        self.batch = batch;
        self.inputs = inputs;
        self.units = units;
    }

    /// Rows of the packed sequence buffers: `T·B` when every sample is full.
    fn rows(&self) -> usize {
        self.kept.packing.rows()
    }

    /// The end of every cell's forward pass: where samples differ in length, each
    /// one's final state is the one after its own last step, gathered here.
    fn gather_last_states(&mut self) {
        let packing = &self.kept.packing;
        if packing.is_full() {
            return;
        }
        let (bh, units) = (self.batch * self.units, self.units);
        packing.gather_last(&self.h, units, ensure(&mut self.last_h, bh));
        if self.has_cell {
            packing.gather_last(&self.state, units, ensure(&mut self.last_c, bh));
        }
    }

    /// Hidden states of every step of the last forward pass: `[T, B, H]`, or
    /// `[rows, H]` in the packed layout of a batch of varying lengths. After a pass
    /// with [`Inference::Last`] only [`last_hidden`](Self::last_hidden) is kept and
    /// this is empty.
    pub fn hidden(&self) -> &[f32] {
        if self.inferred && self.inference != Inference::Sequence {
            return &[];
        }
        &self.h[..self.rows() * self.units]
    }

    /// Each sample's hidden state after its last step in the last forward pass,
    /// `[B, H]`.
    pub fn last_hidden(&self) -> &[f32] {
        let bh = self.batch * self.units;
        if self.inferred || !self.kept.packing.is_full() {
            return &self.last_h[..bh];
        }
        &self.h[(self.steps.max(1) - 1) * bh..self.steps * bh]
    }

    /// Each sample's cell state after its last step in the last forward pass,
    /// `[B, H]`: the LSTM's final `c`; empty for cells without one.
    pub fn last_cell(&self) -> &[f32] {
        if !self.has_cell {
            return &[];
        }
        let bh = self.batch * self.units;
        if self.inferred || !self.kept.packing.is_full() {
            return &self.last_c[..bh];
        }
        &self.state[(self.steps.max(1) - 1) * bh..self.steps * bh]
    }

    /// Gradient of the input from the last backward pass, in the input's layout
    /// (`[T, B, I]`, or packed `[rows, I]`).
    pub fn input_grad(&self) -> &[f32] {
        &self.dx[..self.rows() * self.inputs]
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
    /// Writes the gradient arriving at step `t`'s hidden states plus `carry` into
    /// `out` (the rows of the samples running at `t`, `[size(t), H]`): `All` holds
    /// every step's rows in the packed layout; `Last` holds one row per sample, which
    /// arrives at that sample's own last step.
    fn at_step(self, t: usize, packing: &Packing, carry: &[f32], out: &mut [f32]) {
        let n = out.len();
        let units = n / packing.size(t).max(1);
        match self {
            SeqGrad::All(d) => {
                let rows = packing.step(t);
                let d = &d[rows.start * units..rows.end * units];
                out.iter_mut()
                    .zip(d.iter().zip(carry))
                    .for_each(|(o, (a, b))| *o = a + b);
            }
            SeqGrad::Last(d) => {
                out.copy_from_slice(&carry[..n]);
                // The samples whose last step is `t`: those running at `t` but not after.
                let ending = match t + 1 < packing.steps() {
                    true => packing.size(t + 1)..packing.size(t),
                    false => 0..packing.size(t),
                };
                let span = ending.start * units..ending.end * units;
                out[span.clone()]
                    .iter_mut()
                    .zip(&d[span])
                    .for_each(|(o, a)| *o += a);
            }
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
pub use layout::{ids_to_time_major, pack, to_batch_major, unpack};

//! What a forward pass over a sequence can take beyond its input: Keras-style dropout
//! masks and an initial state, and how the buffers keep them for BPTT.

use super::{ensure, Packing};
use crate::error::{Error, Result};

/// Options of one forward pass over a sequence; [`Default`] (= [`SeqOptions::NONE`])
/// is a plain pass from the zero state.
///
/// Masks follow Keras's recurrent dropout: one mask per sample, the same at every time
/// step and for every gate, given already scaled (each element `0` or
/// `1 / (1 - rate)`, e.g. from [`crate::dropout::dropout_mask`]). The input mask
/// multiplies the layer input `x_t` before the input projection; the recurrent mask
/// multiplies `h_{t-1}` where it enters the recurrent projection `W_hh h_{t-1}` only
/// (a GRU's interpolation `z · h_{t-1}` sees the unmasked state; an LSTM's cell state is
/// never masked). The initial states replace the zero `h_{-1}` (and LSTM `c_{-1}`);
/// BPTT propagates through `W_hh h_{-1}` to the parameters, but no gradient with
/// respect to the initial states themselves is computed.
///
/// With `lengths`, the samples have their own lengths (longest first) and the input
/// and every sequence buffer are in the packed layout of [`Packing`]: each sample runs
/// only its own steps, its final state is the one after its last step, and a
/// bidirectional layer's reverse direction starts there (PyTorch's packed sequences).
///
/// The forward pass copies what it needs into the layer's buffers, so the slices only
/// have to live for that call, and the backward pass that follows uses the same masks
/// and states.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SeqOptions<'a> {
    /// Input mask `[B, I]`.
    pub input_mask: Option<&'a [f32]>,
    /// Recurrent mask `[B, H]`.
    pub recurrent_mask: Option<&'a [f32]>,
    /// Initial hidden state `[B, H]`.
    pub initial_h: Option<&'a [f32]>,
    /// Initial cell state `[B, H]` (LSTM only).
    pub initial_c: Option<&'a [f32]>,
    /// Each sample's length, longest first (`None`: every sample has all steps).
    pub lengths: Option<&'a [usize]>,
}

impl SeqOptions<'_> {
    /// No masks, zero initial state.
    pub const NONE: SeqOptions<'static> = SeqOptions {
        input_mask: None,
        recurrent_mask: None,
        initial_h: None,
        initial_c: None,
        lengths: None,
    };

    /// Checks every slice's length against a batch of `batch` samples of a layer with
    /// `inputs` inputs and `units` units; `has_cell` says whether the layer keeps a
    /// cell state (only then is `initial_c` allowed). The kernels assume options that
    /// pass this check; code that forwards user-supplied states calls it first
    /// (`lengths` are checked against the steps by [`Packing::check`]).
    pub fn validate(
        &self,
        batch: usize,
        inputs: usize,
        units: usize,
        has_cell: bool,
    ) -> Result<()> {
        let check = |what: &'static str, v: Option<&[f32]>, width: usize| match v {
            Some(v) if v.len() != batch * width => Err(Error::Shape {
                what,
                expected: format!("[{batch}, {width}] ({} values)", batch * width),
                got: vec![v.len()],
            }),
            _ => Ok(()),
        };
        check("input_mask", self.input_mask, inputs)?;
        check("recurrent_mask", self.recurrent_mask, units)?;
        check("initial_h", self.initial_h, units)?;
        check("initial_c", self.initial_c, units)?;
        if self.initial_c.is_some() && !has_cell {
            return Err(Error::Config(
                "initial_c is only for layers with a cell state (LSTM)".into(),
            ));
        }
        Ok(())
    }
}

/// The options of the last forward pass, kept for its BPTT, with the layout and the
/// buffers derived from them. A part of [`super::RecurrentBuffers`] of its own so that the kernels can borrow
/// it next to the other buffers.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeptOptions {
    /// Where each step's rows are in the sequence buffers.
    pub(crate) packing: Packing,
    pub(crate) input_mask: bool,
    pub(crate) recurrent_mask: bool,
    pub(crate) initial_h: bool,
    pub(crate) initial_c: bool,
    /// Input mask `[B, I]`.
    input_mask_v: Vec<f32>,
    /// Recurrent mask `[B, H]`.
    recurrent_mask_v: Vec<f32>,
    /// Initial hidden state `[B, H]`.
    h0: Vec<f32>,
    /// Initial cell state `[B, H]`.
    c0: Vec<f32>,
    /// The masked input `[rows, I]`: what the input projection saw.
    pub(crate) x_masked: Vec<f32>,
    /// What the recurrent projection saw at each step, `[rows, H]`, when it is not
    /// simply the previous step's output rows.
    pub(crate) rec_in: Vec<f32>,
    /// Scratch `[B, H]` for the masked gradient of the previous hidden state.
    pub(crate) dh_rec: Vec<f32>,
}

/// Copies `v` into `buf` (grown once) if present; whether it was.
fn keep(buf: &mut Vec<f32>, v: Option<&[f32]>) -> bool {
    match v {
        Some(v) => {
            ensure(buf, v.len()).copy_from_slice(v);
            true
        }
        None => false,
    }
}

/// `out[r, :] = v[r, :] ⊙ mask[r mod rows(mask), :]`: a per-sample mask applied to
/// every step's block of a time-major sequence (a single block for one step).
pub(crate) fn mask_rows(v: &[f32], mask: &[f32], out: &mut [f32]) {
    for (src, dst) in v
        .chunks_exact(mask.len())
        .zip(out.chunks_exact_mut(mask.len()))
    {
        dst.iter_mut()
            .zip(src.iter().zip(mask))
            .for_each(|(o, (a, m))| *o = a * m);
    }
}

/// `v[r, :] *= mask[r mod rows(mask), :]` in place.
pub(crate) fn mask_rows_in_place(v: &mut [f32], mask: &[f32]) {
    for block in v.chunks_exact_mut(mask.len()) {
        block.iter_mut().zip(mask).for_each(|(a, m)| *a *= m);
    }
}

impl KeptOptions {
    /// Whether the recurrent projection's inputs differ from the previous outputs, so
    /// that they are kept in `rec_in`.
    ///
    /// In a packed batch of varying lengths the previous step has more rows than the
    /// current one, so the weight gradient's GEMM needs them kept aligned, too.
    pub(crate) fn separate_recurrent_input(&self) -> bool {
        self.recurrent_mask || self.initial_h || !self.packing.is_full()
    }

    /// Keeps `opts` for a forward pass over `[steps, batch, inputs]` input `x` (packed
    /// when `opts.lengths` is given): the layout, the masks and initial states, the
    /// masked input, and room for the recurrent projection's inputs.
    ///
    /// # Panics
    /// If an option's length does not match (see [`SeqOptions::validate`]): a caller
    /// bug, which the generated code rules out.
    pub(crate) fn load(
        &mut self,
        opts: &SeqOptions<'_>,
        x: &[f32],
        [steps, batch, inputs, units]: [usize; 4],
        has_cell: bool,
    ) {
        if let Err(e) = opts.validate(batch, inputs, units, has_cell) {
            panic!("recurrent layer options: {e}");
        }
        self.packing.set(steps, batch, opts.lengths);
        self.input_mask = keep(&mut self.input_mask_v, opts.input_mask);
        self.recurrent_mask = keep(&mut self.recurrent_mask_v, opts.recurrent_mask);
        self.initial_h = keep(&mut self.h0, opts.initial_h);
        self.initial_c = keep(&mut self.c0, opts.initial_c);
        let rows = self.packing.rows();
        if self.input_mask {
            let xm = ensure(&mut self.x_masked, rows * inputs);
            for t in 0..steps {
                let (span, size) = (self.packing.step(t), self.packing.size(t));
                let span = span.start * inputs..span.end * inputs;
                let mask = &self.input_mask_v[..size * inputs];
                mask_rows(&x[span.clone()], mask, &mut xm[span]);
            }
        }
        if self.separate_recurrent_input() {
            ensure(&mut self.rec_in, rows * units);
        }
        if self.recurrent_mask {
            ensure(&mut self.dh_rec, batch * units);
        }
    }

    /// `dx *= input mask`, step by step over the packed rows of `dx` (`[rows, I]`).
    pub(crate) fn mask_input_grad(&self, dx: &mut [f32], inputs: usize) {
        if !self.input_mask {
            return;
        }
        for t in 0..self.packing.steps() {
            let (span, size) = (self.packing.step(t), self.packing.size(t));
            let mask = &self.input_mask_v[..size * inputs];
            mask_rows_in_place(&mut dx[span.start * inputs..span.end * inputs], mask);
        }
    }

    /// The recurrent mask (if any) and the scratch for masked BPTT, both `[size, H]`
    /// for the `size` samples of one step.
    pub(crate) fn recurrent_mask_and_scratch(
        &mut self,
        size_h: usize,
    ) -> (Option<&[f32]>, &mut [f32]) {
        let mask = self
            .recurrent_mask
            .then(|| &self.recurrent_mask_v[..size_h]);
        let scratch = if self.recurrent_mask {
            &mut self.dh_rec[..size_h]
        } else {
            &mut []
        };
        (mask, scratch)
    }

    /// The recurrent projection's input at step `t` for its `size(t)` samples (`h_all`
    /// the hidden states so far, `[rows, H]`): `h_{t-1}` (the initial state at `t = 0`)
    /// times the recurrent mask, written to `rec_in` when kept there. `None` when it is
    /// zero (`t = 0` without an initial state), so that the projection can be skipped.
    pub(crate) fn recurrent_input<'s>(
        &'s mut self,
        t: usize,
        h_all: &'s [f32],
        units: usize,
    ) -> Option<&'s [f32]> {
        let now = self.packing.step(t);
        let n = now.len() * units;
        let prev = match t {
            0 if self.initial_h => &self.h0[..n],
            0 => return None,
            _ => {
                let start = self.packing.step(t - 1).start * units;
                &h_all[start..start + n]
            }
        };
        if !self.separate_recurrent_input() {
            return Some(prev);
        }
        let out = &mut self.rec_in[now.start * units..now.end * units];
        match self.recurrent_mask {
            true => mask_rows(prev, &self.recurrent_mask_v[..n], out),
            false => out.copy_from_slice(prev),
        }
        Some(out)
    }

    /// The state before step `t` of the `size(t)` samples running at `t`, from the
    /// states so far, `past` (`[rows, H]`): the initial one (LSTM `c` if `cell`, else
    /// `h`; empty meaning zero) at `t = 0`.
    pub(crate) fn state_before<'s>(
        &'s self,
        t: usize,
        past: &'s [f32],
        units: usize,
        cell: bool,
    ) -> &'s [f32] {
        let n = self.packing.size(t) * units;
        match t {
            0 if cell && self.initial_c => &self.c0[..n],
            0 if !cell && self.initial_h => &self.h0[..n],
            0 => &[],
            _ => {
                let start = self.packing.step(t - 1).start * units;
                &past[start..start + n]
            }
        }
    }
}

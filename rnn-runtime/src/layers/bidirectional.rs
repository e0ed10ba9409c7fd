//! A bidirectional wrapper around any recurrent layer, as PyTorch's
//! `bidirectional = True` (and Keras's `Bidirectional` with `merge_mode = "concat"`).

use super::RecurrentLayer;
#[cfg(feature = "std")]
use super::{ensure, CellActivations, Packing, RecurrentBuffers, SeqGrad, SeqOptions};
#[cfg(feature = "std")]
use crate::rng::Rng;

/// Two recurrent layers of the same kind over one input: `forward` reads the sequence
/// in order, `reverse` reads it time-reversed. The sequence output is `[T, B, 2H]`
/// with the forward direction's `h_t` first and then the reverse direction's output
/// for the same original step `t`; the last-only output is `[B, 2H]`, the forward
/// direction's `h` at `t = T - 1` followed by the reverse direction's final state
/// (its output at original `t = 0`): PyTorch's `h_n` of both directions concatenated.
///
/// Parameters: the forward direction's four tensors, then the reverse direction's
/// (PyTorch's `…_reverse` tensors).
#[derive(Clone, Debug, PartialEq)]
pub struct BidirectionalLayer<L> {
    /// The direction that reads the sequence in order.
    pub forward: L,
    /// The direction that reads the sequence time-reversed.
    pub reverse: L,
}

#[cfg(feature = "std")]
/// Per-direction options of a bidirectional forward pass: masks and initial states
/// (those of `reverse` apply to the reverse direction's first step, original `t = T-1`,
/// or each sample's last step). Lengths apply to both directions: give them in
/// `forward` (or in both, the same).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BiSeqOptions<'a> {
    /// Options of the forward direction.
    pub forward: SeqOptions<'a>,
    /// Options of the reverse direction.
    pub reverse: SeqOptions<'a>,
}

#[cfg(feature = "std")]
/// Work buffers of a [`BidirectionalLayer`], sized on first use and reused.
#[derive(Clone, Debug, Default)]
pub struct BidirectionalBuffers {
    steps: usize,
    batch: usize,
    inputs: usize,
    units: usize,
    /// The layout of the last pass's sequences.
    packing: Packing,
    forward: RecurrentBuffers,
    reverse: RecurrentBuffers,
    /// The input with each sample's steps reversed, `[T, B, I]` (or packed): the
    /// reverse direction's input.
    x_rev: Vec<f32>,
    /// Both directions' outputs per original step, `[T, B, 2H]` (or packed).
    out: Vec<f32>,
    /// Both directions' final states, `[B, 2H]`.
    last: Vec<f32>,
    /// The forward direction's share of the output gradient.
    d_fwd: Vec<f32>,
    /// The reverse direction's share, in its own (reversed) time order.
    d_rev: Vec<f32>,
    /// Gradient of the input, both directions summed, `[T, B, I]` (or packed).
    dx: Vec<f32>,
    /// The reverse direction's input gradient in original order.
    dx_rev: Vec<f32>,
}

#[cfg(feature = "std")]
impl BidirectionalBuffers {
    /// Outputs of every step of the last forward pass, `[T, B, 2H]` (or `[rows, 2H]`
    /// in the packed layout of a batch of varying lengths).
    pub fn hidden(&self) -> &[f32] {
        &self.out[..self.packing.rows() * 2 * self.units]
    }

    /// Both directions' final hidden states, `[B, 2H]`.
    pub fn last_hidden(&self) -> &[f32] {
        &self.last[..self.batch * 2 * self.units]
    }

    /// Gradient of the input from the last backward pass, in the input's layout.
    pub fn input_grad(&self) -> &[f32] {
        &self.dx[..self.packing.rows() * self.inputs]
    }

    /// The forward direction's buffers: its final states
    /// ([`RecurrentBuffers::last_hidden`], [`RecurrentBuffers::last_cell`]).
    pub fn forward(&self) -> &RecurrentBuffers {
        &self.forward
    }

    /// The reverse direction's buffers, in its own time order (its
    /// [`RecurrentBuffers::last_hidden`] is its state after original step 0), each
    /// sample's steps reversed within its length.
    pub fn reverse(&self) -> &RecurrentBuffers {
        &self.reverse
    }
}

impl<L: RecurrentLayer> BidirectionalLayer<L> {
    /// Number of scalar parameters: both directions'.
    pub const PARAMS: usize = 2 * L::PARAMS;
    /// Width of the output per step: `2H`.
    pub const OUTPUTS: usize = 2 * L::UNITS;

    /// The layer with the given directions: with their `from_le_bytes`, how a model's
    /// weights are built in a `const fn`.
    pub const fn from_directions(forward: L, reverse: L) -> Self {
        BidirectionalLayer { forward, reverse }
    }

    #[cfg(feature = "std")]
    /// Keras's initialisation of both directions, the forward one first from `rng`.
    pub fn init(rng: &mut Rng) -> Self {
        Self::init_with(rng, CellActivations::DEFAULT)
    }

    #[cfg(feature = "std")]
    /// [`init`](Self::init) with the given activations for both directions.
    pub fn init_with(rng: &mut Rng, activations: CellActivations) -> Self {
        let forward = L::init_with(rng, activations);
        let reverse = L::init_with(rng, activations);
        BidirectionalLayer { forward, reverse }
    }

    #[cfg(feature = "std")]
    /// Forward pass over a time-major `[steps, batch, I]` input from zero states.
    pub fn forward_seq(
        &self,
        x: &[f32],
        steps: usize,
        batch: usize,
        bufs: &mut BidirectionalBuffers,
    ) {
        self.forward_seq_with(x, steps, batch, &BiSeqOptions::default(), bufs)
    }

    #[cfg(feature = "std")]
    /// Forward pass with per-direction masks and initial states.
    ///
    /// # Panics
    /// If an option's length does not match ([`SeqOptions::validate`]).
    pub fn forward_seq_with(
        &self,
        x: &[f32],
        steps: usize,
        batch: usize,
        opts: &BiSeqOptions<'_>,
        bufs: &mut BidirectionalBuffers,
    ) {
        let (i, h) = (L::INPUTS, L::UNITS);
        (bufs.steps, bufs.batch, bufs.inputs, bufs.units) = (steps, batch, i, h);
        let lengths = opts.forward.lengths.or(opts.reverse.lengths);
        bufs.packing.set(steps, batch, lengths);
        let rows = bufs.packing.rows();
        let x_rev = ensure(&mut bufs.x_rev, rows * i);
        bufs.packing.reverse_rows(x, i, x_rev);
        let (fwd, rev) = (&mut bufs.forward, &mut bufs.reverse);
        let (fwd_opts, rev_opts) = (
            SeqOptions {
                lengths,
                ..opts.forward
            },
            SeqOptions {
                lengths,
                ..opts.reverse
            },
        );
        self.forward
            .forward_seq_with(x, steps, batch, &fwd_opts, fwd);
        self.reverse
            .forward_seq_with(x_rev, steps, batch, &rev_opts, rev);
        let out = ensure(&mut bufs.out, rows * 2 * h);
        let (hf, hr) = (fwd.hidden(), rev.hidden());
        // Row r of the output: the forward direction's row r beside the reverse
        // direction's output for the same original step, its own row reversed.
        let out_rev = ensure(&mut bufs.dx_rev, rows * h);
        bufs.packing.reverse_rows(hr, h, out_rev);
        for (r, row) in out.chunks_exact_mut(2 * h).enumerate() {
            let (f, b) = row.split_at_mut(h);
            f.copy_from_slice(&hf[r * h..][..h]);
            b.copy_from_slice(&out_rev[r * h..][..h]);
        }
        let last = ensure(&mut bufs.last, batch * 2 * h);
        let (lf, lr) = (fwd.last_hidden(), rev.last_hidden());
        for (b, row) in last.chunks_exact_mut(2 * h).enumerate() {
            let (f, r) = row.split_at_mut(h);
            f.copy_from_slice(&lf[b * h..][..h]);
            r.copy_from_slice(&lr[b * h..][..h]);
        }
    }

    #[cfg(feature = "std")]
    /// Backward pass through time after a forward pass on the same buffers and input
    /// `x`: `d_out` is `[T, B, 2H]` ([`SeqGrad::All`]) or `[B, 2H]`
    /// ([`SeqGrad::Last`]). Adds both directions' gradients to `grads` (`PARAMS`
    /// values: forward, then reverse) and, if `need_dx`, leaves the input gradient,
    /// summed over both directions, in the buffers.
    pub fn backward_seq(
        &self,
        x: &[f32],
        d_out: SeqGrad<'_>,
        grads: &mut [f32],
        bufs: &mut BidirectionalBuffers,
        need_dx: bool,
    ) {
        let (batch, i, h) = (bufs.batch, bufs.inputs, bufs.units);
        let rows = bufs.packing.rows();
        let (g_fwd, g_rev) = grads.split_at_mut(L::PARAMS);
        let all = matches!(d_out, SeqGrad::All(_));
        let n = if all { rows * h } else { batch * h };
        let d_fwd = ensure(&mut bufs.d_fwd, n);
        let d_rev = ensure(&mut bufs.d_rev, n);
        let (SeqGrad::All(d) | SeqGrad::Last(d)) = d_out;
        let scratch = ensure(&mut bufs.dx_rev, n);
        for (r, row) in d.chunks_exact(2 * h).take(n / h.max(1)).enumerate() {
            d_fwd[r * h..(r + 1) * h].copy_from_slice(&row[..h]);
            scratch[r * h..(r + 1) * h].copy_from_slice(&row[h..]);
        }
        // The reverse direction's rows run in its own time order.
        if all {
            bufs.packing.reverse_rows(scratch, h, d_rev);
        } else {
            d_rev.copy_from_slice(scratch);
        }
        let (d_fwd, d_rev): (&[f32], &[f32]) = (d_fwd, d_rev);
        let wrap = |d| {
            if all {
                SeqGrad::All(d)
            } else {
                SeqGrad::Last(d)
            }
        };
        self.forward
            .backward_seq(x, wrap(d_fwd), g_fwd, &mut bufs.forward, need_dx);
        let x_rev = &bufs.x_rev[..rows * i];
        self.reverse
            .backward_seq(x_rev, wrap(d_rev), g_rev, &mut bufs.reverse, need_dx);
        if need_dx {
            let dx = ensure(&mut bufs.dx, rows * i);
            bufs.packing.reverse_rows(bufs.reverse.input_grad(), i, dx);
            dx.iter_mut()
                .zip(bufs.forward.input_grad())
                .for_each(|(d, a)| *d += a);
        }
    }

    /// The outputs of one sample's whole sequence, `[T][2H]`, computed on the stack
    /// from zero states. `O` must be `2H` (checked at compile time).
    pub fn forward_one_seq<const T: usize, const O: usize>(
        &self,
        x: &[L::Input; T],
        out: &mut [[f32; O]; T],
    ) {
        let (mut fwd, mut rev) = (L::State::default(), L::State::default());
        self.forward_one_seq_from(x, &mut fwd, &mut rev, out)
    }

    /// [`forward_one_seq`](Self::forward_one_seq) from the given states of each
    /// direction, which hold their final states afterwards.
    pub fn forward_one_seq_from<const T: usize, const O: usize>(
        &self,
        x: &[L::Input; T],
        fwd: &mut L::State,
        rev: &mut L::State,
        out: &mut [[f32; O]; T],
    ) {
        const { assert!(O == 2 * L::UNITS, "output width must be 2H") };
        let h = L::UNITS;
        for (x_t, out_t) in x.iter().zip(out.iter_mut()) {
            out_t[..h].copy_from_slice(self.forward.step_sample(x_t, fwd).as_ref());
        }
        for (x_t, out_t) in x.iter().zip(out.iter_mut()).rev() {
            out_t[h..].copy_from_slice(self.reverse.step_sample(x_t, rev).as_ref());
        }
    }

    /// The last-only output of one sample, `[2H]`, computed on the stack from zero
    /// states: the forward direction's state after the last step, then the reverse
    /// direction's after original step 0. `O` must be `2H` (checked at compile time).
    pub fn forward_one_last<const T: usize, const O: usize>(&self, x: &[L::Input; T]) -> [f32; O] {
        let (mut fwd, mut rev) = (L::State::default(), L::State::default());
        self.forward_one_last_from(x, &mut fwd, &mut rev)
    }

    /// [`forward_one_last`](Self::forward_one_last) from the given states of each
    /// direction, which hold their final states afterwards.
    pub fn forward_one_last_from<const T: usize, const O: usize>(
        &self,
        x: &[L::Input; T],
        fwd: &mut L::State,
        rev: &mut L::State,
    ) -> [f32; O] {
        const { assert!(O == 2 * L::UNITS, "output width must be 2H") };
        let h = L::UNITS;
        let mut out = [0.0; O];
        for x_t in x.iter() {
            out[..h].copy_from_slice(self.forward.step_sample(x_t, fwd).as_ref());
        }
        for x_t in x.iter().rev() {
            out[h..].copy_from_slice(self.reverse.step_sample(x_t, rev).as_ref());
        }
        out
    }

    /// [`forward_one_seq`](Self::forward_one_seq) of a sample of `len` steps padded
    /// to `T`: both directions read only the first `len` steps, the reverse one
    /// starting at step `len - 1`; `out` after them is left as it is.
    pub fn forward_one_seq_len<const T: usize, const O: usize>(
        &self,
        x: &[L::Input; T],
        len: usize,
        out: &mut [[f32; O]; T],
    ) {
        const { assert!(O == 2 * L::UNITS, "output width must be 2H") };
        let h = L::UNITS;
        let (mut fwd, mut rev) = (L::State::default(), L::State::default());
        for (x_t, out_t) in x.iter().zip(out.iter_mut()).take(len) {
            out_t[..h].copy_from_slice(self.forward.step_sample(x_t, &mut fwd).as_ref());
        }
        for (x_t, out_t) in x.iter().zip(out.iter_mut()).take(len).rev() {
            out_t[h..].copy_from_slice(self.reverse.step_sample(x_t, &mut rev).as_ref());
        }
    }

    /// [`forward_one_last`](Self::forward_one_last) of a sample of `len` steps padded
    /// to `T`: the forward direction's state after step `len - 1`, then the reverse
    /// direction's after step 0, having started at step `len - 1`.
    pub fn forward_one_last_len<const T: usize, const O: usize>(
        &self,
        x: &[L::Input; T],
        len: usize,
    ) -> [f32; O] {
        const { assert!(O == 2 * L::UNITS, "output width must be 2H") };
        let h = L::UNITS;
        let (mut fwd, mut rev) = (L::State::default(), L::State::default());
        let mut out = [0.0; O];
        for x_t in x.iter().take(len) {
            out[..h].copy_from_slice(self.forward.step_sample(x_t, &mut fwd).as_ref());
        }
        for x_t in x.iter().take(len).rev() {
            out[h..].copy_from_slice(self.reverse.step_sample(x_t, &mut rev).as_ref());
        }
        out
    }

    /// Calls `f` on each parameter tensor: the forward direction's, then the reverse's.
    pub fn visit(&self, f: &mut dyn FnMut(&[f32])) {
        self.forward.visit(f);
        self.reverse.visit(f);
    }

    /// Calls `f` on each parameter tensor, mutably, in the order of [`visit`](Self::visit).
    pub fn visit_mut(&mut self, f: &mut dyn FnMut(&mut [f32])) {
        self.forward.visit_mut(f);
        self.reverse.visit_mut(f);
    }
}

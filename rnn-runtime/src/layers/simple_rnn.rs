//! Elman RNN with tanh, as PyTorch's `nn.RNN` and Keras's `SimpleRNN`.

#[cfg(feature = "std")]
use super::infer::tiles;
#[cfg(feature = "std")]
use super::{ensure, RecurrentBuffers, SeqGrad, SeqOptions};
use super::{CellActivations, CellParams, SampleState};
use crate::kernels::activation::tanh_slice;
use crate::kernels::cell_activation::apply_slice;
#[cfg(feature = "std")]
use crate::kernels::cell_activation::backprop_slice;
#[cfg(feature = "std")]
use crate::rng::Rng;

/// A simple recurrent layer with `I` inputs and `H` units: `h' = act(W_ih x + b_ih +
/// W_hh h + b_hh)`, `act` tanh by default.
#[derive(Clone, Debug, PartialEq)]
pub struct SimpleRnnLayer<const I: usize, const H: usize> {
    /// `weight_ih [H, I]`, `weight_hh [H, H]`, `bias_ih [H]`, `bias_hh [H]`.
    pub cell: CellParams<I, H, 1>,
    /// `activation` is the cell's; `recurrent_activation` is unused (the cell has no
    /// gates). Tanh runs the fused kernels; any other activation a general path.
    pub activations: CellActivations,
}

/// State of a single-sample simple RNN run: only what carries from one step to the next
/// (`h`), so a stream's RAM is its state; the gate scratch of a step lives on the
/// stack of that step.
#[derive(Clone, Debug)]
pub struct SimpleRnnState<const H: usize> {
    /// Hidden state.
    pub h: [f32; H],
}

impl<const H: usize> SimpleRnnState<H> {
    /// The zero initial state.
    pub const fn new() -> Self {
        SimpleRnnState { h: [0.0; H] }
    }
}

impl<const H: usize> Default for SimpleRnnState<H> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "std")]
impl<const I: usize, const H: usize> SimpleRnnLayer<I, H> {
    /// Keras's initialisation: glorot-uniform, orthogonal, zero biases.
    pub fn init(rng: &mut Rng) -> Self {
        Self::init_with(rng, CellActivations::DEFAULT)
    }

    /// [`init`](Self::init) with the given activations; draws the same parameters.
    pub fn init_with(rng: &mut Rng, activations: CellActivations) -> Self {
        SimpleRnnLayer {
            cell: CellParams::init(rng),
            activations,
        }
    }

    /// Forward pass over a time-major `[steps, batch, I]` input from the zero state,
    /// keeping what BPTT needs.
    pub fn forward_seq(&self, x: &[f32], steps: usize, batch: usize, bufs: &mut RecurrentBuffers) {
        self.forward_seq_with(x, steps, batch, &SeqOptions::NONE, bufs)
    }

    /// [`forward_seq`](Self::forward_seq) with dropout masks and an initial state;
    /// see [`super::LstmLayer::forward_seq_with`].
    ///
    /// # Panics
    /// If an option's length does not match ([`SeqOptions::validate`]).
    pub fn forward_seq_with(
        &self,
        x: &[f32],
        steps: usize,
        batch: usize,
        opts: &SeqOptions<'_>,
        bufs: &mut RecurrentBuffers,
    ) {
        if bufs.infers(opts) {
            return self.forward_infer(x, steps, batch, opts, bufs);
        }
        bufs.inferred = false;
        self.forward_impl(x, steps, batch, opts, bufs, self.fused())
    }

    /// The inference path (see [`Inference`](super::Inference)): step by step, tile by
    /// tile of rows, keeping only the current `h`; the same kernels on the same rows
    /// as [`forward_impl`](Self::forward_impl), so the same bits.
    fn forward_infer(
        &self,
        x: &[f32],
        steps: usize,
        batch: usize,
        opts: &SeqOptions<'_>,
        bufs: &mut RecurrentBuffers,
    ) {
        let b = bufs.start_inference([steps, batch, I, H, 1], false, opts);
        for t in 0..steps {
            let (span, size) = (b.packing.step(t), b.packing.size(t));
            for tile in tiles(size) {
                let n = tile.len();
                let pre = &mut b.gates[..n * H];
                let x_rows = (span.start + tile.start) * I..(span.start + tile.end) * I;
                self.cell.project_inputs(&x[x_rows], n, true, pre);
                let h = &mut b.h[tile.start * H..tile.end * H];
                if t > 0 || opts.initial_h.is_some() {
                    self.cell.project_hidden(h, n, pre);
                }
                if self.fused() {
                    tanh_slice(pre);
                } else {
                    apply_slice(self.activations.activation, pre);
                }
                h.copy_from_slice(pre);
                if !b.seq.is_empty() {
                    let at = (span.start + tile.start) * H;
                    b.seq[at..at + n * H].copy_from_slice(h);
                }
            }
        }
    }

    /// The forward pass with the fused (tanh only) or general activation.
    pub(crate) fn forward_impl(
        &self,
        x: &[f32],
        steps: usize,
        batch: usize,
        opts: &SeqOptions<'_>,
        bufs: &mut RecurrentBuffers,
        fused: bool,
    ) {
        bufs.set_shape(steps, batch, I, H);
        bufs.has_cell = false;
        bufs.kept.load(opts, x, [steps, batch, I, H], false);
        let rows = bufs.rows();
        let kept = &mut bufs.kept;
        // Pre-activations are computed in the output buffer and activated in place.
        let h = ensure(&mut bufs.h, rows * H);
        let x_in = if kept.input_mask {
            &kept.x_masked[..rows * I]
        } else {
            x
        };
        self.cell.project_inputs(x_in, rows, true, h);
        for t in 0..steps {
            let (span, size) = (kept.packing.step(t), kept.packing.size(t));
            let (past, now) = h.split_at_mut(span.start * H);
            let now = &mut now[..size * H];
            if let Some(rec) = kept.recurrent_input(t, past, H) {
                self.cell.project_hidden(rec, size, now);
            }
            if fused {
                tanh_slice(now);
            } else {
                apply_slice(self.activations.activation, now);
            }
        }
        bufs.gather_last_states();
    }

    /// Backward pass through time; see [`super::LstmLayer::backward_seq`].
    pub fn backward_seq(
        &self,
        x: &[f32],
        d_out: SeqGrad<'_>,
        grads: &mut [f32],
        bufs: &mut RecurrentBuffers,
        need_dx: bool,
    ) {
        self.backward_impl(x, d_out, grads, bufs, need_dx, self.fused())
    }

    /// The backward pass matching [`forward_impl`](Self::forward_impl).
    pub(crate) fn backward_impl(
        &self,
        x: &[f32],
        d_out: SeqGrad<'_>,
        grads: &mut [f32],
        bufs: &mut RecurrentBuffers,
        need_dx: bool,
        fused: bool,
    ) {
        let (steps, rows, bh) = (bufs.steps, bufs.rows(), bufs.batch * H);
        let d_pre = ensure(&mut bufs.d_in, rows * H);
        let dh = ensure(&mut bufs.dh, bh);
        let dh_carry = ensure(&mut bufs.dh_carry, bh);
        dh_carry.fill(0.0);
        for t in (0..steps).rev() {
            let (span, size) = (bufs.kept.packing.step(t), bufs.kept.packing.size(t));
            let n = size * H;
            let (dh, dh_carry) = (&mut dh[..n], &mut dh_carry[..n]);
            d_out.at_step(t, &bufs.kept.packing, dh_carry, dh);
            let h_t = &bufs.h[span.start * H..span.end * H];
            let d_t = &mut d_pre[span.start * H..span.end * H];
            if fused {
                for ((d, g), h) in d_t.iter_mut().zip(dh.iter()).zip(h_t) {
                    *d = g * (1.0 - h * h);
                }
            } else {
                d_t.copy_from_slice(dh);
                backprop_slice(self.activations.activation, h_t, d_t);
            }
            if t > 0 {
                let masked = bufs.kept.recurrent_mask_and_scratch(n);
                self.cell
                    .backprop_hidden_masked(d_t, size, false, masked, dh_carry);
            }
        }
        self.cell.finish_backward(x, bufs, false, grads, need_dx);
    }
}

impl<const I: usize, const H: usize> SimpleRnnLayer<I, H> {
    /// Number of scalar parameters.
    pub const PARAMS: usize = CellParams::<I, H, 1>::PARAMS;

    /// The layer whose `PARAMS` values (canonical order) are the little-endian `f32`s
    /// at byte offset `at` of `bytes`, with the given activations: a `const fn`
    /// without `std`, so that a model's weights can live in flash.
    ///
    /// # Panics
    /// If `bytes` is shorter than `at + 4 · PARAMS`.
    #[cfg(not(feature = "std"))]
    pub const fn from_le_bytes(bytes: &[u8], at: usize, activations: CellActivations) -> Self {
        SimpleRnnLayer {
            cell: CellParams::from_le_bytes(bytes, at),
            activations,
        }
    }

    /// The layer whose `PARAMS` values (canonical order) are the little-endian `f32`s
    /// at byte offset `at` of `bytes`, with the given activations: a `const fn`
    /// without `std`, so that a model's weights can live in flash.
    ///
    /// # Panics
    /// If `bytes` is shorter than `at + 4 · PARAMS`.
    #[cfg(feature = "std")]
    pub fn from_le_bytes(bytes: &[u8], at: usize, activations: CellActivations) -> Self {
        SimpleRnnLayer {
            cell: CellParams::from_le_bytes(bytes, at),
            activations,
        }
    }

    /// Whether the fused tanh kernels apply.
    fn fused(&self) -> bool {
        self.activations.activation == CellActivations::DEFAULT.activation
    }

    /// One time step of one sample, for allocation-free inference; returns the new `h`.
    pub fn step_one<'s>(&self, x: &[f32; I], s: &'s mut SimpleRnnState<H>) -> &'s [f32; H] {
        if self.fused() {
            self.step_one_as::<true>(x, s)
        } else {
            self.step_one_as::<false>(x, s)
        }
    }

    /// [`step_one`](Self::step_one) with whether the activation is the default (tanh)
    /// known at compile time (checked in debug builds): what generated code calls, so
    /// that a model links only the path it takes.
    #[doc(hidden)]
    #[inline]
    pub fn step_one_as<'s, const DEFAULT: bool>(
        &self,
        x: &[f32; I],
        s: &'s mut SimpleRnnState<H>,
    ) -> &'s [f32; H] {
        debug_assert_eq!(self.fused(), DEFAULT);
        if !self.fused_step(x, &mut s.h) {
            let mut pre = [0.0f32; H];
            self.cell.gates_one(x, &s.h, None, &mut pre[..]);
            if DEFAULT {
                tanh_slice(&mut pre);
            } else {
                apply_slice(self.activations.activation, &mut pre);
            }
            s.h = pre;
        }
        &s.h
    }

    /// [`step_one`](Self::step_one) on a [`SampleState`] (whose `c` is unused).
    pub fn step_sample<'s>(&self, x: &[f32; I], s: &'s mut SampleState<H>) -> &'s [f32; H] {
        if !self.fused_step(x, &mut s.h) {
            let mut pre = [0.0f32; H];
            self.step_parts(x, &mut s.h, &mut pre);
        }
        &s.h
    }

    /// The fused step (`kernels::step`) where the activation is tanh and the CPU runs
    /// it; false, changing nothing, otherwise.
    #[inline(always)]
    fn fused_step(&self, x: &[f32; I], h: &mut [f32; H]) -> bool {
        #[cfg(feature = "std")]
        return self.fused() && self.cell.fused_step(x, h, None);
        #[cfg(not(feature = "std"))]
        {
            let _ = (x, h);
            false
        }
    }

    /// One step of one sample without the fused kernel: `pre` is scratch.
    pub(crate) fn step_parts(&self, x: &[f32; I], h: &mut [f32; H], pre: &mut [f32; H]) {
        self.cell.gates_one(x, h, None, &mut pre[..]);
        if self.fused() {
            tanh_slice(pre);
        } else {
            apply_slice(self.activations.activation, pre);
        }
        *h = *pre;
    }

    /// Calls `f` on each parameter tensor in canonical order.
    pub fn visit(&self, f: &mut dyn FnMut(&[f32])) {
        self.cell.visit(f)
    }

    /// Calls `f` on each parameter tensor, mutably, in canonical order.
    pub fn visit_mut(&mut self, f: &mut dyn FnMut(&mut [f32])) {
        self.cell.visit_mut(f)
    }
}

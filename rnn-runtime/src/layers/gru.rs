//! GRU as PyTorch's `nn.GRU` (Keras `reset_after = true`): gates r, z, n, with the
//! reset gate applied after the recurrent matrix product.

#[cfg(feature = "std")]
use super::infer::tiles;
#[cfg(feature = "std")]
use super::tensor::Tensor;
#[cfg(feature = "std")]
use super::{ensure, RecurrentBuffers, SeqGrad, SeqOptions};
use super::{CellActivations, CellParams, SampleState};
use crate::kernels::activation::{sigmoid_slice, tanh_slice};
use crate::kernels::cell_activation::apply_slice;
#[cfg(feature = "std")]
use crate::kernels::simd::multiversion;
#[cfg(feature = "std")]
use crate::rng::Rng;

/// A GRU layer with `I` inputs and `H` units.
#[derive(Clone, Debug, PartialEq)]
pub struct GruLayer<const I: usize, const H: usize> {
    /// `weight_ih [3H, I]`, `weight_hh [3H, H]`, `bias_ih [3H]`, `bias_hh [3H]`.
    pub cell: CellParams<I, H, 3>,
    /// `activation` for the candidate `n`, `recurrent_activation` for the gates `r`
    /// and `z`. The default pair runs a fused backward kernel; any other pair a general one.
    pub activations: CellActivations,
}

/// State of a single-sample GRU run: only what carries from one step to the next
/// (`h`), so a stream's RAM is its state; the gate scratch of a step lives on the
/// stack of that step; `G` must be `3 * H`.
#[derive(Clone, Debug)]
pub struct GruState<const H: usize, const G: usize> {
    /// Hidden state.
    pub h: [f32; H],
}

impl<const H: usize, const G: usize> GruState<H, G> {
    /// The zero initial state.
    pub const fn new() -> Self {
        assert!(G == 3 * H, "GruState<H, G> needs G = 3H");
        GruState { h: [0.0; H] }
    }
}

impl<const H: usize, const G: usize> Default for GruState<H, G> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "std")]
multiversion! {
    /// The element-wise part of one GRU BPTT step for every row: from the activated
    /// `gates`, the hidden side of `n`, `h_prev` (empty: zero) and `dh`, writes the
    /// gradients of the input- and hidden-side pre-activations and, in `carry`, the
    /// direct part `dh · z` of the previous hidden state's gradient.
    #[allow(clippy::too_many_arguments)]
    fn backward_step(
        gates: &[f32],
        hidden_n: &[f32],
        h_prev: &[f32],
        dh: &[f32],
        d_in: &mut [f32],
        d_hid: &mut [f32],
        carry: &mut [f32],
        units: usize,
    ) {
        let n = units;
        let rows = gates.chunks_exact(3 * n).zip(
            d_in.chunks_exact_mut(3 * n)
                .zip(d_hid.chunks_exact_mut(3 * n)),
        );
        for (b, (row, (dx, dhd))) in rows.enumerate() {
            let (r, rest) = row.split_at(n);
            let (z, g) = (&rest[..n], &rest[n..2 * n]);
            let span = b * n..(b + 1) * n;
            let (hn, dh, carry) = (
                &hidden_n[span.clone()],
                &dh[span.clone()],
                &mut carry[span.clone()],
            );
            let (dxr, rest) = dx.split_at_mut(n);
            let (dxz, dxn) = rest.split_at_mut(n);
            let (dhr, rest) = dhd.split_at_mut(n);
            let (dhz, dhn) = rest.split_at_mut(n);
            let hp = if h_prev.is_empty() {
                None
            } else {
                Some(&h_prev[span])
            };
            for j in 0..n {
                let h_prev = hp.map_or(0.0, |hp| hp[j]);
                let da_n = dh[j] * (1.0 - z[j]) * (1.0 - g[j] * g[j]);
                let da_r = da_n * hn[j] * r[j] * (1.0 - r[j]);
                let da_z = dh[j] * (h_prev - g[j]) * z[j] * (1.0 - z[j]);
                dxr[j] = da_r;
                dxz[j] = da_z;
                dxn[j] = da_n;
                dhr[j] = da_r;
                dhz[j] = da_z;
                dhn[j] = da_n * r[j];
                carry[j] = dh[j] * z[j];
            }
    }
}
}

#[cfg(feature = "std")]
multiversion! {
    /// The element-wise part of one GRU step for every row. `gates` (`[rows, 3H]`)
    /// holds the input side of the pre-activations `[r, z, n]` and becomes the
    /// activated gates; `hidden` the hidden side `W_h· h + b_h·`. Writes `h`, and the
    /// hidden side of `n` to `hidden_n` for BPTT. An empty `h_prev` means zero.
    /// `acts` is matched once per row slice, so the default pair runs the same
    /// vectorised sigmoid and tanh a dedicated kernel would.
    #[allow(clippy::too_many_arguments)]
    fn forward_step(
        gates: &mut [f32],
        hidden: &[f32],
        h_prev: &[f32],
        h: &mut [f32],
        hidden_n: &mut [f32],
        units: usize,
        acts: CellActivations,
    ) {
        let n = units;
        let rows = gates
            .chunks_exact_mut(3 * n)
            .zip(hidden.chunks_exact(3 * n));
        for (b, (xi, hd)) in rows.enumerate() {
            let (rz, gn) = xi.split_at_mut(2 * n);
            rz.iter_mut().zip(&hd[..2 * n]).for_each(|(v, h)| *v += h);
            acts.recurrent_activation.apply(rz);
            let (r, z) = rz.split_at(n);
            let hn = &hd[2 * n..3 * n];
            let gn = &mut gn[..n];
            for j in 0..n {
                gn[j] += r[j] * hn[j];
            }
            acts.activation.apply(gn);
            let span = b * n..(b + 1) * n;
            hidden_n[span.clone()].copy_from_slice(hn);
            let out = &mut h[span.clone()];
            if h_prev.is_empty() {
                for j in 0..n {
                    out[j] = (1.0 - z[j]) * gn[j];
                }
            } else {
                let hp = &h_prev[span];
                for j in 0..n {
                    out[j] = (1.0 - z[j]) * gn[j] + z[j] * hp[j];
                }
            }
        }
    }
}

/// The element-wise part of one step of one sample: [`forward_step`] for one row, the
/// same operations in the same order, so the same bits. Its sizes are in the type, so
/// no index needs a check: where layers of several sizes share the slice kernel, a
/// firmware build would keep its bounds checks, and the panic machinery with them.
/// `DEFAULT` says whether `acts` is the default pair (sigmoid, tanh), at compile time
/// where the caller knows it (generated code does), so that only that path is linked.
#[inline]
pub(crate) fn step_row<const H: usize, const DEFAULT: bool>(
    input_side: &mut [f32],
    hidden_side: &[f32],
    h: &mut [f32; H],
    acts: CellActivations,
) {
    let ((xs, _), (hs, _)) = (
        input_side.as_chunks_mut::<H>(),
        hidden_side.as_chunks::<H>(),
    );
    let ([r, z, n], [hr, hz, hn]) = (xs, hs) else {
        return;
    };
    for j in 0..H {
        r[j] += hr[j];
        z[j] += hz[j];
    }
    if DEFAULT {
        sigmoid_slice(r);
        sigmoid_slice(z);
    } else {
        apply_slice(acts.recurrent_activation, r);
        apply_slice(acts.recurrent_activation, z);
    }
    for j in 0..H {
        n[j] += r[j] * hn[j];
    }
    if DEFAULT {
        tanh_slice(n);
    } else {
        apply_slice(acts.activation, n);
    }
    let h_prev = *h;
    for j in 0..H {
        h[j] = (1.0 - z[j]) * n[j] + z[j] * h_prev[j];
    }
}

#[cfg(feature = "std")]
multiversion! {
    /// [`backward_step`] for any pair of activations.
    #[allow(clippy::too_many_arguments)]
    fn backward_step_general(
        gates: &[f32],
        hidden_n: &[f32],
        h_prev: &[f32],
        dh: &[f32],
        d_in: &mut [f32],
        d_hid: &mut [f32],
        carry: &mut [f32],
        units: usize,
        acts: CellActivations,
    ) {
        let n = units;
        let (act, rec) = (acts.activation, acts.recurrent_activation);
        let rows = gates.chunks_exact(3 * n).zip(
            d_in.chunks_exact_mut(3 * n)
                .zip(d_hid.chunks_exact_mut(3 * n)),
        );
        for (b, (row, (dx, dhd))) in rows.enumerate() {
            let (r, rest) = row.split_at(n);
            let (z, g) = (&rest[..n], &rest[n..2 * n]);
            let span = b * n..(b + 1) * n;
            let (hn, dh, carry) = (
                &hidden_n[span.clone()],
                &dh[span.clone()],
                &mut carry[span.clone()],
            );
            let (dxr, rest) = dx.split_at_mut(n);
            let (dxz, dxn) = rest.split_at_mut(n);
            let (dhr, rest) = dhd.split_at_mut(n);
            let (dhz, dhn) = rest.split_at_mut(n);
            let hp = if h_prev.is_empty() {
                None
            } else {
                Some(&h_prev[span])
            };
            for j in 0..n {
                let h_prev = hp.map_or(0.0, |hp| hp[j]);
                let da_n = dh[j] * (1.0 - z[j]) * act.derivative(g[j]);
                let da_r = da_n * hn[j] * rec.derivative(r[j]);
                let da_z = dh[j] * (h_prev - g[j]) * rec.derivative(z[j]);
                dxr[j] = da_r;
                dxz[j] = da_z;
                dxn[j] = da_n;
                dhr[j] = da_r;
                dhz[j] = da_z;
                dhn[j] = da_n * r[j];
                carry[j] = dh[j] * z[j];
            }
        }
    }
}

#[cfg(feature = "std")]
impl<const I: usize, const H: usize> GruLayer<I, H> {
    /// Keras's initialisation: glorot-uniform, orthogonal, zero biases.
    pub fn init(rng: &mut Rng) -> Self {
        Self::init_with(rng, CellActivations::DEFAULT)
    }

    /// [`init`](Self::init) with the given activations; draws the same parameters.
    pub fn init_with(rng: &mut Rng, activations: CellActivations) -> Self {
        GruLayer {
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
        self.forward_impl(x, steps, batch, opts, bufs, true)
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
        let gh = 3 * H;
        let b = bufs.start_inference([steps, batch, I, H, 3], false, opts);
        for t in 0..steps {
            let (span, size) = (b.packing.step(t), b.packing.size(t));
            let from_zero = t == 0 && opts.initial_h.is_none();
            for tile in tiles(size) {
                let (n, rows) = (tile.len(), tile.start * H..tile.end * H);
                let gates = &mut b.gates[..n * gh];
                let x_rows = (span.start + tile.start) * I..(span.start + tile.end) * I;
                self.cell.project_inputs(&x[x_rows], n, false, gates);
                let hid = &mut b.hid[..n * gh];
                for row in hid.chunks_exact_mut(gh) {
                    row.copy_from_slice(self.cell.bias_hh.flat());
                }
                let h = &mut b.h[rows];
                if !from_zero {
                    self.cell.project_hidden(h, n, hid);
                }
                let h_prev: &[f32] = if from_zero { &[] } else { h };
                let (h_new, hn) = (&mut b.h_new[..n * H], &mut b.act[..n * H]);
                forward_step(gates, hid, h_prev, h_new, hn, H, self.activations);
                h.copy_from_slice(h_new);
                if !b.seq.is_empty() {
                    let at = (span.start + tile.start) * H;
                    b.seq[at..at + n * H].copy_from_slice(h);
                }
            }
        }
    }

    /// The forward pass. Unlike the LSTM's, the GRU's element-wise forward kernel is
    /// the same for every activation pair, so `_fused` (kept for the signature the
    /// three cells share) selects nothing here.
    pub(crate) fn forward_impl(
        &self,
        x: &[f32],
        steps: usize,
        batch: usize,
        opts: &SeqOptions<'_>,
        bufs: &mut RecurrentBuffers,
        _fused: bool,
    ) {
        let gh = 3 * H;
        bufs.set_shape(steps, batch, I, H);
        bufs.has_cell = false;
        bufs.kept.load(opts, x, [steps, batch, I, H], false);
        let rows = bufs.rows();
        let kept = &mut bufs.kept;
        let gates = ensure(&mut bufs.gates, rows * gh);
        let hn_all = ensure(&mut bufs.state, rows * H);
        let hid = ensure(&mut bufs.hidden_proj, batch * gh);
        let h = ensure(&mut bufs.h, rows * H);
        let x_in = if kept.input_mask {
            &kept.x_masked[..rows * I]
        } else {
            x
        };
        self.cell.project_inputs(x_in, rows, false, gates);
        for t in 0..steps {
            let (span, size) = (kept.packing.step(t), kept.packing.size(t));
            let hid = &mut hid[..size * gh];
            for row in hid.chunks_exact_mut(gh) {
                row.copy_from_slice(self.cell.bias_hh.flat());
            }
            let (h_past, h_now) = h.split_at_mut(span.start * H);
            if let Some(rec) = kept.recurrent_input(t, h_past, H) {
                self.cell.project_hidden(rec, size, hid);
            }
            let h_prev = kept.state_before(t, h_past, H, false);
            let g_t = &mut gates[span.start * gh..span.end * gh];
            let (h_now, hn_t) = (
                &mut h_now[..size * H],
                &mut hn_all[span.start * H..span.end * H],
            );
            forward_step(g_t, hid, h_prev, h_now, hn_t, H, self.activations);
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
        let fused = self.activations == CellActivations::DEFAULT;
        self.backward_impl(x, d_out, grads, bufs, need_dx, fused)
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
        let (steps, rows, gh, bh) = (bufs.steps, bufs.rows(), 3 * H, bufs.batch * H);
        let d_in = ensure(&mut bufs.d_in, rows * gh);
        let d_hid = ensure(&mut bufs.d_hid, rows * gh);
        let dh = ensure(&mut bufs.dh, bh);
        let dh_carry = ensure(&mut bufs.dh_carry, bh);
        dh_carry.fill(0.0);
        for t in (0..steps).rev() {
            let (span, size) = (bufs.kept.packing.step(t), bufs.kept.packing.size(t));
            let n = size * H;
            let (dh, dh_carry) = (&mut dh[..n], &mut dh_carry[..n]);
            d_out.at_step(t, &bufs.kept.packing, dh_carry, dh);
            // The interpolation z · h_{t-1} sees the unmasked previous state.
            let h_prev = bufs.kept.state_before(t, &bufs.h, H, false);
            let gspan = span.start * gh..span.end * gh;
            let (g_t, hn_t) = (
                &bufs.gates[gspan.clone()],
                &bufs.state[span.start * H..span.end * H],
            );
            let (di_t, dh_t) = (&mut d_in[gspan.clone()], &mut d_hid[gspan]);
            if fused {
                backward_step(g_t, hn_t, h_prev, dh, di_t, dh_t, dh_carry, H);
            } else {
                let acts = self.activations;
                backward_step_general(g_t, hn_t, h_prev, dh, di_t, dh_t, dh_carry, H, acts);
            }
            if t > 0 {
                let masked = bufs.kept.recurrent_mask_and_scratch(n);
                self.cell
                    .backprop_hidden_masked(dh_t, size, true, masked, dh_carry);
            }
        }
        self.cell.finish_backward(x, bufs, true, grads, need_dx);
    }
}

impl<const I: usize, const H: usize> GruLayer<I, H> {
    /// Number of scalar parameters.
    pub const PARAMS: usize = CellParams::<I, H, 3>::PARAMS;

    /// The layer whose `PARAMS` values (canonical order) are the little-endian `f32`s
    /// at byte offset `at` of `bytes`, with the given activations: a `const fn`
    /// without `std`, so that a model's weights can live in flash.
    ///
    /// # Panics
    /// If `bytes` is shorter than `at + 4 · PARAMS`.
    #[cfg(not(feature = "std"))]
    pub const fn from_le_bytes(bytes: &[u8], at: usize, activations: CellActivations) -> Self {
        GruLayer {
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
        GruLayer {
            cell: CellParams::from_le_bytes(bytes, at),
            activations,
        }
    }

    /// One time step of one sample, for allocation-free inference; returns the new `h`.
    pub fn step_one<'s, const G: usize>(
        &self,
        x: &[f32; I],
        s: &'s mut GruState<H, G>,
    ) -> &'s [f32; H] {
        if self.activations == CellActivations::DEFAULT {
            self.step_one_as::<true, G>(x, s)
        } else {
            self.step_one_as::<false, G>(x, s)
        }
    }

    /// [`step_one`](Self::step_one) with whether the activations are the default pair
    /// known at compile time (checked in debug builds): what generated code calls, so
    /// that a model links only the element-wise path it takes.
    #[doc(hidden)]
    #[inline]
    pub fn step_one_as<'s, const DEFAULT: bool, const G: usize>(
        &self,
        x: &[f32; I],
        s: &'s mut GruState<H, G>,
    ) -> &'s [f32; H] {
        debug_assert_eq!(self.activations == CellActivations::DEFAULT, DEFAULT);
        if !self.fused_step(x, &mut s.h) {
            let (mut input_side, mut hidden_side) = ([[0.0f32; H]; 3], [[0.0f32; H]; 3]);
            let (xs, hs) = (
                input_side.as_flattened_mut(),
                hidden_side.as_flattened_mut(),
            );
            self.cell.gates_one(x, &s.h, Some(&mut *hs), xs);
            step_row::<H, DEFAULT>(xs, hs, &mut s.h, self.activations);
        }
        &s.h
    }

    /// [`step_one`](Self::step_one) on a [`SampleState`] (whose `c` is unused), with
    /// the gate scratch on the stack.
    pub fn step_sample<'s>(&self, x: &[f32; I], s: &'s mut SampleState<H>) -> &'s [f32; H] {
        if !self.fused_step(x, &mut s.h) {
            let mut input_side = [[0.0f32; H]; 3];
            let mut hidden_side = [[0.0f32; H]; 3];
            let (xs, hs) = (
                input_side.as_flattened_mut(),
                hidden_side.as_flattened_mut(),
            );
            self.step_parts(x, &mut s.h, xs, hs);
        }
        &s.h
    }

    /// The fused step (`kernels::step`) where the activations are the default pair and
    /// the CPU runs it; false, changing nothing, otherwise.
    #[inline(always)]
    fn fused_step(&self, x: &[f32; I], h: &mut [f32; H]) -> bool {
        #[cfg(feature = "std")]
        return self.activations == CellActivations::DEFAULT && self.cell.fused_step(x, h, None);
        #[cfg(not(feature = "std"))]
        {
            let _ = (x, h);
            false
        }
    }

    /// One step of one sample without the fused kernel: `input_side` and `hidden_side`
    /// (`3H` each) are scratch.
    pub(crate) fn step_parts(
        &self,
        x: &[f32; I],
        h: &mut [f32; H],
        input_side: &mut [f32],
        hidden_side: &mut [f32],
    ) {
        self.cell
            .gates_one(x, h, Some(&mut *hidden_side), input_side);
        if self.activations == CellActivations::DEFAULT {
            step_row::<H, true>(input_side, hidden_side, h, self.activations);
        } else {
            step_row::<H, false>(input_side, hidden_side, h, self.activations);
        }
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

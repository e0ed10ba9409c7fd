//! LSTM as PyTorch's `nn.LSTM`: gates i, f, g, o.

#[cfg(feature = "std")]
use super::infer::tiles;
#[cfg(feature = "std")]
use super::{ensure, RecurrentBuffers, SeqGrad, SeqOptions};
use super::{CellActivations, CellParams, SampleState};
#[cfg(feature = "std")]
use crate::kernels::activation::{sigmoid_in_place, tanh_in_place};
use crate::kernels::activation::{sigmoid_slice, tanh_slice};
use crate::kernels::cell_activation::apply_slice;
#[cfg(feature = "std")]
use crate::kernels::simd::multiversion;
#[cfg(feature = "std")]
use crate::rng::Rng;

/// An LSTM layer with `I` inputs and `H` units.
#[derive(Clone, Debug, PartialEq)]
pub struct LstmLayer<const I: usize, const H: usize> {
    /// `weight_ih [4H, I]`, `weight_hh [4H, H]`, `bias_ih [4H]`, `bias_hh [4H]`.
    pub cell: CellParams<I, H, 4>,
    /// `activation` for the candidate `g` and the `act(c)` in `h = o · act(c)`,
    /// `recurrent_activation` for the gates `i`, `f`, `o`. The default pair runs fused
    /// kernels; any other pair a general path.
    pub activations: CellActivations,
}

/// State of a single-sample LSTM run: only what carries from one step to the next
/// (`h` and `c`), so a stream's RAM is its state; the gate scratch of a step lives on the
/// stack of that step; `G` must be `4 * H`.
#[derive(Clone, Debug)]
pub struct LstmState<const H: usize, const G: usize> {
    /// Hidden state.
    pub h: [f32; H],
    /// Cell state.
    pub c: [f32; H],
}

impl<const H: usize, const G: usize> LstmState<H, G> {
    /// The zero initial state.
    pub const fn new() -> Self {
        assert!(G == 4 * H, "LstmState<H, G> needs G = 4H");
        LstmState {
            h: [0.0; H],
            c: [0.0; H],
        }
    }
}

impl<const H: usize, const G: usize> Default for LstmState<H, G> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "std")]
multiversion! {
    /// The element-wise part of one LSTM step for every row: activates `gates`
    /// (`[rows, 4H]`, pre-activations in, `[σ(i), σ(f), tanh(g), σ(o)]` out) and
    /// writes `c`, `tanh(c)` and `h` (`[rows, H]`). An empty `c_prev` means zero.
    fn forward_step(
        gates: &mut [f32],
        c_prev: &[f32],
        c: &mut [f32],
        tanh_c: &mut [f32],
        h: &mut [f32],
        units: usize,
    ) {
        // The transcendental work runs as two long passes over whole blocks, which
        // vectorise without per-row remainders: σ over every gate, with tanh(g) taken as
        // 2σ(2g) − 1, then tanh over every cell state.
        let n = units;
        for row in gates.chunks_exact_mut(4 * n) {
            row[2 * n..3 * n].iter_mut().for_each(|v| *v *= 2.0);
        }
        sigmoid_in_place(gates);
        for row in gates.chunks_exact_mut(4 * n) {
            row[2 * n..3 * n].iter_mut().for_each(|v| *v = 2.0 * *v - 1.0);
        }
        for (b, row) in gates.chunks_exact(4 * n).enumerate() {
            let (i, rest) = row.split_at(n);
            let (f, g) = (&rest[..n], &rest[n..2 * n]);
            let cn = &mut c[b * n..(b + 1) * n];
            if c_prev.is_empty() {
                for j in 0..n {
                    cn[j] = i[j] * g[j];
                }
            } else {
                let cp = &c_prev[b * n..(b + 1) * n];
                for j in 0..n {
                    cn[j] = f[j] * cp[j] + i[j] * g[j];
                }
            }
        }
        tanh_c.copy_from_slice(c);
        tanh_in_place(tanh_c);
        for (b, row) in gates.chunks_exact(4 * n).enumerate() {
            let o = &row[3 * n..4 * n];
            let (tc, hn) = (&tanh_c[b * n..(b + 1) * n], &mut h[b * n..(b + 1) * n]);
            for j in 0..n {
                hn[j] = o[j] * tc[j];
            }
    }
}
}

/// The element-wise part of one step of one sample: [`forward_step`] (default
/// activations) or [`forward_step_general`] for one row, the same operations in the
/// same order, so the same bits. Its sizes are in the type, so no index needs a check:
/// where layers of several sizes share the slice kernels, a firmware build would keep
/// their bounds checks, and the panic machinery with them. `DEFAULT` says whether
/// `acts` is the default pair, at compile time where the caller knows it (generated
/// code does), so that only the path taken is linked.
#[inline]
pub(crate) fn step_row<const H: usize, const DEFAULT: bool>(
    gates: &mut [f32],
    c: &mut [f32; H],
    h: &mut [f32; H],
    acts: CellActivations,
) {
    let (blocks, _) = gates.as_chunks_mut::<H>();
    let [i, f, g, o] = blocks else {
        return;
    };
    let c_prev = *c;
    let mut act_c = [0.0; H];
    if DEFAULT {
        // tanh(g) as 2σ(2g) − 1, as `forward_step`.
        g.iter_mut().for_each(|v| *v *= 2.0);
        for block in [&mut *i, &mut *f, &mut *g, &mut *o] {
            sigmoid_slice(block);
        }
        g.iter_mut().for_each(|v| *v = 2.0 * *v - 1.0);
        for j in 0..H {
            c[j] = f[j] * c_prev[j] + i[j] * g[j];
        }
        act_c = *c;
        tanh_slice(&mut act_c);
    } else {
        let (act, rec) = (acts.activation, acts.recurrent_activation);
        apply_slice(rec, i);
        apply_slice(rec, f);
        apply_slice(act, g);
        apply_slice(rec, o);
        for j in 0..H {
            c[j] = f[j] * c_prev[j] + i[j] * g[j];
        }
        act_c.copy_from_slice(c);
        apply_slice(act, &mut act_c);
    }
    for j in 0..H {
        h[j] = o[j] * act_c[j];
    }
}

#[cfg(feature = "std")]
multiversion! {
    /// The element-wise part of one BPTT step for every row: from the activated
    /// `gates`, `tanh(c)`, `c_prev` (empty: zero) and the gradient `dh` of this step's
    /// hidden state, writes the gate pre-activation gradients `d_gates` and replaces
    /// `dc` (gradient of this step's cell state, carried from the next step) by the
    /// gradient of the previous cell state.
    fn backward_step(
        gates: &[f32],
        tanh_c: &[f32],
        c_prev: &[f32],
        dh: &[f32],
        dc: &mut [f32],
        d_gates: &mut [f32],
        units: usize,
    ) {
        let n = units;
        let rows = gates
            .chunks_exact(4 * n)
            .zip(d_gates.chunks_exact_mut(4 * n));
        for (b, (row, drow)) in rows.enumerate() {
            let (i, rest) = row.split_at(n);
            let (f, rest) = rest.split_at(n);
            let (g, o) = rest.split_at(n);
            let (di, rest) = drow.split_at_mut(n);
            let (df, rest) = rest.split_at_mut(n);
            let (dg, d_o) = rest.split_at_mut(n);
            let span = b * n..(b + 1) * n;
            let (tc, dh, dc) = (
                &tanh_c[span.clone()],
                &dh[span.clone()],
                &mut dc[span.clone()],
            );
            let (o, d_o) = (&o[..n], &mut d_o[..n]);
            for j in 0..n {
                let dct = dc[j] + dh[j] * o[j] * (1.0 - tc[j] * tc[j]);
                d_o[j] = dh[j] * tc[j] * o[j] * (1.0 - o[j]);
                di[j] = dct * g[j] * i[j] * (1.0 - i[j]);
                dg[j] = dct * i[j] * (1.0 - g[j] * g[j]);
                dc[j] = dct;
            }
            if c_prev.is_empty() {
                df.fill(0.0);
            } else {
                let cp = &c_prev[span];
                for j in 0..n {
                    df[j] = dc[j] * cp[j] * f[j] * (1.0 - f[j]);
                }
            }
            for j in 0..n {
                dc[j] *= f[j];
            }
    }
}
}

#[cfg(feature = "std")]
multiversion! {
    /// [`forward_step`] for any pair of activations: `gates` becomes
    /// `[ρ(i), ρ(f), α(g), ρ(o)]` and `act_c` holds `α(c)`, with `ρ` the recurrent
    /// activation and `α` the activation.
    fn forward_step_general(
        gates: &mut [f32],
        c_prev: &[f32],
        c: &mut [f32],
        act_c: &mut [f32],
        h: &mut [f32],
        units: usize,
        acts: CellActivations,
    ) {
        let n = units;
        let (act, rec) = (acts.activation, acts.recurrent_activation);
        for (b, row) in gates.chunks_exact_mut(4 * n).enumerate() {
            let (ifg, o) = row.split_at_mut(3 * n);
            let (i_f, g) = ifg.split_at_mut(2 * n);
            rec.apply(i_f);
            act.apply(g);
            rec.apply(o);
            let (i, f) = i_f.split_at(n);
            let span = b * n..(b + 1) * n;
            let cn = &mut c[span.clone()];
            if c_prev.is_empty() {
                for j in 0..n {
                    cn[j] = i[j] * g[j];
                }
            } else {
                let cp = &c_prev[span.clone()];
                for j in 0..n {
                    cn[j] = f[j] * cp[j] + i[j] * g[j];
                }
            }
            let ac = &mut act_c[span.clone()];
            ac.copy_from_slice(cn);
            act.apply(ac);
            let hn = &mut h[span];
            for j in 0..n {
                hn[j] = o[j] * ac[j];
            }
        }
    }
}

#[cfg(feature = "std")]
multiversion! {
    /// [`backward_step`] for any pair of activations; `act_c` is `α(c)`.
    #[allow(clippy::too_many_arguments)]
    fn backward_step_general(
        gates: &[f32],
        act_c: &[f32],
        c_prev: &[f32],
        dh: &[f32],
        dc: &mut [f32],
        d_gates: &mut [f32],
        units: usize,
        acts: CellActivations,
    ) {
        let n = units;
        let (act, rec) = (acts.activation, acts.recurrent_activation);
        let rows = gates
            .chunks_exact(4 * n)
            .zip(d_gates.chunks_exact_mut(4 * n));
        for (b, (row, drow)) in rows.enumerate() {
            let (i, rest) = row.split_at(n);
            let (f, rest) = rest.split_at(n);
            let (g, o) = rest.split_at(n);
            let (di, rest) = drow.split_at_mut(n);
            let (df, rest) = rest.split_at_mut(n);
            let (dg, d_o) = rest.split_at_mut(n);
            let span = b * n..(b + 1) * n;
            let (ac, dh, dc) = (
                &act_c[span.clone()],
                &dh[span.clone()],
                &mut dc[span.clone()],
            );
            for j in 0..n {
                let dct = dc[j] + dh[j] * o[j] * act.derivative(ac[j]);
                d_o[j] = dh[j] * ac[j] * rec.derivative(o[j]);
                di[j] = dct * g[j] * rec.derivative(i[j]);
                dg[j] = dct * i[j] * act.derivative(g[j]);
                dc[j] = dct;
            }
            if c_prev.is_empty() {
                df.fill(0.0);
            } else {
                let cp = &c_prev[span];
                for j in 0..n {
                    df[j] = dc[j] * cp[j] * rec.derivative(f[j]);
                }
            }
            for j in 0..n {
                dc[j] *= f[j];
            }
        }
    }
}

#[cfg(feature = "std")]
impl<const I: usize, const H: usize> LstmLayer<I, H> {
    /// Keras's initialisation, with the forget-gate bias set to 1 (`unit_forget_bias`).
    pub fn init(rng: &mut Rng) -> Self {
        Self::init_with(rng, CellActivations::DEFAULT)
    }

    /// [`init`](Self::init) with the given activations; draws the same parameters.
    pub fn init_with(rng: &mut Rng, activations: CellActivations) -> Self {
        let mut cell = CellParams::init(rng);
        // Gate block 1 is the forget gate.
        cell.bias_ih[1].fill(1.0);
        cell.lay_out();
        LstmLayer { cell, activations }
    }

    /// Forward pass over a time-major `[steps, batch, I]` input from the zero state,
    /// keeping what BPTT needs.
    pub fn forward_seq(&self, x: &[f32], steps: usize, batch: usize, bufs: &mut RecurrentBuffers) {
        self.forward_seq_with(x, steps, batch, &SeqOptions::NONE, bufs)
    }

    /// [`forward_seq`](Self::forward_seq) with dropout masks and initial states;
    /// the final states are then [`RecurrentBuffers::last_hidden`] and
    /// [`RecurrentBuffers::last_cell`].
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
        let fused = self.activations == CellActivations::DEFAULT;
        if bufs.infers(opts) {
            return self.forward_infer(x, steps, batch, opts, bufs, fused);
        }
        bufs.inferred = false;
        self.forward_impl(x, steps, batch, opts, bufs, fused)
    }

    /// The inference path (see [`Inference`](super::Inference)): step by step, tile by
    /// tile of rows, keeping only the current `h` and `c`; the same kernels on the
    /// same rows as [`forward_impl`](Self::forward_impl), so the same bits.
    fn forward_infer(
        &self,
        x: &[f32],
        steps: usize,
        batch: usize,
        opts: &SeqOptions<'_>,
        bufs: &mut RecurrentBuffers,
        fused: bool,
    ) {
        let gh = 4 * H;
        let b = bufs.start_inference([steps, batch, I, H, 4], true, opts);
        let packing = b.packing;
        let [mut c_prev, mut c_now] = b.c;
        for t in 0..steps {
            let (span, size) = (packing.step(t), packing.size(t));
            let from_zero_c = t == 0 && opts.initial_c.is_none();
            for tile in tiles(size) {
                let (n, rows) = (tile.len(), tile.start * H..tile.end * H);
                let gates = &mut b.gates[..n * gh];
                let x_rows = (span.start + tile.start) * I..(span.start + tile.end) * I;
                self.cell.project_inputs(&x[x_rows], n, true, gates);
                let h = &mut b.h[rows.clone()];
                if t > 0 || opts.initial_h.is_some() {
                    self.cell.project_hidden(h, n, gates);
                }
                let cp: &[f32] = if from_zero_c {
                    &[]
                } else {
                    &c_prev[rows.clone()]
                };
                let (cn, act) = (&mut c_now[rows], &mut b.act[..n * H]);
                if fused {
                    forward_step(gates, cp, cn, act, h, H);
                } else {
                    forward_step_general(gates, cp, cn, act, h, H, self.activations);
                }
                if !b.seq.is_empty() {
                    let at = (span.start + tile.start) * H;
                    b.seq[at..at + n * H].copy_from_slice(h);
                }
            }
            // The samples whose last step this is keep their cell state.
            let ending = match t + 1 < steps {
                true => packing.size(t + 1)..size,
                false => 0..size,
            };
            let span = ending.start * H..ending.end * H;
            b.last_c[span.clone()].copy_from_slice(&c_now[span]);
            core::mem::swap(&mut c_prev, &mut c_now);
        }
    }

    /// The forward pass with the fused (default activations only) or general
    /// element-wise kernels.
    pub(crate) fn forward_impl(
        &self,
        x: &[f32],
        steps: usize,
        batch: usize,
        opts: &SeqOptions<'_>,
        bufs: &mut RecurrentBuffers,
        fused: bool,
    ) {
        let gh = 4 * H;
        bufs.set_shape(steps, batch, I, H);
        bufs.has_cell = true;
        bufs.kept.load(opts, x, [steps, batch, I, H], true);
        let rows = bufs.rows();
        let kept = &mut bufs.kept;
        let gates = ensure(&mut bufs.gates, rows * gh);
        let c = ensure(&mut bufs.state, rows * H);
        let act_c = ensure(&mut bufs.tanh_c, rows * H);
        let h = ensure(&mut bufs.h, rows * H);
        let x_in = if kept.input_mask {
            &kept.x_masked[..rows * I]
        } else {
            x
        };
        self.cell.project_inputs(x_in, rows, true, gates);
        for t in 0..steps {
            let (span, size) = (kept.packing.step(t), kept.packing.size(t));
            let g_t = &mut gates[span.start * gh..span.end * gh];
            let (h_past, h_now) = h.split_at_mut(span.start * H);
            if let Some(rec) = kept.recurrent_input(t, h_past, H) {
                self.cell.project_hidden(rec, size, g_t);
            }
            let (c_past, c_now) = c.split_at_mut(span.start * H);
            let c_prev = kept.state_before(t, c_past, H, true);
            let n = size * H;
            let (c_now, act_c, h_now) = (
                &mut c_now[..n],
                &mut act_c[span.start * H..span.end * H],
                &mut h_now[..n],
            );
            if fused {
                forward_step(g_t, c_prev, c_now, act_c, h_now, H);
            } else {
                forward_step_general(g_t, c_prev, c_now, act_c, h_now, H, self.activations);
            }
        }
        bufs.gather_last_states();
    }

    /// Backward pass through time after [`forward_seq`](Self::forward_seq) or
    /// [`forward_seq_with`](Self::forward_seq_with) on the same buffers and input `x`,
    /// with the masks and initial states of that pass. Adds this layer's gradients to
    /// `grads` (its `PARAMS` values, canonical order) and, if `need_dx`, leaves the
    /// input gradient in the buffers ([`RecurrentBuffers::input_grad`]).
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
        let (steps, rows, gh, bh) = (bufs.steps, bufs.rows(), 4 * H, bufs.batch * H);
        let d_gates = ensure(&mut bufs.d_in, rows * gh);
        let dh = ensure(&mut bufs.dh, bh);
        let dh_carry = ensure(&mut bufs.dh_carry, bh);
        let dc = ensure(&mut bufs.dc_carry, bh);
        dh_carry.fill(0.0);
        dc.fill(0.0);
        // Going back in time, samples join as their last step comes up; the rows of a
        // sample not yet joined stay zero in the carries.
        for t in (0..steps).rev() {
            let (span, size) = (bufs.kept.packing.step(t), bufs.kept.packing.size(t));
            let n = size * H;
            let (dh, dh_carry, dc) = (&mut dh[..n], &mut dh_carry[..n], &mut dc[..n]);
            d_out.at_step(t, &bufs.kept.packing, dh_carry, dh);
            let g_t = &bufs.gates[span.start * gh..span.end * gh];
            let dg_t = &mut d_gates[span.start * gh..span.end * gh];
            let tc_t = &bufs.tanh_c[span.start * H..span.end * H];
            let c_prev = bufs.kept.state_before(t, &bufs.state, H, true);
            if fused {
                backward_step(g_t, tc_t, c_prev, dh, dc, dg_t, H);
            } else {
                backward_step_general(g_t, tc_t, c_prev, dh, dc, dg_t, H, self.activations);
            }
            if t > 0 {
                let masked = bufs.kept.recurrent_mask_and_scratch(n);
                self.cell
                    .backprop_hidden_masked(dg_t, size, false, masked, dh_carry);
            }
        }
        self.cell.finish_backward(x, bufs, false, grads, need_dx);
    }
}

impl<const I: usize, const H: usize> LstmLayer<I, H> {
    /// Number of scalar parameters.
    pub const PARAMS: usize = CellParams::<I, H, 4>::PARAMS;

    /// The layer whose `PARAMS` values (canonical order) are the little-endian `f32`s
    /// at byte offset `at` of `bytes`, with the given activations: a `const fn`
    /// without `std`, so that a model's weights can live in flash.
    ///
    /// # Panics
    /// If `bytes` is shorter than `at + 4 · PARAMS`.
    #[cfg(not(feature = "std"))]
    pub const fn from_le_bytes(bytes: &[u8], at: usize, activations: CellActivations) -> Self {
        LstmLayer {
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
        LstmLayer {
            cell: CellParams::from_le_bytes(bytes, at),
            activations,
        }
    }

    /// One time step of one sample, for allocation-free inference; returns the new `h`.
    pub fn step_one<'s, const G: usize>(
        &self,
        x: &[f32; I],
        s: &'s mut LstmState<H, G>,
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
        s: &'s mut LstmState<H, G>,
    ) -> &'s [f32; H] {
        debug_assert_eq!(self.activations == CellActivations::DEFAULT, DEFAULT);
        if !self.fused_step(x, &mut s.h, &mut s.c) {
            let mut gates = [[0.0f32; H]; 4];
            self.cell.gates_one(x, &s.h, None, gates.as_flattened_mut());
            step_row::<H, DEFAULT>(
                gates.as_flattened_mut(),
                &mut s.c,
                &mut s.h,
                self.activations,
            );
        }
        &s.h
    }

    /// [`step_one`](Self::step_one) on a [`SampleState`], with the gate scratch (if
    /// any) on the stack.
    pub fn step_sample<'s>(&self, x: &[f32; I], s: &'s mut SampleState<H>) -> &'s [f32; H] {
        if !self.fused_step(x, &mut s.h, &mut s.c) {
            let mut gates = [[0.0f32; H]; 4];
            self.step_parts(x, &mut s.h, &mut s.c, gates.as_flattened_mut());
        }
        &s.h
    }

    /// The fused step (`kernels::step`) where the activations are the default pair and
    /// the CPU runs it; false, changing nothing, otherwise.
    #[inline(always)]
    fn fused_step(&self, x: &[f32; I], h: &mut [f32; H], c: &mut [f32; H]) -> bool {
        #[cfg(feature = "std")]
        return self.activations == CellActivations::DEFAULT && self.cell.fused_step(x, h, Some(c));
        #[cfg(not(feature = "std"))]
        {
            let _ = (x, h, c);
            false
        }
    }

    /// One step of one sample without the fused kernel: the product into `gates`
    /// (`4H`, scratch), then the element-wise part.
    pub(crate) fn step_parts(
        &self,
        x: &[f32; I],
        h: &mut [f32; H],
        c: &mut [f32; H],
        gates: &mut [f32],
    ) {
        self.cell.gates_one(x, h, None, gates);
        if self.activations == CellActivations::DEFAULT {
            step_row::<H, true>(gates, c, h, self.activations);
        } else {
            step_row::<H, false>(gates, c, h, self.activations);
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

//! LSTM as PyTorch's `nn.LSTM`: gates i, f, g, o.

use super::{ensure, CellParams, RecurrentBuffers, SeqGrad};
use crate::activation::{sigmoid_in_place, tanh_in_place};
use crate::rng::Rng;
use crate::simd::multiversion;

/// An LSTM layer with `I` inputs and `H` units.
#[derive(Clone, Debug, PartialEq)]
pub struct LstmLayer<const I: usize, const H: usize> {
    /// `weight_ih [4H, I]`, `weight_hh [4H, H]`, `bias_ih [4H]`, `bias_hh [4H]`.
    pub cell: CellParams<I, H, 4>,
}

/// State of a single-sample LSTM run; `G` must be `4 * H`.
#[derive(Clone, Debug)]
pub struct LstmState<const H: usize, const G: usize> {
    /// Hidden state.
    pub h: [f32; H],
    /// Cell state.
    pub c: [f32; H],
    gates: [f32; G],
}

impl<const H: usize, const G: usize> LstmState<H, G> {
    /// The zero initial state.
    pub const fn new() -> Self {
        assert!(G == 4 * H, "LstmState<H, G> needs G = 4H");
        LstmState {
            h: [0.0; H],
            c: [0.0; H],
            gates: [0.0; G],
        }
    }
}

impl<const H: usize, const G: usize> Default for LstmState<H, G> {
    fn default() -> Self {
        Self::new()
    }
}

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

impl<const I: usize, const H: usize> LstmLayer<I, H> {
    /// Number of scalar parameters.
    pub const PARAMS: usize = CellParams::<I, H, 4>::PARAMS;

    /// Keras's initialisation, with the forget-gate bias set to 1 (`unit_forget_bias`).
    pub fn init(rng: &mut Rng) -> Self {
        let mut cell = CellParams::init(rng);
        cell.bias_ih[H..2 * H].fill(1.0);
        cell.lay_out();
        LstmLayer { cell }
    }

    /// Forward pass over a time-major `[steps, batch, I]` input, keeping what BPTT needs.
    pub fn forward_seq(&self, x: &[f32], steps: usize, batch: usize, bufs: &mut RecurrentBuffers) {
        let (rows, gh, bh) = (steps * batch, 4 * H, batch * H);
        bufs.set_shape(steps, batch, I, H);
        let gates = ensure(&mut bufs.gates, rows * gh);
        let c = ensure(&mut bufs.state, rows * H);
        let tanh_c = ensure(&mut bufs.tanh_c, rows * H);
        let h = ensure(&mut bufs.h, rows * H);
        self.cell.project_inputs(x, rows, true, gates);
        for t in 0..steps {
            let g_t = &mut gates[t * batch * gh..(t + 1) * batch * gh];
            let (h_past, h_now) = h.split_at_mut(t * bh);
            if t > 0 {
                self.cell
                    .project_hidden(&h_past[(t - 1) * bh..], batch, g_t);
            }
            let (c_past, c_now) = c.split_at_mut(t * bh);
            let c_prev = if t > 0 { &c_past[(t - 1) * bh..] } else { &[] };
            forward_step(
                g_t,
                c_prev,
                &mut c_now[..bh],
                &mut tanh_c[t * bh..(t + 1) * bh],
                &mut h_now[..bh],
                H,
            );
        }
    }

    /// Backward pass through time after [`forward_seq`](Self::forward_seq) on the same
    /// buffers and input `x`. Adds this layer's gradients to `grads` (its `PARAMS`
    /// values, canonical order) and, if `need_dx`, leaves the input gradient in the
    /// buffers ([`RecurrentBuffers::input_grad`]).
    pub fn backward_seq(
        &self,
        x: &[f32],
        d_out: SeqGrad<'_>,
        grads: &mut [f32],
        bufs: &mut RecurrentBuffers,
        need_dx: bool,
    ) {
        let (steps, batch) = (bufs.steps, bufs.batch);
        let (rows, gh, bh) = (steps * batch, 4 * H, batch * H);
        let d_gates = ensure(&mut bufs.d_in, rows * gh);
        let dh = ensure(&mut bufs.dh, bh);
        let dh_carry = ensure(&mut bufs.dh_carry, bh);
        let dc = ensure(&mut bufs.dc_carry, bh);
        dh_carry.fill(0.0);
        dc.fill(0.0);
        for t in (0..steps).rev() {
            d_out.at_step(t, steps, dh_carry, dh);
            let g_t = &bufs.gates[t * batch * gh..(t + 1) * batch * gh];
            let dg_t = &mut d_gates[t * batch * gh..(t + 1) * batch * gh];
            let tc_t = &bufs.tanh_c[t * bh..(t + 1) * bh];
            let c_prev = if t > 0 {
                &bufs.state[(t - 1) * bh..t * bh]
            } else {
                &[]
            };
            backward_step(g_t, tc_t, c_prev, dh, dc, dg_t, H);
            if t > 0 {
                self.cell.backprop_hidden(dg_t, batch, false, dh_carry);
            }
        }
        self.cell.finish_backward(x, bufs, false, grads, need_dx);
    }

    /// One time step of one sample, for allocation-free inference; returns the new `h`.
    pub fn step_one<'s, const G: usize>(
        &self,
        x: &[f32; I],
        s: &'s mut LstmState<H, G>,
    ) -> &'s [f32; H] {
        self.cell.gates_one(x, &s.h, None, &mut s.gates);
        let c_prev = s.c;
        let mut tanh_c = [0.0; H];
        forward_step(&mut s.gates, &c_prev, &mut s.c, &mut tanh_c, &mut s.h, H);
        &s.h
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

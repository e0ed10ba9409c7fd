//! LSTM as PyTorch's `nn.LSTM`: gates i, f, g, o.

use super::{ensure, CellParams, RecurrentBuffers, SeqGrad};
use crate::activation::{sigmoid_slice, tanh_slice};
use crate::rng::Rng;

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

/// Activates one sample's `[i, f, g, o]` pre-activations in place: σ, σ, tanh, σ.
fn activate_gates<const H: usize>(row: &mut [f32]) {
    let (ifg, o) = row.split_at_mut(3 * H);
    let (i_f, g) = ifg.split_at_mut(2 * H);
    sigmoid_slice(i_f);
    tanh_slice(g);
    sigmoid_slice(o);
}

impl<const I: usize, const H: usize> LstmLayer<I, H> {
    /// Number of scalar parameters.
    pub const PARAMS: usize = CellParams::<I, H, 4>::PARAMS;

    /// Keras's initialisation, with the forget-gate bias set to 1 (`unit_forget_bias`).
    pub fn init(rng: &mut Rng) -> Self {
        let mut cell = CellParams::init(rng);
        cell.bias_ih[H..2 * H].fill(1.0);
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
                    .project_hidden(&h_past[(t - 1) * bh..], batch, 1.0, g_t);
            }
            g_t.chunks_exact_mut(gh).for_each(activate_gates::<H>);
            let (c_past, c_now) = c.split_at_mut(t * bh);
            let c_now = &mut c_now[..bh];
            let tc_now = &mut tanh_c[t * bh..(t + 1) * bh];
            let h_now = &mut h_now[..bh];
            for b in 0..batch {
                let row = &g_t[b * gh..(b + 1) * gh];
                let (i, rest) = row.split_at(H);
                let (f, rest) = rest.split_at(H);
                let (g, o) = rest.split_at(H);
                let cn = &mut c_now[b * H..(b + 1) * H];
                if t > 0 {
                    let cp = &c_past[(t - 1) * bh + b * H..(t - 1) * bh + (b + 1) * H];
                    for j in 0..H {
                        cn[j] = f[j] * cp[j] + i[j] * g[j];
                    }
                } else {
                    for j in 0..H {
                        cn[j] = i[j] * g[j];
                    }
                }
                let tc = &mut tc_now[b * H..(b + 1) * H];
                tc.copy_from_slice(cn);
                tanh_slice(tc);
                let hn = &mut h_now[b * H..(b + 1) * H];
                for j in 0..H {
                    hn[j] = o[j] * tc[j];
                }
            }
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
            for b in 0..batch {
                let row = &g_t[b * gh..(b + 1) * gh];
                let (i, rest) = row.split_at(H);
                let (f, rest) = rest.split_at(H);
                let (g, o) = rest.split_at(H);
                let drow = &mut dg_t[b * gh..(b + 1) * gh];
                let (di, rest) = drow.split_at_mut(H);
                let (df, rest) = rest.split_at_mut(H);
                let (dg, d_o) = rest.split_at_mut(H);
                let tc = &tc_t[b * H..(b + 1) * H];
                let dh_b = &dh[b * H..(b + 1) * H];
                let dc_b = &mut dc[b * H..(b + 1) * H];
                for j in 0..H {
                    let c_prev = if t > 0 {
                        bufs.state[(t - 1) * bh + b * H + j]
                    } else {
                        0.0
                    };
                    let dct = dc_b[j] + dh_b[j] * o[j] * (1.0 - tc[j] * tc[j]);
                    d_o[j] = dh_b[j] * tc[j] * o[j] * (1.0 - o[j]);
                    di[j] = dct * g[j] * i[j] * (1.0 - i[j]);
                    df[j] = dct * c_prev * f[j] * (1.0 - f[j]);
                    dg[j] = dct * i[j] * (1.0 - g[j] * g[j]);
                    dc_b[j] = dct * f[j];
                }
            }
            if t > 0 {
                self.cell.backprop_hidden(dg_t, batch, 0.0, dh_carry);
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
        let gates = &mut s.gates[..];
        self.cell.gates_one(x, &s.h, None, gates);
        activate_gates::<H>(gates);
        for j in 0..H {
            s.c[j] = gates[H + j] * s.c[j] + gates[j] * gates[2 * H + j];
        }
        let mut tc = s.c;
        tanh_slice(&mut tc);
        for j in 0..H {
            s.h[j] = gates[3 * H + j] * tc[j];
        }
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

//! GRU as PyTorch's `nn.GRU` (Keras `reset_after = true`): gates r, z, n, with the
//! reset gate applied after the recurrent matrix product.

use super::{ensure, CellParams, RecurrentBuffers, SeqGrad};
use crate::activation::{sigmoid_in_place, tanh_in_place};
use crate::rng::Rng;
use crate::simd::multiversion;

/// A GRU layer with `I` inputs and `H` units.
#[derive(Clone, Debug, PartialEq)]
pub struct GruLayer<const I: usize, const H: usize> {
    /// `weight_ih [3H, I]`, `weight_hh [3H, H]`, `bias_ih [3H]`, `bias_hh [3H]`.
    pub cell: CellParams<I, H, 3>,
}

/// State of a single-sample GRU run; `G` must be `3 * H`.
#[derive(Clone, Debug)]
pub struct GruState<const H: usize, const G: usize> {
    /// Hidden state.
    pub h: [f32; H],
    input_side: [f32; G],
    hidden_side: [f32; G],
}

impl<const H: usize, const G: usize> GruState<H, G> {
    /// The zero initial state.
    pub const fn new() -> Self {
        assert!(G == 3 * H, "GruState<H, G> needs G = 3H");
        GruState {
            h: [0.0; H],
            input_side: [0.0; G],
            hidden_side: [0.0; G],
        }
    }
}

impl<const H: usize, const G: usize> Default for GruState<H, G> {
    fn default() -> Self {
        Self::new()
    }
}

multiversion! {
    /// The element-wise part of one GRU step for every row. `gates` (`[rows, 3H]`)
    /// holds the input side of the pre-activations `[r, z, n]` and becomes the
    /// activated gates; `hidden` the hidden side `W_h· h + b_h·`. Writes `h`, and the
    /// hidden side of `n` to `hidden_n` for BPTT. An empty `h_prev` means zero.
    fn forward_step(
        gates: &mut [f32],
        hidden: &[f32],
        h_prev: &[f32],
        h: &mut [f32],
        hidden_n: &mut [f32],
        units: usize,
    ) {
        let n = units;
        let rows = gates
            .chunks_exact_mut(3 * n)
            .zip(hidden.chunks_exact(3 * n));
        for (b, (xi, hd)) in rows.enumerate() {
            let (rz, gn) = xi.split_at_mut(2 * n);
            rz.iter_mut().zip(&hd[..2 * n]).for_each(|(v, h)| *v += h);
            sigmoid_in_place(rz);
            let (r, z) = rz.split_at(n);
            let hn = &hd[2 * n..3 * n];
            let gn = &mut gn[..n];
            for j in 0..n {
                gn[j] += r[j] * hn[j];
            }
            tanh_in_place(gn);
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

impl<const I: usize, const H: usize> GruLayer<I, H> {
    /// Number of scalar parameters.
    pub const PARAMS: usize = CellParams::<I, H, 3>::PARAMS;

    /// Keras's initialisation: glorot-uniform, orthogonal, zero biases.
    pub fn init(rng: &mut Rng) -> Self {
        GruLayer {
            cell: CellParams::init(rng),
        }
    }

    /// Forward pass over a time-major `[steps, batch, I]` input, keeping what BPTT needs.
    pub fn forward_seq(&self, x: &[f32], steps: usize, batch: usize, bufs: &mut RecurrentBuffers) {
        let (rows, gh, bh) = (steps * batch, 3 * H, batch * H);
        bufs.set_shape(steps, batch, I, H);
        let gates = ensure(&mut bufs.gates, rows * gh);
        let hn_all = ensure(&mut bufs.state, rows * H);
        let hid = ensure(&mut bufs.hidden_proj, batch * gh);
        let h = ensure(&mut bufs.h, rows * H);
        self.cell.project_inputs(x, rows, false, gates);
        for t in 0..steps {
            for row in hid.chunks_exact_mut(gh) {
                row.copy_from_slice(&self.cell.bias_hh);
            }
            let (h_past, h_now) = h.split_at_mut(t * bh);
            let h_prev = (t > 0).then(|| &h_past[(t - 1) * bh..]);
            if let Some(hp) = h_prev {
                self.cell.project_hidden(hp, batch, hid);
            }
            let h_prev = h_prev.unwrap_or(&[]);
            forward_step(
                &mut gates[t * batch * gh..(t + 1) * batch * gh],
                hid,
                h_prev,
                &mut h_now[..bh],
                &mut hn_all[t * bh..(t + 1) * bh],
                H,
            );
        }
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
        let (steps, batch) = (bufs.steps, bufs.batch);
        let (rows, gh, bh) = (steps * batch, 3 * H, batch * H);
        let d_in = ensure(&mut bufs.d_in, rows * gh);
        let d_hid = ensure(&mut bufs.d_hid, rows * gh);
        let dh = ensure(&mut bufs.dh, bh);
        let dh_carry = ensure(&mut bufs.dh_carry, bh);
        dh_carry.fill(0.0);
        for t in (0..steps).rev() {
            d_out.at_step(t, steps, dh_carry, dh);
            let h_prev = if t > 0 {
                &bufs.h[(t - 1) * bh..t * bh]
            } else {
                &[]
            };
            let span = t * batch * gh..(t + 1) * batch * gh;
            backward_step(
                &bufs.gates[span.clone()],
                &bufs.state[t * bh..(t + 1) * bh],
                h_prev,
                dh,
                &mut d_in[span.clone()],
                &mut d_hid[span],
                dh_carry,
                H,
            );
            if t > 0 {
                let dh_t = &d_hid[t * batch * gh..(t + 1) * batch * gh];
                self.cell.backprop_hidden(dh_t, batch, true, dh_carry);
            }
        }
        self.cell.finish_backward(x, bufs, true, grads, need_dx);
    }

    /// One time step of one sample, for allocation-free inference; returns the new `h`.
    pub fn step_one<'s, const G: usize>(
        &self,
        x: &[f32; I],
        s: &'s mut GruState<H, G>,
    ) -> &'s [f32; H] {
        self.cell
            .gates_one(x, &s.h, Some(&mut s.hidden_side[..]), &mut s.input_side[..]);
        let h_prev = s.h;
        let mut hidden_n = [0.0; H];
        forward_step(
            &mut s.input_side,
            &s.hidden_side,
            &h_prev,
            &mut s.h,
            &mut hidden_n,
            H,
        );
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

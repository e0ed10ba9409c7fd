//! GRU as PyTorch's `nn.GRU` (Keras `reset_after = true`): gates r, z, n, with the
//! reset gate applied after the recurrent matrix product.

use super::{ensure, CellParams, RecurrentBuffers, SeqGrad};
use crate::activation::{sigmoid_slice, tanh};
use crate::rng::Rng;

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

/// The GRU update for one sample at one step, on pre-activations already summed where
/// the equations allow: `xi` holds the input side `[r, z, n]` and becomes the
/// activated gates; `hid` the hidden side, whose `n` block is kept for BPTT.
#[inline(always)]
fn update<const H: usize>(xi: &mut [f32], hid: &[f32], h_prev: Option<&[f32]>, h_out: &mut [f32]) {
    let (rz, n) = xi.split_at_mut(2 * H);
    rz.iter_mut().zip(&hid[..2 * H]).for_each(|(v, h)| *v += h);
    sigmoid_slice(rz);
    let (r, z) = rz.split_at(H);
    let hn = &hid[2 * H..3 * H];
    for j in 0..H {
        n[j] = tanh(n[j] + r[j] * hn[j]);
    }
    match h_prev {
        Some(hp) => (0..H).for_each(|j| h_out[j] = (1.0 - z[j]) * n[j] + z[j] * hp[j]),
        None => (0..H).for_each(|j| h_out[j] = (1.0 - z[j]) * n[j]),
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
            for b in 0..batch {
                let xi = &mut gates[(t * batch + b) * gh..(t * batch + b + 1) * gh];
                let hd = &hid[b * gh..(b + 1) * gh];
                let hp = h_prev.map(|hp| &hp[b * H..(b + 1) * H]);
                update::<H>(xi, hd, hp, &mut h_now[b * H..(b + 1) * H]);
                hn_all[(t * batch + b) * H..(t * batch + b + 1) * H].copy_from_slice(&hd[2 * H..]);
            }
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
            for b in 0..batch {
                let at = (t * batch + b) * gh;
                let (r, rest) = bufs.gates[at..at + gh].split_at(H);
                let (z, n) = rest.split_at(H);
                let hn = &bufs.state[(t * batch + b) * H..(t * batch + b + 1) * H];
                let (dxr, rest) = d_in[at..at + gh].split_at_mut(H);
                let (dxz, dxn) = rest.split_at_mut(H);
                let (dhr, rest) = d_hid[at..at + gh].split_at_mut(H);
                let (dhz, dhn) = rest.split_at_mut(H);
                let dh_b = &dh[b * H..(b + 1) * H];
                let carry = &mut dh_carry[b * H..(b + 1) * H];
                for j in 0..H {
                    let h_prev = if t > 0 {
                        bufs.h[((t - 1) * batch + b) * H + j]
                    } else {
                        0.0
                    };
                    let da_n = dh_b[j] * (1.0 - z[j]) * (1.0 - n[j] * n[j]);
                    let da_r = da_n * hn[j] * r[j] * (1.0 - r[j]);
                    let da_z = dh_b[j] * (h_prev - n[j]) * z[j] * (1.0 - z[j]);
                    dxr[j] = da_r;
                    dxz[j] = da_z;
                    dxn[j] = da_n;
                    dhr[j] = da_r;
                    dhz[j] = da_z;
                    dhn[j] = da_n * r[j];
                    carry[j] = dh_b[j] * z[j];
                }
            }
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
        update::<H>(&mut s.input_side, &s.hidden_side, Some(&h_prev), &mut s.h);
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

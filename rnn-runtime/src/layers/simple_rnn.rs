//! Elman RNN with tanh, as PyTorch's `nn.RNN` and Keras's `SimpleRNN`.

use super::{ensure, CellParams, RecurrentBuffers, SeqGrad};
use crate::activation::tanh_slice;
use crate::rng::Rng;

/// A simple recurrent layer with `I` inputs and `H` units: `h' = tanh(W_ih x + b_ih +
/// W_hh h + b_hh)`.
#[derive(Clone, Debug, PartialEq)]
pub struct SimpleRnnLayer<const I: usize, const H: usize> {
    /// `weight_ih [H, I]`, `weight_hh [H, H]`, `bias_ih [H]`, `bias_hh [H]`.
    pub cell: CellParams<I, H, 1>,
}

/// State of a single-sample simple RNN run.
#[derive(Clone, Debug)]
pub struct SimpleRnnState<const H: usize> {
    /// Hidden state.
    pub h: [f32; H],
    pre: [f32; H],
}

impl<const H: usize> SimpleRnnState<H> {
    /// The zero initial state.
    pub const fn new() -> Self {
        SimpleRnnState {
            h: [0.0; H],
            pre: [0.0; H],
        }
    }
}

impl<const H: usize> Default for SimpleRnnState<H> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const I: usize, const H: usize> SimpleRnnLayer<I, H> {
    /// Number of scalar parameters.
    pub const PARAMS: usize = CellParams::<I, H, 1>::PARAMS;

    /// Keras's initialisation: glorot-uniform, orthogonal, zero biases.
    pub fn init(rng: &mut Rng) -> Self {
        SimpleRnnLayer {
            cell: CellParams::init(rng),
        }
    }

    /// Forward pass over a time-major `[steps, batch, I]` input, keeping what BPTT needs.
    pub fn forward_seq(&self, x: &[f32], steps: usize, batch: usize, bufs: &mut RecurrentBuffers) {
        let (rows, bh) = (steps * batch, batch * H);
        bufs.set_shape(steps, batch, I, H);
        // Pre-activations are computed in the output buffer and activated in place.
        let h = ensure(&mut bufs.h, rows * H);
        self.cell.project_inputs(x, rows, true, h);
        for t in 0..steps {
            let (past, now) = h.split_at_mut(t * bh);
            let now = &mut now[..bh];
            if t > 0 {
                self.cell.project_hidden(&past[(t - 1) * bh..], batch, now);
            }
            tanh_slice(now);
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
        let (rows, bh) = (steps * batch, batch * H);
        let d_pre = ensure(&mut bufs.d_in, rows * H);
        let dh = ensure(&mut bufs.dh, bh);
        let dh_carry = ensure(&mut bufs.dh_carry, bh);
        dh_carry.fill(0.0);
        for t in (0..steps).rev() {
            d_out.at_step(t, steps, dh_carry, dh);
            let h_t = &bufs.h[t * bh..(t + 1) * bh];
            let d_t = &mut d_pre[t * bh..(t + 1) * bh];
            for ((d, g), h) in d_t.iter_mut().zip(dh.iter()).zip(h_t) {
                *d = g * (1.0 - h * h);
            }
            if t > 0 {
                self.cell.backprop_hidden(d_t, batch, false, dh_carry);
            }
        }
        self.cell.finish_backward(x, bufs, false, grads, need_dx);
    }

    /// One time step of one sample, for allocation-free inference; returns the new `h`.
    pub fn step_one<'s>(&self, x: &[f32; I], s: &'s mut SimpleRnnState<H>) -> &'s [f32; H] {
        self.cell.gates_one(x, &s.h, None, &mut s.pre[..]);
        tanh_slice(&mut s.pre);
        s.h = s.pre;
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

//! Fully connected layer `y = act(x Wᵀ + b)`, as PyTorch's `nn.Linear` plus activation.

use super::ensure;
use crate::activation::Activation;
use crate::gemm::{add_column_sums, gemm, matvec_add, Op};
use crate::init::glorot_uniform;
use crate::rng::Rng;

/// A dense layer with `I` inputs and `N` units.
#[derive(Clone, Debug, PartialEq)]
pub struct DenseLayer<const I: usize, const N: usize> {
    weight: Vec<f32>,
    bias: Vec<f32>,
    activation: Activation,
}

/// Work buffers of a [`DenseLayer`], sized on first use.
#[derive(Clone, Debug, Default)]
pub struct DenseBuffers {
    batch: usize,
    inputs: usize,
    units: usize,
    /// Activated outputs `[B, N]`.
    y: Vec<f32>,
    /// Pre-activations `[B, N]`, kept only for activations whose derivative needs
    /// them (GELU, softplus); empty otherwise.
    z: Vec<f32>,
    /// Gradient of the pre-activations `[B, N]`.
    dz: Vec<f32>,
    /// Gradient of the input `[B, I]`.
    dx: Vec<f32>,
}

impl DenseBuffers {
    /// Output of the last forward pass, `[B, N]`.
    pub fn output(&self) -> &[f32] {
        &self.y[..self.batch * self.units]
    }

    /// Gradient of the input from the last backward pass, `[B, I]`.
    pub fn input_grad(&self) -> &[f32] {
        &self.dx[..self.batch * self.inputs]
    }
}

impl<const I: usize, const N: usize> DenseLayer<I, N> {
    /// Number of scalar parameters: `N·I + N`.
    pub const PARAMS: usize = N * I + N;

    /// Keras's initialisation: glorot-uniform kernel, zero bias.
    pub fn init(activation: Activation, rng: &mut Rng) -> Self {
        DenseLayer {
            weight: glorot_uniform(rng, I, N, N * I),
            bias: vec![0.0; N],
            activation,
        }
    }

    /// The layer's activation.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// Forward pass of a `[batch, I]` input.
    pub fn forward(&self, x: &[f32], batch: usize, bufs: &mut DenseBuffers) {
        bufs.batch = batch;
        bufs.inputs = I;
        bufs.units = N;
        let y = ensure(&mut bufs.y, batch * N);
        gemm(batch, I, N, 1.0, x, Op::N, &self.weight, Op::T, 0.0, y);
        for row in y.chunks_exact_mut(N) {
            row.iter_mut().zip(&self.bias).for_each(|(v, b)| *v += b);
        }
        if self.activation.needs_preactivation() {
            ensure(&mut bufs.z, batch * N).copy_from_slice(y);
        }
        self.activation.apply(y, N);
    }

    /// Backward pass after [`forward`](Self::forward) on the same buffers and input:
    /// adds the gradients to `grads` (`weight` then `bias`) and, if `need_dx`, leaves
    /// the input gradient in the buffers.
    pub fn backward(
        &self,
        x: &[f32],
        dy: &[f32],
        grads: &mut [f32],
        bufs: &mut DenseBuffers,
        need_dx: bool,
    ) {
        let batch = bufs.batch;
        assert_eq!(grads.len(), Self::PARAMS, "gradient block of a dense layer");
        let dz = ensure(&mut bufs.dz, batch * N);
        dz.copy_from_slice(&dy[..batch * N]);
        let z = if self.activation.needs_preactivation() {
            &bufs.z[..batch * N]
        } else {
            &[]
        };
        self.activation.backprop(z, &bufs.y[..batch * N], dz, N);
        let (g_w, g_b) = grads.split_at_mut(N * I);
        gemm(N, batch, I, 1.0, dz, Op::T, x, Op::N, 1.0, g_w);
        add_column_sums(dz, g_b);
        if need_dx {
            let dx = ensure(&mut bufs.dx, batch * I);
            gemm(batch, N, I, 1.0, dz, Op::N, &self.weight, Op::N, 0.0, dx);
        }
    }

    /// Forward pass of one sample, without allocation.
    pub fn forward_one(&self, x: &[f32; I]) -> [f32; N] {
        let mut y = [0.0; N];
        y.copy_from_slice(&self.bias);
        matvec_add(&self.weight, x, &mut y);
        self.activation.apply(&mut y, N);
        y
    }

    /// Calls `f` on `weight` then `bias`.
    pub fn visit(&self, f: &mut dyn FnMut(&[f32])) {
        f(&self.weight);
        f(&self.bias);
    }

    /// Calls `f` on `weight` then `bias`, mutably.
    pub fn visit_mut(&mut self, f: &mut dyn FnMut(&mut [f32])) {
        f(&mut self.weight);
        f(&mut self.bias);
    }
}

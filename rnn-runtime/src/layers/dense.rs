//! Fully connected layer `y = act(x Wᵀ + b)`, as PyTorch's `nn.Linear` plus activation.

#[cfg(feature = "std")]
use super::ensure;
use super::tensor::{Stored, Tensor};
#[cfg(feature = "std")]
use crate::init::glorot_uniform;
use crate::kernels::activation::{Activation, FixedActivation};
#[cfg(feature = "std")]
use crate::kernels::gemm::{add_column_sums, gemm, matvec_add, Op};
#[cfg(feature = "std")]
use crate::rng::Rng;

/// A dense layer with `I` inputs and `N` units.
#[derive(Clone, Debug, PartialEq)]
pub struct DenseLayer<const I: usize, const N: usize> {
    /// `weight [N, I]`.
    weight: Stored<[[f32; I]; N]>,
    /// `bias [N]`.
    bias: Stored<[f32; N]>,
    activation: Activation,
}

/// Work buffers of a [`DenseLayer`], sized on first use.
#[cfg(feature = "std")]
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
    /// Whether the layer skips its activation: the output is the pre-activation (the
    /// logits a cross-entropy reads), and the gradient arriving in `backward` is that
    /// of the pre-activation.
    logits: bool,
}

#[cfg(feature = "std")]
impl DenseBuffers {
    /// Output of the last forward pass, `[B, N]`.
    pub fn output(&self) -> &[f32] {
        &self.y[..self.batch * self.units]
    }

    /// Gradient of the input from the last backward pass, `[B, I]`.
    pub fn input_grad(&self) -> &[f32] {
        &self.dx[..self.batch * self.inputs]
    }

    /// Makes the passes that use these buffers skip the activation (`true`) or apply
    /// it (`false`, the default): with `true`, [`output`](Self::output) is the
    /// pre-activation and `backward` takes the pre-activation's gradient.
    pub fn set_logits(&mut self, logits: bool) {
        self.logits = logits;
    }
}

impl<const I: usize, const N: usize> DenseLayer<I, N> {
    /// Number of scalar parameters: `N·I + N`.
    pub const PARAMS: usize = N * I + N;

    /// The layer whose `PARAMS` values (`weight` then `bias`) are the little-endian
    /// `f32`s at byte offset `at` of `bytes`: a `const fn` without `std`, so that a
    /// model's weights can live in flash.
    ///
    /// # Panics
    /// If `bytes` is shorter than `at + 4 · PARAMS`.
    #[cfg(not(feature = "std"))]
    pub const fn from_le_bytes(bytes: &[u8], at: usize, activation: Activation) -> Self {
        use super::tensor::{matrix_le, vector_le};
        DenseLayer {
            weight: matrix_le::<I, N>(bytes, at),
            bias: vector_le::<N>(bytes, at + 4 * N * I),
            activation,
        }
    }

    /// The layer whose `PARAMS` values (`weight` then `bias`) are the little-endian
    /// `f32`s at byte offset `at` of `bytes`: a `const fn` without `std`, so that a
    /// model's weights can live in flash.
    ///
    /// # Panics
    /// If `bytes` is shorter than `at + 4 · PARAMS`.
    #[cfg(feature = "std")]
    pub fn from_le_bytes(bytes: &[u8], at: usize, activation: Activation) -> Self {
        use super::tensor::{decode_le, matrix, vector};
        let all = decode_le(bytes, at, Self::PARAMS);
        let (weight, bias) = all.split_at(N * I);
        DenseLayer {
            weight: matrix::<I, N>(weight),
            bias: vector::<N>(bias),
            activation,
        }
    }

    /// The layer's activation.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// Forward pass of one sample, without allocation.
    pub fn forward_one(&self, x: &[f32; I]) -> [f32; N] {
        let mut y = self.product_one(x);
        self.activation.apply(&mut y, N);
        y
    }

    /// [`forward_one`](Self::forward_one) with the activation fixed at compile time,
    /// which must be this layer's (checked in debug builds): what generated code
    /// calls, so that a model links only the activations it uses.
    #[doc(hidden)]
    #[inline]
    pub fn forward_one_as<A: FixedActivation>(&self, x: &[f32; I]) -> [f32; N] {
        debug_assert_eq!(self.activation, A::ACTIVATION, "the generated activation");
        let mut y = self.product_one(x);
        A::apply(&mut y, N);
        y
    }

    /// `bias + weight · x`.
    #[inline]
    fn product_one(&self, x: &[f32; I]) -> [f32; N] {
        let mut y = [0.0; N];
        y.copy_from_slice(self.bias.flat());
        #[cfg(feature = "std")]
        matvec_add(self.weight.flat(), x, &mut y);
        #[cfg(not(feature = "std"))]
        crate::kernels::matvec::matvec_add_portable(self.weight.flat(), x, &mut y);
        y
    }

    /// Calls `f` on `weight` then `bias`.
    pub fn visit(&self, f: &mut dyn FnMut(&[f32])) {
        f(self.weight.flat());
        f(self.bias.flat());
    }

    /// Calls `f` on `weight` then `bias`, mutably.
    pub fn visit_mut(&mut self, f: &mut dyn FnMut(&mut [f32])) {
        f(self.weight.flat_mut());
        f(self.bias.flat_mut());
    }
}

#[cfg(feature = "std")]
impl<const I: usize, const N: usize> DenseLayer<I, N> {
    /// Keras's initialisation: glorot-uniform kernel, zero bias.
    pub fn init(activation: Activation, rng: &mut Rng) -> Self {
        use super::tensor::{matrix, vector};
        DenseLayer {
            weight: matrix::<I, N>(&glorot_uniform(rng, I, N, N * I)),
            bias: vector::<N>(&vec![0.0; N]),
            activation,
        }
    }

    /// Forward pass of a `[batch, I]` input; the activation is skipped when the buffers
    /// are set to [`logits`](DenseBuffers::set_logits).
    pub fn forward(&self, x: &[f32], batch: usize, bufs: &mut DenseBuffers) {
        bufs.batch = batch;
        bufs.inputs = I;
        bufs.units = N;
        let y = ensure(&mut bufs.y, batch * N);
        gemm(batch, I, N, x, Op::N, self.weight.flat(), Op::T, false, y);
        for row in y.chunks_exact_mut(N) {
            row.iter_mut()
                .zip(self.bias.flat())
                .for_each(|(v, b)| *v += b);
        }
        if bufs.logits {
            return;
        }
        if self.activation.needs_preactivation() {
            ensure(&mut bufs.z, batch * N).copy_from_slice(y);
        }
        self.activation.apply(y, N);
    }

    /// Backward pass after [`forward`](Self::forward) on the same buffers and input:
    /// adds the gradients to `grads` (`weight` then `bias`) and, if `need_dx`, leaves
    /// the input gradient in the buffers. `dy` is the gradient of the output, or of the
    /// pre-activation when the buffers are set to [`logits`](DenseBuffers::set_logits).
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
        if !bufs.logits {
            let z = if self.activation.needs_preactivation() {
                &bufs.z[..batch * N]
            } else {
                &[]
            };
            self.activation.backprop(z, &bufs.y[..batch * N], dz, N);
        }
        let (g_w, g_b) = grads.split_at_mut(N * I);
        gemm(N, batch, I, dz, Op::T, x, Op::N, true, g_w);
        add_column_sums(dz, g_b);
        if need_dx {
            let dx = ensure(&mut bufs.dx, batch * I);
            gemm(batch, N, I, dz, Op::N, self.weight.flat(), Op::N, false, dx);
        }
    }
}

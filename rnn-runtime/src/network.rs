//! The trait every generated model implements, and the batch API built on it.

use ndarray::{Array2, ArrayView2, ArrayView3};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::grads::Grads;
use crate::loss::mse;
use crate::shards::ShardedGrads;

/// Name and shape of one parameter tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamSpec {
    /// PyTorch-style name, e.g. `0.weight_ih`.
    pub name: &'static str,
    /// Row-major shape, e.g. `[200, 1]`.
    pub shape: &'static [usize],
}

impl ParamSpec {
    /// Number of scalars in the tensor.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True for a tensor with no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A model as a list of named parameter tensors.
///
/// This is what lets one optimiser, one file format and one training loop serve
/// every generated model: they see the parameters only through these calls, in the
/// canonical order of [`param_specs`](Params::param_specs).
pub trait Params {
    /// Total number of scalar parameters.
    const PARAMS: usize;

    /// Every parameter tensor, in canonical order.
    fn param_specs() -> &'static [ParamSpec];

    /// Calls `f` on every parameter tensor in canonical order.
    fn visit_params(&self, f: &mut dyn FnMut(&[f32]));

    /// Calls `f` on every parameter tensor, mutably, in canonical order.
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&mut [f32]));

    /// A copy of one parameter tensor by name, shaped as its spec.
    fn param(&self, name: &str) -> Option<ndarray::ArrayD<f32>> {
        let index = Self::param_specs().iter().position(|s| s.name == name)?;
        let spec = Self::param_specs()[index];
        let mut out = None;
        let mut i = 0;
        self.visit_params(&mut |t| {
            if i == index {
                out = ndarray::ArrayD::from_shape_vec(spec.shape.to_vec(), t.to_vec()).ok();
            }
            i += 1;
        });
        out
    }
}

/// A generated network: constant shapes plus batch forward and backward passes.
///
/// Implemented by `model!`; the methods with bodies here are the runtime half of the
/// generated inherent methods of the same names.
pub trait Network: Params + Sized + Sync {
    /// Time steps of one sample.
    const TIMESTEPS: usize;
    /// Features per time step.
    const FEATURES: usize;
    /// Width of the output.
    const OUTPUTS: usize;
    /// Work buffers of the forward and backward passes.
    type Workspace: Default + Send;

    /// A new model with Keras's default initialisation from `seed`.
    fn init(seed: u64) -> Self;

    /// Forward pass of a contiguous batch-major `[batch, T, F]` block; returns the
    /// `[batch, OUTPUTS]` output, held in `ws` until the next call.
    fn forward_batch<'w>(&self, x: &[f32], batch: usize, ws: &'w mut Self::Workspace) -> &'w [f32];

    /// Backward pass after [`forward_batch`](Network::forward_batch) with the same
    /// `ws`: adds d loss / d parameter to `grads` (`PARAMS` values, canonical order)
    /// given `d_out`, the `[batch, OUTPUTS]` gradient of the loss at the output.
    fn backward_batch(&self, d_out: &[f32], ws: &mut Self::Workspace, grads: &mut [f32]);
}

/// Samples per forward chunk in [`forward`]: chunks run in parallel, and bound the
/// memory of large predictions. Every sample's output is the same whatever the chunk
/// it falls in, so the result does not depend on the number of threads.
const CHUNK: usize = 64;

/// Checks `x` against `[batch, T, F]`.
pub(crate) fn check_x<M: Network>(x: &ArrayView3<'_, f32>) -> Result<()> {
    let (_, t, f) = x.dim();
    if t != M::TIMESTEPS || f != M::FEATURES {
        return Err(Error::Shape {
            what: "x",
            expected: format!("[batch, {}, {}]", M::TIMESTEPS, M::FEATURES),
            got: x.shape().to_vec(),
        });
    }
    Ok(())
}

/// Checks `y` against `[n, OUTPUTS]` where `n` is the number of samples in `x`.
pub(crate) fn check_y<M: Network>(n: usize, y: &ArrayView2<'_, f32>) -> Result<()> {
    if y.ncols() != M::OUTPUTS {
        return Err(Error::Shape {
            what: "y",
            expected: format!("[batch, {}]", M::OUTPUTS),
            got: y.shape().to_vec(),
        });
    }
    if y.nrows() != n {
        return Err(Error::SampleCount { x: n, y: y.nrows() });
    }
    Ok(())
}

/// Copies samples `idx` of `x` into `out` as a contiguous batch-major block; works for
/// any memory layout of `x`.
pub(crate) fn gather_x(x: &ArrayView3<'_, f32>, idx: &[usize], out: &mut Vec<f32>) {
    out.clear();
    for &i in idx {
        out.extend(x.index_axis(ndarray::Axis(0), i).iter());
    }
}

/// Like [`gather_x`] for targets.
pub(crate) fn gather_y(y: &ArrayView2<'_, f32>, idx: &[usize], out: &mut Vec<f32>) {
    out.clear();
    for &i in idx {
        out.extend(y.row(i).iter());
    }
}

/// The model's output for every sample of `x` (`[batch, T, F]` → `[batch, OUTPUTS]`).
pub fn forward<M: Network>(model: &M, x: ArrayView3<'_, f32>) -> Result<Array2<f32>> {
    check_x::<M>(&x)?;
    let n = x.len_of(ndarray::Axis(0));
    let idx: Vec<usize> = (0..n).collect();
    let chunks: Vec<Vec<f32>> = idx
        .par_chunks(CHUNK)
        .map_init(
            || (M::Workspace::default(), Vec::new()),
            |(ws, xb), chunk| {
                gather_x(&x, chunk, xb);
                model.forward_batch(xb, chunk.len(), ws).to_vec()
            },
        )
        .collect();
    let out = chunks.concat();
    Ok(Array2::from_shape_vec((n, M::OUTPUTS), out)
        .expect("forward_batch returns OUTPUTS values per sample"))
}

/// Mean squared error of the model on `(x, y)`, averaged over all output elements.
pub fn evaluate<M: Network>(
    model: &M,
    x: ArrayView3<'_, f32>,
    y: ArrayView2<'_, f32>,
) -> Result<f32> {
    check_x::<M>(&x)?;
    let n = x.len_of(ndarray::Axis(0));
    check_y::<M>(n, &y)?;
    if n == 0 {
        return Err(Error::Empty("x"));
    }
    let pred: Vec<f32> = forward(model, x)?.into_iter().collect();
    let target: Vec<f32> = y.iter().copied().collect();
    Ok(mse(&pred, &target))
}

/// MSE loss of the whole batch `(x, y)` and its gradient for every parameter.
pub fn loss_and_grads<M: Network>(
    model: &M,
    x: ArrayView3<'_, f32>,
    y: ArrayView2<'_, f32>,
) -> Result<(f32, Grads)> {
    check_x::<M>(&x)?;
    let n = x.len_of(ndarray::Axis(0));
    check_y::<M>(n, &y)?;
    if n == 0 {
        return Err(Error::Empty("x"));
    }
    let idx: Vec<usize> = (0..n).collect();
    let (mut xb, mut yb) = (Vec::new(), Vec::new());
    gather_x(&x, &idx, &mut xb);
    gather_y(&y, &idx, &mut yb);
    let mut grads = Grads::zeros::<M>();
    let loss = ShardedGrads::<M>::new().loss_and_grads(model, &xb, &yb, n, grads.as_mut_slice());
    Ok((loss, grads))
}

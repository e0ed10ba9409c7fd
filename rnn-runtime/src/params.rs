//! A model as a list of named parameter tensors: what optimisers, files, importers and
//! exporters see of it. Available without `std`.

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

    /// A hash of what the parameters mean: the model's layers, their sizes and
    /// activations (not its training options). The header of a flat weights file
    /// carries it ([`flat`](crate::flat)), so that a file written for another model of
    /// the same size does not load.
    const SPEC_HASH: u64;

    /// Every parameter tensor, in canonical order.
    fn param_specs() -> &'static [ParamSpec];

    /// Calls `f` on every parameter tensor in canonical order.
    fn visit_params(&self, f: &mut dyn FnMut(&[f32]));

    /// Calls `f` on every parameter tensor, mutably, in canonical order.
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&mut [f32]));

    /// A copy of one parameter tensor by name, shaped as its spec.
    #[cfg(feature = "std")]
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

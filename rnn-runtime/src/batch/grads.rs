//! Gradients of every parameter of a model, in one flat buffer.

use std::path::Path;

use crate::batch::clip;
use crate::batch::norms::Layout;
use crate::error::{Error, Result};
use crate::model::Network;
use crate::params::{ParamSpec, Params};

/// d loss / d parameter for every parameter tensor of a model, in canonical order.
///
/// Stored flat so that zeroing, optimiser updates and norms are single loops; the
/// tensors are reached by name through [`get`](Grads::get).
///
/// ```
/// use rnn_runtime::ndarray::{Array2, Array3};
/// use rnn_runtime::{model, Grads};
///
/// model! { struct Net < input(3, 1), lstm(2), dense(1) > }
///
/// # fn main() -> rnn_runtime::Result<()> {
/// let x = Array3::from_shape_fn((4, 3, 1), |(i, t, _)| (i + t) as f32);
/// let (_, mut grads) = Net::new(0).loss_and_grads(&x, &Array2::<f32>::zeros((4, 1)))?;
/// assert_eq!(grads.get("1.weight").unwrap().shape(), [1, 2]);
/// assert!(grads.get("no.such").is_none());
///
/// grads.clip_by_value(0.5)?;
/// assert!(grads.as_slice().iter().all(|g| g.abs() <= 0.5));
/// grads.clip_by_norm(0.4)?; // each tensor on its own
/// for (_, g) in grads.iter() {
///     assert!(g.iter().map(|v| v * v).sum::<f32>().sqrt() <= 0.4 + 1e-6);
/// }
/// let norm = grads.clip_by_global_norm(0.1)?; // all tensors together
/// assert!(norm > 0.1);
/// assert!(grads.as_slice().iter().map(|v| v * v).sum::<f32>().sqrt() <= 0.1);
/// assert!(grads.clip_by_value(-1.0).is_err());
///
/// let dir = std::env::temp_dir().join(format!("rnn-grads-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// grads.save_safetensors(dir.join("grads.safetensors"))?;
/// let mut back = Grads::zeros::<Net>();
/// back.load_safetensors(dir.join("grads.safetensors"))?;
/// assert_eq!(back, grads);
/// back.zero();
/// assert!(back.as_slice().iter().all(|&g| g == 0.0));
/// std::fs::remove_dir_all(&dir).unwrap();
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Grads {
    specs: &'static [ParamSpec],
    data: Vec<f32>,
    scratch: Scratch,
}

/// The work buffers [`loss_and_grads_into`](crate::loss_and_grads_into) keeps with the
/// gradients it writes, so that a training loop allocates them once. Not part of the
/// value: a clone starts without them, and they never make two `Grads` unequal.
#[derive(Default)]
struct Scratch(std::sync::Mutex<Option<Box<dyn std::any::Any + Send>>>);

impl Clone for Scratch {
    fn clone(&self) -> Self {
        Scratch::default()
    }
}

impl PartialEq for Scratch {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scratch")
    }
}

impl Grads {
    /// All-zero gradients for model type `M`.
    pub fn zeros<M: Params>() -> Self {
        Grads {
            specs: M::param_specs(),
            data: vec![0.0; M::PARAMS],
            scratch: Scratch::default(),
        }
    }

    /// The values, mutably, with the work buffers of type `T` kept alongside them
    /// (made on first use, or when the last user kept another type).
    pub(crate) fn with_scratch<T: std::any::Any + Send + Default>(
        &mut self,
    ) -> (&mut [f32], &mut T) {
        // The lock is never contended: `&mut self` is the only access.
        let slot = self
            .scratch
            .0
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !slot.as_ref().is_some_and(|b| b.is::<T>()) {
            *slot = Some(Box::new(T::default()));
        }
        let scratch = slot
            .as_mut()
            .and_then(|b| b.downcast_mut::<T>())
            .expect("scratch of the type just stored");
        (&mut self.data, scratch)
    }

    /// The parameter tensors these gradients belong to.
    pub fn specs(&self) -> &'static [ParamSpec] {
        self.specs
    }

    /// Every gradient value, canonical order.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// Every gradient value, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Sets every value to zero.
    pub fn zero(&mut self) {
        self.data.fill(0.0);
    }

    /// Clips every value into `[-limit, limit]`, as Keras's `clipvalue`.
    ///
    /// `limit` must be finite and positive; on error nothing changes.
    pub fn clip_by_value(&mut self, limit: f32) -> Result<()> {
        clip::check_threshold("clipvalue", limit)?;
        clip::clip_value(&mut self.data, limit);
        Ok(())
    }

    /// Scales each parameter tensor's gradient to norm at most `max`, as Keras's
    /// `clipnorm`: `g · max / max(‖g‖, max)`, tensor by tensor.
    ///
    /// `max` must be finite and positive; on error nothing changes.
    pub fn clip_by_norm(&mut self, max: f32) -> Result<()> {
        clip::check_threshold("clipnorm", max)?;
        clip::clip_norm(&mut self.data, self.specs, max);
        Ok(())
    }

    /// Scales all gradients together by `max / (norm + 1e-6)` when their joint norm
    /// exceeds `max`, as `torch.nn.utils.clip_grad_norm_`; returns the norm before
    /// clipping (not finite when some gradient is not).
    ///
    /// `max` must be finite and positive; on error nothing changes.
    pub fn clip_by_global_norm(&mut self, max: f32) -> Result<f32> {
        clip::check_threshold("global_clipnorm", max)?;
        Ok(clip::clip_global_norm(&mut self.data, max))
    }

    /// The L2 norm of each layer's gradient, as `fit` measures it at every step
    /// ([`EpochLogs::grad_norms`](crate::EpochLogs::grad_norms)): one entry per layer
    /// of `M` with parameters, in spec order, under its name in the summary table
    /// (`lstm`, `dense_1`, …); a bidirectional layer's two directions together.
    ///
    /// Refuses gradients of another model with [`Error::GradsMismatch`].
    ///
    /// ```
    /// use rnn_runtime::ndarray::{Array2, Array3};
    /// use rnn_runtime::model;
    ///
    /// model! { struct Net < input(5, 1), lstm(4), dropout(0.2), dense(1) > }
    /// model! { struct Other < input(5, 1), gru(4), dense(1) > }
    ///
    /// # fn main() -> rnn_runtime::Result<()> {
    /// let x = Array3::from_shape_fn((4, 5, 1), |(i, t, _)| (i + t) as f32 * 0.1);
    /// let (_, grads) = Net::new(0).loss_and_grads(&x, &Array2::<f32>::ones((4, 1)))?;
    /// let norms = grads.layer_norms::<Net>()?;
    /// let names: Vec<&str> = norms.iter().map(|(name, _)| name.as_str()).collect();
    /// assert_eq!(names, ["lstm", "dense"]); // dropout has no parameters
    /// let dense: f32 = ["2.weight", "2.bias"]
    ///     .iter()
    ///     .flat_map(|t| grads.get(t).unwrap().iter().map(|g| g * g).collect::<Vec<_>>())
    ///     .sum::<f32>()
    ///     .sqrt();
    /// assert!((norms[1].1 - dense).abs() <= 1e-6 * dense);
    /// assert!(grads.layer_norms::<Other>().is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn layer_norms<M: Network>(&self) -> Result<Vec<(String, f32)>> {
        if self.specs != M::param_specs() {
            return Err(Error::GradsMismatch {
                expected: M::PARAMS,
                got: self.data.len(),
            });
        }
        let layout = Layout::of(&M::ARCHITECTURE, M::PARAMS);
        let norms = layout.norms(&self.data).map(|n| n as f32);
        Ok(layout.names().map(str::to_owned).zip(norms).collect())
    }

    /// Each tensor's name with its flat values, canonical order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static ParamSpec, &[f32])> + '_ {
        let mut at = 0;
        self.specs.iter().map(move |spec| {
            let values = &self.data[at..at + spec.len()];
            at += spec.len();
            (spec, values)
        })
    }

    /// One gradient tensor by parameter name, shaped as the parameter.
    pub fn get(&self, name: &str) -> Option<ndarray::ArrayViewD<'_, f32>> {
        let (spec, values) = self.iter().find(|(spec, _)| spec.name == name)?;
        ndarray::ArrayViewD::from_shape(spec.shape, values).ok()
    }

    /// Writes the gradients to a safetensors file under the parameters' names.
    pub fn save_safetensors(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::io::save_tensors(path.as_ref(), self.iter())
    }

    /// Reads gradients of the same model from a safetensors file. Every name, dtype
    /// and shape is checked first: on error `self` is unchanged.
    pub fn load_safetensors(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let values = crate::io::read_tensors(path.as_ref(), self.specs)?;
        let mut at = 0;
        for v in values {
            self.data[at..at + v.len()].copy_from_slice(&v);
            at += v.len();
        }
        Ok(())
    }
}

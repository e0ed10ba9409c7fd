//! Optimisers, gradient clipping and learning-rate schedules.
//!
//! Every optimiser follows the update rule of its `torch.optim` namesake, so results
//! can be checked against PyTorch element by element (`tests/optim.rs`). Hyperparameters
//! are checked when a step is applied: a bad value gives [`Error::Config`] and leaves
//! the model and the optimiser's state untouched.

mod adam;
mod adamw;
mod rmsprop;
pub mod schedule;
mod sgd;

pub use adam::Adam;
pub use adamw::AdamW;
pub use rmsprop::RmsProp;
pub use sgd::Sgd;

use crate::batch::grads::Grads;
use crate::error::{Error, Result};
use crate::params::Params;
use crate::state_dict::StateDict;

/// Something that updates a model's parameters from its gradients.
///
/// Every optimiser of the crate implements it, so code can take any of them:
///
/// ```
/// use rnn_runtime::ndarray::{Array2, Array3};
/// use rnn_runtime::{model, Adam, Optimizer, Sgd};
///
/// model! { struct Net < input(2, 1), simple_rnn(2), dense(1) > }
///
/// /// Ten full-batch steps, the rate halved after five; returns the final loss.
/// fn train(opt: &mut impl Optimizer, net: &mut Net, x: &Array3<f32>, y: &Array2<f32>) -> rnn_runtime::Result<f32> {
///     for step in 0..10 {
///         if step == 5 {
///             opt.set_learning_rate(opt.learning_rate() / 2.0);
///         }
///         let (_, grads) = net.loss_and_grads(x, y)?;
///         opt.step(net, &grads)?;
///     }
///     net.evaluate(x, y)
/// }
///
/// # fn main() -> rnn_runtime::Result<()> {
/// let x = Array3::from_shape_fn((4, 2, 1), |(i, t, _)| (i + t) as f32 * 0.25);
/// let y = Array2::from_shape_fn((4, 1), |(i, _)| i as f32 * 0.25);
/// let start = Net::new(0).evaluate(&x, &y)?;
/// let mut sgd = Sgd::new(0.1);
/// assert!(train(&mut sgd, &mut Net::new(0), &x, &y)? < start);
/// assert_eq!(sgd.learning_rate(), 0.05);
/// assert!(train(&mut Adam::new(0.01), &mut Net::new(0), &x, &y)? < start);
/// # Ok(())
/// # }
/// ```
pub trait Optimizer {
    /// Applies one update. `grads` holds `M::PARAMS` values in canonical order.
    fn update<M: Params>(&mut self, model: &mut M, grads: &[f32]) -> Result<()>;

    /// The learning rate the next update will use.
    fn learning_rate(&self) -> f32;

    /// Replaces the learning rate (schedules call this between epochs). A bad value is
    /// reported by the next update, which then changes nothing.
    fn set_learning_rate(&mut self, lr: f32);

    /// The whole state — hyperparameters, learning rate, step count, moment
    /// estimates — as torch's `optimizer.state_dict()`, for a training checkpoint
    /// ([`Fit::save_state`](crate::Fit::save_state)). Every optimiser of the crate has
    /// one; the default, `None`, marks an optimiser that cannot be checkpointed, and
    /// `fit` then refuses `save_state` before training.
    fn state_dict(&self) -> Option<StateDict> {
        None
    }

    /// Restores the whole state from [`state_dict`](Self::state_dict), hyperparameters
    /// included (as torch's `load_state_dict`). A state of another kind or with a
    /// missing value is refused, and nothing changes.
    fn load_state_dict(&mut self, state: &StateDict) -> Result<()> {
        Err(Error::StateDict(format!(
            "this optimiser cannot load state: it does not implement \
             Optimizer::load_state_dict (the state is of a {})",
            state.kind()
        )))
    }

    /// Applies one update from the gradients of a model of type `M`.
    ///
    /// Fails, changing nothing, when `grads` belong to a model of another layout.
    fn step<M: Params>(&mut self, model: &mut M, grads: &Grads) -> Result<()>
    where
        Self: Sized,
    {
        if grads.specs() != M::param_specs() {
            return Err(Error::GradsMismatch {
                expected: M::PARAMS,
                got: grads.as_slice().len(),
            });
        }
        self.update(model, grads.as_slice())
    }
}

/// Gives each optimiser an inherent `step`, so that the common call needs no trait
/// import.
macro_rules! inherent_step {
    ($($ty:ty),*) => {$(
        impl $ty {
            /// Applies one update to `model` from `grads`.
            ///
            /// Fails, changing nothing, when `grads` belong to a model of another
            /// layout or a hyperparameter is out of range.
            pub fn step<M: Params>(&mut self, model: &mut M, grads: &Grads) -> Result<()> {
                Optimizer::step(self, model, grads)
            }
        }
    )*};
}
inherent_step!(Adam, AdamW, RmsProp, Sgd);

/// Refuses gradients of the wrong length before anything is touched.
fn check_len<M: Params>(grads: &[f32]) -> Result<()> {
    if grads.len() == M::PARAMS {
        Ok(())
    } else {
        Err(Error::GradsMismatch {
            expected: M::PARAMS,
            got: grads.len(),
        })
    }
}

/// `lr` must be finite and non-negative.
fn check_lr(lr: f32) -> Result<()> {
    if lr.is_finite() && lr >= 0.0 {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "learning rate must be finite and >= 0, got {lr}"
        )))
    }
}

/// Decay rates (momentum, rho, betas) must lie in [0, 1).
fn check_unit(what: &str, value: f32) -> Result<()> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "{what} must be in [0, 1), got {value}"
        )))
    }
}

/// eps must be finite and positive.
fn check_eps(eps: f32) -> Result<()> {
    if eps.is_finite() && eps > 0.0 {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "eps must be finite and > 0, got {eps}"
        )))
    }
}

/// Weight decay must be finite and non-negative.
fn check_decay(weight_decay: f32) -> Result<()> {
    if weight_decay.is_finite() && weight_decay >= 0.0 {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "weight_decay must be finite and >= 0, got {weight_decay}"
        )))
    }
}

/// Resizes per-parameter state for a model with `n` parameters. A buffer that
/// already fits is kept (its values are the running state); a mismatch means a new
/// model, whose state starts from zero. Returns whether the state was reset.
fn fit_state(n: usize, buffers: &mut [&mut Vec<f32>]) -> bool {
    let fresh = buffers.iter().any(|b| b.len() != n);
    if fresh {
        for b in buffers.iter_mut() {
            b.clear();
            b.resize(n, 0.0);
        }
    }
    fresh
}

//! AdamW: Adam with decoupled weight decay.

use super::{check_decay, Adam, Optimizer};
use crate::error::Result;
use crate::params::Params;
use crate::state_dict::StateDict;

/// AdamW (Loshchilov & Hutter), with the update of `torch.optim.AdamW`: every
/// parameter is first shrunk, `p *= 1 - lr · weight_decay`, then updated as by
/// [`Adam`]. The decay never enters the moment estimates.
///
/// Defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-7 (as our [`Adam`], Keras's eps),
/// weight decay 0.01 (torch's default).
///
/// ```
/// use rnn_runtime::{model, AdamW, Grads, Params};
///
/// model! { struct Net < input(2, 1), simple_rnn(2), dense(1) > }
///
/// # fn main() -> rnn_runtime::Result<()> {
/// let mut net = Net::new(0);
/// let before = net.param("0.weight_hh").unwrap();
/// // With zero gradients only the decoupled decay acts: p *= 1 - lr · weight_decay.
/// AdamW::new(0.1).weight_decay(0.5).step(&mut net, &Grads::zeros::<Net>())?;
/// let after = net.param("0.weight_hh").unwrap();
/// assert!(after.iter().zip(&before).all(|(a, b)| (a - b * 0.95).abs() < 1e-6));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct AdamW {
    adam: Adam,
    weight_decay: f32,
}

impl Default for AdamW {
    fn default() -> Self {
        AdamW::new(1e-3)
    }
}

impl AdamW {
    /// AdamW with learning rate `lr` and the default betas, eps and weight decay.
    pub fn new(lr: f32) -> Self {
        AdamW {
            adam: Adam::new(lr),
            weight_decay: 0.01,
        }
    }

    /// Sets the decay rates of the first and second moment estimates, each in [0, 1).
    pub fn betas(mut self, beta1: f32, beta2: f32) -> Self {
        self.adam = self.adam.betas(beta1, beta2);
        self
    }

    /// Sets the term added to the denominator for numerical stability (> 0).
    pub fn eps(mut self, eps: f32) -> Self {
        self.adam = self.adam.eps(eps);
        self
    }

    /// Sets the decoupled weight decay (>= 0).
    pub fn weight_decay(mut self, weight_decay: f32) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Number of updates applied so far.
    pub fn steps(&self) -> u64 {
        self.adam.steps()
    }
}

impl Optimizer for AdamW {
    fn update<M: Params>(&mut self, model: &mut M, grads: &[f32]) -> Result<()> {
        super::check_len::<M>(grads)?;
        self.adam.check()?;
        check_decay(self.weight_decay)?;
        let keep = (1.0 - self.adam.lr() as f64 * self.weight_decay as f64) as f32;
        self.adam.apply(model, grads, keep);
        Ok(())
    }

    fn learning_rate(&self) -> f32 {
        self.adam.lr()
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.adam.set_learning_rate(lr);
    }

    fn state_dict(&self) -> Option<StateDict> {
        let mut state = StateDict::new("AdamW");
        self.adam.write_state(&mut state);
        state.insert_f64("weight_decay", self.weight_decay as f64);
        Some(state)
    }

    fn load_state_dict(&mut self, state: &StateDict) -> Result<()> {
        state.expect_kind("AdamW")?;
        *self = AdamW {
            adam: Adam::read_state(state)?,
            weight_decay: state.f32("weight_decay")?,
        };
        Ok(())
    }
}

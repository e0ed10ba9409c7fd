//! Adam, and the moment update AdamW shares with it.

use super::{check_eps, check_len, check_lr, check_unit, fit_state, Optimizer};
use crate::error::Result;
use crate::params::Params;
use crate::state_dict::StateDict;

/// Adam (Kingma & Ba), with the update of `torch.optim.Adam`:
/// `p -= lr · m̂ / (sqrt(v̂) + eps)`.
///
/// Defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-7 (Keras's default eps).
///
/// ```
/// use rnn_runtime::{model, Adam, Grads, Params};
///
/// model! { struct Net < input(2, 1), simple_rnn(2), dense(1) > }
///
/// # fn main() -> rnn_runtime::Result<()> {
/// let mut net = Net::new(0);
/// let before = net.param("1.bias").unwrap();
/// let mut grads = Grads::zeros::<Net>();
/// grads.as_mut_slice().fill(0.5);
/// let mut adam = Adam::new(0.01).betas(0.9, 0.99).eps(1e-8);
/// adam.step(&mut net, &grads)?;
/// // Bias-corrected, the first step moves every parameter by about `lr`, whatever
/// // the gradient's scale.
/// let moved = &before - &net.param("1.bias").unwrap();
/// assert!(moved.iter().all(|d| (d - 0.01).abs() < 1e-6));
/// assert_eq!(adam.steps(), 1);
/// // A bad hyperparameter is reported by the step, which then changes nothing.
/// let frozen = net.clone();
/// assert!(Adam::new(0.01).betas(1.0, 0.99).step(&mut net, &grads).is_err());
/// assert_eq!(net, frozen);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Adam {
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    step: u64,
    m: Vec<f32>,
    v: Vec<f32>,
}

impl Default for Adam {
    fn default() -> Self {
        Adam::new(1e-3)
    }
}

impl Adam {
    /// Adam with learning rate `lr` and the default betas and eps.
    pub fn new(lr: f32) -> Self {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-7,
            step: 0,
            m: Vec::new(),
            v: Vec::new(),
        }
    }

    /// Sets the decay rates of the first and second moment estimates, each in [0, 1).
    pub fn betas(mut self, beta1: f32, beta2: f32) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }

    /// Sets the term added to the denominator for numerical stability (> 0).
    pub fn eps(mut self, eps: f32) -> Self {
        self.eps = eps;
        self
    }

    /// The learning rate.
    pub fn lr(&self) -> f32 {
        self.lr
    }

    /// Number of updates applied so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// Checks every hyperparameter; nothing is changed on error.
    pub(super) fn check(&self) -> Result<()> {
        check_lr(self.lr)?;
        check_unit("beta1", self.beta1)?;
        check_unit("beta2", self.beta2)?;
        check_eps(self.eps)
    }

    /// One Adam update, each parameter first multiplied by `keep` (AdamW's decoupled
    /// weight decay; exactly 1 for plain Adam, which then skips the pass). The caller
    /// has checked the hyperparameters and the gradients' length.
    /// Writes the state under Adam's names (AdamW adds its own to the same dict).
    pub(super) fn write_state(&self, state: &mut StateDict) {
        state.insert_f64("lr", self.lr as f64);
        state.insert_f64("beta1", self.beta1 as f64);
        state.insert_f64("beta2", self.beta2 as f64);
        state.insert_f64("eps", self.eps as f64);
        state.insert_u64("step", self.step);
        state.insert_f32s("m", self.m.clone());
        state.insert_f32s("v", self.v.clone());
    }

    /// Reads everything before changing anything.
    pub(super) fn read_state(state: &StateDict) -> Result<Adam> {
        Ok(Adam {
            lr: state.f32("lr")?,
            beta1: state.f32("beta1")?,
            beta2: state.f32("beta2")?,
            eps: state.f32("eps")?,
            step: state.u64("step")?,
            m: state.f32s("m")?.to_vec(),
            v: state.f32s("v")?.to_vec(),
        })
    }

    pub(super) fn apply<M: Params>(&mut self, model: &mut M, grads: &[f32], keep: f32) {
        if fit_state(M::PARAMS, &mut [&mut self.m, &mut self.v]) {
            self.step = 0;
        }
        // Saturating: a step count restored from a file may be anything.
        self.step = self.step.saturating_add(1);
        let t = self.step as f64;
        let bias1 = 1.0 - (self.beta1 as f64).powf(t);
        let bias2 = 1.0 - (self.beta2 as f64).powf(t);
        let step_size = (self.lr as f64 / bias1) as f32;
        let inv_sqrt_bias2 = (1.0 / bias2.sqrt()) as f32;
        let (b1, b2, eps) = (self.beta1, self.beta2, self.eps);
        let (m, v) = (&mut self.m, &mut self.v);
        let mut at = 0;
        model.visit_params_mut(&mut |p| {
            let range = at..at + p.len();
            at += p.len();
            let (m, v, g) = (&mut m[range.clone()], &mut v[range.clone()], &grads[range]);
            if keep != 1.0 {
                p.iter_mut().for_each(|x| *x *= keep);
            }
            for i in 0..p.len() {
                m[i] = b1 * m[i] + (1.0 - b1) * g[i];
                v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
                // torch: p -= lr/bias1 · m / (sqrt(v)/sqrt(bias2) + eps)
                p[i] -= step_size * m[i] / (v[i].sqrt() * inv_sqrt_bias2 + eps);
            }
        });
    }
}

impl Optimizer for Adam {
    fn update<M: Params>(&mut self, model: &mut M, grads: &[f32]) -> Result<()> {
        check_len::<M>(grads)?;
        self.check()?;
        self.apply(model, grads, 1.0);
        Ok(())
    }

    fn learning_rate(&self) -> f32 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.lr = lr;
    }

    fn state_dict(&self) -> Option<StateDict> {
        let mut state = StateDict::new("Adam");
        self.write_state(&mut state);
        Some(state)
    }

    fn load_state_dict(&mut self, state: &StateDict) -> Result<()> {
        state.expect_kind("Adam")?;
        *self = Adam::read_state(state)?;
        Ok(())
    }
}

//! Optimisers.

use crate::error::{Error, Result};
use crate::grads::Grads;
use crate::network::Params;

/// Something that updates a model's parameters from its gradients.
pub trait Optimizer {
    /// Applies one update. `grads` holds `M::PARAMS` values in canonical order.
    fn update<M: Params>(&mut self, model: &mut M, grads: &[f32]) -> Result<()>;
}

/// Adam (Kingma & Ba), with the update of `torch.optim.Adam`:
/// `p -= lr · m̂ / (sqrt(v̂) + eps)`.
///
/// Defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-7 (Keras's default eps).
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

    /// Sets the decay rates of the first and second moment estimates.
    pub fn betas(mut self, beta1: f32, beta2: f32) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }

    /// Sets the term added to the denominator for numerical stability.
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

    /// Applies one Adam update to `model` from `grads`.
    ///
    /// Fails, changing nothing, when `grads` belong to a model of another layout.
    pub fn step<M: Params>(&mut self, model: &mut M, grads: &Grads) -> Result<()> {
        if grads.specs() != M::param_specs() {
            return Err(Error::GradsMismatch {
                expected: M::PARAMS,
                got: grads.as_slice().len(),
            });
        }
        self.update(model, grads.as_slice())
    }
}

impl Optimizer for Adam {
    fn update<M: Params>(&mut self, model: &mut M, grads: &[f32]) -> Result<()> {
        if grads.len() != M::PARAMS {
            return Err(Error::GradsMismatch {
                expected: M::PARAMS,
                got: grads.len(),
            });
        }
        if self.m.len() != M::PARAMS {
            // First step, or a different model: fresh moments.
            self.m = vec![0.0; M::PARAMS];
            self.v = vec![0.0; M::PARAMS];
            self.step = 0;
        }
        self.step += 1;
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
            for i in 0..p.len() {
                m[i] = b1 * m[i] + (1.0 - b1) * g[i];
                v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
                // torch: p -= lr/bias1 · m / (sqrt(v)/sqrt(bias2) + eps)
                p[i] -= step_size * m[i] / (v[i].sqrt() * inv_sqrt_bias2 + eps);
            }
        });
        Ok(())
    }
}

//! RMSprop.

use super::{check_eps, check_len, check_lr, check_unit, fit_state, Optimizer};
use crate::error::Result;
use crate::params::Params;
use crate::state_dict::StateDict;

/// RMSprop (Hinton), with the update of `torch.optim.RMSprop`:
///
/// ```text
/// v = rho · v + (1 - rho) · g²
/// a = rho · a + (1 - rho) · g          (centered only)
/// d = sqrt(v - a²) + eps  if centered, else  sqrt(v) + eps
/// b = momentum · b + g / d;  p -= lr · b    (momentum > 0)
/// p -= lr · g / d                            (otherwise)
/// ```
///
/// Defaults are Keras's (lr 1e-3, rho 0.9, eps 1e-7, no momentum, not centered),
/// as [`Adam`](super::Adam) takes Keras's eps: this library's training API follows
/// Keras, so a ported Keras script keeps its behaviour. The formula is torch's; Keras
/// adds eps inside the square root instead, which differs only while `sqrt(v)` is
/// around `sqrt(eps)` or smaller. Set `.rho(0.99).eps(1e-8)` and lr 1e-2 for torch's
/// defaults.
///
/// ```
/// use rnn_runtime::{model, Grads, Params, RmsProp};
///
/// model! { struct Net < input(2, 1), simple_rnn(2), dense(1) > }
///
/// # fn main() -> rnn_runtime::Result<()> {
/// let mut net = Net::new(0);
/// let b0 = net.param("1.bias").unwrap()[[0]];
/// let mut grads = Grads::zeros::<Net>();
/// grads.as_mut_slice().fill(2.0);
/// let mut rms = RmsProp::new(0.01).rho(0.9).eps(1e-7).momentum(0.0).centered(false);
/// rms.step(&mut net, &grads)?;
/// // First step: v = 0.1 · g², so the update is lr · g / sqrt(v) = lr / sqrt(0.1).
/// let b1 = net.param("1.bias").unwrap()[[0]];
/// assert!((b0 - b1 - 0.01 / 0.1f32.sqrt()).abs() < 1e-5);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct RmsProp {
    lr: f32,
    rho: f32,
    eps: f32,
    momentum: f32,
    centered: bool,
    v: Vec<f32>,
    avg: Vec<f32>,
    buf: Vec<f32>,
}

impl Default for RmsProp {
    fn default() -> Self {
        RmsProp::new(1e-3)
    }
}

impl RmsProp {
    /// RMSprop with learning rate `lr` and the default rho, eps and momentum.
    pub fn new(lr: f32) -> Self {
        RmsProp {
            lr,
            rho: 0.9,
            eps: 1e-7,
            momentum: 0.0,
            centered: false,
            v: Vec::new(),
            avg: Vec::new(),
            buf: Vec::new(),
        }
    }

    /// Sets the decay rate of the squared-gradient average (torch's `alpha`), in [0, 1).
    pub fn rho(mut self, rho: f32) -> Self {
        self.rho = rho;
        self
    }

    /// Sets the term added to the denominator for numerical stability (> 0).
    pub fn eps(mut self, eps: f32) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the momentum factor, in [0, 1).
    pub fn momentum(mut self, momentum: f32) -> Self {
        self.momentum = momentum;
        self
    }

    /// Whether to normalise by the gradient's estimated variance instead of its
    /// second moment.
    pub fn centered(mut self, centered: bool) -> Self {
        self.centered = centered;
        self
    }

    fn check(&self) -> Result<()> {
        check_lr(self.lr)?;
        check_unit("rho", self.rho)?;
        check_unit("momentum", self.momentum)?;
        check_eps(self.eps)
    }
}

impl Optimizer for RmsProp {
    fn update<M: Params>(&mut self, model: &mut M, grads: &[f32]) -> Result<()> {
        check_len::<M>(grads)?;
        self.check()?;
        let (lr, rho, eps, mu, centered) =
            (self.lr, self.rho, self.eps, self.momentum, self.centered);
        // Only the state a configuration uses is allocated.
        fit_state(M::PARAMS, &mut [&mut self.v]);
        if centered {
            fit_state(M::PARAMS, &mut [&mut self.avg]);
        }
        if mu > 0.0 {
            fit_state(M::PARAMS, &mut [&mut self.buf]);
        }
        let (v, avg, buf) = (&mut self.v, &mut self.avg, &mut self.buf);
        let mut at = 0;
        model.visit_params_mut(&mut |p| {
            let range = at..at + p.len();
            at += p.len();
            let (v, g) = (&mut v[range.clone()], &grads[range.clone()]);
            for i in 0..p.len() {
                v[i] = rho * v[i] + (1.0 - rho) * g[i] * g[i];
                let second = if centered {
                    let a = &mut avg[range.start + i];
                    *a = rho * *a + (1.0 - rho) * g[i];
                    // Rounding can push v - a² a hair below zero; its root is then 0.
                    (v[i] - *a * *a).max(0.0)
                } else {
                    v[i]
                };
                let step = g[i] / (second.sqrt() + eps);
                if mu > 0.0 {
                    let b = &mut buf[range.start + i];
                    *b = mu * *b + step;
                    p[i] -= lr * *b;
                } else {
                    p[i] -= lr * step;
                }
            }
        });
        Ok(())
    }

    fn learning_rate(&self) -> f32 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.lr = lr;
    }

    fn state_dict(&self) -> Option<StateDict> {
        let mut state = StateDict::new("RmsProp");
        state.insert_f64("lr", self.lr as f64);
        state.insert_f64("rho", self.rho as f64);
        state.insert_f64("eps", self.eps as f64);
        state.insert_f64("momentum", self.momentum as f64);
        state.insert_u64("centered", self.centered as u64);
        state.insert_f32s("v", self.v.clone());
        state.insert_f32s("avg", self.avg.clone());
        state.insert_f32s("buf", self.buf.clone());
        Some(state)
    }

    fn load_state_dict(&mut self, state: &StateDict) -> Result<()> {
        state.expect_kind("RmsProp")?;
        *self = RmsProp {
            lr: state.f32("lr")?,
            rho: state.f32("rho")?,
            eps: state.f32("eps")?,
            momentum: state.f32("momentum")?,
            centered: state.bool("centered")?,
            v: state.f32s("v")?.to_vec(),
            avg: state.f32s("avg")?.to_vec(),
            buf: state.f32s("buf")?.to_vec(),
        };
        Ok(())
    }
}

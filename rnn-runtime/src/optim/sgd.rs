//! Stochastic gradient descent with momentum.

use super::{check_decay, check_len, check_lr, check_unit, fit_state, Optimizer};
use crate::error::{Error, Result};
use crate::params::Params;
use crate::state_dict::StateDict;

/// Stochastic gradient descent, with the update of `torch.optim.SGD` (no dampening):
///
/// ```text
/// g = grad + weight_decay · p
/// b = momentum · b + g                 (b starts at zero; only when momentum > 0)
/// g = g + momentum · b   if nesterov, else   g = b
/// p -= lr · g
/// ```
///
/// Defaults: lr as given, momentum 0, no Nesterov, no weight decay (both libraries'
/// defaults).
///
/// ```
/// use rnn_runtime::{model, Grads, Params, Sgd};
///
/// model! { struct Net < input(2, 1), simple_rnn(2), dense(1) > }
///
/// # fn main() -> rnn_runtime::Result<()> {
/// let mut net = Net::new(0);
/// let b0 = net.param("1.bias").unwrap()[[0]];
/// let mut grads = Grads::zeros::<Net>();
/// grads.as_mut_slice().fill(1.0);
/// let mut sgd = Sgd::new(0.1).momentum(0.5).nesterov(false).weight_decay(0.0);
/// sgd.step(&mut net, &grads)?; // b = g = 1
/// sgd.step(&mut net, &grads)?; // b = 0.5 · 1 + 1 = 1.5
/// let b2 = net.param("1.bias").unwrap()[[0]];
/// assert!((b0 - b2 - 0.1 * (1.0 + 1.5)).abs() < 1e-6);
/// // Nesterov momentum without momentum is refused, changing nothing.
/// assert!(Sgd::new(0.1).nesterov(true).step(&mut net, &grads).is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Sgd {
    lr: f32,
    momentum: f32,
    nesterov: bool,
    weight_decay: f32,
    buf: Vec<f32>,
}

impl Default for Sgd {
    /// Keras's default learning rate, 0.01.
    fn default() -> Self {
        Sgd::new(0.01)
    }
}

impl Sgd {
    /// Plain SGD with learning rate `lr`.
    pub fn new(lr: f32) -> Self {
        Sgd {
            lr,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            buf: Vec::new(),
        }
    }

    /// Sets the momentum factor, in [0, 1).
    pub fn momentum(mut self, momentum: f32) -> Self {
        self.momentum = momentum;
        self
    }

    /// Whether to use Nesterov momentum (needs momentum > 0).
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// Sets the L2 penalty added to the gradient (>= 0).
    pub fn weight_decay(mut self, weight_decay: f32) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    fn check(&self) -> Result<()> {
        check_lr(self.lr)?;
        check_unit("momentum", self.momentum)?;
        check_decay(self.weight_decay)?;
        if self.nesterov && self.momentum == 0.0 {
            return Err(Error::Config("Nesterov momentum needs momentum > 0".into()));
        }
        Ok(())
    }
}

impl Optimizer for Sgd {
    fn update<M: Params>(&mut self, model: &mut M, grads: &[f32]) -> Result<()> {
        check_len::<M>(grads)?;
        self.check()?;
        let (lr, mu, wd, nesterov) = (self.lr, self.momentum, self.weight_decay, self.nesterov);
        let mut at = 0;
        if mu == 0.0 {
            model.visit_params_mut(&mut |p| {
                let g = &grads[at..at + p.len()];
                at += p.len();
                for (p, &g) in p.iter_mut().zip(g) {
                    *p -= lr * (g + wd * *p);
                }
            });
            return Ok(());
        }
        fit_state(M::PARAMS, &mut [&mut self.buf]);
        let buf = &mut self.buf;
        model.visit_params_mut(&mut |p| {
            let range = at..at + p.len();
            at += p.len();
            let (b, g) = (&mut buf[range.clone()], &grads[range]);
            for i in 0..p.len() {
                let g = g[i] + wd * p[i];
                b[i] = mu * b[i] + g;
                let d = if nesterov { g + mu * b[i] } else { b[i] };
                p[i] -= lr * d;
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
        let mut state = StateDict::new("Sgd");
        state.insert_f64("lr", self.lr as f64);
        state.insert_f64("momentum", self.momentum as f64);
        state.insert_u64("nesterov", self.nesterov as u64);
        state.insert_f64("weight_decay", self.weight_decay as f64);
        state.insert_f32s("buf", self.buf.clone());
        Some(state)
    }

    fn load_state_dict(&mut self, state: &StateDict) -> Result<()> {
        state.expect_kind("Sgd")?;
        *self = Sgd {
            lr: state.f32("lr")?,
            momentum: state.f32("momentum")?,
            nesterov: state.bool("nesterov")?,
            weight_decay: state.f32("weight_decay")?,
            buf: state.f32s("buf")?.to_vec(),
        };
        Ok(())
    }
}

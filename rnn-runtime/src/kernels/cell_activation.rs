//! The activations a recurrent cell can use in place of its defaults, as Keras's
//! `activation` and `recurrent_activation` arguments.

use crate::kernels::activation::{sigmoid_in_place, tanh_in_place};
use crate::kernels::simd::multiversion;

/// An element-wise activation inside a recurrent cell.
///
/// What `lstm(8, activation = relu, recurrent_activation = sigmoid)` names; the
/// derivative is taken from the output, the only value BPTT keeps:
///
/// ```
/// use rnn_runtime::layers::CellActivation;
///
/// let mut v = [-2.0, 0.0, 2.0];
/// CellActivation::Sigmoid.apply(&mut v);
/// assert!((v[1] - 0.5).abs() < 1e-6);
/// assert!((v[0] + v[2] - 1.0).abs() < 1e-6); // σ(-x) = 1 - σ(x)
/// assert_eq!(CellActivation::Sigmoid.derivative(0.5), 0.25);
/// assert_eq!(CellActivation::Tanh.derivative(0.0), 1.0);
/// assert_eq!(CellActivation::Relu.derivative(0.0), 0.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CellActivation {
    /// Hyperbolic tangent.
    Tanh,
    /// Logistic sigmoid.
    Sigmoid,
    /// `max(0, v)`.
    Relu,
    /// Identity.
    Linear,
}

impl CellActivation {
    /// Applies the activation to every element in place.
    ///
    /// The match sits outside the loop so that each arm vectorises; inlined into the
    /// multiversioned cell kernels.
    #[inline(always)]
    pub fn apply(self, v: &mut [f32]) {
        match self {
            CellActivation::Tanh => tanh_in_place(v),
            CellActivation::Sigmoid => sigmoid_in_place(v),
            CellActivation::Relu => v.iter_mut().for_each(|x| *x = x.max(0.0)),
            CellActivation::Linear => {}
        }
    }

    /// The derivative at the point whose activated value is `y`: every activation here
    /// has a derivative that is a function of its output, so BPTT keeps outputs only.
    #[inline(always)]
    pub fn derivative(self, y: f32) -> f32 {
        match self {
            CellActivation::Tanh => 1.0 - y * y,
            CellActivation::Sigmoid => y * (1.0 - y),
            CellActivation::Relu => {
                if y > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            CellActivation::Linear => 1.0,
        }
    }
}

multiversion! {
    /// [`CellActivation::apply`] with AVX2 or AVX-512 where the CPU has them.
    pub(crate) fn apply_slice(act: CellActivation, v: &mut [f32]) {
        act.apply(v)
    }
}

#[cfg(feature = "std")]
multiversion! {
    /// `grad[j] *= act'(y[j])`, the derivative taken from the outputs `y`.
    pub(crate) fn backprop_slice(act: CellActivation, y: &[f32], grad: &mut [f32]) {
        grad.iter_mut().zip(y).for_each(|(g, &y)| *g *= act.derivative(y));
    }
}

/// The pair of activations of a recurrent cell.
///
/// `activation` is the candidate's (LSTM `g` and the `act(c)` in `h = o · act(c)`,
/// GRU `n`, the simple RNN's only one); `recurrent_activation` is the gates' (LSTM
/// `i`, `f`, `o`, GRU `r`, `z`; the simple RNN has none and ignores it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CellActivations {
    /// The candidate's activation; default tanh.
    pub activation: CellActivation,
    /// The gates' activation; default sigmoid.
    pub recurrent_activation: CellActivation,
}

impl CellActivations {
    /// Keras's and PyTorch's defaults: tanh and sigmoid.
    pub const DEFAULT: CellActivations = CellActivations {
        activation: CellActivation::Tanh,
        recurrent_activation: CellActivation::Sigmoid,
    };

    /// The given pair.
    pub const fn new(activation: CellActivation, recurrent_activation: CellActivation) -> Self {
        CellActivations {
            activation,
            recurrent_activation,
        }
    }
}

impl Default for CellActivations {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_match_central_differences_of_the_definitions() {
        let f = |a: CellActivation, x: f64| -> f64 {
            match a {
                CellActivation::Tanh => x.tanh(),
                CellActivation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
                CellActivation::Relu => x.max(0.0),
                CellActivation::Linear => x,
            }
        };
        let all = [
            CellActivation::Tanh,
            CellActivation::Sigmoid,
            CellActivation::Relu,
            CellActivation::Linear,
        ];
        for a in all {
            for x in [-2.5f64, -0.7, -0.1, 0.3, 1.1, 3.0] {
                let mut y = [x as f32];
                a.apply(&mut y);
                assert!((y[0] as f64 - f(a, x)).abs() < 1e-6, "{a:?}({x})");
                let eps = 1e-5;
                let want = (f(a, x + eps) - f(a, x - eps)) / (2.0 * eps);
                let got = a.derivative(y[0]) as f64;
                assert!((got - want).abs() < 1e-5, "{a:?}'({x}): {got} vs {want}");
            }
        }
        assert_eq!(CellActivations::default(), CellActivations::DEFAULT);
    }
}

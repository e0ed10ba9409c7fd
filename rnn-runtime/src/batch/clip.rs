//! Gradient clipping on a flat gradient buffer, shared by [`Grads`](crate::Grads)
//! and the training loop.

use crate::error::{Error, Result};
use crate::params::ParamSpec;

/// A clipping threshold must be a finite positive number.
pub(crate) fn check_threshold(what: &str, value: f32) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "{what} must be finite and > 0, got {value}"
        )))
    }
}

/// Keras's `clipvalue`: every element into `[-limit, limit]` (NaN stays NaN).
pub(crate) fn clip_value(grads: &mut [f32], limit: f32) {
    for g in grads {
        *g = g.clamp(-limit, limit);
    }
}

/// Euclidean norm, summed in f64 so that large tensors lose no precision.
fn norm(values: &[f32]) -> f64 {
    values
        .iter()
        .map(|&g| g as f64 * g as f64)
        .sum::<f64>()
        .sqrt()
}

/// Keras's `clipnorm`: each parameter tensor's gradient (laid out as `specs`, in
/// order) scaled to norm at most `max`, as `g · max / max(‖g‖, max)`.
pub(crate) fn clip_norm(grads: &mut [f32], specs: &[ParamSpec], max: f32) {
    let mut at = 0;
    for spec in specs {
        let g = &mut grads[at..at + spec.len()];
        at += spec.len();
        let n = norm(g);
        if n > max as f64 {
            let scale = (max as f64 / n) as f32;
            g.iter_mut().for_each(|g| *g *= scale);
        }
    }
}

/// `torch.nn.utils.clip_grad_norm_`: when the norm of all gradients together exceeds
/// `max`, every gradient is scaled by `max / (norm + 1e-6)`. Returns the norm before
/// clipping (not finite when a gradient is not).
pub(crate) fn clip_global_norm(grads: &mut [f32], max: f32) -> f32 {
    let total = norm(grads);
    let coef = max as f64 / (total + 1e-6);
    // torch multiplies by min(coef, 1); skipping the factor 1 changes nothing.
    if coef < 1.0 || !total.is_finite() {
        let scale = coef as f32;
        grads.iter_mut().for_each(|g| *g *= scale);
    }
    total as f32
}

/// The clipping options of a training run, applied to each step's gradients in
/// Keras's order: by value, then per-tensor norm, then global norm.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Clipping {
    pub(crate) value: Option<f32>,
    pub(crate) norm: Option<f32>,
    pub(crate) global_norm: Option<f32>,
}

impl Clipping {
    /// Checks every threshold that is set.
    pub(crate) fn check(&self) -> Result<()> {
        let set = [
            ("clipvalue", self.value),
            ("clipnorm", self.norm),
            ("global_clipnorm", self.global_norm),
        ];
        for (what, value) in set {
            if let Some(v) = value {
                check_threshold(what, v)?;
            }
        }
        Ok(())
    }

    /// Clips `grads` (laid out as `specs`) in place.
    pub(crate) fn apply(&self, grads: &mut [f32], specs: &[ParamSpec]) {
        if let Some(v) = self.value {
            clip_value(grads, v);
        }
        if let Some(max) = self.norm {
            clip_norm(grads, specs, max);
        }
        if let Some(max) = self.global_norm {
            clip_global_norm(grads, max);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[ParamSpec] = &[
        ParamSpec {
            name: "a",
            shape: &[2],
        },
        ParamSpec {
            name: "b",
            shape: &[1, 2],
        },
    ];

    #[test]
    fn value_clips_each_element() {
        let mut g = [3.0, -0.5, -7.0, f32::NAN];
        clip_value(&mut g, 1.0);
        assert_eq!(&g[..3], &[1.0, -0.5, -1.0]);
        assert!(g[3].is_nan());
    }

    #[test]
    fn norm_clips_only_tensors_above_the_threshold() {
        let mut g = [3.0, 4.0, 0.3, 0.4];
        clip_norm(&mut g, SPECS, 1.0);
        assert_eq!(g, [0.6, 0.8, 0.3, 0.4]);
    }

    #[test]
    fn global_norm_scales_everything_and_returns_the_norm_before() {
        let mut g = [3.0, 0.0, 0.0, 4.0];
        let total = clip_global_norm(&mut g, 1.0);
        assert_eq!(total, 5.0);
        let scale = (1.0 / (5.0 + 1e-6)) as f32;
        assert_eq!(g, [3.0 * scale, 0.0, 0.0, 4.0 * scale]);
        let mut small = [0.3, 0.4, 0.0, 0.0];
        assert_eq!(clip_global_norm(&mut small, 1.0), 0.5);
        assert_eq!(small, [0.3, 0.4, 0.0, 0.0]);
    }

    #[test]
    fn thresholds_must_be_positive_and_finite() {
        for bad in [0.0, -1.0, f32::NAN, f32::INFINITY] {
            assert!(check_threshold("clipnorm", bad).is_err());
        }
        let c = Clipping {
            global_norm: Some(-1.0),
            ..Clipping::default()
        };
        assert!(c.check().is_err());
    }
}

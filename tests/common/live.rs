//! The fixture guard's rules, on the Rust side: a parity case can only catch a bug
//! that changes what it stores. A case whose gradients vanish in some tensor, whose
//! outputs are the same for every sample (a dead ReLU layer, say), or whose activation
//! overrides give the same output as the defaults, passes whatever the library does
//! there. The generators refuse such cases before writing them
//! (`tests/fixtures/gen/guard.py`, the same thresholds); `tests/fixtures_live.rs` holds
//! every committed fixture to them.
#![allow(dead_code)]

use super::compare::{max_abs_diff, spread_across_samples};

/// A tensor's largest |gradient| must reach this, absolutely...
pub const MIN_GRADIENT: f64 = 1e-6;
/// ...and as a fraction of the largest |gradient| of all the case's tensors.
pub const MIN_GRADIENT_FRACTION: f64 = 1e-3;
/// Outputs must differ across samples by at least this somewhere (50 times the parity
/// tolerance's absolute part, so that an implementation returning one output for every
/// sample fails)...
pub const MIN_SPREAD: f64 = 5e-4;
/// ...and from the default activations' outputs (same weights) by at least this: 100
/// times the parity tolerance's absolute part, so that ignoring an override fails.
pub const MIN_OVERRIDE_EFFECT: f64 = 1e-3;

/// Every rule a case breaks, in words; empty for a live case. `grads` are the case's
/// gradient tensors by name, `outputs` one flat output per sample, and
/// `default_outputs` the same model's outputs with default cell activations, for a
/// case that overrides them.
pub fn degenerate(
    grads: &[(String, Vec<f32>)],
    outputs: &[Vec<f32>],
    default_outputs: Option<&[Vec<f32>]>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let largest = |g: &[f32]| g.iter().fold(0.0f64, |m, v| m.max(f64::from(v.abs())));
    for (name, g) in grads {
        if g.iter().any(|v| !v.is_finite()) {
            problems.push(format!("gradient {name} is not finite"));
        }
    }
    let overall = grads.iter().map(|(_, g)| largest(g)).fold(0.0, f64::max);
    for (name, g) in grads {
        let l = largest(g);
        if l < MIN_GRADIENT || l < MIN_GRADIENT_FRACTION * overall {
            problems.push(format!(
                "gradient {name} is trivial: largest |g| {l:.3e} (the case's largest {overall:.3e})"
            ));
        }
    }
    if outputs.len() < 2 {
        problems.push(format!("{} sample(s): outputs cannot vary", outputs.len()));
    } else {
        let spread = spread_across_samples(outputs.iter().map(Vec::as_slice));
        if spread < MIN_SPREAD {
            problems.push(format!(
                "outputs do not vary across samples: largest difference {spread:.3e}"
            ));
        }
    }
    if let Some(defaults) = default_outputs {
        assert_eq!(
            defaults.len(),
            outputs.len(),
            "default outputs: sample count"
        );
        let effect = outputs
            .iter()
            .zip(defaults)
            .map(|(o, d)| max_abs_diff(o, d))
            .fold(0.0, f64::max);
        if effect < MIN_OVERRIDE_EFFECT {
            problems.push(format!(
                "the activation overrides do not change the output: largest difference \
                 from the defaults {effect:.3e}"
            ));
        }
    }
    problems
}

/// Panics naming `case` and every rule it breaks.
pub fn assert_live(
    case: &str,
    grads: &[(String, Vec<f32>)],
    outputs: &[Vec<f32>],
    default_outputs: Option<&[Vec<f32>]>,
) {
    let problems = degenerate(grads, outputs, default_outputs);
    assert!(
        problems.is_empty(),
        "{case} is degenerate:\n  {}",
        problems.join("\n  ")
    );
}

/// The rows of `a` along its first axis (samples), each flattened.
pub fn rows(a: &ndarray::ArrayD<f32>) -> Vec<Vec<f32>> {
    a.outer_iter()
        .map(|r| r.iter().copied().collect())
        .collect()
}

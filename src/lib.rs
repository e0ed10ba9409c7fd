//! Helpers shared by the workspace's examples, integration tests and benches.
//! Not published; users depend on `rnn-runtime` alone.

use ndarray::{Array2, Array3};

/// The seed workload's data: the series `s[t] = sin(0.1·t)` cut into `samples`
/// windows `x[i] = s[i..i+steps]` (shaped `[samples, steps, 1]`), each with the next
/// value `s[i+steps]` as its target (`[samples, 1]`).
pub fn sine_windows(samples: usize, steps: usize) -> (Array3<f32>, Array2<f32>) {
    let s = |t: usize| (0.1 * t as f64).sin() as f32;
    let x = Array3::from_shape_fn((samples, steps, 1), |(i, t, _)| s(i + t));
    let y = Array2::from_shape_fn((samples, 1), |(i, _)| s(i + steps));
    (x, y)
}

/// Every Rust block of the README, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ndarray::ArrayD;

/// `tests/fixtures/<rel>` inside the repository.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Every f32 tensor of a safetensors file, by name.
pub fn read_all(path: &Path) -> HashMap<String, ArrayD<f32>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file = safetensors::SafeTensors::deserialize(&bytes).expect("valid safetensors");
    file.tensors()
        .into_iter()
        .map(|(name, view)| {
            assert_eq!(view.dtype(), safetensors::Dtype::F32, "{name}");
            let values: Vec<f32> = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            let array = ArrayD::from_shape_vec(view.shape().to_vec(), values).expect("shape");
            (name, array)
        })
        .collect()
}

/// Largest `|got - want| / (abs + rel·|want|)` over all elements: ≤ 1 passes.
pub fn worst<'a>(
    got: impl IntoIterator<Item = &'a f32>,
    want: impl IntoIterator<Item = &'a f32>,
    abs: f64,
    rel: f64,
) -> f64 {
    got.into_iter()
        .zip(want)
        .map(|(&g, &w)| (g as f64 - w as f64).abs() / (abs + rel * (w as f64).abs()))
        .fold(0.0, f64::max)
}

/// Largest relative error `|got - want| / max(|want|, 1e-12)`, for reporting.
pub fn max_rel<'a>(
    got: impl IntoIterator<Item = &'a f32>,
    want: impl IntoIterator<Item = &'a f32>,
) -> f64 {
    got.into_iter()
        .zip(want)
        .map(|(&g, &w)| (g as f64 - w as f64).abs() / (w as f64).abs().max(1e-12))
        .fold(0.0, f64::max)
}

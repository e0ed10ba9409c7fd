//! Post-training int8 quantisation of weights ("dynamic range" or weight-only
//! quantisation, as TFLite calls it): every weight matrix is stored as `i8` with one
//! `f32` scale per output row; biases, activations and every sum stay `f32`.
//!
//! For row `r` of a weight matrix `w`, `scale_r = max_j |w_rj| / 127` and
//! `q_rj = round(w_rj / scale_r)` (half away from zero) in `[-127, 127]`; a row of zeros
//! has scale 0 and all-zero `q`. The products accumulate `q_rj · x_j` in `f32` and
//! multiply by `scale_r` once per row, so `dequantize` (each weight `q · scale`) gives the
//! `f32` model that computes the same function up to rounding.
//!
//! The layer types here mirror the `f32` layers' single-sample methods (`forward_one`,
//! `step_sample`), so a generated `NameInt8` runs the same pipeline as `Name`. Like the
//! `f32` layers, their tensors are boxed with `std` and inline without, where a
//! `const fn from_le_bytes` builds them into a `static` in flash.
//!
//! The byte format (`to_le_bytes`, `from_le_bytes`) is a 16-byte header — the magic
//! [`flat::INT8_MAGIC`](crate::flat::INT8_MAGIC), the format version and the spec's hash,
//! checked by `from_le_bytes` — then the model's tensors in canonical order; a weight matrix of `R` rows and `C` columns is its `R` scales as
//! little-endian `f32` followed by its `R · C` values of `q` as `i8`, row-major, and any
//! other tensor (a bias) is its little-endian `f32`s.

mod layers;
mod weights;

#[cfg(test)]
mod tests;

pub use layers::{DenseInt8, EmbeddingInt8, GruInt8, LstmInt8, SimpleRnnInt8};
pub use weights::QWeights;

#[cfg(feature = "std")]
use crate::error::Error;
#[cfg(feature = "std")]
use crate::params::{ParamSpec, Params};

/// Whether the tensor `spec` is stored as int8: a weight matrix (`…weight`,
/// `…weight_ih`, `…weight_hh`, an embedding's `weight`), not a bias.
#[cfg(feature = "std")]
pub fn is_quantised(spec: &ParamSpec) -> bool {
    let last = spec.name.rsplit('.').next().unwrap_or(spec.name);
    spec.shape.len() == 2 && last.starts_with("weight")
}

/// Bytes of a model's parameters in the int8 format: `R · C + 4R` for each weight
/// matrix of `R` rows and `C` columns, four per value of the other tensors.
#[cfg(feature = "std")]
pub fn int8_bytes(specs: &[ParamSpec]) -> usize {
    specs
        .iter()
        .map(|s| match is_quantised(s) {
            true => s.len() + 4 * s.shape[0],
            false => 4 * s.len(),
        })
        .sum()
}

/// The scale and int8 values of one weight row: `scale = max |w| / 127`, each value
/// rounded half away from zero (what `f32::round` does). A row of zeros has scale 0.
/// The caller has checked that every value is finite.
pub fn quantize_row(row: &[f32], q: &mut [i8]) -> f32 {
    let max = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let scale = max / 127.0;
    if scale == 0.0 {
        // Also for subnormal maxima whose scale underflows: every q is 0 and the row
        // dequantises to zeros, never a division by zero.
        q.fill(0);
        return 0.0;
    }
    for (q, w) in q.iter_mut().zip(row) {
        // `as` saturates, and the clamp keeps -128 out: the format is symmetric.
        *q = round_half_away(w / scale).clamp(-127.0, 127.0) as i8;
    }
    scale
}

/// Rounds half away from zero without `std`'s `f32::round` (unavailable in `core`).
fn round_half_away(v: f32) -> f32 {
    libm::roundf(v)
}

/// A model's parameters quantised into the int8 format (see the module documentation),
/// what the generated `Name::quantize` hands to `NameInt8::from_le_bytes`.
///
/// # Errors
/// [`Error::NonFiniteWeight`] if any parameter, weight or bias, is NaN or infinite.
#[cfg(feature = "std")]
pub fn quantize_params<M: Params>(model: &M) -> Result<Vec<u8>, Error> {
    let specs = M::param_specs();
    let mut out = Vec::with_capacity(int8_bytes(specs));
    let mut index = 0;
    let mut failed = None;
    model.visit_params(&mut |values| {
        let spec = &specs[index];
        index += 1;
        if failed.is_some() {
            return;
        }
        if let Some(at) = values.iter().position(|v| !v.is_finite()) {
            failed = Some(Error::NonFiniteWeight {
                tensor: spec.name,
                index: at,
                value: values[at],
            });
            return;
        }
        if !is_quantised(spec) {
            out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
            return;
        }
        let cols = spec.shape[1];
        let mut q = vec![0i8; values.len()];
        for (row, q_row) in values.chunks(cols.max(1)).zip(q.chunks_mut(cols.max(1))) {
            out.extend(quantize_row(row, q_row).to_le_bytes());
        }
        out.extend(q.iter().map(|v| v.to_le_bytes()[0]));
    });
    match failed {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// The little-endian `f32` bytes of parameter tensors visited in canonical order: how
/// a generated `NameInt8::dequantize` hands its weights (`q · scale`) to
/// `Name::from_le_bytes`.
#[cfg(feature = "std")]
pub fn le_bytes_of(visit: impl FnOnce(&mut dyn FnMut(&[f32]))) -> Vec<u8> {
    let mut out = Vec::new();
    visit(&mut |values| out.extend(values.iter().flat_map(|v| v.to_le_bytes())));
    out
}

/// `bytes` as an array of its length `N`, for a generated `from_le_bytes`.
///
/// # Panics
/// If `bytes` does not hold exactly `N` bytes: a generated caller's sizes disagree.
#[cfg(feature = "std")]
pub fn as_array<const N: usize>(bytes: &[u8]) -> &[u8; N] {
    match bytes.try_into() {
        Ok(array) => array,
        Err(_) => panic!("{} bytes where the model has {N}", bytes.len()),
    }
}

//! Element-wise comparisons for the parity and import tests. Every helper fails on a
//! non-finite value on either side and on a length mismatch, so that a NaN or a
//! missing element can never pass as a small error (`f64::max` drops NaN, and `zip`
//! stops at the shorter side).
#![allow(dead_code)]

/// Both sides as f64 pairs, or why they cannot be compared: a length mismatch or a
/// non-finite value.
fn checked<'a>(
    got: impl IntoIterator<Item = &'a f32>,
    want: impl IntoIterator<Item = &'a f32>,
) -> Result<Vec<(f64, f64)>, String> {
    let got: Vec<f64> = got.into_iter().map(|&v| f64::from(v)).collect();
    let want: Vec<f64> = want.into_iter().map(|&v| f64::from(v)).collect();
    if got.len() != want.len() {
        return Err(format!(
            "compared sequences differ in length: got {} values, want {}",
            got.len(),
            want.len()
        ));
    }
    if let Some(k) = (0..got.len()).find(|&k| !got[k].is_finite() || !want[k].is_finite()) {
        return Err(format!(
            "non-finite value at index {k}: got {}, want {}",
            got[k], want[k]
        ));
    }
    Ok(got.into_iter().zip(want).collect())
}

/// [`checked`], panicking with its reason.
fn pairs<'a>(
    got: impl IntoIterator<Item = &'a f32>,
    want: impl IntoIterator<Item = &'a f32>,
) -> Vec<(f64, f64)> {
    checked(got, want).unwrap_or_else(|e| panic!("{e}"))
}

/// Largest `|got - want| / (abs + rel·|want|)` over all elements: ≤ 1 passes.
/// Panics on a length mismatch or a non-finite value.
pub fn worst<'a>(
    got: impl IntoIterator<Item = &'a f32>,
    want: impl IntoIterator<Item = &'a f32>,
    abs: f64,
    rel: f64,
) -> f64 {
    pairs(got, want)
        .into_iter()
        .map(|(g, w)| (g - w).abs() / (abs + rel * w.abs()))
        .fold(0.0, f64::max)
}

/// Largest relative error `|got - want| / max(|want|, 1e-12)`, for reporting.
/// Panics on a length mismatch or a non-finite value.
pub fn max_rel<'a>(
    got: impl IntoIterator<Item = &'a f32>,
    want: impl IntoIterator<Item = &'a f32>,
) -> f64 {
    pairs(got, want)
        .into_iter()
        .map(|(g, w)| (g - w).abs() / w.abs().max(1e-12))
        .fold(0.0, f64::max)
}

/// Largest `|got - want|`. Panics on a length mismatch or a non-finite value.
pub fn max_abs_diff<'a>(
    got: impl IntoIterator<Item = &'a f32>,
    want: impl IntoIterator<Item = &'a f32>,
) -> f64 {
    pairs(got, want)
        .into_iter()
        .map(|(g, w)| (g - w).abs())
        .fold(0.0, f64::max)
}

/// The largest, over output positions, of (max - min over samples), for `rows` of one
/// flat output per sample: how much the outputs depend on the input. Panics on rows of
/// different lengths or a non-finite value.
pub fn spread_across_samples<'a>(rows: impl IntoIterator<Item = &'a [f32]>) -> f64 {
    let rows: Vec<&[f32]> = rows.into_iter().collect();
    let Some(first) = rows.first() else {
        return 0.0;
    };
    let mut spread = 0.0f64;
    for row in &rows {
        pairs(row.iter(), first.iter());
    }
    for j in 0..first.len() {
        let column = rows.iter().map(|r| f64::from(r[j]));
        let (lo, hi) = column.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
        spread = spread.max(hi - lo);
    }
    spread
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_infinity_and_length_mismatch_are_refused() {
        let ok = [1.0f32, 2.0];
        let refused = |got: &[f32], want: &[f32]| checked(got, want).unwrap_err();
        assert!(refused(&[1.0, f32::NAN], &ok).contains("non-finite value at index 1"));
        assert!(refused(&ok, &[f32::INFINITY, 2.0]).contains("non-finite value at index 0"));
        assert!(refused(&[f32::NEG_INFINITY, 2.0], &ok).contains("non-finite"));
        assert!(refused(&[1.0], &ok).contains("differ in length"));
        assert!(refused(&[1.0, 2.0, 3.0], &ok).contains("differ in length"));
        assert_eq!(worst(&ok, &ok, 1e-5, 1e-4), 0.0);
        assert_eq!(max_abs_diff(&[1.0, 2.5], &ok), 0.5);
        assert_eq!(max_rel(&[1.0, 2.5], &ok), 0.25);
        assert_eq!(
            spread_across_samples([&[1.0f32, 2.0][..], &[1.5, 2.25][..], &[1.25, 2.0][..]]),
            0.5
        );
    }
}

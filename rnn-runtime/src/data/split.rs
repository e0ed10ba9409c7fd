//! Time-ordered train / validation / test split: no shuffling, so no future leaks into
//! training.

use std::ops::Range;

use ndarray::{ArrayView, Axis, Dimension, Slice};

use crate::error::{Error, Result};

/// The three parts of a time-ordered split, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split<T> {
    /// The first part, to train on.
    pub train: T,
    /// The part after it, to validate on (may be empty).
    pub val: T,
    /// The last part, to test on (may be empty).
    pub test: T,
}

/// Row ranges of a time-ordered split of `len` rows: the first `train` fraction, the
/// next `val` fraction, and the rest for test. Boundaries are rounded to the nearest
/// row.
///
/// Refuses fractions outside `[0, 1]`, fractions adding up to more than 1, and any
/// part with a positive fraction that would get no rows (train must always get rows).
///
/// ```
/// # fn main() -> Result<(), rnn_runtime::Error> {
/// let parts = rnn_runtime::data::split_ranges(309, 0.7, 0.15)?;
/// assert_eq!((parts.train, parts.val, parts.test), (0..216, 216..263, 263..309));
/// # Ok(())
/// # }
/// ```
pub fn split_ranges(len: usize, train: f64, val: f64) -> Result<Split<Range<usize>>> {
    let unit = 0.0..=1.0;
    if !unit.contains(&train) || !unit.contains(&val) || train + val > 1.0 + 1e-9 {
        return Err(Error::DataOption(format!(
            "split fractions must lie in [0, 1] and add up to at most 1, got train {train} and val {val}"
        )));
    }
    let test = 1.0 - train - val;
    let b1 = (len as f64 * train).round() as usize;
    let b2 = ((len as f64 * (train + val)).round() as usize).clamp(b1, len);
    for (name, fraction, rows) in [
        ("train", train, b1),
        ("val", val, b2 - b1),
        ("test", test, len - b2),
    ] {
        let must_have_rows = name == "train" || fraction > 1e-9;
        if must_have_rows && rows == 0 {
            return Err(Error::DataOption(format!(
                "a {name} fraction of {fraction} leaves the {name} part of {len} rows empty"
            )));
        }
    }
    Ok(Split {
        train: 0..b1,
        val: b1..b2,
        test: b2..len,
    })
}

/// Splits `data` along its first (time) axis as [`split_ranges`] does, returning views.
///
/// ```
/// use rnn_runtime::ndarray::Array2;
///
/// # fn main() -> Result<(), rnn_runtime::Error> {
/// let data = Array2::<f32>::zeros((100, 3));
/// let parts = rnn_runtime::data::time_split(data.view(), 0.8, 0.1)?;
/// assert_eq!((parts.train.nrows(), parts.val.nrows(), parts.test.nrows()), (80, 10, 10));
/// # Ok(())
/// # }
/// ```
pub fn time_split<'a, A, D: Dimension>(
    data: ArrayView<'a, A, D>,
    train: f64,
    val: f64,
) -> Result<Split<ArrayView<'a, A, D>>> {
    if data.ndim() == 0 {
        return Err(Error::DataOption(
            "cannot split a 0-dimensional array".into(),
        ));
    }
    let r = split_ranges(data.len_of(Axis(0)), train, val)?;
    let part = |r: Range<usize>| data.clone().slice_axis_move(Axis(0), Slice::from(r));
    Ok(Split {
        train: part(r.train),
        val: part(r.val),
        test: part(r.test),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array3};

    #[test]
    fn ranges_are_ordered_and_cover_all_rows() {
        let s = split_ranges(10, 0.6, 0.2).unwrap();
        assert_eq!((s.train, s.val, s.test), (0..6, 6..8, 8..10));
        let s = split_ranges(7, 0.5, 0.25).unwrap();
        assert_eq!(s.train.end, s.val.start);
        assert_eq!(s.val.end, s.test.start);
        assert_eq!(s.test.end, 7);
    }

    #[test]
    fn zero_fractions_give_empty_parts() {
        let s = split_ranges(10, 0.8, 0.0).unwrap();
        assert_eq!((s.train, s.val, s.test), (0..8, 8..8, 8..10));
        let s = split_ranges(10, 0.7, 0.3).unwrap();
        assert_eq!((s.val, s.test), (7..10, 10..10));
        let s = split_ranges(10, 1.0, 0.0).unwrap();
        assert_eq!(s.train, 0..10);
    }

    #[test]
    fn bad_fractions_are_refused() {
        for (train, val) in [(1.2, 0.0), (-0.1, 0.2), (0.7, 0.4), (0.5, f64::NAN)] {
            let err = split_ranges(100, train, val).unwrap_err();
            assert!(matches!(err, Error::DataOption(_)), "{train} {val}");
        }
        assert!(split_ranges(100, 0.0, 0.5).is_err());
    }

    #[test]
    fn a_part_too_small_for_one_row_is_refused() {
        let err = split_ranges(5, 0.9, 0.05).unwrap_err();
        assert!(err.to_string().contains("val part of 5 rows"), "{err}");
        assert!(split_ranges(0, 0.5, 0.0).is_err());
    }

    #[test]
    fn time_split_slices_the_first_axis() {
        let data = Array3::from_shape_fn((10, 2, 3), |(t, _, _)| t as f32);
        let s = time_split(data.view(), 0.5, 0.3).unwrap();
        assert_eq!(s.train.dim(), (5, 2, 3));
        assert_eq!(s.val.dim(), (3, 2, 3));
        assert_eq!(s.test[[0, 1, 2]], 8.0);
        let series = Array1::from_vec((0..4).map(|t| t as f32).collect());
        let s = time_split(series.view(), 0.5, 0.25).unwrap();
        assert_eq!(s.test.to_vec(), vec![3.0]);
    }
}

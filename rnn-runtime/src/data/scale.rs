//! Per-column scalers with an inverse, as scikit-learn's `MinMaxScaler` and
//! `StandardScaler`: fit on the training part only, then transform every part with the
//! same numbers, and map predictions back to the original units.

use ndarray::{Array2, ArrayView2, AsArray, Ix2};

use crate::error::{Error, Result};

/// Transforms columns of data with numbers fitted earlier, and back.
pub trait Scaler {
    /// Columns the scaler was fitted on.
    fn columns(&self) -> usize;

    /// Scales `data` (`[rows, columns]`) column by column.
    fn transform<'a>(&self, data: impl AsArray<'a, f32, Ix2>) -> Result<Array2<f32>>;

    /// Maps scaled data back to the original units.
    fn inverse_transform<'a>(&self, data: impl AsArray<'a, f32, Ix2>) -> Result<Array2<f32>>;

    /// Scales values of one column (any number of them, e.g. a `[N, horizon]`
    /// target array flattened).
    fn transform_column(&self, column: usize, values: &[f32]) -> Result<Vec<f32>>;

    /// Maps scaled values of one column back to the original units (e.g. a model's
    /// predictions of a target column).
    fn inverse_column(&self, column: usize, values: &[f32]) -> Result<Vec<f32>>;
}

/// `scaled = (x - center) / width + offset`, per column; both scalers are this map.
#[derive(Clone, Debug, PartialEq)]
struct Affine {
    center: Vec<f32>,
    width: Vec<f32>,
    offset: f32,
}

impl Affine {
    fn check_columns(&self, got: (usize, usize)) -> Result<()> {
        if got.1 != self.center.len() {
            return Err(Error::Shape {
                what: "data",
                expected: format!("[rows, {}] as the scaler was fitted on", self.center.len()),
                got: vec![got.0, got.1],
            });
        }
        Ok(())
    }

    fn check_column(&self, column: usize) -> Result<()> {
        if column >= self.center.len() {
            return Err(Error::DataOption(format!(
                "column {column} is out of range for a scaler of {} columns",
                self.center.len()
            )));
        }
        Ok(())
    }

    fn forward(&self, c: usize, x: f32) -> f32 {
        (x - self.center[c]) / self.width[c] + self.offset
    }

    fn inverse(&self, c: usize, x: f32) -> f32 {
        (x - self.offset) * self.width[c] + self.center[c]
    }

    fn map(
        &self,
        data: ArrayView2<'_, f32>,
        f: fn(&Self, usize, f32) -> f32,
    ) -> Result<Array2<f32>> {
        self.check_columns(data.dim())?;
        Ok(Array2::from_shape_fn(data.dim(), |(r, c)| {
            f(self, c, data[[r, c]])
        }))
    }

    fn map_column(
        &self,
        c: usize,
        values: &[f32],
        f: fn(&Self, usize, f32) -> f32,
    ) -> Result<Vec<f32>> {
        self.check_column(c)?;
        Ok(values.iter().map(|&x| f(self, c, x)).collect())
    }

    fn select(&self, columns: &[usize]) -> Result<Self> {
        for &c in columns {
            self.check_column(c)?;
        }
        Ok(Affine {
            center: columns.iter().map(|&c| self.center[c]).collect(),
            width: columns.iter().map(|&c| self.width[c]).collect(),
            offset: self.offset,
        })
    }
}

/// Checks that `data` has rows and only finite values, then folds each column in f64.
fn column_stats<T>(data: ArrayView2<'_, f32>, stat: impl Fn(&[f64]) -> T) -> Result<Vec<T>> {
    let (rows, cols) = data.dim();
    if rows == 0 || cols == 0 {
        return Err(Error::Empty("data to fit a scaler to"));
    }
    let mut column = Vec::with_capacity(rows);
    let mut out = Vec::with_capacity(cols);
    for c in 0..cols {
        column.clear();
        for r in 0..rows {
            let v = data[[r, c]];
            if !v.is_finite() {
                return Err(Error::NonFinite {
                    row: r,
                    column: c,
                    value: v,
                });
            }
            column.push(v as f64);
        }
        let (lo, hi) = column
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        if lo == hi {
            return Err(Error::ConstantColumn {
                column: c,
                value: lo as f32,
            });
        }
        out.push(stat(&column));
    }
    Ok(out)
}

macro_rules! impl_scaler {
    ($ty:ty) => {
        impl Scaler for $ty {
            fn columns(&self) -> usize {
                self.affine.center.len()
            }

            fn transform<'a>(&self, data: impl AsArray<'a, f32, Ix2>) -> Result<Array2<f32>> {
                self.affine.map(data.into(), Affine::forward)
            }

            fn inverse_transform<'a>(
                &self,
                data: impl AsArray<'a, f32, Ix2>,
            ) -> Result<Array2<f32>> {
                self.affine.map(data.into(), Affine::inverse)
            }

            fn transform_column(&self, column: usize, values: &[f32]) -> Result<Vec<f32>> {
                self.affine.map_column(column, values, Affine::forward)
            }

            fn inverse_column(&self, column: usize, values: &[f32]) -> Result<Vec<f32>> {
                self.affine.map_column(column, values, Affine::inverse)
            }
        }

        impl $ty {
            /// The same scaler restricted to `columns` (in that order), e.g. the target
            /// column alone, to map a model's predictions back with
            /// [`Scaler::inverse_transform`].
            pub fn select(&self, columns: &[usize]) -> Result<Self> {
                Ok(Self {
                    affine: self.affine.select(columns)?,
                })
            }
        }
    };
}

/// Maps each column linearly onto a range, `[0, 1]` by default, by its minimum and
/// maximum in the data it was fitted on (scikit-learn's `MinMaxScaler`).
///
/// ```
/// use rnn_runtime::data::{MinMaxScaler, Scaler};
/// use rnn_runtime::ndarray::array;
///
/// # fn main() -> Result<(), rnn_runtime::Error> {
/// let train = array![[0.0f32, 10.0], [5.0, 30.0], [10.0, 20.0]];
/// let scaler = MinMaxScaler::fit(&train)?;
/// assert_eq!(scaler.transform(&array![[5.0f32, 40.0]])?, array![[0.5f32, 1.5]]);
/// assert_eq!(scaler.inverse_column(1, &[0.5])?, vec![20.0]);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MinMaxScaler {
    affine: Affine,
}

impl MinMaxScaler {
    /// Fits to `data` (`[rows, columns]`), mapping each column's minimum to 0 and
    /// maximum to 1. Refuses empty data, non-finite values and constant columns.
    pub fn fit<'a>(data: impl AsArray<'a, f32, Ix2>) -> Result<Self> {
        Self::fit_range(data, 0.0, 1.0)
    }

    /// Fits to `data`, mapping each column's minimum to `lo` and maximum to `hi`
    /// (scikit-learn's `feature_range`), e.g. `(-1, 1)`.
    pub fn fit_range<'a>(data: impl AsArray<'a, f32, Ix2>, lo: f32, hi: f32) -> Result<Self> {
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(Error::DataOption(format!(
                "a min-max range needs finite lo < hi, got [{lo}, {hi}]"
            )));
        }
        let span = (hi - lo) as f64;
        let stats = column_stats(data.into(), |col| {
            let (min, max) = col
                .iter()
                .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
            (min, max)
        })?;
        Ok(MinMaxScaler {
            affine: Affine {
                center: stats.iter().map(|s| s.0 as f32).collect(),
                width: stats.iter().map(|s| ((s.1 - s.0) / span) as f32).collect(),
                offset: lo,
            },
        })
    }

    /// Each column's minimum in the fitted data.
    pub fn data_min(&self) -> &[f32] {
        &self.affine.center
    }
}

/// Centres each column on its mean and divides by its standard deviation (population,
/// as scikit-learn's `StandardScaler`).
///
/// ```
/// use rnn_runtime::data::{Scaler, StandardScaler};
/// use rnn_runtime::ndarray::array;
///
/// # fn main() -> Result<(), rnn_runtime::Error> {
/// let scaler = StandardScaler::fit(&array![[1.0f32], [3.0]])?;
/// assert_eq!((scaler.mean(), scaler.std()), (&[2.0f32][..], &[1.0f32][..]));
/// assert_eq!(scaler.transform(&array![[4.0f32]])?, array![[2.0f32]]);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct StandardScaler {
    affine: Affine,
}

impl StandardScaler {
    /// Fits to `data` (`[rows, columns]`). Refuses empty data, non-finite values and
    /// constant columns.
    pub fn fit<'a>(data: impl AsArray<'a, f32, Ix2>) -> Result<Self> {
        let stats = column_stats(data.into(), |col| {
            let n = col.len() as f64;
            let mean = col.iter().sum::<f64>() / n;
            let var = col.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
            (mean, var.sqrt())
        })?;
        Ok(StandardScaler {
            affine: Affine {
                center: stats.iter().map(|s| s.0 as f32).collect(),
                width: stats.iter().map(|s| s.1 as f32).collect(),
                offset: 0.0,
            },
        })
    }

    /// Each column's mean in the fitted data.
    pub fn mean(&self) -> &[f32] {
        &self.affine.center
    }

    /// Each column's standard deviation in the fitted data.
    pub fn std(&self) -> &[f32] {
        &self.affine.width
    }
}

impl_scaler!(MinMaxScaler);
impl_scaler!(StandardScaler);

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn close(a: &Array2<f32>, b: &Array2<f32>) -> bool {
        a.dim() == b.dim()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x - y).abs() <= 1e-5 * (1.0 + y.abs()))
    }

    #[test]
    fn min_max_maps_the_fitted_range_onto_zero_one() {
        let train = array![[2.0f32, -1.0], [4.0, 1.0], [3.0, 0.0]];
        let s = MinMaxScaler::fit(&train).unwrap();
        assert_eq!(s.columns(), 2);
        assert_eq!(s.data_min(), &[2.0, -1.0]);
        let t = s.transform(&train).unwrap();
        assert!(close(&t, &array![[0.0, 0.0], [1.0, 1.0], [0.5, 0.5]]));
        // Unseen data may fall outside [0, 1]; it is not clipped.
        let t = s.transform(&array![[6.0f32, -3.0]]).unwrap();
        assert!(close(&t, &array![[2.0, -1.0]]));
        assert!(close(
            &s.inverse_transform(&t).unwrap(),
            &array![[6.0, -3.0]]
        ));
    }

    #[test]
    fn min_max_custom_range() {
        let s = MinMaxScaler::fit_range(&array![[0.0f32], [10.0]], -1.0, 1.0).unwrap();
        let t = s.transform(&array![[0.0f32], [5.0], [10.0]]).unwrap();
        assert!(close(&t, &array![[-1.0], [0.0], [1.0]]));
        assert!(MinMaxScaler::fit_range(&array![[0.0f32], [1.0]], 1.0, 1.0).is_err());
        assert!(MinMaxScaler::fit_range(&array![[0.0f32], [1.0]], 0.0, f32::NAN).is_err());
    }

    #[test]
    fn standard_scaler_matches_population_moments() {
        let train = array![[1.0f32, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0]];
        let s = StandardScaler::fit(&train).unwrap();
        let std0 = (1.25f32).sqrt();
        assert!((s.mean()[0] - 2.5).abs() < 1e-6 && (s.mean()[1] - 25.0).abs() < 1e-5);
        assert!((s.std()[0] - std0).abs() < 1e-6 && (s.std()[1] - 10.0 * std0).abs() < 1e-5);
        let t = s.transform(&train).unwrap();
        for c in 0..2 {
            let col = t.column(c);
            let mean = col.sum() / 4.0;
            let var = col.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / 4.0;
            assert!(
                mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-5,
                "{mean} {var}"
            );
        }
        assert!(close(&s.inverse_transform(&t).unwrap(), &train));
    }

    #[test]
    fn column_helpers_and_select_agree_with_the_full_transform() {
        let train = array![[1.0f32, 100.0], [3.0, 300.0]];
        let s = StandardScaler::fit(&train).unwrap();
        let full = s.transform(&train).unwrap();
        assert_eq!(
            s.transform_column(1, &[100.0, 300.0]).unwrap(),
            full.column(1).to_vec()
        );
        assert_eq!(
            s.inverse_column(1, &[-1.0, 1.0]).unwrap(),
            vec![100.0, 300.0]
        );
        let target = s.select(&[1]).unwrap();
        assert_eq!(target.columns(), 1);
        let back = target.inverse_transform(&array![[1.0f32]]).unwrap();
        assert_eq!(back, array![[300.0f32]]);
        assert!(matches!(s.select(&[2]), Err(Error::DataOption(_))));
        assert!(matches!(
            s.inverse_column(2, &[0.0]),
            Err(Error::DataOption(_))
        ));
    }

    #[test]
    fn constant_columns_are_refused_with_their_index() {
        let data = array![[1.0f32, 7.0], [2.0, 7.0]];
        for err in [
            MinMaxScaler::fit(&data).unwrap_err(),
            StandardScaler::fit(&data).unwrap_err(),
        ] {
            assert!(matches!(
                err,
                Error::ConstantColumn {
                    column: 1,
                    value: 7.0
                }
            ));
            assert!(
                err.to_string().contains("column 1 is constant (7)"),
                "{err}"
            );
        }
        // One row makes every column constant.
        assert!(matches!(
            MinMaxScaler::fit(&array![[1.0f32]]),
            Err(Error::ConstantColumn { column: 0, .. })
        ));
    }

    #[test]
    fn empty_and_non_finite_data_are_refused() {
        let empty = Array2::<f32>::zeros((0, 2));
        assert!(matches!(MinMaxScaler::fit(&empty), Err(Error::Empty(_))));
        assert!(matches!(StandardScaler::fit(&empty), Err(Error::Empty(_))));
        let nan = array![[1.0f32, 2.0], [f32::NAN, 3.0]];
        assert!(matches!(
            StandardScaler::fit(&nan),
            Err(Error::NonFinite {
                row: 1,
                column: 0,
                ..
            })
        ));
        let inf = array![[1.0f32, f32::INFINITY], [2.0, 3.0]];
        assert!(matches!(
            MinMaxScaler::fit(&inf),
            Err(Error::NonFinite {
                row: 0,
                column: 1,
                ..
            })
        ));
    }

    #[test]
    fn a_wrong_column_count_is_a_shape_error() {
        let s = MinMaxScaler::fit(&array![[0.0f32, 1.0], [1.0, 2.0]]).unwrap();
        let err = s.transform(&array![[0.0f32, 1.0, 2.0]]).unwrap_err();
        assert!(matches!(err, Error::Shape { what: "data", ref got, .. } if got == &[1, 3]));
        assert!(s.inverse_transform(&array![[0.0f32]]).is_err());
    }
}

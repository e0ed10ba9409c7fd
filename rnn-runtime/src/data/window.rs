//! Sliding windows over a series: inputs `[N, T, F]`, targets `[N, horizon · targets]`.

use ndarray::{Array2, Array3, ArrayView2};

use crate::error::{Error, Result};

/// How to cut a series into samples: `timesteps` input steps followed by `horizon`
/// target steps, one window every `stride` steps.
///
/// Window `i` reads its input from steps `i·stride .. i·stride + timesteps` and its
/// targets from the next `horizon` steps, so its first target is step
/// `i·stride + timesteps` ([`Window::first_target`]).
///
/// ```
/// use rnn_runtime::data::Window;
///
/// # fn main() -> Result<(), rnn_runtime::Error> {
/// let series: Vec<f32> = (0..10).map(|t| t as f32).collect();
/// let (x, y) = Window::new(3, 2).univariate(&series)?;
/// assert_eq!(x.dim(), (6, 3, 1));
/// assert_eq!(y.dim(), (6, 2));
/// assert_eq!((x[[0, 2, 0]], y[[0, 0]], y[[0, 1]]), (2.0, 3.0, 4.0));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    timesteps: usize,
    horizon: usize,
    stride: usize,
}

impl Window {
    /// Windows of `timesteps` input steps predicting the next `horizon` steps, one
    /// window per step (stride 1).
    pub fn new(timesteps: usize, horizon: usize) -> Self {
        Window {
            timesteps,
            horizon,
            stride: 1,
        }
    }

    /// Steps between the starts of consecutive windows (default 1).
    pub fn stride(mut self, stride: usize) -> Self {
        self.stride = stride;
        self
    }

    /// Number of windows in a series of `len` steps (0 if it is too short).
    pub fn count(&self, len: usize) -> usize {
        let span = self.timesteps + self.horizon;
        if self.stride == 0 || len < span {
            0
        } else {
            (len - span) / self.stride + 1
        }
    }

    /// The step of the series that is window `i`'s first target.
    pub fn first_target(&self, i: usize) -> usize {
        i * self.stride + self.timesteps
    }

    fn check(&self, len: usize) -> Result<usize> {
        if self.timesteps == 0 || self.horizon == 0 || self.stride == 0 {
            return Err(Error::DataOption(format!(
                "timesteps, horizon and stride must be at least 1, got {}, {} and {}",
                self.timesteps, self.horizon, self.stride
            )));
        }
        match self.count(len) {
            0 => Err(Error::SeriesTooShort {
                len,
                timesteps: self.timesteps,
                horizon: self.horizon,
            }),
            n => Ok(n),
        }
    }

    /// Windows of a single series: `x` is `[N, timesteps, 1]`, `y` is `[N, horizon]`.
    pub fn univariate(&self, series: &[f32]) -> Result<(Array3<f32>, Array2<f32>)> {
        let n = self.check(series.len())?;
        let (t, h, s) = (self.timesteps, self.horizon, self.stride);
        let x = Array3::from_shape_fn((n, t, 1), |(i, k, _)| series[i * s + k]);
        let y = Array2::from_shape_fn((n, h), |(i, k)| series[i * s + t + k]);
        Ok((x, y))
    }

    /// Windows of a multivariate series `data` (`[time, features]`): `x` holds every
    /// feature, `[N, timesteps, features]`; `y` holds the `targets` columns (indices
    /// into `data`'s columns, in the order given) of the next `horizon` steps,
    /// `[N, horizon · targets.len()]`, step-major: step `k`'s target `j` is at
    /// `k · targets.len() + j`. That is the output of a `dense(horizon · targets)`
    /// layer; `y.into_shape_with_order((n, horizon, targets.len()))` gives it one axis
    /// per step.
    pub fn multivariate(
        &self,
        data: ArrayView2<'_, f32>,
        targets: &[usize],
    ) -> Result<(Array3<f32>, Array2<f32>)> {
        let (len, features) = data.dim();
        if targets.is_empty() {
            return Err(Error::DataOption("no target column given".into()));
        }
        if let Some(&bad) = targets.iter().find(|&&c| c >= features) {
            return Err(Error::DataOption(format!(
                "target column {bad} is out of range for data with {features} columns"
            )));
        }
        let n = self.check(len)?;
        let (t, h, s, m) = (self.timesteps, self.horizon, self.stride, targets.len());
        let x = Array3::from_shape_fn((n, t, features), |(i, k, f)| data[[i * s + k, f]]);
        let y = Array2::from_shape_fn((n, h * m), |(i, j)| {
            data[[i * s + t + j / m, targets[j % m]]]
        });
        Ok((x, y))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn ramp(n: usize) -> Vec<f32> {
        (0..n).map(|t| t as f32).collect()
    }

    #[test]
    fn univariate_windows_hold_consecutive_steps() {
        let (x, y) = Window::new(4, 1).univariate(&ramp(10)).unwrap();
        assert_eq!(x.dim(), (6, 4, 1));
        assert_eq!(y.dim(), (6, 1));
        for i in 0..6 {
            for k in 0..4 {
                assert_eq!(x[[i, k, 0]], (i + k) as f32);
            }
            assert_eq!(y[[i, 0]], (i + 4) as f32);
        }
    }

    #[test]
    fn horizon_and_stride() {
        let w = Window::new(3, 2).stride(3);
        // Starts 0, 3, 6, 9: the last window ends at step 9 + 3 + 2 = 14 <= 15.
        let (x, y) = w.univariate(&ramp(15)).unwrap();
        assert_eq!(x.dim(), (4, 3, 1));
        assert_eq!(y.dim(), (4, 2));
        let starts: Vec<f32> = (0..4).map(|i| x[[i, 0, 0]]).collect();
        assert_eq!(starts, vec![0.0, 3.0, 6.0, 9.0]);
        assert_eq!(y.row(3).to_vec(), vec![12.0, 13.0]);
        assert_eq!(w.first_target(3), 12);
        assert_eq!(w.count(15), 4);
        assert_eq!(w.count(13), 3);
    }

    #[test]
    fn exact_length_gives_one_window() {
        let (x, y) = Window::new(5, 3).univariate(&ramp(8)).unwrap();
        assert_eq!((x.dim().0, y.row(0).to_vec()), (1, vec![5.0, 6.0, 7.0]));
    }

    #[test]
    fn short_series_names_the_numbers() {
        let err = Window::new(24, 2).univariate(&ramp(25)).unwrap_err();
        assert!(matches!(
            err,
            Error::SeriesTooShort {
                len: 25,
                timesteps: 24,
                horizon: 2
            }
        ));
        assert_eq!(
            err.to_string(),
            "series has 25 steps, but one window needs timesteps + horizon = 24 + 2 = 26"
        );
        let data = Array2::<f32>::zeros((3, 2));
        assert!(matches!(
            Window::new(3, 1).multivariate(data.view(), &[0]),
            Err(Error::SeriesTooShort { len: 3, .. })
        ));
    }

    #[test]
    fn zero_sizes_are_refused() {
        for w in [
            Window::new(0, 1),
            Window::new(3, 0),
            Window::new(3, 1).stride(0),
        ] {
            assert!(matches!(w.univariate(&ramp(20)), Err(Error::DataOption(_))));
        }
    }

    #[test]
    fn multivariate_keeps_features_and_orders_targets_step_major() {
        // Column f of step t holds 10·t + f.
        let data = Array2::from_shape_fn((8, 3), |(t, f)| (10 * t + f) as f32);
        let (x, y) = Window::new(2, 2)
            .multivariate(data.view(), &[2, 0])
            .unwrap();
        assert_eq!(x.dim(), (5, 2, 3));
        assert_eq!(y.dim(), (5, 4));
        assert_eq!(x[[1, 1, 2]], 22.0);
        // Window 1: targets are steps 3 and 4, columns 2 then 0.
        assert_eq!(y.row(1).to_vec(), vec![32.0, 30.0, 42.0, 40.0]);
        let per_step = y.into_shape_with_order((5, 2, 2)).unwrap();
        assert_eq!(per_step[[1, 1, 0]], 42.0);
    }

    #[test]
    fn multivariate_accepts_a_non_contiguous_view() {
        let data = Array2::from_shape_fn((3, 6), |(f, t)| (10 * t + f) as f32);
        let (x, y) = Window::new(4, 1).multivariate(data.t(), &[1]).unwrap();
        assert_eq!(x[[1, 3, 2]], 42.0);
        assert_eq!(y.column(0).to_vec(), vec![41.0, 51.0]);
    }

    #[test]
    fn bad_target_columns_are_refused() {
        let data = Array2::<f32>::zeros((10, 2));
        let w = Window::new(2, 1);
        let err = w.multivariate(data.view(), &[2]).unwrap_err();
        assert!(err.to_string().contains("target column 2"), "{err}");
        assert!(matches!(
            w.multivariate(data.view(), &[]),
            Err(Error::DataOption(_))
        ));
    }
}

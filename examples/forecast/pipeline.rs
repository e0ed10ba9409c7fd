//! The data side of the forecasting example: load, split in time order, scale with
//! numbers from the training years only, cut into windows; and the error measures and
//! naive baselines the model is compared with. `tests/forecast.rs` tests these pieces.

use std::ops::Range;
use std::path::Path;

use rnn_runtime::data::{load_csv, split_ranges, MinMaxScaler, Scaler, Split, Window};
use rnn_runtime::ndarray::{s, Array2, Array3};
use rnn_runtime::Result;

/// Windows whose targets are one contiguous range of years.
pub struct Part {
    /// Inputs, `[N, timesteps, 1]`, scaled.
    pub x: Array3<f32>,
    /// Next-year targets, `[N, 1]`, scaled.
    pub y: Array2<f32>,
    /// Indices into the series of the targets, in order.
    pub targets: Range<usize>,
}

/// The sunspot series ready to train on.
pub struct Prepared {
    /// Year of each value.
    pub years: Vec<f32>,
    /// Sunspot numbers, original units.
    pub spots: Vec<f32>,
    /// Row ranges of the train / validation / test years.
    pub split: Split<Range<usize>>,
    /// Min-max scaler fitted on the training years.
    pub scaler: MinMaxScaler,
    /// Windows predicting each training year after the first `timesteps`.
    pub train: Part,
    /// Windows predicting each validation year (inputs may reach back into training).
    pub val: Part,
    /// Windows predicting each test year.
    pub test: Part,
}

/// Loads `YEAR` and `SUNACTIVITY` from `path` and prepares windows of `timesteps`
/// years, each predicting the next year; train / val / test take the first
/// `fractions.0`, the next `fractions.1` and the rest of the years.
pub fn prepare(path: &Path, timesteps: usize, fractions: (f64, f64)) -> Result<Prepared> {
    let table = load_csv(path, &["YEAR", "SUNACTIVITY"])?;
    let years = table.column(0).to_vec();
    let spots = table.column(1).to_vec();
    let split = split_ranges(spots.len(), fractions.0, fractions.1)?;
    // Scaling numbers from the training years only: the model must not learn the
    // range of the years it is tested on.
    let scaler = MinMaxScaler::fit(table.slice(s![split.train.clone(), 1..2]))?;
    let scaled = scaler.transform_column(0, &spots)?;
    let window = Window::new(timesteps, 1);
    // A part's windows read the `timesteps` years before each of its targets, so the
    // first windows of val and test take their inputs from the part before.
    let part = |targets: &Range<usize>| -> Result<Part> {
        let from = targets.start.saturating_sub(timesteps);
        let (x, y) = window.univariate(&scaled[from..targets.end])?;
        let first = from + window.first_target(0);
        Ok(Part {
            targets: first..first + y.nrows(),
            x,
            y,
        })
    };
    Ok(Prepared {
        train: part(&split.train)?,
        val: part(&split.val)?,
        test: part(&split.test)?,
        years,
        spots,
        split,
        scaler,
    })
}

/// Root mean squared error.
pub fn rmse(predicted: &[f32], truth: &[f32]) -> f64 {
    assert_eq!(predicted.len(), truth.len(), "rmse of unequal lengths");
    let sum: f64 = predicted
        .iter()
        .zip(truth)
        .map(|(p, t)| (*p as f64 - *t as f64).powi(2))
        .sum();
    (sum / truth.len().max(1) as f64).sqrt()
}

/// The naive forecast of each value in `targets`: the value `lag` steps before it
/// (`lag` 1: last value; the cycle length: seasonal naive).
pub fn naive(series: &[f32], targets: Range<usize>, lag: usize) -> Vec<f32> {
    targets.map(|t| series[t - lag]).collect()
}

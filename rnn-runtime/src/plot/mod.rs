//! PNG plots of training and forecasts (feature `plot`, on by default): the loss curve
//! of a [`History`] and a series against a model's predictions.
//!
//! Drawn with plotters' bitmap backend; text comes from a font compiled into the
//! crate, so plots render the same on any machine, with no system fonts.

mod chart;
mod text;

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::train::History;
use chart::{Chart, Line};

type Area<'p> = DrawingArea<BitMapBackend<'p>, Shift>;
/// Drawing code reports failures as text; [`render`] puts the file name to them.
type Draw<T> = std::result::Result<T, String>;

const TRUTH: RGBColor = RGBColor(40, 40, 40);
const PALETTE: [RGBColor; 5] = [
    RGBColor(31, 119, 180),
    RGBColor(230, 110, 20),
    RGBColor(44, 150, 44),
    RGBColor(200, 40, 40),
    RGBColor(140, 90, 180),
];

/// Draws `chart` into a `size` PNG at `path`.
fn render(path: &Path, size: (u32, u32), chart: &Chart) -> Result<()> {
    let plot_error = |reason: String| Error::Plot {
        path: path.to_owned(),
        reason,
    };
    if size.0 < 200 || size.1 < 150 || size.0 > 16384 || size.1 > 16384 {
        return Err(plot_error(format!(
            "image size {}×{} is outside 200×150 to 16384×16384 pixels",
            size.0, size.1
        )));
    }
    let mut pixels = vec![0u8; size.0 as usize * size.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        chart::draw(&root, chart).map_err(plot_error)?;
        root.present().map_err(|e| plot_error(e.to_string()))?;
    }
    write_png(path, size, &pixels)
}

/// Encodes 8-bit RGB `pixels` as a PNG file, written atomically as every file the
/// crate writes.
fn write_png(path: &Path, size: (u32, u32), pixels: &[u8]) -> Result<()> {
    let failed = |e: png::EncodingError| match e {
        png::EncodingError::IoError(source) => Error::Io {
            path: path.to_owned(),
            source,
        },
        other => Error::Plot {
            path: path.to_owned(),
            reason: other.to_string(),
        },
    };
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, size.0, size.1);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Plots are mostly flat colour: the slowest setting still takes milliseconds and
    // makes files a third of the default size.
    encoder.set_compression(png::Compression::Best);
    encoder.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
    let mut writer = encoder.write_header().map_err(failed)?;
    writer.write_image_data(pixels).map_err(failed)?;
    writer.finish().map_err(failed)?;
    crate::io::write_atomic(path, &bytes)
}

/// Whether positive values spanning `lo..=hi` read better on a log axis: when they
/// cover more than a decade.
fn spans_decades(lo: f32, hi: f32) -> bool {
    lo > 0.0 && hi / lo > 10.0
}

impl History {
    /// Draws `loss` and, when recorded, `val_loss` and every metric (`acc`,
    /// `val_acc`, …) per epoch into a 1000×560 PNG, on a log axis when the values span
    /// more than a decade.
    ///
    /// ```
    /// # fn main() -> Result<(), rnn_runtime::Error> {
    /// let history = rnn_runtime::History {
    ///     loss: vec![1.0, 0.1, 0.02],
    ///     val_loss: vec![1.2, 0.2, 0.05],
    ///     ..Default::default()
    /// };
    /// history.plot_loss(std::env::temp_dir().join("doc_loss.png"))?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn plot_loss(&self, path: impl AsRef<Path>) -> Result<()> {
        if self.loss.is_empty() {
            return Err(Error::Empty("history"));
        }
        let points = |v: &[f32]| -> Vec<(f64, f64)> {
            v.iter()
                .enumerate()
                .map(|(e, &l)| ((e + 1) as f64, l as f64))
                .collect()
        };
        let mut lines = vec![Line {
            label: "loss".into(),
            color: PALETTE[0],
            width: 2,
            points: points(&self.loss),
        }];
        if !self.val_loss.is_empty() {
            lines.push(Line {
                label: "val_loss".into(),
                color: PALETTE[1],
                width: 2,
                points: points(&self.val_loss),
            });
        }
        for (i, (name, values)) in self.metrics.iter().enumerate() {
            lines.push(Line {
                label: name.clone(),
                color: PALETTE[(2 + i) % PALETTE.len()],
                width: 2,
                points: points(values),
            });
        }
        let all = self
            .loss
            .iter()
            .chain(&self.val_loss)
            .chain(self.metrics.values().flatten())
            .filter(|v| v.is_finite());
        let (lo, hi) = all.fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        let metrics = !self.metrics.is_empty();
        let chart = Chart {
            title: format!(
                "Training {} over {} epochs",
                if metrics { "loss and metrics" } else { "loss" },
                self.loss.len()
            ),
            x_label: "epoch".into(),
            y_label: if metrics { "loss, metrics" } else { "loss" }.into(),
            log_y: spans_decades(lo, hi),
            integer_x: true,
            lines,
            markers: Vec::new(),
            legend_left: false,
        };
        render(path.as_ref(), (1000, 560), &chart)
    }
}

/// A series and one or more forecasts of it, drawn as lines over a shared time axis,
/// with optional vertical markers (where the test part starts, say).
///
/// ```
/// use rnn_runtime::plot::PredictionPlot;
///
/// # fn main() -> Result<(), rnn_runtime::Error> {
/// let truth: Vec<f32> = (0..100).map(|t| (t as f32 * 0.3).sin()).collect();
/// let forecast: Vec<f32> = truth[80..].iter().map(|v| v * 0.9).collect();
/// PredictionPlot::new("A sine wave", &truth)
///     .time_axis(2000.0, 1.0)
///     .labels("year", "value")
///     .series("model", 80, &forecast)
///     .marker(80, "test")
///     .save(std::env::temp_dir().join("doc_forecast.png"))?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct PredictionPlot<'a> {
    title: String,
    truth: &'a [f32],
    series: Vec<(String, usize, &'a [f32])>,
    markers: Vec<(usize, String)>,
    start: f64,
    step: f64,
    x_label: String,
    y_label: String,
    size: (u32, u32),
}

impl<'a> PredictionPlot<'a> {
    /// A plot of `truth` (step `i` at x = `i` unless [`time_axis`](Self::time_axis)
    /// says otherwise), 1200×560 pixels.
    pub fn new(title: impl Into<String>, truth: &'a [f32]) -> Self {
        PredictionPlot {
            title: title.into(),
            truth,
            series: Vec::new(),
            markers: Vec::new(),
            start: 0.0,
            step: 1.0,
            x_label: "step".into(),
            y_label: "value".into(),
            size: (1200, 560),
        }
    }

    /// Puts step `i` at x = `start + i · step` (e.g. the year of the first value and 1).
    pub fn time_axis(mut self, start: f64, step: f64) -> Self {
        self.start = start;
        self.step = step;
        self
    }

    /// The axis titles.
    pub fn labels(mut self, x: impl Into<String>, y: impl Into<String>) -> Self {
        self.x_label = x.into();
        self.y_label = y.into();
        self
    }

    /// Adds a forecast whose first value belongs to step `start` of the truth; it may
    /// run past the truth's end. Non-finite values leave gaps.
    pub fn series(mut self, label: impl Into<String>, start: usize, values: &'a [f32]) -> Self {
        self.series.push((label.into(), start, values));
        self
    }

    /// Adds a labelled vertical line at step `index`, e.g. where the test data begins.
    pub fn marker(mut self, index: usize, label: impl Into<String>) -> Self {
        self.markers.push((index, label.into()));
        self
    }

    /// The image size in pixels (default 1200×560; at least 200×150).
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = (width, height);
        self
    }

    /// Writes the PNG. Refuses an empty truth; a plot with no finite value at all is
    /// an [`Error::Plot`].
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        if self.truth.is_empty() {
            return Err(Error::Empty("truth"));
        }
        let x = |i: usize| self.start + i as f64 * self.step;
        let line = |label: &str, color, width, start: usize, values: &[f32]| Line {
            label: label.to_owned(),
            color,
            width,
            points: values
                .iter()
                .enumerate()
                .map(|(i, &v)| (x(start + i), v as f64))
                .collect(),
        };
        let mut lines = vec![line("truth", TRUTH, 2, 0, self.truth)];
        for (k, (label, start, values)) in self.series.iter().enumerate() {
            lines.push(line(label, PALETTE[k % PALETTE.len()], 2, *start, values));
        }
        let chart = Chart {
            title: self.title.clone(),
            x_label: self.x_label.clone(),
            y_label: self.y_label.clone(),
            log_y: false,
            integer_x: false,
            lines,
            markers: self
                .markers
                .iter()
                .map(|(i, l)| (x(*i), l.clone()))
                .collect(),
            legend_left: true,
        };
        render(path.as_ref(), self.size, &chart)
    }
}

/// Plots `truth` against `predictions`, whose first value belongs to step `start` of
/// the truth, into a PNG at `path`: [`PredictionPlot`] with one forecast and a marker
/// where it begins. Use [`PredictionPlot`] for a time axis, more forecasts or labels.
///
/// ```
/// # fn main() -> Result<(), rnn_runtime::Error> {
/// let truth = [1.0f32, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0];
/// let predictions = [1.8f32, 1.2, 2.1, 2.9];
/// rnn_runtime::plot::plot_predictions(
///     std::env::temp_dir().join("doc_predictions.png"),
///     "forecast",
///     &truth,
///     &predictions,
///     3,
/// )?;
/// # Ok(())
/// # }
/// ```
pub fn plot_predictions(
    path: impl AsRef<Path>,
    title: &str,
    truth: &[f32],
    predictions: &[f32],
    start: usize,
) -> Result<()> {
    PredictionPlot::new(title, truth)
        .series("prediction", start, predictions)
        .marker(start, "forecast")
        .save(path)
}

#[cfg(test)]
mod tests;

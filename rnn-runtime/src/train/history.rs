//! What a training run reports: [`History`], the per-epoch losses and metrics.

use std::collections::BTreeMap;

use super::grad_norms::{GradNorm, LayerGradNorms};

/// Per-epoch losses of a [`fit`](crate::fit) run, as Keras's `History.history`.
///
/// ```
/// use rnn_runtime::callbacks::Control;
/// use rnn_runtime::ndarray::{Array2, Array3};
/// use rnn_runtime::{model, Fit, Sgd};
///
/// model! { struct Net < input(3, 1), gru(2), dense(1) > }
///
/// # fn main() -> Result<(), rnn_runtime::Error> {
/// let (x, y) = (Array3::<f32>::ones((6, 3, 1)), Array2::<f32>::zeros((6, 1)));
/// let opts = Fit::new(Sgd::new(0.1))
///     .epochs(10)
///     .verbose(false)
///     .on_epoch_end(|logs| if logs.epoch == 2 { Control::Stop } else { Control::Continue });
/// let history = Net::new(3).fit(&x, &y, opts)?;
/// assert_eq!(history.stopped_epoch, Some(2));
/// assert_eq!(history.loss.len(), 3); // epochs 0, 1 and 2 ran
/// assert!(history.val_loss.is_empty()); // no validation split
/// assert_eq!(history.best_epoch, None); // no EarlyStopping or Checkpoint::best
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// Mean training loss of each epoch, over its batches as they were trained.
    pub loss: Vec<f32>,
    /// Validation loss after each epoch; empty without a validation split.
    pub val_loss: Vec<f32>,
    /// Wall-clock seconds of each epoch, validation included.
    pub seconds: Vec<f64>,
    /// Learning rate used in each epoch.
    pub lr: Vec<f32>,
    /// Index (from 0) of the last epoch trained when a callback or closure stopped
    /// training early; `None` when every epoch ran.
    pub stopped_epoch: Option<usize>,
    /// Index of the best epoch as the first
    /// [`EarlyStopping`](crate::train::callbacks::EarlyStopping) judged it (its last
    /// improvement by more than `min_delta`), else the epoch the first
    /// [`Checkpoint::best`](crate::train::callbacks::Checkpoint::best) saved last; `None`
    /// without either. After `restore_best_weights` the model holds this epoch's
    /// parameters.
    pub best_epoch: Option<usize>,
    /// Batches skipped in each epoch because their loss or gradient was not finite
    /// (only with [`Fit::skip_non_finite`](crate::Fit::skip_non_finite); otherwise such a batch stops training).
    pub skipped: Vec<usize>,
    /// Each metric of [`Fit::metrics`](crate::Fit::metrics) per epoch, under Keras's keys: `"acc"`,
    /// `"mae"`, … on the training batches, `"val_acc"`, `"val_mae"`, … on the
    /// validation data.
    pub metrics: BTreeMap<String, Vec<f32>>,
    /// Each layer's gradient norm per epoch (mean and maximum over the epoch's steps,
    /// before clipping; see [`GradNorm`]), one entry per layer with parameters, in
    /// spec order, named as the summary table names it. An epoch whose norms are not
    /// known (one resumed from a training state written before norms were recorded)
    /// holds NaN. Training states save them; [`to_csv`](Self::to_csv) and
    /// [`to_json`](Self::to_json) keep to Keras's keys and leave them out.
    pub grad_norms: Vec<LayerGradNorms>,
}

impl History {
    /// The per-epoch values recorded under a Keras key: `"loss"`, `"val_loss"`,
    /// `"lr"`, or a metric's (`"acc"`, `"val_acc"`, …); `None` for a key not recorded.
    ///
    /// ```
    /// let history = rnn_runtime::History { loss: vec![0.5, 0.25], ..Default::default() };
    /// assert_eq!(history.get("loss"), Some(&[0.5, 0.25][..]));
    /// assert_eq!(history.get("val_acc"), None);
    /// ```
    pub fn get(&self, key: &str) -> Option<&[f32]> {
        match key {
            "loss" => Some(&self.loss),
            "val_loss" if !self.val_loss.is_empty() => Some(&self.val_loss),
            "lr" => Some(&self.lr),
            other => self.metrics.get(other).map(Vec::as_slice),
        }
    }

    /// The per-epoch gradient norms of the layer named `layer` in the summary table
    /// (`"lstm"`, `"dense_1"`, …); `None` for a name not recorded, such as a dropout
    /// layer's.
    ///
    /// ```
    /// use rnn_runtime::ndarray::{Array2, Array3};
    /// use rnn_runtime::{model, Fit, Sgd};
    ///
    /// model! { struct Net < input(4, 1), lstm(3), dense(2), dense(1) > }
    ///
    /// # fn main() -> rnn_runtime::Result<()> {
    /// let x = Array3::from_shape_fn((8, 4, 1), |(i, t, _)| (i + t) as f32 * 0.1);
    /// let y = Array2::from_shape_fn((8, 1), |(i, _)| i as f32 * 0.1);
    /// let history = Net::new(0).fit(&x, &y, Fit::new(Sgd::new(0.1)).epochs(3).verbose(false))?;
    /// let names: Vec<&str> = history.grad_norms.iter().map(|g| g.layer.as_str()).collect();
    /// assert_eq!(names, ["lstm", "dense", "dense_1"]);
    /// let lstm = history.grad_norm("lstm").unwrap();
    /// assert_eq!(lstm.mean.len(), 3); // one per epoch
    /// // One batch per epoch (batch size 32 > 8 samples): the mean is that step's norm.
    /// assert_eq!(lstm.mean, lstm.max);
    /// # Ok(())
    /// # }
    /// ```
    pub fn grad_norm(&self, layer: &str) -> Option<&LayerGradNorms> {
        self.grad_norms.iter().find(|g| g.layer == layer)
    }

    /// Appends one epoch's norms, after its loss was recorded. A layer not seen before
    /// (the history of a state written before norms were recorded) gets NaN for the
    /// earlier epochs, so every layer's list stays one value per epoch.
    pub(super) fn push_grad_norms(&mut self, epoch: &[GradNorm]) {
        let earlier = self.loss.len().saturating_sub(1);
        for g in epoch {
            let index = match self.grad_norms.iter().position(|s| s.layer == g.layer) {
                Some(i) => i,
                None => {
                    self.grad_norms.push(LayerGradNorms {
                        layer: g.layer.clone(),
                        mean: vec![f32::NAN; earlier],
                        max: vec![f32::NAN; earlier],
                    });
                    self.grad_norms.len() - 1
                }
            };
            let series = &mut self.grad_norms[index];
            series.mean.push(g.mean);
            series.max.push(g.max);
        }
    }

    /// The epochs from index `from` on: what one `fit` call of a continued run adds.
    pub(super) fn since(&self, from: usize) -> History {
        let tail = |v: &[f32]| v.get(from..).unwrap_or_default().to_vec();
        History {
            loss: tail(&self.loss),
            val_loss: tail(&self.val_loss),
            seconds: self.seconds.get(from..).unwrap_or_default().to_vec(),
            lr: tail(&self.lr),
            stopped_epoch: self.stopped_epoch,
            best_epoch: self.best_epoch,
            skipped: self.skipped.get(from..).unwrap_or_default().to_vec(),
            metrics: self
                .metrics
                .iter()
                .map(|(k, v)| (k.clone(), tail(v)))
                .collect(),
            grad_norms: self
                .grad_norms
                .iter()
                .map(|g| LayerGradNorms {
                    layer: g.layer.clone(),
                    mean: tail(&g.mean),
                    max: tail(&g.max),
                })
                .collect(),
        }
    }
}

/// Without the `plot` feature `History::plot_loss` still exists, but only so that a call
/// fails to compile with a message that says how to enable the feature, instead of a
/// bare "no method named `plot_loss`".
#[cfg(not(feature = "plot"))]
mod plot_feature_off {
    use super::History;
    use crate::error::Result;

    mod sealed {
        pub trait Sealed {}
    }

    /// Implemented by no type (it is sealed): a bound that is never met.
    #[diagnostic::on_unimplemented(
        message = "`History::plot_loss` needs rnn-runtime's `plot` feature",
        label = "plots are drawn only with the `plot` feature",
        note = "enable it in Cargo.toml: `rnn-runtime = {{ version = \"0.2\", features = [\"plot\"] }}`"
    )]
    pub trait PlotFeatureIsOff: sealed::Sealed {}

    impl History {
        /// Needs the `plot` feature; without it, calling this is a compile error.
        #[doc(hidden)]
        pub fn plot_loss<P: AsRef<std::path::Path> + PlotFeatureIsOff>(
            &self,
            _path: P,
        ) -> Result<()> {
            // No type implements the sealed `PlotFeatureIsOff`, so no call compiles.
            unreachable!("PlotFeatureIsOff has no implementation")
        }
    }
}
#[cfg(not(feature = "plot"))]
pub use plot_feature_off::PlotFeatureIsOff;

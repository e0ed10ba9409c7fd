//! Metrics: what `fit` reports each epoch beside the loss (Keras's `metrics=[…]`),
//! and [`Monitor`], the quantity a callback or a plateau schedule watches.
//!
//! A metric is a weighted mean over the epoch's training batches as they were trained
//! (so, with dropout, in training mode, as Keras reports them), and over the
//! validation data after the epoch; [`Metric::Rmse`] is the square root of the epoch's
//! mean squared error. Sample weights weigh metrics as they weigh the loss.
//!
//! ```
//! use rnn_runtime::metrics::Metric;
//! use rnn_runtime::Loss;
//!
//! // `Accuracy` is Keras's "accuracy": the form the loss implies.
//! let sparse = Loss::SparseCategoricalCrossentropy;
//! assert_eq!(Metric::Accuracy.resolve(sparse).unwrap(), Metric::SparseCategoricalAccuracy);
//! assert_eq!(Metric::Accuracy.resolve(Loss::BinaryCrossentropy).unwrap(), Metric::BinaryAccuracy);
//! // A regression has no accuracy unless a threshold is asked for by name.
//! assert!(Metric::Accuracy.resolve(Loss::Mse).is_err());
//! assert_eq!(Metric::Accuracy.name(), "acc");
//! ```

use std::fmt;

use crate::error::{Error, Result};
use crate::kernels::activation::{sigmoid, Activation};
use crate::loss::Loss;

/// A quantity `fit` computes each epoch on the training batches and the validation
/// data, recorded in [`History::metrics`](crate::History::metrics) under
/// [`name`](Self::name) (`"acc"`, and `"val_acc"` for the validation data).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Keras's `"accuracy"`: binary, categorical or sparse categorical accuracy as the
    /// loss implies (binary, categorical or sparse categorical cross-entropy); refused
    /// with a regression loss.
    Accuracy,
    /// The fraction of outputs on the right side of probability 0.5 (targets 0 or 1);
    /// a cross-entropy's logits are compared with 0, any other output with 0.5.
    BinaryAccuracy,
    /// The fraction of output rows whose largest value is at the target row's largest.
    CategoricalAccuracy,
    /// The fraction of output rows whose largest value is at the target class id.
    SparseCategoricalAccuracy,
    /// Mean absolute error of the outputs (of the probabilities, for a cross-entropy).
    Mae,
    /// Mean squared error of the outputs (of the probabilities, for a cross-entropy).
    Mse,
    /// Root mean squared error: the square root of the epoch's mean squared error.
    Rmse,
}

impl Metric {
    /// The key in [`History::metrics`](crate::History::metrics) and the progress
    /// line: `"acc"`, `"binary_accuracy"`, `"categorical_accuracy"`,
    /// `"sparse_categorical_accuracy"`, `"mae"`, `"mse"`, `"rmse"`; the validation
    /// value is the same key prefixed with `val_`.
    pub const fn name(self) -> &'static str {
        match self {
            Metric::Accuracy => "acc",
            Metric::BinaryAccuracy => "binary_accuracy",
            Metric::CategoricalAccuracy => "categorical_accuracy",
            Metric::SparseCategoricalAccuracy => "sparse_categorical_accuracy",
            Metric::Mae => "mae",
            Metric::Mse => "mse",
            Metric::Rmse => "rmse",
        }
    }

    /// The key of the validation value: `"val_acc"`, `"val_mae"`, ….
    pub fn val_name(self) -> String {
        format!("val_{}", self.name())
    }

    /// Whether a larger value is better (the accuracies).
    pub const fn higher_is_better(self) -> bool {
        matches!(
            self,
            Metric::Accuracy
                | Metric::BinaryAccuracy
                | Metric::CategoricalAccuracy
                | Metric::SparseCategoricalAccuracy
        )
    }

    /// The concrete metric computed for a model trained with `loss`, or why it cannot
    /// be: [`Accuracy`](Self::Accuracy) becomes the form the loss implies; the sparse
    /// accuracy needs class-id targets (the sparse loss), every other metric targets
    /// shaped as the output.
    pub fn resolve(self, loss: Loss) -> Result<Metric> {
        let sparse = loss == Loss::SparseCategoricalCrossentropy;
        let refuse = |why: &str| Error::Config(format!("metric {}: {why}", self.name()));
        match self {
            Metric::Accuracy => match loss {
                Loss::BinaryCrossentropy => Ok(Metric::BinaryAccuracy),
                Loss::CategoricalCrossentropy => Ok(Metric::CategoricalAccuracy),
                Loss::SparseCategoricalCrossentropy => Ok(Metric::SparseCategoricalAccuracy),
                _ => Err(refuse(&format!(
                    "an accuracy needs a classification loss, and the model's loss is {loss}; \
                     name Metric::BinaryAccuracy to count outputs on the right side of 0.5"
                ))),
            },
            Metric::SparseCategoricalAccuracy if !sparse => Err(refuse(&format!(
                "it reads class-id targets, which only sparse_categorical_crossentropy \
                 takes; the model's loss is {loss} (use Metric::CategoricalAccuracy)"
            ))),
            _ if sparse && self != Metric::SparseCategoricalAccuracy => Err(refuse(
                "the targets are class ids (sparse_categorical_crossentropy); use \
                 Metric::Accuracy or Metric::SparseCategoricalAccuracy",
            )),
            other => Ok(other),
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the outputs a metric sees relate to the model's predictions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scores {
    /// The predictions themselves.
    Outputs,
    /// Logits of independent probabilities (binary cross-entropy): `sigmoid(v)`.
    SigmoidLogits,
    /// Logits of class probabilities (the categorical cross-entropies): a row's softmax.
    SoftmaxLogits,
}

impl Scores {
    /// What a model trained with `loss` hands its metrics: the cross-entropies are
    /// always computed from logits (a linear output layer's, or a softmax or sigmoid
    /// layer's pre-activation).
    pub(crate) fn of(loss: Loss) -> Scores {
        match loss {
            Loss::BinaryCrossentropy => Scores::SigmoidLogits,
            Loss::CategoricalCrossentropy | Loss::SparseCategoricalCrossentropy => {
                Scores::SoftmaxLogits
            }
            _ => Scores::Outputs,
        }
    }
}

/// Running weighted sums of resolved metrics: `(Σ w·value, Σ w)` each.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct MetricSums {
    sums: Vec<(f64, f64)>,
}

impl MetricSums {
    /// Sums for `count` metrics, all zero.
    pub(crate) fn new(count: usize) -> Self {
        MetricSums {
            sums: vec![(0.0, 0.0); count],
        }
    }

    /// Number of metrics summed.
    pub(crate) fn len(&self) -> usize {
        self.sums.len()
    }

    /// The sums as `[value, weight, value, weight, …]`, for a training state.
    pub(crate) fn to_flat(&self) -> Vec<f64> {
        self.sums.iter().flat_map(|&(s, w)| [s, w]).collect()
    }

    /// The inverse of [`to_flat`](Self::to_flat); `None` for an odd length.
    pub(crate) fn from_flat(flat: &[f64]) -> Option<Self> {
        if !flat.len().is_multiple_of(2) {
            return None;
        }
        Some(MetricSums {
            sums: flat.chunks_exact(2).map(|p| (p[0], p[1])).collect(),
        })
    }

    /// Sets every sum to zero, keeping the count.
    pub(crate) fn clear(&mut self) {
        self.sums.iter_mut().for_each(|s| *s = (0.0, 0.0));
    }

    /// Adds `other`'s sums (same metrics) to these.
    pub(crate) fn add(&mut self, other: &MetricSums) {
        for (a, b) in self.sums.iter_mut().zip(&other.sums) {
            a.0 += b.0;
            a.1 += b.1;
        }
    }

    /// Adds the rows of `out` (`[rows, outputs]`) against `target` (`[rows, target
    /// width]`), row `r` weighted by `weights[r]` (1 without weights).
    pub(crate) fn observe(
        &mut self,
        metrics: &[Metric],
        scores: Scores,
        out: &[f32],
        target: &[f32],
        outputs: usize,
        weights: Option<&[f32]>,
    ) {
        if metrics.is_empty() {
            return;
        }
        let rows = out.len() / outputs.max(1);
        let width = target.len() / rows.max(1);
        let mut probs = vec![0.0f32; outputs];
        for r in 0..rows {
            let w = weights.map_or(1.0, |w| f64::from(w[r]));
            let o = &out[r * outputs..(r + 1) * outputs];
            let t = &target[r * width..(r + 1) * width];
            for (m, sum) in metrics.iter().zip(&mut self.sums) {
                let (value, count) = match m {
                    Metric::BinaryAccuracy => {
                        let cut = if scores == Scores::Outputs { 0.5 } else { 0.0 };
                        let hits = o
                            .iter()
                            .zip(t)
                            .filter(|(&o, &t)| (o > cut) == (t > 0.5))
                            .count();
                        (hits as f64, outputs as f64)
                    }
                    Metric::CategoricalAccuracy => ((argmax(o) == argmax(t)) as u8 as f64, 1.0),
                    Metric::SparseCategoricalAccuracy => {
                        ((argmax(o) as f32 == t[0]) as u8 as f64, 1.0)
                    }
                    Metric::Mae | Metric::Mse | Metric::Rmse => {
                        probs.copy_from_slice(o);
                        match scores {
                            Scores::Outputs => {}
                            Scores::SigmoidLogits => {
                                probs.iter_mut().for_each(|p| *p = sigmoid(*p))
                            }
                            Scores::SoftmaxLogits => Activation::Softmax.apply(&mut probs, outputs),
                        }
                        let err = probs.iter().zip(t).map(|(&p, &t)| f64::from(p - t));
                        let total: f64 = if *m == Metric::Mae {
                            err.map(f64::abs).sum()
                        } else {
                            err.map(|d| d * d).sum()
                        };
                        (total, outputs as f64)
                    }
                    // Resolved before any batch is seen.
                    Metric::Accuracy => (f64::NAN, 1.0),
                };
                sum.0 += w * value;
                sum.1 += w * count;
            }
        }
    }

    /// The metrics' values: weighted means, and the square root of the mean for RMSE
    /// (NaN for a metric that saw no weight).
    pub(crate) fn values(&self, metrics: &[Metric]) -> Vec<f32> {
        metrics
            .iter()
            .zip(&self.sums)
            .map(|(m, &(sum, weight))| {
                let mean = sum / weight;
                (if *m == Metric::Rmse {
                    mean.sqrt()
                } else {
                    mean
                }) as f32
            })
            .collect()
    }
}

/// Index of the first largest value of a row (Keras's `argmax`).
fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// What a callback or a plateau schedule watches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Monitor {
    /// `val_loss` when `fit` has validation data, else `loss`: the rule the plateau
    /// schedule follows too.
    #[default]
    Auto,
    /// The epoch's mean training loss.
    Loss,
    /// The validation loss; `fit` refuses it without validation data.
    ValLoss,
    /// A metric on the training batches (`"acc"`, `"mae"`, …); `fit` refuses one it
    /// does not compute.
    Metric(Metric),
    /// A metric on the validation data (`"val_acc"`, …); `fit` refuses it without
    /// validation data or when it does not compute the metric.
    ValMetric(Metric),
}

impl Monitor {
    /// The monitored loss for the loss monitors; `None` for the metric monitors.
    pub(crate) fn pick(self, loss: f32, val_loss: Option<f32>) -> Option<f32> {
        match self {
            Monitor::Auto => Some(val_loss.unwrap_or(loss)),
            Monitor::Loss => Some(loss),
            Monitor::ValLoss => val_loss,
            Monitor::Metric(_) | Monitor::ValMetric(_) => None,
        }
    }

    /// Whether a larger value is better (an accuracy); losses and errors: smaller.
    pub const fn higher_is_better(self) -> bool {
        match self {
            Monitor::Metric(m) | Monitor::ValMetric(m) => m.higher_is_better(),
            _ => false,
        }
    }

    /// The name Keras gives the monitored quantity (`"val_loss"`, `"val_acc"`, …).
    pub fn name(self) -> String {
        match self {
            Monitor::Auto => "val_loss (or loss without validation data)".into(),
            Monitor::Loss => "loss".into(),
            Monitor::ValLoss => "val_loss".into(),
            Monitor::Metric(m) => m.name().into(),
            Monitor::ValMetric(m) => m.val_name(),
        }
    }

    /// Refuses, before training, a monitor the run cannot feed: a validation value
    /// without validation data, or a metric `fit` was not asked to compute.
    pub(crate) fn check(self, who: &str, has_validation: bool, metrics: &[Metric]) -> Result<()> {
        let needs_validation = matches!(self, Monitor::ValLoss | Monitor::ValMetric(_));
        if needs_validation && !has_validation {
            return Err(Error::Config(format!(
                "{who} monitors {}, but fit has no validation data (validation_split or \
                 validation_data)",
                self.name()
            )));
        }
        if let Monitor::Metric(m) | Monitor::ValMetric(m) = self {
            if !metrics.contains(&m) {
                return Err(Error::Config(format!(
                    "{who} monitors {}, but fit does not compute metric {m}: add \
                     .metrics(&[Metric::{m:?}])",
                    self.name()
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(metric: Metric, scores: Scores, out: &[f32], target: &[f32], outputs: usize) -> f32 {
        let mut sums = MetricSums::new(1);
        sums.observe(&[metric], scores, out, target, outputs, None);
        sums.values(&[metric])[0]
    }

    #[test]
    fn accuracies_count_hits() {
        // Two rows of three classes: the first right, the second wrong.
        let out = [0.1, 0.7, 0.2, 0.5, 0.3, 0.2];
        assert_eq!(
            one(
                Metric::SparseCategoricalAccuracy,
                Scores::Outputs,
                &out,
                &[1.0, 2.0],
                3
            ),
            0.5
        );
        let onehot = [0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        assert_eq!(
            one(
                Metric::CategoricalAccuracy,
                Scores::Outputs,
                &out,
                &onehot,
                3
            ),
            0.5
        );
        // Binary: probabilities at 0.5, logits at 0.
        assert_eq!(
            one(
                Metric::BinaryAccuracy,
                Scores::Outputs,
                &[0.6, 0.4, 0.7],
                &[1.0, 0.0, 0.0],
                1
            ),
            2.0 / 3.0
        );
        assert_eq!(
            one(
                Metric::BinaryAccuracy,
                Scores::SigmoidLogits,
                &[0.2, -0.1, 3.0],
                &[1.0, 0.0, 0.0],
                1
            ),
            2.0 / 3.0
        );
    }

    #[test]
    fn errors_read_probabilities_of_logits_and_rmse_is_the_root_of_the_mean() {
        let logits = [0.0f32, 0.0];
        // softmax(0, 0) = (0.5, 0.5) against one-hot (1, 0): |errors| 0.5 and 0.5.
        assert_eq!(
            one(Metric::Mae, Scores::SoftmaxLogits, &logits, &[1.0, 0.0], 2),
            0.5
        );
        assert_eq!(
            one(Metric::Mae, Scores::SigmoidLogits, &[0.0], &[1.0], 1),
            0.5
        );
        let mut sums = MetricSums::new(2);
        let both = [Metric::Mse, Metric::Rmse];
        sums.observe(&both, Scores::Outputs, &[1.0, 3.0], &[0.0, 0.0], 1, None);
        assert_eq!(sums.values(&both), [5.0, 5f32.sqrt()]);
    }

    #[test]
    fn weights_weigh_rows() {
        let mut sums = MetricSums::new(1);
        let m = [Metric::SparseCategoricalAccuracy];
        sums.observe(
            &m,
            Scores::Outputs,
            &[1.0, 0.0, 0.0, 1.0],
            &[0.0, 0.0],
            2,
            Some(&[3.0, 1.0]),
        );
        assert_eq!(sums.values(&m), [0.75]);
    }

    #[test]
    fn monitors_know_their_direction_and_refuse_what_fit_cannot_feed() {
        assert!(Monitor::ValMetric(Metric::Accuracy).higher_is_better());
        assert!(!Monitor::ValMetric(Metric::Mae).higher_is_better());
        assert!(Monitor::ValMetric(Metric::Accuracy)
            .check("EarlyStopping", false, &[Metric::Accuracy])
            .is_err());
        assert!(Monitor::Metric(Metric::Mae)
            .check("EarlyStopping", false, &[Metric::Accuracy])
            .is_err());
        assert!(Monitor::Metric(Metric::Mae)
            .check("EarlyStopping", false, &[Metric::Mae])
            .is_ok());
        assert_eq!(Monitor::ValMetric(Metric::Accuracy).name(), "val_acc");
    }
}

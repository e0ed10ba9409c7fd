//! Per-layer gradient norms of a training run: what `fit` measures at every step,
//! before clipping, and reports per epoch in [`EpochLogs`](crate::EpochLogs) and
//! [`History`](crate::History), so that vanishing and exploding gradients show.

use crate::batch::norms::Layout;

/// One layer's gradient norm over an epoch: the L2 norm of the gradient of all the
/// layer's parameters together (both directions of a bidirectional layer), measured at
/// every training step before any clipping, then averaged and maximised over the
/// epoch's trained steps.
///
/// Read from [`EpochLogs::grad_norms`](crate::EpochLogs::grad_norms), one per layer with
/// parameters in spec order (a `dropout` layer has none):
///
/// ```
/// use rnn_runtime::ndarray::{Array2, Array3};
/// use rnn_runtime::{model, Adam, Fit};
/// use std::sync::{Arc, Mutex};
///
/// model! { struct Net < input(30, 1), simple_rnn(8), dropout(0.1), dense(1) > }
///
/// # fn main() -> rnn_runtime::Result<()> {
/// let x = Array3::from_shape_fn((16, 30, 1), |(i, t, _)| ((i * 30 + t) as f32 * 0.2).sin());
/// let y = Array2::from_shape_fn((16, 1), |(i, _)| x[[i, 0, 0]]);
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = Arc::clone(&seen);
/// let opts = Fit::new(Adam::new(1e-2)).epochs(2).batch_size(4).verbose(false)
///     .on_epoch_end(move |logs| log.lock().unwrap().push(logs.grad_norms.clone()));
/// Net::new(0).fit(&x, &y, opts)?;
/// let seen = seen.lock().unwrap();
/// let names: Vec<&str> = seen[0].iter().map(|g| g.layer.as_str()).collect();
/// assert_eq!(names, ["simple_rnn", "dense"]); // the summary's names; no dropout entry
/// for g in &seen[1] {
///     assert!(g.mean > 0.0 && g.mean <= g.max, "{g:?}");
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GradNorm {
    /// The layer's name in the summary table (`lstm`, `dense_1`, `bidirectional`, …;
    /// see [`Architecture::layer_names`](crate::Architecture::layer_names)).
    pub layer: String,
    /// Mean over the epoch's trained steps of the layer's gradient norm; NaN when no
    /// step was trained (every batch skipped as not finite).
    pub mean: f32,
    /// The largest of those norms; NaN when no step was trained.
    pub max: f32,
}

/// One layer's [`GradNorm`]s over a run, one value per epoch:
/// [`History::grad_norms`](crate::History::grad_norms).
///
/// ```
/// use rnn_runtime::{History, LayerGradNorms};
///
/// let history = History {
///     loss: vec![0.5, 0.4],
///     grad_norms: vec![LayerGradNorms {
///         layer: "lstm".into(),
///         mean: vec![1e-3, 2e-3],
///         max: vec![4e-3, 5e-3],
///     }],
///     ..Default::default()
/// };
/// assert_eq!(history.grad_norm("lstm").unwrap().mean[1], 2e-3);
/// assert!(history.grad_norm("dense").is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LayerGradNorms {
    /// The layer's name in the summary table.
    pub layer: String,
    /// [`GradNorm::mean`] of each epoch.
    pub mean: Vec<f32>,
    /// [`GradNorm::max`] of each epoch.
    pub max: Vec<f32>,
}

/// The running sums of one epoch's per-step norms, which a training state saves so
/// that a run resumed within an epoch reports the same norms as one never stopped.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct GradNormSums {
    /// Per layer, the sum of the per-step norms so far this epoch (f64, as the loss
    /// sum, so a long epoch loses no precision).
    pub(crate) sum: Vec<f64>,
    /// Per layer, the largest per-step norm so far.
    pub(crate) max: Vec<f64>,
    /// Steps added this epoch.
    pub(crate) steps: u64,
}

impl GradNormSums {
    /// Empty sums for `layers` layers.
    pub(crate) fn new(layers: usize) -> Self {
        GradNormSums {
            sum: vec![0.0; layers],
            max: vec![0.0; layers],
            steps: 0,
        }
    }

    /// Makes the sums fit `layout`. Sums of another shape (a state written before
    /// norms were recorded, or by other options) cannot be trusted for the epoch in
    /// progress: they become NaN, so that epoch reports its norms as unknown rather
    /// than as the mean of only the steps after the resume.
    pub(crate) fn fit_to(&mut self, layout: &Layout) {
        if self.sum.len() != layout.len() || self.max.len() != layout.len() {
            *self = GradNormSums {
                sum: vec![f64::NAN; layout.len()],
                max: vec![f64::NAN; layout.len()],
                steps: 0,
            };
        }
    }

    /// Back to zero for a new epoch.
    pub(crate) fn clear(&mut self) {
        self.sum.fill(0.0);
        self.max.fill(0.0);
        self.steps = 0;
    }

    /// Adds one step's gradients (the flat buffer in canonical order): one norm per
    /// layer, O(parameters).
    pub(crate) fn add(&mut self, layout: &Layout, grads: &[f32]) {
        for (i, n) in layout.norms(grads).enumerate() {
            self.sum[i] += n;
            // A NaN maximum (unknown, after `fit_to`) stays unknown.
            if n > self.max[i] {
                self.max[i] = n;
            }
        }
        self.steps += 1;
    }

    /// The epoch's norms so far, one per layer of `layout`.
    pub(crate) fn epoch(&self, layout: &Layout) -> Vec<GradNorm> {
        layout
            .names()
            .enumerate()
            .map(|(i, name)| {
                let (mean, max) = if self.steps == 0 {
                    (f64::NAN, f64::NAN)
                } else {
                    (self.sum[i] / self.steps as f64, self.max[i])
                };
                GradNorm {
                    layer: name.to_owned(),
                    mean: mean as f32,
                    max: max as f32,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::GradNormSums;
    use crate::architecture::{Architecture, Cell, Layer};
    use crate::batch::norms::Layout;
    use crate::kernels::activation::Activation;
    use crate::kernels::cell_activation::CellActivation;

    /// `input(3, 1), simple_rnn(1), dropout(0.5), dense(1)`.
    const LAYERS: &[Layer] = &[
        Layer::Recurrent {
            cell: Cell::SimpleRnn,
            inputs: 1,
            hidden: 1,
            bidirectional: false,
            return_sequences: false,
            activation: CellActivation::Tanh,
            recurrent_activation: CellActivation::Sigmoid,
            dropout: 0.0,
            recurrent_dropout: 0.0,
        },
        Layer::Dropout {
            rate: 0.5,
            width: 1,
            per_step: false,
        },
        Layer::Dense {
            inputs: 1,
            units: 1,
            activation: Activation::Linear,
            per_step: false,
        },
    ];

    fn layout() -> Layout {
        let arch = Architecture {
            timesteps: 3,
            features: 1,
            tokens: false,
            sequence_output: false,
            padding: None,
            layers: LAYERS,
        };
        // simple_rnn(1) on 1 input: 1 · (1 + 1 + 2) = 4 parameters; dense: 2.
        Layout::of(&arch, 6)
    }

    #[test]
    fn mean_and_max_over_steps_per_layer() {
        let layout = layout();
        let mut sums = GradNormSums::new(layout.len());
        sums.add(&layout, &[3.0, 4.0, 0.0, 0.0, 0.0, 1.0]);
        sums.add(&layout, &[1.0, 0.0, 0.0, 0.0, 6.0, 8.0]);
        let epoch = sums.epoch(&layout);
        let got: Vec<(&str, f32, f32)> = epoch
            .iter()
            .map(|g| (g.layer.as_str(), g.mean, g.max))
            .collect();
        assert_eq!(got, [("simple_rnn", 3.0, 5.0), ("dense", 5.5, 10.0)]);
        sums.clear();
        let empty = sums.epoch(&layout);
        assert!(empty.iter().all(|g| g.mean.is_nan() && g.max.is_nan()));
    }

    #[test]
    fn sums_of_another_shape_make_the_epoch_unknown() {
        let layout = layout();
        let mut sums = GradNormSums::new(0);
        sums.fit_to(&layout);
        sums.add(&layout, &[3.0, 4.0, 0.0, 0.0, 0.0, 1.0]);
        let unknown = sums.epoch(&layout);
        assert!(unknown.iter().all(|g| g.mean.is_nan() && g.max.is_nan()));
        sums.clear();
        sums.add(&layout, &[3.0, 4.0, 0.0, 0.0, 0.0, 1.0]);
        assert_eq!(sums.epoch(&layout)[0].max, 5.0);
        // Sums that fit are kept.
        let before = sums.clone();
        sums.fit_to(&layout);
        assert_eq!(sums, before);
    }
}

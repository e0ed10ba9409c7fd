//! Loss functions: [`Loss`], with PyTorch's definitions and mean reduction (which for
//! every loss here equals Keras's default `sum_over_batch_size`), and the original
//! [`mse`] / [`mse_grad`] pair.
//!
//! The two cross-entropies and the binary one take logits (Keras's `from_logits=True`,
//! PyTorch's `CrossEntropyLoss` / `BCEWithLogitsLoss`): computing them from logits
//! with a shifted log-sum-exp is what keeps them finite for any finite input. Terms are
//! computed and summed in f64.

use std::fmt;

use crate::architecture::Output;
use crate::error::{Error, Result};
use crate::kernels::activation::Activation;

/// What a loss reads of the model's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// The output as the model computes it.
    Output,
    /// The pre-activation of a softmax or sigmoid output layer: the loss is then the
    /// cross-entropy of the probabilities that layer outputs, computed from its logits
    /// as Keras does (finite for any logit) and back-propagated from them, so that the
    /// gradient at the logits is `p - target` whatever the probabilities' rounding.
    Logits,
}

/// `mean((pred - target)²)` over all elements.
pub fn mse(pred: &[f32], target: &[f32]) -> f32 {
    let n = pred.len().max(1) as f64;
    let sum: f64 = pred
        .iter()
        .zip(target)
        .map(|(p, t)| {
            let d = (p - t) as f64;
            d * d
        })
        .sum();
    (sum / n) as f32
}

/// [`mse`], and its gradient `2 (pred - target) / n` written into `grad`.
pub fn mse_grad(pred: &[f32], target: &[f32], grad: &mut [f32]) -> f32 {
    let scale = 2.0 / pred.len().max(1) as f32;
    for ((g, p), t) in grad.iter_mut().zip(pred).zip(target) {
        *g = scale * (p - t);
    }
    mse(pred, target)
}

/// A training loss over rows of `outputs` predictions.
///
/// Predictions are always `[rows, outputs]`; the target of one row is `outputs`
/// values, except for the sparse form's single class id:
///
/// ```
/// use rnn_runtime::Loss;
///
/// let close = |a: f32, b: f32| (a - b).abs() < 1e-6;
/// let ln2 = std::f32::consts::LN_2;
/// // Element-wise: a target value per prediction; the mean runs over all of them.
/// assert_eq!(Loss::Mse.loss_value(&[1.0, 3.0], &[0.0, 1.0], 2).unwrap(), 2.5);
/// assert_eq!(Loss::Mae.loss_value(&[1.0, 3.0], &[0.0, 1.0], 2).unwrap(), 1.5);
/// // |d| = 1 is quadratic (0.5), |d| = 2 linear (1.5).
/// assert_eq!(Loss::Huber(1.0).loss_value(&[1.0, 3.0], &[0.0, 1.0], 2).unwrap(), 1.0);
/// // Logits against probabilities in [0, 1]: logit 0 is p = 0.5.
/// assert!(close(Loss::BinaryCrossentropy.loss_value(&[0.0], &[1.0], 1).unwrap(), ln2));
/// // A row of logits against a row of class probabilities (here one-hot).
/// let cce = Loss::CategoricalCrossentropy;
/// assert!(close(cce.loss_value(&[0.0, 0.0], &[1.0, 0.0], 2).unwrap(), ln2));
/// // A row of logits against one class id: two rows of three classes, two targets.
/// let sparse = Loss::SparseCategoricalCrossentropy;
/// assert_eq!(sparse.target_width(3), 1);
/// let logits = [0.0, 0.0, 0.0, 5.0, 0.0, 0.0];
/// let want = (3f32.ln() + (1.0 + 2.0 * (-5f32).exp()).ln()) / 2.0;
/// assert!(close(sparse.loss_value(&logits, &[2.0, 0.0], 3).unwrap(), want));
/// assert!(sparse.loss_value(&logits, &[3.0, 0.0], 3).is_err()); // no class 3
/// assert_eq!(sparse.name(), "sparse_categorical_crossentropy");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Loss {
    /// Mean squared error, PyTorch's `MSELoss`.
    #[default]
    Mse,
    /// Mean absolute error, PyTorch's `L1Loss` (gradient `sign(pred - target)`, 0 at 0).
    Mae,
    /// Huber loss with threshold `delta > 0`, PyTorch's `HuberLoss(delta)`: quadratic
    /// `d²/2` for `|d| ≤ delta`, linear `delta (|d| - delta/2)` beyond.
    Huber(f32),
    /// Binary cross-entropy of logits, PyTorch's `BCEWithLogitsLoss`: each output is an
    /// independent logit, each target a probability in [0, 1].
    BinaryCrossentropy,
    /// Categorical cross-entropy of logits, PyTorch's `CrossEntropyLoss` with
    /// class-probability targets: a row of `outputs` logits against a row of
    /// `outputs` target probabilities (one-hot or soft).
    CategoricalCrossentropy,
    /// Categorical cross-entropy of logits against one class id per row, PyTorch's
    /// `CrossEntropyLoss` with class indices.
    SparseCategoricalCrossentropy,
}

impl Loss {
    /// Keras's name of the loss (`"mse"`, `"mae"`, `"huber"`, `"binary_crossentropy"`,
    /// `"categorical_crossentropy"`, `"sparse_categorical_crossentropy"`).
    pub fn name(self) -> &'static str {
        match self {
            Loss::Mse => "mse",
            Loss::Mae => "mae",
            Loss::Huber(_) => "huber",
            Loss::BinaryCrossentropy => "binary_crossentropy",
            Loss::CategoricalCrossentropy => "categorical_crossentropy",
            Loss::SparseCategoricalCrossentropy => "sparse_categorical_crossentropy",
        }
    }

    /// How this loss reads a model whose last layer is `output`, or why it cannot: the
    /// cross-entropies read logits, from a linear output layer as they are (PyTorch's
    /// habit) or from a softmax (categorical) or sigmoid (binary) output layer through
    /// its pre-activation (Keras's); on any other output they would compute something
    /// meaningless. The regression losses read any output as it is.
    ///
    /// ```
    /// use rnn_runtime::architecture::Output;
    /// use rnn_runtime::loss::Reading;
    /// use rnn_runtime::{Activation, Loss};
    ///
    /// let softmax = Output::Dense(Activation::Softmax);
    /// let sparse = Loss::SparseCategoricalCrossentropy;
    /// assert_eq!(sparse.reading(softmax), Ok(Reading::Logits));
    /// assert_eq!(sparse.reading(Output::Dense(Activation::Linear)), Ok(Reading::Output));
    /// assert!(sparse.reading(Output::Dense(Activation::Sigmoid)).is_err());
    /// assert_eq!(Loss::Mse.reading(softmax), Ok(Reading::Output));
    /// ```
    pub fn reading(self, output: Output) -> core::result::Result<Reading, String> {
        let (fused, what) = match self {
            Loss::Mse | Loss::Mae | Loss::Huber(_) => return Ok(Reading::Output),
            Loss::BinaryCrossentropy => (Activation::Sigmoid, "independent probabilities"),
            Loss::CategoricalCrossentropy | Loss::SparseCategoricalCrossentropy => {
                (Activation::Softmax, "class probabilities")
            }
        };
        match output {
            Output::Dense(Activation::Linear) => Ok(Reading::Output),
            Output::Dense(a) if a == fused => Ok(Reading::Logits),
            other => Err(format!(
                "it reads logits (a linear output layer, `dense(n)`) or {what} (`dense(n, \
                 activation = {})`), but the model's last layer is {other}",
                fused.name()
            )),
        }
    }

    /// Target values per output row: `outputs`, or 1 for the sparse form (a class id).
    pub fn target_width(self, outputs: usize) -> usize {
        match self {
            Loss::SparseCategoricalCrossentropy => 1,
            _ => outputs,
        }
    }

    /// Number of terms the mean runs over for `rows` output rows of `outputs` values:
    /// `rows · outputs` for the element-wise losses, `rows` for the two categorical
    /// forms (one term per row).
    pub fn denominator(self, rows: usize, outputs: usize) -> usize {
        match self {
            Loss::CategoricalCrossentropy | Loss::SparseCategoricalCrossentropy => rows,
            _ => rows * outputs,
        }
    }

    /// Checks targets a user supplied, `[rows, target_width]` row-major: every value
    /// finite, sparse labels integers in `[0, outputs)`, and the Huber delta positive
    /// and finite. The error names the first offending row.
    pub fn check_targets(self, target: &[f32], outputs: usize) -> Result<()> {
        if let Loss::Huber(delta) = self {
            if !(delta.is_finite() && delta > 0.0) {
                return Err(Error::LossParameter {
                    loss: self.name(),
                    reason: format!("delta must be positive and finite, found {delta}"),
                });
            }
        }
        let width = self.target_width(outputs);
        if outputs == 0 || !target.len().is_multiple_of(width) {
            return Err(Error::Shape {
                what: "y",
                expected: if outputs == 0 {
                    "[rows, outputs] with at least one output".into()
                } else {
                    format!("[rows, {width}]")
                },
                got: vec![target.len()],
            });
        }
        for (row, values) in target.chunks_exact(width).enumerate() {
            let invalid = |reason: String| Error::InvalidTarget {
                loss: self.name(),
                row,
                step: None,
                reason,
            };
            if let Some((column, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(invalid(format!(
                    "value {v} in column {column} is not finite"
                )));
            }
            if self == Loss::SparseCategoricalCrossentropy
                && class_index(values[0], outputs).is_none()
            {
                return Err(invalid(format!(
                    "class id {} is not an integer in [0, {outputs})",
                    values[0]
                )));
            }
        }
        Ok(())
    }

    /// The sum over every row of the loss terms, in f64; if `grad` is given, writes
    /// `scale · d sum / d pred` into it (pass `scale = 1 / denominator` for the
    /// gradient of the mean). `pred` is `[rows, outputs]` row-major, `target`
    /// `[rows, target_width]`.
    ///
    /// Targets must have passed [`check_targets`](Self::check_targets); a sparse
    /// label that did not makes its row's term and gradient NaN.
    pub fn sum_and_grad(
        self,
        pred: &[f32],
        target: &[f32],
        outputs: usize,
        scale: f32,
        grad: Option<&mut [f32]>,
    ) -> f64 {
        debug_assert!(outputs > 0 && pred.len().is_multiple_of(outputs));
        debug_assert_eq!(
            target.len(),
            pred.len() / outputs * self.target_width(outputs)
        );
        match self {
            // `(2 · scale) · d` is bit-identical to `mse_grad`'s `(2 / n) · d` for
            // `scale = 1 / n`: doubling commutes with rounding.
            Loss::Mse => elementwise(pred, target, grad, |p, t| {
                let d = p - t;
                ((d as f64) * (d as f64), 2.0 * scale * d)
            }),
            Loss::Mae => elementwise(pred, target, grad, |p, t| {
                let d = p - t;
                let sign = if d > 0.0 {
                    1.0
                } else if d < 0.0 {
                    -1.0
                } else {
                    0.0
                };
                ((d as f64).abs(), scale * sign)
            }),
            Loss::Huber(delta) => elementwise(pred, target, grad, |p, t| {
                let (d, delta64) = (p - t, delta as f64);
                let a = (d as f64).abs();
                let term = if a <= delta64 {
                    0.5 * a * a
                } else {
                    delta64 * (a - 0.5 * delta64)
                };
                (term, scale * d.clamp(-delta, delta))
            }),
            Loss::BinaryCrossentropy => elementwise(pred, target, grad, |p, t| {
                let (x, t) = (p as f64, t as f64);
                // log(1 + e^x) - x t, arranged so that no exp overflows.
                let term = x.max(0.0) - x * t + (-x.abs()).exp().ln_1p();
                (term, scale * (sigmoid64(x) - t) as f32)
            }),
            Loss::CategoricalCrossentropy => rowwise(pred, outputs, grad, |row, x, soft, g| {
                let t = &target[row * outputs..(row + 1) * outputs];
                let mass: f64 = t.iter().map(|&t| t as f64).sum();
                let term: f64 = x
                    .iter()
                    .zip(t)
                    .map(|(&x, &t)| -(t as f64) * soft.log_p(x))
                    .sum();
                if let Some(g) = g {
                    for ((g, &x), &t) in g.iter_mut().zip(x).zip(t) {
                        *g = scale * (mass * soft.p(x) - t as f64) as f32;
                    }
                }
                term
            }),
            Loss::SparseCategoricalCrossentropy => {
                rowwise(pred, outputs, grad, |row, x, soft, g| {
                    let Some(class) = class_index(target[row], outputs) else {
                        g.into_iter().flatten().for_each(|g| *g = f32::NAN);
                        return f64::NAN;
                    };
                    if let Some(g) = g {
                        for (j, (g, &x)) in g.iter_mut().zip(x).enumerate() {
                            let hit = if j == class { 1.0 } else { 0.0 };
                            *g = scale * (soft.p(x) - hit) as f32;
                        }
                    }
                    -soft.log_p(x[class])
                })
            }
        }
    }

    /// [`sum_and_grad`](Self::sum_and_grad) with row `r`'s term and gradient
    /// multiplied by `weights[r]` (Keras's sample weights: the sum, and the mean taken
    /// from it, still divide by the number of terms, not by the weights' sum).
    pub fn weighted_sum_and_grad(
        self,
        pred: &[f32],
        target: &[f32],
        outputs: usize,
        scale: f32,
        weights: &[f32],
        mut grad: Option<&mut [f32]>,
    ) -> f64 {
        let width = self.target_width(outputs);
        debug_assert_eq!(weights.len() * outputs, pred.len());
        let mut sum = 0.0;
        for (r, &w) in weights.iter().enumerate() {
            let rows = r * outputs..(r + 1) * outputs;
            let g = grad.as_deref_mut().map(|g| &mut g[rows.clone()]);
            let term = self.sum_and_grad(
                &pred[rows],
                &target[r * width..(r + 1) * width],
                outputs,
                scale * w,
                g,
            );
            sum += f64::from(w) * term;
        }
        sum
    }

    /// The mean loss of `pred` (`[rows, outputs]`) against `target`
    /// (`[rows, target_width]`), after checking both.
    pub fn loss_value(self, pred: &[f32], target: &[f32], outputs: usize) -> Result<f32> {
        if outputs == 0 || !pred.len().is_multiple_of(outputs) {
            return Err(Error::Shape {
                what: "pred",
                expected: format!("[rows, {outputs}]"),
                got: vec![pred.len()],
            });
        }
        let rows = pred.len() / outputs;
        if rows == 0 {
            return Err(Error::Empty("pred"));
        }
        let width = self.target_width(outputs);
        if target.len() != rows * width {
            return Err(Error::Shape {
                what: "y",
                expected: format!("[{rows}, {width}]"),
                got: if target.len().is_multiple_of(width) {
                    vec![target.len() / width, width]
                } else {
                    vec![target.len()]
                },
            });
        }
        self.check_targets(target, outputs)?;
        let sum = self.sum_and_grad(pred, target, outputs, 0.0, None);
        Ok((sum / self.denominator(rows, outputs) as f64) as f32)
    }
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loss::Huber(delta) => write!(f, "huber(delta = {delta})"),
            other => f.write_str(other.name()),
        }
    }
}

/// The class a sparse label names, if it is an integer in `[0, outputs)`.
fn class_index(label: f32, outputs: usize) -> Option<usize> {
    let valid = label >= 0.0 && label.fract() == 0.0 && (label as f64) < outputs as f64;
    valid.then_some(label as usize)
}

/// The logistic function in f64 without overflow.
fn sigmoid64(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Sums `term(p, t).0` over paired elements, writing `term(p, t).1` into `grad`.
fn elementwise(
    pred: &[f32],
    target: &[f32],
    grad: Option<&mut [f32]>,
    term: impl Fn(f32, f32) -> (f64, f32),
) -> f64 {
    match grad {
        Some(grad) => pred
            .iter()
            .zip(target)
            .zip(grad.iter_mut())
            .map(|((&p, &t), g)| {
                let (value, slope) = term(p, t);
                *g = slope;
                value
            })
            .sum(),
        None => pred.iter().zip(target).map(|(&p, &t)| term(p, t).0).sum(),
    }
}

/// Softmax of one row of logits, from the row's maximum and its shifted exponential
/// sum: no `exp` overflows, and probabilities come from `e^{x - max} / sum` rather than
/// `e^{x - lse}`, which would lose `lse`'s rounding when logits are huge.
struct Softmax {
    max: f64,
    sum: f64,
    log_sum: f64,
}

impl Softmax {
    fn of(x: &[f32]) -> Self {
        let max = x.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
        let sum: f64 = x.iter().map(|&v| (v as f64 - max).exp()).sum();
        Softmax {
            max,
            sum,
            log_sum: sum.ln(),
        }
    }

    /// `log softmax(x)` of one logit of the row.
    fn log_p(&self, x: f32) -> f64 {
        (x as f64 - self.max) - self.log_sum
    }

    /// `softmax(x)` of one logit of the row.
    fn p(&self, x: f32) -> f64 {
        (x as f64 - self.max).exp() / self.sum
    }
}

/// Sums `term(row, logits, softmax, grad_row)` over the rows of `pred`.
fn rowwise(
    pred: &[f32],
    outputs: usize,
    mut grad: Option<&mut [f32]>,
    mut term: impl FnMut(usize, &[f32], &Softmax, Option<&mut [f32]>) -> f64,
) -> f64 {
    let mut sum = 0.0;
    for (row, x) in pred.chunks_exact(outputs).enumerate() {
        let g = grad
            .as_deref_mut()
            .map(|g| &mut g[row * outputs..(row + 1) * outputs]);
        sum += term(row, x, &Softmax::of(x), g);
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mse_and_gradient() {
        let mut g = [0.0; 2];
        let l = mse_grad(&[1.0, 3.0], &[0.0, 1.0], &mut g);
        assert_eq!(l, 2.5);
        assert_eq!(g, [1.0, 2.0]);
    }

    #[test]
    fn loss_mse_is_bit_identical_to_mse_grad() {
        let pred: Vec<f32> = (0..21).map(|i| (i as f32 * 0.37).sin()).collect();
        let target: Vec<f32> = (0..21).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut want = vec![0.0; 21];
        let value = mse_grad(&pred, &target, &mut want);
        let mut got = vec![0.0; 21];
        let sum = Loss::Mse.sum_and_grad(&pred, &target, 3, 1.0 / 21.0, Some(&mut got));
        assert_eq!(got, want);
        assert_eq!((sum / 21.0) as f32, value);
        assert_eq!(Loss::Mse.loss_value(&pred, &target, 3).unwrap(), value);
    }

    #[test]
    fn names_and_widths() {
        assert_eq!(Loss::default(), Loss::Mse);
        assert_eq!(Loss::Huber(0.5).to_string(), "huber(delta = 0.5)");
        assert_eq!(
            Loss::SparseCategoricalCrossentropy.to_string(),
            "sparse_categorical_crossentropy"
        );
        assert_eq!(Loss::SparseCategoricalCrossentropy.target_width(5), 1);
        assert_eq!(Loss::CategoricalCrossentropy.target_width(5), 5);
        assert_eq!(Loss::CategoricalCrossentropy.denominator(4, 5), 4);
        assert_eq!(Loss::BinaryCrossentropy.denominator(4, 5), 20);
    }

    #[test]
    fn unchecked_sparse_label_gives_nan_not_a_panic() {
        let mut g = [0.0; 2];
        let sum = Loss::SparseCategoricalCrossentropy.sum_and_grad(
            &[0.0, 1.0],
            &[7.0],
            2,
            1.0,
            Some(&mut g),
        );
        assert!(sum.is_nan() && g.iter().all(|g| g.is_nan()));
    }
}

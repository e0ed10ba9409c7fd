//! The training loop: mini-batch gradient descent with seeded shuffling.

use std::borrow::BorrowMut;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ndarray::{ArrayD, ArrayViewD, Axis, CowArray, IxDyn, Slice};

use super::callbacks::{Control, EpochLogs};
use super::checkpoints::{resume, Checkpoints};
use super::history::History;
use super::options::{Fit, Run, Verbosity};
use super::state::{fingerprint, Progress};
use crate::batch::compute::{check_x, check_y, evaluate_batches, reading, Gathered, Labelled};
use crate::batch::lengths::{self, Span};
use crate::batch::norms::Layout;
use crate::batch::shards::{Objective, ShardedGrads};
use crate::dropout::step_seed;
use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::metrics::{Metric, MetricSums};
use crate::model::{InputElement, Network};
use crate::optim::Optimizer;

/// Number of training samples for `n` samples and a validation fraction, as Keras:
/// the first `floor(n · (1 - split))`.
fn train_count(n: usize, split: f64) -> Result<usize> {
    if !(0.0..1.0).contains(&split) {
        return Err(Error::Config(format!(
            "validation_split must be in [0, 1), got {split}"
        )));
    }
    let n_train = (n as f64 * (1.0 - split)).floor() as usize;
    if n_train == 0 {
        return Err(Error::Config(format!(
            "validation_split {split} leaves no training samples out of {n}"
        )));
    }
    if split > 0.0 && n_train == n {
        return Err(Error::Config(format!(
            "validation_split {split} leaves no validation samples out of {n}"
        )));
    }
    Ok(n_train)
}

fn progress_bar(verbosity: Verbosity, steps: u64) -> ProgressBar {
    if verbosity != Verbosity::ProgressBar {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(steps), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ETA {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Trains `model` on `(x, y)`; see [`Fit`].
///
/// Step `s` (counted from 0 over the whole run) draws its dropout masks from
/// [`step_seed`]`(seed, s)`, so a run is reproducible from its seed.
///
/// The generated `fit` method is this call; the free function serves code generic
/// over the model:
///
/// ```
/// use rnn_runtime::ndarray::{Array2, Array3};
/// use rnn_runtime::{fit, model, Fit, Network, RmsProp};
///
/// model! { struct Net < input(5, 2), simple_rnn(4), dropout(0.2), dense(1) > }
///
/// fn train<M: Network<Input = f32>>(x: &Array3<f32>, y: &Array2<f32>) -> rnn_runtime::Result<M> {
///     let mut net = M::init(0);
///     let opts = Fit::new(RmsProp::new(1e-2)).epochs(20).batch_size(4).seed(9).verbose(false);
///     let history = fit(&mut net, x.view().into_dyn(), y.view().into_dyn(), opts)?;
///     assert!(history.loss[19] < history.loss[0]);
///     Ok(net)
/// }
///
/// # fn main() -> rnn_runtime::Result<()> {
/// let x = Array3::from_shape_fn((8, 5, 2), |(i, t, f)| ((i * 5 + t + f) as f32 * 0.3).sin());
/// let y = Array2::from_shape_fn((8, 1), |(i, _)| (i as f32 * 0.3).cos());
/// // Same seeds, same shuffles, same dropout masks: the same model.
/// assert_eq!(train::<Net>(&x, &y)?, train::<Net>(&x, &y)?);
/// # Ok(())
/// # }
/// ```
pub fn fit<M, O, F>(
    model: &mut M,
    x: ArrayViewD<'_, M::Input>,
    y: ArrayViewD<'_, f32>,
    mut options: F,
) -> Result<History>
where
    M: Network,
    O: Optimizer,
    F: BorrowMut<Fit<O>>,
{
    let opts: &mut Fit<O> = options.borrow_mut();
    let n = check_x::<M>(&x)?;
    let loss = opts.loss_for::<M>()?;
    let reading = reading::<M>(loss)?;
    let y = check_y::<M>(n, y, loss)?;
    if n == 0 {
        return Err(Error::Empty("x"));
    }
    if opts.batch_size == 0 {
        return Err(Error::Config("batch_size must be at least 1".into()));
    }
    let resolved = resolve_metrics(&opts.metrics, loss)?;
    let weights = sample_weights::<M>(opts, n, &y, loss)?;
    let spans = lengths::spans::<M>(&x, opts.lengths.as_deref())?;
    let validation = Validation::of::<M>(opts, &x, &y, weights.as_deref(), spans.as_deref(), loss)?;
    let n_train = validation.n_train;
    opts.clipping.check()?;
    if let Some(schedule) = &opts.schedule {
        schedule.check()?;
        schedule
            .monitor()
            .check("ReduceOnPlateau", validation.present(), &opts.metrics)?;
    }
    opts.callbacks
        .check::<M>(validation.present(), &opts.metrics)?;
    opts.callbacks.begin();
    let train_weights = weights.as_ref().map(|w| &w[..n_train]);

    let batch = opts.batch_size.min(n_train);
    let steps_per_epoch = n_train.div_ceil(batch);
    let mut checkpoints = Checkpoints::new::<M, O>(opts, &x, &y, n, n_train, loss)?;
    checkpoints.key.validation = validation.present();
    checkpoints.key.metrics = metric_names(&opts.metrics);
    checkpoints.key.data = validation.fingerprint(checkpoints.key.data, weights.as_deref());
    if let (Some(spans), true) = (&spans, checkpoints.key.data != 0) {
        // Other lengths train on other data: a state saved with them must not resume.
        let lengths = spans.iter().flat_map(|s| [s.start as u32, s.len as u32]);
        checkpoints.key.data = fingerprint(lengths, checkpoints.key.data ^ 3);
    }
    let continuing = opts.run.is_some();
    let (mut p, mut history, end) = match opts.run.take() {
        // Options passed by `&mut` to an earlier `fit`: carry on from where it ended.
        Some(Run {
            mut progress,
            history,
        }) => {
            if progress.order.len() != n_train {
                progress.order = (0..n_train).collect();
            }
            progress.metric_sums = MetricSums::new(resolved.len());
            let end = progress.epoch + opts.epochs;
            (progress, history, end)
        }
        None => {
            let mut p = Progress::new(n_train, opts.seed, resolved.len());
            let mut history = History::default();
            if let Some(path) = checkpoints.resume_from() {
                let key = checkpoints.key.clone();
                resume(model, opts, path, &key, &mut p, &mut history)?;
            } else if let Some(schedule) = &mut opts.schedule {
                // A resumed run continues the schedule from its saved state instead.
                schedule.start(&mut opts.optimizer)?;
            }
            (p, history, opts.epochs)
        }
    };
    // A continued run reports this call's epochs; a resumed one its whole history.
    let reported_from = if continuing { history.loss.len() } else { 0 };
    let mut sharded = ShardedGrads::<M>::new();
    let layout = Layout::of(&M::ARCHITECTURE, M::PARAMS);
    p.grad_norms.fit_to(&layout);
    let mut grads = vec![0.0f32; M::PARAMS];
    let mut batch_metrics = MetricSums::new(resolved.len());
    let y_row = M::OUTPUT_STEPS * loss.target_width(M::OUTPUTS);
    let mut gathered = Gathered::with_capacity::<M>(batch, y_row);
    let train = Labelled {
        x: x.clone(),
        y: y.clone(),
        weights: train_weights,
        spans: spans.as_deref(),
        states: None,
    };
    let first = p.epoch;
    let bar = progress_bar(opts.verbosity, ((end - first) * steps_per_epoch) as u64);
    bar.set_position((p.position) as u64);
    let fail = |bar: &ProgressBar, e: Error| {
        bar.abandon();
        e
    };

    for epoch in first..end {
        if history.stopped_epoch.is_some() {
            break;
        }
        let started = std::time::Instant::now();
        bar.set_prefix(format!("epoch {}/{}", epoch + 1, end));
        // A state saved within an epoch resumes that epoch where it stopped.
        let lr = if p.position == 0 {
            if opts.shuffle {
                p.rng.shuffle(&mut p.order);
            }
            (p.loss_sum, p.trained, p.skipped, p.elapsed) = (0.0, 0, 0, 0.0);
            p.metric_sums.clear();
            p.grad_norms.clear();
            let lr = opts.optimizer.learning_rate();
            history.lr.push(lr);
            lr
        } else {
            history.lr.last().copied().unwrap_or(f32::NAN)
        };
        for step_in_epoch in p.position..steps_per_epoch {
            let idx = &p.order[step_in_epoch * batch..((step_in_epoch + 1) * batch).min(n_train)];
            let seed = step_seed(opts.seed, p.step);
            let batch_data = gathered.fill::<M>(&train, idx);
            let objective = Objective {
                loss,
                reading,
                metrics: &resolved,
            };
            batch_metrics.clear();
            let value = sharded.loss_and_grads(
                model,
                &batch_data,
                objective,
                seed,
                &mut grads,
                &mut batch_metrics,
            );
            // Checked before the update, so a diverging run ends with the parameters of
            // its last finite step rather than NaN.
            let what = if !value.is_finite() {
                Some("loss")
            } else if grads.iter().any(|g| !g.is_finite()) {
                Some("gradient")
            } else {
                None
            };
            match what {
                Some(_) if opts.skip_non_finite => p.skipped += 1,
                Some(what) => {
                    return Err(fail(
                        &bar,
                        Error::NonFiniteTraining {
                            what,
                            epoch: epoch + 1,
                            step: step_in_epoch + 1,
                        },
                    ));
                }
                None => {
                    // Before clipping: the norms show what the backward pass produced.
                    p.grad_norms.add(&layout, &grads);
                    opts.clipping.apply(&mut grads, M::param_specs());
                    opts.optimizer
                        .update(model, &grads)
                        .map_err(|e| fail(&bar, e))?;
                    p.loss_sum += value as f64 * idx.len() as f64;
                    p.trained += idx.len();
                    p.metric_sums.add(&batch_metrics);
                }
            }
            p.step += 1;
            p.position = step_in_epoch + 1;
            bar.inc(1);
            if checkpoints.due(p.step) {
                let spent = p.elapsed + started.elapsed().as_secs_f64();
                checkpoints
                    .save(model, opts, &p, spent, &history)
                    .map_err(|e| fail(&bar, e))?;
            }
        }
        p.position = 0;
        history.skipped.push(p.skipped);
        // The mean over the batches trained (NaN when every batch was skipped).
        let train_loss = (p.loss_sum / p.trained as f64) as f32;
        history.loss.push(train_loss);
        let metrics: Vec<(Metric, f32)> = opts
            .metrics
            .iter()
            .copied()
            .zip(p.metric_sums.values(&resolved))
            .collect();
        let (val_loss, val_metrics) = validation
            .evaluate(model, loss, reading, &resolved)
            .map_err(|e| fail(&bar, e))?;
        let val_metrics: Vec<(Metric, f32)> =
            opts.metrics.iter().copied().zip(val_metrics).collect();
        history.val_loss.extend(val_loss);
        for (m, v) in &metrics {
            history.metrics.entry(m.name().into()).or_default().push(*v);
        }
        for (m, v) in &val_metrics {
            history.metrics.entry(m.val_name()).or_default().push(*v);
        }
        let seconds = p.elapsed + started.elapsed().as_secs_f64();
        history.seconds.push(seconds);
        let grad_norms = p.grad_norms.epoch(&layout);
        history.push_grad_norms(&grad_norms);
        let logs = EpochLogs {
            epoch,
            epochs: end,
            loss: train_loss,
            val_loss,
            metrics,
            val_metrics,
            lr,
            seconds,
            grad_norms,
        };
        bar.set_message(progress_message(&logs));
        if let Some(schedule) = &mut opts.schedule {
            let monitor = schedule.monitor();
            let monitored = monitor.value(&logs).unwrap_or(train_loss);
            schedule
                .end_epoch(monitored, &mut opts.optimizer)
                .map_err(|e| fail(&bar, e))?;
        }
        if opts.verbosity == Verbosity::EpochLine {
            eprintln!("{logs}");
        }
        match opts.callbacks.end_epoch(&logs, &*model) {
            Ok(Control::Continue) => {}
            Ok(Control::Stop) => history.stopped_epoch = Some(epoch),
            Err(e) => return Err(fail(&bar, e)),
        }
        p.epoch = epoch + 1;
        checkpoints
            .save(model, opts, &p, seconds, &history)
            .map_err(|e| fail(&bar, e))?;
    }
    if history.stopped_epoch.is_some() {
        bar.abandon();
    } else {
        bar.finish();
    }
    let outcome = opts.callbacks.end_training(model);
    history.best_epoch = outcome.best_epoch;
    if opts.verbosity == Verbosity::EpochLine {
        if let Some(epoch) = history.stopped_epoch {
            eprintln!("stopped early after epoch {}/{}", epoch + 1, end);
        }
        if let Some(epoch) = outcome.restored {
            eprintln!("restored the weights of epoch {}", epoch + 1);
        }
    }
    let reported = history.since(reported_from);
    // The next fit with these options continues the run; an early stop ends it as
    // an epoch boundary does.
    history.stopped_epoch = None;
    opts.run = Some(Run {
        progress: p,
        history,
    });
    Ok(reported)
}

/// The progress bar's message: the epoch's loss and metrics, then the validation's.
fn progress_message(logs: &EpochLogs) -> String {
    let mut text = format!("loss {:.3e}", logs.loss);
    for (m, v) in &logs.metrics {
        text.push_str(&format!(" {m} {v:.4}"));
    }
    if let Some(v) = logs.val_loss {
        text.push_str(&format!(" val_loss {v:.3e}"));
    }
    for (m, v) in &logs.val_metrics {
        text.push_str(&format!(" val_{m} {v:.4}"));
    }
    text
}

/// The metrics as computed for `loss`; each asked for once.
fn resolve_metrics(metrics: &[Metric], loss: Loss) -> Result<Vec<Metric>> {
    for (i, m) in metrics.iter().enumerate() {
        if metrics[..i].contains(m) {
            return Err(Error::Config(format!("metric {m} is listed twice")));
        }
    }
    metrics.iter().map(|m| m.resolve(loss)).collect()
}

/// The metrics' names as a training state records them.
fn metric_names(metrics: &[Metric]) -> String {
    let names: Vec<&str> = metrics.iter().map(|m| m.name()).collect();
    names.join(",")
}

/// Each sample's weight: its `sample_weight` times its class's `class_weight`; `None`
/// when neither is set.
fn sample_weights<M: Network>(
    opts: &Fit<impl Optimizer>,
    n: usize,
    y: &ArrayViewD<'_, f32>,
    loss: Loss,
) -> Result<Option<Vec<f32>>> {
    if opts.sample_weight.is_none() && opts.class_weight.is_none() {
        return Ok(None);
    }
    let mut weights = match &opts.sample_weight {
        Some(w) if w.len() != n => {
            return Err(Error::Config(format!(
                "sample_weight has {} weights for {n} samples",
                w.len()
            )))
        }
        Some(w) => {
            if let Some((i, v)) = w
                .iter()
                .enumerate()
                .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
            {
                return Err(Error::Config(format!(
                    "sample_weight {i} is {v}: weights must be finite and >= 0"
                )));
            }
            w.clone()
        }
        None => vec![1.0; n],
    };
    if let Some(classes) = &opts.class_weight {
        for (&class, &w) in classes {
            if !(w.is_finite() && w >= 0.0) {
                return Err(Error::Config(format!(
                    "class_weight of class {class} is {w}: weights must be finite and >= 0"
                )));
            }
            let count = if loss == Loss::BinaryCrossentropy {
                2
            } else {
                M::OUTPUTS
            };
            if class >= count {
                return Err(Error::Config(format!(
                    "class_weight names class {class}, but the model has {count} classes"
                )));
            }
        }
        let one_target = M::OUTPUT_STEPS == 1
            && match loss {
                Loss::SparseCategoricalCrossentropy | Loss::CategoricalCrossentropy => true,
                Loss::BinaryCrossentropy => M::OUTPUTS == 1,
                _ => false,
            };
        if !one_target {
            return Err(Error::Config(format!(
                "class_weight needs a classifier with one target per sample (a categorical \
                 cross-entropy, or binary cross-entropy on one output, without a sequence \
                 output); this model's loss is {loss} with {} output steps of {} values: \
                 use sample_weight",
                M::OUTPUT_STEPS,
                M::OUTPUTS
            )));
        }
        for (i, w) in weights.iter_mut().enumerate() {
            let row = y.index_axis(Axis(0), i);
            let row: Vec<f32> = row.iter().copied().collect();
            let class = match loss {
                Loss::CategoricalCrossentropy => {
                    let mut best = 0;
                    for (k, &v) in row.iter().enumerate() {
                        if v > row[best] {
                            best = k;
                        }
                    }
                    best
                }
                _ => row[0].round() as usize,
            };
            *w *= classes.get(&class).copied().unwrap_or(1.0);
        }
    }
    Ok(Some(weights))
}

/// Validation inputs, targets, per-sample weights and valid steps.
type HeldOut<'a, T> = (
    CowArray<'a, T, IxDyn>,
    CowArray<'a, f32, IxDyn>,
    Option<Vec<f32>>,
    Option<Vec<Span>>,
);

/// Where a run's validation data comes from, and the loss and metrics on it: the tail
/// of `x` and `y` (a split), or a copy of `Fit::validation_data`.
struct Validation<'a, T> {
    /// Samples trained on: the leading ones of `x`.
    n_train: usize,
    data: Option<HeldOut<'a, T>>,
}

impl<'a, T: InputElement> Validation<'a, T> {
    fn of<M: Network<Input = T>>(
        opts: &Fit<impl Optimizer>,
        x: &ArrayViewD<'a, T>,
        y: &ArrayViewD<'a, f32>,
        weights: Option<&[f32]>,
        spans: Option<&[Span]>,
        loss: Loss,
    ) -> Result<Self> {
        let n = x.len_of(Axis(0));
        if opts.validation_lengths.is_some() && opts.validation_data.is_none() {
            return Err(Error::Config(
                "validation_lengths is set without validation_data: validation_split splits \
                 fit's lengths with the samples"
                    .into(),
            ));
        }
        if let Some(data) = &opts.validation_data {
            if opts.validation_split > 0.0 {
                return Err(Error::Config(
                    "validation_data and validation_split are both set: use one".into(),
                ));
            }
            let x_val = data.x.downcast_ref::<ArrayD<T>>().ok_or_else(|| {
                Error::Config(format!(
                    "validation_data holds {} inputs, but the model reads {}",
                    data.element,
                    std::any::type_name::<T>()
                ))
            })?;
            let n_val = check_x::<M>(&x_val.view()).map_err(|e| in_validation(e, "x"))?;
            let y_val =
                check_y::<M>(n_val, data.y.view(), loss).map_err(|e| in_validation(e, "y"))?;
            if n_val == 0 {
                return Err(Error::Empty("validation_data"));
            }
            // Lengths given for training must be given for validation too, unless the
            // model reads them from the padding.
            if opts.lengths.is_some()
                && opts.validation_lengths.is_none()
                && M::ARCHITECTURE.padding.is_none()
            {
                return Err(Error::Config(
                    "lengths is set but validation_data has no validation_lengths: give the \
                     validation samples' lengths too"
                        .into(),
                ));
            }
            let val_spans = lengths::spans::<M>(&x_val.view(), opts.validation_lengths.as_deref())
                .map_err(|e| in_validation(e, "x"))?;
            let (x_val, y_val) = (x_val.clone(), y_val.to_owned());
            return Ok(Validation {
                n_train: n,
                data: Some((x_val.into(), y_val.into(), None, val_spans)),
            });
        }
        let n_train = train_count(n, opts.validation_split)?;
        let data = (n_train < n).then(|| {
            let tail = Slice::from(n_train..);
            // The held-out samples' own sample weights, without class weights (Keras).
            let w = weights
                .and(opts.sample_weight.as_ref())
                .map(|w| w[n_train..].to_vec());
            let (x, y) = (x.clone(), y.clone());
            (
                x.slice_axis_move(Axis(0), tail).into(),
                y.slice_axis_move(Axis(0), tail).into(),
                w,
                spans.map(|s| s[n_train..].to_vec()),
            )
        });
        Ok(Validation { n_train, data })
    }

    fn present(&self) -> bool {
        self.data.is_some()
    }

    /// The validation loss and metrics of `model`; `(None, [])` without validation.
    fn evaluate<M: Network<Input = T>>(
        &self,
        model: &M,
        loss: Loss,
        reading: crate::loss::Reading,
        metrics: &[Metric],
    ) -> Result<(Option<f32>, Vec<f32>)> {
        let Some((x, y, w, spans)) = &self.data else {
            return Ok((None, Vec::new()));
        };
        let data = Labelled {
            x: x.view(),
            y: y.view(),
            weights: w.as_deref(),
            spans: spans.as_deref(),
            states: None,
        };
        let (value, metrics) = evaluate_batches(model, &data, loss, reading, metrics)?;
        Ok((Some(value), metrics))
    }

    /// `data` extended by what else a resumed run must see again: the weights and
    /// the validation data.
    fn fingerprint(&self, data: u64, weights: Option<&[f32]>) -> u64 {
        if data == 0 {
            return 0; // no state is saved or resumed: nothing was fingerprinted
        }
        let mut hash = data;
        if let Some(w) = weights {
            hash = fingerprint(w.iter().map(|v| v.to_bits()), hash ^ 1);
        }
        if let Some((x, y, _, _)) = &self.data {
            hash = fingerprint(x.iter().map(|v| v.to_bits()), hash ^ 2);
            hash = fingerprint(y.iter().map(|v| v.to_bits()), hash);
        }
        hash
    }
}

/// Names the validation data in a shape error about `x` or `y`.
fn in_validation(e: Error, what: &'static str) -> Error {
    match e {
        Error::Shape { expected, got, .. } => Error::Shape {
            what: if what == "x" {
                "validation_data x"
            } else {
                "validation_data y"
            },
            expected,
            got,
        },
        Error::SampleCount { x, y } => Error::Config(format!(
            "validation_data has {x} inputs but {y} targets; they must match"
        )),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::{train_count, EpochLogs, Verbosity};

    #[test]
    fn options_with_closures_can_move_to_another_thread() {
        fn send<T: Send>(_: &T) {}
        send(&super::Fit::new(crate::Adam::new(1e-3)).on_epoch_end(|_: &EpochLogs| ()));
    }

    #[test]
    fn verbose_bool_maps_to_keras_levels_0_and_1() {
        assert_eq!(Verbosity::from(true), Verbosity::ProgressBar);
        assert_eq!(Verbosity::from(false), Verbosity::Silent);
        assert_eq!(Verbosity::default(), Verbosity::ProgressBar);
    }

    #[test]
    fn validation_split_follows_keras_and_refuses_empty_sides() {
        assert_eq!(train_count(10, 0.0).ok(), Some(10));
        assert_eq!(train_count(10, 0.2).ok(), Some(8));
        assert!(train_count(10, 1.0).is_err());
        assert!(train_count(10, -0.1).is_err());
        assert_eq!(train_count(10, 0.05).ok(), Some(9));
        assert!(train_count(10, 1e-20).is_err());
        assert!(train_count(1, 0.5).is_err());
    }
}

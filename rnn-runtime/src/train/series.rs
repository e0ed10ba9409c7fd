//! Training on series longer than the model's `T`: truncated backpropagation through
//! time, as Keras's `stateful=True` and PyTorch's loop that detaches the state between
//! chunks.

use std::borrow::BorrowMut;

use ndarray::{ArrayViewD, Axis, IxDyn};

use super::callbacks::EpochLogs;
use super::grad_norms::GradNormSums;
use super::history::History;
use super::options::{Fit, Verbosity};
use crate::batch::compute::{reading, Gathered, Labelled};
use crate::batch::lengths::Span;
use crate::batch::norms::Layout;
use crate::batch::shards::{Objective, ShardedGrads};
use crate::batch::states::{check_series, chunk};
use crate::dropout::step_seed;
use crate::error::{Error, Result};
use crate::metrics::MetricSums;
use crate::model::{InputElement, Network};
use crate::optim::Optimizer;
use crate::rng::Rng;

/// Trains `model` on series `x` (`[n, L, F]`, or `[n, L]` token ids, any `L`) with
/// targets `y` by truncated backpropagation through time: each series is cut into
/// consecutive chunks of the model's `T` steps (the last one shorter when `T` does not
/// divide `L`), every chunk is one optimiser step, and each series' state is carried,
/// detached, from one chunk to the next; it starts from zero at the start of its series
/// in every epoch. The generated `fit_series` is this call.
///
/// `y` is `[n, L, outputs]` for a model with a sequence output (a target per step), or
/// `[n, chunks, outputs]` for one with a last-state output (a target per chunk, read
/// after the chunk's last step). A batch is `batch_size` series, shuffled between
/// epochs unless `shuffle(false)`; the loss of a chunk averages over its valid steps.
///
/// Of [`Fit`]'s options this reads the optimiser, `epochs`, `batch_size`, `shuffle`,
/// `seed` (shuffling and dropout), `loss`, the clipping options, `skip_non_finite` and
/// the verbosity (one line per epoch unless silent); any other option set is refused
/// with [`Error::Config`] rather than ignored. The history holds each epoch's loss and
/// learning rate and, as `fit`'s, the per-layer gradient norms before clipping.
///
/// ```
/// use rnn_runtime::ndarray::{s, Array3};
/// use rnn_runtime::{model, Adam, Fit};
///
/// model! { struct Net < input(10, 1), lstm(8, return_sequences = true), dense(1) > }
///
/// # fn main() -> rnn_runtime::Result<()> {
/// // Four series of 200 steps (20 chunks of 10); the target is the next value.
/// let series = Array3::from_shape_fn((4, 201, 1), |(i, t, _)| ((t + 7 * i) as f32 * 0.2).sin());
/// let (x, y) = (series.slice(s![.., ..200, ..]), series.slice(s![.., 1.., ..]));
/// let mut net = Net::new(0);
/// let history = net.fit_series(x, y, Fit::new(Adam::new(1e-2)).epochs(4).batch_size(2).verbose(false))?;
/// assert!(history.loss[3] < history.loss[0]);
/// # Ok(())
/// # }
/// ```
pub fn fit_series<M, O, F>(
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
    let (n, steps) = check_series::<M>(&x)?;
    M::Input::check_values(&x, steps, M::VOCAB)?;
    refuse_unsupported(opts)?;
    let loss = opts.loss_for::<M>()?;
    let reading = reading::<M>(loss)?;
    opts.clipping.check()?;
    if opts.batch_size == 0 {
        return Err(Error::Config("batch_size must be at least 1".into()));
    }
    let t = M::TIMESTEPS;
    let chunks = steps.div_ceil(t);
    let sequence = M::ARCHITECTURE.sequence_output;
    let width = loss.target_width(M::OUTPUTS);
    let y_steps = if sequence { steps } else { chunks };
    if y.shape() != [n, y_steps, width] {
        let what = if sequence { "steps" } else { "chunks" };
        return Err(Error::Shape {
            what: "y",
            expected: format!("[{n}, {y_steps}, {width}] (series, {what}, target width)"),
            got: y.shape().to_vec(),
        });
    }
    let targets: Vec<f32> = y.iter().copied().collect();
    loss.check_targets(&targets, M::OUTPUTS)?;

    let batch = opts.batch_size.min(n);
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = Rng::new(opts.seed);
    let mut history = History::default();
    let mut sharded = ShardedGrads::<M>::new();
    let mut gathered = Gathered::default();
    let mut grads = vec![0.0f32; M::PARAMS];
    let (mut xb, mut yb, mut states, mut finals) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let objective = Objective {
        loss,
        reading,
        metrics: &[],
    };
    let state_width = M::STATE_VALUES;
    let mut step = 0u64;
    let layout = Layout::of(&M::ARCHITECTURE, M::PARAMS);
    let mut norms = GradNormSums::new(layout.len());
    // Positions within a batch, and the metrics no chunk records: made once, not per step.
    let positions: Vec<usize> = (0..batch).collect();
    let mut no_metrics = MetricSums::new(0);
    for epoch in 0..opts.epochs {
        let started = std::time::Instant::now();
        if opts.shuffle {
            rng.shuffle(&mut order);
        }
        let lr = opts.optimizer.learning_rate();
        history.lr.push(lr);
        let (mut loss_sum, mut weight, mut skipped) = (0.0f64, 0usize, 0usize);
        norms.clear();
        for group in order.chunks(batch) {
            let b = group.len();
            let xg = x.select(Axis(0), group);
            let yg = y.select(Axis(0), group);
            // Every series of the group starts from the zero state.
            states.clear();
            states.resize(b * state_width, 0.0);
            for k in 0..chunks {
                let len = chunk::<M>(&xg.view(), k, &mut xb);
                let target_steps = chunk_targets(&yg.view(), k, t, sequence, &mut yb);
                let mut x_shape = vec![b, t];
                if M::VOCAB == 0 {
                    x_shape.push(M::FEATURES);
                }
                let x_chunk = ArrayViewD::from_shape(IxDyn(&x_shape), &xb[..])
                    .map_err(|e| Error::Config(format!("chunk of x: {e}")))?;
                let y_chunk = ArrayViewD::from_shape(IxDyn(&target_steps), &yb[..])
                    .map_err(|e| Error::Config(format!("chunk of y: {e}")))?;
                let spans: Option<Vec<Span>> = (len < t).then(|| vec![Span { start: 0, len }; b]);
                let idx = &positions[..b];
                let data = Labelled {
                    x: x_chunk,
                    y: y_chunk,
                    weights: None,
                    spans: spans.as_deref(),
                    states: Some(&states),
                };
                let batch_data = gathered.fill::<M>(&data, idx);
                let value = sharded.loss_and_grads(
                    model,
                    &batch_data,
                    objective,
                    step_seed(opts.seed, step),
                    &mut grads,
                    &mut no_metrics,
                );
                step += 1;
                finals.clear();
                finals.resize(b * state_width, 0.0);
                sharded.final_states(b, &mut finals);
                for (k_in_batch, &i) in gathered.order(idx).iter().enumerate() {
                    states[i * state_width..(i + 1) * state_width].copy_from_slice(
                        &finals[k_in_batch * state_width..(k_in_batch + 1) * state_width],
                    );
                }
                let finite = value.is_finite() && grads.iter().all(|g| g.is_finite());
                if !finite {
                    if opts.skip_non_finite {
                        skipped += 1;
                        continue;
                    }
                    return Err(Error::NonFiniteTraining {
                        what: if value.is_finite() {
                            "gradient"
                        } else {
                            "loss"
                        },
                        epoch: epoch + 1,
                        step: step as usize,
                    });
                }
                // Before clipping, as `fit` reports them.
                norms.add(&layout, &grads);
                opts.clipping.apply(&mut grads, M::param_specs());
                opts.optimizer.update(model, &grads)?;
                // The epoch's loss: every chunk's mean, weighted by what it averaged.
                let rows = if sequence { b * len } else { b };
                loss_sum += value as f64 * rows as f64;
                weight += rows;
            }
        }
        let train_loss = (loss_sum / weight as f64) as f32;
        history.loss.push(train_loss);
        history.skipped.push(skipped);
        let seconds = started.elapsed().as_secs_f64();
        history.seconds.push(seconds);
        let grad_norms = norms.epoch(&layout);
        history.push_grad_norms(&grad_norms);
        if opts.verbosity != Verbosity::Silent {
            let logs = EpochLogs {
                epoch,
                epochs: opts.epochs,
                loss: train_loss,
                val_loss: None,
                metrics: Vec::new(),
                val_metrics: Vec::new(),
                lr,
                seconds,
                grad_norms,
            };
            eprintln!("{logs}");
        }
    }
    Ok(history)
}

/// The targets of chunk `k` of the group's `y` into `out`, returning their shape: the
/// chunk's steps padded with zeros to `t` for a sequence output (`[b, t, width]`), the
/// chunk's own target otherwise (`[b, width]`).
fn chunk_targets(
    y: &ArrayViewD<'_, f32>,
    k: usize,
    t: usize,
    sequence: bool,
    out: &mut Vec<f32>,
) -> Vec<usize> {
    let (b, steps, width) = (y.shape()[0], y.shape()[1], y.shape()[2]);
    out.clear();
    if !sequence {
        out.extend(y.index_axis(Axis(1), k).iter().copied());
        return vec![b, width];
    }
    out.resize(b * t * width, 0.0);
    let part = y.slice_axis(Axis(1), (k * t..((k + 1) * t).min(steps)).into());
    for (i, sample) in part.axis_iter(Axis(0)).enumerate() {
        for (j, v) in sample.iter().enumerate() {
            out[i * t * width + j] = *v;
        }
    }
    vec![b, t, width]
}

/// The options of [`Fit`] that `fit_series` does not read, refused when set.
fn refuse_unsupported<O: Optimizer>(opts: &Fit<O>) -> Result<()> {
    let set: Vec<&str> = [
        (opts.validation_split > 0.0, "validation_split"),
        (opts.validation_data.is_some(), "validation_data"),
        (opts.sample_weight.is_some(), "sample_weight"),
        (opts.class_weight.is_some(), "class_weight"),
        (opts.lengths.is_some(), "lengths"),
        (opts.validation_lengths.is_some(), "validation_lengths"),
        (!opts.metrics.is_empty(), "metrics"),
        (opts.schedule.is_some(), "schedule"),
        (!opts.callbacks.is_empty(), "callbacks"),
        (
            opts.state.path.is_some() || opts.state.resume.is_some(),
            "save_state / resume",
        ),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    if set.is_empty() {
        return Ok(());
    }
    Err(Error::Config(format!(
        "fit_series does not support {}: it reads the optimiser, epochs, batch_size, \
         shuffle, seed, loss, clipping, skip_non_finite and verbosity; evaluate the series \
         with predict_series after it, or train windows with fit",
        set.join(", ")
    )))
}

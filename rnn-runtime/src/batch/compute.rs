//! The batch API: forward, evaluate and loss-and-gradients over a batch of samples,
//! split into shards that run in parallel (the runtime half of the generated `predict`,
//! `evaluate` and `loss_and_grads`).

use std::any::Any;
use std::sync::{Mutex, PoisonError};

use ndarray::{Array, ArrayD, ArrayViewD, Axis, Dimension};
use rayon::prelude::*;

use super::grads::Grads;
use super::lengths::{gather_shifted, scatter_shifted, spans, Sorted, Span};
use super::shards::{shard_count, Batch, Objective, ShardedGrads};
use crate::error::{Error, Result};
use crate::loss::{Loss, Reading};
use crate::metrics::{Metric, MetricSums, Scores};
use crate::model::{output_len, InputElement, Network};

/// The loss `M` trains and evaluates with when the call names none: the one its spec
/// declares (`loss = …` after the last layer), else mean squared error (the loss of
/// the reference models and the seed workload). `fit` refuses any other loss
/// ([`Error::LossMismatch`]), so a model is never trained with one loss and evaluated
/// with another.
///
/// ```
/// use rnn_runtime::{model, model_loss, Loss};
///
/// model! { struct Forecaster < input(8, 1), lstm(4), dense(1) > }
/// model! {
///     struct Tagger < input(8), embedding(50, 4), gru(4), dense(3, activation = softmax),
///         loss = sparse_categorical_crossentropy >
/// }
///
/// assert_eq!(model_loss::<Forecaster>().unwrap(), Loss::Mse);
/// assert_eq!(model_loss::<Tagger>().unwrap(), Loss::SparseCategoricalCrossentropy);
/// ```
pub fn model_loss<M: Network>() -> Result<Loss> {
    Ok(M::LOSS.unwrap_or(Loss::Mse))
}

/// How `loss` reads `M`'s output, or [`Error::LossOutput`] when it cannot.
pub(crate) fn reading<M: Network>(loss: Loss) -> Result<Reading> {
    loss.reading(M::ARCHITECTURE.output())
        .map_err(|reason| Error::LossOutput {
            loss: loss.name(),
            reason,
        })
}

/// Samples per forward chunk in [`forward`]: chunks run in parallel, and bound the
/// memory of large predictions. Every sample's output is the same whatever the chunk
/// it falls in, so the result does not depend on the number of threads.
const CHUNK: usize = 64;

/// One sample's shape: at most two dimensions, on the stack, so that checking a batch
/// allocates nothing (the training loop checks every batch).
#[derive(Clone, Copy)]
struct Shape {
    dims: [usize; 2],
    len: usize,
}

impl std::ops::Deref for Shape {
    type Target = [usize];
    fn deref(&self) -> &[usize] {
        &self.dims[..self.len]
    }
}

/// The shape of one sample of the input, e.g. `[20, 1]`, or `[20]` for token ids.
fn sample_shape<M: Network>() -> Shape {
    if M::VOCAB > 0 {
        Shape {
            dims: [M::TIMESTEPS, 0],
            len: 1,
        }
    } else {
        Shape {
            dims: [M::TIMESTEPS, M::FEATURES],
            len: 2,
        }
    }
}

/// The shape of one sample's output (or target of width `width`).
fn output_shape<M: Network>(width: usize) -> Shape {
    if M::OUTPUT_STEPS > 1 {
        Shape {
            dims: [M::OUTPUT_STEPS, width],
            len: 2,
        }
    } else {
        Shape {
            dims: [width, 0],
            len: 1,
        }
    }
}

fn describe(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
    if dims.is_empty() {
        return "[batch]".into();
    }
    format!("[batch, {}]", dims.join(", "))
}

/// Checks `x` against the model's input shape and values; returns the sample count.
pub(crate) fn check_x<M: Network>(x: &ArrayViewD<'_, M::Input>) -> Result<usize> {
    let want = sample_shape::<M>();
    if x.ndim() != want.len() + 1 || x.shape()[1..] != want[..] {
        return Err(Error::Shape {
            what: "x",
            expected: describe(&want),
            got: x.shape().to_vec(),
        });
    }
    M::Input::check_values(x, M::TIMESTEPS, M::VOCAB)?;
    Ok(x.len_of(Axis(0)))
}

/// Checks targets `y` for `n` samples against the output shape as `loss` reads it,
/// and returns them with that shape: where a target row is one value (one output, or
/// a class id), `y` may leave out that last axis of length 1, as Keras accepts `(N,)`
/// for `(N, 1)`.
pub(crate) fn check_y<'a, M: Network>(
    n: usize,
    y: ArrayViewD<'a, f32>,
    loss: Loss,
) -> Result<ArrayViewD<'a, f32>> {
    let want = output_shape::<M>(loss.target_width(M::OUTPUTS));
    let y = if want.last() == Some(&1)
        && y.ndim() == want.len()
        && y.shape()[1..] == want[..want.len() - 1]
    {
        let last = y.ndim();
        y.insert_axis(Axis(last))
    } else {
        y
    };
    if y.ndim() != want.len() + 1 || y.shape()[1..] != want[..] {
        let mut expected = describe(&want);
        if want.last() == Some(&1) {
            expected = format!("{expected} (or {})", describe(&want[..want.len() - 1]));
        }
        return Err(Error::Shape {
            what: "y",
            expected,
            got: y.shape().to_vec(),
        });
    }
    if y.len_of(Axis(0)) != n {
        return Err(Error::SampleCount {
            x: n,
            y: y.len_of(Axis(0)),
        });
    }
    let checked = match y.as_slice() {
        Some(values) => loss.check_targets(values, M::OUTPUTS),
        None => loss.check_targets(&y.iter().copied().collect::<Vec<_>>(), M::OUTPUTS),
    };
    let checked = match checked {
        // The loss sees one row per output step: name the sample and its step.
        Err(Error::InvalidTarget {
            loss,
            row,
            step: None,
            reason,
        }) if M::OUTPUT_STEPS > 1 => Err(Error::InvalidTarget {
            loss,
            row: row / M::OUTPUT_STEPS,
            step: Some(row % M::OUTPUT_STEPS),
            reason,
        }),
        other => other,
    };
    checked.map(|()| y)
}

/// Copies samples `idx` of `x` into `out` as a contiguous batch-major block; works for
/// any memory layout of `x`.
pub(crate) fn gather<T: Copy>(x: &ArrayViewD<'_, T>, idx: &[usize], out: &mut Vec<T>) {
    out.clear();
    if let Some(all) = x.as_slice() {
        // Row-major and contiguous: each sample is one block.
        let row = all.len() / x.len_of(Axis(0)).max(1);
        for &i in idx {
            out.extend_from_slice(&all[i * row..(i + 1) * row]);
        }
        return;
    }
    for &i in idx {
        out.extend(x.index_axis(Axis(0), i).iter());
    }
}

/// An output as the generated API types it (`Array2` or `Array3`).
pub fn typed<D: Dimension>(out: ArrayD<f32>) -> Result<Array<f32, D>> {
    let got = out.shape().to_vec();
    out.into_dimensionality::<D>().map_err(|_| Error::Shape {
        what: "output",
        expected: format!("{} dimensions", D::NDIM.unwrap_or(0)),
        got,
    })
}

fn output_array<M: Network>(n: usize, values: Vec<f32>) -> Result<ArrayD<f32>> {
    let mut shape = vec![n];
    shape.extend_from_slice(&output_shape::<M>(M::OUTPUTS));
    ArrayD::from_shape_vec(shape.clone(), values).map_err(|_| Error::Shape {
        what: "output",
        expected: describe(&shape[1..]),
        got: shape,
    })
}

/// The model's output for every sample of `x` (`[batch, T, F]` or `[batch, T]` →
/// `[batch, OUTPUTS]` or `[batch, T, OUTPUTS]`), in inference mode.
///
/// The generated `predict` is this call with a typed result:
///
/// ```
/// use rnn_runtime::ndarray::Array3;
/// use rnn_runtime::{forward, model, Error};
///
/// model! { struct Net < input(4, 1), lstm(3, return_sequences = true), dense(2) > }
///
/// let net = Net::new(0);
/// let x = Array3::from_shape_fn((5, 4, 1), |(i, t, _)| (i * t) as f32 * 0.1);
/// let y = forward(&net, x.view().into_dyn()).unwrap();
/// assert_eq!(y.shape(), [5, 4, 2]); // one output per step
/// assert_eq!(y, net.predict(&x).unwrap().into_dyn());
/// // The shape is checked at run time: 3 steps where the model reads 4.
/// let short = Array3::<f32>::zeros((5, 3, 1));
/// assert!(matches!(forward(&net, short.view().into_dyn()), Err(Error::Shape { .. })));
/// ```
pub fn forward<M: Network>(model: &M, x: ArrayViewD<'_, M::Input>) -> Result<ArrayD<f32>> {
    let n = check_x::<M>(&x)?;
    let spans = spans::<M>(&x, None)?;
    forward_reading(model, x, n, spans.as_deref(), Reading::Output)
}

/// [`forward`] of samples of the given lengths (PyTorch's `lengths`): sample `i` runs
/// its first `lengths[i]` steps, as in a packed sequence, and the steps of `x` after
/// them are never read; a sequence output is 0 there.
///
/// A model declared with `masking(value)` or `embedding(…, mask_zero = true)` reads
/// the lengths from its input's padding in [`forward`] already; given here as well,
/// they must agree with it.
///
/// ```
/// use rnn_runtime::ndarray::{s, Array3};
/// use rnn_runtime::{forward_lengths, model};
///
/// model! { struct Net < input(5, 2), gru(3, return_sequences = true), dense(1) > }
///
/// let net = Net::new(0);
/// let mut x = Array3::from_shape_fn((2, 5, 2), |(i, t, f)| (i + t + f) as f32 * 0.1);
/// x.slice_mut(s![1, 3.., ..]).fill(99.0); // sample 1 has 3 steps, then padding
/// let y = forward_lengths(&net, x.view().into_dyn(), &[5, 3]).unwrap();
/// assert_eq!(y.shape(), [2, 5, 1]);
/// assert_eq!(y.slice(s![1, 3.., ..]).iter().collect::<Vec<_>>(), [&0.0, &0.0]);
/// // Whatever the padding holds, it never counts.
/// x.slice_mut(s![1, 3.., ..]).fill(-7.0);
/// assert_eq!(forward_lengths(&net, x.view().into_dyn(), &[5, 3]).unwrap(), y);
/// ```
pub fn forward_lengths<M: Network>(
    model: &M,
    x: ArrayViewD<'_, M::Input>,
    lengths: &[usize],
) -> Result<ArrayD<f32>> {
    let n = check_x::<M>(&x)?;
    let spans = spans::<M>(&x, Some(lengths))?;
    forward_reading(model, x, n, spans.as_deref(), Reading::Output)
}

/// What one chunk of [`forward_reading`] works in: the model's workspace, the
/// chunk's input, its sorted lengths and sample indices.
type Scratch<M> = (
    <M as Network>::Workspace,
    Vec<<M as Network>::Input>,
    Sorted,
    Vec<usize>,
);

/// The scratch of finished forward passes, of any model type, kept for the next
/// call: after the first call of a model, its predictions allocate only their
/// output. One entry per chunk that ran at once, so at most one per thread and
/// model type. An inference workspace is small (tiles and per-sample states) except
/// for layers with a sequence output, which keep their `[CHUNK · T, H]` output.
static SCRATCH: Mutex<Vec<Box<dyn Any + Send>>> = Mutex::new(Vec::new());

/// A kept [`Scratch`] of `M`, or a new one.
fn take_scratch<M: Network>() -> Box<Scratch<M>> {
    let mut kept = SCRATCH.lock().unwrap_or_else(PoisonError::into_inner);
    let found = kept.iter().position(|s| (**s).is::<Scratch<M>>());
    match found.map(|i| kept.swap_remove(i).downcast::<Scratch<M>>()) {
        Some(Ok(scratch)) => scratch,
        _ => Box::default(),
    }
}

/// Keeps `scratch` for a later call.
fn keep_scratch<M: Network>(scratch: Box<Scratch<M>>) {
    SCRATCH
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(scratch);
}

/// [`forward`] of the `n` checked samples of `x` with their valid steps `spans`
/// (`None`: all full), or with [`Reading::Logits`] the last layer's pre-activation.
///
/// Chunks of [`CHUNK`] samples run in parallel on the inference path
/// ([`Network::inference_only`]), each writing its rows of the output in place.
pub(crate) fn forward_reading<M: Network>(
    model: &M,
    x: ArrayViewD<'_, M::Input>,
    n: usize,
    spans: Option<&[Span]>,
    reading: Reading,
) -> Result<ArrayD<f32>> {
    let width = output_len::<M>().max(1);
    let mut values = vec![0.0; n * width];
    values
        .par_chunks_mut(CHUNK * width)
        .enumerate()
        .for_each(|(c, out)| {
            let mut scratch = take_scratch::<M>();
            let (ws, xb, sorted, idx) = &mut *scratch;
            M::output_logits(ws, reading == Reading::Logits);
            M::inference_only(ws, true);
            let len = out.len() / width;
            idx.clear();
            idx.extend(c * CHUNK..c * CHUNK + len);
            match spans {
                None => {
                    gather(&x, idx, xb);
                    out.copy_from_slice(model.forward_batch(xb, len, None, None, ws));
                }
                Some(spans) => {
                    sorted.of(idx, spans);
                    gather_shifted(&x, &sorted.order, spans, M::TIMESTEPS, xb);
                    let y = model.forward_batch(xb, len, Some(&sorted.lengths), None, ws);
                    let steps = M::OUTPUT_STEPS;
                    scatter_shifted(y, &sorted.order, idx[0], spans, steps, out);
                }
            }
            keep_scratch::<M>(scratch);
        });
    output_array::<M>(n, values)
}

/// The mean of `loss` of the model on `(x, y)`, in inference mode.
///
/// ```
/// use rnn_runtime::ndarray::{Array2, Array3};
/// use rnn_runtime::{evaluate, forward, model, Loss};
///
/// model! { struct Net < input(4, 1), gru(3), dense(1) > }
///
/// let net = Net::new(0);
/// let x = Array3::from_shape_fn((6, 4, 1), |(i, t, _)| (i + t) as f32 * 0.1);
/// let y = Array2::<f32>::zeros((6, 1));
/// let mae = evaluate(&net, x.view().into_dyn(), y.view().into_dyn(), Loss::Mae).unwrap();
/// // Against zero targets, the mean absolute error is the mean |prediction|.
/// let pred = forward(&net, x.view().into_dyn()).unwrap();
/// assert!((mae - pred.mapv(f32::abs).mean().unwrap()).abs() < 1e-6);
/// assert_eq!(net.evaluate_with(&x, &y, Loss::Mae).unwrap(), mae);
/// ```
pub fn evaluate<M: Network>(
    model: &M,
    x: ArrayViewD<'_, M::Input>,
    y: ArrayViewD<'_, f32>,
    loss: Loss,
) -> Result<f32> {
    evaluate_given(model, x, y, None, loss)
}

/// [`evaluate`] of samples of the given lengths (see [`forward_lengths`]): a loss on a
/// sequence output averages over the valid steps only.
///
/// ```
/// use rnn_runtime::ndarray::{s, Array3};
/// use rnn_runtime::{evaluate_lengths, forward_lengths, model, Loss};
///
/// model! { struct Net < input(4, 1), lstm(2, return_sequences = true), dense(1) > }
///
/// let net = Net::new(0);
/// let x = Array3::from_shape_fn((2, 4, 1), |(i, t, _)| (i + t) as f32 * 0.3);
/// let mut y = Array3::<f32>::zeros((2, 4, 1));
/// let lengths = [4, 2];
/// let mse = evaluate_lengths(&net, x.view().into_dyn(), y.view().into_dyn(), &lengths, Loss::Mse)?;
/// // Against zero targets: the mean square of the 6 valid outputs, not of all 8.
/// let pred = forward_lengths(&net, x.view().into_dyn(), &lengths)?;
/// assert!((mse - pred.mapv(|v| v * v).sum() / 6.0).abs() < 1e-6);
/// // Targets at padded steps do not count.
/// y.slice_mut(s![1, 2.., ..]).fill(1e3);
/// assert_eq!(evaluate_lengths(&net, x.view().into_dyn(), y.view().into_dyn(), &lengths, Loss::Mse)?, mse);
/// # Ok::<(), rnn_runtime::Error>(())
/// ```
pub fn evaluate_lengths<M: Network>(
    model: &M,
    x: ArrayViewD<'_, M::Input>,
    y: ArrayViewD<'_, f32>,
    lengths: &[usize],
    loss: Loss,
) -> Result<f32> {
    evaluate_given(model, x, y, Some(lengths), loss)
}

fn evaluate_given<M: Network>(
    model: &M,
    x: ArrayViewD<'_, M::Input>,
    y: ArrayViewD<'_, f32>,
    lengths: Option<&[usize]>,
    loss: Loss,
) -> Result<f32> {
    let reading = reading::<M>(loss)?;
    let n = check_x::<M>(&x)?;
    let y = check_y::<M>(n, y, loss)?;
    if n == 0 {
        return Err(Error::Empty("x"));
    }
    let spans = spans::<M>(&x, lengths)?;
    let data = Labelled {
        x,
        y,
        weights: None,
        spans: spans.as_deref(),
        states: None,
    };
    Ok(evaluate_batches(model, &data, loss, reading, &[])?.0)
}

/// Checked inputs and targets with their sample weights and valid steps, as the
/// evaluation of a whole data set reads them.
pub(crate) struct Labelled<'a, 'v, T> {
    pub x: ArrayViewD<'v, T>,
    pub y: ArrayViewD<'v, f32>,
    pub weights: Option<&'a [f32]>,
    pub spans: Option<&'a [Span]>,
    /// Each sample's initial state, `[n, STATE_VALUES]` (`None`: zero).
    pub states: Option<&'a [f32]>,
}

/// The mean of `loss` on checked `(x, y)` read as `reading` says, each sample weighted
/// by its weight (Keras's sample weights) and only its valid steps counted, and the
/// resolved `metrics` on the same outputs; inference mode.
pub(crate) fn evaluate_batches<M: Network>(
    model: &M,
    data: &Labelled<'_, '_, M::Input>,
    loss: Loss,
    reading: Reading,
    metrics: &[Metric],
) -> Result<(f32, Vec<f32>)> {
    let n = data.x.len_of(Axis(0));
    let pred = forward_reading(model, data.x.clone(), n, data.spans, reading)?;
    let pred: Vec<f32> = pred.into_iter().collect();
    let target: Vec<f32> = data.y.iter().copied().collect();
    let steps = M::OUTPUT_STEPS;
    // Padded steps of a sequence output weigh nothing.
    let padded = data.spans.filter(|_| steps > 1);
    let row_weights: Option<Vec<f32>> = (data.weights.is_some() || padded.is_some()).then(|| {
        (0..n)
            .flat_map(|i| {
                let w = data.weights.map_or(1.0, |w| w[i]);
                let span = padded.map_or(0..steps, |s| s[i].start..s[i].start + s[i].len);
                (0..steps).map(move |t| if span.contains(&t) { w } else { 0.0 })
            })
            .collect()
    });
    let valid_rows = match padded {
        Some(spans) => spans.iter().map(|s| s.len).sum(),
        None => n * steps,
    };
    let sum = match &row_weights {
        None => loss.sum_and_grad(&pred, &target, M::OUTPUTS, 1.0, None),
        Some(w) => loss.weighted_sum_and_grad(&pred, &target, M::OUTPUTS, 1.0, w, None),
    };
    let mut sums = MetricSums::new(metrics.len());
    let scores = Scores::of(loss);
    sums.observe(
        metrics,
        scores,
        &pred,
        &target,
        M::OUTPUTS,
        row_weights.as_deref(),
    );
    let value = (sum / loss.denominator(valid_rows, M::OUTPUTS) as f64) as f32;
    Ok((value, sums.values(metrics)))
}

/// `loss` of the whole batch `(x, y)` and its gradient for every parameter, in
/// training mode with dropout masks keyed by `dropout_seed`.
///
/// With [`Optimizer::step`](crate::Optimizer::step) this is a hand-written training
/// loop:
///
/// ```
/// use rnn_runtime::ndarray::{Array2, Array3};
/// use rnn_runtime::{loss_and_grads, model, Adam, Loss};
///
/// model! { struct Net < input(4, 2), lstm(3), dense(1) > }
///
/// # fn main() -> rnn_runtime::Result<()> {
/// let x = Array3::from_shape_fn((8, 4, 2), |(i, t, f)| ((i + t + f) as f32 * 0.4).sin());
/// let y = Array2::from_shape_fn((8, 1), |(i, _)| i as f32 / 8.0);
/// let (mut net, mut adam) = (Net::new(0), Adam::new(1e-2));
/// let (first, _) = loss_and_grads(&net, x.view().into_dyn(), y.view().into_dyn(), Loss::Mse, 0)?;
/// for step in 0..50 {
///     let (_, grads) = loss_and_grads(&net, x.view().into_dyn(), y.view().into_dyn(), Loss::Mse, step)?;
///     adam.step(&mut net, &grads)?;
/// }
/// assert!(net.evaluate(&x, &y)? < first);
/// # Ok(())
/// # }
/// ```
pub fn loss_and_grads<M: Network>(
    model: &M,
    x: ArrayViewD<'_, M::Input>,
    y: ArrayViewD<'_, f32>,
    loss: Loss,
    dropout_seed: u64,
) -> Result<(f32, Grads)> {
    loss_and_grads_given(model, x, y, None, loss, dropout_seed)
}

/// [`loss_and_grads`] of samples of the given lengths (see [`forward_lengths`]): each
/// sample's padded steps are not computed and get no gradient, and a loss on a
/// sequence output averages over the valid steps only.
///
/// ```
/// use rnn_runtime::ndarray::{s, Array2, Array3};
/// use rnn_runtime::{loss_and_grads_lengths, model, Loss};
///
/// model! { struct Net < input(6, 2), lstm(3), dense(1) > }
///
/// let net = Net::new(0);
/// let mut x = Array3::from_shape_fn((3, 6, 2), |(i, t, f)| ((i + 2 * t + f) as f32).sin());
/// let y = Array2::from_shape_fn((3, 1), |(i, _)| i as f32);
/// let lengths = [6, 2, 4];
/// let (loss, grads) = loss_and_grads_lengths(&net, x.view().into_dyn(), y.view().into_dyn(), &lengths, Loss::Mse, 0)?;
/// // Padding never reaches the loss or the gradients.
/// x.slice_mut(s![1, 2.., ..]).fill(1e6);
/// let (again, grads_again) = loss_and_grads_lengths(&net, x.view().into_dyn(), y.view().into_dyn(), &lengths, Loss::Mse, 0)?;
/// assert_eq!((loss, grads.as_slice()), (again, grads_again.as_slice()));
/// # Ok::<(), rnn_runtime::Error>(())
/// ```
pub fn loss_and_grads_lengths<M: Network>(
    model: &M,
    x: ArrayViewD<'_, M::Input>,
    y: ArrayViewD<'_, f32>,
    lengths: &[usize],
    loss: Loss,
    dropout_seed: u64,
) -> Result<(f32, Grads)> {
    loss_and_grads_given(model, x, y, Some(lengths), loss, dropout_seed)
}

fn loss_and_grads_given<M: Network>(
    model: &M,
    x: ArrayViewD<'_, M::Input>,
    y: ArrayViewD<'_, f32>,
    lengths: Option<&[usize]>,
    loss: Loss,
    dropout_seed: u64,
) -> Result<(f32, Grads)> {
    let mut grads = Grads::zeros::<M>();
    let value = loss_and_grads_reusing(model, x, y, lengths, loss, dropout_seed, &mut grads)?;
    Ok((value, grads))
}

/// [`loss_and_grads`] written into `grads`, which must belong to `M` (from
/// [`Grads::zeros`] or an earlier call): the hand-written training loop without an
/// allocation per step. `grads` keeps the work buffers of the batch between calls, so
/// a loop that reuses it allocates on its first batch only (and when a batch is larger
/// than any before); the values are those [`loss_and_grads`] returns, bit for bit.
///
/// Refuses gradients of another model ([`Error::GradsMismatch`]) before computing
/// anything.
///
/// ```
/// use rnn_runtime::ndarray::{s, Array2, Array3};
/// use rnn_runtime::{loss_and_grads, loss_and_grads_into, model, Adam, Grads, Loss};
///
/// model! { struct Net < input(4, 2), lstm(3), dense(1) > }
///
/// # fn main() -> rnn_runtime::Result<()> {
/// let x = Array3::from_shape_fn((16, 4, 2), |(i, t, f)| ((i + t + f) as f32 * 0.4).sin());
/// let y = Array2::from_shape_fn((16, 1), |(i, _)| i as f32 / 16.0);
/// let (mut net, mut adam) = (Net::new(0), Adam::new(1e-2));
/// let mut grads = Grads::zeros::<Net>();
/// for step in 0..20 {
///     let b = step % 4 * 4;
///     let (xb, yb) = (x.slice(s![b..b + 4, .., ..]), y.slice(s![b..b + 4, ..]));
///     let value = loss_and_grads_into(&net, xb.into_dyn(), yb.into_dyn(), Loss::Mse, step as u64, &mut grads)?;
///     let (same, fresh) = loss_and_grads(&net, xb.into_dyn(), yb.into_dyn(), Loss::Mse, step as u64)?;
///     assert_eq!((value, grads.as_slice()), (same, fresh.as_slice()));
///     adam.step(&mut net, &grads)?;
/// }
/// # Ok(())
/// # }
/// ```
pub fn loss_and_grads_into<M: Network>(
    model: &M,
    x: ArrayViewD<'_, M::Input>,
    y: ArrayViewD<'_, f32>,
    loss: Loss,
    dropout_seed: u64,
    grads: &mut Grads,
) -> Result<f32> {
    if grads.specs() != M::param_specs() {
        return Err(Error::GradsMismatch {
            expected: M::PARAMS,
            got: grads.as_slice().len(),
        });
    }
    loss_and_grads_reusing(model, x, y, None, loss, dropout_seed, grads)
}

/// What a batch's gradients are computed in, kept in the [`Grads`] they are written to.
struct Reused<M: Network> {
    sharded: ShardedGrads<M>,
    gathered: Gathered<M::Input>,
    idx: Vec<usize>,
    metric_sums: MetricSums,
}

impl<M: Network> Default for Reused<M> {
    fn default() -> Self {
        Reused {
            sharded: ShardedGrads::new(),
            gathered: Gathered::default(),
            idx: Vec::new(),
            metric_sums: MetricSums::new(0),
        }
    }
}

fn loss_and_grads_reusing<M: Network>(
    model: &M,
    x: ArrayViewD<'_, M::Input>,
    y: ArrayViewD<'_, f32>,
    lengths: Option<&[usize]>,
    loss: Loss,
    dropout_seed: u64,
    grads: &mut Grads,
) -> Result<f32> {
    let reading = reading::<M>(loss)?;
    let n = check_x::<M>(&x)?;
    let y = check_y::<M>(n, y, loss)?;
    if n == 0 {
        return Err(Error::Empty("x"));
    }
    let spans = spans::<M>(&x, lengths)?;
    let (values, reused) = grads.with_scratch::<Reused<M>>();
    let Reused {
        sharded,
        gathered,
        idx,
        metric_sums,
    } = reused;
    idx.clear();
    idx.extend(0..n);
    let data = Labelled {
        x,
        y,
        weights: None,
        spans: spans.as_deref(),
        states: None,
    };
    let batch = gathered.fill::<M>(&data, idx);
    let objective = Objective {
        loss,
        reading,
        metrics: &[],
    };
    Ok(sharded.loss_and_grads(model, &batch, objective, dropout_seed, values, metric_sums))
}

/// The buffers of one training batch, gathered from a data set and reused from batch to
/// batch.
#[derive(Debug)]
pub(crate) struct Gathered<T> {
    x: Vec<T>,
    y: Vec<f32>,
    weights: Vec<f32>,
    states: Vec<f32>,
    sorted: Sorted,
    has_weights: bool,
    has_lengths: bool,
    has_states: bool,
}

impl<T> Default for Gathered<T> {
    fn default() -> Self {
        Gathered {
            x: Vec::new(),
            y: Vec::new(),
            weights: Vec::new(),
            states: Vec::new(),
            sorted: Sorted::default(),
            has_weights: false,
            has_lengths: false,
            has_states: false,
        }
    }
}

impl<T: Copy + Default> Gathered<T> {
    /// Buffers with room for batches of `batch` samples of `M`.
    pub(crate) fn with_capacity<M: Network<Input = T>>(batch: usize, y_row: usize) -> Self {
        Gathered {
            x: Vec::with_capacity(batch * M::TIMESTEPS * M::FEATURES),
            y: Vec::with_capacity(batch * y_row),
            weights: Vec::with_capacity(batch),
            sorted: Sorted {
                order: Vec::with_capacity(batch),
                lengths: Vec::with_capacity(batch),
            },
            ..Gathered::default()
        }
    }

    /// Gathers the samples `idx` of `data` into a contiguous batch: in their order, or,
    /// where the samples' lengths vary, longest first with every sample's steps moved to
    /// start at step 0 (its targets too, for a sequence output).
    pub(crate) fn fill<M: Network<Input = T>>(
        &mut self,
        data: &Labelled<'_, '_, T>,
        idx: &[usize],
    ) -> Batch<'_, M> {
        self.has_weights = data.weights.is_some();
        self.has_lengths = data.spans.is_some();
        let order = match data.spans {
            None => {
                gather(&data.x, idx, &mut self.x);
                gather(&data.y, idx, &mut self.y);
                idx
            }
            Some(spans) => {
                self.sorted.of_sharded(idx, spans, shard_count(idx.len()));
                let order = &self.sorted.order[..];
                gather_shifted(&data.x, order, spans, M::TIMESTEPS, &mut self.x);
                if M::OUTPUT_STEPS > 1 {
                    gather_shifted(&data.y, order, spans, M::OUTPUT_STEPS, &mut self.y);
                } else {
                    gather(&data.y, order, &mut self.y);
                }
                order
            }
        };
        if let Some(w) = data.weights {
            self.weights.clear();
            self.weights.extend(order.iter().map(|&i| w[i]));
        }
        self.has_states = data.states.is_some();
        if let Some(states) = data.states {
            let width = M::STATE_VALUES;
            self.states.clear();
            for &i in order {
                self.states
                    .extend_from_slice(&states[i * width..(i + 1) * width]);
            }
        }
        Batch {
            x: &self.x,
            y: &self.y,
            weights: self.has_weights.then_some(&self.weights[..]),
            lengths: self.has_lengths.then_some(&self.sorted.lengths[..]),
            states: self.has_states.then_some(&self.states[..]),
            len: idx.len(),
        }
    }

    /// The samples of the last [`fill`](Self::fill) in the order the batch holds them.
    pub(crate) fn order<'o>(&'o self, idx: &'o [usize]) -> &'o [usize] {
        if self.has_lengths {
            &self.sorted.order
        } else {
            idx
        }
    }
}

/// Runs `run(sample, state, out)` for model `M` on every sample of `x` from its initial
/// state in `states` (in parallel), returning the outputs and the final states: the
/// runtime half of the generated `forward_from`.
pub fn forward_from_states<M, S, F>(
    x: ArrayViewD<'_, M::Input>,
    states: &[S],
    run: F,
) -> Result<(ArrayD<f32>, Vec<S>)>
where
    M: Network,
    S: Clone + Send + Sync,
    F: Fn(&[M::Input], &mut S, &mut [f32]) + Sync,
{
    let n = check_x::<M>(&x)?;
    if states.len() != n {
        return Err(Error::StateCount {
            samples: n,
            states: states.len(),
        });
    }
    let width = output_len::<M>();
    let mut out = vec![0.0f32; n * width];
    let mut finals = states.to_vec();
    out.par_chunks_mut(width.max(1))
        .zip(finals.par_iter_mut())
        .enumerate()
        .for_each_init(Vec::new, |xb, (i, (o, state))| {
            gather(&x, &[i], xb);
            run(xb, state, o);
        });
    Ok((output_array::<M>(n, out)?, finals))
}

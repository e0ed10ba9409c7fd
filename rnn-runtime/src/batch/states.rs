//! Batches that start from given recurrent states and hand back the states they end
//! in: the chunks of truncated BPTT (PyTorch's loop that detaches the state between
//! chunks, Keras's `stateful=True`), and series longer than a model's `T` cut into
//! such chunks.

use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn};

use super::compute::{check_x, check_y, reading, Gathered, Labelled};
use super::grads::Grads;
use super::lengths::spans;
use super::shards::{Objective, ShardedGrads};
use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::metrics::MetricSums;
use crate::model::{output_len, InputElement, Network};

/// Refuses a model that cannot carry a state from one call to the next.
pub(crate) fn check_carries_state<M: Network>() -> Result<()> {
    if M::STATE_VALUES == 0 {
        return Err(Error::Config(
            "a model with a bidirectional layer cannot carry its state from one chunk to \
             the next (its reverse direction starts at each chunk's end); train it on whole \
             sequences"
                .into(),
        ));
    }
    Ok(())
}

/// Checks `states` against `n` samples: `STATE_VALUES` values each.
fn check_states<M: Network>(n: usize, states: &[f32]) -> Result<()> {
    check_carries_state::<M>()?;
    if states.len() != n * M::STATE_VALUES {
        return Err(Error::StateCount {
            samples: n,
            states: states.len() / M::STATE_VALUES,
        });
    }
    Ok(())
}

/// One chunk of truncated BPTT: `loss` of `(x, y)` (`[n, T, …]` like
/// [`loss_and_grads`](crate::loss_and_grads)'s, with optional `lengths` as
/// [`loss_and_grads_lengths`](crate::loss_and_grads_lengths)'s) run from each sample's
/// initial state in `states` (`[n, STATE_VALUES]`, see
/// [`Network::STATE_VALUES`]), its gradient for every parameter, and each sample's state
/// after its last step, in the same layout. No gradient flows into the given states:
/// they are detached, as PyTorch's `h.detach()` between chunks.
///
/// The generated `loss_and_grads_from` is this call with the model's state type; with
/// it and [`Optimizer::step`](crate::Optimizer::step) a truncated-BPTT loop is a few
/// lines:
///
/// ```
/// use rnn_runtime::ndarray::{s, Array3};
/// use rnn_runtime::{model, Adam, Optimizer};
///
/// model! { struct Net < input(5, 1), lstm(4, return_sequences = true), dense(1) > }
///
/// # fn main() -> rnn_runtime::Result<()> {
/// // Two series of 20 steps, the target the next value: four chunks of 5 steps.
/// let series = Array3::from_shape_fn((2, 21, 1), |(i, t, _)| ((t + 3 * i) as f32 * 0.4).sin());
/// let (x, y) = (series.slice(s![.., ..20, ..]), series.slice(s![.., 1.., ..]));
/// let (mut net, mut adam) = (Net::new(0), Adam::new(1e-2));
/// let mut states = vec![NetState::new(); 2];
/// for k in 0..4 {
///     let chunk = s![.., 5 * k..5 * (k + 1), ..];
///     let (loss, grads, next) = net.loss_and_grads_from(x.slice(chunk), y.slice(chunk), &states, k as u64)?;
///     adam.step(&mut net, &grads)?;
///     states = next; // carried, detached, into the next chunk
///     assert!(loss.is_finite());
/// }
/// # Ok(())
/// # }
/// ```
pub fn loss_and_grads_from<M: Network>(
    model: &M,
    x: ArrayViewD<'_, M::Input>,
    y: ArrayViewD<'_, f32>,
    lengths: Option<&[usize]>,
    states: &[f32],
    loss: Loss,
    dropout_seed: u64,
) -> Result<(f32, Grads, Vec<f32>)> {
    let reading = reading::<M>(loss)?;
    let n = check_x::<M>(&x)?;
    let y = check_y::<M>(n, y, loss)?;
    if n == 0 {
        return Err(Error::Empty("x"));
    }
    check_states::<M>(n, states)?;
    let spans = spans::<M>(&x, lengths)?;
    let idx: Vec<usize> = (0..n).collect();
    let data = Labelled {
        x,
        y,
        weights: None,
        spans: spans.as_deref(),
        states: Some(states),
    };
    let mut gathered = Gathered::default();
    let mut sharded = ShardedGrads::<M>::new();
    let mut grads = Grads::zeros::<M>();
    let objective = Objective {
        loss,
        reading,
        metrics: &[],
    };
    let batch = gathered.fill::<M>(&data, &idx);
    let value = sharded.loss_and_grads(
        model,
        &batch,
        objective,
        dropout_seed,
        grads.as_mut_slice(),
        &mut MetricSums::new(0),
    );
    let width = M::STATE_VALUES;
    let mut in_batch = vec![0.0; n * width];
    sharded.final_states(n, &mut in_batch);
    let mut finals = vec![0.0; n * width];
    for (k, &i) in gathered.order(&idx).iter().enumerate() {
        finals[i * width..(i + 1) * width].copy_from_slice(&in_batch[k * width..(k + 1) * width]);
    }
    Ok((value, grads, finals))
}

/// Samples per chunk of a series' forward pass, as in `forward`.
const SAMPLES: usize = 64;

/// The forward pass of `x` (`[n, T, …]`, every sample `len` steps long, `len <= T`)
/// from `states`, which hold each sample's state after it on return; inference mode.
fn forward_chunk<M: Network>(
    model: &M,
    x: &[M::Input],
    n: usize,
    len: usize,
    states: &mut [f32],
) -> Vec<f32> {
    let (x_row, width, out_row) = (
        M::TIMESTEPS * M::FEATURES,
        M::STATE_VALUES,
        output_len::<M>(),
    );
    let mut out = vec![0.0; n * out_row];
    let mut ws = M::Workspace::default();
    let lengths = vec![len; SAMPLES.min(n)];
    for start in (0..n).step_by(SAMPLES) {
        let end = (start + SAMPLES).min(n);
        let count = end - start;
        let lengths = (len < M::TIMESTEPS).then_some(&lengths[..count]);
        let block = &mut states[start * width..end * width];
        M::set_initial_states(&mut ws, Some(block));
        let y = model.forward_batch(
            &x[start * x_row..end * x_row],
            count,
            lengths,
            None,
            &mut ws,
        );
        out[start * out_row..end * out_row].copy_from_slice(y);
        M::final_states(&ws, block);
    }
    out
}

/// The samples of a series input `x` (`[n, L, …]`) and its length `L`, checked
/// against the model's input apart from the number of steps.
pub(crate) fn check_series<M: Network>(x: &ArrayViewD<'_, M::Input>) -> Result<(usize, usize)> {
    check_carries_state::<M>()?;
    let ndim = if M::VOCAB > 0 { 2 } else { 3 };
    let features_ok = M::VOCAB > 0 || x.shape().get(2) == Some(&M::FEATURES);
    if x.ndim() != ndim || !features_ok || x.shape()[1] == 0 {
        let expected = match M::VOCAB {
            0 => format!("[series, steps, {}] (any number of steps)", M::FEATURES),
            _ => "[series, steps] (any number of steps)".to_owned(),
        };
        return Err(Error::Shape {
            what: "x",
            expected,
            got: x.shape().to_vec(),
        });
    }
    if M::ARCHITECTURE.padding.is_some() {
        return Err(Error::Config(
            "series of a model that reads its lengths from padding (masking, mask_zero) are \
             not supported: a series is cut into chunks, and a chunk of padding only has no \
             steps to run; give series without padding"
                .into(),
        ));
    }
    Ok((x.shape()[0], x.shape()[1]))
}

/// Chunk `k` of a series `x` (`[n, L, …]`) as a contiguous `[n, T, …]` block, padded
/// with zeros after the series' end, and its number of valid steps.
pub(crate) fn chunk<M: Network>(
    x: &ArrayViewD<'_, M::Input>,
    k: usize,
    out: &mut Vec<M::Input>,
) -> usize {
    let (n, steps, t) = (x.shape()[0], x.shape()[1], M::TIMESTEPS);
    let part = x.slice_axis(Axis(1), (k * t..((k + 1) * t).min(steps)).into());
    let len = part.shape()[1];
    let row = M::FEATURES;
    out.clear();
    out.resize(n * t * row, M::Input::default());
    for (i, sample) in part.axis_iter(Axis(0)).enumerate() {
        for (j, v) in sample.iter().enumerate() {
            out[i * t * row + j] = *v;
        }
    }
    len
}

/// The model's outputs over series `x` (`[n, L, F]`, or `[n, L]` token ids) longer
/// (or shorter) than its `T`: the series are cut into consecutive chunks of `T` steps
/// (the last one shorter if `T` does not divide `L`) and each sample's state is carried
/// from chunk to chunk, so that the result is what the model's stream gives, pushed the
/// whole series step by step. Returns `[n, L, OUTPUTS]` for a sequence output, else
/// `[n, OUTPUTS]` after each series' last step. Inference mode.
///
/// ```
/// use rnn_runtime::ndarray::Array3;
/// use rnn_runtime::model;
///
/// model! { struct Net < input(4, 1), gru(3, return_sequences = true), dense(1) > }
///
/// let net = Net::new(0);
/// let x = Array3::from_shape_fn((2, 10, 1), |(i, t, _)| (i as f32 + t as f32 * 0.3).cos());
/// let y = net.predict_series(&x).unwrap();
/// assert_eq!(y.shape(), [2, 10, 1]);
/// // Step by step, the stream gives the same outputs.
/// let mut stream = net.stream();
/// for t in 0..10 {
///     let out = stream.push(&[x[[1, t, 0]]]);
///     assert!((out[0] - y[[1, t, 0]]).abs() < 1e-5);
/// }
/// ```
pub fn predict_series<M: Network>(model: &M, x: ArrayViewD<'_, M::Input>) -> Result<ArrayD<f32>> {
    let (n, steps) = check_series::<M>(&x)?;
    M::Input::check_values(&x, steps, M::VOCAB)?;
    let t = M::TIMESTEPS;
    let chunks = steps.div_ceil(t);
    let mut states = vec![0.0; n * M::STATE_VALUES];
    let sequence = M::OUTPUT_STEPS > 1 || M::ARCHITECTURE.sequence_output;
    let outputs = M::OUTPUTS;
    let mut out = if sequence {
        ArrayD::zeros(IxDyn(&[n, steps, outputs]))
    } else {
        ArrayD::zeros(IxDyn(&[n, outputs]))
    };
    let mut xb = Vec::new();
    for k in 0..chunks {
        let len = chunk::<M>(&x, k, &mut xb);
        let y = forward_chunk(model, &xb, n, len, &mut states);
        let out = out.as_slice_mut().expect("a new array is contiguous");
        if sequence {
            // `y` is `[n, T, OUTPUTS]`; its first `len` steps go to steps `k·T…`.
            let per_step = len * outputs;
            for i in 0..n {
                let to = (i * steps + k * t) * outputs;
                out[to..to + per_step].copy_from_slice(&y[i * t * outputs..][..per_step]);
            }
        } else if k + 1 == chunks {
            out.copy_from_slice(&y);
        }
    }
    Ok(out)
}

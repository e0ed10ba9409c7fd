//! Data-parallel gradients: a batch split into shards, each run on its own thread,
//! reduced in a fixed order.
//!
//! How a batch is split depends only on its size, never on the number of threads,
//! and the shards' gradients are always added in shard order, so training gives
//! bit-identical results with one thread or many.

use rayon::prelude::*;

use crate::dropout::MaskKey;
use crate::kernels::ensure;
use crate::loss::{Loss, Reading};
use crate::metrics::{Metric, MetricSums, Scores};
use crate::model::{output_len, Network};

/// A batch is split into shards of at least this many samples...
const SHARD_ROWS: usize = 16;
/// ...and into at most this many shards.
pub(crate) const MAX_SHARDS: usize = 8;

/// Number of shards for a batch of `batch` samples.
pub(crate) fn shard_count(batch: usize) -> usize {
    (batch / SHARD_ROWS).clamp(1, MAX_SHARDS)
}

/// One shard's work buffers, kept from batch to batch.
struct Shard<M: Network> {
    ws: M::Workspace,
    grads: Vec<f32>,
    d_out: Vec<f32>,
    /// Per output row weights (a sample's weight repeated over its output steps).
    row_weights: Vec<f32>,
    loss_sum: f64,
    metric_sums: MetricSums,
}

/// What one batch trains on, batch-major and contiguous.
pub(crate) struct Batch<'a, M: Network> {
    /// `[batch, T, F]` inputs (or `[batch, T]` token ids).
    pub x: &'a [M::Input],
    /// Targets, `[batch, OUTPUT_STEPS, target width]`.
    pub y: &'a [f32],
    /// One weight per sample, or `None` for weight 1 (Keras's `sample_weight`).
    pub weights: Option<&'a [f32]>,
    /// Each sample's length, longest first, its steps starting at step 0 of `x` (and
    /// of `y` for a sequence output); `None` when every sample has all steps.
    pub lengths: Option<&'a [usize]>,
    /// Each sample's initial state, `[batch, STATE_VALUES]`; `None`: the zero state.
    pub states: Option<&'a [f32]>,
    /// Number of samples.
    pub len: usize,
}

impl<M: Network> Batch<'_, M> {
    /// Output rows the loss averages over: every sample's output steps, or for a
    /// sequence output of samples of varying lengths only their valid steps.
    pub(crate) fn valid_rows(&self) -> usize {
        match self.lengths {
            Some(lengths) if M::OUTPUT_STEPS > 1 => lengths.iter().sum(),
            _ => self.len * M::OUTPUT_STEPS,
        }
    }
}

/// Fills `out` with one weight per output row of the samples `rows` of `batch`: the
/// sample's weight (1 without weights), 0 at the padded steps of a sequence output;
/// `None` when every row has weight 1.
pub(crate) fn row_weights<'o, M: Network>(
    batch: &Batch<'_, M>,
    rows: core::ops::Range<usize>,
    out: &'o mut Vec<f32>,
) -> Option<&'o [f32]> {
    let padded = batch.lengths.is_some() && M::OUTPUT_STEPS > 1;
    if batch.weights.is_none() && !padded {
        return None;
    }
    out.clear();
    for i in rows {
        let w = batch.weights.map_or(1.0, |w| w[i]);
        let valid = match batch.lengths {
            Some(lengths) if padded => lengths[i],
            _ => M::OUTPUT_STEPS,
        };
        out.extend((0..M::OUTPUT_STEPS).map(|t| if t < valid { w } else { 0.0 }));
    }
    Some(&out[..])
}

/// The loss a batch is trained with, how it reads the model's output, and the
/// (resolved) metrics computed on the way.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Objective<'a> {
    pub loss: Loss,
    pub reading: Reading,
    pub metrics: &'a [Metric],
}

/// Loss and gradients of whole batches, computed shard by shard in parallel.
pub(crate) struct ShardedGrads<M: Network> {
    shards: Vec<Shard<M>>,
}

impl<M: Network> ShardedGrads<M> {
    /// Buffers grow on the first batch and are reused by every later one.
    pub(crate) fn new() -> Self {
        ShardedGrads { shards: Vec::new() }
    }

    /// Each sample's state after the last [`loss_and_grads`](Self::loss_and_grads) of a
    /// batch of `batch` samples, into `out` (`[batch, STATE_VALUES]`, the batch's order).
    pub(crate) fn final_states(&self, batch: usize, out: &mut [f32]) {
        let (count, width) = (shard_count(batch), M::STATE_VALUES);
        for (i, shard) in self.shards[..count].iter().enumerate() {
            let rows = i * batch / count..(i + 1) * batch / count;
            M::final_states(&shard.ws, &mut out[rows.start * width..rows.end * width]);
        }
    }

    /// The objective's loss on `batch`, and its gradient for every parameter written
    /// into `grads`; the objective's metrics of the batch are added to `metric_sums`.
    /// Training mode: sample `i` of the batch draws its dropout masks from
    /// `dropout_seed` and its index `i`, whatever shard it falls in.
    pub(crate) fn loss_and_grads(
        &mut self,
        model: &M,
        batch: &Batch<'_, M>,
        objective: Objective<'_>,
        dropout_seed: u64,
        grads: &mut [f32],
        metric_sums: &mut MetricSums,
    ) -> f32 {
        let metrics = objective.metrics;
        let scores = Scores::of(objective.loss);
        let Batch {
            x,
            y,
            lengths,
            states,
            len: batch_len,
            ..
        } = *batch;
        let state_row = M::STATE_VALUES;
        let loss = objective.loss;
        let logits = objective.reading == Reading::Logits;
        let count = shard_count(batch_len);
        while self.shards.len() < count {
            self.shards.push(Shard {
                ws: M::Workspace::default(),
                grads: vec![0.0; M::PARAMS],
                d_out: Vec::new(),
                row_weights: Vec::new(),
                loss_sum: 0.0,
                metric_sums: MetricSums::new(metrics.len()),
            });
        }
        let x_row = M::TIMESTEPS * M::FEATURES;
        let out_row = output_len::<M>();
        let y_row = M::OUTPUT_STEPS * loss.target_width(M::OUTPUTS);
        // The gradient of the mean over the whole batch (its valid steps).
        let denominator = loss.denominator(batch.valid_rows(), M::OUTPUTS).max(1);
        let scale = 1.0 / denominator as f32;
        let run = |(i, shard): (usize, &mut Shard<M>)| {
            let rows = i * batch_len / count..(i + 1) * batch_len / count;
            let len = rows.len();
            let key = MaskKey {
                seed: dropout_seed,
                first_sample: rows.start,
            };
            M::output_logits(&mut shard.ws, logits);
            let initial = states.map(|s| &s[rows.start * state_row..rows.end * state_row]);
            M::set_initial_states(&mut shard.ws, initial);
            let out = model.forward_batch(
                &x[rows.start * x_row..rows.end * x_row],
                len,
                lengths.map(|l| &l[rows.clone()]),
                Some(key),
                &mut shard.ws,
            );
            let target = &y[rows.start * y_row..rows.end * y_row];
            let d_out = ensure(&mut shard.d_out, len * out_row);
            let row_weights = row_weights(batch, rows.clone(), &mut shard.row_weights);
            if shard.metric_sums.len() == metrics.len() {
                shard.metric_sums.clear();
            } else {
                shard.metric_sums = MetricSums::new(metrics.len());
            }
            shard
                .metric_sums
                .observe(metrics, scores, out, target, M::OUTPUTS, row_weights);
            shard.loss_sum = match row_weights {
                None => loss.sum_and_grad(out, target, M::OUTPUTS, scale, Some(d_out)),
                Some(w) => {
                    loss.weighted_sum_and_grad(out, target, M::OUTPUTS, scale, w, Some(d_out))
                }
            };
            shard.grads.fill(0.0);
            model.backward_batch(d_out, &mut shard.ws, &mut shard.grads);
        };
        let shards = &mut self.shards[..count];
        if count == 1 || rayon::current_num_threads() == 1 {
            // The same shards in the same order; only no hand-off to a pool thread.
            shards.iter_mut().enumerate().for_each(run);
        } else {
            shards.par_iter_mut().enumerate().for_each(run);
        }
        grads.copy_from_slice(&shards[0].grads);
        for shard in &shards[1..] {
            grads
                .iter_mut()
                .zip(&shard.grads)
                .for_each(|(g, s)| *g += s);
        }
        for shard in shards.iter() {
            metric_sums.add(&shard.metric_sums);
        }
        let sum: f64 = shards.iter().map(|s| s.loss_sum).sum();
        (sum / denominator as f64) as f32
    }
}

//! Data-parallel gradients: a batch split into shards, each run on its own thread,
//! reduced in a fixed order.
//!
//! How a batch is split depends only on its size, never on the number of threads,
//! and the shards' gradients are always added in shard order, so training gives
//! bit-identical results with one thread or many.

use rayon::prelude::*;

use crate::dropout::MaskKey;
use crate::layers::ensure;
use crate::loss::Loss;
use crate::network::{output_len, Network};

/// A batch is split into shards of at least this many samples...
const SHARD_ROWS: usize = 16;
/// ...and into at most this many shards.
const MAX_SHARDS: usize = 8;

/// Number of shards for a batch of `batch` samples.
pub(crate) fn shard_count(batch: usize) -> usize {
    (batch / SHARD_ROWS).clamp(1, MAX_SHARDS)
}

/// One shard's work buffers, kept from batch to batch.
struct Shard<M: Network> {
    ws: M::Workspace,
    grads: Vec<f32>,
    d_out: Vec<f32>,
    loss_sum: f64,
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

    /// `loss` of the batch-major block `x` (`batch` samples) against `y`, and its
    /// gradient for every parameter written into `grads`. Training mode: sample `i` of
    /// the batch draws its dropout masks from `dropout_seed` and its index `i`,
    /// whatever shard it falls in.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn loss_and_grads(
        &mut self,
        model: &M,
        x: &[M::Input],
        y: &[f32],
        batch: usize,
        loss: Loss,
        dropout_seed: u64,
        grads: &mut [f32],
    ) -> f32 {
        let count = shard_count(batch);
        while self.shards.len() < count {
            self.shards.push(Shard {
                ws: M::Workspace::default(),
                grads: vec![0.0; M::PARAMS],
                d_out: Vec::new(),
                loss_sum: 0.0,
            });
        }
        let x_row = M::TIMESTEPS * M::FEATURES;
        let out_row = output_len::<M>();
        let y_row = M::OUTPUT_STEPS * loss.target_width(M::OUTPUTS);
        // The gradient of the mean over the whole batch.
        let denominator = loss.denominator(batch * M::OUTPUT_STEPS, M::OUTPUTS).max(1);
        let scale = 1.0 / denominator as f32;
        let run = |(i, shard): (usize, &mut Shard<M>)| {
            let rows = i * batch / count..(i + 1) * batch / count;
            let len = rows.len();
            let key = MaskKey {
                seed: dropout_seed,
                first_sample: rows.start,
            };
            let out = model.forward_batch(
                &x[rows.start * x_row..rows.end * x_row],
                len,
                Some(key),
                &mut shard.ws,
            );
            let target = &y[rows.start * y_row..rows.end * y_row];
            let d_out = ensure(&mut shard.d_out, len * out_row);
            shard.loss_sum = loss.sum_and_grad(out, target, M::OUTPUTS, scale, Some(d_out));
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
        let sum: f64 = shards.iter().map(|s| s.loss_sum).sum();
        (sum / denominator as f64) as f32
    }
}

//! Data-parallel gradients: a batch split into shards, each run on its own thread,
//! reduced in a fixed order.
//!
//! How a batch is split depends only on its size, never on the number of threads,
//! and the shards' gradients are always added in shard order, so training gives
//! bit-identical results with one thread or many.

use rayon::prelude::*;

use crate::layers::ensure;
use crate::network::Network;

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
    squared_error: f64,
}

/// MSE loss and gradients of whole batches, computed shard by shard in parallel.
pub(crate) struct ShardedGrads<M: Network> {
    shards: Vec<Shard<M>>,
}

impl<M: Network> ShardedGrads<M> {
    /// Buffers grow on the first batch and are reused by every later one.
    pub(crate) fn new() -> Self {
        ShardedGrads { shards: Vec::new() }
    }

    /// MSE of the batch-major `[batch, T, F]` block `x` against `y` (`[batch,
    /// OUTPUTS]`), and its gradient for every parameter written into `grads`.
    pub(crate) fn loss_and_grads(
        &mut self,
        model: &M,
        x: &[f32],
        y: &[f32],
        batch: usize,
        grads: &mut [f32],
    ) -> f32 {
        let count = shard_count(batch);
        while self.shards.len() < count {
            self.shards.push(Shard {
                ws: M::Workspace::default(),
                grads: vec![0.0; M::PARAMS],
                d_out: Vec::new(),
                squared_error: 0.0,
            });
        }
        let (x_row, y_row) = (M::TIMESTEPS * M::FEATURES, M::OUTPUTS);
        // d mean((out - y)²) / d out, for the mean over the whole batch.
        let scale = 2.0 / (batch * y_row).max(1) as f32;
        let run = |(i, shard): (usize, &mut Shard<M>)| {
            let rows = i * batch / count..(i + 1) * batch / count;
            let len = rows.len();
            let out =
                model.forward_batch(&x[rows.start * x_row..rows.end * x_row], len, &mut shard.ws);
            let target = &y[rows.start * y_row..rows.end * y_row];
            let d_out = ensure(&mut shard.d_out, len * y_row);
            let mut squared = 0.0f64;
            for ((d, &p), &t) in d_out.iter_mut().zip(out).zip(target) {
                let e = p - t;
                *d = scale * e;
                squared += f64::from(e) * f64::from(e);
            }
            shard.squared_error = squared;
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
        let squared: f64 = shards.iter().map(|s| s.squared_error).sum();
        (squared / (batch * y_row).max(1) as f64) as f32
    }
}

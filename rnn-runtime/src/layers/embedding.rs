//! Token embedding as PyTorch's `nn.Embedding`: id `i` maps to row `i` of `weight`.
//!
//! Ids are checked against the vocabulary with [`check_ids`] before a batch reaches
//! the kernels. The kernels themselves stay total, because `Network::forward_batch`
//! can be called directly: an id `>= V` reads as a zero row and receives no gradient.

#[cfg(feature = "std")]
use super::ensure;
use super::tensor::{Stored, Tensor};
use crate::error::{Error, Result};
#[cfg(feature = "std")]
use crate::init::random_uniform;
#[cfg(feature = "std")]
use crate::rng::Rng;

/// Keras's default `Embedding` initialiser draws from `U(-0.05, 0.05)`.
#[cfg(feature = "std")]
const INIT_LIMIT: f64 = 0.05;

/// An embedding of a vocabulary of `V` tokens into `D` dimensions.
#[derive(Clone, Debug, PartialEq)]
pub struct EmbeddingLayer<const V: usize, const D: usize> {
    /// `weight [V, D]`: row `i` is the vector of token `i`.
    weight: Stored<[[f32; D]; V]>,
}

/// Work buffers of an [`EmbeddingLayer`], sized on first use.
#[cfg(feature = "std")]
#[derive(Clone, Debug, Default)]
pub struct EmbeddingBuffers {
    steps: usize,
    batch: usize,
    width: usize,
    /// Embedded sequence `[T, B, D]`.
    y: Vec<f32>,
}

#[cfg(feature = "std")]
impl EmbeddingBuffers {
    /// Output of the last forward pass, time-major `[T, B, D]`.
    pub fn output(&self) -> &[f32] {
        &self.y[..self.steps * self.batch * self.width]
    }
}

/// Checks that every id of a batch-major `[batch, steps]` block is below `vocab`.
///
/// The error names the first offending sample (its index in `ids`), step and id.
pub fn check_ids(ids: &[u32], steps: usize, vocab: usize) -> Result<()> {
    match ids.iter().position(|&id| id as usize >= vocab) {
        None => Ok(()),
        Some(at) => Err(Error::TokenOutOfRange {
            // `at` exists, so `ids` is non-empty and `steps` cannot be zero for any
            // real block; `max(1)` keeps a malformed call from dividing by zero.
            sample: at / steps.max(1),
            step: at % steps.max(1),
            id: ids[at],
            vocab,
        }),
    }
}

impl<const V: usize, const D: usize> EmbeddingLayer<V, D> {
    /// Number of scalar parameters: `V·D`.
    pub const PARAMS: usize = V * D;

    /// Keras's initialisation: every weight uniform in `[-0.05, 0.05)`.
    #[cfg(feature = "std")]
    pub fn init(rng: &mut Rng) -> Self {
        let weight = random_uniform(rng, -INIT_LIMIT, INIT_LIMIT, V * D);
        EmbeddingLayer {
            weight: super::tensor::matrix::<D, V>(&weight),
        }
    }

    /// The layer whose `PARAMS` values (`weight`, row-major) are the little-endian
    /// `f32`s at byte offset `at` of `bytes`: a `const fn` without `std`, so that a
    /// model's weights can live in flash.
    ///
    /// # Panics
    /// If `bytes` is shorter than `at + 4 · PARAMS`.
    #[cfg(not(feature = "std"))]
    pub const fn from_le_bytes(bytes: &[u8], at: usize) -> Self {
        EmbeddingLayer {
            weight: super::tensor::matrix_le::<D, V>(bytes, at),
        }
    }

    /// The layer whose `PARAMS` values (`weight`, row-major) are the little-endian
    /// `f32`s at byte offset `at` of `bytes`: a `const fn` without `std`, so that a
    /// model's weights can live in flash.
    ///
    /// # Panics
    /// If `bytes` is shorter than `at + 4 · PARAMS`.
    #[cfg(feature = "std")]
    pub fn from_le_bytes(bytes: &[u8], at: usize) -> Self {
        use super::tensor::{decode_le, matrix};
        EmbeddingLayer {
            weight: matrix::<D, V>(&decode_le(bytes, at, Self::PARAMS)),
        }
    }

    /// The row of token `id`, or `None` when `id >= V`.
    pub fn row(&self, id: u32) -> Option<&[f32; D]> {
        self.weight.get(id as usize)
    }

    #[cfg(feature = "std")]
    /// Looks up a time-major `[steps, batch]` block of ids; the output `[T, B, D]` is
    /// [`EmbeddingBuffers::output`]. An id `>= V` gives a zero row.
    pub fn forward_seq(
        &self,
        ids: &[u32],
        steps: usize,
        batch: usize,
        bufs: &mut EmbeddingBuffers,
    ) {
        bufs.steps = steps;
        bufs.batch = batch;
        bufs.width = D;
        let rows = steps * batch;
        let y = ensure(&mut bufs.y, rows * D);
        if D == 0 {
            return;
        }
        for (out, &id) in y.chunks_exact_mut(D).zip(&ids[..rows]) {
            match self.row(id) {
                Some(row) => out.copy_from_slice(row),
                None => out.fill(0.0),
            }
        }
    }

    #[cfg(feature = "std")]
    /// Backward pass after [`forward_seq`](Self::forward_seq) on the same buffers and
    /// ids: adds `d_out` (`[T, B, D]`) row by row into the rows of `grads` (this
    /// layer's `PARAMS` values, `weight [V, D]`) that the ids selected. Ids `>= V`
    /// contribute nothing. Ids are not differentiable, so there is no input gradient.
    pub fn backward_seq(
        &self,
        ids: &[u32],
        d_out: &[f32],
        grads: &mut [f32],
        bufs: &EmbeddingBuffers,
    ) {
        assert_eq!(
            grads.len(),
            Self::PARAMS,
            "gradient block of an embedding layer"
        );
        let rows = bufs.steps * bufs.batch;
        if D == 0 {
            return;
        }
        for (d, &id) in d_out[..rows * D].chunks_exact(D).zip(&ids[..rows]) {
            if (id as usize) < V {
                let g = &mut grads[id as usize * D..(id as usize + 1) * D];
                g.iter_mut().zip(d).for_each(|(g, d)| *g += d);
            }
        }
    }

    /// Copies the vector of token `id` into `out`, for allocation-free single-sample
    /// inference; an id `>= V` gives zeros.
    pub fn forward_one(&self, id: u32, out: &mut [f32; D]) {
        match self.row(id) {
            Some(row) => out.copy_from_slice(row),
            None => out.fill(0.0),
        }
    }

    /// Calls `f` on `weight`.
    pub fn visit(&self, f: &mut dyn FnMut(&[f32])) {
        f(self.weight.flat());
    }

    /// Calls `f` on `weight`, mutably.
    pub fn visit_mut(&mut self, f: &mut dyn FnMut(&mut [f32])) {
        f(self.weight.flat_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: usize = 7;
    const D: usize = 3;

    fn layer(seed: u64) -> EmbeddingLayer<V, D> {
        EmbeddingLayer::init(&mut Rng::new(seed))
    }

    #[test]
    fn init_is_seeded_and_within_keras_limits() {
        let a = layer(3);
        assert_eq!(a, layer(3));
        assert_ne!(a, layer(4));
        let mut n = 0;
        a.visit(&mut |w| {
            n += w.len();
            assert!(w.iter().all(|v| v.abs() <= 0.05));
            assert!(w.iter().any(|v| v.abs() > 0.03));
        });
        assert_eq!(n, EmbeddingLayer::<V, D>::PARAMS);
    }

    #[test]
    fn forward_looks_up_rows_in_time_major_order() {
        let emb = layer(1);
        let mut w = Vec::new();
        emb.visit(&mut |v| w.extend_from_slice(v));
        // [T = 2, B = 3], with a repeated id and an out-of-range one (a zero row).
        let ids = [4, 0, 6, 4, 9, 2];
        let mut bufs = EmbeddingBuffers::default();
        emb.forward_seq(&ids, 2, 3, &mut bufs);
        let y = bufs.output();
        assert_eq!(y.len(), 6 * D);
        for (r, &id) in ids.iter().enumerate() {
            let got = &y[r * D..(r + 1) * D];
            if (id as usize) < V {
                assert_eq!(got, &w[id as usize * D..(id as usize + 1) * D]);
            } else {
                assert_eq!(got, [0.0; D]);
            }
        }
        let mut one = [f32::NAN; D];
        emb.forward_one(6, &mut one);
        assert_eq!(one[..], w[6 * D..7 * D]);
        emb.forward_one(u32::MAX, &mut one);
        assert_eq!(one, [0.0; D]);
        assert_eq!(emb.row(V as u32), None);
    }

    #[test]
    fn buffers_are_reused_across_shapes() {
        let emb = layer(2);
        let mut bufs = EmbeddingBuffers::default();
        emb.forward_seq(&[1; 12], 4, 3, &mut bufs);
        let cap = bufs.y.capacity();
        emb.forward_seq(&[2; 4], 2, 2, &mut bufs);
        assert_eq!(bufs.output().len(), 4 * D);
        assert_eq!(bufs.y.capacity(), cap);
        assert_eq!(bufs.output()[..D], emb.row(2).unwrap()[..]);
    }

    #[test]
    fn backward_scatter_adds_and_matches_finite_differences() {
        // L = Σ c ⊙ forward(ids) for a random c; dL/dweight by the kernel against a
        // central difference of L in every weight (L is linear, so f64 sums make the
        // difference exact up to rounding of the perturbed weight).
        let mut emb = layer(5);
        let (steps, batch) = (4, 3);
        let ids = [1, 3, 1, 1, 0, 3, 5, 1, 12, 3, 0, 1];
        let mut rng = Rng::new(8);
        let c: Vec<f32> = (0..steps * batch * D)
            .map(|_| rng.uniform(-1.0, 1.0) as f32)
            .collect();
        let mut bufs = EmbeddingBuffers::default();
        emb.forward_seq(&ids, steps, batch, &mut bufs);
        let mut grads = vec![0.25; EmbeddingLayer::<V, D>::PARAMS];
        emb.backward_seq(&ids, &c, &mut grads, &bufs);

        let loss = |emb: &EmbeddingLayer<V, D>, bufs: &mut EmbeddingBuffers| -> f64 {
            emb.forward_seq(&ids, steps, batch, bufs);
            bufs.output()
                .iter()
                .zip(&c)
                .map(|(&y, &c)| f64::from(y) * f64::from(c))
                .sum()
        };
        let h = 1e-2f32;
        for p in 0..EmbeddingLayer::<V, D>::PARAMS {
            let mut at = |delta: f32| {
                emb.visit_mut(&mut |w| w[p] += delta);
                let l = loss(&emb, &mut bufs);
                emb.visit_mut(&mut |w| w[p] -= delta);
                l
            };
            let numeric = (at(h) - at(-h)) / (2.0 * f64::from(h));
            // The kernel added to the 0.25 already there.
            let analytic = f64::from(grads[p]) - 0.25;
            assert!(
                (analytic - numeric).abs() <= 1e-4 + 1e-3 * numeric.abs(),
                "weight {p}: kernel {analytic}, finite difference {numeric}"
            );
        }
        // Token 1 appears five times: its gradient row is the sum of five rows of c.
        let want: f32 = [0, 2, 3, 7, 11].iter().map(|r| c[r * D]).sum();
        assert!((grads[D] - 0.25 - want).abs() < 1e-6);
        // Tokens never seen (2, 4, 6) get nothing; the out-of-range 12 is dropped.
        for id in [2, 4, 6] {
            assert!(grads[id * D..(id + 1) * D].iter().all(|&g| g == 0.25));
        }
    }

    #[test]
    fn check_ids_names_sample_step_and_id() {
        // Batch-major [3, 4].
        let ids = [0, 1, 2, 3, 4, 5, 6, 0, 1, 7, 2, 9];
        match check_ids(&ids, 4, 7) {
            Err(Error::TokenOutOfRange {
                sample,
                step,
                id,
                vocab,
            }) => assert_eq!((sample, step, id, vocab), (2, 1, 7, 7)),
            other => panic!("expected TokenOutOfRange, got {other:?}"),
        }
        let msg = check_ids(&ids, 4, 7).unwrap_err().to_string();
        assert!(msg.contains("sample 2, step 1: token id 7"), "{msg}");
        assert!(check_ids(&ids, 4, 10).is_ok());
        assert!(check_ids(&[], 0, 1).is_ok());
    }
}

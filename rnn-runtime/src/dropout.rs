//! Dropout masks: inverted dropout with masks drawn from a counter-based key, so that
//! a sample's mask depends only on (seed, layer, site, sample index) — never on how a
//! batch is split into shards or on the number of threads.
//!
//! The stream is part of the library's contract (the parity fixtures replicate it in
//! Python, `tests/fixtures/gen/common.py`): key
//! `k = mix(mix(mix(mix(seed) ^ layer) ^ site) ^ sample)` with `mix(x)` the first
//! output of SplitMix64 seeded with `x`; element `j` of the mask takes the `j`-th
//! output `bits` of SplitMix64 seeded with `k`, `u = (bits >> 40) / 2^24`, and is `0`
//! when `u < rate`, else `1 / (1 - rate)`.

use crate::rng::Rng;

/// Where in a layer a mask applies; part of the mask's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaskSite {
    /// A `dropout(rate)` layer, or a recurrent layer's input (`dropout = rate`).
    Input = 0,
    /// A recurrent layer's previous hidden state (`recurrent_dropout = rate`).
    Recurrent = 1,
    /// The input of a bidirectional layer's reverse direction.
    ReverseInput = 2,
    /// The previous hidden state of a bidirectional layer's reverse direction.
    ReverseRecurrent = 3,
}

/// One SplitMix64 output for state `x`.
fn mix(x: u64) -> u64 {
    Rng::new(x).next_u64()
}

/// Which masks a training pass draws: the step's dropout seed and where the rows of
/// this call sit in the whole batch.
///
/// A shard of a batch passes the batch index of its first row, so that every sample
/// gets the mask it would get in an unsharded run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaskKey {
    /// The step's dropout seed, e.g. from [`step_seed`].
    pub seed: u64,
    /// Index within the whole batch of the first sample passed.
    pub first_sample: usize,
}

/// One sample's mask as an endless stream of elements: the `j`-th item is element `j`
/// of the mask [`dropout_mask`] writes for the same key.
///
/// Lets a kernel scatter a mask straight into a strided layout (a time-major sequence)
/// without a per-sample scratch buffer.
#[derive(Clone, Debug)]
pub struct MaskStream {
    rng: Rng,
    rate: f32,
    keep: f32,
}

impl MaskStream {
    /// The stream of the mask keyed by (`seed`, `layer`, `site`, `sample`).
    pub fn new(seed: u64, layer: u32, site: MaskSite, sample: u64, rate: f32) -> Self {
        let key = mix(mix(mix(mix(seed) ^ u64::from(layer)) ^ site as u64) ^ sample);
        MaskStream {
            rng: Rng::new(key),
            rate,
            keep: 1.0 / (1.0 - rate),
        }
    }

    /// The next element of the mask: `0` or `1 / (1 - rate)`.
    #[inline]
    pub fn next_element(&mut self) -> f32 {
        let u = (self.rng.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32);
        if u < self.rate {
            0.0
        } else {
            self.keep
        }
    }
}

impl Iterator for MaskStream {
    type Item = f32;

    fn next(&mut self) -> Option<f32> {
        Some(self.next_element())
    }
}

/// Writes one sample's mask into `out`: each element `0` (dropped, with probability
/// `rate`) or `1 / (1 - rate)` (kept, scaled so the expected value is unchanged).
///
/// ```
/// use rnn_runtime::dropout::{dropout_mask, MaskSite};
/// let mut mask = [0.0f32; 1000];
/// dropout_mask(7, 0, MaskSite::Input, 3, 0.25, &mut mask);
/// // Kept elements are scaled by 1 / (1 - rate); about a quarter are dropped.
/// assert!(mask.iter().all(|&m| m == 0.0 || m == 1.0 / 0.75));
/// let dropped = mask.iter().filter(|&&m| m == 0.0).count();
/// assert!((200..300).contains(&dropped));
/// // The same key always gives the same mask; another sample another one.
/// let mut again = [0.0f32; 1000];
/// dropout_mask(7, 0, MaskSite::Input, 3, 0.25, &mut again);
/// assert_eq!(mask, again);
/// dropout_mask(7, 0, MaskSite::Input, 4, 0.25, &mut again);
/// assert_ne!(mask, again);
/// ```
pub fn dropout_mask(
    seed: u64,
    layer: u32,
    site: MaskSite,
    sample: u64,
    rate: f32,
    out: &mut [f32],
) {
    let mut stream = MaskStream::new(seed, layer, site, sample, rate);
    out.iter_mut().for_each(|v| *v = stream.next_element());
}

/// Writes the `[batch, width]` masks of samples `key.first_sample ..` for one site of
/// one layer into `out` (grown as needed, never shrunk) — a recurrent layer's input or
/// recurrent-state masks, fixed across the time steps of a sequence as in Keras.
pub fn fill_masks(
    key: MaskKey,
    layer: u32,
    site: MaskSite,
    batch: usize,
    width: usize,
    rate: f32,
    out: &mut Vec<f32>,
) {
    let out = crate::kernels::ensure(out, batch * width);
    for (b, row) in out.chunks_exact_mut(width.max(1)).enumerate().take(batch) {
        let sample = (key.first_sample + b) as u64;
        dropout_mask(key.seed, layer, site, sample, rate, &mut row[..width]);
    }
}

/// The per-step dropout seed of step `step` of a training run seeded with `seed`.
///
/// ```
/// use rnn_runtime::dropout::step_seed;
/// assert_eq!(step_seed(0, 5), step_seed(0, 5));
/// assert_ne!(step_seed(0, 5), step_seed(0, 6));
/// assert_ne!(step_seed(0, 5), step_seed(1, 5));
/// ```
pub fn step_seed(seed: u64, step: u64) -> u64 {
    mix(mix(seed) ^ step)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_matches_the_python_replica() {
        // tests/fixtures/gen/common.py: dropout_mask(1, 2, 0, 0, 8, 0.5)
        let mut m = [0.0; 8];
        dropout_mask(1, 2, MaskSite::Input, 0, 0.5, &mut m);
        assert_eq!(m, [2.0, 0.0, 2.0, 2.0, 0.0, 2.0, 0.0, 2.0]);
    }

    #[test]
    fn rate_zero_keeps_everything_and_masks_differ_by_sample() {
        let mut m = [0.0; 64];
        dropout_mask(5, 0, MaskSite::Input, 3, 0.0, &mut m);
        assert!(m.iter().all(|&v| v == 1.0));
        let (mut a, mut b) = ([0.0; 64], [0.0; 64]);
        dropout_mask(5, 0, MaskSite::Input, 0, 0.5, &mut a);
        dropout_mask(5, 0, MaskSite::Input, 1, 0.5, &mut b);
        assert_ne!(a, b);
        let kept = a.iter().filter(|&&v| v > 0.0).count();
        assert!((16..=48).contains(&kept), "{kept} of 64 kept at rate 0.5");
    }

    #[test]
    fn stream_continues_the_mask_of_any_width() {
        // A prefix of a wider mask is the narrower mask: the stream has no width input.
        let mut wide = [0.0; 40];
        dropout_mask(9, 3, MaskSite::Recurrent, 17, 0.3, &mut wide);
        let mut narrow = [0.0; 7];
        dropout_mask(9, 3, MaskSite::Recurrent, 17, 0.3, &mut narrow);
        assert_eq!(narrow, wide[..7]);
        let streamed: Vec<f32> = MaskStream::new(9, 3, MaskSite::Recurrent, 17, 0.3)
            .take(40)
            .collect();
        assert_eq!(streamed, wide);
    }
}

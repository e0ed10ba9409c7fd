//! Samples of varying lengths: where each sample's valid steps are (read from the
//! model's padding, or given as PyTorch's `lengths`), and batches put in the order the
//! packed kernels run them, longest first, every sample starting at step 0.

use ndarray::{ArrayViewD, Axis};

use super::shards::MAX_SHARDS;
use crate::architecture::Padding;
use crate::error::{Error, Result};
use crate::model::{InputElement, Network};

/// Where one sample's valid steps are: `len` steps from `start`. Given lengths always
/// start at 0 (padding after the steps); a masked model's input may also be padded
/// before them (Keras's default `padding="pre"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub len: usize,
}

/// Each sample's valid steps in `x` (`[n, T, …]`, already shape-checked), from the
/// model's padding and/or `given` lengths; `None` when every sample has all `T` steps,
/// so that a batch of full samples runs exactly as it would without any of this.
pub(crate) fn spans<M: Network>(
    x: &ArrayViewD<'_, M::Input>,
    given: Option<&[usize]>,
) -> Result<Option<Vec<Span>>> {
    let (n, steps) = (x.len_of(Axis(0)), M::TIMESTEPS);
    if let Some(given) = given {
        if given.len() != n {
            return Err(Error::Shape {
                what: "lengths",
                expected: format!("[{n}] (one length per sample of x)"),
                got: vec![given.len()],
            });
        }
        if let Some((sample, &length)) =
            given.iter().enumerate().find(|(_, &l)| l == 0 || l > steps)
        {
            return Err(Error::Length {
                sample,
                length,
                steps,
            });
        }
    }
    let spans: Vec<Span> = match M::ARCHITECTURE.padding {
        Some(padding) => {
            let read = read_padding::<M::Input>(x, steps, padding)?;
            if let Some(given) = given {
                let differs = read
                    .iter()
                    .zip(given)
                    .position(|(s, &l)| s.start != 0 || s.len != l);
                if let Some(sample) = differs {
                    return Err(Error::LengthMismatch {
                        sample,
                        given: given[sample],
                        read: read[sample].len,
                        start: read[sample].start,
                    });
                }
            }
            read
        }
        None => match given {
            Some(given) => given.iter().map(|&len| Span { start: 0, len }).collect(),
            None => return Ok(None),
        },
    };
    let full = spans.iter().all(|s| s.len == steps);
    Ok((!full).then_some(spans))
}

/// Each sample's valid run of steps in `x`, a step being padding when all its values
/// are `padding`.
fn read_padding<T: InputElement>(
    x: &ArrayViewD<'_, T>,
    steps: usize,
    padding: Padding,
) -> Result<Vec<Span>> {
    let n = x.len_of(Axis(0));
    let owned;
    let values = match x.as_slice() {
        Some(values) => values,
        None => {
            owned = x.iter().copied().collect::<Vec<T>>();
            &owned
        }
    };
    let row = values.len() / n.max(1);
    let width = row / steps.max(1);
    let mut spans = Vec::with_capacity(n);
    for (sample, values) in values.chunks_exact(row.max(1)).take(n).enumerate() {
        let valid = |t: usize| {
            !values[t * width..(t + 1) * width]
                .iter()
                .all(|v| v.is_padding(padding))
        };
        let Some(start) = (0..steps).find(|&t| valid(t)) else {
            return Err(Error::Length {
                sample,
                length: 0,
                steps,
            });
        };
        let end = (start..steps).rev().find(|&t| valid(t)).unwrap_or(start) + 1;
        if let Some(padding) = (start..end).find(|&t| !valid(t)) {
            return Err(Error::PaddingInside {
                sample,
                padding,
                valid: end - 1,
            });
        }
        spans.push(Span {
            start,
            len: end - start,
        });
    }
    Ok(spans)
}

/// A batch in the order the packed kernels run it: `order[k]` is the sample at
/// position `k`, longest first (ties in their original order), `lengths[k]` its length.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sorted {
    pub order: Vec<usize>,
    pub lengths: Vec<usize>,
}

impl Sorted {
    /// Sorts the samples `idx` by their lengths in `spans`, reusing the buffers.
    pub fn of(&mut self, idx: &[usize], spans: &[Span]) {
        self.order.clear();
        self.order.extend_from_slice(idx);
        self.order
            .sort_by_key(|&i| core::cmp::Reverse(spans[i].len));
        self.lengths.clear();
        self.lengths
            .extend(self.order.iter().map(|&i| spans[i].len));
    }

    /// [`of`](Self::of) for a batch that runs as `shards` consecutive shards of
    /// `⌊k·n/shards⌋..⌊(k+1)·n/shards⌋` samples: the samples, longest first, are dealt
    /// to the shards in turn, so that each shard holds long and short ones alike (a
    /// shard of only the longest would run alone while the others wait), and each
    /// shard's part is sorted longest first, as the packed kernels need.
    pub fn of_sharded(&mut self, idx: &[usize], spans: &[Span], shards: usize) {
        self.of(idx, spans);
        let (n, shards) = (idx.len(), shards.max(1));
        if shards == 1 {
            return;
        }
        // Where each shard's next sample goes: no allocation, at most a few shards.
        let bounds = |k: usize| k * n / shards..(k + 1) * n / shards;
        let mut next: [usize; MAX_SHARDS] = core::array::from_fn(|k| bounds(k).start);
        let shards = shards.min(MAX_SHARDS);
        self.lengths.clear();
        self.lengths.resize(n, 0);
        let mut k = 0;
        for &i in &self.order {
            while next[k] == bounds(k).end {
                k = (k + 1) % shards;
            }
            // `lengths` holds the new order's sample indices until the end.
            self.lengths[next[k]] = i;
            next[k] += 1;
            k = (k + 1) % shards;
        }
        core::mem::swap(&mut self.order, &mut self.lengths);
        self.lengths.clear();
        self.lengths
            .extend(self.order.iter().map(|&i| spans[i].len));
    }
}

/// Copies the samples `order` of `x` (`[n, T, …]`) into `out` as a contiguous
/// batch-major block, each sample's valid steps moved to start at step 0 and the rest
/// filled with the default value (never read by the packed kernels).
pub(crate) fn gather_shifted<T: Copy + Default>(
    x: &ArrayViewD<'_, T>,
    order: &[usize],
    spans: &[Span],
    steps: usize,
    out: &mut Vec<T>,
) {
    out.clear();
    let n = x.len_of(Axis(0));
    let row = x.len().checked_div(n).unwrap_or(0);
    let width = row / steps.max(1);
    for &i in order {
        let Span { start, len } = spans[i];
        let sample = x.index_axis(Axis(0), i);
        let before = out.len();
        match sample.as_slice() {
            Some(values) => out.extend_from_slice(&values[start * width..(start + len) * width]),
            None => out.extend(sample.iter().skip(start * width).take(len * width).copied()),
        }
        out.resize(before + row, T::default());
    }
}

/// Writes the output rows of a sorted batch (`[k, out_steps, width]`, in `order`) back
/// to their samples' places in `out` (`[n, out_steps, width]`, indexed by
/// `order[k] - first`): a sequence output (`out_steps` > 1) moves each sample's steps
/// back to where its valid steps were, 0 elsewhere.
pub(crate) fn scatter_shifted(
    sorted: &[f32],
    order: &[usize],
    first: usize,
    spans: &[Span],
    out_steps: usize,
    out: &mut [f32],
) {
    let row = sorted.len() / order.len().max(1);
    let width = row / out_steps.max(1);
    for (k, &i) in order.iter().enumerate() {
        let src = &sorted[k * row..(k + 1) * row];
        let dst = &mut out[(i - first) * row..(i - first + 1) * row];
        if out_steps <= 1 {
            dst.copy_from_slice(src);
            continue;
        }
        let Span { start, len } = spans[i];
        dst.fill(0.0);
        dst[start * width..(start + len) * width].copy_from_slice(&src[..len * width]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn sorting_is_stable_longest_first() {
        let spans: Vec<Span> = [2, 5, 2, 7]
            .iter()
            .map(|&len| Span { start: 0, len })
            .collect();
        let mut sorted = Sorted::default();
        sorted.of(&[0, 1, 2, 3], &spans);
        assert_eq!(sorted.order, [3, 1, 0, 2]);
        assert_eq!(sorted.lengths, [7, 5, 2, 2]);
    }

    #[test]
    fn shards_get_long_and_short_samples_alike() {
        let spans: Vec<Span> = [1, 2, 3, 4, 5, 6, 7]
            .iter()
            .map(|&len| Span { start: 0, len })
            .collect();
        let mut sorted = Sorted::default();
        sorted.of_sharded(&[0, 1, 2, 3, 4, 5, 6], &spans, 2);
        // Shards of 3 and 4 samples, each longest first.
        assert_eq!(sorted.lengths, [7, 5, 3, 6, 4, 2, 1]);
        assert_eq!(sorted.order, [6, 4, 2, 5, 3, 1, 0]);
    }

    #[test]
    fn shifted_samples_start_at_step_zero_and_go_back() {
        // Two samples of 4 steps, 1 feature: the first padded before, the second after.
        let x = Array3::from_shape_vec((2, 4, 1), vec![0., 0., 1., 2., 3., 4., 5., 0.]).unwrap();
        let spans = [Span { start: 2, len: 2 }, Span { start: 0, len: 3 }];
        let mut out = Vec::new();
        gather_shifted(&x.view().into_dyn(), &[1, 0], &spans, 4, &mut out);
        assert_eq!(out, [3., 4., 5., 0., 1., 2., 0., 0.]);
        let mut back = vec![f32::NAN; 8];
        scatter_shifted(&out, &[1, 0], 0, &spans, 4, &mut back);
        assert_eq!(back, [0., 0., 1., 2., 3., 4., 5., 0.]);
    }
}

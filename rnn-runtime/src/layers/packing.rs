//! The packed layout of a batch of variable-length sequences, as PyTorch's
//! `PackedSequence`: samples sorted by length, longest first, and the rows of step `t`
//! being the first `sizes[t]` samples, stored one step after another. A batch whose
//! samples all have `T` steps is the ordinary time-major `[T, B, …]` layout, so the
//! kernels run one code path for both.

use core::ops::Range;

use crate::error::{Error, Result};

/// The layout of a batch of `batch` sequences of at most `steps` steps each, the
/// samples sorted by length (longest first): step `t` holds the samples whose length
/// exceeds `t`, which are the first [`size(t)`](Packing::size) of the batch, in rows
/// [`step(t)`](Packing::step) of a packed `[rows(), width]` buffer. Padded steps have
/// no row at all, so no kernel ever computes them.
///
/// [`Default`] is the empty batch; [`set`](Packing::set) lays a batch out, reusing the
/// vectors, so that steady-state training allocates nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Packing {
    steps: usize,
    batch: usize,
    /// Rows of each step, non-increasing.
    sizes: Vec<usize>,
    /// First row of each step; `offsets[steps]` is the number of rows.
    offsets: Vec<usize>,
    /// Each sample's length, non-increasing; empty when every sample is full.
    lengths: Vec<usize>,
}

impl Packing {
    /// Checks that `lengths` describe a batch this layout can hold: one length per
    /// sample, each between 1 and `steps`, longest first.
    pub fn check(steps: usize, batch: usize, lengths: &[usize]) -> Result<()> {
        if lengths.len() != batch {
            return Err(Error::Shape {
                what: "lengths",
                expected: format!("[{batch}] (one length per sample)"),
                got: vec![lengths.len()],
            });
        }
        if let Some((sample, &length)) = lengths
            .iter()
            .enumerate()
            .find(|(_, &l)| l == 0 || l > steps)
        {
            return Err(Error::Length {
                sample,
                length,
                steps,
            });
        }
        if lengths.windows(2).any(|w| w[0] < w[1]) {
            return Err(Error::Config(
                "packed lengths must be sorted longest first (the batch functions sort them)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Lays out a batch: every sample full (`lengths` `None`), or of the given lengths
    /// (longest first).
    ///
    /// # Panics
    /// If `lengths` fail [`check`](Packing::check): a caller bug, which the batch
    /// functions and the generated code rule out.
    pub fn set(&mut self, steps: usize, batch: usize, lengths: Option<&[usize]>) {
        self.steps = steps;
        self.batch = batch;
        self.sizes.clear();
        self.offsets.clear();
        self.lengths.clear();
        let full = match lengths {
            Some(lengths) => {
                if let Err(e) = Self::check(steps, batch, lengths) {
                    panic!("packed layout: {e}");
                }
                lengths.iter().all(|&l| l == steps)
            }
            None => true,
        };
        let mut offset = 0;
        for t in 0..steps {
            let size = match lengths {
                Some(lengths) if !full => lengths.iter().take_while(|&&l| l > t).count(),
                _ => batch,
            };
            self.offsets.push(offset);
            self.sizes.push(size);
            offset += size;
        }
        self.offsets.push(offset);
        if let (Some(lengths), false) = (lengths, full) {
            self.lengths.extend_from_slice(lengths);
        }
    }

    /// Whether every sample has all `steps` steps: the plain time-major layout.
    pub fn is_full(&self) -> bool {
        self.lengths.is_empty()
    }

    /// Steps of the longest sample the layout allows.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Number of samples.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Rows of the packed buffer: the number of valid steps of the whole batch.
    pub fn rows(&self) -> usize {
        self.offsets.last().copied().unwrap_or(0)
    }

    /// Number of samples still running at step `t`.
    pub fn size(&self, t: usize) -> usize {
        self.sizes[t]
    }

    /// The rows of step `t`.
    pub fn step(&self, t: usize) -> Range<usize> {
        self.offsets[t]..self.offsets[t] + self.sizes[t]
    }

    /// Length of sample `b` (of the sorted batch).
    pub fn length(&self, b: usize) -> usize {
        if self.lengths.is_empty() {
            self.steps
        } else {
            self.lengths[b]
        }
    }

    /// The row of sample `b`'s last step.
    pub fn last_row(&self, b: usize) -> usize {
        self.offsets[self.length(b) - 1] + b
    }

    /// Copies `x` (`[rows(), width]`) into `out` with each sample's steps in reverse
    /// order within its own length: the input of a bidirectional layer's reverse
    /// direction, which starts at the sample's last step, not at the padding. The
    /// reversed batch has the same layout; reversing twice gives `x` back.
    pub fn reverse_rows(&self, x: &[f32], width: usize, out: &mut [f32]) {
        for t in 0..self.steps {
            for b in 0..self.sizes[t] {
                let s = self.length(b) - 1 - t;
                let (src, dst) = (self.offsets[t] + b, self.offsets[s] + b);
                out[dst * width..(dst + 1) * width]
                    .copy_from_slice(&x[src * width..(src + 1) * width]);
            }
        }
    }

    /// `out[b] = x[last_row(b)]` for every sample (`[batch, width]`): each sample's
    /// value at its own last step.
    pub fn gather_last(&self, x: &[f32], width: usize, out: &mut [f32]) {
        for b in 0..self.batch {
            let r = self.last_row(b);
            out[b * width..(b + 1) * width].copy_from_slice(&x[r * width..(r + 1) * width]);
        }
    }

    /// Copies a batch-major `[batch, steps, width]` block into the packed layout,
    /// leaving out every padded step.
    pub fn pack<T: Copy>(&self, x: &[T], width: usize, out: &mut [T]) {
        for t in 0..self.steps {
            for b in 0..self.sizes[t] {
                let (src, dst) = ((b * self.steps + t) * width, (self.offsets[t] + b) * width);
                out[dst..dst + width].copy_from_slice(&x[src..src + width]);
            }
        }
    }

    /// The inverse of [`pack`](Packing::pack): a packed block into batch-major
    /// `[batch, steps, width]` order, with `fill` at every padded step.
    pub fn unpack<T: Copy>(&self, x: &[T], width: usize, fill: T, out: &mut [T]) {
        for b in 0..self.batch {
            for t in 0..self.steps {
                let dst = (b * self.steps + t) * width;
                let dst = &mut out[dst..dst + width];
                if b < self.sizes[t] {
                    let src = (self.offsets[t] + b) * width;
                    dst.copy_from_slice(&x[src..src + width]);
                } else {
                    dst.fill(fill);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_batch_is_time_major() {
        let mut p = Packing::default();
        p.set(3, 2, Some(&[3, 3]));
        assert!(p.is_full());
        assert_eq!((p.rows(), p.step(2)), (6, 4..6));
        assert_eq!(p.last_row(1), 5);
    }

    #[test]
    fn packed_rows_follow_lengths() {
        let mut p = Packing::default();
        p.set(4, 3, Some(&[4, 2, 1]));
        assert_eq!(p.rows(), 7);
        let steps: Vec<_> = (0..4).map(|t| p.step(t)).collect();
        assert_eq!(steps, [0..3, 3..5, 5..6, 6..7]);
        assert_eq!((p.last_row(0), p.last_row(1), p.last_row(2)), (6, 4, 2));
        // Batch-major [3, 4, 1] with the sample index in the tens, the step in the units.
        let x: Vec<f32> = (0..3)
            .flat_map(|b| (0..4).map(move |t| (10 * b + t) as f32))
            .collect();
        let mut packed = vec![0.0; 7];
        p.pack(&x, 1, &mut packed);
        assert_eq!(packed, [0., 10., 20., 1., 11., 2., 3.]);
        let mut back = vec![f32::NAN; 12];
        p.unpack(&packed, 1, -1.0, &mut back);
        assert_eq!(
            back,
            [0., 1., 2., 3., 10., 11., -1., -1., 20., -1., -1., -1.]
        );
        let mut rev = vec![0.0; 7];
        p.reverse_rows(&packed, 1, &mut rev);
        assert_eq!(rev, [3., 11., 20., 2., 10., 1., 0.]);
        let mut twice = vec![0.0; 7];
        p.reverse_rows(&rev, 1, &mut twice);
        assert_eq!(twice, packed);
        let mut last = vec![0.0; 3];
        p.gather_last(&packed, 1, &mut last);
        assert_eq!(last, [3., 11., 20.]);
    }

    #[test]
    fn bad_lengths_are_refused() {
        assert!(matches!(
            Packing::check(4, 2, &[4, 5]),
            Err(Error::Length {
                sample: 1,
                length: 5,
                steps: 4
            })
        ));
        assert!(matches!(
            Packing::check(4, 2, &[0, 0]),
            Err(Error::Length { sample: 0, .. })
        ));
        assert!(matches!(
            Packing::check(4, 2, &[1, 2]),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            Packing::check(4, 2, &[1]),
            Err(Error::Shape { .. })
        ));
    }
}

//! A `dropout(rate)` layer: inverted dropout in training, the identity otherwise.
//!
//! Masks come from [`crate::dropout`]'s counter-based stream, keyed by the step's seed,
//! this layer's index and the sample's index within the whole batch, so that a batch
//! split into shards draws exactly the masks of the unsplit batch.

use super::{ensure, Packing};
use crate::dropout::{MaskKey, MaskSite, MaskStream};
use crate::error::{Error, Result};

/// Dropout of a fraction `rate` of its input's elements while training.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DropoutLayer {
    rate: f32,
    layer: u32,
}

/// Work buffers of a [`DropoutLayer`], sized on first training use.
///
/// A pass without masks (inference, or a rate of zero) touches none of them and only
/// records that it was the identity.
#[derive(Clone, Debug, Default)]
pub struct DropoutBuffers {
    /// Elements of the last forward pass (`T·B·W`).
    len: usize,
    /// Whether the last forward pass applied a mask.
    masked: bool,
    /// The mask, in the layout of the input.
    mask: Vec<f32>,
    /// `x ⊙ mask`.
    y: Vec<f32>,
    /// `dy ⊙ mask`.
    dx: Vec<f32>,
}

impl DropoutBuffers {
    /// The mask of the last forward pass, in the layout of its input (`[B, W]` or
    /// time-major `[T, B, W]`); `None` when that pass was the identity.
    pub fn mask(&self) -> Option<&[f32]> {
        self.masked.then(|| &self.mask[..self.len])
    }

    /// Output of the last forward pass, whose input was `x`: `x` itself when the pass
    /// was the identity.
    pub fn output<'a>(&'a self, x: &'a [f32]) -> &'a [f32] {
        if self.masked {
            &self.y[..self.len]
        } else {
            &x[..self.len]
        }
    }

    /// Gradient of the input from the last backward pass, whose incoming gradient was
    /// `dy`: `dy` itself when the forward pass was the identity.
    pub fn input_grad<'a>(&'a self, dy: &'a [f32]) -> &'a [f32] {
        if self.masked {
            &self.dx[..self.len]
        } else {
            &dy[..self.len]
        }
    }
}

impl DropoutLayer {
    /// A dropout layer has no parameters.
    pub const PARAMS: usize = 0;

    /// Drops a fraction `rate` (in `[0, 1)`) of the elements while training; `layer`
    /// is the layer's index in its model, part of every mask's key.
    pub fn new(rate: f32, layer: u32) -> Result<Self> {
        if (0.0..1.0).contains(&rate) {
            Ok(DropoutLayer { rate, layer })
        } else {
            Err(Error::DropoutRate { rate })
        }
    }

    /// A layer whose rate the `model!` macro has already checked; for generated code.
    #[doc(hidden)]
    pub const fn checked(rate: f32, layer: u32) -> Self {
        DropoutLayer { rate, layer }
    }

    /// The fraction of elements dropped while training.
    pub fn rate(&self) -> f32 {
        self.rate
    }

    /// The layer index keying this layer's masks.
    pub fn layer(&self) -> u32 {
        self.layer
    }

    /// Forward pass of a `[batch, width]` input: the same as
    /// [`forward_seq`](Self::forward_seq) with one step.
    pub fn forward<'a>(
        &self,
        x: &'a [f32],
        batch: usize,
        width: usize,
        key: Option<MaskKey>,
        bufs: &'a mut DropoutBuffers,
    ) -> &'a [f32] {
        self.forward_seq(x, 1, batch, width, key, bufs)
    }

    /// Forward pass of a time-major `[steps, batch, width]` input; returns the output.
    ///
    /// With `key` (training) each element is multiplied by its mask element. The mask
    /// of sample `b` is [`crate::dropout::dropout_mask`] for sample
    /// `key.first_sample + b`, of width `steps·width` in (step, element) order: element
    /// `j` of step `t` takes mask element `t·width + j`. Without `key` (inference), or
    /// at rate zero, the pass is the identity and returns `x` without copying it, so
    /// glue that knows it is not training may skip the call altogether.
    pub fn forward_seq<'a>(
        &self,
        x: &'a [f32],
        steps: usize,
        batch: usize,
        width: usize,
        key: Option<MaskKey>,
        bufs: &'a mut DropoutBuffers,
    ) -> &'a [f32] {
        let shape = [steps, batch, steps * batch * width, width];
        self.apply(x, shape, key, bufs, |t, b| Some(t * batch + b))
    }

    /// [`forward_seq`](Self::forward_seq) of a sequence in the packed layout of a
    /// batch of varying lengths ([`Packing`]): each sample's mask is the one it would
    /// have at full length, read at its own steps.
    pub fn forward_packed<'a>(
        &self,
        x: &'a [f32],
        packing: &Packing,
        width: usize,
        key: Option<MaskKey>,
        bufs: &'a mut DropoutBuffers,
    ) -> &'a [f32] {
        let shape = [
            packing.steps(),
            packing.batch(),
            packing.rows() * width,
            width,
        ];
        self.apply(x, shape, key, bufs, |t, b| {
            (b < packing.size(t)).then(|| packing.step(t).start + b)
        })
    }

    /// The pass over `len` values of `steps` steps of `batch` samples, `width` each,
    /// where `row(t, b)` is the row of sample `b`'s step `t` (`None`: padding, which
    /// draws its mask elements all the same, so that a sample's mask does not depend
    /// on its length).
    fn apply<'a>(
        &self,
        x: &'a [f32],
        [steps, batch, len, width]: [usize; 4],
        key: Option<MaskKey>,
        bufs: &'a mut DropoutBuffers,
        row: impl Fn(usize, usize) -> Option<usize>,
    ) -> &'a [f32] {
        bufs.len = len;
        let key = match key {
            Some(key) if self.rate > 0.0 => key,
            _ => {
                bufs.masked = false;
                return &x[..len];
            }
        };
        bufs.masked = true;
        let mask = ensure(&mut bufs.mask, len);
        for b in 0..batch {
            let sample = (key.first_sample + b) as u64;
            let mut stream =
                MaskStream::new(key.seed, self.layer, MaskSite::Input, sample, self.rate);
            for t in 0..steps {
                match row(t, b) {
                    Some(r) => mask[r * width..(r + 1) * width]
                        .iter_mut()
                        .for_each(|m| *m = stream.next_element()),
                    None => (0..width).for_each(|_| {
                        stream.next_element();
                    }),
                }
            }
        }
        let y = ensure(&mut bufs.y, len);
        y.iter_mut()
            .zip(&x[..len])
            .zip(&*mask)
            .for_each(|((y, x), m)| *y = x * m);
        y
    }

    /// Backward pass after [`forward_seq`](Self::forward_seq) (or
    /// [`forward`](Self::forward)) on the same buffers: returns the input gradient,
    /// `dy` times the same mask (`dy` itself when the forward pass was the identity).
    pub fn backward<'a>(&self, dy: &'a [f32], bufs: &'a mut DropoutBuffers) -> &'a [f32] {
        let len = bufs.len;
        if !bufs.masked {
            return &dy[..len];
        }
        let dx = ensure(&mut bufs.dx, len);
        dx.iter_mut()
            .zip(&dy[..len])
            .zip(&bufs.mask[..len])
            .for_each(|((d, g), m)| *d = g * m);
        dx
    }

    /// Calls `f` on each parameter tensor: there are none.
    pub fn visit(&self, _f: &mut dyn FnMut(&[f32])) {}

    /// Calls `f` on each parameter tensor, mutably: there are none.
    pub fn visit_mut(&mut self, _f: &mut dyn FnMut(&mut [f32])) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dropout::dropout_mask;
    use crate::rng::Rng;

    const SEED: u64 = 0x5EED;

    fn key(first_sample: usize) -> Option<MaskKey> {
        Some(MaskKey {
            seed: SEED,
            first_sample,
        })
    }

    fn ramp(len: usize) -> Vec<f32> {
        (0..len).map(|i| 1.0 + i as f32 * 0.01).collect()
    }

    #[test]
    fn rate_must_lie_in_zero_to_one() {
        for rate in [-0.1, 1.0, 1.5, f32::NAN] {
            assert!(matches!(
                DropoutLayer::new(rate, 0),
                Err(Error::DropoutRate { .. })
            ));
        }
        let layer = DropoutLayer::new(0.25, 3).unwrap();
        assert_eq!((layer.rate(), layer.layer()), (0.25, 3));
    }

    #[test]
    fn inference_is_the_identity_without_a_copy() {
        let layer = DropoutLayer::new(0.5, 1).unwrap();
        let x = ramp(24);
        let mut bufs = DropoutBuffers::default();
        let y = layer.forward_seq(&x, 2, 3, 4, None, &mut bufs);
        assert!(std::ptr::eq(y, &x[..]));
        let dy = ramp(24);
        let dx = layer.backward(&dy, &mut bufs);
        assert!(std::ptr::eq(dx, &dy[..]));
        assert!(bufs.mask().is_none() && bufs.y.is_empty() && bufs.mask.is_empty());
        assert!(std::ptr::eq(bufs.output(&x), &x[..]));
        // Rate zero while training draws no mask either.
        let zero = DropoutLayer::new(0.0, 1).unwrap();
        assert!(std::ptr::eq(
            zero.forward(&x, 6, 4, key(0), &mut bufs),
            &x[..]
        ));
    }

    #[test]
    fn training_drops_the_rate_and_keeps_the_mean() {
        let rate = 0.3;
        let layer = DropoutLayer::new(rate, 2).unwrap();
        let (batch, width) = (200, 50);
        let x = vec![1.0; batch * width];
        let mut bufs = DropoutBuffers::default();
        let y = layer.forward(&x, batch, width, key(0), &mut bufs).to_vec();
        let keep = 1.0 / (1.0 - rate);
        assert!(y.iter().all(|&v| v == 0.0 || v == keep));
        let n = y.len() as f64;
        let dropped = y.iter().filter(|&&v| v == 0.0).count() as f64 / n;
        // Binomial standard deviation at n = 10000 is 0.0046; allow four of them.
        assert!(
            (dropped - f64::from(rate)).abs() < 0.02,
            "dropped {dropped}"
        );
        let mean = y.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        assert!((mean - 1.0).abs() < 0.03, "mean {mean}");
        // Each sample has its own mask; the same key gives the same masks.
        assert_ne!(y[..width], y[width..2 * width]);
        let mut again = DropoutBuffers::default();
        assert_eq!(layer.forward(&x, batch, width, key(0), &mut again), &y[..]);
        let other_layer = DropoutLayer::new(rate, 3).unwrap();
        assert_ne!(
            other_layer.forward(&x, batch, width, key(0), &mut again),
            &y[..]
        );
    }

    #[test]
    fn masks_do_not_depend_on_the_shard_split() {
        let layer = DropoutLayer::new(0.5, 4).unwrap();
        let (steps, batch, width) = (3, 10, 5);
        let x = ramp(steps * batch * width);
        let mut whole = DropoutBuffers::default();
        layer.forward_seq(&x, steps, batch, width, key(0), &mut whole);
        let whole_mask = whole.mask().unwrap();
        // Shards are batch-major slices of the original, each time-major on its own.
        for (start, end) in [(0, 4), (4, 9), (9, 10)] {
            let rows = end - start;
            let mut part_x = Vec::new();
            for t in 0..steps {
                part_x
                    .extend_from_slice(&x[(t * batch + start) * width..(t * batch + end) * width]);
            }
            let mut part = DropoutBuffers::default();
            layer.forward_seq(&part_x, steps, rows, width, key(start), &mut part);
            let mask = part.mask().unwrap();
            for t in 0..steps {
                let want = &whole_mask[(t * batch + start) * width..(t * batch + end) * width];
                assert_eq!(&mask[t * rows * width..(t + 1) * rows * width], want);
            }
        }
    }

    #[test]
    fn a_sequence_mask_runs_over_steps_then_elements() {
        let layer = DropoutLayer::new(0.4, 6).unwrap();
        let (steps, batch, width) = (4, 3, 5);
        let x = ramp(steps * batch * width);
        let mut bufs = DropoutBuffers::default();
        let first = 7;
        let y = layer
            .forward_seq(&x, steps, batch, width, key(first), &mut bufs)
            .to_vec();
        let mask = bufs.mask().unwrap();
        let mut sample_mask = vec![0.0; steps * width];
        for b in 0..batch {
            dropout_mask(
                SEED,
                6,
                MaskSite::Input,
                (first + b) as u64,
                0.4,
                &mut sample_mask,
            );
            for t in 0..steps {
                for j in 0..width {
                    let at = (t * batch + b) * width + j;
                    assert_eq!(mask[at], sample_mask[t * width + j], "b {b} t {t} j {j}");
                    assert_eq!(y[at], x[at] * sample_mask[t * width + j]);
                }
            }
        }
        // A non-sequence input is the one-step case: sample b's mask has width W.
        let flat = &x[..batch * width];
        let mut flat_bufs = DropoutBuffers::default();
        layer.forward(flat, batch, width, key(first), &mut flat_bufs);
        for b in 0..batch {
            dropout_mask(
                SEED,
                6,
                MaskSite::Input,
                (first + b) as u64,
                0.4,
                &mut sample_mask[..width],
            );
            assert_eq!(
                flat_bufs.mask().unwrap()[b * width..(b + 1) * width],
                sample_mask[..width]
            );
        }
    }

    #[test]
    fn backward_multiplies_by_the_same_mask() {
        let layer = DropoutLayer::new(0.5, 0).unwrap();
        let (steps, batch, width) = (3, 4, 6);
        let len = steps * batch * width;
        let x = ramp(len);
        let mut rng = Rng::new(11);
        let dy: Vec<f32> = (0..len).map(|_| rng.uniform(-1.0, 1.0) as f32).collect();
        let mut bufs = DropoutBuffers::default();
        let y = layer
            .forward_seq(&x, steps, batch, width, key(3), &mut bufs)
            .to_vec();
        let mask = bufs.mask().unwrap().to_vec();
        let dx = layer.backward(&dy, &mut bufs).to_vec();
        for i in 0..len {
            assert_eq!(dx[i], dy[i] * mask[i]);
            // The layer is linear in x: its Jacobian is diag(mask).
            assert_eq!(y[i], x[i] * mask[i]);
        }
        assert!(mask.contains(&0.0) && mask.contains(&2.0));
        assert_eq!(bufs.input_grad(&dy), &dx[..]);
        assert_eq!(bufs.output(&x), &y[..]);
    }

    #[test]
    fn buffers_grow_once() {
        let layer = DropoutLayer::new(0.2, 0).unwrap();
        let x = ramp(60);
        let mut bufs = DropoutBuffers::default();
        layer.forward_seq(&x, 3, 4, 5, key(0), &mut bufs);
        layer.backward(&x, &mut bufs);
        let caps = (bufs.mask.capacity(), bufs.y.capacity(), bufs.dx.capacity());
        layer.forward_seq(&x[..24], 2, 3, 4, key(0), &mut bufs);
        layer.backward(&x[..24], &mut bufs);
        assert_eq!(bufs.output(&x).len(), 24);
        assert_eq!(
            caps,
            (bufs.mask.capacity(), bufs.y.capacity(), bufs.dx.capacity())
        );
    }
}

//! Per-layer gradient norms of a flat gradient buffer, shared by
//! [`Grads::layer_norms`](crate::Grads::layer_norms) and the training loop, which
//! measures them at every step.

use crate::architecture::Architecture;

/// Where each layer's gradient lies in the flat gradient buffer: the layers with
/// parameters, in spec order, each with its summary-table name and parameter count.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Layout {
    layers: Vec<(String, usize)>,
}

impl Layout {
    /// The layout of a model with this architecture and `params` parameters.
    ///
    /// Canonical parameter order is spec order, layer by layer, and
    /// [`Layer::params`](crate::architecture::Layer::params) counts exactly the tensors
    /// `model!` declares for a layer, so the counts cut the buffer. An architecture
    /// whose counts do not add up to `params` (never a `model!` struct's) gets an empty
    /// layout rather than slices that would cut the wrong values.
    pub(crate) fn of(arch: &Architecture, params: usize) -> Self {
        if arch.params() != params {
            return Layout { layers: Vec::new() };
        }
        let layers = arch
            .layer_names()
            .into_iter()
            .zip(arch.layers)
            .filter(|(_, layer)| layer.params() > 0)
            .map(|(name, layer)| (name, layer.params()))
            .collect();
        Layout { layers }
    }

    /// Number of layers with parameters.
    pub(crate) fn len(&self) -> usize {
        self.layers.len()
    }

    /// The layers' names, in order.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.layers.iter().map(|(name, _)| name.as_str())
    }

    /// Each layer's gradient norm, in order, from `grads` laid out as this layout's
    /// model: O(parameters).
    pub(crate) fn norms<'a>(&'a self, grads: &'a [f32]) -> impl Iterator<Item = f64> + 'a {
        let mut at = 0;
        self.layers.iter().map(move |(_, len)| {
            let n = norm(&grads[at..at + len]);
            at += len;
            n
        })
    }
}

/// The Euclidean norm, squares summed in f64 in eight interleaved sums: element `i`
/// of each full group of eight goes to sum `i`, the sums are then added in order,
/// and the trailing elements after them.
///
/// Not one running sum, as [`clip`](super::clip) keeps: that is a chain of dependent
/// additions, which at the seed model's 10,651 parameters costs about 9 µs a step,
/// near 3 % of its training step; eight independent sums vectorise and cost under
/// 1.5 µs. Plain multiplies and adds (no fused multiply-add), so every machine gets
/// the same bits.
pub(crate) fn norm(values: &[f32]) -> f64 {
    let (groups, rest) = values.as_chunks::<8>();
    let mut lanes = [0.0f64; 8];
    for group in groups {
        for (lane, &g) in lanes.iter_mut().zip(group) {
            *lane += f64::from(g) * f64::from(g);
        }
    }
    let mut sum = 0.0;
    for lane in lanes {
        sum += lane;
    }
    for &g in rest {
        sum += f64::from(g) * f64::from(g);
    }
    sum.sqrt()
}

#[cfg(test)]
mod tests {
    use super::{norm, Layout};
    use crate::architecture::{Architecture, Cell, Layer};
    use crate::kernels::activation::Activation;
    use crate::kernels::cell_activation::CellActivation;

    const LAYERS: &[Layer] = &[
        Layer::Recurrent {
            cell: Cell::SimpleRnn,
            inputs: 1,
            hidden: 1,
            bidirectional: false,
            return_sequences: false,
            activation: CellActivation::Tanh,
            recurrent_activation: CellActivation::Sigmoid,
            dropout: 0.0,
            recurrent_dropout: 0.0,
        },
        Layer::Dropout {
            rate: 0.5,
            width: 1,
            per_step: false,
        },
        Layer::Dense {
            inputs: 1,
            units: 1,
            activation: Activation::Linear,
            per_step: false,
        },
    ];
    const ARCH: Architecture = Architecture {
        timesteps: 3,
        features: 1,
        tokens: false,
        sequence_output: false,
        padding: None,
        layers: LAYERS,
    };

    #[test]
    fn layout_skips_layers_without_parameters_and_refuses_a_wrong_count() {
        // simple_rnn(1) on 1 input: 1 · (1 + 1 + 2) = 4; dense: 2.
        let layout = Layout::of(&ARCH, 6);
        assert_eq!(
            layout.layers,
            [("simple_rnn".to_owned(), 4), ("dense".to_owned(), 2)]
        );
        assert_eq!(layout.names().collect::<Vec<_>>(), ["simple_rnn", "dense"]);
        let norms: Vec<f64> = layout.norms(&[3.0, 4.0, 0.0, 0.0, 0.0, -1.0]).collect();
        assert_eq!(norms, [5.0, 1.0]);
        assert_eq!(Layout::of(&ARCH, 7).len(), 0);
    }

    #[test]
    fn the_interleaved_sums_give_the_norm() {
        assert_eq!(norm(&[]), 0.0);
        // 3-4-5 in a group of eight, 12 in the trailing elements: 13.
        let mut v = [0.0f32; 9];
        (v[2], v[7], v[8]) = (3.0, 4.0, 12.0);
        assert_eq!(norm(&v), 13.0);
        // Values whose squares overflow f32 stay finite in f64; a NaN or an
        // infinity makes the norm not finite.
        let big = [f32::MAX; 20];
        assert!(norm(&big).is_finite() && norm(&big) > f64::from(f32::MAX));
        for bad in [f32::NAN, f32::INFINITY] {
            let mut v = vec![1.0f32; 19];
            v[11] = bad;
            assert!(!norm(&v).is_finite());
        }
        // Against one running sum: equal to f64 rounding.
        let v: Vec<f32> = (0..1001).map(|i| (i as f32 * 0.37).sin()).collect();
        let running = v
            .iter()
            .map(|&g| f64::from(g) * f64::from(g))
            .sum::<f64>()
            .sqrt();
        assert!((norm(&v) - running).abs() <= 1e-12 * running);
    }
}

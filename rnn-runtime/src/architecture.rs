//! A model's architecture as data: what `model!` declared, layer by layer.
//!
//! The kernels do not need it (their shapes are type parameters); exporters and
//! importers do: ONNX export builds its graph from it, weight import from Keras and
//! PyTorch checks a file's layers against it and converts layouts per layer kind.

use crate::kernels::activation::Activation;
use crate::kernels::cell_activation::CellActivation;

/// The recurrent cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cell {
    /// LSTM, PyTorch's gate order i, f, g, o.
    Lstm,
    /// GRU, PyTorch's gate order r, z, n, reset applied after the recurrent product.
    Gru,
    /// Elman RNN.
    SimpleRnn,
}

impl Cell {
    /// Gate blocks of `H` rows in the stacked weights.
    pub const fn gates(self) -> usize {
        match self {
            Cell::Lstm => 4,
            Cell::Gru => 3,
            Cell::SimpleRnn => 1,
        }
    }

    /// The DSL's name.
    pub const fn name(self) -> &'static str {
        match self {
            Cell::Lstm => "lstm",
            Cell::Gru => "gru",
            Cell::SimpleRnn => "simple_rnn",
        }
    }
}

/// One layer of a model, numbered as in the spec.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Layer {
    /// `lstm`, `gru` or `simple_rnn`, possibly bidirectional.
    Recurrent {
        /// The cell.
        cell: Cell,
        /// Input width per step.
        inputs: usize,
        /// Units of one direction.
        hidden: usize,
        /// Inside `bidirectional(...)`: output width `2 · hidden`.
        bidirectional: bool,
        /// Whether every step's state is passed on.
        return_sequences: bool,
        /// The candidate / output activation.
        activation: CellActivation,
        /// The gates' activation (unused by `simple_rnn`).
        recurrent_activation: CellActivation,
        /// Input dropout rate (training only).
        dropout: f32,
        /// Recurrent dropout rate (training only).
        recurrent_dropout: f32,
    },
    /// `dense(units, activation = …)`.
    Dense {
        /// Input width.
        inputs: usize,
        /// Output width.
        units: usize,
        /// The activation.
        activation: Activation,
        /// Applied to every step of a sequence.
        per_step: bool,
    },
    /// `embedding(vocab, dim)`.
    Embedding {
        /// Number of token ids.
        vocab: usize,
        /// Vector width.
        dim: usize,
    },
    /// `dropout(rate)`: the identity outside training.
    Dropout {
        /// Fraction dropped while training.
        rate: f32,
        /// Width of what it drops from.
        width: usize,
        /// Whether it sees a sequence.
        per_step: bool,
    },
}

impl Layer {
    /// Output width per step.
    pub const fn units(&self) -> usize {
        match *self {
            Layer::Recurrent {
                hidden,
                bidirectional,
                ..
            } => {
                if bidirectional {
                    2 * hidden
                } else {
                    hidden
                }
            }
            Layer::Dense { units, .. } => units,
            Layer::Embedding { dim, .. } => dim,
            Layer::Dropout { width, .. } => width,
        }
    }

    /// Whether the layer passes on one vector per time step.
    pub const fn sequence_out(&self) -> bool {
        match *self {
            Layer::Recurrent {
                return_sequences, ..
            } => return_sequences,
            Layer::Dense { per_step, .. } | Layer::Dropout { per_step, .. } => per_step,
            Layer::Embedding { .. } => true,
        }
    }

    /// Scalar parameters of the layer, PyTorch's count: a recurrent direction has
    /// `gates · H · (inputs + H)` weights and two bias vectors of `gates · H`.
    pub const fn params(&self) -> usize {
        match *self {
            Layer::Recurrent {
                cell,
                inputs,
                hidden,
                bidirectional,
                ..
            } => {
                let gh = cell.gates() * hidden;
                let one = gh * (inputs + hidden + 2);
                if bidirectional {
                    2 * one
                } else {
                    one
                }
            }
            Layer::Dense { inputs, units, .. } => units * (inputs + 1),
            Layer::Embedding { vocab, dim } => vocab * dim,
            Layer::Dropout { .. } => 0,
        }
    }
}

/// What marks a padded time step of a model's input: Keras's masks, from which the
/// model reads each sample's length.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Padding {
    /// `embedding(…, mask_zero = true)`: token id 0 (Keras's `mask_zero=True`).
    ZeroId,
    /// `masking(value)`: a step whose features all equal `value` (Keras's
    /// `Masking(mask_value)`).
    Value(f32),
}

/// A whole model as declared: [`Network::ARCHITECTURE`](crate::Network::ARCHITECTURE)
/// of every `model!` struct.
///
/// ```
/// use rnn_runtime::architecture::{Cell, Layer};
/// use rnn_runtime::{model, Activation, Network};
///
/// model! {
///     struct Net < input(10, 3), bidirectional(gru(4, return_sequences = true)),
///         dropout(0.1), dense(2, activation = softmax) >
/// }
///
/// let arch = Net::ARCHITECTURE;
/// assert_eq!((arch.timesteps, arch.features), (10, 3));
/// assert!(arch.sequence_output && !arch.tokens);
/// assert_eq!(arch.padding, None);
/// assert_eq!(arch.layers.len(), 3);
/// assert!(matches!(
///     arch.layers[0],
///     Layer::Recurrent { cell: Cell::Gru, inputs: 3, hidden: 4, bidirectional: true, .. }
/// ));
/// assert_eq!(arch.layers[0].units(), 8); // both directions
/// assert!(matches!(arch.layers[1], Layer::Dropout { rate, width: 8, per_step: true } if rate == 0.1));
/// assert!(matches!(
///     arch.layers[2],
///     Layer::Dense { inputs: 8, units: 2, activation: Activation::Softmax, per_step: true }
/// ));
/// assert_eq!(Cell::Gru.gates(), 3);
/// // GRU: 2 directions · 3 gates · 4 units · (3 inputs + 4 + 2 biases); dense: 2 · (8 + 1).
/// assert_eq!(arch.layers[0].params(), 216);
/// assert_eq!(arch.params(), 216 + 18);
/// assert_eq!(arch.params(), Net::PARAMS);
/// assert!(arch.layers.iter().all(|l| l.sequence_out()));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Architecture {
    /// Time steps of one sample.
    pub timesteps: usize,
    /// Features per step; 1 for token input.
    pub features: usize,
    /// Whether the input is token ids (layer 0 is an embedding).
    pub tokens: bool,
    /// Whether the output is one vector per step.
    pub sequence_output: bool,
    /// What marks padding in the input (`masking(value)` or `mask_zero`), if the
    /// model reads its samples' lengths from it.
    pub padding: Option<Padding>,
    /// The layers, numbered from 0 (`masking` is not a layer here: it is `padding`).
    pub layers: &'static [Layer],
}

/// What the model's last layer is, as a loss reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// A dense layer with this activation.
    Dense(Activation),
    /// Anything else: a recurrent layer's state, an embedding, dropout.
    Other,
}

impl Architecture {
    /// The model's last layer, as a loss reads it.
    ///
    /// ```
    /// use rnn_runtime::architecture::Output;
    /// use rnn_runtime::{model, Activation, Network};
    ///
    /// model! { struct Clf < input(4, 2), gru(3), dense(5, activation = softmax) > }
    /// model! { struct Enc < input(4, 2), lstm(3) > }
    /// assert_eq!(Clf::ARCHITECTURE.output(), Output::Dense(Activation::Softmax));
    /// assert_eq!(Enc::ARCHITECTURE.output(), Output::Other);
    /// ```
    pub const fn output(&self) -> Output {
        match self.layers.last() {
            Some(Layer::Dense { activation, .. }) => Output::Dense(*activation),
            _ => Output::Other,
        }
    }
}

impl core::fmt::Display for Output {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Output::Dense(a) => write!(f, "a dense layer with activation {}", a.name()),
            Output::Other => f.write_str("not a dense layer"),
        }
    }
}

impl Architecture {
    /// Scalar parameters of every layer together: the model's `PARAMS`.
    pub const fn params(&self) -> usize {
        let mut total = 0;
        let mut i = 0;
        while i < self.layers.len() {
            total += self.layers[i].params();
            i += 1;
        }
        total
    }
}

//! The checked model: the type at the boundary between `check` and `codegen`.
//!
//! Everything here is already validated: sizes are positive, layer order is legal and
//! every layer knows its input width, so code generation cannot fail.

use proc_macro2::Span;

/// The struct header written by the user: `#[attrs] /// docs  [vis] struct Name`.
///
/// Kept separately so that a spec with errors can still emit a fallback struct.
#[derive(Clone)]
pub struct Header {
    /// Outer attributes, doc comments included, in written order.
    pub attrs: Vec<syn::Attribute>,
    /// Visibility of the generated struct.
    pub vis: syn::Visibility,
    /// Name of the generated struct.
    pub name: syn::Ident,
}

/// A model spec that passed every check.
pub struct Model {
    /// The struct header.
    pub header: Header,
    /// `T` of `input(T, F)` or `input(T)`.
    pub timesteps: usize,
    /// What one time step of the input is.
    pub input: Input,
    /// The layers after `input`, numbered from 0.
    pub layers: Vec<Layer>,
    /// The loss the spec declares (`loss = …`), if any.
    pub loss: Option<Loss>,
}

/// The losses a spec may declare: the runtime's `Loss` variants.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Loss {
    /// `mse` / `mean_squared_error`.
    Mse,
    /// `mae` / `mean_absolute_error`.
    Mae,
    /// `huber`, `huber(delta)` or `huber(delta = d)`; delta 1 by default, as Keras.
    Huber(f32),
    /// `binary_crossentropy`.
    BinaryCrossentropy,
    /// `categorical_crossentropy`.
    CategoricalCrossentropy,
    /// `sparse_categorical_crossentropy`.
    SparseCategoricalCrossentropy,
}

/// What one time step of the input is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// `input(T, F)`: `F` real features.
    Features(usize),
    /// `input(T)`: one token id, read by an `embedding` layer 0.
    Tokens,
}

impl Model {
    /// Width of one input time step: `F`, or 1 for a token id.
    pub fn features(&self) -> usize {
        match self.input {
            Input::Features(f) => f,
            Input::Tokens => 1,
        }
    }

    /// Whether the model outputs one vector per time step (many-to-many).
    pub fn sequence_output(&self) -> bool {
        self.layers.last().is_some_and(|l| l.sequence_out)
    }

    /// Width of the output (per time step for a sequence output).
    pub fn outputs(&self) -> usize {
        self.layers.last().map_or(0, |l| l.units)
    }
}

/// One checked layer.
pub struct Layer {
    /// What the layer computes.
    pub kind: LayerKind,
    /// Output width per time step: `H` of a recurrent layer (`2H` bidirectional), `N`
    /// of a dense layer, the embedding dimension, or the input width of dropout.
    pub units: usize,
    /// Input width per time step: the previous layer's `units`, or `F` for layer 0.
    pub inputs: usize,
    /// Whether the layer receives a sequence (`[T, inputs]` per sample).
    pub sequence_in: bool,
    /// Whether the layer passes on a sequence (`[T, units]` per sample).
    pub sequence_out: bool,
    /// Span of the layer in the spec, for diagnostics in generated code.
    pub span: Span,
}

/// The kinds of layer the DSL knows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LayerKind {
    /// `lstm`, `gru`, `simple_rnn`, possibly inside `bidirectional(...)`.
    Recurrent(Recurrent),
    /// `dense(units, activation = ...)`; applied to every step of a sequence input.
    Dense(Activation),
    /// `embedding(vocab, dim)`: token ids to vectors.
    Embedding {
        /// Number of distinct token ids.
        vocab: usize,
    },
    /// `dropout(rate)`: inverted dropout while training, identity otherwise.
    Dropout(f32),
}

/// A recurrent layer with its options.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recurrent {
    /// The cell.
    pub cell: Cell,
    /// Units `H` of one direction.
    pub hidden: usize,
    /// Inside `bidirectional(...)`.
    pub bidirectional: bool,
    /// `return_sequences = true`.
    pub return_sequences: bool,
    /// `activation = ...` (the candidate and output activation; tanh by default).
    pub activation: CellActivation,
    /// `recurrent_activation = ...` (the gates; sigmoid by default; unused by simple_rnn).
    pub recurrent_activation: CellActivation,
    /// `dropout = rate` on the layer's input.
    pub dropout: f32,
    /// `recurrent_dropout = rate` on the previous hidden state.
    pub recurrent_dropout: f32,
}

/// The recurrent cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// `lstm(units)`: PyTorch's LSTM cell, gates i, f, g, o.
    Lstm,
    /// `gru(units)`: PyTorch's GRU cell (Keras `reset_after = true`), gates r, z, n.
    Gru,
    /// `simple_rnn(units)`: Elman cell.
    SimpleRnn,
}

impl Cell {
    /// The DSL name.
    pub fn name(self) -> &'static str {
        match self {
            Cell::Lstm => "lstm",
            Cell::Gru => "gru",
            Cell::SimpleRnn => "simple_rnn",
        }
    }

    /// Gate blocks of `H` rows in the stacked weights.
    pub fn gates(self) -> usize {
        match self {
            Cell::Lstm => 4,
            Cell::Gru => 3,
            Cell::SimpleRnn => 1,
        }
    }
}

/// Activation of a recurrent cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellActivation {
    /// Hyperbolic tangent.
    Tanh,
    /// Logistic sigmoid.
    Sigmoid,
    /// `max(0, v)`.
    Relu,
    /// Identity.
    Linear,
}

/// Activation of a dense layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// Identity (the default).
    Linear,
    /// `max(0, v)`.
    Relu,
    /// Hyperbolic tangent.
    Tanh,
    /// Logistic sigmoid.
    Sigmoid,
    /// Softmax over the layer's units.
    Softmax,
    /// Exact (erf) GELU.
    Gelu,
    /// ELU with α = 1.
    Elu,
    /// `ln(1 + e^v)`.
    Softplus,
}

impl LayerKind {
    /// True for lstm, gru and simple_rnn, bidirectional or not.
    pub fn is_recurrent(self) -> bool {
        matches!(self, LayerKind::Recurrent(_))
    }
}

impl Layer {
    /// Trainable parameters: PyTorch's count for the same layer.
    pub fn param_count(&self) -> usize {
        match self.kind {
            LayerKind::Recurrent(r) => {
                let gh = r.cell.gates() * r.hidden;
                let directions = if r.bidirectional { 2 } else { 1 };
                directions * (gh * self.inputs + gh * r.hidden + 2 * gh)
            }
            LayerKind::Dense(_) => self.units * self.inputs + self.units,
            LayerKind::Embedding { vocab } => vocab * self.units,
            LayerKind::Dropout(_) => 0,
        }
    }
}

/// What a spec with errors still tells about the model's interface, for the fallback
/// struct.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartialShape {
    /// `T`.
    pub timesteps: usize,
    /// The input kind.
    pub input: Input,
    /// Width of the output (per step for a sequence output).
    pub outputs: usize,
    /// Whether the output is a sequence.
    pub sequence: bool,
}

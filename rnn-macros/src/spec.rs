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

/// Stack bytes [`Model::stack_bytes`] allows beyond the arrays, for any model: the
/// frames of `predict_one` / `push` and the runtime calls under them. Measured frames
/// at opt-level 3 and "s" (`scripts/nostd_footprint.sh`) stay well inside it.
pub const FRAME_BYTES: u128 = 512;

/// Stack bytes [`Model::stack_bytes`] allows per layer, for the compiler's copies of a
/// layer's output vector and its call frame.
pub const FRAME_BYTES_PER_LAYER: u128 = 256;

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
    /// `masking(value)` right after `input`: the value that marks a padded step.
    pub masking: Option<f32>,
}

/// What marks a padded step of the input, from which the model reads each sample's
/// length.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Padding {
    /// `embedding(…, mask_zero = true)`: token id 0.
    ZeroId,
    /// `masking(value)`: a step whose features all equal the value.
    Value(f32),
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

    /// Trainable parameters of the whole model (`PARAMS`).
    pub fn params(&self) -> usize {
        self.layers.iter().map(Layer::param_count).sum()
    }

    /// What marks padding in the input, if the model reads lengths from it.
    pub fn padding(&self) -> Option<Padding> {
        match (self.masking, self.layers.first().map(|l| l.kind)) {
            (Some(value), _) => Some(Padding::Value(value)),
            (
                None,
                Some(LayerKind::Embedding {
                    mask_zero: true, ..
                }),
            ) => Some(Padding::ZeroId),
            _ => None,
        }
    }

    /// The vocabulary of the embedding layer 0, or 0 for real-valued input.
    pub fn vocab(&self) -> usize {
        match self.layers.first().map(|l| l.kind) {
            Some(LayerKind::Embedding { vocab, .. }) => vocab,
            _ => 0,
        }
    }

    /// Whether the model runs step by step, and so has a stream, a state type and
    /// `forward_from`: it has no bidirectional layer, which needs the whole sequence
    /// before its first output.
    pub fn streams(&self) -> bool {
        !self.layers.iter().any(Layer::is_bidirectional)
    }

    /// What the signatures of the generated API depend on.
    pub fn shape(&self) -> PartialShape {
        PartialShape {
            timesteps: self.timesteps,
            input: self.input,
            outputs: self.outputs(),
            sequence: self.sequence_output(),
        }
    }

    /// The arrays that the single-sample code of the model (`predict_one`, the stream)
    /// holds on the stack at once, in values (`f32`, or `u32` token ids), each with the
    /// layer it belongs to (`None`: the copy of the input). `check` bounds their sum;
    /// `codegen::single` declares them, so the two change together.
    ///
    /// Layer by layer (a model with a bidirectional layer): the copy of the input
    /// `T × F`, every layer's output (`T × width` for a sequence, else `width`) and
    /// each recurrent layer's states (`h`, `c` per direction) and step scratch. Step
    /// by step: every recurrent layer's state type (`h`, and `c` for LSTM) and step
    /// scratch, one vector per layer, and the `T × OUTPUTS` output of a sequence model.
    /// The compiler's copies and call frames come on top ([`Model::stack_bytes`]).
    pub fn stack_arrays(&self) -> Vec<(Option<usize>, u128)> {
        let t = self.timesteps as u128;
        let mut arrays = Vec::with_capacity(self.layers.len() + 1);
        let by_layer = !self.streams();
        if by_layer {
            arrays.push((None, t * self.features() as u128));
        }
        for (i, layer) in self.layers.iter().enumerate() {
            let w = layer.units as u128;
            let (output, state) = match layer.kind {
                LayerKind::Dropout(_) => (0, 0),
                LayerKind::Recurrent(r) => {
                    let (h, g) = (r.hidden as u128, (r.cell.gates() * r.hidden) as u128);
                    let output = if by_layer && layer.sequence_out {
                        t * w
                    } else {
                        w
                    };
                    // The step's own scratch (`step_parts` in the runtime): LSTM gates,
                    // the previous `c` and `act(c)`; GRU both gate sides, the previous
                    // `h` and the hidden side of `n`; simple RNN the pre-activation.
                    let scratch = match r.cell {
                        Cell::Lstm => g + 2 * h,
                        Cell::Gru => 2 * g + 2 * h,
                        Cell::SimpleRnn => h,
                    };
                    let state = match (by_layer, r.cell) {
                        // `SampleState` (h, c) per direction.
                        (true, _) => (if r.bidirectional { 4 * h } else { 2 * h }) + scratch,
                        (false, Cell::Lstm) => 2 * h + scratch,
                        (false, _) => h + scratch,
                    };
                    (output, state)
                }
                _ if by_layer && layer.sequence_out => (t * w, 0),
                _ => (w, 0),
            };
            arrays.push((Some(i), output + state));
        }
        if !by_layer && self.sequence_output() {
            arrays.push((self.layers.len().checked_sub(1), t * self.outputs() as u128));
        }
        arrays
    }

    /// `STACK_BYTES`: an upper bound on the stack of one `predict_one` or `push` in an
    /// optimised build: twice the [`stack_arrays`](Self::stack_arrays) in bytes (at
    /// opt-level 3 the compiler unrolls and inlines the steps, and may keep a second
    /// copy of an array: the streaming GRU's `predict_one` measured 1.26× its arrays),
    /// plus [`FRAME_BYTES`] and [`FRAME_BYTES_PER_LAYER`] for call frames and spilled
    /// registers. `scripts/nostd_footprint.sh` measures the real figure by stack
    /// painting and fails if it is above this.
    pub fn stack_bytes(&self) -> u128 {
        let values: u128 = self.stack_arrays().iter().map(|(_, n)| n).sum();
        2 * 4 * values + FRAME_BYTES + FRAME_BYTES_PER_LAYER * self.layers.len() as u128
    }

    /// `STATE_BYTES`: the state a stream carries between steps (`h` of every recurrent
    /// layer, and `c` of an LSTM), or 0 for a model that does not stream.
    pub fn state_bytes(&self) -> u128 {
        if !self.streams() {
            return 0;
        }
        let values: u128 = self
            .layers
            .iter()
            .map(|layer| match layer.kind {
                LayerKind::Recurrent(r) if r.cell == Cell::Lstm => 2 * r.hidden as u128,
                LayerKind::Recurrent(r) => r.hidden as u128,
                _ => 0,
            })
            .sum();
        4 * values
    }

    /// `FLOPS_PER_STEP` and `FLOPS_PER_SAMPLE`: floating-point operations of one `push`
    /// (every layer once; 0 for a model that does not stream) and of one `predict_one`
    /// (the layers that read a sequence `T` times, the others once). Two per
    /// multiply-add of the weight products, the convention of the benchmarks; biases,
    /// activations and element-wise updates are not counted.
    pub fn flops(&self) -> (u128, u128) {
        let t = self.timesteps as u128;
        let (mut step, mut sample) = (0, 0);
        for layer in &self.layers {
            let (i, n) = (layer.inputs as u128, layer.units as u128);
            let once = match layer.kind {
                LayerKind::Recurrent(r) => {
                    let (h, g) = (r.hidden as u128, r.cell.gates() as u128);
                    let directions = if r.bidirectional { 2 } else { 1 };
                    directions * 2 * g * h * (i + h)
                }
                LayerKind::Dense(_) => 2 * i * n,
                LayerKind::Embedding { .. } | LayerKind::Dropout(_) => 0,
            };
            step += once;
            sample += if layer.sequence_in { t * once } else { once };
        }
        (if self.streams() { step } else { 0 }, sample)
    }

    /// What the parameters mean, in a canonical text: every layer with its sizes,
    /// activations and the options that change what the weights compute (masking,
    /// `return_sequences`, bidirectional), not the training options (dropout rates,
    /// the loss). Its hash ([`spec_hash`](Self::spec_hash)) heads a flat weights file,
    /// so that a file written for another model does not load.
    pub fn signature(&self) -> String {
        let mut text = format!("input({},{})", self.timesteps, self.features());
        if self.input == Input::Tokens {
            text = format!("input({})", self.timesteps);
        }
        if let Some(value) = self.masking {
            text += &format!(";masking({:08x})", value.to_bits());
        }
        for layer in &self.layers {
            text += ";";
            text += &match layer.kind {
                LayerKind::Recurrent(r) => format!(
                    "{}{}({},{},{},seq={})",
                    if r.bidirectional {
                        "bidirectional:"
                    } else {
                        ""
                    },
                    r.cell.name(),
                    r.hidden,
                    r.activation.name(),
                    r.recurrent_activation.name(),
                    r.return_sequences
                ),
                LayerKind::Dense(a) => format!("dense({},{})", layer.units, a.name()),
                LayerKind::Embedding { vocab, mask_zero } => {
                    format!("embedding({vocab},{},mask_zero={mask_zero})", layer.units)
                }
                LayerKind::Dropout(_) => "dropout".to_string(),
            };
        }
        text
    }

    /// FNV-1a (64 bits) of [`signature`](Self::signature): `Params::SPEC_HASH`.
    pub fn spec_hash(&self) -> u64 {
        self.signature()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
            })
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
        /// `mask_zero = true`: id 0 is padding (Keras).
        mask_zero: bool,
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

impl CellActivation {
    /// Every cell activation, in the order diagnostics list them.
    pub const ALL: [CellActivation; 4] = [
        CellActivation::Tanh,
        CellActivation::Sigmoid,
        CellActivation::Relu,
        CellActivation::Linear,
    ];

    /// The DSL (and Keras) name.
    pub fn name(self) -> &'static str {
        match self {
            CellActivation::Tanh => "tanh",
            CellActivation::Sigmoid => "sigmoid",
            CellActivation::Relu => "relu",
            CellActivation::Linear => "linear",
        }
    }
}

impl Activation {
    /// Every dense activation, in the order diagnostics list them.
    pub const ALL: [Activation; 8] = [
        Activation::Linear,
        Activation::Relu,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Softmax,
        Activation::Gelu,
        Activation::Elu,
        Activation::Softplus,
    ];

    /// The DSL (and Keras) name.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Softmax => "softmax",
            Activation::Gelu => "gelu",
            Activation::Elu => "elu",
            Activation::Softplus => "softplus",
        }
    }
}

impl Loss {
    /// Keras's (and the DSL's) name of the loss.
    pub fn name(self) -> &'static str {
        match self {
            Loss::Mse => "mse",
            Loss::Mae => "mae",
            Loss::Huber(_) => "huber",
            Loss::BinaryCrossentropy => "binary_crossentropy",
            Loss::CategoricalCrossentropy => "categorical_crossentropy",
            Loss::SparseCategoricalCrossentropy => "sparse_categorical_crossentropy",
        }
    }
}

impl LayerKind {
    /// True for lstm, gru and simple_rnn, bidirectional or not.
    pub fn is_recurrent(self) -> bool {
        matches!(self, LayerKind::Recurrent(_))
    }
}

impl LayerKind {
    /// Trainable parameters of a layer of this kind with `inputs` inputs and `units`
    /// outputs per step: PyTorch's count for the same layer (two bias vectors per
    /// recurrent direction). In `u128` so that `check` can count a spec of any size
    /// before it refuses it.
    pub fn param_count(self, inputs: usize, units: usize) -> u128 {
        let (i, n) = (inputs as u128, units as u128);
        match self {
            LayerKind::Recurrent(r) => {
                let (h, gates) = (r.hidden as u128, r.cell.gates() as u128);
                let directions = if r.bidirectional { 2 } else { 1 };
                directions * (gates * h * i + gates * h * h + 2 * gates * h)
            }
            LayerKind::Dense(_) => n * i + n,
            LayerKind::Embedding { vocab, .. } => vocab as u128 * n,
            LayerKind::Dropout(_) => 0,
        }
    }
}

impl Layer {
    /// Trainable parameters: PyTorch's count for the same layer. A checked model has
    /// at most `check::MAX_PARAMS`, so the count fits a `usize`.
    pub fn param_count(&self) -> usize {
        self.kind.param_count(self.inputs, self.units) as usize
    }

    /// Whether this is a bidirectional recurrent layer.
    pub fn is_bidirectional(&self) -> bool {
        matches!(self.kind, LayerKind::Recurrent(r) if r.bidirectional)
    }
}

/// What the signatures of the generated API depend on: known for every checked model,
/// and for a spec with errors when they leave it readable (then the fallback keeps its
/// typed `predict_one` and true consts).
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

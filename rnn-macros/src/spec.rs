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
    /// `T` of `input(T, F)`.
    pub timesteps: usize,
    /// `F` of `input(T, F)`.
    pub features: usize,
    /// The layers after `input`, numbered from 0.
    pub layers: Vec<Layer>,
}

/// One checked layer.
pub struct Layer {
    /// What the layer computes.
    pub kind: LayerKind,
    /// Output width (`H` of a recurrent layer, `N` of a dense layer).
    pub units: usize,
    /// Input width: `F` for layer 0, otherwise the previous layer's `units`.
    pub inputs: usize,
    /// Whether a recurrent layer passes on every time step; always false for dense.
    pub return_sequences: bool,
    /// Span of the layer in the spec, for diagnostics in generated code.
    pub span: Span,
}

/// The kinds of layer the DSL knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerKind {
    /// `lstm(units)`: PyTorch's LSTM cell, gates i, f, g, o.
    Lstm,
    /// `gru(units)`: PyTorch's GRU cell (Keras `reset_after = true`), gates r, z, n.
    Gru,
    /// `simple_rnn(units)`: Elman cell with tanh.
    SimpleRnn,
    /// `dense(units, activation = ...)`.
    Dense(Activation),
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
    /// True for lstm, gru and simple_rnn.
    pub fn is_recurrent(self) -> bool {
        !matches!(self, LayerKind::Dense(_))
    }
}

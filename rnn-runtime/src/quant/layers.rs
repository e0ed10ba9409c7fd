//! The int8 layers: the `f32` layers' single-sample forward passes over [`QWeights`].

use super::weights::{f32_block_le, QWeights, Stored};
use crate::kernels::activation::{tanh_slice, Activation, FixedActivation};
use crate::kernels::cell_activation::{apply_slice, CellActivations};
use crate::layers::{gru_step_row, lstm_step_row};
use crate::layers::{GruState, LstmState, SampleState, SimpleRnnState};

/// A dense layer with `I` inputs and `N` units and int8 weights.
#[derive(Clone, Debug, PartialEq)]
pub struct DenseInt8<const I: usize, const N: usize> {
    weight: QWeights<I, N, 1>,
    bias: Stored<[[f32; N]; 1]>,
    activation: Activation,
}

impl<const I: usize, const N: usize> DenseInt8<I, N> {
    /// Bytes of the layer's parameters in the int8 format: `weight`, then `bias`.
    pub const BYTES: usize = QWeights::<I, N, 1>::BYTES + 4 * N;

    /// The layer whose [`BYTES`](Self::BYTES) bytes start at offset `at` of `bytes`.
    ///
    /// # Panics
    /// If `bytes` is shorter than `at + BYTES` (at compile time in a constant).
    #[cfg(not(feature = "std"))]
    pub const fn from_le_bytes(bytes: &[u8], at: usize, activation: Activation) -> Self {
        DenseInt8 {
            weight: QWeights::from_le_bytes(bytes, at),
            bias: f32_block_le(bytes, at + QWeights::<I, N, 1>::BYTES),
            activation,
        }
    }

    /// The layer whose [`BYTES`](Self::BYTES) bytes start at offset `at` of `bytes`.
    ///
    /// # Panics
    /// If `bytes` is shorter than `at + BYTES`.
    #[cfg(feature = "std")]
    pub fn from_le_bytes(bytes: &[u8], at: usize, activation: Activation) -> Self {
        DenseInt8 {
            weight: QWeights::from_le_bytes(bytes, at),
            bias: f32_block_le(bytes, at + QWeights::<I, N, 1>::BYTES),
            activation,
        }
    }

    /// The weight matrix.
    pub fn weight(&self) -> &QWeights<I, N, 1> {
        &self.weight
    }

    /// Forward pass of one sample, without allocation.
    pub fn forward_one(&self, x: &[f32; I]) -> [f32; N] {
        let mut y = self.bias[0];
        self.weight.matvec_add(x, &mut y);
        self.activation.apply(&mut y, N);
        y
    }

    /// [`forward_one`](Self::forward_one) with the activation fixed at compile time,
    /// which must be this layer's (checked in debug builds): what generated code calls,
    /// so that a model links only the activations it uses.
    #[doc(hidden)]
    #[inline]
    pub fn forward_one_as<A: FixedActivation>(&self, x: &[f32; I]) -> [f32; N] {
        debug_assert_eq!(self.activation, A::ACTIVATION, "the generated activation");
        let mut y = self.bias[0];
        self.weight.matvec_add(x, &mut y);
        A::apply(&mut y, N);
        y
    }

    /// Appends the layer in the int8 format.
    #[cfg(feature = "std")]
    pub fn write_le(&self, out: &mut Vec<u8>) {
        self.weight.write_le(out);
        write_f32s(self.bias.as_flattened(), out);
    }

    /// Calls `f` on the dequantised `weight`, then `bias`: the `f32` layer's tensors.
    #[cfg(feature = "std")]
    pub fn visit_dequantized(&self, f: &mut dyn FnMut(&[f32])) {
        f(&self.weight.dequantize());
        f(self.bias.as_flattened());
    }
}

/// An embedding of `V` tokens into `D` values, each token's row int8 with its own scale.
#[derive(Clone, Debug, PartialEq)]
pub struct EmbeddingInt8<const V: usize, const D: usize> {
    weight: QWeights<D, V, 1>,
}

impl<const V: usize, const D: usize> EmbeddingInt8<V, D> {
    /// Bytes of the layer's parameters in the int8 format.
    pub const BYTES: usize = QWeights::<D, V, 1>::BYTES;

    /// The layer whose [`BYTES`](Self::BYTES) bytes start at offset `at` of `bytes`.
    ///
    /// # Panics
    /// If `bytes` is shorter than `at + BYTES` (at compile time in a constant).
    #[cfg(not(feature = "std"))]
    pub const fn from_le_bytes(bytes: &[u8], at: usize) -> Self {
        EmbeddingInt8 {
            weight: QWeights::from_le_bytes(bytes, at),
        }
    }

    /// The layer whose [`BYTES`](Self::BYTES) bytes start at offset `at` of `bytes`.
    ///
    /// # Panics
    /// If `bytes` is shorter than `at + BYTES`.
    #[cfg(feature = "std")]
    pub fn from_le_bytes(bytes: &[u8], at: usize) -> Self {
        EmbeddingInt8 {
            weight: QWeights::from_le_bytes(bytes, at),
        }
    }

    /// The vector of token `id` (dequantised); zeros for an id `>= V`, as the `f32`
    /// layer.
    pub fn forward_one(&self, id: u32, out: &mut [f32; D]) {
        match usize::try_from(id) {
            Ok(r) if r < V => self.weight.row_into(r, out),
            _ => out.fill(0.0),
        }
    }

    /// Appends the layer in the int8 format.
    #[cfg(feature = "std")]
    pub fn write_le(&self, out: &mut Vec<u8>) {
        self.weight.write_le(out);
    }

    /// Calls `f` on the dequantised `weight`.
    #[cfg(feature = "std")]
    pub fn visit_dequantized(&self, f: &mut dyn FnMut(&[f32])) {
        f(&self.weight.dequantize());
    }
}

/// A recurrent cell's int8 parameters: `weight_ih [G·H, I]` and `weight_hh [G·H, H]`
/// as int8, `bias_ih` and `bias_hh` as `f32`, in PyTorch's layout (gate blocks of `H`
/// rows).
#[derive(Clone, Debug, PartialEq)]
struct QCell<const I: usize, const H: usize, const G: usize> {
    weight_ih: QWeights<I, H, G>,
    weight_hh: QWeights<H, H, G>,
    bias_ih: Stored<[[f32; H]; G]>,
    bias_hh: Stored<[[f32; H]; G]>,
}

impl<const I: usize, const H: usize, const G: usize> QCell<I, H, G> {
    const BYTES: usize = QWeights::<I, H, G>::BYTES + QWeights::<H, H, G>::BYTES + 8 * G * H;
    const AT_HH: usize = QWeights::<I, H, G>::BYTES;
    const AT_BIH: usize = Self::AT_HH + QWeights::<H, H, G>::BYTES;
    const AT_BHH: usize = Self::AT_BIH + 4 * G * H;

    #[cfg(not(feature = "std"))]
    const fn from_le_bytes(bytes: &[u8], at: usize) -> Self {
        QCell {
            weight_ih: QWeights::from_le_bytes(bytes, at),
            weight_hh: QWeights::from_le_bytes(bytes, at + Self::AT_HH),
            bias_ih: f32_block_le(bytes, at + Self::AT_BIH),
            bias_hh: f32_block_le(bytes, at + Self::AT_BHH),
        }
    }

    #[cfg(feature = "std")]
    fn from_le_bytes(bytes: &[u8], at: usize) -> Self {
        QCell {
            weight_ih: QWeights::from_le_bytes(bytes, at),
            weight_hh: QWeights::from_le_bytes(bytes, at + Self::AT_HH),
            bias_ih: f32_block_le(bytes, at + Self::AT_BIH),
            bias_hh: f32_block_le(bytes, at + Self::AT_BHH),
        }
    }

    /// `input = bias_ih + weight_ih·x` and `hidden = bias_hh + weight_hh·h`, each `[G, H]`.
    #[inline(always)]
    fn sides(
        &self,
        x: &[f32; I],
        h: &[f32; H],
        input: &mut [[f32; H]; G],
        hidden: &mut [[f32; H]; G],
    ) {
        input.copy_from_slice(&self.bias_ih[..]);
        self.weight_ih.matvec_add(x, input.as_flattened_mut());
        hidden.copy_from_slice(&self.bias_hh[..]);
        self.weight_hh.matvec_add(h, hidden.as_flattened_mut());
    }

    /// `bias_ih + bias_hh + weight_ih·x + weight_hh·h`, `[G, H]`, added in the order of
    /// the `f32` cell.
    #[inline(always)]
    fn gates(&self, x: &[f32; I], h: &[f32; H], out: &mut [[f32; H]; G]) {
        let sums = self
            .bias_ih
            .as_flattened()
            .iter()
            .zip(self.bias_hh.as_flattened());
        for (o, (a, b)) in out.as_flattened_mut().iter_mut().zip(sums) {
            *o = a + b;
        }
        self.weight_ih.matvec_add(x, out.as_flattened_mut());
        self.weight_hh.matvec_add(h, out.as_flattened_mut());
    }

    #[cfg(feature = "std")]
    fn write_le(&self, out: &mut Vec<u8>) {
        self.weight_ih.write_le(out);
        self.weight_hh.write_le(out);
        write_f32s(self.bias_ih.as_flattened(), out);
        write_f32s(self.bias_hh.as_flattened(), out);
    }

    #[cfg(feature = "std")]
    fn visit_dequantized(&self, f: &mut dyn FnMut(&[f32])) {
        f(&self.weight_ih.dequantize());
        f(&self.weight_hh.dequantize());
        f(self.bias_ih.as_flattened());
        f(self.bias_hh.as_flattened());
    }
}

#[cfg(feature = "std")]
fn write_f32s(values: &[f32], out: &mut Vec<u8>) {
    out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
}

/// What the three int8 cells share: the parameters, constructors, bytes and
/// accessors.
macro_rules! int8_cell {
    ($(#[$doc:meta])* $name:ident, $gates:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name<const I: usize, const H: usize> {
            cell: QCell<I, H, $gates>,
            activations: CellActivations,
        }

        impl<const I: usize, const H: usize> $name<I, H> {
            /// Bytes of the layer's parameters in the int8 format: `weight_ih`,
            /// `weight_hh`, `bias_ih`, `bias_hh`.
            pub const BYTES: usize = QCell::<I, H, $gates>::BYTES;

            /// The layer whose [`BYTES`](Self::BYTES) bytes start at offset `at` of
            /// `bytes`, with the given activations.
            ///
            /// # Panics
            /// If `bytes` is shorter than `at + BYTES` (at compile time in a constant).
            #[cfg(not(feature = "std"))]
            pub const fn from_le_bytes(bytes: &[u8], at: usize, activations: CellActivations) -> Self {
                $name { cell: QCell::from_le_bytes(bytes, at), activations }
            }

            /// The layer whose [`BYTES`](Self::BYTES) bytes start at offset `at` of
            /// `bytes`, with the given activations.
            ///
            /// # Panics
            /// If `bytes` is shorter than `at + BYTES`.
            #[cfg(feature = "std")]
            pub fn from_le_bytes(bytes: &[u8], at: usize, activations: CellActivations) -> Self {
                $name { cell: QCell::from_le_bytes(bytes, at), activations }
            }

            /// `weight_ih`, `[G·H, I]`.
            pub fn weight_ih(&self) -> &QWeights<I, H, $gates> {
                &self.cell.weight_ih
            }

            /// `weight_hh`, `[G·H, H]`.
            pub fn weight_hh(&self) -> &QWeights<H, H, $gates> {
                &self.cell.weight_hh
            }

            /// Appends the layer in the int8 format.
            #[cfg(feature = "std")]
            pub fn write_le(&self, out: &mut Vec<u8>) {
                self.cell.write_le(out);
            }

            /// Calls `f` on each dequantised tensor in the `f32` layer's canonical
            /// order.
            #[cfg(feature = "std")]
            pub fn visit_dequantized(&self, f: &mut dyn FnMut(&[f32])) {
                self.cell.visit_dequantized(f);
            }
        }
    };
}

int8_cell!(
    /// An LSTM layer (gates i, f, g, o as PyTorch's) with `I` inputs, `H` units and int8
    /// weights.
    LstmInt8,
    4
);
int8_cell!(
    /// A GRU layer (gates r, z, n as PyTorch's) with `I` inputs, `H` units and int8
    /// weights.
    GruInt8,
    3
);
int8_cell!(
    /// A simple RNN layer with `I` inputs, `H` units and int8 weights.
    SimpleRnnInt8,
    1
);

impl<const I: usize, const H: usize> LstmInt8<I, H> {
    /// One time step of one sample: advances `h` and `c` (the `f32` cell's
    /// element-wise step, so the same operations on the same sums).
    pub fn step(&self, x: &[f32; I], h: &mut [f32; H], c: &mut [f32; H]) {
        if self.activations == CellActivations::DEFAULT {
            self.step_as::<true>(x, h, c);
        } else {
            self.step_as::<false>(x, h, c);
        }
    }

    /// [`step`](Self::step) with whether the activations are the default pair known at
    /// compile time (checked in debug builds), so that only that path is linked.
    #[inline]
    fn step_as<const DEFAULT: bool>(&self, x: &[f32; I], h: &mut [f32; H], c: &mut [f32; H]) {
        debug_assert_eq!(self.activations == CellActivations::DEFAULT, DEFAULT);
        let mut gates = [[0.0f32; H]; 4];
        self.cell.gates(x, h, &mut gates);
        lstm_step_row::<H, DEFAULT>(gates.as_flattened_mut(), c, h, self.activations);
    }

    /// [`step`](Self::step) with the activations' path known at compile time, on the
    /// `f32` layer's state: what generated code calls.
    #[doc(hidden)]
    #[inline]
    pub fn step_one_as<'s, const DEFAULT: bool, const G: usize>(
        &self,
        x: &[f32; I],
        s: &'s mut LstmState<H, G>,
    ) -> &'s [f32; H] {
        self.step_as::<DEFAULT>(x, &mut s.h, &mut s.c);
        &s.h
    }

    /// [`step`](Self::step) on the `f32` layer's state; returns the new `h`.
    pub fn step_one<'s, const G: usize>(
        &self,
        x: &[f32; I],
        s: &'s mut LstmState<H, G>,
    ) -> &'s [f32; H] {
        self.step(x, &mut s.h, &mut s.c);
        &s.h
    }

    /// [`step`](Self::step) on a [`SampleState`]; returns the new `h`.
    pub fn step_sample<'s>(&self, x: &[f32; I], s: &'s mut SampleState<H>) -> &'s [f32; H] {
        self.step(x, &mut s.h, &mut s.c);
        &s.h
    }
}

impl<const I: usize, const H: usize> GruInt8<I, H> {
    /// One time step of one sample: advances `h` (the `f32` cell's element-wise step).
    pub fn step(&self, x: &[f32; I], h: &mut [f32; H]) {
        if self.activations == CellActivations::DEFAULT {
            self.step_as::<true>(x, h);
        } else {
            self.step_as::<false>(x, h);
        }
    }

    /// [`step`](Self::step) with whether the activations are the default pair known at
    /// compile time (checked in debug builds), so that only that path is linked.
    #[inline]
    fn step_as<const DEFAULT: bool>(&self, x: &[f32; I], h: &mut [f32; H]) {
        debug_assert_eq!(self.activations == CellActivations::DEFAULT, DEFAULT);
        let mut input = [[0.0f32; H]; 3];
        let mut hidden = [[0.0f32; H]; 3];
        self.cell.sides(x, h, &mut input, &mut hidden);
        let (input, hidden) = (input.as_flattened_mut(), hidden.as_flattened());
        gru_step_row::<H, DEFAULT>(input, hidden, h, self.activations);
    }

    /// [`step`](Self::step) with the activations' path known at compile time, on the
    /// `f32` layer's state: what generated code calls.
    #[doc(hidden)]
    #[inline]
    pub fn step_one_as<'s, const DEFAULT: bool, const G: usize>(
        &self,
        x: &[f32; I],
        s: &'s mut GruState<H, G>,
    ) -> &'s [f32; H] {
        self.step_as::<DEFAULT>(x, &mut s.h);
        &s.h
    }

    /// [`step`](Self::step) on the `f32` layer's state; returns the new `h`.
    pub fn step_one<'s, const G: usize>(
        &self,
        x: &[f32; I],
        s: &'s mut GruState<H, G>,
    ) -> &'s [f32; H] {
        self.step(x, &mut s.h);
        &s.h
    }

    /// [`step`](Self::step) on a [`SampleState`] (whose `c` is unused); returns the
    /// new `h`.
    pub fn step_sample<'s>(&self, x: &[f32; I], s: &'s mut SampleState<H>) -> &'s [f32; H] {
        self.step(x, &mut s.h);
        &s.h
    }
}

impl<const I: usize, const H: usize> SimpleRnnInt8<I, H> {
    /// One time step of one sample: advances `h`.
    pub fn step(&self, x: &[f32; I], h: &mut [f32; H]) {
        if self.activations.activation == CellActivations::DEFAULT.activation {
            self.step_as::<true>(x, h);
        } else {
            self.step_as::<false>(x, h);
        }
    }

    /// [`step`](Self::step) with whether the activation is the default (tanh) known at
    /// compile time (checked in debug builds), so that only that path is linked.
    #[inline]
    fn step_as<const DEFAULT: bool>(&self, x: &[f32; I], h: &mut [f32; H]) {
        let default = self.activations.activation == CellActivations::DEFAULT.activation;
        debug_assert_eq!(default, DEFAULT);
        let mut pre = [[0.0f32; H]; 1];
        self.cell.gates(x, h, &mut pre);
        let [pre] = &mut pre;
        if DEFAULT {
            tanh_slice(pre);
        } else {
            apply_slice(self.activations.activation, pre);
        }
        *h = *pre;
    }

    /// [`step`](Self::step) with the activation's path known at compile time, on the
    /// `f32` layer's state: what generated code calls.
    #[doc(hidden)]
    #[inline]
    pub fn step_one_as<'s, const DEFAULT: bool>(
        &self,
        x: &[f32; I],
        s: &'s mut SimpleRnnState<H>,
    ) -> &'s [f32; H] {
        self.step_as::<DEFAULT>(x, &mut s.h);
        &s.h
    }

    /// [`step`](Self::step) on the `f32` layer's state; returns the new `h`.
    pub fn step_one<'s>(&self, x: &[f32; I], s: &'s mut SimpleRnnState<H>) -> &'s [f32; H] {
        self.step(x, &mut s.h);
        &s.h
    }

    /// [`step`](Self::step) on a [`SampleState`] (whose `c` is unused); returns the
    /// new `h`.
    pub fn step_sample<'s>(&self, x: &[f32; I], s: &'s mut SampleState<H>) -> &'s [f32; H] {
        self.step(x, &mut s.h);
        &s.h
    }
}

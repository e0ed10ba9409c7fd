//! What the three recurrent layer kinds have in common, as a trait: the batch kernels
//! and single-sample steps that wrappers such as [`super::BidirectionalLayer`] need.

use super::{CellActivations, GruLayer, LstmLayer, SimpleRnnLayer};
#[cfg(feature = "std")]
use super::{RecurrentBuffers, SeqGrad, SeqOptions};
#[cfg(feature = "std")]
use crate::rng::Rng;

/// The state of one sample's run through a recurrent layer with `H` units, for
/// allocation-free inference: set it to start from a given state, read it after the
/// last step for the final state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SampleState<const H: usize> {
    /// Hidden state.
    pub h: [f32; H],
    /// Cell state (LSTM only; other cells leave it untouched).
    pub c: [f32; H],
}

impl<const H: usize> SampleState<H> {
    /// The zero state.
    pub const fn new() -> Self {
        SampleState {
            h: [0.0; H],
            c: [0.0; H],
        }
    }
}

impl<const H: usize> Default for SampleState<H> {
    fn default() -> Self {
        Self::new()
    }
}

/// A recurrent layer: LSTM, GRU or simple RNN, each with `INPUTS` inputs and `UNITS`
/// units. Every method has an inherent counterpart of the same name on each layer
/// type; the trait lets wrappers be generic over the cell kind.
pub trait RecurrentLayer: Sized {
    /// Inputs per time step.
    const INPUTS: usize;
    /// Units (width of the hidden state).
    const UNITS: usize;
    /// Number of scalar parameters.
    const PARAMS: usize;
    /// Whether the layer keeps a cell state besides `h` (LSTM).
    const HAS_CELL: bool;
    /// One time step's input of one sample, `[f32; INPUTS]`.
    type Input;
    /// One sample's hidden state, `[f32; UNITS]`.
    type Hidden: Copy + AsRef<[f32]>;
    /// One sample's state, [`SampleState<UNITS>`](SampleState).
    type State: Default;

    #[cfg(feature = "std")]
    /// Keras's initialisation with the given activations.
    fn init_with(rng: &mut Rng, activations: CellActivations) -> Self;

    #[cfg(feature = "std")]
    /// Keras's initialisation with the default activations.
    fn init(rng: &mut Rng) -> Self {
        Self::init_with(rng, CellActivations::DEFAULT)
    }

    /// The layer's activations.
    fn activations(&self) -> CellActivations;

    #[cfg(feature = "std")]
    /// Forward pass over a time-major `[steps, batch, INPUTS]` input with masks and
    /// initial states (see [`SeqOptions`]), keeping what BPTT needs.
    fn forward_seq_with(
        &self,
        x: &[f32],
        steps: usize,
        batch: usize,
        opts: &SeqOptions<'_>,
        bufs: &mut RecurrentBuffers,
    );

    #[cfg(feature = "std")]
    /// Forward pass from the zero state without masks.
    fn forward_seq(&self, x: &[f32], steps: usize, batch: usize, bufs: &mut RecurrentBuffers) {
        self.forward_seq_with(x, steps, batch, &SeqOptions::NONE, bufs)
    }

    #[cfg(feature = "std")]
    /// Backward pass through time after a forward pass on the same buffers and `x`;
    /// adds to `grads` (`PARAMS` values) and, if `need_dx`, leaves the input gradient
    /// in the buffers.
    fn backward_seq(
        &self,
        x: &[f32],
        d_out: SeqGrad<'_>,
        grads: &mut [f32],
        bufs: &mut RecurrentBuffers,
        need_dx: bool,
    );

    /// One time step of one sample; returns the new hidden state.
    fn step_sample<'s>(&self, x: &Self::Input, state: &'s mut Self::State) -> &'s Self::Hidden;

    /// The hidden states of one sample's whole sequence, from the zero state, on the
    /// stack.
    fn forward_one_seq<const T: usize>(&self, x: &[Self::Input; T], out: &mut [Self::Hidden; T]) {
        let mut state = Self::State::default();
        self.forward_one_seq_from(x, &mut state, out)
    }

    /// [`forward_one_seq`](Self::forward_one_seq) from `state`, which holds the final
    /// state afterwards.
    fn forward_one_seq_from<const T: usize>(
        &self,
        x: &[Self::Input; T],
        state: &mut Self::State,
        out: &mut [Self::Hidden; T],
    ) {
        for (x_t, h) in x.iter().zip(out.iter_mut()) {
            *h = *self.step_sample(x_t, state);
        }
    }

    /// [`forward_one_seq`](Self::forward_one_seq) of the first `len` steps of `x`
    /// only (a sample of length `len` padded to `T`); `out` after them is left as it is.
    fn forward_one_seq_len<const T: usize>(
        &self,
        x: &[Self::Input; T],
        len: usize,
        out: &mut [Self::Hidden; T],
    ) {
        let mut state = Self::State::default();
        for (x_t, h) in x.iter().zip(out.iter_mut()).take(len) {
            *h = *self.step_sample(x_t, &mut state);
        }
    }

    /// Calls `f` on each parameter tensor in canonical order.
    fn visit(&self, f: &mut dyn FnMut(&[f32]));

    /// Calls `f` on each parameter tensor, mutably, in canonical order.
    fn visit_mut(&mut self, f: &mut dyn FnMut(&mut [f32]));
}

/// Implements [`RecurrentLayer`] for a layer type by delegating to its inherent methods.
macro_rules! delegate {
    ($layer:ident, $has_cell:literal) => {
        impl<const I: usize, const H: usize> RecurrentLayer for $layer<I, H> {
            const INPUTS: usize = I;
            const UNITS: usize = H;
            const PARAMS: usize = $layer::<I, H>::PARAMS;
            const HAS_CELL: bool = $has_cell;
            type Input = [f32; I];
            type Hidden = [f32; H];
            type State = SampleState<H>;

            #[cfg(feature = "std")]
            fn init_with(rng: &mut Rng, activations: CellActivations) -> Self {
                $layer::init_with(rng, activations)
            }

            fn activations(&self) -> CellActivations {
                self.activations
            }

            #[cfg(feature = "std")]
            fn forward_seq_with(
                &self,
                x: &[f32],
                steps: usize,
                batch: usize,
                opts: &SeqOptions<'_>,
                bufs: &mut RecurrentBuffers,
            ) {
                $layer::forward_seq_with(self, x, steps, batch, opts, bufs)
            }

            #[cfg(feature = "std")]
            fn backward_seq(
                &self,
                x: &[f32],
                d_out: SeqGrad<'_>,
                grads: &mut [f32],
                bufs: &mut RecurrentBuffers,
                need_dx: bool,
            ) {
                $layer::backward_seq(self, x, d_out, grads, bufs, need_dx)
            }

            fn step_sample<'s>(&self, x: &[f32; I], state: &'s mut SampleState<H>) -> &'s [f32; H] {
                $layer::step_sample(self, x, state)
            }

            fn visit(&self, f: &mut dyn FnMut(&[f32])) {
                $layer::visit(self, f)
            }

            fn visit_mut(&mut self, f: &mut dyn FnMut(&mut [f32])) {
                $layer::visit_mut(self, f)
            }
        }
    };
}

delegate!(LstmLayer, true);
delegate!(GruLayer, false);
delegate!(SimpleRnnLayer, false);

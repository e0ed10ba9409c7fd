//! The trait every generated model implements: constant shapes, and batch forward and
//! backward passes over a workspace. Everything that runs a model on a batch (the
//! `batch` module), trains it (`train`) or writes it to a file (the formats) is generic
//! over [`Network`] and sits above this module.

use ndarray::ArrayViewD;

use crate::architecture::Padding;
use crate::dropout::MaskKey;
use crate::error::{Error, Result};
use crate::layers::check_ids;
use crate::loss::Loss;
use crate::params::Params;

/// The element type of a model's input: `f32` features, or `u32` token ids for a
/// model whose layer 0 is an `embedding`.
pub trait InputElement: Copy + Default + Send + Sync + 'static {
    /// Checks the values of a batch (`[batch, T, …]` in logical order) for a model
    /// with vocabulary `vocab` (0 for real-valued input).
    fn check_values(x: &ArrayViewD<'_, Self>, steps: usize, vocab: usize) -> Result<()>;

    /// The value's bits, from which a training checkpoint fingerprints its data.
    fn to_bits(self) -> u32;

    /// Whether the value marks padding under `padding` (a step is padding when all its
    /// values do): exact equality, as Keras's masks compare.
    fn is_padding(self, padding: Padding) -> bool;
}

impl InputElement for f32 {
    fn to_bits(self) -> u32 {
        f32::to_bits(self)
    }

    fn is_padding(self, padding: Padding) -> bool {
        matches!(padding, Padding::Value(v) if self == v)
    }

    /// A NaN or infinite feature would turn every later output and gradient into NaN
    /// without a trace; it is refused, naming where it is.
    fn check_values(x: &ArrayViewD<'_, Self>, steps: usize, _: usize) -> Result<()> {
        let per_sample = x.len() / x.len_of(ndarray::Axis(0)).max(1);
        let features = per_sample / steps.max(1);
        let bad = |i: usize, value: f32| Error::NonFiniteInput {
            sample: i / per_sample.max(1),
            step: i % per_sample.max(1) / features.max(1),
            feature: i % features.max(1),
            value,
        };
        match x.as_slice() {
            Some(values) => match values.iter().position(|v| !v.is_finite()) {
                Some(i) => Err(bad(i, values[i])),
                None => Ok(()),
            },
            None => match x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                Some((i, &v)) => Err(bad(i, v)),
                None => Ok(()),
            },
        }
    }
}

impl InputElement for u32 {
    fn to_bits(self) -> u32 {
        self
    }

    fn is_padding(self, padding: Padding) -> bool {
        padding == Padding::ZeroId && self == 0
    }

    fn check_values(x: &ArrayViewD<'_, Self>, steps: usize, vocab: usize) -> Result<()> {
        match x.as_slice() {
            Some(ids) => check_ids(ids, steps, vocab),
            None => {
                let ids: Vec<u32> = x.iter().copied().collect();
                check_ids(&ids, steps, vocab)
            }
        }
    }
}

/// A generated network: constant shapes plus batch forward and backward passes.
///
/// Implemented by `model!`; the functions of this module are the runtime half of the
/// generated inherent methods of the same names. `'static` (every generated struct
/// is) so that `fit` can hand the model to an epoch closure that names its type.
///
/// Code generic over `M: Network` works for every `model!`:
///
/// ```
/// use rnn_runtime::{model, Network};
///
/// model! { struct Seq < input(6, 2), gru(3, return_sequences = true), dense(2) > }
/// model! { struct Tokens < input(5), embedding(10, 4), lstm(3), dense(1) > }
///
/// /// Input and output shape of one sample, and the parameter count.
/// fn describe<M: Network>() -> String {
///     format!("[{}, {}] -> [{}, {}], {} params", M::TIMESTEPS, M::FEATURES,
///             M::OUTPUT_STEPS, M::OUTPUTS, M::PARAMS)
/// }
///
/// // GRU: 3 · 3 · (2 + 3) weights + 2 · 3 · 3 biases; dense: 3 · 2 + 2.
/// assert_eq!(describe::<Seq>(), "[6, 2] -> [6, 2], 71 params");
/// assert_eq!(describe::<Tokens>(), "[5, 1] -> [1, 1], 152 params");
/// assert_eq!(Tokens::VOCAB, 10);
/// ```
pub trait Network: Params + Sized + Sync + 'static {
    /// Element of the input: `f32`, or `u32` token ids.
    type Input: InputElement;
    /// Time steps of one sample.
    const TIMESTEPS: usize;
    /// Values per time step of the input (1 for a token id).
    const FEATURES: usize;
    /// Vocabulary size of a token model; 0 for real-valued input.
    const VOCAB: usize;
    /// Width of the output (per time step for a sequence output).
    const OUTPUTS: usize;
    /// Output steps per sample: `TIMESTEPS` for a sequence output, else 1.
    const OUTPUT_STEPS: usize;
    /// Work buffers of the forward and backward passes (`'static`, so that
    /// [`forward`](crate::forward) can keep them between calls).
    type Workspace: Default + Send + 'static;
    /// The layers as declared, for exporters and importers.
    const ARCHITECTURE: crate::architecture::Architecture;
    /// The loss the spec declares (`loss = …` after the last layer), if any; see
    /// [`model_loss`](crate::model_loss) for the loss the model trains and evaluates with.
    const LOSS: Option<Loss>;

    /// A new model with Keras's default initialisation from `seed`.
    fn init(seed: u64) -> Self;

    /// Forward pass of a contiguous batch-major block of `batch` samples (`[batch, T,
    /// F]` values, or `[batch, T]` valid token ids); returns the batch-major `[batch,
    /// OUTPUT_STEPS, OUTPUTS]` output, held in `ws` until the next call. `key` is
    /// `Some` in training, where it keys the dropout masks; `None` is inference.
    ///
    /// `lengths`, if given, holds each sample's length, longest first (checked by
    /// [`Packing::check`](crate::layers::Packing::check); a caller that breaks it
    /// panics): sample `b` runs its first `lengths[b]` steps only, as in PyTorch's
    /// packed sequences; its later steps of `x` are never read, and a sequence output
    /// is 0 there. The batch functions sort a batch and read its lengths (given, or
    /// from the model's padding) before calling this.
    fn forward_batch<'w>(
        &self,
        x: &[Self::Input],
        batch: usize,
        lengths: Option<&[usize]>,
        key: Option<MaskKey>,
        ws: &'w mut Self::Workspace,
    ) -> &'w [f32];

    /// Backward pass after [`forward_batch`](Network::forward_batch) with the same
    /// `ws`: adds d loss / d parameter to `grads` (`PARAMS` values, canonical order)
    /// given `d_out`, the batch-major gradient of the loss at the output.
    fn backward_batch(&self, d_out: &[f32], ws: &mut Self::Workspace, grads: &mut [f32]);

    /// Values of one sample's recurrent state as the batch passes carry it from one
    /// call to the next: each recurrent layer's `h`, then its `c` for an LSTM, in layer
    /// order. 0 for a model with a bidirectional layer, which cannot carry a state
    /// across calls (its reverse direction starts at the end of each sample).
    const STATE_VALUES: usize;

    /// Makes the next [`forward_batch`](Network::forward_batch) on `ws` start from
    /// `states` (`[batch, STATE_VALUES]`, in the batch's order) instead of the zero
    /// state; `None` goes back to the zero state. The backward pass that follows
    /// computes no gradient with respect to them: they are detached, as PyTorch's
    /// `h.detach()` between the chunks of truncated BPTT.
    fn set_initial_states(ws: &mut Self::Workspace, states: Option<&[f32]>);

    /// Each sample's state after its last step in the last
    /// [`forward_batch`](Network::forward_batch) on `ws`, into `out` (`[batch,
    /// STATE_VALUES]`).
    fn final_states(ws: &Self::Workspace, out: &mut [f32]);

    /// With `true`, the passes on `ws` skip the activation of a dense last layer:
    /// [`forward_batch`](Network::forward_batch) returns its pre-activation (logits)
    /// and [`backward_batch`](Network::backward_batch) takes the pre-activation's
    /// gradient as `d_out`. What a cross-entropy reads of a softmax or sigmoid output
    /// ([`Reading::Logits`](crate::loss::Reading::Logits)); no effect on any other last layer.
    fn output_logits(ws: &mut Self::Workspace, logits: bool);

    /// With `true`, the forward passes on `ws` keep only what the output needs: the
    /// recurrent layers that have an inference path
    /// ([`Inference`](crate::layers::Inference)) store nothing for backward, and no
    /// [`backward_batch`](Network::backward_batch) may follow. The outputs are the
    /// same bits either way. What [`forward`](crate::forward) sets; the default does
    /// nothing.
    fn inference_only(ws: &mut Self::Workspace, inference: bool) {
        let _ = (ws, inference);
    }
}

/// Values of one sample's output.
pub(crate) fn output_len<M: Network>() -> usize {
    M::OUTPUT_STEPS * M::OUTPUTS
}

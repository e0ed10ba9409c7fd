//! The batch API of the model struct (with the runtime's `std` feature): `new`,
//! `forward`, `evaluate`, `fit`, the file formats, …: each a documented call into the
//! runtime's generic function of the same name.

use proc_macro2::TokenStream;
use quote::quote;

use super::api::Method;
use crate::spec::{Input, Model};

/// Documentation and body of a method of the batch API.
pub fn item(model: &Model, method: Method) -> (TokenStream, TokenStream) {
    let (x_elem, x_dim) = super::input_types(model);
    let doc = |text: String| quote!(#[doc = #text]);
    let x_view = quote! {
        let x: ::rnn_runtime::ndarray::ArrayView<'a, #x_elem, #x_dim> = ::rnn_runtime::__private::Into::into(x);
    };
    let y_view = quote! {
        let y: ::rnn_runtime::ndarray::ArrayView<'b, f32, D> = ::rnn_runtime::__private::Into::into(y);
    };
    let y_doc = if model.sequence_output() {
        format!("`[batch, {}, {}]`", model.timesteps, model.outputs())
    } else {
        format!("`[batch, {}]`", model.outputs())
    };
    let x_doc = match model.input {
        Input::Features(f) => format!("`x: [batch, {}, {f}]`", model.timesteps),
        Input::Tokens => format!("`x: [batch, {}]` token ids", model.timesteps),
    };
    let loss_doc = match model.loss {
        Some(loss) => format!("the model's loss, `{}`", loss.name()),
        None => "the model's loss (MSE: the spec declares none; see `rnn_runtime::model_loss`)"
            .to_owned(),
    };
    match method {
        Method::New => (
            quote! {
                /// A new model, initialised deterministically from `seed` with Keras's
                /// defaults (glorot-uniform input kernels, orthogonal recurrent kernels,
                /// zero biases, LSTM forget-gate bias 1, uniform ±0.05 embeddings).
            },
            quote!({ <Self as ::rnn_runtime::Network>::init(seed) }),
        ),
        Method::Forward => (
            doc(format!("The output for every sample of {x_doc}: {y_doc}.")),
            quote!({
                #x_view
                ::rnn_runtime::__private::typed(::rnn_runtime::forward(self, x.into_dyn())?)
            }),
        ),
        Method::Predict => (
            quote!(#[doc = "Predictions for every sample of `x`; the same as [`forward`](Self::forward)."]),
            quote!({ self.forward(x) }),
        ),
        Method::Evaluate => (
            doc(format!(
                "The mean of {loss_doc} on `(x, y)` (no dropout), `y` shaped as the output, \
                 {y_doc} (or without its last axis when that is 1; class ids for a sparse loss)."
            )),
            quote!({ self.evaluate_with(x, y, ::rnn_runtime::model_loss::<Self>()?) }),
        ),
        Method::EvaluateWith => (
            doc(
                "The mean of `loss` on `(x, y)` (no dropout); targets as the loss expects."
                    .to_owned(),
            ),
            quote!({
                #x_view
                #y_view
                ::rnn_runtime::evaluate(self, x.into_dyn(), y.into_dyn(), loss)
            }),
        ),
        Method::LossAndGrads => (
            doc(format!(
                "The mean of {loss_doc} on the batch `(x, y)` and its gradient for every \
                 parameter, in training mode (dropout active, masks from seed 0)."
            )),
            quote!({ self.loss_and_grads_with(x, y, ::rnn_runtime::model_loss::<Self>()?, 0) }),
        ),
        Method::LossAndGradsWith => (
            quote! {
                /// `loss` of the batch `(x, y)` and its gradient for every parameter, in
                /// training mode, dropout masks drawn from `dropout_seed`.
            },
            quote!({
                #x_view
                #y_view
                ::rnn_runtime::loss_and_grads(self, x.into_dyn(), y.into_dyn(), loss, dropout_seed)
            }),
        ),
        Method::LossAndGradsInto => (
            doc(format!(
                "[`loss_and_grads`](Self::loss_and_grads) written into `grads` (from \
                 `Grads::zeros::<Self>()` or an earlier call), which keeps the work \
                 buffers between calls: a training loop that reuses it allocates on its \
                 first batch only. Returns the mean of {loss_doc}; see \
                 [`rnn_runtime::loss_and_grads_into`]."
            )),
            quote!({
                #x_view
                #y_view
                let loss = ::rnn_runtime::model_loss::<Self>()?;
                ::rnn_runtime::loss_and_grads_into(self, x.into_dyn(), y.into_dyn(), loss, 0, grads)
            }),
        ),
        Method::Fit => (
            quote! {
                /// Trains on `(x, y)` with the model's loss; returns the history of this
                /// call's epochs. Pass the options by `&mut` to continue the run (the
                /// optimiser's state included) in a later call. See [`rnn_runtime::Fit`].
            },
            quote!({
                #x_view
                #y_view
                ::rnn_runtime::fit(self, x.into_dyn(), y.into_dyn(), options)
            }),
        ),
        Method::SaveSafetensors => (
            quote!(#[doc = "Writes every parameter to a safetensors file (atomically)."]),
            quote!({ ::rnn_runtime::save_safetensors(self, path) }),
        ),
        Method::LoadSafetensors => (
            quote!(#[doc = "Reads every parameter from a safetensors file; on error nothing changes."]),
            quote!({ ::rnn_runtime::load_safetensors(self, path) }),
        ),
        Method::LoadKeras => (
            quote! {
                /// Loads a Keras model file of the same Sequential model: a Keras 3 `.keras`
                /// archive or a legacy `.h5` (`model.save("model.h5")` in Keras 2 / tf.keras
                /// or Keras 3), checking its config layer by layer; on error nothing changes.
            },
            quote!({ ::rnn_runtime::keras::load_keras(self, path) }),
        ),
        Method::LoadKerasWeights => (
            quote! {
                /// Loads the weights of the same Sequential model from a Keras 3
                /// `.weights.h5`, a Keras 2 / tf.keras `save_weights` `.h5` or a legacy `.h5`
                /// model file, checking every weight's shape; on error nothing changes.
            },
            quote!({ ::rnn_runtime::keras::load_keras_weights(self, path) }),
        ),
        Method::LoadTorch => (
            quote! {
                /// Loads a PyTorch `state_dict` saved with `torch.save` (`.pt`, read without
                /// executing anything) or as safetensors, `map` giving each of the file's
                /// tensor names this model's name (`None` skips a tensor); strict and
                /// all-or-nothing. See `rnn_runtime::torch::modules` for the usual map.
            },
            quote!({ ::rnn_runtime::torch::load_torch(self, path, map) }),
        ),
        Method::LoadStateDict => (
            quote!(#[doc = "`load_torch`, under its old name."]),
            quote!({ ::rnn_runtime::torch::load_torch(self, path, map) }),
        ),
        Method::ToLeBytes => (
            quote! {
                /// Every parameter as little-endian `f32` bytes in canonical order: what
                /// `from_le_bytes` reads (`rnn_runtime::flat::to_le_bytes`).
            },
            quote!({ ::rnn_runtime::flat::to_le_bytes(self) }),
        ),
        Method::SaveOnnx => (
            quote! {
                /// Writes the model as a standard ONNX graph (opset 14: ONNX's LSTM, GRU and
                /// RNN operators), atomically.
            },
            quote!({ ::rnn_runtime::onnx::save_onnx(self, path) }),
        ),
        other => unreachable!("`{}` is not part of the batch API", other.name()),
    }
}

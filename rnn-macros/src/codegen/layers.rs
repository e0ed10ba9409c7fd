//! One layer as tokens: its runtime type, how it is initialised and read from bytes,
//! its tensors and its description in the runtime's `Architecture`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::{lit, lit_f32};
use crate::spec::{Activation, Cell, CellActivation, Layer, LayerKind, Loss, Recurrent};

/// The layer as the user would write it, for documentation.
pub fn describe(layer: &Layer) -> String {
    match layer.kind {
        LayerKind::Recurrent(r) => {
            let mut options = Vec::new();
            if r.return_sequences {
                options.push("return_sequences = true".to_owned());
            }
            if r.activation != CellActivation::Tanh {
                options.push(format!("activation = {}", r.activation.name()));
            }
            if r.recurrent_activation != CellActivation::Sigmoid {
                options.push(format!(
                    "recurrent_activation = {}",
                    r.recurrent_activation.name()
                ));
            }
            if r.dropout > 0.0 {
                options.push(format!("dropout = {}", r.dropout));
            }
            if r.recurrent_dropout > 0.0 {
                options.push(format!("recurrent_dropout = {}", r.recurrent_dropout));
            }
            let mut text = r.cell.name().to_owned() + "(" + &r.hidden.to_string();
            for option in options {
                text = text + ", " + &option;
            }
            text += ")";
            if r.bidirectional {
                format!("bidirectional({text})")
            } else {
                text
            }
        }
        LayerKind::Dense(a) => match a.name() {
            "linear" => format!("dense({})", layer.units),
            name => format!("dense({}, activation = {name})", layer.units),
        },
        LayerKind::Embedding {
            vocab,
            mask_zero: false,
        } => format!("embedding({vocab}, {})", layer.units),
        LayerKind::Embedding {
            vocab,
            mask_zero: true,
        } => format!("embedding({vocab}, {}, mask_zero = true)", layer.units),
        LayerKind::Dropout(rate) => format!("dropout({rate})"),
    }
}

/// The runtime's `Activation` variant, e.g. `::rnn_runtime::Activation::Softmax`.
pub fn activation(a: Activation) -> TokenStream {
    let variant = activation_ident(a);
    quote!(::rnn_runtime::Activation::#variant)
}

/// The runtime's compile-time form of the activation, e.g.
/// `::rnn_runtime::activation::fixed::Softmax`, which the single-sample code names so
/// that a model links only the activations it uses.
pub fn fixed_activation(a: Activation) -> TokenStream {
    let variant = activation_ident(a);
    quote!(::rnn_runtime::activation::fixed::#variant)
}

/// The variant's name, which is also the name of its fixed type.
fn activation_ident(a: Activation) -> proc_macro2::Ident {
    let name = match a {
        Activation::Linear => "Linear",
        Activation::Relu => "Relu",
        Activation::Tanh => "Tanh",
        Activation::Sigmoid => "Sigmoid",
        Activation::Softmax => "Softmax",
        Activation::Gelu => "Gelu",
        Activation::Elu => "Elu",
        Activation::Softplus => "Softplus",
    };
    quote::format_ident!("{}", name)
}

pub fn cell_activation(a: CellActivation) -> TokenStream {
    match a {
        CellActivation::Tanh => quote!(::rnn_runtime::layers::CellActivation::Tanh),
        CellActivation::Sigmoid => quote!(::rnn_runtime::layers::CellActivation::Sigmoid),
        CellActivation::Relu => quote!(::rnn_runtime::layers::CellActivation::Relu),
        CellActivation::Linear => quote!(::rnn_runtime::layers::CellActivation::Linear),
    }
}

/// The runtime type of one direction of a recurrent layer, e.g. `LstmLayer<1, 50>`.
pub fn cell_type(r: &Recurrent, inputs: usize) -> TokenStream {
    let (i, h) = (lit(inputs), lit(r.hidden));
    match r.cell {
        Cell::Lstm => quote!(::rnn_runtime::layers::LstmLayer<#i, #h>),
        Cell::Gru => quote!(::rnn_runtime::layers::GruLayer<#i, #h>),
        Cell::SimpleRnn => quote!(::rnn_runtime::layers::SimpleRnnLayer<#i, #h>),
    }
}

/// The runtime type of a layer's field; `None` for a layer without parameters.
pub fn layer_type(layer: &Layer) -> Option<TokenStream> {
    let (i, n) = (lit(layer.inputs), lit(layer.units));
    let span = layer.span;
    Some(match layer.kind {
        LayerKind::Recurrent(r) if r.bidirectional => {
            let cell = cell_type(&r, layer.inputs);
            quote_spanned!(span=> ::rnn_runtime::layers::BidirectionalLayer<#cell>)
        }
        LayerKind::Recurrent(r) => {
            let cell = cell_type(&r, layer.inputs);
            quote_spanned!(span=> #cell)
        }
        LayerKind::Dense(_) => quote_spanned!(span=> ::rnn_runtime::layers::DenseLayer<#i, #n>),
        LayerKind::Embedding { vocab, .. } => {
            let v = lit(vocab);
            quote_spanned!(span=> ::rnn_runtime::layers::EmbeddingLayer<#v, #n>)
        }
        LayerKind::Dropout(_) => return None,
    })
}

pub fn buffers_type(layer: &Layer) -> TokenStream {
    match layer.kind {
        LayerKind::Recurrent(r) if r.bidirectional => {
            quote!(::rnn_runtime::layers::BidirectionalBuffers)
        }
        LayerKind::Recurrent(_) => quote!(::rnn_runtime::layers::RecurrentBuffers),
        LayerKind::Dense(_) => quote!(::rnn_runtime::layers::DenseBuffers),
        LayerKind::Embedding { .. } => quote!(::rnn_runtime::layers::EmbeddingBuffers),
        LayerKind::Dropout(_) => quote!(::rnn_runtime::layers::DropoutBuffers),
    }
}

/// The parameter tensors of a layer: PyTorch's names and shapes.
pub fn tensors(layer: &Layer) -> Vec<(String, Vec<usize>)> {
    match layer.kind {
        LayerKind::Recurrent(r) => {
            let gh = r.cell.gates() * r.hidden;
            let one = |suffix: &str| {
                vec![
                    (format!("weight_ih{suffix}"), vec![gh, layer.inputs]),
                    (format!("weight_hh{suffix}"), vec![gh, r.hidden]),
                    (format!("bias_ih{suffix}"), vec![gh]),
                    (format!("bias_hh{suffix}"), vec![gh]),
                ]
            };
            let mut all = one("");
            if r.bidirectional {
                all.extend(one("_reverse"));
            }
            all
        }
        LayerKind::Dense(_) => vec![
            ("weight".to_owned(), vec![layer.units, layer.inputs]),
            ("bias".to_owned(), vec![layer.units]),
        ],
        LayerKind::Embedding { vocab, .. } => vec![("weight".to_owned(), vec![vocab, layer.units])],
        LayerKind::Dropout(_) => Vec::new(),
    }
}

/// The expression that initialises a layer's field from `rng`.
pub fn init_expr(layer: &Layer) -> Option<TokenStream> {
    let ty = layer_type(layer)?;
    Some(match layer.kind {
        LayerKind::Recurrent(r) => {
            let (a, ra) = (
                cell_activation(r.activation),
                cell_activation(r.recurrent_activation),
            );
            quote! {
                <#ty>::init_with(
                    &mut rng,
                    ::rnn_runtime::layers::CellActivations::new(#a, #ra),
                )
            }
        }
        LayerKind::Dense(a) => {
            let a = activation(a);
            quote!(<#ty>::init(#a, &mut rng))
        }
        _ => quote!(<#ty>::init(&mut rng)),
    })
}

/// The expression that builds a layer's field from the little-endian parameter bytes
/// `bytes`, its values starting at value `offset` (a constant expression without
/// `std`).
pub fn from_bytes_expr(layer: &Layer, offset: usize) -> Option<TokenStream> {
    let ty = layer_type(layer)?;
    let at = lit(4 * offset);
    Some(match layer.kind {
        LayerKind::Recurrent(r) => {
            let (a, ra) = (
                cell_activation(r.activation),
                cell_activation(r.recurrent_activation),
            );
            let acts = quote!(::rnn_runtime::layers::CellActivations::new(#a, #ra));
            if r.bidirectional {
                let cell = cell_type(&r, layer.inputs);
                let at_reverse = lit(4 * (offset + layer.param_count() / 2));
                quote! {
                    <#ty>::from_directions(
                        <#cell>::from_le_bytes(bytes, #at, #acts),
                        <#cell>::from_le_bytes(bytes, #at_reverse, #acts),
                    )
                }
            } else {
                quote!(<#ty>::from_le_bytes(bytes, #at, #acts))
            }
        }
        LayerKind::Dense(a) => {
            let a = activation(a);
            quote!(<#ty>::from_le_bytes(bytes, #at, #a))
        }
        _ => quote!(<#ty>::from_le_bytes(bytes, #at)),
    })
}

/// The runtime's description of a layer (`rnn_runtime::architecture::Layer`).
pub fn architecture_layer(layer: &Layer) -> TokenStream {
    let arch = quote!(::rnn_runtime::architecture);
    let (inputs, units) = (lit(layer.inputs), lit(layer.units));
    match layer.kind {
        LayerKind::Recurrent(r) => {
            let cell = match r.cell {
                Cell::Lstm => quote!(#arch::Cell::Lstm),
                Cell::Gru => quote!(#arch::Cell::Gru),
                Cell::SimpleRnn => quote!(#arch::Cell::SimpleRnn),
            };
            let (hidden, bidirectional, return_sequences) =
                (lit(r.hidden), r.bidirectional, r.return_sequences);
            let (a, ra) = (
                cell_activation(r.activation),
                cell_activation(r.recurrent_activation),
            );
            let (d, rd) = (lit_f32(r.dropout), lit_f32(r.recurrent_dropout));
            quote!(#arch::Layer::Recurrent {
                cell: #cell, inputs: #inputs, hidden: #hidden, bidirectional: #bidirectional,
                return_sequences: #return_sequences, activation: #a, recurrent_activation: #ra,
                dropout: #d, recurrent_dropout: #rd,
            })
        }
        LayerKind::Dense(a) => {
            let (a, per_step) = (activation(a), layer.sequence_in);
            quote!(#arch::Layer::Dense {
                inputs: #inputs, units: #units, activation: #a, per_step: #per_step,
            })
        }
        LayerKind::Embedding { vocab, .. } => {
            let vocab = lit(vocab);
            quote!(#arch::Layer::Embedding { vocab: #vocab, dim: #units })
        }
        LayerKind::Dropout(rate) => {
            let (rate, per_step) = (lit_f32(rate), layer.sequence_in);
            quote!(#arch::Layer::Dropout { rate: #rate, width: #units, per_step: #per_step })
        }
    }
}

/// The runtime's `Loss` value of a declared loss.
pub fn loss_value(loss: Loss) -> TokenStream {
    let l = quote!(::rnn_runtime::Loss);
    match loss {
        Loss::Mse => quote!(#l::Mse),
        Loss::Mae => quote!(#l::Mae),
        Loss::Huber(delta) => {
            let delta = lit_f32(delta);
            quote!(#l::Huber(#delta))
        }
        Loss::BinaryCrossentropy => quote!(#l::BinaryCrossentropy),
        Loss::CategoricalCrossentropy => quote!(#l::CategoricalCrossentropy),
        Loss::SparseCategoricalCrossentropy => quote!(#l::SparseCategoricalCrossentropy),
    }
}

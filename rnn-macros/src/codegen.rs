//! Code generation: [`Model`] → the struct, its inherent API and its runtime traits.
//!
//! The output is thin glue: one field per layer with parameters, holding that layer's
//! tensors in a runtime layer type instantiated with literal sizes, and one call per
//! layer into the runtime's kernels in `forward_batch`, `backward_batch` and the
//! single-sample paths. Loops over time live in the kernels, so the generated code
//! does not grow with the number of time steps.
//!
//! Every path is absolute (`::rnn_runtime::…`), so the expansion works in any scope,
//! `#![no_implicit_prelude]` included.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use crate::spec::{
    Activation, Cell, CellActivation, Header, Input, Layer, LayerKind, Loss, Model, PartialShape,
    Recurrent,
};

mod single;
mod summary;

pub use single::stack_arrays;

fn lit(n: usize) -> Literal {
    Literal::usize_unsuffixed(n)
}

fn lit_f32(v: f32) -> Literal {
    Literal::f32_suffixed(v)
}

/// The layer as the user would write it, for documentation.
fn describe(layer: &Layer) -> String {
    match layer.kind {
        LayerKind::Recurrent(r) => {
            let mut options = Vec::new();
            if r.return_sequences {
                options.push("return_sequences = true".to_owned());
            }
            if r.activation != CellActivation::Tanh {
                options.push(format!(
                    "activation = {}",
                    cell_activation_name(r.activation)
                ));
            }
            if r.recurrent_activation != CellActivation::Sigmoid {
                options.push(format!(
                    "recurrent_activation = {}",
                    cell_activation_name(r.recurrent_activation)
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
        LayerKind::Dense(a) => match activation_name(a) {
            "linear" => format!("dense({})", layer.units),
            name => format!("dense({}, activation = {name})", layer.units),
        },
        LayerKind::Embedding { vocab } => format!("embedding({vocab}, {})", layer.units),
        LayerKind::Dropout(rate) => format!("dropout({rate})"),
    }
}

fn activation_name(a: Activation) -> &'static str {
    match a {
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

fn cell_activation_name(a: CellActivation) -> &'static str {
    match a {
        CellActivation::Tanh => "tanh",
        CellActivation::Sigmoid => "sigmoid",
        CellActivation::Relu => "relu",
        CellActivation::Linear => "linear",
    }
}

fn activation(a: Activation) -> TokenStream {
    match a {
        Activation::Linear => quote!(::rnn_runtime::Activation::Linear),
        Activation::Relu => quote!(::rnn_runtime::Activation::Relu),
        Activation::Tanh => quote!(::rnn_runtime::Activation::Tanh),
        Activation::Sigmoid => quote!(::rnn_runtime::Activation::Sigmoid),
        Activation::Softmax => quote!(::rnn_runtime::Activation::Softmax),
        Activation::Gelu => quote!(::rnn_runtime::Activation::Gelu),
        Activation::Elu => quote!(::rnn_runtime::Activation::Elu),
        Activation::Softplus => quote!(::rnn_runtime::Activation::Softplus),
    }
}

fn cell_activation(a: CellActivation) -> TokenStream {
    match a {
        CellActivation::Tanh => quote!(::rnn_runtime::layers::CellActivation::Tanh),
        CellActivation::Sigmoid => quote!(::rnn_runtime::layers::CellActivation::Sigmoid),
        CellActivation::Relu => quote!(::rnn_runtime::layers::CellActivation::Relu),
        CellActivation::Linear => quote!(::rnn_runtime::layers::CellActivation::Linear),
    }
}

/// The runtime type of one direction of a recurrent layer, e.g. `LstmLayer<1, 50>`.
fn cell_type(r: &Recurrent, inputs: usize) -> TokenStream {
    let (i, h) = (lit(inputs), lit(r.hidden));
    match r.cell {
        Cell::Lstm => quote!(::rnn_runtime::layers::LstmLayer<#i, #h>),
        Cell::Gru => quote!(::rnn_runtime::layers::GruLayer<#i, #h>),
        Cell::SimpleRnn => quote!(::rnn_runtime::layers::SimpleRnnLayer<#i, #h>),
    }
}

/// The runtime type of a layer's field; `None` for a layer without parameters.
fn layer_type(layer: &Layer) -> Option<TokenStream> {
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
        LayerKind::Embedding { vocab } => {
            let v = lit(vocab);
            quote_spanned!(span=> ::rnn_runtime::layers::EmbeddingLayer<#v, #n>)
        }
        LayerKind::Dropout(_) => return None,
    })
}

fn buffers_type(layer: &Layer) -> TokenStream {
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
fn tensors(layer: &Layer) -> Vec<(String, Vec<usize>)> {
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
        LayerKind::Embedding { vocab } => vec![("weight".to_owned(), vec![vocab, layer.units])],
        LayerKind::Dropout(_) => Vec::new(),
    }
}

/// The expression that initialises a layer's field from `rng`.
fn init_expr(layer: &Layer) -> Option<TokenStream> {
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
fn from_bytes_expr(layer: &Layer, offset: usize) -> Option<TokenStream> {
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

/// Field names: `lN` for layer N.
fn field(i: usize) -> Ident {
    format_ident!("l{}", i)
}

/// Dropout masks of a recurrent layer: (input-mask field, recurrent-mask field) per
/// direction, each present only for a nonzero rate.
struct Masks {
    forward: (Option<Ident>, Option<Ident>),
    reverse: (Option<Ident>, Option<Ident>),
}

fn masks(i: usize, r: &Recurrent) -> Masks {
    let make = |name: &str, rate: f32| (rate > 0.0).then(|| format_ident!("m{}_{}", i, name));
    Masks {
        forward: (make("in", r.dropout), make("rec", r.recurrent_dropout)),
        reverse: if r.bidirectional {
            (
                make("in_rev", r.dropout),
                make("rec_rev", r.recurrent_dropout),
            )
        } else {
            (None, None)
        },
    }
}

/// The layer's input in the workspace, as a slice expression.
fn input_of(model: &Model, index: usize) -> TokenStream {
    match index.checked_sub(1) {
        None => match model.input {
            Input::Features(_) => quote!(&ws.input[..]),
            Input::Tokens => quote!(&ws.ids[..]),
        },
        Some(prev) => output_of_layer(model, prev),
    }
}

/// Output of layer `i` in the workspace: time-major `[T, B, units]` for a sequence,
/// `[B, units]` otherwise. A dropout layer's output is its input when it did nothing.
fn output_of_layer(model: &Model, i: usize) -> TokenStream {
    let layer = &model.layers[i];
    let f = field(i);
    match layer.kind {
        LayerKind::Recurrent(_) if layer.sequence_out => quote!(ws.#f.hidden()),
        LayerKind::Recurrent(_) => quote!(ws.#f.last_hidden()),
        LayerKind::Dropout(_) => {
            let input = input_of(model, i);
            quote!(ws.#f.output(#input))
        }
        _ => quote!(ws.#f.output()),
    }
}

/// The gradient arriving at layer `i`'s output in `backward_batch`.
fn upstream_of(model: &Model, i: usize) -> TokenStream {
    let last = model.layers.len() - 1;
    if i == last {
        return if model.sequence_output() {
            quote!(&ws.d_out[..])
        } else {
            quote!(d_out)
        };
    }
    let next = field(i + 1);
    match model.layers[i + 1].kind {
        LayerKind::Dropout(_) => {
            let dy = upstream_of(model, i + 1);
            quote!(ws.#next.input_grad(#dy))
        }
        _ => quote!(ws.#next.input_grad()),
    }
}

/// Rows of a layer's input in one batch: `T·B` for a sequence, `B` otherwise.
fn rows(model: &Model, layer: &Layer) -> TokenStream {
    let steps = lit(model.timesteps);
    if layer.sequence_in {
        quote!(#steps * batch)
    } else {
        quote!(batch)
    }
}

/// The forward call of layer `i` in `forward_batch`.
fn forward_call(model: &Model, i: usize) -> TokenStream {
    let layer = &model.layers[i];
    let f = field(i);
    let input = input_of(model, i);
    let steps = lit(model.timesteps);
    let index = Literal::u32_unsuffixed(i as u32);
    match layer.kind {
        LayerKind::Recurrent(r) => {
            let m = masks(i, &r);
            let fill = |name: &Option<Ident>, site: TokenStream, width: usize, rate: f32| {
                name.as_ref().map(|name| {
                    let (width, rate) = (lit(width), lit_f32(rate));
                    quote! {
                        if let ::rnn_runtime::__private::Some(key) = key {
                            ::rnn_runtime::dropout::fill_masks(
                                key, #index, #site, batch, #width, #rate, &mut ws.#name,
                            );
                        }
                    }
                })
            };
            let site = |s: &str| {
                let s = format_ident!("{}", s);
                quote!(::rnn_runtime::dropout::MaskSite::#s)
            };
            let fills = [
                fill(&m.forward.0, site("Input"), layer.inputs, r.dropout),
                fill(
                    &m.forward.1,
                    site("Recurrent"),
                    r.hidden,
                    r.recurrent_dropout,
                ),
                fill(&m.reverse.0, site("ReverseInput"), layer.inputs, r.dropout),
                fill(
                    &m.reverse.1,
                    site("ReverseRecurrent"),
                    r.hidden,
                    r.recurrent_dropout,
                ),
            ];
            // The buffers keep the size of the largest batch so far: pass this one's.
            let mask = |name: &Option<Ident>, width: usize| match name {
                Some(name) => {
                    let width = lit(width);
                    quote!(match key {
                        ::rnn_runtime::__private::Some(_) => ::rnn_runtime::__private::Some(&ws.#name[..batch * #width]),
                        ::rnn_runtime::__private::None => ::rnn_runtime::__private::None,
                    })
                }
                None => quote!(::rnn_runtime::__private::None),
            };
            let options = |(input, recurrent): &(Option<Ident>, Option<Ident>)| {
                let (input, recurrent) = (mask(input, layer.inputs), mask(recurrent, r.hidden));
                quote! {
                    ::rnn_runtime::layers::SeqOptions {
                        input_mask: #input,
                        recurrent_mask: #recurrent,
                        ..::rnn_runtime::__private::Default::default()
                    }
                }
            };
            let forward = options(&m.forward);
            let call = if r.bidirectional {
                let reverse = options(&m.reverse);
                quote! {
                    self.#f.forward_seq_with(
                        #input, #steps, batch,
                        &::rnn_runtime::layers::BiSeqOptions { forward: #forward, reverse: #reverse },
                        &mut ws.#f,
                    );
                }
            } else {
                quote!(self.#f.forward_seq_with(#input, #steps, batch, &#forward, &mut ws.#f);)
            };
            quote! { #(#fills)* #call }
        }
        LayerKind::Dense(_) => {
            let rows = rows(model, layer);
            quote!(self.#f.forward(#input, #rows, &mut ws.#f);)
        }
        LayerKind::Embedding { .. } => {
            quote!(self.#f.forward_seq(#input, #steps, batch, &mut ws.#f);)
        }
        LayerKind::Dropout(rate) => {
            let (rate, width) = (lit_f32(rate), lit(layer.inputs));
            let steps = if layer.sequence_in {
                quote!(#steps)
            } else {
                quote!(1)
            };
            quote! {
                ::rnn_runtime::layers::DropoutLayer::checked(#rate, #index).forward_seq(
                    #input, #steps, batch, #width, key, &mut ws.#f,
                );
            }
        }
    }
}

/// The backward call of layer `i` in `backward_batch`.
fn backward_call(model: &Model, i: usize) -> TokenStream {
    let layer = &model.layers[i];
    let f = field(i);
    let g = format_ident!("g{}", i);
    let input = input_of(model, i);
    let upstream = upstream_of(model, i);
    let need_dx = i > 0;
    match layer.kind {
        LayerKind::Recurrent(_) => {
            let seq = if layer.sequence_out {
                quote!(::rnn_runtime::layers::SeqGrad::All(#upstream))
            } else {
                quote!(::rnn_runtime::layers::SeqGrad::Last(#upstream))
            };
            quote!(self.#f.backward_seq(#input, #seq, #g, &mut ws.#f, #need_dx);)
        }
        LayerKind::Dense(_) => {
            quote!(self.#f.backward(#input, #upstream, #g, &mut ws.#f, #need_dx);)
        }
        LayerKind::Embedding { .. } => {
            quote!(self.#f.backward_seq(#input, #upstream, #g, &ws.#f);)
        }
        LayerKind::Dropout(rate) => {
            let (rate, index) = (lit_f32(rate), Literal::u32_unsuffixed(i as u32));
            quote! {
                ::rnn_runtime::layers::DropoutLayer::checked(#rate, #index).backward(#upstream, &mut ws.#f);
            }
        }
    }
}

/// The runtime's description of a layer (`rnn_runtime::architecture::Layer`).
fn architecture_layer(layer: &Layer) -> TokenStream {
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
        LayerKind::Embedding { vocab } => {
            let vocab = lit(vocab);
            quote!(#arch::Layer::Embedding { vocab: #vocab, dim: #units })
        }
        LayerKind::Dropout(rate) => {
            let (rate, per_step) = (lit_f32(rate), layer.sequence_in);
            quote!(#arch::Layer::Dropout { rate: #rate, width: #units, per_step: #per_step })
        }
    }
}

/// The last path segment of every trait the user derives (`Debug` for
/// `#[derive(core::fmt::Debug)]`).
fn user_derives(attrs: &[syn::Attribute]) -> Vec<String> {
    let mut user = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("derive")) {
        // A derive list that does not parse is left for the compiler to report.
        let _ = attr.parse_nested_meta(|meta| {
            if let Some(last) = meta.path.segments.last() {
                user.push(last.ident.to_string());
            }
            Ok(())
        });
    }
    user
}

/// `#[derive(Clone, PartialEq)]`, less any of them the user derives already (a second
/// derive of the same trait would be a conflicting implementation). `Debug` is
/// written by hand (`summary::expand`): the derived one would print every weight.
fn standard_derives(attrs: &[syn::Attribute]) -> TokenStream {
    let user = user_derives(attrs);
    let ours: Vec<_> = ["Clone", "PartialEq"]
        .into_iter()
        .filter(|t| !user.iter().any(|u| u == t))
        .map(|t| format_ident!("{}", t))
        .collect();
    if ours.is_empty() {
        return TokenStream::new();
    }
    quote!(#[derive(#(::rnn_runtime::__private::#ours),*)])
}

/// The element type of `x` and the ndarray dimension of a batch of inputs.
fn input_types(model: &Model) -> (TokenStream, TokenStream) {
    match model.input {
        Input::Features(_) => (quote!(f32), quote!(::rnn_runtime::ndarray::Ix3)),
        Input::Tokens => (quote!(u32), quote!(::rnn_runtime::ndarray::Ix2)),
    }
}

/// The ndarray dimension of a batch of outputs (and targets).
fn output_dim(sequence: bool) -> TokenStream {
    if sequence {
        quote!(::rnn_runtime::ndarray::Ix3)
    } else {
        quote!(::rnn_runtime::ndarray::Ix2)
    }
}

/// Expands a checked model.
pub fn expand(model: &Model) -> TokenStream {
    let Header { attrs, vis, name } = &model.header;
    if model.layers.is_empty() {
        // `check` refuses such a model; never index into it here.
        let message = "internal error: a model without layers";
        return syn::Error::new(name.span(), message).to_compile_error();
    }
    let workspace = format_ident!("{}Workspace", name);
    let (steps, features) = (lit(model.timesteps), lit(model.features()));
    let last = model.layers.len() - 1;
    let sequence = model.sequence_output();
    let outputs = lit(model.outputs());
    let output_steps = lit(if sequence { model.timesteps } else { 1 });
    let counts: Vec<usize> = model.layers.iter().map(Layer::param_count).collect();
    let params = lit(counts.iter().sum());
    let vocab = lit(match model.layers[0].kind {
        LayerKind::Embedding { vocab } => vocab,
        _ => 0,
    });
    let (x_elem, x_dim) = input_types(model);
    let y_dim = output_dim(sequence);
    let tokens = model.input == Input::Tokens;
    let arch_layers: Vec<TokenStream> = model.layers.iter().map(architecture_layer).collect();

    let field_defs = model.layers.iter().enumerate().filter_map(|(i, layer)| {
        let ty = layer_type(layer)?;
        let f = field(i);
        let doc = format!("Layer {i}: `{}`.", describe(layer));
        Some(quote!(#[doc = #doc] pub #f: #ty,))
    });
    let buffer_defs = model.layers.iter().enumerate().map(|(i, layer)| {
        let ty = buffers_type(layer);
        let f = field(i);
        let masks = match layer.kind {
            LayerKind::Recurrent(r) => {
                let m = masks(i, &r);
                [m.forward.0, m.forward.1, m.reverse.0, m.reverse.1]
                    .into_iter()
                    .flatten()
                    .map(|m| quote!(#m: ::rnn_runtime::__private::Vec<f32>,))
                    .collect()
            }
            _ => TokenStream::new(),
        };
        quote!(#f: #ty, #masks)
    });
    let input_buffer = match model.input {
        Input::Features(_) => quote!(input: ::rnn_runtime::__private::Vec<f32>,),
        Input::Tokens => quote!(ids: ::rnn_runtime::__private::Vec<u32>,),
    };
    let to_time_major = match model.input {
        Input::Features(_) => {
            quote!(::rnn_runtime::layers::to_time_major(x, batch, #steps, #features, &mut ws.input);)
        }
        Input::Tokens => {
            quote!(::rnn_runtime::layers::ids_to_time_major(x, batch, #steps, &mut ws.ids);)
        }
    };

    let specs = model.layers.iter().enumerate().flat_map(|(i, layer)| {
        tensors(layer).into_iter().map(move |(tensor, shape)| {
            let name = format!("{i}.{tensor}");
            let shape = shape.into_iter().map(lit);
            quote!(::rnn_runtime::ParamSpec { name: #name, shape: &[#(#shape),*] },)
        })
    });
    let inits = model.layers.iter().enumerate().filter_map(|(i, layer)| {
        let f = field(i);
        let init = init_expr(layer)?;
        Some(quote!(#f: #init,))
    });
    let from_bytes = model.layers.iter().enumerate().filter_map(|(i, layer)| {
        let f = field(i);
        let offset = counts[..i].iter().sum();
        let expr = from_bytes_expr(layer, offset)?;
        Some(quote!(#f: #expr,))
    });
    let param_bytes = lit(4 * counts.iter().sum::<usize>());
    let from_bytes_doc = format!(
        "The model whose parameters are the {} bytes of `bytes`: every parameter as a \
         little-endian `f32`, in the canonical order of `param_specs` (what \
         `rnn_runtime::flat::to_le_bytes` writes). A `const fn` without the runtime's \
         `std` feature, so that `static NET: {name} = {name}::from_le_bytes(include_bytes!(…));` \
         puts the weights in flash, built at compile time; a file of the wrong size does \
         not compile.",
        4 * counts.iter().sum::<usize>()
    );
    let forward_calls = (0..model.layers.len()).map(|i| forward_call(model, i));
    let last_output = output_of_layer(model, last);
    let output_expr = if sequence {
        quote! {
            ::rnn_runtime::layers::to_batch_major(#last_output, #steps, batch, #outputs, &mut ws.out);
            &ws.out[..batch * #steps * #outputs]
        }
    } else {
        last_output
    };

    let splits = counts.iter().enumerate().map(|(i, &n)| {
        let g = format_ident!("g{}", i);
        let n = lit(n);
        quote!(let (#g, grads) = grads.split_at_mut(#n);)
    });
    let d_out_time_major = if sequence {
        quote! {
            let batch = d_out.len() / (#steps * #outputs);
            ::rnn_runtime::layers::to_time_major(d_out, batch, #steps, #outputs, &mut ws.d_out);
        }
    } else {
        TokenStream::new()
    };
    let backward_calls = (0..model.layers.len())
        .rev()
        .map(|i| backward_call(model, i));
    let visits = model.layers.iter().enumerate().filter_map(|(i, layer)| {
        layer_type(layer)?;
        let f = field(i);
        Some((quote!(self.#f.visit(f);), quote!(self.#f.visit_mut(f);)))
    });
    let (visits, visits_mut): (Vec<_>, Vec<_>) = visits.unzip();

    let single = single::expand(model);
    let loss_const = match model.loss {
        Some(loss) => {
            let value = loss_value(loss);
            quote!(::rnn_runtime::__private::Some(#value))
        }
        None => quote!(::rnn_runtime::__private::None),
    };
    let last = model.layers.len() - 1;
    let output_logits = match model.layers[last].kind {
        LayerKind::Dense(_) => {
            let f = field(last);
            quote!(ws.#f.set_logits(logits);)
        }
        _ => quote!(let _ = (ws, logits);),
    };
    let summary = summary::expand(model);
    let derives = standard_derives(attrs);
    let ws_doc = format!("Work buffers of [`{name}`]'s batch forward and backward passes.");
    let y_doc = if sequence {
        format!("`[batch, {}, {}]`", model.timesteps, model.outputs())
    } else {
        format!("`[batch, {}]`", model.outputs())
    };
    let x_doc = match model.input {
        Input::Features(f) => format!("`x: [batch, {}, {f}]`", model.timesteps),
        Input::Tokens => format!("`x: [batch, {}]` token ids", model.timesteps),
    };
    let forward_doc = format!("The output for every sample of {x_doc}: {y_doc}.");
    let loss_doc = match model.loss {
        Some(loss) => format!("the model's loss, `{}`", loss_name(loss)),
        None => "the model's loss (MSE: the spec declares none; see `rnn_runtime::model_loss`)"
            .to_owned(),
    };
    let evaluate_doc = format!(
        "The mean of {loss_doc} on `(x, y)` (no dropout), `y` shaped as the output, \
         {y_doc} (or without its last axis when that is 1; class ids for a sparse loss)."
    );
    let evaluate_with_doc =
        "The mean of `loss` on `(x, y)` (no dropout); targets as the loss expects.".to_owned();
    let loss_and_grads_doc = format!(
        "The mean of {loss_doc} on the batch `(x, y)` and its gradient for every parameter, \
         in training mode (dropout active, masks from seed 0)."
    );

    quote! {
        #(#attrs)*
        #derives
        #vis struct #name {
            #(#field_defs)*
        }

        ::rnn_runtime::__if_std! {
            #[doc = #ws_doc]
            #[derive(::rnn_runtime::__private::Debug, ::rnn_runtime::__private::Default)]
            #vis struct #workspace {
                #input_buffer
                out: ::rnn_runtime::__private::Vec<f32>,
                d_out: ::rnn_runtime::__private::Vec<f32>,
                #(#buffer_defs)*
            }
        }

        impl #name {
            /// Time steps of one input sample.
            pub const TIMESTEPS: usize = #steps;
            /// Features per time step (1 for a token id).
            pub const FEATURES: usize = #features;
            /// Width of the output (per time step for a sequence output).
            pub const OUTPUTS: usize = #outputs;
            /// Number of scalar parameters (the same as PyTorch's for this model).
            pub const PARAMS: usize = #params;

            ::rnn_runtime::__const_without_std! {
                #[doc = #from_bytes_doc]
                pub fn from_le_bytes(bytes: &[u8; #param_bytes]) -> Self {
                    let bytes: &[u8] = bytes;
                    #name { #(#from_bytes)* }
                }
            }
        }

        // Everything below needs the heap, threads or files: the runtime's `std`.
        ::rnn_runtime::__if_std! {
        impl #name {
            /// A new model, initialised deterministically from `seed` with Keras's
            /// defaults (glorot-uniform input kernels, orthogonal recurrent kernels,
            /// zero biases, LSTM forget-gate bias 1, uniform ±0.05 embeddings).
            pub fn new(seed: u64) -> Self {
                <Self as ::rnn_runtime::Network>::init(seed)
            }

            #[doc = #forward_doc]
            pub fn forward<'a>(
                &self,
                x: impl ::rnn_runtime::ndarray::AsArray<'a, #x_elem, #x_dim>,
            ) -> ::rnn_runtime::Result<::rnn_runtime::ndarray::Array<f32, #y_dim>> {
                let x: ::rnn_runtime::ndarray::ArrayView<'a, #x_elem, #x_dim> = ::rnn_runtime::__private::Into::into(x);
                ::rnn_runtime::network::typed(::rnn_runtime::forward(self, x.into_dyn())?)
            }

            /// Predictions for every sample of `x`; the same as [`forward`](Self::forward).
            pub fn predict<'a>(
                &self,
                x: impl ::rnn_runtime::ndarray::AsArray<'a, #x_elem, #x_dim>,
            ) -> ::rnn_runtime::Result<::rnn_runtime::ndarray::Array<f32, #y_dim>> {
                self.forward(x)
            }

            #[doc = #evaluate_doc]
            pub fn evaluate<'a, 'b, D: ::rnn_runtime::ndarray::Dimension>(
                &self,
                x: impl ::rnn_runtime::ndarray::AsArray<'a, #x_elem, #x_dim>,
                y: impl ::rnn_runtime::ndarray::AsArray<'b, f32, D>,
            ) -> ::rnn_runtime::Result<f32> {
                self.evaluate_with(x, y, ::rnn_runtime::model_loss::<Self>()?)
            }

            #[doc = #evaluate_with_doc]
            pub fn evaluate_with<'a, 'b, D: ::rnn_runtime::ndarray::Dimension>(
                &self,
                x: impl ::rnn_runtime::ndarray::AsArray<'a, #x_elem, #x_dim>,
                y: impl ::rnn_runtime::ndarray::AsArray<'b, f32, D>,
                loss: ::rnn_runtime::Loss,
            ) -> ::rnn_runtime::Result<f32> {
                let x: ::rnn_runtime::ndarray::ArrayView<'a, #x_elem, #x_dim> = ::rnn_runtime::__private::Into::into(x);
                let y: ::rnn_runtime::ndarray::ArrayView<'b, f32, D> = ::rnn_runtime::__private::Into::into(y);
                ::rnn_runtime::evaluate(self, x.into_dyn(), y.into_dyn(), loss)
            }

            #[doc = #loss_and_grads_doc]
            pub fn loss_and_grads<'a, 'b, D: ::rnn_runtime::ndarray::Dimension>(
                &self,
                x: impl ::rnn_runtime::ndarray::AsArray<'a, #x_elem, #x_dim>,
                y: impl ::rnn_runtime::ndarray::AsArray<'b, f32, D>,
            ) -> ::rnn_runtime::Result<(f32, ::rnn_runtime::Grads)> {
                self.loss_and_grads_with(x, y, ::rnn_runtime::model_loss::<Self>()?, 0)
            }

            /// `loss` of the batch `(x, y)` and its gradient for every parameter, in
            /// training mode, dropout masks drawn from `dropout_seed`.
            pub fn loss_and_grads_with<'a, 'b, D: ::rnn_runtime::ndarray::Dimension>(
                &self,
                x: impl ::rnn_runtime::ndarray::AsArray<'a, #x_elem, #x_dim>,
                y: impl ::rnn_runtime::ndarray::AsArray<'b, f32, D>,
                loss: ::rnn_runtime::Loss,
                dropout_seed: u64,
            ) -> ::rnn_runtime::Result<(f32, ::rnn_runtime::Grads)> {
                let x: ::rnn_runtime::ndarray::ArrayView<'a, #x_elem, #x_dim> = ::rnn_runtime::__private::Into::into(x);
                let y: ::rnn_runtime::ndarray::ArrayView<'b, f32, D> = ::rnn_runtime::__private::Into::into(y);
                ::rnn_runtime::loss_and_grads(self, x.into_dyn(), y.into_dyn(), loss, dropout_seed)
            }

            /// Trains on `(x, y)` with the model's loss; returns the history of this
            /// call's epochs. Pass the options by `&mut` to continue the run (the
            /// optimiser's state included) in a later call. See [`rnn_runtime::Fit`].
            pub fn fit<'a, 'b, D, O, F>(
                &mut self,
                x: impl ::rnn_runtime::ndarray::AsArray<'a, #x_elem, #x_dim>,
                y: impl ::rnn_runtime::ndarray::AsArray<'b, f32, D>,
                options: F,
            ) -> ::rnn_runtime::Result<::rnn_runtime::History>
            where
                D: ::rnn_runtime::ndarray::Dimension,
                O: ::rnn_runtime::Optimizer,
                F: ::rnn_runtime::__private::BorrowMut<::rnn_runtime::Fit<O>>,
            {
                let x: ::rnn_runtime::ndarray::ArrayView<'a, #x_elem, #x_dim> = ::rnn_runtime::__private::Into::into(x);
                let y: ::rnn_runtime::ndarray::ArrayView<'b, f32, D> = ::rnn_runtime::__private::Into::into(y);
                ::rnn_runtime::fit(self, x.into_dyn(), y.into_dyn(), options)
            }

            /// Writes every parameter to a safetensors file (atomically).
            pub fn save_safetensors(
                &self,
                path: impl ::rnn_runtime::__private::AsRef<::rnn_runtime::__private::Path>,
            ) -> ::rnn_runtime::Result<()> {
                ::rnn_runtime::save_safetensors(self, path)
            }

            /// Reads every parameter from a safetensors file; on error nothing changes.
            pub fn load_safetensors(
                &mut self,
                path: impl ::rnn_runtime::__private::AsRef<::rnn_runtime::__private::Path>,
            ) -> ::rnn_runtime::Result<()> {
                ::rnn_runtime::load_safetensors(self, path)
            }

            /// Loads a Keras model file of the same Sequential model: a Keras 3 `.keras`
            /// archive or a legacy `.h5` (`model.save("model.h5")` in Keras 2 / tf.keras
            /// or Keras 3), checking its config layer by layer; on error nothing changes.
            pub fn load_keras(
                &mut self,
                path: impl ::rnn_runtime::__private::AsRef<::rnn_runtime::__private::Path>,
            ) -> ::rnn_runtime::Result<()> {
                ::rnn_runtime::keras::load_keras(self, path)
            }

            /// Loads the weights of the same Sequential model from a Keras 3
            /// `.weights.h5`, a Keras 2 / tf.keras `save_weights` `.h5` or a legacy `.h5`
            /// model file, checking every weight's shape; on error nothing changes.
            pub fn load_keras_weights(
                &mut self,
                path: impl ::rnn_runtime::__private::AsRef<::rnn_runtime::__private::Path>,
            ) -> ::rnn_runtime::Result<()> {
                ::rnn_runtime::keras::load_keras_weights(self, path)
            }

            /// Loads a PyTorch `state_dict` saved with `torch.save` (`.pt`, read without
            /// executing anything) or as safetensors, `map` giving each of the file's
            /// tensor names this model's name (`None` skips a tensor); strict and
            /// all-or-nothing. See `rnn_runtime::torch::modules` for the usual map.
            pub fn load_torch(
                &mut self,
                path: impl ::rnn_runtime::__private::AsRef<::rnn_runtime::__private::Path>,
                map: impl ::rnn_runtime::__private::Fn(&str) -> ::rnn_runtime::__private::Option<::rnn_runtime::__private::String>,
            ) -> ::rnn_runtime::Result<()> {
                ::rnn_runtime::torch::load_torch(self, path, map)
            }

            /// `load_torch`, under its old name.
            #[deprecated(since = "0.2.0", note = "renamed `load_torch` (`load_state_dict` is the optimisers' name for their state)")]
            pub fn load_state_dict(
                &mut self,
                path: impl ::rnn_runtime::__private::AsRef<::rnn_runtime::__private::Path>,
                map: impl ::rnn_runtime::__private::Fn(&str) -> ::rnn_runtime::__private::Option<::rnn_runtime::__private::String>,
            ) -> ::rnn_runtime::Result<()> {
                ::rnn_runtime::torch::load_torch(self, path, map)
            }

            /// Every parameter as little-endian `f32` bytes in canonical order: what
            /// `from_le_bytes` reads (`rnn_runtime::flat::to_le_bytes`).
            pub fn to_le_bytes(&self) -> ::rnn_runtime::__private::Vec<u8> {
                ::rnn_runtime::flat::to_le_bytes(self)
            }

            /// Writes the model as a standard ONNX graph (opset 14: ONNX's LSTM, GRU and
            /// RNN operators), atomically.
            pub fn save_onnx(
                &self,
                path: impl ::rnn_runtime::__private::AsRef<::rnn_runtime::__private::Path>,
            ) -> ::rnn_runtime::Result<()> {
                ::rnn_runtime::onnx::save_onnx(self, path)
            }
        }
        }

        #single

        #summary

        impl ::rnn_runtime::Params for #name {
            const PARAMS: usize = #params;

            fn param_specs() -> &'static [::rnn_runtime::ParamSpec] {
                const SPECS: &[::rnn_runtime::ParamSpec] = &[#(#specs)*];
                SPECS
            }

            fn visit_params(&self, f: &mut dyn ::rnn_runtime::__private::FnMut(&[f32])) {
                #(#visits)*
            }

            fn visit_params_mut(&mut self, f: &mut dyn ::rnn_runtime::__private::FnMut(&mut [f32])) {
                #(#visits_mut)*
            }
        }

        ::rnn_runtime::__if_std! {
        impl ::rnn_runtime::Network for #name {
            type Input = #x_elem;
            const TIMESTEPS: usize = #steps;
            const FEATURES: usize = #features;
            const VOCAB: usize = #vocab;
            const OUTPUTS: usize = #outputs;
            const OUTPUT_STEPS: usize = #output_steps;
            type Workspace = #workspace;
            const LOSS: ::rnn_runtime::__private::Option<::rnn_runtime::Loss> = #loss_const;
            const ARCHITECTURE: ::rnn_runtime::Architecture = ::rnn_runtime::Architecture {
                timesteps: #steps,
                features: #features,
                tokens: #tokens,
                sequence_output: #sequence,
                layers: &[#(#arch_layers),*],
            };

            fn init(seed: u64) -> Self {
                let mut rng = ::rnn_runtime::rng::Rng::new(seed);
                #name { #(#inits)* }
            }

            fn forward_batch<'w>(
                &self,
                x: &[#x_elem],
                batch: usize,
                key: ::rnn_runtime::__private::Option<::rnn_runtime::dropout::MaskKey>,
                ws: &'w mut #workspace,
            ) -> &'w [f32] {
                let _ = key;
                #to_time_major
                #(#forward_calls)*
                #output_expr
            }

            fn backward_batch(&self, d_out: &[f32], ws: &mut #workspace, grads: &mut [f32]) {
                #(#splits)*
                let _ = grads;
                #d_out_time_major
                #(#backward_calls)*
            }

            fn output_logits(ws: &mut #workspace, logits: bool) {
                #output_logits
            }
        }
        }
    }
}

/// Keras's (and the DSL's) name of a loss.
fn loss_name(loss: Loss) -> &'static str {
    match loss {
        Loss::Mse => "mse",
        Loss::Mae => "mae",
        Loss::Huber(_) => "huber",
        Loss::BinaryCrossentropy => "binary_crossentropy",
        Loss::CategoricalCrossentropy => "categorical_crossentropy",
        Loss::SparseCategoricalCrossentropy => "sparse_categorical_crossentropy",
    }
}

/// The runtime's `Loss` value of a declared loss.
fn loss_value(loss: Loss) -> TokenStream {
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

/// What a spec with errors still expands to, beside its `compile_error!`s: the struct,
/// its derives and trait impls, and the names of its public API, so that the user's
/// other code does not add a cascade of secondary errors to the real one. Where the
/// spec still tells the interface (`shape`), the consts are true and `predict_one` is
/// typed. Bodies are never run: the crate does not compile.
pub fn fallback(header: &Header, shape: Option<PartialShape>) -> TokenStream {
    let Header { attrs, vis, name } = header;
    let derives = standard_derives(attrs);
    let summary = summary::fallback(header);
    let never = quote!(::rnn_runtime::__private::unreachable!());
    let out_ty = match shape {
        Some(s) if s.sequence => quote!(::rnn_runtime::ndarray::Array3<f32>),
        _ => quote!(::rnn_runtime::ndarray::Array2<f32>),
    };
    let (consts, predict_one) = match shape {
        Some(shape) => {
            let (t, out) = (lit(shape.timesteps), lit(shape.outputs));
            let (f, x) = match shape.input {
                Input::Features(f) => (lit(f), quote!(&[[f32; #f]; #t])),
                Input::Tokens => (lit(1), quote!(&[u32; #t])),
            };
            let y = if shape.sequence {
                quote!([[f32; #out]; #t])
            } else {
                quote!([f32; #out])
            };
            let ret = match shape.input {
                Input::Features(_) => y,
                Input::Tokens => quote!(::rnn_runtime::Result<#y>),
            };
            (
                quote!((#t, #f, #out)),
                quote! {
                    pub fn predict_one(&self, x: #x) -> #ret { #never }
                },
            )
        }
        None => (
            quote!((0, 0, 0)),
            quote! {
                pub fn predict_one<X: ?Sized, R>(&self, x: &X) -> R { #never }
            },
        ),
    };
    quote! {
        #(#attrs)*
        #derives
        #vis struct #name {}

        #summary

        #[allow(dead_code, unused_variables, missing_docs, clippy::all)]
        impl #name {
            pub const TIMESTEPS: usize = #consts.0;
            pub const FEATURES: usize = #consts.1;
            pub const OUTPUTS: usize = #consts.2;
            pub const PARAMS: usize = 0;
            pub fn new(seed: u64) -> Self {
                #name {}
            }
            #predict_one
        }

        ::rnn_runtime::__if_std! {
        #[allow(dead_code, unused_variables, missing_docs, clippy::all)]
        impl #name {
            pub fn forward<X>(&self, x: X) -> ::rnn_runtime::Result<#out_ty> {
                #never
            }
            pub fn predict<X>(&self, x: X) -> ::rnn_runtime::Result<#out_ty> {
                #never
            }
            pub fn evaluate<X, Y>(&self, x: X, y: Y) -> ::rnn_runtime::Result<f32> {
                #never
            }
            pub fn evaluate_with<X, Y>(&self, x: X, y: Y, loss: ::rnn_runtime::Loss) -> ::rnn_runtime::Result<f32> {
                #never
            }
            pub fn loss_and_grads<X, Y>(&self, x: X, y: Y) -> ::rnn_runtime::Result<(f32, ::rnn_runtime::Grads)> {
                #never
            }
            pub fn loss_and_grads_with<X, Y>(&self, x: X, y: Y, loss: ::rnn_runtime::Loss, dropout_seed: u64) -> ::rnn_runtime::Result<(f32, ::rnn_runtime::Grads)> {
                #never
            }
            pub fn fit<X, Y, O, F>(&mut self, x: X, y: Y, options: F) -> ::rnn_runtime::Result<::rnn_runtime::History>
            where
                F: ::rnn_runtime::__private::BorrowMut<::rnn_runtime::Fit<O>>,
            {
                #never
            }
            pub fn save_safetensors<P>(&self, path: P) -> ::rnn_runtime::Result<()> {
                #never
            }
            pub fn load_safetensors<P>(&mut self, path: P) -> ::rnn_runtime::Result<()> {
                #never
            }
            pub fn load_keras<P>(&mut self, path: P) -> ::rnn_runtime::Result<()> {
                #never
            }
            pub fn load_keras_weights<P>(&mut self, path: P) -> ::rnn_runtime::Result<()> {
                #never
            }
            pub fn load_torch<P, F>(&mut self, path: P, map: F) -> ::rnn_runtime::Result<()> {
                #never
            }
            pub fn load_state_dict<P, F>(&mut self, path: P, map: F) -> ::rnn_runtime::Result<()> {
                #never
            }
            pub fn to_le_bytes(&self) -> ::rnn_runtime::__private::Vec<u8> {
                #never
            }
            pub fn save_onnx<P>(&self, path: P) -> ::rnn_runtime::Result<()> {
                #never
            }
        }
        }

        #[allow(unused_variables, clippy::all)]
        impl ::rnn_runtime::Params for #name {
            const PARAMS: usize = 0;
            fn param_specs() -> &'static [::rnn_runtime::ParamSpec] {
                &[]
            }
            fn visit_params(&self, f: &mut dyn ::rnn_runtime::__private::FnMut(&[f32])) {}
            fn visit_params_mut(&mut self, f: &mut dyn ::rnn_runtime::__private::FnMut(&mut [f32])) {}
        }

        ::rnn_runtime::__if_std! {
        #[allow(unused_variables, clippy::all)]
        impl ::rnn_runtime::Network for #name {
            type Input = f32;
            const TIMESTEPS: usize = #consts.0;
            const FEATURES: usize = #consts.1;
            const VOCAB: usize = 0;
            const OUTPUTS: usize = #consts.2;
            const OUTPUT_STEPS: usize = 1;
            type Workspace = ();
            const LOSS: ::rnn_runtime::__private::Option<::rnn_runtime::Loss> = ::rnn_runtime::__private::None;
            const ARCHITECTURE: ::rnn_runtime::Architecture = ::rnn_runtime::Architecture {
                timesteps: #consts.0,
                features: #consts.1,
                tokens: false,
                sequence_output: false,
                layers: &[],
            };
            fn init(seed: u64) -> Self {
                #name {}
            }
            fn forward_batch<'w>(&self, x: &[f32], batch: usize, key: ::rnn_runtime::__private::Option<::rnn_runtime::dropout::MaskKey>, ws: &'w mut ()) -> &'w [f32] {
                #never
            }
            fn backward_batch(&self, d_out: &[f32], ws: &mut (), grads: &mut [f32]) {
                #never
            }
            fn output_logits(ws: &mut (), logits: bool) {}
        }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::{check, MAX_LAYERS};
    use crate::parse::parse;

    /// The deepest expressions the generator writes come from a run of `dropout`
    /// layers (each one's input is the one before's output): at the layer limit the
    /// expansion must stay Rust of a sensible size.
    #[test]
    fn a_model_at_the_layer_limit_expands() {
        let mut spec = "struct Net < input(2, 1), lstm(2, return_sequences = true)".to_owned();
        for _ in 1..MAX_LAYERS {
            spec.push_str(", dropout(0.1)");
        }
        spec.push_str(" >");
        let def = parse(spec.parse().expect("lexes")).ok().expect("parses");
        let model = check(&def).expect("checks");
        let out = super::expand(&model);
        // Quadratic in the run's length: 1.6 MB of source at 256 layers, which the
        // compiler takes; the limit keeps it from growing to gigabytes.
        let bytes = out.to_string().len();
        assert!(bytes < 4_000_000, "{bytes} bytes");
        syn::parse2::<syn::File>(out).expect("Rust");
    }
}

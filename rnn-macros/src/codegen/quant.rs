//! The int8 twin of a model: `NameInt8` (weights as `i8` with one `f32` scale per
//! output row, biases `f32`), `Name::quantize`, `NameInt8::dequantize` and the
//! single-sample API of `NameInt8` (`predict_one`, `stream`, `NameInt8Stream`).
//!
//! Generated for every model that runs step by step (no bidirectional layer): its
//! `predict_one` and `push` bodies are the `f32` model's (`single::item`), run over
//! `__step`/`__head` helpers whose layers are the runtime's int8 layers, and its
//! stream carries the `f32` model's `NameState`.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::api::{Method, Types};
use super::layers::{activation, cell_activation, tensors};
use super::{field, lit, single};
use crate::spec::{Cell, Header, Input, Layer, LayerKind, Model, PartialShape};

/// Bytes of a layer's parameters in the int8 format: one per weight and four per row
/// scale of each weight matrix, four per value of a bias.
fn layer_bytes(layer: &Layer) -> usize {
    tensors(layer)
        .iter()
        .map(
            |(name, shape)| match (name.starts_with("weight"), shape.as_slice()) {
                (true, [rows, cols]) => rows * cols + 4 * rows,
                _ => 4 * shape.iter().product::<usize>(),
            },
        )
        .sum()
}

/// `WEIGHT_BYTES`: the int8 format's size of the whole model.
pub fn weight_bytes(model: &Model) -> usize {
    model.layers.iter().map(layer_bytes).sum()
}

/// The int8 runtime type of a layer's field; `None` for a layer without parameters.
fn layer_type(layer: &Layer) -> Option<TokenStream> {
    let (i, n) = (lit(layer.inputs), lit(layer.units));
    let q = quote!(::rnn_runtime::quant);
    Some(match layer.kind {
        LayerKind::Recurrent(r) => match r.cell {
            Cell::Lstm => quote!(#q::LstmInt8<#i, #n>),
            Cell::Gru => quote!(#q::GruInt8<#i, #n>),
            Cell::SimpleRnn => quote!(#q::SimpleRnnInt8<#i, #n>),
        },
        LayerKind::Dense(_) => quote!(#q::DenseInt8<#i, #n>),
        LayerKind::Embedding { vocab, .. } => {
            let v = lit(vocab);
            quote!(#q::EmbeddingInt8<#v, #n>)
        }
        LayerKind::Dropout(_) => return None,
    })
}

/// The expression that reads a layer's field from `bytes` at byte offset `at`.
fn from_bytes_expr(layer: &Layer, at: usize) -> Option<TokenStream> {
    let ty = layer_type(layer)?;
    let at = lit(at);
    Some(match layer.kind {
        LayerKind::Recurrent(r) => {
            let (a, ra) = (
                cell_activation(r.activation),
                cell_activation(r.recurrent_activation),
            );
            quote!(<#ty>::from_le_bytes(bytes, #at, ::rnn_runtime::layers::CellActivations::new(#a, #ra)))
        }
        LayerKind::Dense(a) => {
            let a = activation(a);
            quote!(<#ty>::from_le_bytes(bytes, #at, #a))
        }
        _ => quote!(<#ty>::from_le_bytes(bytes, #at)),
    })
}

/// `__step` and `__head` of `NameInt8`, with the signatures of the `f32` model's, so
/// that the bodies `single` writes run on it unchanged.
fn helpers(model: &Model, int8: &Ident, state: &Ident) -> TokenStream {
    let head = super::single::head_start(model);
    let step_width = lit(match head.checked_sub(1) {
        Some(k) => model.layers[k].units,
        None => model.features(),
    });
    let outputs = lit(model.outputs());
    // The int8 layers have the `f32` layers' single-sample methods, so `single`'s
    // pipeline runs on them as written.
    let state_var = quote!(state);
    let step_body = super::single::pipeline(model, 0..head, &state_var);
    let head_body = super::single::pipeline(model, head..model.layers.len(), &state_var);
    let (x_arg, first) = match model.input {
        Input::Tokens => (quote!(x: u32), quote!(let v = x;)),
        Input::Features(f) => {
            let f = lit(f);
            (quote!(x: &[f32; #f]), quote!(let v = *x;))
        }
    };
    quote! {
        impl #int8 {
            #[doc(hidden)]
            #[inline(always)]
            fn __step(&self, state: &mut #state, #x_arg) -> [f32; #step_width] {
                #first
                #step_body
                v
            }

            #[doc(hidden)]
            #[inline(always)]
            #[allow(unused_variables)]
            fn __head(&self, v: &[f32; #step_width]) -> [f32; #outputs] {
                let v = *v;
                #head_body
                v
            }
        }
    }
}

/// Everything of the int8 twin, or nothing for a model that does not run step by
/// step (a bidirectional layer).
pub fn expand(model: &Model) -> TokenStream {
    if !model.streams() {
        return TokenStream::new();
    }
    let (name, vis) = (&model.header.name, &model.header.vis);
    let int8 = format_ident!("{}Int8", name);
    let stream = format_ident!("{}Int8Stream", name);
    let state = format_ident!("{}State", name);
    let bytes = weight_bytes(model);
    let bytes_lit = lit(bytes);
    let f32_bytes = lit(4 * model.params());
    let spec_hash = proc_macro2::Literal::u64_suffixed(model.spec_hash());
    let file_bytes = quote!(::rnn_runtime::flat::HEADER_BYTES + #bytes_lit);
    let p = quote!(::rnn_runtime::__private);

    let mut fields = TokenStream::new();
    let mut reads = TokenStream::new();
    let (mut writes, mut visits) = (TokenStream::new(), TokenStream::new());
    let mut at = 0;
    for (i, layer) in model.layers.iter().enumerate() {
        let (Some(ty), Some(read)) = (layer_type(layer), from_bytes_expr(layer, at)) else {
            continue;
        };
        at += layer_bytes(layer);
        let f = field(i);
        let doc = format!("Layer {i} (int8 weights).");
        fields.extend(quote!(#[doc = #doc] pub #f: #ty,));
        reads.extend(quote!(#f: #read,));
        writes.extend(quote!(self.#f.write_le(&mut out);));
        visits.extend(quote!(self.#f.visit_dequantized(f);));
    }

    let types = Types::exact(&model.header, model.shape(), model.params());
    let method = |m: Method| {
        let (doc, body) = single::item(model, m);
        let signature = types.signature(m);
        quote!(#doc pub #signature #body)
    };
    let predict_one = method(Method::PredictOne);
    let stream_methods: TokenStream = [
        Method::Push,
        Method::StreamState,
        Method::IntoState,
        Method::Steps,
        Method::Reset,
    ]
    .into_iter()
    .map(method)
    .collect();
    let helpers = helpers(model, &int8, &state);

    let struct_doc = format!(
        "[`{name}`] with int8 weights: each weight matrix as `i8` with one `f32` scale per \
         output row, biases and every sum `f32`; from [`{name}::quantize`]. Its \
         parameters take [`WEIGHT_BYTES`]({int8}::WEIGHT_BYTES) = {bytes} bytes, against \
         {} as `f32`.",
        4 * model.params()
    );
    let stream_doc = format!(
        "Streaming inference with [`{int8}`]: one time step per \
         [`push`]({stream}::push), the state a [`{state}`] as for [`{name}`]'s stream."
    );
    let from_doc = format!(
        "The model whose int8 parameters are the {bytes} bytes of `bytes` after a 16-byte \
         header (what [`to_le_bytes`]({int8}::to_le_bytes) writes: the magic `RNNQ`, the \
         format version and the spec's hash, checked). A `const fn` without the runtime's \
         `std` feature, so that `static NET: {int8} = {int8}::from_le_bytes(include_bytes!(…));` \
         puts the weights in flash, and a file of another model does not compile.\n\n\
         # Panics\n\
         With `std`, if the header belongs to another model, format or version."
    );
    let debug_text = format!("{int8} {{ weight_bytes: {bytes} }}");
    quote! {
        #[doc = #struct_doc]
        #[derive(#p::Clone, #p::PartialEq)]
        #vis struct #int8 {
            #fields
        }

        impl #p::Debug for #int8 {
            fn fmt(&self, f: &mut #p::fmt::Formatter<'_>) -> #p::fmt::Result {
                f.write_str(#debug_text)
            }
        }

        #[doc = #stream_doc]
        #[derive(#p::Clone, #p::Debug)]
        #vis struct #stream<'m> {
            model: &'m #int8,
            state: #state,
            steps: usize,
        }

        impl #int8 {
            /// Bytes of the parameters: `i8` weights, their `f32` row scales and the
            /// `f32` biases.
            pub const WEIGHT_BYTES: usize = #bytes_lit;

            ::rnn_runtime::__const_without_std! {
                #[doc = #from_doc]
                pub fn from_le_bytes(bytes: &[u8; #file_bytes]) -> Self {
                    let bytes: &[u8] = bytes;
                    if let #p::Err(mismatch) = ::rnn_runtime::flat::check_header_for(
                        bytes,
                        ::rnn_runtime::flat::INT8_MAGIC,
                        #spec_hash,
                    ) {
                        #p::panic!("{}", mismatch.message());
                    }
                    let bytes = bytes.split_at(::rnn_runtime::flat::HEADER_BYTES).1;
                    #int8 { #reads }
                }
            }

            #predict_one

            /// A stream starting from the zero state.
            pub fn stream(&self) -> #stream<'_> {
                self.stream_from(#state::new())
            }

            /// A stream starting from `state`.
            pub fn stream_from(&self, state: #state) -> #stream<'_> {
                #stream { model: self, state, steps: 0 }
            }
        }

        impl #stream<'_> {
            #stream_methods
        }

        #helpers

        ::rnn_runtime::__if_std! {
            impl #int8 {
                /// A 16-byte header (`RNNQ`, the format version, the spec's hash), then
                /// the parameters in the int8 format that
                /// [`from_le_bytes`](Self::from_le_bytes) reads.
                pub fn to_le_bytes(&self) -> #p::Vec<u8> {
                    let mut out = #p::Vec::with_capacity(#file_bytes);
                    out.extend_from_slice(&::rnn_runtime::flat::header_for(
                        ::rnn_runtime::flat::INT8_MAGIC,
                        #spec_hash,
                    ));
                    #writes
                    out
                }

                /// The `f32` model whose every weight is `q · scale`: the function this
                /// model computes, up to rounding.
                pub fn dequantize(&self) -> #name {
                    let mut bytes = ::rnn_runtime::flat::header(#spec_hash).to_vec();
                    bytes.extend_from_slice(&::rnn_runtime::quant::le_bytes_of(|f| { #visits }));
                    #name::from_le_bytes(::rnn_runtime::quant::as_array::<{ ::rnn_runtime::flat::HEADER_BYTES + #f32_bytes }>(&bytes))
                }
            }

            impl #name {
                /// The model with int8 weights (post-training, per-output-row symmetric
                /// quantisation); biases stay `f32`. An error
                /// ([`Error::NonFiniteWeight`](::rnn_runtime::Error::NonFiniteWeight)) if
                /// any parameter is NaN or infinite.
                pub fn quantize(&self) -> ::rnn_runtime::Result<#int8> {
                    let mut bytes = ::rnn_runtime::flat::header_for(
                        ::rnn_runtime::flat::INT8_MAGIC,
                        #spec_hash,
                    )
                    .to_vec();
                    bytes.extend_from_slice(&::rnn_runtime::quant::quantize_params(self)?);
                    #p::Ok(#int8::from_le_bytes(::rnn_runtime::quant::as_array::<{ #file_bytes }>(&bytes)))
                }
            }
        }
    }
}

/// The int8 twin as the fallback after a spec error declares it: every item, with
/// bodies that never run, so that code using it adds no errors of its own.
pub fn fallback(header: &Header, shape: Option<PartialShape>) -> TokenStream {
    let (name, vis) = (&header.name, &header.vis);
    let int8 = format_ident!("{}Int8", name);
    let stream = format_ident!("{}Int8Stream", name);
    let state = format_ident!("{}State", name);
    let p = quote!(::rnn_runtime::__private);
    let never = quote!({ #p::unreachable!() });
    let types = Types::loose(header, shape);
    let signature = |m: Method| types.signature(m);
    let predict_one = signature(Method::PredictOne);
    let stream_methods = [
        Method::Push,
        Method::StreamState,
        Method::IntoState,
        Method::Steps,
        Method::Reset,
    ]
    .map(signature);
    let allow = quote!(#[allow(dead_code, unused_variables, missing_docs, clippy::all)]);
    quote! {
        #allow
        #[derive(#p::Clone, #p::PartialEq, #p::Debug)]
        #vis struct #int8 {}

        #allow
        #[derive(#p::Clone, #p::Debug)]
        #vis struct #stream<'m> {
            model: &'m #int8,
            state: #state,
        }

        #allow
        impl #int8 {
            pub const WEIGHT_BYTES: usize = 0;
            ::rnn_runtime::__const_without_std! {
                pub fn from_le_bytes(bytes: &[u8]) -> Self #never
            }
            pub #predict_one #never
            pub fn stream(&self) -> #stream<'_> #never
            pub fn stream_from(&self, state: #state) -> #stream<'_> #never
        }

        #allow
        impl #stream<'_> {
            #(pub #stream_methods #never)*
        }

        ::rnn_runtime::__if_std! {
            #allow
            impl #int8 {
                pub fn to_le_bytes(&self) -> #p::Vec<u8> #never
                pub fn dequantize(&self) -> #name #never
            }

            #allow
            impl #name {
                pub fn quantize(&self) -> ::rnn_runtime::Result<#int8> #never
            }
        }
    }
}

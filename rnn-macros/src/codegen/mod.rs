//! Code generation: [`Model`] → the struct, its inherent API and its runtime traits.
//!
//! The output is thin glue: one field per layer with parameters, holding that layer's
//! tensors in a runtime layer type instantiated with literal sizes, and one call per
//! layer into the runtime's kernels in `forward_batch`, `backward_batch` and the
//! single-sample paths. Loops over time live in the kernels, so the generated code
//! does not grow with the number of time steps.
//!
//! One function per generated item: the struct here, its workspace and `Network`
//! impl in `network`, `Params` and `from_le_bytes` in `params`, the batch API in
//! `batch`, the single-sample API in `single`, `Debug`/`Display`/`summary` in
//! `summary`. Which methods exist and their signatures come from one table, `api`,
//! which the fallback reads too.
//!
//! Every path is absolute (`::rnn_runtime::…`), so the expansion works in any scope,
//! `#![no_implicit_prelude]` included.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use crate::spec::{Header, Input, Model, PartialShape};

pub mod api;
mod batch;
mod layers;
mod network;
mod params;
mod quant;
mod single;
mod summary;

use api::{Method, Types};

fn lit(n: usize) -> Literal {
    Literal::usize_unsuffixed(n)
}

fn lit_f32(v: f32) -> Literal {
    Literal::f32_suffixed(v)
}

/// An `f32` expression of any sign: a literal, negated when negative (a literal token
/// itself carries no sign).
fn signed_f32(v: f32) -> TokenStream {
    let magnitude = lit_f32(v.abs());
    if v.is_sign_negative() {
        quote!(-#magnitude)
    } else {
        quote!(#magnitude)
    }
}

/// Field names: `lN` for layer N.
fn field(i: usize) -> Ident {
    format_ident!("l{}", i)
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
    Types::exact(&model.header, model.shape(), model.params()).input()
}

/// The model struct: one field per layer with parameters.
fn struct_def(model: &Model) -> TokenStream {
    let Header { attrs, vis, name } = &model.header;
    let derives = standard_derives(attrs);
    let fields = model.layers.iter().enumerate().filter_map(|(i, layer)| {
        let ty = layers::layer_type(layer)?;
        let f = field(i);
        let doc = format!("Layer {i}: `{}`.", layers::describe(layer));
        Some(quote!(#[doc = #doc] pub #f: #ty,))
    });
    quote! {
        #(#attrs)*
        #derives
        #vis struct #name {
            #(#fields)*
        }
    }
}

/// Documentation and body of one method of the table for a checked model.
fn item(model: &Model, method: Method) -> (TokenStream, TokenStream) {
    match method {
        Method::FromLeBytes => {
            let doc = params::from_le_bytes_doc(model);
            (quote!(#[doc = #doc]), params::from_le_bytes_body(model))
        }
        Method::Summary => summary::summary_item(model),
        Method::PredictOne
        | Method::Stream
        | Method::StreamFrom
        | Method::ForwardFrom
        | Method::LossAndGradsFrom
        | Method::PredictSeries
        | Method::FitSeries
        | Method::StateNew
        | Method::Push
        | Method::StreamState
        | Method::IntoState
        | Method::Steps
        | Method::Reset => single::item(model, method),
        Method::New
        | Method::Forward
        | Method::Predict
        | Method::Evaluate
        | Method::EvaluateWith
        | Method::LossAndGrads
        | Method::LossAndGradsWith
        | Method::LossAndGradsInto
        | Method::Fit
        | Method::SaveSafetensors
        | Method::LoadSafetensors
        | Method::LoadKeras
        | Method::LoadKerasWeights
        | Method::LoadTorch
        | Method::LoadStateDict
        | Method::ToLeBytes
        | Method::SaveOnnx => batch::item(model, method),
    }
}

/// Expands a checked model.
pub fn expand(model: &Model) -> TokenStream {
    if model.layers.is_empty() {
        // `check` refuses such a model; never index into it here.
        let message = "internal error: a model without layers";
        return syn::Error::new(model.header.name.span(), message).to_compile_error();
    }
    let types = Types::exact(&model.header, model.shape(), model.params());
    let struct_def = struct_def(model);
    let (flops_step, flops_sample) = model.flops();
    let consts = api::consts(
        &types,
        [
            model.timesteps as u128,
            model.features() as u128,
            model.outputs() as u128,
            model.params() as u128,
            4 * model.params() as u128,
            model.state_bytes(),
            model.stack_bytes(),
            flops_step.min(u64::MAX.into()),
            flops_sample.min(u64::MAX.into()),
        ]
        .map(|n| {
            let n = Literal::u128_unsuffixed(n);
            quote!(#n)
        }),
        &TokenStream::new(),
    );
    let workspace = network::workspace(model);
    let single_types = single::types(model);
    let methods = api::inherent_impls(&types, model.streams(), &TokenStream::new(), |m| {
        item(model, m)
    });
    let summary = summary::expand(model);
    let params = params::params_impl(model);
    let network = network::network_impl(model);
    let int8 = quant::expand(model);
    quote! {
        #struct_def
        #workspace
        #consts
        #single_types
        #methods
        #summary
        #params
        #network
        #int8
    }
}

/// What a spec with errors still expands to, beside its `compile_error!`s: the struct,
/// its derives and trait impls, and every item of the generated API ([`api`]), so that
/// the user's other code does not add a cascade of secondary errors to the real one.
/// Where the spec still tells the interface (`shape`), the consts are true and
/// `predict_one` and `push` are typed. Bodies are never run: the crate does not
/// compile.
pub fn fallback(header: &Header, shape: Option<PartialShape>) -> TokenStream {
    let Header { attrs, vis, name } = header;
    let derives = standard_derives(attrs);
    let summary = summary::fallback(header);
    let never = quote!({ ::rnn_runtime::__private::unreachable!() });
    let allow = quote!(#[allow(dead_code, unused_variables, missing_docs, clippy::all)]);
    let types = Types::loose(header, shape);
    let (t, f, out) = match shape {
        Some(shape) => (
            shape.timesteps,
            match shape.input {
                Input::Features(f) => f,
                Input::Tokens => 1,
            },
            shape.outputs,
        ),
        None => (0, 0, 0),
    };
    let [t, f, out] = [t, f, out].map(lit);
    let consts = api::consts(
        &types,
        [
            quote!(#t),
            quote!(#f),
            quote!(#out),
            quote!(0),
            quote!(0),
            quote!(0),
            quote!(0),
            quote!(0),
            quote!(0),
        ],
        &allow,
    );
    let api_types = api::fallback_types(header);
    let int8 = quant::fallback(header, shape);
    let methods = api::inherent_impls(&types, true, &allow, |_| {
        (TokenStream::new(), never.clone())
    });
    quote! {
        #(#attrs)*
        #derives
        #vis struct #name {}

        #consts
        #api_types
        #methods
        #summary
        #int8

        #[allow(unused_variables, clippy::all)]
        impl ::rnn_runtime::Params for #name {
            const PARAMS: usize = 0;
            const SPEC_HASH: u64 = 0;
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
            const TIMESTEPS: usize = #t;
            const FEATURES: usize = #f;
            const VOCAB: usize = 0;
            const OUTPUTS: usize = #out;
            const OUTPUT_STEPS: usize = 1;
            type Workspace = ();
            const LOSS: ::rnn_runtime::__private::Option<::rnn_runtime::Loss> = ::rnn_runtime::__private::None;
            const ARCHITECTURE: ::rnn_runtime::Architecture = ::rnn_runtime::Architecture {
                timesteps: #t,
                features: #f,
                tokens: false,
                sequence_output: false,
                padding: ::rnn_runtime::__private::None,
                layers: &[],
            };
            fn init(seed: u64) -> Self {
                #name {}
            }
            fn forward_batch<'w>(&self, x: &[f32], batch: usize, lengths: ::rnn_runtime::__private::Option<&[usize]>, key: ::rnn_runtime::__private::Option<::rnn_runtime::dropout::MaskKey>, ws: &'w mut ()) -> &'w [f32] {
                ::rnn_runtime::__private::unreachable!()
            }
            fn backward_batch(&self, d_out: &[f32], ws: &mut (), grads: &mut [f32]) {
                ::rnn_runtime::__private::unreachable!()
            }
            fn output_logits(ws: &mut (), logits: bool) {}
            const STATE_VALUES: usize = 0;
            fn set_initial_states(ws: &mut (), states: ::rnn_runtime::__private::Option<&[f32]>) {}
            fn final_states(ws: &(), out: &mut [f32]) {}
        }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::{check, MAX_LAYERS};
    use crate::parse::parse;

    fn dropout_run(layers: usize) -> proc_macro2::TokenStream {
        let mut spec = "struct Net < input(2, 1), lstm(2, return_sequences = true)".to_owned();
        for _ in 1..layers {
            spec.push_str(", dropout(0.1)");
        }
        spec.push_str(" >");
        let def = parse(spec.parse().expect("lexes")).ok().expect("parses");
        let model = check(&def).expect("checks");
        super::expand(&model)
    }

    /// A run of `dropout` layers was once quadratic (each one's input written as an
    /// expression of the one before): every layer's output is now a local, so the
    /// expansion grows linearly and stays small at the layer limit.
    #[test]
    fn the_expansion_is_linear_in_the_number_of_layers() {
        let half = dropout_run(MAX_LAYERS / 2).to_string().len();
        let out = dropout_run(MAX_LAYERS);
        let full = out.to_string().len();
        assert!(full < 2 * half + 20_000, "{half} bytes, then {full} bytes");
        assert!(full < 400_000, "{full} bytes");
        syn::parse2::<syn::File>(out).expect("Rust");
    }
}

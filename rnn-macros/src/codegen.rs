//! Code generation: [`Model`] → the struct, its inherent API and its runtime traits.
//!
//! The output is thin glue: one field per layer, holding that layer's parameter
//! tensors in a runtime layer type instantiated with literal sizes, and one call per
//! layer into the runtime's kernels in `forward_batch`, `backward_batch` and
//! `predict_one`. Loops over time live in the kernels, so the generated code does
//! not grow with the number of time steps.
//!
//! Every path is absolute (`::rnn_runtime::…`), so the expansion works in any scope,
//! `#![no_implicit_prelude]` included.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use crate::spec::{Activation, Header, Layer, LayerKind, Model};

/// Gates per recurrent cell kind.
fn gates(kind: LayerKind) -> usize {
    match kind {
        LayerKind::Lstm => 4,
        LayerKind::Gru => 3,
        LayerKind::SimpleRnn => 1,
        LayerKind::Dense(_) => 0,
    }
}

/// Scalar parameters of a layer: PyTorch's count.
fn param_count(layer: &Layer) -> usize {
    let (i, h) = (layer.inputs, layer.units);
    match layer.kind {
        LayerKind::Dense(_) => h * i + h,
        kind => {
            let gh = gates(kind) * h;
            gh * i + gh * h + 2 * gh
        }
    }
}

/// The layer as the user would write it, for documentation.
fn describe(layer: &Layer) -> String {
    let name = match layer.kind {
        LayerKind::Lstm => "lstm",
        LayerKind::Gru => "gru",
        LayerKind::SimpleRnn => "simple_rnn",
        LayerKind::Dense(_) => "dense",
    };
    let option = match layer.kind {
        LayerKind::Dense(Activation::Linear) => "",
        LayerKind::Dense(Activation::Relu) => ", activation = relu",
        LayerKind::Dense(Activation::Tanh) => ", activation = tanh",
        LayerKind::Dense(Activation::Sigmoid) => ", activation = sigmoid",
        LayerKind::Dense(Activation::Softmax) => ", activation = softmax",
        LayerKind::Dense(Activation::Gelu) => ", activation = gelu",
        LayerKind::Dense(Activation::Elu) => ", activation = elu",
        LayerKind::Dense(Activation::Softplus) => ", activation = softplus",
        _ if layer.return_sequences => ", return_sequences = true",
        _ => "",
    };
    format!("{name}({}{option})", layer.units)
}

fn lit(n: usize) -> Literal {
    Literal::usize_unsuffixed(n)
}

/// The runtime type of a layer, e.g. `::rnn_runtime::layers::LstmLayer<1, 50>`.
fn layer_type(layer: &Layer) -> TokenStream {
    let (i, n) = (lit(layer.inputs), lit(layer.units));
    let span = layer.span;
    match layer.kind {
        LayerKind::Lstm => quote_spanned!(span=> ::rnn_runtime::layers::LstmLayer<#i, #n>),
        LayerKind::Gru => quote_spanned!(span=> ::rnn_runtime::layers::GruLayer<#i, #n>),
        LayerKind::SimpleRnn => {
            quote_spanned!(span=> ::rnn_runtime::layers::SimpleRnnLayer<#i, #n>)
        }
        LayerKind::Dense(_) => quote_spanned!(span=> ::rnn_runtime::layers::DenseLayer<#i, #n>),
    }
}

/// The single-sample state type of a recurrent layer.
fn state_type(layer: &Layer) -> TokenStream {
    let h = lit(layer.units);
    let g = lit(gates(layer.kind) * layer.units);
    match layer.kind {
        LayerKind::Lstm => quote!(::rnn_runtime::layers::LstmState<#h, #g>),
        LayerKind::Gru => quote!(::rnn_runtime::layers::GruState<#h, #g>),
        _ => quote!(::rnn_runtime::layers::SimpleRnnState<#h>),
    }
}

fn buffers_type(layer: &Layer) -> TokenStream {
    if layer.kind.is_recurrent() {
        quote!(::rnn_runtime::layers::RecurrentBuffers)
    } else {
        quote!(::rnn_runtime::layers::DenseBuffers)
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

/// `ws.lN` buffers' output as seen by the layer after `index`, or the time-major input.
fn input_of(model: &Model, index: usize) -> TokenStream {
    match index.checked_sub(1) {
        None => quote!(&ws.input),
        Some(prev) => {
            let field = format_ident!("l{}", prev);
            let prev_layer = &model.layers[prev];
            if !prev_layer.kind.is_recurrent() {
                quote!(ws.#field.output())
            } else if prev_layer.return_sequences {
                quote!(ws.#field.hidden())
            } else {
                quote!(ws.#field.last_hidden())
            }
        }
    }
}

/// The model's output expression in the workspace.
fn output_of(model: &Model) -> TokenStream {
    let last = model.layers.len() - 1;
    let field = format_ident!("l{}", last);
    if model.layers[last].kind.is_recurrent() {
        quote!(ws.#field.last_hidden())
    } else {
        quote!(ws.#field.output())
    }
}

/// `#[derive(Clone, Debug, PartialEq)]`, less any of them the user derives already
/// (a second derive of the same trait would be a conflicting implementation).
fn standard_derives(attrs: &[syn::Attribute]) -> TokenStream {
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
    let ours: Vec<_> = ["Clone", "Debug", "PartialEq"]
        .into_iter()
        .filter(|t| !user.iter().any(|u| u == t))
        .map(|t| format_ident!("{}", t))
        .collect();
    if ours.is_empty() {
        return TokenStream::new();
    }
    quote!(#[derive(#(::rnn_runtime::__private::#ours),*)])
}

/// Expands a checked model.
pub fn expand(model: &Model) -> TokenStream {
    let Header { attrs, vis, name } = &model.header;
    if !model.layers.first().is_some_and(|l| l.kind.is_recurrent()) {
        // `check` refuses such a model; never index into it here.
        let message = "internal error: a model must start with a recurrent layer";
        return syn::Error::new(name.span(), message).to_compile_error();
    }
    let workspace = format_ident!("{}Workspace", name);
    let (steps, features) = (lit(model.timesteps), lit(model.features));
    let last = model.layers.len() - 1;
    let outputs = lit(model.layers[last].units);
    let counts: Vec<usize> = model.layers.iter().map(param_count).collect();
    let params = lit(counts.iter().sum());
    let fields: Vec<_> = (0..model.layers.len())
        .map(|i| format_ident!("l{}", i))
        .collect();

    let field_defs = model
        .layers
        .iter()
        .zip(&fields)
        .enumerate()
        .map(|(i, (layer, f))| {
            let ty = layer_type(layer);
            let doc = format!("Layer {i}: `{}`.", describe(layer));
            quote!(#[doc = #doc] pub #f: #ty,)
        });
    let buffer_defs = model.layers.iter().zip(&fields).map(|(layer, f)| {
        let ty = buffers_type(layer);
        quote!(#f: #ty,)
    });

    let specs = model.layers.iter().enumerate().flat_map(|(i, layer)| {
        let (inputs, units) = (layer.inputs, layer.units);
        let tensors: Vec<(&str, Vec<usize>)> = if layer.kind.is_recurrent() {
            let gh = gates(layer.kind) * units;
            vec![
                ("weight_ih", vec![gh, inputs]),
                ("weight_hh", vec![gh, units]),
                ("bias_ih", vec![gh]),
                ("bias_hh", vec![gh]),
            ]
        } else {
            vec![("weight", vec![units, inputs]), ("bias", vec![units])]
        };
        tensors.into_iter().map(move |(tensor, shape)| {
            let name = format!("{i}.{tensor}");
            let shape = shape.into_iter().map(lit);
            quote!(::rnn_runtime::ParamSpec { name: #name, shape: &[#(#shape),*] },)
        })
    });

    let inits = model.layers.iter().zip(&fields).map(|(layer, f)| {
        let ty = layer_type(layer);
        match layer.kind {
            LayerKind::Dense(a) => {
                let a = activation(a);
                quote!(#f: <#ty>::init(#a, &mut rng),)
            }
            _ => quote!(#f: <#ty>::init(&mut rng),),
        }
    });

    let forward_calls = model
        .layers
        .iter()
        .zip(&fields)
        .enumerate()
        .map(|(i, (layer, f))| {
            let input = input_of(model, i);
            if layer.kind.is_recurrent() {
                quote!(self.#f.forward_seq(#input, #steps, batch, &mut ws.#f);)
            } else {
                quote!(self.#f.forward(#input, batch, &mut ws.#f);)
            }
        });

    let grad_blocks: Vec<_> = (0..model.layers.len())
        .map(|i| format_ident!("g{}", i))
        .collect();
    let splits = grad_blocks.iter().zip(&counts).map(|(g, &n)| {
        let n = lit(n);
        quote!(let (#g, grads) = grads.split_at_mut(#n);)
    });
    let backward_calls = model.layers.iter().enumerate().rev().map(|(i, layer)| {
        let (f, g) = (&fields[i], &grad_blocks[i]);
        let input = input_of(model, i);
        let need_dx = i > 0;
        let upstream = if i == last {
            quote!(d_out)
        } else {
            let next = &fields[i + 1];
            quote!(ws.#next.input_grad())
        };
        if layer.kind.is_recurrent() {
            let seq = if layer.return_sequences {
                quote!(::rnn_runtime::layers::SeqGrad::All(#upstream))
            } else {
                quote!(::rnn_runtime::layers::SeqGrad::Last(#upstream))
            };
            quote!(self.#f.backward_seq(#input, #seq, #g, &mut ws.#f, #need_dx);)
        } else {
            quote!(self.#f.backward(#input, #upstream, #g, &mut ws.#f, #need_dx);)
        }
    });

    let recurrent: Vec<usize> = (0..model.layers.len())
        .filter(|&i| model.layers[i].kind.is_recurrent())
        .collect();
    let states: Vec<_> = recurrent.iter().map(|i| format_ident!("s{}", i)).collect();
    let state_inits = recurrent.iter().zip(&states).map(|(&i, s)| {
        let ty = state_type(&model.layers[i]);
        quote!(let mut #s = <#ty>::new();)
    });
    let steps_one = recurrent.iter().zip(&states).map(|(&i, s)| {
        let f = &fields[i];
        quote!(let h = self.#f.step_one(h, &mut #s);)
    });
    let last_state = states.last();
    let dense_one = model
        .layers
        .iter()
        .zip(&fields)
        .filter(|(l, _)| !l.kind.is_recurrent())
        .map(|(_, f)| quote!(let y = self.#f.forward_one(&y);));
    let visits = fields.iter().map(|f| quote!(self.#f.visit(f);));
    let visits_mut = fields.iter().map(|f| quote!(self.#f.visit_mut(f);));

    let output_expr = output_of(model);
    let derives = standard_derives(attrs);
    let ws_doc = format!("Work buffers of [`{name}`]'s batch forward and backward passes.");
    quote! {
        #(#attrs)*
        #derives
        #vis struct #name {
            #(#field_defs)*
        }

        #[doc = #ws_doc]
        #[derive(::rnn_runtime::__private::Debug, ::rnn_runtime::__private::Default)]
        #vis struct #workspace {
            input: ::rnn_runtime::__private::Vec<f32>,
            #(#buffer_defs)*
        }

        impl #name {
            /// Time steps of one input sample.
            pub const TIMESTEPS: usize = #steps;
            /// Features per time step.
            pub const FEATURES: usize = #features;
            /// Width of the output.
            pub const OUTPUTS: usize = #outputs;
            /// Number of scalar parameters (the same as PyTorch's for this model).
            pub const PARAMS: usize = #params;

            /// A new model, initialised deterministically from `seed` with Keras's
            /// defaults (glorot-uniform input kernels, orthogonal recurrent kernels,
            /// zero biases, LSTM forget-gate bias 1).
            pub fn new(seed: u64) -> Self {
                <Self as ::rnn_runtime::Network>::init(seed)
            }

            /// The output for one sample, computed on the stack without allocation.
            pub fn predict_one(&self, x: &[[f32; #features]; #steps]) -> [f32; #outputs] {
                #(#state_inits)*
                for x_t in x.iter() {
                    let h = x_t;
                    #(#steps_one)*
                    let _ = h;
                }
                let y = #last_state.h;
                #(#dense_one)*
                y
            }

            /// The output for every sample of `x` (`[batch, T, F]` → `[batch, OUTPUTS]`).
            pub fn forward<'a>(
                &self,
                x: impl ::rnn_runtime::ndarray::AsArray<'a, f32, ::rnn_runtime::ndarray::Ix3>,
            ) -> ::rnn_runtime::Result<::rnn_runtime::ndarray::Array2<f32>> {
                ::rnn_runtime::forward(self, ::rnn_runtime::__private::Into::into(x))
            }

            /// Predictions for every sample of `x`; the same as [`forward`](Self::forward).
            pub fn predict<'a>(
                &self,
                x: impl ::rnn_runtime::ndarray::AsArray<'a, f32, ::rnn_runtime::ndarray::Ix3>,
            ) -> ::rnn_runtime::Result<::rnn_runtime::ndarray::Array2<f32>> {
                ::rnn_runtime::forward(self, ::rnn_runtime::__private::Into::into(x))
            }

            /// Mean squared error on `(x, y)`.
            pub fn evaluate<'a, 'b>(
                &self,
                x: impl ::rnn_runtime::ndarray::AsArray<'a, f32, ::rnn_runtime::ndarray::Ix3>,
                y: impl ::rnn_runtime::ndarray::AsArray<'b, f32, ::rnn_runtime::ndarray::Ix2>,
            ) -> ::rnn_runtime::Result<f32> {
                ::rnn_runtime::evaluate(
                    self,
                    ::rnn_runtime::__private::Into::into(x),
                    ::rnn_runtime::__private::Into::into(y),
                )
            }

            /// MSE of the batch `(x, y)` and its gradient for every parameter.
            pub fn loss_and_grads<'a, 'b>(
                &self,
                x: impl ::rnn_runtime::ndarray::AsArray<'a, f32, ::rnn_runtime::ndarray::Ix3>,
                y: impl ::rnn_runtime::ndarray::AsArray<'b, f32, ::rnn_runtime::ndarray::Ix2>,
            ) -> ::rnn_runtime::Result<(f32, ::rnn_runtime::Grads)> {
                ::rnn_runtime::loss_and_grads(
                    self,
                    ::rnn_runtime::__private::Into::into(x),
                    ::rnn_runtime::__private::Into::into(y),
                )
            }

            /// Trains on `(x, y)` with MSE; returns the per-epoch losses.
            pub fn fit<'a, 'b, O: ::rnn_runtime::Optimizer>(
                &mut self,
                x: impl ::rnn_runtime::ndarray::AsArray<'a, f32, ::rnn_runtime::ndarray::Ix3>,
                y: impl ::rnn_runtime::ndarray::AsArray<'b, f32, ::rnn_runtime::ndarray::Ix2>,
                options: ::rnn_runtime::Fit<O>,
            ) -> ::rnn_runtime::Result<::rnn_runtime::History> {
                ::rnn_runtime::fit(
                    self,
                    ::rnn_runtime::__private::Into::into(x),
                    ::rnn_runtime::__private::Into::into(y),
                    options,
                )
            }

            /// Writes every parameter to a safetensors file (atomically).
            pub fn save_safetensors(
                &self,
                path: impl ::rnn_runtime::__private::AsRef<::rnn_runtime::__private::Path>,
            ) -> ::rnn_runtime::Result<()> {
                ::rnn_runtime::save_params(self, path)
            }

            /// Reads every parameter from a safetensors file; on error nothing changes.
            pub fn load_safetensors(
                &mut self,
                path: impl ::rnn_runtime::__private::AsRef<::rnn_runtime::__private::Path>,
            ) -> ::rnn_runtime::Result<()> {
                ::rnn_runtime::load_params(self, path)
            }
        }

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

        impl ::rnn_runtime::Network for #name {
            const TIMESTEPS: usize = #steps;
            const FEATURES: usize = #features;
            const OUTPUTS: usize = #outputs;
            type Workspace = #workspace;

            fn init(seed: u64) -> Self {
                let mut rng = ::rnn_runtime::rng::Rng::new(seed);
                #name { #(#inits)* }
            }

            fn forward_batch<'w>(&self, x: &[f32], batch: usize, ws: &'w mut #workspace) -> &'w [f32] {
                ::rnn_runtime::__private::to_time_major(x, batch, #steps, #features, &mut ws.input);
                #(#forward_calls)*
                #output_expr
            }

            fn backward_batch(&self, d_out: &[f32], ws: &mut #workspace, grads: &mut [f32]) {
                #(#splits)*
                let _ = grads;
                #(#backward_calls)*
            }
        }
    }
}

/// What a spec with errors still expands to, beside its `compile_error!`s: the struct,
/// its derives and trait impls, and the names of its public API, so that the user's
/// other code does not add a cascade of secondary errors to the real one. `shape` is
/// `(timesteps, features, outputs)` where the spec still tells them: then the consts
/// are true and `predict_one` is typed. Bodies are never run: the crate does not
/// compile.
pub fn fallback(header: &Header, shape: Option<(usize, usize, usize)>) -> TokenStream {
    let Header { attrs, vis, name } = header;
    let derives = standard_derives(attrs);
    let never = quote!(::rnn_runtime::__private::unreachable!());
    let (consts, predict_one) = match shape {
        Some((t, f, out)) => {
            let (t, f, out) = (lit(t), lit(f), lit(out));
            (
                quote!((#t, #f, #out)),
                quote! {
                    pub fn predict_one(&self, x: &[[f32; #f]; #t]) -> [f32; #out] { #never }
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
            pub fn forward<X>(&self, x: X) -> ::rnn_runtime::Result<::rnn_runtime::ndarray::Array2<f32>> {
                #never
            }
            pub fn predict<X>(&self, x: X) -> ::rnn_runtime::Result<::rnn_runtime::ndarray::Array2<f32>> {
                #never
            }
            pub fn evaluate<X, Y>(&self, x: X, y: Y) -> ::rnn_runtime::Result<f32> {
                #never
            }
            pub fn loss_and_grads<X, Y>(&self, x: X, y: Y) -> ::rnn_runtime::Result<(f32, ::rnn_runtime::Grads)> {
                #never
            }
            pub fn fit<X, Y, O>(&mut self, x: X, y: Y, options: ::rnn_runtime::Fit<O>) -> ::rnn_runtime::Result<::rnn_runtime::History> {
                #never
            }
            pub fn save_safetensors<P>(&self, path: P) -> ::rnn_runtime::Result<()> {
                #never
            }
            pub fn load_safetensors<P>(&mut self, path: P) -> ::rnn_runtime::Result<()> {
                #never
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

        #[allow(unused_variables, clippy::all)]
        impl ::rnn_runtime::Network for #name {
            const TIMESTEPS: usize = #consts.0;
            const FEATURES: usize = #consts.1;
            const OUTPUTS: usize = #consts.2;
            type Workspace = ();
            fn init(seed: u64) -> Self {
                #name {}
            }
            fn forward_batch<'w>(&self, x: &[f32], batch: usize, ws: &'w mut ()) -> &'w [f32] {
                #never
            }
            fn backward_batch(&self, d_out: &[f32], ws: &mut (), grads: &mut [f32]) {
                #never
            }
        }
    }
}

//! The single-sample API: `predict_one`, and for models without a bidirectional layer
//! the streaming state machine (`stream`, `NameState`, `NameStream`) and
//! `forward_from`, all on the stack without allocation.
//!
//! A model without a bidirectional layer runs step by step: every layer that sees a
//! sequence advances one time step per input step (the `step` pipeline), and the
//! layers after a last-state-only recurrent layer (the `head`) run once on its state.
//! A bidirectional layer needs the whole sequence before its first output, so such a
//! model runs layer by layer over stack arrays `[[f32; width]; T]` instead.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::{field, lit};
use crate::spec::{Cell, Input, LayerKind, Model};

/// Expands the single-sample API of `model`.
pub fn expand(model: &Model) -> TokenStream {
    let bidirectional = model
        .layers
        .iter()
        .any(|l| matches!(l.kind, LayerKind::Recurrent(r) if r.bidirectional));
    if bidirectional {
        layer_by_layer(model)
    } else {
        step_by_step(model)
    }
}

/// The arrays that the single-sample code of `model` holds on the stack at once, in
/// values (`f32`, or `u32` token ids), each with the layer it belongs to (`None`: the
/// copy of the input). `check` bounds their sum; kept here, beside the code that
/// declares them, so that both change together.
///
/// Layer by layer (a model with a bidirectional layer): the copy of the input `T × F`,
/// every layer's output (`T × width` for a sequence, else `width`) and each recurrent
/// layer's states (`h`, `c` per direction) and gate scratch. Step by step: every
/// recurrent layer's state type (`h`, `c`, gate scratch), one vector per layer, and the
/// `T × OUTPUTS` output of a sequence model. The compiler's copies come on top.
pub fn stack_arrays(model: &Model) -> Vec<(Option<usize>, u128)> {
    let t = model.timesteps as u128;
    let mut arrays = Vec::with_capacity(model.layers.len() + 1);
    let by_layer = model
        .layers
        .iter()
        .any(|l| matches!(l.kind, LayerKind::Recurrent(r) if r.bidirectional));
    if by_layer {
        arrays.push((None, t * model.features() as u128));
    }
    for (i, layer) in model.layers.iter().enumerate() {
        let w = layer.units as u128;
        let (output, state) = match layer.kind {
            LayerKind::Dropout(_) => (0, 0),
            LayerKind::Recurrent(r) => {
                let (h, g) = (r.hidden as u128, (r.cell.gates() * r.hidden) as u128);
                let output = if by_layer && layer.sequence_out {
                    t * w
                } else {
                    w
                };
                let state = match (by_layer, r.cell) {
                    // `SampleState` (h, c) per direction and one step's gates.
                    (true, _) => (if r.bidirectional { 4 * h } else { 2 * h }) + g,
                    (false, Cell::Lstm) => 2 * h + g,
                    (false, Cell::Gru) => h + 2 * g,
                    (false, Cell::SimpleRnn) => 2 * h,
                };
                (output, state)
            }
            _ if by_layer && layer.sequence_out => (t * w, 0),
            _ => (w, 0),
        };
        arrays.push((Some(i), output + state));
    }
    if !by_layer && model.sequence_output() {
        arrays.push((
            model.layers.len().checked_sub(1),
            t * model.outputs() as u128,
        ));
    }
    arrays
}

/// Index of the first layer of the head: after the last recurrent layer when it passes
/// on only its last state, otherwise none (every layer runs per step).
fn head_start(model: &Model) -> usize {
    match model.layers.iter().rposition(|l| l.kind.is_recurrent()) {
        Some(k) if !model.layers[k].sequence_out => k + 1,
        _ => model.layers.len(),
    }
}

/// The single-sample state type of a (unidirectional) recurrent layer.
fn state_type(cell: Cell, hidden: usize) -> TokenStream {
    let h = lit(hidden);
    let g = lit(cell.gates() * hidden);
    match cell {
        Cell::Lstm => quote!(::rnn_runtime::layers::LstmState<#h, #g>),
        Cell::Gru => quote!(::rnn_runtime::layers::GruState<#h, #g>),
        Cell::SimpleRnn => quote!(::rnn_runtime::layers::SimpleRnnState<#h>),
    }
}

/// Statements that carry `v` (the current vector, `[f32; width]`) through layers
/// `range`, one time step; recurrent layers advance `state`.
fn pipeline(model: &Model, range: std::ops::Range<usize>, state: &TokenStream) -> TokenStream {
    range
        .map(|i| {
            let f = field(i);
            match model.layers[i].kind {
                LayerKind::Recurrent(_) => {
                    quote!(let v = *self.#f.step_one(&v, &mut #state.#f);)
                }
                LayerKind::Dense(_) => quote!(let v = self.#f.forward_one(&v);),
                LayerKind::Embedding { .. } => {
                    let d = lit(model.layers[i].units);
                    quote! {
                        let mut e = [0.0f32; #d];
                        self.#f.forward_one(v, &mut e);
                        let v = e;
                    }
                }
                // Inference: dropout is the identity.
                LayerKind::Dropout(_) => TokenStream::new(),
            }
        })
        .collect()
}

fn step_by_step(model: &Model) -> TokenStream {
    let name = &model.header.name;
    let vis = &model.header.vis;
    let state_name = format_ident!("{}State", name);
    let stream_name = format_ident!("{}Stream", name);
    let (steps, outputs) = (lit(model.timesteps), lit(model.outputs()));
    let sequence = model.sequence_output();
    let head = head_start(model);
    let step_width = lit(match head.checked_sub(1) {
        Some(k) => model.layers[k].units,
        None => model.features(),
    });

    let recurrent: Vec<(Ident, TokenStream)> = model
        .layers
        .iter()
        .enumerate()
        .filter_map(|(i, l)| match l.kind {
            LayerKind::Recurrent(r) => Some((field(i), state_type(r.cell, r.hidden))),
            _ => None,
        })
        .collect();
    let state_fields = recurrent.iter().map(|(f, ty)| {
        let doc = format!("State of layer {}.", &f.to_string()[1..]);
        quote!(#[doc = #doc] pub #f: #ty,)
    });
    let state_inits = recurrent.iter().map(|(f, ty)| quote!(#f: <#ty>::new(),));

    let self_state = quote!(state);
    let step_body = pipeline(model, 0..head, &self_state);
    let head_body = pipeline(model, head..model.layers.len(), &self_state);
    let (x_step, x_sample, tokens) = match model.input {
        Input::Features(f) => {
            let f = lit(f);
            (quote!(&[f32; #f]), quote!(&[[f32; #f]; #steps]), false)
        }
        Input::Tokens => (quote!(u32), quote!(&[u32; #steps]), true),
    };
    let first = if tokens {
        quote!(let v = x;)
    } else {
        quote!(let v = *x;)
    };
    let y = if sequence {
        quote!([[f32; #outputs]; #steps])
    } else {
        quote!([f32; #outputs])
    };
    let vocab = lit(match model.layers[0].kind {
        LayerKind::Embedding { vocab } => vocab,
        _ => 0,
    });

    let arg = if tokens { quote!(*x_t) } else { quote!(x_t) };
    let run_all = if sequence {
        quote! {
            let mut out = [[0.0f32; #outputs]; #steps];
            for (o, x_t) in ::rnn_runtime::__private::Iterator::zip(out.iter_mut(), x.iter()) {
                let v = self.__step(&mut state, #arg);
                *o = self.__head(&v);
            }
            out
        }
    } else {
        // Only the state matters until the last step: the last recurrent layer's
        // hidden state is the head's input.
        let last = field(head - 1);
        quote! {
            for x_t in x.iter() {
                let _ = self.__step(&mut state, #arg);
            }
            self.__head(&state.#last.h)
        }
    };
    let (predict_ret, predict_body, predict_doc) = if tokens {
        (
            quote!(::rnn_runtime::Result<#y>),
            quote! {
                ::rnn_runtime::layers::check_ids(x, #steps, #vocab)?;
                let mut state = #state_name::new();
                ::rnn_runtime::__private::Ok({ #run_all })
            },
            "The output for one sample of token ids, computed on the stack without \
             allocation; an id outside the vocabulary is an error.",
        )
    } else {
        (
            y.clone(),
            quote! {
                let mut state = #state_name::new();
                #run_all
            },
            "The output for one sample, computed on the stack without allocation.",
        )
    };
    let x_elem_arg = if tokens {
        quote!(x: u32)
    } else {
        quote!(x: #x_step)
    };

    let push = if tokens {
        quote! {
            /// Feeds the next token id; returns the model's output at this step (for a
            /// model with a last-state output: the output if the sequence ended here).
            /// An id outside the vocabulary is an error and changes nothing.
            pub fn push(&mut self, x: u32) -> ::rnn_runtime::Result<[f32; #outputs]> {
                ::rnn_runtime::layers::check_ids(&[x], 1, #vocab).map_err(|_| {
                    ::rnn_runtime::Error::TokenOutOfRange { sample: 0, step: self.steps, id: x, vocab: #vocab }
                })?;
                let v = self.model.__step(&mut self.state, x);
                self.steps += 1;
                ::rnn_runtime::__private::Ok(self.model.__head(&v))
            }
        }
    } else {
        quote! {
            /// Feeds the next time step; returns the model's output at this step (for a
            /// model with a last-state output: the output if the sequence ended here).
            pub fn push(&mut self, x: #x_step) -> [f32; #outputs] {
                let v = self.model.__step(&mut self.state, x);
                self.steps += 1;
                self.model.__head(&v)
            }
        }
    };

    let (x_elem, x_dim) = super::input_types(model);
    let y_dim = super::output_dim(sequence);
    let features = lit(model.features());
    let per_sample = if tokens {
        quote! {
            for (o, x_t) in ::rnn_runtime::__private::Iterator::zip(out.chunks_exact_mut(#outputs), x.iter()) {
                let v = self.__step(state, *x_t);
                o.copy_from_slice(&self.__head(&v));
            }
        }
    } else {
        quote! {
            let (x, _) = x.as_chunks::<#features>();
            for (o, x_t) in ::rnn_runtime::__private::Iterator::zip(out.chunks_exact_mut(#outputs), x.iter()) {
                let v = self.__step(state, x_t);
                o.copy_from_slice(&self.__head(&v));
            }
        }
    };
    let per_sample = if sequence {
        per_sample
    } else if tokens {
        quote! {
            let mut v = [0.0f32; #step_width];
            for x_t in x.iter() {
                v = self.__step(state, *x_t);
            }
            out.copy_from_slice(&self.__head(&v));
        }
    } else {
        quote! {
            let (x, _) = x.as_chunks::<#features>();
            let mut v = [0.0f32; #step_width];
            for x_t in x.iter() {
                v = self.__step(state, x_t);
            }
            out.copy_from_slice(&self.__head(&v));
        }
    };
    let state_doc = format!(
        "Recurrent state of one sample of [`{name}`]: what [`{name}::stream`] carries from \
         step to step, and what [`{name}::forward_from`] starts from and returns. The \
         fields are public (`h`, and `c` for an LSTM) to set or read a state."
    );
    let stream_doc = format!(
        "Streaming inference with [`{name}`]: one time step per [`push`]({stream_name}::push), \
         hidden state carried across calls, no allocation. After pushing a whole sample \
         the outputs equal [`{name}::forward`]'s."
    );

    quote! {
        #[doc = #state_doc]
        #[derive(::rnn_runtime::__private::Clone, ::rnn_runtime::__private::Debug)]
        #vis struct #state_name {
            #(#state_fields)*
        }

        impl #state_name {
            /// The zero state every sequence starts from.
            pub const fn new() -> Self {
                #state_name { #(#state_inits)* }
            }
        }

        impl ::rnn_runtime::__private::Default for #state_name {
            fn default() -> Self {
                Self::new()
            }
        }

        #[doc = #stream_doc]
        #[derive(::rnn_runtime::__private::Clone, ::rnn_runtime::__private::Debug)]
        #vis struct #stream_name<'m> {
            model: &'m #name,
            state: #state_name,
            steps: usize,
        }

        impl #stream_name<'_> {
            #push

            /// The state after the steps pushed so far.
            pub fn state(&self) -> &#state_name {
                &self.state
            }

            /// The state after the steps pushed so far, to resume later with
            /// [`stream_from`](#name::stream_from).
            pub fn into_state(self) -> #state_name {
                self.state
            }

            /// Steps pushed since the stream started or was reset.
            pub fn steps(&self) -> usize {
                self.steps
            }

            /// Back to the zero state, as for a new sequence.
            pub fn reset(&mut self) {
                self.state = #state_name::new();
                self.steps = 0;
            }
        }

        impl #name {
            #[doc = #predict_doc]
            pub fn predict_one(&self, x: #x_sample) -> #predict_ret {
                #predict_body
            }

            /// A stream starting from the zero state.
            pub fn stream(&self) -> #stream_name<'_> {
                self.stream_from(#state_name::new())
            }

            /// A stream starting from `state`, e.g. one returned by
            /// [`forward_from`](Self::forward_from) or [`into_state`](#stream_name::into_state).
            pub fn stream_from(&self, state: #state_name) -> #stream_name<'_> {
                #stream_name { model: self, state, steps: 0 }
            }

            ::rnn_runtime::__if_std! {
            /// Forward pass from given initial states, one per sample (PyTorch's
            /// `(h0, c0)`), returning the outputs and each sample's final state.
            /// Runs the single-sample path for every sample, in parallel.
            pub fn forward_from<'a>(
                &self,
                x: impl ::rnn_runtime::ndarray::AsArray<'a, #x_elem, #x_dim>,
                states: &[#state_name],
            ) -> ::rnn_runtime::Result<(
                ::rnn_runtime::ndarray::Array<f32, #y_dim>,
                ::rnn_runtime::__private::Vec<#state_name>,
            )> {
                let x: ::rnn_runtime::ndarray::ArrayView<'a, #x_elem, #x_dim> =
                    ::rnn_runtime::__private::Into::into(x);
                let (out, states) = ::rnn_runtime::network::forward_from_states::<Self, _, _>(
                    x.into_dyn(),
                    states,
                    |x: &[#x_elem], state: &mut #state_name, out: &mut [f32]| {
                        #per_sample
                    },
                )?;
                ::rnn_runtime::__private::Ok((::rnn_runtime::network::typed(out)?, states))
            }
            }

            #[doc(hidden)]
            #[inline(always)]
            fn __step(&self, state: &mut #state_name, #x_elem_arg) -> [f32; #step_width] {
                #first
                #step_body
                v
            }

            #[doc(hidden)]
            #[inline(always)]
            fn __head(&self, v: &[f32; #step_width]) -> [f32; #outputs] {
                let v = *v;
                #head_body
                v
            }
        }
    }
}

/// `predict_one` of a model with a bidirectional layer: layer by layer over stack
/// arrays of the whole sequence.
fn layer_by_layer(model: &Model) -> TokenStream {
    let name = &model.header.name;
    let (steps, outputs) = (lit(model.timesteps), lit(model.outputs()));
    let sequence = model.sequence_output();
    let tokens = model.input == Input::Tokens;
    let mut body = TokenStream::new();
    // `a` holds the current activations: `[[f32; width]; T]`, or `[f32; width]` once a
    // recurrent layer has passed on only its last state.
    let mut is_sequence = true;
    body.extend(quote!(let a = *x;));
    for (i, layer) in model.layers.iter().enumerate() {
        let f = field(i);
        let w = lit(layer.units);
        body.extend(match layer.kind {
            LayerKind::Embedding { .. } => quote! {
                let mut e = [[0.0f32; #w]; #steps];
                for (e_t, id) in ::rnn_runtime::__private::Iterator::zip(e.iter_mut(), a.iter()) {
                    self.#f.forward_one(*id, e_t);
                }
                let a = e;
            },
            LayerKind::Recurrent(r) if r.bidirectional && layer.sequence_out => quote! {
                let mut h = [[0.0f32; #w]; #steps];
                self.#f.forward_one_seq(&a, &mut h);
                let a = h;
            },
            LayerKind::Recurrent(r) if r.bidirectional => quote! {
                let a: [f32; #w] = self.#f.forward_one_last(&a);
            },
            LayerKind::Recurrent(_) if layer.sequence_out => quote! {
                let mut h = [[0.0f32; #w]; #steps];
                ::rnn_runtime::layers::RecurrentLayer::forward_one_seq(&self.#f, &a, &mut h);
                let a = h;
            },
            LayerKind::Recurrent(_) => quote! {
                let mut s = ::rnn_runtime::layers::SampleState::<#w>::new();
                let mut h = [0.0f32; #w];
                for a_t in a.iter() {
                    h = *::rnn_runtime::layers::RecurrentLayer::step_sample(&self.#f, a_t, &mut s);
                }
                let a = h;
            },
            LayerKind::Dense(_) if is_sequence => quote! {
                let mut d = [[0.0f32; #w]; #steps];
                for (d_t, a_t) in ::rnn_runtime::__private::Iterator::zip(d.iter_mut(), a.iter()) {
                    *d_t = self.#f.forward_one(a_t);
                }
                let a = d;
            },
            LayerKind::Dense(_) => quote!(let a = self.#f.forward_one(&a);),
            LayerKind::Dropout(_) => TokenStream::new(),
        });
        is_sequence = layer.sequence_out;
    }
    let y = if sequence {
        quote!([[f32; #outputs]; #steps])
    } else {
        quote!([f32; #outputs])
    };
    let x_sample = match model.input {
        Input::Features(f) => {
            let f = lit(f);
            quote!(&[[f32; #f]; #steps])
        }
        Input::Tokens => quote!(&[u32; #steps]),
    };
    if tokens {
        let vocab = lit(match model.layers[0].kind {
            LayerKind::Embedding { vocab } => vocab,
            _ => 0,
        });
        quote! {
            impl #name {
                /// The output for one sample of token ids, computed on the stack without
                /// allocation (the whole sequence of each layer is held on the stack); an
                /// id outside the vocabulary is an error.
                pub fn predict_one(&self, x: #x_sample) -> ::rnn_runtime::Result<#y> {
                    ::rnn_runtime::layers::check_ids(x, #steps, #vocab)?;
                    #body
                    ::rnn_runtime::__private::Ok(a)
                }
            }
        }
    } else {
        quote! {
            impl #name {
                /// The output for one sample, computed on the stack without allocation
                /// (the whole sequence of each layer is held on the stack).
                pub fn predict_one(&self, x: #x_sample) -> #y {
                    #body
                    a
                }
            }
        }
    }
}

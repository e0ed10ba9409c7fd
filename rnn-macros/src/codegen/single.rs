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

use super::api::{self, Method};
use super::{field, lit};
use crate::spec::{Cell, CellActivation, Input, LayerKind, Model, Padding};

/// The types of the single-sample API of a model that streams: `NameState` and
/// `NameStream`, and the private step functions its methods share.
pub fn types(model: &Model) -> TokenStream {
    let padding = padding_helper(model);
    if !model.streams() {
        return padding;
    }
    let parts = StepByStep::new(model);
    let name = &model.header.name;
    let state_fields = parts.recurrent.iter().map(|(f, ty)| {
        let doc = format!("State of layer {}.", &f.to_string()[1..]);
        quote!(#[doc = #doc] pub #f: #ty,)
    });
    let stream_name = format_ident!("{}Stream", name);
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
    let types = api::streaming_types(
        &model.header,
        quote!(#[doc = #state_doc]),
        quote!(#(#state_fields)*),
        quote!(#[doc = #stream_doc]),
    );
    let helpers = parts.helpers();
    quote!(#padding #types #helpers)
}

/// `__is_padding(x_t)`: whether one input step is padding, for a model that reads its
/// lengths from the padding (`masking(value)`, `mask_zero`); nothing for other models.
fn padding_helper(model: &Model) -> TokenStream {
    let name = &model.header.name;
    let body = match model.padding() {
        None => return TokenStream::new(),
        Some(Padding::ZeroId) => quote!(
            fn __is_padding(x: u32) -> bool {
                x == 0
            }
        ),
        Some(Padding::Value(v)) => {
            let (f, v) = (lit(model.features()), super::signed_f32(v));
            quote! {
                fn __is_padding(x: &[f32; #f]) -> bool {
                    ::rnn_runtime::__private::Iterator::all(&mut x.iter(), |&v| v == #v)
                }
            }
        }
    };
    quote! {
        impl #name {
            #[doc(hidden)]
            #[inline(always)]
            #body
        }
    }
}

/// `if Self::__is_padding(x_t) { #then }` for a padded model, nothing otherwise: the
/// single-sample paths skip a padded step as Keras's masks do, keeping the state.
fn skip_padding(model: &Model, x_t: TokenStream, then: TokenStream) -> TokenStream {
    if model.padding().is_none() {
        return TokenStream::new();
    }
    let name = &model.header.name;
    quote!(if #name::__is_padding(#x_t) { #then })
}

/// Documentation and body of a method of the single-sample API.
pub fn item(model: &Model, method: Method) -> (TokenStream, TokenStream) {
    if model.streams() {
        StepByStep::new(model).item(method)
    } else {
        match method {
            Method::PredictOne => layer_by_layer(model),
            other => unreachable!("`{}` of a model that does not stream", other.name()),
        }
    }
}

/// Index of the first layer of the head: after the last recurrent layer when it passes
/// on only its last state, otherwise none (every layer runs per step).
pub(super) fn head_start(model: &Model) -> usize {
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
pub(super) fn pipeline(
    model: &Model,
    range: std::ops::Range<usize>,
    state: &TokenStream,
) -> TokenStream {
    range
        .map(|i| {
            let f = field(i);
            match model.layers[i].kind {
                LayerKind::Recurrent(r) => {
                    // Whether the cell runs its default activations, as a constant, so
                    // that only that element-wise path is linked.
                    let default = r.activation == CellActivation::Tanh
                        && (r.cell == Cell::SimpleRnn
                            || r.recurrent_activation == CellActivation::Sigmoid);
                    if r.cell == Cell::SimpleRnn {
                        quote!(let v = *self.#f.step_one_as::<#default>(&v, &mut #state.#f);)
                    } else {
                        quote!(let v = *self.#f.step_one_as::<#default, _>(&v, &mut #state.#f);)
                    }
                }
                LayerKind::Dense(a) => {
                    let a = super::layers::fixed_activation(a);
                    quote!(let v = self.#f.forward_one_as::<#a>(&v);)
                }
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

/// The pieces of the single-sample API of a model that runs step by step.
struct StepByStep<'m> {
    model: &'m Model,
    state_name: Ident,
    stream_name: Ident,
    recurrent: Vec<(Ident, TokenStream)>,
    step_width: TokenStream,
    tokens: bool,
}

impl<'m> StepByStep<'m> {
    fn new(model: &'m Model) -> Self {
        let name = &model.header.name;
        let head = head_start(model);
        let step_width = lit(match head.checked_sub(1) {
            Some(k) => model.layers[k].units,
            None => model.features(),
        });
        let recurrent = model
            .layers
            .iter()
            .enumerate()
            .filter_map(|(i, l)| match l.kind {
                LayerKind::Recurrent(r) => Some((field(i), state_type(r.cell, r.hidden))),
                _ => None,
            })
            .collect();
        StepByStep {
            model,
            state_name: format_ident!("{}State", name),
            stream_name: format_ident!("{}Stream", name),
            recurrent,
            step_width: quote!(#step_width),
            tokens: model.input == Input::Tokens,
        }
    }

    /// `__step` (one time step through the layers that see a sequence) and `__head`
    /// (the layers after the last recurrent layer's last state).
    fn helpers(&self) -> TokenStream {
        let model = self.model;
        let name = &model.header.name;
        let (state_name, step_width) = (&self.state_name, &self.step_width);
        let outputs = lit(model.outputs());
        let head = head_start(model);
        let self_state = quote!(state);
        let step_body = pipeline(model, 0..head, &self_state);
        let head_body = pipeline(model, head..model.layers.len(), &self_state);
        let first = if self.tokens {
            quote!(let v = x;)
        } else {
            quote!(let v = *x;)
        };
        let x_arg = if self.tokens {
            quote!(x: u32)
        } else {
            let f = lit(model.features());
            quote!(x: &[f32; #f])
        };
        let (mut to_values, mut from_values, mut offset) =
            (TokenStream::new(), TokenStream::new(), 0);
        for (i, layer) in model.layers.iter().enumerate() {
            let LayerKind::Recurrent(r) = layer.kind else {
                continue;
            };
            let f = field(i);
            let parts: &[TokenStream] = if r.cell == Cell::Lstm {
                &[quote!(h), quote!(c)]
            } else {
                &[quote!(h)]
            };
            for part in parts {
                let (at, end) = (lit(offset), lit(offset + r.hidden));
                to_values.extend(quote!(out[#at..#end].copy_from_slice(&self.#f.#part);));
                from_values.extend(quote!(state.#f.#part.copy_from_slice(&values[#at..#end]);));
                offset += r.hidden;
            }
        }
        quote! {
            impl #state_name {
                /// The state's values in the order of `Network::STATE_VALUES`.
                #[doc(hidden)]
                pub fn __to_values(&self, out: &mut [f32]) {
                    #to_values
                }

                /// The state with the values of `Network::STATE_VALUES`' order.
                #[doc(hidden)]
                pub fn __from_values(values: &[f32]) -> Self {
                    let mut state = Self::new();
                    #from_values
                    state
                }
            }

            impl #name {
                #[doc(hidden)]
                #[inline(always)]
                fn __step(&self, state: &mut #state_name, #x_arg) -> [f32; #step_width] {
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

    fn item(&self, method: Method) -> (TokenStream, TokenStream) {
        let model = self.model;
        let name = &model.header.name;
        let (state_name, stream_name) = (&self.state_name, &self.stream_name);
        let (steps, outputs) = (lit(model.timesteps), lit(model.outputs()));
        let sequence = model.sequence_output();
        let tokens = self.tokens;
        let vocab = lit(model.vocab());
        let doc = |text: &str| quote!(#[doc = #text]);
        match method {
            Method::PredictOne => {
                let head = head_start(model);
                let arg = if tokens { quote!(*x_t) } else { quote!(x_t) };
                let skip = skip_padding(model, arg.clone(), quote!(continue;));
                let run_all = if sequence {
                    quote! {
                        let mut out = [[0.0f32; #outputs]; #steps];
                        for (o, x_t) in ::rnn_runtime::__private::Iterator::zip(out.iter_mut(), x.iter()) {
                            #skip
                            let v = self.__step(&mut state, #arg);
                            *o = self.__head(&v);
                        }
                        out
                    }
                } else {
                    // Only the state matters until the last step: the last recurrent
                    // layer's hidden state is the head's input.
                    let last = field(head - 1);
                    quote! {
                        for x_t in x.iter() {
                            #skip
                            let _ = self.__step(&mut state, #arg);
                        }
                        self.__head(&state.#last.h)
                    }
                };
                if tokens {
                    (
                        doc(
                            "The output for one sample of token ids, computed on the stack \
                             without allocation; an id outside the vocabulary is an error.",
                        ),
                        quote! {{
                            ::rnn_runtime::__private::check_ids(x, #steps, #vocab)?;
                            let mut state = #state_name::new();
                            ::rnn_runtime::__private::Ok({ #run_all })
                        }},
                    )
                } else {
                    (
                        doc("The output for one sample, computed on the stack without allocation."),
                        quote! {{
                            let mut state = #state_name::new();
                            #run_all
                        }},
                    )
                }
            }
            Method::Stream => (
                doc("A stream starting from the zero state."),
                quote!({ self.stream_from(#state_name::new()) }),
            ),
            Method::StreamFrom => (
                doc(&format!(
                    "A stream starting from `state`, e.g. one returned by \
                     [`forward_from`](Self::forward_from) or \
                     [`into_state`]({stream_name}::into_state)."
                )),
                quote!({ #stream_name { model: self, state, steps: 0 } }),
            ),
            Method::ForwardFrom => {
                let (x_elem, x_dim) = super::input_types(model);
                let features = lit(model.features());
                let step_width = &self.step_width;
                // Each step's input: a token id, or the step's row of `F` features.
                let (chunks, arg) = if tokens {
                    (TokenStream::new(), quote!(*x_t))
                } else {
                    (
                        quote!(let (x, _) = x.as_chunks::<#features>();),
                        quote!(x_t),
                    )
                };
                let per_sample = if sequence {
                    let skip = skip_padding(model, arg.clone(), quote!(o.fill(0.0); continue;));
                    quote! {
                        #chunks
                        for (o, x_t) in ::rnn_runtime::__private::Iterator::zip(out.chunks_exact_mut(#outputs), x.iter()) {
                            #skip
                            let v = self.__step(state, #arg);
                            o.copy_from_slice(&self.__head(&v));
                        }
                    }
                } else if model.padding().is_some() {
                    // The head reads the last state that a valid step left.
                    let last = field(head_start(model) - 1);
                    let skip = skip_padding(model, arg.clone(), quote!(continue;));
                    quote! {
                        #chunks
                        for x_t in x.iter() {
                            #skip
                            let _ = self.__step(state, #arg);
                        }
                        out.copy_from_slice(&self.__head(&state.#last.h));
                    }
                } else {
                    quote! {
                        #chunks
                        let mut v = [0.0f32; #step_width];
                        for x_t in x.iter() {
                            v = self.__step(state, #arg);
                        }
                        out.copy_from_slice(&self.__head(&v));
                    }
                };
                (
                    quote! {
                        /// Forward pass from given initial states, one per sample (PyTorch's
                        /// `(h0, c0)`), returning the outputs and each sample's final state.
                        /// Runs the single-sample path for every sample, in parallel.
                    },
                    quote! {{
                        let x: ::rnn_runtime::ndarray::ArrayView<'a, #x_elem, #x_dim> =
                            ::rnn_runtime::__private::Into::into(x);
                        let (out, states) = ::rnn_runtime::__private::forward_from_states::<Self, _, _>(
                            x.into_dyn(),
                            states,
                            |x: &[#x_elem], state: &mut #state_name, out: &mut [f32]| {
                                #per_sample
                            },
                        )?;
                        ::rnn_runtime::__private::Ok((::rnn_runtime::__private::typed(out)?, states))
                    }},
                )
            }
            Method::LossAndGradsFrom => {
                let (x_elem, x_dim) = super::input_types(model);
                (
                    quote! {
                        /// One chunk of truncated BPTT (PyTorch's loop that detaches the state
                        /// between chunks): the model's loss on `(x, y)` run from one initial
                        /// state per sample, its gradient for every parameter (none flows into
                        /// the given states), and each sample's state after the chunk, to pass
                        /// to the next one. Dropout masks are drawn from `dropout_seed`. See
                        /// [`rnn_runtime::loss_and_grads_from`].
                    },
                    quote! {{
                        let x: ::rnn_runtime::ndarray::ArrayView<'a, #x_elem, #x_dim> = ::rnn_runtime::__private::Into::into(x);
                        let y: ::rnn_runtime::ndarray::ArrayView<'b, f32, D> = ::rnn_runtime::__private::Into::into(y);
                        let width = <Self as ::rnn_runtime::Network>::STATE_VALUES;
                        let mut values = ::rnn_runtime::__private::vec![0.0f32; states.len() * width];
                        for (state, out) in ::rnn_runtime::__private::Iterator::zip(states.iter(), values.chunks_exact_mut(width)) {
                            state.__to_values(out);
                        }
                        let loss = ::rnn_runtime::model_loss::<Self>()?;
                        let (value, grads, finals) = ::rnn_runtime::loss_and_grads_from(
                            self, x.into_dyn(), y.into_dyn(), ::rnn_runtime::__private::None, &values, loss, dropout_seed,
                        )?;
                        let finals = ::rnn_runtime::__private::Iterator::collect(
                            ::rnn_runtime::__private::Iterator::map(finals.chunks_exact(width), #state_name::__from_values),
                        );
                        ::rnn_runtime::__private::Ok((value, grads, finals))
                    }},
                )
            }
            Method::PredictSeries => {
                let (x_elem, x_dim) = super::input_types(model);
                (
                    quote! {
                        /// The outputs over series of any length (`x` with any number of steps):
                        /// cut into chunks of the model's steps with each sample's state carried
                        /// from chunk to chunk, as the stream pushed step by step; a sequence
                        /// output has one row per step of the series. See
                        /// [`rnn_runtime::predict_series`].
                    },
                    quote! {{
                        let x: ::rnn_runtime::ndarray::ArrayView<'a, #x_elem, #x_dim> = ::rnn_runtime::__private::Into::into(x);
                        ::rnn_runtime::__private::typed(::rnn_runtime::predict_series(self, x.into_dyn())?)
                    }},
                )
            }
            Method::FitSeries => {
                let (x_elem, x_dim) = super::input_types(model);
                (
                    quote! {
                        /// Trains on series longer than the model's steps by truncated BPTT:
                        /// one optimiser step per chunk, each series' state carried (detached)
                        /// from chunk to chunk and reset at the start of its series each epoch
                        /// (Keras's `stateful=True`). See [`rnn_runtime::fit_series`].
                    },
                    quote! {{
                        let x: ::rnn_runtime::ndarray::ArrayView<'a, #x_elem, #x_dim> = ::rnn_runtime::__private::Into::into(x);
                        let y: ::rnn_runtime::ndarray::ArrayView<'b, f32, D> = ::rnn_runtime::__private::Into::into(y);
                        ::rnn_runtime::fit_series(self, x.into_dyn(), y.into_dyn(), options)
                    }},
                )
            }
            Method::StateNew => {
                let inits = self
                    .recurrent
                    .iter()
                    .map(|(f, ty)| quote!(#f: <#ty>::new(),));
                (
                    doc("The zero state every sequence starts from."),
                    quote!({ #state_name { #(#inits)* } }),
                )
            }
            Method::Push => {
                // A padded step keeps the state; the output is what it would be had
                // the sequence ended at the last valid step (0 for a sequence output).
                let padded_output = if sequence {
                    quote!([0.0f32; #outputs])
                } else {
                    let last = field(head_start(model) - 1);
                    quote!(self.model.__head(&self.state.#last.h))
                };
                let push_padding = skip_padding(
                    model,
                    quote!(x),
                    quote!(self.steps += 1; return #padded_output;),
                );
                let push_padding_tokens = skip_padding(
                    model,
                    quote!(x),
                    quote!(self.steps += 1; return ::rnn_runtime::__private::Ok(#padded_output);),
                );
                if tokens {
                    (
                        quote! {
                            /// Feeds the next token id; returns the model's output at this step (for a
                            /// model with a last-state output: the output if the sequence ended here).
                            /// An id outside the vocabulary is an error and changes nothing.
                        },
                        quote! {{
                            ::rnn_runtime::__private::check_ids(&[x], 1, #vocab).map_err(|_| {
                                ::rnn_runtime::Error::TokenOutOfRange { sample: 0, step: self.steps, id: x, vocab: #vocab }
                            })?;
                            #push_padding_tokens
                            let v = self.model.__step(&mut self.state, x);
                            self.steps += 1;
                            ::rnn_runtime::__private::Ok(self.model.__head(&v))
                        }},
                    )
                } else {
                    (
                        quote! {
                            /// Feeds the next time step; returns the model's output at this step (for a
                            /// model with a last-state output: the output if the sequence ended here).
                        },
                        quote! {{
                            #push_padding
                            let v = self.model.__step(&mut self.state, x);
                            self.steps += 1;
                            self.model.__head(&v)
                        }},
                    )
                }
            }
            Method::StreamState => (
                doc("The state after the steps pushed so far."),
                quote!({ &self.state }),
            ),
            Method::IntoState => (
                doc(&format!(
                    "The state after the steps pushed so far, to resume later with \
                     [`stream_from`]({name}::stream_from)."
                )),
                quote!({ self.state }),
            ),
            Method::Steps => (
                doc("Steps pushed since the stream started or was reset."),
                quote!({ self.steps }),
            ),
            Method::Reset => (
                doc("Back to the zero state, as for a new sequence."),
                quote!({
                    self.state = #state_name::new();
                    self.steps = 0;
                }),
            ),
            other => unreachable!("`{}` is not part of the single-sample API", other.name()),
        }
    }
}

/// `predict_one` of a model with a bidirectional layer: layer by layer over stack
/// arrays of the whole sequence.
fn layer_by_layer(model: &Model) -> (TokenStream, TokenStream) {
    let steps = lit(model.timesteps);
    let tokens = model.input == Input::Tokens;
    let mut body = TokenStream::new();
    // `a` holds the current activations: `[[f32; width]; T]`, or `[f32; width]` once a
    // recurrent layer has passed on only its last state.
    let mut is_sequence = true;
    let padded = model.padding().is_some();
    if padded {
        // Only the valid steps run, moved to the front (`n` of them); `at` says where
        // each came from, for a sequence output.
        let step = if tokens { quote!(x[t]) } else { quote!(&x[t]) };
        let name = &model.header.name;
        body.extend(quote! {
            let (a, at, n) = {
                let mut a = *x;
                let mut at = [0usize; #steps];
                let mut n = 0usize;
                for t in 0..#steps {
                    if !#name::__is_padding(#step) {
                        a[n] = x[t];
                        at[n] = t;
                        n += 1;
                    }
                }
                (a, at, n)
            };
        });
    } else {
        body.extend(quote!(let a = *x;));
    }
    let len = if padded { quote!(n) } else { quote!(#steps) };
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
            LayerKind::Recurrent(r) if r.bidirectional && layer.sequence_out && padded => quote! {
                let mut h = [[0.0f32; #w]; #steps];
                self.#f.forward_one_seq_len(&a, n, &mut h);
                let a = h;
            },
            LayerKind::Recurrent(r) if r.bidirectional && padded => quote! {
                let a: [f32; #w] = self.#f.forward_one_last_len(&a, n);
            },
            LayerKind::Recurrent(_) if layer.sequence_out && padded => quote! {
                let mut h = [[0.0f32; #w]; #steps];
                ::rnn_runtime::layers::RecurrentLayer::forward_one_seq_len(&self.#f, &a, n, &mut h);
                let a = h;
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
                for a_t in a.iter().take(#len) {
                    h = *::rnn_runtime::layers::RecurrentLayer::step_sample(&self.#f, a_t, &mut s);
                }
                let a = h;
            },
            LayerKind::Dense(act) if is_sequence => {
                let act = super::layers::fixed_activation(act);
                quote! {
                    let mut d = [[0.0f32; #w]; #steps];
                    for (d_t, a_t) in ::rnn_runtime::__private::Iterator::zip(d.iter_mut(), a.iter()) {
                        *d_t = self.#f.forward_one_as::<#act>(a_t);
                    }
                    let a = d;
                }
            }
            LayerKind::Dense(act) => {
                let act = super::layers::fixed_activation(act);
                quote!(let a = self.#f.forward_one_as::<#act>(&a);)
            }
            LayerKind::Dropout(_) => TokenStream::new(),
        });
        is_sequence = layer.sequence_out;
    }
    if padded && model.sequence_output() {
        // Each valid step's output back where the step was; 0 at padded steps.
        let o = lit(model.outputs());
        body.extend(quote! {
            let a = {
                let mut out = [[0.0f32; #o]; #steps];
                for k in 0..n {
                    out[at[k]] = a[k];
                }
                out
            };
        });
    } else if padded {
        body.extend(quote!(let _ = at;));
    }
    if tokens {
        let vocab = lit(model.vocab());
        (
            quote! {
                /// The output for one sample of token ids, computed on the stack without
                /// allocation (the whole sequence of each layer is held on the stack); an
                /// id outside the vocabulary is an error.
            },
            quote! {{
                ::rnn_runtime::__private::check_ids(x, #steps, #vocab)?;
                #body
                ::rnn_runtime::__private::Ok(a)
            }},
        )
    } else {
        (
            quote! {
                /// The output for one sample, computed on the stack without allocation
                /// (the whole sequence of each layer is held on the stack).
            },
            quote! {{
                #body
                a
            }},
        )
    }
}

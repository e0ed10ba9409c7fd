//! The batch compute of a model: its workspace type and its `Network` impl
//! (`forward_batch`, `backward_batch`), one runtime call per layer.
//!
//! Every layer's output (and, backward, the gradient at its output) is bound to a
//! local, so each call names its input and the expansion grows linearly with the
//! number of layers.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::layers::{architecture_layer, buffers_type, init_expr, loss_value};
use super::{field, lit, lit_f32};
use crate::spec::{Cell, Input, Layer, LayerKind, Model, Padding, Recurrent};

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

/// The workspace buffer of recurrent layer `i`'s initial `h` or `c` (`s2_h`).
fn state_buffer(i: usize, part: &str) -> Ident {
    format_ident!("s{}_{}", i, part)
}

/// The recurrent layers whose states a model carries, with their parts: `(layer, units,
/// has c)`, in layer order; none for a model with a bidirectional layer.
fn carried_states(model: &Model) -> Vec<(usize, usize, bool)> {
    if !model.streams() {
        return Vec::new();
    }
    model
        .layers
        .iter()
        .enumerate()
        .filter_map(|(i, l)| match l.kind {
            LayerKind::Recurrent(r) => Some((i, r.hidden, r.cell == Cell::Lstm)),
            _ => None,
        })
        .collect()
}

/// The `STATE_VALUES`, `set_initial_states` and `final_states` items of `impl Network`.
fn state_items(model: &Model) -> TokenStream {
    let carried = carried_states(model);
    let values: usize = carried
        .iter()
        .map(|&(_, h, c)| if c { 2 * h } else { h })
        .sum();
    let mut offset = 0;
    let (mut copy_in, mut copy_out) = (TokenStream::new(), TokenStream::new());
    for &(i, h, has_c) in &carried {
        let f = field(i);
        let parts: &[(&str, TokenStream)] = if has_c {
            &[("h", quote!(last_hidden)), ("c", quote!(last_cell))]
        } else {
            &[("h", quote!(last_hidden))]
        };
        for (part, last) in parts {
            let buffer = state_buffer(i, part);
            let (at, width) = (lit(offset), lit(h));
            copy_in.extend(quote! {
                ws.#buffer.clear();
                for s in states.chunks_exact(#values) {
                    ws.#buffer.extend_from_slice(&s[#at..#at + #width]);
                }
            });
            copy_out.extend(quote! {
                for (o, s) in ::rnn_runtime::__private::Iterator::zip(out.chunks_exact_mut(#values), ws.#f.#last().chunks_exact(#width)) {
                    o[#at..#at + #width].copy_from_slice(s);
                }
            });
            offset += h;
        }
    }
    let values_lit = lit(values);
    if carried.is_empty() {
        return quote! {
            const STATE_VALUES: usize = 0;
            fn set_initial_states(ws: &mut Self::Workspace, states: ::rnn_runtime::__private::Option<&[f32]>) {
                let _ = (ws, states);
            }
            fn final_states(ws: &Self::Workspace, out: &mut [f32]) {
                let _ = (ws, out);
            }
        };
    }
    quote! {
        const STATE_VALUES: usize = #values_lit;
        fn set_initial_states(ws: &mut Self::Workspace, states: ::rnn_runtime::__private::Option<&[f32]>) {
            let ::rnn_runtime::__private::Some(states) = states else {
                ws.initial = false;
                return;
            };
            ws.initial = true;
            #copy_in
        }
        fn final_states(ws: &Self::Workspace, out: &mut [f32]) {
            #copy_out
        }
    }
}

/// Local holding layer `i`'s output in the workspace (`o3`), bound by
/// [`bind_output`]: each layer's input is a name, not an expression of the layers
/// before it, so the expansion stays linear in a run of `dropout` layers.
fn output_local(i: usize) -> Ident {
    format_ident!("o{}", i)
}

/// Local holding the gradient arriving at layer `i`'s output (`dy3`).
fn upstream_local(i: usize) -> Ident {
    format_ident!("dy{}", i)
}

/// The layer's input in the workspace, as a slice expression: the input copy for
/// layer 0, the previous layer's output local otherwise.
fn input_of(model: &Model, index: usize) -> TokenStream {
    match index.checked_sub(1) {
        None => match model.input {
            Input::Features(_) => quote!(&ws.input[..]),
            Input::Tokens => quote!(&ws.ids[..]),
        },
        Some(prev) => {
            let o = output_local(prev);
            quote!(#o)
        }
    }
}

/// `let oI = …;`: output of layer `i` in the workspace, time-major `[T, B, units]` for
/// a sequence, `[B, units]` otherwise. A dropout layer's output is its input when it
/// did nothing.
fn bind_output(model: &Model, i: usize) -> TokenStream {
    let layer = &model.layers[i];
    let f = field(i);
    let o = output_local(i);
    let value = match layer.kind {
        LayerKind::Recurrent(_) if layer.sequence_out => quote!(ws.#f.hidden()),
        LayerKind::Recurrent(_) => quote!(ws.#f.last_hidden()),
        LayerKind::Dropout(_) => {
            let input = input_of(model, i);
            quote!(ws.#f.output(#input))
        }
        _ => quote!(ws.#f.output()),
    };
    quote!(let #o: &[f32] = #value;)
}

/// `let dyI = …;`: the gradient arriving at layer `i`'s output in `backward_batch`,
/// once the layer after it has run backward.
fn bind_upstream(model: &Model, i: usize) -> TokenStream {
    let dy = upstream_local(i);
    let last = model.layers.len() - 1;
    let value = if i == last {
        if model.sequence_output() {
            quote!(&ws.d_out[..])
        } else {
            quote!(d_out)
        }
    } else {
        let next = field(i + 1);
        match model.layers[i + 1].kind {
            LayerKind::Dropout(_) => {
                let after = upstream_local(i + 1);
                quote!(ws.#next.input_grad(#after))
            }
            _ => quote!(ws.#next.input_grad()),
        }
    };
    quote!(let #dy: &[f32] = #value;)
}

/// The outputs that `backward_batch` reads, bound in forward order: layer `k`'s when
/// layer `k + 1` reads its input backward (every kind but dropout) or is a dropout
/// layer whose own output is read.
fn backward_outputs(model: &Model) -> TokenStream {
    let n = model.layers.len();
    let mut needed = vec![false; n];
    for k in (0..n.saturating_sub(1)).rev() {
        needed[k] = match model.layers[k + 1].kind {
            LayerKind::Dropout(_) => needed[k + 1],
            _ => true,
        };
    }
    (0..n)
        .filter(|&k| needed[k])
        .map(|k| bind_output(model, k))
        .collect()
}

/// Rows of a layer's input in one batch: the packed rows of a sequence (`T·B` when
/// every sample is full), `B` otherwise.
fn rows(layer: &Layer) -> TokenStream {
    if layer.sequence_in {
        quote!(rows)
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
                            ::rnn_runtime::__private::fill_masks(
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
            // A model that streams can start a batch from given states.
            let initial = |buffer: Option<Ident>| match buffer {
                Some(buffer) if model.streams() => quote! {
                    if ws.initial {
                        ::rnn_runtime::__private::Some(&ws.#buffer[..])
                    } else {
                        ::rnn_runtime::__private::None
                    }
                },
                _ => quote!(::rnn_runtime::__private::None),
            };
            let (initial_h, initial_c) = (
                initial(Some(state_buffer(i, "h"))),
                initial((r.cell == Cell::Lstm).then(|| state_buffer(i, "c"))),
            );
            let options = |(input, recurrent): &(Option<Ident>, Option<Ident>)| {
                let (input, recurrent) = (mask(input, layer.inputs), mask(recurrent, r.hidden));
                quote! {
                    ::rnn_runtime::layers::SeqOptions {
                        input_mask: #input,
                        recurrent_mask: #recurrent,
                        initial_h: #initial_h,
                        initial_c: #initial_c,
                        lengths,
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
            let rows = rows(layer);
            quote!(self.#f.forward(#input, #rows, &mut ws.#f);)
        }
        // An embedding looks each packed row up on its own: one "step" of `rows`.
        LayerKind::Embedding { .. } => {
            quote!(self.#f.forward_seq(#input, 1, rows, &mut ws.#f);)
        }
        LayerKind::Dropout(rate) => {
            let (rate, width) = (lit_f32(rate), lit(layer.inputs));
            let dropout = quote!(::rnn_runtime::layers::DropoutLayer::checked(#rate, #index));
            if layer.sequence_in {
                quote!(#dropout.forward_packed(#input, &ws.packing, #width, key, &mut ws.#f);)
            } else {
                quote!(#dropout.forward_seq(#input, 1, batch, #width, key, &mut ws.#f);)
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
    let upstream = upstream_local(i);
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

/// `struct NameWorkspace`: the work buffers of the batch passes, one per layer (and
/// the dropout masks of recurrent layers).
pub fn workspace(model: &Model) -> TokenStream {
    let name = &model.header.name;
    let vis = &model.header.vis;
    let workspace = format_ident!("{}Workspace", name);
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
    let state_buffers: TokenStream = carried_states(model)
        .iter()
        .flat_map(|&(i, _, has_c)| {
            let parts: &[&str] = if has_c { &["h", "c"] } else { &["h"] };
            parts
                .iter()
                .map(move |p| state_buffer(i, p))
                .collect::<Vec<_>>()
        })
        .map(|b| quote!(#b: ::rnn_runtime::__private::Vec<f32>,))
        .chain(model.streams().then(|| quote!(initial: bool,)))
        .collect();
    let input_buffer = match model.input {
        Input::Features(_) => quote!(input: ::rnn_runtime::__private::Vec<f32>,),
        Input::Tokens => quote!(ids: ::rnn_runtime::__private::Vec<u32>,),
    };
    let doc = format!("Work buffers of [`{name}`]'s batch forward and backward passes.");
    quote! {
        ::rnn_runtime::__if_std! {
            #[doc = #doc]
            #[derive(::rnn_runtime::__private::Debug, ::rnn_runtime::__private::Default)]
            #vis struct #workspace {
                #input_buffer
                out: ::rnn_runtime::__private::Vec<f32>,
                d_out: ::rnn_runtime::__private::Vec<f32>,
                packing: ::rnn_runtime::layers::Packing,
                #state_buffers
                #(#buffer_defs)*
            }
        }
    }
}

/// `impl Network`: the consts the runtime reads, `init`, and the batch passes.
pub fn network_impl(model: &Model) -> TokenStream {
    let name = &model.header.name;
    let workspace = format_ident!("{}Workspace", name);
    let (steps, features) = (lit(model.timesteps), lit(model.features()));
    let last = model.layers.len() - 1;
    let sequence = model.sequence_output();
    let outputs = lit(model.outputs());
    let output_steps = lit(if sequence { model.timesteps } else { 1 });
    let vocab = lit(model.vocab());
    let (x_elem, _) = super::input_types(model);
    let tokens = model.input == Input::Tokens;
    let arch_layers: Vec<TokenStream> = model.layers.iter().map(architecture_layer).collect();
    let inits = model.layers.iter().enumerate().filter_map(|(i, layer)| {
        let f = field(i);
        let init = init_expr(layer)?;
        Some(quote!(#f: #init,))
    });
    let pack_input = match model.input {
        Input::Features(_) => {
            quote!(::rnn_runtime::__private::pack(x, &ws.packing, #features, &mut ws.input);)
        }
        Input::Tokens => {
            quote!(::rnn_runtime::__private::pack(x, &ws.packing, 1, &mut ws.ids);)
        }
    };
    let forward_calls = (0..model.layers.len()).map(|i| {
        let call = forward_call(model, i);
        let output = bind_output(model, i);
        quote!(#call #output)
    });
    let last_output = output_local(last);
    let output_expr = if sequence {
        quote! {
            ::rnn_runtime::__private::unpack(#last_output, &ws.packing, #outputs, &mut ws.out);
            &ws.out[..batch * #steps * #outputs]
        }
    } else {
        quote!(#last_output)
    };
    let splits = model.layers.iter().enumerate().map(|(i, layer)| {
        let g = format_ident!("g{}", i);
        let n = lit(layer.param_count());
        quote!(let (#g, grads) = grads.split_at_mut(#n);)
    });
    let d_out_time_major = if sequence {
        quote! {
            ::rnn_runtime::__private::pack(d_out, &ws.packing, #outputs, &mut ws.d_out);
        }
    } else {
        TokenStream::new()
    };
    let backward_outputs = backward_outputs(model);
    let state_items = state_items(model);
    let backward_calls = (0..model.layers.len()).rev().map(|i| {
        let upstream = bind_upstream(model, i);
        let call = backward_call(model, i);
        quote!(#upstream #call)
    });
    let padding = match model.padding() {
        None => quote!(::rnn_runtime::__private::None),
        Some(Padding::ZeroId) => {
            quote!(::rnn_runtime::__private::Some(
                ::rnn_runtime::architecture::Padding::ZeroId
            ))
        }
        Some(Padding::Value(v)) => {
            let value = super::signed_f32(v);
            quote!(::rnn_runtime::__private::Some(::rnn_runtime::architecture::Padding::Value(#value)))
        }
    };
    let loss_const = match model.loss {
        Some(loss) => {
            let value = loss_value(loss);
            quote!(::rnn_runtime::__private::Some(#value))
        }
        None => quote!(::rnn_runtime::__private::None),
    };
    let output_logits = match model.layers[last].kind {
        LayerKind::Dense(_) => {
            let f = field(last);
            quote!(ws.#f.set_logits(logits);)
        }
        _ => quote!(let _ = (ws, logits);),
    };
    // Bidirectional layers have no inference path yet: they keep what BPTT needs.
    let inference_calls = model.layers.iter().enumerate().filter_map(|(i, layer)| {
        let LayerKind::Recurrent(r) = layer.kind else {
            return None;
        };
        if r.bidirectional {
            return None;
        }
        let f = field(i);
        let kind = format_ident!(
            "{}",
            if layer.sequence_out {
                "Sequence"
            } else {
                "Last"
            }
        );
        Some(quote! {
            ws.#f.set_inference(if inference {
                ::rnn_runtime::layers::Inference::#kind
            } else {
                ::rnn_runtime::layers::Inference::Off
            });
        })
    });
    quote! {
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
                padding: #padding,
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
                lengths: ::rnn_runtime::__private::Option<&[usize]>,
                key: ::rnn_runtime::__private::Option<::rnn_runtime::dropout::MaskKey>,
                ws: &'w mut #workspace,
            ) -> &'w [f32] {
                let _ = key;
                ws.packing.set(#steps, batch, lengths);
                let rows = ws.packing.rows();
                let _ = rows;
                #pack_input
                #(#forward_calls)*
                #output_expr
            }

            fn backward_batch(&self, d_out: &[f32], ws: &mut #workspace, grads: &mut [f32]) {
                #(#splits)*
                let _ = grads;
                #d_out_time_major
                #backward_outputs
                #(#backward_calls)*
            }

            fn output_logits(ws: &mut #workspace, logits: bool) {
                #output_logits
            }

            fn inference_only(ws: &mut #workspace, inference: bool) {
                let _ = (&ws, inference);
                #(#inference_calls)*
            }

            #state_items
        }
        }
    }
}

//! Semantics: [`ModelDef`] → [`Model`], or every error of the spec at once.
//!
//! Each layer is resolved on its own (name, sizes, options), then neighbours are
//! checked against each other (what each layer receives), then the parameter budget.
//! A part that is already wrong is left out of the later checks, so that one mistake
//! is reported once and not again as a confusing consequence.
//!
//! Sizes are integer literals, unsuffixed or with an integer suffix (`50`, `50usize`),
//! in any base the compiler accepts; constants and expressions are not supported
//! because the shapes must be known while the macro expands.
//!
//! By concern: `layers` resolves each entry of the list (names, arity, nesting),
//! `literals` reads sizes and rates, `options` the layers' named options and the
//! model's options (`loss = …`), `flow` what each layer receives from the one before,
//! and `limits` the bounds that keep the compiler's time and memory small.

use std::fmt::Display;

use proc_macro2::Span;
use quote::ToTokens;

use crate::diagnostics::render_layer;
use crate::parse::{LayerDef, ModelDef};
use crate::spec::{Input, Layer, LayerKind, Model, PartialShape};

mod flow;
mod layers;
mod limits;
mod literals;
mod options;
#[cfg(test)]
mod tests;

use flow::{check_feed, check_has_recurrent, split_input, split_masking};
use layers::{inner_layers, resolve};
use limits::{check_budget, check_layer_count, check_stack};
#[cfg_attr(
    not(test),
    allow(unused_imports, reason = "read by tests of other stages")
)]
pub use limits::{MAX_LAYERS, MAX_PARAMS, MAX_SIZE, MAX_STACK_FLOATS};
use options::check_options;

/// A spec that failed its checks.
#[derive(Debug)]
pub struct Rejected {
    /// Every problem found, each with its own span (iterate it with `IntoIterator`).
    pub error: syn::Error,
    /// The shape of the model's interface where the errors leave it readable: lets
    /// the fallback keep its typed `predict_one` and true consts, so that code using
    /// them adds no errors of its own.
    pub shape: Option<PartialShape>,
}

/// Checks a parsed spec: the model, or every problem found.
pub fn check(def: &ModelDef) -> Result<Model, Rejected> {
    let mut errors = Errors::default();
    let (shape, layer_defs) = split_input(def, &mut errors);
    let (masking, layer_defs) = split_masking(layer_defs, shape, &mut errors);
    check_layer_count(&layer_defs, &mut errors);
    let inners = inner_layers(&layer_defs);
    let mut layers: Vec<Resolved> = Vec::with_capacity(layer_defs.len());
    let mut flow = Vec::with_capacity(layer_defs.len());
    for (index, (def, inner)) in layer_defs.iter().zip(&inners).enumerate() {
        layers.push(resolve(def, inner.as_ref(), index, &mut errors));
        let sequence = flow.last().copied().unwrap_or(Some(true));
        flow.push(check_feed(&layers, sequence, shape, &mut errors));
    }
    check_has_recurrent(&layers, &mut errors);
    check_budget(&layers, shape, &mut errors);
    let loss = check_options(def, layers.last(), &mut errors);

    let partial = || {
        Some(PartialShape {
            timesteps: shape.0?,
            input: shape.1?,
            outputs: layers.last()?.units?,
            sequence: (*flow.last()?)?,
        })
    };
    if let Err(error) = errors.finish() {
        return Err(Rejected {
            error,
            shape: partial(),
        });
    }
    let mut model = build(def, shape, &layers, &flow).map_err(|error| Rejected {
        error,
        shape: partial(),
    })?;
    model.loss = loss;
    model.masking = masking;
    check_stack(def, &model).map_err(|error| Rejected {
        error,
        shape: Some(model.shape()),
    })?;
    Ok(model)
}

/// `(timesteps, input)`, each `None` when missing or invalid.
type Shape = (Option<usize>, Option<Input>);

/// What a layer does with the sequence structure of its input.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    /// Needs a sequence; passes one on only with `return_sequences = true`.
    Recurrent,
    /// Reads token ids: layer 0 after `input(T)` only.
    Embedding,
    /// Applies to every step of a sequence, or to one vector.
    Elementwise,
}

/// A layer-list entry other than `input`, resolved as far as its own errors allow.
struct Resolved<'a> {
    def: &'a LayerDef,
    /// Position after `input`.
    index: usize,
    /// `None` for an unknown layer name.
    family: Option<Family>,
    /// `None` when anything about the layer is invalid.
    kind: Option<LayerKind>,
    /// Output width per step; `None` when a size is missing or invalid.
    units: Option<usize>,
    /// `None` when the option value is invalid; `Some(false)` for other layers.
    return_sequences: Option<bool>,
}

impl Resolved<'_> {
    /// How messages name the layer: its number and the text the user wrote.
    fn label(&self) -> String {
        format!("layer {} `{}`", self.index, render_layer(self.def))
    }
}

/// Collects errors so that they can be reported together. Like serde_derive's
/// `Ctxt`, it must be consumed by [`Errors::finish`]: dropping it unchecked would
/// lose every error it holds, so that panics (outside an unwinding panic).
struct Errors(Option<Vec<syn::Error>>);

impl Default for Errors {
    fn default() -> Self {
        Errors(Some(Vec::new()))
    }
}

impl Errors {
    fn errors(&mut self) -> &mut Vec<syn::Error> {
        self.0.as_mut().expect("errors pushed after `finish`")
    }

    fn push(&mut self, span: Span, message: impl Display) {
        self.errors().push(syn::Error::new(span, message));
    }

    /// Points at every token of `tokens`, e.g. both `-` and `3` of `-3`.
    fn push_spanned(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.errors().push(syn::Error::new_spanned(tokens, message));
    }

    /// Every error pushed, combined into one (`Ok` when there is none).
    fn finish(mut self) -> Result<(), syn::Error> {
        let mut errors = self.0.take().unwrap_or_default().into_iter();
        match errors.next() {
            None => Ok(()),
            Some(mut first) => {
                first.extend(errors);
                Err(first)
            }
        }
    }
}

impl Drop for Errors {
    fn drop(&mut self) {
        if self.0.is_some() && !std::thread::panicking() {
            panic!("internal error: `check::Errors` dropped without `finish`");
        }
    }
}

/// Assembles the model once no error was found, so every part is known.
fn build(
    def: &ModelDef,
    shape: Shape,
    layers: &[Resolved],
    flow: &[Option<bool>],
) -> Result<Model, syn::Error> {
    let incomplete = || syn::Error::new(def.header.name.span(), "internal error: incomplete model");
    let (Some(timesteps), Some(input)) = shape else {
        return Err(incomplete());
    };
    let mut inputs = match input {
        Input::Features(f) => f,
        Input::Tokens => 1,
    };
    let mut sequence_in = true;
    let mut out = Vec::with_capacity(layers.len());
    for (layer, &sequence_out) in layers.iter().zip(flow) {
        let Some(kind) = layer.kind else {
            return Err(incomplete());
        };
        let units = match kind {
            LayerKind::Dropout(_) => inputs,
            _ => layer.units.ok_or_else(incomplete)?,
        };
        let sequence_out = sequence_out.ok_or_else(incomplete)?;
        out.push(Layer {
            kind,
            units,
            inputs,
            sequence_in,
            sequence_out,
            span: layer.def.span,
        });
        inputs = units;
        sequence_in = sequence_out;
    }
    Ok(Model {
        header: def.header.clone(),
        timesteps,
        input,
        layers: out,
        loss: None,
        masking: None,
    })
}

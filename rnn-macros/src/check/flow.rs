//! What each layer receives from the one before: the `input` entry and the list's
//! form, sequences versus single vectors, and the rule that a model has a recurrent
//! layer.

use syn::ext::IdentExt;

use super::layers::{check_input, LAYER_NAMES, RECURRENT_NAMES};
use super::{Errors, Family, Resolved, Shape};
use crate::diagnostics::{list, render_layer, suggest};
use crate::parse::{LayerDef, ModelDef};
use crate::spec::Input;

/// Checks the `input` entry and the list's overall form, and returns the input shape
/// with the remaining entries: the layers, numbered from 0 in this order.
pub(super) fn split_input<'a>(
    def: &'a ModelDef,
    errors: &mut Errors,
) -> (Shape, Vec<&'a LayerDef>) {
    let is_input = |entry: &&LayerDef| entry.name.unraw() == "input";
    let mut inputs = def.layers.iter().filter(is_input);
    let input = inputs.next();
    let layers: Vec<&LayerDef> = def.layers.iter().filter(|e| !is_input(e)).collect();

    let shape = match input {
        Some(input) => {
            if let Some(first) = def.layers.first().filter(|entry| !is_input(entry)) {
                errors.push(
                    input.name.span(),
                    format!(
                        "`{}` must come first, before layer 0 `{}`",
                        render_layer(input),
                        render_layer(first)
                    ),
                );
            }
            check_input(input, errors)
        }
        None => {
            // A misspelled `input` is reported as an unknown layer with a suggestion.
            let misspelled = |first: &&&LayerDef| {
                suggest(&first.name.unraw().to_string(), &LAYER_NAMES) == Some("input")
            };
            if let Some(first) = layers.first().filter(|first| !misspelled(first)) {
                errors.push(
                    first.name.span(),
                    "missing `input(timesteps, features)`: start the list with it, e.g. `input(20, 1)`",
                );
            }
            (None, None)
        }
    };
    for duplicate in inputs {
        errors.push(
            duplicate.name.span(),
            "duplicate `input`: a model has exactly one input; remove this one",
        );
    }

    if layers.is_empty() {
        match input {
            Some(input) => errors.push(
                def.gt.span,
                format!(
                    "the model has no layers after `{}`; add some, e.g. `lstm(8), dense(1)`",
                    render_layer(input)
                ),
            ),
            None => errors.push(
                def.lt.span,
                "empty model: write e.g. `< input(20, 1), lstm(8), dense(1) >`",
            ),
        }
    }
    (shape, layers)
}

/// Checks what the last of `layers` receives (`sequence`: whether that is a
/// sequence, `None` where unknown), and returns whether it passes on a sequence.
pub(super) fn check_feed(
    layers: &[Resolved],
    sequence: Option<bool>,
    shape: Shape,
    errors: &mut Errors,
) -> Option<bool> {
    let (layer, before) = layers.split_last()?;
    let i = layer.index;
    if i == 0
        && shape.1 == Some(Input::Tokens)
        && layer.family.is_some()
        && layer.family != Some(Family::Embedding)
    {
        let t = shape.0.map_or("T".to_owned(), |t| t.to_string());
        errors.push(
            layer.def.name.span(),
            format!(
                "`input({t})` declares token ids, which only an `embedding(vocab, dim)` \
                 layer 0 can read; add one before {}, or write `input({t}, features)` \
                 for real-valued input",
                layer.label()
            ),
        );
    }
    match layer.family {
        None => None,
        Some(Family::Embedding) => {
            if i > 0 {
                errors.push(
                    layer.def.name.span(),
                    format!(
                        "{} must be layer 0, right after `input(T)`: it turns token ids \
                         into vectors",
                        layer.label()
                    ),
                );
            } else if let Some(Input::Features(f)) = shape.1 {
                let t = shape.0.map_or("T".to_owned(), |t| t.to_string());
                errors.push(
                    layer.def.name.span(),
                    format!(
                        "{} reads token ids, but the input has {f} features per step; \
                         declare token input as `input({t})`",
                        layer.label()
                    ),
                );
            }
            Some(true)
        }
        Some(Family::Recurrent) => {
            if sequence == Some(false) {
                if let Some(prev) = before.last() {
                    not_a_sequence(layer, prev, errors);
                }
            }
            layer.return_sequences
        }
        Some(Family::Elementwise) => sequence,
    }
}

/// A model needs at least one recurrent layer; reported only when every layer is known.
pub(super) fn check_has_recurrent(layers: &[Resolved], errors: &mut Errors) {
    let known = layers.iter().all(|l| l.family.is_some());
    if known && !layers.iter().any(|l| l.family == Some(Family::Recurrent)) {
        if let Some(first) = layers.first() {
            errors.push(
                first.def.name.span(),
                format!(
                    "the model has no recurrent layer; add one of {}, e.g. `lstm(8)`",
                    list(&RECURRENT_NAMES)
                ),
            );
        }
    }
}

/// A recurrent `layer` after `prev`, which passes on one vector per sample.
pub(super) fn not_a_sequence(layer: &Resolved, prev: &Resolved, errors: &mut Errors) {
    let message = if prev.family == Some(Family::Recurrent) {
        format!(
            "{} expects a sequence, but {} returns only its last state; add \
             `return_sequences = true` to layer {}",
            layer.label(),
            prev.label(),
            prev.index
        )
    } else {
        format!(
            "{} expects a sequence, but {} passes on one vector per sample (what it \
             receives is not a sequence); add `return_sequences = true` to the recurrent \
             layer before it",
            layer.label(),
            prev.label()
        )
    };
    errors.push(layer.def.name.span(), message);
}

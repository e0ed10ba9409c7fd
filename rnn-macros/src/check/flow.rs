//! What each layer receives from the one before: the `input` entry and the list's
//! form, sequences versus single vectors, and the rule that a model has a recurrent
//! layer.

use quote::ToTokens;
use syn::ext::IdentExt;

use super::layers::{check_input, LAYER_NAMES, RECURRENT_NAMES};
use super::literals::number;
use super::{Errors, Family, Resolved, Shape};
use crate::diagnostics::{list, render, render_layer, suggest};
use crate::parse::{Arg, LayerDef, ModelDef};
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

/// Takes `masking(value)` out of the list of `layers`: it describes the input, like
/// `input`, so it is not a numbered layer; it may come only first, and only for
/// real-valued input. Returns its value (`None` without a valid one) and the layers.
pub(super) fn split_masking<'a>(
    layers: Vec<&'a LayerDef>,
    shape: Shape,
    errors: &mut Errors,
) -> (Option<f32>, Vec<&'a LayerDef>) {
    let is_masking = |entry: &&LayerDef| entry.name.unraw() == "masking";
    let mut value = None;
    for (i, def) in layers.iter().enumerate().filter(|(_, d)| is_masking(d)) {
        if i > 0 {
            errors.push(
                def.name.span(),
                format!(
                    "`{}` must come right after `input`, before layer 0: it marks the \
                     padded steps of the input",
                    render_layer(def)
                ),
            );
            continue;
        }
        if shape.1 == Some(Input::Tokens) {
            errors.push(
                def.name.span(),
                "`masking` reads real-valued features, but `input(T)` declares token ids; \
                 mark padding with `embedding(vocab, dim, mask_zero = true)` instead",
            );
            continue;
        }
        value = mask_value(def, errors);
    }
    if let (Some(def), 1) = (layers.first().filter(|d| is_masking(d)), layers.len()) {
        errors.push(
            def.name.span(),
            format!(
                "the model has no layers after `{}`; add some, e.g. `lstm(8), dense(1)`",
                render_layer(def)
            ),
        );
    }
    let rest: Vec<&LayerDef> = layers.into_iter().filter(|d| !is_masking(d)).collect();
    (value, rest)
}

/// The value of `masking(value)`: one finite number literal, possibly negative.
fn mask_value(def: &LayerDef, errors: &mut Errors) -> Option<f32> {
    let example = "write e.g. `masking(0.0)`";
    let mut positional = Vec::new();
    for arg in &def.args {
        match arg {
            Arg::Named { key, .. } => errors.push(
                key.span(),
                format!("`masking` takes no options; remove `{}`", key.unraw()),
            ),
            Arg::Positional(expr) => positional.push(expr),
        }
    }
    let [expr] = positional[..] else {
        errors.push(
            def.name.span(),
            format!("`masking` takes one value, the one that marks a padded step; {example}"),
        );
        return None;
    };
    match number(expr).map(|v| v as f32) {
        Some(v) if v.is_finite() => Some(v),
        _ => {
            let text = render(expr.to_token_stream());
            errors.push_spanned(
                expr,
                format!(
                    "the value of `masking` must be a finite number, found `{text}`; {example}"
                ),
            );
            None
        }
    }
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

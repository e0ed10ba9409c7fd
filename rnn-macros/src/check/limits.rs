//! The bounds of a spec: sizes, layers, parameters and the stack of the single-sample
//! code. They keep every product of sizes the macro computes far from overflow, and
//! the compiler's time and memory small.

use syn::ext::IdentExt;

use super::{Errors, Resolved, Shape};
use crate::diagnostics::{group_digits, render_layer};
use crate::parse::{LayerDef, ModelDef};
use crate::spec::{Input, LayerKind, Model};

/// Largest accepted size: `T` and `F` of `input`, `units` of a recurrent or dense
/// layer (of one direction for `bidirectional`), `vocab` and `dim` of `embedding`.
///
/// Far above any trainable recurrent model; it keeps every product of sizes the macro
/// computes far from overflow, and the const generics it writes small.
pub const MAX_SIZE: usize = 1_000_000;

/// Largest accepted total number of trainable parameters of a model (400 MB of `f32`).
///
/// Every tensor is a const-generic array (boxed with `std`, inline in a `static`
/// without), so this bounds the memory one model takes and the `[u8; 4 · PARAMS]`
/// that `from_le_bytes` reads.
pub const MAX_PARAMS: u128 = 100_000_000;

/// Most layers after `input`.
///
/// Real recurrent models have a handful. The generated code grows linearly with the
/// number of layers; the bound keeps the compiler's time and memory small.
pub const MAX_LAYERS: usize = 256;

/// Most `f32` values (16 Mi, 64 MiB) that the single-sample code of a model (its
/// `predict_one` and stream) holds on the stack at once, as counted by
/// `codegen::stack_arrays`.
///
/// The large terms are sequences: `T × F` and `T × width` of every layer in a model
/// with a bidirectional layer (run layer by layer over whole sequences), `T × OUTPUTS`
/// for a sequence output. A model above this could never call `predict_one` on a
/// default thread (8 MiB for the main thread, 2 MiB for spawned ones); one between
/// 2 Mi values (8 MiB) and this limit needs a thread with a larger stack for it, while
/// its batch API, which works on the heap, has no such bound.
pub const MAX_STACK_FLOATS: u128 = 1 << 24;

/// Refuses more than [`MAX_LAYERS`] layers, blaming the first one too many.
pub(super) fn check_layer_count(layer_defs: &[&LayerDef], errors: &mut Errors) {
    if let Some(first_extra) = layer_defs.get(MAX_LAYERS) {
        errors.push(
            first_extra.name.span(),
            format!(
                "the model has {} layers after `input`, above the limit of {MAX_LAYERS}; \
                 layer {MAX_LAYERS} `{}` is the first one too many",
                layer_defs.len(),
                render_layer(first_extra)
            ),
        );
    }
}

pub(super) fn check_budget(layers: &[Resolved], shape: Shape, errors: &mut Errors) {
    let mut total = 0u128;
    let mut biggest: Option<(&Resolved, u128)> = None;
    let mut inputs = match shape.1 {
        Some(Input::Features(f)) => Some(f),
        Some(Input::Tokens) => Some(1),
        None => None,
    };
    for layer in layers {
        let units = match layer.kind {
            Some(LayerKind::Dropout(_)) => inputs,
            _ => layer.units,
        };
        if let (Some(kind), Some(i), Some(n)) = (layer.kind, inputs, units) {
            let count = kind.param_count(i, n);
            total += count;
            if biggest.is_none_or(|(_, most)| count > most) {
                biggest = Some((layer, count));
            }
        }
        inputs = units;
    }
    if let Some((layer, count)) = biggest.filter(|_| total > MAX_PARAMS) {
        errors.push(
            layer.def.name.span(),
            format!(
                "the model has {} parameters, above the limit of {}; the biggest is {} with {}",
                group_digits(total),
                group_digits(MAX_PARAMS),
                layer.label(),
                group_digits(count)
            ),
        );
    }
}

/// Refuses a model whose single-sample code would hold more than [`MAX_STACK_FLOATS`]
/// values on the stack, blaming the biggest array's layer (or `input` for its copy).
pub(super) fn check_stack(def: &ModelDef, model: &Model) -> Result<(), syn::Error> {
    let arrays = model.stack_arrays();
    let total: u128 = arrays.iter().map(|(_, n)| n).sum();
    if total <= MAX_STACK_FLOATS {
        return Ok(());
    }
    let Some(&(owner, biggest)) = arrays.iter().max_by_key(|(_, n)| *n) else {
        return Ok(());
    };
    let input = def.layers.iter().find(|l| l.name.unraw() == "input");
    let (span, what) = match (owner, input) {
        (Some(i), _) => {
            let layer = &model.layers[i];
            let entry = def
                .layers
                .iter()
                .filter(|l| l.name.unraw() != "input")
                .nth(i);
            let text = entry.map_or_else(String::new, |e| format!(" `{}`", render_layer(e)));
            (
                entry.map_or(layer.span, |e| e.name.span()),
                format!("layer {i}{text}"),
            )
        }
        (None, Some(input)) => (
            input.name.span(),
            format!("the copy of the input `{}`", render_layer(input)),
        ),
        (None, None) => (def.header.name.span(), "the input".to_owned()),
    };
    Err(syn::Error::new(
        span,
        format!(
            "`predict_one` would hold {} values on the stack, above the limit of {} \
             (64 MiB); the biggest array is {what} with {}: shorten the sequence or \
             narrow the layers",
            group_digits(total),
            group_digits(MAX_STACK_FLOATS),
            group_digits(biggest)
        ),
    ))
}

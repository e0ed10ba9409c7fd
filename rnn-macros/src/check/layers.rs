//! Each entry of the layer list resolved on its own: its name, its arity and, for
//! `bidirectional`, the layer it wraps.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::Expr;

use super::literals::{rate, single_positional, single_size, sizes};
use super::options::{dense_options, embedding_options, no_options, recurrent_options};
use super::{Errors, Family, Resolved, Shape};
use crate::diagnostics::{list, render, render_layer, suggest};
use crate::parse::{nested_layer, Arg, LayerDef};
use crate::spec::{Cell, Input, LayerKind, Recurrent};

/// Every name that may start a layer-list entry, `input` included.
pub(super) const LAYER_NAMES: [&str; 9] = [
    "input",
    "lstm",
    "gru",
    "simple_rnn",
    "dense",
    "bidirectional",
    "embedding",
    "dropout",
    "masking",
];

/// The layers `bidirectional` may wrap.
pub(super) const RECURRENT_NAMES: [&str; 3] = ["lstm", "gru", "simple_rnn"];

/// The layer inside each `bidirectional(...)`, owned here so that resolved layers can
/// borrow from it.
pub(super) fn inner_layers(defs: &[&LayerDef]) -> Vec<Option<LayerDef>> {
    defs.iter()
        .map(|def| {
            if def.name.unraw() != "bidirectional" {
                return None;
            }
            let mut positional = def.args.iter().filter_map(|a| match a {
                Arg::Positional(expr) => Some(expr),
                Arg::Named { .. } => None,
            });
            match (positional.next(), positional.next()) {
                (Some(expr), None) => nested_layer(expr),
                _ => None,
            }
        })
        .collect()
}

pub(super) fn check_input(input: &LayerDef, errors: &mut Errors) -> Shape {
    let label = format!("`{}`", render_layer(input));
    for arg in &input.args {
        if let Arg::Named { key, .. } = arg {
            errors.push(
                key.span(),
                format!("`input` takes no options; remove `{}`", key.unraw()),
            );
        }
    }
    let positional = input
        .args
        .iter()
        .filter(|a| matches!(a, Arg::Positional(_)))
        .count();
    if positional == 1 {
        // `input(T)`: token ids, for an `embedding` layer 0.
        let sizes = sizes(input, &label, &["timesteps"], "input(20, 1)", errors);
        return (sizes.first().copied().flatten(), Some(Input::Tokens));
    }
    let names = ["timesteps", "features"];
    let sizes = sizes(input, &label, &names, "input(20, 1)", errors);
    let size = |i: usize| sizes.get(i).copied().flatten();
    (size(0), size(1).map(Input::Features))
}

pub(super) fn resolve<'a>(
    def: &'a LayerDef,
    inner: Option<&'a LayerDef>,
    index: usize,
    errors: &mut Errors,
) -> Resolved<'a> {
    let mut layer = Resolved {
        def,
        index,
        family: None,
        kind: None,
        units: None,
        return_sequences: Some(false),
    };
    let name = def.name.unraw().to_string();
    let cell = match name.as_str() {
        "lstm" => Cell::Lstm,
        "gru" => Cell::Gru,
        "simple_rnn" => Cell::SimpleRnn,
        "bidirectional" => {
            resolve_bidirectional(&mut layer, inner, errors);
            return layer;
        }
        "dense" => {
            layer.family = Some(Family::Elementwise);
            layer.units = single_size(&layer, "dense(1)", errors);
            let activation = dense_options(def, errors);
            layer.kind = layer.units.map(|_| LayerKind::Dense(activation));
            return layer;
        }
        "embedding" => {
            layer.family = Some(Family::Embedding);
            let mask_zero = embedding_options(def, errors);
            let label = layer.label();
            let sizes = sizes(
                def,
                &label,
                &["vocab", "dim"],
                "embedding(1000, 16)",
                errors,
            );
            if let [Some(vocab), Some(dim)] = sizes[..] {
                layer.units = Some(dim);
                layer.kind = mask_zero.map(|mask_zero| LayerKind::Embedding { vocab, mask_zero });
            }
            return layer;
        }
        "dropout" => {
            layer.family = Some(Family::Elementwise);
            no_options(def, "dropout(0.2)", errors);
            let label = layer.label();
            let rate = single_positional(def, &label, "rate", "dropout(0.2)", errors)
                .and_then(|expr| rate(expr, &format!("the rate of {label}"), errors));
            layer.kind = rate.map(LayerKind::Dropout);
            return layer;
        }
        _ => {
            let hint = match suggest(&name, &LAYER_NAMES) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("expected one of {}", list(&LAYER_NAMES)),
            };
            errors.push(def.name.span(), format!("unknown layer `{name}`; {hint}"));
            return layer;
        }
    };
    resolve_recurrent(&mut layer, def, cell, false, errors);
    layer
}

/// `bidirectional(lstm(8, ...))`: the wrapped layer, resolved with its options.
pub(super) fn resolve_bidirectional<'a>(
    layer: &mut Resolved<'a>,
    inner: Option<&'a LayerDef>,
    errors: &mut Errors,
) {
    let def = layer.def;
    for arg in &def.args {
        if let Arg::Named { key, .. } = arg {
            errors.push(
                key.span(),
                format!(
                    "`bidirectional` takes no options; write them on the wrapped layer, \
                     e.g. `bidirectional(lstm(8, {} = ...))`",
                    key.unraw()
                ),
            );
        }
    }
    let positional: Vec<&Expr> = def
        .args
        .iter()
        .filter_map(|a| match a {
            Arg::Positional(e) => Some(e),
            Arg::Named { .. } => None,
        })
        .collect();
    let wrapped = "`bidirectional` wraps one recurrent layer, e.g. `bidirectional(lstm(8))`";
    let inner = match (positional.as_slice(), inner) {
        ([_], Some(inner)) => inner,
        ([], _) => {
            errors.push(def.name.span(), format!("{wrapped}; it is empty"));
            return;
        }
        ([one], None) => {
            let text = render(one.to_token_stream());
            errors.push_spanned(one, format!("{wrapped}, found `{text}`"));
            return;
        }
        (more, _) => {
            let extra: TokenStream = more[1..].iter().map(|e| e.to_token_stream()).collect();
            errors.push_spanned(extra, format!("{wrapped}; remove the extra arguments"));
            return;
        }
    };
    layer.family = Some(Family::Recurrent);
    let name = inner.name.unraw().to_string();
    let cell = match name.as_str() {
        "lstm" => Cell::Lstm,
        "gru" => Cell::Gru,
        "simple_rnn" => Cell::SimpleRnn,
        _ => {
            let hint = match suggest(&name, &RECURRENT_NAMES) {
                Some(near) if near != name => format!("; did you mean `{near}`?"),
                _ => String::new(),
            };
            errors.push(
                inner.name.span(),
                format!(
                    "`bidirectional` wraps a recurrent layer ({}), found `{}`{hint}",
                    list(&RECURRENT_NAMES),
                    render_layer(inner)
                ),
            );
            return;
        }
    };
    let mut wrapped = Resolved {
        def: inner,
        index: layer.index,
        family: None,
        kind: None,
        units: None,
        return_sequences: Some(false),
    };
    resolve_recurrent(&mut wrapped, inner, cell, true, errors);
    layer.kind = wrapped.kind;
    layer.units = wrapped.units;
    layer.return_sequences = wrapped.return_sequences;
}

/// Sizes and options of `lstm`, `gru` or `simple_rnn`, possibly inside `bidirectional`.
pub(super) fn resolve_recurrent(
    layer: &mut Resolved,
    def: &LayerDef,
    cell: Cell,
    bidirectional: bool,
    errors: &mut Errors,
) {
    layer.family = Some(Family::Recurrent);
    let hidden = single_size(layer, &format!("{}(8)", cell.name()), errors);
    if def
        .args
        .iter()
        .filter(|a| matches!(a, Arg::Positional(_)))
        .count()
        > 1
    {
        // An extra argument such as `lstm(8, true)` may have meant `return_sequences`,
        // so the layer's output kind is unknown unless the option is written too.
        layer.return_sequences = None;
    }
    let options = recurrent_options(layer, def, cell, errors);
    let directions = if bidirectional { 2 } else { 1 };
    layer.units = hidden.map(|h| directions * h);
    if let (Some(hidden), Some(options), Some(return_sequences)) =
        (hidden, options, layer.return_sequences)
    {
        layer.kind = Some(LayerKind::Recurrent(Recurrent {
            cell,
            hidden,
            bidirectional,
            return_sequences,
            ..options
        }));
    }
}

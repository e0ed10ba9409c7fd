//! Named options: those of a layer (`return_sequences = true`, `activation = relu`,
//! …) and the model options after the layers: `loss = …`, the loss the model trains
//! and evaluates with, checked against the output layer it reads.

use quote::ToTokens;
use syn::ext::IdentExt;
use syn::{Expr, Ident, Lit};

use super::literals::{number, rate};
use super::{Errors, Resolved};
use crate::diagnostics::{list, render, render_layer, suggest};
use crate::parse::{nested_layer, Arg, LayerDef, ModelDef};
use crate::spec::{Activation, Cell, CellActivation, LayerKind, Loss, Recurrent};

/// The options a spec may set.
const OPTIONS: [&str; 1] = ["loss"];

/// Every loss name, Keras's long forms included, and what it means (`huber` takes its
/// delta from the arguments).
const LOSSES: [(&str, Loss); 9] = [
    ("mse", Loss::Mse),
    ("mean_squared_error", Loss::Mse),
    ("mae", Loss::Mae),
    ("mean_absolute_error", Loss::Mae),
    ("huber", Loss::Huber(1.0)),
    ("binary_crossentropy", Loss::BinaryCrossentropy),
    ("categorical_crossentropy", Loss::CategoricalCrossentropy),
    (
        "sparse_categorical_crossentropy",
        Loss::SparseCategoricalCrossentropy,
    ),
    ("huber_loss", Loss::Huber(1.0)),
];

/// Checks the options of `def`; returns the declared loss when it is valid. `last` is
/// the model's last layer, against which the loss is checked when it is known.
pub(super) fn check_options(
    def: &ModelDef,
    last: Option<&Resolved<'_>>,
    errors: &mut Errors,
) -> Option<Loss> {
    let mut loss = None;
    let mut seen = false;
    for option in &def.options {
        let key = option.key.unraw().to_string();
        if option.layers_before < def.layers.len() {
            errors.push(
                option.key.span(),
                format!("`{key} = …` belongs after the last layer"),
            );
        }
        if !OPTIONS.contains(&key.as_str()) {
            let hint = match suggest(&key, &OPTIONS) {
                Some(near) => format!("; did you mean `{near}`?"),
                None => format!("; the model's options are {}", list(&OPTIONS)),
            };
            errors.push(
                option.key.span(),
                format!("unknown model option `{key}`{hint}"),
            );
            continue;
        }
        if seen {
            errors.push(option.key.span(), "`loss` is declared twice");
            continue;
        }
        seen = true;
        match parse_loss(&option.value) {
            Ok(found) => {
                if let Some(last) = last {
                    if let Err(message) = fits_output(found, last) {
                        errors.push_spanned(&option.value, message);
                        continue;
                    }
                }
                loss = Some(found);
            }
            Err(message) => errors.push_spanned(&option.value, message),
        }
    }
    loss
}

/// The loss named by `value`: `mse`, `huber(0.5)`, `huber(delta = 0.5)`, ….
fn parse_loss(value: &Expr) -> Result<Loss, String> {
    let names: Vec<&str> = LOSSES.iter().map(|(n, _)| *n).collect();
    let (name, args) = match value {
        Expr::Path(path) if path.qself.is_none() && path.path.get_ident().is_some() => {
            (path.path.get_ident().cloned(), Vec::new())
        }
        Expr::Call(_) => match nested_layer(value) {
            Some(call) => (Some(call.name), call.args),
            None => (None, Vec::new()),
        },
        _ => (None, Vec::new()),
    };
    let Some(name) = name else {
        let hint = unquote_hint(value, &names);
        return Err(format!(
            "`loss` expects one of {}, found `{}`{hint}",
            list(&names[..8]),
            render(value.to_token_stream())
        ));
    };
    let written = name.unraw().to_string();
    let Some(&(_, loss)) = LOSSES.iter().find(|(n, _)| *n == written) else {
        return Err(match suggest(&written, &names) {
            Some(near) => format!("unknown loss `{written}`; did you mean `{near}`?"),
            None => format!(
                "unknown loss `{written}`; expected one of {}",
                list(&names[..8])
            ),
        });
    };
    match (loss, args.as_slice()) {
        (_, []) => Ok(loss),
        (Loss::Huber(_), [Arg::Positional(delta)]) => huber_delta(delta),
        (Loss::Huber(_), [Arg::Named { key, value }]) if key.unraw() == "delta" => {
            huber_delta(value)
        }
        (Loss::Huber(_), _) => Err(
            "`huber` takes one argument, its delta: `huber(1.0)` or `huber(delta = 1.0)`"
                .to_owned(),
        ),
        _ => Err(format!("`{written}` takes no arguments")),
    }
}

/// A Huber delta: a positive, finite number literal.
fn huber_delta(expr: &Expr) -> Result<Loss, String> {
    match number(expr).map(|v| v as f32) {
        Some(delta) if delta.is_finite() && delta > 0.0 => Ok(Loss::Huber(delta)),
        _ => Err(format!(
            "the Huber delta must be a positive number such as `1.0`, found `{}`",
            render(expr.to_token_stream())
        )),
    }
}

/// Whether `loss` can read the output of the last layer `last`: the same rule as the
/// runtime's `Loss::reading`, with a class count for the categorical forms.
fn fits_output(loss: Loss, last: &Resolved<'_>) -> Result<(), String> {
    let (fused, what) = match loss {
        Loss::Mse | Loss::Mae | Loss::Huber(_) => return Ok(()),
        Loss::BinaryCrossentropy => (Activation::Sigmoid, "independent probabilities"),
        Loss::CategoricalCrossentropy | Loss::SparseCategoricalCrossentropy => {
            (Activation::Softmax, "class probabilities")
        }
    };
    let Some(kind) = last.kind else {
        return Ok(()); // the layer's own error is reported
    };
    let written = render_layer(last.def);
    match kind {
        LayerKind::Dense(a) if a == Activation::Linear || a == fused => {
            let classes = last.units.unwrap_or(2);
            if fused == Activation::Softmax && classes < 2 {
                return Err(format!(
                    "`{}` needs at least 2 classes, but the last layer `{written}` has 1 \
                     output; for one yes/no output use `dense(1, activation = sigmoid)` \
                     with `loss = binary_crossentropy`",
                    loss.name()
                ));
            }
            Ok(())
        }
        _ => Err(format!(
            "`{}` reads logits (a linear last layer, `dense(n)`) or {what} (`dense(n, \
             activation = {})`), but the last layer is `{written}`",
            loss.name(),
            if fused == Activation::Softmax {
                "softmax"
            } else {
                "sigmoid"
            }
        )),
    }
}

/// Refuses named options on a layer that has none.
pub(super) fn no_options(def: &LayerDef, example: &str, errors: &mut Errors) {
    for arg in &def.args {
        if let Arg::Named { key, .. } = arg {
            errors.push(
                key.span(),
                format!(
                    "`{}` takes no options; remove `{}` (write e.g. `{example}`)",
                    def.name.unraw(),
                    key.unraw()
                ),
            );
        }
    }
}

/// The options of `embedding`: `mask_zero = true` (id 0 is padding, as Keras's
/// `mask_zero=True`); `None` when one is invalid.
pub(super) fn embedding_options(def: &LayerDef, errors: &mut Errors) -> Option<bool> {
    let mut mask_zero = Some(false);
    for_each_option(def, errors, |key, value, errors| {
        if key.unraw() != "mask_zero" {
            unknown_option(key, &def.name, &["mask_zero"], "embeddings", errors);
            return;
        }
        mask_zero = match value {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Bool(b), ..
            }) => Some(b.value),
            _ => {
                let text = render(value.to_token_stream());
                errors.push_spanned(
                    value,
                    format!("`mask_zero` expects `true` or `false`, found `{text}`"),
                );
                None
            }
        };
    });
    mask_zero
}

/// Calls `f` on each named option of `def` in written order; a repeat is reported
/// instead.
pub(super) fn for_each_option<'a>(
    def: &'a LayerDef,
    errors: &mut Errors,
    mut f: impl FnMut(&'a Ident, &'a Expr, &mut Errors),
) {
    let mut seen: Vec<&Ident> = Vec::new();
    for arg in &def.args {
        let Arg::Named { key, value } = arg else {
            continue;
        };
        if seen.iter().any(|k| k.unraw() == key.unraw()) {
            errors.push(
                key.span(),
                format!("option `{}` is given twice; keep one", key.unraw()),
            );
        } else {
            seen.push(key);
            f(key, value, errors);
        }
    }
}

/// Reports an unknown option; returns the valid option it looks like a misspelling
/// of, if any.
pub(super) fn unknown_option<'v>(
    key: &Ident,
    layer_name: &Ident,
    valid: &[&'v str],
    kinds: &str,
    errors: &mut Errors,
) -> Option<&'v str> {
    let written = key.unraw().to_string();
    let near = suggest(&written, valid);
    let hint = match near {
        Some(near) => format!("did you mean `{near}`?"),
        None if valid.len() == 1 => format!("{kinds} only take `{}`", valid[0]),
        None => format!("{kinds} take {}", list(valid)),
    };
    let layer_name = layer_name.unraw();
    errors.push(
        key.span(),
        format!("unknown option `{written}` for `{layer_name}`; {hint}"),
    );
    near
}

/// The options of a recurrent layer (every field but the sizes); `None` when one is
/// invalid. Sets `layer.return_sequences`.
pub(super) fn recurrent_options(
    layer: &mut Resolved,
    def: &LayerDef,
    cell: Cell,
    errors: &mut Errors,
) -> Option<Recurrent> {
    let valid: &[&str] = match cell {
        Cell::SimpleRnn => &[
            "return_sequences",
            "activation",
            "dropout",
            "recurrent_dropout",
        ],
        _ => &[
            "return_sequences",
            "activation",
            "recurrent_activation",
            "dropout",
            "recurrent_dropout",
        ],
    };
    let mut options = Some(Recurrent {
        cell,
        hidden: 0,
        bidirectional: false,
        return_sequences: false,
        activation: CellActivation::Tanh,
        recurrent_activation: CellActivation::Sigmoid,
        dropout: 0.0,
        recurrent_dropout: 0.0,
    });
    let label = format!("`{}`", render_layer(def));
    for_each_option(def, errors, |key, value, errors| {
        let written = key.unraw().to_string();
        let fail = |options: &mut Option<Recurrent>| *options = None;
        match written.as_str() {
            "return_sequences" => {
                layer.return_sequences = match value {
                    Expr::Lit(syn::ExprLit {
                        lit: Lit::Bool(b), ..
                    }) => Some(b.value),
                    _ => {
                        let text = render(value.to_token_stream());
                        let message =
                            format!("`return_sequences` expects `true` or `false`, found `{text}`");
                        errors.push_spanned(value, message);
                        None
                    }
                };
            }
            "activation" | "recurrent_activation" if valid.contains(&written.as_str()) => {
                match parse_cell_activation(&written, value) {
                    Ok(found) => {
                        if let Some(o) = options.as_mut() {
                            if written == "activation" {
                                o.activation = found;
                            } else {
                                o.recurrent_activation = found;
                            }
                        }
                    }
                    Err(message) => {
                        errors.push_spanned(value, message);
                        fail(&mut options);
                    }
                }
            }
            "dropout" | "recurrent_dropout" => {
                match rate(value, &format!("`{written}` of {label}"), errors) {
                    Some(r) => {
                        if let Some(o) = options.as_mut() {
                            if written == "dropout" {
                                o.dropout = r;
                            } else {
                                o.recurrent_dropout = r;
                            }
                        }
                    }
                    None => fail(&mut options),
                }
            }
            "recurrent_activation" => {
                errors.push(
                    key.span(),
                    "`simple_rnn` has no gates and so no `recurrent_activation`; \
                     set its one activation with `activation = ...`",
                );
                fail(&mut options);
            }
            _ => {
                if unknown_option(key, &def.name, valid, "recurrent layers", errors)
                    == Some("return_sequences")
                {
                    // Probably meant `return_sequences`, with a value we cannot trust.
                    layer.return_sequences = None;
                }
                fail(&mut options);
            }
        }
    });
    options
}

/// The cell activation named by `value` for option `option`, or why there is none.
pub(super) fn parse_cell_activation(option: &str, value: &Expr) -> Result<CellActivation, String> {
    let names = CellActivation::ALL.map(CellActivation::name);
    let written = match value {
        Expr::Path(path) if path.qself.is_none() => path.path.get_ident(),
        _ => None,
    };
    let Some(written) = written else {
        let text = render(value.to_token_stream());
        return Err(format!(
            "`{option}` expects one of {}, found `{text}`",
            list(&names)
        ));
    };
    let written = written.unraw().to_string();
    if let Some(found) = CellActivation::ALL
        .into_iter()
        .find(|a| a.name() == written)
    {
        return Ok(found);
    }
    if Activation::ALL.iter().any(|a| a.name() == written) {
        return Err(format!(
            "`{written}` is not available on recurrent layers; `{option}` expects one of {}",
            list(&names)
        ));
    }
    Err(match suggest(&written, &names) {
        Some(near) => format!("unknown activation `{written}`; did you mean `{near}`?"),
        None => format!(
            "unknown activation `{written}`; `{option}` expects one of {}",
            list(&names)
        ),
    })
}

pub(super) fn dense_options(def: &LayerDef, errors: &mut Errors) -> Activation {
    let mut activation = Activation::Linear;
    for_each_option(def, errors, |key, value, errors| {
        if key.unraw() != "activation" {
            unknown_option(key, &def.name, &["activation"], "dense layers", errors);
            return;
        }
        match parse_activation(value) {
            Ok(found) => activation = found,
            Err(message) => errors.push_spanned(value, message),
        }
    });
    activation
}
/// The activation named by `value`, or the message explaining why there is none.
pub(super) fn parse_activation(value: &Expr) -> Result<Activation, String> {
    let names = Activation::ALL.map(Activation::name);
    let written = match value {
        Expr::Path(path) if path.qself.is_none() => path.path.get_ident(),
        _ => None,
    };
    let Some(written) = written else {
        let hint = unquote_hint(value, &names);
        let text = render(value.to_token_stream());
        return Err(format!(
            "`activation` expects one of {}, found `{text}`{hint}",
            list(&names)
        ));
    };
    let written = written.unraw().to_string();
    match Activation::ALL.into_iter().find(|a| a.name() == written) {
        Some(found) => Ok(found),
        None => Err(match suggest(&written, &names) {
            Some(near) => format!("unknown activation `{written}`; did you mean `{near}`?"),
            None => format!(
                "unknown activation `{written}`; expected one of {}",
                list(&names)
            ),
        }),
    }
}

/// `"; write `tanh` without quotes"` when `value` is one of `names` in a string literal,
/// else nothing.
fn unquote_hint(value: &Expr, names: &[&str]) -> String {
    match value {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(s), ..
        }) if names.contains(&s.value().as_str()) => {
            format!("; write `{}` without quotes", s.value())
        }
        _ => String::new(),
    }
}

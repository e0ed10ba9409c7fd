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

use std::fmt::Display;

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::{Expr, Ident, Lit, UnOp};

mod options;

use crate::diagnostics::{group_digits, list, render, render_layer, suggest};
use crate::parse::{nested_layer, Arg, LayerDef, ModelDef};
use crate::spec::{
    Activation, Cell, CellActivation, Input, Layer, LayerKind, Model, PartialShape, Recurrent,
};

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

/// Every name that may start a layer-list entry, `input` included.
const LAYER_NAMES: [&str; 8] = [
    "input",
    "lstm",
    "gru",
    "simple_rnn",
    "dense",
    "bidirectional",
    "embedding",
    "dropout",
];

/// The layers `bidirectional` may wrap.
const RECURRENT_NAMES: [&str; 3] = ["lstm", "gru", "simple_rnn"];

const INT_SUFFIXES: [&str; 12] = [
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
];

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
    let loss = options::check_options(def, layers.last(), &mut errors);

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
    check_stack(def, &model).map_err(|error| Rejected {
        error,
        shape: Some(model.shape()),
    })?;
    Ok(model)
}

/// `(timesteps, input)`, each `None` when missing or invalid.
type Shape = (Option<usize>, Option<Input>);

/// Checks the `input` entry and the list's overall form, and returns the input shape
/// with the remaining entries: the layers, numbered from 0 in this order.
fn split_input<'a>(def: &'a ModelDef, errors: &mut Errors) -> (Shape, Vec<&'a LayerDef>) {
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

/// The layer inside each `bidirectional(...)`, owned here so that resolved layers can
/// borrow from it.
fn inner_layers(defs: &[&LayerDef]) -> Vec<Option<LayerDef>> {
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

/// Collects errors so that they can be reported together.
#[derive(Default)]
struct Errors(Vec<syn::Error>);

impl Errors {
    fn push(&mut self, span: Span, message: impl Display) {
        self.0.push(syn::Error::new(span, message));
    }

    /// Points at every token of `tokens`, e.g. both `-` and `3` of `-3`.
    fn push_spanned(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.0.push(syn::Error::new_spanned(tokens, message));
    }

    fn finish(self) -> Result<(), syn::Error> {
        let mut errors = self.0.into_iter();
        match errors.next() {
            None => Ok(()),
            Some(mut first) => {
                first.extend(errors);
                Err(first)
            }
        }
    }
}

fn check_input(input: &LayerDef, errors: &mut Errors) -> Shape {
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

fn resolve<'a>(
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
            no_options(def, "embedding(1000, 16)", errors);
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
                layer.kind = Some(LayerKind::Embedding { vocab });
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
fn resolve_bidirectional<'a>(
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
fn resolve_recurrent(
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

/// Refuses named options on a layer that has none.
fn no_options(def: &LayerDef, example: &str, errors: &mut Errors) {
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

/// Calls `f` on each named option of `def` in written order; a repeat is reported
/// instead.
fn for_each_option<'a>(
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
fn unknown_option<'v>(
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
fn recurrent_options(
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
fn parse_cell_activation(option: &str, value: &Expr) -> Result<CellActivation, String> {
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

/// A dropout rate: a number literal in [0, 1).
fn rate(expr: &Expr, what: &str, errors: &mut Errors) -> Option<f32> {
    let text = render(expr.to_token_stream());
    let value = match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Float(f), ..
        }) if ["", "f32", "f64"].contains(&f.suffix()) => f.base10_parse::<f64>().ok(),
        Expr::Lit(syn::ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse::<u128>().ok().map(|v| v as f64),
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => Some(-1.0),
        _ => None,
    };
    // The rate is used as an `f32`, and e.g. 0.999999999 rounds to 1.0 there: a
    // keep-scale of 1 / (1 - rate) = ∞. So the range is checked after rounding.
    match value.map(|v| v as f32) {
        Some(v) if (0.0..1.0).contains(&v) => Some(v),
        Some(_) => {
            errors.push_spanned(expr, format!("{what} must be in [0, 1), found `{text}`"));
            None
        }
        None => {
            errors.push_spanned(
                expr,
                format!("{what} must be a number in [0, 1) such as `0.2`, found `{text}`"),
            );
            None
        }
    }
}

fn dense_options(def: &LayerDef, errors: &mut Errors) -> Activation {
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
fn parse_activation(value: &Expr) -> Result<Activation, String> {
    let names = Activation::ALL.map(Activation::name);
    let written = match value {
        Expr::Path(path) if path.qself.is_none() => path.path.get_ident(),
        _ => None,
    };
    let Some(written) = written else {
        let hint = match value {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            }) if names.contains(&s.value().as_str()) => {
                format!("; write `{}` without quotes", s.value())
            }
            _ => String::new(),
        };
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

/// The one positional argument `name` of `def`, reporting a missing or extra one.
fn single_positional<'a>(
    def: &'a LayerDef,
    label: &str,
    name: &str,
    example: &str,
    errors: &mut Errors,
) -> Option<&'a Expr> {
    let positional: Vec<&Expr> = def
        .args
        .iter()
        .filter_map(|arg| match arg {
            Arg::Positional(expr) => Some(expr),
            Arg::Named { .. } => None,
        })
        .collect();
    let layer = def.name.unraw();
    match positional.as_slice() {
        [] => {
            errors.push(
                def.name.span(),
                format!("{label} is missing `{name}`; write `{layer}({name})`, e.g. `{example}`"),
            );
            None
        }
        [one] => Some(one),
        [one, extra @ ..] => {
            let extra: TokenStream = extra.iter().map(|e| e.to_token_stream()).collect();
            errors.push_spanned(
                extra,
                format!("{label} takes one argument, `{layer}({name})`; remove the extra argument"),
            );
            Some(one)
        }
    }
}

fn single_size(layer: &Resolved, example: &str, errors: &mut Errors) -> Option<usize> {
    let sizes = sizes(layer.def, &layer.label(), &["units"], example, errors);
    sizes.first().copied().flatten()
}

/// Checks the positional arguments of `def` against the expected `names`, returning one
/// value per name, `None` where missing or invalid.
fn sizes(
    def: &LayerDef,
    label: &str,
    names: &[&str],
    example: &str,
    errors: &mut Errors,
) -> Vec<Option<usize>> {
    let positional: Vec<&Expr> = def
        .args
        .iter()
        .filter_map(|arg| match arg {
            Arg::Positional(expr) => Some(expr),
            Arg::Named { .. } => None,
        })
        .collect();
    let name = def.name.unraw();
    let signature = format!("`{name}({})`", names.join(", "));
    if positional.len() < names.len() {
        let missing: Vec<String> = names
            .iter()
            .skip(positional.len())
            .map(|n| format!("`{n}`"))
            .collect();
        errors.push(
            def.name.span(),
            format!(
                "{label} is missing {}; write {signature}, e.g. `{example}`",
                missing.join(" and ")
            ),
        );
    } else if let Some(extra) = positional.get(names.len()..).filter(|e| !e.is_empty()) {
        let count = match names.len() {
            1 => "one size".to_owned(),
            n => format!("{n} sizes"),
        };
        let mut message = format!("{label} takes {count}, {signature}; remove the extra argument");
        if let Some(hint) = option_hint(&name.to_string(), extra) {
            message = format!("{message}, or write `{hint}`");
        }
        let extra: TokenStream = extra.iter().map(|e| e.to_token_stream()).collect();
        errors.push_spanned(extra, message);
    }
    names
        .iter()
        .zip(&positional)
        .map(|(what, expr)| size(expr, what, label, errors))
        .collect()
}

/// `lstm(8, true)` and `dense(1, relu)` most likely meant the named option.
fn option_hint(layer: &str, extra: &[&Expr]) -> Option<String> {
    let [value] = extra else { return None };
    let value = render(value.to_token_stream());
    let key = match layer {
        "lstm" | "gru" | "simple_rnn" if value == "true" || value == "false" => "return_sequences",
        "dense" if Activation::ALL.iter().any(|a| a.name() == value) => "activation",
        _ => return None,
    };
    Some(format!("{key} = {value}"))
}

fn size(expr: &Expr, what: &str, label: &str, errors: &mut Errors) -> Option<usize> {
    let text = render(expr.to_token_stream());
    let (negative, lit) = match expr {
        Expr::Lit(lit) => (false, &lit.lit),
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => match &*unary.expr {
            Expr::Lit(lit) => (true, &lit.lit),
            _ => return invalid_size(expr, what, label, &text, "", errors),
        },
        _ => {
            return invalid_size(
                expr,
                what,
                label,
                &text,
                "; constants and expressions are not supported",
                errors,
            )
        }
    };
    let hint = match lit {
        Lit::Int(int) => {
            let suffix = int.suffix();
            if !suffix.is_empty() && !INT_SUFFIXES.contains(&suffix) {
                errors.push_spanned(
                    expr,
                    format!(
                        "invalid suffix `{suffix}` on {what} `{text}`; write a plain integer such as `{}`",
                        int.base10_digits()
                    ),
                );
                return None;
            }
            // Overflow of u128 is certainly above the limit as well.
            let value = int.base10_parse::<u128>().unwrap_or(u128::MAX);
            if negative || value == 0 {
                errors.push_spanned(
                    expr,
                    format!("{what} of {label} must be positive, found `{text}`"),
                );
                return None;
            }
            let value = usize::try_from(value).ok().filter(|v| *v <= MAX_SIZE);
            if value.is_none() {
                errors.push_spanned(
                    expr,
                    format!(
                        "{what} of {label} must be at most {}",
                        group_digits(MAX_SIZE as u128)
                    ),
                );
            }
            return value;
        }
        Lit::Float(float) => match float.base10_parse::<f64>() {
            Ok(value) if value.fract() == 0.0 && (1.0..=MAX_SIZE as f64).contains(&value) => {
                format!("; write `{value}`")
            }
            _ => String::new(),
        },
        Lit::Str(s) if s.value().trim().parse::<usize>().is_ok() => {
            format!("; write `{}` without quotes", s.value().trim())
        }
        _ => String::new(),
    };
    invalid_size(expr, what, label, &text, &hint, errors)
}

fn invalid_size(
    expr: &Expr,
    what: &str,
    label: &str,
    text: &str,
    hint: &str,
    errors: &mut Errors,
) -> Option<usize> {
    errors.push_spanned(
        expr,
        format!("{what} of {label} must be a positive integer, found `{text}`{hint}"),
    );
    None
}

/// Checks what the last of `layers` receives (`sequence`: whether that is a
/// sequence, `None` where unknown), and returns whether it passes on a sequence.
fn check_feed(
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
fn check_has_recurrent(layers: &[Resolved], errors: &mut Errors) {
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
fn not_a_sequence(layer: &Resolved, prev: &Resolved, errors: &mut Errors) {
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

fn check_budget(layers: &[Resolved], shape: Shape, errors: &mut Errors) {
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
fn check_stack(def: &ModelDef, model: &Model) -> Result<(), syn::Error> {
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;
    use proc_macro2::{Delimiter, TokenStream, TokenTree};
    use quote::quote;

    // As in `parse`'s tests: span comparisons are exact when proc-macro2 tracks
    // locations (`span-locations`) and trivially true otherwise, and inputs meant for
    // span checks are lexed from strings since `quote!` spans are all the call site.
    fn tokens(src: &str) -> TokenStream {
        src.parse().expect("test input must lex")
    }

    #[test]
    fn the_shape_is_read_where_errors_leave_it() {
        let shape = |layers: &str| {
            let def = parse(tokens(&format!("struct Net < {layers} >"))).ok()?;
            match check(&def) {
                Ok(model) => Some(model.shape()),
                Err(rejected) => rejected.shape,
            }
        };
        assert_eq!(
            shape("input(20, 3), lstm(8, activation = relu), dense(2)"),
            Some(PartialShape {
                timesteps: 20,
                input: Input::Features(3),
                outputs: 2,
                sequence: false
            })
        );
        assert_eq!(
            shape("input(20, 3), lstn(8), gru(4)"),
            Some(PartialShape {
                timesteps: 20,
                input: Input::Features(3),
                outputs: 4,
                sequence: false
            })
        );
        assert_eq!(shape("input(20, 0), lstm(8), dense(2)"), None);
        assert_eq!(shape("input(20, 3), lstm(8), dense(0)"), None);
        assert_eq!(shape("lstm(8), dense(1)"), None);
        assert_eq!(shape("input(20, 3)"), None);
    }

    fn run(ts: TokenStream) -> Result<Model, syn::Error> {
        match parse(ts) {
            Ok(def) => check(&def).map_err(|rejected| rejected.error),
            Err(failure) => panic!("syntax error: {}", failure.error),
        }
    }

    fn model(layers: &str) -> Model {
        let src = format!("pub struct Net < {layers} >");
        run(tokens(&src)).unwrap_or_else(|err| panic!("{src}: {err}"))
    }

    /// Every error of `< layers >` with the span it points at.
    fn errors(layers: &str) -> (TokenStream, Vec<syn::Error>) {
        let ts = tokens(&format!("struct Net < {layers} >"));
        match run(ts.clone()) {
            Ok(_) => panic!("expected errors for {layers}"),
            Err(err) => (ts, err.into_iter().collect()),
        }
    }

    /// The one error of `< layers >`, its message, and where it points.
    fn error(layers: &str) -> (TokenStream, syn::Error) {
        let (ts, mut errs) = errors(layers);
        assert_eq!(errs.len(), 1, "{layers}: {:?}", messages(&errs));
        (ts, errs.remove(0))
    }

    fn messages(errs: &[syn::Error]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    /// The span of the `nth` token (0-based) whose text is `text`.
    fn tok(ts: &TokenStream, text: &str, nth: usize) -> Span {
        fn walk(ts: &TokenStream, text: &str, found: &mut Vec<Span>) {
            for tt in ts.clone() {
                if let TokenTree::Group(g) = &tt {
                    walk(&g.stream(), text, found);
                } else if tt.to_string() == text {
                    found.push(tt.span());
                }
            }
        }
        let mut found = Vec::new();
        walk(ts, text, &mut found);
        found[nth]
    }

    /// The span from the `nth` token `first` to the token `last` right after it or later.
    fn toks(ts: &TokenStream, first: &str, nth: usize, last: &str) -> Span {
        let start = tok(ts, first, nth);
        let end = (0..)
            .map(|n| tok(ts, last, n))
            .find(|end| start.join(*end).is_some())
            .expect("end token");
        start.join(end).expect("joinable")
    }

    fn assert_at(err: &syn::Error, expected: Span) {
        assert_eq!(
            format!("{:?}", err.span()),
            format!("{expected:?}"),
            "{err}"
        );
    }

    /// Asserts the single error of `layers`: its message and the `nth` token it points at.
    fn assert_error(layers: &str, message: &str, at: &str, nth: usize) {
        let (ts, err) = error(layers);
        assert_eq!(err.to_string(), message, "{layers}");
        assert_at(&err, tok(&ts, at, nth));
    }

    fn shape(m: &Model) -> Vec<(LayerKind, usize, usize, bool)> {
        m.layers
            .iter()
            .map(|l| (l.kind, l.inputs, l.units, l.sequence_out))
            .collect()
    }

    use LayerKind::Dense;

    fn recurrent(cell: Cell, hidden: usize, return_sequences: bool) -> LayerKind {
        LayerKind::Recurrent(Recurrent {
            cell,
            hidden,
            bidirectional: false,
            return_sequences,
            activation: CellActivation::Tanh,
            recurrent_activation: CellActivation::Sigmoid,
            dropout: 0.0,
            recurrent_dropout: 0.0,
        })
    }

    fn lstm(hidden: usize, return_sequences: bool) -> LayerKind {
        recurrent(Cell::Lstm, hidden, return_sequences)
    }

    fn gru(hidden: usize, return_sequences: bool) -> LayerKind {
        recurrent(Cell::Gru, hidden, return_sequences)
    }

    fn simple_rnn(hidden: usize, return_sequences: bool) -> LayerKind {
        recurrent(Cell::SimpleRnn, hidden, return_sequences)
    }

    #[test]
    fn fixture_specs() {
        let m = model("input(4, 3), lstm(5), dense(2)");
        assert_eq!((m.timesteps, m.features()), (4, 3));
        assert_eq!(m.header.name, "Net");
        assert_eq!(
            shape(&m),
            [
                (lstm(5, false), 3, 5, false),
                (Dense(Activation::Linear), 5, 2, false)
            ]
        );

        let m = model("input(3, 2), gru(4), dense(1)");
        assert_eq!((m.timesteps, m.features()), (3, 2));
        assert_eq!(
            shape(&m),
            [
                (gru(4, false), 2, 4, false),
                (Dense(Activation::Linear), 4, 1, false)
            ]
        );

        let m = model("input(5, 2), simple_rnn(3), dense(1)");
        assert_eq!((m.timesteps, m.features()), (5, 2));
        assert_eq!(
            shape(&m),
            [
                (simple_rnn(3, false), 2, 3, false),
                (Dense(Activation::Linear), 3, 1, false)
            ]
        );

        let m = model("input(4, 2), lstm(4, return_sequences = true), lstm(3), dense(1)");
        assert_eq!((m.timesteps, m.features()), (4, 2));
        assert_eq!(
            shape(&m),
            [
                (lstm(4, true), 2, 4, true),
                (lstm(3, false), 4, 3, false),
                (Dense(Activation::Linear), 3, 1, false)
            ]
        );

        let m = model("input(3, 2), gru(4), dense(3, activation = tanh), dense(1)");
        assert_eq!((m.timesteps, m.features()), (3, 2));
        assert_eq!(
            shape(&m),
            [
                (gru(4, false), 2, 4, false),
                (Dense(Activation::Tanh), 4, 3, false),
                (Dense(Activation::Linear), 3, 1, false)
            ]
        );
    }

    #[test]
    fn quoted_spec_with_docs_and_attributes() {
        let m = run(quote! {
            /// A sine predictor.
            #[derive(Clone)]
            pub(crate) struct SineNet < input(20, 1), lstm(50), dense(1) >
        })
        .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(m.header.name, "SineNet");
        assert_eq!(m.header.attrs.len(), 2);
        assert!(matches!(m.header.vis, syn::Visibility::Restricted(_)));
        assert_eq!((m.timesteps, m.features()), (20, 1));
        assert_eq!(
            shape(&m),
            [
                (lstm(50, false), 1, 50, false),
                (Dense(Activation::Linear), 50, 1, false)
            ]
        );
    }

    #[test]
    fn every_option_value() {
        let m = model(
            "input(2, 1), lstm(3, return_sequences = true), gru(4, return_sequences = true), \
             simple_rnn(5, return_sequences = false), dense(6, activation = linear), \
             dense(7, activation = relu), dense(8, activation = sigmoid), \
             dense(9, activation = tanh), dense(10, activation = softmax), \
             dense(11, activation = gelu), dense(12, activation = elu), \
             dense(13, activation = softplus), dense(1),",
        );
        assert_eq!(
            shape(&m),
            [
                (lstm(3, true), 1, 3, true),
                (gru(4, true), 3, 4, true),
                (simple_rnn(5, false), 4, 5, false),
                (Dense(Activation::Linear), 5, 6, false),
                (Dense(Activation::Relu), 6, 7, false),
                (Dense(Activation::Sigmoid), 7, 8, false),
                (Dense(Activation::Tanh), 8, 9, false),
                (Dense(Activation::Softmax), 9, 10, false),
                (Dense(Activation::Gelu), 10, 11, false),
                (Dense(Activation::Elu), 11, 12, false),
                (Dense(Activation::Softplus), 12, 13, false),
                (Dense(Activation::Linear), 13, 1, false),
            ]
        );
        // A recurrent layer alone is a valid model, and so is an option before the size.
        let m = model("input(2, 1), gru(return_sequences = false, 3)");
        assert_eq!(shape(&m), [(gru(3, false), 1, 3, false)]);
    }

    #[test]
    fn size_literal_forms() {
        let m = model("input(1_000_000, 0x10), lstm(3usize), dense(1u32)");
        assert_eq!((m.timesteps, m.features()), (MAX_SIZE, 16));
        assert_eq!(m.layers[0].units, 3);
        assert_eq!(m.layers[1].units, 1);
    }

    #[test]
    fn layer_span_starts_at_the_name() {
        let ts = tokens("struct Net < input(1, 1), gru(2) >");
        let m = run(ts.clone()).unwrap_or_else(|err| panic!("{err}"));
        let span = format!("{:?}", m.layers[0].span);
        let name = format!("{:?}", tok(&ts, "gru", 0));
        assert_eq!(span.split("..").next(), name.split("..").next());
    }

    #[test]
    fn unknown_layer_names() {
        assert_error(
            "input(20, 1), lstn(5), dense(1)",
            "unknown layer `lstn`; did you mean `lstm`?",
            "lstn",
            0,
        );
        assert_error(
            "input(20, 1), lsmt(5), dense(1)",
            "unknown layer `lsmt`; did you mean `lstm`?",
            "lsmt",
            0,
        );
        assert_error(
            "inptu(20, 1), lstm(5), dense(1)",
            "unknown layer `inptu`; did you mean `input`?",
            "inptu",
            0,
        );
        assert_error(
            "input(20, 1), rnn(5), dense(1)",
            "unknown layer `rnn`; did you mean `simple_rnn`?",
            "rnn",
            0,
        );
        assert_error(
            "input(20, 1), lstm(5), Dense(1)",
            "unknown layer `Dense`; did you mean `dense`?",
            "Dense",
            0,
        );
        assert_error(
            "input(20, 1), conv(5), dense(1)",
            "unknown layer `conv`; expected one of `input`, `lstm`, `gru`, `simple_rnn`, `dense`, \
             `bidirectional`, `embedding`, `dropout`",
            "conv",
            0,
        );
    }

    #[test]
    fn unknown_options() {
        assert_error(
            "input(20, 1), lstm(5, activaton = relu), dense(1)",
            "unknown option `activaton` for `lstm`; did you mean `activation`?",
            "activaton",
            0,
        );
        assert_error(
            "input(20, 1), lstm(5, units = 3), dense(1)",
            "unknown option `units` for `lstm`; recurrent layers take `return_sequences`, \
             `activation`, `recurrent_activation`, `dropout`, `recurrent_dropout`",
            "units",
            0,
        );
        assert_error(
            "input(20, 1), gru(5, return_sequence = true), gru(2)",
            "unknown option `return_sequence` for `gru`; did you mean `return_sequences`?",
            "return_sequence",
            0,
        );
        assert_error(
            "input(20, 1), lstm(5), dense(1, return_sequences = true)",
            "unknown option `return_sequences` for `dense`; dense layers only take `activation`",
            "return_sequences",
            0,
        );
        assert_error(
            "input(20, 1), lstm(5), dense(1, activaton = relu)",
            "unknown option `activaton` for `dense`; did you mean `activation`?",
            "activaton",
            0,
        );
        assert_error(
            "input(20, 1, batch = 3), lstm(5), dense(1)",
            "`input` takes no options; remove `batch`",
            "batch",
            0,
        );
    }

    #[test]
    fn repeated_options() {
        assert_error(
            "input(2, 1), lstm(3, return_sequences = true, return_sequences = true), lstm(2)",
            "option `return_sequences` is given twice; keep one",
            "return_sequences",
            1,
        );
        assert_error(
            "input(2, 1), lstm(3), dense(1, activation = relu, activation = tanh)",
            "option `activation` is given twice; keep one",
            "activation",
            1,
        );
    }

    #[test]
    fn wrong_option_values() {
        assert_error(
            "input(2, 1), lstm(3), dense(1, activation = swish)",
            "unknown activation `swish`; expected one of `linear`, `relu`, `tanh`, `sigmoid`, \
             `softmax`, `gelu`, `elu`, `softplus`",
            "swish",
            0,
        );
        assert_error(
            "input(2, 1), lstm(3), dense(1, activation = sigmod)",
            "unknown activation `sigmod`; did you mean `sigmoid`?",
            "sigmod",
            0,
        );
        assert_error(
            "input(2, 1), lstm(3), dense(1, activation = \"relu\")",
            "`activation` expects one of `linear`, `relu`, `tanh`, `sigmoid`, `softmax`, `gelu`, \
             `elu`, `softplus`, found `\"relu\"`; write `relu` without quotes",
            "\"relu\"",
            0,
        );
        assert_error(
            "input(2, 1), lstm(3, return_sequences = 1), dense(1)",
            "`return_sequences` expects `true` or `false`, found `1`",
            "1",
            1,
        );
        let (ts, err) = error("input(2, 1), lstm(3, return_sequences = yes.no), dense(1)");
        assert_eq!(
            err.to_string(),
            "`return_sequences` expects `true` or `false`, found `yes.no`"
        );
        assert_at(&err, toks(&ts, "yes", 0, "no"));
    }

    #[test]
    fn invalid_sizes() {
        assert_error(
            "input(2, 1), lstm(0), dense(1)",
            "units of layer 0 `lstm(0)` must be positive, found `0`",
            "0",
            0,
        );
        assert_error(
            "input(2, 1), lstm(3), dense(2.5)",
            "units of layer 1 `dense(2.5)` must be a positive integer, found `2.5`",
            "2.5",
            0,
        );
        assert_error(
            "input(2, 1), lstm(8.0), dense(1)",
            "units of layer 0 `lstm(8.0)` must be a positive integer, found `8.0`; write `8`",
            "8.0",
            0,
        );
        assert_error(
            "input(\"20\", 1), lstm(3), dense(1)",
            "timesteps of `input(\"20\", 1)` must be a positive integer, found `\"20\"`; \
             write `20` without quotes",
            "\"20\"",
            0,
        );
        assert_error(
            "input(2, 1), lstm(N), dense(1)",
            "units of layer 0 `lstm(N)` must be a positive integer, found `N`; \
             constants and expressions are not supported",
            "N",
            0,
        );
        assert_error(
            "input(2, 1), lstm(50foo), dense(1)",
            "invalid suffix `foo` on units `50foo`; write a plain integer such as `50`",
            "50foo",
            0,
        );
        assert_error(
            "input(2000000, 1), lstm(3), dense(1)",
            "timesteps of `input(2000000, 1)` must be at most 1_000_000",
            "2000000",
            0,
        );
        assert_error(
            "input(2, 1), lstm(3), dense(1000000000000000000000000000000000000000000)",
            "units of layer 1 `dense(1000000000000000000000000000000000000000000)` \
             must be at most 1_000_000",
            "1000000000000000000000000000000000000000000",
            0,
        );

        // Multi-token sizes are underlined whole.
        let (ts, err) = error("input(2, -1), lstm(3), dense(1)");
        assert_eq!(
            err.to_string(),
            "features of `input(2, -1)` must be positive, found `-1`"
        );
        assert_at(&err, toks(&ts, "-", 0, "1"));
        let (ts, err) = error("input(2, 1), lstm(2 * 3), dense(1)");
        assert_eq!(
            err.to_string(),
            "units of layer 0 `lstm(2 * 3)` must be a positive integer, found `2 * 3`; \
             constants and expressions are not supported"
        );
        assert_at(&err, toks(&ts, "2", 1, "3"));
        let (ts, err) = error("input(2, 1), lstm(-x), dense(1)");
        assert_eq!(
            err.to_string(),
            "units of layer 0 `lstm(-x)` must be a positive integer, found `-x`"
        );
        assert_at(&err, toks(&ts, "-", 0, "x"));
    }

    #[test]
    fn wrong_argument_counts() {
        assert_error(
            "input(2, 1), lstm(), dense(1)",
            "layer 0 `lstm()` is missing `units`; write `lstm(units)`, e.g. `lstm(8)`",
            "lstm",
            0,
        );
        assert_error(
            "input(2, 1), lstm(3), dense(activation = relu)",
            "layer 1 `dense(activation = relu)` is missing `units`; write `dense(units)`, \
             e.g. `dense(1)`",
            "dense",
            0,
        );
        assert_error(
            "input(20), lstm(3), dense(1)",
            "`input(20)` declares token ids, which only an `embedding(vocab, dim)` layer 0 \
             can read; add one before layer 0 `lstm(3)`, or write `input(20, features)` for \
             real-valued input",
            "lstm",
            0,
        );
        assert_error(
            "input(), lstm(3), dense(1)",
            "`input()` is missing `timesteps` and `features`; write `input(timesteps, features)`, \
             e.g. `input(20, 1)`",
            "input",
            0,
        );
        assert_error(
            "input(2, 1), lstm(1, 2), dense(1)",
            "layer 0 `lstm(1, 2)` takes one size, `lstm(units)`; remove the extra argument",
            "2",
            1,
        );
        let (ts, err) = error("input(2, 1, 3, 4), lstm(3), dense(1)");
        assert_eq!(
            err.to_string(),
            "`input(2, 1, 3, 4)` takes 2 sizes, `input(timesteps, features)`; \
             remove the extra argument"
        );
        assert_at(&err, toks(&ts, "3", 0, "4"));
        assert_error(
            "input(2, 1), gru(3, true), dense(1)",
            "layer 0 `gru(3, true)` takes one size, `gru(units)`; remove the extra argument, \
             or write `return_sequences = true`",
            "true",
            0,
        );
        assert_error(
            "input(2, 1), gru(3), dense(1, relu)",
            "layer 1 `dense(1, relu)` takes one size, `dense(units)`; remove the extra argument, \
             or write `activation = relu`",
            "relu",
            0,
        );
    }

    #[test]
    fn input_placement() {
        assert_error(
            "lstm(3), dense(1)",
            "missing `input(timesteps, features)`: start the list with it, e.g. `input(20, 1)`",
            "lstm",
            0,
        );
        assert_error(
            "input(2, 1), lstm(3), input(4, 1), dense(1)",
            "duplicate `input`: a model has exactly one input; remove this one",
            "input",
            1,
        );
        assert_error(
            "lstm(3), input(2, 1), dense(1)",
            "`input(2, 1)` must come first, before layer 0 `lstm(3)`",
            "input",
            0,
        );
        assert_error(
            "",
            "empty model: write e.g. `< input(20, 1), lstm(8), dense(1) >`",
            "<",
            0,
        );
        assert_error(
            "input(20, 1),",
            "the model has no layers after `input(20, 1)`; add some, e.g. `lstm(8), dense(1)`",
            ">",
            0,
        );
    }

    #[test]
    fn structure() {
        assert_error(
            "input(2, 1), lstm(8), gru(4), dense(1)",
            "layer 1 `gru(4)` expects a sequence, but layer 0 `lstm(8)` returns only its last \
             state; add `return_sequences = true` to layer 0",
            "gru",
            0,
        );
        assert_error(
            "input(20, 1), dense(1)",
            "the model has no recurrent layer; add one of `lstm`, `gru`, `simple_rnn`, e.g. \
             `lstm(8)`",
            "dense",
            0,
        );
        assert_error(
            "input(2, 1), gru(3), dense(2), simple_rnn(4)",
            "layer 2 `simple_rnn(4)` expects a sequence, but layer 1 `dense(2)` passes on one \
             vector per sample (what it receives is not a sequence); add \
             `return_sequences = true` to the recurrent layer before it",
            "simple_rnn",
            0,
        );
        assert_error(
            "input(2, 1), lstm(3), dropout(0.1), lstm(2)",
            "layer 2 `lstm(2)` expects a sequence, but layer 1 `dropout(0.1)` passes on one \
             vector per sample (what it receives is not a sequence); add \
             `return_sequences = true` to the recurrent layer before it",
            "lstm",
            1,
        );
    }

    #[test]
    fn sequence_outputs_and_per_step_dense() {
        let m = model("input(5, 3), lstm(4, return_sequences = true), dense(2)");
        assert!(m.sequence_output());
        assert_eq!(
            shape(&m),
            [
                (lstm(4, true), 3, 4, true),
                (Dense(Activation::Linear), 4, 2, true)
            ]
        );
        let m = model("input(5, 3), dense(6, activation = relu), gru(4, return_sequences = true)");
        assert!(m.sequence_output());
        assert!(m.layers[0].sequence_in);
        assert_eq!(m.layers[1].inputs, 6);
        let m = model("input(5, 3), lstm(4), dense(2)");
        assert!(!m.sequence_output());
    }

    #[test]
    fn bidirectional_layers() {
        let m = model("input(4, 3), bidirectional(lstm(3)), dense(2)");
        let LayerKind::Recurrent(r) = m.layers[0].kind else {
            panic!("recurrent")
        };
        assert!(r.bidirectional && !r.return_sequences);
        assert_eq!((r.cell, r.hidden, m.layers[0].units), (Cell::Lstm, 3, 6));
        assert_eq!(m.layers[1].inputs, 6);
        assert_eq!(m.layers[0].param_count(), 2 * (12 * 3 + 12 * 3 + 24));
        let m = model("input(4, 2), bidirectional(gru(3, return_sequences = true)), dense(1)");
        assert!(m.sequence_output());

        assert_error(
            "input(4, 2), bidirectional(dense(3)), dense(1)",
            "`bidirectional` wraps a recurrent layer (`lstm`, `gru`, `simple_rnn`), found \
             `dense(3)`",
            "dense",
            0,
        );
        assert_error(
            "input(4, 2), bidirectional(lstm(3), return_sequences = true), dense(1)",
            "`bidirectional` takes no options; write them on the wrapped layer, e.g. \
             `bidirectional(lstm(8, return_sequences = ...))`",
            "return_sequences",
            0,
        );
        assert_error(
            "input(4, 2), bidirectional(8), dense(1)",
            "`bidirectional` wraps one recurrent layer, e.g. `bidirectional(lstm(8))`, found `8`",
            "8",
            0,
        );
        let (ts, err) = error("input(4, 2), bidirectional(lstm(-3)), dense(1)");
        assert_eq!(
            err.to_string(),
            "units of layer 0 `lstm(-3)` must be positive, found `-3`"
        );
        assert_at(&err, toks(&ts, "-", 0, "3"));
    }

    #[test]
    fn embeddings() {
        let m = model("input(6), embedding(10, 4), lstm(5), dense(3)");
        assert_eq!(m.input, Input::Tokens);
        assert_eq!(m.layers[0].kind, LayerKind::Embedding { vocab: 10 });
        assert_eq!((m.layers[0].units, m.layers[1].inputs), (4, 4));
        assert_eq!(m.layers[0].param_count(), 40);
        assert_error(
            "input(6, 2), embedding(10, 4), lstm(5)",
            "layer 0 `embedding(10, 4)` reads token ids, but the input has 2 features per \
             step; declare token input as `input(6)`",
            "embedding",
            0,
        );
        assert_error(
            "input(6), embedding(10, 4), embedding(3, 2), lstm(5)",
            "layer 1 `embedding(3, 2)` must be layer 0, right after `input(T)`: it turns token \
             ids into vectors",
            "embedding",
            1,
        );
        assert_error(
            "input(6), embedding(10), lstm(5)",
            "layer 0 `embedding(10)` is missing `dim`; write `embedding(vocab, dim)`, e.g. \
             `embedding(1000, 16)`",
            "embedding",
            0,
        );
    }

    #[test]
    fn dropout_and_cell_options() {
        let m = model(
            "input(4, 3), lstm(4, dropout = 0.25, recurrent_dropout = 0.5, activation = relu, \
             recurrent_activation = tanh), dropout(0.2), dense(2)",
        );
        let LayerKind::Recurrent(r) = m.layers[0].kind else {
            panic!("recurrent")
        };
        assert_eq!((r.dropout, r.recurrent_dropout), (0.25, 0.5));
        assert_eq!(
            (r.activation, r.recurrent_activation),
            (CellActivation::Relu, CellActivation::Tanh)
        );
        assert_eq!(m.layers[1].kind, LayerKind::Dropout(0.2));
        assert_eq!((m.layers[1].inputs, m.layers[1].units), (4, 4));
        assert_eq!(m.layers[1].param_count(), 0);

        assert_error(
            "input(4, 3), lstm(4), dropout(1.0), dense(1)",
            "the rate of layer 1 `dropout(1.0)` must be in [0, 1), found `1.0`",
            "1.0",
            0,
        );
        let (ts, err) = error("input(4, 3), lstm(4, recurrent_dropout = -0.1), dense(1)");
        assert_eq!(
            err.to_string(),
            "`recurrent_dropout` of `lstm(4, recurrent_dropout = -0.1)` must be in [0, 1), \
             found `-0.1`"
        );
        assert_at(&err, toks(&ts, "-", 0, "0.1"));
        assert_error(
            "input(4, 3), lstm(4), dropout(rate), dense(1)",
            "the rate of layer 1 `dropout(rate)` must be a number in [0, 1) such as `0.2`, \
             found `rate`",
            "rate",
            0,
        );
        assert_error(
            "input(4, 3), gru(4, activation = softmax), dense(1)",
            "`softmax` is not available on recurrent layers; `activation` expects one of \
             `tanh`, `sigmoid`, `relu`, `linear`",
            "softmax",
            0,
        );
        assert_error(
            "input(4, 3), simple_rnn(4, recurrent_activation = tanh), dense(1)",
            "`simple_rnn` has no gates and so no `recurrent_activation`; set its one \
             activation with `activation = ...`",
            "recurrent_activation",
            0,
        );
    }

    #[test]
    fn parameter_budget() {
        assert_eq!(
            lstm(5, false).param_count(3, 5),
            4 * 5 * 3 + 4 * 5 * 5 + 2 * 4 * 5
        );
        assert_eq!(
            gru(4, false).param_count(2, 4),
            3 * 4 * 2 + 3 * 4 * 4 + 2 * 3 * 4
        );
        assert_eq!(
            simple_rnn(3, false).param_count(2, 3),
            3 * 2 + 3 * 3 + 2 * 3
        );
        assert_eq!(Dense(Activation::Relu).param_count(4, 3), 4 * 3 + 3);

        // 4*h*i + 4*h*h + 8*h with i = 1, h = 5000: 100_060_000, just over the limit.
        assert_error(
            "input(2, 1), lstm(5000), dense(1)",
            "the model has 100_065_001 parameters, above the limit of 100_000_000; \
             the biggest is layer 0 `lstm(5000)` with 100_060_000",
            "lstm",
            0,
        );
        // The biggest layer is blamed, not the first.
        assert_error(
            "input(2, 1), gru(10), dense(20000), dense(10000)",
            "the model has 200_230_390 parameters, above the limit of 100_000_000; \
             the biggest is layer 2 `dense(10000)` with 200_010_000",
            "dense",
            1,
        );
        // Just under the limit is fine.
        let m = model("input(2, 1), lstm(4990), dense(1)");
        assert_eq!(m.layers[0].units, 4990);
    }

    /// A rate below 1 that rounds to 1.0 as an `f32` made a keep-scale of
    /// 1 / (1 - 1) = ∞ in training; found by review while writing the property tests.
    #[test]
    fn rates_are_checked_after_rounding_to_f32() {
        assert_error(
            "input(4, 3), lstm(4), dropout(0.99999999), dense(1)",
            "the rate of layer 1 `dropout(0.99999999)` must be in [0, 1), found `0.99999999`",
            "0.99999999",
            0,
        );
        assert_error(
            "input(4, 3), gru(4, recurrent_dropout = 0.999999999999), dense(1)",
            "`recurrent_dropout` of `gru(4, recurrent_dropout = 0.999999999999)` must be in \
             [0, 1), found `0.999999999999`",
            "0.999999999999",
            0,
        );
        // The largest `f32` below 1 is fine.
        let m = model("input(4, 3), lstm(4, dropout = 0.99999994), dense(1)");
        let LayerKind::Recurrent(r) = m.layers[0].kind else {
            panic!("recurrent")
        };
        assert!(r.dropout < 1.0);
    }

    #[test]
    fn every_size_names_the_limit_at_its_literal() {
        for (layers, what) in [
            (
                "input(1000001, 1), lstm(2), dense(1)",
                "timesteps of `input(1000001, 1)`",
            ),
            (
                "input(2, 1000001), lstm(2), dense(1)",
                "features of `input(2, 1000001)`",
            ),
            (
                "input(2), embedding(1000001, 4), lstm(2)",
                "vocab of layer 0 `embedding(1000001, 4)`",
            ),
            (
                "input(2), embedding(4, 1000001), lstm(2)",
                "dim of layer 0 `embedding(4, 1000001)`",
            ),
            (
                "input(2, 1), lstm(1000001), dense(1)",
                "units of layer 0 `lstm(1000001)`",
            ),
            (
                "input(2, 1), gru(1000001), dense(1)",
                "units of layer 0 `gru(1000001)`",
            ),
            (
                "input(2, 1), simple_rnn(1000001)",
                "units of layer 0 `simple_rnn(1000001)`",
            ),
            (
                "input(2, 1), bidirectional(lstm(1000001))",
                "units of layer 0 `lstm(1000001)`",
            ),
            (
                "input(2, 1), lstm(2), dense(1000001)",
                "units of layer 1 `dense(1000001)`",
            ),
        ] {
            assert_error(
                layers,
                &format!("{what} must be at most 1_000_000"),
                "1000001",
                0,
            );
        }
        // Beyond `u128` too.
        assert_error(
            "input(2, 1), lstm(10000000000000000000000000000000000000000), dense(1)",
            "units of layer 0 `lstm(10000000000000000000000000000000000000000)` must be at \
             most 1_000_000",
            "10000000000000000000000000000000000000000",
            0,
        );
        // Exactly at the limit is fine.
        let m = model("input(1000000, 1000000), simple_rnn(1), dense(1000000)");
        assert_eq!(
            (m.timesteps, m.features(), m.outputs()),
            (MAX_SIZE, MAX_SIZE, MAX_SIZE)
        );
    }

    #[test]
    fn layer_count_limit() {
        let layers = |n: usize| {
            let mut spec = "input(2, 1), lstm(2, return_sequences = true)".to_owned();
            for _ in 1..n {
                spec.push_str(", dropout(0.1)");
            }
            spec
        };
        let m = model(&layers(MAX_LAYERS));
        assert_eq!(m.layers.len(), MAX_LAYERS);
        assert_error(
            &layers(MAX_LAYERS + 2),
            "the model has 258 layers after `input`, above the limit of 256; layer 256 \
             `dropout(0.1)` is the first one too many",
            "dropout",
            MAX_LAYERS - 1,
        );
    }

    #[test]
    fn stack_limit_blames_the_biggest_array() {
        // A bidirectional model holds every layer's whole sequence.
        assert_error(
            "input(20000, 1), bidirectional(gru(500, return_sequences = true)), dense(1)",
            "`predict_one` would hold 20_043_500 values on the stack, above the limit of \
             16_777_216 (64 MiB); the biggest array is layer 0 \
             `bidirectional(gru(500, return_sequences = true))` with 20_003_500: shorten \
             the sequence or narrow the layers",
            "bidirectional",
            0,
        );
        // ... and a copy of the input.
        assert_error(
            "input(100000, 200), bidirectional(simple_rnn(1)), dense(1)",
            "`predict_one` would hold 20_000_008 values on the stack, above the limit of \
             16_777_216 (64 MiB); the biggest array is the copy of the input \
             `input(100000, 200)` with 20_000_000: shorten the sequence or narrow the layers",
            "input",
            0,
        );
        // A many-to-many model without one holds its output.
        assert_error(
            "input(100000, 1), lstm(8, return_sequences = true), dense(200)",
            "`predict_one` would hold 20_000_256 values on the stack, above the limit of \
             16_777_216 (64 MiB); the biggest array is layer 1 `dense(200)` with \
             20_000_000: shorten the sequence or narrow the layers",
            "dense",
            0,
        );
        // A long many-to-one model holds one step at a time: no bound from `T`.
        model("input(1000000, 1000), lstm(8), dense(1)");
        model("input(4000, 1), bidirectional(lstm(32, return_sequences = true)), dense(1)");
    }

    #[test]
    fn all_errors_are_reported_together_in_order() {
        let (ts, errs) = errors(
            "lstn(5), input(0, 1), lstm(8, activaton = relu), gru(-4), \
             dense(1, activation = swish), input(1, 1)",
        );
        assert_eq!(
            messages(&errs),
            [
                "`input(0, 1)` must come first, before layer 0 `lstn(5)`",
                "timesteps of `input(0, 1)` must be positive, found `0`",
                "duplicate `input`: a model has exactly one input; remove this one",
                "unknown layer `lstn`; did you mean `lstm`?",
                "unknown option `activaton` for `lstm`; did you mean `activation`?",
                "units of layer 2 `gru(-4)` must be positive, found `-4`",
                "layer 2 `gru(-4)` expects a sequence, but layer 1 `lstm(8, activaton = relu)` \
                 returns only its last state; add `return_sequences = true` to layer 1",
                "unknown activation `swish`; expected one of `linear`, `relu`, `tanh`, \
                 `sigmoid`, `softmax`, `gelu`, `elu`, `softplus`",
            ]
        );
        assert_at(&errs[0], tok(&ts, "input", 0));
        assert_at(&errs[1], tok(&ts, "0", 0));
        assert_at(&errs[2], tok(&ts, "input", 1));
        assert_at(&errs[3], tok(&ts, "lstn", 0));
        assert_at(&errs[4], tok(&ts, "activaton", 0));
        assert_at(&errs[5], toks(&ts, "-", 0, "4"));
        assert_at(&errs[6], tok(&ts, "gru", 0));
        assert_at(&errs[7], tok(&ts, "swish", 0));
    }

    #[test]
    fn several_errors_in_one_layer_come_in_written_order() {
        let (ts, errs) =
            errors("input(2, 1), lstm(0, return_sequences = 2, return_sequences = true, foo = 1)");
        assert_eq!(
            messages(&errs),
            [
                "units of layer 0 `lstm(0, return_sequences = 2, return_sequences = true, \
                 foo = 1)` must be positive, found `0`",
                "`return_sequences` expects `true` or `false`, found `2`",
                "option `return_sequences` is given twice; keep one",
                "unknown option `foo` for `lstm`; recurrent layers take `return_sequences`, \
             `activation`, `recurrent_activation`, `dropout`, `recurrent_dropout`",
            ]
        );
        assert_at(&errs[0], tok(&ts, "0", 0));
        assert_at(&errs[1], tok(&ts, "2", 1));
        assert_at(&errs[2], tok(&ts, "return_sequences", 1));
        assert_at(&errs[3], tok(&ts, "foo", 0));
    }

    #[test]
    fn one_mistake_is_reported_once() {
        // An invalid `return_sequences` value does not also break the chain.
        let (_, errs) = errors("input(2, 1), lstm(3, return_sequences = 1), lstm(2), dense(1)");
        assert_eq!(errs.len(), 1, "{:?}", messages(&errs));
        // Nor does an unknown layer or a wrong size upset its neighbours or the budget.
        let (_, errs) = errors("input(2, 1), lsmt(3), lstm(2), dense(1)");
        assert_eq!(errs.len(), 1, "{:?}", messages(&errs));
        let (_, errs) = errors("input(2, 1), lstm(0), dense(1)");
        assert_eq!(errs.len(), 1, "{:?}", messages(&errs));
        // `< >` is one mistake, not a missing input as well.
        let (_, errs) = errors("");
        assert_eq!(errs.len(), 1, "{:?}", messages(&errs));
    }

    #[test]
    fn a_dense_only_model_without_input_reports_both() {
        let (ts, errs) = errors("dense(1)");
        assert_eq!(errs.len(), 2, "{:?}", messages(&errs));
        assert_eq!(
            errs[1].to_string(),
            "the model has no recurrent layer; add one of `lstm`, `gru`, `simple_rnn`, e.g. \
             `lstm(8)`"
        );
        assert_at(&errs[0], tok(&ts, "dense", 0));
        assert_at(&errs[1], tok(&ts, "dense", 0));
    }

    /// Flattens a token stream into source-like atoms, delimiters included.
    fn atoms(ts: TokenStream, out: &mut Vec<String>) {
        for tt in ts {
            match tt {
                TokenTree::Group(g) => {
                    let (open, close) = match g.delimiter() {
                        Delimiter::Parenthesis => ("(", ")"),
                        Delimiter::Bracket => ("[", "]"),
                        Delimiter::Brace => ("{", "}"),
                        Delimiter::None => ("", ""),
                    };
                    out.push(open.to_owned());
                    atoms(g.stream(), out);
                    out.push(close.to_owned());
                }
                other => out.push(other.to_string()),
            }
        }
    }

    #[test]
    fn never_panics_on_mutated_specs() {
        let seeds = [
            "/// Doc.\n#[derive(Clone)] pub struct SineNet < input(20, 1), lstm(50), dense(1) >",
            "struct A < input(4, 3), lstm(5), dense(2) >",
            "struct B < input(3, 2), gru(4), dense(1) >",
            "struct C < input(5, 2), simple_rnn(3), dense(1), >",
            "struct D < input(4, 2), lstm(4, return_sequences = true), lstm(3), dense(1) >",
            "struct E < input(3, 2), gru(4), dense(3, activation = tanh), dense(1) >",
        ];
        let junk = [
            ">",
            "<",
            ",",
            "=",
            "==",
            "(",
            ")",
            "[",
            "]",
            "{",
            "}",
            "0",
            "-",
            "1.5",
            "\"s\"",
            "input",
            "struct",
            "lstm",
            "dense",
            "true",
            ";",
            "#",
            "pub",
            "x",
            "_",
            "'a",
            "99999999999999999999999999999999999999999",
            "return_sequences",
            "activation",
        ];
        let (mut ok, mut failed, mut tried) = (0, 0, 0);
        for seed in seeds {
            let mut base = Vec::new();
            atoms(tokens(seed), &mut base);
            let mut variants = Vec::new();
            for i in 0..base.len() {
                let mut v = base.clone();
                v.remove(i);
                variants.push(v);
                let mut v = base.clone();
                v.insert(i, base[i].clone());
                variants.push(v);
                if i + 1 < base.len() {
                    let mut v = base.clone();
                    v.swap(i, i + 1);
                    variants.push(v);
                }
                for j in junk {
                    let mut v = base.clone();
                    v[i] = j.to_owned();
                    variants.push(v);
                    let mut v = base.clone();
                    v.insert(i, j.to_owned());
                    variants.push(v);
                }
            }
            variants.push(Vec::new());
            for variant in variants {
                let src = variant.join(" ");
                // Unbalanced delimiters do not lex, so the macro never sees them.
                let Ok(ts) = src.parse::<TokenStream>() else {
                    continue;
                };
                tried += 1;
                let outcome = std::panic::catch_unwind(|| match parse(ts) {
                    Ok(def) => match check(&def) {
                        Ok(_) => true,
                        Err(rejected) => {
                            assert!(!rejected.error.to_compile_error().is_empty());
                            false
                        }
                    },
                    Err(failure) => {
                        assert!(!failure.error.to_compile_error().is_empty());
                        false
                    }
                });
                match outcome {
                    Ok(true) => ok += 1,
                    Ok(false) => failed += 1,
                    Err(_) => panic!("panicked on {src}"),
                }
            }
        }
        assert!(tried > 3000, "{tried}");
        assert!(ok > 0 && failed > ok, "{ok} ok, {failed} failed");
    }
}

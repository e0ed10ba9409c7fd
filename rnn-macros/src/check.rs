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

use crate::diagnostics::{group_digits, list, render, render_layer, suggest};
use crate::parse::{Arg, LayerDef, ModelDef};
use crate::spec::{Activation, Layer, LayerKind, Model};

/// Largest accepted `units`, `timesteps` or `features`.
pub const MAX_SIZE: usize = 1_000_000;

/// Largest accepted total number of trainable parameters of a model.
pub const MAX_PARAMS: u128 = 100_000_000;

/// Every name that may start a layer-list entry, `input` included.
const LAYER_NAMES: [&str; 5] = ["input", "lstm", "gru", "simple_rnn", "dense"];

const ACTIVATIONS: [(&str, Activation); 8] = [
    ("linear", Activation::Linear),
    ("relu", Activation::Relu),
    ("tanh", Activation::Tanh),
    ("sigmoid", Activation::Sigmoid),
    ("softmax", Activation::Softmax),
    ("gelu", Activation::Gelu),
    ("elu", Activation::Elu),
    ("softplus", Activation::Softplus),
];

const INT_SUFFIXES: [&str; 12] = [
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
];

/// Checks a parsed spec; on failure the error holds every problem found, each with
/// its own span (iterate it with `IntoIterator`).
pub fn check(def: &ModelDef) -> Result<Model, syn::Error> {
    let mut errors = Errors::default();
    let (shape, layer_defs) = split_input(def, &mut errors);

    let mut layers: Vec<Resolved> = Vec::with_capacity(layer_defs.len());
    for (index, layer_def) in layer_defs.into_iter().enumerate() {
        let layer = resolve(layer_def, index, &mut errors);
        check_feed(&layer, layers.last(), shape, &mut errors);
        layers.push(layer);
    }
    if let Some(last) = layers.last() {
        check_last(last, &mut errors);
    }
    check_budget(&layers, shape.1, &mut errors);

    errors.finish()?;
    build(def, shape, &layers)
}

/// `(timesteps, features, outputs)` of a spec with errors, when all three can still be
/// read: lets the fallback struct keep its typed `predict_one` and true consts, so
/// that code using them adds no errors of its own.
pub fn partial_shape(def: &ModelDef) -> Option<(usize, usize, usize)> {
    let mut ignored = Errors::default();
    let ((timesteps, features), layers) = split_input(def, &mut ignored);
    let last = resolve(layers.last()?, layers.len() - 1, &mut ignored);
    Some((timesteps?, features?, last.units?))
}

/// `(timesteps, features)`, each `None` when missing or invalid.
type Shape = (Option<usize>, Option<usize>);

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

/// A layer-list entry other than `input`, resolved as far as its own errors allow.
struct Resolved<'a> {
    def: &'a LayerDef,
    /// Position after `input`.
    index: usize,
    /// `None` for an unknown layer name.
    kind: Option<LayerKind>,
    /// `None` when the size is missing or invalid.
    units: Option<usize>,
    /// `None` when the option value is invalid; always `Some(false)` for dense.
    return_sequences: Option<bool>,
    /// The key of a written `return_sequences` option, for pointing at it.
    return_sequences_key: Option<&'a Ident>,
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
    let names = ["timesteps", "features"];
    let sizes = sizes(input, &label, &names, "input(20, 1)", errors);
    let size = |i: usize| sizes.get(i).copied().flatten();
    (size(0), size(1))
}

fn resolve<'a>(def: &'a LayerDef, index: usize, errors: &mut Errors) -> Resolved<'a> {
    let mut layer = Resolved {
        def,
        index,
        kind: None,
        units: None,
        return_sequences: Some(false),
        return_sequences_key: None,
    };
    let name = def.name.unraw().to_string();
    let recurrent = match name.as_str() {
        "lstm" => LayerKind::Lstm,
        "gru" => LayerKind::Gru,
        "simple_rnn" => LayerKind::SimpleRnn,
        "dense" => {
            layer.units = single_size(&layer, "dense(1)", errors);
            layer.kind = Some(LayerKind::Dense(dense_options(def, errors)));
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
    layer.kind = Some(recurrent);
    layer.units = single_size(&layer, &format!("{name}(8)"), errors);
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
    recurrent_options(&mut layer, errors);
    layer
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

/// Reports an unknown option; true when it looks like a misspelling of `valid`.
fn unknown_option(
    key: &Ident,
    layer_name: &Ident,
    valid: &str,
    kinds: &str,
    errors: &mut Errors,
) -> bool {
    let written = key.unraw().to_string();
    let near = suggest(&written, &[valid]);
    let hint = match near {
        Some(near) => format!("did you mean `{near}`?"),
        None => format!("{kinds} only take `{valid}`"),
    };
    let layer_name = layer_name.unraw();
    errors.push(
        key.span(),
        format!("unknown option `{written}` for `{layer_name}`; {hint}"),
    );
    near.is_some()
}

fn recurrent_options(layer: &mut Resolved, errors: &mut Errors) {
    let def = layer.def;
    for_each_option(def, errors, |key, value, errors| {
        if key.unraw() != "return_sequences" {
            if unknown_option(
                key,
                &def.name,
                "return_sequences",
                "recurrent layers",
                errors,
            ) {
                // Probably meant `return_sequences`, with a value we cannot trust.
                layer.return_sequences = None;
            }
            return;
        }
        layer.return_sequences_key = Some(key);
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
    });
}

fn dense_options(def: &LayerDef, errors: &mut Errors) -> Activation {
    let mut activation = Activation::Linear;
    for_each_option(def, errors, |key, value, errors| {
        if key.unraw() != "activation" {
            unknown_option(key, &def.name, "activation", "dense layers", errors);
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
    let names = ACTIVATIONS.map(|(name, _)| name);
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
    match ACTIVATIONS.iter().find(|(name, _)| *name == written) {
        Some((_, found)) => Ok(*found),
        None => Err(match suggest(&written, &names) {
            Some(near) => format!("unknown activation `{written}`; did you mean `{near}`?"),
            None => format!(
                "unknown activation `{written}`; expected one of {}",
                list(&names)
            ),
        }),
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
        "dense" if ACTIVATIONS.iter().any(|(name, _)| *name == value) => "activation",
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

/// Checks that `layer` can consume what precedes it: the input sequence for layer 0,
/// otherwise the output of `prev`.
fn check_feed(layer: &Resolved, prev: Option<&Resolved>, shape: Shape, errors: &mut Errors) {
    let Some(kind) = layer.kind else { return };
    let at = layer.def.name.span();
    let Some(prev) = prev else {
        if !kind.is_recurrent() {
            let shape = match shape {
                (Some(t), Some(f)) => format!(" [{t}, {f}]"),
                _ => String::new(),
            };
            errors.push(
                at,
                format!(
                    "{} receives the whole input sequence{shape}; per-timestep dense \
                     (many-to-many) is not supported yet, put a recurrent layer first",
                    layer.label()
                ),
            );
        }
        return;
    };
    let Some(prev_kind) = prev.kind else { return };
    let message = match (kind.is_recurrent(), prev_kind.is_recurrent(), prev.return_sequences) {
        (true, false, _) => format!(
            "{} cannot follow dense {}: dense output is not a sequence; put recurrent layers first",
            layer.label(),
            prev.label()
        ),
        (true, true, Some(false)) => format!(
            "{} expects a sequence, but {} returns only its last state; add `return_sequences = true` to layer {}",
            layer.label(),
            prev.label(),
            prev.index
        ),
        (false, true, Some(true)) => format!(
            "{} receives the sequence returned by {}; per-timestep dense (many-to-many) \
             is not supported yet, remove `return_sequences = true` from layer {}",
            layer.label(),
            prev.label(),
            prev.index
        ),
        _ => return,
    };
    errors.push(at, message);
}

fn check_last(last: &Resolved, errors: &mut Errors) {
    if let (Some(true), Some(key)) = (last.return_sequences, last.return_sequences_key) {
        errors.push(
            key.span(),
            format!(
                "{} is the last layer but returns a sequence; sequence outputs \
                 (many-to-many) are not supported yet, remove `return_sequences = true`",
                last.label()
            ),
        );
    }
}

/// Trainable parameters of a layer with `inputs` inputs and `units` outputs.
fn parameters(kind: LayerKind, inputs: usize, units: usize) -> u128 {
    let (i, h) = (inputs as u128, units as u128);
    let gates = match kind {
        LayerKind::Lstm => 4,
        LayerKind::Gru => 3,
        LayerKind::SimpleRnn => 1,
        LayerKind::Dense(_) => return h * i + h,
    };
    gates * h * i + gates * h * h + 2 * gates * h
}

fn check_budget(layers: &[Resolved], features: Option<usize>, errors: &mut Errors) {
    let mut total = 0u128;
    let mut biggest: Option<(&Resolved, u128)> = None;
    let mut inputs = features;
    for layer in layers {
        if let (Some(kind), Some(i), Some(h)) = (layer.kind, inputs, layer.units) {
            let count = parameters(kind, i, h);
            total += count;
            if biggest.is_none_or(|(_, most)| count > most) {
                biggest = Some((layer, count));
            }
        }
        inputs = layer.units;
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

/// Assembles the model once no error was found, so every part is known.
fn build(def: &ModelDef, shape: Shape, layers: &[Resolved]) -> Result<Model, syn::Error> {
    let incomplete = || syn::Error::new(def.header.name.span(), "internal error: incomplete model");
    let (Some(timesteps), Some(features)) = shape else {
        return Err(incomplete());
    };
    let mut inputs = features;
    let mut out = Vec::with_capacity(layers.len());
    for layer in layers {
        let (Some(kind), Some(units), Some(return_sequences)) =
            (layer.kind, layer.units, layer.return_sequences)
        else {
            return Err(incomplete());
        };
        out.push(Layer {
            kind,
            units,
            inputs,
            return_sequences,
            span: layer.def.span,
        });
        inputs = units;
    }
    Ok(Model {
        header: def.header.clone(),
        timesteps,
        features,
        layers: out,
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
    fn partial_shape_reads_what_errors_leave() {
        let shape = |layers: &str| {
            let def = parse(tokens(&format!("struct Net < {layers} >"))).ok()?;
            partial_shape(&def)
        };
        assert_eq!(
            shape("input(20, 3), lstm(8, activation = relu), dense(2)"),
            Some((20, 3, 2))
        );
        assert_eq!(shape("input(20, 3), lstn(8), gru(4)"), Some((20, 3, 4)));
        assert_eq!(shape("input(20, 0), lstm(8), dense(2)"), None);
        assert_eq!(shape("input(20, 3), lstm(8), dense(0)"), None);
        assert_eq!(shape("lstm(8), dense(1)"), None);
        assert_eq!(shape("input(20, 3)"), None);
    }

    fn run(ts: TokenStream) -> Result<Model, syn::Error> {
        match parse(ts) {
            Ok(def) => check(&def),
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
            .map(|l| (l.kind, l.inputs, l.units, l.return_sequences))
            .collect()
    }

    use LayerKind::{Dense, Gru, Lstm, SimpleRnn};

    #[test]
    fn fixture_specs() {
        let m = model("input(4, 3), lstm(5), dense(2)");
        assert_eq!((m.timesteps, m.features), (4, 3));
        assert_eq!(m.header.name, "Net");
        assert_eq!(
            shape(&m),
            [
                (Lstm, 3, 5, false),
                (Dense(Activation::Linear), 5, 2, false)
            ]
        );

        let m = model("input(3, 2), gru(4), dense(1)");
        assert_eq!((m.timesteps, m.features), (3, 2));
        assert_eq!(
            shape(&m),
            [(Gru, 2, 4, false), (Dense(Activation::Linear), 4, 1, false)]
        );

        let m = model("input(5, 2), simple_rnn(3), dense(1)");
        assert_eq!((m.timesteps, m.features), (5, 2));
        assert_eq!(
            shape(&m),
            [
                (SimpleRnn, 2, 3, false),
                (Dense(Activation::Linear), 3, 1, false)
            ]
        );

        let m = model("input(4, 2), lstm(4, return_sequences = true), lstm(3), dense(1)");
        assert_eq!((m.timesteps, m.features), (4, 2));
        assert_eq!(
            shape(&m),
            [
                (Lstm, 2, 4, true),
                (Lstm, 4, 3, false),
                (Dense(Activation::Linear), 3, 1, false)
            ]
        );

        let m = model("input(3, 2), gru(4), dense(3, activation = tanh), dense(1)");
        assert_eq!((m.timesteps, m.features), (3, 2));
        assert_eq!(
            shape(&m),
            [
                (Gru, 2, 4, false),
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
        assert_eq!((m.timesteps, m.features), (20, 1));
        assert_eq!(
            shape(&m),
            [
                (Lstm, 1, 50, false),
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
                (Lstm, 1, 3, true),
                (Gru, 3, 4, true),
                (SimpleRnn, 4, 5, false),
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
        assert_eq!(shape(&m), [(Gru, 1, 3, false)]);
    }

    #[test]
    fn size_literal_forms() {
        let m = model("input(1_000_000, 0x10), lstm(3usize), dense(1u32)");
        assert_eq!((m.timesteps, m.features), (MAX_SIZE, 16));
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
            "unknown layer `conv`; expected one of `input`, `lstm`, `gru`, `simple_rnn`, `dense`",
            "conv",
            0,
        );
    }

    #[test]
    fn unknown_options() {
        assert_error(
            "input(20, 1), lstm(5, activation = relu), dense(1)",
            "unknown option `activation` for `lstm`; recurrent layers only take `return_sequences`",
            "activation",
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
            "`input(20)` is missing `features`; write `input(timesteps, features)`, \
             e.g. `input(20, 1)`",
            "input",
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
            "layer 0 `dense(1)` receives the whole input sequence [20, 1]; per-timestep dense \
             (many-to-many) is not supported yet, put a recurrent layer first",
            "dense",
            0,
        );
        assert_error(
            "input(2, 1), lstm(3, return_sequences = true), dense(1)",
            "layer 1 `dense(1)` receives the sequence returned by layer 0 \
             `lstm(3, return_sequences = true)`; per-timestep dense (many-to-many) is not \
             supported yet, remove `return_sequences = true` from layer 0",
            "dense",
            0,
        );
        assert_error(
            "input(2, 1), lstm(4, return_sequences = true), gru(3, return_sequences = true)",
            "layer 1 `gru(3, return_sequences = true)` is the last layer but returns a sequence; \
             sequence outputs (many-to-many) are not supported yet, remove \
             `return_sequences = true`",
            "return_sequences",
            1,
        );
        assert_error(
            "input(2, 1), gru(3), dense(2), simple_rnn(4)",
            "layer 2 `simple_rnn(4)` cannot follow dense layer 1 `dense(2)`: dense output is \
             not a sequence; put recurrent layers first",
            "simple_rnn",
            0,
        );
    }

    #[test]
    fn parameter_budget() {
        assert_eq!(parameters(Lstm, 3, 5), 4 * 5 * 3 + 4 * 5 * 5 + 2 * 4 * 5);
        assert_eq!(parameters(Gru, 2, 4), 3 * 4 * 2 + 3 * 4 * 4 + 2 * 3 * 4);
        assert_eq!(parameters(SimpleRnn, 2, 3), 3 * 2 + 3 * 3 + 2 * 3);
        assert_eq!(parameters(Dense(Activation::Relu), 4, 3), 4 * 3 + 3);

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
                "unknown option `activaton` for `lstm`; recurrent layers only take \
                 `return_sequences`",
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
                "unknown option `foo` for `lstm`; recurrent layers only take `return_sequences`",
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
            "layer 0 `dense(1)` receives the whole input sequence; per-timestep dense \
             (many-to-many) is not supported yet, put a recurrent layer first"
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
                        Err(err) => {
                            assert!(!err.to_compile_error().is_empty());
                            false
                        }
                    },
                    Err(failure) => {
                        assert!(!failure.into_tokens().is_empty());
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

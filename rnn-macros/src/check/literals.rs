//! Literals of a spec: sizes (positive integer literals, any integer suffix or base)
//! and dropout rates (numbers in [0, 1) after rounding to `f32`), and the positional
//! arguments that hold them.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::{Expr, Lit, UnOp};

use super::limits::MAX_SIZE;
use super::{Errors, Resolved};
use crate::diagnostics::{group_digits, render};
use crate::parse::{Arg, LayerDef};
use crate::spec::Activation;

pub(super) const INT_SUFFIXES: [&str; 12] = [
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
];

/// The positional (unnamed) arguments of `def`, in order.
fn positional_args(def: &LayerDef) -> Vec<&Expr> {
    def.args
        .iter()
        .filter_map(|arg| match arg {
            Arg::Positional(expr) => Some(expr),
            Arg::Named { .. } => None,
        })
        .collect()
}

/// The one positional argument `name` of `def`, reporting a missing or extra one.
pub(super) fn single_positional<'a>(
    def: &'a LayerDef,
    label: &str,
    name: &str,
    example: &str,
    errors: &mut Errors,
) -> Option<&'a Expr> {
    let positional = positional_args(def);
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

pub(super) fn single_size(layer: &Resolved, example: &str, errors: &mut Errors) -> Option<usize> {
    let sizes = sizes(layer.def, &layer.label(), &["units"], example, errors);
    sizes.first().copied().flatten()
}

/// Checks the positional arguments of `def` against the expected `names`, returning one
/// value per name, `None` where missing or invalid.
pub(super) fn sizes(
    def: &LayerDef,
    label: &str,
    names: &[&str],
    example: &str,
    errors: &mut Errors,
) -> Vec<Option<usize>> {
    let positional = positional_args(def);
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
pub(super) fn option_hint(layer: &str, extra: &[&Expr]) -> Option<String> {
    let [value] = extra else { return None };
    let value = render(value.to_token_stream());
    let key = match layer {
        "lstm" | "gru" | "simple_rnn" if value == "true" || value == "false" => "return_sequences",
        "dense" if Activation::ALL.iter().any(|a| a.name() == value) => "activation",
        _ => return None,
    };
    Some(format!("{key} = {value}"))
}

pub(super) fn size(expr: &Expr, what: &str, label: &str, errors: &mut Errors) -> Option<usize> {
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

pub(super) fn invalid_size(
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

/// The value of a number literal (`2`, `0.5`, `1e-3f32`), possibly negated (`-1.0`);
/// `None` for anything else, a suffixed integer included.
pub(super) fn number(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => number(&unary.expr).map(|v| -v),
        Expr::Lit(syn::ExprLit {
            lit: Lit::Float(f), ..
        }) if ["", "f32", "f64"].contains(&f.suffix()) => f.base10_parse::<f64>().ok(),
        Expr::Lit(syn::ExprLit {
            lit: Lit::Int(i), ..
        }) if i.suffix().is_empty() => i.base10_parse::<u64>().ok().map(|v| v as f64),
        _ => None,
    }
}

/// A dropout rate: a number literal in [0, 1).
pub(super) fn rate(expr: &Expr, what: &str, errors: &mut Errors) -> Option<f32> {
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

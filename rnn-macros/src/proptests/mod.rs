//! Property tests of the macro's stages on random and mutated inputs.
//!
//! Every input is lexed from text (see [`tree`]), so its tokens have real locations,
//! and goes through `parse` and `check`, then the whole macro (`crate::expand`).
//! What must hold for every input:
//!
//! - no stage panics (proptest reports a panic as a failure, with the input);
//! - a rejected input yields at least one error, and every error *has a span*: its
//!   span is a location in the input's own text (`source_text()` is `Some` and the
//!   span joins with the input's first token, which only spans of the same source
//!   text do). The call site, which has no text, is allowed only for an input without
//!   tokens, where there is nothing else to point at;
//! - the macro's output, accepted or not, is Rust: it parses as a `syn::File` (the
//!   bodies of the runtime's `__if_std!`/`__const_without_std!` wrappers included).
//!
//! Cases per `cargo test`: [`DEFAULT_CASES`] in all, shared by the properties by fixed
//! weights; `RNN_PROPTEST_CASES=<n>` sets the total for long runs, e.g.
//! `RNN_PROPTEST_CASES=1000000 cargo test -p rnn-macros --release proptests`.

mod atoms;
mod grammar;
mod tree;

use proc_macro2::{Span, TokenStream};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;

use crate::check::{check, MAX_PARAMS, MAX_SIZE, MAX_STACK_FLOATS};
use crate::diagnostics::group_digits;
use crate::parse::parse;
use crate::spec::Model;
use grammar::{Spec, Style};
use tree::{apply, from_tokens, lex, render, Tree};

/// Cases per `cargo test` run over all properties, unless `RNN_PROPTEST_CASES` says.
const DEFAULT_CASES: u32 = 12_000;

/// The cases of a property with `weight` out of the weights' total of 12.
fn config(weight: u32) -> ProptestConfig {
    let total = std::env::var("RNN_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(DEFAULT_CASES);
    ProptestConfig {
        // Shrinking a long input one token at a time can take many steps.
        max_shrink_iters: 4096,
        ..ProptestConfig::with_cases((total / 12 * weight).max(1))
    }
}

/// Whether `span` points into the text of `input` (see the module docs).
fn located(span: Span, input: &TokenStream) -> bool {
    match input.clone().into_iter().next() {
        None => true,
        Some(first) => span.source_text().is_some() && first.span().join(span).is_some(),
    }
}

/// Every error of `error`, checked to have a message and a span in `input`.
fn check_errors(error: &syn::Error, input: &TokenStream) -> Result<usize, TestCaseError> {
    let mut count = 0;
    for e in error {
        count += 1;
        prop_assert!(!e.to_string().is_empty(), "an error without a message");
        prop_assert!(
            located(e.span(), input),
            "error `{e}` points at {:?}, outside the input",
            e.span()
        );
    }
    prop_assert!(count > 0, "a failure without an error");
    Ok(count)
}

/// The items of the macro's output, with the bodies of the runtime's wrapper macros
/// (`::rnn_runtime::__if_std! { … }`) parsed as items too.
fn parse_output(tokens: TokenStream) -> Result<Vec<syn::Item>, TestCaseError> {
    let file = syn::parse2::<syn::File>(tokens)
        .map_err(|e| TestCaseError::fail(format!("the expansion is not Rust: {e}")))?;
    let mut items = Vec::new();
    for item in file.items {
        match &item {
            syn::Item::Macro(m) if is_wrapper(&m.mac) => {
                items.extend(parse_output(m.mac.tokens.clone())?);
            }
            syn::Item::Impl(imp) => {
                for inner in &imp.items {
                    if let syn::ImplItem::Macro(m) = inner {
                        if is_wrapper(&m.mac) {
                            parse_output(m.mac.tokens.clone())?;
                        }
                    }
                }
            }
            _ => {}
        }
        items.push(item);
    }
    Ok(items)
}

fn is_wrapper(mac: &syn::Macro) -> bool {
    mac.path
        .segments
        .last()
        .is_some_and(|s| s.ident == "__if_std" || s.ident == "__const_without_std")
}

/// The values of every `const NAME: usize = <int>;` in impl blocks of `items`.
fn consts(items: &[syn::Item], name: &str) -> Vec<u128> {
    let mut values = Vec::new();
    for item in items {
        let syn::Item::Impl(imp) = item else { continue };
        for inner in &imp.items {
            let syn::ImplItem::Const(c) = inner else {
                continue;
            };
            if c.ident != name {
                continue;
            }
            if let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(int),
                ..
            }) = &c.expr
            {
                values.extend(int.base10_parse::<u128>().ok());
            }
        }
    }
    values
}

/// What one input gave: the checked model or the errors, and the macro's output.
type Outcome = (Result<Model, Vec<syn::Error>>, Vec<syn::Item>);

/// Runs `parse` and `check` on `input` and the whole macro, checking what must hold
/// for every input.
fn run(input: &TokenStream) -> Result<Outcome, TestCaseError> {
    let outcome = match parse(input.clone()) {
        Err(failure) => {
            check_errors(&failure.error, input)?;
            Err(failure.error.into_iter().collect())
        }
        Ok(def) => match check(&def) {
            Ok(model) => Ok(model),
            Err(rejected) => {
                check_errors(&rejected.error, input)?;
                Err(rejected.error.into_iter().collect())
            }
        },
    };
    let items = parse_output(crate::expand(input.clone()))?;
    Ok((outcome, items))
}

/// Compares a checked model with the shape the test computes for `spec`.
fn assert_shape(spec: &Spec, model: &Model) -> Result<(), TestCaseError> {
    let expected = spec.expected();
    prop_assert_eq!(model.timesteps, spec.timesteps.value);
    prop_assert_eq!(model.features(), spec.features.map_or(1, |f| f.value));
    prop_assert_eq!(model.layers.len(), expected.len());
    for (i, (layer, e)) in model.layers.iter().zip(&expected).enumerate() {
        let got = (
            layer.inputs,
            layer.units,
            layer.sequence_in,
            layer.sequence_out,
            layer.param_count() as u128,
        );
        let want = (e.inputs, e.units, e.sequence_in, e.sequence_out, e.params);
        prop_assert_eq!(got, want, "layer {}", i);
    }
    let (outputs, sequence) = spec.output();
    prop_assert_eq!(
        (model.outputs(), model.sequence_output()),
        (outputs, sequence)
    );
    Ok(())
}

/// Junk for mutations: anything of the alphabet, and the troublemakers often.
fn junk() -> BoxedStrategy<String> {
    prop_oneof![
        3 => atoms::leaf(),
        1 => atoms::number(),
        1 => proptest::sample::select(&["-", "10000000000000000000000000000000000000000", "层", "ünits", "0.999999999", "1e400", "5u8", "-3"][..])
            .prop_map(str::to_owned),
    ]
    .boxed()
}

/// Wraps random trees so that some reach the layer list: as they are, after a
/// header, or as the whole list.
fn framed(body: Vec<Tree>, frame: u8) -> Vec<Tree> {
    let leaf = |s: &str| Tree::Leaf(s.to_owned());
    let mut out = match frame % 4 {
        0 => return body,
        1 => vec![leaf("struct"), leaf("Net"), leaf("<")],
        2 => vec![leaf("pub"), leaf("struct"), leaf("Net"), leaf("<")],
        _ => vec![
            leaf("struct"),
            leaf("Net"),
            leaf("<"),
            leaf("input"),
            tree::Tree::Group(tree::Delim::Paren, vec![leaf("4"), leaf(","), leaf("2")]),
            leaf(","),
        ],
    };
    out.extend(body);
    if frame >= 4 {
        out.push(leaf(">"));
    }
    out
}

proptest! {
    #![proptest_config(config(4))]

    /// (a) Random token streams of DSL words, punctuation, every delimiter, literals
    /// of every kind and non-ASCII identifiers, nested, some behind a valid header,
    /// some as random calls in the layer list: never a panic, and every error points
    /// into the input.
    #[test]
    fn random_tokens_fail_cleanly(
        body in atoms::trees(),
        calls in atoms::calls(),
        frame in 0u8..12,
    ) {
        let trees = match frame {
            0..8 => framed(body, frame),
            _ => framed(calls, 5 + frame % 3),
        };
        let src = render(&trees);
        let input = lex(&src);
        if let (Ok(model), _) = run(&input)? {
            // Rarely, chance writes a valid spec; it must then be a real model.
            prop_assert!(!model.layers.is_empty());
        }
    }
}

proptest! {
    #![proptest_config(config(4))]

    /// (b) Valid specs of every layer kind and option, mutated one to four times
    /// (tokens dropped, duplicated, swapped, replaced by huge, negative, float or
    /// non-ASCII literals; groups redelimited or unwrapped): never a panic, every
    /// error points into the input, and whatever is still valid expands.
    #[test]
    fn mutated_specs_fail_cleanly(
        spec in grammar::spec(grammar::size().boxed()),
        mutations in prop::collection::vec(tree::mutation(junk()), 1..=4),
    ) {
        let mut trees = from_tokens(lex(&spec.source()));
        for m in &mutations {
            apply(&mut trees, m);
        }
        let src = render(&trees);
        let _ = run(&lex(&src))?;
    }
}

proptest! {
    #![proptest_config(config(3))]

    /// (c) Valid specs: accepted with the shape, parameter count and output the test
    /// computes on its own, and expanded to Rust whose consts say the same; unless the
    /// model is over a limit, which is then the one error reported.
    #[test]
    fn valid_specs_expand_with_their_shape(spec in grammar::spec(grammar::size().boxed())) {
        let input = lex(&spec.source());
        let params: u128 = spec.expected().iter().map(|e| e.params).sum();
        let stack = spec.stack_floats();
        let (outcome, items) = run(&input)?;
        match outcome {
            Ok(model) => {
                prop_assert!(params <= MAX_PARAMS, "{} parameters accepted", params);
                prop_assert!(stack <= MAX_STACK_FLOATS, "{} stack values accepted", stack);
                assert_shape(&spec, &model)?;
                let (outputs, sequence) = spec.output();
                let t = spec.timesteps.value as u128;
                for (name, want) in [
                    ("PARAMS", params),
                    ("OUTPUTS", outputs as u128),
                    ("TIMESTEPS", t),
                    ("FEATURES", spec.features.map_or(1, |f| f.value) as u128),
                    ("OUTPUT_STEPS", if sequence { t } else { 1 }),
                ] {
                    let got = consts(&items, name);
                    prop_assert!(!got.is_empty(), "no const {}", name);
                    prop_assert!(got.iter().all(|v| *v == want), "{} = {:?}, want {}", name, got, want);
                }
            }
            Err(errors) => {
                prop_assert_eq!(errors.len(), 1, "{:?}", errors.iter().map(ToString::to_string).collect::<Vec<_>>());
                let message = errors[0].to_string();
                if params > MAX_PARAMS {
                    let head = format!(
                        "the model has {} parameters, above the limit of {}",
                        group_digits(params),
                        group_digits(MAX_PARAMS)
                    );
                    prop_assert!(message.starts_with(&head), "{}", message);
                } else {
                    prop_assert!(stack > MAX_STACK_FLOATS, "refused: {}", message);
                    let head = format!(
                        "`predict_one` would hold {} values on the stack, above the limit of {}",
                        group_digits(stack),
                        group_digits(MAX_STACK_FLOATS)
                    );
                    prop_assert!(message.starts_with(&head), "{}", message);
                }
            }
        }
    }
}

/// Sizes beyond `MAX_SIZE`, up to beyond `u128`.
const HUGE: &[&str] = &[
    "1000001",
    "4294967296",
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "10000000000000000000000000000000000000000",
];

proptest! {
    #![proptest_config(config(1))]

    /// (d) One size of a small valid spec made huge: exactly one error, naming the
    /// size and the limit, at that literal.
    #[test]
    fn oversized_sizes_are_refused_at_the_literal(
        mut spec in grammar::spec(grammar::small_size().boxed()),
        which in any::<Index>(),
        huge in proptest::sample::select(HUGE),
        value in (MAX_SIZE + 1)..=usize::MAX,
        literal in any::<bool>(),
    ) {
        let mut sizes = spec.sizes_mut();
        let at = which.index(sizes.len());
        let (what, size) = &mut sizes[at];
        let what = *what;
        size.style = if literal { Style::Text(huge) } else { Style::Plain };
        size.value = value;
        let text = if literal { huge.to_owned() } else { value.to_string() };
        let input = lex(&spec.source());
        let errors = match run(&input)?.0 {
            Ok(_) => return Err(TestCaseError::fail(format!("{text} accepted"))),
            Err(errors) => errors,
        };
        prop_assert_eq!(errors.len(), 1, "{:?}", errors.iter().map(ToString::to_string).collect::<Vec<_>>());
        let message = errors[0].to_string();
        prop_assert!(message.starts_with(&format!("{what} of ")), "{}", message);
        prop_assert!(message.ends_with("must be at most 1_000_000"), "{}", message);
        let literal_span = input
            .clone()
            .into_iter()
            .flat_map(|tt| match tt {
                proc_macro2::TokenTree::Group(g) => g.stream().into_iter().collect(),
                other => vec![other],
            })
            .flat_map(|tt| match tt {
                proc_macro2::TokenTree::Group(g) => g.stream().into_iter().collect(),
                other => vec![other],
            })
            .find(|tt| tt.to_string() == text)
            .map(|tt| tt.span());
        prop_assert_eq!(
            format!("{:?}", errors[0].span()),
            format!("{:?}", literal_span.expect("the literal"))
        );
    }
}

//! Unit tests of `check`: every error with the token it points at, and the models
//! that valid specs check to.

use super::*;
use crate::parse::parse;
use crate::spec::{Activation, Cell, CellActivation, Padding, Recurrent};
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
         `bidirectional`, `embedding`, `dropout`, `masking`",
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
    assert_eq!(
        m.layers[0].kind,
        LayerKind::Embedding {
            vocab: 10,
            mask_zero: false
        }
    );
    assert_eq!(m.padding(), None);
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
fn padding_from_mask_zero_and_masking() {
    let m = model("input(6), embedding(10, 4, mask_zero = true), lstm(5), dense(3)");
    assert_eq!(m.padding(), Some(Padding::ZeroId));
    let m = model("input(6, 2), masking(-1.5), gru(3, return_sequences = true), dense(1)");
    assert_eq!(m.padding(), Some(Padding::Value(-1.5)));
    // `masking` is not a numbered layer: the GRU is layer 0.
    assert_eq!(m.layers.len(), 2);
    assert!(m.layers[0].kind.is_recurrent());
    assert_error(
        "input(6, 2), lstm(3), masking(0.0), dense(1)",
        "`masking(0.0)` must come right after `input`, before layer 0: it marks the padded \
         steps of the input",
        "masking",
        0,
    );
    assert_error(
        "input(6), masking(0), embedding(10, 4), lstm(3)",
        "`masking` reads real-valued features, but `input(T)` declares token ids; mark \
         padding with `embedding(vocab, dim, mask_zero = true)` instead",
        "masking",
        0,
    );
    assert_error(
        "input(6, 2), masking(zero), lstm(3)",
        "the value of `masking` must be a finite number, found `zero`; write e.g. \
         `masking(0.0)`",
        "zero",
        0,
    );
    assert_error(
        "input(6, 2), masking(), lstm(3)",
        "`masking` takes one value, the one that marks a padded step; write e.g. \
         `masking(0.0)`",
        "masking",
        0,
    );
    assert_error(
        "input(6, 2), masking(0.0)",
        "the model has no layers after `masking(0.0)`; add some, e.g. `lstm(8), dense(1)`",
        "masking",
        0,
    );
    assert_error(
        "input(6), embedding(10, 4, mask_zero = 1), lstm(3)",
        "`mask_zero` expects `true` or `false`, found `1`",
        "1",
        0,
    );
    assert_error(
        "input(6), embedding(10, 4, mask_zeros = true), lstm(3)",
        "unknown option `mask_zeros` for `embedding`; did you mean `mask_zero`?",
        "mask_zeros",
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
        "`predict_one` would hold 20_046_000 values on the stack, above the limit of \
         16_777_216 (64 MiB); the biggest array is layer 0 \
         `bidirectional(gru(500, return_sequences = true))` with 20_006_000: shorten \
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
        "`predict_one` would hold 20_000_272 values on the stack, above the limit of \
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

#[test]
#[should_panic(expected = "dropped without `finish`")]
fn the_error_collector_refuses_to_be_dropped_unchecked() {
    let mut errors = Errors::default();
    errors.push(Span::call_site(), "lost");
}

#[test]
fn the_error_collector_combines_every_error() {
    let mut errors = Errors::default();
    errors.push(Span::call_site(), "one");
    errors.push(Span::call_site(), "two");
    let combined = errors.finish().expect_err("two errors");
    assert_eq!(combined.into_iter().count(), 2);
    assert!(Errors::default().finish().is_ok());
}

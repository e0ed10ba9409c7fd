//! The alphabet of random inputs: DSL words, punctuation, literals of every kind
//! (huge, negative, suffixed, floats, strings, chars), non-ASCII identifiers, and
//! random token trees built from them.

use proptest::prelude::*;
use proptest::sample::select;

use super::tree::{delim, Tree};

/// Words of the DSL and of Rust that the parser treats specially.
const WORDS: &[&str] = &[
    "input",
    "lstm",
    "gru",
    "simple_rnn",
    "bidirectional",
    "dense",
    "embedding",
    "dropout",
    "return_sequences",
    "activation",
    "recurrent_activation",
    "recurrent_dropout",
    "linear",
    "relu",
    "tanh",
    "sigmoid",
    "softmax",
    "gelu",
    "elu",
    "softplus",
    "true",
    "false",
    "struct",
    "pub",
    "crate",
    "super",
    "in",
    "self",
    "Self",
    "type",
    "fn",
    "where",
    "_",
    "Net",
    "units",
    "r#lstm",
    "r#input",
    "r#type",
    "r#struct",
    "r#activation",
    "'a",
    "'static",
    "/// doc\n",
    "/** block doc */",
    "//! inner doc\n",
];

/// Identifiers outside ASCII, some looking like DSL words.
const NON_ASCII: &[&str] = &[
    "ünits",
    "层",
    "λ",
    "Ωmega",
    "naïve",
    "日本語",
    "lstmé",
    "ｌｓｔｍ",
    "inpüt",
    "dénse",
    "Ünet",
    "π",
    "Σ",
];

/// Punctuation, alone and as the compiler's multi-character operators.
const PUNCT: &[&str] = &[
    "<", ">", ",", "=", "==", "=>", "->", "<=", ">=", "!=", "<<", ">>", "::", ":", ";", "#", "!",
    ".", "..", "..=", "&", "&&", "|", "||", "+", "-", "*", "/", "%", "^", "~", "@", "?", "$", "+=",
];

/// Literals the checks must survive, beyond the generated ones.
const LITERALS: &[&str] = &[
    "0",
    "1",
    "8",
    "20",
    "1000000",
    "1000001",
    "10000000000000000000000000000000000000000",
    "340282366920938463463374607431768211456",
    "18446744073709551616",
    "-1",
    "-0",
    "- 7",
    "5u8",
    "300u8",
    "5i64",
    "5usize",
    "5_u32",
    "5f32",
    "5xyz",
    "0x10",
    "0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
    "0b1010",
    "0o17",
    "1_000",
    "1.5",
    "0.2",
    "0.999999999",
    "1e40",
    "1e400",
    "2.5e-3",
    "1.0f64",
    "0.5f32",
    "1.",
    "-0.1",
    "\"s\"",
    "\"5\"",
    "\"relu\"",
    "'c'",
    "'\\n'",
    "b'x'",
    "b\"bytes\"",
    "r\"raw\"",
    "r#\"raw\"#",
    "c\"cstr\"",
];

/// Number literals: huge, negative, suffixed, floats, in several bases.
pub fn number() -> impl Strategy<Value = String> {
    let digits = prop::collection::vec(0u8..10, 1..60)
        .prop_map(|d| d.iter().map(|d| char::from(b'0' + d)).collect::<String>());
    let suffix = select(
        &[
            "", "", "", "u8", "i8", "u64", "u128", "usize", "isize", "f32", "f64", "_", "e3", ".5",
            "_xyz",
        ][..],
    );
    prop_oneof![
        (any::<bool>(), digits, suffix).prop_map(|(neg, d, s)| {
            let sign = if neg { "-" } else { "" };
            // Every suffix lexes after any digits (`0xyz` would not: hex without digits).
            format!("{sign}{d}{s}")
        }),
        any::<u128>().prop_map(|v| v.to_string()),
        any::<i64>().prop_map(|v| v.to_string()),
        any::<u64>().prop_map(|v| format!("{v:#x}")),
        any::<f64>()
            .prop_filter("finite", |v| v.is_finite())
            .prop_map(|v| format!("{v:e}")),
        (0.0f64..2.0).prop_map(|v| format!("{v}")),
    ]
}

/// One leaf of a random input.
pub fn leaf() -> BoxedStrategy<String> {
    prop_oneof![
        4 => select(WORDS).prop_map(str::to_owned),
        3 => select(PUNCT).prop_map(str::to_owned),
        2 => select(LITERALS).prop_map(str::to_owned),
        2 => number(),
        1 => select(NON_ASCII).prop_map(str::to_owned),
    ]
    .boxed()
}

/// Brackets nested `depth` deep around a number: beyond the parser's nesting limit
/// from 17 on.
pub fn deep_nesting() -> impl Strategy<Value = Tree> {
    (10usize..40, delim()).prop_map(|(depth, d)| {
        (0..depth).fold(Tree::Leaf("1".to_owned()), |inner, _| {
            Tree::Group(d, vec![inner])
        })
    })
}

/// Random token trees of leaves in groups of every delimiter.
pub fn trees() -> impl Strategy<Value = Vec<Tree>> {
    let node = prop_oneof![
        20 => leaf().prop_map(Tree::Leaf),
        1 => deep_nesting(),
    ]
    .prop_recursive(4, 48, 8, |inner| {
        (delim(), prop::collection::vec(inner, 0..8)).prop_map(|(d, v)| Tree::Group(d, v))
    });
    prop::collection::vec(node, 0..16)
}

/// The identifiers among [`WORDS`], keywords and raw ones included.
fn idents() -> Vec<&'static str> {
    WORDS
        .iter()
        .copied()
        .filter(|w| {
            w.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '#')
        })
        .collect()
}

/// Option keys, right and wrong.
const KEYS: &[&str] = &[
    "return_sequences",
    "activation",
    "recurrent_activation",
    "dropout",
    "recurrent_dropout",
    "units",
    "r#activation",
    "ünits",
    "type",
];

/// A layer list of random calls: a word (DSL, Rust or non-ASCII) with random
/// arguments, positional or `key = value`, so that random tokens reach `check`.
pub fn calls() -> impl Strategy<Value = Vec<Tree>> {
    let node = prop_oneof![
        8 => leaf().prop_map(Tree::Leaf),
        1 => deep_nesting(),
    ]
    .prop_recursive(3, 24, 6, |inner| {
        (delim(), prop::collection::vec(inner, 0..6)).prop_map(|(d, v)| Tree::Group(d, v))
    });
    // Mostly single operands and calls, which parse as expressions and so reach
    // `check`; sometimes any tokens.
    let operand = prop_oneof![
        3 => select(LITERALS).prop_map(str::to_owned),
        3 => number(),
        2 => select(idents()).prop_map(str::to_owned),
        1 => select(NON_ASCII).prop_map(str::to_owned),
    ];
    let nested = (
        select(idents()),
        prop::collection::vec(operand.clone(), 0..3),
    )
        .prop_map(|(name, args)| {
            let args = args.into_iter().map(Tree::Leaf).collect::<Vec<_>>();
            let args = args
                .chunks(1)
                .collect::<Vec<_>>()
                .join(&Tree::Leaf(",".to_owned()));
            vec![
                Tree::Leaf(name.to_owned()),
                Tree::Group(super::tree::Delim::Paren, args),
            ]
        });
    let value = prop_oneof![
        6 => operand.prop_map(|o| vec![Tree::Leaf(o)]),
        2 => nested,
        1 => prop::collection::vec(node, 1..4),
    ];
    let arg = (prop::option::weighted(0.3, select(KEYS)), value).prop_map(|(key, mut value)| {
        if let Some(key) = key {
            value.splice(
                0..0,
                [Tree::Leaf(key.to_owned()), Tree::Leaf("=".to_owned())],
            );
        }
        value
    });
    let name = prop_oneof![
        4 => select(idents()),
        1 => select(NON_ASCII),
    ];
    let call = (name, prop::collection::vec(arg, 0..4)).prop_map(|(name, args)| {
        let args = args.join(&Tree::Leaf(",".to_owned()));
        vec![
            Tree::Leaf(name.to_owned()),
            Tree::Group(super::tree::Delim::Paren, args),
        ]
    });
    prop::collection::vec(call, 1..6).prop_map(|calls| calls.join(&Tree::Leaf(",".to_owned())))
}

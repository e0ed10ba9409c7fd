//! How diagnostics talk about the user's code: nearest-name suggestions, lists of
//! valid names, numbers and layers rendered as the user would write them.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::ToTokens;

use crate::parse::{Arg, LayerDef};

/// The valid name closest to `written` by edit distance, if close enough to be a
/// plausible typo, or one that contains it (`rnn` → `simple_rnn`).
pub(crate) fn suggest<'a>(written: &str, valid: &[&'a str]) -> Option<&'a str> {
    let lower = written.to_lowercase();
    let close = valid
        .iter()
        .map(|v| (distance(&lower, v), *v))
        .filter(|(d, v)| *d <= (v.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, v)| v);
    close.or_else(|| {
        valid
            .iter()
            .find(|v| lower.len() >= 3 && v.contains(lower.as_str()))
            .copied()
    })
}

/// Optimal string alignment distance: Levenshtein plus adjacent transpositions, so that
/// `lsmt` is one edit away from `lstm`.
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[k][j]: distance between the first i - 2 + k chars of `a` and j chars of `b`.
    let mut rows = [
        vec![0; b.len() + 1],
        vec![0; b.len() + 1],
        (0..=b.len()).collect(),
    ];
    for (i, ca) in a.iter().enumerate() {
        rows.rotate_left(1);
        let [before, prev, cur] = &mut rows;
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let mut d = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
            if i > 0 && j > 0 && a.get(i - 1) == Some(cb) && b.get(j - 1) == Some(ca) {
                d = d.min(before[j - 1] + 1);
            }
            cur[j + 1] = d;
        }
    }
    rows[2][b.len()]
}

pub(crate) fn list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}

/// `100000000` → `100_000_000`, as a Rust literal would be written.
pub(crate) fn group_digits(n: u128) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('_');
        }
        out.push(c);
    }
    out
}

/// A layer as the user wrote it, e.g. `lstm(8, return_sequences = true)`.
pub(crate) fn render_layer(def: &LayerDef) -> String {
    let args: Vec<String> = def
        .args
        .iter()
        .map(|arg| match arg {
            Arg::Positional(expr) => render(expr.to_token_stream()),
            Arg::Named { key, value } => format!("{key} = {}", render(value.to_token_stream())),
        })
        .collect();
    format!("{}({})", def.name, args.join(", "))
}

/// Source-like text of tokens: `TokenStream`'s `Display` spaces every token (`- 3`).
pub(crate) fn render(tokens: TokenStream) -> String {
    let mut out = String::new();
    // Whether the previous token ends an operand, so a following operator is binary.
    let mut after_operand = false;
    let mut binary = false;
    for tt in tokens {
        match tt {
            TokenTree::Ident(_) | TokenTree::Literal(_) => {
                if after_operand {
                    out.push(' ');
                }
                out.push_str(&tt.to_string());
                after_operand = true;
            }
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Brace => ("{ ", " }"),
                    Delimiter::None => ("", ""),
                };
                out.push_str(open);
                out.push_str(&render(group.stream()));
                out.push_str(close);
                after_operand = true;
            }
            TokenTree::Punct(punct) => {
                let c = punct.as_char();
                match c {
                    ',' | ';' => {
                        out.push(c);
                        out.push(' ');
                    }
                    '.' | ':' | '\'' => out.push(c),
                    _ => {
                        if after_operand {
                            out.push(' ');
                            binary = true;
                        }
                        out.push(c);
                        if binary && punct.spacing() == proc_macro2::Spacing::Alone {
                            out.push(' ');
                            binary = false;
                        }
                    }
                }
                after_operand = false;
            }
        }
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn edit_distance() {
        assert_eq!(distance("lstm", "lstm"), 0);
        assert_eq!(distance("lstn", "lstm"), 1);
        assert_eq!(distance("lsmt", "lstm"), 1);
        assert_eq!(distance("", "gru"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(suggest("xyz", &["input", "lstm", "gru"]), None);
        assert_eq!(suggest("GRU", &["input", "lstm", "gru"]), Some("gru"));
    }

    #[test]
    fn rendering() {
        assert_eq!(render(quote!(-3)), "-3");
        assert_eq!(render(quote!(a == -b.c)), "a == -b.c");
        assert_eq!(render(quote!(f(x, y)[0])), "f(x, y)[0]");
        assert_eq!(render(quote!(a::b)), "a::b");
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(1000), "1_000");
        assert_eq!(group_digits(100_000_000), "100_000_000");
    }
}

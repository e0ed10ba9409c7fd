//! Syntax: tokens → [`ModelDef`].
//!
//! The grammar is `#[attrs] [vis] struct Name < entry, … [,] >` where an entry is a
//! layer `name(arg, …)`, whose arguments are expressions or `key = expression`, or a
//! model option `key = expression` (such as `loss = mse`), which belongs after the
//! layers.
//! Layer names, arity, sizes and options are deliberately left loosely typed here so
//! that [`crate::check`] can report every semantic mistake of a spec at once; only
//! genuine syntax errors stop parsing, and then only the first one is reported.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{token, Attribute, Expr, Ident, Token, Visibility};

use crate::spec::Header;

/// Deepest accepted nesting of brackets anywhere in the input.
pub const MAX_NESTING: usize = 16;

/// Most tokens accepted in the arguments of one layer or in one `#[key = value]`
/// attribute.
pub const MAX_EXPR_TOKENS: usize = 64;

/// A syntactically valid `model!` input, not yet checked.
pub struct ModelDef {
    /// Attributes, visibility and name of the struct.
    pub header: Header,
    /// The `<` opening the layer list.
    pub lt: Token![<],
    /// Every layer of the list in written order, `input(...)` included.
    pub layers: Vec<LayerDef>,
    /// The model options (`key = value` entries) in written order.
    pub options: Vec<OptionDef>,
    /// The `>` closing the layer list.
    pub gt: Token![>],
}

/// A model option of the list, such as `loss = mse`.
pub struct OptionDef {
    /// The option's name, e.g. `loss`.
    pub key: Ident,
    /// The value after `=`.
    pub value: Expr,
    /// Layers written before it; options belong after every layer.
    pub layers_before: usize,
}

/// One entry of the layer list, such as `lstm(8, return_sequences = true)`.
pub struct LayerDef {
    /// The layer name as written; not necessarily a known one.
    pub name: Ident,
    /// The arguments in written order.
    pub args: Vec<Arg>,
    /// From the name to the closing parenthesis where the platform can join spans,
    /// otherwise the name's span.
    pub span: Span,
}

/// One argument of a layer.
pub enum Arg {
    /// A positional argument, e.g. the `8` of `lstm(8)`.
    Positional(Expr),
    /// A named option, e.g. `return_sequences = true`.
    Named {
        /// The option name.
        key: Ident,
        /// The value after `=`.
        value: Expr,
    },
}

/// A syntax error, with the struct header when parsing got that far.
pub struct ParseFailure {
    /// The header, if it was parsed before the error.
    pub header: Option<Header>,
    /// The syntax error.
    pub error: syn::Error,
}

/// Parses the input of `model!`.
#[allow(
    clippy::result_large_err,
    reason = "fails at most once per macro expansion, and the header must survive the failure"
)]
pub fn parse(input: TokenStream) -> Result<ModelDef, ParseFailure> {
    if let Err(error) = check_nesting(input.clone()) {
        return Err(ParseFailure {
            header: None,
            error,
        });
    }
    let mut header = None;
    let result = match input.clone().into_iter().last() {
        // Nothing was written, so the call site is the only place to point at.
        None => (|stream: ParseStream| parse_model(stream, &mut header)).parse2(input),
        // syn reports a token missing at the very end of its input at the call site,
        // but one missing at the end of a group at the group's closing delimiter. So
        // the input is parsed as the contents of a group whose span is its last token:
        // `struct Net` then blames `Net`, not the whole macro call.
        Some(last) => {
            let mut group = Group::new(Delimiter::Parenthesis, input);
            group.set_span(last.span());
            let parser = |stream: ParseStream| {
                let content;
                syn::parenthesized!(content in stream);
                parse_model(&content, &mut header)
            };
            parser.parse2(TokenTree::Group(group).into())
        }
    };
    result.map_err(|error| ParseFailure { header, error })
}

// syn parses expressions by recursion, so hostile input such as a thousand nested
// parentheses or `- - - … 1` would overflow the compiler's stack. Real specs stay far
// below these limits; together they bound every recursion of the macro.
fn check_nesting(input: TokenStream) -> syn::Result<()> {
    let mut stack = vec![input.into_iter()];
    while let Some(tokens) = stack.last_mut() {
        match tokens.next() {
            None => {
                stack.pop();
            }
            Some(TokenTree::Group(group)) if stack.len() > MAX_NESTING => {
                return Err(syn::Error::new(
                    group.span_open(),
                    format!("brackets are nested more than {MAX_NESTING} deep"),
                ));
            }
            Some(TokenTree::Group(group)) => stack.push(group.stream().into_iter()),
            Some(_) => {}
        }
    }
    Ok(())
}

/// Tokens in `tokens`, groups counted with their contents.
fn count_tokens(tokens: TokenStream) -> usize {
    tokens
        .into_iter()
        .map(|tt| match tt {
            TokenTree::Group(group) => 1 + count_tokens(group.stream()),
            _ => 1,
        })
        .sum()
}

/// Rejects `#[key = value]` attributes too long to parse safely; other attribute forms
/// keep their tokens verbatim.
fn check_attributes(input: ParseStream) -> syn::Result<()> {
    let mut cursor = input.cursor();
    while let Some((_, after_pound)) = cursor.punct().filter(|(p, _)| p.as_char() == '#') {
        let Some((content, span, next)) = after_pound.group(Delimiter::Bracket) else {
            break;
        };
        let tokens = content.token_stream();
        let is_name_value = tokens
            .clone()
            .into_iter()
            .any(|tt| matches!(tt, TokenTree::Punct(p) if p.as_char() == '='));
        if is_name_value && count_tokens(tokens) > MAX_EXPR_TOKENS {
            return Err(syn::Error::new(
                span.join(),
                format!("attribute too long for `model!`: more than {MAX_EXPR_TOKENS} tokens"),
            ));
        }
        cursor = next;
    }
    Ok(())
}

fn parse_model(input: ParseStream, header_out: &mut Option<Header>) -> syn::Result<ModelDef> {
    check_attributes(input)?;
    let attrs = input.call(Attribute::parse_outer)?;
    let vis: Visibility = input.parse()?;
    if !input.peek(Token![struct]) {
        return Err(input
            .error("expected `struct`: write `struct Name < input(20, 1), lstm(50), dense(1) >`"));
    }
    input.parse::<Token![struct]>()?;
    if !input.peek(Ident) {
        return Err(input.error("expected the model's name after `struct`"));
    }
    let name: Ident = input.parse()?;
    let header = Header { attrs, vis, name };
    *header_out = Some(header.clone());

    if !input.peek(Token![<]) {
        return Err(input.error(format!(
            "expected `<` after `{}`: write `struct {0} < input(20, 1), lstm(50), dense(1) >`",
            header.name
        )));
    }
    let lt: Token![<] = input.parse()?;

    let mut layers = Vec::new();
    let mut options = Vec::new();
    let gt = loop {
        if input.peek(Token![>]) {
            break input.parse::<Token![>]>()?;
        }
        if input.is_empty() {
            return Err(unclosed(lt));
        }
        let what = if is_named(input) {
            let key = input.call(Ident::parse_any)?;
            input.parse::<Token![=]>()?;
            // The value ends at the next `,` or `>` of the list: parsed as an
            // expression it would take `>` for a comparison.
            let value = parse_option_value(input)?;
            options.push(OptionDef {
                key,
                value,
                layers_before: layers.len(),
            });
            "an option"
        } else {
            layers.push(input.parse::<LayerDef>()?);
            "a layer"
        };
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
        } else if input.is_empty() {
            return Err(unclosed(lt));
        } else if !input.peek(Token![>]) {
            return Err(input.error(format!("expected `,` or `>` after {what}")));
        }
    };

    if !input.is_empty() {
        return Err(input.error("unexpected tokens after `>`: the model spec ends at `>`"));
    }
    Ok(ModelDef {
        header,
        lt,
        layers,
        options,
        gt,
    })
}

/// Whether the input starts with `key =` (an option), not `==` or `=>`.
fn is_named(input: ParseStream) -> bool {
    input.peek(Ident::peek_any)
        && input.peek2(Token![=])
        && !input.peek2(Token![==])
        && !input.peek2(Token![=>])
}

/// A model option's value: the tokens up to the next top-level `,` or `>`, parsed as
/// an expression (`mse`, `huber(1.0)`).
fn parse_option_value(input: ParseStream) -> syn::Result<Expr> {
    let mut tokens = TokenStream::new();
    while !input.is_empty() && !input.peek(Token![,]) && !input.peek(Token![>]) {
        let tt: TokenTree = input.parse()?;
        tokens.extend([tt]);
    }
    if tokens.is_empty() {
        return Err(input.error("expected a value after `=`, e.g. `loss = mse`"));
    }
    if count_tokens(tokens.clone()) > MAX_EXPR_TOKENS {
        return Err(input.error(format!(
            "option value too long: more than {MAX_EXPR_TOKENS} tokens"
        )));
    }
    syn::parse2(tokens)
}

// Points at the `<`: at the end of input there is no token to blame but the opener.
fn unclosed(lt: Token![<]) -> syn::Error {
    syn::Error::new(
        lt.span,
        "unclosed layer list: expected `>` after the last layer",
    )
}

impl Parse for LayerDef {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        // Keywords are accepted as names so that `type(3)` is reported as an unknown
        // layer by `check` rather than as a bare syntax error.
        if !input.peek(Ident::peek_any) {
            return Err(input.error("expected a layer such as `lstm(8)`"));
        }
        let name = input.call(Ident::parse_any)?;
        if !input.peek(token::Paren) {
            return Err(syn::Error::new(
                name.span(),
                format!(
                    "`{name}` needs its arguments in parentheses, e.g. `{}`",
                    example(&name)
                ),
            ));
        }
        let content;
        let paren = syn::parenthesized!(content in input);
        if count_tokens(content.cursor().token_stream()) > MAX_EXPR_TOKENS {
            return Err(syn::Error::new(
                paren.span.join(),
                format!(
                    "the arguments of `{name}` are too long: more than {MAX_EXPR_TOKENS} tokens"
                ),
            ));
        }
        let args = Punctuated::<Arg, Token![,]>::parse_terminated(&content)?;
        let span = name.span().join(paren.span.close()).unwrap_or(name.span());
        Ok(LayerDef {
            name,
            args: args.into_iter().collect(),
            span,
        })
    }
}

/// `expr` without the invisible groups around it: a `macro_rules!` fragment such as
/// `$t:literal` reaches the macro wrapped in one, and a size written that way is still
/// a literal.
fn ungroup(expr: &Expr) -> &Expr {
    match expr {
        Expr::Group(group) => ungroup(&group.expr),
        other => other,
    }
}

/// The layer written as an argument, as in `bidirectional(lstm(8, return_sequences = true))`:
/// a call of a plain name whose arguments are expressions or `key = value`
/// assignments. `None` for any other expression.
pub fn nested_layer(expr: &Expr) -> Option<LayerDef> {
    let Expr::Call(call) = expr else { return None };
    let Expr::Path(path) = &*call.func else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let name = path.path.get_ident()?.clone();
    let args = call
        .args
        .iter()
        .map(ungroup)
        .map(|arg| match arg {
            Expr::Assign(assign) => match &*assign.left {
                Expr::Path(key) if key.qself.is_none() => match key.path.get_ident() {
                    Some(key) => Arg::Named {
                        key: key.clone(),
                        value: ungroup(&assign.right).clone(),
                    },
                    None => Arg::Positional(arg.clone()),
                },
                _ => Arg::Positional(arg.clone()),
            },
            _ => Arg::Positional(arg.clone()),
        })
        .collect();
    let span = name
        .span()
        .join(call.paren_token.span.close())
        .unwrap_or(name.span());
    Some(LayerDef { name, args, span })
}

fn example(name: &Ident) -> String {
    match name.to_string().as_str() {
        "input" => "input(20, 1)".to_owned(),
        "dense" => "dense(1)".to_owned(),
        other => format!("{other}(8)"),
    }
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        // `==` and `=>` also start with `=`; they belong to (invalid) expressions.
        let named = input.peek(Ident::peek_any)
            && input.peek2(Token![=])
            && !input.peek2(Token![==])
            && !input.peek2(Token![=>]);
        if named {
            let key = input.call(Ident::parse_any)?;
            input.parse::<Token![=]>()?;
            let value: Expr = input.parse()?;
            Ok(Arg::Named {
                key,
                value: ungroup(&value).clone(),
            })
        } else {
            let value: Expr = input.parse()?;
            Ok(Arg::Positional(ungroup(&value).clone()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    // Spans are only distinguishable when proc-macro2 tracks locations (its
    // `span-locations` feature); otherwise every span prints as `Span` and the span
    // comparisons below hold trivially. Inputs meant for span checks are parsed from
    // strings because `quote!` gives every token the same call-site span.
    fn tokens(src: &str) -> TokenStream {
        src.parse().expect("test input must lex")
    }

    fn fail(src: &str) -> ParseFailure {
        match parse(tokens(src)) {
            Ok(_) => panic!("expected a syntax error for {src}"),
            Err(failure) => failure,
        }
    }

    fn ok(src: &str) -> ModelDef {
        match parse(tokens(src)) {
            Ok(def) => def,
            Err(failure) => panic!("{src}: {}", failure.error),
        }
    }

    /// The span of the `nth` token (0-based) whose text is `text`.
    fn tok(ts: &TokenStream, text: &str, nth: usize) -> Span {
        fn walk(ts: &TokenStream, text: &str, found: &mut Vec<Span>) {
            for tt in ts.clone() {
                if let proc_macro2::TokenTree::Group(g) = &tt {
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

    fn assert_at(err: &syn::Error, expected: Span) {
        assert_eq!(
            format!("{:?}", err.span()),
            format!("{expected:?}"),
            "{err}"
        );
    }

    #[test]
    fn parses_a_full_spec() {
        let def = ok(
            "/// Docs.\n#[derive(Clone)] pub struct SineNet < input(20, 1), \
                      lstm(50, return_sequences = true), dense(1, activation = relu), >",
        );
        assert_eq!(def.header.name, "SineNet");
        assert_eq!(def.header.attrs.len(), 2);
        assert!(matches!(def.header.vis, Visibility::Public(_)));
        let names: Vec<String> = def.layers.iter().map(|l| l.name.to_string()).collect();
        assert_eq!(names, ["input", "lstm", "dense"]);
        assert_eq!(def.layers[0].args.len(), 2);
        match &def.layers[1].args[..] {
            [Arg::Positional(_), Arg::Named { key, value }] => {
                assert_eq!(key, "return_sequences");
                assert_eq!(quote!(#value).to_string(), "true");
            }
            _ => panic!("unexpected args"),
        }
    }

    #[test]
    fn accepts_private_and_restricted_visibility_and_empty_lists() {
        let def = ok("struct A < >");
        assert!(matches!(def.header.vis, Visibility::Inherited));
        assert!(def.layers.is_empty());
        let def = ok("pub(crate) struct B < input(1, 1), gru(2) >");
        assert!(matches!(def.header.vis, Visibility::Restricted(_)));
    }

    #[test]
    fn keeps_semantically_wrong_arguments_for_check() {
        let def = ok("struct A < type(), lstm(-3, 1.5, \"x\", N, true = 2), dense(1, relu) >");
        assert_eq!(def.layers[0].name, "type");
        assert_eq!(def.layers[1].args.len(), 5);
        assert!(matches!(&def.layers[1].args[4], Arg::Named { key, .. } if key == "true"));
        assert!(matches!(
            def.layers[2].args[1],
            Arg::Positional(Expr::Path(_))
        ));
    }

    #[test]
    fn equality_is_not_an_option() {
        let def = ok("struct A < lstm(a == b) >");
        assert!(matches!(
            def.layers[0].args[0],
            Arg::Positional(Expr::Binary(_))
        ));
    }

    #[test]
    fn layer_span_starts_at_the_name() {
        let src = "struct A < input(1, 1) >";
        let ts = tokens(src);
        let def = parse(ts.clone()).ok().expect("valid");
        let span = format!("{:?}", def.layers[0].span);
        let name = format!("{:?}", tok(&ts, "input", 0));
        // With locations the layer spans `input(1, 1)`; without, both print `Span`.
        assert_eq!(span.split("..").next(), name.split("..").next());
    }

    #[test]
    fn missing_struct() {
        let ts = tokens("pub Net < input(1, 1) >");
        let err = parse(ts.clone()).err().expect("error");
        assert!(err.header.is_none());
        assert!(err.error.to_string().starts_with("expected `struct`"));
        assert_at(&err.error, tok(&ts, "Net", 0));
    }

    #[test]
    fn empty_input() {
        let err = fail("");
        assert!(err.header.is_none());
        assert!(err.error.to_string().contains("expected `struct`"));
    }

    /// Found by `proptests::random_tokens_fail_cleanly`: a token missing at the very
    /// end of the input was reported at the call site, which has no location in the
    /// input; it now points at the last token written.
    #[test]
    fn a_missing_token_at_the_end_points_at_the_last_token() {
        for (src, message) in [
            ("/// doc\n", "expected `struct`"),
            ("#[derive(Clone)] pub", "expected `struct`"),
            ("struct", "expected the model's name after `struct`"),
            ("pub(crate) struct Net", "expected `<` after `Net`"),
            ("#", "expected square brackets"),
        ] {
            let ts = tokens(src);
            let err = parse(ts.clone()).err().expect("error").error;
            assert!(
                err.to_string().starts_with("unexpected end of input, "),
                "{src}: {err}"
            );
            assert!(err.to_string().contains(message), "{src}: {err}");
            let last = ts.into_iter().last().expect("a token").span();
            assert!(
                err.span().source_text().is_some(),
                "{src}: at the call site"
            );
            // Inside the last token: joining adds nothing to it.
            let joined = last.join(err.span()).expect("same source");
            assert_eq!(format!("{joined:?}"), format!("{last:?}"), "{src}");
        }
    }

    #[test]
    fn missing_name() {
        let ts = tokens("struct < input(1, 1) >");
        let err = parse(ts.clone()).err().expect("error");
        assert_eq!(
            err.error.to_string(),
            "expected the model's name after `struct`"
        );
        assert_at(&err.error, tok(&ts, "<", 0));
    }

    #[test]
    fn missing_lt_keeps_the_header() {
        let ts = tokens("pub struct Net input(1, 1) >");
        let err = parse(ts.clone()).err().expect("error");
        assert_eq!(
            err.error.to_string(),
            "expected `<` after `Net`: write `struct Net < input(20, 1), lstm(50), dense(1) >`"
        );
        assert_at(&err.error, tok(&ts, "input", 0));
        assert_eq!(err.header.expect("header").name, "Net");
    }

    #[test]
    fn missing_gt_points_at_lt() {
        for src in [
            "struct N < input(1, 1), lstm(2)",
            "struct N < input(1, 1), lstm(2),",
        ] {
            let ts = tokens(src);
            let err = parse(ts.clone()).err().expect("error");
            assert_eq!(
                err.error.to_string(),
                "unclosed layer list: expected `>` after the last layer"
            );
            assert_at(&err.error, tok(&ts, "<", 0));
            assert!(err.header.is_some());
        }
    }

    #[test]
    fn missing_comma() {
        let ts = tokens("struct N < input(1, 1) lstm(2) >");
        let err = parse(ts.clone()).err().expect("error");
        assert_eq!(err.error.to_string(), "expected `,` or `>` after a layer");
        assert_at(&err.error, tok(&ts, "lstm", 0));
    }

    #[test]
    fn missing_comma_between_arguments() {
        let ts = tokens("struct N < input(1 1), lstm(2) >");
        let err = parse(ts.clone()).err().expect("error");
        assert_eq!(err.error.to_string(), "expected `,`");
        assert_at(&err.error, tok(&ts, "1", 1));
    }

    #[test]
    fn missing_parentheses() {
        let ts = tokens("struct N < input(1, 1), lstm, dense(1) >");
        let err = parse(ts.clone()).err().expect("error");
        assert_eq!(
            err.error.to_string(),
            "`lstm` needs its arguments in parentheses, e.g. `lstm(8)`"
        );
        assert_at(&err.error, tok(&ts, "lstm", 0));
        let err = fail("struct N < input[20, 1] >");
        assert_eq!(
            err.error.to_string(),
            "`input` needs its arguments in parentheses, e.g. `input(20, 1)`"
        );
    }

    #[test]
    fn garbage_in_the_layer_list() {
        let ts = tokens("struct N < input(1, 1), 5, lstm(2) >");
        let err = parse(ts.clone()).err().expect("error");
        assert_eq!(err.error.to_string(), "expected a layer such as `lstm(8)`");
        assert_at(&err.error, tok(&ts, "5", 0));
    }

    #[test]
    fn garbage_after_gt() {
        let ts = tokens("struct N < input(1, 1), lstm(2) > ;");
        let err = parse(ts.clone()).err().expect("error");
        assert_eq!(
            err.error.to_string(),
            "unexpected tokens after `>`: the model spec ends at `>`"
        );
        assert_at(&err.error, tok(&ts, ";", 0));
    }

    #[test]
    fn bad_option_syntax() {
        let ts = tokens("struct N < input(1, 1), lstm(2, return_sequences =) >");
        let err = parse(ts).err().expect("error");
        assert!(err.error.to_string().contains("expected an expression"));
    }

    #[test]
    fn hostile_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
        let err = fail(&format!("struct N < input(1, 1), lstm({deep}) >"));
        assert_eq!(
            err.error.to_string(),
            "brackets are nested more than 16 deep"
        );
        assert!(err.header.is_none());

        let ts = tokens(&format!(
            "struct N < input(1, 1), lstm({}1) >",
            "- ".repeat(5000)
        ));
        let err = parse(ts.clone()).err().expect("error");
        assert_eq!(
            err.error.to_string(),
            "the arguments of `lstm` are too long: more than 64 tokens"
        );
        assert!(err.header.is_some());
        let parens = match tok_tree(&ts, "lstm") {
            Some(proc_macro2::TokenTree::Group(g)) => g.span(),
            _ => panic!("no group"),
        };
        assert_at(&err.error, parens);

        let err = fail(&format!(
            "#[doc = {}1] struct N < input(1, 1), lstm(1) >",
            "|| ".repeat(5000)
        ));
        assert_eq!(
            err.error.to_string(),
            "attribute too long for `model!`: more than 64 tokens"
        );

        // Exactly at the limits is fine.
        let nested = format!("{}1{}", "(".repeat(15), ")".repeat(15));
        ok(&format!("struct N < input({nested}, 1) >"));
        ok(&format!(
            "struct N < lstm({}1) >",
            "-".repeat(MAX_EXPR_TOKENS - 1)
        ));
    }

    /// The token right after the first token whose text is `before`.
    fn tok_tree(ts: &TokenStream, before: &str) -> Option<proc_macro2::TokenTree> {
        let mut tokens = ts.clone().into_iter();
        tokens.find(|tt| tt.to_string() == before)?;
        tokens.next()
    }
}

//! How a model presents itself: `summary()` (Keras's table), `Display` (the same
//! table) and a one-line `Debug` naming the architecture instead of every weight.
//!
//! `Debug` is a string literal written here, so it needs nothing of the runtime and
//! exists without its `std` feature; `summary()` and `Display` build a `String` from
//! `Network::ARCHITECTURE` and exist with `std` only, like the rest of the batch API.
//! A trait the user derives (`#[derive(Debug)]`) is theirs: ours is not generated.

use proc_macro2::TokenStream;
use quote::quote;

use super::layers::describe;
use super::user_derives;
use crate::spec::{Header, Input, Model};

/// The spec as the user would write it, less the struct header:
/// `input(20, 1), lstm(50), dense(1)`.
pub fn spec_text(model: &Model) -> String {
    let input = match model.input {
        Input::Features(f) => format!("input({}, {f})", model.timesteps),
        Input::Tokens => format!("input({})", model.timesteps),
    };
    let layers = model.layers.iter().map(describe);
    let loss = model.loss.map(|loss| match loss {
        crate::spec::Loss::Huber(delta) => format!("loss = huber({delta:?})"),
        other => format!("loss = {}", other.name()),
    });
    std::iter::once(input)
        .chain(layers)
        .chain(loss)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The one-line `Debug` text: `SineNet { input(20, 1), lstm(50), dense(1), params: 10651 }`.
pub fn debug_text(model: &Model) -> String {
    let params = model.params();
    format!(
        "{} {{ {}, params: {params} }}",
        model.header.name,
        spec_text(model)
    )
}

/// `Debug` and `Display` of a checked model (`summary()` is a method of the table,
/// [`summary_item`]).
pub fn expand(model: &Model) -> TokenStream {
    let text = debug_text(model);
    let debug = debug_impl(&model.header, quote!(f.write_str(#text)));
    let display = display_impl(&model.header, quote!(f.write_str(&self.summary())));
    quote! {
        #debug

        ::rnn_runtime::__if_std! {
            #display
        }
    }
}

/// Documentation and body of `summary()`.
pub fn summary_item(model: &Model) -> (TokenStream, TokenStream) {
    let name_text = model.header.name.to_string();
    (
        quote! {
            /// Keras's `model.summary()` table: every layer with its Keras name and
            /// type, output shape (`None` for the batch) and parameter count, then the
            /// totals and the weights' memory. The counts are PyTorch's (two bias
            /// vectors per recurrent direction); see
            /// `rnn_runtime::Architecture::summary`. `Display` prints the same.
        },
        quote!({ <Self as ::rnn_runtime::Network>::ARCHITECTURE.summary(#name_text) }),
    )
}

/// The same impls after a spec error, with bodies that are never run.
pub fn fallback(header: &Header) -> TokenStream {
    let never = quote!(::rnn_runtime::__private::unreachable!());
    let debug = debug_impl(header, never.clone());
    let display = display_impl(header, never);
    quote! {
        #debug

        ::rnn_runtime::__if_std! {
            #display
        }
    }
}

/// `impl Debug` with `body` (an expression of `f: &mut Formatter`), unless the user
/// derives `Debug`.
fn debug_impl(header: &Header, body: TokenStream) -> TokenStream {
    if user_derives(&header.attrs).iter().any(|d| d == "Debug") {
        return TokenStream::new();
    }
    let name = &header.name;
    let fmt = quote!(::rnn_runtime::__private::fmt);
    quote! {
        /// The architecture and the parameter count on one line, not the weights.
        #[allow(unused_variables, clippy::all)]
        impl ::rnn_runtime::__private::Debug for #name {
            fn fmt(&self, f: &mut #fmt::Formatter<'_>) -> #fmt::Result {
                #body
            }
        }
    }
}

/// `impl Display` with `body`, unless the user derives `Display` (with a derive crate).
fn display_impl(header: &Header, body: TokenStream) -> TokenStream {
    if user_derives(&header.attrs).iter().any(|d| d == "Display") {
        return TokenStream::new();
    }
    let name = &header.name;
    let fmt = quote!(::rnn_runtime::__private::fmt);
    quote! {
        /// Keras's summary table, as `summary()`.
        #[allow(unused_variables, clippy::all)]
        impl ::rnn_runtime::__private::Display for #name {
            fn fmt(&self, f: &mut #fmt::Formatter<'_>) -> #fmt::Result {
                #body
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::check;
    use crate::parse::parse;

    fn model(spec: &str) -> crate::spec::Model {
        let def = parse(spec.parse().expect("lexes")).ok().expect("parses");
        check(&def).expect("checks")
    }

    #[test]
    fn the_debug_text_is_the_spec_and_the_count() {
        let cases = [
            (
                "struct SineNet < input(20, 1), lstm(50), dense(1) >",
                "SineNet { input(20, 1), lstm(50), dense(1), params: 10651 }",
            ),
            (
                "struct T < input(5), embedding(10, 4), bidirectional(gru(3, return_sequences = true)), \
                 dropout(0.25), simple_rnn(2, activation = relu, recurrent_dropout = 0.5), \
                 dense(3, activation = softmax) >",
                "T { input(5), embedding(10, 4), bidirectional(gru(3, return_sequences = true)), \
                 dropout(0.25), simple_rnn(2, activation = relu, recurrent_dropout = 0.5), \
                 dense(3, activation = softmax), params: 231 }",
            ),
        ];
        for (spec, want) in cases {
            assert_eq!(super::debug_text(&model(spec)), want);
        }
    }
}

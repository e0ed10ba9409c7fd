//! The `model!` macro of the rnn library. Use it through `rnn_runtime::model!`.
//!
//! The macro is a small compiler in three stages, each a module with a typed boundary:
//! `parse` (tokens → `parse::ModelDef`), `check` (→ `spec::Model`, every error
//! collected with its span) and `codegen` (→ tokens).

#![deny(missing_docs)]

mod check;
mod codegen;
mod diagnostics;
mod parse;
#[cfg(test)]
mod proptests;
mod spec;

use proc_macro::TokenStream;

/// Declares a statically shaped recurrent network; see `rnn_runtime::model!`.
#[proc_macro]
pub fn model(input: TokenStream) -> TokenStream {
    expand(input.into()).into()
}

/// The whole pipeline on `proc_macro2` tokens, so it is testable outside the compiler.
fn expand(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let def = match parse::parse(input) {
        Ok(def) => def,
        Err(failure) => return failure.into_tokens(),
    };
    match check::check(&def) {
        Ok(model) => codegen::expand(&model),
        Err(err) => {
            let mut out = err.to_compile_error();
            out.extend(codegen::fallback(&def.header, check::partial_shape(&def)));
            out
        }
    }
}

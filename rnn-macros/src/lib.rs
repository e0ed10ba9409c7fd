//! The `model!` macro of the rnn library. Use it through `rnn_runtime::model!`.
//!
//! The macro is a small compiler in three stages, each a module with a typed boundary:
//! `parse` (tokens → `parse::ModelDef`), `check` (→ `spec::Model`, every error
//! collected with its span) and `codegen` (→ tokens). No stage calls a later one:
//! after an error, `expand` alone chooses what to emit beside it (the fallback).

#![forbid(unsafe_code)]
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
///
/// After a spec error the output is the error and the fallback: the struct with the
/// whole generated API (`codegen::fallback`), typed as far as the spec still tells, so
/// that the user's other code does not add a cascade of secondary errors to the real
/// one. After a syntax error the fallback is emitted when the struct's name was read.
fn expand(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let def = match parse::parse(input) {
        Ok(def) => def,
        Err(failure) => {
            let mut out = failure.error.to_compile_error();
            if let Some(header) = &failure.header {
                out.extend(codegen::fallback(header, None));
            }
            return out;
        }
    };
    match check::check(&def) {
        Ok(model) => codegen::expand(&model),
        Err(rejected) => {
            let mut out = rejected.error.to_compile_error();
            out.extend(codegen::fallback(&def.header, rejected.shape));
            out
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_syntax_error_is_emitted_with_the_fallback_when_the_name_is_known() {
        let out = super::expand("struct N < input(1, 1) lstm(2) >".parse().expect("lexes"));
        let out = out.to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("struct N"), "{out}");
        let out = super::expand("Nope".parse().expect("lexes")).to_string();
        assert!(out.contains("compile_error"), "{out}");
    }
}

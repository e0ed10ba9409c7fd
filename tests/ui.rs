//! Compile-time behaviour of `model!`: every spec error it reports, and specs that
//! must compile.
//!
//! Each file under `tests/ui/` shows one behaviour, named by its file name and by
//! the comment on its first line. A `fail/*.rs` file must not compile, and its
//! `.stderr` holds the exact diagnostics; a `pass/*.rs` file must compile and run.
//!
//! The `.stderr` files are specific to the pinned compiler (`rust-toolchain.toml`,
//! 1.95.0): another rustc may word or lay out the same diagnostics differently.
//! After a deliberate change to a message, or a toolchain bump, regenerate them with
//!
//! ```text
//! TRYBUILD=overwrite cargo test --test ui
//! ```
//!
//! and read every changed `.stderr` before committing it: each must point at the
//! offending token, with one error per problem and no secondary errors.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}

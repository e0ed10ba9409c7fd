//! Fuzz target: the `flat` loader of `rnn-runtime/tests/loaders/mod.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rnn_fuzz::run("flat", data));

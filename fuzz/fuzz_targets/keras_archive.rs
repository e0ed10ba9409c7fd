//! Fuzz target: the `keras_archive` loader of `rnn-runtime/tests/loaders/mod.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rnn_fuzz::run("keras_archive", data));

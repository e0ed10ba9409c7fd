//! Fuzz target: the `keras_legacy_h5` loader of `rnn-runtime/tests/loaders/mod.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rnn_fuzz::run("keras_legacy_h5", data));

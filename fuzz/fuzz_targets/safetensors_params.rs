//! Fuzz target: the `safetensors_params` loader of `rnn-runtime/tests/loaders/mod.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rnn_fuzz::run("safetensors_params", data));

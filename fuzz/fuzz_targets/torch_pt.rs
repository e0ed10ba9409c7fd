//! Fuzz target: the `torch_pt` loader of `rnn-runtime/tests/loaders/mod.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rnn_fuzz::run("torch_pt", data));

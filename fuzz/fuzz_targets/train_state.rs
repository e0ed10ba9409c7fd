//! Fuzz target: the `train_state` loader of `rnn-runtime/tests/loaders/mod.rs`
//! (resuming `fit` from a training state).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rnn_fuzz::run("train_state", data));

//! The seed model and a streaming GRU in a `#![no_std]` crate without `alloc`, built
//! against `rnn-runtime` without its `std` feature: what firmware flashes.
//!
//! The weights are `static`s built at compile time by the generated
//! `const fn from_le_bytes` from the files in `weights/` (written by the std build's
//! `rnn_runtime::flat::to_le_bytes`), so they sit in flash; the only RAM the models use
//! is the stack of a call and, for streaming, the caller's hidden state.
//!
//! The `rnn_*` functions are the C interface (arrays passed as pointers to their first
//! element); the `staticlib` member packages them as a static library.

#![no_std]

include!("models.rs");

/// The seed model's weights, in flash.
pub static SEED: SeedNet = SeedNet::from_le_bytes(include_bytes!("../weights/seed.bin"));

/// The seed model quantised to int8 (`SeedNet::quantize` on the host, written by
/// `SeedNetInt8::to_le_bytes`), in flash: about a quarter of [`SEED`]'s bytes.
pub static SEED_INT8: SeedNetInt8 =
    SeedNetInt8::from_le_bytes(include_bytes!("../weights/seed_int8.bin"));

/// The streaming GRU's weights, in flash.
pub static GRU: GruNet = GruNet::from_le_bytes(include_bytes!("../weights/gru.bin"));

/// Width of [`GRU`]'s hidden state, the state a C caller keeps between steps.
pub const GRU_STATE: usize = 16;

/// The seed model's prediction for one window of 20 samples.
#[no_mangle]
pub extern "C" fn rnn_seed_predict(x: &[[f32; 1]; 20]) -> f32 {
    SEED.predict_one(x)[0]
}

/// The int8 seed model's prediction for one window of 20 samples.
#[no_mangle]
pub extern "C" fn rnn_seed_int8_predict(x: &[[f32; 1]; 20]) -> f32 {
    SEED_INT8.predict_one(x)[0]
}

/// One step of the streaming GRU: reads and updates the hidden state `h` (zeros to
/// start a sequence) and writes this step's output pair to `out`.
#[no_mangle]
pub extern "C" fn rnn_gru_push(h: &mut [f32; GRU_STATE], x: &[f32; 3], out: &mut [f32; 2]) {
    let mut state = GruNetState::new();
    state.l0.h = *h;
    let mut stream = GRU.stream_from(state);
    *out = stream.push(x);
    *h = stream.state().l0.h;
}

/// The streaming GRU over a whole sequence of 8 steps from the zero state.
#[no_mangle]
pub extern "C" fn rnn_gru_predict(x: &[[f32; 3]; 8], out: &mut [[f32; 2]; 8]) {
    *out = GRU.predict_one(x);
}

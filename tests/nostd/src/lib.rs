//! The seed model and a streaming GRU in a `#![no_std]` crate without `alloc`, built
//! against `rnn-runtime` without its `std` feature: what firmware flashes.
//!
//! The weights are `static`s built at compile time by the generated
//! `const fn from_le_bytes` from the files in `weights/` (written by the std build's
//! `rnn_runtime::flat::to_le_bytes`), so they sit in flash; the only RAM the models use
//! is the stack of a call and, for streaming, the caller's hidden state.
//!
//! A weights file written for another model does not compile, even at the right size:
//! the header's spec hash is checked while the `static` is built.
//!
//! ```compile_fail,E0080
//! rnn_runtime::model! {
//!     /// The seed model's sizes with another head.
//!     pub struct SeedTanh < input(20, 1), lstm(50), dense(1, activation = tanh) >
//! }
//! static WRONG: SeedTanh = SeedTanh::from_le_bytes(include_bytes!("../weights/seed.bin"));
//! ```
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

/// The bidirectional model's weights, in flash.
pub static BI: BiNet = BiNet::from_le_bytes(include_bytes!("../weights/bi.bin"));

/// The gesture classifier's weights, in flash.
pub static GESTURE: GestureNet =
    GestureNet::from_le_bytes(include_bytes!("../weights/gesture.bin"));

/// Width of [`GRU`]'s hidden state, the state a C caller keeps between steps.
pub const GRU_STATE: usize = GruNet::STATE_BYTES / 4;

/// `SeedNet::STACK_BYTES`, for C (`include/rnn_nostd.h`).
#[no_mangle]
pub static RNN_SEED_STACK_BYTES: usize = SeedNet::STACK_BYTES;

/// `GruNet::STACK_BYTES`, for C.
#[no_mangle]
pub static RNN_GRU_STACK_BYTES: usize = GruNet::STACK_BYTES;

/// `GestureNet::STACK_BYTES`, for C.
#[no_mangle]
pub static RNN_GESTURE_STACK_BYTES: usize = GestureNet::STACK_BYTES;

/// `BiNet::STACK_BYTES`, for C.
#[no_mangle]
pub static RNN_BI_STACK_BYTES: usize = BiNet::STACK_BYTES;

/// `GruNet::STATE_BYTES`, for C.
#[no_mangle]
pub static RNN_GRU_STATE_BYTES: usize = GruNet::STATE_BYTES;

/// [`GRU_STATE`], for C to check its header's `RNN_GRU_STATE` against.
#[no_mangle]
pub static RNN_GRU_STATE_LEN: usize = GRU_STATE;

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

/// The gesture classifier's class probabilities for 32 steps of three axes.
#[no_mangle]
pub extern "C" fn rnn_gesture_predict(x: &[[f32; 3]; 32], out: &mut [f32; 4]) {
    *out = GESTURE.predict_one(x);
}

/// The bidirectional model's three outputs for 10 steps of two features.
#[no_mangle]
pub extern "C" fn rnn_bi_predict(x: &[[f32; 2]; 10], out: &mut [f32; 3]) {
    *out = BI.predict_one(x);
}

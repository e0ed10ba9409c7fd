//! The guide: how to declare, train, import, export and deploy `model!` networks.
//!
//! This module holds no code. Each chapter below is a page of documentation whose
//! examples are compiled and run as doctests (`cargo test -p rnn-runtime --doc`), so
//! what you read here is what the current version does. The same chapters are Markdown
//! files in the crate's `docs/` directory.
//!
//! | chapter | what it covers |
//! | --- | --- |
//! | [`dsl`] | the `model!` language: every layer, option and loss, the limits, and what the macro generates |
//! | [`training`] | `fit` and its options, metrics, losses, optimisers, clipping, schedules, callbacks, saving and resuming a run, the step-by-step loop, determinism |
//! | [`sequences`] | input and output shapes, cutting a series into windows, many-to-one and many-to-many, bidirectional layers, token ids and embeddings, the data helpers |
//! | [`import_export`] | parameter names, safetensors, Keras `.keras` / `.h5`, PyTorch `state_dict`s, ONNX, flat bytes |
//! | [`streaming`] | one time step at a time: streams, states, batches from given states |
//! | [`embedded`] | the `no_std` build without an allocator, weights in flash, footprint |
//! | [`errors`] | the one error type, each kind of bad input and what to do about it |
//! | [`reliability`] | limits, damaged and hostile files, crash-safe saving, training memory |
//! | [`correctness`] | how the results are checked against PyTorch, Keras and finite differences |
//!
//! # A first model
//!
//! A model is declared in one line. Its layers follow `input(T, F)` — `T` time steps
//! of `F` features per sample — and the macro checks, at compile time, that each layer
//! can read what the one before it produces:
//!
//! ```
//! use rnn_runtime::ndarray::{Array2, Array3};
//! use rnn_runtime::{model, Adam, Fit};
//!
//! model! {
//!     /// Reads 10 steps of 2 features, predicts one value.
//!     pub struct Net < input(10, 2), gru(8), dense(1) >
//! }
//!
//! # fn main() -> rnn_runtime::Result<()> {
//! let x = Array3::from_shape_fn((32, 10, 2), |(i, t, f)| ((i + t + f) as f32 * 0.1).sin());
//! let y = Array2::from_shape_fn((32, 1), |(i, _)| ((i + 10) as f32 * 0.1).sin());
//!
//! let mut net = Net::new(0); // seeded, deterministic initialisation
//! let history = net.fit(&x, &y, Fit::new(Adam::new(1e-2)).epochs(3).verbose(false))?;
//! assert_eq!(history.loss.len(), 3);
//!
//! let batch = net.predict(&x)?; // ndarray in, ndarray out: [32, 1]
//! assert_eq!(batch.dim(), (32, 1));
//! let one: [f32; 1] = net.predict_one(&[[0.0, 0.5]; 10]); // arrays in and out, no allocation
//! assert!(one[0].is_finite());
//! # Ok(())
//! # }
//! ```
//!
//! Build arrays with the ndarray the crate re-exports, [`crate::ndarray`]: arrays of
//! another ndarray version are other types, and the batch methods would not accept
//! them.
//!
//! # Features
//!
//! - `std` (default): everything beyond single-sample inference — the batch API,
//!   training, files, threads, run-time CPU-feature detection. Without it the crate
//!   is `#![no_std]` and needs no allocator ([`embedded`]).
//! - `plot` (opt-in, `features = ["plot"]`): PNG plots of training histories and
//!   forecasts (`History::plot_loss`, `plot::PredictionPlot`), drawn with a font
//!   compiled into the crate. Not a default because its dependencies add about a
//!   quarter to a user crate's clean release build.

#[doc = include_str!("dsl.md")]
pub mod dsl {}

#[doc = include_str!("training.md")]
pub mod training {}

#[doc = include_str!("sequences.md")]
pub mod sequences {}

#[doc = include_str!("import_export.md")]
pub mod import_export {}

#[doc = include_str!("streaming.md")]
pub mod streaming {}

#[doc = include_str!("embedded.md")]
pub mod embedded {}

#[doc = include_str!("errors.md")]
pub mod errors {}

#[doc = include_str!("reliability.md")]
pub mod reliability {}

#[doc = include_str!("correctness.md")]
pub mod correctness {}

/// The crate's README, whose example is compiled and run with the guide's.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

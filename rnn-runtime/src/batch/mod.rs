//! Batch compute: a model run over a batch of samples, above the model trait and below
//! the optimisers and the training loop.
//!
//! - [`compute`]: `forward`, `evaluate`, `loss_and_grads` and the input checks;
//! - [`shards`]: how a batch is cut into shards that run in parallel and are reduced in
//!   a fixed order, so results do not depend on the number of threads;
//! - [`lengths`]: samples of varying lengths, and batches sorted for the packed kernels;
//! - [`states`]: batches from given recurrent states: truncated BPTT and long series;
//! - [`grads`]: the gradient store (`Grads`) and its clipping;
//! - [`clip`]: the clipping arithmetic and options, shared by `Grads` and `fit`;
//! - [`norms`]: per-layer gradient norms, shared by `Grads` and `fit`.

pub(crate) mod clip;
pub mod compute;
pub(crate) mod grads;
pub(crate) mod lengths;
pub(crate) mod norms;
pub(crate) mod shards;
pub mod states;

//! Training: the loop (`fit`), its options (`Fit`), what it reports (`History` and the
//! CSV/JSON files of it), callbacks, and the training state that makes a run resumable.
//!
//! Inside, the modules form a chain with no cycle: `grad_norms` ← `history` (and its
//! files) ← `state` ← `options` ← `checkpoints` ← `fit`, with `callbacks` (which also
//! uses `grad_norms`) used by `options` and `fit`.
//! This module only re-exports.

pub mod callbacks;
mod checkpoints;
mod fit;
mod grad_norms;
mod history;
mod history_io;
mod options;
mod series;
mod state;

pub use fit::fit;
pub use grad_norms::{GradNorm, LayerGradNorms};
pub use history::History;
#[cfg(not(feature = "plot"))]
pub use history::PlotFeatureIsOff;
pub use options::{Fit, Verbosity};
pub use series::fit_series;

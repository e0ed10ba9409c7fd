//! Variable-length batches and series longer than `T`, in one test binary (each binary
//! costs CI a link): property tests against each sample alone (`lengths`), PyTorch's
//! packed sequences and Keras's masks (`parity_lengths`), truncated BPTT (`tbptt`) and
//! its PyTorch oracle (`parity_tbptt`).

mod case;
#[path = "../common/mod.rs"]
mod common;
mod lengths;
mod parity_lengths;
mod parity_tbptt;
mod tbptt;

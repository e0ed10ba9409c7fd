//! Numerical kernels: the loops every layer is built from, below any notion of a layer.
//!
//! - [`simd`]: runtime CPU-feature dispatch (`multiversion!`) for the loops below;
//! - [`matvec`]: dot products and matrix-vector products with a fixed summation order;
//! - [`gemm`]: matrix products of a batch, on the register-tiled kernel of [`tiled`]
//!   (AVX-512, AVX2 + FMA or portable lanes), and AVX-512 step kernels for a few rows;
//! - [`activation`]: the dense activations (`Activation`) and their scalar and slice math;
//! - [`cell_activation`]: the activations of recurrent cells (`CellActivation`);
//! - `step`: the fused single-row step of the recurrent cells on AVX-512.
//!
//! Nothing here knows about layers, models or files; the unsafe code of the crate lives
//! here (`gemm`'s, `tiled`'s and `step`'s micro-kernels and the dispatch in `simd`).

pub mod activation;
pub mod cell_activation;
#[cfg(feature = "std")]
pub(crate) mod gemm;
pub(crate) mod matvec;
pub(crate) mod simd;
#[cfg(feature = "std")]
pub(crate) mod step;
#[cfg(feature = "std")]
pub(crate) mod tiled;

#[cfg(feature = "std")]
/// Grows `buf` to at least `len` elements and returns its first `len`: how every work
/// buffer of the crate is sized on first use and reused afterwards.
pub(crate) fn ensure(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    &mut buf[..len]
}

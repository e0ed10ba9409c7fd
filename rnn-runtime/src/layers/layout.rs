//! Conversions between the batch-major layout of user arrays and the time-major
//! layout of the kernels, for outputs and token ids (the `f32` input direction is
//! [`to_time_major`](super::to_time_major)), and into and out of the packed layout of
//! a batch of varying lengths.

use super::Packing;

/// Writes `x`, `[outer, inner, width]` row-major, as `[inner, outer, width]` into the
/// first `outer·inner·width` elements of `out`, growing it if needed.
fn swap_outer_axes<T: Copy + Default>(
    x: &[T],
    outer: usize,
    inner: usize,
    width: usize,
    out: &mut Vec<T>,
) {
    let len = outer * inner * width;
    if out.len() < len {
        out.resize(len, T::default());
    }
    let out = &mut out[..len];
    if width == 0 {
        return;
    }
    for (o, block) in x[..len].chunks_exact(inner * width).enumerate() {
        for (i, row) in block.chunks_exact(width).enumerate() {
            let dst = (i * outer + o) * width;
            out[dst..dst + width].copy_from_slice(row);
        }
    }
}

/// Copies a time-major `[steps, batch, width]` block into batch-major order
/// (`[batch, steps, width]`) in `out`, growing it if needed: the inverse of
/// [`to_time_major`](super::to_time_major), for many-to-many outputs.
pub fn to_batch_major(x: &[f32], steps: usize, batch: usize, width: usize, out: &mut Vec<f32>) {
    swap_outer_axes(x, steps, batch, width, out);
}

/// Copies batch-major token ids (`[batch, steps]`) into time-major order
/// (`[steps, batch]`) in `out`, growing it if needed.
pub fn ids_to_time_major(ids: &[u32], batch: usize, steps: usize, out: &mut Vec<u32>) {
    swap_outer_axes(ids, batch, steps, 1, out);
}

/// Copies a batch-major `[batch, steps, width]` block into the packed layout of
/// `packing` in `out`, growing it if needed: time-major `[steps, batch, width]` when
/// every sample is full, else only the valid steps.
pub fn pack<T: Copy + Default>(x: &[T], packing: &Packing, width: usize, out: &mut Vec<T>) {
    let len = packing.rows() * width;
    if out.len() < len {
        out.resize(len, T::default());
    }
    packing.pack(x, width, &mut out[..len]);
}

/// The inverse of [`pack`]: a packed block into batch-major `[batch, steps, width]`
/// order in `out` (growing it if needed), 0 at every padded step.
pub fn unpack(x: &[f32], packing: &Packing, width: usize, out: &mut Vec<f32>) {
    let len = packing.batch() * packing.steps() * width;
    if out.len() < len {
        out.resize(len, 0.0);
    }
    packing.unpack(x, width, 0.0, &mut out[..len]);
}

#[cfg(test)]
mod tests {
    use super::super::to_time_major;
    use super::*;

    #[test]
    fn to_batch_major_inverts_to_time_major() {
        let (batch, steps, width) = (3, 5, 4);
        let x: Vec<f32> = (0..batch * steps * width).map(|v| v as f32).collect();
        let mut tm = Vec::new();
        to_time_major(&x, batch, steps, width, &mut tm);
        // Element (b, t, j) sits at (t, b, j) in time-major order.
        assert_eq!(tm[(2 * batch + 1) * width + 3], x[(steps + 2) * width + 3]);
        let mut back = vec![f32::NAN; 100];
        to_batch_major(&tm, steps, batch, width, &mut back);
        assert_eq!(back.len(), 100, "a larger buffer is reused, not shrunk");
        assert_eq!(back[..x.len()], x[..]);
    }

    #[test]
    fn ids_go_time_major() {
        // Two samples of three steps: [[1, 2, 3], [4, 5, 6]].
        let mut out = Vec::new();
        ids_to_time_major(&[1, 2, 3, 4, 5, 6], 2, 3, &mut out);
        assert_eq!(out, [1, 4, 2, 5, 3, 6]);
    }

    #[test]
    fn empty_shapes_write_nothing() {
        let mut out = Vec::new();
        to_batch_major(&[], 0, 4, 3, &mut out);
        to_batch_major(&[], 2, 4, 0, &mut out);
        ids_to_time_major(&[], 0, 7, &mut Vec::new());
        assert!(out.is_empty());
    }
}

//! The matrix-vector products of single-sample inference in their portable form, shared
//! by the `std` build (as the fallback of its dispatched kernels) and the `no_std` build
//! (as its only form), so that both compute the same bits.

/// Dot product with eight independent partial sums, so that it vectorises.
#[inline(always)]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let n = a.len().min(b.len());
    let whole = n / 8 * 8;
    for (ca, cb) in a[..whole].chunks_exact(8).zip(b[..whole].chunks_exact(8)) {
        for l in 0..8 {
            acc[l] += ca[l] * cb[l];
        }
    }
    finish_dot(acc, &a[whole..n], &b[whole..n])
}

/// Adds the lanes of a partial dot product and its scalar tail.
#[inline(always)]
fn finish_dot(acc: [f32; 8], a_tail: &[f32], b_tail: &[f32]) -> f32 {
    let tail: f32 = a_tail.iter().zip(b_tail).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// `out[r] += Σ_c w[r, c] · x[c]` one [`dot`] per row; with one input feature a scaled
/// copy of the only column, which vectorises.
#[inline(always)]
pub(crate) fn matvec_add_portable(w: &[f32], x: &[f32], out: &mut [f32]) {
    if let [x0] = x {
        out.iter_mut().zip(w).for_each(|(o, w)| *o += w * x0);
        return;
    }
    for (o, row) in out.iter_mut().zip(w.chunks_exact(x.len().max(1))) {
        *o += dot(row, x);
    }
}

/// `out[r] += Σ_c w[r, c] · x[c]`, each row summed strictly in order of `c`.
///
/// The same additions, in the same order, as the `std` build's product with the
/// transposed weights (`out += x[c] · wᵀ[c, :]` for `c = 0, 1, …`), so that a cell
/// without the transposed copies still gives the same bits; it reads the plain rows,
/// which is what a microcontroller without SIMD wants anyway.
#[cfg(not(feature = "std"))]
#[inline(always)]
pub(crate) fn matvec_add_ordered(w: &[f32], x: &[f32], out: &mut [f32]) {
    if x.is_empty() {
        return;
    }
    for (o, row) in out.iter_mut().zip(w.chunks_exact(x.len())) {
        let mut acc = *o;
        for (w, x) in row.iter().zip(x) {
            acc += x * w;
        }
        *o = acc;
    }
}

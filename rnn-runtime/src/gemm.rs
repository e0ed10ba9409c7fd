//! Single-precision matrix product on row-major slices.
//!
//! Kernels keep their data in flat `Vec<f32>` buffers; this wrapper states the shapes
//! once and lets `matrixmultiply` handle transposes through strides, so no transposed
//! copy is ever made.

/// Whether an operand is used as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// Use the matrix as stored.
    N,
    /// Use the transpose of the stored matrix.
    T,
}

/// `c[m×n] = alpha · op(a)[m×k] · op(b)[k×n] + beta · c`, all row-major.
///
/// `a` is stored as `[m, k]` for `Op::N` and `[k, m]` for `Op::T`; likewise `b` as
/// `[k, n]` or `[n, k]`. With `beta == 0` the previous contents of `c` are ignored.
///
/// # Panics
/// If a slice is shorter than its shape needs: a kernel bug, never a user error.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: &[f32],
    op_a: Op,
    b: &[f32],
    op_b: Op,
    beta: f32,
    c: &mut [f32],
) {
    assert!(
        a.len() >= m * k && b.len() >= k * n && c.len() >= m * n,
        "gemm shapes"
    );
    if m == 0 || n == 0 {
        return;
    }
    let c = &mut c[..m * n];
    if k == 0 {
        if beta == 0.0 {
            c.fill(0.0);
        } else {
            c.iter_mut().for_each(|v| *v *= beta);
        }
        return;
    }
    let (rsa, csa) = match op_a {
        Op::N => (k as isize, 1),
        Op::T => (1, m as isize),
    };
    let (rsb, csb) = match op_b {
        Op::N => (n as isize, 1),
        Op::T => (1, k as isize),
    };
    // SAFETY: the assertion above guarantees that every index the strides reach,
    // at most (m-1)·rs + (k-1)·cs and so on, lies inside the slices.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            alpha,
            a.as_ptr(),
            rsa,
            csa,
            b.as_ptr(),
            rsb,
            csb,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// Adds the column sums of `rows` (`[r, n]` row-major) to `acc` (`[n]`).
pub(crate) fn add_column_sums(rows: &[f32], acc: &mut [f32]) {
    let n = acc.len();
    for row in rows.chunks_exact(n) {
        for (a, v) in acc.iter_mut().zip(row) {
            *a += v;
        }
    }
}

/// Dot product with independent partial sums, so that it vectorises.
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = a.len().min(b.len()) / 8 * 8;
    for (ca, cb) in a[..chunks].chunks_exact(8).zip(b[..chunks].chunks_exact(8)) {
        for i in 0..8 {
            acc[i] += ca[i] * cb[i];
        }
    }
    let mut tail = 0.0;
    for (x, y) in a[chunks..].iter().zip(&b[chunks..]) {
        tail += x * y;
    }
    acc.iter().sum::<f32>() + tail
}

/// `out[r] += Σ_c w[r, c] · x[c]` for a row-major `w` of shape `[out.len(), x.len()]`.
#[inline]
pub(crate) fn matvec_add(w: &[f32], x: &[f32], out: &mut [f32]) {
    for (o, row) in out.iter_mut().zip(w.chunks_exact(x.len().max(1))) {
        *o += dot(row, x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, k: usize, n: usize, a: &[f32], ta: Op, b: &[f32], tb: Op) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    let av = if ta == Op::N {
                        a[i * k + p]
                    } else {
                        a[p * m + i]
                    };
                    let bv = if tb == Op::N {
                        b[p * n + j]
                    } else {
                        b[j * k + p]
                    };
                    c[i * n + j] += av * bv;
                }
            }
        }
        c
    }

    #[test]
    fn every_transpose_combination_matches_the_definition() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.91).cos()).collect();
        for ta in [Op::N, Op::T] {
            for tb in [Op::N, Op::T] {
                let want = naive(m, k, n, &a, ta, &b, tb);
                let mut c = vec![1.0; m * n];
                gemm(m, k, n, 2.0, &a, ta, &b, tb, 0.5, &mut c);
                for (g, w) in c.iter().zip(&want) {
                    assert!((g - (2.0 * w + 0.5)).abs() < 1e-5);
                }
            }
        }
    }

    #[test]
    fn matvec_and_column_sums() {
        let w = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut out = [1.0, 1.0];
        matvec_add(&w, &[1.0, 0.0, -1.0], &mut out);
        assert_eq!(out, [-1.0, -1.0]);
        let mut acc = [0.0; 3];
        add_column_sums(&w, &mut acc);
        assert_eq!(acc, [5.0, 7.0, 9.0]);
        let long: Vec<f32> = (0..19).map(|i| i as f32).collect();
        assert_eq!(
            dot(&long, &long),
            (0..19).map(|i| (i * i) as f32).sum::<f32>()
        );
    }
}

//! Single-precision matrix products on row-major slices.
//!
//! Kernels keep their data in flat `Vec<f32>` buffers; [`gemm`] states the shapes once
//! and reads a transposed left operand through its strides, so no transposed copy is
//! made, and no packed copy on the heap either: the register-tiled kernel of `tiled`
//! reads both operands in place (a transposed `a` through a panel on the stack),
//! which leaves nothing to allocate per call.

use crate::kernels::matvec::{dot, matvec_add_portable};
use crate::kernels::simd::multiversion;
use crate::kernels::tiled::{run, run_packed, Portable, Product};

/// Whether an operand is used as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// Use the matrix as stored.
    N,
    /// Use the transpose of the stored matrix.
    T,
}

/// `c[m×n] (+)= op(a)[m×k] · op(b)[k×n]`, all row-major; `accumulate` chooses `+=`
/// over `=` (the previous contents of `c` are then ignored).
///
/// `a` is stored as `[m, k]` for `Op::N` and `[k, m]` for `Op::T`; likewise `b` as
/// `[k, n]` or `[n, k]`. A row-major `b` runs the register-tiled kernel; a transposed
/// one (a dense layer's `x · Wᵀ`, whose outputs are few) one dot product per output.
///
/// # Panics
/// If a slice is shorter than its shape needs: a kernel bug, never a user error.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    op_a: Op,
    b: &[f32],
    op_b: Op,
    accumulate: bool,
    c: &mut [f32],
) {
    assert!(
        a.len() >= m * k && b.len() >= k * n && c.len() >= m * n,
        "gemm shapes"
    );
    if k == 0 && !accumulate {
        c[..m * n].fill(0.0);
    }
    if k == 0 || m == 0 || n == 0 {
        return;
    }
    if op_b == Op::T {
        assert_eq!(op_a, Op::N, "gemm: aᵀ · bᵀ is not needed");
        return gemm_nt(m, k, n, a, b, accumulate, c);
    }
    let (a_row, a_col) = match op_a {
        Op::N => (k, 1),
        Op::T => (1, m),
    };
    tiled(
        &Product {
            m,
            k,
            n,
            a,
            a_row,
            a_col,
            b,
            accumulate,
        },
        c,
    );
}

/// The tiled product on the widest vectors the CPU has.
fn tiled(p: &Product<'_>, c: &mut [f32]) {
    assert!(p.fits(c), "tiled gemm shapes");
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::simd::accelerated()
        && std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: `tiled_avx512` enables AVX-512F, AVX2 and FMA, all just detected;
            // the assertion above checked every index against the slices.
            return unsafe { tiled_avx512(p, c) };
        }
        // SAFETY: `tiled_avx2` enables AVX2 and FMA, both just detected; shapes checked.
        return unsafe { tiled_avx2(p, c) };
    }
    // SAFETY: the portable lanes run on any CPU; shapes checked above.
    unsafe { run_packed::<Portable, 4, 1>(p, c) }
}

/// # Safety
/// The CPU must support AVX-512F, AVX2 and FMA, and `p.fits(c)` must hold.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn tiled_avx512(p: &Product<'_>, c: &mut [f32]) {
    use crate::kernels::tiled::Avx512;
    // SAFETY: (both arms) forwarded from the caller.
    unsafe {
        if p.a_row == 1 {
            // A transposed left side (the weight gradients' `dgatesᵀ`): its rows lie
            // a whole row of `dgates` apart, so each step of `k` touches a new line
            // (often a new page). Sixteen rows × one vector use all of that line in
            // one tile and read one line of `b`: measured ~8% faster on dW_hh at
            // H = 256 than the tile below.
            run_packed::<Avx512, 16, 1>(p, c)
        } else {
            // Eight rows × three vectors: 24 accumulators, three vectors of `b` and
            // one broadcast fill 28 of the 32 registers; a shard of 16 rows is two
            // whole tiles.
            run::<Avx512, 8, 3>(p, c)
        }
    }
}

/// # Safety
/// The CPU must support AVX2 and FMA, and `p.fits(c)` must hold.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tiled_avx2(p: &Product<'_>, c: &mut [f32]) {
    // Six rows × two vectors: 12 accumulators of the 16 registers.
    // SAFETY: forwarded from the caller.
    unsafe { run_packed::<crate::kernels::tiled::Avx2, 6, 2>(p, c) }
}

multiversion! {
    /// `c[m×n] (+)= a[m×k] · b[n×k]ᵀ`, one [`dot`] per output; `k` and `n` not zero.
    fn gemm_nt(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], accumulate: bool, c: &mut [f32]) {
        let rows = a.chunks_exact(k).zip(c.chunks_exact_mut(n));
        for (a_row, c_row) in rows.take(m) {
            for (cv, b_row) in c_row.iter_mut().zip(b.chunks_exact(k)) {
                let d = dot(a_row, b_row);
                *cv = if accumulate { *cv + d } else { d };
            }
        }
    }
}

/// `c[m×n] (+)= a[m×k] · b[k×n]`, all row-major and unpacked, for the small products
/// of one recurrent step, where packing both operands on every call (as a general
/// GEMM does) costs as much as the multiply. `b` is expected to be a weight matrix
/// laid out once per optimiser step; `accumulate` chooses `+=` over `=`.
pub(crate) fn gemm_step(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    accumulate: bool,
    c: &mut [f32],
) {
    assert!(
        a.len() >= m * k && b.len() >= k * n && c.len() >= m * n,
        "gemm_step shapes"
    );
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::simd::accelerated() && std::is_x86_feature_detected!("avx512f") {
        // SAFETY: `step_avx512::gemm` enables only AVX-512F, which was just detected;
        // the assertion above checked the slices' lengths.
        return unsafe { step_avx512::gemm(m, k, n, a, b, accumulate, c) };
    }
    if m <= 4 {
        // A general GEMM packs both operands: for a few rows, streaming rows of `b` is
        // cheaper.
        return gemm_rows(m, k, n, a, b, accumulate, c);
    }
    gemm(m, k, n, a, Op::N, b, Op::N, accumulate, c);
}

#[inline(always)]
fn gemm_rows_body(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    accumulate: bool,
    c: &mut [f32],
) {
    let rows = a.chunks_exact(k.max(1)).zip(c.chunks_exact_mut(n.max(1)));
    for (a_row, c_row) in rows.take(m) {
        if !accumulate {
            c_row.fill(0.0);
        }
        for (&av, b_row) in a_row.iter().zip(b.chunks_exact(n.max(1))) {
            c_row
                .iter_mut()
                .zip(b_row)
                .for_each(|(cv, bv)| *cv += av * bv);
        }
    }
}

multiversion! {
    /// `c (+)= a · b` one row at a time: axpy over contiguous rows of `b`.
    fn gemm_rows(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], accumulate: bool, c: &mut [f32]) => gemm_rows_body
}

#[cfg(target_arch = "x86_64")]
mod step_avx512 {
    //! A register-tiled AVX-512 kernel that reads its operands in place: a tile of
    //! `R` rows × `Q` vectors of 16 columns of `c` stays in zmm registers while `k`
    //! runs, the last columns masked. Tiles are wide for a single row, where the
    //! accumulators' chains must be many to hide the multiply-add latency, and four
    //! rows tall otherwise, where each loaded vector of `b` serves four rows.

    use std::arch::x86_64::*;

    const LANES: usize = 16;

    /// The operands of one product: `a` (`[m, k]`) and `b` (`[k, n]`), and whether
    /// the result adds to `c` or replaces it.
    #[derive(Clone, Copy)]
    struct Operands<'a> {
        k: usize,
        n: usize,
        a: &'a [f32],
        b: &'a [f32],
        accumulate: bool,
    }

    /// # Safety
    /// The CPU must support AVX-512F, and `a`, `b`, `c` must hold `m·k`, `k·n`, `m·n`
    /// values.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn gemm(
        m: usize,
        k: usize,
        n: usize,
        a: &[f32],
        b: &[f32],
        accumulate: bool,
        c: &mut [f32],
    ) {
        let ops = Operands {
            k,
            n,
            a,
            b,
            accumulate,
        };
        if m < 4 {
            for i in 0..m {
                // SAFETY: row i exists; forwarded from the caller.
                unsafe { row_block::<1, 8>(i, ops, c) };
            }
            return;
        }
        // Column panels outermost: a panel of `b` (k × 64) is read once from memory
        // and then from cache by every block of four rows.
        let mut j = 0;
        while j < n {
            let width = (n - j).min(4 * LANES);
            let mut i = 0;
            while i + 4 <= m {
                // SAFETY: rows i..i + 4 and columns j..j + width exist.
                unsafe { tile_of_width::<4>(i, j, width, ops, c) };
                i += 4;
            }
            while i < m {
                // SAFETY: as above, one row.
                unsafe { tile_of_width::<1>(i, j, width, ops, c) };
                i += 1;
            }
            j += width;
        }
    }

    /// Rows `i0..i0 + R`, every column: full tiles of `Q` vectors, then one tile just
    /// wide enough for what is left.
    ///
    /// # Safety
    /// As [`gemm`]: the CPU must support AVX-512F, `ops.a`, `ops.b` and `c` must hold
    /// `m·k`, `k·n` and `m·n` values, and rows `i0..i0 + R` must lie inside `m`.
    #[inline(always)]
    unsafe fn row_block<const R: usize, const Q: usize>(
        i0: usize,
        ops: Operands<'_>,
        c: &mut [f32],
    ) {
        let mut j = 0;
        while j < ops.n {
            let width = (ops.n - j).min(Q * LANES);
            // SAFETY: forwarded; the tile covers columns j..j + width <= n.
            unsafe { tile_of_width::<R>(i0, j, width, ops, c) };
            j += width;
        }
    }

    /// The tile for rows `i0..i0 + R` and columns `j..j + width`, with just enough
    /// vectors for `width` (at most 8 · 16).
    ///
    /// # Safety
    /// As [`gemm`], and the tile must lie inside the matrices: rows `i0..i0 + R`
    /// inside `m`, columns `j..j + width` inside `n`.
    #[inline(always)]
    unsafe fn tile_of_width<const R: usize>(
        i0: usize,
        j: usize,
        width: usize,
        ops: Operands<'_>,
        c: &mut [f32],
    ) {
        // SAFETY: (every arm) `tile` has the same contract as this function, which
        // the caller upholds; `width <= 8·16` selects a tile wide enough.
        unsafe {
            match width.div_ceil(LANES) {
                1 => tile::<R, 1>(i0, j, width, ops, c),
                2 => tile::<R, 2>(i0, j, width, ops, c),
                3 => tile::<R, 3>(i0, j, width, ops, c),
                4 => tile::<R, 4>(i0, j, width, ops, c),
                5 => tile::<R, 5>(i0, j, width, ops, c),
                6 => tile::<R, 6>(i0, j, width, ops, c),
                7 => tile::<R, 7>(i0, j, width, ops, c),
                _ => tile::<R, 8>(i0, j, width, ops, c),
            }
        }
    }

    #[inline(always)]
    fn mask(width: usize, q: usize) -> __mmask16 {
        let cols = width.saturating_sub(q * LANES).min(LANES);
        ((1u32 << cols) - 1) as __mmask16
    }

    /// One tile: rows `i0..i0 + R`, columns `j..j + width` with `width <= Q·16`.
    ///
    /// # Safety
    /// As [`gemm`], with the tile inside the matrices.
    #[inline(always)]
    unsafe fn tile<const R: usize, const Q: usize>(
        i0: usize,
        j: usize,
        width: usize,
        ops: Operands<'_>,
        c: &mut [f32],
    ) {
        let Operands {
            k,
            n,
            a,
            b,
            accumulate,
        } = ops;
        let (a, b, c) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
        let masks: [__mmask16; Q] = std::array::from_fn(|q| mask(width, q));
        // SAFETY: (whole block) every load and store is masked to columns
        // j..j + width <= n of rows inside the matrices; broadcasts read
        // a[(i0 + r)·k + p] with r < R and p < k.
        unsafe {
            let mut acc = [[_mm512_setzero_ps(); Q]; R];
            for p in 0..k {
                let row = b.add(p * n + j);
                let bv: [__m512; Q] =
                    std::array::from_fn(|q| _mm512_maskz_loadu_ps(masks[q], row.add(q * LANES)));
                for (r, acc_r) in acc.iter_mut().enumerate() {
                    let av = _mm512_set1_ps(*a.add((i0 + r) * k + p));
                    for q in 0..Q {
                        acc_r[q] = _mm512_fmadd_ps(av, bv[q], acc_r[q]);
                    }
                }
            }
            for (r, acc_r) in acc.iter().enumerate() {
                let out = c.add((i0 + r) * n + j);
                for q in 0..Q {
                    let dst = out.add(q * LANES);
                    let mut v = acc_r[q];
                    if accumulate {
                        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(masks[q], dst));
                    }
                    _mm512_mask_storeu_ps(dst, masks[q], v);
                }
            }
        }
    }
}

multiversion! {
    /// Adds the column sums of `rows` (`[r, n]` row-major) to `acc` (`[n]`).
    pub(crate) fn add_column_sums(rows: &[f32], acc: &mut [f32]) {
        let n = acc.len();
        for row in rows.chunks_exact(n.max(1)) {
            acc.iter_mut().zip(row).for_each(|(a, v)| *a += v);
        }
    }
}

multiversion! {
    /// `acc[j] += Σ_r weights[r] · rows[r, j]`: a product whose output has one column,
    /// where a GEMM call would spend its time packing.
    pub(crate) fn add_weighted_column_sums(rows: &[f32], weights: &[f32], acc: &mut [f32]) {
        let n = acc.len();
        for (row, &w) in rows.chunks_exact(n.max(1)).zip(weights) {
            acc.iter_mut().zip(row).for_each(|(a, v)| *a += w * v);
        }
    }
}

multiversion! {
    /// Adds `v` (`[n]`) to every row of `rows` (`[r, n]` row-major).
    pub(crate) fn add_to_rows(rows: &mut [f32], v: &[f32]) {
        for row in rows.chunks_exact_mut(v.len().max(1)) {
            row.iter_mut().zip(v).for_each(|(r, v)| *r += v);
        }
    }
}

multiversion! {
    /// `out[i, j] = col[i] · row[j] + plus[j]`: a product with one inner dimension and
    /// its bias, where a GEMM call would spend its time packing.
    pub(crate) fn outer_product_plus(col: &[f32], row: &[f32], plus: &[f32], out: &mut [f32]) {
        for (&c, out_row) in col.iter().zip(out.chunks_exact_mut(row.len().max(1))) {
            for ((o, r), p) in out_row.iter_mut().zip(row).zip(plus) {
                *o = c * r + p;
            }
        }
    }
}

/// AVX2 + FMA version of [`matvec_add`]: four rows at a time, so that each load of
/// `x` feeds four independent multiply-add chains.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn matvec_add_avx2(w: &[f32], x: &[f32], out: &mut [f32]) {
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    fn sum_lanes(v: __m256) -> f32 {
        let pairs = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let quads = _mm_add_ps(pairs, _mm_movehl_ps(pairs, pairs));
        _mm_cvtss_f32(_mm_add_ss(quads, _mm_shuffle_ps::<1>(quads, quads)))
    }

    let k = x.len();
    if k == 0 {
        return;
    }
    let whole = k / 8 * 8;
    let tail = |row: &[f32]| -> f32 {
        row[whole..]
            .iter()
            .zip(&x[whole..])
            .map(|(a, b)| a * b)
            .sum()
    };
    let blocks = out.len() / 4;
    for (block, o) in w
        .chunks_exact(4 * k)
        .zip(out.chunks_exact_mut(4))
        .take(blocks)
    {
        let rows = [
            &block[..k],
            &block[k..2 * k],
            &block[2 * k..3 * k],
            &block[3 * k..4 * k],
        ];
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut c = 0;
        while c < whole {
            // SAFETY: c + 8 <= whole <= k, the length of `x` and of every row.
            unsafe {
                let xv = _mm256_loadu_ps(x.as_ptr().add(c));
                for r in 0..4 {
                    let wv = _mm256_loadu_ps(rows[r].as_ptr().add(c));
                    acc[r] = _mm256_fmadd_ps(wv, xv, acc[r]);
                }
            }
            c += 8;
        }
        for r in 0..4 {
            o[r] += sum_lanes(acc[r]) + tail(rows[r]);
        }
    }
    for (row, o) in w.chunks_exact(k).zip(out.iter_mut()).skip(blocks * 4) {
        *o += dot(row, x);
    }
}

/// `out[r] += Σ_c w[r, c] · x[c]` for a row-major `w` of shape `[out.len(), x.len()]`:
/// the matrix-vector product of single-sample inference, where a GEMM call costs
/// more than it computes.
pub(crate) fn matvec_add(w: &[f32], x: &[f32], out: &mut [f32]) {
    assert!(w.len() >= out.len() * x.len(), "matvec shapes");
    #[cfg(target_arch = "x86_64")]
    if x.len() > 1
        && crate::kernels::simd::accelerated()
        && std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
    {
        // SAFETY: `matvec_add_avx2` enables AVX2 and FMA, and both were just detected.
        return unsafe { matvec_add_avx2(w, x, out) };
    }
    matvec_add_portable(w, x, out)
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
    fn every_supported_transpose_matches_the_definition() {
        for (m, k, n) in [(5, 7, 3), (17, 300, 50), (9, 129, 33), (0, 4, 3), (3, 0, 2)] {
            let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.91).cos()).collect();
            for (ta, tb) in [(Op::N, Op::N), (Op::T, Op::N), (Op::N, Op::T)] {
                let want = naive(m, k, n, &a, ta, &b, tb);
                for accumulate in [false, true] {
                    let mut c = vec![0.5; m * n];
                    gemm(m, k, n, &a, ta, &b, tb, accumulate, &mut c);
                    let base = if accumulate { 0.5 } else { 0.0 };
                    for (g, w) in c.iter().zip(&want) {
                        assert!((g - (w + base)).abs() < 1e-4, "{m}x{k}x{n} {ta:?}{tb:?}");
                    }
                }
            }
        }
    }

    /// Every vector kind the CPU can run, whatever the dispatch would pick, on shapes
    /// that leave every row and column remainder and more than one block of `k`.
    #[test]
    fn every_tile_kernel_matches_the_definition() {
        use crate::kernels::tiled::Product;
        type Kernel = fn(&Product<'_>, &mut [f32]);
        let mut kernels: Vec<(&str, Kernel)> = vec![("portable", |p, c| {
            // SAFETY: portable lanes; the test's shapes fit.
            unsafe { run_packed::<Portable, 4, 1>(p, c) }
        })];
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
            if avx2 {
                // SAFETY: AVX2 and FMA were just detected.
                kernels.push(("avx2", |p, c| unsafe { tiled_avx2(p, c) }));
            }
            if avx2 && is_x86_feature_detected!("avx512f") {
                // SAFETY: AVX-512F, AVX2 and FMA were just detected.
                kernels.push(("avx512", |p, c| unsafe { tiled_avx512(p, c) }));
            }
        }
        for (m, k, n) in [
            (1, 1, 1),
            (7, 3, 5),
            (8, 130, 48),
            (23, 257, 71),
            (16, 40, 200),
            (45, 130, 20),
        ] {
            let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.91).cos()).collect();
            for ta in [Op::N, Op::T] {
                let want = naive(m, k, n, &a, ta, &b, Op::N);
                let (a_row, a_col) = if ta == Op::N { (k, 1) } else { (1, m) };
                for &(name, kernel) in &kernels {
                    let p = Product {
                        m,
                        k,
                        n,
                        a: &a,
                        a_row,
                        a_col,
                        b: &b,
                        accumulate: true,
                    };
                    assert!(p.fits(&vec![0.0; m * n]));
                    let mut c = vec![0.5; m * n];
                    kernel(&p, &mut c);
                    for (g, w) in c.iter().zip(&want) {
                        assert!((g - (w + 0.5)).abs() < 1e-4, "{name} {m}x{k}x{n} {ta:?}");
                    }
                }
            }
        }
    }

    /// A transposed `a` packed onto the stack adds the same products in the same
    /// order as the in-place tiles: bit for bit the same results.
    #[test]
    fn packed_panels_change_no_bit() {
        use crate::kernels::tiled::Product;
        for (m, k, n) in [
            (23, 257, 71),
            (1024, 140, 256),
            (1030, 130, 40),
            (1100, 1, 33),
        ] {
            let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.91).cos()).collect();
            let p = Product {
                m,
                k,
                n,
                a: &a,
                a_row: 1,
                a_col: m,
                b: &b,
                accumulate: true,
            };
            let mut packed = vec![0.5; m * n];
            let mut in_place = packed.clone();
            // SAFETY: portable lanes; the shapes fit.
            unsafe {
                run_packed::<Portable, 4, 1>(&p, &mut packed);
                run::<Portable, 4, 1>(&p, &mut in_place);
            }
            assert_eq!(packed, in_place, "portable {m}x{k}x{n}");
            #[cfg(target_arch = "x86_64")]
            if is_x86_feature_detected!("avx512f") {
                use crate::kernels::tiled::Avx512;
                let (mut packed, mut in_place) = (vec![0.5; m * n], vec![0.5; m * n]);
                // SAFETY: AVX-512F just detected; the shapes fit.
                unsafe {
                    run_packed::<Avx512, 16, 1>(&p, &mut packed);
                    run::<Avx512, 16, 1>(&p, &mut in_place);
                }
                assert_eq!(packed, in_place, "avx512 {m}x{k}x{n}");
            }
        }
    }

    #[test]
    fn step_gemm_matches_the_definition_for_every_remainder() {
        for (m, k, n) in [
            (1, 1, 1),
            (5, 7, 3),
            (4, 50, 200),
            (33, 13, 70),
            (2, 200, 50),
            (3, 4, 129),
        ] {
            let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.91).cos()).collect();
            let want = naive(m, k, n, &a, Op::N, &b, Op::N);
            // The dispatched kernel, and the portable one every CPU can fall back to.
            type Kernel = fn(usize, usize, usize, &[f32], &[f32], bool, &mut [f32]);
            let kernels: [(&str, Kernel); 2] =
                [("dispatched", gemm_step), ("rows", gemm_rows_body)];
            for (name, kernel) in kernels {
                let mut c = vec![0.5; m * n];
                kernel(m, k, n, &a, &b, true, &mut c);
                for (g, w) in c.iter().zip(&want) {
                    assert!((g - (w + 0.5)).abs() < 1e-4, "{name} {m}x{k}x{n}: {g}");
                }
                kernel(m, k, n, &a, &b, false, &mut c);
                for (g, w) in c.iter().zip(&want) {
                    assert!((g - w).abs() < 1e-4, "{name} {m}x{k}x{n}");
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

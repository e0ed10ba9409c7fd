//! A register-tiled matrix product that reads both operands where they lie, or, for a
//! transposed left side, from a small panel on the stack ([`run_packed`]): no buffer
//! to allocate on any call.
//!
//! `c[m×n] (+)= a · b` with `b` row-major (`[k, n]`) and `a` reached through two
//! strides, which covers both `a[m, k]` and a transposed `aᵀ` stored as `[k, m]` (the
//! weight gradients `dW += dgatesᵀ · x` read `dgates` in place). A tile of `R` rows ×
//! `Q` vectors of `c` stays in registers while `k` runs: each row of `b` is loaded
//! once per tile and each element of `a` broadcast once, so the loop is bound by the
//! multiply-adds, not the loads.
//!
//! The same tile loop is compiled for three kinds of vector ([`Lanes`]): AVX-512 and
//! AVX2 with fused multiply-adds, and a portable eight-lane form that rounds after each
//! multiply. Every path adds the products of one output element in the same order
//! (`p` ascending within blocks of [`KC`], the blocks in order, each block added to
//! what `c` held), so a path's results do not depend on the shapes of the tiles
//! around an element; fused and unfused paths differ in rounding only.

/// Steps of `k` per pass over a column panel: a panel of `b` (`KC` rows × one tile's
/// width) then stays in the first-level cache for every row tile that reads it.
const KC: usize = 128;

/// One SIMD register's worth of `f32` lanes.
///
/// # Safety
/// The methods may only run on a CPU with the instruction-set extensions the
/// implementation uses; pointers must be valid for the lanes a mask selects.
pub(super) unsafe trait Lanes: Copy {
    /// Values per vector.
    const LANES: usize;
    /// Which lanes of a load or store are real columns.
    type Mask: Copy;
    /// The mask of the first `cols` lanes (`cols <= LANES`).
    fn mask(cols: usize) -> Self::Mask;
    /// All lanes zero.
    ///
    /// # Safety
    /// As the trait.
    unsafe fn zero() -> Self;
    /// Loads the masked lanes from `p`, the others zero.
    ///
    /// # Safety
    /// As the trait: `p` valid for reads of the masked lanes.
    unsafe fn load(p: *const f32, m: Self::Mask) -> Self;
    /// Stores the masked lanes to `p`.
    ///
    /// # Safety
    /// As the trait: `p` valid for writes of the masked lanes.
    unsafe fn store(self, p: *mut f32, m: Self::Mask);
    /// `*p` in every lane.
    ///
    /// # Safety
    /// As the trait: `p` valid for one read.
    unsafe fn splat(p: *const f32) -> Self;
    /// `acc + self · b`.
    ///
    /// # Safety
    /// As the trait.
    unsafe fn mul_add(self, b: Self, acc: Self) -> Self;
    /// `self + b`.
    ///
    /// # Safety
    /// As the trait.
    unsafe fn add(self, b: Self) -> Self;
}

/// The operands of one product, `c[m×n] (+)= a · b`: element `(i, p)` of `a` at
/// `a[i·a_row + p·a_col]`, `b` row-major `[k, n]`.
#[derive(Clone, Copy)]
pub(super) struct Product<'a> {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub a: &'a [f32],
    pub a_row: usize,
    pub a_col: usize,
    pub b: &'a [f32],
    pub accumulate: bool,
}

impl Product<'_> {
    /// Whether every index the product reads or writes lies inside the slices.
    pub(super) fn fits(&self, c: &[f32]) -> bool {
        let last = |extent: usize, stride: usize| extent.saturating_sub(1) * stride;
        let a_end = last(self.m, self.a_row) + last(self.k, self.a_col) + 1;
        (self.m == 0 || self.k == 0 || self.a.len() >= a_end)
            && self.b.len() >= self.k * self.n
            && c.len() >= self.m * self.n
    }
}

/// Runs the product with tiles of at most `R` rows × `Q` vectors.
///
/// # Safety
/// The CPU must support `V`'s extensions, and `p.fits(c)` must hold.
#[inline(always)]
pub(super) unsafe fn run<V: Lanes, const R: usize, const Q: usize>(p: &Product<'_>, c: &mut [f32]) {
    let Product { m, k, n, .. } = *p;
    if k == 0 {
        if !p.accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    let c = c.as_mut_ptr();
    let panel = Q * V::LANES;
    let mut k0 = 0;
    while k0 < k {
        let depth = KC.min(k - k0);
        // After the first block, each block adds to what the ones before it left.
        let add_c = p.accumulate || k0 > 0;
        let mut j = 0;
        while j < n {
            let width = panel.min(n - j);
            let at = At {
                k0,
                depth,
                j,
                width,
                add_c,
            };
            let mut i = 0;
            while i + R <= m {
                // SAFETY: rows i..i + R <= m and columns j..j + width <= n lie inside
                // the matrices, which `p.fits(c)` checked; the CPU is the caller's.
                unsafe { tile_of_width::<V, R, Q>(p, p.a_at(i, k0), c, i, at) };
                i += R;
            }
            if i < m {
                // SAFETY: as above for the last m - i < R rows.
                unsafe { rest_rows::<V, R, Q>(m - i, p, p.a_at(i, k0), c, i, at) };
            }
            j += width;
        }
        k0 += depth;
    }
}

/// Like [`run`] for a transposed `a` (`a_row == 1`) whose steps lie a page or more
/// apart and a `b` wider than one tile: the tile's rows of `a` for one block of `k` are copied once
/// into a contiguous panel on the stack, then every column panel of `b` reads that.
///
/// Read in place, a step of a transposed `a` is one line a whole row of `dgates`
/// away from the last (4·H values: at H = 256 a new page), which the hardware
/// prefetcher does not follow, and the lines of one tile all fall in the same set of
/// the first-level cache, so they were fetched again for every column panel. Each
/// element is still the same sum in the same order: only where `a` is read from
/// changes.
///
/// # Safety
/// As [`run`], and `R <= MAX_PACKED_ROWS`.
#[inline(always)]
pub(super) unsafe fn run_packed<V: Lanes, const R: usize, const Q: usize>(
    p: &Product<'_>,
    c: &mut [f32],
) {
    let Product { m, k, n, .. } = *p;
    let panel = Q * V::LANES;
    // Rows of `a` under a page apart are followed by the prefetcher and stay in
    // cache: there the copy only costs (measured ~15% slower on dW_hh at H = 50).
    let page_apart = p.a_col * size_of::<f32>() >= 4096;
    if k == 0 || p.a_row != 1 || !page_apart || n <= panel {
        // SAFETY: forwarded from the caller.
        return unsafe { run::<V, R, Q>(p, c) };
    }
    assert!(R <= MAX_PACKED_ROWS, "packed tile of {R} rows");
    let c = c.as_mut_ptr();
    // A stack array, not a heap buffer: training must not allocate per step.
    let mut packed = [0.0f32; KC * MAX_PACKED_ROWS];
    let mut k0 = 0;
    while k0 < k {
        let depth = KC.min(k - k0);
        let add_c = p.accumulate || k0 > 0;
        let mut i = 0;
        while i < m {
            let rows = R.min(m - i);
            for s in 0..depth {
                let from = (k0 + s) * p.a_col + i;
                packed[s * rows..(s + 1) * rows].copy_from_slice(&p.a[from..from + rows]);
            }
            // Steps `rows` apart, rows next to each other.
            let a = APanel {
                ptr: packed.as_ptr(),
                row: 1,
                col: rows,
            };
            let mut j = 0;
            while j < n {
                let width = panel.min(n - j);
                let at = At {
                    k0,
                    depth,
                    j,
                    width,
                    add_c,
                };
                // SAFETY: the packed panel holds `depth` steps of `rows` values; rows
                // i..i + rows <= m and columns j..j + width <= n lie inside `c` and
                // `b`, which `p.fits(c)` checked; the CPU is the caller's.
                unsafe {
                    if rows == R {
                        tile_of_width::<V, R, Q>(p, a, c, i, at);
                    } else {
                        rest_rows::<V, R, Q>(rows, p, a, c, i, at);
                    }
                }
                j += width;
            }
            i += rows;
        }
        k0 += depth;
    }
}

/// The most rows a tile of [`run_packed`] may have.
pub(super) const MAX_PACKED_ROWS: usize = 16;

/// Where a tile reads `a`: element `(r, s)` of the tile (row `i0 + r`, step `k0 + s`)
/// at `ptr[r·row + s·col]`.
#[derive(Clone, Copy)]
struct APanel {
    ptr: *const f32,
    row: usize,
    col: usize,
}

impl Product<'_> {
    /// `a` in place from row `i`, step `k0`.
    fn a_at(&self, i: usize, k0: usize) -> APanel {
        APanel {
            ptr: self.a[i * self.a_row + k0 * self.a_col..].as_ptr(),
            row: self.a_row,
            col: self.a_col,
        }
    }
}

/// Where a tile sits: steps `k0..k0 + depth` of `k`, columns `j..j + width`, and
/// whether it adds to `c`.
#[derive(Clone, Copy)]
struct At {
    k0: usize,
    depth: usize,
    j: usize,
    width: usize,
    add_c: bool,
}

/// A tile of `rows < R` rows.
///
/// # Safety
/// As [`tile`].
#[inline(always)]
unsafe fn rest_rows<V: Lanes, const R: usize, const Q: usize>(
    rows: usize,
    p: &Product<'_>,
    a: APanel,
    c: *mut f32,
    i: usize,
    at: At,
) {
    // SAFETY: (every arm) forwarded; the arm's row count is `rows`.
    unsafe {
        match rows {
            1 => tile_of_width::<V, 1, Q>(p, a, c, i, at),
            2 => tile_of_width::<V, 2, Q>(p, a, c, i, at),
            3 => tile_of_width::<V, 3, Q>(p, a, c, i, at),
            4 if R > 4 => tile_of_width::<V, 4, Q>(p, a, c, i, at),
            5 if R > 5 => tile_of_width::<V, 5, Q>(p, a, c, i, at),
            6 if R > 6 => tile_of_width::<V, 6, Q>(p, a, c, i, at),
            7 if R > 7 => tile_of_width::<V, 7, Q>(p, a, c, i, at),
            8 if R > 8 => tile_of_width::<V, 8, Q>(p, a, c, i, at),
            9 if R > 9 => tile_of_width::<V, 9, Q>(p, a, c, i, at),
            10 if R > 10 => tile_of_width::<V, 10, Q>(p, a, c, i, at),
            11 if R > 11 => tile_of_width::<V, 11, Q>(p, a, c, i, at),
            12 if R > 12 => tile_of_width::<V, 12, Q>(p, a, c, i, at),
            13 if R > 13 => tile_of_width::<V, 13, Q>(p, a, c, i, at),
            14 if R > 14 => tile_of_width::<V, 14, Q>(p, a, c, i, at),
            15 if R > 15 => tile_of_width::<V, 15, Q>(p, a, c, i, at),
            _ => unreachable!("row remainder {rows} of a tile of {R}"),
        }
    }
}

/// A tile of `R` rows with just enough vectors for `at.width` (at most `Q`).
///
/// # Safety
/// As [`tile`].
#[inline(always)]
unsafe fn tile_of_width<V: Lanes, const R: usize, const Q: usize>(
    p: &Product<'_>,
    a: APanel,
    c: *mut f32,
    i: usize,
    at: At,
) {
    // SAFETY: (every arm) forwarded; each arm's tile is at least `width` wide.
    unsafe {
        match at.width.div_ceil(V::LANES) {
            1 if Q > 1 => tile::<V, R, 1>(p, a, c, i, at),
            2 if Q > 2 => tile::<V, R, 2>(p, a, c, i, at),
            3 if Q > 3 => tile::<V, R, 3>(p, a, c, i, at),
            _ => tile::<V, R, Q>(p, a, c, i, at),
        }
    }
}

/// Rows `i0..i0 + R`, columns `at.j..at.j + at.width` (`width <= Q · LANES`), steps
/// `at.k0..at.k0 + at.depth`.
///
/// # Safety
/// The CPU must support `V`'s extensions, `p.fits(c)` must hold for the `c` that `c`
/// points into, the tile must lie inside the matrices, and `a` must be readable at
/// each of the tile's `R` rows and `at.depth` steps.
#[inline(always)]
unsafe fn tile<V: Lanes, const R: usize, const Q: usize>(
    p: &Product<'_>,
    a: APanel,
    c: *mut f32,
    i0: usize,
    at: At,
) {
    let At {
        k0,
        depth,
        j,
        width,
        add_c,
    } = at;
    let n = p.n;
    let APanel {
        ptr: a,
        row: a_row,
        col: a_col,
    } = a;
    let masks: [V::Mask; Q] =
        std::array::from_fn(|q| V::mask(width.saturating_sub(q * V::LANES).min(V::LANES)));
    // SAFETY: (whole block) loads and stores are masked to columns j..j + width <= n
    // of rows inside the matrices; broadcasts read a[r·a_row + s·a_col] for r < R and
    // s < depth, readable as the caller guarantees.
    unsafe {
        let b = p.b.as_ptr().add(k0 * n + j);
        let mut acc = [[V::zero(); Q]; R];
        for s in 0..depth {
            let row = b.add(s * n);
            let bv: [V; Q] = std::array::from_fn(|q| V::load(row.add(q * V::LANES), masks[q]));
            let a_s = a.add(s * a_col);
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let av = V::splat(a_s.add(r * a_row));
                for q in 0..Q {
                    acc_r[q] = av.mul_add(bv[q], acc_r[q]);
                }
            }
        }
        for (r, acc_r) in acc.iter().enumerate() {
            let out = c.add((i0 + r) * n + j);
            for q in 0..Q {
                let dst = out.add(q * V::LANES);
                let mut v = acc_r[q];
                if add_c {
                    v = V::load(dst, masks[q]).add(v);
                }
                v.store(dst, masks[q]);
            }
        }
    }
}

/// Eight lanes in plain Rust: what the baseline target (SSE2) and a CPU without FMA
/// run. The multiply and the add round separately.
#[derive(Clone, Copy)]
pub(super) struct Portable([f32; 8]);

// SAFETY: plain Rust, runs on any CPU; loads and stores touch only the masked lanes.
unsafe impl Lanes for Portable {
    const LANES: usize = 8;
    type Mask = usize;
    #[inline(always)]
    fn mask(cols: usize) -> usize {
        cols
    }
    #[inline(always)]
    unsafe fn zero() -> Self {
        Portable([0.0; 8])
    }
    #[inline(always)]
    unsafe fn load(p: *const f32, cols: usize) -> Self {
        let mut v = [0.0; 8];
        if cols == 8 {
            // SAFETY: the caller guarantees 8 readable values at `p`.
            v = unsafe { p.cast::<[f32; 8]>().read_unaligned() };
        } else {
            for (l, v) in v.iter_mut().enumerate().take(cols) {
                // SAFETY: lane l < cols is readable, as the caller guarantees.
                *v = unsafe { *p.add(l) };
            }
        }
        Portable(v)
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32, cols: usize) {
        if cols == 8 {
            // SAFETY: the caller guarantees 8 writable values at `p`.
            unsafe { p.cast::<[f32; 8]>().write_unaligned(self.0) };
        } else {
            for (l, v) in self.0.iter().enumerate().take(cols) {
                // SAFETY: lane l < cols is writable, as the caller guarantees.
                unsafe { *p.add(l) = *v };
            }
        }
    }
    #[inline(always)]
    unsafe fn splat(p: *const f32) -> Self {
        // SAFETY: the caller guarantees one readable value at `p`.
        Portable([unsafe { *p }; 8])
    }
    #[inline(always)]
    unsafe fn mul_add(self, b: Self, acc: Self) -> Self {
        Portable(std::array::from_fn(|l| acc.0[l] + self.0[l] * b.0[l]))
    }
    #[inline(always)]
    unsafe fn add(self, b: Self) -> Self {
        Portable(std::array::from_fn(|l| self.0[l] + b.0[l]))
    }
}

#[cfg(target_arch = "x86_64")]
pub(super) use x86::{Avx2, Avx512};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::Lanes;

    /// Sixteen lanes of a zmm register (AVX-512F), masked by a `k` register.
    #[derive(Clone, Copy)]
    pub(in crate::kernels) struct Avx512(__m512);

    // SAFETY: every method needs AVX-512F, which the trait's contract requires of the
    // CPU; masked loads and stores touch only the selected lanes.
    unsafe impl Lanes for Avx512 {
        const LANES: usize = 16;
        type Mask = __mmask16;
        #[inline(always)]
        fn mask(cols: usize) -> __mmask16 {
            ((1u32 << cols) - 1) as __mmask16
        }
        #[inline(always)]
        unsafe fn zero() -> Self {
            // SAFETY: the CPU has AVX-512F (trait contract).
            Avx512(unsafe { _mm512_setzero_ps() })
        }
        #[inline(always)]
        unsafe fn load(p: *const f32, m: __mmask16) -> Self {
            // SAFETY: AVX-512F present; the masked lanes are readable (caller).
            Avx512(unsafe { _mm512_maskz_loadu_ps(m, p) })
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32, m: __mmask16) {
            // SAFETY: AVX-512F present; the masked lanes are writable (caller).
            unsafe { _mm512_mask_storeu_ps(p, m, self.0) }
        }
        #[inline(always)]
        unsafe fn splat(p: *const f32) -> Self {
            // SAFETY: AVX-512F present; `p` is readable (caller).
            Avx512(unsafe { _mm512_set1_ps(*p) })
        }
        #[inline(always)]
        unsafe fn mul_add(self, b: Self, acc: Self) -> Self {
            // SAFETY: AVX-512F present (trait contract).
            Avx512(unsafe { _mm512_fmadd_ps(self.0, b.0, acc.0) })
        }
        #[inline(always)]
        unsafe fn add(self, b: Self) -> Self {
            // SAFETY: AVX-512F present (trait contract).
            Avx512(unsafe { _mm512_add_ps(self.0, b.0) })
        }
    }

    /// Eight lanes of a ymm register (AVX2 + FMA); a partial vector is read and
    /// written with `vmaskmovps`, a whole one with plain loads.
    #[derive(Clone, Copy)]
    pub(in crate::kernels) struct Avx2(__m256);

    /// The lanes of an AVX2 load or store: a lane mask, and whether it is all of them.
    #[derive(Clone, Copy)]
    pub(in crate::kernels) struct Mask8 {
        lanes: [i32; 8],
        whole: bool,
    }

    // SAFETY: every method needs AVX2 and FMA, which the trait's contract requires of
    // the CPU; masked loads and stores touch only the selected lanes.
    unsafe impl Lanes for Avx2 {
        const LANES: usize = 8;
        type Mask = Mask8;
        #[inline(always)]
        fn mask(cols: usize) -> Mask8 {
            Mask8 {
                lanes: std::array::from_fn(|l| if l < cols { -1 } else { 0 }),
                whole: cols == 8,
            }
        }
        #[inline(always)]
        unsafe fn zero() -> Self {
            // SAFETY: the CPU has AVX (trait contract).
            Avx2(unsafe { _mm256_setzero_ps() })
        }
        #[inline(always)]
        unsafe fn load(p: *const f32, m: Mask8) -> Self {
            // SAFETY: AVX present; a whole vector is readable, or only the masked
            // lanes are read (caller).
            unsafe {
                if m.whole {
                    Avx2(_mm256_loadu_ps(p))
                } else {
                    let mask = _mm256_loadu_si256(m.lanes.as_ptr().cast());
                    Avx2(_mm256_maskload_ps(p, mask))
                }
            }
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32, m: Mask8) {
            // SAFETY: as in `load`, for writes.
            unsafe {
                if m.whole {
                    _mm256_storeu_ps(p, self.0)
                } else {
                    let mask = _mm256_loadu_si256(m.lanes.as_ptr().cast());
                    _mm256_maskstore_ps(p, mask, self.0)
                }
            }
        }
        #[inline(always)]
        unsafe fn splat(p: *const f32) -> Self {
            // SAFETY: AVX present; `p` is readable (caller).
            Avx2(unsafe { _mm256_set1_ps(*p) })
        }
        #[inline(always)]
        unsafe fn mul_add(self, b: Self, acc: Self) -> Self {
            // SAFETY: FMA present (trait contract).
            Avx2(unsafe { _mm256_fmadd_ps(self.0, b.0, acc.0) })
        }
        #[inline(always)]
        unsafe fn add(self, b: Self) -> Self {
            // SAFETY: AVX present (trait contract).
            Avx2(unsafe { _mm256_add_ps(self.0, b.0) })
        }
    }
}

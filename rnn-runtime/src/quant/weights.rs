//! One int8 weight matrix with its per-row scales, and its product with a vector.

use crate::kernels::simd::multiversion;

/// A tensor as stored in a layer: boxed with `std` (building a large layer never puts
/// it on a thread's stack), inline without (a `const fn` can build it into flash).
#[cfg(feature = "std")]
pub(crate) type Stored<A> = std::boxed::Box<A>;

/// A tensor as stored in a layer: boxed with `std` (building a large layer never puts
/// it on a thread's stack), inline without (a `const fn` can build it into flash).
#[cfg(not(feature = "std"))]
pub(crate) type Stored<A> = A;

/// A weight matrix of `B · R` rows and `C` columns (`B` blocks of `R` rows: a cell's
/// gates), as `i8` values with one `f32` scale per row: weight `[r, c]` is
/// `q[r, c] · scale[r]`.
///
/// The values are stored by column (`[C][B][R]`), so that a product streams each
/// column over all rows at once and every row's sum vectorises without a horizontal
/// reduction; the byte format is row-major, as the tensor's canonical order.
#[derive(Clone, Debug, PartialEq)]
pub struct QWeights<const C: usize, const R: usize, const B: usize> {
    q: Stored<[[[i8; R]; B]; C]>,
    scale: Stored<[[f32; R]; B]>,
}

impl<const C: usize, const R: usize, const B: usize> QWeights<C, R, B> {
    /// Rows of the matrix.
    pub const ROWS: usize = B * R;
    /// Bytes of the matrix in the int8 format: the scales, then the values.
    pub const BYTES: usize = B * R * (4 + C);

    /// The value `q[r, c]`.
    ///
    /// # Panics
    /// If `r >= ROWS` or `c >= C`.
    pub fn value(&self, r: usize, c: usize) -> i8 {
        self.q[c].as_flattened()[r]
    }

    /// The scale of each row.
    pub fn scales(&self) -> &[f32] {
        self.scale.as_flattened()
    }

    /// `out[r] += scale[r] · Σ_c q[r, c] · x[c]` for every row: each row summed in
    /// `f32` in order of `c`, the scale applied once per row.
    #[inline(always)]
    pub(crate) fn matvec_add(&self, x: &[f32; C], out: &mut [f32]) {
        qmatvec_add(self.q.as_flattened().as_flattened(), self.scales(), x, out);
    }

    /// Row `r` dequantised into `out` (`C` values): an embedding's lookup.
    pub(crate) fn row_into(&self, r: usize, out: &mut [f32; C]) {
        let s = self.scales()[r];
        for (o, column) in out.iter_mut().zip(self.q.iter()) {
            *o = f32::from(column.as_flattened()[r]) * s;
        }
    }

    /// The matrix whose [`BYTES`](Self::BYTES) bytes start at offset `at` of `bytes`.
    ///
    /// # Panics
    /// If `bytes` is shorter than `at + BYTES` (at compile time in a constant).
    #[cfg(not(feature = "std"))]
    pub const fn from_le_bytes(bytes: &[u8], at: usize) -> Self {
        let mut q = [[[0i8; R]; B]; C];
        let mut scale = [[0.0f32; R]; B];
        let values = at + 4 * B * R;
        let mut b = 0;
        while b < B {
            let mut r = 0;
            while r < R {
                let row = b * R + r;
                let s = at + 4 * row;
                scale[b][r] =
                    f32::from_le_bytes([bytes[s], bytes[s + 1], bytes[s + 2], bytes[s + 3]]);
                let mut c = 0;
                while c < C {
                    q[c][b][r] = bytes[values + row * C + c] as i8;
                    c += 1;
                }
                r += 1;
            }
            b += 1;
        }
        QWeights { q, scale }
    }

    /// The matrix whose [`BYTES`](Self::BYTES) bytes start at offset `at` of `bytes`.
    ///
    /// # Panics
    /// If `bytes` is shorter than `at + BYTES`.
    #[cfg(feature = "std")]
    pub fn from_le_bytes(bytes: &[u8], at: usize) -> Self {
        let rows = B * R;
        let scales: Vec<f32> = bytes[at..at + 4 * rows]
            .as_chunks::<4>()
            .0
            .iter()
            .map(|b| f32::from_le_bytes(*b))
            .collect();
        let values = &bytes[at + 4 * rows..at + Self::BYTES];
        let mut by_column = vec![0i8; rows * C];
        for (row, row_values) in values.chunks(C.max(1)).enumerate().take(rows) {
            for (c, v) in row_values.iter().enumerate() {
                by_column[c * rows + row] = *v as i8;
            }
        }
        QWeights {
            q: boxed3(&by_column),
            scale: boxed2(&scales),
        }
    }

    /// Appends the matrix in the int8 format.
    #[cfg(feature = "std")]
    pub fn write_le(&self, out: &mut Vec<u8>) {
        out.extend(self.scales().iter().flat_map(|s| s.to_le_bytes()));
        for r in 0..B * R {
            out.extend((0..C).map(|c| self.value(r, c).to_le_bytes()[0]));
        }
    }

    /// Every weight as `f32`, `q · scale`, row-major.
    #[cfg(feature = "std")]
    pub fn dequantize(&self) -> Vec<f32> {
        let scales = self.scales();
        (0..B * R)
            .flat_map(|r| (0..C).map(move |c| f32::from(self.value(r, c)) * scales[r]))
            .collect()
    }
}

/// `[R, C]` from `R · C` row-major values, on the heap.
#[cfg(feature = "std")]
fn boxed2<const C: usize, const R: usize, T: Copy + Default>(flat: &[T]) -> Box<[[T; C]; R]> {
    match rows::<C, T>(flat, R).into_boxed_slice().try_into() {
        Ok(b) => b,
        Err(_) => unreachable!("rows() checked the length"),
    }
}

/// `[B, R, C]` from `B · R · C` row-major values, built on the heap without a stack
/// temporary of the whole tensor.
#[cfg(feature = "std")]
fn boxed3<const C: usize, const R: usize, const B: usize, T: Copy + Default>(
    flat: &[T],
) -> Box<[[[T; C]; R]; B]> {
    let rows = rows::<C, T>(flat, B * R);
    let blocks: Vec<[[T; C]; R]> = match R {
        0 => vec![[[T::default(); C]; R]; B],
        _ => rows.as_chunks::<R>().0.to_vec(),
    };
    match blocks.into_boxed_slice().try_into() {
        Ok(b) => b,
        Err(_) => unreachable!("rows() checked the length"),
    }
}

/// `n` rows of `C` values from `flat`.
#[cfg(feature = "std")]
fn rows<const C: usize, T: Copy + Default>(flat: &[T], n: usize) -> Vec<[T; C]> {
    assert_eq!(flat.len(), n * C, "tensor length");
    match C {
        // `as_chunks` cannot split into empty chunks; every row is empty anyway.
        0 => vec![[T::default(); C]; n],
        _ => flat.as_chunks::<C>().0.to_vec(),
    }
}

/// Rows whose sums a product keeps in registers at once: four AVX-512 or eight AVX2
/// registers, independent chains that hide the latency of the additions.
const TILE: usize = 64;

multiversion! {
    /// `out[r] += scale[r] · Σ_c q[r, c] · x[c]` over the column-major values `q`
    /// (`[C, rows]`, `rows = out.len()`): each row summed in `f32` in order of `c`, a
    /// tile of rows at a time in registers, then its scale applied once.
    fn qmatvec_add(q: &[i8], scale: &[f32], x: &[f32], out: &mut [f32]) {
        let rows = out.len();
        if rows == 0 {
            return;
        }
        // Slices are reached with `get`, `first_chunk` and `skip`, never an index: the
        // sizes agree by construction, and this way no bounds check — and no panic path,
        // which would bring `core::fmt` into firmware — remains.
        for r0 in (0..rows).step_by(TILE) {
            let mut acc = [0.0f32; TILE];
            let tile = TILE.min(rows - r0);
            if tile == TILE {
                for (column, xc) in q.chunks_exact(rows).zip(x) {
                    if let Some(values) = column.get(r0..).and_then(<[i8]>::first_chunk::<TILE>) {
                        for l in 0..TILE {
                            acc[l] += f32::from(values[l]) * xc;
                        }
                    }
                }
            } else {
                for (column, xc) in q.chunks_exact(rows).zip(x) {
                    for (a, v) in acc.iter_mut().zip(column.iter().skip(r0)) {
                        *a += f32::from(*v) * xc;
                    }
                }
            }
            let outs = out.iter_mut().skip(r0).take(tile);
            for ((o, a), s) in outs.zip(&acc).zip(scale.iter().skip(r0)) {
                *o += s * a;
            }
        }
    }
}

/// `[B, N]` `f32`s from the `4BN` little-endian bytes at offset `at`: a bias.
#[cfg(not(feature = "std"))]
pub(crate) const fn f32_block_le<const N: usize, const B: usize>(
    bytes: &[u8],
    at: usize,
) -> [[f32; N]; B] {
    let mut m = [[0.0f32; N]; B];
    let mut i = 0;
    while i < N * B {
        let s = at + 4 * i;
        m[i / N][i % N] = f32::from_le_bytes([bytes[s], bytes[s + 1], bytes[s + 2], bytes[s + 3]]);
        i += 1;
    }
    m
}

/// `[B, N]` `f32`s from the `4BN` little-endian bytes at offset `at`: a bias.
#[cfg(feature = "std")]
pub(crate) fn f32_block_le<const N: usize, const B: usize>(
    bytes: &[u8],
    at: usize,
) -> Box<[[f32; N]; B]> {
    let values: Vec<f32> = bytes[at..at + 4 * N * B]
        .as_chunks::<4>()
        .0
        .iter()
        .map(|b| f32::from_le_bytes(*b))
        .collect();
    boxed2(&values)
}

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
#[derive(Clone, Debug, PartialEq)]
pub struct QWeights<const C: usize, const R: usize, const B: usize> {
    q: Stored<[[[i8; C]; R]; B]>,
    scale: Stored<[[f32; R]; B]>,
}

impl<const C: usize, const R: usize, const B: usize> QWeights<C, R, B> {
    /// Rows of the matrix.
    pub const ROWS: usize = B * R;
    /// Bytes of the matrix in the int8 format: the scales, then the values.
    pub const BYTES: usize = B * R * (4 + C);

    /// The values `q`, row-major.
    pub fn values(&self) -> &[i8] {
        self.q.as_flattened().as_flattened()
    }

    /// The scale of each row.
    pub fn scales(&self) -> &[f32] {
        self.scale.as_flattened()
    }

    /// `out[r] += scale[r] · Σ_c q[r, c] · x[c]` for every row: the sum in `f32`, the
    /// scale applied once per row.
    #[inline(always)]
    pub(crate) fn matvec_add(&self, x: &[f32; C], out: &mut [f32]) {
        qmatvec_add(self.values(), self.scales(), x, out);
    }

    /// Row `r` dequantised into `out` (`C` values): an embedding's lookup.
    pub(crate) fn row_into(&self, r: usize, out: &mut [f32; C]) {
        let (block, row) = (r / R.max(1), r % R.max(1));
        let s = self.scale[block][row];
        for (o, q) in out.iter_mut().zip(&self.q[block][row]) {
            *o = f32::from(*q) * s;
        }
    }

    /// The matrix whose [`BYTES`](Self::BYTES) bytes start at offset `at` of `bytes`.
    ///
    /// # Panics
    /// If `bytes` is shorter than `at + BYTES` (at compile time in a constant).
    #[cfg(not(feature = "std"))]
    pub const fn from_le_bytes(bytes: &[u8], at: usize) -> Self {
        let mut q = [[[0i8; C]; R]; B];
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
                    q[b][r][c] = bytes[values + row * C + c] as i8;
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
        let values: Vec<i8> = bytes[at + 4 * rows..at + Self::BYTES]
            .iter()
            .map(|b| *b as i8)
            .collect();
        QWeights {
            q: boxed3(&values),
            scale: boxed2(&scales),
        }
    }

    /// Appends the matrix in the int8 format.
    #[cfg(feature = "std")]
    pub fn write_le(&self, out: &mut Vec<u8>) {
        out.extend(self.scales().iter().flat_map(|s| s.to_le_bytes()));
        out.extend(self.values().iter().map(|q| q.to_le_bytes()[0]));
    }

    /// Every weight as `f32`, `q · scale`, row-major.
    #[cfg(feature = "std")]
    pub fn dequantize(&self) -> Vec<f32> {
        let cols = C.max(1);
        self.values()
            .chunks(cols)
            .zip(self.scales())
            .flat_map(|(row, s)| row.iter().map(move |q| f32::from(*q) * s))
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

multiversion! {
    /// `out[r] += scale[r] · Σ_c q[r, c] · x[c]`: eight partial sums per row so that
    /// the conversion and the multiply-add vectorise, then the scale once.
    fn qmatvec_add(q: &[i8], scale: &[f32], x: &[f32], out: &mut [f32]) {
        let cols = x.len().max(1);
        for ((o, row), s) in out.iter_mut().zip(q.chunks_exact(cols)).zip(scale) {
            *o += s * qdot(row, x);
        }
    }
}

/// `Σ_c q[c] · x[c]` with eight independent partial sums.
#[inline(always)]
fn qdot(q: &[i8], x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let n = q.len().min(x.len());
    let whole = n / 8 * 8;
    for (cq, cx) in q[..whole].chunks_exact(8).zip(x[..whole].chunks_exact(8)) {
        for l in 0..8 {
            acc[l] += f32::from(cq[l]) * cx[l];
        }
    }
    let tail: f32 = q[whole..n]
        .iter()
        .zip(&x[whole..n])
        .map(|(q, x)| f32::from(*q) * x)
        .sum();
    acc.iter().sum::<f32>() + tail
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

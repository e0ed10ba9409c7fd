//! How a layer stores its parameter tensors: nested arrays whose lengths are the
//! layer's const generics (`[[[f32; I]; H]; G]` for a cell's stacked input weights),
//! so that no length needs a heap. With `std` they are boxed, so that building a large
//! layer never puts a tensor on a thread's stack; without, inline, so that a whole
//! model is one plain value that a `const fn` can build into a `static` in flash. The
//! kernels see them as flat row-major slices through [`Tensor`] either way.

/// A tensor as stored in a layer: boxed with `std`, inline without.
#[cfg(feature = "std")]
pub(crate) type Stored<A> = std::boxed::Box<A>;

/// A tensor as stored in a layer: boxed with `std`, inline without.
#[cfg(not(feature = "std"))]
pub(crate) type Stored<A> = A;

/// A row-major tensor of `f32` with constant shape.
pub(crate) trait Tensor {
    /// The values, row-major.
    fn flat(&self) -> &[f32];
    /// The values, row-major, mutably.
    fn flat_mut(&mut self) -> &mut [f32];
}

impl<const N: usize> Tensor for [f32; N] {
    fn flat(&self) -> &[f32] {
        self
    }
    fn flat_mut(&mut self) -> &mut [f32] {
        self
    }
}

impl<const C: usize, const R: usize> Tensor for [[f32; C]; R] {
    fn flat(&self) -> &[f32] {
        self.as_flattened()
    }
    fn flat_mut(&mut self) -> &mut [f32] {
        self.as_flattened_mut()
    }
}

impl<const C: usize, const R: usize, const B: usize> Tensor for [[[f32; C]; R]; B] {
    fn flat(&self) -> &[f32] {
        self.as_flattened().as_flattened()
    }
    fn flat_mut(&mut self) -> &mut [f32] {
        self.as_flattened_mut().as_flattened_mut()
    }
}

#[cfg(feature = "std")]
impl<T: Tensor + ?Sized> Tensor for std::boxed::Box<T> {
    fn flat(&self) -> &[f32] {
        (**self).flat()
    }
    fn flat_mut(&mut self) -> &mut [f32] {
        (**self).flat_mut()
    }
}

#[cfg(feature = "std")]
pub(crate) use boxed::{matrix, tensor3, vector};

#[cfg(feature = "std")]
mod boxed {
    //! Boxed tensors from flat values, built on the heap without a stack temporary.

    /// Rows of `C` values from `flat` (`rows · C` values), as a vector of arrays.
    fn rows<const C: usize>(flat: &[f32], rows: usize) -> Vec<[f32; C]> {
        assert_eq!(flat.len(), rows * C, "tensor length");
        if C == 0 {
            // `as_chunks` cannot split into empty chunks; every row is empty anyway.
            return vec![[0.0; C]; rows];
        }
        flat.as_chunks::<C>().0.to_vec()
    }

    /// `[N]` from `N` values.
    pub(crate) fn vector<const N: usize>(flat: &[f32]) -> Box<[f32; N]> {
        match flat.to_vec().into_boxed_slice().try_into() {
            Ok(b) => b,
            Err(_) => panic!("tensor length: {} values for [{N}]", flat.len()),
        }
    }

    /// `[R, C]` from `R · C` row-major values.
    pub(crate) fn matrix<const C: usize, const R: usize>(flat: &[f32]) -> Box<[[f32; C]; R]> {
        match rows::<C>(flat, R).into_boxed_slice().try_into() {
            Ok(b) => b,
            Err(_) => unreachable!("rows() checked the length"),
        }
    }

    /// `[B, R, C]` from `B · R · C` row-major values.
    pub(crate) fn tensor3<const C: usize, const R: usize, const B: usize>(
        flat: &[f32],
    ) -> Box<[[[f32; C]; R]; B]> {
        let rows = rows::<C>(flat, B * R);
        let blocks: Vec<[[f32; C]; R]> = if R == 0 {
            vec![[[0.0; C]; R]; B]
        } else {
            rows.as_chunks::<R>().0.to_vec()
        };
        match blocks.into_boxed_slice().try_into() {
            Ok(b) => b,
            Err(_) => unreachable!("rows() checked the length"),
        }
    }
}

#[cfg(not(feature = "std"))]
pub(crate) use inline::{matrix_le, tensor3_le, vector_le};

#[cfg(not(feature = "std"))]
mod inline {
    //! Inline tensors decoded from little-endian bytes in a `const fn`.

    /// The `f32` at byte offset `at`.
    const fn f32_le(bytes: &[u8], at: usize) -> f32 {
        f32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
    }

    /// `[N]` from the `4N` bytes at offset `at`.
    pub(crate) const fn vector_le<const N: usize>(bytes: &[u8], at: usize) -> [f32; N] {
        let mut v = [0.0; N];
        let mut i = 0;
        while i < N {
            v[i] = f32_le(bytes, at + 4 * i);
            i += 1;
        }
        v
    }

    /// `[R, C]` from the `4RC` bytes at offset `at`, row-major.
    pub(crate) const fn matrix_le<const C: usize, const R: usize>(
        bytes: &[u8],
        at: usize,
    ) -> [[f32; C]; R] {
        let mut m = [[0.0; C]; R];
        let mut r = 0;
        while r < R {
            m[r] = vector_le::<C>(bytes, at + 4 * r * C);
            r += 1;
        }
        m
    }

    /// `[B, R, C]` from the `4BRC` bytes at offset `at`, row-major.
    pub(crate) const fn tensor3_le<const C: usize, const R: usize, const B: usize>(
        bytes: &[u8],
        at: usize,
    ) -> [[[f32; C]; R]; B] {
        let mut t = [[[0.0; C]; R]; B];
        let mut b = 0;
        while b < B {
            t[b] = matrix_le::<C, R>(bytes, at + 4 * b * R * C);
            b += 1;
        }
        t
    }
}

/// The `n` values at byte offset `at` of little-endian `bytes`.
///
/// # Panics
/// If `bytes` is shorter than `at + 4n`.
#[cfg(feature = "std")]
pub(crate) fn decode_le(bytes: &[u8], at: usize, n: usize) -> Vec<f32> {
    bytes[at..at + 4 * n]
        .as_chunks::<4>()
        .0
        .iter()
        .map(|b| f32::from_le_bytes(*b))
        .collect()
}

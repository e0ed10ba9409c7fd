//! Keras's default initialisers, driven by the crate's portable [`Rng`].

use crate::rng::Rng;

/// Glorot (Xavier) uniform: U(-l, l) with `l = sqrt(6 / (fan_in + fan_out))`.
pub fn glorot_uniform(rng: &mut Rng, fan_in: usize, fan_out: usize, len: usize) -> Vec<f32> {
    let limit = (6.0 / (fan_in + fan_out).max(1) as f64).sqrt();
    (0..len)
        .map(|_| rng.uniform(-limit, limit) as f32)
        .collect()
}

/// Uniform in `[low, high)`, as Keras's `RandomUniform` (the default embedding
/// initialiser uses `[-0.05, 0.05)`).
pub fn random_uniform(rng: &mut Rng, low: f64, high: f64, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.uniform(low, high) as f32).collect()
}

/// A `[rows, cols]` row-major matrix with orthonormal columns (`rows >= cols`).
///
/// As Keras's `Orthogonal`: a standard normal matrix, orthonormalised (modified
/// Gram–Schmidt in f64, which gives the QR factor whose `R` has a positive diagonal,
/// i.e. Keras's sign correction). For `rows < cols` the rows are orthonormal instead.
pub fn orthogonal(rng: &mut Rng, rows: usize, cols: usize) -> Vec<f32> {
    let (tall, short) = (rows.max(cols), rows.min(cols));
    // Column-major working copy of a [tall, short] matrix: each column contiguous.
    let mut q: Vec<f64> = (0..tall * short).map(|_| rng.normal()).collect();
    for j in 0..short {
        let (done, rest) = q.split_at_mut(j * tall);
        let col = &mut rest[..tall];
        for prev in done.chunks_exact(tall) {
            let proj: f64 = prev.iter().zip(col.iter()).map(|(a, b)| a * b).sum();
            col.iter_mut().zip(prev).for_each(|(c, p)| *c -= proj * p);
        }
        let norm = col
            .iter()
            .map(|v| v * v)
            .sum::<f64>()
            .sqrt()
            .max(f64::MIN_POSITIVE);
        col.iter_mut().for_each(|c| *c /= norm);
    }
    let mut out = vec![0.0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            // Tall: element (r, c) is q[r, c]; wide: it is q[c, r], the transpose.
            let (i, j) = if rows >= cols { (r, c) } else { (c, r) };
            out[r * cols + c] = q[j * tall + i] as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gram(m: &[f32], rows: usize, cols: usize) -> Vec<f64> {
        let mut g = vec![0.0; cols * cols];
        for a in 0..cols {
            for b in 0..cols {
                g[a * cols + b] = (0..rows)
                    .map(|r| m[r * cols + a] as f64 * m[r * cols + b] as f64)
                    .sum();
            }
        }
        g
    }

    #[test]
    fn orthogonal_columns_are_orthonormal() {
        let mut rng = Rng::new(5);
        let (rows, cols) = (12, 3);
        let g = gram(&orthogonal(&mut rng, rows, cols), rows, cols);
        for a in 0..cols {
            for b in 0..cols {
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((g[a * cols + b] - want).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn orthogonal_wide_has_orthonormal_rows() {
        let mut rng = Rng::new(6);
        let m = orthogonal(&mut rng, 2, 5);
        let dot = |a: usize, b: usize| -> f64 {
            (0..5)
                .map(|c| m[a * 5 + c] as f64 * m[b * 5 + c] as f64)
                .sum()
        };
        assert!((dot(0, 0) - 1.0).abs() < 1e-6 && dot(0, 1).abs() < 1e-6);
    }

    #[test]
    fn glorot_stays_in_its_limit_and_is_seeded() {
        let w = glorot_uniform(&mut Rng::new(1), 10, 40, 400);
        let limit = (6.0f32 / 50.0).sqrt();
        assert!(w.iter().all(|v| v.abs() <= limit));
        assert!(w.iter().any(|v| v.abs() > limit * 0.9));
        assert_eq!(w, glorot_uniform(&mut Rng::new(1), 10, 40, 400));
    }
}

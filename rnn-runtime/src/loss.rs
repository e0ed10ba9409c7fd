//! Mean squared error, averaged over every element as PyTorch's `MSELoss()` and
//! Keras's `mse` (for one output per sample the two conventions coincide).

/// `mean((pred - target)²)` over all elements.
pub fn mse(pred: &[f32], target: &[f32]) -> f32 {
    let n = pred.len().max(1) as f64;
    let sum: f64 = pred
        .iter()
        .zip(target)
        .map(|(p, t)| {
            let d = (p - t) as f64;
            d * d
        })
        .sum();
    (sum / n) as f32
}

/// [`mse`], and its gradient `2 (pred - target) / n` written into `grad`.
pub fn mse_grad(pred: &[f32], target: &[f32], grad: &mut [f32]) -> f32 {
    let scale = 2.0 / pred.len().max(1) as f32;
    for ((g, p), t) in grad.iter_mut().zip(pred).zip(target) {
        *g = scale * (p - t);
    }
    mse(pred, target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mse_and_gradient() {
        let mut g = [0.0; 2];
        let l = mse_grad(&[1.0, 3.0], &[0.0, 1.0], &mut g);
        assert_eq!(l, 2.5);
        assert_eq!(g, [1.0, 2.0]);
    }
}

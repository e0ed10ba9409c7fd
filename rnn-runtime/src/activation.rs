//! Activation functions, written to vectorise.
//!
//! libm's scalar `tanhf` and `expf` cost ~10 ns an element and cannot be vectorised;
//! in a recurrent layer they would dominate an epoch. The functions here use a
//! branch-free `exp` (range reduction to [-ln2/2, ln2/2] and a degree-7 polynomial,
//! relative error below 2e-7) so that loops over slices compile to packed SIMD code.

use crate::simd::multiversion;

/// Activation of a dense layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Activation {
    /// Identity.
    #[default]
    Linear,
    /// `max(0, v)`.
    Relu,
    /// Hyperbolic tangent.
    Tanh,
    /// Logistic sigmoid.
    Sigmoid,
}

impl Activation {
    /// Applies the activation to every element in place.
    pub fn apply(self, v: &mut [f32]) {
        match self {
            Activation::Linear => {}
            Activation::Relu => v.iter_mut().for_each(|x| *x = x.max(0.0)),
            Activation::Tanh => tanh_slice(v),
            Activation::Sigmoid => sigmoid_slice(v),
        }
    }

    /// Multiplies `grad` by the derivative, expressed through the activation's output `y`.
    pub fn backprop(self, y: &[f32], grad: &mut [f32]) {
        match self {
            Activation::Linear => {}
            Activation::Relu => grad
                .iter_mut()
                .zip(y)
                .for_each(|(g, &y)| *g = if y > 0.0 { *g } else { 0.0 }),
            Activation::Tanh => grad.iter_mut().zip(y).for_each(|(g, &y)| *g *= 1.0 - y * y),
            Activation::Sigmoid => grad
                .iter_mut()
                .zip(y)
                .for_each(|(g, &y)| *g *= y * (1.0 - y)),
        }
    }
}

/// `e^x` for finite `x`, saturating outside [-87, 88] (the f32 normal range).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split so that n · LN2_HI is exact for the n that occur.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding and subtracting 1.5 · 2^23 rounds to the nearest integer without a call.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.0 / 5040.0;
    let p = p * r + 1.0 / 720.0;
    let p = p * r + 1.0 / 120.0;
    let p = p * r + 1.0 / 24.0;
    let p = p * r + 1.0 / 6.0;
    let p = p * r + 0.5;
    let p = p * r + 1.0;
    let p = p * r + 1.0;
    // The low bits of `shifted` hold n as an integer: 2^n from integer operations
    // only, where `n as i32` would be a saturating, scalar conversion.
    let biased = shifted
        .to_bits()
        .wrapping_sub(ROUND.to_bits())
        .wrapping_add(127);
    let scale = f32::from_bits(biased << 23);
    p * scale
}

/// Logistic sigmoid `1 / (1 + e^-x)`.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// Hyperbolic tangent.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let a = x.abs();
    // Near zero `1 - e` cancels; the Taylor series is exact to f32 there.
    let x2 = x * x;
    let small = x * (1.0 + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0))));
    let e = exp(-2.0 * a);
    let large = ((1.0 - e) / (1.0 + e)).copysign(x);
    if a < 0.125 {
        small
    } else {
        large
    }
}

/// [`sigmoid`] of every element, in place; inlined into multiversioned kernels.
#[inline(always)]
pub(crate) fn sigmoid_in_place(v: &mut [f32]) {
    v.iter_mut().for_each(|x| *x = sigmoid(*x));
}

/// [`tanh`] of every element, in place; inlined into multiversioned kernels.
#[inline(always)]
pub(crate) fn tanh_in_place(v: &mut [f32]) {
    v.iter_mut().for_each(|x| *x = tanh(*x));
}

multiversion! {
    /// [`sigmoid`] of every element, in place, with AVX2 where the CPU has it.
    pub fn sigmoid_slice(v: &mut [f32]) => sigmoid_in_place
}

multiversion! {
    /// [`tanh`] of every element, in place, with AVX2 where the CPU has it.
    pub fn tanh_slice(v: &mut [f32]) => tanh_in_place
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> impl Iterator<Item = f32> {
        (-200_000..=200_000).map(|i| i as f32 * 1e-4)
    }

    #[test]
    fn exp_is_accurate_over_the_working_range() {
        for x in grid().map(|x| x * 4.0) {
            let want = (x as f64).exp();
            let got = exp(x) as f64;
            assert!(
                ((got - want) / want).abs() < 3e-7,
                "exp({x}) = {got}, want {want}"
            );
        }
        assert!(exp(-1e4) >= 0.0 && exp(-1e4) < 1e-37);
        assert!(exp(1e4).is_finite());
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn tanh_and_sigmoid_match_f64_and_saturate() {
        for x in grid() {
            let t = (x as f64).tanh();
            assert!(
                (tanh(x) as f64 - t).abs() <= 2e-7 + 2e-7 * t.abs(),
                "tanh({x})"
            );
            let s = 1.0 / (1.0 + (-(x as f64)).exp());
            assert!((sigmoid(x) as f64 - s).abs() <= 2e-7, "sigmoid({x})");
        }
        assert_eq!(tanh(1e4), 1.0);
        assert_eq!(tanh(-1e4), -1.0);
        assert_eq!(sigmoid(1e4), 1.0);
        assert!(sigmoid(-1e4) >= 0.0 && sigmoid(-1e4) < 1e-37);
        assert_eq!(tanh(0.0), 0.0);
        assert_eq!(tanh(1e-30), 1e-30);
    }

    #[test]
    fn dispatched_slices_equal_the_scalar_functions_bit_for_bit() {
        // Whatever instruction set the slice versions run with, each element is the
        // same IEEE computation as the scalar function's.
        let xs: Vec<f32> = grid().step_by(7).chain([-1e4, 1e4, 0.0, -0.0]).collect();
        let mut s = xs.clone();
        sigmoid_slice(&mut s);
        let mut t = xs.clone();
        tanh_slice(&mut t);
        for ((x, s), t) in xs.iter().zip(&s).zip(&t) {
            assert_eq!(s.to_bits(), sigmoid(*x).to_bits(), "sigmoid({x})");
            assert_eq!(t.to_bits(), tanh(*x).to_bits(), "tanh({x})");
        }
    }

    #[test]
    fn backprop_uses_the_output_derivative() {
        let y = [0.5f32, -0.5, 0.0];
        let mut g = [1.0f32; 3];
        Activation::Tanh.backprop(&y, &mut g);
        assert_eq!(g, [0.75, 0.75, 1.0]);
        let mut g = [2.0f32; 3];
        Activation::Sigmoid.backprop(&y, &mut g);
        assert_eq!(g, [0.5, -1.5, 0.0]);
        let mut g = [2.0f32; 3];
        Activation::Relu.backprop(&y, &mut g);
        assert_eq!(g, [2.0, 0.0, 0.0]);
        let mut v = [-1.0f32, 2.0];
        Activation::Relu.apply(&mut v);
        assert_eq!(v, [0.0, 2.0]);
    }
}

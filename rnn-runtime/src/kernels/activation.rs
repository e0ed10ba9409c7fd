//! Activation functions, written to vectorise.
//!
//! libm's scalar `tanhf` and `expf` cost ~10 ns an element and cannot be vectorised;
//! in a recurrent layer they would dominate an epoch. The functions here use a
//! branch-free `exp` (range reduction to [-ln2/2, ln2/2] and a degree-5 polynomial,
//! relative error below 2.5e-7) so that loops over slices compile to packed SIMD code;
//! [`sigmoid`] and [`tanh`] are one reduction, one polynomial and one division each,
//! within 3e-7 of the exact values over the whole f32 range (a test sweeps it).
//! Everything is plain `*`, `+` and `/`, never a fused multiply-add, so the AVX-512,
//! AVX2 and baseline versions of a slice kernel, and the `no_std` build, give the same
//! bits.
//! [`erf`] is built the same way, for the exact GELU. ELU's `expm1` and softplus's
//! `exp` and `log1p` come from the pure-Rust `libm` crate in every build, so that the
//! `std` and `no_std` builds give the same bits.

use crate::kernels::simd::multiversion;

/// Activation of a dense layer.
///
/// The `activation = …` option of `dense`; it acts on rows of `width` values:
///
/// ```
/// use rnn_runtime::Activation;
///
/// let mut v = [-1.0, 0.0, 2.0, 0.0];
/// Activation::Relu.apply(&mut v, 2);
/// assert_eq!(v, [0.0, 0.0, 2.0, 0.0]);
/// // Softmax normalises each row of `width` on its own.
/// let mut rows = [0.0, 0.0, 1.0, 1.0];
/// Activation::Softmax.apply(&mut rows, 2);
/// assert!(rows.iter().all(|p| (p - 0.5).abs() < 1e-6));
/// // Backprop of tanh at z = 0 (y = 0): the derivative is 1.
/// let (z, mut y) = ([0.0f32], [0.0f32]);
/// Activation::Tanh.apply(&mut y, 1);
/// let mut grad = [3.0];
/// Activation::Tanh.backprop(&z, &y, &mut grad, 1);
/// assert!((grad[0] - 3.0).abs() < 1e-6);
/// assert!(Activation::Gelu.needs_preactivation());
/// ```
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
    /// `e^v / Σ e^v` over the units of one sample (one row).
    Softmax,
    /// Exact GELU `v Φ(v) = v (1 + erf(v / √2)) / 2`: PyTorch's default `nn.GELU()`
    /// and Keras's `gelu(approximate=False)`.
    Gelu,
    /// `v` for `v > 0`, else `e^v - 1` (α = 1).
    Elu,
    /// `ln(1 + e^v)`.
    Softplus,
}

impl Activation {
    /// The DSL's (and Keras's) name: `"linear"`, `"relu"`, `"softmax"`, ….
    pub const fn name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Softmax => "softmax",
            Activation::Gelu => "gelu",
            Activation::Elu => "elu",
            Activation::Softplus => "softplus",
        }
    }

    /// Whether [`backprop`](Self::backprop) reads the pre-activations: true where the
    /// derivative cannot be recovered accurately from the output alone.
    pub fn needs_preactivation(self) -> bool {
        matches!(self, Activation::Gelu | Activation::Softplus)
    }

    /// Applies the activation in place to `v`, rows of `width` values each (softmax
    /// normalises each row; the others act element by element).
    pub fn apply(self, v: &mut [f32], width: usize) {
        match self {
            Activation::Linear => fixed::Linear::apply(v, width),
            Activation::Relu => fixed::Relu::apply(v, width),
            Activation::Tanh => fixed::Tanh::apply(v, width),
            Activation::Sigmoid => fixed::Sigmoid::apply(v, width),
            Activation::Softmax => fixed::Softmax::apply(v, width),
            Activation::Gelu => fixed::Gelu::apply(v, width),
            Activation::Elu => fixed::Elu::apply(v, width),
            Activation::Softplus => fixed::Softplus::apply(v, width),
        }
    }

    /// Turns `grad`, the gradient of the outputs `y` (rows of `width`), into the
    /// gradient of the pre-activations `z`. `z` is read only where
    /// [`needs_preactivation`](Self::needs_preactivation) says so and may be empty
    /// otherwise.
    pub fn backprop(self, z: &[f32], y: &[f32], grad: &mut [f32], width: usize) {
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
            Activation::Softmax => {
                let width = width.max(1);
                for (g, y) in grad.chunks_exact_mut(width).zip(y.chunks_exact(width)) {
                    // The Jacobian diag(y) - y yᵀ times g, without forming it.
                    let dot: f32 = g.iter().zip(y).map(|(g, y)| g * y).sum();
                    g.iter_mut().zip(y).for_each(|(g, &y)| *g = y * (*g - dot));
                }
            }
            Activation::Gelu => grad
                .iter_mut()
                .zip(z)
                .for_each(|(g, &z)| *g *= gelu_derivative(z)),
            // e^v = y + 1 below zero, exact enough: no need to keep v.
            Activation::Elu => grad
                .iter_mut()
                .zip(y)
                .for_each(|(g, &y)| *g = if y > 0.0 { *g } else { *g * (y + 1.0) }),
            Activation::Softplus => grad.iter_mut().zip(z).for_each(|(g, &z)| *g *= sigmoid(z)),
        }
    }
}

/// `x = n ln 2 + r` with `|r| ≤ ln 2 / 2`: returns `(r, 2^n)` for `x` in [-87, 88],
/// where `2^n` is a normal f32.
#[inline(always)]
fn reduce(x: f32) -> (f32, f32) {
    const LOG2_E: f32 = core::f32::consts::LOG2_E;
    // ln 2 split so that n · LN2_HI is exact for the n that occur.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding and subtracting 1.5 · 2^23 rounds to the nearest integer without a call.
    const ROUND: f32 = 12_582_912.0;
    let shifted = x * LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    // The low bits of `shifted` hold n as an integer: 2^n from integer operations
    // only, where `n as i32` would be a saturating, scalar conversion.
    let biased = shifted
        .to_bits()
        .wrapping_sub(ROUND.to_bits())
        .wrapping_add(127);
    (r, f32::from_bits(biased << 23))
}

/// `e^r - 1` for `|r| ≤ ln 2 / 2`, as `r + r² s(r)`: exact in relative terms near 0,
/// where it is `r` itself. `s` is a degree-3 minimax fit of `(e^r - 1 - r) / r²` for
/// the relative error of `e^r` (1.05e-7 before rounding; fitted for this crate in
/// float64 by iteratively reweighted least squares).
#[inline(always)]
fn expm1_reduced(r: f32) -> f32 {
    let s = 8.312_525e-3;
    let s = s * r + 4.189_011_5e-2;
    let s = s * r + 0.166_671_14;
    let s = s * r + 0.499_992_3;
    r + r * r * s
}

/// `e^x` for finite `x`, saturating outside [-87, 88] (the f32 normal range); relative
/// error below 2.5e-7. NaN gives NaN.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let (r, scale) = reduce(x.clamp(-87.0, 88.0));
    (1.0 + expm1_reduced(r)) * scale
}

/// Logistic sigmoid `1 / (1 + e^-x)`: absolute error below 1e-7 everywhere (the
/// relative error of [`exp`] times `σ(1 - σ) ≤ 1/4`, plus the division's rounding).
/// NaN gives NaN; ±∞ give 1 and a value below 1e-38.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// Hyperbolic tangent, as `m / (m + 2)` with `m = e^{2x} - 1`: one reduction, one
/// short polynomial and one division, and no branch for small `x`, where `m` is exact
/// in relative terms and `tanh(x) = x` to the last bit. Beyond `|x| = 9` the value is
/// ±1 to f32 precision, so `x` is clamped there and `m` never overflows. Absolute
/// error below 2e-7 everywhere; NaN gives NaN.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let (r, scale) = reduce(2.0 * x.clamp(-9.0, 9.0));
    // 2^n - 1 is exact for the n here, so the sum does not cancel near x = 0.
    let m = scale * expm1_reduced(r) + (scale - 1.0);
    m / (m + 2.0)
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

/// `erf(x) / x` as a polynomial in `x²`, for `|x| < 1` (relative error ~1e-9 before
/// rounding; coefficients fitted for this crate in float64).
#[inline(always)]
fn erf_near_zero(x: f32) -> f32 {
    let x2 = x * x;
    let p = 7.854_014e-5;
    let p = p * x2 - 8.010_244e-4;
    let p = p * x2 + 5.188_334e-3;
    let p = p * x2 - 2.685_381_7e-2;
    let p = p * x2 + 0.112_835_854;
    let p = p * x2 - 0.376_126_26;
    // The leading coefficient is 2/√π to f32 precision, as the series says.
    let p = p * x2 + core::f32::consts::FRAC_2_SQRT_PI;
    x * p
}

/// `erfc(a)` for `a ≥ 1`, accurate in relative terms (~4e-8 before rounding):
/// `e^{-a²}` times a fitted factor, a polynomial in `a` up to 2.5 and beyond it one in
/// `1/a²` over `a`, which follows the asymptotic series; exactly 0 where `erfc`
/// underflows f32. Coefficients fitted for this crate in float64.
#[inline(always)]
fn erfc_tail(a: f32) -> f32 {
    let t = (a.min(2.5) - 1.75) * (1.0 / 0.75);
    let q = 1.215_234_9e-5;
    let q = q * t - 5.197_426e-5;
    let q = q * t + 1.842_660_3e-4;
    let q = q * t - 7.122_217e-4;
    let q = q * t + 2.659_250_5e-3;
    let q = q * t - 9.392_235e-3;
    let q = q * t + 3.136_706_4e-2;
    let q = q * t - 9.823_216_5e-2;
    let q = q * t + 0.284_972_2;
    let a2 = a * a;
    let u2 = 1.0 / a2;
    let g = 8.976_153;
    let g = g * u2 - 7.151_774;
    let g = g * u2 + 2.962_650_5;
    let g = g * u2 - 1.023_961_8;
    let g = g * u2 + 0.422_353_33;
    let g = g * u2 - 0.282_087_68;
    let g = g * u2 + 0.564_189_55;
    let factor = if a < 2.5 { q } else { g / a };
    if a2 > 87.0 {
        0.0
    } else {
        exp(-a2) * factor
    }
}

/// The error function, absolute and relative error within ~2e-7 (f32 has none in std).
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let a = x.abs();
    let near = erf_near_zero(x);
    let far = (1.0 - erfc_tail(a.max(1.0))).copysign(x);
    if a < 1.0 {
        near
    } else {
        far
    }
}

/// Standard normal distribution function `Φ(x) = (1 + erf(x / √2)) / 2`, accurate in
/// relative terms far into the lower tail (where `1 + erf` would cancel).
#[inline(always)]
fn normal_cdf(x: f32) -> f32 {
    let s = x * core::f32::consts::FRAC_1_SQRT_2;
    let a = s.abs();
    let near = 0.5 + 0.5 * erf_near_zero(s);
    let tail = 0.5 * erfc_tail(a.max(1.0));
    let far = if x > 0.0 { 1.0 - tail } else { tail };
    if a < 1.0 {
        near
    } else {
        far
    }
}

/// Exact GELU `x Φ(x)`.
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    x * normal_cdf(x)
}

/// `d gelu / dx = Φ(x) + x φ(x)`.
#[inline(always)]
fn gelu_derivative(x: f32) -> f32 {
    // 1 / √(2π)
    const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;
    normal_cdf(x) + x * FRAC_1_SQRT_2PI * exp(-0.5 * x * x)
}

/// ELU with α = 1: `x` above zero, `e^x - 1` (without cancellation near 0) below.
#[inline(always)]
pub fn elu(x: f32) -> f32 {
    if x > 0.0 {
        x
    } else {
        exp_m1(x)
    }
}

/// Softplus `ln(1 + e^x)`, as `max(x, 0) + ln(1 + e^{-|x|})` so that it neither
/// overflows nor loses the small term.
#[inline(always)]
pub fn softplus(x: f32) -> f32 {
    x.max(0.0) + ln_1p(exp_libm(-x.abs()))
}

/// A dense activation fixed at compile time. The generated single-sample code names
/// one per dense layer ([`fixed`]), so that a model links only the activations it
/// uses: [`Activation::apply`], a run-time choice, links all eight (and `libm`'s
/// `expm1f` / `log1pf` with them), which costs a `no_std` build kilobytes of flash.
pub trait FixedActivation {
    /// The run-time value this type stands for.
    const ACTIVATION: Activation;
    /// [`Activation::apply`] of [`ACTIVATION`](Self::ACTIVATION).
    fn apply(v: &mut [f32], width: usize);
}

/// One type per [`Activation`], each a [`FixedActivation`].
pub mod fixed {
    use super::{
        elu, gelu_slice, sigmoid_slice, softmax_row, softplus, tanh_slice, Activation,
        FixedActivation,
    };

    /// Defines a unit type implementing [`FixedActivation`] with the given body.
    macro_rules! fixed {
        ($($(#[$doc:meta])* $name:ident => |$v:ident, $width:ident| $body:expr;)*) => {$(
            $(#[$doc])*
            #[derive(Clone, Copy, Debug)]
            pub struct $name;

            impl FixedActivation for $name {
                const ACTIVATION: Activation = Activation::$name;
                #[inline]
                fn apply($v: &mut [f32], $width: usize) {
                    $body
                }
            }
        )*};
    }

    fixed! {
        /// [`Activation::Linear`].
        Linear => |v, width| { let _ = (v, width); };
        /// [`Activation::Relu`].
        Relu => |v, width| { let _ = width; v.iter_mut().for_each(|x| *x = x.max(0.0)) };
        /// [`Activation::Tanh`].
        Tanh => |v, width| { let _ = width; tanh_slice(v) };
        /// [`Activation::Sigmoid`].
        Sigmoid => |v, width| { let _ = width; sigmoid_slice(v) };
        /// [`Activation::Softmax`]: each row of `width` on its own.
        Softmax => |v, width| v.chunks_exact_mut(width.max(1)).for_each(softmax_row);
        /// [`Activation::Gelu`].
        Gelu => |v, width| { let _ = width; gelu_slice(v) };
        /// [`Activation::Elu`].
        Elu => |v, width| { let _ = width; v.iter_mut().for_each(|x| *x = elu(*x)) };
        /// [`Activation::Softplus`].
        Softplus => |v, width| { let _ = width; v.iter_mut().for_each(|x| *x = softplus(*x)) };
    }
}

// ELU and softplus take their `expm1`, `exp` and `log1p` from the pure-Rust `libm`
// crate in every build, never from the platform's C library: the `no_std` build has no
// other, and the host must reproduce the device's bits (`tests/nostd_parity.rs` sweeps
// every activation). Both are accurate to within an ulp or so; they differ from each
// other in the last bit of a few values in a hundred.

/// `e^x - 1`.
#[inline(always)]
fn exp_m1(x: f32) -> f32 {
    libm::expm1f(x)
}

/// `e^x`, kept for the tiny values of softplus that [`exp`] flushes.
#[inline(always)]
fn exp_libm(x: f32) -> f32 {
    libm::expf(x)
}

/// `ln(1 + x)`.
#[inline(always)]
fn ln_1p(x: f32) -> f32 {
    libm::log1pf(x)
}

/// Softmax of one row in place; shifted by the row's maximum so that no `exp`
/// overflows.
fn softmax_row(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in row.iter_mut() {
        *v = exp(*v - max);
        sum += *v;
    }
    row.iter_mut().for_each(|v| *v /= sum);
}

/// [`gelu`] of every element, in place; inlined into the multiversioned kernel.
#[inline(always)]
fn gelu_in_place(v: &mut [f32]) {
    v.iter_mut().for_each(|x| *x = gelu(*x));
}

multiversion! {
    /// [`gelu`] of every element, in place, with AVX2 where the CPU has it.
    pub fn gelu_slice(v: &mut [f32]) => gelu_in_place
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

    /// Every 4093rd f32 bit pattern (about 1.05 million values, both signs, every
    /// exponent) and the edges: sigmoid and tanh within 3e-7 of float64, exp within
    /// 3e-7 relative over its range, NaN in gives NaN out, and the dispatched slice
    /// kernels give the scalar functions' bits.
    #[test]
    fn sigmoid_and_tanh_are_accurate_over_every_f32() {
        let edges = [
            0.0f32,
            -0.0,
            f32::from_bits(1),
            -f32::from_bits(1),
            f32::from_bits(0x007f_ffff),
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            1e-30,
            0.125,
            8.9,
            9.0,
            9.1,
            -9.0,
            17.0,
            -17.0,
            87.0,
            88.0,
            -87.0,
            -88.0,
            104.0,
            -104.0,
            f32::MAX,
            f32::MIN,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ];
        let xs: Vec<f32> = (0..=u32::MAX)
            .step_by(4093)
            .map(f32::from_bits)
            .chain(edges)
            .collect();
        assert!(xs.len() > 1_000_000);
        let (mut worst_s, mut worst_t) = (0.0f64, 0.0f64);
        for &x in &xs {
            if x.is_nan() {
                assert!(sigmoid(x).is_nan() && tanh(x).is_nan() && exp(x).is_nan());
                continue;
            }
            let x64 = x as f64;
            let s64 = 1.0 / (1.0 + (-x64).exp());
            let (s, t) = (sigmoid(x) as f64, tanh(x) as f64);
            worst_s = worst_s.max((s - s64).abs());
            worst_t = worst_t.max((t - x64.tanh()).abs());
            assert!((s - s64).abs() <= 3e-7, "sigmoid({x}) = {s}, want {s64}");
            assert!((t - x64.tanh()).abs() <= 3e-7, "tanh({x}) = {t}");
            assert!((0.0..=1.0).contains(&s) && (-1.0..=1.0).contains(&t));
            if x.abs() < 1e-3 {
                // Near zero tanh keeps its relative accuracy (no cancellation).
                assert!((t - x64.tanh()).abs() <= 3e-7 * x64.abs(), "tanh({x})");
            }
            if (-87.0..=88.0).contains(&x) {
                let e64 = x64.exp();
                let e = exp(x) as f64;
                assert!(((e - e64) / e64).abs() < 3e-7, "exp({x}) = {e}, want {e64}");
            }
        }
        eprintln!("max |error|: sigmoid {worst_s:e}, tanh {worst_t:e}");
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
        Activation::Tanh.backprop(&[], &y, &mut g, 3);
        assert_eq!(g, [0.75, 0.75, 1.0]);
        let mut g = [2.0f32; 3];
        Activation::Sigmoid.backprop(&[], &y, &mut g, 3);
        assert_eq!(g, [0.5, -1.5, 0.0]);
        let mut g = [2.0f32; 3];
        Activation::Relu.backprop(&[], &y, &mut g, 3);
        assert_eq!(g, [2.0, 0.0, 0.0]);
        let mut v = [-1.0f32, 2.0];
        Activation::Relu.apply(&mut v, 2);
        assert_eq!(v, [0.0, 2.0]);
    }

    /// `erf` in float64: its Maclaurin series up to 2 (terms below 10, so exact to
    /// ~1e-15), `1 - erfc` beyond.
    fn erf64(x: f64) -> f64 {
        if x.abs() > 2.0 {
            return (1.0 - erfc64(x.abs())).copysign(x);
        }
        let (x2, mut term, mut sum) = (x * x, x, x);
        for n in 1..100 {
            term *= -x2 / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    /// `erfc` in float64 without cancellation: the continued fraction
    /// `e^{-a²} / √π / (a + (1/2) / (a + 1 / (a + (3/2) / …)))` for `a > 2`.
    fn erfc64(a: f64) -> f64 {
        if a <= 2.0 {
            return 1.0 - erf64(a);
        }
        let mut cf = a;
        for k in (1..=400).rev() {
            cf = a + (k as f64 / 2.0) / cf;
        }
        (-a * a).exp() / std::f64::consts::PI.sqrt() / cf
    }

    /// `Φ(x)` in float64, exact in relative terms in the lower tail.
    fn normal_cdf64(x: f64) -> f64 {
        0.5 * erfc64(-x * std::f64::consts::FRAC_1_SQRT_2)
    }

    #[test]
    fn erf_is_accurate_everywhere() {
        for x in grid()
            .map(|x| x * 0.5)
            .chain([1e-30, -1e-20, 1e-3, 30.0, -1e4])
        {
            let want = erf64(x as f64);
            let got = erf(x) as f64;
            assert!(
                (got - want).abs() <= 2.5e-7 * want.abs(),
                "erf({x}) = {got}, want {want}"
            );
        }
        assert_eq!(erf(0.0), 0.0);
        assert_eq!(erf(10.0), 1.0);
        assert_eq!(erf(-1e4), -1.0);
    }

    #[test]
    fn gelu_elu_softplus_match_f64() {
        for x in grid().map(|x| x * 0.5) {
            let x64 = x as f64;
            let phi = normal_cdf64(x64);
            let want = x64 * phi;
            // In the lower tail gelu's condition number is ~x²: rounding x itself to
            // f32 (6e-8) moves the value by x²·6e-8 relative.
            let tol = (1e-6 + 1.2e-7 * x64 * x64) * want.abs();
            assert!(
                (gelu(x) as f64 - want).abs() <= tol,
                "gelu({x}) = {}, want {want}",
                gelu(x)
            );
            let dgelu = phi + x64 * (-0.5 * x64 * x64).exp() / (2.0 * std::f64::consts::PI).sqrt();
            assert!(
                (gelu_derivative(x) as f64 - dgelu).abs() <= 5e-7 * dgelu.abs().max(1.0),
                "gelu'({x})"
            );
            let want = if x64 > 0.0 { x64 } else { x64.exp_m1() };
            assert!(
                (elu(x) as f64 - want).abs() <= 1.2e-7 * want.abs(),
                "elu({x})"
            );
            let want = x64.max(0.0) + (-x64.abs()).exp().ln_1p();
            assert!(
                (softplus(x) as f64 - want).abs() <= 1.2e-7 * want,
                "softplus({x})"
            );
        }
        // Far tails stay finite and exact in f32.
        assert_eq!(gelu(1e4), 1e4);
        assert_eq!(gelu(-1e4), 0.0);
        assert_eq!(gelu_derivative(1e4), 1.0);
        assert!(gelu_derivative(-1e4).abs() < 1e-30);
        assert_eq!(softplus(1e4), 1e4);
        assert!(softplus(-1e4) >= 0.0 && softplus(-1e4) < 1e-37);
        assert_eq!(softplus(-100.0), (-100.0f32).exp());
        assert_eq!(elu(-1e4), -1.0);
        assert_eq!(elu(1e4), 1e4);
    }

    #[test]
    fn softmax_normalises_each_row_and_survives_huge_logits() {
        let mut v = [1.0f32, 2.0, 3.0, 1e4, -1e4, 0.0];
        Activation::Softmax.apply(&mut v, 3);
        let e = [1.0f64, 1f64.exp(), 2f64.exp()];
        let s: f64 = e.iter().sum();
        for (got, want) in v[..3].iter().zip(e.iter().map(|e| e / s)) {
            assert!((*got as f64 - want).abs() <= 2e-7 * want, "{got} vs {want}");
        }
        assert_eq!(v[3], 1.0);
        assert!(v[4] < 1e-37 && v[5] < 1e-37);
        assert!(v.iter().all(|v| v.is_finite()));
    }

    /// Every backprop against a central difference of `apply`, in rows of 3 so that
    /// softmax's cross terms count.
    #[test]
    fn backprop_matches_finite_differences() {
        let all = [
            Activation::Linear,
            Activation::Relu,
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::Softmax,
            Activation::Gelu,
            Activation::Elu,
            Activation::Softplus,
        ];
        let z = [-2.5f32, -0.7, 0.3, 1.9, -0.05, 0.8, -4.0, 3.1, 1.3];
        // Upstream weights: the loss is Σ w·act(z).
        let w = [0.3f32, -1.2, 0.8, 0.5, 1.1, -0.4, 0.9, -0.6, 0.2];
        let loss = |act: Activation, z: &[f32]| -> f64 {
            let mut y = z.to_vec();
            act.apply(&mut y, 3);
            y.iter().zip(&w).map(|(y, w)| *y as f64 * *w as f64).sum()
        };
        for act in all {
            let mut y = z.to_vec();
            act.apply(&mut y, 3);
            let mut g = w.to_vec();
            act.backprop(&z, &y, &mut g, 3);
            for k in 0..z.len() {
                let h = 1e-2f32;
                let at = |d: f32| {
                    let mut zz = z.to_vec();
                    zz[k] += d;
                    loss(act, &zz)
                };
                let numeric =
                    (8.0 * (at(h) - at(-h)) - (at(2.0 * h) - at(-2.0 * h))) / (12.0 * h as f64);
                assert!(
                    (g[k] as f64 - numeric).abs() <= 1e-5 + 1e-3 * numeric.abs(),
                    "{act:?} at {k}: analytic {}, numeric {numeric}",
                    g[k]
                );
            }
            assert_eq!(
                act.needs_preactivation(),
                matches!(act, Activation::Gelu | Activation::Softplus)
            );
        }
    }

    #[test]
    fn dispatched_gelu_equals_the_scalar_function_bit_for_bit() {
        let xs: Vec<f32> = grid().step_by(7).chain([-1e4, 1e4, 0.0, -0.0]).collect();
        let mut g = xs.clone();
        gelu_slice(&mut g);
        for (x, g) in xs.iter().zip(&g) {
            assert_eq!(g.to_bits(), gelu(*x).to_bits(), "gelu({x})");
        }
    }
}

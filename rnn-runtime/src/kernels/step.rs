//! The fused single-row step of the recurrent cells on AVX-512: the product of one
//! sample's `[1, x, h]` with the cell's weights and the cell's element-wise part, one
//! step per call, with the weights laid out for it once per parameter change.
//!
//! [`lay_out`] cuts the units into groups (64 for the gated cells, 256 for the simple
//! RNN) and stores each group's weights as one panel of `1 + I + H` rows (the bias,
//! then one row per input and per hidden unit). A row holds the group's columns gate
//! by gate, packed without gaps (LSTM `i, f, g, o`; GRU `r, z` and the hidden side of
//! `n`; the simple RNN its one pre-activation), so a step streams each panel once,
//! every column in an accumulator register, and multiplies no padding but the last
//! vector's. The GRU's input side of `n`, which stays apart until `r` scales the
//! hidden side, has a second panel of `1 + I` rows.
//!
//! Packing the gates without gaps means a 16-unit vector of one gate may straddle two
//! accumulators: the accumulators go once to a stack buffer (L1) and the element-wise
//! part reads each gate's 16 units from there. Padding every gate to 16 units instead
//! would keep them in registers but, at `H = 50`, multiply 23 % more.
//!
//! The products fuse multiply-adds, as the AVX-512 step product of the batch kernels
//! does. The activations are computed from the accumulators with fused multiply-adds
//! and without a division: the sigmoid within 3e-7 of the exact value, tanh (as
//! `2σ(2x) − 1`) within 4e-7, over all of `f32` (tested). Both agree with the unfused
//! kernels to within a tolerance, not bit for bit, as the products already do.

/// `f32` lanes of one AVX-512 register.
pub(crate) const LANES: usize = 16;
/// Most accumulator registers of one product: enough independent chains to hide the
/// latency of the multiply-adds, few enough to leave registers for the rest.
const MAX_VECTORS: usize = 16;

/// Where one gate section of a panel takes its weights from: the gate (block of `H`
/// rows of PyTorch's layout) of `weight_ih` and of `weight_hh`, or none (zero weights
/// there). Its bias is the sum of the two gates' biases, or the one present.
/// `scale` multiplies the section's weights and bias: by 2 for the LSTM's `g`, whose
/// `tanh(g) = 2σ(2g) − 1` then comes from the same sigmoid as the other gates (exact:
/// scaling by 2 commutes with every rounding of the product).
#[derive(Clone, Copy, Debug)]
struct Section {
    x_gate: Option<usize>,
    h_gate: Option<usize>,
    scale: f32,
}

const fn both(gate: usize) -> Section {
    Section {
        x_gate: Some(gate),
        h_gate: Some(gate),
        scale: 1.0,
    }
}

/// The recurrent cells the fused step knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cell {
    /// `i, f, g, o`; the step also advances the cell state `c`.
    Lstm,
    /// `r, z` and the hidden side of `n`, then the input side of `n` apart.
    Gru,
    /// One pre-activation, tanh.
    Simple,
}

impl Cell {
    /// The cell with `gates` gate blocks (4 LSTM, 3 GRU, 1 simple RNN).
    pub(crate) fn of_gates(gates: usize) -> Cell {
        match gates {
            4 => Cell::Lstm,
            3 => Cell::Gru,
            1 => Cell::Simple,
            _ => panic!("no recurrent cell has {gates} gates"),
        }
    }

    /// The sections of the main panel.
    fn sections(self) -> &'static [Section] {
        const G: Section = Section {
            scale: 2.0,
            ..both(2)
        };
        const LSTM: [Section; 4] = [both(0), both(1), G, both(3)];
        const GRU: [Section; 3] = [
            both(0),
            both(1),
            Section {
                x_gate: None,
                h_gate: Some(2),
                scale: 1.0,
            },
        ];
        const SIMPLE: [Section; 1] = [both(0)];
        match self {
            Cell::Lstm => &LSTM,
            Cell::Gru => &GRU,
            Cell::Simple => &SIMPLE,
        }
    }

    /// The section of the input-only panel, if the cell has one.
    fn input_only(self) -> Option<Section> {
        (self == Cell::Gru).then_some(Section {
            x_gate: Some(2),
            h_gate: None,
            scale: 1.0,
        })
    }

    /// Gate sections activated by the sigmoid straight from the accumulators: the
    /// leading ones of [`sections`](Self::sections).
    fn sigmoid_sections(self) -> usize {
        match self {
            Cell::Lstm => 4,
            Cell::Gru => 2,
            Cell::Simple => 0,
        }
    }

    /// Units of a full group: as many as fill [`MAX_VECTORS`] accumulators.
    fn group_units(self) -> usize {
        match self {
            Cell::Lstm | Cell::Gru => 64,
            Cell::Simple => MAX_VECTORS * LANES,
        }
    }
}

/// Vectors of `cols` packed columns.
#[inline]
const fn vectors(cols: usize) -> usize {
    cols.div_ceil(LANES)
}

/// The groups of a cell with `units` units: first unit and width.
#[inline]
fn groups(cell: Cell, units: usize) -> impl Iterator<Item = (usize, usize)> {
    let per = cell.group_units();
    (0..units)
        .step_by(per)
        .map(move |u0| (u0, (units - u0).min(per)))
}

/// Values of one group's panels, with `inputs` inputs and `units` units in all.
#[inline]
fn group_len(cell: Cell, inputs: usize, units: usize, width: usize) -> usize {
    let main = (1 + inputs + units) * vectors(cell.sections().len() * width) * LANES;
    let extra = cell
        .input_only()
        .map_or(0, |_| (1 + inputs) * vectors(width) * LANES);
    main + extra
}

/// Values of the step layout of a cell with `inputs` inputs and `units` units.
#[inline]
pub(crate) fn layout_len(cell: Cell, inputs: usize, units: usize) -> usize {
    groups(cell, units)
        .map(|(_, width)| group_len(cell, inputs, units, width))
        .sum()
}

/// Writes one panel: `rows` rows (bias, inputs, then the hidden units if `hidden`) of
/// the given sections for units `u0..u0 + width`, zero past the last column.
#[allow(clippy::too_many_arguments)]
fn panel(
    sections: &[Section],
    (inputs, units): (usize, usize),
    (u0, width): (usize, usize),
    hidden: bool,
    (w_ih, w_hh): (&[f32], &[f32]),
    (b_ih, b_hh): (&[f32], &[f32]),
    out: &mut [f32],
) {
    let stride = vectors(sections.len() * width) * LANES;
    let rows = 1 + inputs + if hidden { units } else { 0 };
    let out = &mut out[..rows * stride];
    out.fill(0.0);
    for (s, section) in sections.iter().enumerate() {
        for j in 0..width {
            let k = s * width + j;
            let x_row = section.x_gate.map(|g| g * units + u0 + j);
            let h_row = section.h_gate.map(|g| g * units + u0 + j);
            let scale = section.scale;
            out[k] = scale
                * match (x_row, h_row) {
                    (Some(x), Some(h)) => b_ih[x] + b_hh[h],
                    (Some(x), None) => b_ih[x],
                    (None, Some(h)) => b_hh[h],
                    (None, None) => 0.0,
                };
            if let Some(x) = x_row {
                for c in 0..inputs {
                    out[(1 + c) * stride + k] = scale * w_ih[x * inputs + c];
                }
            }
            match h_row {
                Some(h) if hidden => {
                    for c in 0..units {
                        out[(1 + inputs + c) * stride + k] = scale * w_hh[h * units + c];
                    }
                }
                _ => {}
            }
        }
    }
}

/// Writes the step layout (see the module documentation) of the cell with PyTorch's
/// tensors `w_ih [G·H, I]`, `w_hh [G·H, H]`, `b_ih`, `b_hh [G·H]` into `out`
/// ([`layout_len`] values).
pub(crate) fn lay_out(
    cell: Cell,
    shape: (usize, usize),
    weights: (&[f32], &[f32]),
    biases: (&[f32], &[f32]),
    out: &mut [f32],
) {
    let (inputs, units) = shape;
    assert_eq!(
        out.len(),
        layout_len(cell, inputs, units),
        "step layout length"
    );
    let mut at = 0;
    for group in groups(cell, units) {
        let main = (1 + inputs + units) * vectors(cell.sections().len() * group.1) * LANES;
        let out = &mut out[at..at + group_len(cell, inputs, units, group.1)];
        let (main_out, extra_out) = out.split_at_mut(main);
        panel(
            cell.sections(),
            shape,
            group,
            true,
            weights,
            biases,
            main_out,
        );
        if let Some(section) = cell.input_only() {
            panel(&[section], shape, group, false, weights, biases, extra_out);
        }
        at += out.len();
    }
}

/// Whether the fused step runs on this CPU: AVX-512F with AVX2 and FMA, and the
/// portable kernels not forced (`RNN_PORTABLE`).
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        crate::kernels::simd::accelerated()
            && std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// One step of one sample with the default activations: `h` (and for the LSTM the
/// cell state `c`, which other cells do not have) advances from input `x`, with `w`
/// the cell's step layout ([`lay_out`]). Returns false, changing nothing, where the
/// CPU lacks what the kernel needs ([`available`]); the caller then runs the unfused
/// step.
///
/// # Panics
/// If `w` is not the layout of a cell with `x.len()` inputs and `H` units, or an LSTM
/// comes without `c`.
pub(crate) fn fused_step<const H: usize>(
    cell: Cell,
    w: &[f32],
    x: &[f32],
    h: &mut [f32; H],
    c: Option<&mut [f32; H]>,
) -> bool {
    assert_eq!(w.len(), layout_len(cell, x.len(), H), "fused step layout");
    assert!(
        cell != Cell::Lstm || c.is_some(),
        "an LSTM step needs its cell state"
    );
    #[cfg(target_arch = "x86_64")]
    if available() {
        let c = c.map_or(std::ptr::null_mut(), |c| c.as_mut_ptr());
        // SAFETY: the CPU has AVX-512F, AVX2 and FMA (just checked), `w` holds the
        // layout of a cell with `x.len()` inputs and `H` units, and an LSTM's `c`
        // points to its `H` values (asserted above).
        unsafe { avx512::step(cell, w, x, h, c) };
        return true;
    }
    let _ = c;
    false
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{group_len, groups, vectors, Cell, LANES, MAX_VECTORS};
    use std::arch::x86_64::*;

    /// One register as its lanes.
    #[cfg(test)]
    #[inline(always)]
    fn to_lanes(v: __m512) -> [f32; LANES] {
        // SAFETY: `__m512` and `[f32; 16]` have the same size and every bit pattern
        // is valid for both.
        unsafe { std::mem::transmute::<__m512, [f32; LANES]>(v) }
    }

    /// Lanes as one register.
    #[cfg(test)]
    #[inline(always)]
    fn from_lanes(v: [f32; LANES]) -> __m512 {
        // SAFETY: as in `to_lanes`.
        unsafe { std::mem::transmute::<[f32; LANES], __m512>(v) }
    }

    /// The sigmoid of every lane from fused multiply-adds, `scalef` and a refined
    /// reciprocal estimate: the form of the crate's [`sigmoid`] (a degree-7 series of
    /// `e^r` for `|r| <= ln 2 / 2`, scaled by `2^n`), without a division; within
    /// 3e-7 of the exact value over all of `f32` (tested).
    #[inline(always)]
    pub(super) fn sig(v: __m512) -> __m512 {
        const LOG2_E: f32 = core::f32::consts::LOG2_E;
        const LN2_HI: f32 = 0.693_359_4;
        const LN2_LO: f32 = -2.121_944_4e-4;
        // SAFETY: `sig` is only inlined into `step` (and a test that checks the CPU
        // first), whose callers guarantee AVX-512F and FMA.
        unsafe {
            let one = _mm512_set1_ps(1.0);
            // e^-v, with -v clamped to the normal range as in `exp`.
            let t = _mm512_min_ps(
                _mm512_max_ps(_mm512_sub_ps(_mm512_setzero_ps(), v), _mm512_set1_ps(-87.0)),
                _mm512_set1_ps(88.0),
            );
            let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
                _mm512_mul_ps(t, _mm512_set1_ps(LOG2_E)),
            );
            let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_HI), t);
            let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_LO), r);
            let mut p = _mm512_set1_ps(1.0 / 5040.0);
            for c in [
                1.0 / 720.0,
                1.0 / 120.0,
                1.0 / 24.0,
                1.0 / 6.0,
                0.5,
                1.0,
                1.0,
            ] {
                p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
            }
            let d = _mm512_add_ps(one, _mm512_scalef_ps(p, n));
            // 1/d: a 14-bit estimate and one Newton step.
            let y = _mm512_rcp14_ps(d);
            _mm512_fmadd_ps(y, _mm512_fnmadd_ps(d, y, one), y)
        }
    }

    /// `tanh(v) = 2σ(2v) − 1` from [`sig`]: within 4e-7 of the exact value over all
    /// of `f32` (tested), and a division cheaper than the scalar form.
    #[inline(always)]
    fn th(v: __m512) -> __m512 {
        // SAFETY: as in `sig`.
        unsafe {
            let s = sig(_mm512_add_ps(v, v));
            _mm512_sub_ps(_mm512_add_ps(s, s), _mm512_set1_ps(1.0))
        }
    }

    /// The fused step; see [`super::fused_step`].
    ///
    /// # Safety
    /// The CPU must support AVX-512F, AVX2 and FMA, `w` must hold
    /// [`super::layout_len`]`(cell, x.len(), H)` values, and for an LSTM `c` must
    /// point to `H` values this call may write (it is unused otherwise).
    #[target_feature(enable = "avx512f,avx2,fma")]
    // The closures around `sig` and `th` are what inlines them (see below).
    #[allow(clippy::redundant_closure)]
    pub(super) unsafe fn step<const H: usize>(
        cell: Cell,
        w: &[f32],
        x: &[f32],
        h: &mut [f32; H],
        c: *mut f32,
    ) {
        // With more than one group, the products of later groups still read the old
        // `h`: the new one waits in `h_new`. With one, it goes straight to `h`, where
        // the next step's product finds it with no copy in between.
        let single = H <= cell.group_units();
        let mut h_new = [0.0f32; H];
        // One group's gates, gate by gate: as summed (`raw`) and through the sigmoid
        // or tanh (`act`); and the GRU's input side of `n`. Registers for alignment.
        let mut raw = [_mm512_setzero_ps(); MAX_VECTORS];
        let mut act = [_mm512_setzero_ps(); MAX_VECTORS];
        let mut extra = [_mm512_setzero_ps(); MAX_VECTORS / 4];
        let sections = cell.sections().len();
        let mut at = w.as_ptr();
        for (u0, width) in groups(cell, H) {
            let main_rows = 1 + x.len() + H;
            let v = vectors(sections * width);
            let bufs = (raw.as_mut_ptr().cast(), act.as_mut_ptr().cast());
            // SAFETY: (whole block) the caller's contract: the group's main panel
            // (`main_rows` rows of `v` vectors) and, for the GRU, its input-only panel
            // (`1 + x.len()` rows of `vectors(width)`) follow each other at `at`,
            // inside `w`. Each product writes as many vectors as its panel has, at
            // most `MAX_VECTORS` (`MAX_VECTORS / 4` for the input-only panel). The
            // element-wise part reads the buffers at gate offsets below
            // `sections · width <= 16 · MAX_VECTORS`, masked to the group's units,
            // and writes `h` or `h_new` and an LSTM's `c` at units below `H`, whole
            // vectors only where all 16 units exist. `h` is written only after the
            // group's product has read it, and with one group no product reads it
            // again; a GRU reads each vector of the old `h` before writing it.
            unsafe {
                // Closures, which inherit this function's target features, so that the
                // activations inline into the product.
                if cell == Cell::Simple {
                    product(v, at, (x, h), bufs, v, |v| th(v));
                } else {
                    let sig_vectors = vectors(cell.sigmoid_sections() * width);
                    product(v, at, (x, h), bufs, sig_vectors, |v| sig(v));
                }
                if cell == Cell::Gru {
                    let extra_at = at.add(main_rows * v * LANES);
                    let out = extra.as_mut_ptr().cast();
                    product(vectors(width), extra_at, (x, &[]), (out, out), 0, |v| v);
                }
                let (r, a) = (raw.as_ptr().cast::<f32>(), act.as_ptr().cast::<f32>());
                let e = extra.as_ptr().cast::<f32>();
                let mut j = 0;
                while j < width {
                    let m = ((1u32 << (width - j).min(LANES)) - 1) as __mmask16;
                    let gate = |s: usize| _mm512_maskz_loadu_ps(m, a.add(s * width + j));
                    let u = u0 + j;
                    let full = j + LANES <= width;
                    // Whole vectors stored unmasked, which later loads can forward from.
                    let store = |to: *mut f32, v: __m512| match full {
                        true => _mm512_storeu_ps(to, v),
                        false => _mm512_mask_storeu_ps(to, m, v),
                    };
                    let out = match cell {
                        Cell::Lstm => {
                            let one = _mm512_set1_ps(1.0);
                            let g = _mm512_sub_ps(_mm512_add_ps(gate(2), gate(2)), one);
                            let cp = _mm512_maskz_loadu_ps(m, c.add(u));
                            let cn = _mm512_add_ps(
                                _mm512_mul_ps(gate(1), cp),
                                _mm512_mul_ps(gate(0), g),
                            );
                            store(c.add(u), cn);
                            _mm512_mul_ps(gate(3), th(cn))
                        }
                        Cell::Gru => {
                            let (r_gate, z) = (gate(0), gate(1));
                            let hid_n = _mm512_maskz_loadu_ps(m, r.add(2 * width + j));
                            let x_n = _mm512_maskz_loadu_ps(m, e.add(j));
                            let n = th(_mm512_add_ps(x_n, _mm512_mul_ps(r_gate, hid_n)));
                            let hp = _mm512_maskz_loadu_ps(m, h.as_ptr().add(u));
                            let keep = _mm512_sub_ps(_mm512_set1_ps(1.0), z);
                            _mm512_add_ps(_mm512_mul_ps(keep, n), _mm512_mul_ps(z, hp))
                        }
                        Cell::Simple => gate(0),
                    };
                    let to = if single {
                        h.as_mut_ptr()
                    } else {
                        h_new.as_mut_ptr()
                    };
                    store(to.add(u), out);
                    j += LANES;
                }
                at = at.add(group_len(cell, x.len(), H, width));
            }
        }
        if !single {
            *h = h_new;
        }
    }

    /// The product of the `1 + x.len() + h.len()` rows of `v` vectors of the panel at
    /// `panel` with `[1, x, h]`: `raw[..v]` receives the sums, `act[..n_act]` the
    /// first `n_act` of them through `f`, applied to the accumulator registers.
    ///
    /// # Safety
    /// As [`step`]; the panel must hold those rows, `raw` (64-byte aligned) and `act`
    /// room for `v` vectors, `1 <= v <= MAX_VECTORS`.
    #[inline(always)]
    unsafe fn product(
        v: usize,
        panel: *const f32,
        (x, h): (&[f32], &[f32]),
        (raw, act): (*mut f32, *mut f32),
        n_act: usize,
        f: impl Fn(__m512) -> __m512,
    ) {
        macro_rules! arms {
            ($($n:literal)*) => {
                match v {
                    // SAFETY: forwarded from the caller.
                    $($n => unsafe { product_of::<$n>(panel, (x, h), (raw, act), n_act, f) },)*
                    // SAFETY: forwarded from the caller.
                    _ => unsafe { product_of::<16>(panel, (x, h), (raw, act), n_act, f) },
                }
            };
        }
        arms!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)
    }

    /// [`product`] with `V` vectors, each in its own accumulator register.
    ///
    /// # Safety
    /// As [`product`], with `v = V`.
    #[inline(always)]
    unsafe fn product_of<const V: usize>(
        panel: *const f32,
        (x, h): (&[f32], &[f32]),
        (raw, act): (*mut f32, *mut f32),
        n_act: usize,
        f: impl Fn(__m512) -> __m512,
    ) {
        // SAFETY: (whole block) the panel holds `1 + x.len() + h.len()` rows of `V`
        // vectors, and `raw` (aligned) and `act` room for `V` vectors (the caller's
        // contract).
        unsafe {
            let mut acc: [__m512; V] =
                std::array::from_fn(|q| _mm512_loadu_ps(panel.add(q * LANES)));
            let mut row = panel.add(V * LANES);
            for &s in x.iter().chain(h) {
                let s = _mm512_set1_ps(s);
                for (q, a) in acc.iter_mut().enumerate() {
                    *a = _mm512_fmadd_ps(s, _mm512_loadu_ps(row.add(q * LANES)), *a);
                }
                row = row.add(V * LANES);
            }
            // Volatile, so that the activations below read the stored sums rather than
            // keep the accumulators alive, which made the compiler spill them inside
            // the loop above. `raw` is 64-byte aligned (a buffer of `__m512`).
            let raw = raw.cast::<__m512>();
            for (q, a) in acc.iter().enumerate() {
                std::ptr::write_volatile(raw.add(q), *a);
            }
            for q in 0..n_act.min(V) {
                _mm512_storeu_ps(act.add(q * LANES), f(std::ptr::read_volatile(raw.add(q))));
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::{from_lanes, sig, th, to_lanes};

        #[test]
        fn the_sigmoid_is_within_3e_7_everywhere() {
            if !super::super::available() {
                return;
            }
            let mut xs: Vec<f32> = (-200_000..=200_000).map(|k| k as f32 * 1e-4).collect();
            xs.extend([
                f32::MIN,
                -1e30,
                -104.0,
                -90.0,
                -88.5,
                88.5,
                90.0,
                1e30,
                f32::MAX,
            ]);
            xs.extend([0.0, -0.0, 1e-30, -1e-30, f32::MIN_POSITIVE]);
            let mut worst = 0.0f64;
            for chunk in xs.chunks(16) {
                let mut v = [0.0f32; 16];
                v[..chunk.len()].copy_from_slice(chunk);
                // SAFETY: the CPU has AVX-512F and FMA (checked above).
                let y = to_lanes(unsafe { avx512_sig(from_lanes(v)) });
                for (&x, &y) in chunk.iter().zip(&y) {
                    let exact = 1.0 / (1.0 + (-(x as f64)).exp());
                    assert!(y.is_finite(), "sigmoid({x}) = {y}");
                    worst = worst.max((y as f64 - exact).abs());
                }
            }
            assert!(worst <= 3e-7, "worst error {worst}");
        }

        #[test]
        fn the_tanh_is_within_4e_7_everywhere() {
            if !super::super::available() {
                return;
            }
            let mut xs: Vec<f32> = (-100_000..=100_000).map(|k| k as f32 * 1e-4).collect();
            xs.extend([f32::MIN, -1e30, -50.0, -44.5, 44.5, 50.0, 1e30, f32::MAX]);
            xs.extend([0.0, -0.0, 1e-30, -1e-30, f32::MIN_POSITIVE]);
            let mut worst = 0.0f64;
            for chunk in xs.chunks(16) {
                let mut v = [0.0f32; 16];
                v[..chunk.len()].copy_from_slice(chunk);
                // SAFETY: the CPU has AVX-512F and FMA (checked above).
                let y = to_lanes(unsafe { avx512_th(from_lanes(v)) });
                for (&x, &y) in chunk.iter().zip(&y) {
                    assert!(y.is_finite(), "tanh({x}) = {y}");
                    worst = worst.max((y as f64 - (x as f64).tanh()).abs());
                }
            }
            assert!(worst <= 4e-7, "worst error {worst}");
        }

        /// [`th`] compiled for the CPU features it needs.
        ///
        /// # Safety
        /// The CPU must support AVX-512F and FMA.
        #[target_feature(enable = "avx512f,avx2,fma")]
        unsafe fn avx512_th(v: std::arch::x86_64::__m512) -> std::arch::x86_64::__m512 {
            th(v)
        }

        /// [`sig`] compiled for the CPU features it needs.
        ///
        /// # Safety
        /// The CPU must support AVX-512F and FMA.
        #[target_feature(enable = "avx512f,avx2,fma")]
        unsafe fn avx512_sig(v: std::arch::x86_64::__m512) -> std::arch::x86_64::__m512 {
            sig(v)
        }
    }
}

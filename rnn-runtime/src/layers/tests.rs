//! Tests of the recurrent kernels' options: finite-difference checks of every layer
//! kind with overridden activations, dropout masks and initial states, the
//! bidirectional wrapper, and the equalities that tie the paths together.

use super::*;
use crate::dropout::{dropout_mask, MaskSite};
use crate::rng::Rng;
use CellActivation::{Linear, Relu, Sigmoid, Tanh};

pub(super) const STEPS: usize = 4;
pub(super) const BATCH: usize = 3;
pub(super) const I: usize = 3;
pub(super) const H: usize = 4;

/// Finite-difference step and tolerance, as in tests/gradcheck.rs: the five-point
/// stencil's truncation error is O(STEP⁴); f32 rounding of a functional of order one
/// contributes ~1e-5 (the absolute tolerance scales with the functional's terms, see
/// [`rounding_scale`]); a 1% error in any gradient entry above ~1e-2 fails.
const STEP: f32 = 1e-2;
const ABS_TOL: f64 = 5e-5;
const REL_TOL: f64 = 2e-3;
/// The largest fraction of one check's entries whose stencil may cross a ReLU kink...
const MAX_KINKED: f64 = 1.0 / 3.0;
/// ...and of all the entries of the checks of one test (see [`within_kink_budget`]).
const MAX_KINKED_OVERALL: f64 = 0.02;

std::thread_local! {
    /// Stencils skipped at a kink and stencils taken, by [`assert_close`] on this thread
    /// (each test runs on a thread of its own).
    static STENCILS: std::cell::Cell<(usize, usize)> = const { std::cell::Cell::new((0, 0)) };
}

/// Runs the checks of `f` and fails if more than [`MAX_KINKED_OVERALL`] of all their
/// stencils were skipped at a kink.
pub(super) fn within_kink_budget(what: &str, f: impl FnOnce()) {
    STENCILS.with(|s| s.set((0, 0)));
    f();
    let (skipped, total) = STENCILS.with(std::cell::Cell::get);
    assert!(total > 0, "{what}: no stencils");
    assert!(
        skipped as f64 <= MAX_KINKED_OVERALL * total as f64,
        "{what}: {skipped} of {total} stencils cross a ReLU kink (at most {:.0}% may)",
        100.0 * MAX_KINKED_OVERALL
    );
}

/// The kernels with the choice between the fused and the general element-wise path
/// made by the test, so that the general path is checked with the default pair too.
pub(super) trait Kernels: RecurrentLayer + Clone {
    fn forward(&self, x: &[f32], opts: &SeqOptions<'_>, bufs: &mut RecurrentBuffers, fused: bool);
    fn backward(
        &self,
        x: &[f32],
        d: SeqGrad<'_>,
        g: &mut [f32],
        bufs: &mut RecurrentBuffers,
        fused: bool,
    );
    /// Gate blocks per step and which of them the candidate activation (rather than the
    /// recurrent one) produces.
    const CANDIDATE_BLOCKS: &'static [bool];
}

/// Which ReLU units of the last forward pass were active: the points where a
/// piecewise-linear cell has kinks. A finite difference whose stencil crosses one
/// measures no derivative, so such coordinates are told apart from real mismatches.
pub(super) fn active_relus<L: Kernels>(
    acts: CellActivations,
    bufs: &RecurrentBuffers,
) -> Vec<bool> {
    let mut out = Vec::new();
    let blocks = L::CANDIDATE_BLOCKS;
    let relu = |candidate: bool| {
        let a = if candidate {
            acts.activation
        } else {
            acts.recurrent_activation
        };
        a == Relu
    };
    let rows = STEPS * BATCH;
    if blocks.len() > 1 {
        let gates = &bufs.gates[..rows * blocks.len() * H];
        for (k, v) in gates.iter().enumerate() {
            if relu(blocks[(k / H) % blocks.len()]) {
                out.push(*v > 0.0);
            }
        }
    }
    if relu(true) {
        // LSTM act(c), or the simple RNN's output.
        let extra = if L::HAS_CELL { &bufs.tanh_c } else { &bufs.h };
        if L::HAS_CELL || blocks.len() == 1 {
            out.extend(extra[..rows * H].iter().map(|v| *v > 0.0));
        }
    }
    out
}

macro_rules! kernels {
    ($layer:ident, $blocks:expr) => {
        impl Kernels for $layer<I, H> {
            const CANDIDATE_BLOCKS: &'static [bool] = $blocks;
            fn forward(
                &self,
                x: &[f32],
                opts: &SeqOptions<'_>,
                bufs: &mut RecurrentBuffers,
                fused: bool,
            ) {
                self.forward_impl(x, STEPS, BATCH, opts, bufs, fused)
            }
            fn backward(
                &self,
                x: &[f32],
                d: SeqGrad<'_>,
                g: &mut [f32],
                bufs: &mut RecurrentBuffers,
                fused: bool,
            ) {
                self.backward_impl(x, d, g, bufs, true, fused)
            }
        }
    };
}
kernels!(LstmLayer, &[false, false, true, false]);
kernels!(GruLayer, &[false, false, true]);
kernels!(SimpleRnnLayer, &[true]);

pub(super) fn uniform(rng: &mut Rng, n: usize, scale: f64) -> Vec<f32> {
    (0..n).map(|_| rng.uniform(-scale, scale) as f32).collect()
}

/// A layer moved off Keras's init (zero biases would hide bias bugs).
pub(super) fn layer<L: RecurrentLayer>(seed: u64, acts: CellActivations) -> L {
    let mut rng = Rng::new(seed);
    let mut layer = L::init_with(&mut rng, acts);
    layer.visit_mut(&mut |t| {
        t.iter_mut()
            .for_each(|v| *v += rng.uniform(-0.3, 0.3) as f32)
    });
    layer
}

/// Adds `delta` to the parameter at flat `index` (canonical order).
pub(super) fn nudge<L: RecurrentLayer>(layer: &mut L, index: usize, delta: f32) {
    let mut at = 0;
    layer.visit_mut(&mut |t| {
        if (at..at + t.len()).contains(&index) {
            t[index - at] += delta;
        }
        at += t.len();
    });
}

/// Dropout masks, initial states: the owned data behind a [`SeqOptions`].
#[derive(Clone, Default)]
pub(super) struct Opts {
    input_mask: Option<Vec<f32>>,
    recurrent_mask: Option<Vec<f32>>,
    initial_h: Option<Vec<f32>>,
    initial_c: Option<Vec<f32>>,
}

impl Opts {
    /// Options with masks from the library's dropout stream (rate 0.4, so that a few
    /// elements are dropped) and random initial states, as selected.
    pub(super) fn new(seed: u64, input: bool, recurrent: bool, state: bool, cell: bool) -> Self {
        let mask = |site, width| {
            let mut m = vec![0.0; BATCH * width];
            for (b, row) in m.chunks_exact_mut(width).enumerate() {
                dropout_mask(seed, 0, site, b as u64, 0.4, row);
            }
            m
        };
        let mut rng = Rng::new(seed ^ 0x5eed);
        Opts {
            input_mask: input.then(|| mask(MaskSite::Input, I)),
            recurrent_mask: recurrent.then(|| mask(MaskSite::Recurrent, H)),
            initial_h: state.then(|| uniform(&mut rng, BATCH * H, 0.8)),
            initial_c: (state && cell).then(|| uniform(&mut rng, BATCH * H, 0.8)),
        }
    }

    pub(super) fn view(&self) -> SeqOptions<'_> {
        SeqOptions {
            input_mask: self.input_mask.as_deref(),
            recurrent_mask: self.recurrent_mask.as_deref(),
            initial_h: self.initial_h.as_deref(),
            initial_c: self.initial_c.as_deref(),
            lengths: None,
        }
    }
}

/// `Σ w · out` accumulated in f64.
pub(super) fn functional(w: &[f32], out: &[f32]) -> f64 {
    assert_eq!(w.len(), out.len());
    w.iter().zip(out).map(|(&a, &b)| a as f64 * b as f64).sum()
}

/// A finite-difference derivative and the step it was taken with.
#[derive(Clone, Copy, Debug)]
pub(super) struct Difference {
    value: f64,
    /// `STEP / step`: the stencil's rounding error grows by this factor.
    noise: f64,
}

/// The five-point derivative at zero of `f`, which returns the functional and the
/// ReLU activity pattern. A stencil that crosses a kink (the pattern at one of its
/// points differs from the one at `base`) measures no derivative: it is taken again
/// with half the step, twice, and is `None` if it still crosses one.
pub(super) fn five_point(
    base: &[bool],
    mut f: impl FnMut(f32) -> (f64, Vec<bool>),
) -> Option<Difference> {
    [1.0f32, 2.0, 4.0].into_iter().find_map(|shrink| {
        let step = STEP / shrink;
        let mut smooth = true;
        let mut at = |delta| {
            let (v, pattern) = f(delta);
            smooth &= pattern == base;
            v
        };
        let near = at(step) - at(-step);
        let far = at(2.0 * step) - at(-2.0 * step);
        smooth.then(|| Difference {
            value: (8.0 * near - far) / (12.0 * step as f64),
            noise: f64::from(shrink),
        })
    })
}

/// `Σ |w · out|`, at least one: the size of the terms whose f32 rounding the finite
/// differences see, relative to the order-one loss that `ABS_TOL` is set for (the
/// functional of a long sequence output with linear gates reaches ~15).
pub(super) fn rounding_scale(w: &[f32], out: &[f32]) -> f64 {
    let terms: f64 = w
        .iter()
        .zip(out)
        .map(|(&a, &b)| (a as f64 * b as f64).abs())
        .sum();
    terms.max(1.0)
}

/// Compares every entry whose finite difference is defined. A stencil that crosses a
/// ReLU kink even at a quarter of the step measures no derivative and is skipped, but
/// at most [`MAX_KINKED`] of the entries of one check may be, so that a kernel whose
/// ReLU paths were wrong could not hide behind skipped entries. `scale` is the [`rounding_scale`] of the functional.
pub(super) fn assert_close(
    what: &str,
    analytic: &[f32],
    numeric: &[Option<Difference>],
    scale: f64,
) {
    assert_eq!(analytic.len(), numeric.len(), "{what}: lengths");
    let kinked = numeric.iter().filter(|n| n.is_none()).count();
    STENCILS.with(|s| {
        let (skipped, total) = s.get();
        s.set((skipped + kinked, total + numeric.len()));
    });
    assert!(
        kinked as f64 <= MAX_KINKED * numeric.len() as f64,
        "{what}: {kinked} of {} stencils cross a ReLU kink (at most a third may)",
        numeric.len(),
    );
    for (k, (&a, n)) in analytic.iter().zip(numeric).enumerate() {
        let (a, Some(Difference { value: n, noise })) = (a as f64, *n) else {
            continue;
        };
        // A smaller step's rounding error is larger by `noise`; the truncation error
        // only shrinks. The tolerance keeps the same margin over both.
        assert!(
            (a - n).abs() <= ABS_TOL * scale * noise + REL_TOL * n.abs(),
            "{what}[{k}]: analytic {a:.6e}, finite difference {n:.6e} (step {:.1e})",
            STEP as f64 / noise
        );
    }
}

/// Checks every parameter and input gradient of a random linear functional of the
/// sequence output (`all`) or the last output against finite differences.
fn gradcheck<L: Kernels>(seed: u64, acts: CellActivations, opts: &Opts, fused: bool, all: bool) {
    let what = format!(
        "seed {seed}, {acts:?}, fused {fused}, all {all}, input mask {}, recurrent mask {}, \
         initial state {}",
        opts.input_mask.is_some(),
        opts.recurrent_mask.is_some(),
        opts.initial_h.is_some()
    );
    let mut layer: L = layer(seed, acts);
    let mut rng = Rng::new(seed + 1);
    let x = uniform(&mut rng, STEPS * BATCH * I, 1.0);
    let w = uniform(&mut rng, if all { STEPS } else { 1 } * BATCH * H, 1.0);
    let view = opts.view();
    let mut bufs = RecurrentBuffers::default();
    let loss = |layer: &L, x: &[f32], bufs: &mut RecurrentBuffers| {
        layer.forward(x, &view, bufs, fused);
        let out = if all {
            bufs.hidden()
        } else {
            bufs.last_hidden()
        };
        (functional(&w, out), active_relus::<L>(acts, bufs))
    };
    let (_, base) = loss(&layer, &x, &mut bufs);
    let scale = rounding_scale(
        &w,
        if all {
            bufs.hidden()
        } else {
            bufs.last_hidden()
        },
    );
    let mut grads = vec![0.0; L::PARAMS];
    let d = if all {
        SeqGrad::All(&w)
    } else {
        SeqGrad::Last(&w)
    };
    layer.backward(&x, d, &mut grads, &mut bufs, fused);
    let dx = bufs.input_grad().to_vec();

    let numeric: Vec<_> = (0..L::PARAMS)
        .map(|p| {
            five_point(&base, |delta| {
                nudge(&mut layer, p, delta);
                let l = loss(&layer, &x, &mut bufs);
                nudge(&mut layer, p, -delta);
                l
            })
        })
        .collect();
    assert_close(&format!("params ({what})"), &grads, &numeric, scale);
    let mut xp = x.clone();
    let numeric: Vec<_> = (0..x.len())
        .map(|k| {
            five_point(&base, |delta| {
                xp[k] = x[k] + delta;
                let l = loss(&layer, &xp, &mut bufs);
                xp[k] = x[k];
                l
            })
        })
        .collect();
    assert_close(&format!("input ({what})"), &dx, &numeric, scale);
}

/// Every combination of activation path, masks, initial state and output kind.
fn gradcheck_all<L: Kernels>(overrides: &[CellActivations]) {
    within_kink_budget(std::any::type_name::<L>(), || {
        gradcheck_all_paths::<L>(overrides)
    });
}

fn gradcheck_all_paths<L: Kernels>(overrides: &[CellActivations]) {
    let mut seed = 100;
    let paths = [
        (CellActivations::DEFAULT, true),
        (CellActivations::DEFAULT, false),
    ]
    .into_iter()
    .chain(overrides.iter().map(|&a| (a, false)));
    for (acts, fused) in paths {
        for input in [false, true] {
            for recurrent in [false, true] {
                for state in [false, true] {
                    for all in [false, true] {
                        seed += 1;
                        let opts = Opts::new(seed, input, recurrent, state, L::HAS_CELL);
                        gradcheck::<L>(seed, acts, &opts, fused, all);
                    }
                }
            }
        }
    }
}

/// Overrides with smooth activations, and with the piecewise-linear ones.
pub(super) const OVERRIDES: [CellActivations; 2] = [
    CellActivations::new(Sigmoid, Tanh),
    CellActivations::new(Relu, Linear),
];

#[test]
fn lstm_gradients_match_finite_differences() {
    gradcheck_all::<LstmLayer<I, H>>(&OVERRIDES);
}

#[test]
fn gru_gradients_match_finite_differences() {
    gradcheck_all::<GruLayer<I, H>>(&OVERRIDES);
}

/// Every (activation, recurrent_activation) pair of the general element-wise path, with
/// no options and with every option (both masks and an initial state), for the whole
/// sequence output and the last output.
fn gradcheck_every_pair<L: Kernels>(first_seed: u64) {
    within_kink_budget(std::any::type_name::<L>(), || {
        gradcheck_pairs::<L>(first_seed)
    });
}

fn gradcheck_pairs<L: Kernels>(first_seed: u64) {
    const ALL: [CellActivation; 4] = [Tanh, Sigmoid, Relu, Linear];
    let mut seed = first_seed;
    for activation in ALL {
        for recurrent_activation in ALL {
            let acts = CellActivations::new(activation, recurrent_activation);
            for options in [false, true] {
                for all in [false, true] {
                    seed += 1;
                    let opts = Opts::new(seed, options, options, options, L::HAS_CELL);
                    gradcheck::<L>(seed, acts, &opts, false, all);
                }
            }
        }
    }
}

#[test]
fn lstm_gradients_match_finite_differences_for_every_activation_pair() {
    gradcheck_every_pair::<LstmLayer<I, H>>(400);
}

#[test]
fn gru_gradients_match_finite_differences_for_every_activation_pair() {
    gradcheck_every_pair::<GruLayer<I, H>>(500);
}

#[test]
fn simple_rnn_gradients_match_finite_differences() {
    let overrides = [
        CellActivations::new(Sigmoid, Sigmoid),
        CellActivations::new(Relu, Sigmoid),
        CellActivations::new(Linear, Sigmoid),
    ];
    gradcheck_all::<SimpleRnnLayer<I, H>>(&overrides);
}

/// Forward and backward (sequence gradient) outputs: hidden states, last hidden
/// state, parameter gradients, input gradient.
fn run<L: Kernels>(layer: &L, x: &[f32], opts: &SeqOptions<'_>, fused: bool) -> [Vec<f32>; 4] {
    let mut bufs = RecurrentBuffers::default();
    layer.forward(x, opts, &mut bufs, fused);
    let d: Vec<f32> = (0..STEPS * BATCH * H)
        .map(|k| (k as f32 * 0.37).sin())
        .collect();
    let mut grads = vec![0.0; L::PARAMS];
    layer.backward(x, SeqGrad::All(&d), &mut grads, &mut bufs, fused);
    let out = [bufs.hidden(), bufs.last_hidden(), &grads, bufs.input_grad()];
    out.map(<[f32]>::to_vec)
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|v| v.to_bits()).collect()
}

pub(super) fn input(seed: u64) -> Vec<f32> {
    uniform(&mut Rng::new(seed), STEPS * BATCH * I, 1.0)
}

fn defaults_are_unchanged<L: Kernels>() {
    let layer: L = layer(3, CellActivations::DEFAULT);
    let x = input(4);
    let mut plain = RecurrentBuffers::default();
    layer.forward_seq(&x, STEPS, BATCH, &mut plain);
    let mut with = RecurrentBuffers::default();
    layer.forward_seq_with(&x, STEPS, BATCH, &SeqOptions::NONE, &mut with);
    assert_eq!(bits(plain.hidden()), bits(with.hidden()));
    let base = run(&layer, &x, &SeqOptions::NONE, true);
    assert_eq!(bits(&base[0]), bits(plain.hidden()));
    // Multiplying by one, adding zero products to the gates and zero initial states
    // to the cell update are exact: the forward pass is the plain one. The backward
    // pass may sum the same products in another order (one more, zero, step in the
    // weight gradient; the masked carry added after the product rather than within).
    let (ones_i, ones_h, zeros) = ([1.0; BATCH * I], [1.0; BATCH * H], [0.0; BATCH * H]);
    let neutral = [
        SeqOptions {
            input_mask: Some(&ones_i),
            recurrent_mask: Some(&ones_h),
            ..SeqOptions::NONE
        },
        SeqOptions {
            initial_h: Some(&zeros),
            initial_c: L::HAS_CELL.then_some(&zeros[..]),
            ..SeqOptions::NONE
        },
    ];
    for opts in neutral {
        let [h, last, grads, dx] = run(&layer, &x, &opts, true);
        assert_eq!((&h, &last), (&base[0], &base[1]), "{opts:?}");
        assert_near("weight gradients", &grads, &base[2]);
        assert_near("input gradient", &dx, &base[3]);
    }
}

#[test]
fn default_paths_equal_the_plain_forward_and_neutral_options() {
    defaults_are_unchanged::<LstmLayer<I, H>>();
    defaults_are_unchanged::<GruLayer<I, H>>();
    defaults_are_unchanged::<SimpleRnnLayer<I, H>>();
}

fn general_path_matches_fused<L: Kernels>() {
    let layer: L = layer(5, CellActivations::DEFAULT);
    let x = input(6);
    let opts = Opts::new(7, true, true, true, L::HAS_CELL);
    let fused = run(&layer, &x, &opts.view(), true);
    let general = run(&layer, &x, &opts.view(), false);
    for (a, b) in fused.iter().zip(&general) {
        for (a, b) in a.iter().zip(b) {
            assert!((a - b).abs() <= 1e-6 + 1e-5 * a.abs(), "{a} vs {b}");
        }
    }
}

#[test]
fn general_kernels_with_the_default_pair_match_the_fused_ones() {
    general_path_matches_fused::<LstmLayer<I, H>>();
    general_path_matches_fused::<GruLayer<I, H>>();
    general_path_matches_fused::<SimpleRnnLayer<I, H>>();
}

pub(super) fn assert_near(what: &str, a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (k, (a, b)) in a.iter().zip(b).enumerate() {
        assert!(
            (a - b).abs() <= 1e-5 + 1e-4 * b.abs(),
            "{what}[{k}]: {a} vs {b}"
        );
    }
}

/// The single-sample paths from a given state agree with the batch kernels from the
/// same initial state, for sample `b` of the batch, and leave the final state.
fn sample_paths_match_batch<L>(acts: CellActivations)
where
    L: Kernels<Input = [f32; I], Hidden = [f32; H], State = SampleState<H>>,
{
    let layer: L = layer(8, acts);
    let x = input(9);
    let opts = Opts::new(10, false, false, true, L::HAS_CELL);
    let mut bufs = RecurrentBuffers::default();
    layer.forward_seq_with(&x, STEPS, BATCH, &opts.view(), &mut bufs);
    for b in 0..BATCH {
        let xs: [[f32; I]; STEPS] =
            std::array::from_fn(|t| x[(t * BATCH + b) * I..][..I].try_into().unwrap());
        let mut state = SampleState::<H>::new();
        state
            .h
            .copy_from_slice(&opts.initial_h.as_ref().unwrap()[b * H..][..H]);
        if let Some(c0) = &opts.initial_c {
            state.c.copy_from_slice(&c0[b * H..][..H]);
        }
        let mut out = [[0.0; H]; STEPS];
        layer.forward_one_seq_from(&xs, &mut state, &mut out);
        for (t, h) in out.iter().enumerate() {
            let want = &bufs.hidden()[(t * BATCH + b) * H..][..H];
            assert_near(&format!("{acts:?} h[{t}, {b}]"), h, want);
        }
        assert_near("final h", &state.h, &bufs.last_hidden()[b * H..][..H]);
        if L::HAS_CELL {
            assert_near("final c", &state.c, &bufs.last_cell()[b * H..][..H]);
        } else {
            assert!(bufs.last_cell().is_empty());
        }
    }
    // From the zero state, forward_one_seq is the plain batch pass.
    layer.forward_seq(&x, STEPS, BATCH, &mut bufs);
    let xs: [[f32; I]; STEPS] =
        std::array::from_fn(|t| x[t * BATCH * I..][..I].try_into().unwrap());
    let mut out = [[0.0; H]; STEPS];
    layer.forward_one_seq(&xs, &mut out);
    for (t, h) in out.iter().enumerate() {
        assert_near("h from zero", h, &bufs.hidden()[t * BATCH * H..][..H]);
    }
}

#[test]
fn sample_paths_match_the_batch_kernels() {
    for acts in [CellActivations::DEFAULT, OVERRIDES[0], OVERRIDES[1]] {
        sample_paths_match_batch::<LstmLayer<I, H>>(acts);
        sample_paths_match_batch::<GruLayer<I, H>>(acts);
        sample_paths_match_batch::<SimpleRnnLayer<I, H>>(acts);
    }
}

#[test]
fn step_one_honours_the_activations() {
    let acts = OVERRIDES[1];
    let x = [0.3, -0.2, 0.9];
    let (lstm, gru, rnn) = (
        layer::<LstmLayer<I, H>>(11, acts),
        layer::<GruLayer<I, H>>(11, acts),
        layer::<SimpleRnnLayer<I, H>>(11, acts),
    );
    let (mut a, mut b) = (LstmState::<H, { 4 * H }>::new(), SampleState::<H>::new());
    let (mut c, mut d) = (GruState::<H, { 3 * H }>::new(), SampleState::<H>::new());
    let (mut e, mut f) = (SimpleRnnState::<H>::new(), SampleState::<H>::new());
    for _ in 0..3 {
        assert_eq!(lstm.step_one(&x, &mut a), lstm.step_sample(&x, &mut b));
        assert_eq!(gru.step_one(&x, &mut c), gru.step_sample(&x, &mut d));
        assert_eq!(rnn.step_one(&x, &mut e), rnn.step_sample(&x, &mut f));
    }
    // Linear gates and a ReLU candidate: the default kernels would give other values.
    let default = layer::<LstmLayer<I, H>>(11, CellActivations::DEFAULT);
    let mut s = LstmState::<H, { 4 * H }>::new();
    assert_ne!(default.step_one(&x, &mut s), &a.h);
    assert!(a.h.iter().all(|v| v.is_finite()));
}

/// Every buffer's allocation after a pass with all options, so that a second pass
/// can be shown to allocate nothing.
fn allocations(bufs: &RecurrentBuffers) -> Vec<*const f32> {
    let k = &bufs.kept;
    [
        &bufs.gates,
        &bufs.state,
        &bufs.tanh_c,
        &bufs.hidden_proj,
        &bufs.h,
        &bufs.d_in,
        &bufs.d_hid,
        &bufs.dh,
        &bufs.dh_carry,
        &bufs.dc_carry,
        &bufs.dx,
        &k.x_masked,
        &k.rec_in,
        &k.dh_rec,
    ]
    .iter()
    .map(|v| v.as_ptr())
    .collect()
}

fn buffers_are_reused<L: Kernels>() {
    let layer: L = layer(12, OVERRIDES[0]);
    let x = input(13);
    let opts = Opts::new(14, true, true, true, L::HAS_CELL);
    let mut bufs = RecurrentBuffers::default();
    let d = vec![0.5; STEPS * BATCH * H];
    let mut grads = vec![0.0; L::PARAMS];
    let mut pass = |bufs: &mut RecurrentBuffers| {
        layer.forward_seq_with(&x, STEPS, BATCH, &opts.view(), bufs);
        layer.backward_seq(&x, SeqGrad::All(&d), &mut grads, bufs, true);
    };
    pass(&mut bufs);
    let first = allocations(&bufs);
    pass(&mut bufs);
    assert_eq!(first, allocations(&bufs));
}

#[test]
fn buffers_grow_once_with_every_option() {
    buffers_are_reused::<LstmLayer<I, H>>();
    buffers_are_reused::<GruLayer<I, H>>();
    buffers_are_reused::<SimpleRnnLayer<I, H>>();
}

#[test]
fn options_are_validated() {
    let m = [1.0; BATCH * I];
    let opts = SeqOptions {
        input_mask: Some(&m),
        ..SeqOptions::NONE
    };
    assert!(opts.validate(BATCH, I, H, false).is_ok());
    let err = opts.validate(BATCH + 1, I, H, false).unwrap_err();
    assert!(err.to_string().contains("input_mask"), "{err}");
    let c = [0.0; BATCH * H];
    let opts = SeqOptions {
        initial_c: Some(&c),
        ..SeqOptions::NONE
    };
    assert!(opts.validate(BATCH, I, H, true).is_ok());
    assert!(opts.validate(BATCH, I, H, false).is_err());
}

//! The fused single-row step (`kernels::step`) against the unfused one it replaces,
//! for every cell kind and for widths that fill no block of 16 units exactly, and its
//! layout against parameter changes. Where the CPU cannot run the fused step, both
//! sides take the unfused one and the comparisons hold trivially.

use super::*;
use crate::rng::Rng;

/// Products with and without fused multiply-adds, over up to 66 terms and a few steps.
const TOL: f32 = 1e-5;

/// A layer with Keras's initial weights and non-zero biases, set through `visit_mut`.
fn layer<L: RecurrentLayer>(seed: u64) -> L {
    let mut rng = Rng::new(seed);
    let mut layer = L::init(&mut rng);
    let mut k = 0;
    layer.visit_mut(&mut |t| {
        if k >= 2 {
            t.iter_mut()
                .for_each(|v| *v = rng.uniform(-0.5, 0.5) as f32);
        }
        k += 1;
    });
    layer
}

fn inputs<const I: usize>(seed: u64, steps: usize) -> Vec<[f32; I]> {
    let mut rng = Rng::new(seed);
    (0..steps)
        .map(|_| std::array::from_fn(|_| rng.uniform(-2.0, 2.0) as f32))
        .collect()
}

fn assert_close(what: &str, a: &[f32], b: &[f32]) {
    let worst = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(a.iter().all(|v| v.is_finite()), "{what}: {a:?}");
    assert!(worst <= TOL, "{what}: off by {worst}");
}

fn lstm_matches<const I: usize, const H: usize>() {
    let l: LstmLayer<I, H> = layer(I as u64 * 100 + H as u64);
    assert_eq!(l.cell.has_step_layout(), crate::kernels::step::available());
    let (mut fused, mut plain) = (SampleState::<H>::new(), SampleState::<H>::new());
    let mut gates = vec![0.0; 4 * H];
    for (t, x) in inputs::<I>(7, 6).iter().enumerate() {
        l.step_sample(x, &mut fused);
        l.step_parts(x, &mut plain.h, &mut plain.c, &mut gates);
        assert_close(&format!("lstm I={I} H={H} t={t} h"), &fused.h, &plain.h);
        assert_close(&format!("lstm I={I} H={H} t={t} c"), &fused.c, &plain.c);
    }
}

fn gru_matches<const I: usize, const H: usize>() {
    let l: GruLayer<I, H> = layer(I as u64 * 100 + H as u64);
    assert_eq!(l.cell.has_step_layout(), crate::kernels::step::available());
    let (mut fused, mut plain) = (SampleState::<H>::new(), SampleState::<H>::new());
    let (mut xs, mut hs) = (vec![0.0; 3 * H], vec![0.0; 3 * H]);
    for (t, x) in inputs::<I>(8, 6).iter().enumerate() {
        l.step_sample(x, &mut fused);
        l.step_parts(x, &mut plain.h, &mut xs, &mut hs);
        assert_close(&format!("gru I={I} H={H} t={t}"), &fused.h, &plain.h);
    }
    assert_eq!(fused.c, [0.0; H], "a GRU step leaves c alone");
}

fn simple_matches<const I: usize, const H: usize>() {
    let l: SimpleRnnLayer<I, H> = layer(I as u64 * 100 + H as u64);
    assert_eq!(l.cell.has_step_layout(), crate::kernels::step::available());
    let (mut fused, mut plain) = (SampleState::<H>::new(), SampleState::<H>::new());
    let mut pre = [0.0; H];
    for (t, x) in inputs::<I>(9, 6).iter().enumerate() {
        l.step_sample(x, &mut fused);
        l.step_parts(x, &mut plain.h, &mut pre);
        assert_close(&format!("simple I={I} H={H} t={t}"), &fused.h, &plain.h);
    }
}

macro_rules! every_width {
    ($check:ident) => {
        $check::<1, 1>();
        $check::<3, 7>();
        $check::<1, 50>();
        $check::<3, 65>();
        $check::<2, 16>();
        $check::<1, 300>();
    };
}

#[test]
fn fused_lstm_step_matches_the_unfused_one() {
    every_width!(lstm_matches);
}

#[test]
fn fused_gru_step_matches_the_unfused_one() {
    every_width!(gru_matches);
}

#[test]
fn fused_simple_rnn_step_matches_the_unfused_one() {
    every_width!(simple_matches);
}

#[test]
fn step_one_and_step_sample_agree_bit_for_bit() {
    const H: usize = 50;
    let (lstm, gru, rnn): (LstmLayer<1, H>, GruLayer<1, H>, SimpleRnnLayer<1, H>) =
        (layer(1), layer(2), layer(3));
    let (mut a, mut b) = (LstmState::<H, { 4 * H }>::new(), SampleState::<H>::new());
    let (mut c, mut d) = (GruState::<H, { 3 * H }>::new(), SampleState::<H>::new());
    let (mut e, mut f) = (SimpleRnnState::<H>::new(), SampleState::<H>::new());
    for x in inputs::<1>(4, 5) {
        assert_eq!(lstm.step_one(&x, &mut a), lstm.step_sample(&x, &mut b));
        assert_eq!(gru.step_one(&x, &mut c), gru.step_sample(&x, &mut d));
        assert_eq!(rnn.step_one(&x, &mut e), rnn.step_sample(&x, &mut f));
    }
}

/// After `visit_mut` writes new weights, the step sees them: the same as a layer
/// built with those weights from the start, and as the unfused step.
fn layout_follows<L: RecurrentLayer<Input = [f32; 3], State = SampleState<37>>>(
    unfused: impl Fn(&L, &[f32; 3], &mut SampleState<37>),
) {
    let mut l: L = layer(21);
    let x = inputs::<3>(22, 3);
    let run = |l: &L| {
        let mut s = SampleState::new();
        x.iter().for_each(|x_t| {
            l.step_sample(x_t, &mut s);
        });
        s
    };
    let before = run(&l);
    l.visit_mut(&mut |t| t.iter_mut().for_each(|v| *v = -0.8 * *v + 0.01));
    let after = run(&l);
    let mut fresh: L = layer(99);
    let mut values = Vec::new();
    l.visit(&mut |t| values.push(t.to_vec()));
    let mut k = 0;
    fresh.visit_mut(&mut |t| {
        t.copy_from_slice(&values[k]);
        k += 1;
    });
    assert_eq!(after, run(&fresh), "the same weights, the same step");
    assert_ne!(after.h, before.h);
    let mut plain = SampleState::new();
    x.iter().for_each(|x_t| unfused(&l, x_t, &mut plain));
    assert_close("after visit_mut", &after.h, &plain.h);
}

#[test]
fn the_step_layout_follows_every_parameter_change() {
    layout_follows::<LstmLayer<3, 37>>(|l, x, s| {
        l.step_parts(x, &mut s.h, &mut s.c, &mut [0.0; 4 * 37])
    });
    layout_follows::<GruLayer<3, 37>>(|l, x, s| {
        l.step_parts(x, &mut s.h, &mut [0.0; 3 * 37], &mut [0.0; 3 * 37])
    });
    layout_follows::<SimpleRnnLayer<3, 37>>(|l, x, s| l.step_parts(x, &mut s.h, &mut [0.0; 37]));
}

#[test]
fn overridden_activations_take_the_general_step() {
    const H: usize = 20;
    let acts = CellActivations {
        activation: CellActivation::Relu,
        recurrent_activation: CellActivation::Tanh,
    };
    let mut rng = Rng::new(5);
    let l = LstmLayer::<2, H>::init_with(&mut rng, acts);
    let (mut s, mut plain) = (SampleState::<H>::new(), SampleState::<H>::new());
    for x in inputs::<2>(6, 4) {
        l.step_sample(&x, &mut s);
        l.step_parts(&x, &mut plain.h, &mut plain.c, &mut [0.0; 4 * H]);
        assert_eq!(s, plain, "the general path, bit for bit");
    }
}

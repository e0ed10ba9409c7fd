//! Tests of [`BidirectionalLayer`]: its definition in terms of the plain layers, its
//! single-sample paths and finite-difference checks of its BPTT.

use super::tests::{
    active_relus, assert_close, assert_near, five_point, functional, input, layer, nudge,
    rounding_scale, uniform, within_kink_budget, Kernels, Opts, BATCH, H, I, OVERRIDES, STEPS,
};
use super::*;
use crate::rng::Rng;

/// A bidirectional layer whose directions are moved off Keras's init.
fn bi<L: Kernels>(seed: u64, acts: CellActivations) -> BidirectionalLayer<L> {
    BidirectionalLayer {
        forward: layer(seed, acts),
        reverse: layer(seed + 1000, acts),
    }
}

/// `x` with its time steps (blocks of `BATCH · I`) in reverse order.
fn reversed(x: &[f32]) -> Vec<f32> {
    x.chunks_exact(BATCH * I).rev().flatten().copied().collect()
}

/// Options of both directions, each with its own masks and initial state.
fn both_options<L: Kernels>(seed: u64, on: bool) -> (Opts, Opts) {
    (
        Opts::new(seed, on, on, on, L::HAS_CELL),
        Opts::new(seed + 1, on, on, on, L::HAS_CELL),
    )
}

fn directions_are_the_plain_layers<L: Kernels>() {
    let bi: BidirectionalLayer<L> = bi(20, OVERRIDES[0]);
    let x = input(21);
    let (fo, ro) = both_options::<L>(22, true);
    let opts = BiSeqOptions {
        forward: fo.view(),
        reverse: ro.view(),
    };
    let mut bufs = BidirectionalBuffers::default();
    bi.forward_seq_with(&x, STEPS, BATCH, &opts, &mut bufs);
    let (mut fwd, mut rev) = (RecurrentBuffers::default(), RecurrentBuffers::default());
    bi.forward
        .forward_seq_with(&x, STEPS, BATCH, &fo.view(), &mut fwd);
    bi.reverse
        .forward_seq_with(&reversed(&x), STEPS, BATCH, &ro.view(), &mut rev);
    let out = bufs.hidden();
    assert_eq!(out.len(), STEPS * BATCH * 2 * H);
    for t in 0..STEPS {
        for b in 0..BATCH {
            let row = &out[(t * BATCH + b) * 2 * H..][..2 * H];
            let f = &fwd.hidden()[(t * BATCH + b) * H..][..H];
            let r = &rev.hidden()[((STEPS - 1 - t) * BATCH + b) * H..][..H];
            assert_eq!(&row[..H], f, "forward half at t = {t}");
            assert_eq!(&row[H..], r, "reverse half at t = {t}");
        }
    }
    for b in 0..BATCH {
        let row = &bufs.last_hidden()[b * 2 * H..][..2 * H];
        // The forward direction's h at T - 1 and the reverse's at original t = 0.
        assert_eq!(&row[..H], &out[((STEPS - 1) * BATCH + b) * 2 * H..][..H]);
        assert_eq!(&row[H..], &out[b * 2 * H + H..][..H]);
    }
    assert_eq!(bufs.forward().last_cell(), fwd.last_cell());
    assert_eq!(bufs.reverse().last_hidden(), rev.last_hidden());
}

#[test]
fn directions_are_the_plain_layers_over_the_sequence_and_its_reverse() {
    directions_are_the_plain_layers::<LstmLayer<I, H>>();
    directions_are_the_plain_layers::<GruLayer<I, H>>();
    directions_are_the_plain_layers::<SimpleRnnLayer<I, H>>();
}

/// Checks every parameter and input gradient of a random functional of the sequence
/// or last-only output against finite differences.
fn gradcheck<L: Kernels>(seed: u64, acts: CellActivations, options: bool, all: bool) {
    let what = format!("seed {seed}, {acts:?}, options {options}, all {all}");
    let mut bi: BidirectionalLayer<L> = bi(seed, acts);
    let mut rng = Rng::new(seed + 1);
    let x = uniform(&mut rng, STEPS * BATCH * I, 1.0);
    let w = uniform(&mut rng, if all { STEPS } else { 1 } * BATCH * 2 * H, 1.0);
    let (fo, ro) = both_options::<L>(seed + 2, options);
    let opts = BiSeqOptions {
        forward: fo.view(),
        reverse: ro.view(),
    };
    let mut bufs = BidirectionalBuffers::default();
    let loss = |bi: &BidirectionalLayer<L>, x: &[f32], bufs: &mut BidirectionalBuffers| {
        bi.forward_seq_with(x, STEPS, BATCH, &opts, bufs);
        let out = if all {
            bufs.hidden()
        } else {
            bufs.last_hidden()
        };
        let mut pattern = active_relus::<L>(acts, bufs.forward());
        pattern.extend(active_relus::<L>(acts, bufs.reverse()));
        (functional(&w, out), pattern)
    };
    let (_, base) = loss(&bi, &x, &mut bufs);
    let scale = rounding_scale(
        &w,
        if all {
            bufs.hidden()
        } else {
            bufs.last_hidden()
        },
    );
    let mut grads = vec![0.0; BidirectionalLayer::<L>::PARAMS];
    let d = if all {
        SeqGrad::All(&w)
    } else {
        SeqGrad::Last(&w)
    };
    bi.backward_seq(&x, d, &mut grads, &mut bufs, true);
    let dx = bufs.input_grad().to_vec();
    let numeric: Vec<_> = (0..grads.len())
        .map(|p| {
            let (dir, p) = (p / L::PARAMS, p % L::PARAMS);
            five_point(&base, |delta| {
                let l = if dir == 0 {
                    &mut bi.forward
                } else {
                    &mut bi.reverse
                };
                nudge(l, p, delta);
                let v = loss(&bi, &x, &mut bufs);
                let l = if dir == 0 {
                    &mut bi.forward
                } else {
                    &mut bi.reverse
                };
                nudge(l, p, -delta);
                v
            })
        })
        .collect();
    assert_close(&format!("params ({what})"), &grads, &numeric, scale);
    let mut xp = x.clone();
    let numeric: Vec<_> = (0..x.len())
        .map(|k| {
            five_point(&base, |delta| {
                xp[k] = x[k] + delta;
                let v = loss(&bi, &xp, &mut bufs);
                xp[k] = x[k];
                v
            })
        })
        .collect();
    assert_close(&format!("input ({what})"), &dx, &numeric, scale);
}

fn gradcheck_all<L: Kernels>() {
    within_kink_budget(std::any::type_name::<L>(), || {
        let mut seed = 300;
        for acts in [CellActivations::DEFAULT, OVERRIDES[0], OVERRIDES[1]] {
            for options in [false, true] {
                for all in [false, true] {
                    seed += 1;
                    gradcheck::<L>(seed, acts, options, all);
                }
            }
        }
    });
}

#[test]
fn lstm_bidirectional_gradients_match_finite_differences() {
    gradcheck_all::<LstmLayer<I, H>>();
}

#[test]
fn gru_bidirectional_gradients_match_finite_differences() {
    gradcheck_all::<GruLayer<I, H>>();
}

#[test]
fn simple_rnn_bidirectional_gradients_match_finite_differences() {
    gradcheck_all::<SimpleRnnLayer<I, H>>();
}

fn sample_paths_match_batch<L>(acts: CellActivations)
where
    L: Kernels<Input = [f32; I], Hidden = [f32; H], State = SampleState<H>>,
{
    let bi: BidirectionalLayer<L> = bi(30, acts);
    let x = input(31);
    let mut bufs = BidirectionalBuffers::default();
    bi.forward_seq(&x, STEPS, BATCH, &mut bufs);
    for b in 0..BATCH {
        let xs: [[f32; I]; STEPS] =
            std::array::from_fn(|t| x[(t * BATCH + b) * I..][..I].try_into().unwrap());
        let mut out = [[0.0; 2 * H]; STEPS];
        bi.forward_one_seq(&xs, &mut out);
        for (t, o) in out.iter().enumerate() {
            let want = &bufs.hidden()[(t * BATCH + b) * 2 * H..][..2 * H];
            assert_near(&format!("{acts:?} out[{t}, {b}]"), o, want);
        }
        let last: [f32; 2 * H] = bi.forward_one_last(&xs);
        assert_near("last", &last, &bufs.last_hidden()[b * 2 * H..][..2 * H]);
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
fn init_draws_forward_then_reverse_and_visits_in_that_order() {
    let bi = BidirectionalLayer::<LstmLayer<I, H>>::init(&mut Rng::new(40));
    let mut rng = Rng::new(40);
    let forward = LstmLayer::<I, H>::init(&mut rng);
    let reverse = LstmLayer::<I, H>::init(&mut rng);
    assert_eq!(bi.forward, forward);
    assert_eq!(bi.reverse, reverse);
    let mut seen = Vec::new();
    bi.visit(&mut |t| seen.push(t.to_vec()));
    let mut want = Vec::new();
    forward.visit(&mut |t| want.push(t.to_vec()));
    reverse.visit(&mut |t| want.push(t.to_vec()));
    assert_eq!(seen, want);
    let total: usize = seen.iter().map(Vec::len).sum();
    assert_eq!(total, BidirectionalLayer::<LstmLayer<I, H>>::PARAMS);
    assert_eq!(BidirectionalLayer::<GruLayer<I, H>>::OUTPUTS, 2 * H);
}

//! Finite-difference checks of the generated backward passes: for small random
//! models of every layer kind and option, every analytic gradient must match the
//! central difference of the loss.

use ndarray::{Array2, Array3};
use rnn_runtime::rng::Rng;
use rnn_runtime::{loss_and_grads, model, Network, Params};

/// Finite-difference step. The five-point stencil's truncation error is O(STEP⁴)
/// (~1e-8 here); in f32 the loss is exact to ~1e-7 relative, so rounding contributes
/// ~1e-7 · loss / STEP ≈ 1e-5. The tolerance below sits a few times above both,
/// tight enough that a 1% error in any gradient entry of size > 1e-2 fails.
const STEP: f32 = 1e-2;
const ABS_TOL: f64 = 5e-5;
const REL_TOL: f64 = 2e-3;

fn random_batch<M: Network>(rng: &mut Rng, batch: usize) -> (Array3<f32>, Array2<f32>) {
    let x = Array3::from_shape_fn((batch, M::TIMESTEPS, M::FEATURES), |_| {
        rng.uniform(-1.0, 1.0) as f32
    });
    let y = Array2::from_shape_fn((batch, M::OUTPUTS), |_| rng.uniform(-1.0, 1.0) as f32);
    (x, y)
}

/// Moves every parameter off Keras's init (zero biases would hide bias bugs) and
/// checks every gradient entry against the central difference.
fn check<M: Network>(seed: u64) {
    let mut rng = Rng::new(seed);
    let mut model = M::init(seed);
    model.visit_params_mut(&mut |t| {
        t.iter_mut()
            .for_each(|v| *v += rng.uniform(-0.3, 0.3) as f32)
    });
    let (x, y) = random_batch::<M>(&mut rng, 3);
    let (_, grads) = loss_and_grads(&model, x.view(), y.view()).expect("grads");
    let analytic = grads.as_slice().to_vec();
    let mut numeric = Vec::with_capacity(M::PARAMS);
    for index in 0..M::PARAMS {
        let mut loss_at = |delta: f32| {
            nudge(&mut model, index, delta);
            let loss = loss_and_grads(&model, x.view(), y.view()).expect("loss").0;
            nudge(&mut model, index, -delta);
            loss as f64
        };
        let near = loss_at(STEP) - loss_at(-STEP);
        let far = loss_at(2.0 * STEP) - loss_at(-2.0 * STEP);
        numeric.push((8.0 * near - far) / (12.0 * STEP as f64));
    }
    let mut at = 0;
    for spec in M::param_specs() {
        for k in 0..spec.len() {
            let (a, n) = (analytic[at + k] as f64, numeric[at + k]);
            assert!(
                (a - n).abs() <= ABS_TOL + REL_TOL * n.abs(),
                "{}[{k}]: analytic {a:.6e}, finite difference {n:.6e}",
                spec.name
            );
        }
        at += spec.len();
    }
    assert!(
        analytic.iter().any(|g| g.abs() > 1e-3),
        "gradients should not all vanish"
    );
}

fn nudge<M: Params>(model: &mut M, index: usize, delta: f32) {
    let mut at = 0;
    model.visit_params_mut(&mut |t| {
        if (at..at + t.len()).contains(&index) {
            t[index - at] += delta;
        }
        at += t.len();
    });
}

model! { struct Lstm < input(5, 3), lstm(4), dense(2) > }
model! { struct Gru < input(5, 3), gru(4), dense(2) > }
model! { struct Rnn < input(5, 3), simple_rnn(4), dense(2) > }
model! { struct LstmOnly < input(4, 2), lstm(3) > }
model! { struct StackedLstm < input(4, 2), lstm(3, return_sequences = true), lstm(3), dense(1) > }
model! { struct StackedGru < input(4, 2), gru(3, return_sequences = true), gru(2) > }
model! { struct StackedRnn < input(4, 2), simple_rnn(3, return_sequences = true), simple_rnn(2, return_sequences = false), dense(1) > }
model! { struct Mixed < input(3, 2), gru(3, return_sequences = true), simple_rnn(3, return_sequences = true), lstm(2), dense(2) > }
model! { struct Relu < input(3, 2), lstm(3), dense(4, activation = relu), dense(1) > }
model! { struct Tanh < input(3, 2), gru(3), dense(3, activation = tanh), dense(2, activation = linear) > }
model! { struct Sigmoid < input(3, 2), simple_rnn(3), dense(3, activation = sigmoid), dense(1) > }
model! { struct SingleStep < input(1, 2), lstm(3), dense(1) > }
model! { struct OneFeature < input(4, 1), gru(3, return_sequences = true), lstm(3), dense(1) > }

#[test]
fn lstm() {
    check::<Lstm>(1);
}
#[test]
fn gru() {
    check::<Gru>(2);
}
#[test]
fn simple_rnn() {
    check::<Rnn>(3);
}
#[test]
fn recurrent_output_without_dense() {
    check::<LstmOnly>(4);
}
#[test]
fn stacked_lstm_with_return_sequences() {
    check::<StackedLstm>(5);
}
#[test]
fn stacked_gru() {
    check::<StackedGru>(6);
}
#[test]
fn stacked_simple_rnn() {
    check::<StackedRnn>(7);
}
#[test]
fn mixed_cell_kinds() {
    check::<Mixed>(8);
}
#[test]
fn dense_relu() {
    check::<Relu>(9);
}
#[test]
fn dense_tanh() {
    check::<Tanh>(10);
}
#[test]
fn dense_sigmoid() {
    check::<Sigmoid>(11);
}
#[test]
fn one_time_step() {
    check::<SingleStep>(12);
}
#[test]
fn one_input_feature() {
    check::<OneFeature>(13);
}
model! { struct NewActivations < input(3, 2), gru(3), dense(4, activation = gelu), dense(4, activation = elu), dense(3, activation = softplus), dense(3, activation = softmax) > }
#[test]
fn dense_gelu_elu_softplus_softmax() {
    check::<NewActivations>(14);
}

//! Numerical stability: activations and losses stay finite, with the right limits, for
//! inputs of ±1e4, and a long sequence (T = 1000) trains without NaN.

use ndarray::{Array2, Array3};
use rnn_runtime::activation::{elu, erf, exp, gelu, sigmoid, softplus, tanh};
use rnn_runtime::layers::CellActivation;
use rnn_runtime::{model, Activation, Adam, Fit, Loss, Params};

#[test]
fn activations_are_finite_with_the_right_limits_at_plus_minus_1e4() {
    for x in [-1e4f32, -100.0, 100.0, 1e4] {
        for (name, y) in [
            ("exp", exp(x)),
            ("sigmoid", sigmoid(x)),
            ("tanh", tanh(x)),
            ("softplus", softplus(x)),
            ("elu", elu(x)),
            ("gelu", gelu(x)),
            ("erf", erf(x)),
        ] {
            assert!(y.is_finite(), "{name}({x}) = {y}");
        }
        let big = x > 0.0;
        let near = |name: &str, got: f32, want: f32| {
            assert!(
                (got - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{name}({x}) = {got}, limit {want}"
            )
        };
        near("sigmoid", sigmoid(x), if big { 1.0 } else { 0.0 });
        near("tanh", tanh(x), if big { 1.0 } else { -1.0 });
        near("softplus", softplus(x), if big { x } else { 0.0 });
        near("gelu", gelu(x), if big { x } else { 0.0 });
        near("erf", erf(x), if big { 1.0 } else { -1.0 });
        near("elu", elu(x), if big { x } else { -1.0 });
    }
    // The slice forms (the ones the layers run) and their derivatives agree.
    let mut row = [-1e4f32, -50.0, 0.0, 50.0, 1e4];
    Activation::Softmax.apply(&mut row, 5);
    assert!(row.iter().all(|v| v.is_finite()));
    assert_eq!(row[4], 1.0);
    for a in [CellActivation::Sigmoid, CellActivation::Tanh] {
        let mut v = [-1e4f32, 1e4];
        a.apply(&mut v);
        assert!(v
            .iter()
            .all(|y| y.is_finite() && a.derivative(*y).is_finite()));
    }
}

#[test]
fn losses_stay_finite_for_logits_of_plus_minus_1e4() {
    let pred = [1e4f32, -1e4, 0.0, -1e4, 1e4, 3.0];
    let cases = [
        (
            Loss::BinaryCrossentropy,
            vec![0.0f32, 1.0, 1.0, 0.0, 1.0, 0.0],
        ),
        (
            Loss::CategoricalCrossentropy,
            vec![0.0, 1.0, 0.0, 1.0, 0.0, 0.0],
        ),
        (Loss::SparseCategoricalCrossentropy, vec![1.0, 0.0]),
    ];
    for (loss, target) in cases {
        let mut grad = [0.0f32; 6];
        let sum = loss.sum_and_grad(&pred, &target, 3, 1.0, Some(&mut grad));
        assert!(sum.is_finite(), "{loss}: {sum}");
        assert!(
            grad.iter().all(|g| g.is_finite() && g.abs() <= 1.0),
            "{loss}: {grad:?}"
        );
        // A confidently wrong logit of 1e4 costs about 1e4 (not inf), a right one ~0.
        assert!(sum > 1e3 && sum < 1e5, "{loss}: {sum}");
    }
}

model! {
    /// A long-sequence model.
    struct Long < input(1000, 1), lstm(8), dense(1) >
}

#[test]
fn a_thousand_step_sequence_trains_without_nan() {
    let x = Array3::from_shape_fn((16, 1000, 1), |(i, t, _)| ((i + t) as f32 * 0.05).sin());
    let y = Array2::from_shape_fn((16, 1), |(i, _)| ((i + 1000) as f32 * 0.05).sin());
    let mut net = Long::new(1);
    let before = net.evaluate(&x, &y).unwrap();
    let history = net
        .fit(
            &x,
            &y,
            Fit::new(Adam::new(1e-2))
                .epochs(3)
                .batch_size(8)
                .verbose(false),
        )
        .expect("trains");
    let after = net.evaluate(&x, &y).unwrap();
    assert!(
        history.loss.iter().all(|l| l.is_finite()) && history.loss[2] < history.loss[0],
        "{:?}",
        history.loss
    );
    assert!(after < before, "MSE {before} → {after}");
    let (loss, grads) = net.loss_and_grads(&x, &y).expect("grads");
    assert!((loss - after).abs() <= 1e-6 * after, "{loss} vs {after}");
    // The gradient reaches every tensor through the thousand steps: none is NaN or
    // vanishes.
    let grads = grads.as_slice();
    assert!(grads.iter().all(|g| g.is_finite()));
    let mut at = 0;
    for spec in Long::param_specs() {
        let largest = grads[at..at + spec.len()]
            .iter()
            .fold(0.0f32, |m, g| m.max(g.abs()));
        assert!(
            largest > 1e-4,
            "{}: largest |gradient| {largest:e}",
            spec.name
        );
        at += spec.len();
    }
    let pred = net.predict(&x).unwrap();
    assert!(pred.iter().all(|p| p.is_finite()));
    let spread =
        pred.iter().fold(f32::MIN, |m, p| m.max(*p)) - pred.iter().fold(f32::MAX, |m, p| m.min(*p));
    assert!(
        spread > 1e-2,
        "predictions do not depend on the input: {pred}"
    );
}

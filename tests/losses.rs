//! `rnn_runtime::Loss`: every loss against PyTorch (`tests/fixtures/losses/`, float64
//! references), target validation, stability for huge logits, and the gradient of
//! `sum_and_grad` against finite differences.

mod common;

use std::collections::BTreeSet;

use common::{fixture, max_rel, read_all, worst};
use rnn_runtime::rng::Rng;
use rnn_runtime::{Error, Loss};

const ALL: [Loss; 7] = [
    Loss::Mse,
    Loss::Mae,
    Loss::Huber(1.0),
    Loss::Huber(0.5),
    Loss::BinaryCrossentropy,
    Loss::CategoricalCrossentropy,
    Loss::SparseCategoricalCrossentropy,
];

fn loss_named(name: &str, delta: Option<f64>) -> Loss {
    let loss = match name {
        "mse" => Loss::Mse,
        "mae" => Loss::Mae,
        "huber" => Loss::Huber(delta.expect("huber case without delta") as f32),
        "binary_crossentropy" => Loss::BinaryCrossentropy,
        "categorical_crossentropy" => Loss::CategoricalCrossentropy,
        "sparse_categorical_crossentropy" => Loss::SparseCategoricalCrossentropy,
        other => panic!("unknown loss {other}"),
    };
    assert_eq!(loss.name(), name);
    loss
}

#[test]
fn every_loss_matches_pytorch() {
    let dir = fixture("losses");
    let mut seen = BTreeSet::new();
    let mut cases = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/fixtures/losses")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for case_dir in entries {
        let case: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(case_dir.join("case.json")).unwrap())
                .unwrap();
        let loss = loss_named(case["loss"].as_str().unwrap(), case["delta"].as_f64());
        let (rows, outputs) = (
            case["rows"].as_u64().unwrap() as usize,
            case["outputs"].as_u64().unwrap() as usize,
        );
        let (abs, rel) = (
            case["tolerance"]["abs"].as_f64().unwrap(),
            case["tolerance"]["rel"].as_f64().unwrap(),
        );
        let data = read_all(&case_dir.join("data.safetensors"));
        let pred: Vec<f32> = data["pred"].iter().copied().collect();
        let target: Vec<f32> = data["target"].iter().copied().collect();
        let want_loss: Vec<f32> = data["loss"].iter().copied().collect();
        let want_grad: Vec<f32> = data["grad"].iter().copied().collect();
        assert_eq!(pred.len(), rows * outputs);
        assert_eq!(target.len(), rows * loss.target_width(outputs));

        let name = case_dir.file_name().unwrap().to_string_lossy().into_owned();
        let value = loss.loss_value(&pred, &target, outputs).expect(&name);
        let mut grad = vec![0.0f32; pred.len()];
        let denominator = loss.denominator(rows, outputs);
        let sum = loss.sum_and_grad(
            &pred,
            &target,
            outputs,
            1.0 / denominator as f32,
            Some(&mut grad),
        );
        assert_eq!((sum / denominator as f64) as f32, value, "{name}: mean");
        for (what, got, want) in [
            ("loss", &[value][..], &want_loss[..]),
            ("grad", &grad[..], &want_grad[..]),
        ] {
            let w = worst(got, want, abs, rel);
            assert!(
                w <= 1.0,
                "{name} {what}: {w} times the tolerance\n got {got:?}\nwant {want:?}"
            );
        }
        eprintln!(
            "losses/{name}: loss rel. error {:.2e}, grad max rel. error {:.2e}",
            max_rel(&[value], &want_loss),
            max_rel(&grad, &want_grad)
        );
        seen.insert(loss.to_string());
        cases += 1;
    }
    let want: BTreeSet<String> = ALL.iter().map(|l| l.to_string()).collect();
    assert_eq!(
        seen, want,
        "every loss (and both Huber deltas) has fixtures"
    );
    assert!(cases >= 26, "only {cases} cases");
}

fn invalid_row(result: rnn_runtime::Result<()>) -> (usize, String) {
    match result {
        Err(e @ Error::InvalidTarget { row, .. }) => (row, e.to_string()),
        other => panic!("expected InvalidTarget, got {other:?}"),
    }
}

#[test]
fn check_targets_names_the_row() {
    for loss in ALL {
        loss.check_targets(&[0.0, 1.0, 0.0, 1.0], 2)
            .unwrap_or_else(|e| panic!("{loss}: {e}"));
        let width = loss.target_width(2);
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let mut target = vec![0.0f32; 3 * width];
            target[2 * width] = bad;
            let (row, message) = invalid_row(loss.check_targets(&target, 2));
            assert_eq!(row, 2, "{loss}");
            assert!(message.contains("not finite"), "{message}");
            assert!(message.contains(loss.name()), "{message}");
        }
    }
    let sparse = Loss::SparseCategoricalCrossentropy;
    sparse.check_targets(&[0.0, 4.0, 2.0], 5).unwrap();
    for (bad, row) in [(5.0, 1), (-1.0, 1), (2.5, 1), (1e9, 1)] {
        let (got, message) = invalid_row(sparse.check_targets(&[0.0, bad, 1.0], 5));
        assert_eq!(got, row);
        assert_eq!(
            message,
            format!(
                "y row 1 is invalid for sparse_categorical_crossentropy: \
                 class id {bad} is not an integer in [0, 5)"
            )
        );
    }
    // Soft or out-of-range probabilities are accepted, as PyTorch does.
    Loss::BinaryCrossentropy
        .check_targets(&[1.5, -0.5], 1)
        .unwrap();
    Loss::CategoricalCrossentropy
        .check_targets(&[0.3, 0.3], 2)
        .unwrap();
}

#[test]
fn huber_delta_and_shapes_are_checked() {
    for delta in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        let err = Loss::Huber(delta).check_targets(&[0.0], 1).unwrap_err();
        assert!(
            matches!(err, Error::LossParameter { loss: "huber", .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("delta must be positive"), "{err}");
    }
    let err = Loss::Mse.check_targets(&[0.0; 5], 2).unwrap_err();
    assert!(matches!(err, Error::Shape { what: "y", .. }), "{err:?}");
    let err = Loss::Mse.check_targets(&[], 0).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }), "{err:?}");

    let err = Loss::Mse.loss_value(&[0.0; 5], &[0.0; 5], 2).unwrap_err();
    assert!(matches!(err, Error::Shape { what: "pred", .. }), "{err:?}");
    let err = Loss::Mse.loss_value(&[0.0; 4], &[0.0; 6], 2).unwrap_err();
    assert_eq!(
        err.to_string(),
        "y has shape [3, 2], but the model expects [2, 2]"
    );
    let err = Loss::SparseCategoricalCrossentropy
        .loss_value(&[0.0; 4], &[0.0; 4], 2)
        .unwrap_err();
    assert!(matches!(err, Error::Shape { what: "y", .. }), "{err:?}");
    let err = Loss::Mae.loss_value(&[], &[], 3).unwrap_err();
    assert!(matches!(err, Error::Empty("pred")), "{err:?}");
    let err = Loss::SparseCategoricalCrossentropy
        .loss_value(&[0.0, 1.0], &[2.0], 2)
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidTarget { row: 0, .. }),
        "{err:?}"
    );
}

#[test]
fn huge_logits_stay_finite_and_exact() {
    let logits = [1e4f32, -1e4, -1e4, 1e4];
    let mut g = [0.0f32; 4];
    // Binary: targets 0, 0, 1, 1 → terms 1e4, 0, 1e4, 0.
    let sum =
        Loss::BinaryCrossentropy.sum_and_grad(&logits, &[0.0, 0.0, 1.0, 1.0], 2, 1.0, Some(&mut g));
    assert_eq!(sum, 2e4);
    assert_eq!(g, [1.0, 0.0, -1.0, 0.0]);
    // Sparse: row 0 picks its losing class, row 1 its winning one.
    let sum = Loss::SparseCategoricalCrossentropy.sum_and_grad(
        &logits,
        &[1.0, 1.0],
        2,
        0.5,
        Some(&mut g),
    );
    assert_eq!(sum, 2e4);
    assert_eq!(g, [0.5, -0.5, 0.0, 0.0]);
    // Categorical with soft targets: -Σ t log softmax = 0.25 · 2e4 per row.
    let sum = Loss::CategoricalCrossentropy.sum_and_grad(
        &logits,
        &[0.75, 0.25, 0.75, 0.25],
        2,
        1.0,
        Some(&mut g),
    );
    assert_eq!(sum, 0.25 * 2e4 + 0.75 * 2e4);
    assert_eq!(g, [0.25, -0.25, -0.75, 0.75]);
    for loss in [
        Loss::BinaryCrossentropy,
        Loss::CategoricalCrossentropy,
        Loss::SparseCategoricalCrossentropy,
    ] {
        let target = vec![1.0; 2 * loss.target_width(2)];
        let value = loss.loss_value(&logits, &target, 2).unwrap();
        assert!(value.is_finite() && value > 0.0, "{loss}: {value}");
    }
}

/// Values on a grid of 2⁻¹⁰ in [-3, 3]: shifting one by a multiple of the step below
/// is exact in f32, so the finite differences see exactly the perturbation asked for.
fn grid_value(rng: &mut Rng) -> f32 {
    (rng.uniform(-3.0, 3.0) * 1024.0).round() as f32 / 1024.0
}

/// `sum_and_grad`'s gradient against the five-point central difference of its sum, for
/// every loss, with a non-trivial scale.
#[test]
fn gradient_matches_finite_differences() {
    const STEP: f32 = 1.0 / 128.0;
    const SCALE: f32 = 0.375;
    let (rows, outputs) = (4, 3);
    let mut rng = Rng::new(7);
    for loss in ALL {
        let target: Vec<f32> = match loss {
            Loss::SparseCategoricalCrossentropy => vec![0.0, 2.0, 1.0, 2.0],
            Loss::BinaryCrossentropy | Loss::CategoricalCrossentropy => (0..rows * outputs)
                .map(|_| rng.uniform(0.0, 1.0) as f32)
                .collect(),
            _ => (0..rows * outputs).map(|_| grid_value(&mut rng)).collect(),
        };
        // Keep every difference 3 steps away from the kinks of mae (0) and huber (±δ),
        // where the stencil would straddle two pieces.
        let kinks = [0.0f32, 0.5, 1.0];
        let pred: Vec<f32> = (0..rows * outputs)
            .map(|k| loop {
                let p = grid_value(&mut rng);
                let d = match loss {
                    Loss::Mae | Loss::Huber(_) => (p - target[k]).abs(),
                    _ => 10.0,
                };
                if kinks.iter().all(|kink| (d - kink).abs() > 3.0 * STEP) {
                    break p;
                }
            })
            .collect();
        loss.check_targets(&target, outputs).unwrap();
        let mut grad = vec![0.0f32; pred.len()];
        let sum = loss.sum_and_grad(&pred, &target, outputs, SCALE, Some(&mut grad));
        assert_eq!(
            sum,
            loss.sum_and_grad(&pred, &target, outputs, SCALE, None),
            "{loss}: the sum does not depend on the gradient being asked for"
        );
        for k in 0..pred.len() {
            let at = |delta: f32| {
                let mut p = pred.clone();
                p[k] += delta;
                loss.sum_and_grad(&p, &target, outputs, 1.0, None)
            };
            let near = at(STEP) - at(-STEP);
            let far = at(2.0 * STEP) - at(-2.0 * STEP);
            let numeric = SCALE as f64 * (8.0 * near - far) / (12.0 * STEP as f64);
            let analytic = grad[k] as f64;
            assert!(
                (analytic - numeric).abs() <= 1e-6 + 1e-5 * numeric.abs(),
                "{loss} [{k}]: analytic {analytic:.8e}, finite difference {numeric:.8e}"
            );
        }
        assert!(
            grad.iter().any(|g| g.abs() > 1e-2),
            "{loss}: gradient vanishes"
        );
    }
}

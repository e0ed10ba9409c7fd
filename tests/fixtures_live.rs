//! Every committed fixture is live (see `tests/common/live.rs`): each gradient tensor it
//! stores is non-trivial and its outputs vary across samples, so that the parity tests
//! reading it can fail. The guard itself is shown to refuse a degenerate case: the
//! cell-activation fixture as it once was, whose last ReLU layer was dead for every
//! sample (kept under `tests/fixtures/degenerate/`).

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::live::{assert_live, degenerate, rows};
use common::{fixture, read_all};
use ndarray::ArrayD;

/// The gradient tensors of a case: `grad.<name>` (model cases), `grad_<name>` (cell
/// cases, whose `dx_*` input gradients count too) and `grad` (loss cases).
fn grads(data: &HashMap<String, ArrayD<f32>>, prefix: &str) -> Vec<(String, Vec<f32>)> {
    let mut out: Vec<(String, Vec<f32>)> = data
        .iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(k, v)| (k.clone(), v.iter().copied().collect()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Every directory below `tests/fixtures/` holding `file`, as paths relative to it.
fn cases_with(file: &str) -> Vec<String> {
    fn walk(dir: &Path, file: &str, root: &Path, out: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.path());
        for e in entries {
            let path = e.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == "degenerate") {
                    continue;
                }
                if path.join(file).exists() {
                    let rel = path.strip_prefix(root).unwrap();
                    out.push(rel.to_string_lossy().into_owned());
                }
                walk(&path, file, root, out);
            }
        }
    }
    let root = fixture("");
    let mut out = Vec::new();
    walk(&root, file, &root, &mut out);
    out
}

#[test]
fn every_model_and_loss_fixture_is_live() {
    let mut checked = 0;
    for case in cases_with("data.safetensors") {
        let data = read_all(&fixture(&format!("{case}/data.safetensors")));
        if data.contains_key("history_loss") {
            // Truncated-BPTT cases (t*): the output over the whole series and every
            // parameter's gradient at every optimiser step (`grad<step>.<param>`).
            let g = grads(&data, "grad");
            assert!(!g.is_empty(), "{case}: no gradients");
            assert_live(&case, &g, &rows(&data["out"]), None);
        } else if data.contains_key("out") {
            // Model cases (p*, m*, a1): output and every parameter's gradient.
            assert_live(&case, &grads(&data, "grad."), &rows(&data["out"]), None);
        } else if data.contains_key("out_seq") {
            // Cell cases: the sequence output (time-major, so samples are its second
            // axis), the parameter and input gradients of the functional of it (and of
            // the last output, where stored).
            for kind in ["seq", "last"] {
                let Some(out) = data.get(&format!("out_{kind}")) else {
                    continue;
                };
                let by_sample = if kind == "seq" {
                    let mut o = out.view();
                    o.swap_axes(0, 1);
                    o.to_owned()
                } else {
                    out.clone()
                };
                let mut g = grads(&data, &format!("grad_{kind}_"));
                g.extend(grads(&data, &format!("dx_{kind}")));
                assert!(!g.is_empty(), "{case}: no gradients for out_{kind}");
                assert_live(&format!("{case} ({kind})"), &g, &rows(&by_sample), None);
            }
        } else if data.contains_key("pred") {
            // Loss cases: the gradient of the mean loss; rows are samples, and a case
            // of one row has nothing to vary.
            let outputs = rows(&data["grad"]);
            let problems = degenerate(&grads(&data, "grad"), &outputs, None);
            let problems: Vec<_> = problems
                .into_iter()
                .filter(|p| outputs.len() > 1 || !p.contains("cannot vary"))
                .collect();
            assert!(problems.is_empty(), "{case}: {problems:?}");
        } else if data.contains_key("y") {
            // Imports from PyTorch: the module's outputs.
            assert_live(&case, &[], &rows(&data["y"]), None);
        } else {
            // Optimiser cases store given gradients and steps, no model outputs.
            assert!(case.starts_with("optim"), "{case}: unknown fixture layout");
            continue;
        }
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} fixtures found");
}

#[test]
fn every_keras_fixture_is_live() {
    let cases = cases_with("io.safetensors");
    assert!(cases.len() >= 11, "{cases:?}");
    for case in cases {
        let io = read_all(&fixture(&format!("{case}/io.safetensors")));
        assert_live(&case, &[], &rows(&io["y"]), None);
    }
}

#[test]
fn the_guard_refuses_a_degenerate_case() {
    // The cell-activation fixture as first generated: its last layer, a ReLU
    // simple_rnn, was dead for every sample.
    let data = read_all(&fixture("degenerate/m10_dead_relu/data.safetensors"));
    let problems = degenerate(&grads(&data, "grad."), &rows(&data["out"]), None);
    let text = problems.join("\n");
    assert!(text.contains("outputs do not vary"), "{text}");
    for tensor in ["grad.0.weight_ih", "grad.1.weight_hh", "grad.2.bias_ih"] {
        assert!(
            text.contains(&format!("gradient {tensor} is trivial")),
            "{text}"
        );
    }
    // Only the dense layer's bias (and not even its weight) has a gradient left.
    assert!(!text.contains("grad.3.bias "), "{text}");

    // Each rule on its own.
    let live = vec![vec![0.5f32, -0.25], vec![0.1, 0.3]];
    let g = |name: &str, v: Vec<f32>| (name.to_string(), v);
    assert!(degenerate(&[g("w", vec![0.1, -0.2])], &live, None).is_empty());
    let trivial = degenerate(
        &[g("w", vec![0.1, -0.2]), g("b", vec![1e-5, 0.0])],
        &live,
        None,
    );
    assert_eq!(trivial.len(), 1, "{trivial:?}");
    assert!(trivial[0].contains("gradient b is trivial"), "{trivial:?}");
    let constant = vec![vec![0.5f32, -0.25], vec![0.5, -0.25]];
    let flat = degenerate(&[], &constant, None);
    assert!(
        flat.len() == 1 && flat[0].contains("do not vary"),
        "{flat:?}"
    );
    let same = degenerate(&[], &live, Some(&live));
    assert!(same.len() == 1 && same[0].contains("overrides"), "{same:?}");
    let nan = degenerate(&[g("w", vec![f32::NAN, 1.0])], &live, None);
    assert!(nan.iter().any(|p| p.contains("not finite")), "{nan:?}");
}

/// The variable-length cases (`v*`, written by `tests/fixtures/gen/lengths.py`) can
/// only catch a padded step leaking into a result if their padding is what the
/// fixture README says: every case is here and live (Keras's outputs too), its lengths
/// are unsorted with one full sample and one of length 1, its padded inputs are
/// garbage far from the data (lengths given), the mask value (`masking`) or the
/// padding id 0 (`mask_zero`) while no valid step reads as padding, and its stored
/// outputs are exactly 0 at padded steps.
#[test]
fn every_lengths_fixture_pads_as_documented() {
    let mut found = cases_with("data.safetensors");
    found.retain(|c| c.starts_with('v'));
    let expected = [
        "v1_lstm_last",
        "v2_bigru",
        "v3_lstm_seq_masked_loss",
        "v4_gru_simple_rnn",
        "v5_tokens_mask_zero",
        "v6_masking_gru_seq",
    ];
    assert_eq!(found, expected);
    for case in expected {
        let data = read_all(&fixture(&format!("{case}/data.safetensors")));
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(&format!("{case}/case.json"))).expect("case.json"),
        )
        .expect("json");
        assert_live(case, &grads(&data, "grad."), &rows(&data["out"]), None);
        let from = json["lengths_from"].as_str().unwrap();
        if from != "given" {
            assert_live(
                &format!("{case} (keras_out)"),
                &[],
                &rows(&data["keras_out"]),
                None,
            );
        }

        let steps = json["timesteps"].as_u64().unwrap() as usize;
        let lengths: Vec<usize> = data["lengths"].iter().map(|&v| v as usize).collect();
        assert!(
            lengths.contains(&steps) && lengths.contains(&1),
            "{case}: {lengths:?}"
        );
        assert!(
            lengths.windows(2).any(|w| w[0] < w[1]),
            "{case}: lengths {lengths:?} sorted"
        );

        let x = &data["x"];
        for (b, &len) in lengths.iter().enumerate() {
            for t in 0..steps {
                // one step's features (or its token id)
                let step: Vec<f32> = if x.ndim() == 3 {
                    (0..x.shape()[2]).map(|f| x[[b, t, f]]).collect()
                } else {
                    vec![x[[b, t]]]
                };
                let padding = match from {
                    "given" => step.iter().all(|&v| v >= 50.0),
                    // the mask value, and the padding id: both 0
                    "masking" | "mask_zero" => step.iter().all(|&v| v == 0.0),
                    other => panic!("{case}: lengths_from {other}"),
                };
                let valid_like_data = step.iter().all(|v| v.abs() <= 11.0);
                if t < len {
                    assert!(
                        !padding && valid_like_data,
                        "{case}: valid step {t} of sample {b} is {step:?}"
                    );
                } else {
                    assert!(padding, "{case}: padded step {t} of sample {b} is {step:?}");
                }
            }
        }
        for key in ["out", "keras_out"] {
            let Some(out) = data.get(key) else { continue };
            if out.ndim() != 3 {
                continue;
            }
            for (b, &len) in lengths.iter().enumerate() {
                for t in len..steps {
                    for o in 0..out.shape()[2] {
                        assert_eq!(out[[b, t, o]], 0.0, "{case}: {key}[{b}, {t}, {o}]");
                    }
                }
            }
        }
    }
}

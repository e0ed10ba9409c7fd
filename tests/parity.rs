//! Parity with PyTorch: forward output, MSE loss, every gradient and the parameters
//! after 1 and 3 Adam steps, for the five reference cases in `tests/fixtures/`
//! (generated in float64 by PyTorch; see `tests/fixtures/README.md`).

mod common;

use common::{fixture, max_rel, read_all, worst};
use ndarray::{Array2, Array3, Ix2, Ix3};
use rnn_runtime::{model, Adam, Params};

/// Checks one case through the public API whose names are a contract.
macro_rules! parity_case {
    ($test:ident, $dir:literal, $name:ident, $($spec:tt)*) => {
        model! { struct $name < $($spec)* > }

        #[test]
        fn $test() {
            let case: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(fixture(concat!($dir, "/case.json"))).expect("case.json"),
            )
            .expect("json");
            assert_eq!(case["spec"].as_str(), Some(stringify!($($spec)*).replace('\n', " ").replace(" ,", ",").replace("( ", "(").replace(" )", ")").as_str()));
            let tol = &case["tolerance"];
            let (abs, rel) = (tol["abs"].as_f64().unwrap(), tol["rel"].as_f64().unwrap());
            let adam_cfg = &case["adam"];
            let f = |k: &str| adam_cfg[k].as_f64().unwrap() as f32;
            let names: Vec<String> = case["param_names"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            let spec_names: Vec<&str> = $name::param_specs().iter().map(|s| s.name).collect();
            assert_eq!(names, spec_names, "parameter names and order");

            let data = read_all(&fixture(concat!($dir, "/data.safetensors")));
            let x: Array3<f32> = data["x"].clone().into_dimensionality::<Ix3>().unwrap();
            let y: Array2<f32> = data["y"].clone().into_dimensionality::<Ix2>().unwrap();

            let mut model = $name::new(0);
            model.load_safetensors(fixture(concat!($dir, "/params.safetensors"))).expect("load");
            let mut report = Vec::new();
            let mut fraction = 0.0f64;
            let mut check = |what: String, got: &[f32], want: &ndarray::ArrayD<f32>| {
                let want: Vec<f32> = want.iter().copied().collect();
                assert_eq!(got.len(), want.len(), "{what}: length");
                let w = worst(got, &want, abs, rel);
                fraction = fraction.max(w);
                assert!(w <= 1.0, "{what}: {w} times the tolerance\n got {got:?}\nwant {want:?}");
                report.push((what, max_rel(got, &want)));
            };

            let out = model.forward(x.view()).expect("forward");
            check("out".into(), out.as_slice().unwrap(), &data["out"]);
            for (b, want) in out.outer_iter().enumerate() {
                let sample = x.index_axis(ndarray::Axis(0), b);
                let mut one = [[0.0f32; $name::FEATURES]; $name::TIMESTEPS];
                for (t, row) in sample.outer_iter().enumerate() {
                    for (k, v) in row.iter().enumerate() {
                        one[t][k] = *v;
                    }
                }
                let got = model.predict_one(&one);
                check(format!("predict_one[{b}]"), &got, &want.to_owned().into_dyn());
            }

            let (loss, grads) = model.loss_and_grads(x.view(), y.view()).expect("grads");
            check("loss".into(), &[loss], &data["loss"]);
            for name in &names {
                let g = grads.get(name).expect("gradient by name");
                check(format!("grad.{name}"), &g.iter().copied().collect::<Vec<_>>(), &data[&format!("grad.{name}")]);
            }
            let dir = std::env::temp_dir().join(format!("rnn-parity-{}-{}", stringify!($test), std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            grads.save_safetensors(dir.join("grads.safetensors")).expect("save grads");
            let saved = read_all(&dir.join("grads.safetensors"));
            for name in &names {
                assert_eq!(saved[name].as_slice().unwrap(), grads.get(name).unwrap().as_slice().unwrap());
            }
            let mut loaded = rnn_runtime::Grads::zeros::<$name>();
            loaded.load_safetensors(dir.join("grads.safetensors")).expect("load grads");
            assert_eq!(loaded, grads);

            let mut adam = Adam::new(f("lr")).betas(f("beta1"), f("beta2")).eps(f("eps"));
            adam.step(&mut model, &grads).expect("step");
            for name in &names {
                check(format!("adam1.{name}"), model.param(name).unwrap().as_slice().unwrap(), &data[&format!("adam1.{name}")]);
            }
            for _ in 0..2 {
                let (_, grads) = model.loss_and_grads(x.view(), y.view()).expect("grads");
                adam.step(&mut model, &grads).expect("step");
            }
            for name in &names {
                check(format!("adam3.{name}"), model.param(name).unwrap().as_slice().unwrap(), &data[&format!("adam3.{name}")]);
            }

            // A save/load round trip keeps every parameter bit for bit.
            model.save_safetensors(dir.join("model.safetensors")).expect("save");
            let mut back = $name::new(1);
            back.load_safetensors(dir.join("model.safetensors")).expect("load back");
            assert_eq!(back, model);
            let _ = std::fs::remove_dir_all(&dir);

            let (what, max) = report
                .iter()
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .cloned()
                .unwrap_or_default();
            eprintln!(
                "{}: {} values checked, max relative error {max:.2e} ({what}); worst value at {fraction:.2} of the tolerance",
                $dir,
                report.len()
            );
        }
    };
}

parity_case!(p1_lstm, "p1_lstm", P1, input(4, 3), lstm(5), dense(2));
parity_case!(p2_gru, "p2_gru", P2, input(3, 2), gru(4), dense(1));
parity_case!(
    p3_simple_rnn,
    "p3_simple_rnn",
    P3,
    input(5, 2),
    simple_rnn(3),
    dense(1)
);
parity_case!(
    p4_stacked,
    "p4_stacked",
    P4,
    input(4, 2),
    lstm(4, return_sequences = true),
    lstm(3),
    dense(1)
);
parity_case!(
    p5_activation,
    "p5_activation",
    P5,
    input(3, 2),
    gru(4),
    dense(3, activation = tanh),
    dense(1)
);

model! {
    /// The Keras-trained seed model's architecture.
    struct KerasSeed < input(20, 1), lstm(50), dense(1) >
}

/// Keras's own predictions for eight windows, from its trained weights converted to
/// this project's names (`tests/fixtures/keras_seed/`).
#[test]
fn keras_seed_predictions_match() {
    let mut net = KerasSeed::new(0);
    net.load_safetensors(fixture("keras_seed/weights.safetensors"))
        .expect("load");
    let io = read_all(&fixture("keras_seed/io.safetensors"));
    let x = io["x"].clone().into_dimensionality::<Ix3>().unwrap();
    let want = &io["y"];
    let got = net.predict(&x).expect("predict");
    let w = worst(got.iter(), want.iter(), 1e-5, 0.0);
    assert!(w <= 1.0, "batch: {w}× 1e-5\n got {got}\nwant {want}");
    for (b, want) in want.outer_iter().enumerate() {
        let mut one = [[0.0f32; 1]; 20];
        for t in 0..20 {
            one[t][0] = x[[b, t, 0]];
        }
        let got = net.predict_one(&one);
        assert!(
            (got[0] - want[[0]]).abs() <= 1e-5,
            "sample {b}: {} vs {}",
            got[0],
            want[[0]]
        );
    }
}
parity_case!(
    a1_dense_activations,
    "a1_dense_activations",
    A1,
    input(3, 2),
    gru(4),
    dense(5, activation = gelu),
    dense(4, activation = elu),
    dense(4, activation = softplus),
    dense(3, activation = softmax)
);

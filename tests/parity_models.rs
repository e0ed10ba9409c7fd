//! Parity with PyTorch for the model-level features: sequence outputs, bidirectional
//! layers, embeddings, dropout (the library's seeded masks), cell activation
//! overrides, initial states and the non-MSE losses. Fixtures `tests/fixtures/m*`
//! (generated in float64 by `tests/fixtures/gen/models.py`; see the fixture README):
//! output, loss, every gradient, parameters after 1 and 3 Adam steps, every
//! single-sample path, and for m11 the forward pass from given initial states.

mod common;

use std::collections::HashMap;

use common::live::{self, assert_live};
use common::{fixture, max_rel, read_all, worst};
use ndarray::{ArrayD, IxDyn};
use rnn_runtime::{model, Adam, Loss, Network};

model! { struct M1 < input(5, 3), lstm(4, return_sequences = true), dense(2) > }
model! { struct M2 < input(4, 2), gru(3, return_sequences = true), dense(4, activation = tanh), dense(2) > }
model! { struct M3 < input(4, 3), bidirectional(lstm(3)), dense(2) > }
model! { struct M4 < input(5, 2), bidirectional(gru(3, return_sequences = true)), dense(1) > }
model! { struct M5 < input(4, 2), bidirectional(simple_rnn(3, return_sequences = true)), lstm(2), dense(1) > }
model! { struct M6 < input(6), embedding(10, 4), lstm(5), dense(3) > }
model! { struct M7 < input(5), embedding(7, 3), bidirectional(lstm(2, return_sequences = true)), dense(3) > }
model! { struct M8 < input(4, 3), lstm(4, dropout = 0.25, recurrent_dropout = 0.5), dropout(0.2), dense(2) > }
model! {
    struct M9 < input(4, 2), gru(3, return_sequences = true, recurrent_dropout = 0.3), dropout(0.5),
        bidirectional(simple_rnn(2, dropout = 0.2, recurrent_dropout = 0.4)), dense(1) >
}
model! {
    struct M10 < input(4, 2),
        lstm(3, return_sequences = true, activation = relu, recurrent_activation = tanh),
        gru(3, return_sequences = true, activation = sigmoid, recurrent_activation = tanh),
        simple_rnn(3, activation = relu), dense(2) >
}
model! { struct M11 < input(4, 3), lstm(4, return_sequences = true), gru(3), dense(2) > }

/// A fixture value as the model's input element (token ids are stored as exact floats).
trait FromFixture: Copy {
    fn from_fixture(v: f32) -> Self;
}

impl FromFixture for f32 {
    fn from_fixture(v: f32) -> Self {
        v
    }
}

impl FromFixture for u32 {
    fn from_fixture(v: f32) -> Self {
        assert!(v >= 0.0 && v.fract() == 0.0, "token id {v}");
        v as u32
    }
}

fn parse_loss(name: &str) -> Loss {
    match name.split_once(':') {
        Some(("huber", delta)) => Loss::Huber(delta.parse().expect("delta")),
        _ => match name {
            "mse" => Loss::Mse,
            "mae" => Loss::Mae,
            "binary_crossentropy" => Loss::BinaryCrossentropy,
            "categorical_crossentropy" => Loss::CategoricalCrossentropy,
            "sparse_categorical_crossentropy" => Loss::SparseCategoricalCrossentropy,
            other => panic!("unknown loss {other}"),
        },
    }
}

/// One case's fixture, read once.
struct Case {
    dir: &'static str,
    json: serde_json::Value,
    data: HashMap<String, ArrayD<f32>>,
    abs: f64,
    rel: f64,
    /// Largest error seen, as a fraction of the tolerance.
    worst_fraction: std::cell::Cell<f64>,
}

impl Case {
    fn read(dir: &'static str) -> Case {
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(&format!("{dir}/case.json"))).expect("case.json"),
        )
        .expect("json");
        let data = read_all(&fixture(&format!("{dir}/data.safetensors")));
        let tol = &json["tolerance"];
        let (abs, rel) = (tol["abs"].as_f64().unwrap(), tol["rel"].as_f64().unwrap());
        Case {
            dir,
            json,
            data,
            abs,
            rel,
            worst_fraction: std::cell::Cell::new(0.0),
        }
    }

    fn x<T: FromFixture>(&self) -> ArrayD<T> {
        self.data["x"].mapv(T::from_fixture)
    }

    fn y(&self) -> ArrayD<f32> {
        self.data["y"].clone()
    }

    fn loss(&self) -> Loss {
        parse_loss(self.json["loss"].as_str().expect("loss"))
    }

    fn seeds(&self) -> [u64; 3] {
        match self.json.get("dropout_seeds") {
            Some(s) => {
                let s: Vec<u64> = s
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap())
                    .collect();
                [s[0], s[1], s[2]]
            }
            None => [0, 0, 0],
        }
    }

    fn names(&self) -> Vec<String> {
        self.json["param_names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }

    /// Asserts `got` matches the fixture tensor `key`; returns its max relative error.
    fn check(&self, what: &str, got: &[f32], key: &str) -> f64 {
        let want: Vec<f32> = self.data[key].iter().copied().collect();
        assert_eq!(got.len(), want.len(), "{}: {what}: length", self.dir);
        let w = worst(got, &want, self.abs, self.rel);
        assert!(
            w <= 1.0,
            "{}: {what}: {w} times the tolerance\n got {got:?}\nwant {want:?}",
            self.dir
        );
        self.worst_fraction.set(self.worst_fraction.get().max(w));
        max_rel(got, &want)
    }
}

/// Checks output, loss, gradients, Adam steps and a save/load round trip through the
/// runtime's generic API; returns the model after loading the fixture's parameters.
fn run_case<M>(dir: &'static str) -> (Case, M)
where
    M: Network + PartialEq + std::fmt::Debug,
    M::Input: FromFixture,
{
    let case = Case::read(dir);
    let names = case.names();
    let spec_names: Vec<&str> = M::param_specs().iter().map(|s| s.name).collect();
    assert_eq!(names, spec_names, "{dir}: parameter names and order");
    let mut model = M::init(0);
    rnn_runtime::load_safetensors(&mut model, fixture(&format!("{dir}/params.safetensors")))
        .expect("load");
    let x = case.x::<M::Input>();
    let y = case.y();
    let loss = case.loss();
    let seeds = case.seeds();
    let mut worst_rel = (0.0f64, String::new());
    let mut note = |what: String, r: f64| {
        if r > worst_rel.0 {
            worst_rel = (r, what);
        }
    };

    let out = rnn_runtime::forward(&model, x.view()).expect("forward");
    assert_eq!(out.shape(), case.data["out"].shape(), "{dir}: output shape");
    note(
        "out".into(),
        case.check("out", out.as_slice().unwrap(), "out"),
    );

    let (value, grads) =
        rnn_runtime::loss_and_grads(&model, x.view(), y.view(), loss, seeds[0]).expect("grads");
    note("loss".into(), case.check("loss", &[value], "loss"));
    for name in &names {
        let g: Vec<f32> = grads.get(name).expect("gradient").iter().copied().collect();
        let key = format!("grad.{name}");
        note(key.clone(), case.check(&key, &g, &key));
    }

    let adam_cfg = &case.json["adam"];
    let f = |k: &str| adam_cfg[k].as_f64().unwrap() as f32;
    let mut adam = Adam::new(f("lr"))
        .betas(f("beta1"), f("beta2"))
        .eps(f("eps"));
    adam.step(&mut model, &grads).expect("step");
    for name in &names {
        let key = format!("adam1.{name}");
        let p = model.param(name).unwrap();
        note(key.clone(), case.check(&key, p.as_slice().unwrap(), &key));
    }
    for &seed in &seeds[1..] {
        let (_, grads) =
            rnn_runtime::loss_and_grads(&model, x.view(), y.view(), loss, seed).expect("grads");
        adam.step(&mut model, &grads).expect("step");
    }
    for name in &names {
        let key = format!("adam3.{name}");
        let p = model.param(name).unwrap();
        note(key.clone(), case.check(&key, p.as_slice().unwrap(), &key));
    }

    let path = std::env::temp_dir().join(format!(
        "rnn-parity-{dir}-{}.safetensors",
        std::process::id()
    ));
    rnn_runtime::save_safetensors(&model, &path).expect("save");
    let mut back = M::init(1);
    rnn_runtime::load_safetensors(&mut back, &path).expect("load back");
    assert_eq!(back, model);
    let _ = std::fs::remove_file(&path);

    eprintln!(
        "{dir}: max relative error {:.2e} ({}); worst value at {:.2} of the tolerance",
        worst_rel.0,
        worst_rel.1,
        case.worst_fraction.get()
    );
    let mut fresh = M::init(0);
    rnn_runtime::load_safetensors(&mut fresh, fixture(&format!("{dir}/params.safetensors")))
        .expect("load");
    (case, fresh)
}

/// Sample `b` of a `[B, T, F]` fixture input as a stack array.
fn sample<const T: usize, const F: usize>(x: &ArrayD<f32>, b: usize) -> [[f32; F]; T] {
    let mut one = [[0.0f32; F]; T];
    for (t, row) in one.iter_mut().enumerate() {
        for (k, v) in row.iter_mut().enumerate() {
            *v = x[IxDyn(&[b, t, k])];
        }
    }
    one
}

/// Sample `b` of a `[B, T]` fixture of token ids.
fn ids<const T: usize>(x: &ArrayD<f32>, b: usize) -> [u32; T] {
    let mut one = [0u32; T];
    for (t, v) in one.iter_mut().enumerate() {
        *v = u32::from_fixture(x[IxDyn(&[b, t])]);
    }
    one
}

/// Checks every sample's `predict_one` (and, where it exists, the stream) against
/// the fixture's batch output.
macro_rules! single_sample {
    (features, $case:expr, $model:expr, $m:ident, stream) => {{
        let (case, model) = (&$case, &$model);
        let x = &case.data["x"];
        for b in 0..x.shape()[0] {
            let one = sample::<{ $m::TIMESTEPS }, { $m::FEATURES }>(x, b);
            let got = model.predict_one(&one);
            let flat: Vec<f32> = got.flat();
            check_sample(case, b, &flat);
            let mut stream = model.stream();
            let mut last = Vec::new();
            let mut per_step = Vec::new();
            for x_t in one.iter() {
                last = stream.push(x_t).to_vec();
                per_step.extend_from_slice(&last);
            }
            let streamed = if flat.len() == last.len() {
                last
            } else {
                per_step
            };
            assert_eq!(streamed, flat, "{}: stream of sample {b}", case.dir);
        }
    }};
    (features, $case:expr, $model:expr, $m:ident) => {{
        let (case, model) = (&$case, &$model);
        let x = &case.data["x"];
        for b in 0..x.shape()[0] {
            let one = sample::<{ $m::TIMESTEPS }, { $m::FEATURES }>(x, b);
            let got = model.predict_one(&one);
            let flat: Vec<f32> = got.flat();
            check_sample(case, b, &flat);
        }
    }};
}

/// A single-sample output (`[f32; N]` or `[[f32; N]; T]`) as one row-major vector.
trait Flat {
    fn flat(&self) -> Vec<f32>;
}

impl<const N: usize> Flat for [f32; N] {
    fn flat(&self) -> Vec<f32> {
        self.to_vec()
    }
}

impl<const N: usize, const T: usize> Flat for [[f32; N]; T] {
    fn flat(&self) -> Vec<f32> {
        self.as_flattened().to_vec()
    }
}

/// `predict_one`'s output for sample `b`, flattened, against the fixture's `out`.
fn check_sample(case: &Case, b: usize, got: &[f32]) {
    let want = case.data["out"].index_axis(ndarray::Axis(0), b).to_owned();
    let want: Vec<f32> = want.iter().copied().collect();
    let w = worst(got, &want, case.abs, case.rel);
    assert!(
        w <= 1.0,
        "{}: predict_one[{b}]: {w}× tolerance\n got {got:?}\nwant {want:?}",
        case.dir
    );
}

#[test]
fn m1_many_to_many() {
    let (case, model) = run_case::<M1>("m1_many_to_many");
    single_sample!(features, case, model, M1, stream);
    let x3 = case
        .x::<f32>()
        .into_dimensionality::<ndarray::Ix3>()
        .unwrap();
    let typed = model.forward(&x3).unwrap();
    assert_eq!(typed.dim(), (3, 5, 2));
}

#[test]
fn m2_seq_stack() {
    let (case, model) = run_case::<M2>("m2_seq_stack");
    single_sample!(features, case, model, M2, stream);
}

#[test]
fn m3_bidirectional() {
    let (case, model) = run_case::<M3>("m3_bidirectional");
    single_sample!(features, case, model, M3);
}

#[test]
fn m4_bidirectional_seq() {
    let (case, model) = run_case::<M4>("m4_bidirectional_seq");
    single_sample!(features, case, model, M4);
}

#[test]
fn m5_bidirectional_stack() {
    let (case, model) = run_case::<M5>("m5_bidirectional_stack");
    single_sample!(features, case, model, M5);
}

#[test]
fn m6_embedding() {
    let (case, model) = run_case::<M6>("m6_embedding");
    let x = &case.data["x"];
    for b in 0..x.shape()[0] {
        let one = ids::<6>(x, b);
        let got = model.predict_one(&one).expect("valid ids");
        check_sample(&case, b, &got);
        let mut stream = model.stream();
        let mut last = [0.0f32; 3];
        for &id in &one {
            last = stream.push(id).expect("valid id");
        }
        assert_eq!(last, got, "stream of sample {b}");
    }
    // An id outside the vocabulary is an error, never a panic.
    let mut bad = ids::<6>(x, 0);
    bad[4] = 10;
    let err = model.predict_one(&bad).unwrap_err();
    assert!(err.to_string().contains("10"), "{err}");
    assert!(model.stream().push(99).is_err());
    let mut batch = case.x::<u32>();
    batch[IxDyn(&[1, 2])] = 12;
    assert!(rnn_runtime::forward(&model, batch.view()).is_err());
}

#[test]
fn m7_embedding_bidirectional_seq() {
    let (case, model) = run_case::<M7>("m7_embedding_bidirectional_seq");
    let x = &case.data["x"];
    for b in 0..x.shape()[0] {
        let got = model.predict_one(&ids::<5>(x, b)).expect("valid ids");
        let flat: Vec<f32> = got.flat();
        check_sample(&case, b, &flat);
    }
}

#[test]
fn m8_dropout() {
    let (case, model) = run_case::<M8>("m8_dropout");
    // Inference ignores dropout: predict_one and the stream match the batch output.
    single_sample!(features, case, model, M8, stream);
}

#[test]
fn m9_dropout_seq() {
    let (case, model) = run_case::<M9>("m9_dropout_seq");
    single_sample!(features, case, model, M9);
}

model! {
    /// M10 with every cell activation at its default.
    struct M10Default < input(4, 2), lstm(3, return_sequences = true),
        gru(3, return_sequences = true), simple_rnn(3), dense(2) >
}

#[test]
fn m10_cell_activations() {
    let (case, model) = run_case::<M10>("m10_cell_activations");
    single_sample!(features, case, model, M10, stream);
    // The case can see an override being ignored: the same weights with the default
    // activations give another output (and the case is live, see tests/fixtures_live.rs).
    let mut defaults = M10Default::new(0);
    rnn_runtime::load_safetensors(
        &mut defaults,
        fixture("m10_cell_activations/params.safetensors"),
    )
    .expect("the same parameter layout");
    let x = case.x::<f32>();
    let default_out = rnn_runtime::forward(&defaults, x.view()).expect("forward");
    let out = &case.data["out"];
    let grads: Vec<(String, Vec<f32>)> = case
        .names()
        .into_iter()
        .map(|n| {
            let g = case.data[&format!("grad.{n}")].iter().copied().collect();
            (n, g)
        })
        .collect();
    assert_live(
        case.dir,
        &grads,
        &live::rows(out),
        Some(&live::rows(&default_out)),
    );
}

#[test]
fn m11_initial_state() {
    let (case, model) = run_case::<M11>("m11_initial_state");
    single_sample!(features, case, model, M11, stream);
    let x = case
        .x::<f32>()
        .into_dimensionality::<ndarray::Ix3>()
        .unwrap();
    let d = &case.data;
    let mut states = Vec::new();
    for b in 0..x.dim().0 {
        let mut s = M11State::new();
        for j in 0..4 {
            s.l0.h[j] = d["h0.0"][IxDyn(&[b, j])];
            s.l0.c[j] = d["c0.0"][IxDyn(&[b, j])];
        }
        for j in 0..3 {
            s.l1.h[j] = d["h0.1"][IxDyn(&[b, j])];
        }
        states.push(s);
    }
    let (out, finals) = model.forward_from(&x, &states).expect("forward_from");
    case.check("out_from_state", out.as_slice().unwrap(), "out_from_state");
    let hn0: Vec<f32> = finals.iter().flat_map(|s| s.l0.h).collect();
    let cn0: Vec<f32> = finals.iter().flat_map(|s| s.l0.c).collect();
    let hn1: Vec<f32> = finals.iter().flat_map(|s| s.l1.h).collect();
    case.check("hn.0", &hn0, "hn.0");
    case.check("cn.0", &cn0, "cn.0");
    case.check("hn.1", &hn1, "hn.1");
    // A state count that differs from the batch is an error.
    assert!(model.forward_from(&x, &states[..1]).is_err());
}

/// The declared architecture, which exporters and importers read, is what the spec says.
#[test]
fn architecture_describes_the_spec() {
    use rnn_runtime::architecture::{Cell, Layer};
    use rnn_runtime::layers::CellActivation;
    use rnn_runtime::Activation;
    let a = M9::ARCHITECTURE;
    assert_eq!(
        (a.timesteps, a.features, a.tokens, a.sequence_output),
        (4, 2, false, false)
    );
    assert_eq!(
        a.layers,
        [
            Layer::Recurrent {
                cell: Cell::Gru,
                inputs: 2,
                hidden: 3,
                bidirectional: false,
                return_sequences: true,
                activation: CellActivation::Tanh,
                recurrent_activation: CellActivation::Sigmoid,
                dropout: 0.0,
                recurrent_dropout: 0.3,
            },
            Layer::Dropout {
                rate: 0.5,
                width: 3,
                per_step: true
            },
            Layer::Recurrent {
                cell: Cell::SimpleRnn,
                inputs: 3,
                hidden: 2,
                bidirectional: true,
                return_sequences: false,
                activation: CellActivation::Tanh,
                recurrent_activation: CellActivation::Sigmoid,
                dropout: 0.2,
                recurrent_dropout: 0.4,
            },
            Layer::Dense {
                inputs: 4,
                units: 1,
                activation: Activation::Linear,
                per_step: false
            },
        ]
    );
    let t = M7::ARCHITECTURE;
    assert!(t.tokens && t.sequence_output);
    assert_eq!(t.layers[0], Layer::Embedding { vocab: 7, dim: 3 });
    assert_eq!(t.layers[1].units(), 4);
}

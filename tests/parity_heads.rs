//! Parity with PyTorch and Keras for the output heads and sample weights: a softmax or
//! sigmoid output layer under a cross-entropy is trained and evaluated from its logits
//! (Keras's semantics; PyTorch's `CrossEntropyLoss` / `BCEWithLogitsLoss` of the
//! pre-activation), and per-sample weights reduce as Keras's `sum_over_batch_size`
//! (the weighted sum over the number of terms). Fixtures `tests/fixtures/h*`
//! (generated in float64 by `tests/fixtures/gen/models.py`, whose Keras 3 cross-check
//! of the loss value, `evaluate` and the gradients every case passes before it is
//! written; see "Output heads and sample weights" in the fixture README): output (the
//! probabilities), loss, every gradient, and parameters after 1 and 3 Adam steps. The
//! unweighted cases go through the declared loss's `loss_and_grads` and `Adam::step`,
//! the weighted ones through `fit` with `Fit::sample_weight`.
//!
//! Last, the claim end to end: a token classifier trained with a linear head
//! and with a softmax head (same seed, data and options, sparse cross-entropy) ends
//! with the same parameters and the same low loss.

mod common;

use std::collections::HashMap;

use common::live::{assert_live, rows};
use common::{fixture, read_all, worst};
use ndarray::{Array1, Array2, ArrayD, Ix2, Ix3};
use rnn_runtime::loss::Reading;
use rnn_runtime::{model, model_loss, Adam, Fit, Loss, Network, Params, Sgd};

/// Declares a model and keeps its spec as written, for the check against case.json.
macro_rules! head_model {
    ($name:ident: $($spec:tt)*) => {
        model! { struct $name < $($spec)* > }
        impl $name {
            const SPEC: &'static str = stringify!($($spec)*);
        }
    };
}

head_model! {
    H1: input(5), embedding(10, 4), lstm(5), dense(3, activation = softmax),
        loss = sparse_categorical_crossentropy
}
head_model! {
    H2: input(5, 3), gru(4, return_sequences = true), dense(3, activation = softmax),
        loss = categorical_crossentropy
}
head_model! {
    H3: input(4, 3), gru(4), dense(2, activation = sigmoid), loss = binary_crossentropy
}
head_model! {
    H4: input(6), embedding(8, 3), lstm(4, return_sequences = true),
        dense(3, activation = softmax), loss = sparse_categorical_crossentropy
}
head_model! {
    H5: input(4, 3), lstm(4), dense(2), loss = mse
}
head_model! {
    H6: input(5, 2), simple_rnn(4), dense(3, activation = sigmoid), loss = binary_crossentropy
}

/// A token id stored as an exact float.
fn id(v: f32) -> u32 {
    assert!(v >= 0.0 && v.fract() == 0.0, "token id {v}");
    v as u32
}

/// One case's fixture.
struct Case {
    dir: &'static str,
    json: serde_json::Value,
    data: HashMap<String, ArrayD<f32>>,
    abs: f64,
    rel: f64,
    worst: std::cell::Cell<f64>,
}

impl Case {
    fn read(dir: &'static str) -> Case {
        let text = std::fs::read_to_string(fixture(&format!("{dir}/case.json"))).expect("json");
        let json: serde_json::Value = serde_json::from_str(&text).expect("json");
        let data = read_all(&fixture(&format!("{dir}/data.safetensors")));
        let tol = &json["tolerance"];
        Case {
            dir,
            abs: tol["abs"].as_f64().unwrap(),
            rel: tol["rel"].as_f64().unwrap(),
            json,
            data,
            worst: std::cell::Cell::new(0.0),
        }
    }

    fn names(&self) -> Vec<String> {
        let names = self.json["param_names"].as_array().unwrap();
        names.iter().map(|v| v.as_str().unwrap().into()).collect()
    }

    fn weights(&self) -> Option<Array1<f32>> {
        let w = self.data.get("sample_weight")?;
        Some(w.clone().into_dimensionality().expect("sample_weight [B]"))
    }

    fn adam(&self) -> Adam {
        let cfg = &self.json["adam"];
        let f = |k: &str| cfg[k].as_f64().unwrap() as f32;
        Adam::new(f("lr"))
            .betas(f("beta1"), f("beta2"))
            .eps(f("eps"))
    }

    /// Asserts `got` matches the fixture tensor `key` within the case's tolerance
    /// (`worst` fails on NaN and on a length mismatch).
    fn check(&self, what: &str, got: &[f32], key: &str) {
        let want: Vec<f32> = self.data[key].iter().copied().collect();
        let w = worst(got, &want, self.abs, self.rel);
        assert!(
            w <= 1.0,
            "{}: {what}: {w} times the tolerance\n got {got:?}\nwant {want:?}",
            self.dir
        );
        self.worst.set(self.worst.get().max(w));
    }

    /// Every parameter of `model` against `{prefix}.<name>`.
    fn check_params<M: Params>(&self, model: &M, prefix: &str) {
        for name in self.names() {
            let key = format!("{prefix}.{name}");
            let p = model.param(&name).expect("parameter");
            self.check(&key, p.as_slice().unwrap(), &key);
        }
    }

    /// The fixture's data is live (`tests/common/live.rs`): every gradient tensor
    /// non-trivial, the outputs varying across samples.
    fn assert_live(&self) {
        let grads: Vec<(String, Vec<f32>)> = self
            .names()
            .into_iter()
            .map(|n| {
                let g = self.data[&format!("grad.{n}")].iter().copied().collect();
                (n, g)
            })
            .collect();
        assert_live(self.dir, &grads, &rows(&self.data["out"]), None);
    }
}

/// Tokens and whitespace-free text: `stringify!` spaces tokens its own way.
fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The fixture describes `M`: the spec as declared (the `loss = …` entry included),
/// the declared loss, the parameter names and order.
fn check_declaration<M: Network + Params>(case: &Case, spec: &str) {
    let stored = case.json["spec"].as_str().unwrap();
    assert_eq!(squeeze(stored), squeeze(spec), "{}: spec", case.dir);
    assert!(stored.contains("loss = "), "{}: {stored}", case.dir);
    let loss = match case.json["loss"].as_str().unwrap() {
        "mse" => Loss::Mse,
        "binary_crossentropy" => Loss::BinaryCrossentropy,
        "categorical_crossentropy" => Loss::CategoricalCrossentropy,
        "sparse_categorical_crossentropy" => Loss::SparseCategoricalCrossentropy,
        other => panic!("{}: loss {other}", case.dir),
    };
    assert_eq!(M::LOSS, Some(loss), "{}: declared loss", case.dir);
    assert_eq!(model_loss::<M>().unwrap(), loss);
    let names: Vec<&str> = M::param_specs().iter().map(|s| s.name).collect();
    assert_eq!(
        case.names(),
        names,
        "{}: parameter names and order",
        case.dir
    );
    let reads = match loss
        .reading(M::ARCHITECTURE.output())
        .expect("a valid head")
    {
        Reading::Logits => "logits",
        Reading::Output => "output",
    };
    assert_eq!(
        case.json["reads"], reads,
        "{}: what the loss reads",
        case.dir
    );
}

/// The parity test of one case. `$x` turns the fixture's `x` into the model's typed
/// input (`[B, T, F]` features or `[B, T]` token ids).
macro_rules! parity_case {
    ($test:ident, $m:ident, $dir:literal, $x:expr) => {
        #[test]
        fn $test() {
            let case = Case::read($dir);
            check_declaration::<$m>(&case, $m::SPEC);
            case.assert_live();
            let params = fixture(concat!($dir, "/params.safetensors"));
            let mut model = $m::new(0);
            model.load_safetensors(&params).expect("load");
            let x = ($x)(&case.data["x"]);
            let y = case.data["y"].clone();

            // The probabilities (or the regression output), as Keras predicts them.
            let out = model.forward(&x).expect("forward");
            assert_eq!(out.shape(), case.data["out"].shape(), "{}: output", $dir);
            case.check("out", out.as_slice().unwrap(), "out");
            assert_eq!(model.predict(&x).unwrap(), out);

            match case.weights() {
                None => unweighted(&case, &mut model, &x, &y),
                Some(w) => weighted(&case, &params, &x, &y, &w, || $m::new(0)),
            }
            eprintln!(
                "{}: worst value at {:.3} of the tolerance",
                $dir,
                case.worst.get()
            );
        }
    };
}

/// The declared loss's `loss_and_grads`, `evaluate`, and Adam steps with
/// `loss_and_grads` + `Adam::step`.
fn unweighted<M, X>(case: &Case, model: &mut M, x: &X, y: &ArrayD<f32>)
where
    M: Network + Params,
    X: TypedInput<M>,
{
    let (value, grads) = x.loss_and_grads(model, y);
    case.check("loss", &[value], "loss");
    for name in case.names() {
        let key = format!("grad.{name}");
        let g: Vec<f32> = grads
            .get(&name)
            .expect("gradient")
            .iter()
            .copied()
            .collect();
        case.check(&key, &g, &key);
    }
    // `evaluate` (inference, the declared loss) gives the same value here: no dropout.
    case.check("evaluate", &[x.evaluate(model, y)], "loss");

    let mut adam = case.adam();
    adam.step(model, &grads).expect("step");
    case.check_params(model, "adam1");
    for _ in 1..3 {
        let (_, grads) = x.loss_and_grads(model, y);
        adam.step(model, &grads).expect("step");
    }
    case.check_params(model, "adam3");
}

/// `fit` with `Fit::sample_weight`: one full batch, no shuffling. Plain SGD with rate 1
/// gives the weighted gradient back (`p - p'`), which Adam, invariant to the gradient's
/// scale, could not tell from one divided by the weights' sum; then Adam for 1 and 3
/// steps with the options passed by `&mut` (the second call continues the first).
fn weighted<M, X>(
    case: &Case,
    params: &std::path::Path,
    x: &X,
    y: &ArrayD<f32>,
    w: &Array1<f32>,
    new: impl Fn() -> M,
) where
    M: Network + Params,
    X: TypedInput<M>,
{
    let batch = w.len();
    let load = || {
        let mut m = new();
        rnn_runtime::load_safetensors(&mut m, params).expect("load");
        m
    };
    fn options<O: rnn_runtime::Optimizer>(opt: O, batch: usize, w: &Array1<f32>) -> Fit<O> {
        Fit::new(opt)
            .epochs(1)
            .batch_size(batch)
            .shuffle(false)
            .sample_weight(w)
            .verbose(false)
    }

    let before = load();
    let mut model = load();
    let history = x.fit(&mut model, y, &mut options(Sgd::new(1.0), batch, w));
    case.check("history.loss[0] (SGD)", &history.loss, "loss");
    for name in case.names() {
        let p0 = before.param(&name).unwrap();
        let p1 = model.param(&name).unwrap();
        let g: Vec<f32> = p0.iter().zip(p1.iter()).map(|(a, b)| a - b).collect();
        let key = format!("grad.{name}");
        case.check(&format!("{key} (p - p' after SGD(1))"), &g, &key);
    }

    let mut model = load();
    let mut opts = options(case.adam(), batch, w);
    let first = x.fit(&mut model, y, &mut opts);
    assert_eq!(first.loss.len(), 1);
    case.check("history.loss[0]", &first.loss, "loss");
    case.check_params(&model, "adam1");
    for _ in 1..3 {
        x.fit(&mut model, y, &mut opts);
    }
    assert_eq!(opts.optimizer().steps(), 3);
    case.check_params(&model, "adam3");
}

/// The generated typed methods of the models (`loss_and_grads`, `evaluate`, `fit`),
/// reached from the generic helpers above through their typed input.
trait TypedInput<M> {
    fn loss_and_grads(&self, model: &M, y: &ArrayD<f32>) -> (f32, rnn_runtime::Grads);
    fn evaluate(&self, model: &M, y: &ArrayD<f32>) -> f32;
    fn fit<O: rnn_runtime::Optimizer>(
        &self,
        model: &mut M,
        y: &ArrayD<f32>,
        opts: &mut Fit<O>,
    ) -> rnn_runtime::History;
}

macro_rules! typed_input {
    ($m:ident, $x:ty) => {
        impl TypedInput<$m> for $x {
            fn loss_and_grads(&self, model: &$m, y: &ArrayD<f32>) -> (f32, rnn_runtime::Grads) {
                model.loss_and_grads(self, y).expect("loss_and_grads")
            }
            fn evaluate(&self, model: &$m, y: &ArrayD<f32>) -> f32 {
                model.evaluate(self, y).expect("evaluate")
            }
            fn fit<O: rnn_runtime::Optimizer>(
                &self,
                model: &mut $m,
                y: &ArrayD<f32>,
                opts: &mut Fit<O>,
            ) -> rnn_runtime::History {
                model.fit(self, y, opts).expect("fit")
            }
        }
    };
}

typed_input!(H1, Array2<u32>);
typed_input!(H2, ndarray::Array3<f32>);
typed_input!(H3, ndarray::Array3<f32>);
typed_input!(H4, Array2<u32>);
typed_input!(H5, ndarray::Array3<f32>);
typed_input!(H6, ndarray::Array3<f32>);

fn tokens(x: &ArrayD<f32>) -> Array2<u32> {
    x.mapv(id).into_dimensionality::<Ix2>().unwrap()
}

fn features(x: &ArrayD<f32>) -> ndarray::Array3<f32> {
    x.clone().into_dimensionality::<Ix3>().unwrap()
}

parity_case!(h1_softmax_sparse, H1, "h1_softmax_sparse", tokens);
parity_case!(
    h2_softmax_categorical_seq,
    H2,
    "h2_softmax_categorical_seq",
    features
);
parity_case!(h3_sigmoid_binary, H3, "h3_sigmoid_binary", features);
parity_case!(h4_weighted, H4, "h4_weighted", tokens);
parity_case!(h5_weighted_mse, H5, "h5_weighted_mse", features);
parity_case!(
    h6_weighted_sigmoid_binary,
    H6,
    "h6_weighted_sigmoid_binary",
    features
);

model! {
    struct LinearHead < input(6), embedding(12, 4), gru(8), dense(3),
        loss = sparse_categorical_crossentropy >
}
model! {
    struct SoftmaxHead < input(6), embedding(12, 4), gru(8), dense(3, activation = softmax),
        loss = sparse_categorical_crossentropy >
}

/// Every parameter of a model, by name, in canonical order.
fn all_params<M: Params>(model: &M) -> Vec<(String, Vec<f32>)> {
    M::param_specs()
        .iter()
        .map(|s| {
            let p = model.param(s.name).unwrap();
            (s.name.to_string(), p.iter().copied().collect())
        })
        .collect()
}

/// The check: the same token classifier, trained with a linear head (logits,
/// PyTorch's habit) and with a softmax head (probabilities, Keras's), reaches the same
/// low loss. The softmax head is trained from its logits, so the two runs are the same
/// computation: same losses per epoch, same parameters, bit for bit.
#[test]
fn the_classifier_reaches_the_same_low_loss_with_either_head() {
    // 60 sequences of 6 tokens; the class is the first token mod 3, so the GRU must
    // carry it over five more steps.
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u32
    };
    let x = Array2::from_shape_fn((60, 6), |_| next() % 12);
    let y = Array1::from_shape_fn(60, |i| (x[[i, 0]] % 3) as f32);
    let opts = || {
        Fit::new(Adam::new(2e-2))
            .epochs(EPOCHS)
            .batch_size(15)
            .seed(4)
            .verbose(false)
    };
    const EPOCHS: usize = 60;

    let mut linear = LinearHead::new(7);
    let mut softmax = SoftmaxHead::new(7);
    assert_eq!(
        all_params(&linear),
        all_params(&softmax),
        "same initial weights"
    );
    let first = linear.evaluate(&x, &y).unwrap();
    assert_eq!(softmax.evaluate(&x, &y).unwrap(), first);

    let h_linear = linear.fit(&x, &y, opts()).expect("fit, linear head");
    let h_softmax = softmax.fit(&x, &y, opts()).expect("fit, softmax head");
    assert_eq!(h_linear.loss, h_softmax.loss, "the same loss every epoch");
    assert_eq!(
        all_params(&linear),
        all_params(&softmax),
        "the same trained model"
    );

    let loss = softmax.evaluate(&x, &y).unwrap();
    assert_eq!(linear.evaluate(&x, &y).unwrap(), loss);
    eprintln!(
        "loss {first:.4} -> {loss:.2e} after {EPOCHS} epochs (last epoch's training mean {:.2e})",
        h_softmax.loss[EPOCHS - 1]
    );
    assert!(loss < 1e-2, "loss {loss}");

    // The heads differ only in what they output: logits against their softmax.
    let logits = linear.predict(&x).unwrap();
    let probs = softmax.predict(&x).unwrap();
    for (z, p) in logits.outer_iter().zip(probs.outer_iter()) {
        let max = z.fold(f32::MIN, |m, &v| m.max(v));
        let sum: f32 = z.iter().map(|&v| (v - max).exp()).sum();
        for (&zv, &pv) in z.iter().zip(p.iter()) {
            assert!(((zv - max).exp() / sum - pv).abs() < 1e-6, "{z} vs {p}");
        }
    }
    for (i, p) in probs.outer_iter().enumerate() {
        let class = (0..3).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
        assert_eq!(class as f32, y[i], "sample {i}: {p}");
    }
}

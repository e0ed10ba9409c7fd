//! Parity with PyTorch's packed sequences, and with Keras's masks, for variable-length
//! batches. Fixtures `tests/fixtures/v*` (generated in float64 by
//! `tests/fixtures/gen/lengths.py`; see "Variable-length sequences" in the fixture
//! README): right-padded batches with unsorted lengths, one sample of the full length
//! and one of length 1, the reference being `pack_padded_sequence(x, lengths,
//! batch_first=True, enforce_sorted=False)` through PyTorch's modules. Each case checks
//! the output at every position (exactly 0 at the padded steps of a sequence output),
//! the loss (a sequence loss averages over valid steps only), every gradient,
//! `evaluate`, and the parameters after 1 and 3 Adam steps, by `Adam::step` and by
//! `fit` over the batch.
//!
//! v1 – v4 pass the lengths to the `_lengths` functions, and their padded steps hold
//! garbage (about 100 in every feature), so that one padded step reaching a state, an
//! output or the loss fails the comparison. v5 (`embedding(.., mask_zero = true)`) and
//! v6 (`masking(0.0)`) read their lengths from the padding: they go through the plain
//! `forward` / `loss_and_grads` / `evaluate` / `fit` / `predict` and through the
//! `_lengths` functions with the fixture's lengths, and are also compared with Keras
//! 3's predictions of the same model (`keras_out`).

use crate::case::{load, Case};
use crate::common::live::{assert_live, rows};
use ndarray::{ArrayD, Ix2, Ix3, IxDyn};
use rnn_runtime::{model, Error, Fit, Loss, Network};

model! { struct V1 < input(6, 3), lstm(4), dense(2) > }
model! { struct V2 < input(5, 2), bidirectional(gru(3)), dense(2) > }
model! { struct V3 < input(5, 3), lstm(4, return_sequences = true), dense(2) > }
model! { struct V4 < input(6, 2), gru(4, return_sequences = true), simple_rnn(3), dense(1) > }
model! {
    struct V5 < input(7), embedding(12, 4, mask_zero = true), lstm(3),
        dense(3, activation = softmax), loss = sparse_categorical_crossentropy >
}
model! { struct V6 < input(5, 2), masking(0.0), gru(3, return_sequences = true), dense(2) > }

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

/// Where a case's lengths come from: given to the `_lengths` functions (v1 – v4), or
/// read by the model from its padding (`mask_zero`, `masking`: v5, v6).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lengths {
    Given,
    FromMask,
}

impl Case {
    fn x<T: FromFixture>(&self) -> ArrayD<T> {
        self.data["x"].mapv(T::from_fixture)
    }

    fn y(&self) -> ArrayD<f32> {
        self.data["y"].clone()
    }

    fn loss(&self) -> Loss {
        match self.json["loss"].as_str().expect("loss") {
            "mse" => Loss::Mse,
            "sparse_categorical_crossentropy" => Loss::SparseCategoricalCrossentropy,
            other => panic!("{}: unexpected loss {other}", self.dir),
        }
    }

    /// The lengths as `data.safetensors` stores them (exact floats), which must be
    /// those `case.json` lists.
    fn lengths(&self) -> Vec<usize> {
        let stored: Vec<usize> = self.data["lengths"]
            .iter()
            .map(|&v| {
                assert!(v >= 1.0 && v.fract() == 0.0, "{}: length {v}", self.dir);
                v as usize
            })
            .collect();
        let listed: Vec<usize> = self.json["lengths"]
            .as_array()
            .expect("lengths")
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(
            stored, listed,
            "{}: lengths in data and case.json",
            self.dir
        );
        stored
    }

    /// A model output against `key` (`out` or `keras_out`) at every position; at the
    /// padded steps of a sequence output it must be exactly 0, not merely small (the
    /// library's definition, which the fixture stores there).
    fn check_output(&self, what: &str, out: &ArrayD<f32>, key: &str) {
        assert_eq!(
            out.shape(),
            self.data[key].shape(),
            "{}: {what}: shape",
            self.dir
        );
        let got: Vec<f32> = out.iter().copied().collect();
        self.check(what, &got, key);
        if out.ndim() == 3 {
            let (steps, units) = (out.shape()[1], out.shape()[2]);
            for (b, &len) in self.lengths().iter().enumerate() {
                for t in len..steps {
                    for o in 0..units {
                        let v = out[IxDyn(&[b, t, o])];
                        assert!(
                            v == 0.0,
                            "{}: {what}: sample {b} (length {len}) has {v} at padded step {t}, \
                             output {o}; padded steps output 0",
                            self.dir
                        );
                    }
                }
            }
        }
    }

    /// Loss and every gradient against `loss` and `grad.*`.
    fn check_grads(&self, what: &str, value: f32, grads: &rnn_runtime::Grads) {
        self.check(&format!("{what}: loss"), &[value], "loss");
        for name in self.names() {
            let key = format!("grad.{name}");
            let g: Vec<f32> = grads
                .get(&name)
                .expect("gradient")
                .iter()
                .copied()
                .collect();
            self.check(&format!("{what}: {key}"), &g, &key);
        }
    }

    /// Every parameter of `model` against `{prefix}.<name>`.
    fn check_params<M: Network>(&self, what: &str, model: &M, prefix: &str) {
        for name in self.names() {
            let key = format!("{prefix}.{name}");
            let p = model.param(&name).expect("parameter");
            let p: Vec<f32> = p.iter().copied().collect();
            self.check(&format!("{what}: {key}"), &p, &key);
        }
    }

    /// The fixture is live (`tests/common/live.rs`): every gradient tensor non-trivial,
    /// the outputs varying across samples.
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

/// Output, loss, gradients, `evaluate` and Adam steps of one case through the runtime's
/// generic API: the `_lengths` functions with the fixture's lengths and, for a masked
/// model, the plain functions too (lengths read from the padding; Adam then steps on
/// their gradients, the path `fit` takes). Returns the case and the model with the
/// fixture's initial parameters.
fn run_case<M>(dir: &'static str, source: Lengths) -> (Case, M)
where
    M: Network,
    M::Input: FromFixture,
{
    let case = Case::read(dir);
    case.assert_live();
    assert_eq!(
        case.json["lengths_from"].as_str().unwrap() == "given",
        source == Lengths::Given,
        "{dir}: where the lengths come from"
    );
    let mut model = load::<M>(&case);
    let x = case.x::<M::Input>();
    let y = case.y();
    let lengths = case.lengths();
    let loss = case.loss();
    let masked = source == Lengths::FromMask;

    let out = rnn_runtime::forward_lengths(&model, x.view(), &lengths).expect("forward_lengths");
    case.check_output("forward_lengths", &out, "out");
    if masked {
        let plain = rnn_runtime::forward(&model, x.view()).expect("forward");
        case.check_output("forward (lengths from the mask)", &plain, "out");
        // Keras's predictions of the same model, 0 at padded steps (where Keras itself
        // repeats the last valid output; the fixture README says why).
        case.check_output("forward against Keras", &plain, "keras_out");
        case.check_output("forward_lengths against Keras", &out, "keras_out");
    }

    let (value, grads) =
        rnn_runtime::loss_and_grads_lengths(&model, x.view(), y.view(), &lengths, loss, 0)
            .expect("loss_and_grads_lengths");
    case.check_grads("loss_and_grads_lengths", value, &grads);
    // Inference and training agree here: no dropout.
    let evaluated = rnn_runtime::evaluate_lengths(&model, x.view(), y.view(), &lengths, loss)
        .expect("evaluate_lengths");
    case.check("evaluate_lengths", &[evaluated], "loss");
    let grads = if masked {
        let (value, plain) = rnn_runtime::loss_and_grads(&model, x.view(), y.view(), loss, 0)
            .expect("loss_and_grads");
        case.check_grads("loss_and_grads (lengths from the mask)", value, &plain);
        let evaluated = rnn_runtime::evaluate(&model, x.view(), y.view(), loss).expect("evaluate");
        case.check("evaluate (lengths from the mask)", &[evaluated], "loss");
        plain
    } else {
        grads
    };

    let mut adam = case.adam();
    adam.step(&mut model, &grads).expect("step");
    case.check_params("Adam::step", &model, "adam1");
    for _ in 1..3 {
        let (_, grads) = if masked {
            rnn_runtime::loss_and_grads(&model, x.view(), y.view(), loss, 0)
        } else {
            rnn_runtime::loss_and_grads_lengths(&model, x.view(), y.view(), &lengths, loss, 0)
        }
        .expect("grads");
        adam.step(&mut model, &grads).expect("step");
    }
    case.check_params("Adam::step", &model, "adam3");

    fit_case::<M>(&case, source);

    let (rel, at) = case.worst_rel.borrow().clone();
    eprintln!(
        "{dir}: max relative error {rel:.2e} ({at}); worst value at {:.3} of the tolerance",
        case.worst_fraction.get()
    );
    let fresh = load::<M>(&case);
    (case, fresh)
}

/// `fit` over the whole batch as one, not shuffled: `history.loss[0]` against `loss`
/// and the parameters after 1 and 3 epochs against `adam1.*` and `adam3.*` (the second
/// and third calls continue the first through the same options). The lengths go
/// through `Fit::lengths`, or a masked model reads them from the padding.
fn fit_case<M>(case: &Case, source: Lengths)
where
    M: Network,
    M::Input: FromFixture,
{
    let mut model = load::<M>(case);
    let x = case.x::<M::Input>();
    let y = case.y();
    let lengths = case.lengths();
    // `fit` trains with the model's loss: the declared one (v5), else MSE.
    assert_eq!(rnn_runtime::model_loss::<M>().unwrap(), case.loss());
    let options = Fit::new(case.adam())
        .epochs(1)
        .batch_size(lengths.len())
        .shuffle(false)
        .verbose(false);
    let mut options = match source {
        Lengths::Given => options.lengths(&lengths),
        Lengths::FromMask => options,
    };
    let first = rnn_runtime::fit(&mut model, x.view(), y.view(), &mut options).expect("fit");
    case.check("fit: history.loss[0]", &first.loss, "loss");
    case.check_params("fit", &model, "adam1");
    for _ in 1..3 {
        rnn_runtime::fit(&mut model, x.view(), y.view(), &mut options).expect("fit");
    }
    assert_eq!(options.optimizer().steps(), 3);
    case.check_params("fit", &model, "adam3");
}

/// Lengths outside `1..=T`, or not one per sample, are errors that name the problem.
fn refuses_bad_lengths<M>(case: &Case, model: &M)
where
    M: Network,
    M::Input: FromFixture,
{
    let x = case.x::<M::Input>();
    let steps = case.json["timesteps"].as_u64().unwrap() as usize;
    let good = case.lengths();
    for (sample, bad) in [(2, 0), (0, steps + 1)] {
        let mut lengths = good.clone();
        lengths[sample] = bad;
        let err = rnn_runtime::forward_lengths(model, x.view(), &lengths).unwrap_err();
        assert!(
            matches!(err, Error::Length { sample: s, length, steps: t } if s == sample && length == bad && t == steps),
            "{}: length {bad} for sample {sample}: {err:?}",
            case.dir
        );
    }
    let err = rnn_runtime::forward_lengths(model, x.view(), &good[1..]).unwrap_err();
    assert!(
        err.to_string().contains("lengths"),
        "{}: one length short: {err}",
        case.dir
    );
}

#[test]
fn v1_lstm_last() {
    let (case, model) = run_case::<V1>("v1_lstm_last", Lengths::Given);
    refuses_bad_lengths(&case, &model);
}

#[test]
fn v2_bigru() {
    run_case::<V2>("v2_bigru", Lengths::Given);
}

#[test]
fn v3_lstm_seq_masked_loss() {
    run_case::<V3>("v3_lstm_seq_masked_loss", Lengths::Given);
}

#[test]
fn v4_gru_simple_rnn() {
    run_case::<V4>("v4_gru_simple_rnn", Lengths::Given);
}

#[test]
fn v5_tokens_mask_zero() {
    let (case, model) = run_case::<V5>("v5_tokens_mask_zero", Lengths::FromMask);
    // The typed methods read the mask as the generic functions do.
    let x = case.x::<u32>().into_dimensionality::<Ix2>().unwrap();
    let predicted = model.predict(&x).expect("predict").into_dyn();
    case.check_output("predict", &predicted, "out");
    // A sample that is all padding has no length at all: an error, not an output.
    let mut empty = x.clone();
    empty.row_mut(3).fill(0);
    let err = model.predict(&empty).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Length {
                sample: 3,
                length: 0,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn v6_masking_gru_seq() {
    let (case, model) = run_case::<V6>("v6_masking_gru_seq", Lengths::FromMask);
    let x = case.x::<f32>().into_dimensionality::<Ix3>().unwrap();
    let predicted = model.predict(&x).expect("predict").into_dyn();
    case.check_output("predict", &predicted, "out");
    let mut empty = x.clone();
    empty.index_axis_mut(ndarray::Axis(0), 1).fill(0.0);
    let err = model.predict(&empty).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Length {
                sample: 1,
                length: 0,
                ..
            }
        ),
        "{err:?}"
    );
}

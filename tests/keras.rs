//! Keras weight import: the seed model and small models of every supported layer,
//! saved by Keras itself (`tests/fixtures/keras_seed/`, `tests/fixtures/keras/`,
//! written by `gen/keras_files.py`), loaded from Keras 3's `.weights.h5` and `.keras`
//! and from the legacy HDF5 files of Keras 2 / tf.keras and Keras 3 (`model.save`
//! and `model.save_weights` to `.h5`), must reproduce Keras's predictions; every
//! mismatch and every damaged file is refused with a typed error and leaves the
//! model unchanged.

mod common;

use std::path::{Path, PathBuf};

use common::{fixture, max_abs_diff, read_all};
use ndarray::ArrayD;
use rnn_runtime::{keras, model, Error, Network, Params};

model! { struct Seed < input(20, 1), lstm(50), dense(1) > }
model! { struct K1 < input(6, 3), gru(5), dense(2) > }
model! { struct K2 < input(5, 2), simple_rnn(4, activation = relu), dense(3, activation = sigmoid) > }
model! {
    struct K3 < input(6, 2), lstm(5, return_sequences = true, recurrent_activation = tanh),
        lstm(4), dense(1) >
}
model! { struct K4 < input(5, 3), bidirectional(lstm(4)), dense(2) > }
model! {
    struct K5 < input(5, 2), gru(4, return_sequences = true), dense(3, activation = tanh),
        dense(2) >
}
model! { struct K6 < input(6), embedding(10, 4), lstm(5), dense(3) > }
model! { struct K7 < input(5, 2), lstm(4), dropout(0.3), dense(1) > }
model! { struct K8 < input(4, 2), gru(3), dense(1) > }
model! { struct K9 < input(4, 2), simple_rnn(3), dense(2) > }
model! { struct K10 < input(5, 2), bidirectional(gru(3, return_sequences = true)), dense(1) > }
model! {
    struct K11 < input(5, 2),
        lstm(4, return_sequences = true, activation = linear, recurrent_activation = relu),
        lstm(3, activation = sigmoid, recurrent_activation = tanh), dense(2) >
}
model! {
    struct K12 < input(5, 2),
        gru(4, return_sequences = true, activation = relu, recurrent_activation = linear),
        gru(3, activation = sigmoid, recurrent_activation = tanh), dense(2) >
}

// The legacy `.h5` cases (k13 is k3's architecture, k16 is k8's).
model! {
    struct K14 < input(6, 3), gru(5, return_sequences = true), gru(4), dense(2) >
}
model! {
    struct K15 < input(7), embedding(10, 4), bidirectional(lstm(3, return_sequences = true)),
        dropout(0.25), simple_rnn(3), dense(2) >
}

// Declared models that differ from the files in one respect each.
model! { struct SeedUnits < input(20, 1), lstm(40), dense(1) > }
model! { struct SeedKind < input(20, 1), gru(50), dense(1) > }
model! { struct SeedExtraDense < input(20, 1), lstm(50), dense(1), dense(1) > }
model! { struct SeedFeatures < input(20, 2), lstm(50), dense(1) > }
model! { struct K5Short < input(5, 2), gru(4, return_sequences = true), dense(3, activation = tanh) > }
model! { struct K5Last < input(5, 2), gru(4), dense(3, activation = tanh), dense(2) > }
model! { struct K2Tanh < input(5, 2), simple_rnn(4), dense(3, activation = sigmoid) > }
model! { struct K7NoDropout < input(5, 2), lstm(4), dense(1) > }
model! { struct K11Defaults < input(5, 2), lstm(4, return_sequences = true), lstm(3), dense(2) > }
model! { struct K12Defaults < input(5, 2), gru(4, return_sequences = true), gru(3), dense(2) > }
model! { struct K3Units < input(6, 2), lstm(6, return_sequences = true, recurrent_activation = tanh), lstm(4), dense(1) > }
model! { struct K3Defaults < input(6, 2), lstm(5, return_sequences = true), lstm(4), dense(1) > }
model! { struct K3Features < input(6, 3), lstm(5, return_sequences = true, recurrent_activation = tanh), lstm(4), dense(1) > }
model! { struct K14Seq < input(6, 3), gru(5, return_sequences = true), gru(4, return_sequences = true), dense(2) > }
model! { struct K14Lstm < input(6, 3), lstm(5, return_sequences = true), gru(4), dense(2) > }
model! { struct K14Short < input(6, 3), gru(5, return_sequences = true), gru(4) > }
model! { struct K14Extra < input(6, 3), gru(5, return_sequences = true), gru(4), dense(2), dense(1) > }
model! {
    struct K15NoDropout < input(7), embedding(10, 4), bidirectional(lstm(3, return_sequences = true)),
        simple_rnn(3), dense(2) >
}
model! {
    struct K15Forward < input(7), embedding(10, 4), lstm(3, return_sequences = true),
        dropout(0.25), simple_rnn(3), dense(2) >
}

/// Keras's predictions must be reproduced to this, absolutely.
const TOL: f64 = 1e-5;

fn case(name: &str, file: &str) -> PathBuf {
    fixture(&format!("keras/{name}/{file}"))
}

/// A fixture value as the model's input element (token ids are stored as exact floats).
trait FromF32: Copy {
    fn from_f32(v: f32) -> Self;
}

impl FromF32 for f32 {
    fn from_f32(v: f32) -> Self {
        v
    }
}

impl FromF32 for u32 {
    fn from_f32(v: f32) -> Self {
        assert!(v >= 0.0 && v.fract() == 0.0, "token id {v}");
        v as u32
    }
}

fn params<M: Params>(m: &M) -> Vec<Vec<f32>> {
    let mut out = Vec::new();
    m.visit_params(&mut |t| out.push(t.to_vec()));
    out
}

/// Largest `|got - want|` of the model's output for `io`'s `x` against its `y`.
fn max_error<M: Network>(net: &M, io: &Path) -> f64
where
    M::Input: FromF32,
{
    let data = read_all(io);
    let x = data["x"].mapv(M::Input::from_f32);
    let got: ArrayD<f32> = rnn_runtime::forward(net, x.view()).expect("forward");
    let want = &data["y"];
    assert_eq!(got.shape(), want.shape());
    max_abs_diff(got.iter(), want.iter())
}

/// Loads both files of a case into fresh models: each must match Keras's predictions,
/// and the two loads must give the same parameters.
fn both_formats<M: Network>(dir: &str)
where
    M::Input: FromF32,
{
    let io = fixture(&format!("{dir}/io.safetensors"));
    let mut from_h5 = M::init(1);
    keras::load_keras_weights(&mut from_h5, fixture(&format!("{dir}/model.weights.h5")))
        .unwrap_or_else(|e| panic!("{dir}: {e}"));
    let mut from_keras = M::init(2);
    keras::load_keras(&mut from_keras, fixture(&format!("{dir}/model.keras")))
        .unwrap_or_else(|e| panic!("{dir}: {e}"));
    assert_eq!(params(&from_h5), params(&from_keras), "{dir}");
    for (what, net) in [("weights.h5", &from_h5), (".keras", &from_keras)] {
        let err = max_error(net, &io);
        println!("{dir} {what}: max |error| {err:.2e}");
        assert!(err <= TOL, "{dir} {what}: max |error| {err:e} > {TOL:e}");
    }
}

#[test]
fn seed_model_matches_keras_and_weights_safetensors() {
    both_formats::<Seed>("keras_seed");
    let mut reference = Seed::new(3);
    reference
        .load_safetensors(fixture("keras_seed/weights.safetensors"))
        .unwrap();
    let mut net = Seed::new(4);
    keras::load_keras_weights(&mut net, fixture("keras_seed/model.weights.h5")).unwrap();
    assert_eq!(
        net, reference,
        "converted weights equal weights.safetensors exactly"
    );
    let mut net = Seed::new(5);
    keras::load_keras(&mut net, fixture("keras_seed/model.keras")).unwrap();
    assert_eq!(net, reference);

    // The generated methods are the same calls.
    let mut net = Seed::new(6);
    net.load_keras(fixture("keras_seed/model.keras")).unwrap();
    assert_eq!(net, reference);
    let mut net = Seed::new(7);
    net.load_keras_weights(fixture("keras_seed/model.weights.h5"))
        .unwrap();
    assert_eq!(net, reference);
    // Each names the other for a file of the other kind, and changes nothing.
    let before = net.clone();
    assert!(net
        .load_keras(fixture("keras_seed/model.weights.h5"))
        .is_err());
    assert_eq!(net, before);
}

#[test]
fn every_layer_kind_matches_keras() {
    both_formats::<K1>("keras/k1_gru");
    both_formats::<K2>("keras/k2_simple_rnn");
    both_formats::<K3>("keras/k3_stacked_lstm");
    both_formats::<K4>("keras/k4_bidirectional");
    both_formats::<K5>("keras/k5_many_to_many");
    both_formats::<K6>("keras/k6_embedding");
    both_formats::<K7>("keras/k7_dropout");
    both_formats::<K9>("keras/k9_no_bias");
    both_formats::<K10>("keras/k10_bidirectional_gru_seq");
}

/// The activation overrides of LSTM and GRU (linear, relu, sigmoid and tanh in roles
/// other than their defaults) reproduce Keras; the same weights with the default
/// activations do not, so the comparison sees an ignored override, and `.keras`
/// refuses the default-activation model by its config.
#[test]
fn cell_activation_overrides_match_keras() {
    both_formats::<K11>("keras/k11_lstm_overrides");
    both_formats::<K12>("keras/k12_gru_overrides");
    fn defaults_differ<M: Network + Clone + PartialEq + std::fmt::Debug>(dir: &str)
    where
        M::Input: FromF32,
    {
        let mut twin = M::init(1);
        keras::load_keras_weights(&mut twin, fixture(&format!("{dir}/model.weights.h5"))).unwrap();
        let err = max_error(&twin, &fixture(&format!("{dir}/io.safetensors")));
        assert!(
            err >= 1e-3,
            "{dir}: default activations within {err:e} of Keras"
        );
        let err = refused::<M>(&fixture(&format!("{dir}/model.keras")), archive);
        assert_layer(&err, 0, &["activation"]);
    }
    defaults_differ::<K11Defaults>("keras/k11_lstm_overrides");
    defaults_differ::<K12Defaults>("keras/k12_gru_overrides");
}

/// Loads a legacy case into fresh models: `model.h5` with `load_keras` (config
/// checked) and with `load_keras_weights` (its `model_weights` alone), and each file of
/// `weights_files` (weights-only files beside it) with `load_keras_weights`. Every load
/// must reproduce Keras's predictions and give the same parameters as the others.
/// Returns the model loaded by `load_keras`.
fn legacy_files<M: Network + Clone>(dir: &str, weights_files: &[&str]) -> M
where
    M::Input: FromF32,
{
    let io = case(dir, "io.safetensors");
    let mut from_model = M::init(1);
    keras::load_keras(&mut from_model, case(dir, "model.h5"))
        .unwrap_or_else(|e| panic!("{dir} model.h5: {e}"));
    let mut loads = Vec::new();
    for file in std::iter::once(&"model.h5").chain(weights_files) {
        let mut net = M::init(2);
        keras::load_keras_weights(&mut net, case(dir, file))
            .unwrap_or_else(|e| panic!("{dir} {file}: {e}"));
        loads.push((format!("{file} (load_keras_weights)"), net));
    }
    for (what, net) in &loads {
        assert_eq!(params(net), params(&from_model), "{dir} {what}");
    }
    loads.push(("model.h5 (load_keras)".to_owned(), from_model.clone()));
    for (what, net) in &loads {
        let err = max_error(net, &io);
        println!("{dir} {what}: max |error| {err:.2e}");
        assert!(err <= TOL, "{dir} {what}: max |error| {err:e} > {TOL:e}");
    }
    from_model
}

/// `model.save("model.h5")` and `model.save_weights(…)` as Keras 2 (tf_keras 2.21)
/// and Keras 3 (3.15.1) write them load through both calls, into the same parameters,
/// and reproduce Keras's predictions.
#[test]
fn legacy_h5_files_match_keras() {
    // Keras 3 saving to `.h5`: the same weights as its own `.weights.h5`.
    legacy_files::<K3>("k13_keras3_h5", &["model.weights.h5"]);
    // tf_keras: the full model, `save_weights("model_weights.h5")`, and the same model
    // file with fixed-length string attributes and `layer_names` split in two.
    legacy_files::<K14>(
        "k14_tf_keras_gru",
        &["model_weights.h5", "model_fixed_strings.h5"],
    );
    let mut fixed = K14::new(3);
    keras::load_keras(
        &mut fixed,
        case("k14_tf_keras_gru", "model_fixed_strings.h5"),
    )
    .unwrap();
    assert_eq!(fixed, legacy_files::<K14>("k14_tf_keras_gru", &[]));
    legacy_files::<K15>(
        "k15_tf_keras_embedding_bidirectional",
        &["model_weights.h5"],
    );

    // The generated methods are the same calls.
    let want = legacy_files::<K15>("k15_tf_keras_embedding_bidirectional", &[]);
    let mut net = K15::new(4);
    net.load_keras(case("k15_tf_keras_embedding_bidirectional", "model.h5"))
        .unwrap();
    assert_eq!(net, want);
    let mut net = K15::new(5);
    net.load_keras_weights(case(
        "k15_tf_keras_embedding_bidirectional",
        "model_weights.h5",
    ))
    .unwrap();
    assert_eq!(net, want);
}

/// The format is told by the content: the files load under any name.
#[test]
fn legacy_files_are_told_by_their_content() {
    let dir = temp_dir("renamed");
    let want = legacy_files::<K14>("k14_tf_keras_gru", &[]);
    for (file, name, load) in [
        (
            "model.h5",
            "model.keras",
            archive::<K14> as fn(&mut K14, &Path) -> _,
        ),
        ("model.h5", "weights.bin", h5::<K14>),
        ("model_weights.h5", "model.keras", h5::<K14>),
    ] {
        let p = dir.join(name);
        std::fs::copy(case("k14_tf_keras_gru", file), &p).unwrap();
        let mut net = K14::new(1);
        load(&mut net, &p).unwrap_or_else(|e| panic!("{file} as {name}: {e}"));
        assert_eq!(net, want, "{file} as {name}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// A legacy model file's `model_config` is checked like a `.keras` archive's
/// `config.json`: the same typed errors, naming the layer.
#[test]
fn legacy_config_mismatches_are_refused() {
    let k13 = case("k13_keras3_h5", "model.h5");
    let err = refused::<K3Units>(&k13, archive);
    assert_layer(&err, 0, &["units is 5 in the file", "lstm(6", "`lstm`"]);
    let err = refused::<K3Defaults>(&k13, archive);
    assert_layer(&err, 0, &["recurrent_activation is `tanh` in the file"]);
    let err = refused::<K3Features>(&k13, archive);
    assert!(matches!(err, Error::KerasModel { .. }), "{err:?}");
    assert!(err.to_string().contains("input(6, 3)"), "{err}");

    // tf_keras: user-chosen names are reported as the config has them.
    let k14 = case("k14_tf_keras_gru", "model.h5");
    let err = refused::<K14Seq>(&k14, archive);
    assert_layer(&err, 1, &["return_sequences is false in the file", "`gru`"]);
    let err = refused::<K14Lstm>(&k14, archive);
    assert_layer(&err, 0, &["`GRU` in the file", "lstm(5", "`encoder`"]);
    let err = refused::<K14Short>(&k14, archive);
    assert_layer(&err, 2, &["extra `Dense`"]);
    let err = refused::<K14Extra>(&k14, archive);
    assert_layer(&err, 3, &["missing", "only 3 layers"]);
    // The fixed-string copy carries the same config.
    let err = refused::<K14Seq>(&case("k14_tf_keras_gru", "model_fixed_strings.h5"), archive);
    assert_layer(&err, 1, &["return_sequences is false in the file"]);

    let k15 = case("k15_tf_keras_embedding_bidirectional", "model.h5");
    let err = refused::<K15NoDropout>(&k15, archive);
    assert_layer(&err, 2, &["`Dropout` in the file", "simple_rnn(3)"]);
    let err = refused::<K15Forward>(&k15, archive);
    assert_layer(&err, 1, &["`Bidirectional` in the file", "lstm(3"]);

    // Without the config, options that leave the weights' shapes alone cannot be
    // told, and weightless layers are skipped as Keras's own loader skips them.
    for file in ["model.h5", "model_weights.h5"] {
        let mut net = K14Seq::new(1);
        keras::load_keras_weights(&mut net, case("k14_tf_keras_gru", file)).unwrap();
        let mut net = K15NoDropout::new(1);
        keras::load_keras_weights(&mut net, case("k15_tf_keras_embedding_bidirectional", file))
            .unwrap();
        let io = case("k15_tf_keras_embedding_bidirectional", "io.safetensors");
        assert!(max_error(&net, &io) <= TOL, "{file}");
    }
    let mut net = K3Defaults::new(1);
    keras::load_keras_weights(&mut net, &k13).unwrap();
}

/// Weights-only legacy files name layers as the user did, so their check is by the
/// weights: how many, their roles, the cell their names give, their shapes; layers
/// holding weights are matched in order.
#[test]
fn legacy_weights_are_checked_layer_by_layer() {
    for file in ["model_weights.h5", "model.h5"] {
        let p = case("k14_tf_keras_gru", file);
        let err = refused::<K14Lstm>(&p, h5);
        assert_layer(&err, 0, &["a GRU's", "encoder/gru_cell/kernel:0", "lstm(5"]);
        let err = refused::<K14Short>(&p, h5);
        assert_layer(&err, 2, &["does not declare", "encoder, gru, dense"]);
        let err = refused::<K14Extra>(&p, h5);
        assert_layer(&err, 3, &["missing", "dense(1)", "only 3 layers"]);
        // k1's GRU(5) matches k14's first layer weight for weight; its dense layer
        // meets k14's second GRU.
        let err = refused::<K1>(&p, h5);
        assert_layer(&err, 1, &["holds 3 weights", "dense(2)", "kernel, bias"]);
        let p = case("k15_tf_keras_embedding_bidirectional", file);
        let err = refused::<K15Forward>(&p, h5);
        assert_layer(&err, 1, &["holds 6 weights", "expected 3", "lstm(3"]);
    }
    // The seed's `.weights.h5` and a legacy file cannot be mixed up: a model whose
    // units differ from the file's is refused by shape.
    let err = refused::<K3Units>(&case("k13_keras3_h5", "model.h5"), h5);
    assert_layer(&err, 0, &["kernel has shape [2, 20]", "expected [2, 24]"]);
}

/// A GRU saved with `reset_after=False` by tf_keras: refused by its config in the
/// model file, and by its bias's shape without one.
#[test]
fn legacy_gru_with_reset_before_is_refused() {
    let dir = "k16_tf_keras_gru_reset_before";
    let err = refused::<K8>(&case(dir, "model.h5"), archive);
    assert_layer(&err, 0, &["reset_after=False", "reset_after=True", "`gru`"]);
    for file in ["model.h5", "model_weights.h5"] {
        let err = refused::<K8>(&case(dir, file), h5);
        assert_layer(&err, 0, &["reset_after=False", "bias [3·units]"]);
    }
}

#[test]
fn deflated_archive_loads_like_the_stored_one() {
    let mut stored = K1::new(1);
    keras::load_keras(&mut stored, case("k1_gru", "model.keras")).unwrap();
    let mut deflated = K1::new(2);
    keras::load_keras(&mut deflated, case("k1_gru", "model_deflated.keras")).unwrap();
    assert_eq!(stored, deflated);
}

#[test]
fn layers_saved_without_bias_load_zero_biases() {
    let mut net = K9::new(1);
    keras::load_keras_weights(&mut net, case("k9_no_bias", "model.weights.h5")).unwrap();
    for name in ["0.bias_ih", "0.bias_hh", "1.bias"] {
        let bias = net.param(name).unwrap();
        assert!(bias.iter().all(|&b| b == 0.0), "{name}: {bias}");
    }
}

/// Loads `path` with `load` into a fresh `M`; the load must fail and leave the model
/// as it was. Returns the error.
fn refused<M: Network + Clone + PartialEq + std::fmt::Debug>(
    path: &Path,
    load: fn(&mut M, &Path) -> rnn_runtime::Result<()>,
) -> Error {
    let mut net = M::init(9);
    let before = net.clone();
    let err = load(&mut net, path).expect_err("the load must be refused");
    println!("refused: {err}");
    assert_eq!(net, before, "a refused load must leave the model unchanged");
    err
}

fn h5<M: Network>(m: &mut M, p: &Path) -> rnn_runtime::Result<()> {
    keras::load_keras_weights(m, p)
}

fn archive<M: Network>(m: &mut M, p: &Path) -> rnn_runtime::Result<()> {
    keras::load_keras(m, p)
}

/// `err` is a layer mismatch at `layer` whose message contains every one of `words`.
fn assert_layer(err: &Error, layer: usize, words: &[&str]) {
    let Error::KerasLayer { layer: got, .. } = err else {
        panic!("expected a layer mismatch, got {err:?}");
    };
    assert_eq!(*got, layer, "{err}");
    let text = err.to_string();
    for w in words {
        assert!(text.contains(w), "`{w}` missing from: {text}");
    }
}

#[test]
fn wrong_units_are_refused() {
    let h5_file = fixture("keras_seed/model.weights.h5");
    let err = refused::<SeedUnits>(&h5_file, h5);
    assert_layer(
        &err,
        0,
        &["kernel", "[1, 200]", "[1, 160]", "lstm(40)", "`lstm`"],
    );
    let err = refused::<SeedUnits>(&fixture("keras_seed/model.keras"), archive);
    assert_layer(&err, 0, &["units is 50 in the file", "lstm(40)"]);
}

#[test]
fn wrong_layer_kind_is_refused() {
    let err = refused::<SeedKind>(&fixture("keras_seed/model.weights.h5"), h5);
    assert_layer(
        &err,
        0,
        &["no weights `layers/gru`", "gru(50)", "dense, lstm"],
    );
    let err = refused::<SeedKind>(&fixture("keras_seed/model.keras"), archive);
    assert_layer(&err, 0, &["`LSTM` in the file", "gru(50)"]);
}

#[test]
fn missing_and_extra_layers_are_refused() {
    // The model declares a layer the file does not have.
    let err = refused::<SeedExtraDense>(&fixture("keras_seed/model.weights.h5"), h5);
    assert_layer(&err, 2, &["`layers/dense_1`"]);
    let err = refused::<SeedExtraDense>(&fixture("keras_seed/model.keras"), archive);
    assert_layer(&err, 2, &["missing", "only 2 layers"]);
    // The file has a layer the model does not declare.
    let err = refused::<K5Short>(&case("k5_many_to_many", "model.weights.h5"), h5);
    assert_layer(&err, 2, &["`layers/dense_1`", "does not declare"]);
    let err = refused::<K5Short>(&case("k5_many_to_many", "model.keras"), archive);
    assert_layer(&err, 2, &["extra `Dense`"]);
    // A dropout layer takes part in the matching, in config.json.
    let err = refused::<K7NoDropout>(&case("k7_dropout", "model.keras"), archive);
    assert_layer(&err, 1, &["`Dropout` in the file", "dense(1"]);
}

#[test]
fn options_in_config_json_are_checked() {
    let err = refused::<K5Last>(&case("k5_many_to_many", "model.keras"), archive);
    assert_layer(&err, 0, &["return_sequences is true in the file", "gru(4)"]);
    let err = refused::<K2Tanh>(&case("k2_simple_rnn", "model.keras"), archive);
    assert_layer(&err, 0, &["activation is `relu` in the file"]);
    let err = refused::<SeedFeatures>(&fixture("keras_seed/model.keras"), archive);
    assert!(matches!(err, Error::KerasModel { .. }), "{err:?}");
    assert!(err.to_string().contains("input(20, 2)"), "{err}");
    // The weights alone cannot tell: same shapes, and a .weights.h5 has no config.
    let mut net = K5Last::new(1);
    keras::load_keras_weights(&mut net, case("k5_many_to_many", "model.weights.h5")).unwrap();
}

#[test]
fn gru_with_reset_before_is_refused() {
    for (file, load) in [
        ("model.weights.h5", h5::<K8> as fn(&mut K8, &Path) -> _),
        ("model.keras", archive::<K8>),
    ] {
        let err = refused::<K8>(&case("k8_gru_reset_before", file), load);
        assert_layer(&err, 0, &["reset_after=False", "reset_after=True"]);
    }
}

fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rnn-keras-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An HDF5 file that no Keras wrote: a dataset and an attribute at the root.
fn plain_hdf5(dir: &Path) -> PathBuf {
    let mut b = rustyhdf5::FileBuilder::new();
    b.create_dataset("values").with_f32_data(&[1.0, 2.0, 3.0]);
    b.set_attr(
        "origin",
        rustyhdf5::AttrValue::String("a sensor log".into()),
    );
    let p = dir.join("log.h5");
    b.write(&p).unwrap();
    p
}

#[test]
fn files_that_are_not_keras_files_are_refused() {
    let dir = temp_dir("not-keras");
    let text = dir.join("notes.txt");
    std::fs::write(&text, "not a model").unwrap();
    let st = fixture("keras_seed/weights.safetensors");
    for p in [&text, &st] {
        assert!(matches!(refused::<Seed>(p, h5), Error::KerasFile { .. }));
        assert!(matches!(
            refused::<Seed>(p, archive),
            Error::KerasFile { .. }
        ));
    }
    // An HDF5 file that is not Keras's says what was expected.
    let plain = plain_hdf5(&dir);
    for err in [
        refused::<Seed>(&plain, h5),
        refused::<Seed>(&plain, archive),
    ] {
        assert!(matches!(err, Error::KerasFile { .. }), "{err:?}");
        let text = err.to_string();
        for words in [
            "not one Keras writes",
            "`layers`",
            "`layer_names`",
            "`model_config`",
        ] {
            assert!(text.contains(words), "`{words}` missing from: {text}");
        }
    }
    // Each call names the one that loads the file.
    let err = refused::<Seed>(&fixture("keras_seed/model.keras"), h5);
    assert!(err.to_string().contains("`keras::load_keras`"), "{err}");
    for (err, format) in [
        (
            refused::<Seed>(&fixture("keras_seed/model.weights.h5"), archive),
            "Keras 3",
        ),
        (
            refused::<K14>(&case("k14_tf_keras_gru", "model_weights.h5"), archive),
            "Keras 2",
        ),
    ] {
        let text = err.to_string();
        for words in [
            format,
            "`keras::load_keras_weights`",
            "`load_keras_weights`",
        ] {
            assert!(text.contains(words), "`{words}` missing from: {text}");
        }
    }
    let err = refused::<Seed>(&dir.join("absent.keras"), archive);
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Every cut of `file` (of case `dir`) is refused by `load` with `Error::KerasFile`
/// and leaves the model unchanged.
fn truncations<M: Network + Clone + PartialEq + std::fmt::Debug>(
    dir: &Path,
    file: &Path,
    load: fn(&mut M, &Path) -> rnn_runtime::Result<()>,
) {
    let bytes = std::fs::read(file).unwrap();
    let p = dir.join(file.file_name().unwrap());
    // Every cut is a different damage: inside the superblock, a group's B-tree, a
    // heap, an object header, an attribute, the data, the zip directory.
    for cut in (0..bytes.len()).step_by(97).chain([bytes.len() - 1]) {
        std::fs::write(&p, &bytes[..cut]).unwrap();
        let err = refused::<M>(&p, load);
        assert!(
            matches!(err, Error::KerasFile { .. }),
            "{} cut at {cut}: {err:?}",
            file.display()
        );
    }
}

#[test]
fn truncated_files_are_refused_without_panic() {
    let dir = temp_dir("truncated");
    truncations::<K1>(&dir, &case("k1_gru", "model.weights.h5"), h5);
    truncations::<K1>(&dir, &case("k1_gru", "model.keras"), archive);
    let k14 = |file| case("k14_tf_keras_gru", file);
    truncations::<K14>(&dir, &k14("model.h5"), archive);
    truncations::<K14>(&dir, &k14("model.h5"), h5);
    truncations::<K14>(&dir, &k14("model_weights.h5"), h5);
    truncations::<K14>(&dir, &k14("model_fixed_strings.h5"), archive);
    std::fs::remove_dir_all(dir).unwrap();
}

/// 300 rounds of three random bytes overwritten in `file` (half of them in the first
/// 4 KiB, where the metadata is), each loaded with `load` into a fresh model. Damage to
/// structure is a typed error that leaves the model unchanged; damage to values (HDF5
/// keeps no checksums), to a tensor's header or to unused bytes loads, and then at most
/// the three damaged tensors differ from the clean file's. Both outcomes must occur.
fn corrupt_rounds<M: Network + Clone + PartialEq + std::fmt::Debug>(
    dir: &Path,
    file: &Path,
    load: fn(&mut M, &Path) -> rnn_runtime::Result<()>,
) {
    let bytes = std::fs::read(file).unwrap();
    let mut clean = M::init(1);
    load(&mut clean, file).unwrap();
    let p = dir.join(file.file_name().unwrap());
    // A fixed pseudo-random walk over the metadata and the data.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    // (loaded, refused)
    let mut outcomes = (0, 0);
    for round in 0..300 {
        let mut damaged = bytes.clone();
        for _ in 0..3 {
            let span = if round % 2 == 0 { 4096 } else { damaged.len() };
            let at = (next() % span as u64) as usize;
            damaged[at] = next() as u8;
        }
        std::fs::write(&p, &damaged).unwrap();
        let mut net = M::init(1);
        let before = net.clone();
        match load(&mut net, &p) {
            Ok(()) => {
                // A damaged byte changes one tensor at most (a value, or a field of
                // that tensor's header such as its byte order).
                let differ = params(&net)
                    .iter()
                    .zip(params(&clean))
                    .filter(|(a, b)| {
                        a.iter()
                            .map(|v| v.to_bits())
                            .ne(b.iter().map(|v| v.to_bits()))
                    })
                    .count();
                assert!(
                    differ <= 3,
                    "{} round {round}: {differ} tensors differ",
                    file.display()
                );
                outcomes.0 += 1;
            }
            Err(e) => {
                assert!(
                    matches!(
                        e,
                        Error::KerasFile { .. }
                            | Error::KerasLayer { .. }
                            | Error::KerasModel { .. }
                    ),
                    "{} round {round}: {e:?}",
                    file.display()
                );
                assert_eq!(
                    net,
                    before,
                    "{} round {round}: a refused load changed the model",
                    file.display()
                );
                outcomes.1 += 1;
            }
        }
    }
    assert!(
        outcomes.0 > 0 && outcomes.1 > 0,
        "{}: {outcomes:?}",
        file.display()
    );
}

#[test]
fn corrupt_bytes_never_panic() {
    let dir = temp_dir("corrupt");
    corrupt_rounds::<K1>(&dir, &case("k1_gru", "model.weights.h5"), h5);
    let k15 = |file| case("k15_tf_keras_embedding_bidirectional", file);
    corrupt_rounds::<K15>(&dir, &k15("model.h5"), archive);
    corrupt_rounds::<K15>(&dir, &k15("model.h5"), h5);
    corrupt_rounds::<K15>(&dir, &k15("model_weights.h5"), h5);
    corrupt_rounds::<K14>(
        &dir,
        &case("k14_tf_keras_gru", "model_fixed_strings.h5"),
        h5,
    );
    // Inside a .keras archive, the CRC catches any damaged byte of an entry.
    let archive_bytes = std::fs::read(case("k1_gru", "model.keras")).unwrap();
    let p = dir.join("model.keras");
    let mut damaged = archive_bytes.clone();
    let mid = damaged.len() / 2;
    damaged[mid] ^= 0x40;
    std::fs::write(&p, &damaged).unwrap();
    let err = refused::<K1>(&p, archive);
    assert!(err.to_string().contains("checksum"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

// The masked cases: Keras 3 `.keras` files whose padding the models declare (k17, k18),
// and the same architectures without the declaration.
model! { struct K17 < input(6), embedding(12, 4, mask_zero = true), lstm(3), dense(2) > }
model! { struct K17Unmasked < input(6), embedding(12, 4), lstm(3), dense(2) > }
model! {
    struct K18 < input(6, 2), masking(0.0), gru(3, return_sequences = true), dense(1) >
}
model! { struct K18Unmasked < input(6, 2), gru(3, return_sequences = true), dense(1) > }
model! {
    struct K18Half < input(6, 2), masking(0.5), gru(3, return_sequences = true), dense(1) >
}

/// Our predictions of `io`'s padded `x` against Keras's `y`, at valid steps (rel 1e-4,
/// abs 1e-5); a sequence output must be 0 at padded steps, where Keras repeats the
/// previous step's output instead.
fn masked_matches_keras<M: Network>(net: &M, io: &Path)
where
    M::Input: FromF32,
{
    let data = read_all(io);
    let x = data["x"].mapv(M::Input::from_f32);
    let got: ArrayD<f32> = rnn_runtime::forward(net, x.view()).expect("forward");
    let (want, mask) = (&data["y"], &data["mask"]);
    assert_eq!(got.shape(), want.shape());
    let sequence = got.ndim() == 3;
    let mut compared = 0;
    for ((index, &g), &w) in got.indexed_iter().zip(want.iter()) {
        let valid = !sequence || mask[[index[0], index[1]]] == 1.0;
        assert!(g.is_finite(), "{index:?}: {g}");
        if valid {
            let err = f64::from((g - w).abs());
            assert!(
                err <= 1e-5 + 1e-4 * f64::from(w.abs()),
                "{index:?}: {g} vs Keras {w}"
            );
            compared += 1;
        } else {
            assert_eq!(g, 0.0, "{index:?}: a padded step's output");
        }
    }
    assert!(compared > 0);
}

#[test]
fn masked_keras_models_match_keras_at_valid_steps() {
    let mut k17 = K17::new(0);
    keras::load_keras(&mut k17, case("k17_embedding_mask_zero", "model.keras")).unwrap();
    masked_matches_keras(&k17, &case("k17_embedding_mask_zero", "io.safetensors"));
    let mut k18 = K18::new(0);
    keras::load_keras(&mut k18, case("k18_masking_gru_seq", "model.keras")).unwrap();
    masked_matches_keras(&k18, &case("k18_masking_gru_seq", "io.safetensors"));
}

#[test]
fn masks_must_agree_between_file_and_model() {
    let err = refused::<K17Unmasked>(&case("k17_embedding_mask_zero", "model.keras"), archive);
    assert_layer(
        &err,
        0,
        &["mask_zero=True", "declare `embedding(…, mask_zero = true)`"],
    );
    let err = refused::<K6Masked>(&case("k6_embedding", "model.keras"), archive);
    assert_layer(&err, 0, &["mask_zero=False"]);
    for (err, words) in [
        (
            refused::<K18Unmasked>(&case("k18_masking_gru_seq", "model.keras"), archive),
            &["Masking(mask_value=0)", "declare `masking(0)`"][..],
        ),
        (
            refused::<K18Half>(&case("k18_masking_gru_seq", "model.keras"), archive),
            &["Masking(mask_value=0)", "masking(0.5)"][..],
        ),
        (
            refused::<K1Masked>(&case("k1_gru", "model.keras"), archive),
            &["no `Masking` layer", "masking(0)"][..],
        ),
    ] {
        assert!(matches!(err, Error::KerasModel { .. }), "{err:?}");
        for w in words {
            assert!(err.to_string().contains(w), "`{w}` missing from {err}");
        }
    }
}

model! { struct K6Masked < input(6), embedding(10, 4, mask_zero = true), lstm(5), dense(3) > }
model! { struct K1Masked < input(6, 3), masking(0.0), gru(5), dense(2) > }

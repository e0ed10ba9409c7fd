//! Keras weight import: the seed model and small models of every supported layer,
//! saved by Keras 3 itself (`tests/fixtures/keras_seed/`, `tests/fixtures/keras/`,
//! written by `gen/keras_files.py`), loaded from `.weights.h5` and from `.keras`,
//! must reproduce Keras's predictions; every mismatch and every damaged file is
//! refused with a typed error and leaves the model unchanged.

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
    keras::load_weights_h5(&mut from_h5, fixture(&format!("{dir}/model.weights.h5")))
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
    keras::load_weights_h5(&mut net, fixture("keras_seed/model.weights.h5")).unwrap();
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
        keras::load_weights_h5(&mut twin, fixture(&format!("{dir}/model.weights.h5"))).unwrap();
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
    keras::load_weights_h5(&mut net, case("k9_no_bias", "model.weights.h5")).unwrap();
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
    keras::load_weights_h5(m, p)
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
    keras::load_weights_h5(&mut net, case("k5_many_to_many", "model.weights.h5")).unwrap();
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
    // Each function names the other for the other format.
    let err = refused::<Seed>(&fixture("keras_seed/model.keras"), h5);
    assert!(err.to_string().contains("load_keras"), "{err}");
    let err = refused::<Seed>(&fixture("keras_seed/model.weights.h5"), archive);
    assert!(err.to_string().contains("load_weights_h5"), "{err}");
    let err = refused::<Seed>(&dir.join("absent.keras"), archive);
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn truncated_files_are_refused_without_panic() {
    let dir = temp_dir("truncated");
    for (name, load) in [
        ("model.weights.h5", h5::<K1> as fn(&mut K1, &Path) -> _),
        ("model.keras", archive::<K1>),
    ] {
        let bytes = std::fs::read(case("k1_gru", name)).unwrap();
        let p = dir.join(name);
        // Every cut is a different damage: inside the superblock, a group's B-tree, a
        // heap, an object header, the data, the zip directory.
        for cut in (0..bytes.len()).step_by(97).chain([bytes.len() - 1]) {
            std::fs::write(&p, &bytes[..cut]).unwrap();
            let err = refused::<K1>(&p, load);
            assert!(
                matches!(err, Error::KerasFile { .. }),
                "{name} cut at {cut}: {err:?}"
            );
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn corrupt_bytes_never_panic() {
    let dir = temp_dir("corrupt");
    let bytes = std::fs::read(case("k1_gru", "model.weights.h5")).unwrap();
    let mut clean = K1::new(1);
    keras::load_weights_h5(&mut clean, case("k1_gru", "model.weights.h5")).unwrap();
    let p = dir.join("model.weights.h5");
    // A fixed pseudo-random walk over the metadata (the first 4 KiB) and the data.
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
        // Damage to structure is a typed error that leaves the model unchanged; damage
        // to values (HDF5 keeps no checksums), to a tensor's header or to unused bytes
        // loads, and then at most the three damaged tensors differ from the clean file's.
        let mut net = K1::new(1);
        let before = net.clone();
        match keras::load_weights_h5(&mut net, &p) {
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
                assert!(differ <= 3, "round {round}: {differ} tensors differ");
                outcomes.0 += 1;
            }
            Err(e) => {
                assert!(
                    matches!(e, Error::KerasFile { .. } | Error::KerasLayer { .. }),
                    "round {round}: {e:?}"
                );
                assert_eq!(
                    net, before,
                    "round {round}: a refused load changed the model"
                );
                outcomes.1 += 1;
            }
        }
    }
    assert!(outcomes.0 > 0 && outcomes.1 > 0, "{outcomes:?}");
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

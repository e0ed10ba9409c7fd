//! The std build against `tests/nostd`, the `no_std` build of the same models: the
//! weight files there round-trip through `from_le_bytes` / `flat::to_le_bytes`, and the
//! std build's outputs for them are `tests/nostd/weights/expected.bin`, which the
//! `no_std` build's own test (`cargo test --manifest-path tests/nostd/Cargo.toml`)
//! reproduces bit for bit.
//!
//! With `RNN_PORTABLE` set (the kernels a `no_std` build runs: no run-time CPU
//! dispatch) the outputs must match bit for bit; with AVX-512 the single-sample
//! product fuses multiply-adds and may differ in the last bits, so elsewhere the
//! parity tolerance applies. `RNN_BLESS_NOSTD=1 RNN_PORTABLE=1` rewrites the files
//! from fresh seeded models, for after a deliberate change of the kernels' arithmetic.

use rnn_runtime::flat;

include!("nostd/src/models.rs");
include!("nostd/tests/common/cases.rs");

fn path(name: &str) -> String {
    format!("{}/tests/nostd/weights/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(path(name)).unwrap_or_else(|e| panic!("{}: {e}", path(name)))
}

/// A reference file of little-endian `f32`s.
fn read_f32s(name: &str) -> Vec<f32> {
    read(name)
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

/// `got` against the `no_std` reference `want`: bit for bit where `exact(k)` (the
/// portable kernels, or code that runs no product), else within the parity tolerance
/// (the AVX-512 products fuse multiply-adds).
fn assert_reference(got: &[f32], want: &[f32], exact: impl Fn(usize) -> bool) {
    assert_eq!(got.len(), want.len());
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        if exact(k) {
            assert_eq!(
                g.to_bits(),
                w.to_bits(),
                "value {k}: {g} vs no_std reference {w}"
            );
        } else {
            assert!(
                (g - w).abs() <= 1e-5 + 1e-4 * w.abs(),
                "value {k}: {g} vs no_std reference {w}"
            );
        }
    }
}

/// The outputs `expected.bin` holds, computed by this build; the streaming outputs
/// are also checked against `predict_one`.
fn outputs(seed: &SeedNet, gru: &GruNet) -> Vec<f32> {
    let mut out = Vec::new();
    for i in 0..SEED_WINDOWS {
        out.extend(seed.predict_one(&seed_window(i)));
    }
    for i in 0..GRU_SEQUENCES {
        let x = gru_sequence(i);
        let whole = gru.predict_one(&x);
        let mut stream = gru.stream();
        for (t, x_t) in x.iter().enumerate() {
            let y = stream.push(x_t);
            assert_eq!(y, whole[t], "push and predict_one, step {t}");
            out.extend(y);
        }
    }
    out
}

#[test]
fn weight_files_round_trip_and_outputs_are_the_nostd_reference() {
    let portable = std::env::var_os("RNN_PORTABLE").is_some();
    if std::env::var_os("RNN_BLESS_NOSTD").is_some() {
        assert!(
            portable,
            "bless with RNN_PORTABLE=1: the no_std build has no CPU dispatch"
        );
        let (seed, gru) = (SeedNet::new(20), GruNet::new(21));
        std::fs::write(path("seed.bin"), flat::to_le_bytes(&seed)).unwrap();
        std::fs::write(path("gru.bin"), flat::to_le_bytes(&gru)).unwrap();
        let bytes: Vec<u8> = outputs(&seed, &gru)
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        std::fs::write(path("expected.bin"), bytes).unwrap();
    }

    let (seed_bytes, gru_bytes) = (read("seed.bin"), read("gru.bin"));
    let seed = SeedNet::from_le_bytes(seed_bytes.as_slice().try_into().unwrap());
    let gru = GruNet::from_le_bytes(gru_bytes.as_slice().try_into().unwrap());
    assert_eq!(flat::to_le_bytes(&seed), seed_bytes);
    assert_eq!(flat::to_le_bytes(&gru), gru_bytes);
    // The files are what the seeded models hold: any model's weights would do, these
    // make the files reproducible.
    assert!(seed == SeedNet::new(20) && gru == GruNet::new(21));

    let expected = read_f32s("expected.bin");
    let got = outputs(&seed, &gru);
    assert_eq!(got.len(), EXPECTED_VALUES);
    assert_reference(&got, &expected, |_| portable);
}

#[test]
fn heads_and_activations_are_the_nostd_reference() {
    let portable = std::env::var_os("RNN_PORTABLE").is_some();
    if std::env::var_os("RNN_BLESS_NOSTD").is_some() {
        assert!(portable, "bless with RNN_PORTABLE=1");
        let (gesture, bi) = (GestureNet::new(22), BiNet::new(23));
        std::fs::write(path("gesture.bin"), flat::to_le_bytes(&gesture)).unwrap();
        std::fs::write(path("bi.bin"), flat::to_le_bytes(&bi)).unwrap();
        let mut out = [0.0; HEADS_VALUES];
        heads(&gesture, &bi, &mut out);
        let bytes: Vec<u8> = out.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(path("heads.bin"), bytes).unwrap();
    }
    let bytes = read("gesture.bin");
    let gesture = GestureNet::from_le_bytes(bytes.as_slice().try_into().unwrap());
    assert!(gesture == GestureNet::new(22));
    let bi = BiNet::from_le_bytes(read("bi.bin").as_slice().try_into().unwrap());
    assert!(bi == BiNet::new(23));
    let expected = read_f32s("heads.bin");
    assert_eq!(expected.len(), HEADS_VALUES);
    let mut got = [0.0; HEADS_VALUES];
    heads(&gesture, &bi, &mut got);
    // The activations act element by element on the same code in both builds: equal
    // bits whatever the kernels. The models' outputs go through the products.
    let model_values = GESTURE_SAMPLES * (4 + 3);
    assert_reference(&got, &expected, |k| portable || k >= model_values);
}

#[test]
fn load_flat_sets_every_parameter_or_nothing() {
    let source = SeedNet::new(3);
    let bytes = flat::to_le_bytes(&source);
    let mut net = SeedNet::new(4);
    let before = net.clone();
    let err = flat::load_flat(&mut net, &bytes[..flat::HEADER_BYTES + 40]).unwrap_err();
    assert!(matches!(
        err,
        rnn_runtime::Error::ParamCount {
            expected: SeedNet::PARAMS,
            got: 10
        }
    ));
    assert!(net == before, "a failed load changes nothing");
    flat::load_flat(&mut net, &bytes).unwrap();
    // The transposed copies were laid out again: predictions follow the new weights.
    assert!(net == source);
    let x = seed_window(1);
    assert_eq!(net.predict_one(&x), source.predict_one(&x));
}

rnn_runtime::model! {
    /// The seed model with another head: the same parameter count, other weights'
    /// meaning.
    struct SeedTanh < input(20, 1), lstm(50), dense(1, activation = tanh) >
}

rnn_runtime::model! {
    /// The seed model with its activations swapped: same sizes, another spec.
    struct SeedRelu < input(20, 1), lstm(50, activation = relu), dense(1) >
}

#[test]
fn the_header_refuses_weights_of_another_spec() {
    use rnn_runtime::flat::HeaderMismatch;
    use rnn_runtime::{Error, Params};
    assert_eq!(SeedNet::PARAMS, SeedTanh::PARAMS);
    let bytes = flat::to_le_bytes(&SeedNet::new(3));
    assert_eq!(bytes.len(), flat::HEADER_BYTES + SeedNet::WEIGHT_BYTES);
    assert_eq!(&bytes[..4], b"RNNW");
    // Same size, another head or another cell activation: refused, nothing changes.
    let hashes = [SeedNet::SPEC_HASH, SeedTanh::SPEC_HASH, SeedRelu::SPEC_HASH];
    assert!(hashes[0] != hashes[1] && hashes[0] != hashes[2] && hashes[1] != hashes[2]);
    let mut tanh = SeedTanh::new(5);
    let before = tanh.clone();
    match flat::load_flat(&mut tanh, &bytes) {
        Err(Error::WeightsHeader(HeaderMismatch::Spec { expected, found })) => {
            assert_eq!((expected, found), (SeedTanh::SPEC_HASH, SeedNet::SPEC_HASH))
        }
        other => panic!("expected a spec mismatch, got {other:?}"),
    }
    assert!(tanh == before);
    let mut relu = SeedRelu::new(5);
    assert!(matches!(
        flat::load_flat(&mut relu, &bytes),
        Err(Error::WeightsHeader(HeaderMismatch::Spec { .. }))
    ));
    // A headerless file (the format before the header), another version, too short.
    let mut net = SeedNet::new(4);
    let err = flat::load_flat(&mut net, &bytes[flat::HEADER_BYTES..]).unwrap_err();
    assert!(matches!(err, Error::WeightsHeader(HeaderMismatch::Magic)));
    assert!(err.to_string().contains("to_le_bytes"), "{err}");
    let mut newer = bytes.clone();
    newer[4] = 2;
    let err = flat::load_flat(&mut net, &newer).unwrap_err();
    assert!(matches!(
        err,
        Error::WeightsHeader(HeaderMismatch::Version { found: 2, .. })
    ));
    assert!(matches!(
        flat::load_flat(&mut net, &bytes[..7]),
        Err(Error::WeightsHeader(HeaderMismatch::Short))
    ));
    assert!(net == SeedNet::new(4));
    // The std build's `from_le_bytes` panics with the message (the const path's check
    // is a compile error: the `compile_fail` example in `tests/nostd/src/lib.rs`).
    let exact: &[u8; flat::HEADER_BYTES + 4 * SeedNet::PARAMS] =
        bytes.as_slice().try_into().unwrap();
    let panic = std::panic::catch_unwind(|| SeedTanh::from_le_bytes(exact)).unwrap_err();
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .unwrap_or_default();
    assert!(message.contains("another model"), "{message}");
}

rnn_runtime::model! {
    struct Tokens < input(6), embedding(11, 4), bidirectional(lstm(3, return_sequences = true)),
        simple_rnn(5, activation = relu), dense(2, activation = softmax) >
}

#[test]
fn from_le_bytes_rebuilds_every_layer_kind() {
    // Embedding, both directions of a bidirectional layer (offsets of the reverse
    // half), a simple RNN with its activation, a dense layer with softmax.
    let net = Tokens::new(9);
    let bytes = flat::to_le_bytes(&net);
    let copy = Tokens::from_le_bytes(bytes.as_slice().try_into().unwrap());
    assert!(copy == net);
    let ids = [3, 0, 10, 7, 7, 1];
    assert_eq!(
        copy.predict_one(&ids).unwrap(),
        net.predict_one(&ids).unwrap()
    );
}

#[test]
fn debug_is_the_same_as_without_std() {
    assert_eq!(format!("{:?}", SeedNet::new(0)), SEED_DEBUG);
}

/// `use_portable_kernels`, the API form of `RNN_PORTABLE=1`, run in child processes of
/// this test binary because the choice is made once per process: called first, the
/// std build gives the `no_std` reference's bits with no environment variable; called
/// after a model ran with the accelerated kernels, it is refused and changes nothing.
#[test]
fn use_portable_kernels_reproduces_the_nostd_bits() {
    match std::env::var("RNN_KERNELS_CHILD").as_deref() {
        Ok("first") => {
            rnn_runtime::use_portable_kernels().unwrap();
            assert!(rnn_runtime::portable_kernels());
            let seed = SeedNet::from_le_bytes(read("seed.bin").as_slice().try_into().unwrap());
            let gru = GruNet::from_le_bytes(read("gru.bin").as_slice().try_into().unwrap());
            let expected = read("expected.bin");
            let got: Vec<u8> = outputs(&seed, &gru)
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect();
            assert!(got == expected, "the portable kernels give the no_std bits");
        }
        Ok("late") => {
            let seed = SeedNet::new(1);
            let before = seed.predict_one(&seed_window(0));
            if rnn_runtime::portable_kernels() {
                return; // a CPU without AVX2: nothing was accelerated to refuse
            }
            let err = rnn_runtime::use_portable_kernels().unwrap_err();
            assert!(matches!(err, rnn_runtime::Error::KernelsChosen), "{err}");
            assert!(!rnn_runtime::portable_kernels());
            assert_eq!(seed.predict_one(&seed_window(0)), before);
        }
        _ => {
            for mode in ["first", "late"] {
                let status = std::process::Command::new(std::env::current_exe().unwrap())
                    .args(["--exact", "use_portable_kernels_reproduces_the_nostd_bits"])
                    .env("RNN_KERNELS_CHILD", mode)
                    .env_remove("RNN_PORTABLE")
                    .status()
                    .unwrap();
                assert!(status.success(), "child process `{mode}` failed");
            }
        }
    }
}

/// `weights/seed_int8.bin` is `seed.bin`'s model quantised, and `expected_int8.bin` the
/// int8 model's outputs for the seed windows (written with `RNN_PORTABLE=1`, as the
/// `no_std` build's test reads them bit for bit); elsewhere within the parity
/// tolerance. Blessed with the other files.
#[test]
fn the_int8_seed_model_is_the_quantised_file_and_its_outputs_the_reference() {
    let portable = std::env::var_os("RNN_PORTABLE").is_some();
    let seed = SeedNet::from_le_bytes(read("seed.bin").as_slice().try_into().unwrap());
    let q = seed.quantize().unwrap();
    let outputs: Vec<f32> = (0..SEED_WINDOWS)
        .flat_map(|i| q.predict_one(&seed_window(i)))
        .collect();
    if std::env::var_os("RNN_BLESS_NOSTD").is_some() {
        assert!(portable, "bless with RNN_PORTABLE=1");
        std::fs::write(path("seed_int8.bin"), q.to_le_bytes()).unwrap();
        let bytes: Vec<u8> = outputs.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(path("expected_int8.bin"), bytes).unwrap();
    }
    let file = read("seed_int8.bin");
    assert_eq!(file.len(), flat::HEADER_BYTES + SeedNetInt8::WEIGHT_BYTES);
    assert_eq!(q.to_le_bytes(), file);
    let expected = read_f32s("expected_int8.bin");
    assert_eq!(expected.len(), SEED_WINDOWS);
    assert_reference(&outputs, &expected, |_| portable);
}

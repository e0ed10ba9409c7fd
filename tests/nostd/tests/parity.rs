//! This `no_std` build against the std build: the same weights give the same bits.
//!
//! `weights/expected.bin` holds the std build's outputs (portable kernels, as this
//! build has no run-time CPU dispatch); `tests/nostd_parity.rs` of the main workspace
//! checks that the std build still produces them. Together: the two builds agree bit
//! for bit.

use rnn_nostd::{
    rnn_bi_predict, rnn_gesture_predict, rnn_gru_predict, rnn_gru_push, rnn_seed_int8_predict,
    rnn_seed_predict, BiNet, GestureNet, GruNet, SeedNet, SeedNetInt8, BI, GESTURE, GRU_STATE,
    SEED, SEED_INT8,
};
use rnn_runtime::{flat, Error, Params};

include!("common/cases.rs");

fn read_f32s(name: &str) -> Vec<f32> {
    let path = format!("{}/weights/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

fn assert_bits(got: f32, want: f32, what: &str) {
    assert_eq!(got.to_bits(), want.to_bits(), "{what}: {got} vs std {want}");
}

#[test]
fn outputs_equal_the_std_build_bit_for_bit() {
    let expected = read_f32s("expected.bin");
    assert_eq!(expected.len(), EXPECTED_VALUES);
    for (i, want) in expected[..SEED_WINDOWS].iter().enumerate() {
        assert_bits(rnn_seed_predict(&seed_window(i)), *want, "seed window");
    }
    let gru_expected = &expected[SEED_WINDOWS..];
    for i in 0..GRU_SEQUENCES {
        let x = gru_sequence(i);
        let want = &gru_expected[i * 16..(i + 1) * 16];
        let mut whole = [[0.0; 2]; 8];
        rnn_gru_predict(&x, &mut whole);
        let mut h = [0.0; GRU_STATE];
        for (t, x_t) in x.iter().enumerate() {
            let mut out = [0.0; 2];
            rnn_gru_push(&mut h, x_t, &mut out);
            for j in 0..2 {
                assert_bits(out[j], want[2 * t + j], "gru push");
                assert_bits(whole[t][j], want[2 * t + j], "gru predict_one");
            }
        }
    }
}

#[test]
fn heads_and_activations_equal_the_std_build_bit_for_bit() {
    let expected = read_f32s("heads.bin");
    assert_eq!(expected.len(), HEADS_VALUES);
    let mut got = [0.0; HEADS_VALUES];
    heads(&GESTURE, &BI, &mut got);
    for (k, (g, w)) in got.iter().zip(&expected).enumerate() {
        let what = if k < GESTURE_SAMPLES * (4 + 3) {
            "model"
        } else {
            "activation"
        };
        assert_bits(*g, *w, what);
    }
    let mut three = [0.0; 3];
    rnn_bi_predict(&bi_sample(1), &mut three);
    assert_eq!(three, BI.predict_one(&bi_sample(1)));
    let mut out = [0.0; 4];
    rnn_gesture_predict(&gesture_sample(0), &mut out);
    assert_eq!(out, GESTURE.predict_one(&gesture_sample(0)));
}

#[test]
fn static_weights_are_the_file_and_load_flat_checks_the_header_and_count() {
    let path = format!("{}/weights/seed.bin", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(bytes.len(), flat::HEADER_BYTES + SeedNet::WEIGHT_BYTES);
    let params: Vec<f32> = bytes[flat::HEADER_BYTES..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(params.len(), SeedNet::PARAMS);
    let mut at = 0;
    SEED.visit_params(&mut |t| {
        for (k, v) in t.iter().enumerate() {
            assert_bits(*v, params[at + k], "static weight");
        }
        at += t.len();
    });
    assert_eq!(at, SeedNet::PARAMS);

    // Loading at run time (weights in RAM): the same model, or a typed error that
    // changes nothing.
    let mut net = SEED.clone();
    net.visit_params_mut(&mut |t| t.fill(0.0));
    match flat::load_flat(&mut net, &bytes[..bytes.len() - 4]) {
        Err(Error::ParamCount { expected, got }) => {
            assert_eq!((expected, got), (SeedNet::PARAMS, SeedNet::PARAMS - 1))
        }
        other => panic!("expected ParamCount, got {other:?}"),
    }
    let gru = std::fs::read(format!("{}/weights/gru.bin", env!("CARGO_MANIFEST_DIR"))).unwrap();
    assert!(matches!(
        flat::load_flat(&mut net, &gru),
        Err(Error::WeightsHeader(flat::HeaderMismatch::Spec { .. }))
    ));
    assert_eq!(net.predict_one(&seed_window(0)), [0.0]);
    flat::load_flat(&mut net, &bytes).unwrap();
    assert!(net == SEED);
    assert_eq!(gru.len(), flat::HEADER_BYTES + 4 * GruNet::PARAMS);
}

#[test]
fn debug_names_the_architecture_without_std() {
    assert_eq!(format!("{SEED:?}"), SEED_DEBUG);
    assert_eq!(
        format!("{:?}", rnn_nostd::GRU),
        "GruNet { input(8, 3), gru(16, return_sequences = true), dense(2, activation = tanh), params: 1042 }"
    );
}

#[test]
fn the_int8_model_in_flash_equals_the_std_build_bit_for_bit() {
    let expected = read_f32s("expected_int8.bin");
    assert_eq!(expected.len(), SEED_WINDOWS);
    for (i, want) in expected.iter().enumerate() {
        let got = rnn_seed_int8_predict(&seed_window(i));
        assert_bits(got, *want, "int8 seed window");
        // Quantisation moves the output, but not far from the f32 model's.
        assert!((got - SEED.predict_one(&seed_window(i))[0]).abs() < 0.05);
    }
    assert_eq!(
        SEED_INT8.to_owned(),
        SeedNetInt8::from_le_bytes(include_bytes!("../weights/seed_int8.bin"))
    );
    const { assert!(SeedNetInt8::WEIGHT_BYTES * 3 < SeedNet::PARAMS * 4) };
}

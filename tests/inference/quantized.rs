//! Int8 models (`Name::quantize`, `NameInt8`): the same function as their dequantised
//! `f32` twin, their bytes round-trip, and quantisation refuses what it cannot store.
//!
//! The twin runs this machine's `f32` kernels (AVX-512 or AVX2 fused steps where the CPU
//! has them, the portable ones under `RNN_PORTABLE=1`); the int8 kernels are portable
//! and add in another order, so the two agree to rounding, not bit for bit: within
//! `TOLERANCE` on outputs of order 1.

use rnn_runtime::{model, Error, Params};

use super::values;

model! { struct QSeed < input(20, 1), lstm(50), dense(1) > }
model! { struct QLstm < input(12, 3), lstm(24, return_sequences = true), dropout(0.2), lstm(16), dense(4, activation = softmax) > }
model! { struct QGru < input(10, 4), gru(16), dense(3, activation = softmax) > }
model! { struct QRnn < input(8, 2), simple_rnn(20, return_sequences = true), dense(2, activation = tanh) > }
model! { struct QActs < input(6, 2), lstm(8, activation = relu, return_sequences = true), simple_rnn(6, activation = relu), dense(1) > }
model! { struct QTokens < input(9), embedding(30, 6), gru(10), dense(3, activation = softmax) > }
model! { struct QMasked < input(7, 2), masking(0.0), lstm(6), dense(2) > }

/// Largest difference allowed between an int8 model's outputs and its twin's.
const TOLERANCE: f32 = 1e-6;

/// A model with Keras's initialisation and random biases (zero biases would leave part
/// of the format untested).
fn with_biases<M: Params + Clone>(mut net: M, seed: u64) -> M {
    let specs = M::param_specs();
    let mut at = 0;
    net.visit_params_mut(&mut |t| {
        if specs[at].name.contains("bias") {
            let v = values(t.len(), seed + at as u64);
            t.iter_mut().zip(v).for_each(|(b, v)| *b = 0.25 * v);
        }
        at += 1;
    });
    net
}

/// Every parameter tensor, in canonical order.
fn tensors<M: Params>(net: &M) -> Vec<Vec<f32>> {
    let mut out = Vec::new();
    net.visit_params(&mut |t| out.push(t.to_vec()));
    out
}

/// `F`-feature samples of `T` steps, values in [-2, 2).
fn samples<const T: usize, const F: usize>(n: usize, seed: u64) -> Vec<[[f32; F]; T]> {
    let v = values(n * T * F, seed);
    (0..n)
        .map(|s| core::array::from_fn(|t| core::array::from_fn(|f| v[(s * T + t) * F + f])))
        .collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

/// `predict_one` of the int8 model against its dequantised twin's, and a stream pushed
/// over each sample against `predict_one`, for every cell kind and head.
macro_rules! parity {
    ($name:ident, $net:ident, $int8:ident, $t:literal, $f:literal, $seed:literal) => {
        #[test]
        fn $name() {
            let net = with_biases($net::new($seed), $seed);
            let q: $int8 = net.quantize().expect("finite weights");
            let twin = q.dequantize();
            let mut worst = 0.0f32;
            for x in samples::<$t, $f>(24, $seed + 1) {
                let (a, b) = (q.predict_one(&x), twin.predict_one(&x));
                let (a, b) = (a.as_flattened(), b.as_flattened());
                worst = worst.max(max_diff(a, b));
                assert!(a.iter().all(|v| v.is_finite()));
                let mut stream = q.stream();
                let mut last = Vec::new();
                for x_t in &x {
                    last = stream.push(x_t).to_vec();
                }
                assert_eq!(stream.steps(), $t);
                assert_eq!(
                    &last[..],
                    &a[a.len() - last.len()..],
                    "stream vs predict_one"
                );
            }
            assert!(worst <= TOLERANCE, "int8 vs dequantised twin: {worst:e}");
        }
    };
}

/// `as_flattened` for both an output vector and a sequence of them.
trait Flat {
    fn as_flattened(&self) -> &[f32];
}
impl<const N: usize> Flat for [f32; N] {
    fn as_flattened(&self) -> &[f32] {
        self
    }
}
impl<const N: usize, const T: usize> Flat for [[f32; N]; T] {
    fn as_flattened(&self) -> &[f32] {
        self.as_slice().as_flattened()
    }
}

parity!(seed_lstm_matches_its_twin, QSeed, QSeedInt8, 20, 1, 1);
parity!(
    stacked_lstm_softmax_matches_its_twin,
    QLstm,
    QLstmInt8,
    12,
    3,
    2
);
parity!(gru_softmax_matches_its_twin, QGru, QGruInt8, 10, 4, 3);
parity!(
    simple_rnn_sequence_output_matches_its_twin,
    QRnn,
    QRnnInt8,
    8,
    2,
    4
);
parity!(
    other_activations_match_their_twin,
    QActs,
    QActsInt8,
    6,
    2,
    5
);

#[test]
fn an_embedding_model_matches_its_twin() {
    let net = with_biases(QTokens::new(6), 6);
    let q = net.quantize().expect("finite weights");
    let twin = q.dequantize();
    let ids = values(9 * 16, 7);
    for x in ids.chunks_exact(9) {
        let x: [u32; 9] = core::array::from_fn(|t| ((x[t] + 2.0) * 7.4) as u32 % 30);
        let (a, b) = (q.predict_one(&x).unwrap(), twin.predict_one(&x).unwrap());
        assert!(max_diff(&a, &b) <= TOLERANCE, "{a:?} vs {b:?}");
        let mut stream = q.stream();
        let mut last = [0.0; 3];
        for id in x {
            last = stream.push(id).unwrap();
        }
        assert_eq!(last, a, "stream vs predict_one");
    }
    assert!(
        q.predict_one(&[30; 9]).is_err(),
        "an id outside the vocabulary"
    );
}

#[test]
fn a_masked_model_skips_padded_steps_as_its_twin() {
    let net = with_biases(QMasked::new(13), 13);
    let q = net.quantize().unwrap();
    let twin = q.dequantize();
    for (k, mut x) in samples::<7, 2>(8, 14).into_iter().enumerate() {
        // The last k % 4 steps are padding.
        for x_t in x.iter_mut().rev().take(k % 4) {
            *x_t = [0.0; 2];
        }
        let (a, b) = (q.predict_one(&x), twin.predict_one(&x));
        assert!(max_diff(&a, &b) <= TOLERANCE, "{a:?} vs {b:?}");
        let mut stream = q.stream();
        let mut last = [0.0; 2];
        for x_t in &x {
            last = stream.push(x_t);
        }
        assert_eq!(last, a);
    }
}

#[test]
fn bytes_round_trip_and_take_about_a_third_of_f32() {
    let q = with_biases(QSeed::new(8), 8).quantize().unwrap();
    let bytes = q.to_le_bytes();
    assert_eq!(
        bytes.len(),
        rnn_runtime::flat::HEADER_BYTES + QSeedInt8::WEIGHT_BYTES
    );
    assert_eq!(&bytes[..4], b"RNNQ");
    let again = QSeedInt8::from_le_bytes(bytes.as_slice().try_into().unwrap());
    assert_eq!(again, q);
    assert_eq!(again.to_le_bytes(), bytes);
    // 4·200 + 200 + 200·50 + 4·200 (LSTM weights and scales) + 2·4·200 (biases)
    // + 50 + 4 + 4 (dense): a quarter of the f32 weights plus the f32 biases and scales.
    assert_eq!(
        QSeedInt8::WEIGHT_BYTES,
        200 + 800 + 10_000 + 800 + 1_600 + 58
    );
    const { assert!(QSeedInt8::WEIGHT_BYTES * 3 < 4 * QSeed::PARAMS) };
    let x = samples::<20, 1>(1, 9)[0];
    assert_eq!(again.predict_one(&x), q.predict_one(&x));
    // Neither kind of file loads as the other: the f32 file of the same model is
    // refused by its magic (and its size), an int8 file of another spec by its hash.
    let f32_file = with_biases(QSeed::new(8), 8).to_le_bytes();
    assert_eq!(
        rnn_runtime::flat::check_header(&bytes, <QSeed as rnn_runtime::Params>::SPEC_HASH),
        Err(rnn_runtime::flat::HeaderMismatch::Magic)
    );
    assert_eq!(
        rnn_runtime::flat::check_header_for(
            &f32_file,
            rnn_runtime::flat::INT8_MAGIC,
            <QSeed as rnn_runtime::Params>::SPEC_HASH
        ),
        Err(rnn_runtime::flat::HeaderMismatch::Magic)
    );
    let mut other = bytes.clone();
    other[8] ^= 1; // another spec's hash, same size
    let exact: &[u8; rnn_runtime::flat::HEADER_BYTES + QSeedInt8::WEIGHT_BYTES] =
        other.as_slice().try_into().unwrap();
    let panic = std::panic::catch_unwind(|| QSeedInt8::from_le_bytes(exact)).unwrap_err();
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .unwrap_or_default();
    assert!(message.contains("another model"), "{message}");
}

#[test]
fn dequantised_weights_are_within_half_a_scale_and_biases_exact() {
    let net = with_biases(QLstm::new(10), 10);
    let twin = net.quantize().unwrap().dequantize();
    let specs = QLstm::param_specs();
    for ((spec, w), d) in specs.iter().zip(tensors(&net)).zip(tensors(&twin)) {
        if spec.shape.len() == 1 {
            assert_eq!(w, d, "{}", spec.name);
            continue;
        }
        for (row, drow) in w.chunks(spec.shape[1]).zip(d.chunks(spec.shape[1])) {
            let scale = row.iter().fold(0.0f32, |m, v| m.max(v.abs())) / 127.0;
            for (a, b) in row.iter().zip(drow) {
                assert!(
                    (a - b).abs() <= scale / 2.0 * (1.0 + 1e-5),
                    "{}: {a} vs {b}",
                    spec.name
                );
            }
        }
    }
}

#[test]
fn a_zero_row_quantises_to_scale_zero_and_dequantises_to_zeros() {
    let mut net = with_biases(QGru::new(11), 11);
    let mut at = 0;
    net.visit_params_mut(&mut |t| {
        if at == 1 {
            // Row 5 of weight_hh [48, 16].
            t[5 * 16..6 * 16].fill(0.0);
        }
        at += 1;
    });
    let q = net.quantize().unwrap();
    assert_eq!(q.l0.weight_hh().scales()[5], 0.0);
    assert!((0..16).all(|c| q.l0.weight_hh().value(5, c) == 0));
    let d = tensors(&q.dequantize());
    assert!(d[1][5 * 16..6 * 16].iter().all(|&v| v == 0.0));
    assert!(d[1][4 * 16..5 * 16].iter().any(|&v| v != 0.0));
}

#[test]
fn non_finite_parameters_are_refused() {
    for (tensor, index, value) in [
        (1, 7, f32::NAN),
        (0, 0, f32::INFINITY),
        (3, 2, f32::NEG_INFINITY),
    ] {
        let mut net = QSeed::new(12);
        let mut at = 0;
        net.visit_params_mut(&mut |t| {
            if at == tensor {
                t[index] = value;
            }
            at += 1;
        });
        match net.quantize() {
            Err(Error::NonFiniteWeight {
                tensor: name,
                index: i,
                value: v,
            }) => {
                assert_eq!(name, QSeed::param_specs()[tensor].name);
                assert_eq!(i, index);
                assert!(v.is_nan() == value.is_nan() && (v.is_nan() || v == value));
            }
            other => panic!("{other:?}"),
        }
    }
}

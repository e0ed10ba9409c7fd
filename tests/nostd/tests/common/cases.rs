// The inputs of the cross-build check, shared word for word by the std build's test
// (`tests/nostd_parity.rs` of the main workspace) and this crate's (`tests/parity.rs`).
// `weights/expected.bin` holds the std build's outputs for them as little-endian f32:
// `SEED_WINDOWS` outputs of `SeedNet`, then `GRU_SEQUENCES × 8 × 2` of `GruNet`.
// `weights/heads.bin` holds `GESTURE_SAMPLES × 4` outputs of `GestureNet` and as many
// × 3 of `BiNet` (on the first 10 steps, first 2 axes of the same samples), then every
// dense activation applied to the `SWEEP` values of `sweep_value` (rows of 8 for
// softmax), in the order of `ACTIVATIONS`: what `HEADS_VALUES` counts.

/// Windows fed to the seed model.
const SEED_WINDOWS: usize = 4;
/// Sequences fed to the streaming GRU.
const GRU_SEQUENCES: usize = 2;
/// Values in `expected.bin`.
const EXPECTED_VALUES: usize = SEED_WINDOWS + GRU_SEQUENCES * 8 * 2;

/// Window `i` of a sine sampled at different phases and rates.
fn seed_window(i: usize) -> [[f32; 1]; 20] {
    core::array::from_fn(|t| [((i * 7 + t) as f32 * (0.2 + 0.05 * i as f32)).sin()])
}

/// Sequence `i` of three features in [-2, 2], so that the gates leave their linear
/// range.
fn gru_sequence(i: usize) -> [[f32; 3]; 8] {
    core::array::from_fn(|t| {
        core::array::from_fn(|f| 2.0 * ((t * 3 + f + 11 * i) as f32 * 0.7).cos())
    })
}

/// `{:?}` of the seed model in both builds: the architecture and the count on one
/// line (no weights), written without `std`.
const SEED_DEBUG: &str = "SeedNet { input(20, 1), lstm(50), dense(1), params: 10651 }";

/// Samples fed to the gesture model.
const GESTURE_SAMPLES: usize = 3;

/// Values of the activation sweep.
const SWEEP: usize = 1024;

/// The dense activations the sweep runs, each through `Activation::apply`.
const ACTIVATIONS: [rnn_runtime::Activation; 8] = [
    rnn_runtime::Activation::Linear,
    rnn_runtime::Activation::Relu,
    rnn_runtime::Activation::Tanh,
    rnn_runtime::Activation::Sigmoid,
    rnn_runtime::Activation::Softmax,
    rnn_runtime::Activation::Gelu,
    rnn_runtime::Activation::Elu,
    rnn_runtime::Activation::Softplus,
];

/// Values in `heads.bin`.
const HEADS_VALUES: usize = GESTURE_SAMPLES * (4 + 3) + ACTIVATIONS.len() * SWEEP;

/// Sample `i` of three axes, a different rhythm on each.
fn gesture_sample(i: usize) -> [[f32; 3]; 32] {
    core::array::from_fn(|t| {
        core::array::from_fn(|f| 1.5 * ((t * (f + 1) + 5 * i) as f32 * 0.3).sin())
    })
}

/// Value `k` of the sweep: [-40, 40] unevenly, so that every branch of every
/// activation (the tails of exp, log1p and erf included) is met.
fn sweep_value(k: usize) -> f32 {
    let u = k as f32 / (SWEEP - 1) as f32 * 2.0 - 1.0;
    40.0 * u * u * u + 0.37 * u
}

/// The first 10 steps and 2 axes of gesture sample `i`: `BiNet`'s input.
fn bi_sample(i: usize) -> [[f32; 2]; 10] {
    let g = gesture_sample(i);
    core::array::from_fn(|t| [g[t][0], g[t][1]])
}

/// The gesture and bidirectional models' outputs, then the sweep through each
/// activation: what `heads.bin` holds.
fn heads(gesture: &GestureNet, bi: &BiNet, out: &mut [f32; HEADS_VALUES]) {
    for i in 0..GESTURE_SAMPLES {
        out[i * 4..(i + 1) * 4].copy_from_slice(&gesture.predict_one(&gesture_sample(i)));
    }
    let mut at = GESTURE_SAMPLES * 4;
    for i in 0..GESTURE_SAMPLES {
        out[at..at + 3].copy_from_slice(&bi.predict_one(&bi_sample(i)));
        at += 3;
    }
    for act in ACTIVATIONS {
        let v = &mut out[at..at + SWEEP];
        for (k, x) in v.iter_mut().enumerate() {
            *x = sweep_value(k);
        }
        act.apply(v, 8);
        at += SWEEP;
    }
}

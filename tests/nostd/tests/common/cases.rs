// The inputs of the cross-build check, shared word for word by the std build's test
// (`tests/nostd_parity.rs` of the main workspace) and this crate's (`tests/parity.rs`).
// `weights/expected.bin` holds the std build's outputs for them as little-endian f32:
// `SEED_WINDOWS` outputs of `SeedNet`, then `GRU_SEQUENCES × 8 × 2` of `GruNet`.

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

//! `new(seed)`: Keras's default initialisation, deterministic in the seed.

use rnn_runtime::{model, Params};

model! { struct Seed < input(20, 1), lstm(50), dense(1) > }
model! { struct Cells < input(4, 3), gru(6, return_sequences = true), simple_rnn(5), dense(2, activation = relu) > }

fn param<M: Params>(m: &M, name: &str) -> Vec<f32> {
    m.param(name)
        .unwrap_or_else(|| panic!("no {name}"))
        .iter()
        .copied()
        .collect()
}

/// Columns of a row-major `[rows, cols]` matrix are orthonormal.
fn assert_orthonormal_columns(w: &[f32], rows: usize, cols: usize) {
    for a in 0..cols {
        for b in 0..cols {
            let dot: f64 = (0..rows)
                .map(|r| w[r * cols + a] as f64 * w[r * cols + b] as f64)
                .sum();
            let want = if a == b { 1.0 } else { 0.0 };
            assert!((dot - want).abs() < 1e-5, "columns {a}, {b}: {dot}");
        }
    }
}

#[test]
fn lstm_follows_keras_defaults() {
    let net = Seed::new(42);
    let limit = (6.0f32 / (1.0 + 200.0)).sqrt();
    let w_ih = param(&net, "0.weight_ih");
    assert!(w_ih.iter().all(|v| v.abs() <= limit) && w_ih.iter().any(|v| v.abs() > 0.5 * limit));
    assert_orthonormal_columns(&param(&net, "0.weight_hh"), 200, 50);
    let b_ih = param(&net, "0.bias_ih");
    for (k, v) in b_ih.iter().enumerate() {
        let forget_gate = (50..100).contains(&k);
        assert_eq!(*v, if forget_gate { 1.0 } else { 0.0 }, "bias_ih[{k}]");
    }
    assert!(param(&net, "0.bias_hh").iter().all(|&v| v == 0.0));
    let dense_limit = (6.0f32 / 51.0).sqrt();
    assert!(param(&net, "1.weight")
        .iter()
        .all(|v| v.abs() <= dense_limit));
    assert_eq!(param(&net, "1.bias"), vec![0.0]);
}

#[test]
fn gru_and_simple_rnn_have_zero_biases_and_orthogonal_recurrent_kernels() {
    let net = Cells::new(1);
    assert_orthonormal_columns(&param(&net, "0.weight_hh"), 18, 6);
    assert_orthonormal_columns(&param(&net, "1.weight_hh"), 5, 5);
    for name in ["0.bias_ih", "0.bias_hh", "1.bias_ih", "1.bias_hh", "2.bias"] {
        assert!(param(&net, name).iter().all(|&v| v == 0.0), "{name}");
    }
}

#[test]
fn the_seed_alone_decides_the_parameters() {
    assert_eq!(Seed::new(42), Seed::new(42));
    assert_ne!(Seed::new(42), Seed::new(43));
}

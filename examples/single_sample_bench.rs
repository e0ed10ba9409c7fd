//! Single-sample inference, one JSON line: the median µs of `predict_one` on the seed
//! shape `input(20, 1), <cell>(50), dense(1)` for each cell kind, and of 20
//! `stream().push` calls on the LSTM one.
//!
//! `cargo run --release --example single_sample_bench`

use std::time::Instant;

use rnn_runtime::model;

model! { struct SeedLstm < input(20, 1), lstm(50), dense(1) > }
model! { struct SeedGru < input(20, 1), gru(50), dense(1) > }
model! { struct SeedRnn < input(20, 1), simple_rnn(50), dense(1) > }

/// The median of `calls` timings of `f` in µs, after `warmup` untimed calls.
fn time_us(warmup: usize, calls: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..warmup {
        f();
    }
    let mut samples: Vec<f64> = (0..calls)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// The seed window: 20 steps of a sine.
fn window() -> [[f32; 1]; 20] {
    std::array::from_fn(|t| [(t as f32 * 0.3).sin()])
}

fn main() {
    let one = window();
    let (warmup, calls) = (2_000, 20_000);
    let lstm = SeedLstm::new(42);
    let gru = SeedGru::new(42);
    let rnn = SeedRnn::new(42);
    let lstm_us = time_us(warmup, calls, || {
        std::hint::black_box(lstm.predict_one(std::hint::black_box(&one)));
    });
    let gru_us = time_us(warmup, calls, || {
        std::hint::black_box(gru.predict_one(std::hint::black_box(&one)));
    });
    let rnn_us = time_us(warmup, calls, || {
        std::hint::black_box(rnn.predict_one(std::hint::black_box(&one)));
    });
    let push_us = time_us(warmup, calls, || {
        let mut stream = lstm.stream();
        for x in std::hint::black_box(&one) {
            std::hint::black_box(stream.push(x));
        }
    });
    println!(
        "{{\"lstm_predict_one_us\":{lstm_us:.3},\"gru_predict_one_us\":{gru_us:.3},\
         \"simple_rnn_predict_one_us\":{rnn_us:.3},\"lstm_push20_us\":{push_us:.3}}}"
    );
}

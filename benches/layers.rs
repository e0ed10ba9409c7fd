//! Forward and backward passes per layer kind and size, and single-sample inference:
//! `cargo bench --bench layers`. Batch 32 of 20 time steps, one feature.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rnn::sine_windows;
use rnn_runtime::{model, Network};

model! { struct Lstm50 < input(20, 1), lstm(50), dense(1) > }
model! { struct Lstm256 < input(20, 1), lstm(256), dense(1) > }
model! { struct Gru50 < input(20, 1), gru(50), dense(1) > }
model! { struct Gru256 < input(20, 1), gru(256), dense(1) > }
model! { struct Rnn50 < input(20, 1), simple_rnn(50), dense(1) > }
model! { struct Rnn256 < input(20, 1), simple_rnn(256), dense(1) > }

const BATCH: usize = 32;

fn passes<M: Network<Input = f32>>(c: &mut Criterion, kind: &str, units: usize) {
    let net = M::init(1);
    let (x, _) = sine_windows(BATCH, M::TIMESTEPS);
    let x = x.as_slice().expect("standard layout").to_vec();
    let d_out = vec![1e-3f32; BATCH * M::OUTPUTS];
    let mut ws = M::Workspace::default();
    let mut grads = vec![0.0f32; M::PARAMS];
    let mut group = c.benchmark_group(kind);
    group.bench_function(BenchmarkId::new("forward", units), |b| {
        b.iter(|| black_box(net.forward_batch(black_box(&x), BATCH, None, None, &mut ws)[0]))
    });
    group.bench_function(BenchmarkId::new("forward_backward", units), |b| {
        b.iter(|| {
            net.forward_batch(black_box(&x), BATCH, None, None, &mut ws);
            net.backward_batch(&d_out, &mut ws, &mut grads);
            black_box(grads[0])
        })
    });
    group.finish();
}

fn layers(c: &mut Criterion) {
    passes::<Lstm50>(c, "lstm", 50);
    passes::<Lstm256>(c, "lstm", 256);
    passes::<Gru50>(c, "gru", 50);
    passes::<Gru256>(c, "gru", 256);
    passes::<Rnn50>(c, "simple_rnn", 50);
    passes::<Rnn256>(c, "simple_rnn", 256);
}

fn predict_one(c: &mut Criterion) {
    let window = [[0.5f32; 1]; 20];
    let mut group = c.benchmark_group("predict_one");
    let (lstm, gru, rnn) = (Lstm50::new(1), Gru50::new(1), Rnn50::new(1));
    group.bench_function("lstm50", |b| {
        b.iter(|| lstm.predict_one(black_box(&window)))
    });
    group.bench_function("gru50", |b| b.iter(|| gru.predict_one(black_box(&window))));
    group.bench_function("simple_rnn50", |b| {
        b.iter(|| rnn.predict_one(black_box(&window)))
    });
    group.finish();
}

criterion_group!(benches, layers, predict_one);
criterion_main!(benches);

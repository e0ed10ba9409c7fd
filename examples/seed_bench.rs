//! The seed workload as a benchmark: prints one JSON line in the format of
//! `bench/peers/SCHEMA.md`, so that this project and its peers are measured alike.
//!
//! `cargo run --release --example seed_bench -- [--threads N] [--grid] [--variants]`,
//! or `-- --peak` for the single-core peak of f32 multiply-adds that the GFLOP/s
//! figures are read against (each grid point reports its `gflop_per_epoch`: forward
//! 2·4H(I+H) per sample and step, backward twice that). `--wide` runs only the grid's
//! two H = 256 points. `lowlevel_s_per_epoch` is the seed workload through a
//! hand-written loop (`select`, `loss_and_grads_into`, `Adam::step`) instead of `fit`.
//! `--variants` adds the seed workload's per-epoch training time for other model
//! shapes (bidirectional, many-to-many, stacked, dropout) next to the plain LSTM.

use std::time::Instant;

use rnn::sine_windows;
use rnn_runtime::rng::Rng;
use rnn_runtime::{loss_and_grads_into, model, Adam, Fit, Grads, Loss, Network};

model! { struct Seed < input(20, 1), lstm(50), dense(1) > }
model! { struct LongSeq < input(100, 1), lstm(50), dense(1) > }
model! { struct Wide < input(20, 1), lstm(256), dense(1) > }
model! { struct WideLong < input(100, 1), lstm(256), dense(1) > }
model! { struct Bidirectional < input(20, 1), bidirectional(lstm(50)), dense(1) > }
model! { struct ManyToMany < input(20, 1), lstm(50, return_sequences = true), dense(1) > }
model! { struct Stacked < input(20, 1), lstm(50, return_sequences = true), lstm(50), dense(1) > }
model! { struct Dropout < input(20, 1), lstm(50, dropout = 0.2, recurrent_dropout = 0.2), dropout(0.2), dense(1) > }
model! { struct GruSeed < input(20, 1), gru(50), dense(1) > }
model! { struct RnnSeed < input(20, 1), simple_rnn(50), dense(1) > }

/// `(T, H, batch, run)`: a grid point and the training run that measures it.
type GridPoint = (
    usize,
    usize,
    usize,
    fn() -> Result<(f64, f32), rnn_runtime::Error>,
);

/// Trains `M` for `epochs` epochs and returns the median seconds of epochs 2..=last,
/// with the last epoch's mean loss.
fn train<M: Network<Input = f32>>(
    samples: usize,
    batch: usize,
    epochs: usize,
) -> Result<(f64, f32), rnn_runtime::Error> {
    let (x, y) = sine_windows(samples, M::TIMESTEPS);
    fit_timed::<M>(x.view().into_dyn(), y.view().into_dyn(), batch, epochs)
}

/// Like [`train`] for a model with a sequence output: the target of step `t` is the
/// series' next value after step `t`.
fn train_sequence<M: Network<Input = f32>>(
    samples: usize,
    batch: usize,
    epochs: usize,
) -> Result<(f64, f32), rnn_runtime::Error> {
    let (x, y) = sine_windows(samples, M::TIMESTEPS);
    let steps = M::TIMESTEPS;
    let y_seq = ndarray::Array3::from_shape_fn((samples, steps, 1), |(i, t, _)| {
        if t + 1 < steps {
            x[[i, t + 1, 0]]
        } else {
            y[[i, 0]]
        }
    });
    fit_timed::<M>(x.view().into_dyn(), y_seq.view().into_dyn(), batch, epochs)
}

/// Trains a fresh `M` (seed 42, Adam 1e-3) and returns the median seconds of epochs
/// 2..=last, with the last epoch's mean loss.
fn fit_timed<M: Network<Input = f32>>(
    x: ndarray::ArrayViewD<'_, f32>,
    y: ndarray::ArrayViewD<'_, f32>,
    batch: usize,
    epochs: usize,
) -> Result<(f64, f32), rnn_runtime::Error> {
    let mut net = M::init(42);
    let options = Fit::new(Adam::new(1e-3))
        .epochs(epochs)
        .batch_size(batch)
        .verbose(false);
    let history = rnn_runtime::fit(&mut net, x, y, options)?;
    let last = history.loss.last().copied().unwrap_or(f32::NAN);
    Ok((median(history.seconds[1..].to_vec()), last))
}

/// The seed workload through a hand-written loop: each epoch shuffles, cuts batches
/// with `select`, and trains with `loss_and_grads_into` and `Adam::step`. Returns the
/// median seconds of epochs 2..=last, with the last epoch's mean loss.
fn train_loop(
    samples: usize,
    batch: usize,
    epochs: usize,
) -> Result<(f64, f32), rnn_runtime::Error> {
    use ndarray::Axis;
    let (x, y) = sine_windows(samples, Seed::TIMESTEPS);
    let mut net = Seed::new(42);
    let mut adam = Adam::new(1e-3);
    let mut grads = Grads::zeros::<Seed>();
    let mut rng = Rng::new(7);
    let mut order: Vec<usize> = (0..samples).collect();
    let (mut seconds, mut last) = (Vec::new(), f32::NAN);
    for epoch in 0..epochs {
        let start = Instant::now();
        rng.shuffle(&mut order);
        let mut sum = 0.0f64;
        for (step, idx) in order.chunks(batch).enumerate() {
            let (xb, yb) = (x.select(Axis(0), idx), y.select(Axis(0), idx));
            let seed = (epoch * samples + step) as u64;
            let loss = loss_and_grads_into(
                &net,
                xb.view().into_dyn(),
                yb.view().into_dyn(),
                Loss::Mse,
                seed,
                &mut grads,
            )?;
            adam.step(&mut net, &grads)?;
            sum += loss as f64 * idx.len() as f64;
        }
        seconds.push(start.elapsed().as_secs_f64());
        last = (sum / samples as f64) as f32;
    }
    Ok((median(seconds[1..].to_vec()), last))
}

/// Median microseconds of `predict_one` on a fixed window of `M` (weights from seed 42).
fn predict_one_us<M: Network<Input = f32> + SingleSample>(window: &[[f32; 1]; 20]) -> f64 {
    let net = M::init(42);
    time_us(50, 1000, || {
        std::hint::black_box(net.one(std::hint::black_box(window)));
    })
}

/// The generated `predict_one` of the seed-shaped models, behind one name.
trait SingleSample {
    fn one(&self, window: &[[f32; 1]; 20]) -> [f32; 1];
}

macro_rules! single_sample {
    ($($model:ident),*) => {$(
        impl SingleSample for $model {
            fn one(&self, window: &[[f32; 1]; 20]) -> [f32; 1] {
                self.predict_one(window)
            }
        }
    )*};
}
single_sample!(Seed, GruSeed, RnnSeed);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Median microseconds of `calls` runs of `f` after `warmup` runs.
fn time_us(warmup: usize, calls: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..warmup {
        f();
    }
    let samples = (0..calls)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    median(samples)
}

/// Single-core peak of packed f32 multiply-add in GFLOP/s, measured with a loop of
/// independent FMA chains (enough of them to hide the latency), using the widest
/// vectors the CPU has. Returns the figure and the instruction set used.
#[cfg(target_arch = "x86_64")]
fn fma_peak() -> (f64, &'static str) {
    use std::arch::x86_64::*;
    const CHAINS: usize = 12;
    const ROUNDS: usize = 20_000_000;

    #[target_feature(enable = "avx512f")]
    fn avx512() -> f32 {
        let mut acc = [_mm512_set1_ps(1.0); CHAINS];
        let (a, b) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
        for _ in 0..ROUNDS / 16 {
            for v in acc.iter_mut() {
                *v = _mm512_fmadd_ps(*v, a, b);
            }
        }
        acc.iter().map(|v| _mm512_reduce_add_ps(*v)).sum()
    }

    #[target_feature(enable = "avx2,fma")]
    fn avx2() -> f32 {
        let mut acc = [_mm256_set1_ps(1.0); CHAINS];
        let (a, b) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
        for _ in 0..ROUNDS / 8 {
            for v in acc.iter_mut() {
                *v = _mm256_fmadd_ps(*v, a, b);
            }
        }
        let mut lanes = [0.0f32; 8];
        acc.iter()
            .map(|v| {
                // SAFETY: `lanes` holds eight floats.
                unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), *v) };
                lanes.iter().sum::<f32>()
            })
            .sum()
    }

    let start = Instant::now();
    let (sink, isa) = if std::is_x86_feature_detected!("avx512f") {
        // SAFETY: the feature was just detected.
        (unsafe { avx512() }, "avx512")
    } else if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the features were just detected.
        (unsafe { avx2() }, "avx2+fma")
    } else {
        return (f64::NAN, "none");
    };
    let seconds = start.elapsed().as_secs_f64();
    std::hint::black_box(sink);
    // Every round is CHAINS vector FMAs of 2 flops per lane, ROUNDS lanes in all.
    ((2 * CHAINS * ROUNDS) as f64 / seconds / 1e9, isa)
}

#[cfg(not(target_arch = "x86_64"))]
fn fma_peak() -> (f64, &'static str) {
    (f64::NAN, "none")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut threads = 1usize;
    let mut grid = false;
    let mut variants = false;
    let mut wide = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => threads = args.next().ok_or("--threads needs a value")?.parse()?,
            "--grid" => grid = true,
            "--variants" => variants = true,
            "--wide" => wide = true,
            "--peak" => {
                let (gflops, isa) = fma_peak();
                let json = serde_json::json!({"fma_peak_gflops_one_core": gflops, "isa": isa});
                println!("{json}");
                return Ok(());
            }
            other => {
                return Err(format!(
                    "unknown argument {other}; expected --threads N, --grid, --wide, --variants, --peak"
                )
                .into())
            }
        }
    }

    // The runtime trains and predicts on the rayon pool: size it as asked.
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .map_err(|e| format!("cannot size the thread pool: {e}"))?;
    eprintln!("training the seed workload (N = 4096, 6 epochs, {threads} threads)");
    let (train_s, final_loss) = train::<Seed>(4096, 32, 6)?;
    eprintln!("the low-level loop (select, loss_and_grads_into, Adam::step)");
    let (lowlevel_s, _) = train_loop(4096, 32, 6)?;

    let net = Seed::new(42);
    let (x, _) = sine_windows(256, 20);
    let mut one = [[0.0f32; 1]; 20];
    for (t, row) in one.iter_mut().enumerate() {
        row[0] = x[[0, t, 0]];
    }
    let b1 = time_us(50, 1000, || {
        std::hint::black_box(net.predict_one(std::hint::black_box(&one)));
    });
    let b1_gru = predict_one_us::<GruSeed>(&one);
    let b1_simple_rnn = predict_one_us::<RnnSeed>(&one);
    // One time step of a stream (state carried): a window of 20 pushes, per push.
    let mut stream = net.stream();
    let push = time_us(50, 1000, || {
        for row in &one {
            std::hint::black_box(stream.push(std::hint::black_box(row)));
        }
    }) / 20.0;
    let b256 = time_us(10, 200, || {
        let out = net
            .forward(std::hint::black_box(x.view()))
            .expect("shapes are right");
        std::hint::black_box(out);
    });

    let mut json = serde_json::json!({
        "system": "rnn",
        "version": env!("CARGO_PKG_VERSION"),
        "threads": threads,
        "train_s_per_epoch": train_s,
        "final_loss": final_loss,
        "predict_b1_us": b1,
        "predict_b256_us": b256,
        "predict_b1_gru_us": b1_gru,
        "predict_b1_simple_rnn_us": b1_simple_rnn,
        "stream_push_us": push,
        "lowlevel_s_per_epoch": lowlevel_s,
    });
    if grid || wide {
        let mut points = Vec::new();
        let cases: [GridPoint; 6] = [
            (20, 50, 32, || train::<Seed>(1024, 32, 4)),
            (100, 50, 32, || train::<LongSeq>(1024, 32, 4)),
            (20, 256, 32, || train::<Wide>(1024, 32, 4)),
            (100, 256, 32, || train::<WideLong>(1024, 32, 4)),
            (20, 50, 1, || train::<Seed>(1024, 1, 4)),
            (20, 50, 256, || train::<Seed>(1024, 256, 4)),
        ];
        for (t, h, batch, run) in cases {
            if wide && !grid && h != 256 {
                continue;
            }
            eprintln!("grid: T = {t}, H = {h}, batch = {batch}");
            let (seconds, _) = run()?;
            // One input feature: forward 2·4H(1 + H) per sample and step, backward twice.
            let gflop = 3.0 * 2.0 * (4 * h * (1 + h)) as f64 * (t * 1024) as f64 / 1e9;
            points.push(serde_json::json!({
                "timesteps": t, "units": h, "batch": batch, "samples": 1024,
                "train_s_per_epoch": seconds, "gflop_per_epoch": gflop,
                "gflops": gflop / seconds,
            }));
        }
        json["grid"] = serde_json::Value::Array(points);
        // The peak the grid's GFLOP/s are read against, measured in the same run.
        let (gflops, isa) = fma_peak();
        json["fma_peak_gflops_one_core"] = serde_json::json!(gflops);
        json["fma_peak_isa"] = serde_json::json!(isa);
    }
    if variants {
        type Run = fn() -> Result<(f64, f32), rnn_runtime::Error>;
        let cases: [(&str, &str, Run); 6] = [
            ("lstm", "lstm(50), dense(1)", || train::<Seed>(4096, 32, 6)),
            ("gru", "gru(50), dense(1)", || train::<GruSeed>(4096, 32, 6)),
            ("bidirectional", "bidirectional(lstm(50)), dense(1)", || {
                train::<Bidirectional>(4096, 32, 6)
            }),
            (
                "many_to_many",
                "lstm(50, return_sequences = true), dense(1)",
                || train_sequence::<ManyToMany>(4096, 32, 6),
            ),
            (
                "stacked",
                "lstm(50, return_sequences = true), lstm(50), dense(1)",
                || train::<Stacked>(4096, 32, 6),
            ),
            (
                "dropout",
                "lstm(50, dropout = 0.2, recurrent_dropout = 0.2), dropout(0.2), dense(1)",
                || train::<Dropout>(4096, 32, 6),
            ),
        ];
        let mut rows = Vec::new();
        for (name, layers, run) in cases {
            eprintln!("variant: {name}");
            let (seconds, loss) = run()?;
            rows.push(serde_json::json!({
                "variant": name, "layers": layers, "train_s_per_epoch": seconds,
                "final_loss": loss,
            }));
        }
        json["variants"] = serde_json::Value::Array(rows);
    }
    println!("{json}");
    Ok(())
}

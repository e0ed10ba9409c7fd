//! What the Rust peer benchmarks share: the command line (`--threads N`, `--grid`), the
//! seed workload's data and sizes, timing helpers and the one JSON line of
//! `bench/peers/SCHEMA.md`. Nothing here depends on burn or candle.

use std::time::Instant;

use serde_json::{json, Map, Value};

/// Headline: N = 4096, T = 20, H = 50, batch 32, 6 epochs (median of epochs 2..=6).
pub const HEADLINE: Workload = Workload {
    samples: 4096,
    timesteps: 20,
    units: 50,
    batch: 32,
    epochs: 6,
};
/// Grid points (T, H, batch), in the schema's order; N = 1024, 4 epochs.
pub const GRID: [(usize, usize, usize); 6] = [
    (20, 50, 32),
    (100, 50, 32),
    (20, 256, 32),
    (100, 256, 32),
    (20, 50, 1),
    (20, 50, 256),
];
pub const GRID_SAMPLES: usize = 1024;
pub const GRID_EPOCHS: usize = 4;
/// Seed of the model initialisation and of the shuffles.
pub const SEED: u64 = 42;
/// Adam's learning rate.
pub const LR: f64 = 1e-3;

#[derive(Clone, Copy, Debug)]
pub struct Workload {
    pub samples: usize,
    pub timesteps: usize,
    pub units: usize,
    pub batch: usize,
    pub epochs: usize,
}

impl Workload {
    /// The grid's workloads, in order.
    pub fn grid() -> impl Iterator<Item = Workload> {
        GRID.iter().map(|&(timesteps, units, batch)| Workload {
            samples: GRID_SAMPLES,
            timesteps,
            units,
            batch,
            epochs: GRID_EPOCHS,
        })
    }
}

/// The parsed command line.
#[derive(Clone, Copy, Debug)]
pub struct Args {
    pub threads: usize,
    pub grid: bool,
    /// `--in-pool`, not part of SCHEMA.md: run the whole benchmark on a worker thread of the
    /// library's rayon pool instead of on the main thread (see each binary's docs).
    pub in_pool: bool,
}

/// Parses `--threads N` (default 1), `--grid` and `--in-pool`, then, before anything else runs, sets
/// `RAYON_NUM_THREADS` (and the extra variables in `extra_env`, e.g. `MATMUL_NUM_THREADS`)
/// to N and builds rayon's global pool with N threads.
pub fn setup(extra_env: &[&str]) -> Args {
    let mut args = Args {
        threads: 1,
        grid: false,
        in_pool: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--threads" => {
                args.threads = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| usage("--threads needs a positive integer"))
            }
            "--grid" => args.grid = true,
            "--in-pool" => args.in_pool = true,
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let n = args.threads.to_string();
    // Still single-threaded here: nothing else reads the environment concurrently.
    for var in std::iter::once(&"RAYON_NUM_THREADS").chain(extra_env) {
        std::env::set_var(var, &n);
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build_global()
        .expect("rayon's global pool was already built");
    args
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("{problem}");
    }
    eprintln!(
        "usage: {} [--threads N] [--grid] [--in-pool]",
        std::env::args().next().unwrap_or_default()
    );
    std::process::exit(if problem.is_empty() { 0 } else { 2 })
}

/// The seed data: `s[t] = sin(0.1·t)` (computed in f64, stored f32); windows
/// `x[i] = s[i..i+T]` flattened row-major as `[N, T, 1]`, targets `y[i] = s[i+T]` as `[N, 1]`.
pub fn sine_windows(samples: usize, timesteps: usize) -> (Vec<f32>, Vec<f32>) {
    let s: Vec<f32> = (0..samples + timesteps)
        .map(|t| (0.1 * t as f64).sin() as f32)
        .collect();
    let x = (0..samples)
        .flat_map(|i| s[i..i + timesteps].iter().copied())
        .collect();
    let y = s[timesteps..timesteps + samples].to_vec();
    (x, y)
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Median microseconds of `calls` runs of `f` after `warmup` runs.
pub fn time_us(warmup: usize, calls: usize, mut f: impl FnMut()) -> f64 {
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

/// What one training run reports.
#[derive(Clone, Copy, Debug)]
pub struct TrainResult {
    /// Median wall seconds of epochs 2..=last.
    pub s_per_epoch: f64,
    /// Mean training loss of the last epoch.
    pub final_loss: f64,
}

/// Wraps a training loop: `epoch(e)` runs epoch `e` and returns its mean loss; this times it,
/// logs it, and returns the median of epochs 2..=last with the last loss.
pub fn run_epochs(epochs: usize, mut epoch: impl FnMut(usize) -> f64) -> TrainResult {
    let mut seconds = Vec::with_capacity(epochs);
    let mut loss = f64::NAN;
    for e in 0..epochs {
        let start = Instant::now();
        loss = epoch(e);
        seconds.push(start.elapsed().as_secs_f64());
        eprintln!(
            "  epoch {}/{epochs}: {:.4} s, loss {loss:.3e}",
            e + 1,
            seconds[e]
        );
    }
    TrainResult {
        s_per_epoch: median(seconds[1..].to_vec()),
        final_loss: loss,
    }
}

/// The headline numbers of one system.
pub struct Report {
    pub system: &'static str,
    pub version: &'static str,
    pub threads: usize,
    pub train: TrainResult,
    pub predict_b1_us: f64,
    pub predict_b256_us: f64,
}

/// Prints the schema's JSON line; with `grid`, runs `train` on every grid point first.
pub fn finish(report: Report, grid: bool, mut train: impl FnMut(Workload) -> TrainResult) {
    let mut out = Map::new();
    out.insert("system".into(), json!(report.system));
    out.insert("version".into(), json!(report.version));
    out.insert("threads".into(), json!(report.threads));
    out.insert("train_s_per_epoch".into(), json!(report.train.s_per_epoch));
    out.insert("final_loss".into(), json!(report.train.final_loss));
    out.insert("predict_b1_us".into(), json!(report.predict_b1_us));
    out.insert("predict_b256_us".into(), json!(report.predict_b256_us));
    if grid {
        let points: Vec<Value> = Workload::grid()
            .map(|w| {
                eprintln!(
                    "grid: T = {}, H = {}, batch = {}",
                    w.timesteps, w.units, w.batch
                );
                let r = train(w);
                json!({
                    "timesteps": w.timesteps,
                    "units": w.units,
                    "batch": w.batch,
                    "samples": w.samples,
                    "train_s_per_epoch": r.s_per_epoch,
                })
            })
            .collect();
        out.insert("grid".into(), Value::Array(points));
    }
    println!("{}", Value::Object(out));
}

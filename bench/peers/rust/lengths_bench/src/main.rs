//! This project on the variable-length and long-sequence workloads of
//! `bench/peers/SCHEMA.md` ("Variable lengths and long sequences"); prints one JSON line.
//!
//!     target/release/lengths_bench --threads N
//!
//! - **masked tokens**: N = 1024 right-padded sequences of T = 200 token ids, lengths
//!   uniform in [20, 200], `input(200), embedding(20000, 64, mask_zero = true), lstm(64),
//!   dense(2, activation = softmax)`, sparse categorical cross-entropy, Adam 1e-3, batch
//!   32: trained with `mask_zero` (padded steps skipped) and, on the same data, the same
//!   model without it (every padded step computed), and without it but with the lengths
//!   given (`Fit::lengths`, padded steps skipped again), and with every length 1 (what
//!   an epoch costs that does not scale with the steps).
//! - **long sequences**: N = 256 windows of T = 1000 steps of 8 features, `input(1000, 8),
//!   lstm(64), dense(1)`, MSE, Adam 1e-3, batch 32; and the peak bytes the training run
//!   allocated (a tracking global allocator, as `tests/memory.rs` uses) next to the
//!   training-memory formula of `rnn-runtime/docs/reliability.md`.
//!
//! The configurations train in turns of two epochs (`fit` continued through the same
//! options), the second one timed, so that the machine's load changes fall on all of
//! them alike; each figure is the median of five timed epochs.
//!
//! The data come from a splitmix64 generator and closed formulas that
//! `bench/peers/common.py` and `pytorch_lengths.py` reproduce, so PyTorch trains on the
//! same arrays.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use rnn_runtime::ndarray::{Array1, Array2, Array3};
use rnn_runtime::{model, Adam, Fit, Network};
use serde_json::json;

model! {
    struct Masked < input(200), embedding(20000, 64, mask_zero = true), lstm(64),
        dense(2, activation = softmax), loss = sparse_categorical_crossentropy >
}
model! {
    struct Padded < input(200), embedding(20000, 64), lstm(64),
        dense(2, activation = softmax), loss = sparse_categorical_crossentropy >
}
model! { struct Long < input(1000, 8), lstm(64), dense(1) > }

/// Live and peak bytes of the whole process, over all threads.
struct Tracking;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn grew(bytes: isize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call forwards to the system allocator with the caller's arguments; the
// counters only observe sizes.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size() as isize);
        // SAFETY: the caller's contract for `alloc` is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        grew(-(layout.size() as isize));
        // SAFETY: `ptr` came from `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grew(new_size as isize - layout.size() as isize);
        // SAFETY: `ptr` came from `System` with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

/// Runs `f`; returns its value and the bytes above the live total at its start that
/// were allocated at its peak.
fn peak_of<R>(f: impl FnOnce() -> R) -> (R, isize) {
    let base = LIVE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let r = f();
    (r, PEAK.load(Ordering::SeqCst) - base)
}

// --- The workloads' sizes (SCHEMA.md) ------------------------------------------------

const SEED: u64 = 42;
const BATCH: usize = 32;
const EPOCHS: usize = 6;
const LR: f32 = 1e-3;

const TOKENS_SAMPLES: usize = 1024;
const TOKENS_T: usize = 200;
const VOCAB: u64 = 20000;
const TOKENS_MIN_LEN: u64 = TOKENS_T as u64 / 10;

const LONG_SAMPLES: usize = 256;
const LONG_T: usize = 1000;
const LONG_F: usize = 8;
const LONG_H: usize = 64;

/// splitmix64: the data generator `common.py` reproduces.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi` (modulo bias below 1e-14).
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// The masked-token data: ids `[N, T]` right-padded with 0, class ids `[N]`, lengths.
/// Per sample in order: its length uniform in [T/10, T], then that many ids uniform in
/// 1..vocab; the class is 1 when the last valid id is below vocab / 2.
fn token_data() -> (Array2<u32>, Array1<f32>, Vec<usize>) {
    let mut rng = SplitMix(SEED);
    let mut x = Array2::<u32>::zeros((TOKENS_SAMPLES, TOKENS_T));
    let mut y = Array1::<f32>::zeros(TOKENS_SAMPLES);
    let mut lengths = Vec::with_capacity(TOKENS_SAMPLES);
    for i in 0..TOKENS_SAMPLES {
        let len = rng.between(TOKENS_MIN_LEN, TOKENS_T as u64) as usize;
        let mut last = 0;
        for t in 0..len {
            last = rng.between(1, VOCAB - 1);
            x[[i, t]] = last as u32;
        }
        y[i] = if last < VOCAB / 2 { 1.0 } else { 0.0 };
        lengths.push(len);
    }
    (x, y, lengths)
}

/// The long-sequence data: `x[i, t, f] = sin(0.05 (t + 3 i) + f)`, target the next value
/// of feature 0, `sin(0.05 (T + 3 i))`; computed in f64, stored as f32.
fn long_data() -> (Array3<f32>, Array2<f32>) {
    let x = Array3::from_shape_fn((LONG_SAMPLES, LONG_T, LONG_F), |(i, t, f)| {
        (0.05 * (t + 3 * i) as f64 + f as f64).sin() as f32
    });
    let y = Array2::from_shape_fn((LONG_SAMPLES, 1), |(i, _)| {
        (0.05 * (LONG_T + 3 * i) as f64).sin() as f32
    });
    (x, y)
}

/// Epochs per `fit` call: the first of each call grows the work buffers (as an epoch
/// 1 does), the second is the one timed.
const EPOCHS_PER_CALL: usize = 2;

fn options() -> Fit<Adam> {
    Fit::new(Adam::new(LR))
        .epochs(EPOCHS_PER_CALL)
        .batch_size(BATCH)
        .seed(SEED)
        .verbose(false)
}

/// One training configuration, trained in turns with the others: each turn is one
/// `fit` call on the same options (passed by `&mut`, so the run carries on: same
/// optimiser state, next shuffles), returning the turn's epoch seconds, its last loss
/// and the peak bytes allocated during the call above what was live before it.
type Turn<'a> = Box<dyn FnMut() -> Result<(Vec<f64>, f32, isize), rnn_runtime::Error> + 'a>;

fn turn<'a, M: Network + 'a>(
    mut net: M,
    x: rnn_runtime::ndarray::ArrayViewD<'a, M::Input>,
    y: rnn_runtime::ndarray::ArrayViewD<'a, f32>,
    mut options: Fit<Adam>,
) -> Turn<'a> {
    Box::new(move || {
        let (history, peak) =
            peak_of(|| rnn_runtime::fit(&mut net, x.clone(), y.clone(), &mut options));
        let history = history?;
        let loss = history.loss.last().copied().unwrap_or(f32::NAN);
        Ok((history.seconds, loss, peak))
    })
}

/// What a configuration measured: the median of its timed epochs, its last loss, the
/// largest peak of its calls.
#[derive(Default)]
struct Run {
    s_per_epoch: f64,
    final_loss: f32,
    peak_bytes: isize,
}

/// Runs the configurations in turns: a first untimed turn each, then `EPOCHS - 1`
/// rounds in which each trains one turn in order, so that a change of the machine's
/// load falls on all of them alike. Each turn's last epoch is timed (the schema's
/// epochs 2..=6: five timed epochs).
fn interleaved(mut runs: Vec<(&str, Turn<'_>)>) -> Result<Vec<Run>, rnn_runtime::Error> {
    let mut timed = vec![Vec::new(); runs.len()];
    let mut out: Vec<Run> = runs.iter().map(|_| Run::default()).collect();
    for round in 0..EPOCHS {
        for (i, (name, train)) in runs.iter_mut().enumerate() {
            let (seconds, loss, peak) = train()?;
            let last = *seconds.last().expect("one epoch at least");
            eprintln!(
                "  {name}, round {}/{EPOCHS}{}: epochs {seconds:.4?} s, loss {loss:.3e}",
                round + 1,
                if round == 0 { " (untimed)" } else { "" }
            );
            if round > 0 {
                timed[i].push(last);
            }
            out[i].final_loss = loss;
            out[i].peak_bytes = out[i].peak_bytes.max(peak);
        }
    }
    for (run, seconds) in out.iter_mut().zip(timed) {
        run.s_per_epoch = peers_common::median(seconds);
    }
    Ok(out)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = peers_common::setup(&[]);
    if args.grid || args.in_pool {
        return Err("lengths_bench takes --threads N only".into());
    }

    // Unmeasured: the thread pool's first use allocates its registry.
    {
        let (x, y) = long_data();
        let mut net = Long::new(SEED);
        let few = rnn_runtime::ndarray::s![..BATCH, .., ..];
        rnn_runtime::fit(
            &mut net,
            x.slice(few).into_dyn(),
            y.slice(rnn_runtime::ndarray::s![..BATCH, ..]).into_dyn(),
            Fit::new(Adam::new(LR))
                .epochs(1)
                .batch_size(BATCH)
                .verbose(false),
        )?;
    }

    let (x, y, lengths) = token_data();
    let valid: usize = lengths.iter().sum();
    let valid_fraction = valid as f64 / (TOKENS_SAMPLES * TOKENS_T) as f64;
    eprintln!(
        "masked tokens: N = {TOKENS_SAMPLES}, T = {TOKENS_T}, valid fraction {valid_fraction:.4}"
    );
    let ones = vec![1; TOKENS_SAMPLES];
    let (lx, ly) = long_data();
    eprintln!("masked tokens and long sequences, in turns of {EPOCHS_PER_CALL} epochs");
    let runs = interleaved(vec![
        (
            "masked tokens, mask_zero",
            turn(
                Masked::new(SEED),
                x.view().into_dyn(),
                y.view().into_dyn(),
                options(),
            ),
        ),
        (
            "masked tokens, every padded step",
            turn(
                Padded::new(SEED),
                x.view().into_dyn(),
                y.view().into_dyn(),
                options(),
            ),
        ),
        // The same skipping with the lengths given (PyTorch's habit) instead of read from
        // the padding: the model without mask_zero, Fit::lengths.
        (
            "masked tokens, Fit::lengths",
            turn(
                Padded::new(SEED),
                x.view().into_dyn(),
                y.view().into_dyn(),
                options().lengths(&lengths),
            ),
        ),
        // What does not scale with the steps (the embedding's Adam update over all
        // 20000 × 64 weights, gathering, the dense head, the loss): every sample one
        // step long.
        (
            "masked tokens, all lengths 1",
            turn(
                Padded::new(SEED),
                x.view().into_dyn(),
                y.view().into_dyn(),
                options().lengths(&ones),
            ),
        ),
        (
            "long sequences",
            turn(
                Long::new(SEED),
                lx.view().into_dyn(),
                ly.view().into_dyn(),
                options(),
            ),
        ),
    ])?;
    let [masked, padded, given, floor, long] = <[Run; 5]>::try_from(runs).ok().expect("five runs");
    // rnn-runtime/docs/reliability.md: per sample and step of a batch, 2·F + k·H floats
    // (k = 11 for an LSTM), kept for the whole sequence of the batch.
    let floats_per_row = 2 * LONG_F + 11 * LONG_H;
    let formula_bytes = floats_per_row * 4 * LONG_T * BATCH;

    let out = json!({
        "system": "rnn",
        "version": env!("PEER_VERSION"),
        "threads": args.threads,
        "masked_tokens": {
            "samples": TOKENS_SAMPLES, "timesteps": TOKENS_T, "vocab": VOCAB, "dim": 64,
            "units": 64, "batch": BATCH, "epochs": EPOCHS * EPOCHS_PER_CALL,
            "timed_epochs": EPOCHS - 1,
            "valid_steps": valid, "valid_fraction": valid_fraction,
            "train_s_per_epoch": masked.s_per_epoch,
            "final_loss": masked.final_loss,
            "peak_bytes": masked.peak_bytes,
            "padded_s_per_epoch": padded.s_per_epoch,
            "padded_final_loss": padded.final_loss,
            "padded_peak_bytes": padded.peak_bytes,
            "lengths_s_per_epoch": given.s_per_epoch,
            "lengths_final_loss": given.final_loss,
            "one_step_s_per_epoch": floor.s_per_epoch,
        },
        "long_sequences": {
            "samples": LONG_SAMPLES, "timesteps": LONG_T, "features": LONG_F,
            "units": LONG_H, "batch": BATCH, "epochs": EPOCHS * EPOCHS_PER_CALL,
            "timed_epochs": EPOCHS - 1,
            "train_s_per_epoch": long.s_per_epoch,
            "final_loss": long.final_loss,
            "peak_bytes": long.peak_bytes,
            "formula_bytes": formula_bytes,
            "parameter_bytes": 4 * Long::PARAMS,
        },
    });
    println!("{out}");
    Ok(())
}

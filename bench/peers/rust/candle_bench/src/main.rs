//! The seed workload (bench/peers/SCHEMA.md) in idiomatic candle; prints one JSON line.
//!
//!     candle_bench [--threads N] [--grid] [--in-pool]
//!
//! Model: `candle_nn::rnn::lstm(1, H, LSTMConfig::default())` → `candle_nn::linear(H, 1)` on the
//! final hidden state, parameters in a `VarMap`; CPU device, f32; candle's default
//! initialisation (Kaiming uniform weights, zero LSTM biases). The LSTM is unrolled over time
//! with the `RNN` trait as candle intends: `lstm.seq(&x)` (which calls `step` once per time
//! step on `x[:, t, :]`) and the last state's `h`. Optimiser: `candle_nn::AdamW` with
//! `ParamsAdamW { lr: 1e-3, weight_decay: 0.0, ..Default::default() }` (betas 0.9/0.999, eps
//! 1e-8) — plain Adam; candle has no separate Adam. Loss: `candle_nn::loss::mse` (mean).
//!
//! Candle cannot seed its CPU random number generator (`Device::Cpu.set_seed` returns an
//! error: CPU init draws from `rand::rng()`), so the initialisation differs from run to run;
//! the shuffles are seeded.
//!
//! Training loop: the whole data set is one pair of tensors; each epoch shuffles a permutation
//! of 0..N with a seeded `StdRng` and walks it in slices of `batch`, gathering each batch with
//! `index_select`. Per step: forward, `mse`, `opt.backward_step(&loss)`. The epoch loss is
//! accumulated in a detached tensor and read once per epoch.
//!
//! Prediction: candle records the graph whenever an operand is a `Var`, and has no no-grad
//! switch, so inference runs on a copy of the trained model built from the detached weights
//! (`VarBuilder::from_tensors`), the way candle models are loaded for inference. The timed call
//! is its `forward` on a fixed window, forced to a host `Vec` with `to_vec2`.
//!
//! Threads — what controls them in candle 0.11's CPU backend:
//! - matmul (the `gemm` crate) runs with `Parallelism::Rayon(n)` on the *current* rayon pool,
//!   n = `RAYON_NUM_THREADS` or else the number of physical cores, and `Parallelism::None`
//!   when n = 1;
//! - large element-wise maps (≥ 64 Ki elements; hardly any at these sizes) use candle's own
//!   spinning "barrier pool" of `CANDLE_NUM_THREADS` (else `RAYON_NUM_THREADS`) − 1 workers;
//! - `Device::with_context(f)` runs `f` on candle's private rayon pool of the same size.
//!
//! `--threads N` therefore sets `RAYON_NUM_THREADS` = `CANDLE_NUM_THREADS` = N and builds rayon's
//! global pool with N threads, before any tensor exists.
//!
//! `--in-pool` (not in SCHEMA.md, off by default): run the whole benchmark inside
//! `Device::Cpu.with_context(..)`, candle's own way to keep its matmuls from handing work from
//! the main thread to the pool (and sleeping) on every call. With one thread candle does not
//! use the pool at all (`Parallelism::None`), so this only matters for N > 1.
//!
//! Logs go to stderr; stdout gets the JSON line only.

use std::collections::HashMap;

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::rnn::{LSTMConfig, LSTM, RNN};
use candle_nn::{AdamW, Linear, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use peers_common::{
    finish, run_epochs, sine_windows, time_us, Report, TrainResult, Workload, HEADLINE, LR, SEED,
};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

struct Net {
    lstm: LSTM,
    fc: Linear,
}

impl Net {
    fn new(units: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            lstm: candle_nn::rnn::lstm(1, units, LSTMConfig::default(), vb.pp("lstm"))?,
            fc: candle_nn::linear(units, 1, vb.pp("fc"))?,
        })
    }
}

impl Module for Net {
    /// `x`: [B, T, 1] → [B, 1], from the LSTM's final hidden state.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let states = self.lstm.seq(x)?;
        let last = states.last().expect("at least one time step");
        self.fc.forward(last.h())
    }
}

/// The seed windows as tensors: x [N, T, 1], y [N, 1].
fn data(samples: usize, timesteps: usize, device: &Device) -> Result<(Tensor, Tensor)> {
    let (x, y) = sine_windows(samples, timesteps);
    Ok((
        Tensor::from_vec(x, (samples, timesteps, 1), device)?,
        Tensor::from_vec(y, (samples, 1), device)?,
    ))
}

/// Trains a fresh model on `w`; returns the timing, the last loss and the trained parameters.
fn train(w: Workload, device: &Device) -> Result<(TrainResult, VarMap)> {
    let (x, y) = data(w.samples, w.timesteps, device)?;
    let varmap = VarMap::new();
    let model = Net::new(
        w.units,
        VarBuilder::from_varmap(&varmap, DType::F32, device),
    )?;
    let params = ParamsAdamW {
        lr: LR,
        weight_decay: 0.0,
        ..Default::default()
    };
    let mut opt = AdamW::new(varmap.all_vars(), params)?;
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut perm: Vec<u32> = (0..w.samples as u32).collect();
    let mut failure = None;
    let result = run_epochs(w.epochs, |_| {
        perm.shuffle(&mut rng);
        let mut epoch = || -> Result<f64> {
            let mut total = Tensor::zeros((), DType::F32, device)?;
            for idx in perm.chunks(w.batch) {
                let n = idx.len();
                let idx = Tensor::from_slice(idx, n, device)?;
                let xb = x.index_select(&idx, 0)?;
                let yb = y.index_select(&idx, 0)?;
                let loss = candle_nn::loss::mse(&model.forward(&xb)?, &yb)?;
                total = (total + (loss.detach() * n as f64)?)?;
                opt.backward_step(&loss)?;
            }
            Ok(total.to_scalar::<f32>()? as f64 / w.samples as f64)
        };
        epoch().unwrap_or_else(|e| {
            failure.get_or_insert(e);
            f64::NAN
        })
    });
    match failure {
        Some(e) => Err(e),
        None => Ok((result, varmap)),
    }
}

fn main() -> Result<()> {
    let args = peers_common::setup(&["CANDLE_NUM_THREADS"]);
    if args.in_pool {
        Device::Cpu.with_context(|| run(args))
    } else {
        run(args)
    }
}

fn run(args: peers_common::Args) -> Result<()> {
    let device = Device::Cpu;
    eprintln!(
        "candle {} (CPU, f32), {} thread(s), avx {}, f16c {}, {}",
        env!("PEER_VERSION"),
        args.threads,
        candle_core::utils::with_avx(),
        candle_core::utils::with_f16c(),
        if args.in_pool {
            "inside Device::with_context (--in-pool)"
        } else {
            "on the main thread"
        }
    );

    let h = HEADLINE;
    eprintln!(
        "training the seed workload (N = {}, {} epochs)",
        h.samples, h.epochs
    );
    let (train_result, varmap) = train(h, &device)?;

    // Inference copy: the trained weights as plain (non-Var) tensors.
    let weights: HashMap<String, Tensor> = {
        let data = varmap.data().lock().expect("VarMap lock");
        data.iter()
            .map(|(name, var)| (name.clone(), var.as_tensor().detach()))
            .collect()
    };
    let model = Net::new(
        h.units,
        VarBuilder::from_tensors(weights, DType::F32, &device),
    )?;
    let (x, _) = data(256, h.timesteps, &device)?;
    let one = x.narrow(0, 0, 1)?.contiguous()?;
    let b1 = time_us(50, 1000, || {
        std::hint::black_box(
            model
                .forward(&one)
                .and_then(|p| p.to_vec2::<f32>())
                .expect("forward"),
        );
    });
    let b256 = time_us(10, 200, || {
        std::hint::black_box(
            model
                .forward(&x)
                .and_then(|p| p.to_vec2::<f32>())
                .expect("forward"),
        );
    });

    let report = Report {
        system: "candle",
        version: env!("PEER_VERSION"),
        threads: args.threads,
        train: train_result,
        predict_b1_us: b1,
        predict_b256_us: b256,
    };
    finish(report, args.grid, |w| {
        train(w, &device).expect("training").0
    });
    Ok(())
}

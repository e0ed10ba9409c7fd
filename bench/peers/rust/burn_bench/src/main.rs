//! The seed workload (bench/peers/SCHEMA.md) in idiomatic burn; prints one JSON line.
//!
//!     burn_bench [--threads N] [--grid] [--in-pool]
//!
//! burn 0.22 dispatches on the *device* rather than on a backend type parameter: tensors are
//! `Tensor<D>`, modules have no `B: Backend` generic, and "NdArray with autodiff" — spelled
//! `Autodiff<NdArray>` up to burn 0.21 — is the device `Device::ndarray().autodiff()`. (NdArray
//! is deprecated in 0.22 in favour of the new Flex CPU backend; it is what this benchmark was
//! asked to measure, and still burn's established pure-Rust CPU backend.)
//!
//! Model: `burn::nn::Lstm` (d_input 1, batch-first [B, T, 1]) → `burn::nn::Linear(H, 1)` on the
//! final hidden state; `burn::optim::AdamConfig` (lr 1e-3, betas 0.9/0.999, burn's default eps
//! 1e-5); `burn::nn::loss::MseLoss` (mean); f32; burn's default initialisation (Xavier normal in
//! the LSTM gates, Kaiming uniform in Linear), seeded with `device.seed(42)`.
//!
//! Training loop: manual, no `Learner` and no `DataLoader` (the `train` and `dataset` features
//! are not even compiled). The whole data set is one pair of tensors on the autodiff device
//! (they do not require gradients, so gathering from them records nothing); each epoch
//! shuffles a permutation of 0..N with a seeded `StdRng` and walks it in slices of `batch`,
//! gathering each batch with `Tensor::select(0, idx)`. Per step: forward, `MseLoss`,
//! `backward()`, `GradientsParams::from_grads`, `optim.step(lr, model, grads)`. The epoch loss
//! is accumulated in a detached tensor (`loss.detach() * n`) and read once per epoch.
//!
//! Prediction: `model.valid()` gives the same model on the inner (non-autodiff) NdArray device;
//! the timed call is its plain `forward` on a fixed window, forced with `into_data()`.
//!
//! Threads: `--threads N` sets `RAYON_NUM_THREADS` and builds rayon's global pool with N
//! threads (burn-ndarray's `multi-threads` parallel loops run on it), and sets
//! `MATMUL_NUM_THREADS` = N, which sizes the separate thread pool of `matrixmultiply` (its
//! `threading` feature is on through burn-ndarray's `multi-threads`; without the variable it
//! uses every physical core). All are set before any tensor work.
//!
//! `--in-pool` (not in SCHEMA.md, off by default): burn-ndarray wraps every matmul (the LSTM
//! does 8 per time step forward, twice that backward) in `rayon::scope`, which, called from a
//! thread outside rayon's pool (the main thread), hands the work to a pool worker and puts the
//! caller to sleep until it is done: two context switches per matmul, even with one thread.
//! That is what a plain burn program pays, so it is the default here. With `--in-pool` the
//! whole benchmark runs on a worker of rayon's global pool (inside one `rayon::scope`), where
//! those scopes run inline.
//!
//! Logs go to stderr; stdout gets the JSON line only.

use burn::module::Module;
use burn::nn::loss::{MseLoss, Reduction};
use burn::nn::{Linear, LinearConfig, Lstm, LstmConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use peers_common::{
    finish, run_epochs, sine_windows, time_us, Report, TrainResult, Workload, HEADLINE, LR, SEED,
};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

#[derive(Module, Debug)]
struct Net {
    lstm: Lstm,
    fc: Linear,
}

impl Net {
    fn new(units: usize, device: &Device) -> Self {
        Self {
            lstm: LstmConfig::new(1, units, true).init(device),
            fc: LinearConfig::new(units, 1).init(device),
        }
    }

    /// `x`: [B, T, 1] → [B, 1], from the LSTM's final hidden state.
    fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let (_, state) = self.lstm.forward(x, None);
        self.fc.forward(state.hidden)
    }
}

/// The seed windows as tensors on `device`: x [N, T, 1], y [N, 1].
fn data(samples: usize, timesteps: usize, device: &Device) -> (Tensor<3>, Tensor<2>) {
    let (x, y) = sine_windows(samples, timesteps);
    (
        Tensor::from_data(TensorData::new(x, [samples, timesteps, 1]), device),
        Tensor::from_data(TensorData::new(y, [samples, 1]), device),
    )
}

#[allow(deprecated)] // NdArray is deprecated in burn 0.22 (see the module docs)
fn cpu_device() -> Device {
    Device::ndarray()
}

/// Trains a fresh model on `w`; returns the timing, the last loss and the trained model.
fn train(w: Workload, device: &Device) -> (TrainResult, Net) {
    device.seed(SEED);
    let (x, y) = data(w.samples, w.timesteps, device);
    // An Option only because the optimiser takes the model by value inside run_epochs' FnMut.
    let mut model = Some(Net::new(w.units, device));
    let mut optim = AdamConfig::new().init();
    let loss_fn = MseLoss::new();
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut perm: Vec<i64> = (0..w.samples as i64).collect();
    let result = run_epochs(w.epochs, |_| {
        perm.shuffle(&mut rng);
        let mut total = Tensor::<1>::zeros([1], device);
        for idx in perm.chunks(w.batch) {
            let n = idx.len();
            let idx = Tensor::<1, Int>::from_data(TensorData::new(idx.to_vec(), [n]), device);
            let xb = x.clone().select(0, idx.clone());
            let yb = y.clone().select(0, idx);
            let net = model.take().expect("model");
            let loss = loss_fn.forward(net.forward(xb), yb, Reduction::Mean);
            total = total + loss.clone().detach().mul_scalar(n as f32);
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            model = Some(optim.step(LR, net, grads));
        }
        total.into_scalar::<f32>() as f64 / w.samples as f64
    });
    (result, model.expect("model"))
}

fn main() {
    let args = peers_common::setup(&["MATMUL_NUM_THREADS"]);
    if args.in_pool {
        rayon::scope(|_| run(args));
    } else {
        run(args);
    }
}

fn run(args: peers_common::Args) {
    let device = cpu_device().autodiff();
    eprintln!(
        "burn {} (NdArray + Autodiff), {} thread(s), device {device:?}, {}",
        env!("PEER_VERSION"),
        args.threads,
        if args.in_pool {
            "on a rayon worker (--in-pool)"
        } else {
            "on the main thread"
        }
    );

    let h = HEADLINE;
    eprintln!(
        "training the seed workload (N = {}, {} epochs)",
        h.samples, h.epochs
    );
    let (train_result, model) = train(h, &device);

    let model = model.valid();
    let inner = device.clone().inner();
    let (x, _) = data(256, h.timesteps, &inner);
    let one = x.clone().slice(0..1);
    let b1 = time_us(50, 1000, || {
        std::hint::black_box(model.forward(one.clone()).into_data());
    });
    let b256 = time_us(10, 200, || {
        std::hint::black_box(model.forward(x.clone()).into_data());
    });

    let report = Report {
        system: "burn",
        version: env!("PEER_VERSION"),
        threads: args.threads,
        train: train_result,
        predict_b1_us: b1,
        predict_b256_us: b256,
    };
    finish(report, args.grid, |w| train(w, &device).0);
}

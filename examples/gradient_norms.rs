//! Seeing exploding (and vanishing) gradients: the per-layer gradient norms `fit`
//! reports in every epoch's logs and in its `History`, for four runs on one
//! long-memory task.
//!
//! Each sample is 100 steps of noise; the target is the first step's value, so what a
//! recurrent layer must learn has to flow back through all 100 steps. Printed per
//! epoch: the training loss, then each layer's gradient norm (the mean over the
//! epoch's steps, and the largest), under the names `summary()` gives the layers.
//!
//! - `simple_rnn` and `lstm` with Adam: norms of order 1, steady from epoch to epoch.
//!   Neither gets below the loss of predicting 0 within these epochs: the signal from
//!   step 0 fades over 100 steps (the vanishing gradient), which the norms alone do
//!   not show, because they are dominated by the last steps.
//! - `simple_rnn` with SGD at 0.5: the norms jump by orders of magnitude within the
//!   first epoch, and a few steps later the loss is infinite and `fit` stops with
//!   `Error::NonFiniteTraining`: an exploding run, seen before it fails.
//! - The same with `clip_by_global_norm(1.0)`: every update is bounded, so the run
//!   goes on; the norms, still measured before clipping, show its gradients growing
//!   to tens and the loss rising (SGD at 0.5 is too fast for this task even so).
//!
//! `cargo run --release --example gradient_norms`

use std::sync::{Arc, Mutex};
use std::time::Instant;

use rnn_runtime::ndarray::{Array2, Array3};
use rnn_runtime::rng::Rng;
use rnn_runtime::{model, Adam, Fit, GradNorm, History, Network, Sgd};

const STEPS: usize = 100;
const SAMPLES: usize = 512;
const EPOCHS: usize = 6;

model! {
    /// An Elman RNN: its gradient through time is a product of 100 step Jacobians.
    struct Elman < input(100, 1), simple_rnn(16), dense(1) >
}
model! {
    /// An LSTM of the same width.
    struct Gated < input(100, 1), lstm(16), dense(1) >
}

/// Noise in [-1, 1] at every step; the target is step 0's value.
fn data() -> (Array3<f32>, Array2<f32>) {
    let mut rng = Rng::new(7);
    let x = Array3::from_shape_fn((SAMPLES, STEPS, 1), |_| rng.uniform(-1.0, 1.0) as f32);
    let y = Array2::from_shape_fn((SAMPLES, 1), |(i, _)| x[[i, 0, 0]]);
    (x, y)
}

/// Trains `M` and prints each epoch's loss and per-layer gradient norms.
fn run<M: Network<Input = f32>>(title: &str, fit: Fit<impl rnn_runtime::Optimizer>) {
    let (x, y) = data();
    println!("\n{title}");
    let names = M::ARCHITECTURE.layer_names();
    println!("  layers: {}", names.join(", "));
    let seen: Arc<Mutex<Vec<Vec<GradNorm>>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let fit = fit
        .epochs(EPOCHS)
        .batch_size(32)
        .seed(1)
        .verbose(false)
        .on_epoch_end(move |logs| sink.lock().unwrap().push(logs.grad_norms.clone()));
    let mut net = M::init(3);
    match rnn_runtime::fit(&mut net, x.view().into_dyn(), y.view().into_dyn(), fit) {
        Ok(history) => print_epochs(&history),
        // A run that explodes all the way to an infinite gradient stops with an error
        // naming the step; the epochs before it were seen by the closure.
        Err(e) => {
            for (epoch, norms) in seen.lock().unwrap().iter().enumerate() {
                println!("  epoch {}: {}", epoch + 1, line(norms));
            }
            println!("  stopped: {e}");
        }
    }
}

fn print_epochs(history: &History) {
    for epoch in 0..history.loss.len() {
        let norms: Vec<GradNorm> = history
            .grad_norms
            .iter()
            .map(|g| GradNorm {
                layer: g.layer.clone(),
                mean: g.mean[epoch],
                max: g.max[epoch],
            })
            .collect();
        println!(
            "  epoch {}: loss {:.4}  {}",
            epoch + 1,
            history.loss[epoch],
            line(&norms)
        );
    }
}

/// `name mean (max)` for each layer.
fn line(norms: &[GradNorm]) -> String {
    let cells: Vec<String> = norms
        .iter()
        .map(|g| format!("{:>10} {:.2e} (max {:.2e})", g.layer, g.mean, g.max))
        .collect();
    cells.join("  ")
}

fn main() {
    let started = Instant::now();
    let (_, y) = data();
    let variance = y.iter().map(|v| v * v).sum::<f32>() / SAMPLES as f32;
    println!(
        "target: step 0 of {STEPS}; predicting 0 gives a loss of {variance:.4}; \
         gradient norms are per layer, before clipping: mean over the epoch's steps (and max)"
    );
    run::<Elman>("simple_rnn, Adam 1e-3", Fit::new(Adam::new(1e-3)));
    run::<Gated>("lstm, Adam 1e-3", Fit::new(Adam::new(1e-3)));
    run::<Elman>("simple_rnn, SGD 0.5: exploding", Fit::new(Sgd::new(0.5)));
    run::<Elman>(
        "simple_rnn, SGD 0.5, clip_by_global_norm(1.0): norms before clipping",
        Fit::new(Sgd::new(0.5)).clip_by_global_norm(1.0),
    );
    println!("\n{:.1} s", started.elapsed().as_secs_f64());
}

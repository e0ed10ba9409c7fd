//! The seed workload: learn to predict the next sample of `sin(0.1·t)` from the
//! previous 20, with the one-line model below, as Keras's
//! `Sequential([LSTM(50, input_shape=(20, 1)), Dense(1)])` trained with Adam and MSE.
//!
//! `cargo run --release --example sine [-- EPOCHS]`

use std::time::Instant;

use rnn::sine_windows;
use rnn_runtime::{model, Adam, Fit};

model! {
    /// Predicts the next sample of a sine wave from the previous 20.
    pub struct SineNet < input(20, 1), lstm(50), dense(1) >
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let epochs = match std::env::args().nth(1) {
        Some(arg) => arg
            .parse()
            .map_err(|e| format!("EPOCHS must be a number: {e}"))?,
        None => 100,
    };
    let (x, y) = sine_windows(4096, SineNet::TIMESTEPS);
    let mut net = SineNet::new(42);
    println!(
        "SineNet: {} parameters; {} windows of {} steps; {epochs} epochs of batch 32",
        SineNet::PARAMS,
        x.dim().0,
        SineNet::TIMESTEPS
    );

    let start = Instant::now();
    let history = net.fit(
        &x,
        &y,
        Fit::new(Adam::new(1e-3)).epochs(epochs).batch_size(32),
    )?;
    let seconds = start.elapsed().as_secs_f64();
    for (epoch, loss) in history.loss.iter().enumerate() {
        if epoch == 0 || (epoch + 1) % 10 == 0 {
            println!("epoch {:>3}: loss {loss:.3e}", epoch + 1);
        }
    }
    let final_mse = net.evaluate(&x, &y)?;
    println!(
        "trained in {seconds:.2} s ({:.3} s/epoch); final training MSE {final_mse:.3e}",
        seconds / epochs.max(1) as f64
    );

    let predictions = net.predict(&x)?;
    println!("  window   predicted       truth");
    for i in [0, 1000, 2000, 3000, 4095] {
        println!(
            "  {i:>6}  {:>10.6}  {:>10.6}",
            predictions[[i, 0]],
            y[[i, 0]]
        );
    }
    net.save_safetensors("sine.safetensors")?;
    println!("weights saved to sine.safetensors");
    Ok(())
}

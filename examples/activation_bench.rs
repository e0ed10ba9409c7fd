//! Nanoseconds per activation of the slice kernels, as one JSON line: sigmoid and tanh
//! over a slice of one LSTM step's gates (4H = 200 values) and over a large one, in the
//! dispatched form (AVX-512 or AVX2 where the CPU has it) and in the portable one.
//!
//! `cargo run --release --example activation_bench`. The portable figures come from a
//! second run of this program with `RNN_PORTABLE=1` (the switch is read once per
//! process), whose JSON is nested under `"portable"`.

use std::process::Command;
use std::time::Instant;

use rnn_runtime::activation::{sigmoid_slice, tanh_slice};

/// Median ns per element of `f` over `v`, from `rounds` timings of `reps` calls each.
fn ns_per_element(v: &mut [f32], f: fn(&mut [f32]), reps: usize) -> f64 {
    // Values spread over the range the gates see; the kernels are branch-free, so the
    // drift of repeated application does not change their cost.
    for (i, x) in v.iter_mut().enumerate() {
        *x = ((i * 7919) % 1601) as f32 * 0.01 - 8.0;
    }
    let mut samples: Vec<f64> = (0..15)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..reps {
                f(std::hint::black_box(&mut *v));
            }
            start.elapsed().as_secs_f64() * 1e9 / (reps * v.len()) as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn measure() -> serde_json::Value {
    let mut gates = vec![0.0f32; 200];
    let mut large = vec![0.0f32; 1 << 16];
    serde_json::json!({
        "sigmoid_200_ns": ns_per_element(&mut gates, sigmoid_slice, 20_000),
        "tanh_200_ns": ns_per_element(&mut gates, tanh_slice, 20_000),
        "sigmoid_65536_ns": ns_per_element(&mut large, sigmoid_slice, 60),
        "tanh_65536_ns": ns_per_element(&mut large, tanh_slice, 60),
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut json = measure();
    if std::env::var_os("RNN_PORTABLE").is_some() {
        println!("{json}");
        return Ok(());
    }
    let child = Command::new(std::env::current_exe()?)
        .env("RNN_PORTABLE", "1")
        .output()?;
    let portable: serde_json::Value = serde_json::from_slice(&child.stdout)?;
    json["portable"] = portable;
    println!("{json}");
    Ok(())
}

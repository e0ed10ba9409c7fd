//! Batch inference of the seed model (`input(20, 1), lstm(50), dense(1)`, 256
//! samples) on 1 and 2 threads, as one JSON line: the median and the minimum of many
//! timed calls, interleaved between the thread counts so that a noisy machine loads
//! both alike. The minimum is the figure least moved by other processes.
//!
//! `cargo run --release --example infer_bench`; `seed_bench` gives the median that
//! BENCHMARKS.md quotes.

use std::time::Instant;

use rnn::sine_windows;
use rnn_runtime::model;

model! { struct Seed < input(20, 1), lstm(50), dense(1) > }

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let net = Seed::new(42);
    let (x, _) = sine_windows(256, 20);
    let pools = [
        rayon::ThreadPoolBuilder::new().num_threads(1).build()?,
        rayon::ThreadPoolBuilder::new().num_threads(2).build()?,
    ];
    let mut times = [Vec::new(), Vec::new()];
    for round in 0..400 {
        for (pool, times) in pools.iter().zip(times.iter_mut()) {
            let start = Instant::now();
            let out = pool.install(|| net.forward(std::hint::black_box(x.view())));
            std::hint::black_box(out.expect("shapes are right"));
            if round >= 20 {
                times.push(start.elapsed().as_secs_f64() * 1e6);
            }
        }
    }
    let stats = |t: &mut Vec<f64>| {
        t.sort_by(f64::total_cmp);
        (t[t.len() / 2], t[0])
    };
    let (m1, min1) = stats(&mut times[0]);
    let (m2, min2) = stats(&mut times[1]);
    let json = serde_json::json!({
        "predict_b256_us_1t_median": m1, "predict_b256_us_1t_min": min1,
        "predict_b256_us_2t_median": m2, "predict_b256_us_2t_min": min2,
        "scale_2t_min": min1 / min2,
    });
    println!("{json}");
    Ok(())
}

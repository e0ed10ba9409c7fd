//! Post-training int8 quantisation of the two example models: the seed model
//! (`input(20, 1), lstm(50), dense(1)` on sine windows, as `examples/sine.rs`) and the
//! sunspot forecaster (`examples/forecast/`). Trains each, quantises it with
//! `quantize()`, and prints as JSON the validation error of the `f32` and the int8
//! model, their parameter bytes, and the median time of one `predict_one` call (timed
//! in turns, `f32` then int8, so that both see the same machine state).
//!
//! `cargo run --release --example quantize [-- SEED_EPOCHS SUNSPOT_EPOCHS]`

#[path = "forecast/pipeline.rs"]
#[allow(dead_code)]
mod pipeline;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use rnn::sine_windows;
use rnn_runtime::data::Scaler;
use rnn_runtime::ndarray::{s, Array2, Array3};
use rnn_runtime::{model, Adam, Fit};
use serde_json::{json, Value};

model! {
    /// The seed model: the next sample of a sine wave from the previous 20.
    pub struct SineNet < input(20, 1), lstm(50), dense(1) >
}

model! {
    /// Next year's sunspot number (scaled) from the previous 24 years.
    pub struct SunspotNet < input(24, 1), lstm(32), dense(1) >
}

/// Timed turns per model; each times `CALLS` calls.
const TURNS: usize = 3000;
const CALLS: usize = 8;

/// The windows of `x` as the single-sample input type.
fn windows<const T: usize>(x: &Array3<f32>) -> Vec<[[f32; 1]; T]> {
    (0..x.dim().0)
        .map(|i| std::array::from_fn(|t| [x[[i, t, 0]]]))
        .collect()
}

/// MSE and MAE of `predicted` against the first column of `y`.
fn errors(predicted: &[f32], y: &Array2<f32>) -> (f64, f64) {
    let n = predicted.len() as f64;
    let (mut se, mut ae) = (0.0, 0.0);
    for (p, t) in predicted.iter().zip(y.column(0)) {
        let d = f64::from(p - t);
        se += d * d;
        ae += d.abs();
    }
    (se / n, ae / n)
}

/// Median nanoseconds of one call of `a` and of `b` on `inputs`, timed in turns.
fn median_ns<X>(inputs: &[X], a: impl Fn(&X) -> f32, b: impl Fn(&X) -> f32) -> (f64, f64) {
    let (mut ta, mut tb) = (Vec::with_capacity(TURNS), Vec::with_capacity(TURNS));
    for turn in 0..TURNS {
        let x = &inputs[turn % inputs.len()];
        for (f, times) in [(&a as &dyn Fn(&X) -> f32, &mut ta), (&b, &mut tb)] {
            let start = Instant::now();
            for _ in 0..CALLS {
                black_box(f(black_box(x)));
            }
            times.push(start.elapsed().as_nanos() as f64 / CALLS as f64);
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(ta), median(tb))
}

fn seed(epochs: usize) -> Result<Value, Box<dyn std::error::Error>> {
    // 4096 training windows, then 1024 later ones held out for validation.
    let (x, y) = sine_windows(4096 + 1024, SineNet::TIMESTEPS);
    let (x_train, y_train) = (x.slice(s![..4096, .., ..]), y.slice(s![..4096, ..]));
    let (x_val, y_val) = (
        x.slice(s![4096.., .., ..]).to_owned(),
        y.slice(s![4096.., ..]).to_owned(),
    );
    let mut net = SineNet::new(42);
    let fit = Fit::new(Adam::new(1e-3))
        .epochs(epochs)
        .batch_size(32)
        .verbose(false);
    net.fit(x_train, y_train, fit)?;
    let q = net.quantize()?;
    let inputs = windows::<20>(&x_val);
    let f32_pred: Vec<f32> = inputs.iter().map(|x| net.predict_one(x)[0]).collect();
    let int8_pred: Vec<f32> = inputs.iter().map(|x| q.predict_one(x)[0]).collect();
    let ((f32_mse, f32_mae), (int8_mse, int8_mae)) =
        (errors(&f32_pred, &y_val), errors(&int8_pred, &y_val));
    let (f32_ns, int8_ns) = median_ns(&inputs, |x| net.predict_one(x)[0], |x| q.predict_one(x)[0]);
    Ok(json!({
        "model": "input(20, 1), lstm(50), dense(1) on sine windows",
        "epochs": epochs,
        "validation_windows": inputs.len(),
        "f32": { "val_mse": f32_mse, "val_mae": f32_mae, "bytes": 4 * SineNet::PARAMS, "predict_one_ns": f32_ns },
        "int8": { "val_mse": int8_mse, "val_mae": int8_mae, "bytes": SineNetInt8::WEIGHT_BYTES, "predict_one_ns": int8_ns },
    }))
}

fn sunspots(epochs: usize) -> Result<Value, Box<dyn std::error::Error>> {
    let csv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/sunspots.csv");
    let data = pipeline::prepare(&csv, SunspotNet::TIMESTEPS, (0.7, 0.15))?;
    // As examples/forecast: the validation windows after the training ones, held out by
    // `validation_split`.
    let x = rnn_runtime::ndarray::concatenate(
        rnn_runtime::ndarray::Axis(0),
        &[data.train.x.view(), data.val.x.view()],
    )?;
    let y = rnn_runtime::ndarray::concatenate(
        rnn_runtime::ndarray::Axis(0),
        &[data.train.y.view(), data.val.y.view()],
    )?;
    let val_share = (data.val.y.nrows() as f64 - 0.5) / y.nrows() as f64;
    let mut net = SunspotNet::new(7);
    let fit = Fit::new(Adam::new(3e-3))
        .epochs(epochs)
        .batch_size(16)
        .validation_split(val_share)
        .verbose(false);
    net.fit(&x, &y, fit)?;
    let q = net.quantize()?;
    let mut out = json!({
        "model": "input(24, 1), lstm(32), dense(1) on yearly sunspot numbers",
        "epochs": epochs,
    });
    for (name, part) in [("validation", &data.val), ("test", &data.test)] {
        let inputs = windows::<24>(&part.x);
        let truth = &data.spots[part.targets.clone()];
        let mut row = json!({ "windows": inputs.len() });
        let f32_pred: Vec<f32> = inputs.iter().map(|x| net.predict_one(x)[0]).collect();
        let int8_pred: Vec<f32> = inputs.iter().map(|x| q.predict_one(x)[0]).collect();
        for (kind, pred) in [("f32", f32_pred), ("int8", int8_pred)] {
            let (mse, mae) = errors(&pred, &part.y);
            let spots = data.scaler.inverse_column(0, &pred)?;
            row[kind] = json!({
                "mse_scaled": mse,
                "mae_scaled": mae,
                "rmse_sunspots": pipeline::rmse(&spots, truth),
            });
        }
        out[name] = row;
    }
    let inputs = windows::<24>(&data.val.x);
    let (f32_ns, int8_ns) = median_ns(&inputs, |x| net.predict_one(x)[0], |x| q.predict_one(x)[0]);
    out["bytes"] = json!({ "f32": 4 * SunspotNet::PARAMS, "int8": SunspotNetInt8::WEIGHT_BYTES });
    out["predict_one_ns"] = json!({ "f32": f32_ns, "int8": int8_ns });
    Ok(out)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = |i: usize, default: usize| -> Result<usize, String> {
        match std::env::args().nth(i) {
            Some(a) => a.parse().map_err(|e| format!("argument {i}: {e}")),
            None => Ok(default),
        }
    };
    let (seed_epochs, sunspot_epochs) = (arg(1, 20)?, arg(2, 80)?);
    let report = json!({
        "portable_kernels": std::env::var_os("RNN_PORTABLE").is_some(),
        "seed": seed(seed_epochs)?,
        "sunspots": sunspots(sunspot_epochs)?,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

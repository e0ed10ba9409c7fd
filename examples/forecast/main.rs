//! Forecasting a real series: the yearly sunspot numbers 1700–2008 (`data/sunspots.csv`,
//! see `data/README.md`), one year ahead from the previous 24, with a one-line LSTM.
//!
//! `cargo run --release --example forecast [-- OUT_DIR]`
//!
//! Loads the CSV by column name, splits the years in time order (70 % train, 15 %
//! validation, 15 % test), scales with the training years' range, trains, and reports
//! the test RMSE in sunspot numbers next to two naive forecasts: last year's value,
//! and the value one solar cycle (11 years) earlier. Writes the loss curve, the
//! forecast against the truth and the training history into OUT_DIR (default
//! `target/forecast`).

mod pipeline;

use std::path::PathBuf;
use std::time::Instant;

use rnn_runtime::data::Scaler;
use rnn_runtime::plot::PredictionPlot;
use rnn_runtime::{model, Adam, Fit};

use pipeline::{naive, prepare, rmse, Part};

model! {
    /// Predicts next year's sunspot number (scaled) from the previous 24 years.
    pub struct SunspotNet < input(24, 1), lstm(32), dense(1) >
}

/// Years in one solar cycle, for the seasonal naive forecast.
const CYCLE: usize = 11;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/forecast"));
    std::fs::create_dir_all(&out)?;
    let csv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/sunspots.csv");
    let data = prepare(&csv, SunspotNet::TIMESTEPS, (0.7, 0.15))?;
    let year = |i: usize| data.years[i];
    println!(
        "{} years {}–{}: train {}–{} ({} windows), validation {}–{}, test {}–{}",
        data.spots.len(),
        year(0),
        year(data.spots.len() - 1),
        year(data.split.train.start),
        year(data.split.train.end - 1),
        data.train.y.nrows(),
        year(data.split.val.start),
        year(data.split.val.end - 1),
        year(data.split.test.start),
        year(data.split.test.end - 1),
    );

    // The validation windows go after the training ones, and `validation_split` holds
    // out exactly them: Keras's split takes the last floor(n · split) samples, so half
    // a sample less than their share keeps the rounding on the right side.
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
    let start = Instant::now();
    let history = net.fit(
        &x,
        &y,
        Fit::new(Adam::new(3e-3))
            .epochs(80)
            .batch_size(16)
            .validation_split(val_share)
            .verbose(false),
    )?;
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "SunspotNet ({} parameters): {} epochs in {seconds:.2} s; final loss {:.2e}, val_loss {:.2e}",
        SunspotNet::PARAMS,
        history.loss.len(),
        history.loss.last().copied().unwrap_or(f32::NAN),
        history.val_loss.last().copied().unwrap_or(f32::NAN),
    );

    // One-step-ahead forecasts in sunspot numbers.
    let forecast = |part: &Part| -> Result<Vec<f32>, rnn_runtime::Error> {
        let scaled: Vec<f32> = net.predict(&part.x)?.iter().copied().collect();
        data.scaler.inverse_column(0, &scaled)
    };
    let (val_pred, test_pred) = (forecast(&data.val)?, forecast(&data.test)?);
    let truth = |part: &Part| &data.spots[part.targets.clone()];
    println!("\nRMSE in sunspot numbers (one year ahead)    validation      test");
    let row = |name: &str, val: &[f32], test: &[f32]| {
        println!(
            "  {name:<40} {:>10.2} {:>9.2}",
            rmse(val, truth(&data.val)),
            rmse(test, truth(&data.test))
        );
    };
    row("LSTM(32)", &val_pred, &test_pred);
    let baselines = [
        ("naive: last year's value", 1),
        ("seasonal naive: 11 years earlier", CYCLE),
    ];
    for (name, lag) in baselines {
        row(
            name,
            &naive(&data.spots, data.val.targets.clone(), lag),
            &naive(&data.spots, data.test.targets.clone(), lag),
        );
    }

    let loss_png = out.join("loss.png");
    history.plot_loss(&loss_png)?;
    history.to_csv(out.join("history.csv"))?;
    let predicted: Vec<f32> = val_pred.iter().chain(&test_pred).copied().collect();
    let forecast_png = out.join("forecast.png");
    PredictionPlot::new(
        format!(
            "Yearly sunspot numbers: LSTM one year ahead from the previous {} (test RMSE {:.1})",
            SunspotNet::TIMESTEPS,
            rmse(&test_pred, truth(&data.test))
        ),
        &data.spots,
    )
    .time_axis(year(0) as f64, 1.0)
    .labels("year", "sunspot number")
    .series("LSTM forecast", data.val.targets.start, &predicted)
    .marker(data.split.val.start, "validation")
    .marker(data.split.test.start, "test")
    .save(&forecast_png)?;
    println!(
        "\nwrote {}, {} and {}",
        loss_png.display(),
        forecast_png.display(),
        out.join("history.csv").display()
    );
    Ok(())
}

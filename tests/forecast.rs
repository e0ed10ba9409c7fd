//! The pieces of `examples/forecast`: the shipped sunspot CSV, the time-ordered
//! windows built from it, and the error measures and baselines the example reports.

#[path = "../examples/forecast/pipeline.rs"]
mod pipeline;

use std::path::PathBuf;

use pipeline::{naive, prepare, rmse};
use rnn_runtime::data::Scaler;
use rnn_runtime::{model, Adam, Fit};

fn csv() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/sunspots.csv")
}

#[test]
fn sunspot_csv_is_the_full_yearly_series() {
    let data = rnn_runtime::data::load_csv(csv(), &["YEAR", "SUNACTIVITY"]).unwrap();
    assert_eq!(data.dim(), (309, 2));
    for (i, year) in data.column(0).iter().enumerate() {
        assert_eq!(*year, 1700.0 + i as f32, "years must be consecutive");
    }
    let spots = data.column(1);
    assert_eq!((spots[0], spots[308]), (5.0, 2.9));
    assert!(spots.iter().all(|v| (0.0..200.0).contains(v)));
    let max = spots.iter().copied().fold(f32::MIN, f32::max);
    assert_eq!(max, 190.2); // 1957, the largest yearly mean of the series
}

#[test]
fn windows_follow_the_split_and_invert_to_the_raw_series() {
    let t = 24;
    let d = prepare(&csv(), t, (0.7, 0.15)).unwrap();
    assert_eq!(
        (d.split.train.clone(), d.split.val.clone()),
        (0..216, 216..263)
    );
    assert_eq!((d.years[216], d.years[263]), (1916.0, 1963.0));
    // Train targets start after the first window; val and test cover their parts whole.
    assert_eq!(d.train.targets, t..216);
    assert_eq!(d.val.targets, d.split.val);
    assert_eq!(d.test.targets, d.split.test);
    for part in [&d.train, &d.val, &d.test] {
        assert_eq!(part.x.dim(), (part.targets.len(), t, 1));
        let back = d
            .scaler
            .inverse_column(0, part.y.as_slice().unwrap())
            .unwrap();
        for (k, target) in part.targets.clone().enumerate() {
            assert!((back[k] - d.spots[target]).abs() < 1e-3);
            // The input is the `t` years just before the target.
            let first = d.scaler.inverse_column(0, &[part.x[[k, 0, 0]]]).unwrap()[0];
            assert!((first - d.spots[target - t]).abs() < 1e-3);
        }
    }
    // Scaled with the training years' range only: train in [0, 1], later years not.
    assert!(d.train.y.iter().all(|v| (0.0..=1.0).contains(v)));
    assert!(
        d.val.y.iter().any(|v| *v > 1.0),
        "1957 exceeds every training year"
    );
}

#[test]
fn baselines_and_rmse() {
    let series = [1.0f32, 2.0, 4.0, 8.0];
    assert_eq!(naive(&series, 2..4, 1), vec![2.0, 4.0]);
    assert_eq!(naive(&series, 2..4, 2), vec![1.0, 2.0]);
    assert_eq!(rmse(&[1.0, 3.0], &[1.0, 1.0]), 2.0f64.sqrt());
    assert_eq!(rmse(&[], &[]), 0.0);
}

model! { struct Small < input(24, 1), lstm(8), dense(1) > }

/// A small, short run of the example's recipe already beats last year's value on the
/// test years: the pipeline feeds the model something it can learn from.
#[test]
fn a_short_training_run_beats_the_naive_forecast() {
    let d = prepare(&csv(), 24, (0.7, 0.15)).unwrap();
    let mut net = Small::new(7);
    net.fit(
        &d.train.x,
        &d.train.y,
        Fit::new(Adam::new(1e-2))
            .epochs(40)
            .batch_size(16)
            .verbose(false),
    )
    .unwrap();
    let scaled = net.predict(&d.test.x).unwrap();
    let predicted = d
        .scaler
        .inverse_column(0, scaled.as_slice().unwrap())
        .unwrap();
    let truth = &d.spots[d.test.targets.clone()];
    let model = rmse(&predicted, truth);
    let last_value = rmse(&naive(&d.spots, d.test.targets.clone(), 1), truth);
    eprintln!("test RMSE: model {model:.2}, last value {last_value:.2}");
    assert!(
        model < 0.8 * last_value,
        "model {model:.2}, last value {last_value:.2}"
    );
}

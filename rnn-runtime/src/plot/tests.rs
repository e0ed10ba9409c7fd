//! The plots are PNGs of the promised size in which each line's colour appears; how
//! they look is checked by eye (docs/forecast.png).

use super::*;

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("rnn-plot-{}-{name}", std::process::id()))
}

/// Width, height and RGB pixels of a PNG.
fn decode(path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let file = std::fs::File::open(path).unwrap();
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    let pixels = buf.chunks(3).map(|p| [p[0], p[1], p[2]]).collect();
    (info.width, info.height, pixels)
}

fn count(pixels: &[[u8; 3]], color: RGBColor) -> usize {
    pixels
        .iter()
        .filter(|p| **p == [color.0, color.1, color.2])
        .count()
}

#[test]
fn loss_plot_draws_both_curves() {
    let path = temp("loss.png");
    let history = History {
        loss: (1..=30).map(|e| 1.0 / (e * e) as f32).collect(),
        val_loss: (1..=30).map(|e| 1.5 / (e * e) as f32 + 0.001).collect(),
        ..Default::default()
    };
    history.plot_loss(&path).unwrap();
    let (w, h, pixels) = decode(&path);
    assert_eq!((w, h), (1000, 560));
    assert!(count(&pixels, PALETTE[0]) > 500, "loss curve missing");
    assert!(count(&pixels, PALETTE[1]) > 500, "val_loss curve missing");
    // Text was drawn: dark pixels that are neither curve.
    assert!(count(&pixels, BLACK) > 1000);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn loss_plot_without_validation_or_with_one_epoch() {
    let path = temp("loss1.png");
    let history = History {
        loss: vec![0.5],
        ..Default::default()
    };
    history.plot_loss(&path).unwrap();
    let (_, _, pixels) = decode(&path);
    assert!(count(&pixels, PALETTE[0]) > 0);
    assert_eq!(count(&pixels, PALETTE[1]), 0);
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(
        History::default().plot_loss(&path),
        Err(Error::Empty("history"))
    ));
}

#[test]
fn log_axis_only_when_the_loss_spans_decades() {
    assert!(spans_decades(0.001, 1.0));
    assert!(!spans_decades(0.2, 1.0));
    assert!(!spans_decades(0.0, 1.0));
    assert!(!spans_decades(-1.0, 1.0));
}

#[test]
fn prediction_plot_draws_truth_forecasts_and_marker() {
    let path = temp("pred.png");
    let truth: Vec<f32> = (0..200)
        .map(|t| (t as f32 * 0.1).sin() * 50.0 + 60.0)
        .collect();
    let a: Vec<f32> = truth[150..].iter().map(|v| v + 3.0).collect();
    let mut b: Vec<f32> = truth[140..].iter().map(|v| v - 3.0).collect();
    b[5] = f32::NAN; // a gap, not a failure
    PredictionPlot::new("test", &truth)
        .time_axis(1700.0, 1.0)
        .labels("year", "sunspots")
        .series("a", 150, &a)
        .series("b", 140, &b)
        .marker(150, "test")
        .size(800, 400)
        .save(&path)
        .unwrap();
    let (w, h, pixels) = decode(&path);
    assert_eq!((w, h), (800, 400));
    for color in [TRUTH, PALETTE[0], PALETTE[1]] {
        assert!(count(&pixels, color) > 100, "{color:?} missing");
    }
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn plot_predictions_and_its_errors() {
    let path = temp("pp.png");
    plot_predictions(&path, "t", &[1.0, 2.0, 3.0], &[2.5, 3.5], 1).unwrap();
    assert_eq!(decode(&path).0, 1200);
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(
        plot_predictions(&path, "t", &[], &[1.0], 0),
        Err(Error::Empty("truth"))
    ));
    let nan = [f32::NAN; 3];
    let err = PredictionPlot::new("t", &nan).save(&path).unwrap_err();
    assert!(err.to_string().contains("no finite values"), "{err}");
    let err = PredictionPlot::new("t", &[1.0])
        .size(10, 10)
        .save(&path)
        .unwrap_err();
    assert!(matches!(err, Error::Plot { .. }));
    let missing_dir = temp("no-such-dir").join("p.png");
    let err = plot_predictions(&missing_dir, "t", &[1.0, 2.0], &[1.0], 1).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains("p.png"), "{err}");
}

//! Callbacks at the end of each epoch: early stopping (patience, min_delta, restoring
//! the best weights), checkpoints, user closures, their order and errors, and the
//! verbosity levels.
//!
//! Early stopping is checked against a plain statement of Keras 3's rule applied to
//! the losses of a full run: training is deterministic for a seed, so a run with a
//! callback must reproduce a prefix of the full run and stop where the rule says.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

use ndarray::{s, Array2, Array3};
use rnn::sine_windows;
use rnn_runtime::callbacks::{Checkpoint, Control, EarlyStopping, EpochLogs, GradNorm, Monitor};
use rnn_runtime::{model, Adam, Error, Fit, Schedule, Sgd, Verbosity};

model! {
    /// Small enough that a 30-epoch run takes a fraction of a second.
    struct Sine < input(10, 1), lstm(8), dense(1) >
}

model! {
    /// Another model type, for a closure that reads the wrong one.
    struct Other < input(10, 1), gru(4), dense(1) >
}

const SAMPLES: usize = 160;
/// `validation_split(0.25)` of 160 samples trains on the first 120.
const TRAIN: usize = 120;

fn data() -> (Array3<f32>, Array2<f32>) {
    sine_windows(SAMPLES, 10)
}

fn validation(x: &Array3<f32>, y: &Array2<f32>) -> (Array3<f32>, Array2<f32>) {
    (
        x.slice(s![TRAIN.., .., ..]).to_owned(),
        y.slice(s![TRAIN.., ..]).to_owned(),
    )
}

/// A high learning rate makes the validation loss go down with ups in between: with
/// seed 3 it has runs of 1 to 3 epochs without a new best.
fn noisy(epochs: usize) -> Fit<Adam> {
    Fit::new(Adam::new(0.1))
        .epochs(epochs)
        .batch_size(16)
        .validation_split(0.25)
        .verbose(false)
}

fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rnn-callbacks-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Keras 3's `EarlyStopping` (mode min) over a whole sequence: an epoch improves when
/// `value + min_delta` is below the best so far; training stops at the `patience`-th
/// epoch in a row without one (the first for patience 0), never at epoch 0. Returns
/// the stopping epoch and the last improving epoch.
fn keras_rule(values: &[f32], patience: usize, min_delta: f32) -> (Option<usize>, Option<usize>) {
    let mut best = f64::INFINITY;
    let mut best_epoch = None;
    let mut without = 0;
    for (epoch, &v) in values.iter().enumerate() {
        if (v as f64 + min_delta as f64) < best {
            best = v as f64;
            best_epoch = Some(epoch);
            without = 0;
            continue;
        }
        without += 1;
        if epoch > 0 && without >= patience.max(1) {
            return (Some(epoch), best_epoch);
        }
    }
    (None, best_epoch)
}

/// Epochs whose value is below every earlier one.
fn new_bests(values: &[f32]) -> Vec<usize> {
    let mut best = f32::INFINITY;
    let mut out = Vec::new();
    for (epoch, &v) in values.iter().enumerate() {
        if v < best {
            best = v;
            out.push(epoch);
        }
    }
    out
}

#[test]
fn on_a_flat_loss_training_runs_patience_plus_one_epochs() {
    // Keras's own example: with no improvement at all and patience 3, 4 epochs run.
    // A zero learning rate makes every epoch's loss bit-identical to the first.
    let (x, y) = data();
    for (patience, epochs_run) in [(0, 2), (1, 2), (3, 4), (6, 7)] {
        for (monitor, split) in [(Monitor::ValLoss, 0.25), (Monitor::Loss, 0.0)] {
            let mut net = Sine::new(3);
            let before = net.clone();
            let opts = Fit::new(Sgd::new(0.0))
                .epochs(20)
                .batch_size(16)
                .shuffle(false)
                .validation_split(split)
                .verbose(false)
                .callback(EarlyStopping::new().monitor(monitor).patience(patience));
            let h = net.fit(&x, &y, opts).unwrap();
            let what = format!("patience {patience}, {monitor:?}");
            assert_eq!(h.loss.len(), epochs_run, "{what}: {h:?}");
            assert_eq!(h.stopped_epoch, Some(epochs_run - 1), "{what}");
            assert_eq!(h.best_epoch, Some(0), "{what}");
            assert!(h.loss.iter().all(|&l| l == h.loss[0]), "{what}: {h:?}");
            assert_eq!(net, before, "{what}");
        }
    }
}

#[test]
fn early_stopping_stops_where_the_keras_rule_says_on_a_real_run() {
    let (x, y) = data();
    let full = Sine::new(3).fit(&x, &y, noisy(30)).unwrap();
    assert_eq!(full.stopped_epoch, None);
    let cases = [
        (Monitor::Auto, 0, 0.0),
        (Monitor::ValLoss, 2, 0.0),
        (Monitor::ValLoss, 3, 0.0),
        (Monitor::ValLoss, 3, 1e-4),
        (Monitor::Loss, 2, 0.0),
        (Monitor::Auto, 10, 0.0),
    ];
    let mut outcomes = Vec::new();
    for (monitor, patience, min_delta) in cases {
        let watched = if monitor == Monitor::Loss {
            &full.loss
        } else {
            &full.val_loss
        };
        let (stop, best) = keras_rule(watched, patience, min_delta);
        let opts = noisy(30).callback(
            EarlyStopping::new()
                .monitor(monitor)
                .patience(patience)
                .min_delta(min_delta),
        );
        let h = Sine::new(3).fit(&x, &y, opts).unwrap();
        let what = format!("{monitor:?}, patience {patience}, min_delta {min_delta}");
        let ran = stop.map_or(30, |e| e + 1);
        assert_eq!(h.stopped_epoch, stop, "{what}");
        assert_eq!(h.best_epoch, best, "{what}");
        assert_eq!(h.loss, full.loss[..ran], "{what}");
        assert_eq!(h.val_loss, full.val_loss[..ran], "{what}");
        assert_eq!((h.lr.len(), h.seconds.len()), (ran, ran), "{what}");
        outcomes.push(stop);
    }
    // The run exercises what it claims: some cases stop and one does not, and
    // min_delta moves the stopping epoch.
    assert!(
        outcomes.iter().filter(|s| s.is_some()).count() >= 4,
        "{outcomes:?}"
    );
    assert_eq!(outcomes[5], None, "{outcomes:?}");
    assert!(outcomes[3] < outcomes[2], "{outcomes:?}");
}

#[test]
fn restore_best_weights_puts_back_the_best_epoch_as_its_checkpoint_saved_it() {
    let (x, y) = data();
    let (xv, yv) = validation(&x, &y);
    let full = Sine::new(3).fit(&x, &y, noisy(30)).unwrap();
    // Patience 3 stops early; patience 40 never does, and Keras 3 restores anyway.
    for patience in [3, 40] {
        let dir = temp_dir(&format!("restore-{patience}"));
        let best_file = dir.join("best.safetensors");
        let stopping = EarlyStopping::new()
            .patience(patience)
            .restore_best_weights(true);
        let mut net = Sine::new(3);
        let h = net
            .fit(
                &x,
                &y,
                noisy(30)
                    .callback(stopping.clone())
                    .callback(Checkpoint::best(&best_file)),
            )
            .unwrap();
        let (stop, best) = keras_rule(&full.val_loss, patience, 0.0);
        assert_eq!(h.stopped_epoch, stop, "patience {patience}");
        let best = best.unwrap();
        assert_eq!(h.best_epoch, Some(best), "patience {patience}");
        assert!(
            best + 1 < h.loss.len(),
            "the best epoch is not the last: {h:?}"
        );

        let mut saved = Sine::new(99);
        saved.load_safetensors(&best_file).unwrap();
        assert_eq!(net, saved, "patience {patience}: restored = checkpoint");
        assert_eq!(net.evaluate(&xv, &yv).unwrap(), h.val_loss[best]);

        let mut kept = Sine::new(3);
        kept.fit(
            &x,
            &y,
            noisy(30).callback(stopping.restore_best_weights(false)),
        )
        .unwrap();
        assert_ne!(kept, net, "without restoring the last epoch's weights stay");
        assert_eq!(
            kept.evaluate(&xv, &yv).unwrap(),
            h.val_loss[h.loss.len() - 1]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn checkpoint_best_saves_only_on_improvement_and_every_epoch_saves_each() {
    let (x, y) = data();
    let (xv, yv) = validation(&x, &y);
    let dir = temp_dir("best");
    std::fs::create_dir(dir.join("all")).unwrap();
    let mut net = Sine::new(3);
    let h = net
        .fit(
            &x,
            &y,
            noisy(12)
                .callback(Checkpoint::best(dir.join("best-{epoch}.safetensors")))
                .callback(Checkpoint::every_epoch(dir.join("last.safetensors")))
                .callback(Checkpoint::every_epoch(
                    dir.join("all/e{epoch}.safetensors"),
                )),
        )
        .unwrap();

    let improved = new_bests(&h.val_loss);
    assert!(
        improved.len() > 2 && improved.len() < 12,
        "a run with ups and downs: {:?}",
        h.val_loss
    );
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("best-"))
        .collect();
    files.sort_by_key(|n| (n.len(), n.clone()));
    let expected: Vec<String> = improved
        .iter()
        .map(|e| format!("best-{}.safetensors", e + 1))
        .collect();
    assert_eq!(files, expected);
    for &epoch in &improved {
        let mut saved = Sine::new(0);
        saved
            .load_safetensors(dir.join(format!("best-{}.safetensors", epoch + 1)))
            .unwrap();
        assert_eq!(
            saved.evaluate(&xv, &yv).unwrap(),
            h.val_loss[epoch],
            "epoch {epoch}"
        );
    }
    assert_eq!(h.best_epoch, improved.last().copied());

    let mut last = Sine::new(0);
    last.load_safetensors(dir.join("last.safetensors")).unwrap();
    assert_eq!(last, net);
    for epoch in 0..12 {
        let mut saved = Sine::new(0);
        saved
            .load_safetensors(dir.join(format!("all/e{}.safetensors", epoch + 1)))
            .unwrap();
        assert_eq!(
            saved.evaluate(&xv, &yv).unwrap(),
            h.val_loss[epoch],
            "epoch {epoch}"
        );
    }
    let leftovers = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".tmp")
        })
        .count();
    assert_eq!(leftovers, 0, "atomic saves leave no temporary files");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A closure that counts the epochs it sees.
fn counter() -> (Arc<Mutex<usize>>, impl FnMut(&EpochLogs) + Send + 'static) {
    let seen = Arc::new(Mutex::new(0));
    let inner = Arc::clone(&seen);
    (seen, move |_: &EpochLogs| *inner.lock().unwrap() += 1)
}

#[test]
fn a_failed_save_ends_training_with_its_error() {
    let (x, y) = data();
    let dir = temp_dir("fail");
    // A non-empty directory where the file should go: the rename over it fails.
    let taken = dir.join("taken");
    std::fs::create_dir(&taken).unwrap();
    std::fs::write(taken.join("keep"), b"x").unwrap();
    let (seen, count) = counter();
    let mut net = Sine::new(3);
    let err = net
        .fit(
            &x,
            &y,
            noisy(5)
                .on_epoch_end(count)
                .callback(Checkpoint::every_epoch(&taken)),
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::Io { path, .. } if path == &taken),
        "{err}"
    );
    assert_eq!(
        *seen.lock().unwrap(),
        1,
        "training stopped at the first save"
    );
    assert!(taken.join("keep").exists());

    // A missing directory is refused before any training.
    let (seen, count) = counter();
    let before = net.clone();
    let err = net
        .fit(
            &x,
            &y,
            noisy(5)
                .on_epoch_end(count)
                .callback(Checkpoint::best(dir.join("missing/best.safetensors"))),
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::Io { path, .. } if path.ends_with("missing")),
        "{err}"
    );
    assert_eq!(*seen.lock().unwrap(), 0);
    assert_eq!(net, before);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_closure_sees_each_epoch_and_its_stop_ends_training() {
    let (x, y) = data();
    let logs = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&logs);
    let opts = noisy(10)
        .schedule(Schedule::step_decay(1, 0.5))
        .on_epoch_end(move |l: &EpochLogs| {
            seen.lock().unwrap().push(l.clone());
            if l.epoch == 2 {
                Control::Stop
            } else {
                Control::Continue
            }
        });
    let h = Sine::new(3).fit(&x, &y, opts).unwrap();
    assert_eq!(h.stopped_epoch, Some(2));
    assert_eq!(h.best_epoch, None, "no early stopping or best checkpoint");
    for len in [h.loss.len(), h.val_loss.len(), h.lr.len(), h.seconds.len()] {
        assert_eq!(len, 3, "{h:?}");
    }
    let logs = logs.lock().unwrap();
    let expected: Vec<EpochLogs> = (0..3)
        .map(|epoch| EpochLogs {
            epoch,
            epochs: 10,
            loss: h.loss[epoch],
            val_loss: Some(h.val_loss[epoch]),
            metrics: vec![],
            val_metrics: vec![],
            lr: h.lr[epoch],
            seconds: h.seconds[epoch],
            // The logs' norms are the history's, layer by layer.
            grad_norms: h
                .grad_norms
                .iter()
                .map(|g| GradNorm {
                    layer: g.layer.clone(),
                    mean: g.mean[epoch],
                    max: g.max[epoch],
                })
                .collect(),
        })
        .collect();
    assert_eq!(*logs, expected);
    // The logs carry the rate the epoch trained with, before the schedule halved it.
    assert_eq!(logs[0].lr, 0.1);
    assert_eq!(logs[2].lr, 0.025);
}

#[test]
fn callbacks_run_in_order_and_all_see_the_epoch_that_stops() {
    let (x, y) = data();
    let order = Arc::new(Mutex::new(Vec::new()));
    let (a, b) = (Arc::clone(&order), Arc::clone(&order));
    let (seen, count) = counter();
    let opts = Fit::new(Sgd::new(0.0))
        .epochs(10)
        .batch_size(32)
        .validation_split(0.25)
        .verbose(false)
        .on_epoch_end(move |l: &EpochLogs| a.lock().unwrap().push(format!("a{}", l.epoch)))
        .callback(EarlyStopping::new().patience(2))
        .on_epoch_end(move |l: &EpochLogs| b.lock().unwrap().push(format!("b{}", l.epoch)))
        .on_epoch_end(count);
    let h = Sine::new(1).fit(&x, &y, opts).unwrap();
    assert_eq!(h.stopped_epoch, Some(2));
    assert_eq!(*order.lock().unwrap(), ["a0", "b0", "a1", "b1", "a2", "b2"]);
    assert_eq!(*seen.lock().unwrap(), 3);
}

#[test]
fn a_model_closure_reads_the_model_of_each_epoch_and_can_fail() {
    let (x, y) = data();
    let (xv, yv) = validation(&x, &y);
    let pairs = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&pairs);
    let opts = noisy(4).on_epoch_end_with_model(move |l, net: &Sine| {
        // A custom metric: mean absolute error on the validation samples.
        let p = net.predict(&xv)?;
        let mae = (&p - &yv).mapv(f32::abs).mean().unwrap_or(f32::NAN);
        seen.lock()
            .unwrap()
            .push((net.evaluate(&xv, &yv)?, l.val_loss, mae));
        Ok(Control::Continue)
    });
    let h = Sine::new(3).fit(&x, &y, opts).unwrap();
    let pairs = pairs.lock().unwrap();
    assert_eq!(pairs.len(), 4);
    for (epoch, &(mse, val, mae)) in pairs.iter().enumerate() {
        assert_eq!(Some(mse), val, "epoch {epoch}");
        assert_eq!(val, Some(h.val_loss[epoch]));
        assert!(mae > 0.0 && mae * mae <= mse * (1.0 + 1e-5), "{mae} {mse}");
    }

    // An error from the closure ends training with it.
    let (seen, count) = counter();
    let err = Sine::new(3)
        .fit(
            &x,
            &y,
            noisy(5)
                .on_epoch_end(count)
                .on_epoch_end_with_model(|l, _: &Sine| {
                    if l.epoch == 1 {
                        Err(Error::Empty("custom metric"))
                    } else {
                        Ok(Control::Continue)
                    }
                }),
        )
        .unwrap_err();
    assert!(matches!(err, Error::Empty("custom metric")), "{err}");
    assert_eq!(*seen.lock().unwrap(), 2);

    // A closure for another model type is refused before training.
    let mut net = Sine::new(3);
    let before = net.clone();
    let err = net
        .fit(
            &x,
            &y,
            noisy(2).on_epoch_end_with_model(|_, _: &Other| Ok(Control::Continue)),
        )
        .unwrap_err();
    match &err {
        Error::CallbackModel { expected, got } => {
            assert!(
                expected.ends_with("Other") && got.ends_with("Sine"),
                "{err}"
            )
        }
        other => panic!("{other}"),
    }
    assert_eq!(net, before);
}

#[test]
fn bad_callback_options_are_typed_errors_before_training() {
    let (x, y) = data();
    let dir = temp_dir("bad");
    let plain = || {
        Fit::new(Adam::new(1e-2))
            .epochs(2)
            .batch_size(32)
            .verbose(false)
    };
    let bad: Vec<(Fit<Adam>, &str)> = vec![
        (
            plain().callback(EarlyStopping::new().monitor(Monitor::ValLoss)),
            "EarlyStopping monitors val_loss",
        ),
        (
            plain().callback(Checkpoint::best(dir.join("b")).monitor(Monitor::ValLoss)),
            "Checkpoint::best monitors val_loss",
        ),
        (
            plain()
                .validation_split(0.25)
                .callback(EarlyStopping::new().min_delta(-1e-3)),
            "min_delta",
        ),
        (
            plain().callback(EarlyStopping::new().min_delta(f32::NAN)),
            "min_delta",
        ),
    ];
    let mut net = Sine::new(1);
    let before = net.clone();
    for (opts, message) in bad {
        let what = format!("{opts:?}");
        match net.fit(&x, &y, opts) {
            Err(Error::Config(m)) => assert!(m.contains(message), "{m}"),
            other => panic!("{what}: {other:?}"),
        }
        assert_eq!(net, before, "{what}");
    }
    // Monitor::Auto falls back to the training loss, and an every-epoch checkpoint
    // monitors nothing: neither needs a split.
    let h = net
        .fit(
            &x,
            &y,
            plain()
                .callback(EarlyStopping::new().patience(5))
                .callback(Checkpoint::every_epoch(dir.join("e")).monitor(Monitor::ValLoss)),
        )
        .unwrap();
    assert_eq!(h.loss.len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn options_print_their_callbacks() {
    let opts = Fit::new(Adam::new(1e-3))
        .callback(EarlyStopping::new().patience(4))
        .callback(Checkpoint::best("best.safetensors"))
        .on_epoch_end(|_: &EpochLogs| Control::Continue)
        .on_epoch_end_with_model(|_, _: &Sine| Ok(Control::Continue));
    let text = format!("{opts:?}");
    for part in [
        "EarlyStopping { monitor: Auto, patience: 4",
        "Checkpoint { path: \"best.safetensors\", best_only: true",
        "on_epoch_end(closure)",
        "on_epoch_end_with_model(closure reading ",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
}

const CHILD: &str = "RNN_CALLBACKS_VERBOSITY_CHILD";

/// The training runs whose stderr the parent test reads.
fn verbosity_child() {
    let (x, y) = data();
    let quiet = |v: Verbosity| {
        Fit::new(Sgd::new(0.0))
            .epochs(2)
            .batch_size(32)
            .shuffle(false)
            .verbose(v)
    };
    let mut net = Sine::new(1);
    net.fit(
        &x,
        &y,
        quiet(Verbosity::EpochLine).epochs(3).validation_split(0.25),
    )
    .unwrap();
    net.fit(&x, &y, quiet(Verbosity::Silent)).unwrap();
    // Stderr is a pipe, not a terminal: the bar is not drawn.
    net.fit(&x, &y, quiet(Verbosity::ProgressBar)).unwrap();
    net.fit(&x, &y, quiet(Verbosity::Silent).verbose(true))
        .unwrap();
    net.fit(
        &x,
        &y,
        quiet(Verbosity::EpochLine)
            .epochs(10)
            .callback(EarlyStopping::new().patience(1).restore_best_weights(true)),
    )
    .unwrap();
}

#[test]
fn epoch_line_verbosity_prints_one_line_per_epoch_on_stderr() {
    if std::env::var_os(CHILD).is_some() {
        verbosity_child();
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "epoch_line_verbosity_prints_one_line_per_epoch_on_stderr",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 7, "{stderr}");
    for (i, line) in lines[..3].iter().enumerate() {
        let rest = line
            .strip_prefix(&format!("epoch {}/3 - loss ", i + 1))
            .unwrap_or_else(|| panic!("{line}"));
        let parts: Vec<&str> = rest.split(" - ").collect();
        assert_eq!(parts.len(), 3, "{line}");
        assert!(
            parts[0].contains('e') && parts[0].parse::<f32>().is_ok(),
            "{line}"
        );
        let val = parts[1]
            .strip_prefix("val_loss ")
            .unwrap_or_else(|| panic!("{line}"));
        assert!(val.parse::<f32>().is_ok(), "{line}");
        let secs = parts[2]
            .strip_suffix(" s")
            .unwrap_or_else(|| panic!("{line}"));
        assert!(secs.parse::<f64>().is_ok(), "{line}");
    }
    // The flat loss of a zero learning rate stops at epoch 2 of 10.
    assert!(lines[3].starts_with("epoch 1/10 - loss "), "{stderr}");
    assert!(!lines[3].contains("val_loss"), "{stderr}");
    assert!(lines[4].starts_with("epoch 2/10 - loss "), "{stderr}");
    assert_eq!(lines[5], "stopped early after epoch 2/10");
    assert_eq!(lines[6], "restored the weights of epoch 1");
}

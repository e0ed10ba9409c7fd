//! Training checkpoints: a run saved with `Fit::save_state` and continued with
//! `Fit::resume` ends bit-identical to the same run without the interruption, at an
//! epoch boundary or within an epoch, for every optimiser, with schedules, callbacks,
//! dropout, shuffling and a validation split; and every state that cannot continue
//! the run is refused before anything changes.

use std::path::{Path, PathBuf};

use ndarray::{Array2, Array3};
use rnn_runtime::callbacks::{Checkpoint, Control, EarlyStopping};
use rnn_runtime::schedule::{ReduceOnPlateau, Schedule};
use rnn_runtime::{model, Adam, AdamW, Error, Fit, History, Optimizer, RmsProp, Sgd};

model! {
    /// Dropout on both paths, so the dropout stream's position matters too.
    struct Net < input(6, 2), lstm(8, dropout = 0.1, recurrent_dropout = 0.1), dropout(0.2), dense(1) >
}
model! { struct Other < input(6, 2), gru(8), dense(1) > }

fn data(n: usize) -> (Array3<f32>, Array2<f32>) {
    let x = Array3::from_shape_fn((n, 6, 2), |(i, t, f)| {
        ((i * 7 + t * 3 + f) as f32 * 0.37).sin()
    });
    let y = Array2::from_shape_fn((n, 1), |(i, _)| ((i * 7 + 18) as f32 * 0.37).cos());
    (x, y)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rnn-resume-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Everything a run reports but wall-clock seconds.
fn same_history(a: &History, b: &History) {
    assert_eq!(a.loss, b.loss, "loss");
    assert_eq!(a.val_loss, b.val_loss, "val_loss");
    assert_eq!(a.lr, b.lr, "lr");
    assert_eq!(a.skipped, b.skipped, "skipped");
    assert_eq!(a.stopped_epoch, b.stopped_epoch, "stopped_epoch");
    assert_eq!(a.best_epoch, b.best_epoch, "best_epoch");
    assert_eq!(a.grad_norms, b.grad_norms, "grad_norms");
    assert_eq!(a.seconds.len(), b.seconds.len());
}

/// Adam, batches of 8, silent: the base of the shorter runs.
fn plain(epochs: usize) -> Fit<Adam> {
    Fit::new(Adam::new(1e-2))
        .epochs(epochs)
        .batch_size(8)
        .verbose(false)
}

/// The options of every run here: 40 samples, 8 for validation, batches of 6 (the
/// last one smaller), a plateau schedule and both kinds of callback.
fn options<O: Optimizer>(opt: O, epochs: usize, dir: &Path) -> Fit<O> {
    Fit::new(opt)
        .epochs(epochs)
        .batch_size(6)
        .seed(11)
        .validation_split(0.2)
        .schedule(
            ReduceOnPlateau::new()
                .patience(0)
                .factor(0.5)
                .threshold(0.0),
        )
        .callback(EarlyStopping::new().patience(50).restore_best_weights(true))
        .callback(Checkpoint::best(dir.join("best.safetensors")))
        .verbose(false)
}

/// Trains 7 epochs in one go, and 3 + 4 with a resume between; compares the two.
fn epoch_boundary<O: Optimizer + Clone>(name: &str, opt: O) {
    let dir = temp_dir(name);
    let state = dir.join("run.state");
    let (x, y) = data(40);
    let mut whole = Net::new(1);
    let all = whole.fit(&x, &y, options(opt.clone(), 7, &dir)).unwrap();

    let mut first = Net::new(1);
    let part = first
        .fit(&x, &y, options(opt.clone(), 3, &dir).save_state(&state))
        .unwrap();
    assert_eq!(part.loss[..], all.loss[..3]);
    let mut resumed = Net::new(99);
    let rest = resumed
        .fit(
            &x,
            &y,
            options(opt, 7, &dir).save_state(&state).resume(&state),
        )
        .unwrap();
    assert_eq!(resumed, whole, "{name}: parameters differ after resuming");
    same_history(&rest, &all);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn resuming_at_an_epoch_boundary_is_bit_identical_for_every_optimiser() {
    epoch_boundary("adam", Adam::new(1e-2));
    epoch_boundary("adamw", AdamW::new(1e-2).weight_decay(0.05));
    epoch_boundary("sgd", Sgd::new(0.05).momentum(0.9).nesterov(true));
    epoch_boundary("rmsprop", RmsProp::new(1e-2).centered(true).momentum(0.5));
}

/// A closure that fails at the end of epoch `at`, interrupting the run there; the
/// resumed run gets one that never fails (closures' kinds match, their code is ours).
fn interrupt_at(
    at: usize,
) -> impl FnMut(&rnn_runtime::callbacks::EpochLogs, &Net) -> rnn_runtime::Result<Control> {
    move |logs, _| {
        if logs.epoch == at {
            Err(Error::Config("interrupted".into()))
        } else {
            Ok(Control::Continue)
        }
    }
}

#[test]
fn resuming_within_an_epoch_finishes_it_exactly() {
    let dir = temp_dir("mid");
    let state = dir.join("run.state");
    let (x, y) = data(40);
    // 32 training samples in batches of 6: 6 steps per epoch. Saving every 4 steps,
    // the last state before the interruption at the end of epoch 2 (step 18) is the
    // one after step 16, 4 batches into epoch 2.
    let opts = |epochs| {
        options(Adam::new(1e-2), epochs, &dir)
            .save_state(&state)
            .save_state_every_steps(4)
    };
    let mut whole = Net::new(2);
    let all = whole
        .fit(
            &x,
            &y,
            opts(5).on_epoch_end_with_model(interrupt_at(usize::MAX)),
        )
        .unwrap();

    let mut first = Net::new(2);
    let err = first
        .fit(&x, &y, opts(5).on_epoch_end_with_model(interrupt_at(2)))
        .unwrap_err();
    assert_eq!(err.to_string(), "invalid training option: interrupted");
    let mut resumed = Net::new(3);
    let rest = resumed
        .fit(
            &x,
            &y,
            opts(5)
                .on_epoch_end_with_model(interrupt_at(usize::MAX))
                .resume(&state),
        )
        .unwrap();
    assert_eq!(resumed, whole);
    same_history(&rest, &all);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_cosine_schedule_with_warm_up_resumes_bit_identically() {
    let dir = temp_dir("cosine");
    let state = dir.join("run.state");
    let (x, y) = data(40);
    // 40 samples in batches of 8: 5 steps per epoch; a state every 3 steps. The
    // schedule warms up over epochs 0..3 and decays over 3..8.
    let opts = |epochs| {
        plain(epochs)
            .seed(5)
            .schedule(Schedule::cosine(8).min_lr(1e-4).warmup(3))
            .save_state(&state)
            .save_state_every_steps(3)
    };
    let mut whole = Net::new(4);
    let all = whole
        .fit(
            &x,
            &y,
            opts(8).on_epoch_end_with_model(interrupt_at(usize::MAX)),
        )
        .unwrap();
    assert!(
        all.lr[0] < all.lr[1] && all.lr[3] > all.lr[7],
        "{:?}",
        all.lr
    );
    // Interrupted at the end of epoch 1 (warm-up) and 4 (decay): the last state is
    // from step 9 or 24, within the epoch. Stopped after 2 or 5 whole epochs: the
    // state is the epoch's end.
    for (stop, interrupted) in [(1, true), (4, true), (2, false), (5, false)] {
        std::fs::remove_file(&state).ok();
        let mut first = Net::new(4);
        if interrupted {
            let run = first.fit(&x, &y, opts(8).on_epoch_end_with_model(interrupt_at(stop)));
            assert!(run.is_err());
        } else {
            let part = first
                .fit(
                    &x,
                    &y,
                    opts(stop).on_epoch_end_with_model(interrupt_at(usize::MAX)),
                )
                .unwrap();
            assert_eq!(part.lr[..], all.lr[..stop]);
        }
        let mut resumed = Net::new(99);
        let rest = resumed
            .fit(
                &x,
                &y,
                opts(8)
                    .on_epoch_end_with_model(interrupt_at(usize::MAX))
                    .resume(&state),
            )
            .unwrap();
        assert_eq!(
            resumed, whole,
            "stopped at {stop}, interrupted {interrupted}"
        );
        same_history(&rest, &all);
    }
    // A cosine state is not another schedule's.
    let err = Net::new(4)
        .fit(
            &x,
            &y,
            plain(8)
                .seed(5)
                .schedule(Schedule::exponential(0.5))
                .on_epoch_end_with_model(interrupt_at(usize::MAX))
                .resume(&state),
        )
        .unwrap_err();
    assert!(err.to_string().contains("cosine"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_finished_or_stopped_run_resumes_to_the_same_result_without_training() {
    let dir = temp_dir("stopped");
    let state = dir.join("run.state");
    let (x, y) = data(40);
    let stop_at_2 = |logs: &rnn_runtime::callbacks::EpochLogs| {
        if logs.epoch == 2 {
            Control::Stop
        } else {
            Control::Continue
        }
    };
    let opts = || {
        options(Sgd::new(0.05), 6, &dir)
            .on_epoch_end(stop_at_2)
            .save_state(&state)
    };
    let mut net = Net::new(4);
    let history = net.fit(&x, &y, opts()).unwrap();
    assert_eq!(history.stopped_epoch, Some(2));
    let mut again = Net::new(5);
    let resumed = again.fit(&x, &y, opts().resume(&state)).unwrap();
    same_history(&resumed, &history);
    assert_eq!(again, net, "the best weights are restored again");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn training_further_continues_the_history() {
    let dir = temp_dir("further");
    let state = dir.join("run.state");
    let (x, y) = data(40);
    let opts = |epochs| plain(epochs).save_state(&state);
    let mut net = Net::new(6);
    net.fit(&x, &y, opts(2)).unwrap();
    let more = net.fit(&x, &y, opts(5).resume(&state)).unwrap();
    assert_eq!(more.loss.len(), 5);
    assert_eq!(more.lr.len(), 5);
    let mut whole = Net::new(6);
    let all = whole.fit(&x, &y, opts(5)).unwrap();
    assert_eq!(net, whole);
    same_history(&more, &all);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn resume_if_exists_starts_afresh_without_a_file_and_resumes_with_one() {
    let dir = temp_dir("if-exists");
    let state = dir.join("run.state");
    let (x, y) = data(24);
    let opts = |epochs| plain(epochs).save_state(&state).resume_if_exists(&state);
    let mut a = Net::new(8);
    assert!(!state.exists());
    a.fit(&x, &y, opts(2)).unwrap();
    assert!(state.exists());
    let h = a.fit(&x, &y, opts(4)).unwrap();
    let mut b = Net::new(8);
    let all = b.fit(&x, &y, plain(4)).unwrap();
    assert_eq!(a, b);
    same_history(&h, &all);
    std::fs::remove_dir_all(&dir).ok();
}

/// Saves a 2-epoch state with the base options, then resumes with `change` applied.
fn refused(name: &str, change: impl FnOnce(Fit<Adam>) -> Fit<Adam>) -> Error {
    let dir = temp_dir(name);
    let state = dir.join("run.state");
    let (x, y) = data(24);
    Net::new(0)
        .fit(&x, &y, plain(2).save_state(&state))
        .unwrap();
    let mut net = Net::new(0);
    let before = net.clone();
    let err = net
        .fit(&x, &y, change(plain(4)).resume(&state))
        .unwrap_err();
    assert_eq!(net, before, "{name}: a refused resume changes nothing");
    std::fs::remove_dir_all(&dir).ok();
    err
}

#[test]
fn a_state_from_a_differently_configured_run_is_refused_naming_the_difference() {
    type Change = fn(Fit<Adam>) -> Fit<Adam>;
    let cases: [(&str, Change, &str); 5] = [
        (
            "batch",
            |o| o.batch_size(4),
            "batch_size 8, but this run has 4",
        ),
        ("seed", |o| o.seed(3), "seed 0, but this run has 3"),
        (
            "shuffle",
            |o| o.shuffle(false),
            "shuffle true, but this run has false",
        ),
        (
            "metrics",
            |o| o.metrics(&[rnn_runtime::Metric::Mae]),
            "metrics none, but this run has mae",
        ),
        (
            "split",
            |o| o.validation_split(0.5),
            "training samples (after validation_split) 24, but this run has 12",
        ),
    ];
    for (name, change, message) in cases {
        let err = refused(name, change);
        assert!(
            matches!(err, Error::ResumeMismatch { .. }) && err.to_string().ends_with(message),
            "{name}: {err}"
        );
    }
    let err = refused("schedule", |o| o.schedule(Schedule::exponential(0.5)));
    assert!(err.to_string().contains("schedule none"), "{err}");
    let err = refused("callbacks", |o| o.callback(EarlyStopping::new()));
    assert_eq!(
        err.to_string().split(": ").skip(1).collect::<Vec<_>>().join(": "),
        "cannot resume from this training state: the callbacks were [], now they are [EarlyStopping]"
    );
}

#[test]
fn other_data_another_model_or_optimiser_and_damaged_files_are_refused() {
    let dir = temp_dir("refused");
    let state = dir.join("run.state");
    let (x, y) = data(24);
    Net::new(0)
        .fit(&x, &y, plain(2).save_state(&state))
        .unwrap();

    let mut changed = y.clone();
    changed[[5, 0]] += 1e-6;
    let err = Net::new(0)
        .fit(&x, &changed, plain(2).resume(&state))
        .unwrap_err();
    assert!(err.to_string().contains("data fingerprint"), "{err}");

    let err = Other::new(0)
        .fit(&x, &y, plain(2).resume(&state))
        .unwrap_err();
    assert!(
        matches!(err, Error::TensorShape { .. })
            && err
                .to_string()
                .ends_with("tensor `model/0.weight_ih` has shape [32, 2], expected [24, 2]"),
        "{err}"
    );

    let sgd = Fit::new(Sgd::new(0.1))
        .epochs(2)
        .batch_size(8)
        .verbose(false);
    let err = Net::new(0).fit(&x, &y, sgd.resume(&state)).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("a Adam state cannot be loaded into a Sgd"),
        "{err}"
    );

    let bytes = std::fs::read(&state).unwrap();
    let damaged = dir.join("damaged.state");
    for cut in [0, 7, 8, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&damaged, &bytes[..cut]).unwrap();
        let err = Net::new(0)
            .fit(&x, &y, plain(2).resume(&damaged))
            .unwrap_err();
        assert!(
            matches!(err, Error::SafeTensors { .. }),
            "cut at {cut}: {err}"
        );
    }
    let params = dir.join("params.safetensors");
    Net::new(0).save_safetensors(&params).unwrap();
    let err = Net::new(0)
        .fit(&x, &y, plain(2).resume(&params))
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("not a training state written by Fit::save_state"),
        "{err}"
    );
    let err = Net::new(0)
        .fit(&x, &y, plain(2).resume(dir.join("missing.state")))
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_state_options_are_refused_before_training() {
    let (x, y) = data(12);
    let opts = || Fit::new(Adam::new(1e-2)).verbose(false);
    let err = Net::new(0)
        .fit(&x, &y, opts().save_state_every_steps(5))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid training option: save_state_every_steps needs save_state(path) to say where"
    );
    let err = Net::new(0)
        .fit(
            &x,
            &y,
            opts().save_state("x.state").save_state_every_steps(0),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid training option: save_state_every_steps must be at least 1"
    );
}

#[test]
fn restored_counters_cannot_overflow() {
    // An Adam state with an absurd step count still steps (the count saturates).
    let mut net = Net::new(0);
    let mut grads = rnn_runtime::Grads::zeros::<Net>();
    grads.as_mut_slice().fill(0.1);
    let mut adam = Adam::new(1e-2);
    adam.step(&mut net, &grads).unwrap();
    let mut state = adam.state_dict().unwrap();
    state.insert_u64("step", u64::MAX);
    let mut adam = Adam::new(0.5);
    adam.load_state_dict(&state).unwrap();
    adam.step(&mut net, &grads).unwrap();
    assert_eq!(adam.steps(), u64::MAX);
    let mut finite = true;
    rnn_runtime::Params::visit_params(&net, &mut |t| finite &= t.iter().all(|v| v.is_finite()));
    assert!(finite);
}

//! End-to-end training: convergence, determinism, validation split, and the typed
//! errors of every bad argument to the batch API; then the same for the layers and
//! options of the DSL beyond the seed model: many-to-many, token input, bidirectional
//! layers, dropout and the classification losses.

mod common;

use common::max_abs_diff;
use ndarray::{s, Array2, Array3, ArrayView2, Axis};
use rnn::sine_windows;
use rnn_runtime::dropout::{step_seed, MaskKey};
use rnn_runtime::rng::Rng;
use rnn_runtime::{model, Adam, Error, Fit, Loss, Network};

model! {
    /// A smaller seed model: the same task with a shorter run.
    struct Sine < input(10, 1), lstm(16), dense(1) >
}

fn options(epochs: usize) -> Fit<Adam> {
    Fit::new(Adam::new(1e-2))
        .epochs(epochs)
        .batch_size(32)
        .verbose(false)
}

#[test]
fn a_short_run_converges_and_is_deterministic() {
    let (x, y) = sine_windows(512, 10);
    let mut net = Sine::new(7);
    let before = net.evaluate(&x, &y).unwrap();
    let history = net.fit(&x, &y, options(15)).unwrap();
    let after = net.evaluate(&x, &y).unwrap();
    assert_eq!(history.loss.len(), 15);
    assert!(history.val_loss.is_empty());
    assert!(after < 1e-3, "MSE after 15 epochs: {after}");
    assert!(after < before / 50.0, "MSE {before} → {after}");
    assert!(
        history.loss[14] < history.loss[0] / 10.0,
        "{:?}",
        history.loss
    );

    let mut again = Sine::new(7);
    let history2 = again.fit(&x, &y, options(15)).unwrap();
    assert_eq!(
        history.loss, history2.loss,
        "same seeds give the same losses"
    );
    assert_eq!(history.seconds.len(), 15);
    assert_eq!(net, again, "same seeds give bit-identical parameters");

    let mut other = Sine::new(7);
    other.fit(&x, &y, options(15).seed(1)).unwrap();
    assert_ne!(net, other, "the shuffle seed changes the run");
}

#[test]
fn validation_split_reports_a_validation_loss_on_the_held_out_tail() {
    let (x, y) = sine_windows(200, 10);
    let mut net = Sine::new(3);
    let history = net.fit(&x, &y, options(2).validation_split(0.25)).unwrap();
    assert_eq!(history.val_loss.len(), 2);
    let tail = net
        .evaluate(x.slice(s![150.., .., ..]), y.slice(s![150.., ..]))
        .unwrap();
    assert_eq!(history.val_loss[1], tail);
}

/// `fit` without shuffling takes exactly the steps a hand-written loop takes: an Adam
/// step on each batch of `batch_size` samples in order (the last one smaller), step `s`
/// drawing its dropout masks from `step_seed(0, s)`, for `epochs` epochs; and reports
/// each epoch's sample-weighted mean batch loss, as Keras does. Returns those losses.
fn fit_takes_the_steps_by_hand<M>(
    init: M,
    x: ndarray::ArrayViewD<'_, M::Input>,
    y: ndarray::ArrayViewD<'_, f32>,
    batch_size: usize,
    epochs: usize,
) -> Vec<f64>
where
    M: Network + Clone + PartialEq + std::fmt::Debug,
{
    let n = x.len_of(Axis(0));
    let loss = rnn_runtime::model_loss::<M>().unwrap();
    let mut net = init.clone();
    let options = options(epochs).batch_size(batch_size).shuffle(false);
    let history = rnn_runtime::fit(&mut net, x.view(), y.view(), options).unwrap();

    let mut by_hand = init;
    let mut adam = Adam::new(1e-2);
    let mut step = 0;
    let mut losses = Vec::new();
    for _ in 0..epochs {
        let mut sum = 0.0f64;
        for start in (0..n).step_by(batch_size) {
            let rows = ndarray::Slice::from(start..(start + batch_size).min(n));
            let (xb, yb) = (x.slice_axis(Axis(0), rows), y.slice_axis(Axis(0), rows));
            let samples = xb.len_of(Axis(0)) as f64;
            let (value, grads) =
                rnn_runtime::loss_and_grads(&by_hand, xb, yb, loss, step_seed(0, step)).unwrap();
            adam.step(&mut by_hand, &grads).unwrap();
            sum += f64::from(value) * samples;
            step += 1;
        }
        losses.push(sum / n as f64);
    }
    assert_eq!(net, by_hand, "batch size {batch_size}: the same steps");
    assert_eq!(history.loss.len(), epochs);
    for (got, want) in history.loss.iter().zip(&losses) {
        assert!(
            (f64::from(*got) - want).abs() <= 1e-6 * want,
            "batch size {batch_size}: epoch loss {got} vs {want}"
        );
    }
    losses
}

#[test]
fn a_last_batch_smaller_than_the_others_and_a_batch_larger_than_the_data_work() {
    // 45 samples: batches of 32 and 13, or one batch of all 45 when the batch size is
    // larger than the data.
    let (x, y) = sine_windows(45, 10);
    for batch_size in [32, 1000] {
        let (x, y) = (x.view().into_dyn(), y.view().into_dyn());
        let losses = fit_takes_the_steps_by_hand(Sine::new(3), x, y, batch_size, 2);
        assert!(losses[1] < losses[0], "{losses:?}");
    }
}

/// `x` (`[batch, T, F]`) stored time-major, `[T, batch, F]`.
fn time_major(x: &Array3<f32>) -> Array3<f32> {
    x.view()
        .permuted_axes([1, 0, 2])
        .as_standard_layout()
        .into_owned()
}

/// A time-major array seen as `[batch, T, F]`: a view that is not contiguous.
fn batch_major_view(x_tm: &Array3<f32>) -> ndarray::ArrayView3<'_, f32> {
    let view = x_tm.view().permuted_axes([1, 0, 2]);
    assert!(!view.is_standard_layout());
    view
}

#[test]
fn any_memory_layout_gives_the_same_result() {
    let (x, y) = sine_windows(20, 10);
    let net = Sine::new(5);
    let want = net.forward(x.view()).unwrap();
    // The same data stored time-major and viewed through a permutation.
    let x_tm = time_major(&x);
    assert_eq!(net.forward(batch_major_view(&x_tm)).unwrap(), want);
    // A negatively strided view.
    let reversed = x.slice(s![..;-1, .., ..]);
    let got = net.forward(reversed).unwrap();
    assert_eq!(got.slice(s![..;-1, ..]), want);
    assert_eq!(
        net.evaluate(reversed, y.slice(s![..;-1, ..])).unwrap(),
        net.evaluate(&x, &y).unwrap()
    );
}

#[test]
fn wrong_shapes_are_typed_errors_that_name_the_argument() {
    let net = Sine::new(1);
    let err = net
        .forward(Array3::<f32>::zeros((4, 9, 1)).view())
        .unwrap_err();
    assert!(matches!(err, Error::Shape { what: "x", .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "x has shape [4, 9, 1], but the model expects [batch, 10, 1]"
    );
    let x = Array3::<f32>::zeros((4, 10, 1));
    let err = net.evaluate(&x, &Array2::<f32>::zeros((4, 2))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "y has shape [4, 2], but the model expects [batch, 1] (or [batch])"
    );
    let err = net
        .loss_and_grads(&x, &Array2::<f32>::zeros((3, 1)))
        .unwrap_err();
    assert!(matches!(err, Error::SampleCount { x: 4, y: 3 }), "{err:?}");
    let err = net
        .evaluate(
            &Array3::<f32>::zeros((0, 10, 1)),
            &Array2::<f32>::zeros((0, 1)),
        )
        .unwrap_err();
    assert!(matches!(err, Error::Empty("x")), "{err:?}");
    assert_eq!(
        net.forward(&Array3::<f32>::zeros((0, 10, 1)))
            .unwrap()
            .dim(),
        (0, 1)
    );
}

#[test]
fn bad_training_options_are_refused_before_anything_changes() {
    let (x, y) = sine_windows(10, 10);
    let mut net = Sine::new(1);
    let before = net.clone();
    let cases = [
        (options(1).batch_size(0), "invalid training option: batch_size must be at least 1"),
        (
            options(1).validation_split(1.0),
            "invalid training option: validation_split must be in [0, 1), got 1",
        ),
        (
            options(1).validation_split(1e-20),
            "invalid training option: validation_split 0.00000000000000000001 leaves no validation samples out of 10",
        ),
        (
            options(1).validation_split(0.95),
            "invalid training option: validation_split 0.95 leaves no training samples out of 10",
        ),
    ];
    for (opts, message) in cases {
        assert_eq!(net.fit(&x, &y, opts).unwrap_err().to_string(), message);
    }
    let empty = net.fit(
        &Array3::<f32>::zeros((0, 10, 1)),
        &Array2::<f32>::zeros((0, 1)),
        options(1),
    );
    assert!(matches!(empty, Err(Error::Empty("x"))));
    assert_eq!(net, before);
    assert_eq!(net.fit(&x, &y, options(0)).unwrap().loss, Vec::<f32>::new());
    assert_eq!(net, before, "zero epochs train nothing");
}

#[test]
fn training_is_bit_identical_with_one_thread_or_many() {
    // Batch 48 is split into shards that run in parallel; the split and the order
    // of the reduction do not depend on the threads.
    let (x, y) = sine_windows(192, 10);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut net = Sine::new(11);
            let history = net.fit(&x, &y, options(3).batch_size(48)).unwrap();
            let predictions = net.predict(&x).unwrap();
            (net, history.loss, predictions)
        })
    };
    let one = run(1);
    for threads in [2, 3] {
        let many = run(threads);
        assert_eq!(one.0, many.0, "parameters with {threads} threads");
        assert_eq!(one.1, many.1, "losses with {threads} threads");
        assert_eq!(one.2, many.2, "predictions with {threads} threads");
    }
}

/// Whether the per-step products run in the AVX-512 kernel, which sums every output
/// element in the same order whatever the number of rows. The fallbacks (a GEMM
/// library for many rows, a row kernel for a few) may round differently by batch size.
fn step_kernel_is_row_independent() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::env::var_os("RNN_PORTABLE").is_none() && std::is_x86_feature_detected!("avx512f");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

#[test]
fn a_sample_gets_the_same_output_alone_or_in_any_batch() {
    let (x, _) = sine_windows(150, 10);
    let net = Sine::new(2);
    let all = net.forward(&x).unwrap();
    for i in [0, 63, 64, 149] {
        let alone = net.forward(x.slice(s![i..i + 1, .., ..])).unwrap();
        if step_kernel_is_row_independent() {
            assert_eq!(alone.row(0), all.row(i), "sample {i}");
        } else {
            assert!((alone[[0, 0]] - all[[i, 0]]).abs() < 1e-6, "sample {i}");
        }
        let mut one = [[0.0f32; 1]; 10];
        for (t, v) in one.iter_mut().enumerate() {
            v[0] = x[[i, t, 0]];
        }
        let single = net.predict_one(&one);
        assert!(
            (single[0] - all[[i, 0]]).abs() < 1e-6,
            "predict_one of sample {i}"
        );
    }
}

// ---------------------------------------------------------------------------------
// The layers and options beyond the seed model.

model! {
    /// Many-to-many: the output at step t is the input at step t - 1.
    struct Delay < input(12, 1), gru(16, return_sequences = true), dense(1) >
}
model! {
    /// Many-to-many that needs the future: the output at step t is the input at t + 1.
    struct Ahead < input(10, 1), bidirectional(gru(8, return_sequences = true)), dense(1) >
}
model! {
    /// `Ahead` without the reverse direction, as a control.
    struct AheadForwardOnly < input(10, 1), gru(16, return_sequences = true), dense(1) >
}
model! { struct Detect < input(8), embedding(6, 8), lstm(16), dense(2), loss = sparse_categorical_crossentropy > }
model! { struct Majority < input(7), embedding(3, 4), bidirectional(gru(8)), dense(2), loss = sparse_categorical_crossentropy > }
model! { struct Noisy < input(10, 1), lstm(16, dropout = 0.2, recurrent_dropout = 0.2), dropout(0.3), dense(1) > }
model! {
    struct NoisyBi < input(10, 1),
        bidirectional(gru(4, recurrent_dropout = 0.3, return_sequences = true)), dropout(0.2), dense(1) >
}
model! { struct Tagger < input(6, 2), lstm(4, return_sequences = true), dense(3) > }
model! { struct Flags < input(8, 1), gru(12), dense(2), loss = binary_crossentropy > }
model! { struct Which < input(8, 3), lstm(12), dense(3), loss = categorical_crossentropy > }

fn uniform(rng: &mut Rng) -> f32 {
    rng.uniform(-1.0, 1.0) as f32
}

/// Inputs uniform in [-1, 1) and, per step, the input `shift` steps later (0 where
/// that runs off the sequence).
fn shifted(n: usize, steps: usize, shift: isize, seed: u64) -> (Array3<f32>, Array3<f32>) {
    let mut rng = Rng::new(seed);
    let x = Array3::from_shape_fn((n, steps, 1), |_| uniform(&mut rng));
    let y = Array3::from_shape_fn((n, steps, 1), |(i, t, _)| {
        let source = t as isize + shift;
        if (0..steps as isize).contains(&source) {
            x[[i, source as usize, 0]]
        } else {
            0.0
        }
    });
    (x, y)
}

/// Mean squared error of each time step over the samples.
fn mse_per_step(pred: &Array3<f32>, y: &Array3<f32>) -> Vec<f32> {
    let d = pred - y;
    (d.mapv(|v| v * v).mean_axis(Axis(0)).unwrap())
        .column(0)
        .to_vec()
}

/// Fraction of rows whose largest logit is at the class id in `labels` (`[n, 1]`).
fn accuracy(logits: ArrayView2<f32>, labels: ArrayView2<f32>) -> f32 {
    let hits = logits
        .outer_iter()
        .zip(labels.outer_iter())
        .filter(|(row, label)| {
            let best = (0..row.len())
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap();
            best as f32 == label[0]
        })
        .count();
    hits as f32 / logits.nrows() as f32
}

#[test]
fn a_many_to_many_model_learns_a_per_step_task() {
    let (x, y) = shifted(512, 12, -1, 1);
    let (x_test, y_test) = shifted(128, 12, -1, 2);
    let mut net = Delay::new(3);
    let before = net.evaluate(&x_test, &y_test).unwrap();
    let history = net.fit(&x, &y, options(20)).unwrap();
    let after = net.evaluate(&x_test, &y_test).unwrap();
    assert!(after < before / 30.0, "held-out MSE {before} → {after}");
    assert!(
        history.loss[19] < history.loss[0] / 10.0,
        "{:?}",
        history.loss
    );
    // Every step is learnt, not only the mean: each step's error is small.
    let pred = net.predict(&x_test).unwrap();
    assert_eq!(pred.dim(), (128, 12, 1));
    let per_step = mse_per_step(&pred, &y_test);
    for (t, e) in per_step.iter().enumerate() {
        assert!(*e < before / 10.0, "step {t}: MSE {e}, all {per_step:?}");
    }
    // The many-to-many output is per step: predict_one gives every step.
    let mut one = [[0.0f32; 1]; 12];
    for (t, v) in one.iter_mut().enumerate() {
        v[0] = x_test[[5, t, 0]];
    }
    let steps = net.predict_one(&one);
    for (t, v) in steps.iter().enumerate() {
        assert!((v[0] - pred[[5, t, 0]]).abs() < 1e-5, "step {t}");
    }
}

/// Token ids in `0..6` but 3, with token 3 put in at one or two places in every other
/// sample; the class is whether 3 appears.
fn detect_data(n: usize, seed: u64) -> (Array2<u32>, Array2<f32>) {
    let mut rng = Rng::new(seed);
    let mut x = Array2::<u32>::zeros((n, 8));
    let mut y = Array2::<f32>::zeros((n, 1));
    for i in 0..n {
        for t in 0..8 {
            x[[i, t]] = [0, 1, 2, 4, 5][rng.below(5)];
        }
        if rng.below(2) == 1 {
            for _ in 0..1 + rng.below(2) {
                x[[i, rng.below(8)]] = 3;
            }
            y[[i, 0]] = 1.0;
        }
    }
    (x, y)
}

#[test]
fn a_token_classifier_learns_whether_a_token_appears() {
    let (x, y) = detect_data(512, 1);
    let (x_test, y_test) = detect_data(256, 2);
    let share = y_test.mean().unwrap();
    assert!((0.35..0.65).contains(&share), "balanced classes: {share}");
    let mut net = Detect::new(4);
    let loss = Loss::SparseCategoricalCrossentropy;
    let before = net.evaluate_with(&x_test, &y_test, loss).unwrap();
    let history = net.fit(&x, &y, options(15)).unwrap();
    let after = net.evaluate_with(&x_test, &y_test, loss).unwrap();
    let logits = net.predict(&x_test).unwrap();
    let acc = accuracy(logits.view(), y_test.view());
    assert!(
        acc > 0.9,
        "held-out accuracy {acc}, history {:?}",
        history.loss
    );
    assert!(after < before / 4.0, "cross-entropy {before} → {after}");
    // The sparse loss of logits is the mean of -log softmax at the class.
    let mut want = 0.0f64;
    for (row, label) in logits.outer_iter().zip(y_test.outer_iter()) {
        let max = row.fold(f32::MIN, |m, &v| m.max(v)) as f64;
        let sum: f64 = row.iter().map(|&v| (v as f64 - max).exp()).sum();
        want += max + sum.ln() - row[label[0] as usize] as f64;
    }
    want /= 256.0;
    assert!(
        (after as f64 - want).abs() < 1e-5 * want.max(1.0),
        "{after} vs {want}"
    );
}

/// Seven tokens, each 1 or 2; the class is 1 when 2 is the majority.
fn majority_data(n: usize, seed: u64) -> (Array2<u32>, Array2<f32>) {
    let mut rng = Rng::new(seed);
    let x = Array2::from_shape_fn((n, 7), |_| 1 + rng.below(2) as u32);
    let y = Array2::from_shape_fn((n, 1), |(i, _)| {
        let twos = x.row(i).iter().filter(|&&id| id == 2).count();
        if twos > 3 {
            1.0
        } else {
            0.0
        }
    });
    (x, y)
}

#[test]
fn a_bidirectional_token_classifier_learns_the_majority_token() {
    let (x, y) = majority_data(1024, 3);
    let (x_test, y_test) = majority_data(256, 4);
    let mut net = Majority::new(5);
    let history = net.fit(&x, &y, options(20)).unwrap();
    let acc = accuracy(net.predict(&x_test).unwrap().view(), y_test.view());
    assert!(
        acc > 0.9,
        "held-out accuracy {acc}, history {:?}",
        history.loss
    );
}

#[test]
fn a_bidirectional_many_to_many_model_uses_the_future() {
    let (x, y) = shifted(512, 10, 1, 5);
    let (x_test, y_test) = shifted(128, 10, 1, 6);
    let mut net = Ahead::new(7);
    let before = net.evaluate(&x_test, &y_test).unwrap();
    let history = net.fit(&x, &y, options(20)).unwrap();
    let after = net.evaluate(&x_test, &y_test).unwrap();
    assert!(after < before / 10.0, "held-out MSE {before} → {after}");
    assert!(
        history.loss[19] < history.loss[0] / 5.0,
        "{:?}",
        history.loss
    );
    // A forward-only model cannot know the next input: only the reverse direction
    // explains the fall.
    let mut control = AheadForwardOnly::new(7);
    control.fit(&x, &y, options(20)).unwrap();
    let control_loss = control.evaluate(&x_test, &y_test).unwrap();
    assert!(
        control_loss > 0.2 && control_loss > 10.0 * after,
        "forward-only {control_loss}, bidirectional {after}"
    );
}

/// Trains a fresh model from `seed` in a pool of `threads` threads: its parameters,
/// losses and predictions.
fn fit_in_pool<M: Network + Send>(
    threads: usize,
    seed: u64,
    x: ndarray::ArrayViewD<'_, M::Input>,
    y: ndarray::ArrayViewD<'_, f32>,
    opts: Fit<Adam>,
) -> (M, Vec<f32>, ndarray::ArrayD<f32>) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let mut net = M::init(seed);
        let history = rnn_runtime::fit(&mut net, x.view(), y.view(), opts).unwrap();
        let predictions = rnn_runtime::forward(&net, x.view()).unwrap();
        (net, history.loss, predictions)
    })
}

/// Dropout training gives the same bits in pools of 1, 2 and 3 threads and for the
/// same seed, and another model for another seed.
fn dropout_runs_are_reproducible<M: Network + Send + PartialEq + std::fmt::Debug>(
    x: ndarray::ArrayViewD<'_, M::Input>,
    y: ndarray::ArrayViewD<'_, f32>,
) {
    // Batch 48: three shards, which run in parallel when threads allow.
    let opts = || options(3).batch_size(48).shuffle(false);
    let one = fit_in_pool::<M>(1, 11, x.view(), y.view(), opts());
    for threads in [2, 3] {
        let many = fit_in_pool::<M>(threads, 11, x.view(), y.view(), opts());
        assert_eq!(one.0, many.0, "parameters with {threads} threads");
        assert_eq!(one.1, many.1, "losses with {threads} threads");
        assert_eq!(one.2, many.2, "predictions with {threads} threads");
    }
    let again = fit_in_pool::<M>(2, 11, x.view(), y.view(), opts());
    assert_eq!(one.0, again.0, "the same seed gives the same run");
    // Without shuffling the seed draws only the dropout masks.
    let other = fit_in_pool::<M>(2, 11, x.view(), y.view(), opts().seed(5));
    assert_ne!(one.0, other.0, "another seed draws other masks");
    assert_ne!(one.1, other.1);
}

#[test]
fn dropout_training_is_bit_identical_for_any_thread_count_and_follows_the_seed() {
    let (x, y) = sine_windows(192, 10);
    dropout_runs_are_reproducible::<Noisy>(x.view().into_dyn(), y.view().into_dyn());
    let y_seq = Array3::from_shape_fn((192, 10, 1), |(i, t, _)| ((i + t + 1) as f32 * 0.1).sin());
    dropout_runs_are_reproducible::<NoisyBi>(x.view().into_dyn(), y_seq.view().into_dyn());
    // Control: without dropout and shuffling the seed changes nothing.
    let opts = || options(3).batch_size(48).shuffle(false);
    let (xd, yd) = (x.view().into_dyn(), y.view().into_dyn());
    let a = fit_in_pool::<Sine>(2, 11, xd.view(), yd.view(), opts());
    let b = fit_in_pool::<Sine>(2, 11, xd.view(), yd.view(), opts().seed(5));
    assert_eq!(a.0, b.0);
}

/// Training-mode forward passes of `M` over parts of one batch of 48 samples, each
/// keyed by its first sample's index in the batch, give that batch's outputs: a
/// sample's dropout masks depend on its index, not on how the batch is split.
fn masks_follow_the_sample_index<M: Network<Input = f32>>(net: &M, x: &[f32]) {
    let (row, out_row) = (M::TIMESTEPS * M::FEATURES, M::OUTPUT_STEPS * M::OUTPUTS);
    let key = |first_sample| {
        Some(MaskKey {
            seed: 9,
            first_sample,
        })
    };
    let mut ws = M::Workspace::default();
    let whole = net.forward_batch(x, 48, None, key(0), &mut ws).to_vec();
    let inference = net.forward_batch(x, 48, None, None, &mut ws).to_vec();
    let other_seed = net
        .forward_batch(
            x,
            48,
            None,
            Some(MaskKey {
                seed: 10,
                first_sample: 0,
            }),
            &mut ws,
        )
        .to_vec();
    let differ = |a: &[f32], b: &[f32]| a.iter().zip(b).any(|(p, q)| (p - q).abs() > 1e-3);
    assert!(differ(&whole, &inference), "dropout acts in training mode");
    assert!(differ(&whole, &other_seed), "the seed draws the masks");
    for (start, len) in [(0, 16), (16, 16), (32, 16), (5, 30), (47, 1)] {
        let rows = start..start + len;
        let xs = &x[rows.start * row..rows.end * row];
        let want = &whole[rows.start * out_row..rows.end * out_row];
        let part = net
            .forward_batch(xs, len, None, key(start), &mut ws)
            .to_vec();
        if step_kernel_is_row_independent() {
            assert_eq!(part, want, "samples {rows:?}");
        } else {
            assert!(!differ(&part, want), "samples {rows:?}");
            let worst = max_abs_diff(&part, want);
            assert!(worst < 1e-5, "samples {rows:?}: {worst}");
        }
        // Keyed as if the part started elsewhere, the same samples get other masks.
        let shifted = net
            .forward_batch(xs, len, None, key(start + 1), &mut ws)
            .to_vec();
        assert!(differ(&shifted, want), "samples {rows:?}, shifted key");
    }
}

#[test]
fn a_samples_dropout_masks_depend_on_its_index_in_the_batch_not_on_the_split() {
    let (x, _) = sine_windows(48, 10);
    let x = x.as_slice().unwrap();
    masks_follow_the_sample_index(&Noisy::new(2), x);
    masks_follow_the_sample_index(&NoisyBi::new(3), x);
}

#[test]
fn dropout_models_train_with_a_last_batch_smaller_than_the_others() {
    // 45 samples in batches of 32: the second batch of each epoch has 13 samples and
    // reuses the work buffers (mask buffers included) of the first; its masks are those
    // of a batch of 13 on its own.
    let (x, y) = sine_windows(45, 10);
    let x = x.view().into_dyn();
    fit_takes_the_steps_by_hand(Noisy::new(3), x.view(), y.view().into_dyn(), 32, 2);
    let y_seq = Array3::from_shape_fn((45, 10, 1), |(i, t, _)| ((i + t + 1) as f32 * 0.1).sin());
    fit_takes_the_steps_by_hand(NoisyBi::new(3), x, y_seq.view().into_dyn(), 32, 2);
}

#[test]
fn models_without_dropout_train_with_a_last_batch_smaller_than_the_others() {
    let (x, y) = shifted(45, 12, -1, 1);
    let (x, y) = (x.view().into_dyn(), y.view().into_dyn());
    fit_takes_the_steps_by_hand(Delay::new(1), x, y, 32, 2);
    let (x, y) = majority_data(45, 1);
    let (x, y) = (x.view().into_dyn(), y.view().into_dyn());
    fit_takes_the_steps_by_hand(Majority::new(1), x, y, 32, 2);
}

/// `forward` of 150 samples (chunks of 64, 64 and 22 sharing work buffers) gives
/// each sample the output it gets alone.
fn batch_outputs_are_per_sample<M: Network>(net: &M, x: ndarray::ArrayViewD<'_, M::Input>) {
    let all = rnn_runtime::forward(net, x.view()).unwrap();
    assert_eq!(all.shape()[0], 150);
    for i in [0, 63, 64, 100, 149] {
        let alone = rnn_runtime::forward(net, x.slice_axis(Axis(0), (i..i + 1).into())).unwrap();
        let (got, want) = (alone.index_axis(Axis(0), 0), all.index_axis(Axis(0), i));
        if step_kernel_is_row_independent() {
            assert_eq!(got, want, "sample {i}");
        } else {
            for (g, w) in got.iter().zip(want.iter()) {
                assert!((g - w).abs() < 1e-6, "sample {i}: {g} vs {w}");
            }
        }
    }
}

#[test]
fn every_model_kind_gives_a_sample_the_same_output_alone_or_in_any_batch() {
    let (x, _) = shifted(150, 12, 0, 1);
    batch_outputs_are_per_sample(&Delay::new(1), x.view().into_dyn());
    let (x, _) = shifted(150, 10, 0, 2);
    batch_outputs_are_per_sample(&Ahead::new(2), x.view().into_dyn());
    batch_outputs_are_per_sample(&Noisy::new(3), x.view().into_dyn());
    batch_outputs_are_per_sample(&NoisyBi::new(4), x.view().into_dyn());
    let (x, _) = detect_data(150, 3);
    batch_outputs_are_per_sample(&Detect::new(5), x.view().into_dyn());
    let (x, _) = majority_data(150, 4);
    batch_outputs_are_per_sample(&Majority::new(6), x.view().into_dyn());
}

#[test]
fn dropout_is_active_in_training_only() {
    let (x, y) = sine_windows(64, 10);
    let net = Noisy::new(4);
    let inference = net.evaluate(&x, &y).unwrap();
    assert_eq!(inference, net.evaluate(&x, &y).unwrap());
    assert_eq!(net.predict(&x).unwrap(), net.predict(&x).unwrap());
    let (loss1, grads1) = net.loss_and_grads_with(&x, &y, Loss::Mse, 1).unwrap();
    let (loss1b, grads1b) = net.loss_and_grads_with(&x, &y, Loss::Mse, 1).unwrap();
    assert_eq!(loss1, loss1b, "the same dropout seed gives the same loss");
    assert_eq!(grads1, grads1b, "and the same gradients");
    let (loss2, grads2) = net.loss_and_grads_with(&x, &y, Loss::Mse, 2).unwrap();
    assert_ne!(loss1, loss2, "another dropout seed, other masks");
    assert_ne!(grads1, grads2);
    for (seed, loss) in [(1, loss1), (2, loss2)] {
        assert!(
            (loss - inference).abs() > 1e-4 * inference,
            "seed {seed}: training loss {loss}, inference loss {inference}"
        );
    }
    assert_eq!(
        net.loss_and_grads(&x, &y).unwrap(),
        net.loss_and_grads_with(&x, &y, Loss::Mse, 0).unwrap()
    );

    // Without dropout the training-mode loss is the inference loss for any seed.
    let plain = Sine::new(4);
    let (p1, g1) = plain.loss_and_grads_with(&x, &y, Loss::Mse, 1).unwrap();
    let (p2, g2) = plain.loss_and_grads_with(&x, &y, Loss::Mse, 2).unwrap();
    assert_eq!((p1, &g1), (p2, &g2));
    let e = plain.evaluate(&x, &y).unwrap();
    assert!((p1 - e).abs() <= 1e-6 * e, "{p1} vs {e}");
}

#[test]
fn sequence_targets_of_the_wrong_shape_are_typed_errors() {
    let mut net = Delay::new(1);
    let before = net.clone();
    let x = Array3::<f32>::zeros((4, 12, 1));
    for bad in [[4, 11, 1], [4, 12, 2], [4, 1, 1]] {
        let y = Array3::<f32>::zeros(bad);
        let message =
            format!("y has shape {bad:?}, but the model expects [batch, 12, 1] (or [batch, 12])");
        assert_eq!(net.evaluate(&x, &y).unwrap_err().to_string(), message);
        assert_eq!(net.loss_and_grads(&x, &y).unwrap_err().to_string(), message);
        assert_eq!(
            net.fit(&x, &y, options(1)).unwrap_err().to_string(),
            message
        );
    }
    // A last-step target `[batch, 1]` for a sequence model, through the runtime
    // functions that take any rank.
    let (xd, y2) = (x.view().into_dyn(), Array2::<f32>::zeros((4, 1)));
    let y2 = y2.view().into_dyn();
    let message = "y has shape [4, 1], but the model expects [batch, 12, 1] (or [batch, 12])";
    let err = rnn_runtime::evaluate(&net, xd.view(), y2.view(), Loss::Mse).unwrap_err();
    assert!(matches!(err, Error::Shape { what: "y", .. }), "{err:?}");
    assert_eq!(err.to_string(), message);
    let err = rnn_runtime::loss_and_grads(&net, xd.view(), y2.view(), Loss::Mse, 0).unwrap_err();
    assert_eq!(err.to_string(), message);
    let err = rnn_runtime::fit(&mut net, xd.view(), y2.view(), options(1)).unwrap_err();
    assert_eq!(err.to_string(), message);
    // And an input of the wrong rank.
    let x4 = ndarray::Array4::<f32>::zeros((4, 12, 1, 1));
    let err = rnn_runtime::forward(&net, x4.view().into_dyn()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "x has shape [4, 12, 1, 1], but the model expects [batch, 12, 1]"
    );
    let err = net
        .evaluate(&x, &Array3::<f32>::zeros((3, 12, 1)))
        .unwrap_err();
    assert!(matches!(err, Error::SampleCount { x: 4, y: 3 }), "{err:?}");
    assert_eq!(net, before, "nothing trained");

    // Sparse targets of a sequence model are one class id per step.
    let tagger = Tagger::new(1);
    let x = Array3::<f32>::zeros((4, 6, 2));
    let sparse = Loss::SparseCategoricalCrossentropy;
    let err = tagger
        .evaluate_with(&x, &Array3::<f32>::zeros((4, 6, 3)), sparse)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "y has shape [4, 6, 3], but the model expects [batch, 6, 1] (or [batch, 6])"
    );
    let err = tagger
        .evaluate_with(&x, &Array3::<f32>::zeros((4, 6, 1)), Loss::Mse)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "y has shape [4, 6, 1], but the model expects [batch, 6, 3]"
    );
    assert!(tagger
        .evaluate_with(&x, &Array3::<f32>::zeros((4, 6, 1)), sparse)
        .is_ok());
}

#[test]
fn sparse_labels_must_be_class_ids_in_range() {
    let sparse = Loss::SparseCategoricalCrossentropy;
    // A last-state classifier: the row is the sample.
    let (x, mut y) = detect_data(10, 1);
    let mut net = Detect::new(1);
    let before = net.clone();
    for (label, shown) in [(2.0, "2"), (-1.0, "-1"), (0.5, "0.5"), (1e9, "1000000000")] {
        y[[7, 0]] = label;
        let reason = format!("class id {shown} is not an integer in [0, 2)");
        let message = format!("y row 7 is invalid for sparse_categorical_crossentropy: {reason}");
        let errors = [
            net.evaluate_with(&x, &y, sparse).unwrap_err(),
            net.loss_and_grads_with(&x, &y, sparse, 0).unwrap_err(),
            net.fit(&x, &y, options(1)).unwrap_err(),
        ];
        for err in errors {
            assert!(
                matches!(&err, Error::InvalidTarget { loss: "sparse_categorical_crossentropy", row: 7, step: None, reason: r } if *r == reason),
                "{err:?}"
            );
            assert_eq!(err.to_string(), message);
        }
    }
    y[[7, 0]] = f32::NAN;
    let err = net.fit(&x, &y, options(1)).unwrap_err();
    assert!(
        matches!(err, Error::InvalidTarget { row: 7, .. }),
        "{err:?}"
    );
    assert_eq!(net, before, "nothing trained");

    // A sequence model: one label per step, each checked.
    let tagger = Tagger::new(1);
    let x = Array3::<f32>::zeros((4, 6, 2));
    let mut y = Array3::<f32>::from_shape_fn((4, 6, 1), |(i, t, _)| ((i + t) % 3) as f32);
    assert!(tagger.evaluate_with(&x, &y, sparse).is_ok());
    y[[2, 4, 0]] = 3.0;
    let err = tagger.evaluate_with(&x, &y, sparse).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidTarget { loss: "sparse_categorical_crossentropy", row: 2, step: Some(4), reason } if reason == "class id 3 is not an integer in [0, 3)"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "y row 2, step 4, is invalid for sparse_categorical_crossentropy: class id 3 is not \
         an integer in [0, 3)"
    );
}

#[test]
fn token_ids_out_of_range_are_typed_errors_naming_sample_and_step() {
    let (mut x, y) = detect_data(40, 1);
    x[[17, 5]] = 6;
    let mut net = Detect::new(1);
    let before = net.clone();
    let sparse = Loss::SparseCategoricalCrossentropy;
    let is_17_5 = |err: &Error| {
        matches!(
            err,
            Error::TokenOutOfRange {
                sample: 17,
                step: 5,
                id: 6,
                vocab: 6
            }
        )
    };
    let errors = [
        net.forward(&x).unwrap_err(),
        net.predict(&x).unwrap_err(),
        net.evaluate_with(&x, &y, sparse).unwrap_err(),
        net.loss_and_grads_with(&x, &y, sparse, 0).unwrap_err(),
        net.forward_from(&x, &vec![DetectState::new(); 40])
            .unwrap_err(),
        net.fit(&x, &y, options(1)).unwrap_err(),
    ];
    for err in errors {
        assert!(is_17_5(&err), "{err:?}");
        assert_eq!(
            err.to_string(),
            "sample 17, step 5: token id 6 is out of range for a vocabulary of 6"
        );
    }
    assert_eq!(net, before, "nothing trained");
    // Indices are those of the array passed, whatever its memory layout.
    let err = net.forward(x.slice(s![..;-1, ..])).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TokenOutOfRange {
                sample: 22,
                step: 5,
                ..
            }
        ),
        "{err:?}"
    );
    let x_tm = x.t().as_standard_layout().into_owned();
    let err = net.forward(x_tm.t()).unwrap_err();
    assert!(is_17_5(&err), "{err:?}");
    // The first bad id in sample order.
    x[[3, 7]] = u32::MAX;
    let err = net.forward(&x).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TokenOutOfRange {
                sample: 3,
                step: 7,
                id: u32::MAX,
                vocab: 6
            }
        ),
        "{err:?}"
    );
    let err = net.predict_one(&[0, 1, 2, 3, 4, 5, 6, 0]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TokenOutOfRange {
                sample: 0,
                step: 6,
                ..
            }
        ),
        "{err:?}"
    );
    // A bidirectional token model checks the same way.
    let (mut xm, ym) = majority_data(8, 1);
    xm[[6, 0]] = 3;
    let err = Majority::new(1)
        .evaluate_with(&xm, &ym, sparse)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::TokenOutOfRange {
                sample: 6,
                step: 0,
                id: 3,
                vocab: 3
            }
        ),
        "{err:?}"
    );
}

#[test]
fn non_finite_targets_and_bad_loss_parameters_are_typed_errors() {
    let (x, mut y) = shifted(8, 12, -1, 1);
    let mut net = Delay::new(1);
    let before = net.clone();
    y[[2, 5, 0]] = f32::NAN;
    for loss in [
        Loss::Mse,
        Loss::Mae,
        Loss::Huber(1.0),
        Loss::BinaryCrossentropy,
    ] {
        let mut errors = vec![
            net.evaluate_with(&x, &y, loss).unwrap_err(),
            net.loss_and_grads_with(&x, &y, loss, 0).unwrap_err(),
        ];
        if loss == Loss::Mse {
            // fit trains the model's own loss, MSE here.
            errors.push(net.fit(&x, &y, options(1)).unwrap_err());
        }
        for err in errors {
            assert!(
                matches!(&err, Error::InvalidTarget { loss: l, reason, .. } if *l == loss.name() && reason == "value NaN in column 0 is not finite"),
                "{loss}: {err:?}"
            );
        }
    }
    y[[2, 5, 0]] = f32::INFINITY;
    let err = net.evaluate(&x, &y).unwrap_err();
    assert!(
        matches!(err, Error::InvalidTarget { loss: "mse", .. }),
        "{err:?}"
    );
    y[[2, 5, 0]] = 0.0;
    // A spec refuses a bad delta at compile time; the calls that take a loss, here.
    for delta in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        let err = net
            .loss_and_grads_with(&x, &y, Loss::Huber(delta), 0)
            .unwrap_err();
        assert!(
            matches!(err, Error::LossParameter { loss: "huber", .. }),
            "{delta}: {err:?}"
        );
    }
    assert_eq!(net, before, "nothing trained");

    let (xc, mut yc) = which_data(6, 1);
    yc[[4, 2]] = f32::NEG_INFINITY;
    let err = Which::new(1)
        .evaluate_with(&xc, &yc, Loss::CategoricalCrossentropy)
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidTarget { loss: "categorical_crossentropy", row: 4, step: None, reason } if reason == "value -inf in column 2 is not finite"),
        "{err:?}"
    );
}

/// Two independent binary flags of a sequence: is its mean positive, does it end
/// higher than it starts.
fn flags_data(n: usize, seed: u64) -> (Array3<f32>, Array2<f32>) {
    let mut rng = Rng::new(seed);
    let x = Array3::from_shape_fn((n, 8, 1), |_| uniform(&mut rng));
    let y = Array2::from_shape_fn((n, 2), |(i, k)| {
        let s = x.slice(s![i, .., 0]);
        let flag = match k {
            0 => s.sum() > 0.0,
            _ => s[7usize] > s[0usize],
        };
        if flag {
            1.0
        } else {
            0.0
        }
    });
    (x, y)
}

/// Three features; the class (one-hot) is the feature with the largest sum over time.
/// One feature of each sample, drawn at random, is raised by 0.5 so that near ties
/// are rare.
fn which_data(n: usize, seed: u64) -> (Array3<f32>, Array2<f32>) {
    let mut rng = Rng::new(seed);
    let raised: Vec<usize> = (0..n).map(|_| rng.below(3)).collect();
    let x = Array3::from_shape_fn((n, 8, 3), |(i, _, f)| {
        uniform(&mut rng) + if raised[i] == f { 0.5 } else { 0.0 }
    });
    let sums = x.sum_axis(Axis(1));
    let y = Array2::from_shape_fn((n, 3), |(i, k)| {
        let row = sums.row(i);
        let best = (0..3).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
        if best == k {
            1.0
        } else {
            0.0
        }
    });
    (x, y)
}

#[test]
fn binary_crossentropy_fits_independent_flags() {
    let (x, y) = flags_data(2048, 1);
    let (x_test, y_test) = flags_data(256, 2);
    let mut net = Flags::new(2);
    let loss = Loss::BinaryCrossentropy;
    let before = net.evaluate_with(&x_test, &y_test, loss).unwrap();
    let history = net.fit(&x, &y, options(30)).unwrap();
    let after = net.evaluate(&x_test, &y_test).unwrap();
    assert_eq!(after, net.evaluate_with(&x_test, &y_test, loss).unwrap());
    assert!(
        after < before / 3.0,
        "{before} → {after}, {:?}",
        history.loss
    );
    let logits = net.predict(&x_test).unwrap();
    for k in 0..2 {
        let hits = (0..256)
            .filter(|&i| (logits[[i, k]] > 0.0) == (y_test[[i, k]] == 1.0))
            .count();
        let acc = hits as f32 / 256.0;
        assert!(acc > 0.9, "flag {k}: held-out accuracy {acc}");
    }
}

#[test]
fn categorical_crossentropy_fits_a_three_class_task() {
    let (x, y) = which_data(2048, 3);
    let (x_test, y_test) = which_data(256, 4);
    let mut net = Which::new(3);
    let loss = Loss::CategoricalCrossentropy;
    let before = net.evaluate_with(&x_test, &y_test, loss).unwrap();
    let history = net.fit(&x, &y, options(30)).unwrap();
    let after = net.evaluate_with(&x_test, &y_test, loss).unwrap();
    assert!(
        after < before / 3.0,
        "{before} → {after}, {:?}",
        history.loss
    );
    let labels = y_test.map_axis(Axis(1), |r| (0..3).find(|&k| r[k] == 1.0).unwrap() as f32);
    let labels = labels.insert_axis(Axis(1));
    let acc = accuracy(net.predict(&x_test).unwrap().view(), labels.view());
    assert!(acc > 0.9, "held-out accuracy {acc}");
    // One-hot targets under the categorical loss are the class ids under the sparse one.
    let sparse = net
        .evaluate_with(&x_test, &labels, Loss::SparseCategoricalCrossentropy)
        .unwrap();
    assert!(
        (sparse - after).abs() <= 1e-6 * after,
        "{sparse} vs {after}"
    );
}

#[test]
fn forward_from_needs_one_state_per_sample() {
    let (x, _) = detect_data(4, 1);
    let net = Detect::new(1);
    let err = net
        .forward_from(&x, &vec![DetectState::new(); 3])
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::StateCount {
                samples: 4,
                states: 3
            }
        ),
        "{err:?}"
    );
    let (out, states) = net.forward_from(&x, &vec![DetectState::new(); 4]).unwrap();
    assert_eq!(out.dim(), (4, 2));
    assert_eq!(states.len(), 4);
}

/// A NaN or infinite input is refused before anything runs, naming where it is, by
/// every entry point of the batch API; the model is unchanged.
#[test]
fn non_finite_inputs_are_typed_errors_naming_sample_step_and_feature() {
    let (mut x, y) = sine_windows(40, 10);
    let mut net = Sine::new(3);
    let before = net.clone();
    for (value, shown) in [
        (f32::NAN, "NaN"),
        (f32::INFINITY, "inf"),
        (f32::NEG_INFINITY, "-inf"),
    ] {
        x[[17, 4, 0]] = value;
        let message = format!("x sample 17, step 4, feature 0 is {shown}: inputs must be finite");
        let errors = [
            net.forward(&x).unwrap_err(),
            net.evaluate(&x, &y).unwrap_err(),
            net.loss_and_grads(&x, &y).unwrap_err(),
            net.fit(&x, &y, options(1)).unwrap_err(),
            // A transposed view reports the logical position, not the memory one.
            net.forward(x.view().reversed_axes().reversed_axes())
                .unwrap_err(),
        ];
        for err in errors {
            assert!(
                matches!(
                    err,
                    Error::NonFiniteInput {
                        sample: 17,
                        step: 4,
                        feature: 0,
                        ..
                    }
                ),
                "{err:?}"
            );
            assert_eq!(err.to_string(), message);
        }
        assert_eq!(net, before, "nothing trained");
    }
    // Reversed samples: sample 17 becomes sample 22 of the view.
    let reversed = x.slice(s![..;-1, .., ..]);
    let err = net.forward(reversed).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NonFiniteInput {
                sample: 22,
                step: 4,
                ..
            }
        ),
        "{err:?}"
    );
}

/// A run that diverges stops at the first non-finite loss or gradient, naming the
/// epoch and step, with the parameters of the last finite step; or, when asked, skips
/// such batches and counts them.
#[test]
fn a_diverging_run_stops_with_the_last_finite_parameters_or_skips_and_counts() {
    let (x, y) = sine_windows(64, 10);
    let diverging = || {
        Fit::new(rnn_runtime::Sgd::new(1e30))
            .epochs(3)
            .batch_size(16)
            .shuffle(false)
            .verbose(false)
    };
    let mut net = Sine::new(5);
    let err = net.fit(&x, &y, diverging()).unwrap_err();
    let Error::NonFiniteTraining { what, epoch, step } = err else {
        panic!("{err:?}")
    };
    assert_eq!(epoch, 1, "{err}");
    assert!(step >= 2, "the first step is finite: {err}");
    assert!(what == "loss" || what == "gradient");
    assert!(
        err.to_string().starts_with("training diverged: the "),
        "{err}"
    );
    let mut finite = true;
    rnn_runtime::Params::visit_params(&net, &mut |t| finite &= t.iter().all(|v| v.is_finite()));
    assert!(finite, "the model keeps its last finite parameters");
    // The same run, stopped by hand one step earlier, ends with the same parameters.
    let mut replay = Sine::new(5);
    let (xs, ys) = (
        x.slice(s![..16 * (step - 1), .., ..]),
        y.slice(s![..16 * (step - 1), ..]),
    );
    replay
        .fit(xs, ys, diverging().epochs(1))
        .expect("the steps before the divergence are finite");
    assert_eq!(replay, net);

    let mut skipping = Sine::new(5);
    let history = skipping
        .fit(&x, &y, diverging().skip_non_finite(true))
        .expect("skips instead of stopping");
    assert_eq!(history.skipped.len(), 3);
    assert!(history.skipped[0] >= 1 && history.skipped[1..].iter().all(|&k| k == 4));
    let mut finite = true;
    rnn_runtime::Params::visit_params(&skipping, &mut |t| {
        finite &= t.iter().all(|v| v.is_finite())
    });
    assert!(finite);
    // A healthy run skips nothing.
    let history = Sine::new(5).fit(&x, &y, options(2)).unwrap();
    assert_eq!(history.skipped, [0, 0]);
}

#[test]
fn fit_takes_any_memory_layout_and_refuses_mismatched_samples() {
    let (x, y) = sine_windows(64, 10);
    let opts = || options(2).batch_size(16).shuffle(false);
    // Negatively strided views train exactly as their owned copies.
    let (xr, yr) = (x.slice(s![..;-1, .., ..]), y.slice(s![..;-1, ..]));
    let mut strided = Sine::new(2);
    let h1 = strided.fit(xr, yr, opts()).unwrap();
    let mut owned = Sine::new(2);
    let h2 = owned.fit(&xr.to_owned(), &yr.to_owned(), opts()).unwrap();
    assert_eq!(strided, owned);
    assert_eq!(h1.loss, h2.loss);
    // Time-major storage seen batch-major: not contiguous, same result.
    let x_tm = time_major(&x);
    let mut permuted = Sine::new(2);
    permuted.fit(batch_major_view(&x_tm), &y, opts()).unwrap();
    let mut plain = Sine::new(2);
    plain.fit(&x, &y, opts()).unwrap();
    assert_eq!(permuted, plain);

    let mut net = Sine::new(0);
    let before = net.clone();
    let err = net.fit(&x, y.slice(s![..63, ..]), opts()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "x has 64 samples but y has 63; they must match"
    );
    let err = net
        .fit(&x, &Array2::<f32>::zeros((64, 2)), opts())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "y has shape [64, 2], but the model expects [batch, 1] (or [batch])"
    );
    assert_eq!(net, before);
}

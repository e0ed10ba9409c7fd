//! End-to-end training: convergence, determinism, validation split, and the typed
//! errors of every bad argument to the batch API.

use ndarray::{s, Array2, Array3};
use rnn::sine_windows;
use rnn_runtime::{model, Adam, Error, Fit};

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

#[test]
fn a_last_batch_smaller_than_the_others_and_a_batch_larger_than_the_data_work() {
    let (x, y) = sine_windows(45, 10);
    let mut net = Sine::new(3);
    assert_eq!(
        net.fit(&x, &y, options(2).batch_size(32))
            .unwrap()
            .loss
            .len(),
        2
    );
    assert_eq!(
        net.fit(&x, &y, options(1).batch_size(1000))
            .unwrap()
            .loss
            .len(),
        1
    );
}

#[test]
fn any_memory_layout_gives_the_same_result() {
    let (x, y) = sine_windows(20, 10);
    let net = Sine::new(5);
    let want = net.forward(x.view()).unwrap();
    // The same data stored time-major and viewed through a permutation.
    let x_tm = x
        .view()
        .permuted_axes([1, 0, 2])
        .as_standard_layout()
        .into_owned();
    let x_view = x_tm.view().permuted_axes([1, 0, 2]);
    assert!(!x_view.is_standard_layout());
    assert_eq!(net.forward(x_view).unwrap(), want);
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
        "y has shape [4, 2], but the model expects [batch, 1]"
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

//! The per-layer gradient norms `fit` reports: the L2 norm of each layer's gradient at
//! every step, before clipping, as `loss_and_grads` computes the gradient, averaged and
//! maximised per epoch, under the summary table's layer names.
//!
//! The runtime sums the squares in eight interleaved f64 sums (for speed); the
//! by-hand norms here use one running f64 sum, so the two agree to the f32 rounding of
//! an f64 value (one unit in the last place). Against `Grads::layer_norms`, the same
//! computation, they agree bit for bit.

use std::sync::{Arc, Mutex};

use ndarray::{Array2, Array3, Axis, Slice};
use rnn_runtime::dropout::step_seed;
use rnn_runtime::{model, Adam, Fit, GradNorm, Grads, Network};

model! {
    /// Every kind of layer with parameters, a bidirectional one, two layers of one
    /// kind, and a dropout layer (no parameters) between them.
    struct Deep < input(6, 2), bidirectional(gru(4, return_sequences = true)), dropout(0.2),
        lstm(5), dense(3), dense(1) >
}

fn data(n: usize) -> (Array3<f32>, Array2<f32>) {
    let x = Array3::from_shape_fn((n, 6, 2), |(i, t, f)| {
        ((i * 5 + t * 3 + f) as f32 * 0.41).sin()
    });
    let y = Array2::from_shape_fn((n, 1), |(i, _)| ((i * 5 + 7) as f32 * 0.41).cos());
    (x, y)
}

fn options(epochs: usize, batch_size: usize) -> Fit<Adam> {
    Fit::new(Adam::new(1e-2))
        .epochs(epochs)
        .batch_size(batch_size)
        .shuffle(false)
        .seed(4)
        .verbose(false)
}

/// Each layer's gradient norm, computed from the `Grads` by hand: the tensors grouped
/// by the layer index their names start with (`2.weight_ih` is layer 2), the squares
/// summed in one running f64 sum in canonical order, then the root.
fn norms_by_hand<M: Network>(grads: &Grads) -> Vec<(String, f64)> {
    let names = M::ARCHITECTURE.layer_names();
    let mut sums: Vec<(String, f64)> = Vec::new();
    for (spec, values) in grads.iter() {
        let index: usize = spec.name.split('.').next().unwrap().parse().unwrap();
        let name = &names[index];
        if sums.last().is_none_or(|(last, _)| last != name) {
            sums.push((name.clone(), 0.0));
        }
        let sum = &mut sums.last_mut().unwrap().1;
        for &v in values {
            *sum += f64::from(v) * f64::from(v);
        }
    }
    sums.into_iter().map(|(n, s)| (n, s.sqrt())).collect()
}

/// Within one unit in the last place of `want`.
fn close(got: f32, want: f64) -> bool {
    (f64::from(got) - want).abs() <= f64::from(f32::EPSILON) * want
}

/// `fit` without shuffling, next to the same Adam steps taken by hand: each epoch's
/// reported norms are the mean and maximum of the by-hand norms of its steps (the
/// maximum bit for bit that of `Grads::layer_norms`), in the logs and in the history
/// alike.
fn norms_match_the_steps_by_hand(batch_size: usize, epochs: usize) {
    let n = 12;
    let (x, y) = data(n);
    let logs = Arc::new(Mutex::new(Vec::<Vec<GradNorm>>::new()));
    let sink = Arc::clone(&logs);
    let mut net = Deep::new(0);
    let opts = options(epochs, batch_size)
        .on_epoch_end(move |logs| sink.lock().unwrap().push(logs.grad_norms.clone()));
    let history = net.fit(&x, &y, opts).unwrap();

    let loss = rnn_runtime::model_loss::<Deep>().unwrap();
    let mut by_hand = Deep::new(0);
    let mut adam = Adam::new(1e-2);
    let mut step = 0;
    // Per epoch and layer: the name, the mean of the by-hand norms, and the largest
    // of `Grads::layer_norms`.
    let mut expected: Vec<Vec<(String, f64, f32)>> = Vec::new();
    for _ in 0..epochs {
        let mut per_step: Vec<Vec<(String, f64)>> = Vec::new();
        let mut api: Vec<Vec<(String, f32)>> = Vec::new();
        for start in (0..n).step_by(batch_size) {
            let rows = Slice::from(start..(start + batch_size).min(n));
            let (xb, yb) = (x.slice_axis(Axis(0), rows), y.slice_axis(Axis(0), rows));
            let (_, grads) = rnn_runtime::loss_and_grads(
                &by_hand,
                xb.into_dyn(),
                yb.into_dyn(),
                loss,
                step_seed(4, step),
            )
            .unwrap();
            per_step.push(norms_by_hand::<Deep>(&grads));
            api.push(grads.layer_norms::<Deep>().unwrap());
            adam.step(&mut by_hand, &grads).unwrap();
            step += 1;
        }
        // The layout by parameter counts cuts the buffer where the tensor names do.
        for (hand, api) in per_step.iter().zip(&api) {
            let names = |v: &[(String, f64)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
            assert_eq!(
                names(hand),
                api.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()
            );
            for ((_, h), (_, a)) in hand.iter().zip(api) {
                assert!(close(*a, *h), "{a} vs {h}");
            }
        }
        let epoch = (0..per_step[0].len())
            .map(|layer| {
                let norms: Vec<f64> = per_step.iter().map(|s| s[layer].1).collect();
                let mean = norms.iter().sum::<f64>() / norms.len() as f64;
                let max = api.iter().map(|s| s[layer].1).fold(0.0, f32::max);
                (per_step[0][layer].0.clone(), mean, max)
            })
            .collect();
        expected.push(epoch);
    }
    assert_eq!(net, by_hand, "batch size {batch_size}: the same steps");

    let names: Vec<&str> = expected[0].iter().map(|(n, _, _)| n.as_str()).collect();
    // The summary's names, the dropout layer left out: it has no parameters.
    assert_eq!(names, ["bidirectional", "lstm", "dense", "dense_1"]);
    let logs = logs.lock().unwrap();
    assert_eq!(logs.len(), epochs);
    assert_eq!(history.grad_norms.len(), names.len());
    for (epoch, want) in expected.iter().enumerate() {
        assert_eq!(logs[epoch].len(), want.len());
        for (layer, (name, mean, max)) in want.iter().enumerate() {
            let got = &logs[epoch][layer];
            assert_eq!(&got.layer, name);
            assert!(
                close(got.mean, *mean),
                "batch size {batch_size}: {got:?} vs {mean}"
            );
            assert_eq!(got.max, *max, "batch size {batch_size}: {got:?}");
            assert!(got.mean > 0.0 && got.mean <= got.max, "{got:?}");
            // The history holds what the logs saw.
            let series = &history.grad_norms[layer];
            assert_eq!(&series.layer, name);
            assert_eq!((series.mean[epoch], series.max[epoch]), (got.mean, got.max));
        }
    }
    assert!(history.grad_norms.iter().all(|g| g.mean.len() == epochs));
}

#[test]
fn a_one_batch_epoch_reports_the_norms_of_loss_and_grads() {
    norms_match_the_steps_by_hand(12, 2);
}

#[test]
fn a_many_batch_epoch_reports_the_mean_and_maximum_over_its_steps() {
    // Batches of 5, 5 and 2: the last one smaller.
    norms_match_the_steps_by_hand(5, 2);
}

#[test]
fn a_clipped_run_reports_the_norms_before_clipping() {
    let (x, y) = data(12);
    let (grads_loss, grads) = {
        let loss = rnn_runtime::model_loss::<Deep>().unwrap();
        let net = Deep::new(1);
        rnn_runtime::loss_and_grads(
            &net,
            x.view().into_dyn(),
            y.view().into_dyn(),
            loss,
            step_seed(4, 0),
        )
        .unwrap()
    };
    assert!(grads_loss.is_finite());
    let want = grads.layer_norms::<Deep>().unwrap();

    let mut free = Deep::new(1);
    let unclipped = free.fit(&x, &y, options(1, 12)).unwrap();
    let mut clipped_net = Deep::new(1);
    // Thresholds far below every layer's norm: each clipping changes the update.
    let clipped = clipped_net
        .fit(
            &x,
            &y,
            options(1, 12)
                .clip_by_value(1e-4)
                .clip_by_norm(1e-4)
                .clip_by_global_norm(1e-5),
        )
        .unwrap();
    assert_ne!(free, clipped_net, "clipping changed the step");
    assert_eq!(clipped.grad_norms, unclipped.grad_norms);
    assert_eq!(clipped.grad_norms.len(), want.len());
    for (series, (name, norm)) in clipped.grad_norms.iter().zip(&want) {
        // One step: its norm is the epoch's mean and maximum, bit for bit.
        assert_eq!(&series.layer, name);
        assert_eq!((series.mean[0], series.max[0]), (*norm, *norm));
        assert!(*norm > 1e-4, "{name}: {norm} is not the clipped norm");
    }
}

#[test]
fn a_continued_run_reports_its_own_epochs_and_the_history_looks_layers_up_by_name() {
    let (x, y) = data(12);
    let mut net = Deep::new(2);
    let mut opts = options(2, 6);
    let first = net.fit(&x, &y, &mut opts).unwrap();
    let mut opts = opts.epochs(3); // three more epochs of the same run
    let more = net.fit(&x, &y, &mut opts).unwrap();
    for h in [&first, &more] {
        for series in &h.grad_norms {
            assert_eq!(series.mean.len(), h.loss.len());
            assert_eq!(series.max.len(), h.loss.len());
            for (mean, max) in series.mean.iter().zip(&series.max) {
                assert!(mean <= max, "{series:?}");
            }
        }
    }
    assert_eq!(more.loss.len(), 3);
    let dense = more.grad_norm("dense_1").unwrap();
    assert_eq!(dense.layer, "dense_1");
    assert_eq!(dense, &more.grad_norms[3]);
    assert!(more.grad_norm("dropout").is_none());
    // Every layer with parameters has an entry; the count follows the architecture.
    let with_params = Deep::ARCHITECTURE
        .layers
        .iter()
        .filter(|l| l.params() > 0)
        .count();
    assert_eq!(more.grad_norms.len(), with_params);
    let total: usize = Deep::ARCHITECTURE.layers.iter().map(|l| l.params()).sum();
    assert_eq!(total, Deep::PARAMS);
}

/// A training state as a version without gradient norms wrote it: `path` with every
/// `…grad_norm…` entry removed.
fn strip_grad_norms(path: &std::path::Path) {
    let bytes = std::fs::read(path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let kept: Vec<(String, safetensors::tensor::TensorView<'_>)> = file
        .tensors()
        .into_iter()
        .filter(|(name, _)| !name.contains("grad_norm"))
        .collect();
    assert!(kept.len() < file.len(), "the state had gradient norms");
    let out = safetensors::serialize(kept, &meta.metadata().clone()).unwrap();
    std::fs::write(path, out).unwrap();
}

#[test]
fn a_state_without_norms_resumes_with_nan_for_the_epochs_it_does_not_know() {
    let dir = std::env::temp_dir().join(format!("rnn-grad-norms-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("run.state");
    let (x, y) = data(12);
    // Batches of 5, 5 and 2: 3 steps per epoch, a state every 4 steps. Interrupted at
    // the end of epoch 1 (before its end-of-epoch save), the last state is step 4's:
    // one batch into epoch 1.
    let opts = |stop: usize| {
        options(3, 5)
            .save_state(&state)
            .save_state_every_steps(4)
            .on_epoch_end_with_model(move |logs, _: &Deep| {
                if logs.epoch == stop {
                    Err(rnn_runtime::Error::Config("interrupted".into()))
                } else {
                    Ok(rnn_runtime::Control::Continue)
                }
            })
    };
    let mut whole = Deep::new(5);
    let all = whole.fit(&x, &y, opts(usize::MAX)).unwrap();
    std::fs::remove_file(&state).unwrap();
    assert!(Deep::new(5).fit(&x, &y, opts(1)).is_err());
    strip_grad_norms(&state);

    let mut resumed = Deep::new(6);
    let rest = resumed
        .fit(&x, &y, opts(usize::MAX).resume(&state))
        .unwrap();
    assert_eq!(resumed, whole, "the norms do not change the training");
    assert_eq!(rest.loss, all.loss);
    assert_eq!(rest.grad_norms.len(), all.grad_norms.len());
    for (got, want) in rest.grad_norms.iter().zip(&all.grad_norms) {
        assert_eq!(got.layer, want.layer);
        // Epoch 0 is in the old history without norms; epoch 1 was resumed after its
        // first step, whose norm the old state did not keep; epoch 2 is whole.
        assert_eq!(got.mean.len(), 3);
        assert!(
            got.mean[..2]
                .iter()
                .chain(&got.max[..2])
                .all(|v| v.is_nan()),
            "{got:?}"
        );
        assert_eq!((got.mean[2], got.max[2]), (want.mean[2], want.max[2]));
    }
    std::fs::remove_dir_all(&dir).ok();
}

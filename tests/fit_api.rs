//! The training API a Keras user reaches for: the model's own loss everywhere,
//! continuing a run with the same options, metrics, validation data, sample and class
//! weights, targets without their last axis of 1.

use ndarray::{s, Array1, Array2, Array3, Axis};
use rnn::sine_windows;
use rnn_runtime::rng::Rng;
use rnn_runtime::{
    model, model_loss, Adam, EarlyStopping, Error, Fit, Loss, Metric, Monitor, Network, Params,
    ReduceOnPlateau,
};

model! { struct Sine < input(10, 1), lstm(8), dense(1) > }
model! { struct Noisy < input(10, 1), gru(8, dropout = 0.2), dropout(0.2), dense(1) > }
model! {
    struct Tokens < input(8), embedding(6, 8), lstm(12), dense(2, activation = softmax),
        loss = sparse_categorical_crossentropy >
}
model! {
    struct TokensLinear < input(8), embedding(6, 8), lstm(12), dense(2),
        loss = sparse_categorical_crossentropy >
}
model! { struct Flags < input(8, 1), gru(8), dense(1, activation = sigmoid), loss = binary_crossentropy > }
model! { struct HuberNet < input(10, 1), lstm(8), dense(1), loss = huber(0.5) > }

fn quiet(epochs: usize) -> Fit<Adam> {
    Fit::new(Adam::new(1e-2))
        .epochs(epochs)
        .batch_size(16)
        .seed(3)
        .verbose(false)
}

/// Token sequences; the class is 1 when token 3 appears.
fn detect(n: usize, seed: u64) -> (Array2<u32>, Array1<f32>) {
    let mut rng = Rng::new(seed);
    let mut x = Array2::from_shape_fn((n, 8), |_| rng.below(3) as u32);
    let mut y = Array1::zeros(n);
    for i in 0..n {
        if rng.below(2) == 1 {
            x[[i, rng.below(8)]] = 3;
            y[i] = 1.0;
        }
    }
    (x, y)
}

#[test]
fn the_declared_loss_is_used_by_fit_evaluate_and_loss_and_grads() {
    assert_eq!(model_loss::<Sine>().unwrap(), Loss::Mse);
    assert_eq!(model_loss::<HuberNet>().unwrap(), Loss::Huber(0.5));
    assert_eq!(HuberNet::LOSS, Some(Loss::Huber(0.5)));
    let (x, y) = sine_windows(64, 10);
    let y = y.mapv(|v| 3.0 * v); // errors beyond the delta
    let net = HuberNet::new(1);
    let huber = net.evaluate_with(&x, &y, Loss::Huber(0.5)).unwrap();
    assert_eq!(net.evaluate(&x, &y).unwrap(), huber);
    assert_ne!(huber, net.evaluate_with(&x, &y, Loss::Mse).unwrap());
    let (value, grads) = net.loss_and_grads(&x, &y).unwrap();
    let (want, want_grads) = net
        .loss_and_grads_with(&x, &y, Loss::Huber(0.5), 0)
        .unwrap();
    assert_eq!((value, grads), (want, want_grads));
    // The first epoch's loss of a one-batch, unshuffled fit is the loss before the step.
    let mut trained = net.clone();
    let history = trained
        .fit(&x, &y, quiet(1).batch_size(64).shuffle(false))
        .unwrap();
    assert_eq!(history.loss[0], huber);
}

#[test]
#[allow(deprecated)]
fn fit_refuses_a_loss_other_than_the_models_own() {
    let (x, y) = sine_windows(32, 10);
    let mut net = HuberNet::new(1);
    let before = net.clone();
    let err = net.fit(&x, &y, quiet(1).loss(Loss::Mse)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Fit::loss(mse) contradicts the model's loss huber(delta = 0.5): declare `loss = mse` \
         in the model's spec instead, so that evaluate and loss_and_grads use it too"
    );
    let mut sine = Sine::new(1);
    let err = sine.fit(&x, &y, quiet(1).loss(Loss::Mae)).unwrap_err();
    assert!(
        matches!(&err, Error::LossMismatch { declared, .. } if declared.contains("the default")),
        "{err}"
    );
    assert_eq!(net, before);
    // Naming the model's own loss is allowed.
    sine.fit(&x, &y, quiet(1).loss(Loss::Mse)).unwrap();
}

#[test]
fn a_cross_entropy_that_cannot_read_the_output_is_refused() {
    let (x, y) = detect(16, 1);
    let net = Tokens::new(1);
    let err = net
        .evaluate_with(&x, &y, Loss::BinaryCrossentropy)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "binary_crossentropy cannot read this model's output: it reads logits (a linear \
         output layer, `dense(n)`) or independent probabilities (`dense(n, activation = \
         sigmoid)`), but the model's last layer is a dense layer with activation softmax"
    );
    assert!(net
        .loss_and_grads_with(&x, &y, Loss::BinaryCrossentropy, 0)
        .is_err());
}

#[test]
fn a_softmax_head_trains_as_its_linear_twin_does() {
    // The cross-entropy of a softmax layer is computed from its logits: the same
    // numbers as a linear head with the same loss, so the same training.
    let (x, y) = detect(256, 2);
    let mut soft = Tokens::new(5);
    let mut linear = TokensLinear::new(5);
    let hs = soft.fit(&x, &y, quiet(8)).unwrap();
    let hl = linear.fit(&x, &y, quiet(8)).unwrap();
    assert_eq!(hs.loss, hl.loss);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    soft.visit_params(&mut |t| a.extend_from_slice(t));
    linear.visit_params(&mut |t| b.extend_from_slice(t));
    assert_eq!(a, b);
    assert!(hs.loss[7] < 0.1, "{:?}", hs.loss);
    // predict gives the softmax head's probabilities, the linear head's logits.
    let p = soft.predict(&x).unwrap();
    let logits = linear.predict(&x).unwrap();
    for (row, z) in p.outer_iter().zip(logits.outer_iter()) {
        assert!((row.sum() - 1.0).abs() < 1e-6);
        let p1 = 1.0 / (1.0 + (z[0] - z[1]).exp());
        assert!((row[1] - p1).abs() < 1e-6, "{row} vs logits {z}");
    }
    // evaluate is the cross-entropy of the logits on both.
    let (xt, yt) = detect(64, 9);
    let (es, el) = (
        soft.evaluate(&xt, &yt).unwrap(),
        linear.evaluate(&xt, &yt).unwrap(),
    );
    assert_eq!(es, el);
}

#[test]
fn a_sigmoid_head_with_binary_crossentropy_learns() {
    let mut rng = Rng::new(4);
    let x = Array3::from_shape_fn((256, 8, 1), |_| rng.uniform(-1.0, 1.0) as f32);
    let y = Array1::from_shape_fn(256, |i| (x.slice(s![i, .., 0]).sum() > 0.0) as u8 as f32);
    let mut net = Flags::new(1);
    let opts = quiet(20).metrics(&[Metric::Accuracy]);
    let history = net.fit(&x, &y, opts).unwrap();
    let acc = history.metrics["acc"][19];
    assert!(acc > 0.9, "{:?}", history.metrics);
    let p = net.predict(&x).unwrap();
    assert!(p.iter().all(|&p| (0.0..=1.0).contains(&p)));
}

#[test]
fn two_fits_of_three_epochs_equal_one_fit_of_six() {
    let (x, y) = sine_windows(80, 10);
    let options = || quiet(3).validation_split(0.2).metrics(&[Metric::Mae]);
    let mut once = Noisy::new(2);
    let all = once.fit(&x, &y, options().epochs(6)).unwrap();
    let mut twice = Noisy::new(2);
    let mut opts = options();
    let first = twice.fit(&x, &y, &mut opts).unwrap();
    let second = twice.fit(&x, &y, &mut opts).unwrap();
    assert_eq!(twice, once, "bit for bit");
    assert_eq!([first.loss, second.loss].concat(), all.loss);
    assert_eq!([first.val_loss, second.val_loss].concat(), all.val_loss);
    assert_eq!(
        [
            first.metrics["val_mae"].clone(),
            second.metrics["val_mae"].clone()
        ]
        .concat(),
        all.metrics["val_mae"]
    );
    // Adam carried on: six epochs of four steps.
    assert_eq!(opts.optimizer().steps(), 24);
    // Options passed by value start afresh every time.
    let mut fresh = Noisy::new(2);
    fresh.fit(&x, &y, options()).unwrap();
    fresh.fit(&x, &y, options()).unwrap();
    assert_ne!(fresh, once);
}

#[test]
fn metrics_are_recorded_under_keras_names_and_match_their_definitions() {
    let (x, y) = detect(200, 3);
    let (xv, yv) = detect(60, 4);
    let mut net = Tokens::new(3);
    let opts = quiet(3)
        .metrics(&[Metric::Accuracy])
        .validation_data(&xv, &yv);
    let history = net.fit(&x, &y, opts).unwrap();
    let keys: Vec<&str> = history.metrics.keys().map(String::as_str).collect();
    assert_eq!(keys, ["acc", "val_acc"]);
    assert_eq!(history.get("val_acc").unwrap().len(), 3);
    // The validation values are those of the final model on the validation data.
    let p = net.predict(&xv).unwrap();
    let hits = p
        .outer_iter()
        .zip(&yv)
        .filter(|(row, &c)| (row[1] > row[0]) == (c == 1.0))
        .count();
    let acc = hits as f32 / 60.0;
    assert!((history.metrics["val_acc"][2] - acc).abs() < 1e-6);
    assert_eq!(history.val_loss[2], net.evaluate(&xv, &yv).unwrap());

    // Regression metrics: MAE, MSE and RMSE (the root of the epoch's mean square).
    let (x, y) = sine_windows(64, 10);
    let (xv, yv) = sine_windows(20, 10);
    let mut net = Sine::new(3);
    let opts = quiet(2)
        .metrics(&[Metric::Mae, Metric::Mse, Metric::Rmse])
        .validation_data(&xv, &yv);
    let history = net.fit(&x, &y, opts).unwrap();
    let err = &net.predict(&xv).unwrap() - &yv;
    let mae = err.mapv(f32::abs).mean().unwrap();
    let mse = err.mapv(|e| e * e).mean().unwrap();
    let near = |a: f32, b: f32| (a - b).abs() <= 1e-6 + 1e-5 * b.abs();
    assert!(near(history.metrics["val_mae"][1], mae));
    assert!(near(history.metrics["val_mse"][1], mse));
    assert!(near(history.metrics["val_rmse"][1], mse.sqrt()));
    // The model's loss is MSE: the validation loss and MSE metric agree.
    assert!(near(history.val_loss[1], mse));
}

#[test]
fn metrics_that_do_not_fit_the_loss_are_refused() {
    let (x, y) = sine_windows(32, 10);
    let err = Sine::new(1)
        .fit(&x, &y, quiet(1).metrics(&[Metric::Accuracy]))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("an accuracy needs a classification loss"),
        "{err}"
    );
    let (xt, yt) = detect(32, 1);
    let err = Tokens::new(1)
        .fit(&xt, &yt, quiet(1).metrics(&[Metric::Mae]))
        .unwrap_err();
    assert!(
        err.to_string().contains("the targets are class ids"),
        "{err}"
    );
    let err = Tokens::new(1)
        .fit(
            &xt,
            &yt,
            quiet(1).metrics(&[Metric::Accuracy, Metric::Accuracy]),
        )
        .unwrap_err();
    assert!(err.to_string().contains("listed twice"), "{err}");
}

#[test]
fn early_stopping_and_plateau_watch_a_validation_accuracy() {
    let (x, y) = detect(256, 5);
    let (xv, yv) = detect(64, 6);
    // Accuracy improves upwards: a run that reaches 100 % validation accuracy and
    // stays there stops `patience` epochs later, with the best epoch restored.
    let mut net = Tokens::new(5);
    let opts = quiet(60)
        .metrics(&[Metric::Accuracy])
        .validation_data(&xv, &yv)
        .callback(
            EarlyStopping::new()
                .monitor(Monitor::ValMetric(Metric::Accuracy))
                .patience(3)
                .restore_best_weights(true),
        );
    let history = net.fit(&x, &y, opts).unwrap();
    let acc = &history.metrics["val_acc"];
    let best = history.best_epoch.expect("a best epoch");
    let stopped = history.stopped_epoch.expect("stopped early");
    assert_eq!(stopped, best + 3, "{acc:?}");
    assert!(acc[..best].iter().all(|&a| a < acc[best]), "{acc:?}");
    assert!(acc[best + 1..].iter().all(|&a| a <= acc[best]), "{acc:?}");
    // The restored model scores the best epoch's accuracy.
    let p = net.predict(&xv).unwrap();
    let hits = p
        .outer_iter()
        .zip(&yv)
        .filter(|(row, &c)| (row[1] > row[0]) == (c == 1.0))
        .count();
    assert_eq!(hits as f32 / 64.0, acc[best]);

    // A plateau in accuracy (mode max) cuts the rate.
    let plateau = ReduceOnPlateau::new()
        .monitor(Monitor::ValMetric(Metric::Accuracy))
        .patience(0)
        .factor(0.5)
        .threshold(0.0);
    let opts = quiet(12)
        .metrics(&[Metric::Accuracy])
        .validation_data(&xv, &yv)
        .schedule(plateau);
    let history = Tokens::new(5).fit(&x, &y, opts).unwrap();
    let acc = &history.metrics["val_acc"];
    for e in 1..12 {
        let best_before = acc[..e].iter().fold(f32::MIN, |m, &a| m.max(a));
        let cut = history
            .lr
            .get(e + 1)
            .is_some_and(|&next| next < history.lr[e]);
        if e + 1 < 12 {
            assert_eq!(
                cut,
                acc[e] <= best_before,
                "epoch {e}: {acc:?} {:?}",
                history.lr
            );
        }
    }
    // Monitoring a metric fit does not compute, or validation without data: refused.
    let missing =
        quiet(1).callback(EarlyStopping::new().monitor(Monitor::Metric(Metric::Accuracy)));
    let err = Tokens::new(5).fit(&x, &y, missing).unwrap_err();
    assert!(err.to_string().contains("add .metrics"), "{err}");
    let no_val = quiet(1)
        .metrics(&[Metric::Accuracy])
        .callback(EarlyStopping::new().monitor(Monitor::ValMetric(Metric::Accuracy)));
    let err = Tokens::new(5).fit(&x, &y, no_val).unwrap_err();
    assert!(err.to_string().contains("no validation data"), "{err}");
}

#[test]
fn sample_weights_weigh_each_samples_terms_as_keras_does() {
    let (x, y) = sine_windows(40, 10);
    let net = Sine::new(6);
    let w = Array1::from_shape_fn(40, |i| (i % 4) as f32 * 0.5);
    // One unshuffled batch: the first epoch's loss is the weighted loss before the step,
    // sum(w · e²) / 40 (Keras's sum_over_batch_size).
    let mut trained = net.clone();
    let opts = quiet(1).batch_size(40).shuffle(false).sample_weight(&w);
    let history = trained.fit(&x, &y, opts).unwrap();
    let pred = net.predict(&x).unwrap();
    let want: f64 = (0..40)
        .map(|i| f64::from(w[i]) * f64::from(pred[[i, 0]] - y[[i, 0]]).powi(2))
        .sum::<f64>()
        / 40.0;
    assert!(
        (f64::from(history.loss[0]) - want).abs() <= 1e-6 * want,
        "{} vs {want}",
        history.loss[0]
    );
    // Weights of one train exactly as no weights.
    let mut ones = net.clone();
    let mut plain = net.clone();
    let opts = |w: Option<&Array1<f32>>| {
        let o = quiet(2).batch_size(40).shuffle(false);
        match w {
            Some(w) => o.sample_weight(w),
            None => o,
        }
    };
    let h1 = ones.fit(&x, &y, opts(Some(&Array1::ones(40)))).unwrap();
    let h2 = plain.fit(&x, &y, opts(None)).unwrap();
    assert_eq!(h1.loss, h2.loss);
    assert_eq!(ones, plain);
    // Bad weights are refused before training.
    let mut m = net.clone();
    let err = m
        .fit(&x, &y, quiet(1).sample_weight(&Array1::ones(39)))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid training option: sample_weight has 39 weights for 40 samples"
    );
    let mut bad = Array1::ones(40);
    bad[7] = -1.0;
    let err = m.fit(&x, &y, quiet(1).sample_weight(&bad)).unwrap_err();
    assert!(err.to_string().contains("sample_weight 7 is -1"), "{err}");
    assert_eq!(m, net);
}

#[test]
fn class_weights_are_per_class_sample_weights() {
    let (x, y) = detect(96, 7);
    let by_class = Array1::from_shape_fn(96, |i| if y[i] == 1.0 { 4.0 } else { 1.0 });
    let mut a = Tokens::new(8);
    let mut b = Tokens::new(8);
    let ha = a.fit(&x, &y, quiet(2).class_weight(&[(1, 4.0)])).unwrap();
    let hb = b.fit(&x, &y, quiet(2).sample_weight(&by_class)).unwrap();
    assert_eq!((ha.loss, a), (hb.loss, b));
    // With both, they multiply.
    let half = Array1::from_elem(96, 0.5);
    let both = Array1::from_shape_fn(96, |i| 0.5 * by_class[i]);
    let mut c = Tokens::new(8);
    let mut d = Tokens::new(8);
    c.fit(
        &x,
        &y,
        quiet(1).class_weight(&[(1, 4.0)]).sample_weight(&half),
    )
    .unwrap();
    d.fit(&x, &y, quiet(1).sample_weight(&both)).unwrap();
    assert_eq!(c, d);
    // Refused where a sample has no single class.
    let (xs, ys) = sine_windows(32, 10);
    let err = Sine::new(1)
        .fit(&xs, &ys, quiet(1).class_weight(&[(0, 2.0)]))
        .unwrap_err();
    assert!(
        err.to_string().contains("class_weight needs a classifier"),
        "{err}"
    );
    let err = Tokens::new(1)
        .fit(&x, &y, quiet(1).class_weight(&[(2, 2.0)]))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("names class 2, but the model has 2 classes"),
        "{err}"
    );
}

#[test]
fn validation_data_is_checked_and_excludes_a_split() {
    let (x, y) = sine_windows(48, 10);
    let (xv, yv) = sine_windows(16, 10);
    let mut net = Sine::new(1);
    let history = net.fit(&x, &y, quiet(2).validation_data(&xv, &yv)).unwrap();
    assert_eq!(history.val_loss[1], net.evaluate(&xv, &yv).unwrap());
    let err = Sine::new(1)
        .fit(
            &x,
            &y,
            quiet(1).validation_data(&xv, &yv).validation_split(0.2),
        )
        .unwrap_err();
    assert!(err.to_string().contains("both set"), "{err}");
    let short = xv.slice(s![.., ..9, ..]).to_owned();
    let err = Sine::new(1)
        .fit(&x, &y, quiet(1).validation_data(&short, &yv))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "validation_data x has shape [16, 9, 1], but the model expects [batch, 10, 1]"
    );
    let ids = Array2::<u32>::zeros((16, 10));
    let err = Sine::new(1)
        .fit(&x, &y, quiet(1).validation_data(&ids, &yv))
        .unwrap_err();
    assert!(
        err.to_string().contains("validation_data holds u32 inputs"),
        "{err}"
    );
}

#[test]
fn one_dimensional_targets_are_the_last_axis_of_one() {
    let (x, y) = sine_windows(32, 10);
    let flat: Array1<f32> = y.index_axis(Axis(1), 0).to_owned();
    let net = Sine::new(1);
    assert_eq!(
        net.evaluate(&x, &flat).unwrap(),
        net.evaluate(&x, &y).unwrap()
    );
    assert_eq!(
        net.loss_and_grads(&x, &flat).unwrap(),
        net.loss_and_grads(&x, &y).unwrap()
    );
    let (mut a, mut b) = (net.clone(), net.clone());
    a.fit(&x, &flat, quiet(1)).unwrap();
    b.fit(&x, &y, quiet(1)).unwrap();
    assert_eq!(a, b);
    // Class ids of shape (N,) for a sparse loss, as Keras takes them.
    let (xt, yt) = detect(16, 1);
    let y2 = yt.clone().insert_axis(Axis(1));
    let tokens = Tokens::new(1);
    assert_eq!(
        tokens.evaluate(&xt, &yt).unwrap(),
        tokens.evaluate(&xt, &y2).unwrap()
    );
    // A 1-D target of the wrong length is a sentence, not a trait error.
    let err = net.evaluate(&x, &flat.slice(s![..31])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "x has 32 samples but y has 31; they must match"
    );
}

#[test]
fn history_files_carry_the_metrics() {
    let (x, y) = detect(64, 9);
    let mut net = Tokens::new(2);
    let history = net
        .fit(
            &x,
            &y,
            quiet(2).metrics(&[Metric::Accuracy]).validation_split(0.25),
        )
        .unwrap();
    let dir = std::env::temp_dir().join(format!("rnn-fit-api-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    history.to_csv(dir.join("h.csv")).unwrap();
    let csv = std::fs::read_to_string(dir.join("h.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("epoch,loss,val_loss,lr,seconds,acc,val_acc")
    );
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(row[5].parse::<f32>().unwrap(), history.metrics["acc"][0]);
    history.to_json(dir.join("h.json")).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("h.json")).unwrap()).unwrap();
    assert_eq!(json["val_acc"].as_array().unwrap().len(), 2);
    // The plot draws the metrics beside the losses.
    history.plot_loss(dir.join("with.png")).unwrap();
    let mut losses_only = history.clone();
    losses_only.metrics.clear();
    losses_only.plot_loss(dir.join("without.png")).unwrap();
    let (with, without) = (
        std::fs::read(dir.join("with.png")).unwrap(),
        std::fs::read(dir.join("without.png")).unwrap(),
    );
    assert!(with.starts_with(b"\x89PNG") && with != without);
    std::fs::remove_dir_all(&dir).unwrap();
}

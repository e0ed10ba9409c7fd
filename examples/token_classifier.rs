//! A token classifier, written the way a Keras user writes one: a softmax head with
//! sparse categorical cross-entropy, accuracy as a metric, held-out validation data,
//! early stopping on the validation accuracy, and the model's summary.
//!
//! The task: sequences of 12 token ids from a vocabulary of 50; a sequence that
//! contains the keyword 7 is class 0 ("order"), one that contains 13 is class 1
//! ("cancel"), any other is class 2 ("other").
//!
//! ```sh
//! cargo run --release --example token_classifier
//! ```

use rnn_runtime::ndarray::{Array1, Array2};
use rnn_runtime::rng::Rng;
use rnn_runtime::{model, Adam, EarlyStopping, Fit, Metric, Monitor};

model! {
    /// Intent of a 12-token message: `order`, `cancel` or `other`.
    pub struct Intent < input(12), embedding(50, 16), lstm(32), dense(3, activation = softmax),
        loss = sparse_categorical_crossentropy >
}

/// `n` messages and their class ids (shape `(n,)`, as Keras takes sparse labels).
pub fn messages(n: usize, seed: u64) -> (Array2<u32>, Array1<f32>) {
    let mut rng = Rng::new(seed);
    let mut x = Array2::zeros((n, 12));
    let mut y = Array1::zeros(n);
    for i in 0..n {
        for t in 0..12 {
            // Filler tokens, never a keyword.
            x[[i, t]] = loop {
                let id = 1 + rng.below(49) as u32;
                if id != 7 && id != 13 {
                    break id;
                }
            };
        }
        let class = rng.below(3);
        if class < 2 {
            x[[i, rng.below(12)]] = if class == 0 { 7 } else { 13 };
        }
        y[i] = class as f32;
    }
    (x, y)
}

/// Trains the classifier; returns it with its final validation accuracy.
pub fn train(verbose: bool) -> rnn_runtime::Result<(Intent, f32)> {
    let (x, y) = messages(1200, 1);
    let (x_val, y_val) = messages(300, 2);
    let mut net = Intent::new(0);
    if verbose {
        println!("{}", net.summary());
    }
    let history = net.fit(
        &x,
        &y,
        Fit::new(Adam::new(3e-3))
            .epochs(40)
            .batch_size(32)
            .metrics(&[Metric::Accuracy])
            .validation_data(&x_val, &y_val)
            .callback(
                EarlyStopping::new()
                    .monitor(Monitor::ValMetric(Metric::Accuracy))
                    .patience(4)
                    .restore_best_weights(true),
            )
            .verbose(verbose),
    )?;
    let val_acc = history.metrics["val_acc"][history.best_epoch.unwrap_or(0)];
    if verbose {
        println!(
            "trained {} epochs; best val_acc {val_acc:.4} (epoch {}); val_loss {:.4}",
            history.loss.len(),
            history.best_epoch.map_or(0, |e| e + 1),
            net.evaluate(&x_val, &y_val)?
        );
        let probs = net.predict(x_val.slice(rnn_runtime::ndarray::s![..3, ..]))?;
        println!("class probabilities of the first three messages:\n{probs:.3}");
    }
    Ok((net, val_acc))
}

fn main() -> rnn_runtime::Result<()> {
    let (_, val_acc) = train(true)?;
    println!("final validation accuracy: {val_acc:.4}");
    Ok(())
}

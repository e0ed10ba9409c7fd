//! The token-classifier example (`examples/token_classifier.rs`) trains to a high
//! validation accuracy, and its restored best model scores it.

#[allow(dead_code)]
#[path = "../examples/token_classifier.rs"]
mod example;

use rnn_runtime::Metric;

#[test]
fn the_token_classifier_example_reaches_a_high_validation_accuracy() {
    let (net, val_acc) = example::train(false).expect("trains");
    println!("validation accuracy {val_acc}");
    assert!(val_acc > 0.95, "validation accuracy {val_acc}");
    // The restored best weights score that accuracy on the validation data.
    let (x_val, y_val) = example::messages(300, 2);
    let p = net.predict(&x_val).unwrap();
    let hits = p
        .outer_iter()
        .zip(&y_val)
        .filter(|(row, &c)| {
            let best = (0..3).fold(0, |b, k| if row[k] > row[b] { k } else { b });
            best as f32 == c
        })
        .count();
    assert_eq!(hits as f32 / 300.0, val_acc);
    assert_eq!(Metric::Accuracy.val_name(), "val_acc");
    assert!(net.summary().contains("Total params: "));
}

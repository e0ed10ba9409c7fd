// Under `#![deny(warnings)]` a private model in a binary, with most of its API unused, compiles without a warning.
#![deny(warnings)]
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8), dense(1) >
}

fn main() {
    let y: [f32; 1] = Net::new(42).predict_one(&[[0.0]; 20]);
    assert!(y[0].is_finite());
}

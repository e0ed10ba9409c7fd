// A categorical cross-entropy over a single output has one class: refused, with the
// binary form suggested.
use rnn_runtime::model;

model! {
    struct Net < input(20, 3), lstm(4), dense(1, activation = softmax),
        loss = categorical_crossentropy >
}

fn main() {}

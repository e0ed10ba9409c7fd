// An option given twice is reported on the second key.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8), dense(1, activation = relu, activation = tanh) >
}

fn main() {}

// A model option other than `loss` is refused with the nearest known one.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8), dense(1), los = mse >
}

fn main() {}

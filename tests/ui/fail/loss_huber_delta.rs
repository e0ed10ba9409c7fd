// A Huber delta must be a positive number.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8), dense(1), loss = huber(-0.5) >
}

fn main() {}

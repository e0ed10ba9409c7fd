// `input` takes no named options.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1, batch = 32), lstm(8), dense(1) >
}

fn main() {}

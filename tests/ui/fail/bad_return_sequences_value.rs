// A non-bool `return_sequences` is reported on the value, and only once.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8, return_sequences = 1), lstm(4), dense(1) >
}

fn main() {}

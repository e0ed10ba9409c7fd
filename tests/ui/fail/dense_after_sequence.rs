// A dense layer after `return_sequences = true` would receive a sequence, which is not supported yet.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8, return_sequences = true), dense(1) >
}

fn main() {}

// Options go on the wrapped layer, not on `bidirectional` itself.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), bidirectional(lstm(8), return_sequences = true), dense(1) >
}

fn main() {}

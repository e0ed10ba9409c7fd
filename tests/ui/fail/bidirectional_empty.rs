// `bidirectional()` without a layer inside.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), bidirectional(), dense(1) >
}

fn main() {}

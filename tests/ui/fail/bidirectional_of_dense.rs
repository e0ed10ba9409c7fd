// `bidirectional` wraps a recurrent layer; a dense layer inside it is reported on the wrapped layer.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), bidirectional(dense(8)), dense(1) >
}

fn main() {}

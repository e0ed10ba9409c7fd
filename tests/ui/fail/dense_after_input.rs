// A dense layer directly after `input` would receive a sequence, which is not supported yet.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), dense(1) >
}

fn main() {}

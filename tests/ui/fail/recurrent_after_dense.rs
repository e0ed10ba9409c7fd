// A recurrent layer cannot follow a dense layer.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), gru(8), dense(4), simple_rnn(2) >
}

fn main() {}

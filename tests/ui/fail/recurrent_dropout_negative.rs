// `recurrent_dropout` must be in [0, 1); the whole negative literal is blamed.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), gru(8, recurrent_dropout = -0.2), dense(1) >
}

fn main() {}

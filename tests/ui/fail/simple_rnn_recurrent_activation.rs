// simple_rnn has no gates, so no `recurrent_activation`.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), simple_rnn(8, recurrent_activation = tanh), dense(1) >
}

fn main() {}

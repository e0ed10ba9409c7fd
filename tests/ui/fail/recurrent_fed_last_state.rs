// A recurrent layer after one that returns only its last state asks for `return_sequences = true` on that one.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8), gru(4), dense(1) >
}

fn main() {}

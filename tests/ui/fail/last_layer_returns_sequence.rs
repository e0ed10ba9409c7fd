// A last layer with `return_sequences = true` is reported on the option: sequence outputs are not supported yet.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8, return_sequences = true), gru(4, return_sequences = true) >
}

fn main() {}

// An option that dense layers do not take is reported on its key.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8), dense(1, return_sequences = true) >
}

fn main() {}

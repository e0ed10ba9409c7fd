// A second `input` is reported on its name.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8), input(20, 1), dense(1) >
}

fn main() {}

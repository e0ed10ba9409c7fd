// A zero size is reported on the literal.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(0), dense(1) >
}

fn main() {}

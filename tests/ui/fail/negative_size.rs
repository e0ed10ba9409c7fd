// A negative size is reported on both the `-` and the literal.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(-8), dense(1) >
}

fn main() {}

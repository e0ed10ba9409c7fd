// An unknown layer with no close match lists every layer name instead.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), conv(3), dense(1) >
}

fn main() {}

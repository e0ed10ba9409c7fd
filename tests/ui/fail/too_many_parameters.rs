// A model above the 100_000_000-parameter limit blames its biggest layer.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(5000), dense(1) >
}

fn main() {}

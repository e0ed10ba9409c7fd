// A size above the documented maximum of 1_000_000 is rejected.
use rnn_runtime::model;

model! {
    struct Net < input(2_000_000, 1), lstm(8), dense(1) >
}

fn main() {}

// A list with only `input` is reported on the `>`.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1) >
}

fn main() {}

// A layer name without parentheses is reported on the name, with an example.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm, dense(1) >
}

fn main() {}

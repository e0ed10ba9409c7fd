// A dropout rate must be in [0, 1): 1.5 is reported on the literal.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8), dropout(1.5), dense(1) >
}

fn main() {}

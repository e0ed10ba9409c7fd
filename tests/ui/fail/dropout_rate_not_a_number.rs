// A dropout rate must be a number literal.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8), dropout(half), dense(1) >
}

fn main() {}

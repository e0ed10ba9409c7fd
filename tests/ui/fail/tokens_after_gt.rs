// Tokens after the closing `>` are a syntax error on the first of them.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8), dense(1) >;
}

fn main() {}

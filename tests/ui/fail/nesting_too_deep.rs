// Brackets nested more than 16 deep are rejected before parsing expressions.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(((((((((((((((((((8))))))))))))))))))), dense(1) >
}

fn main() {}

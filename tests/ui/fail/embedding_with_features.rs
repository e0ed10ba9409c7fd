// An embedding needs token input, declared as `input(T)` without a feature count.
use rnn_runtime::model;

model! {
    struct Net < input(20, 3), embedding(100, 8), lstm(8), dense(1) >
}

fn main() {}

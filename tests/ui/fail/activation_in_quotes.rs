// A quoted activation is rejected with a hint to drop the quotes.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8), dense(1, activation = "relu") >
}

fn main() {}

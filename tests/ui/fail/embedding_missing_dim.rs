// `embedding(vocab, dim)` needs both sizes.
use rnn_runtime::model;

model! {
    struct Net < input(20), embedding(100), lstm(8), dense(1) >
}

fn main() {}

// `input(T)` declares token ids, which only an embedding layer 0 reads.
use rnn_runtime::model;

model! {
    struct Net < input(20), lstm(8), dense(1) >
}

fn main() {}

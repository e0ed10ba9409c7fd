// An embedding reads token ids, so it must be layer 0.
use rnn_runtime::model;

model! {
    struct Net < input(20), embedding(100, 8), lstm(8), embedding(10, 2), dense(1) >
}

fn main() {}

// A float size is rejected, with the integer to write instead.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8.0), dense(1) >
}

fn main() {}

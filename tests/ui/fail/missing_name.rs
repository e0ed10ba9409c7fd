// A spec without a struct name is reported at the token after `struct`.
use rnn_runtime::model;

model! {
    struct < input(20, 1), lstm(8), dense(1) >
}

fn main() {}

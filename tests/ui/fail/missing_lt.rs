// A spec without `<` is reported at the token where it was expected.
use rnn_runtime::model;

model! {
    struct Net input(20, 1), lstm(8), dense(1) >
}

fn main() {}

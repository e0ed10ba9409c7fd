// A spec without `struct` is a syntax error that shows the expected form.
use rnn_runtime::model;

model! {
    pub Net < input(20, 1), lstm(8), dense(1) >
}

fn main() {}

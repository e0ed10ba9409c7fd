// A list without `input(...)` is reported on its first layer.
use rnn_runtime::model;

model! {
    struct Net < lstm(8), dense(1) >
}

fn main() {}

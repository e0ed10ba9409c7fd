// An `input` that is not first is reported on its name.
use rnn_runtime::model;

model! {
    struct Net < lstm(8), input(20, 1), dense(1) >
}

fn main() {}

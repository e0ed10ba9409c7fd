// A layer without its size is reported on the layer name.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(), dense(1) >
}

fn main() {}

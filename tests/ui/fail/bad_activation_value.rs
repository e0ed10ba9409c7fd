// An unknown activation is reported on the value, with the valid ones listed.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8), dense(3, activation = swish) >
}

fn main() {}

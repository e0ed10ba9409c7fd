// Independent mistakes in one spec are all reported together, one error each, in written order.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstn(8), gru(0), dense(1, activation = swish) >
}

fn main() {}

// softmax is a dense-layer activation; a recurrent layer refuses it with the list of its own.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8, activation = softmax), dense(1) >
}

fn main() {}

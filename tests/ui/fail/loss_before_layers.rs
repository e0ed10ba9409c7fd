// The model's loss comes after its last layer.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), loss = mse, lstm(8), dense(1) >
}

fn main() {}

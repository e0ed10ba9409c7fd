// A second `loss = …` is refused.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8), dense(1), loss = mse, loss = mae >
}

fn main() {}

// A quoted loss name (Keras's habit) is refused with a hint to drop the quotes.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8), dense(1), loss = "mse" >
}

fn main() {}

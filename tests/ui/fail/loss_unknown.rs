// An unknown loss is refused at its name, with the nearest known one.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8), dense(1), loss = mean_squard_error >
}

fn main() {}

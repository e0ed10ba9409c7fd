// An extra positional argument is reported on the extra argument.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8, 4), dense(1) >
}

fn main() {}

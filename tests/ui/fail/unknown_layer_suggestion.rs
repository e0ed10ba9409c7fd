// A misspelled layer name is reported on the name, with the closest layer suggested.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstn(8), dense(1) >
}

fn main() {}

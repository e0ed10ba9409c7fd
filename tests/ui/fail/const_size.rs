// A named constant as a size is rejected: shapes must be literals the macro can read.
use rnn_runtime::model;

const UNITS: usize = 8;

model! {
    struct Net < input(20, 1), lstm(UNITS), dense(1) >
}

fn main() {
    let _ = UNITS;
}

// An unclosed layer list is reported on its `<`.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8), dense(1)
}

fn main() {}

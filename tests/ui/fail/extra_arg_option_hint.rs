// An extra bare activation after the size suggests the named `activation` option.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8), dense(1, relu) >
}

fn main() {}

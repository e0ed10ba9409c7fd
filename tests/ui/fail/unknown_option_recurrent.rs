// An option that recurrent layers do not take is reported on its key.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8, units = 4), dense(1) >
}

fn main() {}

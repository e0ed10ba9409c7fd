// A model of dense layers only has no recurrent layer to be a sequence model.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), dense(8), dense(1) >
}

fn main() {}

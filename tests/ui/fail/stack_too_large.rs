// `predict_one` of a bidirectional model holds whole sequences on the stack: above
// 16_777_216 values (64 MiB) the model is refused, blaming its biggest array.
use rnn_runtime::model;

model! {
    struct Net < input(20000, 1), bidirectional(gru(500, return_sequences = true)), dense(1) >
}

fn main() {}

// A cross-entropy needs a dense output layer (logits or probabilities).
use rnn_runtime::model;

model! {
    struct Net < input(20, 3), lstm(4), loss = sparse_categorical_crossentropy >
}

fn main() {}

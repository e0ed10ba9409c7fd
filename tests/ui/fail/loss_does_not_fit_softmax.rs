// A cross-entropy that cannot read the output layer is refused at the loss: binary
// cross-entropy reads logits or sigmoid probabilities, not a softmax.
use rnn_runtime::model;

model! {
    struct Net < input(20), embedding(100, 8), lstm(8), dense(3, activation = softmax),
        loss = binary_crossentropy >
}

fn main() {}

// A many-to-many model's `predict_one` returns one row per time step: `[[f32; OUT]; T]`.
use rnn_runtime::model;

model! {
    struct Net < input(4, 2), gru(8, return_sequences = true), dense(3) >
}

fn main() {
    let net = Net::new(0);
    let _: [f32; 3] = net.predict_one(&[[0.0; 2]; 4]);
}

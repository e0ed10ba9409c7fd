// A model may end with a recurrent layer: its output is that layer's last hidden state.
use rnn_runtime::model;

model! {
    struct Encoder < input(10, 2), lstm(6, return_sequences = true), gru(3) >
}

const _: () = assert!(Encoder::OUTPUTS == 3);

fn main() {
    let y: [f32; 3] = Encoder::new(9).predict_one(&[[0.3, 0.7]; 10]);
    // A GRU's hidden state stays within (-1, 1).
    assert!(y.iter().all(|v| v.abs() < 1.0));
}

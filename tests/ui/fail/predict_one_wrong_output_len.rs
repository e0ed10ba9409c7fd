// `predict_one` returns exactly `[f32; OUTPUTS]`: binding it to another length is a type error.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8), dense(2) >
}

fn main() {
    let net = Net::new(1);
    let y: [f32; 1] = net.predict_one(&[[0.0; 1]; 20]);
    let _ = y;
}

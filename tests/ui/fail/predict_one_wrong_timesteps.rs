// `predict_one` takes exactly `[[f32; F]; T]`: a sample with the wrong number of time steps is a type error.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8), dense(1) >
}

fn main() {
    let net = Net::new(1);
    let x = [[0.0f32; 1]; 19];
    let _ = net.predict_one(&x);
}

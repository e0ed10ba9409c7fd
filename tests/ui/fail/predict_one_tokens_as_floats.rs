// A token model's `predict_one` takes `&[u32; T]`; features are a type error.
use rnn_runtime::model;

model! {
    struct Net < input(4), embedding(10, 3), lstm(8), dense(1) >
}

fn main() {
    let net = Net::new(0);
    let _ = net.predict_one(&[[0.5f32; 1]; 4]);
}

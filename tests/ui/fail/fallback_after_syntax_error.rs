// A syntax error after the struct name still emits the struct, so code using it adds no errors.
use rnn_runtime::model;

model! {
    pub struct Net input(20, 1), lstm(8), dense(1) >
}

fn main() {
    let net = Net::new(1);
    let y: [f32; 1] = net.predict_one(&[[0.0; 1]; 20]);
    println!("{y:?}");
}

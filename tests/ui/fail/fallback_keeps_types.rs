// After a spec error that leaves the shape readable, the fallback keeps the true consts, a typed predict_one, the derives and the runtime traits.
use rnn_runtime::{model, Network};

model! {
    /// Predicts the next sample.
    pub struct Net < input(20, 1), lstm(8, activation = softmax), dense(1) >
}

const _: () = assert!(Net::OUTPUTS == 1 && Net::TIMESTEPS == 20);

fn train<N: Network>(net: &N) -> usize {
    let _ = net;
    N::OUTPUTS
}

fn main() {
    let net = Net::new(1);
    let y = net.predict_one(&[[0.0; 1]; 20]);
    let copy = net.clone();
    println!("{} {:?} {} {}", y[0], copy, copy == net, train(&net));
}

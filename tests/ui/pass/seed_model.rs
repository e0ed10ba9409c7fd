// The seed model from the README compiles, and its consts and `predict_one` work.
use rnn_runtime::model;

model! {
    /// Predicts the next sample of a sine wave from the previous 20.
    pub struct SineNet < input(20, 1), lstm(50), dense(1) >
}

const _: () = assert!(SineNet::TIMESTEPS == 20);
const _: () = assert!(SineNet::FEATURES == 1);
const _: () = assert!(SineNet::OUTPUTS == 1);
const _: () = assert!(SineNet::PARAMS == 4 * 50 * 1 + 4 * 50 * 50 + 2 * 4 * 50 + 50 + 1);

fn main() {
    let net = SineNet::new(42);
    let y: [f32; 1] = net.predict_one(&[[0.5; 1]; 20]);
    assert!(y[0].is_finite());
}

// Every layer kind with every option compiles: stacked `return_sequences`, gru, simple_rnn and every activation.
use rnn_runtime::model;

model! {
    /// One of everything the DSL accepts.
    pub struct Everything <
        input(6, 3),
        lstm(8, return_sequences = true),
        gru(7, return_sequences = true),
        simple_rnn(6, return_sequences = false),
        dense(5, activation = relu),
        dense(4, activation = tanh),
        dense(3, activation = sigmoid),
        dense(2, activation = linear),
        dense(1)
    >
}

const _: () = assert!(Everything::TIMESTEPS == 6);
const _: () = assert!(Everything::FEATURES == 3);
const _: () = assert!(Everything::OUTPUTS == 1);
const _: () = assert!(
    Everything::PARAMS
        == (4 * 8 * 3 + 4 * 8 * 8 + 2 * 4 * 8)
            + (3 * 7 * 8 + 3 * 7 * 7 + 2 * 3 * 7)
            + (6 * 7 + 6 * 6 + 2 * 6)
            + (5 * 6 + 5)
            + (4 * 5 + 4)
            + (3 * 4 + 3)
            + (2 * 3 + 2)
            + (1 * 2 + 1)
);

fn main() {
    let net = Everything::new(7);
    let x = [[0.25f32, -0.5, 1.0]; 6];
    let y: [f32; 1] = net.predict_one(&x);
    assert!(y[0].is_finite());
}

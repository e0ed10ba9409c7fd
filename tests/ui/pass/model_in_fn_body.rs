// A model can be declared inside a function body.
fn main() {
    rnn_runtime::model! {
        struct Local < input(3, 2), simple_rnn(4), dense(1, activation = sigmoid) >
    }

    const _: () = assert!(Local::TIMESTEPS == 3 && Local::FEATURES == 2);
    let y: [f32; 1] = Local::new(5).predict_one(&[[0.5, -0.5]; 3]);
    assert!(y[0] > 0.0 && y[0] < 1.0);
}

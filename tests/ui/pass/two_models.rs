// Two models in one module do not clash: each gets its own struct and workspace type.
use rnn_runtime::model;

model! {
    struct First < input(4, 1), lstm(3), dense(1) >
}

model! {
    struct Second < input(2, 3), gru(5), dense(2) >
}

const _: () = assert!(First::OUTPUTS == 1 && Second::OUTPUTS == 2);

fn main() {
    let a: [f32; 1] = First::new(1).predict_one(&[[0.0]; 4]);
    let b: [f32; 2] = Second::new(1).predict_one(&[[0.0, 1.0, 2.0]; 2]);
    assert!(a[0].is_finite() && b.iter().all(|v| v.is_finite()));
}

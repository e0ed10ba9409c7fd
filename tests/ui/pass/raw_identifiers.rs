// Layer names, option names and values may be written as raw identifiers.
use rnn_runtime::model;

model! {
    struct Net < r#input(4, 1), r#lstm(3), r#dense(2, r#activation = r#relu), dense(1) >
}

fn main() {
    let y: [f32; 1] = Net::new(3).predict_one(&[[1.0]; 4]);
    assert!(y[0].is_finite());
}

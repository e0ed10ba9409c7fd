// A trailing comma after the last layer is accepted.
use rnn_runtime::model;

model! {
    struct Net < input(5, 1), lstm(4), dense(1), >
}

const _: () = assert!(Net::OUTPUTS == 1);

fn main() {
    let y: [f32; 1] = Net::new(0).predict_one(&[[1.0]; 5]);
    assert!(y[0].is_finite());
}

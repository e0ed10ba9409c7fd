// Sizes may carry an integer suffix, digit separators or another base.
use rnn_runtime::model;

model! {
    struct Net < input(20usize, 1u8), lstm(5_0, return_sequences = true), gru(0x10i32), dense(1_u64) >
}

const _: () = assert!(Net::TIMESTEPS == 20 && Net::FEATURES == 1 && Net::OUTPUTS == 1);

fn main() {
    let y: [f32; 1] = Net::new(2).predict_one(&[[0.5]; 20]);
    assert!(y[0].is_finite());
}

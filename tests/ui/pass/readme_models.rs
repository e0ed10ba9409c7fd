// The one-line models shown in README.md's DSL section compile, with the shapes the
// README gives them.
use rnn_runtime::model;

model! { struct Forecaster < input(48, 3), lstm(64, dropout = 0.1), dense(24) > }
model! { struct Tagger < input(100, 8), bidirectional(gru(32, return_sequences = true)), dense(5) > }
model! { struct Sentiment < input(200), embedding(20000, 64), bidirectional(lstm(32)), dropout(0.3), dense(2) > }
model! { struct Denoiser < input(64, 1), lstm(32, return_sequences = true), dense(1) > }
model! { struct Monitor < input(50, 3), gru(32), dense(1, activation = sigmoid) > }

fn main() {
    let _: [f32; 24] = Forecaster::new(0).predict_one(&[[0.0; 3]; 48]);
    let _: [[f32; 5]; 100] = Tagger::new(0).predict_one(&[[0.0; 8]; 100]);
    let _: [f32; 2] = Sentiment::new(0).predict_one(&[7; 200]).unwrap();
    let _: [[f32; 1]; 64] = Denoiser::new(0).predict_one(&[[0.0; 1]; 64]);
    let net = Monitor::new(0);
    let mut stream = net.stream();
    for _ in 0..120 {
        let _score: [f32; 1] = stream.push(&[0.1, 0.2, 0.3]);
    }
    let state: MonitorState = stream.into_state();
    let _resumed = net.stream_from(state);
}

// Every layer and option of the DSL compiles, and each model's typed API has the
// shapes its spec implies.
use rnn_runtime::model;
use rnn_runtime::ndarray::{Array2, Array3};

model! {
    /// Many-to-many with a per-step dense head.
    pub struct Tagger < input(6, 2), gru(4, return_sequences = true), dense(3, activation = softmax) >
}

model! {
    /// Bidirectional, stacked, with every recurrent option.
    struct Bi < input(5, 3),
        bidirectional(lstm(4, return_sequences = true, dropout = 0.1, recurrent_dropout = 0.2)),
        dropout(0.3),
        bidirectional(simple_rnn(2, activation = relu)),
        dense(2, activation = gelu) >
}

model! {
    /// Token classifier.
    struct Text < input(7), embedding(50, 8), lstm(6, activation = tanh, recurrent_activation = sigmoid), dense(3, activation = elu), dense(2, activation = softplus) >
}

fn main() {
    let tagger = Tagger::new(1);
    let per_step: [[f32; 3]; 6] = tagger.predict_one(&[[0.1; 2]; 6]);
    let mut stream = tagger.stream();
    let first: [f32; 3] = stream.push(&[0.1; 2]);
    assert!((first[0] - per_step[0][0]).abs() < 1e-6);
    let out: Array3<f32> = tagger.forward(&Array3::<f32>::zeros((2, 6, 2))).unwrap();
    assert_eq!(out.dim(), (2, 6, 3));

    let bi = Bi::new(2);
    let one: [f32; 2] = bi.predict_one(&[[0.5; 3]; 5]);
    let batch: Array2<f32> = bi.predict(&Array3::<f32>::from_elem((1, 5, 3), 0.5)).unwrap();
    assert!((one[1] - batch[[0, 1]]).abs() < 1e-5);

    let text = Text::new(3);
    let scores: [f32; 2] = text.predict_one(&[1, 2, 3, 4, 5, 6, 49]).unwrap();
    assert!(text.predict_one(&[1, 2, 3, 4, 5, 6, 50]).is_err());
    let ids = Array2::<u32>::from_elem((4, 7), 3);
    let all = text.predict(&ids).unwrap();
    assert_eq!(all.dim(), (4, 2));
    let _ = scores;
}

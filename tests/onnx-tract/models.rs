//! The models whose ONNX exports are checked: by tract in `tests/onnx.rs` here, and
//! by ONNX Runtime through `examples/export_onnx.rs` (which includes this file) and
//! `scripts/onnx_check.py`. One list, so both engines see the same graphs.

use rnn_runtime::model;

model! { pub(crate) struct Lstm < input(5, 3), lstm(6), dense(2) > }
model! { pub(crate) struct Gru < input(4, 2), gru(5), dense(3) > }
model! { pub(crate) struct Rnn < input(6, 2), simple_rnn(4), dense(1) > }
model! {
    pub(crate) struct Stacked < input(5, 3), lstm(6, return_sequences = true),
        gru(4, return_sequences = true), simple_rnn(3), dense(2) >
}
model! { pub(crate) struct ManyToMany < input(5, 2), lstm(4, return_sequences = true), dense(3, activation = tanh) > }
model! { pub(crate) struct BiSeq < input(5, 3), bidirectional(gru(3, return_sequences = true)), dense(2) > }
model! { pub(crate) struct BiLast < input(4, 3), bidirectional(lstm(3)), dense(2) > }
model! {
    pub(crate) struct BiStack < input(4, 2), bidirectional(simple_rnn(3, return_sequences = true)),
        bidirectional(lstm(2)), dense(1) >
}
model! { pub(crate) struct Tokens < input(6), embedding(10, 4), lstm(5), dense(3, activation = softmax) > }
model! {
    pub(crate) struct TokensBiSeq < input(5), embedding(7, 3),
        bidirectional(gru(2, return_sequences = true)), dense(3) >
}
model! {
    pub(crate) struct CellActs < input(4, 2),
        lstm(3, return_sequences = true, activation = relu, recurrent_activation = tanh),
        simple_rnn(4, return_sequences = true, activation = relu),
        gru(3, return_sequences = true, activation = linear),
        bidirectional(lstm(2, activation = sigmoid, recurrent_activation = linear)), dense(2) >
}
model! {
    pub(crate) struct DenseActs < input(3, 2), gru(6), dense(6, activation = gelu), dense(6, activation = elu),
        dense(6, activation = softplus), dense(3, activation = softmax) >
}
model! {
    pub(crate) struct DenseActs2 < input(3, 2), gru(6), dense(6, activation = relu), dense(6, activation = sigmoid),
        dense(6, activation = tanh), dense(6, activation = linear), dense(2) >
}
model! {
    pub(crate) struct Dropout < input(4, 3), lstm(4, return_sequences = true, dropout = 0.25, recurrent_dropout = 0.5),
        dropout(0.2), gru(3), dropout(0.3), dense(2) >
}

// Masked models: the graph reads each sample's length from its padding.
model! { pub(crate) struct MaskedLstm < input(6, 2), masking(0.0), lstm(5), dense(2) > }
model! {
    pub(crate) struct MaskedBiSeq < input(5, 3), masking(-1.0),
        bidirectional(gru(3, return_sequences = true)), dense(2) >
}
model! {
    pub(crate) struct MaskedStack < input(6, 2), masking(0.0), gru(4, return_sequences = true),
        simple_rnn(3), dense(1) >
}
model! {
    pub(crate) struct TokensMaskedBi < input(6), embedding(10, 4, mask_zero = true),
        bidirectional(lstm(3)), dense(3, activation = softmax) >
}
model! {
    pub(crate) struct TokensMaskedSeq < input(5), embedding(8, 3, mask_zero = true),
        lstm(4, return_sequences = true), dense(2) >
}

/// A batch of `n` samples of `steps` steps of `width` values each, every sample's valid
/// steps a random run of `1..=steps` (placed anywhere when `anywhere`, else from step
/// 0), drawn by `draw`; the other steps hold `pad` when given, else more draws (values
/// a graph with a `lengths` input must ignore). Returns the values and the lengths.
pub(crate) fn padded_batch<T: Copy>(
    rng: &mut rnn_runtime::rng::Rng,
    n: usize,
    steps: usize,
    width: usize,
    anywhere: bool,
    pad: Option<T>,
    mut draw: impl FnMut(&mut rnn_runtime::rng::Rng) -> T,
) -> (Vec<T>, Vec<usize>) {
    let mut values = Vec::with_capacity(n * steps * width);
    let mut lengths = Vec::with_capacity(n);
    for sample in 0..n {
        // The first sample is full, so the batch also covers a sample without padding.
        let len = if sample == 0 {
            steps
        } else {
            1 + rng.below(steps)
        };
        let start = if anywhere {
            rng.below(steps - len + 1)
        } else {
            0
        };
        for t in 0..steps {
            for _ in 0..width {
                let v = match pad {
                    Some(p) if !(start..start + len).contains(&t) => p,
                    _ => draw(rng),
                };
                values.push(v);
            }
        }
        lengths.push(len);
    }
    (values, lengths)
}

//! Exports a set of models to ONNX for `scripts/onnx_check.py`, which runs them with
//! ONNX Runtime and compares with this library's outputs.
//!
//! `cargo run --example export_onnx [-- DIR]` writes, per model, `NAME.onnx` (ONNX's
//! recurrent operators), `NAME.unrolled.onnx` (every step as primitive operators) and
//! `NAME.io.safetensors` holding a random batch `x` (float32, or int64 token ids) and
//! the library's output `y`. DIR defaults to `target/onnx_check`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use rnn_runtime::onnx::{self, Recurrence};
use rnn_runtime::rng::Rng;
use rnn_runtime::{model, Network};
use safetensors::tensor::{Dtype, TensorView};

model! { struct Lstm < input(5, 3), lstm(6), dense(2) > }
model! { struct Gru < input(4, 2), gru(5), dense(3) > }
model! { struct Rnn < input(6, 2), simple_rnn(4), dense(1) > }
model! {
    struct Stacked < input(5, 3), lstm(6, return_sequences = true),
        gru(4, return_sequences = true), simple_rnn(3), dense(2) >
}
model! { struct ManyToMany < input(5, 2), lstm(4, return_sequences = true), dense(3, activation = tanh) > }
model! { struct BiSeq < input(5, 3), bidirectional(gru(3, return_sequences = true)), dense(2) > }
model! { struct BiLast < input(4, 3), bidirectional(lstm(3)), dense(2) > }
model! {
    struct BiStack < input(4, 2), bidirectional(simple_rnn(3, return_sequences = true)),
        bidirectional(lstm(2)), dense(1) >
}
model! { struct Tokens < input(6), embedding(10, 4), lstm(5), dense(3, activation = softmax) > }
model! {
    struct TokensBiSeq < input(5), embedding(7, 3),
        bidirectional(gru(2, return_sequences = true)), dense(3) >
}
model! {
    struct CellActs < input(4, 2),
        lstm(3, return_sequences = true, activation = relu, recurrent_activation = tanh),
        simple_rnn(4, return_sequences = true, activation = relu),
        gru(3, return_sequences = true, activation = linear),
        bidirectional(lstm(2, activation = sigmoid, recurrent_activation = linear)), dense(2) >
}
model! {
    struct DenseActs < input(3, 2), gru(6), dense(6, activation = gelu), dense(6, activation = elu),
        dense(6, activation = softplus), dense(3, activation = softmax) >
}
model! {
    struct DenseActs2 < input(3, 2), gru(6), dense(6, activation = relu), dense(6, activation = sigmoid),
        dense(6, activation = tanh), dense(6, activation = linear), dense(2) >
}
model! {
    struct Dropout < input(4, 3), lstm(4, return_sequences = true, dropout = 0.25, recurrent_dropout = 0.5),
        dropout(0.2), gru(3), dropout(0.3), dense(2) >
}

/// Samples in each written batch.
const BATCH: usize = 7;

/// How a model's input is drawn and stored.
trait Input: rnn_runtime::InputElement {
    fn draw(rng: &mut Rng, vocab: usize) -> Self;
    /// safetensors dtype and little-endian bytes, as ONNX Runtime is to be fed.
    fn bytes(x: &[Self]) -> (Dtype, Vec<u8>);
}

impl Input for f32 {
    fn draw(rng: &mut Rng, _: usize) -> f32 {
        rng.uniform(-1.0, 1.0) as f32
    }
    fn bytes(x: &[f32]) -> (Dtype, Vec<u8>) {
        (Dtype::F32, x.iter().flat_map(|v| v.to_le_bytes()).collect())
    }
}

impl Input for u32 {
    fn draw(rng: &mut Rng, vocab: usize) -> u32 {
        rng.below(vocab) as u32
    }
    fn bytes(x: &[u32]) -> (Dtype, Vec<u8>) {
        let bytes = x.iter().flat_map(|&v| i64::from(v).to_le_bytes()).collect();
        (Dtype::I64, bytes)
    }
}

fn export<M: Network>(dir: &Path, name: &str, seed: u64) -> Result<(), Box<dyn std::error::Error>>
where
    M::Input: Input,
{
    let mut model = M::init(seed);
    let mut rng = Rng::new(seed ^ 0x5eed);
    model.visit_params_mut(&mut |t| {
        t.iter_mut()
            .for_each(|v| *v = rng.uniform(-1.0, 1.0) as f32)
    });
    onnx::save_onnx(&model, dir.join(format!("{name}.onnx")))?;
    onnx::save_onnx_with(
        &model,
        dir.join(format!("{name}.unrolled.onnx")),
        Recurrence::Unrolled,
    )?;

    let mut shape = vec![BATCH, M::TIMESTEPS];
    if M::VOCAB == 0 {
        shape.push(M::FEATURES);
    }
    let n: usize = shape.iter().product();
    let values: Vec<M::Input> = (0..n).map(|_| M::Input::draw(&mut rng, M::VOCAB)).collect();
    let x = ArrayD::from_shape_vec(IxDyn(&shape), values)?;
    let y = rnn_runtime::forward(&model, x.view())?;
    let (x_dtype, x_bytes) = M::Input::bytes(x.as_slice().ok_or("x is contiguous")?);
    let y_bytes: Vec<u8> = y.iter().flat_map(|v| v.to_le_bytes()).collect();
    let tensors = HashMap::from([
        ("x".to_string(), TensorView::new(x_dtype, shape, &x_bytes)?),
        (
            "y".to_string(),
            TensorView::new(Dtype::F32, y.shape().to_vec(), &y_bytes)?,
        ),
    ]);
    safetensors::serialize_to_file(tensors, &None, &dir.join(format!("{name}.io.safetensors")))?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/onnx_check"));
    std::fs::create_dir_all(&dir)?;
    export::<Lstm>(&dir, "lstm", 1)?;
    export::<Gru>(&dir, "gru", 2)?;
    export::<Rnn>(&dir, "simple_rnn", 3)?;
    export::<Stacked>(&dir, "stacked", 4)?;
    export::<ManyToMany>(&dir, "many_to_many", 5)?;
    export::<BiSeq>(&dir, "bi_seq", 6)?;
    export::<BiLast>(&dir, "bi_last", 7)?;
    export::<BiStack>(&dir, "bi_stack", 8)?;
    export::<Tokens>(&dir, "tokens", 9)?;
    export::<TokensBiSeq>(&dir, "tokens_bi", 10)?;
    export::<CellActs>(&dir, "cell_acts", 11)?;
    export::<DenseActs>(&dir, "dense_acts", 12)?;
    export::<DenseActs2>(&dir, "dense_acts2", 15)?;
    export::<Dropout>(&dir, "dropout", 13)?;
    println!("wrote 14 models to {}", dir.display());
    Ok(())
}

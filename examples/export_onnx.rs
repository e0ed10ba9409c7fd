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
use rnn_runtime::Network;
use safetensors::tensor::{Dtype, TensorView};

#[path = "../tests/onnx-tract/models.rs"]
mod models;
use models::*;

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

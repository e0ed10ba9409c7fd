//! Exports a set of models to ONNX for `scripts/onnx_check.py`, which runs them with
//! ONNX Runtime and compares with this library's outputs.
//!
//! `cargo run --example export_onnx [-- DIR]` writes, per model, `NAME.onnx` (ONNX's
//! recurrent operators), `NAME.unrolled.onnx` (every step as primitive operators) and
//! `NAME.io.safetensors` holding a random batch `x` (float32, or int64 token ids) and
//! the library's output `y`. DIR defaults to `target/onnx_check`. The masked models'
//! batches are padded (before or after the steps); the `lengths_*` models are exported
//! with a `lengths` input, stored beside `x`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use rnn_runtime::architecture::Padding;
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
    /// A value that is not padding (a token id other than 0).
    fn draw_valid(rng: &mut Rng, vocab: usize) -> Self;
    /// The value of a padded step.
    fn pad(padding: Padding) -> Self;
    /// safetensors dtype and little-endian bytes, as ONNX Runtime is to be fed.
    fn bytes(x: &[Self]) -> (Dtype, Vec<u8>);
}

impl Input for f32 {
    fn draw(rng: &mut Rng, _: usize) -> f32 {
        rng.uniform(-1.0, 1.0) as f32
    }
    fn draw_valid(rng: &mut Rng, vocab: usize) -> f32 {
        Self::draw(rng, vocab)
    }
    fn pad(padding: Padding) -> f32 {
        match padding {
            Padding::Value(v) => v,
            Padding::ZeroId => unreachable!("a real-valued model has no token padding"),
        }
    }
    fn bytes(x: &[f32]) -> (Dtype, Vec<u8>) {
        (Dtype::F32, x.iter().flat_map(|v| v.to_le_bytes()).collect())
    }
}

impl Input for u32 {
    fn draw(rng: &mut Rng, vocab: usize) -> u32 {
        rng.below(vocab) as u32
    }
    fn draw_valid(rng: &mut Rng, vocab: usize) -> u32 {
        1 + rng.below(vocab - 1) as u32
    }
    fn pad(_: Padding) -> u32 {
        0
    }
    fn bytes(x: &[u32]) -> (Dtype, Vec<u8>) {
        let bytes = x.iter().flat_map(|&v| i64::from(v).to_le_bytes()).collect();
        (Dtype::I64, bytes)
    }
}

/// How an exported model's batch is drawn: all steps valid, padded as the model's
/// `masking` / `mask_zero` says, or with a `lengths` input.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Steps {
    Full,
    Padded,
    Lengths,
}

fn export<M: Network>(
    dir: &Path,
    name: &str,
    seed: u64,
    steps: Steps,
) -> Result<(), Box<dyn std::error::Error>>
where
    M::Input: Input,
{
    let mut model = M::init(seed);
    let mut rng = Rng::new(seed ^ 0x5eed);
    model.visit_params_mut(&mut |t| {
        t.iter_mut()
            .for_each(|v| *v = rng.uniform(-1.0, 1.0) as f32)
    });
    for (form, recurrence) in [
        ("onnx", Recurrence::Operators),
        ("unrolled.onnx", Recurrence::Unrolled),
    ] {
        let path = dir.join(format!("{name}.{form}"));
        if steps == Steps::Lengths {
            onnx::save_onnx_with_lengths(&model, path, recurrence)?;
        } else {
            onnx::save_onnx_with(&model, path, recurrence)?;
        }
    }

    let mut shape = vec![BATCH, M::TIMESTEPS];
    if M::VOCAB == 0 {
        shape.push(M::FEATURES);
    }
    let (values, lengths) = match steps {
        Steps::Full => {
            let n: usize = shape.iter().product();
            let values: Vec<M::Input> =
                (0..n).map(|_| M::Input::draw(&mut rng, M::VOCAB)).collect();
            (values, vec![M::TIMESTEPS; BATCH])
        }
        Steps::Padded | Steps::Lengths => {
            let padding = M::ARCHITECTURE.padding;
            let width = if M::VOCAB == 0 { M::FEATURES } else { 1 };
            models::padded_batch(
                &mut rng,
                BATCH,
                M::TIMESTEPS,
                width,
                padding.is_some(),
                padding.map(M::Input::pad),
                |rng| M::Input::draw_valid(rng, M::VOCAB),
            )
        }
    };
    let x = ArrayD::from_shape_vec(IxDyn(&shape), values)?;
    let y = if steps == Steps::Lengths {
        rnn_runtime::forward_lengths(&model, x.view(), &lengths)?
    } else {
        rnn_runtime::forward(&model, x.view())?
    };
    let (x_dtype, x_bytes) = M::Input::bytes(x.as_slice().ok_or("x is contiguous")?);
    let y_bytes: Vec<u8> = y.iter().flat_map(|v| v.to_le_bytes()).collect();
    let lengths_bytes: Vec<u8> = lengths
        .iter()
        .flat_map(|&l| (l as i64).to_le_bytes())
        .collect();
    let mut tensors = HashMap::from([
        ("x".to_string(), TensorView::new(x_dtype, shape, &x_bytes)?),
        (
            "y".to_string(),
            TensorView::new(Dtype::F32, y.shape().to_vec(), &y_bytes)?,
        ),
    ]);
    if steps == Steps::Lengths {
        let view = TensorView::new(Dtype::I64, vec![BATCH], &lengths_bytes)?;
        tensors.insert("lengths".to_string(), view);
    }
    safetensors::serialize_to_file(tensors, &None, &dir.join(format!("{name}.io.safetensors")))?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/onnx_check"));
    std::fs::create_dir_all(&dir)?;
    export::<Lstm>(&dir, "lstm", 1, Steps::Full)?;
    export::<Gru>(&dir, "gru", 2, Steps::Full)?;
    export::<Rnn>(&dir, "simple_rnn", 3, Steps::Full)?;
    export::<Stacked>(&dir, "stacked", 4, Steps::Full)?;
    export::<ManyToMany>(&dir, "many_to_many", 5, Steps::Full)?;
    export::<BiSeq>(&dir, "bi_seq", 6, Steps::Full)?;
    export::<BiLast>(&dir, "bi_last", 7, Steps::Full)?;
    export::<BiStack>(&dir, "bi_stack", 8, Steps::Full)?;
    export::<Tokens>(&dir, "tokens", 9, Steps::Full)?;
    export::<TokensBiSeq>(&dir, "tokens_bi", 10, Steps::Full)?;
    export::<CellActs>(&dir, "cell_acts", 11, Steps::Full)?;
    export::<DenseActs>(&dir, "dense_acts", 12, Steps::Full)?;
    export::<DenseActs2>(&dir, "dense_acts2", 15, Steps::Full)?;
    export::<Dropout>(&dir, "dropout", 13, Steps::Full)?;
    export::<MaskedLstm>(&dir, "masked_lstm", 21, Steps::Padded)?;
    export::<MaskedBiSeq>(&dir, "masked_bi_seq", 22, Steps::Padded)?;
    export::<MaskedStack>(&dir, "masked_stack", 23, Steps::Padded)?;
    export::<TokensMaskedBi>(&dir, "tokens_masked_bi", 24, Steps::Padded)?;
    export::<TokensMaskedSeq>(&dir, "tokens_masked_seq", 25, Steps::Padded)?;
    export::<Lstm>(&dir, "lengths_lstm", 31, Steps::Lengths)?;
    export::<Stacked>(&dir, "lengths_stacked", 32, Steps::Lengths)?;
    export::<ManyToMany>(&dir, "lengths_many_to_many", 33, Steps::Lengths)?;
    export::<BiSeq>(&dir, "lengths_bi_seq", 34, Steps::Lengths)?;
    export::<BiLast>(&dir, "lengths_bi_last", 35, Steps::Lengths)?;
    export::<TokensBiSeq>(&dir, "lengths_tokens_bi", 36, Steps::Lengths)?;
    export::<CellActs>(&dir, "lengths_cell_acts", 37, Steps::Lengths)?;
    println!("wrote {} models to {}", 14 + 5 + 7, dir.display());
    Ok(())
}

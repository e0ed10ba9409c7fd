//! ONNX export checked by an independent engine: every exported model is loaded by
//! tract, run on random batches of two sizes, and must agree with the library's own
//! `forward` to 1e-5.
//!
//! tract 0.23 ignores the `activations` attribute of ONNX's recurrent operators, so a
//! model with overridden cell activations is checked through the unrolled export (the
//! operator form of that model is checked with ONNX Runtime by
//! `scripts/onnx_check.py`); every other model is checked in both forms.

use ndarray::{ArrayD, IxDyn};
use rnn_runtime::architecture::Padding;
use rnn_runtime::onnx::{self, Recurrence};
use rnn_runtime::rng::Rng;
use rnn_runtime::{Network, Params};
use tract_onnx::prelude::*;

#[path = "../../common/compare.rs"]
mod compare;
#[path = "../models.rs"]
mod models;
use compare::{max_abs_diff, spread_across_samples};
use models::*;

const TOL: f64 = 1e-5;

/// A model with every parameter drawn at random (biases too, so that each bias's
/// place in the ONNX layout is checked).
fn random_model<M: Network>(seed: u64) -> M {
    let mut m = M::init(seed);
    let mut rng = Rng::new(seed ^ 0x5eed);
    m.visit_params_mut(&mut |t| {
        t.iter_mut()
            .for_each(|v| *v = rng.uniform(-1.0, 1.0) as f32)
    });
    m
}

/// Input element types: how a batch is drawn and handed to tract.
trait Input: rnn_runtime::InputElement {
    fn draw(rng: &mut Rng, vocab: usize) -> Self;
    /// A value that is not `padding` (a token id other than 0).
    fn draw_valid(rng: &mut Rng, vocab: usize) -> Self;
    /// The value of a padded step.
    fn pad(padding: Padding) -> Self;
    fn tensor(x: &ArrayD<Self>) -> Tensor;
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
    fn tensor(x: &ArrayD<f32>) -> Tensor {
        Tensor::from_shape(x.shape(), x.as_slice().unwrap()).unwrap()
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
    fn tensor(x: &ArrayD<u32>) -> Tensor {
        let ids: Vec<i64> = x.iter().map(|&v| i64::from(v)).collect();
        Tensor::from_shape(x.shape(), &ids).unwrap()
    }
}

/// The runnable plan of an exported model. tract runs ONNX's recurrent operators only
/// with a known batch size (it builds their zero initial state as a constant), so the
/// operator form is given the batch's shape; the unrolled form keeps `batch` symbolic.
fn plan(bytes: &[u8], recurrence: Recurrence, input: &Tensor) -> Arc<TypedRunnableModel> {
    plan_inputs(bytes, recurrence, std::slice::from_ref(input)).unwrap()
}

/// [`plan`] for a graph with several inputs, or tract's reason for refusing it.
fn plan_inputs(
    bytes: &[u8],
    recurrence: Recurrence,
    inputs: &[Tensor],
) -> TractResult<Arc<TypedRunnableModel>> {
    let mut model = tract_onnx::onnx().model_for_read(&mut &bytes[..])?;
    if recurrence == Recurrence::Operators {
        for (k, input) in inputs.iter().enumerate() {
            let fact = InferenceFact::dt_shape(input.datum_type(), input.shape());
            model = model.with_input_fact(k, fact)?;
        }
    }
    model.into_optimized()?.into_runnable()
}

/// Exports `M` as `recurrence` says, runs it in tract on batches of 1 and 7 samples and
/// returns the largest absolute difference from `forward`.
fn tract_error<M: Network>(seed: u64, recurrence: Recurrence) -> f64
where
    M::Input: Input,
{
    let model: M = random_model(seed);
    tract_error_against(&model, &model, seed, recurrence)
}

/// Exports `model` as `recurrence` says, runs it in tract on batches of 1 and 7 samples
/// and returns the largest absolute difference from `reference`'s `forward`.
fn tract_error_against<M: Network, R: Network<Input = M::Input>>(
    model: &M,
    reference: &R,
    seed: u64,
    recurrence: Recurrence,
) -> f64
where
    M::Input: Input,
{
    let bytes = onnx::to_onnx_bytes_with(model, recurrence).unwrap();
    let mut rng = Rng::new(seed);
    let mut worst = 0.0f64;
    let mut symbolic = None;
    for batch in [1, 7] {
        let mut shape = vec![batch, M::TIMESTEPS];
        if M::VOCAB == 0 {
            shape.push(M::FEATURES);
        }
        let n: usize = shape.iter().product();
        let values: Vec<M::Input> = (0..n).map(|_| M::Input::draw(&mut rng, M::VOCAB)).collect();
        let x = ArrayD::from_shape_vec(IxDyn(&shape), values).unwrap();
        let want = rnn_runtime::forward(reference, x.view()).unwrap();
        let input = M::Input::tensor(&x);
        let got = match recurrence {
            Recurrence::Operators => {
                plan(&bytes, recurrence, &input).run(tvec!(input.into_tvalue()))
            }
            // One plan for both batch sizes: the symbolic batch dimension at work.
            Recurrence::Unrolled => symbolic
                .get_or_insert_with(|| plan(&bytes, recurrence, &input))
                .run(tvec!(input.into_tvalue())),
        }
        .unwrap();
        let got = got[0].to_plain_array_view::<f32>().unwrap();
        assert_eq!(got.shape(), want.shape(), "output shape");
        if batch > 1 {
            // Guards the comparison against a model whose output ignores its input
            // (a dead ReLU, say), which any wrong graph would match.
            let rows: Vec<Vec<f32>> = want
                .outer_iter()
                .map(|s| s.iter().copied().collect())
                .collect();
            let spread = spread_across_samples(rows.iter().map(Vec::as_slice));
            assert!(
                spread > 1e-2,
                "outputs do not depend on the input: {want:?}"
            );
        }
        worst = worst.max(max_abs_diff(got.iter(), want.iter()));
    }
    worst
}

/// Checks `M` in both export forms (or only unrolled) and prints the errors.
fn check<M: Network>(name: &str, seed: u64, operators: bool)
where
    M::Input: Input,
{
    let unrolled = tract_error::<M>(seed, Recurrence::Unrolled);
    let ops = operators.then(|| tract_error::<M>(seed, Recurrence::Operators));
    let ops_text = ops.map_or("(not run)".to_string(), |e| format!("{e:.2e}"));
    println!("{name:>12}: operators {ops_text:>9}, unrolled {unrolled:.2e}");
    assert!(unrolled <= TOL, "{name} unrolled: error {unrolled:e}");
    if let Some(e) = ops {
        assert!(e <= TOL, "{name} operators: error {e:e}");
    }
}

#[test]
fn single_recurrent_layers() {
    check::<Lstm>("lstm", 1, true);
    check::<Gru>("gru", 2, true);
    check::<Rnn>("simple_rnn", 3, true);
}

#[test]
fn stacks_and_sequence_outputs() {
    check::<Stacked>("stacked", 4, true);
    check::<ManyToMany>("many_to_many", 5, true);
}

#[test]
fn bidirectional_layers() {
    check::<BiSeq>("bi_seq", 6, true);
    check::<BiLast>("bi_last", 7, true);
    check::<BiStack>("bi_stack", 8, true);
}

#[test]
fn token_models() {
    check::<Tokens>("tokens", 9, true);
    check::<TokensBiSeq>("tokens_bi", 10, true);
}

#[test]
fn cell_activation_overrides() {
    check::<CellActs>("cell_acts", 11, false);
}

#[test]
fn dense_activations_and_dropout() {
    check::<DenseActs>("dense_acts", 12, true);
    check::<DenseActs2>("dense_acts2", 15, true);
    check::<Dropout>("dropout", 13, true);
}

#[test]
fn save_onnx_writes_the_bytes_atomically() {
    let model: Lstm = random_model(14);
    let dir = std::env::temp_dir().join(format!("rnn-onnx-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("lstm.onnx");
    onnx::save_onnx(&model, &path).unwrap();
    let written = std::fs::read(&path).unwrap();
    assert_eq!(written, onnx::to_onnx_bytes(&model).unwrap());
    // The generated method is the same call.
    model.save_onnx(&path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), written);
    // Nothing but the file is left behind.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    let err = onnx::save_onnx(&model, dir.join("missing/lstm.onnx")).unwrap_err();
    assert!(matches!(err, rnn_runtime::Error::Io { .. }), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

rnn_runtime::model! {
    /// [`CellActs`] with every cell activation at its default.
    struct CellActsDefault < input(4, 2), lstm(3, return_sequences = true),
        simple_rnn(4, return_sequences = true), gru(3, return_sequences = true),
        bidirectional(lstm(2)), dense(2) >
}

/// Why the overridden cells are checked through the unrolled form only: tract 0.23
/// runs ONNX's recurrent operators with the default activations whatever the
/// `activations` attribute says, so its output equals the default-activation twin's
/// (same weights) and not the model's. A tract that learns the attribute passes too.
#[test]
fn tract_ignores_recurrent_activations_attribute() {
    let model: CellActs = random_model(11);
    let mut twin = CellActsDefault::new(0);
    let mut values = Vec::new();
    model.visit_params(&mut |t| values.extend_from_slice(t));
    let mut at = 0;
    twin.visit_params_mut(&mut |t| {
        t.copy_from_slice(&values[at..at + t.len()]);
        at += t.len();
    });
    assert_eq!(at, values.len(), "the twin has the same parameters");
    let overridden = tract_error_against(&model, &model, 11, Recurrence::Operators);
    let defaults = tract_error_against(&model, &twin, 11, Recurrence::Operators);
    // The two references are far apart, so the test tells which one tract computed.
    let apart = tract_error_against(&twin, &model, 11, Recurrence::Unrolled);
    println!("tract operators: {overridden:.2e} from the model, {defaults:.2e} from its default twin; twin vs model {apart:.2e}");
    assert!(apart > 1e-2, "the overrides change the output: {apart:e}");
    assert!(
        overridden <= TOL || defaults <= TOL,
        "tract's output matches neither the model ({overridden:e}) nor its default twin ({defaults:e})"
    );
}

/// Exports `M` (a masked model, or with a `lengths` input when `with_lengths`), runs it
/// in tract on padded batches of 1 and 7 samples and returns the largest absolute
/// difference from `forward` (or `forward_lengths`), or tract's reason for refusing
/// the graph.
fn masked_error<M: Network>(
    seed: u64,
    recurrence: Recurrence,
    with_lengths: bool,
) -> TractResult<f64>
where
    M::Input: Input,
{
    let model: M = random_model(seed);
    let bytes = if with_lengths {
        onnx::to_onnx_bytes_with_lengths(&model, recurrence).unwrap()
    } else {
        onnx::to_onnx_bytes_with(&model, recurrence).unwrap()
    };
    let padding = M::ARCHITECTURE.padding;
    assert_eq!(
        padding.is_none(),
        with_lengths,
        "a model reads its lengths one way"
    );
    let mut rng = Rng::new(seed);
    let mut worst = 0.0f64;
    for batch in [1, 7] {
        let width = if M::VOCAB == 0 { M::FEATURES } else { 1 };
        let (values, lengths) = models::padded_batch(
            &mut rng,
            batch,
            M::TIMESTEPS,
            width,
            padding.is_some(),
            padding.map(M::Input::pad),
            |rng| M::Input::draw_valid(rng, M::VOCAB),
        );
        let mut shape = vec![batch, M::TIMESTEPS];
        if M::VOCAB == 0 {
            shape.push(M::FEATURES);
        }
        let x = ArrayD::from_shape_vec(IxDyn(&shape), values).unwrap();
        let mut inputs = vec![M::Input::tensor(&x)];
        let want = if with_lengths {
            let given: Vec<i64> = lengths.iter().map(|&l| l as i64).collect();
            inputs.push(Tensor::from_shape(&[batch], &given).unwrap());
            rnn_runtime::forward_lengths(&model, x.view(), &lengths).unwrap()
        } else {
            rnn_runtime::forward(&model, x.view()).unwrap()
        };
        let plan = plan_inputs(&bytes, recurrence, &inputs)?;
        let got = plan.run(inputs.into_iter().map(|t| t.into_tvalue()).collect())?;
        let got = got[0].to_plain_array_view::<f32>().unwrap();
        assert_eq!(got.shape(), want.shape(), "output shape");
        worst = worst.max(max_abs_diff(got.iter(), want.iter()));
    }
    Ok(worst)
}

/// Checks `M`'s unrolled masked export in tract and prints the error.
fn check_masked<M: Network>(name: &str, seed: u64, with_lengths: bool)
where
    M::Input: Input,
{
    let err = masked_error::<M>(seed, Recurrence::Unrolled, with_lengths).unwrap();
    println!("{name:>16}: unrolled {err:.2e}");
    assert!(err <= TOL, "{name} unrolled: error {err:e}");
}

#[test]
fn masked_models_read_their_lengths_from_the_padding() {
    check_masked::<MaskedLstm>("masked_lstm", 21, false);
    check_masked::<MaskedBiSeq>("masked_bi_seq", 22, false);
    check_masked::<MaskedStack>("masked_stack", 23, false);
    check_masked::<TokensMaskedBi>("tokens_masked_bi", 24, false);
    check_masked::<TokensMaskedSeq>("tokens_masked_seq", 25, false);
}

#[test]
fn a_lengths_input_carries_fit_lengths() {
    check_masked::<Lstm>("lstm", 31, true);
    check_masked::<Stacked>("stacked", 32, true);
    check_masked::<ManyToMany>("many_to_many", 33, true);
    check_masked::<BiSeq>("bi_seq", 34, true);
    check_masked::<BiLast>("bi_last", 35, true);
    check_masked::<TokensBiSeq>("tokens_bi", 36, true);
}

#[test]
fn a_masked_model_has_no_lengths_input() {
    let model: MaskedLstm = random_model(1);
    let err = onnx::to_onnx_bytes_with_lengths(&model, Recurrence::Operators).unwrap_err();
    assert!(matches!(err, rnn_runtime::Error::OnnxExport(_)), "{err}");
    assert!(err.to_string().contains("masking(0)"), "{err}");
}

/// Why masked models are checked in tract through the unrolled form only: tract 0.23
/// refuses `sequence_lens` unless every sample has the same length (ONNX Runtime runs
/// the operator form: `scripts/onnx_check.py`). A tract that learns it must match.
#[test]
fn tract_refuses_uneven_sequence_lens() {
    for result in [
        masked_error::<MaskedLstm>(21, Recurrence::Operators, false),
        masked_error::<Lstm>(31, Recurrence::Operators, true),
    ] {
        match result {
            Ok(err) => assert!(err <= TOL, "tract ran sequence_lens, off by {err:e}"),
            Err(e) => {
                let e = format!("{e:?}");
                println!(
                    "tract refuses the operator form: {}",
                    e.lines().next().unwrap_or("")
                );
                assert!(
                    e.contains("seq_len"),
                    "tract refused it for another reason: {e}"
                );
            }
        }
    }
}

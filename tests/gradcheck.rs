//! Finite-difference checks of the generated backward passes: for small random
//! models of every layer kind and option, every analytic gradient must match the
//! central difference of the loss.

use ndarray::{ArrayD, Axis};
use rnn_runtime::rng::Rng;
use rnn_runtime::{loss_and_grads, model, Loss, Network, Params};

/// Finite-difference step. The five-point stencil's truncation error is O(STEP⁴)
/// (~1e-8 here); in f32 the loss is exact to ~1e-7 relative, so rounding contributes
/// ~1e-7 · loss / STEP ≈ 1e-5. The tolerance below sits a few times above both,
/// tight enough that a 1% error in any gradient entry of size > 1e-2 fails.
const STEP: f32 = 1e-2;
const ABS_TOL: f64 = 5e-5;
const REL_TOL: f64 = 2e-3;

/// A random input element: a feature in [-1, 1), or a token id below the vocabulary.
trait RandomInput: Copy {
    fn random(rng: &mut Rng, vocab: usize) -> Self;
}

impl RandomInput for f32 {
    fn random(rng: &mut Rng, _: usize) -> Self {
        rng.uniform(-1.0, 1.0) as f32
    }
}

impl RandomInput for u32 {
    fn random(rng: &mut Rng, vocab: usize) -> Self {
        rng.below(vocab) as u32
    }
}

/// A random batch and targets as `loss` reads them (class ids for the sparse form,
/// probability rows for the categorical one, 0/1 for binary cross-entropy).
fn random_batch<M: Network>(
    rng: &mut Rng,
    batch: usize,
    loss: Loss,
) -> (ArrayD<M::Input>, ArrayD<f32>)
where
    M::Input: RandomInput,
{
    let x_shape = if M::VOCAB > 0 {
        vec![batch, M::TIMESTEPS]
    } else {
        vec![batch, M::TIMESTEPS, M::FEATURES]
    };
    let x = ArrayD::from_shape_simple_fn(x_shape, || M::Input::random(rng, M::VOCAB));
    let width = loss.target_width(M::OUTPUTS);
    let mut y_shape = vec![batch];
    if M::OUTPUT_STEPS > 1 {
        y_shape.push(M::OUTPUT_STEPS);
    }
    y_shape.push(width);
    let mut y = ArrayD::from_shape_simple_fn(y_shape, || match loss {
        Loss::SparseCategoricalCrossentropy => rng.below(M::OUTPUTS) as f32,
        Loss::BinaryCrossentropy => rng.below(2) as f32,
        Loss::CategoricalCrossentropy => rng.uniform(0.05, 1.0) as f32,
        // Far from every output, so no finite-difference step crosses |d|'s kink.
        Loss::Mae => (if rng.below(2) == 0 { -5.0 } else { 5.0 }) + rng.uniform(-1.0, 1.0) as f32,
        _ => rng.uniform(-1.0, 1.0) as f32,
    });
    if loss == Loss::CategoricalCrossentropy {
        for mut row in y.rows_mut() {
            let sum: f32 = row.sum();
            row.mapv_inplace(|v| v / sum);
        }
    }
    (x, y)
}

/// Moves every parameter off Keras's init (zero biases would hide bias bugs) and
/// checks every gradient entry of the MSE against the central difference.
fn check<M: Network>(seed: u64)
where
    M::Input: RandomInput,
{
    check_with::<M>(seed, Loss::Mse);
}

/// A gradient entry at least this large in every parameter tensor: 20 times
/// `ABS_TOL`, so that every tensor's comparison could fail, and a model whose
/// gradients vanish in some layer (a dead ReLU, a saturated gate) is not taken for a
/// checked one.
const LIVE_GRADIENT: f32 = 1e-3;

/// [`check`] for `loss`, in training mode: dropout masks are drawn from a fixed seed,
/// so the loss is a deterministic function of the parameters.
fn check_with<M: Network>(seed: u64, loss: Loss)
where
    M::Input: RandomInput,
{
    check_batch::<M>(seed, loss, 3, &[]);
}

/// The model `check_with` checks: its init moved off Keras's (zero biases would hide
/// bias bugs), and the random stream positioned for the batch.
fn moved_model<M: Network>(seed: u64) -> (M, Rng) {
    let mut rng = Rng::new(seed);
    let mut model = M::init(seed);
    model.visit_params_mut(&mut |t| {
        t.iter_mut()
            .for_each(|v| *v += rng.uniform(-0.3, 0.3) as f32)
    });
    (model, rng)
}

/// [`check_with`] on a batch of `batch` samples: batches of 32 or more are split into
/// several shards, whose gradients are reduced into the batch's.
/// `zero` names the tensors whose gradient must be exactly zero (a recurrent kernel
/// that multiplies only the zero initial state of a one-step sequence); every other
/// tensor must have a gradient entry of at least [`LIVE_GRADIENT`].
fn check_batch<M: Network>(seed: u64, loss: Loss, batch: usize, zero: &[&str])
where
    M::Input: RandomInput,
{
    let (mut model, mut rng) = moved_model::<M>(seed);
    let (x, y) = random_batch::<M>(&mut rng, batch, loss);
    let dropout_seed = seed + 100;
    let (_, grads) = loss_and_grads(&model, x.view(), y.view(), loss, dropout_seed).expect("grads");
    let analytic = grads.as_slice().to_vec();
    assert_every_tensor_live::<M>(&analytic, zero);
    let mut numeric = Vec::with_capacity(M::PARAMS);
    for index in 0..M::PARAMS {
        let mut loss_at = |delta: f32| {
            nudge(&mut model, index, delta);
            let value = loss_and_grads(&model, x.view(), y.view(), loss, dropout_seed)
                .expect("loss")
                .0;
            nudge(&mut model, index, -delta);
            value as f64
        };
        let near = loss_at(STEP) - loss_at(-STEP);
        let far = loss_at(2.0 * STEP) - loss_at(-2.0 * STEP);
        numeric.push((8.0 * near - far) / (12.0 * STEP as f64));
    }
    let mut at = 0;
    for spec in M::param_specs() {
        for k in 0..spec.len() {
            let (a, n) = (analytic[at + k] as f64, numeric[at + k]);
            assert!(
                (a - n).abs() <= ABS_TOL + REL_TOL * n.abs(),
                "{}[{k}]: analytic {a:.6e}, finite difference {n:.6e}",
                spec.name
            );
        }
        at += spec.len();
    }
}

/// Every parameter tensor but those named in `zero` has a gradient entry of at least
/// [`LIVE_GRADIENT`]; those in `zero` have a gradient of exactly zero.
fn assert_every_tensor_live<M: Network>(grads: &[f32], zero: &[&str]) {
    assert!(grads.iter().all(|g| g.is_finite()), "non-finite gradient");
    let mut at = 0;
    for spec in M::param_specs() {
        let largest = grads[at..at + spec.len()]
            .iter()
            .fold(0.0f32, |m, g| m.max(g.abs()));
        at += spec.len();
        if zero.contains(&spec.name) {
            assert_eq!(largest, 0.0, "{}: structurally zero", spec.name);
            continue;
        }
        assert!(
            largest >= LIVE_GRADIENT,
            "{}: largest |gradient| {largest:e}: the tensor's gradient vanishes, so the check \
             cannot see it (choose another seed or architecture)",
            spec.name
        );
    }
    assert_eq!(at, grads.len());
}

fn nudge<M: Params>(model: &mut M, index: usize, delta: f32) {
    let mut at = 0;
    model.visit_params_mut(&mut |t| {
        if (at..at + t.len()).contains(&index) {
            t[index - at] += delta;
        }
        at += t.len();
    });
}

model! { struct Lstm < input(5, 3), lstm(4), dense(2) > }
model! { struct Gru < input(5, 3), gru(4), dense(2) > }
model! { struct Rnn < input(5, 3), simple_rnn(4), dense(2) > }
model! { struct LstmOnly < input(4, 2), lstm(3) > }
model! { struct StackedLstm < input(4, 2), lstm(3, return_sequences = true), lstm(3), dense(1) > }
model! { struct StackedGru < input(4, 2), gru(3, return_sequences = true), gru(2) > }
model! { struct StackedRnn < input(4, 2), simple_rnn(3, return_sequences = true), simple_rnn(2, return_sequences = false), dense(1) > }
model! { struct Mixed < input(3, 2), gru(3, return_sequences = true), simple_rnn(3, return_sequences = true), lstm(2), dense(2) > }
model! { struct Relu < input(3, 2), lstm(3), dense(4, activation = relu), dense(1) > }
model! { struct Tanh < input(3, 2), gru(3), dense(3, activation = tanh), dense(2, activation = linear) > }
model! { struct Sigmoid < input(3, 2), simple_rnn(3), dense(3, activation = sigmoid), dense(1) > }
model! { struct SingleStep < input(1, 2), lstm(3), dense(1) > }
model! { struct OneFeature < input(4, 1), gru(3, return_sequences = true), lstm(3), dense(1) > }

#[test]
fn lstm() {
    check::<Lstm>(1);
}
#[test]
fn gru() {
    check::<Gru>(2);
}
#[test]
fn simple_rnn() {
    check::<Rnn>(3);
}
#[test]
fn recurrent_output_without_dense() {
    check::<LstmOnly>(4);
}
#[test]
fn stacked_lstm_with_return_sequences() {
    check::<StackedLstm>(5);
}
#[test]
fn stacked_gru() {
    check::<StackedGru>(6);
}
#[test]
fn stacked_simple_rnn() {
    check::<StackedRnn>(7);
}
#[test]
fn mixed_cell_kinds() {
    check::<Mixed>(8);
}
#[test]
fn dense_relu() {
    check::<Relu>(9);
}
#[test]
fn dense_tanh() {
    check::<Tanh>(10);
}
#[test]
fn dense_sigmoid() {
    check::<Sigmoid>(11);
}
#[test]
fn one_time_step() {
    // One step from the zero state: the recurrent kernel multiplies only zeros.
    check_batch::<SingleStep>(12, Loss::Mse, 3, &["0.weight_hh"]);
}
#[test]
fn one_input_feature() {
    check::<OneFeature>(13);
}

model! { struct ManyToMany < input(4, 3), lstm(3, return_sequences = true), dense(2) > }
model! { struct SeqStack < input(4, 2), gru(3, return_sequences = true), dense(3, activation = tanh), simple_rnn(2, return_sequences = true) > }
model! { struct DenseFirst < input(3, 2), dense(3, activation = relu), lstm(2), dense(1) > }
model! { struct BiLstm < input(4, 2), bidirectional(lstm(2)), dense(1) > }
model! { struct BiGruSeq < input(4, 2), bidirectional(gru(2, return_sequences = true)), dense(2) > }
model! { struct BiRnnStack < input(3, 2), bidirectional(simple_rnn(2, return_sequences = true)), bidirectional(lstm(2)), dense(1) > }
model! { struct Tokens < input(4), embedding(5, 3), gru(3), dense(2) > }
model! { struct TokensBiSeq < input(4), embedding(6, 2), bidirectional(lstm(2, return_sequences = true)), dense(3) > }
model! { struct Dropouts < input(4, 3), lstm(3, dropout = 0.3, recurrent_dropout = 0.4, return_sequences = true), dropout(0.25), gru(3, recurrent_dropout = 0.3), dropout(0.2), dense(2) > }
model! { struct BiDropout < input(3, 2), bidirectional(gru(2, dropout = 0.3, recurrent_dropout = 0.3)), dense(1) > }
model! { struct CellActivations < input(3, 2), lstm(3, return_sequences = true, activation = relu, recurrent_activation = tanh), gru(3, return_sequences = true, activation = sigmoid, recurrent_activation = linear), simple_rnn(2, activation = linear), dense(1) > }
model! { struct Classifier < input(4, 2), lstm(3), dense(4) > }
model! { struct Tagger < input(3, 2), gru(3, return_sequences = true), dense(3) > }

#[test]
fn many_to_many() {
    check::<ManyToMany>(14);
}
#[test]
fn per_step_dense_between_recurrent_layers() {
    check::<SeqStack>(15);
}
#[test]
fn per_step_dense_on_the_input() {
    check::<DenseFirst>(16);
}
#[test]
fn bidirectional_lstm() {
    check::<BiLstm>(17);
}
#[test]
fn bidirectional_gru_sequence() {
    check::<BiGruSeq>(18);
}
#[test]
fn stacked_bidirectional() {
    check::<BiRnnStack>(19);
}
#[test]
fn embedding() {
    check::<Tokens>(20);
}
#[test]
fn embedding_bidirectional_sequence() {
    check::<TokensBiSeq>(21);
}
#[test]
fn dropout_layers_and_options() {
    check::<Dropouts>(22);
}
#[test]
fn bidirectional_dropout() {
    check::<BiDropout>(23);
}
#[test]
fn cell_activation_overrides() {
    check::<CellActivations>(28);
}
#[test]
fn losses_many_to_one() {
    for (i, loss) in [
        Loss::Mae,
        Loss::Huber(0.5),
        Loss::BinaryCrossentropy,
        Loss::CategoricalCrossentropy,
        Loss::SparseCategoricalCrossentropy,
    ]
    .into_iter()
    .enumerate()
    {
        check_with::<Classifier>(30 + i as u64, loss);
    }
}
#[test]
fn losses_many_to_many() {
    for (i, loss) in [
        Loss::BinaryCrossentropy,
        Loss::CategoricalCrossentropy,
        Loss::SparseCategoricalCrossentropy,
    ]
    .into_iter()
    .enumerate()
    {
        check_with::<Tagger>(40 + i as u64, loss);
    }
}
model! { struct NewActivations < input(3, 2), gru(3), dense(4, activation = gelu), dense(4, activation = elu), dense(3, activation = softplus), dense(3, activation = softmax) > }
#[test]
fn dense_gelu_elu_softplus_softmax() {
    check::<NewActivations>(25);
}

/// Batches of 45 (two shards, of 22 and 23 samples), 48 (three of 16) and 64 (four of
/// 16): the sharded reduction gives the gradient of the whole batch's mean loss. It
/// matches the finite difference, and the mean of the gradients of parts of at most 15
/// samples (one shard each) weighted by their sizes, computed with every sample in a
/// single shard. A reduction that weighted uneven shards equally, or summed shard means,
/// fails the second check (Adam's invariance to the gradient's scale would hide it in
/// training).
fn check_shards<M: Network>(seed: u64, loss: Loss)
where
    M::Input: RandomInput,
{
    for batch in [45, 48, 64] {
        let (model, mut rng) = moved_model::<M>(seed);
        let (x, y) = random_batch::<M>(&mut rng, batch, loss);
        let (value, grads) = loss_and_grads(&model, x.view(), y.view(), loss, 0).expect("grads");
        let (mut want_value, mut want) = (0.0f64, vec![0.0f64; M::PARAMS]);
        for start in (0..batch).step_by(15) {
            let rows = ndarray::Slice::from(start..(start + 15).min(batch));
            let part_x = x.slice_axis(Axis(0), rows);
            let part_y = y.slice_axis(Axis(0), rows);
            let weight = part_x.len_of(Axis(0)) as f64 / batch as f64;
            let (v, g) = loss_and_grads(&model, part_x, part_y, loss, 0).expect("part");
            want_value += weight * f64::from(v);
            for (w, g) in want.iter_mut().zip(g.as_slice()) {
                *w += weight * f64::from(*g);
            }
        }
        let close = |got: f32, want: f64| (f64::from(got) - want).abs() <= 1e-6 + 1e-5 * want.abs();
        assert!(
            close(value, want_value),
            "batch {batch}: loss {value} vs {want_value} from single-shard parts"
        );
        let mut at = 0;
        for spec in M::param_specs() {
            for k in 0..spec.len() {
                let (g, w) = (grads.as_slice()[at + k], want[at + k]);
                assert!(
                    close(g, w),
                    "batch {batch}: {}[{k}]: sharded {g:e}, single-shard parts {w:e}",
                    spec.name
                );
            }
            at += spec.len();
        }
        check_batch::<M>(seed, loss, batch, &[]);
    }
}

#[test]
fn several_shards_many_to_one() {
    check_shards::<Lstm>(50, Loss::Mse);
}

#[test]
fn several_shards_sequence_output_and_cross_entropy() {
    check_shards::<Tagger>(51, Loss::SparseCategoricalCrossentropy);
}

#[test]
fn several_shards_with_dropout_match_finite_differences() {
    // Masks follow the sample's index in the batch, so only the batch as a whole has
    // a reference: the finite difference.
    for batch in [45, 64] {
        check_batch::<Dropouts>(52, Loss::Mse, batch, &[]);
    }
}

model! {
    struct LinearRelu < input(3, 2),
        lstm(3, return_sequences = true, activation = linear, recurrent_activation = relu),
        gru(3, activation = linear, recurrent_activation = relu), dense(2) >
}
model! {
    struct ReluLinear < input(3, 2),
        gru(3, return_sequences = true, activation = relu, recurrent_activation = linear),
        lstm(3, activation = tanh, recurrent_activation = linear), dense(2) >
}

#[test]
fn linear_and_relu_cell_activations() {
    // Seeds where no stencil crosses a ReLU kink (this check cannot tell a kink from a
    // wrong gradient; the kernel-level checks in the runtime can, and cover every pair).
    check::<LinearRelu>(26);
    check::<ReluLinear>(27);
}

//! Variable-length batches: for random lengths, each sample's outputs and gradients in a
//! padded batch equal those of the same sample run alone at its own length (a model of
//! that many steps with the same weights), and the padding never reaches an output, a
//! loss or a gradient. Models that read their lengths from the padding (`masking`,
//! `mask_zero`) agree with the same lengths given explicitly, padded on either side.

use ndarray::{s, Array2, Array3, ArrayD, IxDyn};
use proptest::prelude::*;
use rnn_runtime::{
    forward, forward_lengths, loss_and_grads, loss_and_grads_lengths, model, Error, Loss, Network,
};

/// Declares `$name` with `T` = 6 and one model per shorter length with the same
/// layers, so that a sample can be run alone at its own length.
macro_rules! at_every_length {
    ($name:ident [$($short:ident = $len:literal),*] ($f:literal) $layers:tt) => {
        declare!($name, 6, $f, $layers);
        $( declare!($short, $len, $f, $layers); )*
    };
}

macro_rules! declare {
    ($name:ident, $t:literal, $f:literal, { $($layers:tt)* }) => {
        model! { struct $name < input($t, $f), $($layers)* > }
    };
}

at_every_length! {
    BiSeq [BiSeq1 = 1, BiSeq2 = 2, BiSeq3 = 3, BiSeq4 = 4, BiSeq5 = 5, BiSeq6 = 6]
    (2) { bidirectional(lstm(3, return_sequences = true)), dense(2) }
}
at_every_length! {
    Stacked [Stacked1 = 1, Stacked2 = 2, Stacked3 = 3, Stacked4 = 4, Stacked5 = 5, Stacked6 = 6]
    (2) { gru(4, return_sequences = true), simple_rnn(3), dense(1) }
}
at_every_length! {
    BiLast [BiLast1 = 1, BiLast2 = 2, BiLast3 = 3, BiLast4 = 4, BiLast5 = 5, BiLast6 = 6]
    (2) { bidirectional(gru(2)), dense(2) }
}
model! { struct Tokens < input(6), embedding(9, 3, mask_zero = true), lstm(3), dense(2) > }
model! { struct Masked < input(6, 2), masking(0.0), gru(3, return_sequences = true), dense(1) > }
model! { struct MaskedLast < input(6, 2), masking(-1.0), lstm(3), dense(2) > }
model! { struct BiMasked < input(6, 2), masking(0.0), bidirectional(lstm(2, return_sequences = true)), dense(1) > }
model! { struct BiTokens < input(6), embedding(9, 3, mask_zero = true), bidirectional(gru(2)), dense(2) > }

/// A model of another length with the weights of `net`.
fn twin<A: Network, B: Network>(net: &A) -> B {
    let mut values = Vec::with_capacity(A::PARAMS);
    net.visit_params(&mut |t| values.extend_from_slice(t));
    let mut twin = B::init(0);
    let mut at = 0;
    twin.visit_params_mut(&mut |t| {
        t.copy_from_slice(&values[at..at + t.len()]);
        at += t.len();
    });
    assert_eq!(at, values.len(), "the twin has other parameters");
    twin
}

fn close(a: &[f32], b: &[f32], what: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(a.len(), b.len(), "{}: lengths", what);
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let tol = 1e-5 + 1e-4 * x.abs().max(y.abs());
        prop_assert!((x - y).abs() <= tol, "{}[{}]: {} vs {}", what, i, x, y);
    }
    Ok(())
}

/// One sample's results when it runs alone: its output, its loss times its weight in
/// the batch's mean, and its gradients times the same.
struct Alone {
    output: ArrayD<f32>,
    loss: f64,
    grads: Vec<f64>,
}

/// Sample `i` of `(x, y)` alone in model `Short`, the twin of `net` at its length.
fn alone<Full: Network, Short: Network<Input = f32>>(
    net: &Full,
    x: &Array3<f32>,
    y: &ArrayD<f32>,
    i: usize,
) -> Alone {
    let short: Short = twin(net);
    let len = Short::TIMESTEPS;
    let xi = x.slice(s![i..i + 1, ..len, ..]).to_owned().into_dyn();
    // A sequence model of one step has one output step: its target is `[1, OUTPUTS]`.
    let yi = if Full::OUTPUT_STEPS > 1 {
        let yi = y.slice(s![i..i + 1, ..len, ..]).to_owned();
        let mut shape = vec![1, Short::OUTPUT_STEPS, Short::OUTPUTS];
        if Short::OUTPUT_STEPS == 1 {
            shape.remove(1);
        }
        yi.into_shape_with_order(shape).unwrap().into_dyn()
    } else {
        y.slice(s![i..i + 1, ..]).to_owned().into_dyn()
    };
    let output = forward(&short, xi.view()).unwrap();
    let (loss, grads) = loss_and_grads(&short, xi.view(), yi.view(), Loss::Mse, 0).unwrap();
    // In the batch's mean a sample counts once per valid output step.
    let weight = if Full::OUTPUT_STEPS > 1 {
        len as f64
    } else {
        1.0
    };
    Alone {
        output,
        loss: loss as f64 * weight,
        grads: grads
            .as_slice()
            .iter()
            .map(|&g| g as f64 * weight)
            .collect(),
    }
}

/// `alone::<Full, ShortN>` for the model of length `len` among `$short` (lengths 1…).
macro_rules! alone_at {
    ($len:expr, [$($short:ident),*], $($arg:expr),*) => {{
        let shorts: &[fn(&_, &Array3<f32>, &ArrayD<f32>, usize) -> Alone] = &[$(alone::<_, $short>),*];
        shorts[$len - 1]($($arg),*)
    }};
}

/// A batch of `lengths.len()` samples of 6 steps and `f` features, each padded with
/// `fill` after its length.
fn padded(values: &[f32], lengths: &[usize], f: usize, fill: f32) -> Array3<f32> {
    Array3::from_shape_fn((lengths.len(), 6, f), |(i, t, j)| {
        if t < lengths[i] {
            values[((i * 6 + t) * f + j) % values.len()]
        } else {
            fill
        }
    })
}

/// Checks a model `Full` against each sample alone: outputs (0 at padded steps), the
/// loss and the gradients, with the padding filled with two different values.
fn check_each_sample<Full: Network<Input = f32>>(
    lengths: &[usize],
    values: &[f32],
    run_alone: impl Fn(&Full, &Array3<f32>, &ArrayD<f32>, usize, usize) -> Alone,
) -> Result<(), TestCaseError> {
    let net = Full::init(3);
    let n = lengths.len();
    let x = padded(values, lengths, Full::FEATURES, 7.0);
    let mut shape = vec![n];
    if Full::OUTPUT_STEPS > 1 {
        shape.push(Full::OUTPUT_STEPS);
    }
    shape.push(Full::OUTPUTS);
    let y = ArrayD::from_shape_fn(IxDyn(&shape), |ix| {
        values[(ix[0] * 5 + ix[1] * 3) % values.len()]
    });
    let out = forward_lengths(&net, x.view().into_dyn(), lengths).unwrap();
    let (loss, grads) =
        loss_and_grads_lengths(&net, x.view().into_dyn(), y.view(), lengths, Loss::Mse, 0).unwrap();
    let mut loss_sum = 0.0;
    let mut grad_sum = vec![0.0f64; Full::PARAMS];
    let mut weight = 0.0;
    for (i, &len) in lengths.iter().enumerate() {
        let one = run_alone(&net, &x, &y, i, len);
        if Full::OUTPUT_STEPS > 1 {
            let valid = out.slice(s![i, ..len, ..]).to_owned();
            close(
                valid.as_slice().unwrap(),
                one.output.as_slice().unwrap(),
                "output",
            )?;
            prop_assert!(
                out.slice(s![i, len.., ..]).iter().all(|&v| v == 0.0),
                "padded steps are 0"
            );
            weight += len as f64;
        } else {
            let row = out.slice(s![i, ..]).to_owned();
            close(
                row.as_slice().unwrap(),
                one.output.as_slice().unwrap(),
                "output",
            )?;
            weight += 1.0;
        }
        loss_sum += one.loss;
        grad_sum
            .iter_mut()
            .zip(&one.grads)
            .for_each(|(s, g)| *s += g);
    }
    close(&[loss], &[(loss_sum / weight) as f32], "loss")?;
    let mean: Vec<f32> = grad_sum.iter().map(|g| (g / weight) as f32).collect();
    close(grads.as_slice(), &mean, "gradients")?;
    // Other padding: the same bits everywhere.
    let other = padded(values, lengths, Full::FEATURES, -123.0);
    let out2 = forward_lengths(&net, other.view().into_dyn(), lengths).unwrap();
    let (loss2, grads2) = loss_and_grads_lengths(
        &net,
        other.view().into_dyn(),
        y.view(),
        lengths,
        Loss::Mse,
        0,
    )
    .unwrap();
    prop_assert_eq!(out, out2);
    prop_assert_eq!(loss.to_bits(), loss2.to_bits());
    prop_assert_eq!(grads.as_slice(), grads2.as_slice());
    Ok(())
}

fn strategy() -> impl Strategy<Value = (Vec<usize>, Vec<f32>)> {
    (
        prop::collection::vec(1usize..=6, 1..7),
        prop::collection::vec(-1.0f32..1.0, 48),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn bidirectional_sequences_match_each_sample_alone((lengths, values) in strategy()) {
        check_each_sample::<BiSeq>(&lengths, &values, |net, x, y, i, len| {
            alone_at!(len, [BiSeq1, BiSeq2, BiSeq3, BiSeq4, BiSeq5, BiSeq6], net, x, y, i)
        })?;
    }

    #[test]
    fn bidirectional_last_states_match_each_sample_alone((lengths, values) in strategy()) {
        check_each_sample::<BiLast>(&lengths, &values, |net, x, y, i, len| {
            alone_at!(len, [BiLast1, BiLast2, BiLast3, BiLast4, BiLast5, BiLast6], net, x, y, i)
        })?;
    }

    #[test]
    fn stacked_layers_match_each_sample_alone((lengths, values) in strategy()) {
        check_each_sample::<Stacked>(&lengths, &values, |net, x, y, i, len| {
            alone_at!(len, [Stacked1, Stacked2, Stacked3, Stacked4, Stacked5, Stacked6], net, x, y, i)
        })?;
    }

    /// A `mask_zero` model reads the lengths its padding gives: the same results as
    /// those lengths given explicitly, whatever ids the padding would otherwise hold.
    #[test]
    fn mask_zero_reads_lengths_from_padding((lengths, values) in strategy()) {
        let net = Tokens::new(1);
        let n = lengths.len();
        let ids = Array2::from_shape_fn((n, 6), |(i, t)| {
            if t < lengths[i] { 1 + (values[i * 6 + t].abs() * 7.0) as u32 } else { 0 }
        });
        let y = Array2::from_shape_fn((n, 2), |(i, j)| values[i + j]);
        let by_padding = forward(&net, ids.view().into_dyn()).unwrap();
        prop_assert_eq!(&by_padding, &forward_lengths(&net, ids.view().into_dyn(), &lengths).unwrap());
        let (l1, g1) = loss_and_grads(&net, ids.view().into_dyn(), y.view().into_dyn(), Loss::Mse, 0).unwrap();
        let (l2, g2) = loss_and_grads_lengths(&net, ids.view().into_dyn(), y.view().into_dyn(), &lengths, Loss::Mse, 0).unwrap();
        prop_assert_eq!((l1.to_bits(), g1.as_slice()), (l2.to_bits(), g2.as_slice()));
        // Each sample's output is its own: the stream of its valid ids gives it too.
        for (i, &len) in lengths.iter().enumerate() {
            let mut stream = net.stream();
            let mut last = [0.0; 2];
            for t in 0..len {
                last = stream.push(ids[[i, t]]).unwrap();
            }
            close(&last, by_padding.slice(s![i, ..]).as_slice().unwrap(), "stream")?;
        }
    }

    /// `masking(0.0)`: padding before the steps (Keras's default) or after them gives the
    /// same outputs, moved with the steps.
    #[test]
    fn masking_pads_on_either_side((lengths, values) in strategy()) {
        let net = Masked::new(2);
        let n = lengths.len();
        // Valid steps never equal the mask value in both features.
        let value = |i: usize, t: usize, j: usize| 0.1 + values[((i * 6 + t) * 2 + j) % values.len()].abs();
        let after = Array3::from_shape_fn((n, 6, 2), |(i, t, j)| if t < lengths[i] { value(i, t, j) } else { 0.0 });
        let before = Array3::from_shape_fn((n, 6, 2), |(i, t, j)| {
            let pad = 6 - lengths[i];
            if t >= pad { value(i, t - pad, j) } else { 0.0 }
        });
        let out_after = forward(&net, after.view().into_dyn()).unwrap();
        let out_before = forward(&net, before.view().into_dyn()).unwrap();
        prop_assert_eq!(&out_after, &forward_lengths(&net, after.view().into_dyn(), &lengths).unwrap());
        for (i, &len) in lengths.iter().enumerate() {
            let pad = 6 - len;
            prop_assert_eq!(out_after.slice(s![i, ..len, ..]), out_before.slice(s![i, pad.., ..]));
            prop_assert!(out_before.slice(s![i, ..pad, ..]).iter().all(|&v| v == 0.0));
        }
    }
}

/// Samples of `lengths`, padded with `pad` before their steps where `before`, after
/// them otherwise; valid values never equal `pad`.
fn padded_either_side(values: &[f32], lengths: &[usize], pad: f32, before: bool) -> Array3<f32> {
    Array3::from_shape_fn((lengths.len(), 6, 2), |(i, t, j)| {
        let start = if before { 6 - lengths[i] } else { 0 };
        if (start..start + lengths[i]).contains(&t) {
            0.1 + values[((i * 6 + t) * 2 + j) % values.len()].abs()
        } else {
            pad
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// The single-sample paths skip padded steps: `predict_one`, `forward_from` and a
    /// stream give what the batch gives, padding before or after the steps.
    #[test]
    fn single_sample_paths_skip_padding((lengths, values) in strategy(), before: bool) {
        let x = padded_either_side(&values, &lengths, 0.0, before);
        let seq = Masked::new(4);
        let bi = BiMasked::new(5);
        let (batch_seq, batch_bi) = (seq.predict(&x).unwrap(), bi.predict(&x).unwrap());
        let states = vec![MaskedState::new(); lengths.len()];
        let (from, _) = seq.forward_from(&x, &states).unwrap();
        // The single-sample kernels agree with the batch's to rounding.
        close(from.as_slice().unwrap(), batch_seq.as_slice().unwrap(), "forward_from")?;
        for i in 0..lengths.len() {
            let sample: [[f32; 2]; 6] = std::array::from_fn(|t| [x[[i, t, 0]], x[[i, t, 1]]]);
            let one: Vec<f32> = seq.predict_one(&sample).iter().flatten().copied().collect();
            close(&one, batch_seq.slice(s![i, .., ..]).to_owned().as_slice().unwrap(), "predict_one")?;
            let one: Vec<f32> = bi.predict_one(&sample).iter().flatten().copied().collect();
            close(&one, batch_bi.slice(s![i, .., ..]).to_owned().as_slice().unwrap(), "bidirectional predict_one")?;
            let mut stream = seq.stream();
            for (t, step) in sample.iter().enumerate() {
                let out = stream.push(step);
                close(&out, batch_seq.slice(s![i, t, ..]).as_slice().unwrap(), "push")?;
            }
            prop_assert_eq!(stream.steps(), 6);
        }
        // A last-state model: padded steps keep the state, so a push of padding
        // returns the output of the last valid step.
        let x = padded_either_side(&values, &lengths, -1.0, before);
        let last = MaskedLast::new(6);
        let batch = last.predict(&x).unwrap();
        for i in 0..lengths.len() {
            let sample: [[f32; 2]; 6] = std::array::from_fn(|t| [x[[i, t, 0]], x[[i, t, 1]]]);
            close(&last.predict_one(&sample), batch.slice(s![i, ..]).as_slice().unwrap(), "predict_one")?;
            let mut stream = last.stream();
            let mut out = [0.0; 2];
            for step in &sample {
                out = stream.push(step);
            }
            close(&out, batch.slice(s![i, ..]).as_slice().unwrap(), "push")?;
        }
    }

    /// A bidirectional token model: `predict_one` runs each direction over the valid ids
    /// only, as the batch does.
    #[test]
    fn bidirectional_tokens_skip_padding((lengths, values) in strategy()) {
        let net = BiTokens::new(8);
        let ids = Array2::from_shape_fn((lengths.len(), 6), |(i, t)| {
            if t < lengths[i] { 1 + (values[i * 6 + t].abs() * 7.0) as u32 } else { 0 }
        });
        let batch = net.predict(&ids).unwrap();
        for i in 0..lengths.len() {
            let sample: [u32; 6] = std::array::from_fn(|t| ids[[i, t]]);
            close(&net.predict_one(&sample).unwrap(), batch.slice(s![i, ..]).as_slice().unwrap(), "predict_one")?;
        }
    }
}

#[test]
fn padding_inside_a_sample_is_refused() {
    let net = Masked::new(0);
    let mut x = Array3::from_elem((2, 6, 2), 0.5f32);
    x.slice_mut(s![1, 2, ..]).fill(0.0);
    let err = forward(&net, x.view().into_dyn()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::PaddingInside {
                sample: 1,
                padding: 2,
                valid: 5
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("pad each sample on one side only"),
        "{err}"
    );
    // A sample that is all padding has no steps to run.
    x.slice_mut(s![0, .., ..]).fill(0.0);
    let err = forward(&net, x.view().into_dyn()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Length {
                sample: 0,
                length: 0,
                steps: 6
            }
        ),
        "{err}"
    );
}

#[test]
fn bad_lengths_are_refused() {
    let net = BiSeq::new(0);
    let x = Array3::<f32>::zeros((2, 6, 2));
    let err = forward_lengths(&net, x.view().into_dyn(), &[6, 7]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Length {
                sample: 1,
                length: 7,
                steps: 6
            }
        ),
        "{err}"
    );
    let err = forward_lengths(&net, x.view().into_dyn(), &[6]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Shape {
                what: "lengths",
                ..
            }
        ),
        "{err}"
    );
    // Lengths given to a masked model must match its padding.
    let masked = Masked::new(0);
    let mut x = Array3::from_elem((1, 6, 2), 0.5f32);
    x.slice_mut(s![0, 4.., ..]).fill(0.0);
    assert!(forward_lengths(&masked, x.view().into_dyn(), &[4]).is_ok());
    let err = forward_lengths(&masked, x.view().into_dyn(), &[5]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LengthMismatch {
                sample: 0,
                given: 5,
                read: 4,
                start: 0
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("padding gives 4 steps from step 0"),
        "{err}"
    );
}

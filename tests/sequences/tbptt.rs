//! Truncated BPTT: `fit_series` is the loop of `loss_and_grads_from` chunks with the
//! state carried between them; `predict_series` is the stream pushed step by step; the
//! state a chunk ends in is the one the next starts from. (The PyTorch oracle of the
//! same loop is `tests/sequences/parity_tbptt.rs`.)

use ndarray::{s, Array3};
use rnn_runtime::{
    loss_and_grads_from, model, predict_series, Adam, Error, Fit, Loss, Network, Params,
};

model! { struct Seq < input(5, 2), lstm(4, return_sequences = true), gru(3, return_sequences = true), dense(1) > }
model! { struct Last < input(5, 2), simple_rnn(3), dense(2) > }
model! { struct Long < input(15, 2), lstm(4, return_sequences = true), gru(3, return_sequences = true), dense(1) > }
model! { struct Bi < input(5, 2), bidirectional(gru(2, return_sequences = true)), dense(1) > }

fn series(n: usize, steps: usize) -> Array3<f32> {
    Array3::from_shape_fn((n, steps, 2), |(i, t, f)| {
        ((t * (f + 1) + 5 * i) as f32 * 0.3).sin()
    })
}

fn params<M: Network>(net: &M) -> Vec<f32> {
    let mut v = Vec::new();
    net.visit_params(&mut |t| v.extend_from_slice(t));
    v
}

fn close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-5 + 1e-4 * x.abs().max(y.abs()),
            "{what}[{i}]: {x} vs {y}"
        );
    }
}

#[test]
fn fit_series_is_the_loop_of_chunks() {
    let (x, y) = (series(3, 15), series(3, 15).mapv(|v| v * 0.5));
    let y = y.slice(s![.., .., ..1]).to_owned();
    let mut by_fit = Seq::new(2);
    let history = by_fit
        .fit_series(
            &x,
            &y,
            Fit::new(Adam::new(1e-2))
                .epochs(1)
                .batch_size(3)
                .shuffle(false)
                .verbose(false),
        )
        .unwrap();
    let mut by_hand = Seq::new(2);
    let mut adam = Adam::new(1e-2);
    let mut states = vec![SeqState::new(); 3];
    let mut losses = Vec::new();
    for k in 0..3 {
        let chunk = s![.., 5 * k..5 * (k + 1), ..];
        let seed = rnn_runtime::dropout::step_seed(0, k as u64);
        let (loss, grads, next) = by_hand
            .loss_and_grads_from(x.slice(chunk), y.slice(chunk), &states, seed)
            .unwrap();
        adam.step(&mut by_hand, &grads).unwrap();
        states = next;
        losses.push(loss);
    }
    assert_eq!(
        params(&by_fit),
        params(&by_hand),
        "the same steps, the same bits"
    );
    let mean = losses.iter().sum::<f32>() / 3.0;
    assert!(
        (history.loss[0] - mean).abs() < 1e-6,
        "{} vs {mean}",
        history.loss[0]
    );
}

#[test]
fn a_chunk_continues_where_the_last_one_ended() {
    // Three chunks of 5 steps from carried states give the outputs, loss and final
    // state of one pass over 15 steps; only the gradients differ (they are truncated).
    let net = Seq::new(4);
    let long: Long = {
        let mut l = Long::new(0);
        let values = params(&net);
        let mut at = 0;
        l.visit_params_mut(&mut |t| {
            t.copy_from_slice(&values[at..at + t.len()]);
            at += t.len();
        });
        l
    };
    let x = series(2, 15);
    let whole = long.predict(&x).unwrap();
    let by_series = net.predict_series(&x).unwrap();
    close(
        by_series.as_slice().unwrap(),
        whole.as_slice().unwrap(),
        "predict_series",
    );
    let (_, finals) = long.forward_from(&x, &vec![LongState::new(); 2]).unwrap();
    let y = ndarray::Array3::<f32>::zeros((2, 5, 1));
    let mut states = vec![SeqState::new(); 2];
    for k in 0..3 {
        let (_, _, next) = net
            .loss_and_grads_from(x.slice(s![.., 5 * k..5 * (k + 1), ..]), &y, &states, 0)
            .unwrap();
        states = next;
    }
    for (a, b) in states.iter().zip(&finals) {
        close(&a.l0.h, &b.l0.h, "lstm h");
        close(&a.l0.c, &b.l0.c, "lstm c");
        close(&a.l1.h, &b.l1.h, "gru h");
    }
}

#[test]
fn predict_series_is_the_stream_step_by_step() {
    // 13 steps: two chunks of 5 and one of 3.
    let x = series(2, 13);
    for net in [Seq::new(1), Seq::new(7)] {
        let out = net.predict_series(&x).unwrap();
        assert_eq!(out.shape(), [2, 13, 1]);
        for i in 0..2 {
            let mut stream = net.stream();
            for t in 0..13 {
                let o = stream.push(&[x[[i, t, 0]], x[[i, t, 1]]]);
                close(&o, &[out[[i, t, 0]]], "push");
            }
        }
    }
    // A last-state model: the output after each series' last step.
    let net = Last::new(3);
    let out = net.predict_series(&x).unwrap();
    for i in 0..2 {
        let mut stream = net.stream();
        let mut o = [0.0; 2];
        for t in 0..13 {
            o = stream.push(&[x[[i, t, 0]], x[[i, t, 1]]]);
        }
        close(&o, out.slice(s![i, ..]).as_slice().unwrap(), "last state");
    }
}

#[test]
fn what_cannot_carry_a_state_is_refused() {
    let x = series(2, 10);
    let y = Array3::<f32>::zeros((2, 5, 1));
    let err = loss_and_grads_from(
        &Bi::new(0),
        x.slice(s![.., ..5, ..]).into_dyn(),
        y.view().into_dyn(),
        None,
        &[],
        Loss::Mse,
        0,
    )
    .unwrap_err();
    assert!(err.to_string().contains("bidirectional"), "{err}");
    assert!(predict_series(&Bi::new(0), x.view().into_dyn()).is_err());
    // One state per sample.
    let err = Seq::new(0)
        .loss_and_grads_from(x.slice(s![.., ..5, ..]), &y, &[SeqState::new()], 0)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::StateCount {
                samples: 2,
                states: 1
            }
        ),
        "{err}"
    );
    // Options fit_series does not read are refused, not ignored.
    let y = Array3::<f32>::zeros((2, 10, 1));
    let err = Seq::new(0)
        .fit_series(
            &x,
            &y,
            Fit::new(Adam::new(1e-3))
                .validation_split(0.5)
                .verbose(false),
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("fit_series does not support validation_split"),
        "{err}"
    );
    // Targets per step of the series for a sequence output.
    let short = Array3::<f32>::zeros((2, 5, 1));
    let err = Seq::new(0)
        .fit_series(&x, &short, Fit::new(Adam::new(1e-3)).verbose(false))
        .unwrap_err();
    assert!(matches!(err, Error::Shape { what: "y", .. }), "{err}");
}

#[test]
fn a_last_state_model_trains_on_a_target_per_chunk() {
    let x = series(4, 20);
    // One target per chunk of 5 steps: the mean of the chunk's first feature.
    let y = Array3::from_shape_fn((4, 4, 2), |(i, k, _)| {
        (0..5).map(|t| x[[i, 5 * k + t, 0]]).sum::<f32>() / 5.0
    });
    let mut net = Last::new(0);
    let history = net
        .fit_series(
            &x,
            &y,
            Fit::new(Adam::new(2e-2))
                .epochs(30)
                .batch_size(2)
                .verbose(false),
        )
        .unwrap();
    assert!(
        history.loss[29] < 0.5 * history.loss[0],
        "{:?}",
        history.loss
    );
}

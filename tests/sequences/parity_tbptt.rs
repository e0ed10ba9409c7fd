//! Parity with PyTorch's truncated backpropagation through time: the loop that runs a
//! long series chunk by chunk, carries each series' state from one chunk to the next
//! and detaches it between them (`h = h.detach()`), one Adam step per chunk. Fixtures
//! `tests/fixtures/t*` (generated in float64 by `tests/fixtures/gen/tbptt.py`; see
//! "Truncated BPTT" in the fixture README): t1 an LSTM over series of 3 chunks, t2 a
//! GRU over series whose last chunk is 2 steps of the model's 4, both over two epochs.
//!
//! Each case checks, against the fixture: the explicit loop through
//! `rnn_runtime::loss_and_grads_from` and `Adam::step` (every chunk's loss, every
//! gradient, the parameters after every step, the states after every chunk of the
//! first epoch); the same loop through the generated, typed `loss_and_grads_from` over
//! the chunks of the model's full length; `fit_series` (one epoch, then a second
//! continuing through the same options, and both in one call); `predict_series` and
//! the stream from the initial parameters.

use crate::case::{load, Case};
use crate::common::live::{assert_live, rows};
use crate::common::worst;
use ndarray::{s, ArrayD, Axis, Ix3, IxDyn, Slice};
use rnn_runtime::{model, Fit, Loss, Network};

model! { struct T1 < input(4, 2), lstm(3, return_sequences = true), dense(1) > }
model! { struct T2 < input(4, 2), gru(3, return_sequences = true), dense(2) > }

impl Case {
    fn usize(&self, key: &str) -> usize {
        self.json[key].as_u64().unwrap_or_else(|| panic!("{key}")) as usize
    }

    /// The chunks of a series, `(start, end)` steps, as case.json lists them.
    fn chunks(&self) -> Vec<(usize, usize)> {
        self.json["chunks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c[0].as_u64().unwrap() as usize,
                    c[1].as_u64().unwrap() as usize,
                )
            })
            .collect()
    }

    /// Loss and every gradient of optimiser step `s` (from 0) against `loss[s]` and
    /// `grad{s}.*`.
    fn check_step_grads(&self, what: &str, s: usize, value: f32, grads: &rnn_runtime::Grads) {
        let want = self.data["loss"][IxDyn(&[s])];
        let key = format!("loss[{s}]");
        // `loss` holds every step's value: compare the one element.
        assert!(
            worst(&[value], &[want], self.abs, self.rel) <= 1.0,
            "{}: {what}: {key}: got {value}, want {want}",
            self.dir
        );
        for name in self.names() {
            let key = format!("grad{s}.{name}");
            let g: Vec<f32> = grads
                .get(&name)
                .expect("gradient")
                .iter()
                .copied()
                .collect();
            self.check(&format!("{what}: step {s}"), &g, &key);
        }
    }

    /// Every parameter of `model` against `adam{steps}.*`, the parameters after that
    /// many optimiser steps.
    fn check_step_params<M: Network>(&self, what: &str, model: &M, steps: usize) {
        for name in self.names() {
            let key = format!("adam{steps}.{name}");
            let p: Vec<f32> = model
                .param(&name)
                .expect("parameter")
                .iter()
                .copied()
                .collect();
            self.check(&format!("{what}: after {steps} steps"), &p, &key);
        }
    }

    /// The states after chunk `k` of the first epoch as the library lays them out
    /// (`[N, STATE_VALUES]`: each sample's `h`, then its `c` for an LSTM), from
    /// `hn{k}.0` and `cn{k}.0`; `k` None for the final `hn.0`, `cn.0`.
    fn states(&self, k: Option<usize>) -> Vec<f32> {
        let tag = k.map(|k| k.to_string()).unwrap_or_default();
        let h = &self.data[&format!("hn{tag}.0")];
        let c = self.data.get(&format!("cn{tag}.0"));
        let mut out = Vec::new();
        for b in 0..h.shape()[0] {
            out.extend(h.index_axis(Axis(0), b).iter());
            if let Some(c) = c {
                out.extend(c.index_axis(Axis(0), b).iter());
            }
        }
        out
    }

    /// The states after chunk `k` (or the final ones) against `got`, laid out as
    /// [`Case::states`] says.
    fn check_states(&self, what: &str, got: &[f32], k: Option<usize>) {
        let want = self.states(k);
        assert_eq!(got.len(), want.len(), "{}: {what}: state length", self.dir);
        let w = worst(got, &want, self.abs, self.rel);
        assert!(
            w <= 1.0,
            "{}: {what}: states after chunk {k:?}: {w} times the tolerance\n got {got:?}\nwant {want:?}",
            self.dir
        );
    }

    /// Every stored gradient tensor of every step is live, and so are the outputs
    /// (`tests/common/live.rs`, the generator's guard).
    fn assert_step_grads_live(&self) {
        let mut grads: Vec<(String, Vec<f32>)> = self
            .data
            .iter()
            .filter(|(k, _)| k.starts_with("grad"))
            .map(|(k, v)| (k.clone(), v.iter().copied().collect()))
            .collect();
        grads.sort_by(|a, b| a.0.cmp(&b.0));
        let steps = self.usize("epochs") * self.chunks().len();
        assert_eq!(grads.len(), steps * self.names().len(), "{}", self.dir);
        assert_live(self.dir, &grads, &rows(&self.data["out"]), None);
    }
}

/// Steps `a..b` of `series` (`[N, L, W]`) as a `[N, t, W]` chunk, zero after the
/// series' end when the chunk is shorter than `t` (the library's padding: a chunk
/// keeps the model's `T` steps, with `b - a` valid).
fn chunk_of(series: &ArrayD<f32>, a: usize, b: usize, t: usize) -> ArrayD<f32> {
    let (n, w) = (series.shape()[0], series.shape()[2]);
    let mut out = ArrayD::<f32>::zeros(IxDyn(&[n, t, w]));
    out.slice_axis_mut(Axis(1), Slice::from(0..b - a))
        .assign(&series.slice_axis(Axis(1), Slice::from(a..b)));
    out
}

/// The explicit loop of the fixture through the runtime's generic
/// `loss_and_grads_from` and `Adam::step`, both epochs: each chunk's loss and
/// gradients, the parameters after every step, and in the first epoch every chunk's
/// final states. A chunk shorter than `T` goes in padded with zeros, with its valid
/// length given.
fn explicit_loop<M: Network<Input = f32>>(case: &Case) {
    let mut model = load::<M>(case);
    let (x, y) = (&case.data["x"], &case.data["y"]);
    let n = x.shape()[0];
    let t = M::TIMESTEPS;
    let chunks = case.chunks();
    let mut adam = case.adam();
    let mut s = 0;
    for epoch in 0..case.usize("epochs") {
        // Every series starts from the zero state in every epoch.
        let mut states = vec![0.0f32; n * M::STATE_VALUES];
        for (k, &(a, b)) in chunks.iter().enumerate() {
            let (xc, yc) = (chunk_of(x, a, b, t), chunk_of(y, a, b, t));
            let lengths = vec![b - a; n];
            let (value, grads, finals) = rnn_runtime::loss_and_grads_from(
                &model,
                xc.view(),
                yc.view(),
                (b - a < t).then_some(&lengths[..]),
                &states,
                Loss::Mse,
                0,
            )
            .expect("loss_and_grads_from");
            let what = format!("loss_and_grads_from, epoch {epoch}, chunk {k}");
            case.check_step_grads(&what, s, value, &grads);
            adam.step(&mut model, &grads).expect("step");
            s += 1;
            case.check_step_params(&what, &model, s);
            if epoch == 0 {
                case.check_states(&what, &finals, Some(k));
            }
            // carried, detached, into the next chunk
            states = finals;
        }
        if epoch == 0 {
            case.check_states("loss_and_grads_from: final", &states, None);
        }
    }
    assert_eq!(adam.steps() as usize, s);
}

/// `fit_series` over every series as one batch, unshuffled: one epoch against the
/// parameters after the first epoch's last step and the first epoch's loss, a second
/// call continuing through the same options (the optimiser's moments and step count
/// carry on, the series' states start again from zero) against the second epoch's,
/// and both epochs in one call the same.
fn fit_series_case<M: Network<Input = f32>>(case: &Case) {
    let (x, y) = (&case.data["x"], &case.data["y"]);
    let n = x.shape()[0];
    let k = case.chunks().len();
    assert_eq!(case.usize("epochs"), 2);
    let mut model = load::<M>(case);
    let mut options = Fit::new(case.adam())
        .epochs(1)
        .batch_size(n)
        .shuffle(false)
        .verbose(false);
    let history =
        rnn_runtime::fit_series(&mut model, x.view(), y.view(), &mut options).expect("fit_series");
    case.check_step_params("fit_series, 1 epoch", &model, k);
    let want = case.data["history_loss"][IxDyn(&[0])];
    assert!(
        worst(&history.loss, &[want], case.abs, case.rel) <= 1.0,
        "{}: fit_series: history.loss {:?}, want [{want}]",
        case.dir,
        history.loss
    );
    let history =
        rnn_runtime::fit_series(&mut model, x.view(), y.view(), &mut options).expect("fit_series");
    assert_eq!(options.optimizer().steps() as usize, 2 * k);
    case.check_step_params("fit_series, a second call", &model, 2 * k);
    let want = case.data["history_loss"][IxDyn(&[1])];
    assert!(
        worst(&history.loss, &[want], case.abs, case.rel) <= 1.0,
        "{}: fit_series, second call: history.loss {:?}, want [{want}]",
        case.dir,
        history.loss
    );

    let mut model = load::<M>(case);
    let history = rnn_runtime::fit_series(
        &mut model,
        x.view(),
        y.view(),
        Fit::new(case.adam())
            .epochs(2)
            .batch_size(n)
            .shuffle(false)
            .verbose(false),
    )
    .expect("fit_series");
    case.check_step_params("fit_series, 2 epochs", &model, 2 * k);
    let want: Vec<f32> = case.data["history_loss"].iter().copied().collect();
    assert!(
        worst(&history.loss, &want, case.abs, case.rel) <= 1.0,
        "{}: fit_series, 2 epochs: history.loss {:?}, want {want:?}",
        case.dir,
        history.loss
    );
}

/// Everything the generic runtime functions can check of case `dir`: liveness, the
/// explicit loop, `fit_series` and `predict_series` from the initial parameters.
/// Returns the case and the model with the fixture's initial parameters.
fn run_case<M: Network<Input = f32>>(dir: &'static str) -> (Case, M) {
    let case = Case::read(dir);
    case.assert_step_grads_live();
    let model = load::<M>(&case);
    let (n, steps) = (case.usize("batch"), case.usize("series_length"));
    assert_eq!(case.data["x"].shape()[..2], [n, steps]);
    assert_eq!(case.usize("timesteps"), M::TIMESTEPS);

    let out = rnn_runtime::predict_series(&model, case.data["x"].view()).expect("predict_series");
    assert_eq!(
        out.shape(),
        case.data["out"].shape(),
        "{dir}: predict_series shape"
    );
    case.check("predict_series", out.as_slice().unwrap(), "out");

    explicit_loop::<M>(&case);
    fit_series_case::<M>(&case);

    let (rel, at) = case.worst_rel.borrow().clone();
    eprintln!(
        "{dir}: max relative error {rel:.2e} ({at}); worst value at {:.3} of the tolerance",
        case.worst_fraction.get()
    );
    (case, model)
}

/// The generated methods of a model with two features and a sequence output: the
/// typed `loss_and_grads_from` over the chunks of the model's full length (the
/// first epoch's, as long as they are full), `predict_series`, `fit_series` and the
/// stream pushed step by step. Needs the model type and its state type.
macro_rules! typed {
    ($case:expr, $model:expr, $M:ident, $State:ident, |$s:ident| $values:expr) => {{
        let case: &Case = $case;
        let model: &$M = $model;
        let x = case.data["x"].clone().into_dimensionality::<Ix3>().unwrap();
        let y = case.data["y"].clone().into_dimensionality::<Ix3>().unwrap();
        let n = x.dim().0;
        let t = <$M as Network>::TIMESTEPS;

        let mut net = model.clone();
        let mut adam = case.adam();
        let mut states = vec![$State::new(); n];
        for (k, &(a, b)) in case.chunks().iter().enumerate() {
            if b - a < t {
                break; // the typed method takes chunks of the model's T steps
            }
            let (value, grads, next) = net
                .loss_and_grads_from(
                    x.slice(s![.., a..b, ..]),
                    y.slice(s![.., a..b, ..]),
                    &states,
                    0,
                )
                .expect("typed loss_and_grads_from");
            let what = format!("typed loss_and_grads_from, chunk {k}");
            case.check_step_grads(&what, k, value, &grads);
            adam.step(&mut net, &grads).expect("step");
            case.check_step_params(&what, &net, k + 1);
            let flat: Vec<f32> = next.iter().flat_map(|$s| $values).collect();
            case.check_states(&what, &flat, Some(k));
            states = next;
        }

        let out = model.predict_series(&x).expect("typed predict_series");
        case.check("typed predict_series", out.as_slice().unwrap(), "out");
        // The stream from the zero state, pushed every step of each series, gives the
        // same outputs: predict_series carries exactly the stream's state.
        let outputs = case.data["out"].shape()[2];
        let mut pushed = Vec::new();
        for b in 0..n {
            let mut stream = model.stream();
            for step in 0..x.dim().1 {
                let o = stream.push(&[x[[b, step, 0]], x[[b, step, 1]]]);
                assert_eq!(o.len(), outputs);
                pushed.extend_from_slice(&o);
            }
        }
        case.check("stream", &pushed, "out");

        let mut net = model.clone();
        net.fit_series(
            &x,
            &y,
            Fit::new(case.adam())
                .epochs(2)
                .batch_size(n)
                .shuffle(false)
                .verbose(false),
        )
        .expect("typed fit_series");
        case.check_step_params("typed fit_series, 2 epochs", &net, 2 * case.chunks().len());
    }};
}

#[test]
fn t1_lstm_tbptt() {
    let (case, model) = run_case::<T1>("t1_lstm_tbptt");
    typed!(&case, &model, T1, T1State, |s| s
        .l0
        .h
        .into_iter()
        .chain(s.l0.c));
}

#[test]
fn t2_gru_tbptt_ragged() {
    let (case, model) = run_case::<T2>("t2_gru_tbptt_ragged");
    assert_eq!(
        case.chunks().last(),
        Some(&(8, 10)),
        "the ragged last chunk"
    );
    typed!(&case, &model, T2, T2State, |s| s.l0.h);
}

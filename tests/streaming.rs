//! Streaming inference and `forward_from` against the batch and single-sample paths,
//! for every kind of model that streams: one recurrent layer, stacks with dense heads,
//! many-to-many, token input, overridden cell activations and dropout (inactive in
//! inference).
//!
//! `push`, `predict_one` and `forward_from` all run the same single-sample step, so
//! they must agree bit for bit; the batch `forward` runs other kernels and agrees to
//! 1e-5.

use std::fmt::Debug;

use ndarray::{Array2, Array3};
use rnn_runtime::rng::Rng;
use rnn_runtime::{model, Error};

model! { struct Plain < input(8, 2), lstm(8), dense(3) > }
model! { struct GruStack < input(8, 2), gru(8, return_sequences = true), gru(6), dense(4, activation = tanh), dense(2) > }
model! { struct DenseFirst < input(8, 2), dense(4, activation = elu), simple_rnn(5), dense(2) > }
model! {
    /// Many-to-many: a per-step dense head on a stack of sequence layers.
    struct Seq < input(8, 2), lstm(6, return_sequences = true), simple_rnn(5, return_sequences = true),
        dense(4, activation = relu), dense(3) >
}
model! { struct Tokens < input(8), embedding(12, 4), gru(6), dense(3) > }
model! { struct TokenSeq < input(8), embedding(12, 4), lstm(5, return_sequences = true), dense(2, activation = softmax) > }
model! {
    struct Acts < input(8, 2),
        lstm(6, return_sequences = true, activation = relu, recurrent_activation = tanh),
        gru(5, return_sequences = true, activation = sigmoid, recurrent_activation = linear),
        simple_rnn(4, activation = relu), dense(2) >
}
model! {
    struct Dropped < input(8, 2),
        lstm(6, dropout = 0.3, recurrent_dropout = 0.3, return_sequences = true), dropout(0.5),
        gru(4, recurrent_dropout = 0.2, return_sequences = true), dropout(0.25), dense(2) >
}

/// A single-sample output (`[f32; OUT]` or `[[f32; OUT]; T]`) as a flat vector.
trait Flat {
    fn flat(&self) -> Vec<f32>;
}

impl<const N: usize> Flat for [f32; N] {
    fn flat(&self) -> Vec<f32> {
        self.to_vec()
    }
}

impl<const N: usize, const M: usize> Flat for [[f32; N]; M] {
    fn flat(&self) -> Vec<f32> {
        self.as_flattened().to_vec()
    }
}

/// What `forward_from` gives: one flat output per sample, and each sample's final state.
type Outputs<S> = (Vec<Vec<f32>>, Vec<S>);

/// The generated API of one model, reduced to flat vectors so that one set of checks
/// runs on every model.
trait Streaming: Sized {
    /// One time step of input: `[f32; F]` or a token id.
    type Step: Copy + Debug;
    type State: Clone + Debug + Default;
    const T: usize;
    /// Whether the model outputs every step (many-to-many).
    const SEQUENCE: bool;

    fn new(seed: u64) -> Self;
    fn random_step(rng: &mut Rng) -> Self::Step;
    /// `forward` of the samples `xs` (`T` steps each), one flat output per sample.
    fn forward_flat(&self, xs: &[Vec<Self::Step>]) -> Vec<Vec<f32>>;
    /// `forward_from` of the samples `xs` from `states`.
    fn forward_from_flat(
        &self,
        xs: &[Vec<Self::Step>],
        states: &[Self::State],
    ) -> Result<Outputs<Self::State>, Error>;
    fn predict_one_flat(&self, x: &[Self::Step]) -> Vec<f32>;
    /// Pushes every step of `x` into a stream from `state` (from `stream()` when
    /// `None`): the output of every push and the final state.
    fn stream_all(
        &self,
        state: Option<Self::State>,
        x: &[Self::Step],
    ) -> (Vec<Vec<f32>>, Self::State);
    /// Pushes `prefix`, resets, pushes `x`: the steps and state right after the reset,
    /// and the outputs of `x`.
    fn reset_then(
        &self,
        prefix: &[Self::Step],
        x: &[Self::Step],
    ) -> (usize, Self::State, Vec<Vec<f32>>);
}

/// Implements [`Streaming`] for a model with real-valued input of `$f` features.
macro_rules! features {
    ($name:ident, $state:ident, $f:literal) => {
        impl Streaming for $name {
            type Step = [f32; $f];
            type State = $state;
            const T: usize = $name::TIMESTEPS;
            const SEQUENCE: bool = <$name as rnn_runtime::Network>::OUTPUT_STEPS > 1;

            fn new(seed: u64) -> Self {
                $name::new(seed)
            }
            fn random_step(rng: &mut Rng) -> Self::Step {
                std::array::from_fn(|_| rng.uniform(-1.0, 1.0) as f32)
            }
            fn forward_flat(&self, xs: &[Vec<Self::Step>]) -> Vec<Vec<f32>> {
                let x = Array3::from_shape_fn((xs.len(), Self::T, $f), |(i, t, f)| xs[i][t][f]);
                let out = self.forward(&x).unwrap();
                out.outer_iter()
                    .map(|o| o.iter().copied().collect())
                    .collect()
            }
            fn forward_from_flat(
                &self,
                xs: &[Vec<Self::Step>],
                states: &[Self::State],
            ) -> Result<Outputs<Self::State>, Error> {
                let x = Array3::from_shape_fn((xs.len(), Self::T, $f), |(i, t, f)| xs[i][t][f]);
                let (out, states) = self.forward_from(&x, states)?;
                let out = out
                    .outer_iter()
                    .map(|o| o.iter().copied().collect())
                    .collect();
                Ok((out, states))
            }
            fn predict_one_flat(&self, x: &[Self::Step]) -> Vec<f32> {
                self.predict_one(x.try_into().unwrap()).flat()
            }
            fn stream_all(
                &self,
                state: Option<Self::State>,
                x: &[Self::Step],
            ) -> (Vec<Vec<f32>>, Self::State) {
                let mut stream = match state {
                    Some(state) => self.stream_from(state),
                    None => self.stream(),
                };
                let outs = x.iter().map(|x_t| stream.push(x_t).to_vec()).collect();
                assert_eq!(stream.steps(), x.len());
                let seen = format!("{:?}", stream.state());
                let state = stream.into_state();
                assert_eq!(format!("{state:?}"), seen, "state() and into_state()");
                (outs, state)
            }
            fn reset_then(
                &self,
                prefix: &[Self::Step],
                x: &[Self::Step],
            ) -> (usize, Self::State, Vec<Vec<f32>>) {
                let mut stream = self.stream();
                for x_t in prefix {
                    stream.push(x_t);
                }
                stream.reset();
                let (steps, state) = (stream.steps(), stream.state().clone());
                let outs = x.iter().map(|x_t| stream.push(x_t).to_vec()).collect();
                (steps, state, outs)
            }
        }
    };
}

/// Implements [`Streaming`] for a token model with a vocabulary of `$vocab`.
macro_rules! tokens {
    ($name:ident, $state:ident, $vocab:literal) => {
        impl Streaming for $name {
            type Step = u32;
            type State = $state;
            const T: usize = $name::TIMESTEPS;
            const SEQUENCE: bool = <$name as rnn_runtime::Network>::OUTPUT_STEPS > 1;

            fn new(seed: u64) -> Self {
                $name::new(seed)
            }
            fn random_step(rng: &mut Rng) -> Self::Step {
                rng.below($vocab) as u32
            }
            fn forward_flat(&self, xs: &[Vec<Self::Step>]) -> Vec<Vec<f32>> {
                let x = Array2::from_shape_fn((xs.len(), Self::T), |(i, t)| xs[i][t]);
                let out = self.forward(&x).unwrap();
                out.outer_iter()
                    .map(|o| o.iter().copied().collect())
                    .collect()
            }
            fn forward_from_flat(
                &self,
                xs: &[Vec<Self::Step>],
                states: &[Self::State],
            ) -> Result<Outputs<Self::State>, Error> {
                let x = Array2::from_shape_fn((xs.len(), Self::T), |(i, t)| xs[i][t]);
                let (out, states) = self.forward_from(&x, states)?;
                let out = out
                    .outer_iter()
                    .map(|o| o.iter().copied().collect())
                    .collect();
                Ok((out, states))
            }
            fn predict_one_flat(&self, x: &[Self::Step]) -> Vec<f32> {
                self.predict_one(x.try_into().unwrap()).unwrap().flat()
            }
            fn stream_all(
                &self,
                state: Option<Self::State>,
                x: &[Self::Step],
            ) -> (Vec<Vec<f32>>, Self::State) {
                let mut stream = match state {
                    Some(state) => self.stream_from(state),
                    None => self.stream(),
                };
                let outs = x
                    .iter()
                    .map(|&x_t| stream.push(x_t).unwrap().to_vec())
                    .collect();
                assert_eq!(stream.steps(), x.len());
                let seen = format!("{:?}", stream.state());
                let state = stream.into_state();
                assert_eq!(format!("{state:?}"), seen, "state() and into_state()");
                (outs, state)
            }
            fn reset_then(
                &self,
                prefix: &[Self::Step],
                x: &[Self::Step],
            ) -> (usize, Self::State, Vec<Vec<f32>>) {
                let mut stream = self.stream();
                for &x_t in prefix {
                    stream.push(x_t).unwrap();
                }
                stream.reset();
                let (steps, state) = (stream.steps(), stream.state().clone());
                let outs = x
                    .iter()
                    .map(|&x_t| stream.push(x_t).unwrap().to_vec())
                    .collect();
                (steps, state, outs)
            }
        }
    };
}

features!(Plain, PlainState, 2);
features!(GruStack, GruStackState, 2);
features!(DenseFirst, DenseFirstState, 2);
features!(Seq, SeqState, 2);
features!(Acts, ActsState, 2);
features!(Dropped, DroppedState, 2);
tokens!(Tokens, TokensState, 12);
tokens!(TokenSeq, TokenSeqState, 12);

fn sample<M: Streaming>(rng: &mut Rng, steps: usize) -> Vec<M::Step> {
    (0..steps).map(|_| M::random_step(rng)).collect()
}

fn samples<M: Streaming>(seed: u64, n: usize, steps: usize) -> Vec<Vec<M::Step>> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| sample::<M>(&mut rng, steps)).collect()
}

/// What a stream's outputs over one `T`-step window say the window's output is: every
/// step's for a many-to-many model, else the last step's.
fn window_output<M: Streaming>(outs: &[Vec<f32>]) -> Vec<f32> {
    assert_eq!(outs.len(), M::T);
    if M::SEQUENCE {
        outs.concat()
    } else {
        outs[M::T - 1].clone()
    }
}

fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-5 * w.abs().max(1.0),
            "{what}, element {i}: {g} vs {w}"
        );
    }
}

fn state_text<S: Debug>(state: &S) -> String {
    format!("{state:?}")
}

/// Pushing every step of a sample gives `predict_one` exactly and `forward` to 1e-5.
fn stream_equals_predict_one_and_forward<M: Streaming>() {
    let net = M::new(3);
    let xs = samples::<M>(1, 5, M::T);
    let batch = net.forward_flat(&xs);
    for (i, (x, want)) in xs.iter().zip(&batch).enumerate() {
        let one = net.predict_one_flat(x);
        assert_close(&one, want, &format!("predict_one vs forward, sample {i}"));
        let (outs, _) = net.stream_all(None, x);
        assert_eq!(
            window_output::<M>(&outs),
            one,
            "stream vs predict_one, sample {i}"
        );
        assert!(one.iter().all(|v| v.is_finite()));
    }
}

/// A stream stopped half-way and resumed from its state is the uninterrupted stream;
/// `reset` starts a new sequence from the zero state.
fn stream_resumes_and_resets<M: Streaming>() {
    let net = M::new(4);
    let x = samples::<M>(2, 1, M::T).remove(0);
    let (whole, end) = net.stream_all(None, &x);
    let half = M::T / 2;
    let (first, middle) = net.stream_all(None, &x[..half]);
    let (second, end2) = net.stream_all(Some(middle.clone()), &x[half..]);
    assert_eq!([first, second].concat(), whole);
    assert_eq!(state_text(&end2), state_text(&end));
    assert_ne!(
        state_text(&middle),
        state_text(&M::State::default()),
        "half a sequence moves the state"
    );

    let prefix = samples::<M>(3, 1, 5).remove(0);
    let (steps, state, outs) = net.reset_then(&prefix, &x);
    assert_eq!(steps, 0);
    assert_eq!(state_text(&state), state_text(&M::State::default()));
    assert_eq!(outs, whole, "after reset the stream starts afresh");
}

/// `forward_from` from zero states is `forward`, and its outputs and final states are
/// the stream's.
fn forward_from_zero_states_is_forward<M: Streaming>() {
    let net = M::new(5);
    let xs = samples::<M>(4, 4, M::T);
    let zeros = vec![M::State::default(); xs.len()];
    let (out, finals) = net.forward_from_flat(&xs, &zeros).unwrap();
    let batch = net.forward_flat(&xs);
    for (i, x) in xs.iter().enumerate() {
        assert_close(
            &out[i],
            &batch[i],
            &format!("forward_from vs forward, sample {i}"),
        );
        assert_eq!(out[i], net.predict_one_flat(x), "sample {i}");
        let (outs, state) = net.stream_all(None, x);
        assert_eq!(out[i], window_output::<M>(&outs), "sample {i}");
        assert_eq!(state_text(&finals[i]), state_text(&state), "sample {i}");
    }
}

/// A sequence of three windows streamed in one go equals `forward_from` chained over
/// the windows, each sample from its own state; the first two windows also equal one
/// stream stopped after the first and resumed from `forward_from`'s state.
fn long_sequences_stream_like_chained_windows<M: Streaming>() {
    let net = M::new(6);
    let windows = 3;
    let long = samples::<M>(7, 3, windows * M::T);
    let streamed: Vec<_> = long.iter().map(|x| net.stream_all(None, x)).collect();
    let mut states = vec![M::State::default(); long.len()];
    for w in 0..windows {
        let steps = w * M::T..(w + 1) * M::T;
        let xs: Vec<Vec<M::Step>> = long.iter().map(|x| x[steps.clone()].to_vec()).collect();
        let (out, next) = net.forward_from_flat(&xs, &states).unwrap();
        for (i, (outs, _)) in streamed.iter().enumerate() {
            assert_eq!(
                out[i],
                window_output::<M>(&outs[steps.clone()]),
                "window {w}, sample {i}"
            );
        }
        if w == 0 {
            for (i, x) in long.iter().enumerate() {
                let (rest, _) = net.stream_all(Some(next[i].clone()), &x[M::T..]);
                assert_eq!(rest, streamed[i].0[M::T..], "resumed stream, sample {i}");
            }
        }
        states = next;
    }
    for (i, (_, state)) in streamed.iter().enumerate() {
        assert_eq!(state_text(&states[i]), state_text(state), "sample {i}");
    }
}

macro_rules! streaming_tests {
    ($($module:ident: $model:ty;)*) => {$(
        mod $module {
            use super::*;

            #[test]
            fn stream_equals_predict_one_and_forward() {
                super::stream_equals_predict_one_and_forward::<$model>();
            }
            #[test]
            fn stream_resumes_and_resets() {
                super::stream_resumes_and_resets::<$model>();
            }
            #[test]
            fn forward_from_zero_states_is_forward() {
                super::forward_from_zero_states_is_forward::<$model>();
            }
            #[test]
            fn long_sequences_stream_like_chained_windows() {
                super::long_sequences_stream_like_chained_windows::<$model>();
            }
        }
    )*};
}

streaming_tests! {
    plain_lstm: Plain;
    gru_stack_with_dense_head: GruStack;
    dense_before_the_recurrent_layer: DenseFirst;
    many_to_many: Seq;
    tokens: Tokens;
    tokens_many_to_many: TokenSeq;
    cell_activations: Acts;
    dropout_in_inference: Dropped;
}

#[test]
fn a_state_set_by_hand_starts_the_stream_and_forward_from_alike() {
    let net = Plain::new(8);
    let x = samples::<Plain>(9, 2, Plain::TIMESTEPS);
    let mut state = PlainState::new();
    state.l0.h = std::array::from_fn(|j| 0.1 * j as f32 - 0.3);
    state.l0.c = std::array::from_fn(|j| 0.5 - 0.2 * j as f32);
    let (out, finals) = net
        .forward_from_flat(&x, &[state.clone(), PlainState::new()])
        .unwrap();
    let (outs, end) = net.stream_all(Some(state.clone()), &x[0]);
    assert_eq!(out[0], window_output::<Plain>(&outs));
    assert_eq!(state_text(&finals[0]), state_text(&end));
    assert_eq!(out[1], net.predict_one(x[1].as_slice().try_into().unwrap()));
    // The initial state matters: the same input from zero gives another output.
    assert_ne!(out[0], net.predict_one_flat(&x[0]));
    assert_eq!(end.l0.h, finals[0].l0.h);
}

#[test]
fn a_token_out_of_range_is_refused_by_push_and_changes_nothing() {
    let net = Tokens::new(2);
    let x = samples::<Tokens>(5, 1, Tokens::TIMESTEPS).remove(0);
    let mut stream = net.stream();
    for &id in &x[..3] {
        stream.push(id).unwrap();
    }
    let before = state_text(stream.state());
    let err = stream.push(12).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TokenOutOfRange {
                sample: 0,
                step: 3,
                id: 12,
                vocab: 12
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "sample 0, step 3: token id 12 is out of range for a vocabulary of 12"
    );
    assert_eq!(stream.steps(), 3);
    assert_eq!(state_text(stream.state()), before);
    let mut last = [0.0; 3];
    for &id in &x[3..] {
        last = stream.push(id).unwrap();
    }
    assert_eq!(last.to_vec(), net.predict_one_flat(&x));

    let mut bad: [u32; 8] = x.as_slice().try_into().unwrap();
    bad[5] = u32::MAX;
    let err = net.predict_one(&bad).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TokenOutOfRange {
                sample: 0,
                step: 5,
                id: u32::MAX,
                vocab: 12
            }
        ),
        "{err:?}"
    );
    let xs = Array2::from_shape_fn((3, 8), |(i, t)| if (i, t) == (2, 7) { 99 } else { x[t] });
    let err = net
        .forward_from(&xs, &vec![TokensState::new(); 3])
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::TokenOutOfRange {
                sample: 2,
                step: 7,
                id: 99,
                vocab: 12
            }
        ),
        "{err:?}"
    );
}

#[test]
fn forward_from_needs_one_state_per_sample() {
    let net = Seq::new(1);
    let x = Array3::<f32>::zeros((3, 8, 2));
    for n in [0, 2, 4] {
        let err = net.forward_from(&x, &vec![SeqState::new(); n]).unwrap_err();
        assert!(
            matches!(err, Error::StateCount { samples: 3, states } if states == n),
            "{err:?}"
        );
    }
    let err = net
        .forward_from(&Array3::<f32>::zeros((3, 7, 2)), &vec![SeqState::new(); 3])
        .unwrap_err();
    assert!(matches!(err, Error::Shape { what: "x", .. }), "{err:?}");
}

/// The generated costs against what they describe: `STATE_BYTES` is the size of the
/// state type (which holds only `h`, and `c` for an LSTM), `WEIGHT_BYTES` the flat
/// file less its header, and the FLOP counts the products written out by hand from
/// the layers (2 per multiply-add: `G·H·(I + H)` a recurrent step, `I·N` a dense
/// layer, nothing for an embedding lookup). `STACK_BYTES` is checked against the
/// painted stack of the `no_std` build (`scripts/nostd_footprint.sh --check` in CI).
#[test]
fn generated_costs_are_what_they_count() {
    use std::mem::size_of;
    assert_eq!(Plain::STATE_BYTES, size_of::<PlainState>());
    assert_eq!(Plain::STATE_BYTES, 2 * 8 * 4);
    assert_eq!(GruStack::STATE_BYTES, size_of::<GruStackState>());
    assert_eq!(GruStack::STATE_BYTES, (8 + 6) * 4);
    assert_eq!(DenseFirst::STATE_BYTES, size_of::<DenseFirstState>());
    assert_eq!(DenseFirst::STATE_BYTES, 5 * 4);
    assert_eq!(Tokens::STATE_BYTES, size_of::<TokensState>());
    assert_eq!(TokenSeq::STATE_BYTES, size_of::<TokenSeqState>());

    assert_eq!(
        Plain::WEIGHT_BYTES,
        Plain::new(1).to_le_bytes().len() - rnn_runtime::flat::HEADER_BYTES
    );
    assert_eq!(GruStack::WEIGHT_BYTES, 4 * GruStack::PARAMS);

    // Plain: an LSTM step (4 gates, 2 inputs, 8 units) 8 times, the head once.
    assert_eq!(Plain::FLOPS_PER_STEP, 2 * (4 * 8 * (2 + 8) + 8 * 3));
    assert_eq!(Plain::FLOPS_PER_SAMPLE, 8 * 2 * 4 * 8 * (2 + 8) + 2 * 8 * 3);
    // GruStack: two GRU layers each step; the two dense layers once.
    let gru_steps = 3 * 8 * (2 + 8) + 3 * 6 * (8 + 6);
    let heads = 6 * 4 + 4 * 2;
    assert_eq!(GruStack::FLOPS_PER_STEP, 2 * (gru_steps + heads));
    assert_eq!(GruStack::FLOPS_PER_SAMPLE, 2 * (8 * gru_steps + heads));
    // DenseFirst: the dense layer reads every step, as the simple RNN does.
    assert_eq!(
        DenseFirst::FLOPS_PER_SAMPLE,
        2 * (8 * (2 * 4 + 5 * (4 + 5)) + 5 * 2)
    );
    // TokenSeq: the embedding costs no FLOPs; the head runs at every step.
    assert_eq!(
        TokenSeq::FLOPS_PER_SAMPLE,
        8 * 2 * (4 * 5 * (4 + 5) + 5 * 2)
    );
    assert_eq!(TokenSeq::FLOPS_PER_STEP, TokenSeq::FLOPS_PER_SAMPLE / 8);

    // A bidirectional layer does not stream: no state, no step; both directions run.
    model! { struct Bi < input(8, 2), bidirectional(gru(4)), dense(1) > }
    assert_eq!((Bi::STATE_BYTES, Bi::FLOPS_PER_STEP), (0, 0));
    assert_eq!(Bi::FLOPS_PER_SAMPLE, 2 * (8 * 2 * 3 * 4 * (2 + 4) + 8));

    // The stack bound covers at least the arrays the calls hold.
    const {
        assert!(Plain::STACK_BYTES >= 4 * (2 * 8 + 4 * 8 + 2 * 8 + 8 + 3));
        assert!(
            TokenSeq::STACK_BYTES >= 4 * 8 * 2,
            "the whole output sequence"
        );
    }
}

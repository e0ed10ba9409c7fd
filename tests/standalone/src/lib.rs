//! A user crate with `rnn-runtime` as its only dependency. If generated code named
//! any path other than `::rnn_runtime::…` (ndarray, the macro crate, std items the
//! user did not import), this crate would fail to build.
#![no_implicit_prelude]
#![deny(missing_docs)]

::rnn_runtime::model! {
    /// Every layer kind in one model.
    pub struct Everything < input(6, 3), lstm(5, return_sequences = true), gru(4, return_sequences = true), simple_rnn(3), dense(4, activation = relu), dense(2) >
}

::rnn_runtime::model! {
    /// A model whose user derives some of the traits the macro derives otherwise.
    #[derive(Clone, Debug)]
    pub(crate) struct UserDerives < input(2, 1), gru(2), dense(1, activation = sigmoid) >
}

::rnn_runtime::model! {
    /// Token input, a bidirectional layer, dropout, per-step dense: every new path.
    pub struct Sequences < input(5), embedding(9, 3),
        bidirectional(lstm(4, return_sequences = true, dropout = 0.1, recurrent_dropout = 0.1)),
        dropout(0.2), gru(3, return_sequences = true, activation = relu),
        dense(2, activation = softmax) >
}

::rnn_runtime::model! {
    /// A many-to-many model with its streaming API.
    pub struct Streaming < input(4, 2), lstm(3, return_sequences = true, recurrent_activation = tanh), dense(2) >
}

#[cfg(test)]
mod tests {
    use ::rnn_runtime::ndarray::Array3;
    use ::std::prelude::rust_2021::*;

    #[test]
    fn user_derives_replace_the_macros_own() {
        let a = super::UserDerives::new(3);
        let b = ::std::clone::Clone::clone(&a);
        assert_eq!(a, b);
        assert!(::std::format!("{a:?}").starts_with("UserDerives"));
    }

    #[test]
    fn the_generated_model_runs_with_only_the_runtime_in_scope() {
        let net = super::Everything::new(1);
        let x = Array3::<f32>::zeros((2, 6, 3));
        let y = net.forward(x.view()).expect("forward");
        assert_eq!(y.dim(), (2, 2));
        let one = net.predict_one(&[[0.0; 3]; 6]);
        for (a, b) in one.iter().zip(y.row(0).iter()) {
            assert!((a - b).abs() < 1e-5);
        }
        assert_eq!(
            super::Everything::PARAMS,
            4 * 5 * (3 + 5)
                + 8 * 5
                + 3 * 4 * (5 + 4)
                + 6 * 4
                + 3 * (4 + 3)
                + 2 * 3
                + 4 * 3
                + 4
                + 2 * 4
                + 2
        );
    }

    #[test]
    fn sequence_models_run_with_only_the_runtime_in_scope() {
        let net = super::Sequences::new(2);
        let out = net.predict_one(&[1, 2, 3, 4, 8]).expect("valid ids");
        assert_eq!(out.len(), 5);
        let stream_net = super::Streaming::new(3);
        let mut stream = stream_net.stream();
        let first = stream.push(&[0.5, -0.5]);
        let all = stream_net.predict_one(&[[0.5, -0.5]; 4]);
        assert_eq!(first, all[0]);
    }

    #[test]
    fn summary_display_and_debug_need_only_the_runtime() {
        let net = super::Sequences::new(0);
        let summary = net.summary();
        assert!(summary.starts_with("Model: \"Sequences\"\n"), "{summary}");
        assert!(summary.contains("│ bidirectional (Bidirectional(LSTM)) │ (None, 5, 8) "));
        assert_eq!(::std::format!("{net}"), summary);
        assert_eq!(
            ::std::format!("{net:?}"),
            "Sequences { input(5), embedding(9, 3), bidirectional(lstm(4, return_sequences = true, \
             dropout = 0.1, recurrent_dropout = 0.1)), dropout(0.2), gru(3, return_sequences = true, \
             activation = relu), dense(2, activation = softmax), params: 440 }"
        );
    }
}

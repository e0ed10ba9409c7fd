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
}

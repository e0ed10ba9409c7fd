// Doc comments, attributes and `pub(crate)` visibility are passed on to the struct.
mod nets {
    rnn_runtime::model! {
        /// A small forecaster.
        ///
        /// Its documentation spans several lines.
        #[doc = "And an attribute-style doc line."]
        #[derive(Clone)]
        #[must_use]
        pub(crate) struct Forecaster < input(4, 2), gru(3), dense(2, activation = tanh) >
    }
}

use nets::Forecaster;

const _: () = assert!(Forecaster::OUTPUTS == 2);

fn main() {
    let net = Forecaster::new(1);
    let copy = net.clone();
    assert_eq!(net, copy);
    assert!(!format!("{net:?}").is_empty());
    let y: [f32; 2] = copy.predict_one(&[[0.1, 0.2]; 4]);
    assert!(y.iter().all(|v| v.abs() <= 1.0));
}

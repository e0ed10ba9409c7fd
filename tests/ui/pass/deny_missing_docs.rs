// Under `#![deny(missing_docs)]` a documented model adds no undocumented public item.
#![deny(missing_docs)]
//! A crate that documents everything.

/// Models of this crate.
pub mod nets {
    rnn_runtime::model! {
        /// Predicts the next sample from the previous 20.
        pub struct SineNet < input(20, 1), lstm(8), dense(1) >
    }
}

fn main() {
    let y: [f32; 1] = nets::SineNet::new(42).predict_one(&[[0.0]; 20]);
    assert!(y[0].is_finite());
}

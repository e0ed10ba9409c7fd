// Under `#![deny(missing_docs)]` an undocumented public model gets one error for its struct, none for the generated items.
#![deny(missing_docs)]
//! A crate that documents everything.

/// Models of this crate.
pub mod nets {
    rnn_runtime::model! {
        pub struct SineNet < input(20, 1), lstm(8), dense(1) >
    }
}

fn main() {}

// The models of this crate, shared word for word with the std build's check
// (`tests/nostd_parity.rs` of the main workspace includes this file).

rnn_runtime::model! {
    /// The seed model: 20 steps of one feature, an LSTM of 50 units, one output.
    pub struct SeedNet < input(20, 1), lstm(50), dense(1) >
}

rnn_runtime::model! {
    /// A streaming GRU: three features per step, an output pair at every step.
    pub struct GruNet < input(8, 3), gru(16, return_sequences = true), dense(2, activation = tanh) >
}

rnn_runtime::model! {
    /// A gesture classifier: 32 steps of a 3-axis accelerometer, four classes.
    pub struct GestureNet < input(32, 3), gru(16), dense(4, activation = softmax) >
}

rnn_runtime::model! {
    /// A bidirectional LSTM under a GRU, run layer by layer over whole sequences: the
    /// stack's largest case, and layer sizes the other models do not have.
    pub struct BiNet < input(10, 2), bidirectional(lstm(8, return_sequences = true)), gru(6), dense(3) >
}

// `lstm(16, true)` is one mistake: the hint names `return_sequences`, and the next layer's feed is not reported as well.
use rnn_runtime::model;

model! { struct Net < input(20, 1), lstm(16, true), lstm(8), dense(1) > }

fn main() {}

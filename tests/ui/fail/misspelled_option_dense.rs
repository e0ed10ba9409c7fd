// A misspelled `activation` gets a suggestion.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8), dense(1, activaton = relu) >
}

fn main() {}

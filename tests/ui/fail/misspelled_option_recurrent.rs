// A misspelled `return_sequences` gets a suggestion, and its value is not trusted for later checks.
use rnn_runtime::model;

model! {
    struct Net < input(20, 1), lstm(8, return_sequence = true), dense(1) >
}

fn main() {}

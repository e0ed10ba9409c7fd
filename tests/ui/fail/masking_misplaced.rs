// `masking(value)` marks the padded steps of the input: it comes right after `input`,
// for real-valued input only; token models mark padding with `mask_zero`.
use rnn_runtime::model;

model! {
    struct AfterLayer < input(20, 3), lstm(8, return_sequences = true), masking(0.0), dense(1) >
}

model! {
    struct OnTokens < input(20), masking(0), embedding(100, 8), lstm(8), dense(1) >
}

model! {
    struct BadMaskZero < input(20), embedding(100, 8, mask_zero = yes), lstm(8), dense(1) >
}

fn main() {}

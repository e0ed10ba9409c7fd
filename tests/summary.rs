//! How a model presents itself: `summary()` (Keras's table), `Display` and the one-line
//! `Debug`.
//!
//! The expected tables are Keras 3.15.1's `model.summary()` of the same Sequential
//! model in an 80-column terminal, byte for byte, but for the model's name and the
//! counts of LSTM and SimpleRNN layers (PyTorch's, one bias vector more than Keras's),
//! the totals that follow from them, and the type of a bidirectional layer, which
//! names its cell (Keras writes `Bidirectional`) and so widens the first column.

use rnn_runtime::{model, Network};

model! {
    /// The seed model.
    pub struct SineNet < input(20, 1), lstm(50), dense(1) >
}

model! {
    /// Every layer kind, names that repeat, sequences and last states.
    struct Everything < input(10), embedding(1000, 16),
        bidirectional(gru(8, return_sequences = true)), dropout(0.1),
        gru(6, return_sequences = true), bidirectional(lstm(4, return_sequences = true)),
        simple_rnn(5), dropout(0.2), dense(3), dense(2, activation = softmax) >
}

model! {
    /// Many-to-many: a dense layer on every step.
    struct PerStep < input(7, 3), simple_rnn(4, return_sequences = true), dense(2) >
}

model! {
    /// The user's own Debug (the derived one, weights and all) is kept.
    #[derive(Debug)]
    struct UserDebug < input(3, 1), gru(2), dense(1) >
}

const SEED_SUMMARY: &str = "\
Model: \"SineNet\"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ lstm (LSTM)                     │ (None, 50)             │        10,600 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense (Dense)                   │ (None, 1)              │            51 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 10,651 (41.61 KB)
 Trainable params: 10,651 (41.61 KB)
 Non-trainable params: 0 (0.00 B)";

#[test]
fn the_seed_model_summary_is_keras_table() {
    let net = SineNet::new(0);
    assert_eq!(net.summary(), SEED_SUMMARY, "\n{}", net.summary());
    assert_eq!(SineNet::ARCHITECTURE.summary("SineNet"), SEED_SUMMARY);
}

#[test]
fn every_layer_kind_is_named_as_keras_names_it() {
    let want = "\
Model: \"Everything\"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                          ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ embedding (Embedding)                 │ (None, 10, 16)         │        16,000 │
├───────────────────────────────────────┼────────────────────────┼───────────────┤
│ bidirectional (Bidirectional(GRU))    │ (None, 10, 16)         │         1,248 │
├───────────────────────────────────────┼────────────────────────┼───────────────┤
│ dropout (Dropout)                     │ (None, 10, 16)         │             0 │
├───────────────────────────────────────┼────────────────────────┼───────────────┤
│ gru_1 (GRU)                           │ (None, 10, 6)          │           432 │
├───────────────────────────────────────┼────────────────────────┼───────────────┤
│ bidirectional_1 (Bidirectional(LSTM)) │ (None, 10, 8)          │           384 │
├───────────────────────────────────────┼────────────────────────┼───────────────┤
│ simple_rnn (SimpleRNN)                │ (None, 5)              │            75 │
├───────────────────────────────────────┼────────────────────────┼───────────────┤
│ dropout_1 (Dropout)                   │ (None, 5)              │             0 │
├───────────────────────────────────────┼────────────────────────┼───────────────┤
│ dense (Dense)                         │ (None, 3)              │            18 │
├───────────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                       │ (None, 2)              │             8 │
└───────────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 18,165 (70.96 KB)
 Trainable params: 18,165 (70.96 KB)
 Non-trainable params: 0 (0.00 B)";
    let got = Everything::new(0).summary();
    assert_eq!(got, want, "\n{got}");
    // Keras's counts for the same layers: 176 per LSTM direction (one bias of 4·4
    // less), 70 for the SimpleRNN (one bias of 5 less); GRU, dense and embedding agree.
    assert_eq!(Everything::PARAMS, 18_128 + 2 * 16 + 5);
}

#[test]
fn a_sequence_output_has_a_time_axis() {
    let text = PerStep::new(0).summary();
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with('│')).collect();
    assert_eq!(
        rows,
        [
            "│ simple_rnn (SimpleRNN)          │ (None, 7, 4)           │            36 │",
            "│ dense (Dense)                   │ (None, 7, 2)           │            10 │",
        ],
        "\n{text}"
    );
}

/// The count a summary line states, without its thousands separators.
fn count(line: &str) -> usize {
    let digits: String = line
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap_or_else(|e| panic!("{line:?}: {e}"))
}

fn check_totals<M: Network>(text: &str) {
    let line = |start: &str| {
        text.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no {start:?} in\n{text}"))
    };
    assert_eq!(count(line(" Total params: ")), M::PARAMS, "{text}");
    assert_eq!(count(line(" Trainable params: ")), M::PARAMS, "{text}");
    assert_eq!(
        line(" Non-trainable params: "),
        " Non-trainable params: 0 (0.00 B)"
    );
    let rows: usize = text
        .lines()
        .filter(|l| l.starts_with('│'))
        .map(|l| count(l.rsplit('│').nth(1).expect("a count column")))
        .sum();
    assert_eq!(rows, M::PARAMS, "{text}");
    assert_eq!(M::ARCHITECTURE.params(), M::PARAMS);
    // Every line of the table is as wide as the others.
    let widths: Vec<usize> = text
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with(' '))
        .map(|l| l.chars().count())
        .collect();
    assert!(
        widths.windows(2).all(|w| w[0] == w[1]),
        "{widths:?}\n{text}"
    );
}

#[test]
fn totals_and_rows_add_up_to_params() {
    check_totals::<SineNet>(&SineNet::new(0).summary());
    check_totals::<Everything>(&Everything::new(0).summary());
    check_totals::<PerStep>(&PerStep::new(0).summary());
    check_totals::<UserDebug>(&UserDebug::new(0).summary());
}

#[test]
fn display_prints_the_summary() {
    let net = Everything::new(3);
    assert_eq!(format!("{net}"), net.summary());
    assert_eq!(net.to_string(), net.summary());
    assert_eq!(format!("{}", SineNet::new(1)), SEED_SUMMARY);
}

#[test]
fn debug_is_one_short_line_naming_the_architecture() {
    let net = SineNet::new(0);
    let text = format!("{net:?}");
    assert_eq!(
        text,
        "SineNet { input(20, 1), lstm(50), dense(1), params: 10651 }"
    );
    assert!(text.len() < 200 && !text.contains('\n'), "{text}");
    // The same for any weights, and with `{:#?}`.
    assert_eq!(format!("{:?}", SineNet::new(7)), text);
    assert_eq!(format!("{net:#?}"), text);
    assert_eq!(
        format!("{:?}", Everything::new(0)),
        "Everything { input(10), embedding(1000, 16), \
         bidirectional(gru(8, return_sequences = true)), dropout(0.1), \
         gru(6, return_sequences = true), bidirectional(lstm(4, return_sequences = true)), \
         simple_rnn(5), dropout(0.2), dense(3), dense(2, activation = softmax), params: 18165 }"
    );
}

#[test]
fn a_debug_the_user_derives_is_kept() {
    let text = format!("{:?}", UserDebug::new(0));
    // The derived Debug: the struct's fields, every weight in them.
    assert!(text.starts_with("UserDebug { l0: "), "{text}");
    assert!(
        text.len() > 10 * UserDebug::PARAMS,
        "{} chars: {text}",
        text.len()
    );
}

#[test]
fn the_guide_shows_what_the_seed_model_prints() {
    let page = include_str!("../rnn-runtime/docs/dsl.md");
    assert!(
        page.contains(SEED_SUMMARY),
        "rnn-runtime/docs/dsl.md's summary table is stale"
    );
    // The guide's doctest asserts the one-line Debug; this keeps its table true.
    assert!(page.contains(&format!("\"{:?}\"", SineNet::new(0))));
}

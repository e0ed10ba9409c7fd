//! Valid specs from the DSL's grammar, with every layer kind and option, and the
//! shape each one must have, computed here independently of `check` and `spec`.

use proptest::prelude::*;
use proptest::sample::select;

/// A generated spec: what to write and what it means.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Outer attributes and doc comments, as written.
    pub attrs: Vec<&'static str>,
    /// Visibility, possibly empty.
    pub vis: &'static str,
    /// The struct name.
    pub name: &'static str,
    /// `T`.
    pub timesteps: Size,
    /// `Some(F)` for `input(T, F)`, `None` for token input with an embedding layer 0.
    pub features: Option<Size>,
    /// The layers after `input`.
    pub layers: Vec<LayerSpec>,
    /// A `,` after the last layer.
    pub trailing_comma: bool,
}

/// A size and how it is written.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    /// The value.
    pub value: usize,
    /// How the literal is spelled.
    pub style: Style,
}

/// Spellings of an integer literal that the DSL accepts.
#[derive(Clone, Copy, Debug)]
pub enum Style {
    /// `50`
    Plain,
    /// `50usize`, `50_u32`
    Suffixed(&'static str),
    /// `0x32`
    Hex,
    /// `5_0`
    Underscored,
    /// The text itself, whatever the value: for literals beyond `usize`.
    Text(&'static str),
}

impl Size {
    fn text(self) -> String {
        let v = self.value;
        match self.style {
            Style::Plain => v.to_string(),
            Style::Suffixed(s) => format!("{v}{s}"),
            Style::Hex => format!("{v:#x}"),
            Style::Underscored => {
                let digits = v.to_string();
                let (head, tail) = digits.split_at(digits.len().div_ceil(2));
                if tail.is_empty() {
                    head.to_owned()
                } else {
                    format!("{head}_{tail}")
                }
            }
            Style::Text(text) => text.to_owned(),
        }
    }
}

/// One layer after `input`.
#[derive(Clone, Debug)]
pub enum LayerSpec {
    /// `embedding(vocab, dim)`.
    Embedding {
        /// `vocab`
        vocab: Size,
        /// `dim`
        dim: Size,
    },
    /// `lstm`, `gru` or `simple_rnn`, possibly in `bidirectional(...)`.
    Recurrent(RecurrentSpec),
    /// `dense(units[, activation = a])`.
    Dense {
        /// `units`
        units: Size,
        /// The activation option, if written.
        activation: Option<&'static str>,
    },
    /// `dropout(rate)`, the rate as written.
    Dropout(&'static str),
}

/// A recurrent layer and its options.
#[derive(Clone, Debug)]
pub struct RecurrentSpec {
    /// `lstm`, `gru` or `simple_rnn` (possibly raw, `r#lstm`).
    pub cell: &'static str,
    /// Units of one direction.
    pub hidden: Size,
    /// Wrapped in `bidirectional(...)`.
    pub bidirectional: bool,
    /// `return_sequences`: `None` when not written (false).
    pub return_sequences: Option<bool>,
    /// Named options other than `return_sequences`, in written order.
    pub options: Vec<(&'static str, &'static str)>,
}

impl RecurrentSpec {
    fn sequence_out(&self) -> bool {
        self.return_sequences == Some(true)
    }

    /// Gate blocks of the cell.
    fn gates(&self) -> u128 {
        match self.cell.trim_start_matches("r#") {
            "lstm" => 4,
            "gru" => 3,
            _ => 1,
        }
    }
}

/// The shape of one layer, as the test computes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expected {
    /// Input width per step.
    pub inputs: usize,
    /// Output width per step.
    pub units: usize,
    /// Receives a sequence.
    pub sequence_in: bool,
    /// Passes one on.
    pub sequence_out: bool,
    /// PyTorch's parameter count.
    pub params: u128,
}

impl Spec {
    /// The spec as source text.
    pub fn source(&self) -> String {
        let mut out = String::new();
        for attr in &self.attrs {
            // A line comment (`/// Docs.`) ends at the newline.
            out.push_str(attr);
            out.push('\n');
        }
        let input = match self.features {
            Some(f) => format!("input({}, {})", self.timesteps.text(), f.text()),
            None => format!("input({})", self.timesteps.text()),
        };
        let mut entries = vec![input];
        entries.extend(self.layers.iter().map(LayerSpec::source));
        let comma = if self.trailing_comma { "," } else { "" };
        out.push_str(&format!(
            "{} struct {} < {}{comma} >",
            self.vis,
            self.name,
            entries.join(", ")
        ));
        out
    }

    /// Every layer's shape, from the formulas of the README (PyTorch's counts).
    pub fn expected(&self) -> Vec<Expected> {
        let mut inputs = self.features.map_or(1, |f| f.value);
        let mut sequence = true;
        self.layers
            .iter()
            .map(|layer| {
                let (i, n_in) = (inputs as u128, sequence);
                let (units, sequence_out, params) = match layer {
                    LayerSpec::Embedding { vocab, dim } => {
                        (dim.value, true, (vocab.value * dim.value) as u128)
                    }
                    LayerSpec::Recurrent(r) => {
                        let h = r.hidden.value as u128;
                        let dirs = if r.bidirectional { 2 } else { 1 };
                        // Per direction and gate: W_ih (h × i), W_hh (h × h), two biases.
                        let params = dirs * r.gates() * (h * i + h * h + 2 * h);
                        (dirs as usize * r.hidden.value, r.sequence_out(), params)
                    }
                    LayerSpec::Dense { units, .. } => {
                        (units.value, sequence, (units.value as u128) * (i + 1))
                    }
                    LayerSpec::Dropout(_) => (inputs, sequence, 0),
                };
                let expected = Expected {
                    inputs,
                    units,
                    sequence_in: n_in,
                    sequence_out,
                    params,
                };
                inputs = units;
                sequence = sequence_out;
                expected
            })
            .collect()
    }

    /// The model's output width and whether it is a sequence.
    pub fn output(&self) -> (usize, bool) {
        let last = self.expected().last().copied().expect("a layer");
        (last.units, last.sequence_out)
    }

    /// Whether the model has a bidirectional layer.
    pub fn bidirectional(&self) -> bool {
        self.layers
            .iter()
            .any(|l| matches!(l, LayerSpec::Recurrent(r) if r.bidirectional))
    }

    /// What the README's "Limits" paragraph counts against `MAX_STACK_FLOATS`, written
    /// out here from that description rather than from the code.
    pub fn stack_floats(&self) -> u128 {
        let t = self.timesteps.value as u128;
        let by_layer = self.bidirectional();
        let expected = self.expected();
        let mut total = if by_layer {
            t * self.features.map_or(1, |f| f.value) as u128
        } else {
            0
        };
        for (layer, e) in self.layers.iter().zip(&expected) {
            let w = e.units as u128;
            let whole = if by_layer && e.sequence_out { t * w } else { w };
            total += match layer {
                LayerSpec::Dropout(_) => 0,
                LayerSpec::Recurrent(r) => {
                    let h = r.hidden.value as u128;
                    let g = r.gates() * h;
                    // One step's scratch: LSTM gates and two vectors, GRU both gate
                    // sides and two vectors, simple RNN one vector.
                    let scratch = match r.gates() {
                        4 => g + 2 * h,
                        3 => 2 * g + 2 * h,
                        _ => h,
                    };
                    let state = if by_layer {
                        let dirs = if r.bidirectional { 2 } else { 1 };
                        dirs * 2 * h + scratch
                    } else if r.gates() == 4 {
                        2 * h + scratch
                    } else {
                        h + scratch
                    };
                    whole + state
                }
                _ => whole,
            };
        }
        let (outputs, sequence) = self.output();
        if !by_layer && sequence {
            total += t * outputs as u128;
        }
        total
    }
}

impl Spec {
    /// Every size of the spec in written order, with the name messages give it.
    pub fn sizes_mut(&mut self) -> Vec<(&'static str, &mut Size)> {
        let mut sizes = vec![("timesteps", &mut self.timesteps)];
        sizes.extend(self.features.as_mut().map(|f| ("features", f)));
        for layer in &mut self.layers {
            match layer {
                LayerSpec::Embedding { vocab, dim } => {
                    sizes.extend([("vocab", vocab), ("dim", dim)]);
                }
                LayerSpec::Recurrent(r) => sizes.push(("units", &mut r.hidden)),
                LayerSpec::Dense { units, .. } => sizes.push(("units", units)),
                LayerSpec::Dropout(_) => {}
            }
        }
        sizes
    }
}

impl LayerSpec {
    fn source(&self) -> String {
        match self {
            LayerSpec::Embedding { vocab, dim } => {
                format!("embedding({}, {})", vocab.text(), dim.text())
            }
            LayerSpec::Recurrent(r) => {
                let mut args = vec![r.hidden.text()];
                let mut options: Vec<String> = r
                    .options
                    .iter()
                    .map(|(k, v)| format!("{k} = {v}"))
                    .collect();
                if let Some(rs) = r.return_sequences {
                    // Anywhere among the options.
                    let at = r.hidden.value % (options.len() + 1);
                    options.insert(at, format!("return_sequences = {rs}"));
                }
                args.extend(options);
                let layer = format!("{}({})", r.cell, args.join(", "));
                if r.bidirectional {
                    format!("bidirectional({layer})")
                } else {
                    layer
                }
            }
            LayerSpec::Dense { units, activation } => match activation {
                Some(a) => format!("dense({}, activation = {a})", units.text()),
                None => format!("dense({})", units.text()),
            },
            LayerSpec::Dropout(rate) => format!("dropout({rate})"),
        }
    }
}

/// Sizes: mostly small, sometimes up to the limits, so that the budget and stack
/// limits are reached too.
pub fn size() -> impl Strategy<Value = Size> {
    let value = prop_oneof![
        12 => 1usize..=16,
        3 => 17usize..=300,
        1 => 301usize..=5_000,
        1 => 5_001usize..=1_000_000,
    ];
    let style = prop_oneof![
        6 => Just(Style::Plain),
        1 => select(&["usize", "u32", "_u64", "i128", "u8"][..]).prop_map(Style::Suffixed),
        1 => Just(Style::Hex),
        1 => Just(Style::Underscored),
    ];
    (value, style).prop_map(|(value, style)| Size { value, style })
}

/// Sizes small enough that any model of them fits every limit.
pub fn small_size() -> impl Strategy<Value = Size> {
    (1usize..=24).prop_map(|value| Size {
        value,
        style: Style::Plain,
    })
}

const CELLS: &[&str] = &["lstm", "gru", "simple_rnn", "r#lstm"];
const CELL_ACTIVATIONS: &[&str] = &["tanh", "sigmoid", "relu", "linear", "r#relu"];
const DENSE_ACTIVATIONS: &[&str] = &[
    "linear", "relu", "tanh", "sigmoid", "softmax", "gelu", "elu", "softplus",
];
const RATES: &[&str] = &["0.0", "0", "0.1", "0.25", "0.5", "0.9", "0.999", "2.5e-1"];

fn recurrent(size: BoxedStrategy<Size>) -> impl Strategy<Value = RecurrentSpec> {
    let option = prop_oneof![
        select(CELL_ACTIVATIONS).prop_map(|a| ("activation", a)),
        select(CELL_ACTIVATIONS).prop_map(|a| ("recurrent_activation", a)),
        select(RATES).prop_map(|r| ("dropout", r)),
        select(RATES).prop_map(|r| ("recurrent_dropout", r)),
    ];
    (
        select(CELLS),
        size,
        any::<bool>(),
        prop::collection::vec(option, 0..4),
    )
        .prop_map(|(cell, hidden, bidirectional, mut options)| {
            // Each option once; `simple_rnn` has no gates to set an activation of.
            let mut seen = Vec::new();
            options.retain(|(k, _)| {
                let gateless = cell == "simple_rnn" && *k == "recurrent_activation";
                let keep = !(gateless || seen.contains(k));
                seen.push(*k);
                keep
            });
            RecurrentSpec {
                cell,
                hidden,
                bidirectional,
                return_sequences: None,
                options,
            }
        })
}

/// A layer that applies to each step, or to one vector: dense or dropout.
fn elementwise(size: BoxedStrategy<Size>) -> impl Strategy<Value = LayerSpec> {
    prop_oneof![
        3 => (size, prop::option::of(select(DENSE_ACTIVATIONS)))
            .prop_map(|(units, activation)| LayerSpec::Dense { units, activation }),
        1 => select(RATES).prop_map(LayerSpec::Dropout),
    ]
}

/// Valid specs with sizes from `size`: an optional embedding, one to three recurrent
/// layers (all but the last returning sequences), dense and dropout layers anywhere
/// between and after them.
pub fn spec(size: BoxedStrategy<Size>) -> impl Strategy<Value = Spec> {
    let header = (
        prop::collection::vec(
            select(
                &[
                    "/// Docs.",
                    "#[derive(Clone)]",
                    "#[derive(Debug, PartialEq)]",
                    "#[allow(dead_code)]",
                    "#[doc = \"More docs.\"]",
                ][..],
            ),
            0..3,
        ),
        select(&["", "pub", "pub(crate)", "pub(super)", "pub(in crate)"][..]),
        select(&["Net", "SineNet", "层", "Ünet", "r#Model", "N2"][..]),
    );
    let input = (size.clone(), prop::option::weighted(0.75, size.clone()));
    let embedding = (size.clone(), size.clone());
    let rnns = prop::collection::vec(recurrent(size.clone()), 1..=3);
    let fillers = prop::collection::vec(prop::collection::vec(elementwise(size), 0..=2), 4);
    (
        header,
        input,
        embedding,
        rnns,
        fillers,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                (attrs, vis, name),
                (timesteps, features),
                (vocab, dim),
                rnns,
                fillers,
                last_rs,
                comma,
            )| {
                let mut layers = Vec::new();
                if features.is_none() {
                    layers.push(LayerSpec::Embedding { vocab, dim });
                }
                let count = rnns.len();
                for (k, mut r) in rnns.into_iter().enumerate() {
                    layers.extend(fillers[k.min(2)].iter().cloned());
                    r.return_sequences = match (k + 1 == count, last_rs) {
                        (false, _) | (true, true) => Some(true),
                        // Written as `false` or left out.
                        (true, false) => (r.hidden.value % 2 == 0).then_some(false),
                    };
                    layers.push(LayerSpec::Recurrent(r));
                }
                layers.extend(fillers[3].iter().cloned());
                Spec {
                    attrs,
                    vis,
                    name,
                    timesteps,
                    features,
                    layers,
                    trailing_comma: comma,
                }
            },
        )
}

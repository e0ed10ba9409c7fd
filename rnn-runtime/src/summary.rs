//! Keras's `model.summary()` table for a declared [`Architecture`].
//!
//! The layout is Keras 3's (the `rich` table it prints in an 80-column terminal): a
//! `Model: "name"` line, one row per layer with its Keras name and type, its output
//! shape with `None` for the batch and its parameter count, then the totals with the
//! weights' memory. Columns widen to fit longer contents.

use crate::architecture::{Architecture, Cell, Layer, Padding};

/// Content widths of the three columns in Keras 3's table at 80 columns.
const MIN_WIDTHS: [usize; 3] = [31, 22, 13];

/// Bytes of one parameter: every weight is an `f32`.
const BYTES_PER_PARAM: usize = 4;

impl Architecture {
    /// Keras's `model.summary()` of this architecture for a model named `name`: one
    /// row per layer (Keras's automatic name and type, output shape, parameters), then
    /// the totals and the weights' memory (4 bytes per parameter, in Keras's units).
    ///
    /// Layers are named as Keras names them in a new Sequential model: `lstm`,
    /// `lstm_1`, … per kind, a bidirectional layer using up a name of its cell's kind
    /// too (Keras names the wrapped layer). A bidirectional layer's type names its
    /// cell, `Bidirectional(GRU)`, where Keras writes `Bidirectional`.
    ///
    /// The counts are this library's, which equal PyTorch's: LSTM, GRU and SimpleRNN
    /// layers have two bias vectors (`bias_ih`, `bias_hh`). Keras's own counts are
    /// the same for GRU (`reset_after = True`, its default), dense and embedding
    /// layers, but smaller by one bias vector (4H for LSTM, H for SimpleRNN) for LSTM
    /// and SimpleRNN. Every parameter is trainable, so the non-trainable count is 0.
    ///
    /// ```
    /// use rnn_runtime::{model, Network};
    ///
    /// model! { struct Tagger < input(12), embedding(100, 8), gru(16, return_sequences = true), dense(5) > }
    ///
    /// let text = Tagger::ARCHITECTURE.summary("Tagger");
    /// let rows: Vec<&str> = text.lines().filter(|l| l.starts_with('│')).collect();
    /// assert_eq!(rows.len(), 3);
    /// assert!(rows[0].starts_with("│ embedding (Embedding)  ") && rows[0].contains("│ (None, 12, 8) "));
    /// assert!(rows[1].starts_with("│ gru (GRU) ") && rows[1].ends_with("│         1,248 │"));
    /// assert!(text.ends_with(" Total params: 2,133 (8.33 KB)\n Trainable params: 2,133 (8.33 KB)\n Non-trainable params: 0 (0.00 B)"));
    /// assert_eq!(Tagger::ARCHITECTURE.params(), 2_133);
    ///
    /// // `masking(value)` is a row of its own, as Keras's `Masking` layer.
    /// model! { struct Padded < input(12, 3), masking(0.0), lstm(4), dense(1) > }
    /// let text = Padded::ARCHITECTURE.summary("Padded");
    /// let first = text.lines().find(|l| l.starts_with('│')).unwrap();
    /// assert!(first.starts_with("│ masking (Masking) ") && first.contains("(None, 12, 3)"));
    /// ```
    pub fn summary(&self, name: &str) -> String {
        let mut counters = Counters::default();
        // `masking(value)` is Keras's `Masking` layer, first, without parameters.
        let masking = matches!(self.padding, Some(Padding::Value(_))).then(|| {
            [
                "masking (Masking)".to_owned(),
                format!("(None, {}, {})", self.timesteps, self.features),
                "0".to_owned(),
            ]
        });
        let rows: Vec<[String; 3]> = masking
            .into_iter()
            .chain(self.layers.iter().map(|layer| {
                [
                    counters.name(layer),
                    output_shape(layer, self.timesteps),
                    thousands(layer.params()),
                ]
            }))
            .collect();
        let header = ["Layer (type)", "Output Shape", "Param #"];
        let mut widths = MIN_WIDTHS;
        for cells in rows
            .iter()
            .map(|r| r.each_ref().map(String::as_str))
            .chain([header])
        {
            for (w, cell) in widths.iter_mut().zip(cells) {
                *w = (*w).max(cell.chars().count());
            }
        }

        let mut out = format!("Model: \"{name}\"\n");
        out += &rule(&widths, ['┏', '━', '┳', '┓']);
        out += &row(&widths, &header, '┃');
        out += &rule(&widths, ['┡', '━', '╇', '┩']);
        for (i, cells) in rows.iter().enumerate() {
            if i > 0 {
                out += &rule(&widths, ['├', '─', '┼', '┤']);
            }
            out += &row(&widths, &cells.each_ref().map(String::as_str), '│');
        }
        out += &rule(&widths, ['└', '─', '┴', '┘']);
        let total = self.params();
        let memory = memory_size(total * BYTES_PER_PARAM);
        out += &format!(" Total params: {} ({memory})\n", thousands(total));
        out += &format!(" Trainable params: {} ({memory})\n", thousands(total));
        out += &format!(" Non-trainable params: 0 ({})", memory_size(0));
        out
    }
}

impl Architecture {
    /// Each layer's name as [`summary`](Self::summary) prints it, in spec order:
    /// Keras's automatic names (`lstm`, `lstm_1`, `dense`, …), `bidirectional` for a
    /// bidirectional layer. These are the names under which `fit` reports gradient
    /// norms ([`EpochLogs::grad_norms`](crate::EpochLogs::grad_norms)).
    ///
    /// ```
    /// use rnn_runtime::{model, Network};
    ///
    /// model! {
    ///     struct Net < input(10, 2), lstm(8, return_sequences = true), dropout(0.1),
    ///         bidirectional(gru(4)), dense(4), dense(1) >
    /// }
    ///
    /// let names = Net::ARCHITECTURE.layer_names();
    /// assert_eq!(names, ["lstm", "dropout", "bidirectional", "dense", "dense_1"]);
    /// // The summary table's first column: name, then type.
    /// assert!(Net::ARCHITECTURE.summary("Net").contains("│ bidirectional (Bidirectional(GRU)) "));
    /// ```
    pub fn layer_names(&self) -> Vec<String> {
        let mut counters = Counters::default();
        self.layers
            .iter()
            .map(|layer| counters.name_and_type(layer).0)
            .collect()
    }
}

/// A horizontal rule: left corner, fill, column separator, right corner.
fn rule(widths: &[usize; 3], [left, fill, cross, right]: [char; 4]) -> String {
    let parts: Vec<String> = widths
        .iter()
        .map(|w| fill.to_string().repeat(w + 2))
        .collect();
    format!("{left}{}{right}\n", parts.join(&cross.to_string()))
}

/// A row: the first two columns aligned left, the count right.
fn row(widths: &[usize; 3], cells: &[&str; 3], bar: char) -> String {
    format!(
        "{bar} {:<w0$} {bar} {:<w1$} {bar} {:>w2$} {bar}\n",
        cells[0],
        cells[1],
        cells[2],
        w0 = widths[0],
        w1 = widths[1],
        w2 = widths[2],
    )
}

/// Keras's automatic layer names: the kind's name, then `_1`, `_2`, … for later
/// layers of the same kind.
#[derive(Default)]
struct Counters {
    used: Vec<(&'static str, usize)>,
}

impl Counters {
    /// The next automatic name of kind `base`.
    fn next(&mut self, base: &'static str) -> String {
        match self.used.iter_mut().find(|(b, _)| *b == base) {
            Some((_, n)) => {
                *n += 1;
                format!("{base}_{n}")
            }
            None => {
                self.used.push((base, 0));
                base.to_owned()
            }
        }
    }

    /// `name (Type)` of the next layer.
    fn name(&mut self, layer: &Layer) -> String {
        let (name, kind) = self.name_and_type(layer);
        format!("{name} ({kind})")
    }

    /// Keras's name of the next layer, and its type as the table writes it.
    fn name_and_type(&mut self, layer: &Layer) -> (String, String) {
        match *layer {
            Layer::Recurrent {
                cell,
                bidirectional,
                ..
            } => {
                // Keras names the wrapped cell when it is made, before the wrapper.
                let cell_name = self.next(cell.name());
                if bidirectional {
                    let name = self.next("bidirectional");
                    (name, format!("Bidirectional({})", keras_type(cell)))
                } else {
                    (cell_name, keras_type(cell).to_owned())
                }
            }
            Layer::Dense { .. } => (self.next("dense"), "Dense".to_owned()),
            Layer::Embedding { .. } => (self.next("embedding"), "Embedding".to_owned()),
            Layer::Dropout { .. } => (self.next("dropout"), "Dropout".to_owned()),
        }
    }
}

/// Keras's class name of a cell's layer.
fn keras_type(cell: Cell) -> &'static str {
    match cell {
        Cell::Lstm => "LSTM",
        Cell::Gru => "GRU",
        Cell::SimpleRnn => "SimpleRNN",
    }
}

/// `(None, T, units)` for a layer that passes on a sequence, else `(None, units)`.
fn output_shape(layer: &Layer, timesteps: usize) -> String {
    if layer.sequence_out() {
        format!("(None, {timesteps}, {})", layer.units())
    } else {
        format!("(None, {})", layer.units())
    }
}

/// `10651` → `10,651`, as Python's `f"{n:,}"`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// Keras's readable memory size: bytes divided by 1024 until below 1024, with two
/// decimals (`41.61 KB`, `0.00 B`).
fn memory_size(bytes: usize) -> String {
    const UNITS: [&str; 6] = ["B", "KB", "MB", "GB", "TB", "PB"];
    let mut size = bytes as f64;
    for unit in &UNITS[..UNITS.len() - 1] {
        if size / 1024.0 < 1.0 {
            return format!("{size:.2} {unit}");
        }
        size /= 1024.0;
    }
    format!("{size:.2} {}", UNITS[UNITS.len() - 1])
}

#[cfg(test)]
mod tests {
    use super::{memory_size, thousands};

    #[test]
    fn counts_are_grouped_by_thousands() {
        let cases = [
            (0, "0"),
            (7, "7"),
            (999, "999"),
            (1_000, "1,000"),
            (10_651, "10,651"),
            (123_456, "123,456"),
            (1_234_567, "1,234,567"),
        ];
        for (n, want) in cases {
            assert_eq!(thousands(n), want);
        }
    }

    /// The values Python's Keras 3 prints (`readable_memory_size`), ties rounded to
    /// even as Python's `format` does: 1152 bytes are 1.125 KB, printed `1.12 KB`.
    #[test]
    fn memory_is_in_keras_units() {
        let cases = [
            (0, "0.00 B"),
            (204, "204.00 B"),
            (1_023, "1023.00 B"),
            (1_024, "1.00 KB"),
            (1_152, "1.12 KB"),
            (42_604, "41.61 KB"),
            (1_048_576, "1.00 MB"),
            (5 << 30, "5.00 GB"),
            (3 << 50, "3.00 PB"),
        ];
        for (bytes, want) in cases {
            assert_eq!(memory_size(bytes), want, "{bytes} bytes");
        }
    }
}

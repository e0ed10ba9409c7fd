//! Writing a training [`History`] as CSV or JSON, for spreadsheets, notebooks and
//! dashboards.

use std::fmt::Write as _;
use std::path::Path;

use super::history::History;
use crate::error::Result;

/// Atomic, as every file the crate writes: a crash leaves the old file or the new one.
fn write_file(path: &Path, text: String) -> Result<()> {
    crate::io::write_atomic(path, text.as_bytes())
}

/// A CSV cell: empty where the epoch has no such value.
fn cell<T: std::fmt::Display>(values: &[T], epoch: usize) -> String {
    values.get(epoch).map(T::to_string).unwrap_or_default()
}

/// A JSON array of numbers; JSON has no NaN or infinity, so those become `null`.
fn json_array<T: Copy + Into<f64> + std::fmt::Display>(values: &[T]) -> String {
    let items: Vec<String> = values
        .iter()
        .map(|&v| {
            if v.into().is_finite() {
                v.to_string()
            } else {
                "null".into()
            }
        })
        .collect();
    format!("[{}]", items.join(", "))
}

impl History {
    /// Writes one row per epoch, `epoch,loss,val_loss,lr,seconds` and then a column per
    /// metric (`acc`, `val_acc`, … in name order), epochs from 1; a column the run did
    /// not record (`val_loss` without validation) is left empty.
    ///
    /// ```
    /// # fn main() -> Result<(), rnn_runtime::Error> {
    /// let history = rnn_runtime::History { loss: vec![0.5, 0.25], ..Default::default() };
    /// let path = std::env::temp_dir().join("doc_history.csv");
    /// history.to_csv(&path)?;
    /// let text = std::fs::read_to_string(&path).unwrap();
    /// assert_eq!(text.lines().nth(2), Some("2,0.25,,,"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        let mut text = String::from("epoch,loss,val_loss,lr,seconds");
        for name in self.metrics.keys() {
            text.push(',');
            text.push_str(name);
        }
        text.push('\n');
        let epochs = [
            self.loss.len(),
            self.val_loss.len(),
            self.lr.len(),
            self.seconds.len(),
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        for e in 0..epochs {
            let _ = write!(
                text,
                "{},{},{},{},{}",
                e + 1,
                cell(&self.loss, e),
                cell(&self.val_loss, e),
                cell(&self.lr, e),
                cell(&self.seconds, e)
            );
            for values in self.metrics.values() {
                let _ = write!(text, ",{}", cell(values, e));
            }
            text.push('\n');
        }
        write_file(path.as_ref(), text)
    }

    /// Writes the history as one JSON object of per-epoch arrays, with Keras's keys:
    /// `{"loss": [...], "val_loss": [...], "lr": [...], "seconds": [...]}` and one key
    /// per metric (`"acc"`, `"val_acc"`, …); non-finite values as `null`.
    ///
    /// ```
    /// # fn main() -> Result<(), rnn_runtime::Error> {
    /// let history = rnn_runtime::History { loss: vec![0.5], val_loss: vec![0.75], ..Default::default() };
    /// let path = std::env::temp_dir().join("doc_history.json");
    /// history.to_json(&path)?;
    /// assert!(std::fs::read_to_string(&path).unwrap().contains("\"val_loss\": [0.75]"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_json(&self, path: impl AsRef<Path>) -> Result<()> {
        let mut text = format!(
            "{{\"loss\": {}, \"val_loss\": {}, \"lr\": {}, \"seconds\": {}",
            json_array(&self.loss),
            json_array(&self.val_loss),
            json_array(&self.lr),
            json_array(&self.seconds)
        );
        for (name, values) in &self.metrics {
            // Metric names are plain identifiers (`acc`, `val_mae`): no escaping needed.
            let _ = write!(text, ", \"{name}\": {}", json_array(values));
        }
        text.push_str("}\n");
        write_file(path.as_ref(), text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // `..Default::default()` keeps this compiling when History gains fields.
    #[allow(clippy::needless_update)]
    fn sample() -> History {
        History {
            loss: vec![1.0, 0.125, f32::NAN],
            val_loss: vec![2.0, 0.5, 0.25],
            seconds: vec![0.5, 0.25, 0.125],
            lr: vec![1e-3, 1e-3, 5e-4],
            ..Default::default()
        }
    }

    fn temp(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("rnn-history-{}-{name}", std::process::id()))
    }

    #[test]
    fn csv_has_one_row_per_epoch() {
        let path = temp("h.csv");
        sample().to_csv(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "epoch,loss,val_loss,lr,seconds",
                "1,1,2,0.001,0.5",
                "2,0.125,0.5,0.001,0.25",
                "3,NaN,0.25,0.0005,0.125"
            ]
        );
        // The file reads back through the CSV loader.
        let back = crate::data::load_csv(&path, &["val_loss", "lr"]).unwrap();
        assert_eq!(back.column(0).to_vec(), vec![2.0, 0.5, 0.25]);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn json_parses_and_holds_every_value() {
        let path = temp("h.json");
        sample().to_json(&path).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let numbers = |key: &str| -> Vec<Option<f64>> {
            v[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64())
                .collect()
        };
        assert_eq!(numbers("loss"), [Some(1.0), Some(0.125), None]);
        assert_eq!(numbers("val_loss"), [Some(2.0), Some(0.5), Some(0.25)]);
        assert_eq!(v["lr"][2].as_f64().map(|x| x as f32), Some(5e-4));
        assert_eq!(v["seconds"].as_array().map(Vec::len), Some(3));
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn empty_history_and_unwritable_path() {
        let path = temp("empty.json");
        History::default().to_json(&path).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["loss"], serde_json::json!([]));
        std::fs::remove_file(&path).unwrap();
        let bad = temp("no-such-dir").join("h.csv");
        assert!(matches!(
            History::default().to_csv(&bad),
            Err(crate::Error::Io { .. })
        ));
    }
}

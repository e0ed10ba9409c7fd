//! Writing a training [`History`] as CSV or JSON, for spreadsheets, notebooks and
//! dashboards.

use std::io;
use std::path::Path;

use serde::ser::{SerializeMap, Serializer as _};
use serde_json::ser::Formatter;

use super::history::History;
use crate::error::{Error, Result};

/// Atomic, as every file the crate writes: a crash leaves the old file or the new one.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::io::write_atomic(path, bytes)
}

/// An error of the in-memory encoders; writing to a `Vec` cannot fail, so this is
/// only reached if an encoder itself refuses a value.
fn encoding(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source: io::Error::other(e.to_string()),
    }
}

/// A CSV cell: empty where the epoch has no such value.
fn cell<T: std::fmt::Display>(values: &[T], epoch: usize) -> String {
    values.get(epoch).map(T::to_string).unwrap_or_default()
}

/// serde_json's compact layout with a space after each `:` and `,`
/// (`{"loss": [0.5, 0.25]}`): one line, and still easy to read.
struct Spaced;

/// `", "` before every element but the first.
fn separator<W: ?Sized + io::Write>(w: &mut W, first: bool) -> io::Result<()> {
    if first {
        Ok(())
    } else {
        w.write_all(b", ")
    }
}

impl Formatter for Spaced {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        separator(w, first)
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        separator(w, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
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
        let path = path.as_ref();
        let mut out = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        let mut header = vec!["epoch", "loss", "val_loss", "lr", "seconds"];
        header.extend(self.metrics.keys().map(String::as_str));
        out.write_record(&header).map_err(|e| encoding(path, e))?;
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
            let mut row = vec![
                (e + 1).to_string(),
                cell(&self.loss, e),
                cell(&self.val_loss, e),
                cell(&self.lr, e),
                cell(&self.seconds, e),
            ];
            row.extend(self.metrics.values().map(|values| cell(values, e)));
            out.write_record(&row).map_err(|e| encoding(path, e))?;
        }
        let bytes = out.into_inner().map_err(|e| encoding(path, e))?;
        write_file(path, &bytes)
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
        let path = path.as_ref();
        // A map serialised entry by entry keeps Keras's key order (the losses first,
        // then the metrics by name); serde_json writes NaN and infinities as `null`.
        let mut bytes = Vec::new();
        let mut json = serde_json::Serializer::with_formatter(&mut bytes, Spaced);
        let mut map = json.serialize_map(None).map_err(|e| encoding(path, e))?;
        let mut entries = || -> serde_json::Result<()> {
            map.serialize_entry("loss", &self.loss)?;
            map.serialize_entry("val_loss", &self.val_loss)?;
            map.serialize_entry("lr", &self.lr)?;
            map.serialize_entry("seconds", &self.seconds)?;
            for (name, values) in &self.metrics {
                map.serialize_entry(name, values)?;
            }
            Ok(())
        };
        entries().map_err(|e| encoding(path, e))?;
        map.end().map_err(|e| encoding(path, e))?;
        bytes.push(b'\n');
        write_file(path, &bytes)
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

//! What Keras 3 writes into `.weights.h5`, read through a pure-Rust HDF5 reader:
//! groups `layers/<name>/…/vars` of float datasets named `0`, `1`, ….

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use rustyhdf5::{DType, File};

use crate::error::{Error, Result};

/// Deepest group nesting searched for stray weights (Keras nests at most
/// `layers/<bidirectional>/<direction>/cell/vars`).
const MAX_DEPTH: usize = 6;

/// A parsed `.weights.h5`.
pub(crate) struct Weights {
    file: File,
    path: PathBuf,
}

/// One variable of a `vars` group.
#[derive(Debug)]
pub(crate) struct Var {
    /// The dataset's name, `vars/<index>`.
    pub index: usize,
    /// Its shape as stored.
    pub shape: Vec<usize>,
}

/// Runs a call into the HDF5 reader, turning a panic on malformed input (a bug of the
/// reader, but the input is the user's) into an error like any other.
fn guarded<T>(f: impl FnOnce() -> Result<T, rustyhdf5::Error>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the HDF5 reader failed on malformed data".to_owned()),
    }
}

impl Weights {
    /// Parses the bytes of a `.weights.h5`; `path` names the file in errors.
    pub(crate) fn parse(bytes: Vec<u8>, path: &Path) -> Result<Self> {
        let file = guarded(|| File::from_bytes(bytes)).map_err(|e| Error::KerasFile {
            path: path.to_path_buf(),
            reason: format!("not HDF5: {e}"),
        })?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
        })
    }

    fn corrupt(&self, at: &str, reason: String) -> Error {
        Error::KerasFile {
            path: self.path.clone(),
            reason: format!("`{at}`: {reason}"),
        }
    }

    /// Names of the subgroups of `group`; an empty list when `group` is absent.
    fn subgroups(&self, group: &str) -> Result<Vec<String>> {
        if !self.exists(group)? {
            return Ok(Vec::new());
        }
        guarded(|| self.file.group(group)?.groups()).map_err(|e| self.corrupt(group, e))
    }

    /// Whether `path` names an object. A missing name is not an error; a file too
    /// damaged to tell is.
    pub(crate) fn exists(&self, path: &str) -> Result<bool> {
        let (parent, name) = match path.rsplit_once('/') {
            Some((p, n)) => (p, n),
            None => ("", path),
        };
        if !parent.is_empty() && !self.exists(parent)? {
            return Ok(false);
        }
        let names = guarded(|| {
            let g = if parent.is_empty() {
                self.file.root()
            } else {
                self.file.group(parent)?
            };
            let mut all = g.groups()?;
            all.extend(g.datasets()?);
            Ok(all)
        })
        .map_err(|e| self.corrupt(if parent.is_empty() { "/" } else { parent }, e))?;
        Ok(names.iter().any(|n| n == name))
    }

    /// The layer groups under `layers/`, in the file's (alphabetical) order.
    pub(crate) fn layers(&self) -> Result<Vec<String>> {
        if !self.exists("layers")? {
            return Err(Error::KerasFile {
                path: self.path.clone(),
                reason: "no `layers` group: not a Keras 3 weights file".to_owned(),
            });
        }
        self.subgroups("layers")
    }

    /// The variables of `<group>/vars` in index order; empty when there is no such
    /// group.
    pub(crate) fn vars(&self, group: &str) -> Result<Vec<Var>> {
        let vars = format!("{group}/vars");
        if !self.exists(&vars)? {
            return Ok(Vec::new());
        }
        let names =
            guarded(|| self.file.group(&vars)?.datasets()).map_err(|e| self.corrupt(&vars, e))?;
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let at = format!("{vars}/{name}");
            let index = name
                .parse::<usize>()
                .map_err(|_| self.corrupt(&at, "a variable not named by its index".to_owned()))?;
            let (shape, dtype) = guarded(|| {
                let d = self.file.dataset(&at)?;
                Ok((d.shape()?, d.dtype()?))
            })
            .map_err(|e| self.corrupt(&at, e))?;
            if !matches!(dtype, DType::F32 | DType::F64) {
                return Err(self.corrupt(&at, format!("dtype {dtype}, expected float32")));
            }
            let shape = shape
                .into_iter()
                .map(usize::try_from)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| self.corrupt(&at, "a dimension beyond usize".to_owned()))?;
            out.push(Var { index, shape });
        }
        out.sort_by_key(|v| v.index);
        if out.iter().enumerate().any(|(i, v)| v.index != i) {
            return Err(self.corrupt(&vars, "variables not numbered 0, 1, …".to_owned()));
        }
        Ok(out)
    }

    /// The values of `<group>/vars/<index>`, which [`vars`](Self::vars) has listed
    /// and the caller has checked to have `len` elements: the check bounds what a
    /// corrupt file can make us allocate.
    ///
    /// Only contiguous datasets are read, a range of the file's own bytes, as Keras
    /// (h5py's default layout) writes them. The reader inflates compressed chunks
    /// without any bound, whatever the dataset's shape, so a chunked dataset is
    /// refused before any of it is read.
    pub(crate) fn read(&self, group: &str, index: usize, len: usize) -> Result<Vec<f32>> {
        let at = format!("{group}/vars/{index}");
        let values = guarded(|| {
            let d = self.file.dataset(&at)?;
            match d.read_raw_ref()? {
                Some(_) => d.read_f32().map(Some),
                None => Ok(None),
            }
        })
        .map_err(|e| self.corrupt(&at, e))?
        .ok_or_else(|| {
            self.corrupt(
                &at,
                "stored chunked (or compact); only contiguous datasets, as Keras writes \
                 them, are read: save the weights with Keras, or `h5repack -l CONTI`"
                    .to_owned(),
            )
        })?;
        if values.len() != len {
            return Err(self.corrupt(
                &at,
                format!("{} values stored, its shape says {len}", values.len()),
            ));
        }
        Ok(values)
    }

    /// Whether any dataset lies below `group` (Keras writes empty `vars` groups for
    /// layers without weights, such as dropout).
    pub(crate) fn holds_data(&self, group: &str) -> Result<bool> {
        self.holds_data_below(group, 0)
    }

    fn holds_data_below(&self, group: &str, depth: usize) -> Result<bool> {
        if depth > MAX_DEPTH {
            return Err(self.corrupt(group, "groups nested too deeply".to_owned()));
        }
        let datasets =
            guarded(|| self.file.group(group)?.datasets()).map_err(|e| self.corrupt(group, e))?;
        if !datasets.is_empty() {
            return Ok(true);
        }
        for sub in self.subgroups(group)? {
            if self.holds_data_below(&format!("{group}/{sub}"), depth + 1)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

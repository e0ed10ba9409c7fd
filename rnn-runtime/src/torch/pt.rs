//! The `.pt` file of `torch.save(model.state_dict(), path)`: a zip archive of
//! `<name>/data.pkl` (the pickle of the `state_dict`, read by [`super::pickle`]),
//! `<name>/data/<key>` (each storage's raw bytes), `<name>/byteorder` (`little` or
//! `big`; absent in old files, which are little-endian) and records this reader does
//! not need (`version`, `.format_version`, `.storage_alignment`,
//! `.data/serialization_id`).

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::Path;

use super::pickle::{self, Dtype, Obj, Pickle, Refusal, Tensor, Value};
use super::Source;
use crate::error::{Error, Result};
use crate::params::ParamSpec;
use crate::zip::{Archive, Format};

/// A `.pt` archive's zip errors are [`Error::TorchFile`].
const PT_ARCHIVE: Format = Format {
    error: |path, reason| Error::TorchFile {
        path: path.to_path_buf(),
        reason,
    },
    not_zip: "not a zip archive (a .pt file of torch.save is one)",
};

fn damaged(path: &Path, reason: impl Into<String>) -> Error {
    Error::TorchFile {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// A `state_dict` read from a `.pt` archive: its tensors by name, their data still in
/// the archive.
pub(crate) struct PtFile<'a> {
    archive: Archive<'a>,
    path: &'a Path,
    /// `<name>/`, the archive's top folder.
    prefix: String,
    pickle: Pickle,
    /// The state_dict's entries by name: string and tensor indices into `pickle`,
    /// sorted by name.
    tensors: Vec<(usize, usize)>,
    big_endian: bool,
}

impl<'a> PtFile<'a> {
    /// Reads the archive's directory and unpickles its `state_dict`; no tensor data is
    /// read yet.
    pub(crate) fn parse(bytes: &'a [u8], path: &'a Path) -> Result<Self> {
        let archive = Archive::new(bytes, path, PT_ARCHIVE)?;
        let prefix = top_folder(&archive, path)?;
        let big_endian = match archive
            .contains(&format!("{prefix}byteorder"))
            .then(|| archive.get(&format!("{prefix}byteorder")))
            .transpose()?
            .as_deref()
        {
            None | Some(b"little") => false,
            Some(b"big") => true,
            Some(other) => {
                return Err(damaged(
                    path,
                    format!(
                        "the byteorder record is `{}`, not `little` or `big`",
                        String::from_utf8_lossy(&other[..other.len().min(32)])
                    ),
                ))
            }
        };
        let record = format!("{prefix}data.pkl");
        let data = archive.get(&record)?;
        let budget = pickle_budget(bytes.len(), data.len());
        let pickle =
            pickle::unpickle(&data, budget).map_err(|refusal| refused(path, &record, refusal))?;
        let tensors = state_dict(&pickle, path)?;
        Ok(Self {
            archive,
            path,
            prefix,
            pickle,
            tensors,
            big_endian,
        })
    }

    fn tensor(&self, name: &str) -> Option<&Tensor> {
        let i = self
            .tensors
            .binary_search_by(|&(key, _)| self.pickle.str(key).cmp(name))
            .ok()?;
        match self.pickle.obj(self.tensors[i].1) {
            Obj::Tensor(t) => Some(t),
            _ => None,
        }
    }
}

impl Source for PtFile<'_> {
    fn names(&self) -> Vec<&str> {
        self.tensors
            .iter()
            .map(|&(key, _)| self.pickle.str(key))
            .collect()
    }

    /// The values of tensor `name` for parameter `spec`: refused unless float32 of the
    /// spec's shape (checked before any data is read), then gathered from its storage
    /// by offset and strides, every element's position checked against the record.
    fn values(&self, name: &str, both: &str, spec: &ParamSpec) -> Result<Vec<f32>> {
        let path = self.path;
        let tensor = self
            .tensor(name)
            .ok_or_else(|| damaged(path, format!("no tensor `{name}`")))?;
        if tensor.dtype != Dtype::F32 {
            return Err(Error::TensorDtype {
                path: path.to_path_buf(),
                name: both.to_string(),
                got: tensor.dtype.name().to_string(),
            });
        }
        let size: Vec<u64> = self.pickle.dims(tensor.size).collect();
        let shape: Vec<usize> = size
            .iter()
            .map(|&n| usize::try_from(n).unwrap_or(usize::MAX))
            .collect();
        if shape != spec.shape {
            return Err(Error::TensorShape {
                path: path.to_path_buf(),
                name: both.to_string(),
                expected: spec.shape.to_vec(),
                got: shape,
            });
        }
        let Obj::Storage(storage) = self.pickle.obj(tensor.storage) else {
            return Err(damaged(path, format!("tensor `{name}` has no storage")));
        };
        let key = self.pickle.str(storage.key);
        let record = format!("{}data/{key}", self.prefix);
        if !self.archive.contains(&record) {
            return Err(damaged(
                path,
                format!("tensor `{name}`: its storage record `{record}` is missing"),
            ));
        }
        let bytes: Cow<'_, [u8]> = self.archive.get(&record)?;
        if storage.bytes() != Some(bytes.len() as u64) {
            return Err(damaged(
                path,
                format!(
                    "tensor `{name}`: storage `{record}` holds {} bytes, but the pickle \
                     declares {} elements of {} bytes (truncated or damaged)",
                    bytes.len(),
                    storage.numel,
                    storage.dtype.map_or(1, Dtype::size)
                ),
            ));
        }
        let stride: Vec<u64> = self.pickle.dims(tensor.stride).collect();
        let positions =
            positions(tensor.offset, &size, &stride, bytes.len() / 4).ok_or_else(|| {
                damaged(
                    path,
                    format!(
                        "tensor `{name}` (offset {}, size {size:?}, stride {stride:?}) reaches \
                         past the {} float32 elements of storage `{record}`",
                        tensor.offset,
                        bytes.len() / 4
                    ),
                )
            })?;
        // Every position is within the record (checked above); reading through `get`
        // keeps a slip in that check an error rather than a panic.
        let element = |i: usize| -> Option<f32> {
            let b: [u8; 4] = bytes.get(4 * i..4 * i + 4)?.try_into().ok()?;
            Some(if self.big_endian {
                f32::from_be_bytes(b)
            } else {
                f32::from_le_bytes(b)
            })
        };
        positions
            .map(element)
            .collect::<Option<Vec<f32>>>()
            .ok_or_else(|| {
                damaged(
                    path,
                    format!("tensor `{name}` reaches past storage `{record}`"),
                )
            })
    }
}

/// The positions in a storage of `available` elements of a tensor's elements in
/// row-major order, or `None` if one of them is out of range (or out of `u64`).
/// The caller has checked the size against the model's, so the count is small.
fn positions(
    offset: u64,
    size: &[u64],
    stride: &[u64],
    available: usize,
) -> Option<impl Iterator<Item = usize>> {
    let count = size.iter().try_fold(1u64, |n, &d| n.checked_mul(d))?;
    if count > 0 {
        let last = size.iter().zip(stride).try_fold(offset, |at, (&d, &s)| {
            at.checked_add((d - 1).checked_mul(s)?)
        })?;
        if last >= available as u64 {
            return None;
        }
    }
    let count = usize::try_from(count).ok()?;
    let size: Vec<usize> = size.iter().map(|&d| d as usize).collect();
    let stride: Vec<usize> = stride.iter().map(|&s| s as usize).collect();
    let offset = offset as usize;
    // An odometer over the multi-index. Every position it yields is at most `last`;
    // the steps between may pass `usize::MAX` (a dimension of size 1 with a huge
    // stride), so they wrap, and the yielded positions are exact.
    let mut index = vec![0usize; size.len()];
    let mut at = offset;
    Some((0..count).map(move |k| {
        let here = at;
        if k + 1 < count {
            for d in (0..size.len()).rev() {
                index[d] += 1;
                at = at.wrapping_add(stride[d]);
                if index[d] < size[d] {
                    break;
                }
                at = at.wrapping_sub(stride[d].wrapping_mul(size[d]));
                index[d] = 0;
            }
        }
        here
    }))
}

/// The folder `<name>/` that holds `data.pkl`; errors say what the archive is when it
/// is not a `torch.save` file.
fn top_folder(archive: &Archive<'_>, path: &Path) -> Result<String> {
    let mut pickles = archive.names().filter_map(|name| {
        let folder = name.strip_suffix(b"/data.pkl")?;
        (!folder.is_empty() && !folder.contains(&b'/')).then_some(folder)
    });
    let torchscript = |folder: &[u8]| {
        archive.names().any(|n| {
            n.strip_prefix(folder)
                .is_some_and(|rest| rest.starts_with(b"/code/") || rest == b"/constants.pkl")
        })
    };
    match (pickles.next(), pickles.next()) {
        (Some(folder), None) if !torchscript(folder) => {
            let folder = std::str::from_utf8(folder)
                .map_err(|_| damaged(path, "the archive's folder name is not UTF-8"))?;
            Ok(format!("{folder}/"))
        }
        (Some(folder), None) => Err(damaged(
            path,
            format!(
                "a TorchScript archive (torch.jit.save: `{}/code/`, `constants.pkl`), not a \
                 state_dict; save the weights with `torch.save(model.state_dict(), path)`",
                String::from_utf8_lossy(folder)
            ),
        )),
        (Some(_), Some(_)) => Err(damaged(
            path,
            "several `<name>/data.pkl` records; torch.save writes one",
        )),
        (None, _) if archive.contains("config.json") => Err(damaged(
            path,
            "a Keras archive (config.json), not a torch.save file; load it with \
             `keras::load_keras`",
        )),
        (None, _) => Err(damaged(
            path,
            "a zip archive without `<name>/data.pkl`, so not written by torch.save",
        )),
    }
}

/// The most the unpickler may allocate for the pickle of a `file`-byte archive: 10
/// bytes per byte of the file, 24 per byte a deflated pickle inflates beyond it, plus
/// 1 MiB. The `state_dict` pickles torch writes take 15 to 19 bytes per byte of pickle,
/// at most 4 per byte of their file (the pickle is a small part of it: the tensors'
/// data is the rest), and the MiB covers small files of many tiny tensors. A file that
/// is all pickle, built to make the unpickler allocate (every empty-dict opcode, one
/// byte, costs a 64-byte object and value), is refused before its structures hold
/// more than 10 times the file.
pub(crate) fn pickle_budget(file: usize, pickle: usize) -> usize {
    file.saturating_mul(10)
        .saturating_add(pickle.saturating_sub(file).saturating_mul(24))
        .saturating_add(1 << 20)
}

/// A refusal of the unpickler as the error of file `path`.
fn refused(path: &Path, record: &str, refusal: Refusal) -> Error {
    match refusal {
        Refusal::Opcode { at, code, name } => Error::TorchPickleOpcode {
            path: path.to_path_buf(),
            offset: at,
            opcode: code,
            name,
        },
        Refusal::Global { at, name } => Error::TorchPickleGlobal {
            path: path.to_path_buf(),
            offset: at,
            global: name,
        },
        Refusal::Damaged { at, reason } => damaged(path, format!("`{record}` byte {at}: {reason}")),
    }
}

/// The entries of the state_dict the pickle returned, sorted by name: a dict (an
/// `OrderedDict` as `state_dict()` returns, or a plain one) of string keys and tensor
/// values. Anything else is [`Error::TorchNotStateDict`], saying what the file holds.
fn state_dict(pickle: &Pickle, path: &Path) -> Result<Vec<(usize, usize)>> {
    let not = |found: String| Error::TorchNotStateDict {
        path: path.to_path_buf(),
        found,
    };
    let Some(items) = dict_items(pickle, pickle.root) else {
        return Err(not(pickle.kind(pickle.root).to_string()));
    };
    let tensor = |v: Value| matches!(v, Value::Obj(t) if matches!(pickle.obj(t), Obj::Tensor(_)));
    let mut tensors = Vec::with_capacity(items.len());
    let mut seen = HashSet::with_capacity(items.len());
    for &(key, value) in items {
        let Value::Str(key) = key else {
            return Err(not(format!("a dict with {} as a key", pickle.kind(key))));
        };
        let name = pickle.str(key);
        let t = match value {
            Value::Obj(t) if tensor(value) => t,
            _ => return Err(not(describe(pickle, items, name, value))),
        };
        if !seen.insert(name) {
            return Err(damaged(
                path,
                format!("the state_dict has `{name}` twice (damaged)"),
            ));
        }
        tensors.push((key, t));
    }
    tensors.sort_by(|a, b| pickle.str(a.0).cmp(pickle.str(b.0)));
    Ok(tensors)
}

/// The items of `value` if it is a dict.
fn dict_items(pickle: &Pickle, value: Value) -> Option<&[(Value, Value)]> {
    match value {
        Value::Obj(i) => match pickle.obj(i) {
            Obj::Dict { items, .. } => Some(items),
            _ => None,
        },
        _ => None,
    }
}

/// What a dict of `items` is, whose entry `name` is the non-tensor `value`: a
/// training checkpoint when one of its entries is itself a state_dict.
fn describe(pickle: &Pickle, items: &[(Value, Value)], name: &str, value: Value) -> String {
    let is_state_dict = |v: Value| {
        dict_items(pickle, v).is_some_and(|inner| {
            !inner.is_empty()
                && inner.iter().all(|&(k, v)| {
                    matches!(k, Value::Str(_))
                        && matches!(v, Value::Obj(t) if matches!(pickle.obj(t), Obj::Tensor(_)))
                })
        })
    };
    let nested = items.iter().find_map(|&(k, v)| match k {
        Value::Str(k) if is_state_dict(v) => Some(pickle.str(k)),
        _ => None,
    });
    match nested {
        Some(key) => format!(
            "a training checkpoint, a dict of {} entries whose entry `{key}` is a state_dict \
             (`torch.save(checkpoint[\"{key}\"], path)` saves it alone)",
            items.len()
        ),
        None => format!(
            "a dict whose entry `{name}` is {}, not a tensor",
            pickle.kind(value)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `state_dict` makes of a hand-built pickle: the entry names or the error.
    fn entries(pickle: &[u8]) -> std::result::Result<Vec<String>, String> {
        let p = pickle::unpickle(pickle, 1 << 20).unwrap();
        state_dict(&p, Path::new("x.pt"))
            .map(|t| t.iter().map(|&(k, _)| p.str(k).to_owned()).collect())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn only_a_dict_of_tensors_is_a_state_dict() {
        use pickle::tests::{state_dict as sd, tensor, text};
        let t = || tensor("0", 2, 0, &[2], &[1]);
        assert_eq!(
            entries(&sd(&[("b", t()), ("a", t())])),
            Ok(vec!["a".to_owned(), "b".to_owned()])
        );
        // A plain dict of tensors is one too (as `torch.save({k: v ...})` writes it).
        let plain = [vec![0x80, 2, b'}', b'('], text("w"), t(), vec![b'u', b'.']].concat();
        assert_eq!(entries(&plain), Ok(vec!["w".to_owned()]));
        let bare = [vec![0x80, 2], t(), vec![b'.']].concat();
        let err = entries(&bare).unwrap_err();
        assert!(
            err.contains("not a state_dict (tensors by name): it holds a tensor;"),
            "{err}"
        );
        assert!(
            err.contains("torch.save(model.state_dict(), path)"),
            "{err}"
        );
        let list = [0x80, 2, b']', b'.'];
        assert!(entries(&list).unwrap_err().contains("holds a list"));
        let int_key = [vec![0x80, 2, b'}', b'K', 1], t(), vec![b's', b'.']].concat();
        assert!(entries(&int_key).unwrap_err().contains("an int as a key"));
        let not_tensor = sd(&[("w", t()), ("epoch", vec![b'K', 3])]);
        assert!(entries(&not_tensor)
            .unwrap_err()
            .contains("entry `epoch` is an int, not a tensor"));
        let twice = sd(&[("w", t()), ("w", t())]);
        let err = entries(&twice).unwrap_err();
        assert!(err.contains("`w` twice"), "{err}");
    }

    #[test]
    fn the_fixtures_pickles_stay_well_within_their_budget() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/");
        for rel in [
            "torch_lstm_bidirectional/state_dict.pt",
            "torch_gru_embedding/state_dict.pt",
            "torch_pt/lstm_views.pt",
            "torch_pt/lstm_big_endian.pt",
            "torch_pt/gru_protocol4.pt",
            "torch_pt/gru_keep_vars.pt",
            "torch_pt/lstm_checkpoint.pt",
        ] {
            let bytes = std::fs::read(format!("{root}{rel}")).unwrap();
            let path = Path::new(rel);
            let archive = Archive::new(&bytes, path, PT_ARCHIVE).unwrap();
            let prefix = top_folder(&archive, path).unwrap();
            let data = archive.get(&format!("{prefix}data.pkl")).unwrap();
            let pickle = pickle::unpickle(&data, usize::MAX).unwrap();
            let per_byte = pickle.built as f64 / data.len() as f64;
            let of_file = pickle.built as f64 / bytes.len() as f64;
            println!(
                "{rel}: {} bytes built, {per_byte:.1} per pickle byte, {of_file:.1} per file byte",
                pickle.built
            );
            // Half the budget's rate at most, without its MiB.
            assert!(of_file <= 5.0, "{rel}: {of_file}");
            assert!(per_byte <= 20.0, "{rel}: {per_byte}");
            assert!(pickle.built <= pickle_budget(bytes.len(), data.len()) / 2);
        }
    }

    fn all(offset: u64, size: &[u64], stride: &[u64], available: usize) -> Option<Vec<usize>> {
        positions(offset, size, stride, available).map(Iterator::collect)
    }

    #[test]
    fn positions_follow_offset_and_strides() {
        // Contiguous 2×3 from offset 1.
        assert_eq!(all(1, &[2, 3], &[3, 1], 7), Some(vec![1, 2, 3, 4, 5, 6]));
        // The transpose of a contiguous 3×2: column-major reading.
        assert_eq!(all(0, &[2, 3], &[1, 2], 6), Some(vec![0, 2, 4, 1, 3, 5]));
        // A broadcast (stride 0) dimension.
        assert_eq!(all(2, &[3], &[0], 3), Some(vec![2, 2, 2]));
        // A dimension of size 1 whose stride is never taken, however large.
        assert_eq!(all(0, &[1, 2], &[u64::MAX, 1], 2), Some(vec![0, 1]));
        // A scalar and an empty tensor.
        assert_eq!(all(4, &[], &[], 5), Some(vec![4]));
        assert_eq!(all(100, &[0, 3], &[3, 1], 0), Some(vec![]));
    }

    #[test]
    fn positions_past_the_storage_are_refused() {
        assert_eq!(all(1, &[2, 3], &[3, 1], 6), None);
        assert_eq!(all(0, &[2, 3], &[1, 2], 5), None);
        assert_eq!(all(u64::MAX, &[1], &[1], 5), None);
        assert_eq!(all(0, &[2], &[u64::MAX], 5), None);
        assert_eq!(all(0, &[u64::MAX, u64::MAX], &[1, 1], 5), None);
    }
}

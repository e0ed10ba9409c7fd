//! What Keras writes into HDF5, read through a pure-Rust HDF5 reader:
//!
//! - Keras 3's `.weights.h5`: groups `layers/<name>/…/vars` of float datasets named
//!   `0`, `1`, …;
//! - the legacy format of Keras 2 / tf.keras (and of Keras 3 for a `.h5` path):
//!   `model.save_weights("….h5")` writes per layer a group whose attribute
//!   `weight_names` lists its datasets, the layers' order in the root attribute
//!   `layer_names`; `model.save("….h5")` writes the same under a group
//!   `model_weights` and the model's JSON in the root attribute `model_config`.

use std::collections::hash_map::{Entry, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use rustyhdf5::{DType, File};
use rustyhdf5_format::attribute::AttributeMessage;
use rustyhdf5_format::dataspace::DataspaceType;
use rustyhdf5_format::datatype::{Datatype, StringPadding};
use rustyhdf5_format::global_heap::GlobalHeapCollection;
use rustyhdf5_format::group_v2::resolve_path_any;
use rustyhdf5_format::message_type::MessageType;
use rustyhdf5_format::object_header::ObjectHeader;
use rustyhdf5_format::shared_message::is_shared;

use crate::error::{Error, Result};

/// Deepest group nesting searched for stray weights (Keras nests at most
/// `layers/<bidirectional>/<direction>/cell/vars`).
const MAX_DEPTH: usize = 6;

/// Most parts a split attribute (`layer_names0`, `layer_names1`, …) is read from. Keras
/// splits an attribute into parts under 64 KiB; this many hold far more layers than a
/// `model!` network declares.
const MAX_ATTRIBUTE_PARTS: usize = 64;

/// A parsed Keras HDF5 file.
pub(crate) struct Weights {
    file: File,
    path: PathBuf,
}

/// One weight as stored.
#[derive(Debug, Clone)]
pub(crate) struct Var {
    /// The dataset's path in the file.
    pub at: String,
    /// The weight's role as a legacy file names it: the last part of its weight name
    /// without Keras 2's `:0` (`kernel`, `recurrent_kernel`, `bias`, `embeddings`).
    /// `None` for Keras 3's variables, which are numbered.
    pub role: Option<String>,
    /// Its shape as stored.
    pub shape: Vec<usize>,
}

/// Which Keras file an HDF5 file is, told by its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Keras 3 `model.save_weights("….weights.h5")`: a group `layers`.
    Keras3Weights,
    /// Legacy `model.save_weights("….h5")`: the attribute `layer_names` at the root.
    LegacyWeights,
    /// Legacy `model.save("….h5")`: the root attribute `model_config` and the group
    /// `model_weights`.
    LegacyModel,
    /// None of them.
    Other,
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

/// `name` inside `group` (`""` is the root).
pub(crate) fn join(group: &str, name: &str) -> String {
    if group.is_empty() {
        name.to_owned()
    } else {
        format!("{group}/{name}")
    }
}

/// The role of a legacy weight name: its last part, without a `:<n>` suffix.
fn role(weight_name: &str) -> String {
    let last = weight_name.rsplit('/').next().unwrap_or(weight_name);
    match last.rsplit_once(':') {
        Some((base, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            base.to_owned()
        }
        _ => last.to_owned(),
    }
}

/// Fixed-length strings: `count` elements of `size` bytes, trimmed as `padding` says.
fn fixed_strings(
    raw: &[u8],
    count: usize,
    size: usize,
    padding: &StringPadding,
) -> Result<Vec<String>, String> {
    let need = count
        .checked_mul(size)
        .filter(|&n| size > 0 && n <= raw.len())
        .ok_or_else(|| {
            format!(
                "{count} strings of {size} bytes, {} bytes stored",
                raw.len()
            )
        })?;
    raw[..need]
        .chunks_exact(size)
        .map(|s| {
            let end = match padding {
                StringPadding::NullTerminate => s.iter().position(|&b| b == 0).unwrap_or(s.len()),
                StringPadding::NullPad => s.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1),
                StringPadding::SpacePad => s.iter().rposition(|&b| b != b' ').map_or(0, |p| p + 1),
            };
            String::from_utf8(s[..end].to_vec()).map_err(|_| "a string not in UTF-8".to_owned())
        })
        .collect()
}

fn le(bytes: &[u8]) -> u64 {
    bytes.iter().rev().fold(0, |v, &b| (v << 8) | u64::from(b))
}

impl Weights {
    /// Parses the bytes of an HDF5 file; `path` names the file in errors.
    pub(crate) fn parse(bytes: Vec<u8>, path: &Path) -> Result<Self> {
        let len = bytes.len() as u64;
        let file = guarded(|| File::from_bytes(bytes)).map_err(|e| Error::KerasFile {
            path: path.to_path_buf(),
            reason: format!("not HDF5: {e}"),
        })?;
        // The reader does not compare the file's end with its length: without this, a
        // file cut after the parts one call reads (a legacy model file's weights,
        // before its config) would load.
        let sb = file.superblock();
        let end = sb.base_address.saturating_add(sb.eof_address);
        if end > len {
            return Err(Error::KerasFile {
                path: path.to_path_buf(),
                reason: format!(
                    "truncated: {len} bytes, where the HDF5 superblock says the file ends at \
                     byte {end}"
                ),
            });
        }
        Ok(Self {
            file,
            path: path.to_path_buf(),
        })
    }

    pub(crate) fn corrupt(&self, at: &str, reason: impl std::fmt::Display) -> Error {
        Error::KerasFile {
            path: self.path.clone(),
            reason: format!("`{}`: {reason}", if at.is_empty() { "/" } else { at }),
        }
    }

    /// Which Keras file this is.
    pub(crate) fn layout(&self) -> Result<Layout> {
        if self.attribute("", "model_config")?.is_some() {
            return Ok(Layout::LegacyModel);
        }
        if self.keras_list("", "layer_names")?.is_some() {
            return Ok(Layout::LegacyWeights);
        }
        if self.exists("layers")? {
            return Ok(Layout::Keras3Weights);
        }
        Ok(Layout::Other)
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
        .map_err(|e| self.corrupt(parent, e))?;
        Ok(names.iter().any(|n| n == name))
    }

    /// The layer groups under `layers/` of a Keras 3 file, in the file's
    /// (alphabetical) order.
    pub(crate) fn layers(&self) -> Result<Vec<String>> {
        self.subgroups("layers")
    }

    /// The attribute messages stored in the object header of `object` (`""`: the
    /// root group). Keras (through h5py's default file format) keeps attributes there;
    /// attributes in dense storage (a fractal heap, HDF5 1.8's format for objects with
    /// many attributes) are not read: no Keras file has them, and a heap could make
    /// one header's attributes cost far more than the file.
    fn attributes(&self, object: &str) -> Result<Vec<AttributeMessage>> {
        let bytes = self.file.as_bytes();
        let sb = self.file.superblock();
        let address = guarded(|| Ok(resolve_path_any(bytes, sb, object)?))
            .map_err(|e| self.corrupt(object, e))?;
        let address = usize::try_from(address)
            .map_err(|_| self.corrupt(object, "an address beyond usize"))?;
        guarded(|| {
            let header = ObjectHeader::parse(bytes, address, sb.offset_size, sb.length_size)?;
            let mut out = Vec::new();
            for m in &header.messages {
                if m.msg_type == MessageType::Attribute && !is_shared(m.flags) {
                    out.push(AttributeMessage::parse(&m.data, sb.length_size)?);
                }
            }
            Ok(out)
        })
        .map_err(|e| self.corrupt(object, e))
    }

    /// The strings of attribute `name` of `object` (a scalar string is a list of one);
    /// `None` when there is no such attribute. An empty list of any type is empty
    /// (Keras writes an empty `weight_names` as a float array of length 0).
    pub(crate) fn attribute(&self, object: &str, name: &str) -> Result<Option<Vec<String>>> {
        let all = self.attributes(object)?;
        let Some(attr) = all.iter().find(|a| a.name == name) else {
            return Ok(None);
        };
        let bad = |e: &str| self.corrupt(object, format!("attribute `{name}`: {e}"));
        let count = match attr.dataspace.space_type {
            DataspaceType::Null => 0,
            DataspaceType::Scalar => 1,
            DataspaceType::Simple => match attr.dataspace.dimensions[..] {
                [] => 0,
                [n] => n,
                _ => return Err(bad("multi-dimensional, not a list")),
            },
        };
        if count == 0 {
            return Ok(Some(Vec::new()));
        }
        let count = usize::try_from(count).map_err(|_| bad("longer than usize"))?;
        let strings = match &attr.datatype {
            Datatype::String { size, padding, .. } => {
                fixed_strings(&attr.raw_data, count, *size as usize, padding)
            }
            Datatype::VariableLength {
                is_string: true, ..
            } => self.vl_strings(&attr.raw_data, count),
            _ => Err("not strings".to_owned()),
        };
        strings.map(Some).map_err(|e| bad(&e))
    }

    /// Variable-length strings: `count` references into the global heap. The strings
    /// and the heap objects parsed to find them may together hold at most the file's
    /// length: a real file stores each string once, while a damaged one could point
    /// every reference at the same large object.
    fn vl_strings(&self, raw: &[u8], count: usize) -> Result<Vec<String>, String> {
        let bytes = self.file.as_bytes();
        let sb = self.file.superblock();
        let os = usize::from(sb.offset_size);
        let size = 8 + os;
        let need = count
            .checked_mul(size)
            .filter(|&n| n <= raw.len())
            .ok_or_else(|| format!("{count} string references, {} bytes stored", raw.len()))?;
        let mut budget = bytes.len();
        let mut spend = |n: usize| {
            budget = budget
                .checked_sub(n)
                .ok_or("strings larger than the file (corrupt heap references)")?;
            Ok::<_, &str>(())
        };
        let mut heaps: HashMap<u64, GlobalHeapCollection> = HashMap::new();
        let mut out = Vec::with_capacity(count);
        for r in raw[..need].chunks_exact(size) {
            let len = le(&r[..4]) as usize;
            let address = le(&r[4..4 + os]);
            let index = le(&r[4 + os..]);
            if len == 0 {
                out.push(String::new());
                continue;
            }
            let heap = match heaps.entry(address) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => {
                    let at = usize::try_from(address).map_err(|_| "a heap address beyond usize")?;
                    let parsed =
                        guarded(|| Ok(GlobalHeapCollection::parse(bytes, at, sb.length_size)?))?;
                    spend(parsed.objects.iter().map(|o| o.data.len()).sum())?;
                    e.insert(parsed)
                }
            };
            let object = u16::try_from(index)
                .ok()
                .and_then(|i| heap.get_object(i))
                .ok_or_else(|| format!("no string {index} in the heap at {address}"))?;
            let data = object
                .data
                .get(..len)
                .ok_or("a string longer than its heap object")?;
            spend(len)?;
            out.push(String::from_utf8(data.to_vec()).map_err(|_| "a string not in UTF-8")?);
        }
        Ok(out)
    }

    /// A list attribute as Keras reads it: `name`, or when absent the parts `name0`,
    /// `name1`, … into which Keras splits one over 64 KiB; `None` when neither exists.
    pub(crate) fn keras_list(&self, object: &str, name: &str) -> Result<Option<Vec<String>>> {
        if let Some(list) = self.attribute(object, name)? {
            return Ok(Some(list));
        }
        let mut parts: Option<Vec<String>> = None;
        for k in 0..=MAX_ATTRIBUTE_PARTS {
            let Some(part) = self.attribute(object, &format!("{name}{k}"))? else {
                return Ok(parts);
            };
            if k == MAX_ATTRIBUTE_PARTS {
                break;
            }
            parts.get_or_insert_with(Vec::new).extend(part);
        }
        Err(self.corrupt(
            object,
            format!("attribute `{name}` split into more than {MAX_ATTRIBUTE_PARTS} parts"),
        ))
    }

    /// The JSON of the root attribute `model_config` of a legacy full-model file.
    pub(crate) fn model_config(&self) -> Result<String> {
        match self.attribute("", "model_config")? {
            Some(mut v) if v.len() == 1 => Ok(v.remove(0)),
            _ => Err(self.corrupt("", "`model_config` is not one string")),
        }
    }

    /// The weight at `at`: its shape, refused unless it is a float dataset.
    fn var(&self, at: String, role: Option<String>) -> Result<Var> {
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
            .map_err(|_| self.corrupt(&at, "a dimension beyond usize"))?;
        Ok(Var { at, role, shape })
    }

    /// The variables of Keras 3 group `<group>/vars` in index order; empty when there
    /// is no such group.
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
                .map_err(|_| self.corrupt(&at, "a variable not named by its index"))?;
            out.push((index, self.var(at, None)?));
        }
        out.sort_by_key(|(index, _)| *index);
        if out.iter().enumerate().any(|(i, (index, _))| *index != i) {
            return Err(self.corrupt(&vars, "variables not numbered 0, 1, …"));
        }
        Ok(out.into_iter().map(|(_, v)| v).collect())
    }

    /// The weights of legacy layer group `group`, in the order of its attribute
    /// `weight_names` (each a dataset path relative to the group); `None` when the
    /// group has no such attribute.
    pub(crate) fn legacy_vars(&self, group: &str) -> Result<Option<Vec<Var>>> {
        let Some(names) = self.keras_list(group, "weight_names")? else {
            return Ok(None);
        };
        names
            .iter()
            .map(|name| self.var(join(group, name), Some(role(name))))
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// The values of `var`, which the caller has checked to have `len` elements by its
    /// shape: the check bounds what a corrupt file can make us allocate.
    ///
    /// Only contiguous datasets are read, a range of the file's own bytes, as Keras
    /// (h5py's default layout) writes them. The reader inflates compressed chunks
    /// without any bound, whatever the dataset's shape, so a chunked dataset is
    /// refused before any of it is read.
    pub(crate) fn read(&self, var: &Var, len: usize) -> Result<Vec<f32>> {
        let at = &var.at;
        let values = guarded(|| {
            let d = self.file.dataset(at)?;
            match d.read_raw_ref()? {
                Some(_) => d.read_f32().map(Some),
                None => Ok(None),
            }
        })
        .map_err(|e| self.corrupt(at, e))?
        .ok_or_else(|| {
            self.corrupt(
                at,
                "stored chunked (or compact); only contiguous datasets, as Keras writes \
                 them, are read: save the weights with Keras, or `h5repack -l CONTI`",
            )
        })?;
        if values.len() != len {
            return Err(self.corrupt(
                at,
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
            return Err(self.corrupt(group, "groups nested too deeply"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_drop_the_variable_suffix_and_the_path() {
        assert_eq!(role("gru/gru_cell/kernel:0"), "kernel");
        assert_eq!(
            role("sequential/lstm/lstm_cell/recurrent_kernel"),
            "recurrent_kernel"
        );
        assert_eq!(role("embeddings:12"), "embeddings");
        assert_eq!(role("odd:name"), "odd:name");
        assert_eq!(role("bias:"), "bias:");
    }

    #[test]
    fn fixed_strings_follow_their_padding() {
        let raw = b"gru\0\0dense";
        let got = fixed_strings(raw, 2, 5, &StringPadding::NullPad).unwrap();
        assert_eq!(got, ["gru", "dense"]);
        let got = fixed_strings(b"ab\0cdxy  ", 3, 3, &StringPadding::NullTerminate).unwrap();
        assert_eq!(got, ["ab", "cdx", "y  "]);
        let got = fixed_strings(b"a  b  ", 2, 3, &StringPadding::SpacePad).unwrap();
        assert_eq!(got, ["a", "b"]);
        // Fewer bytes than the count says, a zero size, a count that overflows.
        assert!(fixed_strings(raw, 3, 5, &StringPadding::NullPad).is_err());
        assert!(fixed_strings(raw, 1, 0, &StringPadding::NullPad).is_err());
        assert!(fixed_strings(raw, usize::MAX, 2, &StringPadding::NullPad).is_err());
        assert!(fixed_strings(b"\xff\xfe", 1, 2, &StringPadding::NullPad).is_err());
    }
}

//! Weights from PyTorch: a `state_dict` under the user's module names, loaded into a
//! `model!` struct, from either file PyTorch users have:
//!
//! - the `.pt` file of `torch.save(model.state_dict(), "model.pt")`, a zip archive
//!   whose pickle is read by a restricted unpickler that rebuilds tensors as plain data
//!   and executes nothing (see [`load_state_dict`] for what it accepts);
//! - a safetensors file of `safetensors.torch.save_file(model.state_dict(), path)`.
//!
//! The format is told from the content, not the file name. The layouts already agree
//! (this library stores every tensor as PyTorch does, including gate orders and
//! `_reverse` tensors); only the names differ. A map from the file's names to ours does
//! the rest:
//!
//! ```no_run
//! use rnn_runtime::{model, torch};
//!
//! // nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True) as `lstm`,
//! // then nn.Linear(8, 1) as `fc`.
//! model! {
//!     struct Net < input(6, 3),
//!         bidirectional(lstm(4, return_sequences = true)), bidirectional(lstm(4)), dense(1) >
//! }
//!
//! # fn main() -> Result<(), rnn_runtime::Error> {
//! let mut net = Net::new(0);
//! torch::load_torch(&mut net, "net.pt", torch::modules(&[("lstm", &[0, 1]), ("fc", &[2])]))?;
//! # Ok(())
//! # }
//! ```

mod pickle;
mod pt;

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use safetensors::tensor::SafeTensors;

use crate::error::{Error, Result};
use crate::io::{param_values, set_params};
use crate::params::{ParamSpec, Params};

/// What a format gives the shared loading code: the file's tensor names, and the
/// checked values of one tensor for one of our parameters.
trait Source {
    /// Every tensor name of the file.
    fn names(&self) -> Vec<&str>;
    /// The values of tensor `name` for parameter `spec`, refused unless float32 of the
    /// spec's shape; `both` is how errors name it (the file's name and ours).
    fn values(&self, name: &str, both: &str, spec: &ParamSpec) -> Result<Vec<f32>>;
}

/// A safetensors file and its path, for errors.
struct SafetensorsFile<'a> {
    file: SafeTensors<'a>,
    path: &'a Path,
}

impl Source for SafetensorsFile<'_> {
    fn names(&self) -> Vec<&str> {
        self.file.names().into_iter().map(String::as_str).collect()
    }

    fn values(&self, name: &str, both: &str, spec: &ParamSpec) -> Result<Vec<f32>> {
        let view = self
            .file
            .tensor(name)
            .map_err(|source| Error::SafeTensors {
                path: self.path.to_path_buf(),
                source,
            })?;
        param_values(&view, self.path, both, spec)
    }
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
/// How PyTorch's legacy (pre-1.6, or `_use_new_zipfile_serialization=False`) format
/// starts: pickle protocol 2, then the magic number 0x1950a86a20f9469cfc6c as a LONG1.
const LEGACY_MAGIC: &[u8] = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";

/// Loads the parameters of `model` from a PyTorch `state_dict` file: the `.pt` file of
/// `torch.save(model.state_dict(), path)`, or a safetensors file of
/// `safetensors.torch.save_file(model.state_dict(), path)`, told apart by content.
///
/// `map` names, for each tensor of the file, the parameter of ours it holds (e.g.
/// `lstm.weight_ih_l1` → `Some("1.weight_ih")`), or `None` for a tensor that is no
/// parameter of ours (a buffer such as `num_batches_tracked`) and is skipped. As
/// PyTorch's strict loading, anything else is an error, and nothing changes unless
/// everything fits: every parameter of the model must come from exactly one tensor of
/// float32 dtype and the parameter's shape, and every tensor must map to a parameter
/// of the model or to `None`. Errors name the file's tensor and ours. Tensors of other
/// dtypes are refused, not converted, in both formats ([`Error::TensorDtype`]):
/// float64 would lose precision silently, and a half-precision file is better
/// converted where the user can see it (`{k: v.float() for k, v in sd.items()}`).
///
/// **`.pt` files** are read without Python and without executing anything. The
/// archive's `<name>/data.pkl` is run by a restricted unpickler that knows only 35
/// pickle opcodes, those `torch.save` writes for a `state_dict` with protocols 2 to 5
/// and the plain lists, floats and `None` of a training checkpoint (`PROTO`,
/// `FRAME`, `STOP`, `MARK`, `EMPTY_DICT`, `EMPTY_LIST`, `EMPTY_TUPLE`, `TUPLE`,
/// `TUPLE1`–`TUPLE3`, `APPEND`, `APPENDS`, `SETITEM`, `SETITEMS`, `BINUNICODE`,
/// `SHORT_BINUNICODE`, `BININT`, `BININT1`, `BININT2`, `LONG1`, `BINFLOAT`, `NONE`,
/// `NEWTRUE`, `NEWFALSE`, `BINPUT`, `LONG_BINPUT`, `MEMOIZE`, `BINGET`,
/// `LONG_BINGET`, `GLOBAL`, `STACK_GLOBAL`, `BINPERSID`, `REDUCE`, `BUILD`) and only
/// these globals, each given a fixed meaning instead of being imported:
/// `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`, `_rebuild_tensor_v3`
/// and `_rebuild_parameter`, the storage classes (`torch.FloatStorage`, …,
/// `torch.storage.UntypedStorage`) and dtypes (`torch.uint16`, …). Any other opcode
/// or global is refused by name ([`Error::TorchPickleOpcode`],
/// [`Error::TorchPickleGlobal`]): a whole model saved with `torch.save(model)` names
/// its class and is refused with the advice to save `model.state_dict()`, and so is a
/// hostile file naming `os.system`. A file that unpickles to something other than a
/// dict of tensors (a single tensor, a training checkpoint with the state_dict under a
/// key) is [`Error::TorchNotStateDict`]. Tensor data is read from the archive's
/// `<name>/data/<key>` records honouring the byte order record, the storage offset,
/// the size and the strides (views and non-contiguous tensors load correctly), every
/// element checked to lie within its record, every record read checked against its
/// CRC-32; damage is [`Error::TorchFile`]. Tensors mapped to `None` are never read.
///
/// ```
/// use rnn_runtime::{model, torch};
///
/// // The state_dict of PyTorch's `nn.LSTM(3, 4, num_layers=2, bidirectional=True,
/// // batch_first=True)` named `lstm` and an `nn.Linear(8, 1)` named `fc`.
/// model! { struct Net < input(5, 3), bidirectional(lstm(4, return_sequences = true)),
///                        bidirectional(lstm(4)), dense(1) > }
///
/// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/torch_lstm_bidirectional");
/// let mut net = Net::new(0);
/// let map = torch::modules(&[("lstm", &[0, 1]), ("fc", &[2])]);
/// // `torch.save(model.state_dict(), "state_dict.pt")`
/// net.load_torch(format!("{dir}/state_dict.pt"), &map)?; // the generated method calls this function
/// // The same weights through `safetensors.torch.save_file`.
/// let mut same = Net::new(1);
/// torch::load_torch(&mut same, format!("{dir}/state_dict.safetensors"), &map)?;
/// assert_eq!(net, same);
/// // A map that loses a tensor is refused, and the model is unchanged.
/// let before = same.clone();
/// let err = torch::load_torch(&mut same, format!("{dir}/state_dict.pt"), |name: &str| {
///     (!name.starts_with("fc.")).then(|| name.to_string())
/// });
/// assert!(err.is_err());
/// assert_eq!(same, before);
/// # Ok::<(), rnn_runtime::Error>(())
/// ```
pub fn load_torch<M: Params>(
    model: &mut M,
    path: impl AsRef<Path>,
    map: impl Fn(&str) -> Option<String>,
) -> Result<()> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    load_torch_from_bytes(model, &bytes, path, map)
}

/// [`load_state_dict`] on the bytes of a `.pt` or safetensors file already in memory;
/// `path` only names it in errors. Hidden: the entry point of the fuzz targets and
/// corruption tests.
#[doc(hidden)]
pub fn load_torch_from_bytes<M: Params>(
    model: &mut M,
    bytes: &[u8],
    path: &Path,
    map: impl Fn(&str) -> Option<String>,
) -> Result<()> {
    // A zip's first local header has its compression method at byte 8; a safetensors
    // file whose header length began with "PK\x03\x04" would have its JSON there.
    if bytes.starts_with(ZIP_MAGIC) && bytes.get(8) != Some(&b'{') {
        let file = pt::PtFile::parse(bytes, path)?;
        return load_from(model, &file, path, map);
    }
    if bytes.starts_with(LEGACY_MAGIC) {
        return Err(Error::TorchFile {
            path: path.to_path_buf(),
            reason: "PyTorch's legacy format (PyTorch before 1.6, or \
                     `_use_new_zipfile_serialization=False`), which is not read; load it \
                     with torch.load and save it again with a current \
                     `torch.save(model.state_dict(), path)`"
                .to_owned(),
        });
    }
    let file = SafeTensors::deserialize(bytes).map_err(|source| Error::SafeTensors {
        path: path.to_path_buf(),
        source,
    })?;
    load_from(model, &SafetensorsFile { file, path }, path, map)
}

/// The loading both formats share: names mapped and matched to our parameters, every
/// parameter's values read and checked, and only then the model written.
fn load_from<M: Params>(
    model: &mut M,
    file: &impl Source,
    path: &Path,
    map: impl Fn(&str) -> Option<String>,
) -> Result<()> {
    let specs = M::param_specs();
    let index: HashMap<&str, usize> = specs.iter().enumerate().map(|(i, s)| (s.name, i)).collect();
    // Which file tensor fills each of our parameters.
    let mut source: Vec<Option<&str>> = vec![None; specs.len()];
    let mut names = file.names();
    names.sort_unstable();
    for name in names {
        let Some(ours) = map(name) else { continue };
        let Some(&i) = index.get(ours.as_str()) else {
            return Err(Error::UnmappedTensor {
                path: path.to_path_buf(),
                name: name.to_string(),
                mapped: ours,
            });
        };
        if let Some(first) = source[i] {
            return Err(Error::DuplicateTensor {
                path: path.to_path_buf(),
                param: ours,
                first: first.to_string(),
                second: name.to_string(),
            });
        }
        source[i] = Some(name);
    }
    let mut values = Vec::with_capacity(specs.len());
    for (spec, name) in specs.iter().zip(&source) {
        let Some(name) = name else {
            return Err(Error::MissingTensor {
                path: path.to_path_buf(),
                name: spec.name.to_string(),
            });
        };
        let both = format!("{name} (our {})", spec.name);
        values.push(file.values(name, &both, spec)?);
    }
    set_params(model, &values);
    Ok(())
}

/// A name map for [`load_state_dict`] from PyTorch modules to our layer numbers.
///
/// Each entry is a module's attribute name and the layers of ours it fills, in order:
/// `("lstm", &[0, 2])` for an `nn.LSTM(num_layers = 2)` (or `nn.GRU`, `nn.RNN`) whose
/// PyTorch layer `k` is our layer `layers[k]` (`lstm.weight_ih_l1_reverse` →
/// `2.weight_ih_reverse`); `("fc", &[3])` for an `nn.Linear` or `nn.Embedding`
/// (`fc.weight` → `3.weight`). An empty module name matches unprefixed names, as in
/// the `state_dict` of a bare `nn.LSTM`. Names that match no entry pass through
/// unchanged, so a tensor already in our naming loads and anything else is refused;
/// wrap the map to skip buffers:
///
/// ```
/// use rnn_runtime::torch;
///
/// let map = torch::modules(&[("rnn", &[0, 1]), ("head", &[2])]);
/// assert_eq!(map("rnn.bias_hh_l1_reverse").as_deref(), Some("1.bias_hh_reverse"));
/// assert_eq!(map("head.weight").as_deref(), Some("2.weight"));
/// let skip_buffers = |n: &str| if n.ends_with("num_batches_tracked") { None } else { map(n) };
/// assert_eq!(skip_buffers("bn.num_batches_tracked"), None);
/// ```
pub fn modules<'a>(modules: &'a [(&'a str, &'a [usize])]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name: &str| Some(module_name(modules, name).unwrap_or_else(|| name.to_string()))
}

/// Our name for `name` under `modules`, if an entry matches.
fn module_name(modules: &[(&str, &[usize])], name: &str) -> Option<String> {
    modules.iter().find_map(|&(module, layers)| {
        let param = if module.is_empty() {
            name
        } else {
            name.strip_prefix(module)?.strip_prefix('.')?
        };
        if param.contains('.') {
            return None;
        }
        // `weight_ih_l3_reverse` → (`weight_ih`, 3, `_reverse`).
        if let Some((kind, rest)) = param
            .rsplit_once("_l")
            .filter(|(_, r)| r.starts_with(|c: char| c.is_ascii_digit()))
        {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            let (k, suffix) = rest.split_at(digits);
            let layer = layers.get(k.parse::<usize>().ok()?)?;
            return Some(format!("{layer}.{kind}{suffix}"));
        }
        match layers {
            [layer] => Some(format!("{layer}.{param}")),
            _ => None,
        }
    })
}

/// [`load_torch`], under its old name.
#[deprecated(
    since = "0.2.0",
    note = "renamed `load_torch` (`load_state_dict` is the optimisers' name for their state)"
)]
pub fn load_state_dict<M: Params>(
    model: &mut M,
    path: impl AsRef<Path>,
    map: impl Fn(&str) -> Option<String>,
) -> Result<()> {
    load_torch(model, path, map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_map_to_layer_numbers() {
        let map = modules(&[("lstm", &[0, 2]), ("fc", &[3]), ("", &[5])]);
        assert_eq!(map("lstm.weight_ih_l0").as_deref(), Some("0.weight_ih"));
        assert_eq!(
            map("lstm.weight_hh_l1_reverse").as_deref(),
            Some("2.weight_hh_reverse")
        );
        assert_eq!(map("fc.bias").as_deref(), Some("3.bias"));
        assert_eq!(map("weight_ih_l0").as_deref(), Some("5.weight_ih"));
        // PyTorch layer 2 of a two-entry module: no match, passed through to be refused.
        assert_eq!(
            map("lstm.weight_ih_l2").as_deref(),
            Some("lstm.weight_ih_l2")
        );
        assert_eq!(map("other.weight").as_deref(), Some("other.weight"));
        assert_eq!(
            map("lstmx.weight_ih_l0").as_deref(),
            Some("lstmx.weight_ih_l0")
        );
    }
}

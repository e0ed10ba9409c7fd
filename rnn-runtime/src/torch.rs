//! Weights from PyTorch: a `state_dict` saved with `safetensors.torch.save_file`,
//! under the user's module names, loaded into a `model!` struct.
//!
//! The layouts already agree (this library stores every tensor as PyTorch does,
//! including gate orders and `_reverse` tensors); only the names differ. A map from the
//! file's names to ours does the rest:
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
//! torch::load_state_dict(&mut net, "net.safetensors", torch::modules(&[("lstm", &[0, 1]), ("fc", &[2])]))?;
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use safetensors::tensor::SafeTensors;

use crate::error::{Error, Result};
use crate::io::{param_values, set_params};
use crate::network::Params;

/// Loads the parameters of `model` from a PyTorch `state_dict` in a safetensors file.
///
/// `map` names, for each tensor of the file, the parameter of ours it holds (e.g.
/// `lstm.weight_ih_l1` → `Some("1.weight_ih")`), or `None` for a tensor that is no
/// parameter of ours (a buffer such as `num_batches_tracked`) and is skipped. As
/// PyTorch's strict loading, anything else is an error, and nothing changes unless
/// everything fits: every parameter of the model must come from exactly one tensor of
/// float32 dtype and the parameter's shape, and every tensor must map to a parameter
/// of the model or to `None`. Errors name the file's tensor and ours.
///
/// ```
/// use rnn_runtime::{model, torch};
///
/// // The state_dict of PyTorch's `nn.LSTM(3, 4, num_layers=2, bidirectional=True,
/// // batch_first=True)` named `lstm` and an `nn.Linear(8, 1)` named `fc`.
/// model! { struct Net < input(5, 3), bidirectional(lstm(4, return_sequences = true)),
///                        bidirectional(lstm(4)), dense(1) > }
///
/// let path = concat!(env!("CARGO_MANIFEST_DIR"),
///                    "/../tests/fixtures/torch_lstm_bidirectional/state_dict.safetensors");
/// let mut net = Net::new(0);
/// let map = torch::modules(&[("lstm", &[0, 1]), ("fc", &[2])]);
/// net.load_state_dict(path, &map)?;          // the generated method calls this function
/// let mut same = Net::new(1);
/// torch::load_state_dict(&mut same, path, map)?;
/// assert_eq!(net, same);
/// // A map that loses a tensor is refused, and the model is unchanged.
/// let before = same.clone();
/// let err = torch::load_state_dict(&mut same, path, |name: &str| {
///     (!name.starts_with("fc.")).then(|| name.to_string())
/// });
/// assert!(err.is_err());
/// assert_eq!(same, before);
/// # Ok::<(), rnn_runtime::Error>(())
/// ```
pub fn load_state_dict<M: Params>(
    model: &mut M,
    path: impl AsRef<Path>,
    map: impl Fn(&str) -> Option<String>,
) -> Result<()> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    load_state_dict_from_bytes(model, &bytes, path, map)
}

/// [`load_state_dict`] on the bytes of a safetensors file already in memory; `path`
/// only names it in errors. Hidden: the entry point of the fuzz targets and corruption
/// tests.
#[doc(hidden)]
pub fn load_state_dict_from_bytes<M: Params>(
    model: &mut M,
    bytes: &[u8],
    path: &Path,
    map: impl Fn(&str) -> Option<String>,
) -> Result<()> {
    let file = SafeTensors::deserialize(bytes).map_err(|source| Error::SafeTensors {
        path: path.to_path_buf(),
        source,
    })?;
    let specs = M::param_specs();
    let index: HashMap<&str, usize> = specs.iter().enumerate().map(|(i, s)| (s.name, i)).collect();
    // Which file tensor fills each of our parameters.
    let mut source: Vec<Option<String>> = vec![None; specs.len()];
    let mut names: Vec<&String> = file.names();
    names.sort();
    for name in names {
        let Some(ours) = map(name) else { continue };
        let Some(&i) = index.get(ours.as_str()) else {
            return Err(Error::UnmappedTensor {
                path: path.to_path_buf(),
                name: name.clone(),
                mapped: ours,
            });
        };
        if let Some(first) = &source[i] {
            return Err(Error::DuplicateTensor {
                path: path.to_path_buf(),
                param: ours,
                first: first.clone(),
                second: name.clone(),
            });
        }
        source[i] = Some(name.clone());
    }
    let mut values = Vec::with_capacity(specs.len());
    for (spec, name) in specs.iter().zip(&source) {
        let Some(name) = name else {
            return Err(Error::MissingTensor {
                path: path.to_path_buf(),
                name: spec.name.to_string(),
            });
        };
        let view = file.tensor(name).map_err(|source| Error::SafeTensors {
            path: path.to_path_buf(),
            source,
        })?;
        let both = format!("{name} (our {})", spec.name);
        values.push(param_values(&view, path, &both, spec)?);
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

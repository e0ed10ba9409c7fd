//! Weights from Keras into the matching `model!` struct, in one call, from every file
//! Keras saves a Sequential model to:
//!
//! | Keras call | file | loads with |
//! | --- | --- | --- |
//! | Keras 3 `model.save("model.keras")` | zip archive: `config.json` + `model.weights.h5` | [`load_keras`] (config and weights) |
//! | `model.save("model.h5")` in Keras 2 / tf.keras, and in Keras 3 for a `.h5` path | legacy HDF5: attribute `model_config` + group `model_weights` | [`load_keras`] (config and weights) or [`load_keras_weights`] (weights alone) |
//! | Keras 3 `model.save_weights("model.weights.h5")` | HDF5: groups `layers/<layer>/…/vars` | [`load_keras_weights`] |
//! | Keras 2 / tf.keras `model.save_weights("model.h5")` | legacy HDF5: attribute `layer_names`, a group per layer | [`load_keras_weights`] |
//!
//! The generated methods are the same calls: `net.load_keras(path)` is [`load_keras`],
//! `net.load_keras_weights(path)` is [`load_keras_weights`]. Each tells the formats apart
//! by the file's content, not its name, and refuses a file the other one loads naming
//! that call.
//!
//! ```no_run
//! use rnn_runtime::{keras, model};
//!
//! model! {
//!     /// `Sequential([Input((20, 1)), LSTM(50), Dense(1)])` in Keras.
//!     pub struct SineNet < input(20, 1), lstm(50), dense(1) >
//! }
//!
//! # fn main() -> Result<(), rnn_runtime::Error> {
//! let mut net = SineNet::new(0);
//! keras::load_keras(&mut net, "model.keras")?; // checks config.json, then the weights
//! keras::load_keras(&mut net, "model.h5")?; // a legacy model file: the same checks
//! keras::load_keras_weights(&mut net, "model.weights.h5")?; // the weights alone
//! let next: [f32; 1] = net.predict_one(&[[0.0]; 20]);
//! # let _ = next;
//! # Ok(())
//! # }
//! ```
//!
//! The declared layers ([`Network::ARCHITECTURE`]) are matched with Keras's in order;
//! dropout layers take part in the matching but hold no weights. Supported: `LSTM`,
//! `GRU` (`reset_after=True`, the default of tf.keras 2 and Keras 3), `SimpleRNN`, each
//! optionally inside `Bidirectional` (`merge_mode="concat"`), `Dense` (also on
//! sequences), `Embedding` and `Dropout`. A layer saved with `use_bias=False` loads
//! with zero biases, which computes the same function (training will then move them).
//!
//! Every mismatch is refused with [`Error::KerasLayer`] naming the layer (number and
//! Keras name) and what differs, and the model is left unchanged: the file is read
//! and converted completely before any parameter is written. A weights file carries
//! only weights, so its check is the layer kinds and every weight's shape: in a Keras 3
//! `.weights.h5` the weight groups are named after the layer class (`lstm`, `lstm_1`,
//! `dense`, …); in a legacy file the layers that hold weights are matched in order
//! with the declared ones, as Keras's own loader does (weightless layers such as
//! dropout are skipped on both sides), and each weight's name must say its role
//! (`kernel`, `recurrent_kernel`, `bias`, `embeddings`). A `.keras` archive and a
//! legacy model file also carry the model config, and there every option that changes
//! what a layer computes must match too: units, `return_sequences`, `activation`,
//! `recurrent_activation`, `reset_after`, `merge_mode`, `time_major`, the input's
//! features, and the masks: an `Embedding`'s `mask_zero=True` must meet the model's
//! `embedding(…, mask_zero = true)`, and a `Masking(mask_value)` first after the input
//! the model's `masking(value)` with the same value (as f32), each both ways, since a
//! model read without its file's mask (or with one its file lacks) would silently
//! compute something else. Dropout rates and the number of time steps are not compared
//! (they do not change the weights or inference). A `.weights.h5` file has no config,
//! so its masks cannot be checked: the model's declaration is trusted.
//!
//! Only contiguous HDF5 datasets are read, as Keras writes weights; a file rewritten
//! with chunked or compressed datasets is refused (`h5repack -l CONTI` undoes that).

mod config;
mod convert;
mod h5;

use std::fs;
use std::path::Path;

use crate::architecture::{Cell, Layer};
use crate::error::{Error, Result};
use crate::io::set_params;
use crate::kernels::activation::Activation;
use crate::layers::CellActivation;
use crate::model::Network;
use crate::params::Params;
use crate::zip;
use config::{activation_name, cell_activation_name, Origin};
use convert::{LayerRead, Source, Tensors};
use h5::{join, Layout, Var, Weights};

const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// A `.keras` archive's zip errors are [`Error::KerasFile`].
const KERAS_ARCHIVE: zip::Format = zip::Format {
    error: |path, reason| Error::KerasFile {
        path: path.to_path_buf(),
        reason,
    },
    not_zip: "neither a zip archive (a `.keras` file) nor HDF5 (a legacy `.h5` model file)",
};

/// How a refusal names the call that loads a weights file.
const WEIGHTS_CALL: &str =
    "`keras::load_keras_weights` (the generated `load_keras_weights` method)";
/// How a refusal names the call that loads a `.keras` archive or legacy model file.
const MODEL_CALL: &str = "`keras::load_keras` (the generated `load_keras` method)";

/// The refusal of an HDF5 file that is none of Keras's.
fn not_keras_h5(path: &Path) -> Error {
    Error::KerasFile {
        path: path.to_path_buf(),
        reason: "an HDF5 file, but not one Keras writes: expected a `layers` group (Keras 3 \
                 `save_weights(\"….weights.h5\")`), a root attribute `layer_names` (Keras 2 / \
                 tf.keras `save_weights(\"….h5\")`) or a root attribute `model_config` with a \
                 group `model_weights` (`model.save(\"….h5\")`)"
            .to_owned(),
    }
}

/// Loads the weights of a Keras weights file into `model`, converting layouts: a Keras
/// 3 `.weights.h5` (`model.save_weights("model.weights.h5")`), a legacy weights file
/// (Keras 2 / tf.keras `model.save_weights("model.h5")`), or the weights of a legacy
/// model file (`model.save("model.h5")`, whose config is not checked here: use
/// [`load_keras`] for that). The format is told by the file's content. On any error
/// the model is unchanged.
///
/// ```
/// use rnn_runtime::{keras, load_safetensors, model};
///
/// // Keras: `Sequential([Input((20, 1)), LSTM(50), Dense(1)])`, saved with
/// // `model.save_weights("model.weights.h5")`.
/// model! { struct Net < input(20, 1), lstm(50), dense(1) > }
///
/// # fn main() -> Result<(), rnn_runtime::Error> {
/// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/keras_seed");
/// let mut net = Net::new(0);
/// keras::load_keras_weights(&mut net, format!("{dir}/model.weights.h5"))?;
/// // The same weights, already converted to this library's layout.
/// let mut want = Net::new(1);
/// load_safetensors(&mut want, format!("{dir}/weights.safetensors"))?;
/// assert_eq!(net, want);
/// // A `.keras` archive is refused here, naming `load_keras`, with the model unchanged.
/// let err = keras::load_keras_weights(&mut net, format!("{dir}/model.keras")).unwrap_err();
/// assert!(err.to_string().contains("load_keras"));
/// assert_eq!(net, want);
/// # Ok(())
/// # }
/// ```
pub fn load_keras_weights<M: Network>(model: &mut M, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    load_keras_weights_from_bytes(model, read(path)?, path)
}

/// [`load_keras_weights`] on the bytes of a file already in memory; `path` only names it
/// in errors. Hidden: the entry point of the fuzz targets and corruption tests.
#[doc(hidden)]
pub fn load_keras_weights_from_bytes<M: Network>(
    model: &mut M,
    bytes: Vec<u8>,
    path: &Path,
) -> Result<()> {
    if bytes.starts_with(ZIP_MAGIC) {
        return Err(Error::KerasFile {
            path: path.to_path_buf(),
            reason: format!(
                "a zip archive (a `.keras` file), not HDF5; it loads with {MODEL_CALL}"
            ),
        });
    }
    let weights = Weights::parse(bytes, path)?;
    let tensors = match weights.layout()? {
        Layout::Keras3Weights => import::<M>(&weights, None, path)?,
        Layout::LegacyWeights => import_legacy::<M>(&weights, "", None, path)?,
        Layout::LegacyModel => import_legacy::<M>(&weights, "model_weights", None, path)?,
        Layout::Other => return Err(not_keras_h5(path)),
    };
    commit(model, tensors, path)
}

/// Loads a Keras model file into `model`: a Keras 3 `.keras` archive
/// (`model.save("model.keras")`) or a legacy HDF5 model file (`model.save("model.h5")`
/// in Keras 2 / tf.keras, or in Keras 3 for a `.h5` path). Checks the model config
/// (`config.json`, `model_config`) against the declared layers, then converts the
/// weights. The format is told by the file's content. On any error the model is
/// unchanged.
///
/// ```
/// use rnn_runtime::{keras, model, Error};
///
/// // Keras: `Sequential([Input((20, 1)), LSTM(50), Dense(1)])`, saved with
/// // `model.save("model.keras")`.
/// model! { struct Net < input(20, 1), lstm(50), dense(1) > }
/// model! { struct Wider < input(20, 1), lstm(64), dense(1) > }
///
/// # fn main() -> Result<(), rnn_runtime::Error> {
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/keras_seed/model.keras");
/// let mut net = Net::new(0);
/// keras::load_keras(&mut net, path)?;
/// let mut from_h5 = Net::new(1);
/// keras::load_keras_weights(&mut from_h5, path.replace("model.keras", "model.weights.h5"))?;
/// assert_eq!(net, from_h5);
/// // config.json is checked against the declared layers.
/// let err = keras::load_keras(&mut Wider::new(0), path).unwrap_err();
/// assert!(matches!(err, Error::KerasLayer { .. }));
/// # Ok(())
/// # }
/// ```
pub fn load_keras<M: Network>(model: &mut M, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    load_keras_from_bytes(model, &read(path)?, path)
}

/// [`load_keras`] on the bytes of a file already in memory; `path` only names it in
/// errors. Hidden: the entry point of the fuzz targets and corruption tests.
#[doc(hidden)]
pub fn load_keras_from_bytes<M: Network>(model: &mut M, bytes: &[u8], path: &Path) -> Result<()> {
    if bytes.starts_with(HDF5_MAGIC) {
        let weights = Weights::parse(bytes.to_vec(), path)?;
        let what = match weights.layout()? {
            Layout::LegacyModel => {
                let json = weights.model_config()?;
                let names =
                    config::check(json.as_bytes(), &M::ARCHITECTURE, path, Origin::LegacyH5)?;
                let tensors = import_legacy::<M>(&weights, "model_weights", Some(&names), path)?;
                return commit(model, tensors, path);
            }
            Layout::Keras3Weights => "a Keras 3 weights file (`save_weights(\"….weights.h5\")`)",
            Layout::LegacyWeights => "a Keras 2 / tf.keras weights file (`save_weights(\"….h5\")`)",
            Layout::Other => return Err(not_keras_h5(path)),
        };
        return Err(Error::KerasFile {
            path: path.to_path_buf(),
            reason: format!(
                "{what}: weights without the model config this call checks; it loads with \
                 {WEIGHTS_CALL}, which checks the weights' shapes"
            ),
        });
    }
    let archive = zip::Archive::new(bytes, path, KERAS_ARCHIVE)?;
    let names = config::check(
        &archive.read("config.json")?,
        &M::ARCHITECTURE,
        path,
        Origin::Archive,
    )?;
    let weights = Weights::parse(archive.read("model.weights.h5")?, path)?;
    if weights.layout()? != Layout::Keras3Weights {
        return Err(weights.corrupt("", "the archive's `model.weights.h5` has no `layers` group"));
    }
    let tensors = import::<M>(&weights, Some(&names), path)?;
    commit(model, tensors, path)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The declared layer in the DSL's words, for messages: `lstm(4, return_sequences =
/// true)`, `bidirectional(gru(3))`, `dense(2, activation = tanh)`.
pub(crate) fn describe(layer: &Layer) -> String {
    match *layer {
        Layer::Recurrent {
            cell,
            hidden,
            bidirectional,
            return_sequences,
            activation,
            recurrent_activation,
            ..
        } => {
            let mut options = String::new();
            if return_sequences {
                options.push_str(", return_sequences = true");
            }
            if activation != CellActivation::Tanh {
                options.push_str(&format!(
                    ", activation = {}",
                    cell_activation_name(activation)
                ));
            }
            if cell != Cell::SimpleRnn && recurrent_activation != CellActivation::Sigmoid {
                options.push_str(&format!(
                    ", recurrent_activation = {}",
                    cell_activation_name(recurrent_activation)
                ));
            }
            let inner = format!("{}({hidden}{options})", cell.name());
            if bidirectional {
                format!("bidirectional({inner})")
            } else {
                inner
            }
        }
        Layer::Dense {
            units,
            activation: Activation::Linear,
            ..
        } => format!("dense({units})"),
        Layer::Dense {
            units, activation, ..
        } => format!(
            "dense({units}, activation = {})",
            activation_name(activation)
        ),
        Layer::Embedding { vocab, dim } => format!("embedding({vocab}, {dim})"),
        Layer::Dropout { rate, .. } => format!("dropout({rate})"),
    }
}

/// Keras's weight group of each declared layer: the class name in snake case,
/// numbered from the second layer of a class on (`lstm`, `lstm_1`, …), which is how
/// Keras 3 names them whatever the layers' own names.
fn group_names(layers: &[Layer]) -> Vec<String> {
    let mut seen: Vec<(&str, usize)> = Vec::new();
    layers
        .iter()
        .map(|layer| {
            let base = match *layer {
                Layer::Recurrent {
                    bidirectional: true,
                    ..
                } => "bidirectional",
                Layer::Recurrent { cell, .. } => match cell {
                    Cell::Lstm => "lstm",
                    Cell::Gru => "gru",
                    Cell::SimpleRnn => "simple_rnn",
                },
                Layer::Dense { .. } => "dense",
                Layer::Embedding { .. } => "embedding",
                Layer::Dropout { .. } => "dropout",
            };
            match seen.iter_mut().find(|(b, _)| *b == base) {
                Some((_, n)) => {
                    *n += 1;
                    format!("{base}_{n}")
                }
                None => {
                    seen.push((base, 0));
                    base.to_owned()
                }
            }
        })
        .collect()
}

/// Reads and converts every declared layer of a Keras 3 `.weights.h5`; refuses
/// missing and extra layers.
fn import<M: Network>(w: &Weights, keras_names: Option<&[String]>, path: &Path) -> Result<Tensors> {
    let layers = M::ARCHITECTURE.layers;
    let groups = group_names(layers);
    let present = w.layers()?;
    let mut out = Tensors::with_capacity(M::param_specs().len());
    for (index, (layer, group)) in layers.iter().zip(&groups).enumerate() {
        let keras = keras_names.and_then(|n| n.get(index)).unwrap_or(group);
        if !present.contains(group) {
            if matches!(layer, Layer::Dropout { .. }) {
                continue;
            }
            return Err(Error::KerasLayer {
                path: path.to_path_buf(),
                layer: index,
                keras: keras.clone(),
                reason: format!(
                    "the file has no weights `layers/{group}` for the declared {}; its layers \
                     are: {}",
                    describe(layer),
                    present.join(", ")
                ),
            });
        }
        let read = LayerRead {
            path,
            index,
            layer,
            keras,
            source: Source::Keras3(format!("layers/{group}")),
        };
        out.extend(read.read(w)?);
    }
    for name in present.iter().filter(|p| !groups.contains(p)) {
        if w.holds_data(&format!("layers/{name}"))? {
            return Err(Error::KerasLayer {
                path: path.to_path_buf(),
                layer: layers.len(),
                keras: name.clone(),
                reason: format!(
                    "the file has weights `layers/{name}` for a layer the model does not \
                     declare (it declares {} layers)",
                    layers.len()
                ),
            });
        }
    }
    Ok(out)
}

/// Reads and converts every declared layer from the legacy layer groups under `root`
/// (`""` for a weights file, `model_weights` in a model file), whose attribute
/// `layer_names` orders them. With `config_names` (a model file whose config was
/// checked), declared layer `i` is the file's layer of that name. Without, the declared
/// layers that hold weights are matched in order with the file's layers that hold
/// weights, as Keras's own loader matches them: layer names are the user's, and
/// weightless layers (dropout, …) may be absent from either side. Refuses missing and
/// extra layers.
fn import_legacy<M: Network>(
    w: &Weights,
    root: &str,
    config_names: Option<&[String]>,
    path: &Path,
) -> Result<Tensors> {
    let layers = M::ARCHITECTURE.layers;
    let names = w.keras_list(root, "layer_names")?.ok_or_else(|| {
        w.corrupt(
            root,
            "no attribute `layer_names`, which Keras writes to order the layers",
        )
    })?;
    let mut file: Vec<(String, Vec<Var>)> = Vec::with_capacity(names.len());
    for name in names {
        let group = join(root, &name);
        let vars = w
            .legacy_vars(&group)?
            .ok_or_else(|| w.corrupt(&group, "no attribute `weight_names`, which Keras writes"))?;
        file.push((name, vars));
    }
    let holding: Vec<String> = file
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(n, _)| n.clone())
        .collect();
    let listed = if holding.is_empty() {
        "none".to_owned()
    } else {
        holding.join(", ")
    };
    let read = |index: usize, layer: &Layer, keras: &str, vars: Vec<Var>| {
        LayerRead {
            path,
            index,
            layer,
            keras,
            source: Source::Legacy(vars),
        }
        .read(w)
    };
    let mut out = Tensors::with_capacity(M::param_specs().len());
    match config_names {
        Some(keras) => {
            for (index, layer) in layers.iter().enumerate() {
                let name = keras.get(index).map_or("?", String::as_str);
                match file.iter().position(|(n, _)| n == name) {
                    Some(at) => {
                        let (_, vars) = file.swap_remove(at);
                        out.extend(read(index, layer, name, vars)?);
                    }
                    None if matches!(layer, Layer::Dropout { .. }) => {}
                    None => {
                        return Err(Error::KerasLayer {
                            path: path.to_path_buf(),
                            layer: index,
                            keras: name.to_owned(),
                            reason: format!(
                                "the config lists it, but `{root}` has no weights for it \
                                 (its layers with weights: {listed})"
                            ),
                        });
                    }
                }
            }
            if let Some((name, _)) = file.iter().find(|(_, v)| !v.is_empty()) {
                return Err(Error::KerasLayer {
                    path: path.to_path_buf(),
                    layer: layers.len(),
                    keras: name.clone(),
                    reason: "the file has weights for a layer its config does not list".to_owned(),
                });
            }
        }
        None => {
            let mut held = file.into_iter().filter(|(_, v)| !v.is_empty());
            for (index, layer) in layers.iter().enumerate() {
                if matches!(layer, Layer::Dropout { .. }) {
                    continue;
                }
                let Some((name, vars)) = held.next() else {
                    return Err(Error::KerasLayer {
                        path: path.to_path_buf(),
                        layer: index,
                        keras: "(none)".to_owned(),
                        reason: format!(
                            "missing: the model declares {} here, the file has weights \
                             for only {} layers ({listed})",
                            describe(layer),
                            holding.len()
                        ),
                    });
                };
                out.extend(read(index, layer, &name, vars)?);
            }
            if let Some((name, _)) = held.next() {
                return Err(Error::KerasLayer {
                    path: path.to_path_buf(),
                    layer: layers.len(),
                    keras: name,
                    reason: format!(
                        "the file has weights for a layer the model does not declare (the \
                         file's layers with weights: {listed}; the model declares {} \
                         layers)",
                        layers.len()
                    ),
                });
            }
        }
    }
    Ok(out)
}

/// Writes converted tensors into `model` in canonical order, after checking that they
/// are exactly the model's parameters.
fn commit<M: Params>(model: &mut M, mut tensors: Tensors, path: &Path) -> Result<()> {
    let specs = M::param_specs();
    let mut values = Vec::with_capacity(specs.len());
    for spec in specs {
        let at = tensors
            .iter()
            .position(|(n, _)| n == spec.name)
            .ok_or_else(|| Error::MissingTensor {
                path: path.to_path_buf(),
                name: spec.name.to_owned(),
            })?;
        let (name, v) = tensors.swap_remove(at);
        if v.len() != spec.len() {
            return Err(Error::TensorShape {
                path: path.to_path_buf(),
                name,
                expected: spec.shape.to_vec(),
                got: vec![v.len()],
            });
        }
        values.push(v);
    }
    if let Some((name, _)) = tensors.first() {
        return Err(Error::UnexpectedTensor {
            path: path.to_path_buf(),
            name: name.clone(),
        });
    }
    set_params(model, &values);
    Ok(())
}

/// [`load_keras_weights`], under its old name.
#[deprecated(
    since = "0.2.0",
    note = "renamed `load_keras_weights`, as the generated method"
)]
pub fn load_weights_h5<M: Network>(model: &mut M, path: impl AsRef<Path>) -> Result<()> {
    load_keras_weights(model, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_count_per_class_like_keras() {
        let dense = Layer::Dense {
            inputs: 4,
            units: 4,
            activation: Activation::Linear,
            per_step: false,
        };
        let lstm = |bidirectional| Layer::Recurrent {
            cell: Cell::Lstm,
            inputs: 4,
            hidden: 4,
            bidirectional,
            return_sequences: true,
            activation: CellActivation::Tanh,
            recurrent_activation: CellActivation::Sigmoid,
            dropout: 0.0,
            recurrent_dropout: 0.0,
        };
        let drop = Layer::Dropout {
            rate: 0.1,
            width: 4,
            per_step: true,
        };
        let names = group_names(&[
            lstm(false),
            drop,
            lstm(true),
            lstm(false),
            dense,
            drop,
            dense,
        ]);
        assert_eq!(
            names,
            [
                "lstm",
                "dropout",
                "bidirectional",
                "lstm_1",
                "dense",
                "dropout_1",
                "dense_1"
            ]
        );
    }
}

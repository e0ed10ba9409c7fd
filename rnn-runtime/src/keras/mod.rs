//! Weights from Keras 3: a `.weights.h5` file (`model.save_weights`) or a `.keras`
//! archive (`model.save`) of a Sequential model, loaded into the matching `model!`
//! struct in one call.
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
//! keras::load_weights_h5(&mut net, "model.weights.h5")?; // the weights alone
//! let next: [f32; 1] = net.predict_one(&[[0.0]; 20]);
//! # let _ = next;
//! # Ok(())
//! # }
//! ```
//!
//! The declared layers ([`Network::ARCHITECTURE`]) are matched with Keras's in order;
//! dropout layers take part in the matching but hold no weights. Supported: `LSTM`,
//! `GRU` (`reset_after=True`, Keras's default), `SimpleRNN`, each optionally inside
//! `Bidirectional` (`merge_mode="concat"`), `Dense` (also on sequences), `Embedding`
//! and `Dropout`. A layer saved with `use_bias=False` loads with zero biases, which
//! computes the same function (training will then move them).
//!
//! Every mismatch is refused with [`Error::KerasLayer`] naming the layer (number and
//! Keras name) and what differs, and the model is left unchanged: the file is read
//! and converted completely before any parameter is written. A `.weights.h5` file
//! carries only weights, so its check is the layer kinds (Keras names weight groups
//! after the layer class: `lstm`, `lstm_1`, `dense`, …) and every weight's shape. A
//! `.keras` archive also carries `config.json`, and there every option that changes
//! what a layer computes must match too: units, `return_sequences`, `activation`,
//! `recurrent_activation`, `reset_after`, `merge_mode`, `mask_zero`, the input's
//! features. Dropout rates and the number of time steps are not compared (they do not
//! change the weights or inference).

mod config;
mod convert;
mod h5;

use std::fs;
use std::path::Path;

use crate::activation::Activation;
use crate::architecture::{Cell, Layer};
use crate::error::{Error, Result};
use crate::io::set_params;
use crate::layers::CellActivation;
use crate::network::{Network, Params};
use crate::zip;
use config::{activation_name, cell_activation_name};
use convert::{LayerRead, Tensors};
use h5::Weights;

const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// A `.keras` archive's zip errors are [`Error::KerasFile`].
const KERAS_ARCHIVE: zip::Format = zip::Format {
    error: |path, reason| Error::KerasFile {
        path: path.to_path_buf(),
        reason,
    },
    what: "a .keras file",
};

/// Loads the weights of a Keras 3 `.weights.h5` file (`model.save_weights(…)`) into
/// `model`, converting layouts. On any error the model is unchanged.
///
/// ```
/// use rnn_runtime::{keras, load_params, model};
///
/// // Keras: `Sequential([Input((20, 1)), LSTM(50), Dense(1)])`, saved with
/// // `model.save_weights("model.weights.h5")`.
/// model! { struct Net < input(20, 1), lstm(50), dense(1) > }
///
/// # fn main() -> Result<(), rnn_runtime::Error> {
/// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/keras_seed");
/// let mut net = Net::new(0);
/// keras::load_weights_h5(&mut net, format!("{dir}/model.weights.h5"))?;
/// // The same weights, already converted to this library's layout.
/// let mut want = Net::new(1);
/// load_params(&mut want, format!("{dir}/weights.safetensors"))?;
/// assert_eq!(net, want);
/// // A `.keras` archive is refused here, with the model unchanged.
/// assert!(keras::load_weights_h5(&mut net, format!("{dir}/model.keras")).is_err());
/// assert_eq!(net, want);
/// # Ok(())
/// # }
/// ```
pub fn load_weights_h5<M: Network>(model: &mut M, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    load_weights_h5_from_bytes(model, read(path)?, path)
}

/// [`load_weights_h5`] on the bytes of a file already in memory; `path` only names it
/// in errors. Hidden: the entry point of the fuzz targets and corruption tests.
#[doc(hidden)]
pub fn load_weights_h5_from_bytes<M: Network>(
    model: &mut M,
    bytes: Vec<u8>,
    path: &Path,
) -> Result<()> {
    if bytes.starts_with(ZIP_MAGIC) {
        return Err(Error::KerasFile {
            path: path.to_path_buf(),
            reason: "a zip archive, not HDF5; a .keras file loads with `load_keras`".to_owned(),
        });
    }
    let weights = Weights::parse(bytes, path)?;
    let tensors = import::<M>(&weights, None, path)?;
    commit(model, tensors, path)
}

/// Loads a Keras 3 `.keras` archive (`model.save(…)`) into `model`: checks its
/// `config.json` against the declared layers, then converts the weights of its
/// `model.weights.h5`. On any error the model is unchanged.
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
/// keras::load_weights_h5(&mut from_h5, path.replace("model.keras", "model.weights.h5"))?;
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

/// [`load_keras`] on the bytes of an archive already in memory; `path` only names it in
/// errors. Hidden: the entry point of the fuzz targets and corruption tests.
#[doc(hidden)]
pub fn load_keras_from_bytes<M: Network>(model: &mut M, bytes: &[u8], path: &Path) -> Result<()> {
    if bytes.starts_with(HDF5_MAGIC) {
        return Err(Error::KerasFile {
            path: path.to_path_buf(),
            reason: "an HDF5 file, not a .keras archive; it loads with `load_weights_h5`"
                .to_owned(),
        });
    }
    let archive = zip::Archive::new(bytes, path, KERAS_ARCHIVE)?;
    let names = config::check(&archive.read("config.json")?, &M::ARCHITECTURE, path)?;
    let weights = Weights::parse(archive.read("model.weights.h5")?, path)?;
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

/// Reads and converts every declared layer; refuses missing and extra layers.
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
            group: format!("layers/{group}"),
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

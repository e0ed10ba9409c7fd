//! A `.keras` archive's `config.json` checked against the declared model: layer by
//! layer, kind, sizes and every option that changes what the layer computes.

use std::path::Path;

use serde_json::Value;

use super::describe;
use crate::activation::Activation;
use crate::architecture::{Architecture, Cell, Layer};
use crate::error::{Error, Result};
use crate::layers::CellActivation;

/// One config layer being matched with declared layer `layer`.
struct Ctx<'a> {
    path: &'a Path,
    layer: usize,
    keras: String,
    declared: String,
}

impl Ctx<'_> {
    fn mismatch(&self, reason: impl Into<String>) -> Error {
        Error::KerasLayer {
            path: self.path.to_path_buf(),
            layer: self.layer,
            keras: self.keras.clone(),
            reason: reason.into(),
        }
    }

    /// `what` differs: `file` in the file, the declared layer in the model.
    fn differs(&self, what: &str, file: impl std::fmt::Display) -> Error {
        self.mismatch(format!(
            "{what} is {file} in the file, but the model declares {}",
            self.declared
        ))
    }
}

fn class(v: &Value) -> &str {
    v.get("class_name").and_then(Value::as_str).unwrap_or("?")
}

fn bool_opt(cfg: &Value, key: &str, default: bool) -> bool {
    cfg.get(key).and_then(Value::as_bool).unwrap_or(default)
}

/// An activation as Keras serialises it: a name, or an object whose `config` is one.
fn keras_activation<'v>(cfg: &'v Value, key: &str, default: &'v str) -> &'v str {
    match cfg.get(key) {
        None | Some(Value::Null) => default,
        Some(Value::String(s)) => s,
        Some(v) => v.get("config").and_then(Value::as_str).unwrap_or("?"),
    }
}

/// Keras's (and the DSL's) name of a cell activation.
pub(crate) fn cell_activation_name(a: CellActivation) -> &'static str {
    match a {
        CellActivation::Tanh => "tanh",
        CellActivation::Sigmoid => "sigmoid",
        CellActivation::Relu => "relu",
        CellActivation::Linear => "linear",
    }
}

/// Keras's (and the DSL's) name of a dense activation.
pub(crate) fn activation_name(a: Activation) -> &'static str {
    a.name()
}

/// Keras's class name of a recurrent cell's layer.
pub(crate) fn cell_class(cell: Cell) -> &'static str {
    match cell {
        Cell::Lstm => "LSTM",
        Cell::Gru => "GRU",
        Cell::SimpleRnn => "SimpleRNN",
    }
}

/// Keras's class name of a declared layer.
pub(crate) fn layer_class(layer: &Layer) -> &'static str {
    match *layer {
        Layer::Recurrent {
            bidirectional: true,
            ..
        } => "Bidirectional",
        Layer::Recurrent { cell, .. } => cell_class(cell),
        Layer::Dense { .. } => "Dense",
        Layer::Embedding { .. } => "Embedding",
        Layer::Dropout { .. } => "Dropout",
    }
}

/// Checks the config of one recurrent layer (one direction of a bidirectional one).
fn check_recurrent(ctx: &Ctx<'_>, v: &Value, declared: &Layer, backward: bool) -> Result<()> {
    let Layer::Recurrent {
        cell,
        hidden,
        return_sequences,
        activation,
        recurrent_activation,
        ..
    } = *declared
    else {
        return Ok(());
    };
    if class(v) != cell_class(cell) {
        return Err(ctx.differs("the recurrent layer", format!("`{}`", class(v))));
    }
    let cfg = &v["config"];
    let units = cfg.get("units").and_then(Value::as_u64);
    if units != Some(hidden as u64) {
        return Err(ctx.differs("units", units.map_or("absent".into(), |u| u.to_string())));
    }
    let seq = bool_opt(cfg, "return_sequences", false);
    if seq != return_sequences {
        return Err(ctx.differs("return_sequences", seq));
    }
    let act = keras_activation(cfg, "activation", "tanh");
    if act != cell_activation_name(activation) {
        return Err(ctx.differs("activation", format!("`{act}`")));
    }
    if cell != Cell::SimpleRnn {
        let rec = keras_activation(cfg, "recurrent_activation", "sigmoid");
        if rec != cell_activation_name(recurrent_activation) {
            return Err(ctx.differs("recurrent_activation", format!("`{rec}`")));
        }
    }
    if cell == Cell::Gru && !bool_opt(cfg, "reset_after", true) {
        return Err(ctx.mismatch(
            "a GRU with reset_after=False applies the reset gate before the recurrent \
             product, an equation this library does not compute (it has reset_after=True, \
             Keras's default); rebuild the Keras layer with reset_after=True",
        ));
    }
    if bool_opt(cfg, "go_backwards", false) != backward {
        return Err(ctx.mismatch(if backward {
            "the backward layer of the bidirectional wrapper does not run backwards"
        } else {
            "go_backwards=True reads the sequence backwards; declare it as the reverse half \
             of a bidirectional layer instead"
        }));
    }
    Ok(())
}

fn check_layer(ctx: &Ctx<'_>, v: &Value, declared: &Layer) -> Result<()> {
    let cfg = &v["config"];
    let want = layer_class(declared);
    if class(v) != want {
        return Err(ctx.differs("the layer", format!("`{}`", class(v))));
    }
    match *declared {
        Layer::Recurrent {
            bidirectional: true,
            ..
        } => {
            let merge = cfg.get("merge_mode").and_then(Value::as_str).unwrap_or("?");
            if merge != "concat" {
                return Err(ctx.differs("merge_mode", format!("`{merge}`")));
            }
            check_recurrent(ctx, &cfg["layer"], declared, false)?;
            match cfg.get("backward_layer") {
                Some(b) if !b.is_null() => check_recurrent(ctx, b, declared, true),
                _ => Ok(()),
            }
        }
        Layer::Recurrent { .. } => check_recurrent(ctx, v, declared, false),
        Layer::Dense {
            units, activation, ..
        } => {
            let got = cfg.get("units").and_then(Value::as_u64);
            if got != Some(units as u64) {
                return Err(ctx.differs("units", got.map_or("absent".into(), |u| u.to_string())));
            }
            let act = keras_activation(cfg, "activation", "linear");
            if act != activation_name(activation) {
                return Err(ctx.differs("activation", format!("`{act}`")));
            }
            Ok(())
        }
        Layer::Embedding { vocab, dim } => {
            let v = cfg.get("input_dim").and_then(Value::as_u64);
            let d = cfg.get("output_dim").and_then(Value::as_u64);
            if v != Some(vocab as u64) || d != Some(dim as u64) {
                let show = |x: Option<u64>| x.map_or("?".into(), |x| x.to_string());
                return Err(ctx.differs(
                    "(input_dim, output_dim)",
                    format!("({}, {})", show(v), show(d)),
                ));
            }
            if bool_opt(cfg, "mask_zero", false) {
                return Err(ctx.mismatch(
                    "mask_zero=True skips the steps of token 0, which this library does not do",
                ));
            }
            Ok(())
        }
        Layer::Dropout { .. } => Ok(()),
    }
}

/// Checks the input layer's shape: features must agree; the number of steps may
/// differ (recurrent weights do not depend on it).
fn check_input(path: &Path, v: &Value, arch: &Architecture) -> Result<()> {
    let Some(shape) = v["config"].get("batch_shape").and_then(Value::as_array) else {
        return Ok(());
    };
    let want_rank = if arch.tokens { 2 } else { 3 };
    let features = shape.get(2).and_then(Value::as_u64);
    let ok = shape.len() == want_rank && (arch.tokens || features == Some(arch.features as u64));
    if ok {
        return Ok(());
    }
    let dims: Vec<String> = shape
        .iter()
        .skip(1)
        .map(|d| d.as_u64().map_or("None".into(), |d| d.to_string()))
        .collect();
    let ours = if arch.tokens {
        format!("input({})", arch.timesteps)
    } else {
        format!("input({}, {})", arch.timesteps, arch.features)
    };
    Err(Error::KerasModel {
        path: path.to_path_buf(),
        reason: format!(
            "the Keras input is ({}) per sample, the model declares {ours}",
            dims.join(", ")
        ),
    })
}

/// Checks `config.json` against `arch`; returns Keras's name of each declared layer.
pub(crate) fn check(json: &[u8], arch: &Architecture, path: &Path) -> Result<Vec<String>> {
    let root: Value = serde_json::from_slice(json).map_err(|e| Error::KerasFile {
        path: path.to_path_buf(),
        reason: format!("config.json: {e}"),
    })?;
    if class(&root) != "Sequential" {
        return Err(Error::KerasModel {
            path: path.to_path_buf(),
            reason: format!(
                "the Keras model is a `{}`; only Sequential models are read",
                class(&root)
            ),
        });
    }
    let Some(all) = root["config"].get("layers").and_then(Value::as_array) else {
        return Err(Error::KerasFile {
            path: path.to_path_buf(),
            reason: "config.json has no layer list".to_owned(),
        });
    };
    let mut layers = Vec::with_capacity(all.len());
    for v in all {
        if class(v) == "InputLayer" {
            check_input(path, v, arch)?;
        } else {
            layers.push(v);
        }
    }
    let name = |v: &Value| {
        v["config"]
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned()
    };
    let mut names = Vec::with_capacity(arch.layers.len());
    for (i, declared) in arch.layers.iter().enumerate() {
        let Some(v) = layers.get(i) else {
            return Err(Error::KerasLayer {
                path: path.to_path_buf(),
                layer: i,
                keras: "(none)".to_owned(),
                reason: format!(
                    "missing: the model declares {} here, the file has only {} layers",
                    describe(declared),
                    layers.len()
                ),
            });
        };
        let ctx = Ctx {
            path,
            layer: i,
            keras: name(v),
            declared: describe(declared),
        };
        check_layer(&ctx, v, declared)?;
        names.push(ctx.keras);
    }
    // After the pairwise check, so that a differing layer is named where it differs.
    if let Some(extra) = layers.get(arch.layers.len()) {
        return Err(Error::KerasLayer {
            path: path.to_path_buf(),
            layer: arch.layers.len(),
            keras: name(extra),
            reason: format!(
                "an extra `{}` layer: the model declares {} layers, the file has {}",
                class(extra),
                arch.layers.len(),
                layers.len()
            ),
        });
    }
    Ok(names)
}

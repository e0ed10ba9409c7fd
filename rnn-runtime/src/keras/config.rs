//! A Keras model config checked against the declared model: layer by layer, kind,
//! sizes and every option that changes what the layer computes. Read from a `.keras`
//! archive's `config.json` (Keras 3) or a legacy `.h5` file's `model_config` attribute
//! (Keras 2, tf.keras, or Keras 3 saving to `.h5`), whose configs differ in a few keys:
//! Keras 2 gives the input as `batch_input_shape` (also on the first layer, where older
//! versions have no `InputLayer`), up to 2.2.2 the model's `config` is the layer list
//! itself, and its RNN layers have `time_major`.

use std::path::Path;

use serde_json::Value;

use super::describe;
use crate::architecture::{Architecture, Cell, Layer, Padding};
use crate::error::{Error, Result};
use crate::kernels::activation::Activation;
use crate::layers::CellActivation;

/// Where a config comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// `config.json` of a `.keras` archive: Keras 3.
    Archive,
    /// The `model_config` attribute of a legacy `.h5` file: any Keras from 2.0 on.
    LegacyH5,
}

impl Origin {
    /// The config's name in messages.
    fn name(self) -> &'static str {
        match self {
            Origin::Archive => "config.json",
            Origin::LegacyH5 => "model_config",
        }
    }
}

/// One config layer being matched with declared layer `layer`.
struct Ctx<'a> {
    path: &'a Path,
    layer: usize,
    keras: String,
    declared: String,
    origin: Origin,
    /// The model's padding: an `Embedding`'s `mask_zero` must agree with it.
    padding: Option<Padding>,
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
    // Keras wrote `reset_after` into every GRU config since it had the option (2.1.3,
    // default False; True from tf.keras 2 and Keras 3 on): a legacy config without it
    // is from an older Keras, whose GRU could only reset before.
    let reset_after_default = ctx.origin == Origin::Archive;
    if cell == Cell::Gru && !bool_opt(cfg, "reset_after", reset_after_default) {
        return Err(ctx.mismatch(
            "a GRU with reset_after=False applies the reset gate before the recurrent \
             product, an equation this library does not compute (it has reset_after=True, \
             Keras's default); rebuild the Keras layer with reset_after=True",
        ));
    }
    if bool_opt(cfg, "time_major", false) {
        return Err(ctx.mismatch(
            "time_major=True reads the input as [steps, batch, features]; this library reads \
             [batch, steps, features], Keras's default: rebuild the Keras layer with \
             time_major=False",
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
            // A mask changes what every later layer computes (padded steps are skipped),
            // so a file and a model that disagree on it would silently differ.
            let file_masks = bool_opt(cfg, "mask_zero", false);
            let model_masks = ctx.padding == Some(Padding::ZeroId);
            match (file_masks, model_masks) {
                (true, false) => Err(ctx.mismatch(
                    "mask_zero=True in the file (token 0 is padding, its steps are skipped), \
                     but the model does not mask: declare `embedding(…, mask_zero = true)`",
                )),
                (false, true) => Err(ctx.mismatch(
                    "the model declares `mask_zero = true`, but the file's Embedding has \
                     mask_zero=False (it was trained without skipping token 0): declare \
                     `embedding(…)` without `mask_zero`",
                )),
                _ => Ok(()),
            }
        }
        Layer::Dropout { .. } => Ok(()),
    }
}

/// The input shape a layer config gives, with the batch dimension: an `InputLayer`'s
/// `batch_shape` (Keras 3) or `batch_input_shape` (Keras 2), which Keras 2 also puts
/// on the first layer.
fn batch_shape(v: &Value) -> Option<&Vec<Value>> {
    let cfg = &v["config"];
    cfg.get("batch_shape")
        .or_else(|| cfg.get("batch_input_shape"))
        .and_then(Value::as_array)
}

/// Checks an input shape: features must agree; the number of steps may differ
/// (recurrent weights do not depend on it).
fn check_input(path: &Path, shape: &[Value], arch: &Architecture) -> Result<()> {
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

/// Checks the file's `Masking` layer (`Some(mask_value)`, `None` inside when the value
/// is unreadable) against the model's padding; values compare as f32, as both run.
fn check_masking(path: &Path, file: Option<Option<f64>>, model: Option<Padding>) -> Result<()> {
    let model_value = match model {
        Some(Padding::Value(v)) => Some(v),
        _ => None,
    };
    let reason = match (file, model_value) {
        (None, None) => return Ok(()),
        (Some(Some(f)), Some(m)) if f as f32 == m => return Ok(()),
        (Some(None), _) => "the file's `Masking` layer has no numeric mask_value".to_owned(),
        (Some(Some(f)), Some(m)) => format!(
            "the file masks steps equal to {f} (`Masking(mask_value={f})`), the model \
             declares `masking({m})`"
        ),
        (Some(Some(f)), None) => format!(
            "the file masks steps equal to {f} (`Masking(mask_value={f})`), but the model \
             does not: declare `masking({f})` right after `input`"
        ),
        (None, Some(m)) => format!(
            "the model declares `masking({m})`, but the file has no `Masking` layer (it was \
             trained without skipping padded steps): remove `masking({m})`"
        ),
    };
    Err(Error::KerasModel {
        path: path.to_path_buf(),
        reason,
    })
}

/// Checks a model config (JSON from `origin`) against `arch`; returns Keras's name of
/// each declared layer.
pub(crate) fn check(
    json: &[u8],
    arch: &Architecture,
    path: &Path,
    origin: Origin,
) -> Result<Vec<String>> {
    let root: Value = serde_json::from_slice(json).map_err(|e| Error::KerasFile {
        path: path.to_path_buf(),
        reason: format!("{}: {e}", origin.name()),
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
    // Keras up to 2.2.2 wrote a Sequential model's config as the bare layer list.
    let list = match &root["config"] {
        Value::Array(list) => Some(list),
        cfg => cfg.get("layers").and_then(Value::as_array),
    };
    let Some(all) = list else {
        return Err(Error::KerasFile {
            path: path.to_path_buf(),
            reason: format!("{} has no layer list", origin.name()),
        });
    };
    let mut layers = Vec::with_capacity(all.len());
    for v in all {
        if class(v) == "InputLayer" {
            if let Some(shape) = batch_shape(v) {
                check_input(path, shape, arch)?;
            }
        } else {
            layers.push(v);
        }
    }
    if let Some(shape) = layers.first().and_then(|v| batch_shape(v)) {
        check_input(path, shape, arch)?;
    }
    // `Masking` is the model's `padding`, not a numbered layer: it must be first (what
    // the DSL can declare) and agree with the model's `masking(value)`.
    let masking = match layers.first() {
        Some(v) if class(v) == "Masking" => {
            let value = v["config"].get("mask_value").and_then(Value::as_f64);
            layers.remove(0);
            Some(value)
        }
        _ => None,
    };
    if let Some(v) = layers.iter().find(|v| class(v) == "Masking") {
        return Err(Error::KerasModel {
            path: path.to_path_buf(),
            reason: format!(
                "a `Masking` layer ({}) that is not first after the input; the model can \
                 only mask its input (`masking(value)` right after `input`)",
                v["config"]
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
            ),
        });
    }
    check_masking(path, masking, arch.padding)?;
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
            origin,
            padding: arch.padding,
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

#[cfg(test)]
mod tests {
    use super::*;

    const GRU: Layer = Layer::Recurrent {
        cell: Cell::Gru,
        inputs: 2,
        hidden: 3,
        bidirectional: false,
        return_sequences: false,
        activation: CellActivation::Tanh,
        recurrent_activation: CellActivation::Sigmoid,
        dropout: 0.0,
        recurrent_dropout: 0.0,
    };
    const DENSE: Layer = Layer::Dense {
        inputs: 3,
        units: 1,
        activation: Activation::Linear,
        per_step: false,
    };
    const ARCH: Architecture = Architecture {
        timesteps: 4,
        features: 2,
        tokens: false,
        sequence_output: false,
        padding: None,
        layers: &[GRU, DENSE],
    };

    /// A Keras 2 Sequential config of `GRU(3), Dense(1)` with `gru` (the GRU's config
    /// keys) and `model` (the model's) edited.
    fn keras2(gru: impl Fn(&mut Value), model: impl Fn(&mut Value)) -> Vec<u8> {
        let mut root = serde_json::json!({
            "class_name": "Sequential",
            "config": {"name": "sequential", "layers": [
                {"class_name": "InputLayer",
                 "config": {"batch_input_shape": [null, 4, 2], "dtype": "float32"}},
                {"class_name": "GRU", "config": {
                    "name": "gru", "units": 3, "activation": "tanh",
                    "recurrent_activation": "sigmoid", "return_sequences": false,
                    "go_backwards": false, "time_major": false, "implementation": 2,
                    "reset_after": true, "dtype": "float32"}},
                {"class_name": "Dense", "config": {
                    "name": "dense", "units": 1, "activation": "linear"}}
            ]}
        });
        gru(&mut root["config"]["layers"][1]["config"]);
        model(&mut root);
        serde_json::to_vec(&root).unwrap()
    }

    fn run(json: &[u8], origin: Origin) -> Result<Vec<String>> {
        check(json, &ARCH, Path::new("model.h5"), origin)
    }

    fn layer_error(r: Result<Vec<String>>, words: &[&str]) {
        let err = r.unwrap_err();
        assert!(matches!(err, Error::KerasLayer { layer: 0, .. }), "{err:?}");
        for w in words {
            assert!(err.to_string().contains(w), "`{w}` missing from {err}");
        }
    }

    #[test]
    fn keras2_configs_are_read() {
        let names = run(&keras2(|_| {}, |_| {}), Origin::LegacyH5).unwrap();
        assert_eq!(names, ["gru", "dense"]);
        // Keras up to 2.2.2: the layer list is the config; no InputLayer, the first
        // layer carries `batch_input_shape`.
        let bare = keras2(
            |_| {},
            |root| {
                let mut layers = root["config"]["layers"].as_array().unwrap().clone();
                layers.remove(0);
                layers[0]["config"]["batch_input_shape"] = serde_json::json!([null, 4, 2]);
                root["config"] = Value::Array(layers);
            },
        );
        assert_eq!(run(&bare, Origin::LegacyH5).unwrap(), ["gru", "dense"]);
        // ... whose input is checked there.
        let wide = keras2(
            |_| {},
            |root| {
                let mut layers = root["config"]["layers"].as_array().unwrap().clone();
                layers.remove(0);
                layers[0]["config"]["batch_input_shape"] = serde_json::json!([null, 4, 5]);
                root["config"] = Value::Array(layers);
            },
        );
        let err = run(&wide, Origin::LegacyH5).unwrap_err();
        assert!(matches!(err, Error::KerasModel { .. }), "{err:?}");
        assert!(err.to_string().contains("(4, 5) per sample"), "{err}");
        // `batch_input_shape` of an InputLayer is checked like Keras 3's `batch_shape`.
        let wide = keras2(
            |_| {},
            |root| {
                root["config"]["layers"][0]["config"]["batch_input_shape"] =
                    serde_json::json!([null, 4, 3]);
            },
        );
        assert!(matches!(
            run(&wide, Origin::LegacyH5),
            Err(Error::KerasModel { .. })
        ));
    }

    #[test]
    fn keras2_options_that_change_the_function_are_refused() {
        let time_major = keras2(|g| g["time_major"] = Value::Bool(true), |_| {});
        layer_error(
            run(&time_major, Origin::LegacyH5),
            &["time_major=True", "`gru`"],
        );
        let before = keras2(|g| g["reset_after"] = Value::Bool(false), |_| {});
        layer_error(run(&before, Origin::LegacyH5), &["reset_after=False"]);
        // Without `reset_after` a legacy config is from a Keras older than the option,
        // whose GRU reset before; a `.keras` archive is Keras 3, whose default is after.
        let old = keras2(
            |g| {
                g.as_object_mut().unwrap().remove("reset_after");
            },
            |_| {},
        );
        layer_error(run(&old, Origin::LegacyH5), &["reset_after=False"]);
        assert!(run(&old, Origin::Archive).is_ok());
        // `implementation` and the dtype policy do not change the function.
        let other = keras2(
            |g| {
                g["implementation"] = Value::from(1);
                g["dtype"] = serde_json::json!({"class_name": "Policy",
                    "config": {"name": "float32"}});
            },
            |_| {},
        );
        assert!(run(&other, Origin::LegacyH5).is_ok());
    }

    #[test]
    fn unreadable_configs_name_their_source() {
        let err = run(b"{not json", Origin::LegacyH5).unwrap_err();
        assert!(err.to_string().contains("model_config:"), "{err}");
        let err = run(b"{not json", Origin::Archive).unwrap_err();
        assert!(err.to_string().contains("config.json:"), "{err}");
        let err = run(
            br#"{"class_name": "Sequential", "config": {}}"#,
            Origin::LegacyH5,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("model_config has no layer list"),
            "{err}"
        );
    }

    /// A Keras 2 config of `GRU(3), Dense(1)` with a `Masking(mask_value)` first.
    fn masked(value: Value) -> Vec<u8> {
        let json = keras2(|_| {}, |_| {});
        let mut root: Value = serde_json::from_slice(&json).unwrap();
        let layers = root["config"]["layers"].as_array_mut().unwrap();
        layers.insert(
            1,
            serde_json::json!({"class_name": "Masking",
                "config": {"name": "masking", "mask_value": value}}),
        );
        serde_json::to_vec(&root).unwrap()
    }

    fn with_padding(json: &[u8], padding: Option<Padding>) -> Result<Vec<String>> {
        let arch = Architecture { padding, ..ARCH };
        check(json, &arch, Path::new("model.h5"), Origin::LegacyH5)
    }

    fn model_error(r: Result<Vec<String>>, words: &[&str]) {
        let err = r.unwrap_err();
        assert!(matches!(err, Error::KerasModel { .. }), "{err:?}");
        for w in words {
            assert!(err.to_string().contains(w), "`{w}` missing from {err}");
        }
    }

    #[test]
    fn masking_must_agree_with_the_declared_padding() {
        // Agreeing value: the Masking layer is not a numbered layer.
        let names = with_padding(&masked(0.5.into()), Some(Padding::Value(0.5))).unwrap();
        assert_eq!(names, ["gru", "dense"]);
        // Compared as f32: 0.1 in JSON is the f64 nearest 0.1, the model's the f32.
        with_padding(&masked(0.1.into()), Some(Padding::Value(0.1))).unwrap();
        model_error(
            with_padding(&masked(0.5.into()), Some(Padding::Value(0.0))),
            &["Masking(mask_value=0.5)", "masking(0)"],
        );
        model_error(
            with_padding(&masked(0.0.into()), None),
            &["declare `masking(0)`"],
        );
        model_error(
            with_padding(&keras2(|_| {}, |_| {}), Some(Padding::Value(0.0))),
            &["no `Masking` layer", "masking(0)"],
        );
        model_error(
            with_padding(&masked(Value::Null), Some(Padding::Value(0.0))),
            &["no numeric mask_value"],
        );
    }

    #[test]
    fn a_masking_layer_after_the_first_is_refused() {
        let json = keras2(|_| {}, |_| {});
        let mut root: Value = serde_json::from_slice(&json).unwrap();
        let layers = root["config"]["layers"].as_array_mut().unwrap();
        layers.insert(
            2,
            serde_json::json!({"class_name": "Masking",
                "config": {"name": "late_mask", "mask_value": 0.0}}),
        );
        let json = serde_json::to_vec(&root).unwrap();
        model_error(
            with_padding(&json, Some(Padding::Value(0.0))),
            &["late_mask", "not first"],
        );
    }

    #[test]
    fn mask_zero_must_agree_with_the_declared_padding() {
        const EMB: Layer = Layer::Embedding { vocab: 12, dim: 2 };
        let json = |mask: bool| {
            serde_json::to_vec(&serde_json::json!({
                "class_name": "Sequential",
                "config": {"name": "s", "layers": [
                    {"class_name": "InputLayer", "config": {"batch_shape": [null, 4]}},
                    {"class_name": "Embedding", "config": {
                        "name": "embedding", "input_dim": 12, "output_dim": 2,
                        "mask_zero": mask}},
                    {"class_name": "GRU", "config": {
                        "name": "gru", "units": 3, "activation": "tanh",
                        "recurrent_activation": "sigmoid", "return_sequences": false,
                        "go_backwards": false, "reset_after": true}},
                    {"class_name": "Dense", "config": {
                        "name": "dense", "units": 1, "activation": "linear"}}
                ]}
            }))
            .unwrap()
        };
        // ARCH's GRU already takes 2 inputs: the embedding's dim.
        const LAYERS: &[Layer] = &[EMB, GRU, DENSE];
        let run = |mask: bool, padding: Option<Padding>| {
            let arch = Architecture {
                tokens: true,
                features: 1,
                padding,
                layers: LAYERS,
                ..ARCH
            };
            check(&json(mask), &arch, Path::new("m.keras"), Origin::Archive)
        };
        assert_eq!(
            run(true, Some(Padding::ZeroId)).unwrap(),
            ["embedding", "gru", "dense"]
        );
        run(false, None).unwrap();
        layer_error(
            run(true, None),
            &["mask_zero=True", "declare `embedding(…, mask_zero = true)`"],
        );
        layer_error(run(false, Some(Padding::ZeroId)), &["mask_zero=False"]);
    }
}

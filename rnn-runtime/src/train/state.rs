//! Training checkpoints: everything `fit` needs to continue a run exactly where it
//! stopped, in one safetensors file.
//!
//! Tensors are grouped by a prefix: `model/<parameter>` (with its shape),
//! `optimizer/…`, `schedule/…`, `callback<i>/…`, `fit/…` (position, shuffle order and
//! generator, the run's settings) and `history/…`. The metadata names the format,
//! its version and each component's kind. Every value keeps its dtype (f32, f64 or
//! u64), so a reloaded state is bit-identical to the saved one.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use super::grad_norms::{GradNormSums, LayerGradNorms};
use super::history::History;
use crate::error::{Error, Result};
use crate::io::{le_f32s, param_values, write_atomic};
use crate::metrics::MetricSums;
use crate::params::Params;
use crate::rng::Rng;
use crate::state_dict::{StateDict, StateValue};

const FORMAT: &str = "rnn-train-state";
const VERSION: &str = "1";

/// Where a run is: the epoch in progress and how far into it, with what the rest of
/// the epoch needs (shuffle order, partial loss sums). `fit` trains from this struct
/// and saves it as it is.
#[derive(Debug)]
pub(crate) struct Progress {
    /// Epoch in progress, or the next one when `position` is 0.
    pub epoch: usize,
    /// Batches of `epoch` already trained or skipped.
    pub position: usize,
    /// Batches trained or skipped over the whole run (the dropout stream's counter).
    pub step: u64,
    /// The shuffle generator.
    pub rng: Rng,
    /// This epoch's order of the training samples.
    pub order: Vec<usize>,
    /// Sum of batch loss × batch size over the batches trained this epoch.
    pub loss_sum: f64,
    /// Samples trained this epoch.
    pub trained: usize,
    /// Batches skipped this epoch.
    pub skipped: usize,
    /// Seconds spent in this epoch before this run resumed it (0 when it began here).
    pub elapsed: f64,
    /// The metrics' weighted sums over the batches trained this epoch.
    pub metric_sums: MetricSums,
    /// The per-layer gradient norms' sums over the batches trained this epoch.
    pub grad_norms: GradNormSums,
}

impl Progress {
    /// The start of a run over `train` samples computing `metrics` metrics.
    pub fn new(train: usize, seed: u64, metrics: usize) -> Self {
        Progress {
            epoch: 0,
            position: 0,
            step: 0,
            rng: Rng::new(seed),
            order: (0..train).collect(),
            loss_sum: 0.0,
            trained: 0,
            skipped: 0,
            elapsed: 0.0,
            metric_sums: MetricSums::new(metrics),
            // Sized to the model's layers by `fit` before the first step.
            grad_norms: GradNormSums::new(0),
        }
    }
}

/// The settings that fix a run's trajectory. A state is resumed only by a run with the
/// same key; the epoch count may differ (to train on).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RunKey {
    pub samples: usize,
    pub train: usize,
    pub batch_size: usize,
    pub shuffle: bool,
    pub seed: u64,
    pub loss: String,
    /// FNV-1a of every input and target value's bits, in logical order, then of the
    /// sample and class weights and the validation data.
    pub data: u64,
    /// Whether the run validates after each epoch (a split or validation data).
    pub validation: bool,
    /// The metrics' names, comma-separated, in the order computed.
    pub metrics: String,
}

/// FNV-1a over 32-bit words: a cheap fingerprint that tells one data set from another.
pub(crate) fn fingerprint(words: impl Iterator<Item = u32>, mut hash: u64) -> u64 {
    for word in words {
        for byte in word.to_le_bytes() {
            hash ^= byte as u64;
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// The FNV-1a offset basis, to start [`fingerprint`] with.
pub(crate) const FINGERPRINT_START: u64 = 0xcbf2_9ce4_8422_2325;

/// What a run saves besides the model.
pub(crate) struct Components<'a> {
    pub optimizer: &'a StateDict,
    pub schedule: Option<&'a StateDict>,
    pub callbacks: &'a [StateDict],
    pub progress: &'a Progress,
    /// Seconds spent in the epoch in progress so far.
    pub elapsed: f64,
    pub history: &'a History,
    pub key: &'a RunKey,
}

/// What [`load`] gives back, checked against the model and the run.
pub(crate) struct Restored {
    /// The parameters, one vector per tensor in canonical order.
    pub params: Vec<Vec<f32>>,
    pub optimizer: StateDict,
    pub schedule: Option<StateDict>,
    pub callbacks: Vec<StateDict>,
    pub progress: Progress,
    pub history: History,
}

/// Writes the state of a run atomically (see [`write_atomic`]).
pub(crate) fn save<M: Params>(path: &Path, model: &M, c: &Components<'_>) -> Result<()> {
    let mut values = StateDict::new("run");
    put_prefixed(&mut values, "optimizer/", c.optimizer);
    if let Some(schedule) = c.schedule {
        put_prefixed(&mut values, "schedule/", schedule);
    }
    for (i, state) in c.callbacks.iter().enumerate() {
        put_prefixed(&mut values, &format!("callback{i}/"), state);
    }
    put_progress(&mut values, c.progress, c.elapsed, c.key);
    put_history(&mut values, c.history);

    let mut params = Vec::with_capacity(M::param_specs().len());
    model.visit_params(&mut |t| params.push(le_bytes(t.iter().map(|v| v.to_le_bytes()))));
    let mut tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = M::param_specs()
        .iter()
        .zip(params)
        .map(|(spec, bytes)| {
            let name = format!("model/{}", spec.name);
            (name, Dtype::F32, spec.shape.to_vec(), bytes)
        })
        .collect();
    for (name, value) in values.values() {
        let (dtype, len, bytes) = match value {
            StateValue::F32(v) => (
                Dtype::F32,
                v.len(),
                le_bytes(v.iter().map(|x| x.to_le_bytes())),
            ),
            StateValue::F64(v) => (
                Dtype::F64,
                v.len(),
                le_bytes(v.iter().map(|x| x.to_le_bytes())),
            ),
            StateValue::U64(v) => (
                Dtype::U64,
                v.len(),
                le_bytes(v.iter().map(|x| x.to_le_bytes())),
            ),
        };
        tensors.push((name.to_owned(), dtype, vec![len], bytes));
    }
    let views = tensors
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            TensorView::new(*dtype, shape.clone(), bytes).map(|v| (name.as_str(), v))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| st_error(path, source))?;
    let mut meta = HashMap::from([
        ("format".to_owned(), FORMAT.to_owned()),
        ("version".to_owned(), VERSION.to_owned()),
        ("model".to_owned(), std::any::type_name::<M>().to_owned()),
        ("optimizer".to_owned(), c.optimizer.kind().to_owned()),
        ("callbacks".to_owned(), kinds(c.callbacks)),
    ]);
    if let Some(schedule) = c.schedule {
        meta.insert("schedule".to_owned(), schedule.kind().to_owned());
    }
    let bytes = safetensors::serialize(views, &Some(meta)).map_err(|e| st_error(path, e))?;
    write_atomic(path, &bytes)
}

/// Reads a state saved by [`save`] for a model of type `M`, refusing one from another
/// model, a run with another key, or a damaged file. Nothing is applied here.
pub(crate) fn load<M: Params>(path: &Path, key: &RunKey) -> Result<Restored> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| st_error(path, e))?;
    let bad = |reason: String| Error::TrainState {
        path: path.to_path_buf(),
        reason,
    };
    let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| st_error(path, e))?;
    let meta = meta.metadata().clone().unwrap_or_default();
    let field = |name: &str| meta.get(name).map(String::as_str);
    if field("format") != Some(FORMAT) {
        return Err(bad("not a training state written by Fit::save_state".into()));
    }
    if field("version") != Some(VERSION) {
        return Err(bad(format!(
            "format version {:?}, this library reads version {VERSION}",
            field("version").unwrap_or("none")
        )));
    }

    let params = M::param_specs()
        .iter()
        .map(|spec| {
            let name = format!("model/{}", spec.name);
            let view = file.tensor(&name).map_err(|_| Error::MissingTensor {
                path: path.to_path_buf(),
                name: name.clone(),
            })?;
            param_values(&view, path, &name, spec)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut values = StateDict::new("run");
    let mut tensors = file.tensors();
    // Sorted, so that the first problem reported is the same every time.
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, view) in tensors {
        if let Some(param) = name.strip_prefix("model/") {
            if !M::param_specs().iter().any(|s| s.name == param) {
                return Err(Error::UnexpectedTensor {
                    path: path.to_path_buf(),
                    name,
                });
            }
            continue;
        }
        if view.shape().len() != 1 {
            return Err(bad(format!("tensor `{name}` is not one-dimensional")));
        }
        let value = match view.dtype() {
            Dtype::F32 => StateValue::F32(le_f32s(view.data())),
            Dtype::F64 => StateValue::F64(words(view.data(), f64::from_le_bytes)),
            Dtype::U64 => StateValue::U64(words(view.data(), u64::from_le_bytes)),
            other => return Err(bad(format!("tensor `{name}` has dtype {other:?}"))),
        };
        values.insert_value(name, value);
    }

    let in_file = |e: Error| match e {
        Error::StateDict(reason) => bad(reason),
        other => other,
    };
    let optimizer = take_prefixed(&values, "optimizer/", field("optimizer").unwrap_or(""));
    for (name, value) in optimizer.values() {
        if let StateValue::F32(v) = value {
            if !v.is_empty() && v.len() != M::PARAMS {
                return Err(bad(format!(
                    "optimizer tensor `{name}` has {} values, the model {} parameters",
                    v.len(),
                    M::PARAMS
                )));
            }
        }
    }
    let schedule = field("schedule").map(|kind| take_prefixed(&values, "schedule/", kind));
    let callback_kinds: Vec<&str> = match field("callbacks") {
        None | Some("") => Vec::new(),
        Some(list) => list.split(',').collect(),
    };
    let callbacks = callback_kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| take_prefixed(&values, &format!("callback{i}/"), kind))
        .collect();
    let (progress, saved_key) = get_progress(&values).map_err(in_file)?;
    check_key(path, &saved_key, key)?;
    let history = get_history(&values).map_err(in_file)?;
    check_consistent(&progress, &history, key).map_err(bad)?;
    Ok(Restored {
        params,
        optimizer,
        schedule,
        callbacks,
        progress,
        history,
    })
}

fn st_error(path: &Path, source: safetensors::SafeTensorError) -> Error {
    Error::SafeTensors {
        path: path.to_path_buf(),
        source,
    }
}

fn kinds(states: &[StateDict]) -> String {
    let kinds: Vec<&str> = states.iter().map(StateDict::kind).collect();
    kinds.join(",")
}

fn le_bytes<const N: usize>(words: impl Iterator<Item = [u8; N]>) -> Vec<u8> {
    words.flatten().collect()
}

fn words<T, const N: usize>(bytes: &[u8], from: fn([u8; N]) -> T) -> Vec<T> {
    bytes
        .chunks_exact(N)
        .map(|c| {
            let mut word = [0u8; N];
            word.copy_from_slice(c);
            from(word)
        })
        .collect()
}

fn put_prefixed(out: &mut StateDict, prefix: &str, state: &StateDict) {
    for (name, value) in state.values() {
        out.insert_value(format!("{prefix}{name}"), value.clone());
    }
}

fn take_prefixed(all: &StateDict, prefix: &str, kind: &str) -> StateDict {
    let mut state = StateDict::new(kind);
    for (name, value) in all.values() {
        if let Some(rest) = name.strip_prefix(prefix) {
            state.insert_value(rest.to_owned(), value.clone());
        }
    }
    state
}

fn put_progress(out: &mut StateDict, p: &Progress, elapsed: f64, key: &RunKey) {
    out.insert_u64("fit/epoch", p.epoch as u64);
    out.insert_u64("fit/position", p.position as u64);
    out.insert_u64("fit/step", p.step);
    out.insert_u64("fit/rng", p.rng.state());
    out.insert_u64s("fit/order", p.order.iter().map(|&i| i as u64).collect());
    out.insert_f64("fit/loss_sum", p.loss_sum);
    out.insert_u64("fit/trained", p.trained as u64);
    out.insert_u64("fit/skipped", p.skipped as u64);
    out.insert_f64("fit/elapsed", elapsed);
    out.insert_u64("fit/samples", key.samples as u64);
    out.insert_u64("fit/train", key.train as u64);
    out.insert_u64("fit/batch_size", key.batch_size as u64);
    out.insert_u64("fit/shuffle", key.shuffle as u64);
    out.insert_u64("fit/seed", key.seed);
    out.insert_u64s("fit/loss", key.loss.bytes().map(u64::from).collect());
    out.insert_u64("fit/data", key.data);
    out.insert_u64("fit/validation", key.validation as u64);
    out.insert_u64s("fit/metrics", key.metrics.bytes().map(u64::from).collect());
    out.insert_f64s("fit/metric_sums", p.metric_sums.to_flat());
    out.insert_f64s("fit/grad_norm_sum", p.grad_norms.sum.clone());
    out.insert_f64s("fit/grad_norm_max", p.grad_norms.max.clone());
    out.insert_u64("fit/grad_norm_steps", p.grad_norms.steps);
}

/// A byte string saved as one u64 per byte.
fn text(s: &StateDict, name: &str) -> Result<String> {
    let bytes: Vec<u8> = s
        .u64s(name)?
        .iter()
        .map(|&b| u8::try_from(b).unwrap_or(b'?'))
        .collect();
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn get_progress(s: &StateDict) -> Result<(Progress, RunKey)> {
    let order = s
        .u64s("fit/order")?
        .iter()
        .map(|&i| usize::try_from(i).unwrap_or(usize::MAX))
        .collect();
    // States written before metrics existed have none of the `fit/metric…` entries.
    let metrics = if s.contains("fit/metrics") {
        text(s, "fit/metrics")?
    } else {
        String::new()
    };
    let metric_sums = if s.contains("fit/metric_sums") {
        MetricSums::from_flat(s.f64s("fit/metric_sums")?)
            .ok_or_else(|| Error::StateDict("fit/metric_sums has an odd length".into()))?
    } else {
        MetricSums::new(0)
    };
    // States written before gradient norms were recorded have no `fit/grad_norm…`
    // entries: empty sums, which `fit` then marks as unknown for the epoch in progress.
    let grad_norms = if s.contains("fit/grad_norm_sum") {
        GradNormSums {
            sum: s.f64s("fit/grad_norm_sum")?.to_vec(),
            max: s.f64s("fit/grad_norm_max")?.to_vec(),
            steps: s.u64("fit/grad_norm_steps")?,
        }
    } else {
        GradNormSums::new(0)
    };
    let samples = s.usize("fit/samples")?;
    let train = s.usize("fit/train")?;
    let validation = if s.contains("fit/validation") {
        s.bool("fit/validation")?
    } else {
        train < samples
    };
    let progress = Progress {
        epoch: s.usize("fit/epoch")?,
        position: s.usize("fit/position")?,
        step: s.u64("fit/step")?,
        rng: Rng::new(s.u64("fit/rng")?),
        order,
        loss_sum: s.f64("fit/loss_sum")?,
        trained: s.usize("fit/trained")?,
        skipped: s.usize("fit/skipped")?,
        elapsed: s.f64("fit/elapsed")?,
        metric_sums,
        grad_norms,
    };
    let key = RunKey {
        samples,
        train,
        batch_size: s.usize("fit/batch_size")?,
        shuffle: s.bool("fit/shuffle")?,
        seed: s.u64("fit/seed")?,
        loss: text(s, "fit/loss")?,
        data: s.u64("fit/data")?,
        validation,
        metrics,
    };
    Ok((progress, key))
}

fn check_key(path: &Path, saved: &RunKey, now: &RunKey) -> Result<()> {
    let differ = |what: &'static str, saved: String, now: String| {
        Err(Error::ResumeMismatch {
            path: path.to_path_buf(),
            what,
            saved,
            now,
        })
    };
    if saved.samples != now.samples {
        return differ(
            "samples",
            saved.samples.to_string(),
            now.samples.to_string(),
        );
    }
    if saved.train != now.train {
        return differ(
            "training samples (after validation_split)",
            saved.train.to_string(),
            now.train.to_string(),
        );
    }
    if saved.batch_size != now.batch_size {
        return differ(
            "batch_size",
            saved.batch_size.to_string(),
            now.batch_size.to_string(),
        );
    }
    if saved.shuffle != now.shuffle {
        return differ(
            "shuffle",
            saved.shuffle.to_string(),
            now.shuffle.to_string(),
        );
    }
    if saved.seed != now.seed {
        return differ("seed", saved.seed.to_string(), now.seed.to_string());
    }
    if saved.loss != now.loss {
        return differ("loss", saved.loss.clone(), now.loss.clone());
    }
    if saved.metrics != now.metrics {
        let list = |m: &str| {
            if m.is_empty() {
                "none".to_owned()
            } else {
                m.to_owned()
            }
        };
        return differ("metrics", list(&saved.metrics), list(&now.metrics));
    }
    if saved.validation != now.validation {
        return differ(
            "validation",
            saved.validation.to_string(),
            now.validation.to_string(),
        );
    }
    if saved.data != now.data {
        return differ(
            "data fingerprint",
            format!("{:016x}", saved.data),
            format!(
                "{:016x} (x, y, the sample or class weights or the validation data changed)",
                now.data
            ),
        );
    }
    Ok(())
}

fn put_history(out: &mut StateDict, h: &History) {
    out.insert_f32s("history/loss", h.loss.clone());
    out.insert_f32s("history/val_loss", h.val_loss.clone());
    out.insert_f64s("history/seconds", h.seconds.clone());
    out.insert_f32s("history/lr", h.lr.clone());
    out.insert_u64s(
        "history/skipped",
        h.skipped.iter().map(|&s| s as u64).collect(),
    );
    out.insert_u64(
        "history/stopped_epoch",
        h.stopped_epoch.map_or(0, |e| e as u64 + 1),
    );
    for (name, values) in &h.metrics {
        out.insert_f32s(&format!("history/metric/{name}"), values.clone());
    }
    // The layers' names in order (the state's entries are sorted by name, which would
    // lose it), then each layer's values under its position.
    let names: Vec<&str> = h.grad_norms.iter().map(|g| g.layer.as_str()).collect();
    out.insert_u64s(
        "history/grad_norm_layers",
        names.join(",").bytes().map(u64::from).collect(),
    );
    for (i, g) in h.grad_norms.iter().enumerate() {
        out.insert_f32s(&format!("history/grad_norm/{i}/mean"), g.mean.clone());
        out.insert_f32s(&format!("history/grad_norm/{i}/max"), g.max.clone());
    }
}

fn get_history(s: &StateDict) -> Result<History> {
    let stopped = s.usize("history/stopped_epoch")?;
    let mut metrics = std::collections::BTreeMap::new();
    for (name, _) in s.values() {
        if let Some(metric) = name.strip_prefix("history/metric/") {
            metrics.insert(metric.to_owned(), s.f32s(name)?.to_vec());
        }
    }
    let mut grad_norms = Vec::new();
    if s.contains("history/grad_norm_layers") {
        let names = text(s, "history/grad_norm_layers")?;
        for (i, layer) in names.split(',').filter(|n| !n.is_empty()).enumerate() {
            grad_norms.push(LayerGradNorms {
                layer: layer.to_owned(),
                mean: s.f32s(&format!("history/grad_norm/{i}/mean"))?.to_vec(),
                max: s.f32s(&format!("history/grad_norm/{i}/max"))?.to_vec(),
            });
        }
    }
    Ok(History {
        metrics,
        grad_norms,
        loss: s.f32s("history/loss")?.to_vec(),
        val_loss: s.f32s("history/val_loss")?.to_vec(),
        seconds: s.f64s("history/seconds")?.to_vec(),
        lr: s.f32s("history/lr")?.to_vec(),
        stopped_epoch: stopped.checked_sub(1),
        best_epoch: None,
        skipped: s
            .u64s("history/skipped")?
            .iter()
            .map(|&v| usize::try_from(v).unwrap_or(usize::MAX))
            .collect(),
    })
}

/// Refuses a state whose parts disagree (a damaged or hand-made file), so that
/// training never indexes past what it holds.
fn check_consistent(p: &Progress, h: &History, key: &RunKey) -> std::result::Result<(), String> {
    let mut seen = vec![false; key.train];
    for &i in &p.order {
        match seen.get_mut(i) {
            Some(s) if !*s => *s = true,
            _ => {
                return Err(format!(
                    "the shuffle order is not a permutation of 0..{}",
                    key.train
                ))
            }
        }
    }
    if p.order.len() != key.train {
        return Err(format!(
            "the shuffle order has {} entries for {} training samples",
            p.order.len(),
            key.train
        ));
    }
    let batch = key.batch_size.min(key.train).max(1);
    let steps = key.train.div_ceil(batch);
    if p.position > steps {
        return Err(format!(
            "position {} is past the {steps} batches of an epoch",
            p.position
        ));
    }
    // Every batch, trained or skipped, is one step: the counters must agree, which
    // also bounds them (the epoch by the history's length, so no counter can overflow).
    let expected = p
        .epoch
        .checked_mul(steps)
        .and_then(|s| s.checked_add(p.position));
    if expected.map(|s| s as u64) != Some(p.step) {
        return Err(format!(
            "step {} does not match epoch {} and position {} at {steps} batches per epoch",
            p.step, p.epoch, p.position
        ));
    }
    // At an epoch boundary these still hold the finished epoch's, reset before use.
    if p.position > 0 && (p.skipped > p.position || p.trained > p.position * batch) {
        return Err(format!(
            "{} trained samples and {} skipped batches do not fit in {} batches",
            p.trained, p.skipped, p.position
        ));
    }
    let done = p.epoch;
    let lr_len = done + usize::from(p.position > 0);
    let validated = if key.validation { done } else { 0 };
    let val_ok = h.val_loss.len() == validated;
    if h.loss.len() != done
        || h.seconds.len() != done
        || h.skipped.len() != done
        || !val_ok
        || h.lr.len() != lr_len
    {
        return Err(format!(
            "the history does not match epoch {done}: {} losses, {} learning rates",
            h.loss.len(),
            h.lr.len()
        ));
    }
    // A layer's norms cover every epoch done; a state written before norms were
    // recorded has none, and `fit` fills the earlier epochs with NaN.
    if let Some(g) = h
        .grad_norms
        .iter()
        .find(|g| g.mean.len() != done || g.max.len() != done)
    {
        return Err(format!(
            "the history's gradient norms of layer {} do not match epoch {done}",
            g.layer
        ));
    }
    if p.position > 0 && p.grad_norms.steps > p.position as u64 {
        return Err(format!(
            "{} steps of gradient norms do not fit in {} batches",
            p.grad_norms.steps, p.position
        ));
    }
    if h.stopped_epoch.is_some_and(|e| e + 1 != done) {
        return Err("the history's stopped epoch is not the last one saved".into());
    }
    let names: Vec<&str> = key.metrics.split(',').filter(|m| !m.is_empty()).collect();
    if p.metric_sums.len() != names.len() {
        return Err(format!(
            "{} metric sums for {} metrics",
            p.metric_sums.len(),
            names.len()
        ));
    }
    let mut expected: Vec<(String, usize)> = names.iter().map(|m| (m.to_string(), done)).collect();
    if key.validation {
        expected.extend(names.iter().map(|m| (format!("val_{m}"), done)));
    }
    expected.sort();
    let found: Vec<(String, usize)> = h
        .metrics
        .iter()
        .map(|(k, v)| (k.clone(), v.len()))
        .collect();
    if found != expected {
        return Err(format!(
            "the history's metrics do not match epoch {done} of metrics [{}]",
            key.metrics
        ));
    }
    Ok(())
}

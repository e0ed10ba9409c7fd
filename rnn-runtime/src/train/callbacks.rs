//! What [`fit`](crate::fit) runs at the end of every epoch, after validation and the
//! learning-rate schedule: early stopping, checkpoints and user closures, in the order
//! they were added to [`Fit`](crate::Fit).
//!
//! ```
//! use rnn_runtime::callbacks::{Checkpoint, Control, EarlyStopping, Monitor};
//! use rnn_runtime::{Adam, Fit};
//!
//! let dir = std::env::temp_dir();
//! let _opts = Fit::new(Adam::new(1e-3))
//!     .epochs(200)
//!     .validation_split(0.2)
//!     .callback(EarlyStopping::new().patience(10).restore_best_weights(true))
//!     .callback(Checkpoint::best(dir.join("best.safetensors")).monitor(Monitor::ValLoss))
//!     .on_epoch_end(|logs| if logs.loss.is_nan() { Control::Stop } else { Control::Continue });
//! ```

use std::any::{Any, TypeId};
use std::fmt;
use std::path::{Path, PathBuf};

pub use super::grad_norms::GradNorm;
use crate::error::{Error, Result};
use crate::io::save_safetensors;
use crate::metrics::Metric;
pub use crate::metrics::Monitor;
use crate::params::Params;
use crate::state_dict::StateDict;

/// What a user closure tells `fit` after an epoch.
///
/// ```
/// use rnn_runtime::callbacks::Control;
/// use rnn_runtime::ndarray::{Array2, Array3};
/// use rnn_runtime::{model, Adam, Fit};
///
/// model! { struct Net < input(3, 1), lstm(2), dense(1) > }
///
/// # fn main() -> rnn_runtime::Result<()> {
/// let (x, y) = (Array3::<f32>::ones((4, 3, 1)), Array2::<f32>::ones((4, 1)));
/// // Stop once the loss is half of the first epoch's.
/// let mut first = None;
/// let opts = Fit::new(Adam::new(0.05)).epochs(500).verbose(false).on_epoch_end(move |logs| {
///     let start = *first.get_or_insert(logs.loss);
///     if logs.loss < start / 2.0 { Control::Stop } else { Control::Continue }
/// });
/// let history = Net::new(0).fit(&x, &y, opts)?;
/// let stopped = history.stopped_epoch.unwrap();
/// assert!(history.loss[stopped] < history.loss[0] / 2.0);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Control {
    /// Go on training.
    #[default]
    Continue,
    /// End training after this epoch (callbacks later in the list still see it).
    Stop,
}

/// A closure that returns nothing lets training go on.
impl From<()> for Control {
    fn from((): ()) -> Self {
        Control::Continue
    }
}

/// What an epoch did, as the callbacks see it (Keras's `logs`).
///
/// Its `Display` is the line [`Verbosity::EpochLine`](crate::Verbosity::EpochLine)
/// prints:
///
/// ```
/// use rnn_runtime::callbacks::EpochLogs;
/// use rnn_runtime::Metric;
///
/// let logs = EpochLogs {
///     epoch: 2,
///     epochs: 10,
///     loss: 1.2e-3,
///     val_loss: Some(2e-3),
///     metrics: vec![(Metric::Accuracy, 0.95)],
///     val_metrics: vec![(Metric::Accuracy, 0.9)],
///     lr: 1e-3,
///     seconds: 0.04,
///     grad_norms: vec![],
/// };
/// assert_eq!(
///     logs.to_string(),
///     "epoch 3/10 - loss 1.2e-3 - acc 0.9500 - val_loss 2.0e-3 - val_acc 0.9000 - 0.04 s"
/// );
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct EpochLogs {
    /// Index of the epoch, from 0, counted over every `fit` call that continued the
    /// same [`Fit`](crate::Fit).
    pub epoch: usize,
    /// The index after the last epoch this `fit` call trains.
    pub epochs: usize,
    /// Mean training loss of the epoch.
    pub loss: f32,
    /// Validation loss after the epoch, with validation data.
    pub val_loss: Option<f32>,
    /// The metrics `fit` computes ([`Fit::metrics`](crate::Fit::metrics)) on the
    /// epoch's training batches, in the order asked for.
    pub metrics: Vec<(Metric, f32)>,
    /// The same metrics on the validation data; empty without validation data.
    pub val_metrics: Vec<(Metric, f32)>,
    /// Learning rate the epoch trained with (before the schedule changed it).
    pub lr: f32,
    /// Wall-clock seconds of the epoch, validation included.
    pub seconds: f64,
    /// Each layer's gradient norm over the epoch, before clipping: one [`GradNorm`]
    /// (mean and maximum over the trained steps) per layer with parameters, in spec
    /// order, named as the summary table names it. A `dropout` layer has no
    /// parameters and no entry.
    pub grad_norms: Vec<GradNorm>,
}

impl fmt::Display for EpochLogs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "epoch {}/{} - loss {:.1e}",
            self.epoch + 1,
            self.epochs,
            self.loss
        )?;
        for (m, v) in &self.metrics {
            write!(f, " - {m} {v:.4}")?;
        }
        if let Some(val) = self.val_loss {
            write!(f, " - val_loss {val:.1e}")?;
        }
        for (m, v) in &self.val_metrics {
            write!(f, " - val_{m} {v:.4}")?;
        }
        write!(f, " - {:.2} s", self.seconds)
    }
}

/// Keras's `EarlyStopping`: stops training once the monitored quantity has not
/// improved by more than `min_delta` for `patience` epochs in a row.
///
/// An epoch improves when `value + min_delta < best` (for an accuracy, which improves
/// upwards, `value - min_delta > best`: Keras's `mode="auto"`); a NaN never improves. Training
/// stops at the `patience`-th epoch in a row without improvement (at the first one
/// for patience 0, but never after the first epoch). With
/// `restore_best_weights(true)` the model ends `fit` with the parameters of its best
/// epoch — also when all epochs ran, as Keras 3 does; if no epoch ever improved, that
/// is the first epoch.
///
/// Defaults: [`Monitor::Auto`], patience 0, min_delta 0, no restoring.
///
/// ```
/// use rnn_runtime::callbacks::{EarlyStopping, Monitor};
/// use rnn_runtime::ndarray::{Array2, Array3};
/// use rnn_runtime::{model, Fit, Sgd};
///
/// model! { struct Net < input(3, 1), gru(2), dense(1) > }
///
/// # fn main() -> rnn_runtime::Result<()> {
/// let (x, y) = (Array3::<f32>::ones((4, 3, 1)), Array2::<f32>::zeros((4, 1)));
/// // A zero learning rate never improves: the first epoch stays the best.
/// let stop = EarlyStopping::new().monitor(Monitor::Loss).patience(2).min_delta(0.0).restore_best_weights(true);
/// let opts = Fit::new(Sgd::new(0.0)).epochs(50).verbose(false).callback(stop);
/// let history = Net::new(0).fit(&x, &y, opts)?;
/// assert_eq!(history.stopped_epoch, Some(2));
/// assert_eq!(history.best_epoch, Some(0));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct EarlyStopping {
    monitor: Monitor,
    patience: usize,
    min_delta: f32,
    restore_best_weights: bool,
    best: f64,
    wait: usize,
    best_epoch: Option<usize>,
    // Flat copy of the parameters in canonical order; grows once, then reused.
    best_weights: Vec<f32>,
    has_weights: bool,
}

impl fmt::Debug for EarlyStopping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EarlyStopping")
            .field("monitor", &self.monitor)
            .field("patience", &self.patience)
            .field("min_delta", &self.min_delta)
            .field("restore_best_weights", &self.restore_best_weights)
            .finish_non_exhaustive()
    }
}

impl Default for EarlyStopping {
    fn default() -> Self {
        EarlyStopping::new()
    }
}

/// What one epoch meant to an [`EarlyStopping`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Verdict {
    improved: bool,
    stop: bool,
}

impl EarlyStopping {
    /// Keras's defaults, with the monitor following the validation split.
    pub fn new() -> Self {
        EarlyStopping {
            monitor: Monitor::Auto,
            patience: 0,
            min_delta: 0.0,
            restore_best_weights: false,
            best: f64::INFINITY,
            wait: 0,
            best_epoch: None,
            best_weights: Vec::new(),
            has_weights: false,
        }
    }

    /// Sets the loss to watch.
    pub fn monitor(mut self, monitor: Monitor) -> Self {
        self.monitor = monitor;
        self
    }

    /// Sets how many epochs in a row without improvement end training.
    pub fn patience(mut self, patience: usize) -> Self {
        self.patience = patience;
        self
    }

    /// Sets the absolute decrease (finite, >= 0) that counts as an improvement.
    pub fn min_delta(mut self, min_delta: f32) -> Self {
        self.min_delta = min_delta;
        self
    }

    /// Whether to put back the parameters of the best epoch when training ends.
    pub fn restore_best_weights(mut self, restore: bool) -> Self {
        self.restore_best_weights = restore;
        self
    }

    fn check(&self, has_validation: bool, metrics: &[Metric]) -> Result<()> {
        self.monitor
            .check("EarlyStopping", has_validation, metrics)?;
        if !(self.min_delta.is_finite() && self.min_delta >= 0.0) {
            return Err(Error::Config(format!(
                "EarlyStopping min_delta must be finite and >= 0, got {}",
                self.min_delta
            )));
        }
        Ok(())
    }

    fn begin(&mut self) {
        self.best = f64::INFINITY;
        self.wait = 0;
        self.best_epoch = None;
        self.has_weights = false;
    }

    /// Keras 3's rule: the wait counts epochs since the last improvement.
    fn observe(&mut self, epoch: usize, value: f32) -> Verdict {
        self.wait += 1;
        // f64 so that a small min_delta is not lost in the rounding of a large loss.
        if (value as f64 + self.min_delta as f64) < self.best {
            self.best = value as f64;
            self.best_epoch = Some(epoch);
            self.wait = 0;
            return Verdict {
                improved: true,
                stop: false,
            };
        }
        Verdict {
            improved: false,
            stop: self.wait >= self.patience && epoch > 0,
        }
    }

    fn end_epoch<M: Params>(&mut self, logs: &EpochLogs, model: &M) -> Result<Control> {
        let verdict = self.observe(logs.epoch, self.monitor.score(logs)?);
        if self.restore_best_weights && (verdict.improved || !self.has_weights) {
            // Until some epoch improves, the first epoch's weights are the best known.
            if !verdict.improved {
                self.best_epoch = Some(logs.epoch);
            }
            let buf = &mut self.best_weights;
            buf.clear();
            model.visit_params(&mut |t| buf.extend_from_slice(t));
            self.has_weights = true;
        }
        Ok(if verdict.stop {
            Control::Stop
        } else {
            Control::Continue
        })
    }

    fn write_state(&self, state: &mut StateDict) {
        state.insert_f64("best", self.best);
        state.insert_u64("wait", self.wait as u64);
        put_epoch(state, "best_epoch", self.best_epoch);
        state.insert_u64("has_weights", self.has_weights as u64);
        state.insert_f32s("best_weights", self.best_weights.clone());
    }

    fn load_state(&mut self, state: &StateDict, params: usize, epochs: usize) -> Result<()> {
        let (best, wait, best_epoch) = (
            state.f64("best")?,
            state.count_at_most("wait", epochs)?,
            get_epoch(state, "best_epoch", epochs)?,
        );
        let (has_weights, weights) = (state.bool("has_weights")?, state.f32s("best_weights")?);
        if has_weights && weights.len() != params {
            return Err(Error::StateDict(format!(
                "EarlyStopping state: best_weights has {} values, the model {params}",
                weights.len()
            )));
        }
        (self.best, self.wait, self.best_epoch) = (best, wait, best_epoch);
        self.has_weights = has_weights;
        self.best_weights = weights.to_vec();
        Ok(())
    }

    /// Puts the best weights back; returns their epoch.
    fn end_training<M: Params>(&self, model: &mut M) -> Option<usize> {
        if !(self.restore_best_weights && self.has_weights) {
            return None;
        }
        let mut offset = 0;
        model.visit_params_mut(&mut |t| {
            let end = offset + t.len();
            if let Some(saved) = self.best_weights.get(offset..end) {
                t.copy_from_slice(saved);
            }
            offset = end;
        });
        self.best_epoch
    }
}

/// Keras's `ModelCheckpoint`: saves the parameters with
/// [`save_safetensors`] (atomically: a crash leaves the old file or the
/// new one) at the end of an epoch.
///
/// `{epoch}` in the path becomes the epoch number from 1, so
/// `"ckpt/epoch-{epoch}.safetensors"` keeps one file per save; without it each save
/// replaces the last. A failed save ends training with its error; a missing directory
/// is reported before training starts.
///
/// ```
/// use rnn_runtime::callbacks::Checkpoint;
/// use rnn_runtime::ndarray::{Array2, Array3};
/// use rnn_runtime::{load_safetensors, model, Adam, Fit};
///
/// model! { struct Net < input(3, 1), gru(2), dense(1) > }
///
/// # fn main() -> rnn_runtime::Result<()> {
/// let dir = std::env::temp_dir().join(format!("rnn-ckpt-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let (x, y) = (Array3::<f32>::ones((4, 3, 1)), Array2::<f32>::zeros((4, 1)));
/// let opts = Fit::new(Adam::new(1e-2))
///     .epochs(3)
///     .verbose(false)
///     .callback(Checkpoint::every_epoch(dir.join("epoch-{epoch}.safetensors")))
///     .callback(Checkpoint::best(dir.join("best.safetensors")));
/// let mut net = Net::new(0);
/// net.fit(&x, &y, opts)?;
/// assert!(dir.join("epoch-3.safetensors").exists());
/// // The last epoch had the lowest loss, so the best file holds the final model.
/// let mut best = Net::new(1);
/// load_safetensors(&mut best, dir.join("best.safetensors"))?;
/// assert_eq!(best, net);
/// std::fs::remove_dir_all(&dir).unwrap();
/// // A missing directory is refused before training.
/// let missing = Fit::new(Adam::new(1e-2)).verbose(false).callback(Checkpoint::best(dir.join("best.safetensors")));
/// assert!(net.fit(&x, &y, missing).is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Checkpoint {
    path: PathBuf,
    best_only: bool,
    monitor: Monitor,
    best: f64,
    saved_epoch: Option<usize>,
}

impl Checkpoint {
    /// Saves whenever the monitored quantity is better (a loss lower, an accuracy
    /// higher) than at every earlier epoch (Keras's
    /// `save_best_only=True`); a NaN is never saved.
    pub fn best(path: impl Into<PathBuf>) -> Self {
        Checkpoint {
            path: path.into(),
            best_only: true,
            monitor: Monitor::Auto,
            best: f64::INFINITY,
            saved_epoch: None,
        }
    }

    /// Saves after every epoch.
    pub fn every_epoch(path: impl Into<PathBuf>) -> Self {
        Checkpoint {
            best_only: false,
            ..Checkpoint::best(path)
        }
    }

    /// Sets the loss that [`Checkpoint::best`] watches (default [`Monitor::Auto`]).
    pub fn monitor(mut self, monitor: Monitor) -> Self {
        self.monitor = monitor;
        self
    }

    /// The file an epoch (from 0) is saved to.
    fn path_for(&self, epoch: usize) -> PathBuf {
        match self.path.to_str() {
            Some(s) if s.contains("{epoch}") => {
                PathBuf::from(s.replace("{epoch}", &(epoch + 1).to_string()))
            }
            _ => self.path.clone(),
        }
    }

    fn check(&self, has_validation: bool, metrics: &[Metric]) -> Result<()> {
        if self.best_only {
            self.monitor
                .check("Checkpoint::best", has_validation, metrics)?;
        }
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        // A directory named by the template only exists once its epoch is known.
        if !dir.to_string_lossy().contains("{epoch}") {
            std::fs::metadata(dir).map_err(|source| Error::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        Ok(())
    }

    fn begin(&mut self) {
        self.best = f64::INFINITY;
        self.saved_epoch = None;
    }

    fn end_epoch<M: Params>(&mut self, logs: &EpochLogs, model: &M) -> Result<()> {
        if self.best_only {
            let value = self.monitor.score(logs)? as f64;
            // A NaN compares as not less: never a new best.
            if value.partial_cmp(&self.best) != Some(std::cmp::Ordering::Less) {
                return Ok(());
            }
            self.best = value;
        }
        save_safetensors(model, self.path_for(logs.epoch))?;
        self.saved_epoch = Some(logs.epoch);
        Ok(())
    }
}

impl Checkpoint {
    fn write_state(&self, state: &mut StateDict) {
        state.insert_f64("best", self.best);
        put_epoch(state, "saved_epoch", self.saved_epoch);
    }

    fn load_state(&mut self, state: &StateDict, epochs: usize) -> Result<()> {
        let (best, saved) = (state.f64("best")?, get_epoch(state, "saved_epoch", epochs)?);
        (self.best, self.saved_epoch) = (best, saved);
        Ok(())
    }
}

/// An optional epoch, stored as its index plus one (0 for none).
fn put_epoch(state: &mut StateDict, name: &str, epoch: Option<usize>) {
    state.insert_u64(name, epoch.map_or(0, |e| e as u64 + 1));
}

/// An optional epoch among the `epochs` trained so far.
fn get_epoch(state: &StateDict, name: &str, epochs: usize) -> Result<Option<usize>> {
    Ok(state.count_at_most(name, epochs)?.checked_sub(1))
}

type EpochFn = dyn FnMut(&EpochLogs, &dyn Any) -> Result<Control> + Send;

/// A user closure, with the model type it reads when it takes one.
struct UserFn {
    call: Box<EpochFn>,
    model: Option<(TypeId, &'static str)>,
}

enum Kind {
    EarlyStopping(EarlyStopping),
    Checkpoint(Checkpoint),
    Closure(UserFn),
}

/// One entry of `fit`'s callback list: an [`EarlyStopping`], a [`Checkpoint`] (both
/// convert into it for [`Fit::callback`](crate::Fit::callback)) or a user closure
/// (added with [`Fit::on_epoch_end`](crate::Fit::on_epoch_end)).
pub struct Callback(Kind);

impl From<EarlyStopping> for Callback {
    fn from(c: EarlyStopping) -> Self {
        Callback(Kind::EarlyStopping(c))
    }
}

impl From<Checkpoint> for Callback {
    fn from(c: Checkpoint) -> Self {
        Callback(Kind::Checkpoint(c))
    }
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::EarlyStopping(c) => c.fmt(f),
            Kind::Checkpoint(c) => c.fmt(f),
            Kind::Closure(UserFn { model: None, .. }) => f.write_str("on_epoch_end(closure)"),
            Kind::Closure(UserFn {
                model: Some((_, name)),
                ..
            }) => write!(f, "on_epoch_end_with_model(closure reading {name})"),
        }
    }
}

impl Callback {
    /// The name of its kind, which a training state records.
    fn kind(&self) -> &'static str {
        match self.0 {
            Kind::EarlyStopping(_) => "EarlyStopping",
            Kind::Checkpoint(_) => "Checkpoint",
            Kind::Closure(_) => "closure",
        }
    }

    /// A closure of the epoch's logs.
    pub(crate) fn closure<F, R>(mut f: F) -> Self
    where
        F: FnMut(&EpochLogs) -> R + Send + 'static,
        R: Into<Control>,
    {
        Callback(Kind::Closure(UserFn {
            call: Box::new(move |logs, _| Ok(f(logs).into())),
            model: None,
        }))
    }

    /// A closure of the epoch's logs and the model, which must be an `M`.
    pub(crate) fn closure_with_model<M, F>(mut f: F) -> Self
    where
        M: 'static,
        F: FnMut(&EpochLogs, &M) -> Result<Control> + Send + 'static,
    {
        let expected = std::any::type_name::<M>();
        Callback(Kind::Closure(UserFn {
            call: Box::new(move |logs, model| match model.downcast_ref::<M>() {
                Some(model) => f(logs, model),
                None => Err(Error::CallbackModel {
                    expected,
                    got: "another model type",
                }),
            }),
            model: Some((TypeId::of::<M>(), expected)),
        }))
    }
}

/// The ordered callbacks of one `fit` call.
#[derive(Debug, Default)]
pub(crate) struct Callbacks(Vec<Callback>);

/// How the callbacks left the model.
pub(crate) struct Outcome {
    /// See `History::best_epoch`.
    pub best_epoch: Option<usize>,
    /// The epoch whose weights were put back, if any were.
    pub restored: Option<usize>,
}

impl Callbacks {
    /// Whether no callback is set.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn push(&mut self, callback: Callback) {
        self.0.push(callback);
    }

    /// Refuses, before any training, what would fail later: a monitor without its
    /// loss, a bad option, a missing directory, a closure for another model type.
    pub(crate) fn check<M: 'static>(&self, has_validation: bool, metrics: &[Metric]) -> Result<()> {
        for callback in &self.0 {
            match &callback.0 {
                Kind::EarlyStopping(c) => c.check(has_validation, metrics)?,
                Kind::Checkpoint(c) => c.check(has_validation, metrics)?,
                Kind::Closure(UserFn {
                    model: Some((id, name)),
                    ..
                }) if *id != TypeId::of::<M>() => {
                    return Err(Error::CallbackModel {
                        expected: name,
                        got: std::any::type_name::<M>(),
                    })
                }
                Kind::Closure(_) => {}
            }
        }
        Ok(())
    }

    /// Clears the state of an earlier run.
    pub(crate) fn begin(&mut self) {
        for callback in &mut self.0 {
            match &mut callback.0 {
                Kind::EarlyStopping(c) => c.begin(),
                Kind::Checkpoint(c) => c.begin(),
                Kind::Closure(_) => {}
            }
        }
    }

    /// Runs every callback in order; training stops if any asks. The first error ends
    /// the epoch and training.
    pub(crate) fn end_epoch<M: Params + 'static>(
        &mut self,
        logs: &EpochLogs,
        model: &M,
    ) -> Result<Control> {
        let mut control = Control::Continue;
        for callback in &mut self.0 {
            let asked = match &mut callback.0 {
                Kind::EarlyStopping(c) => c.end_epoch(logs, model)?,
                Kind::Checkpoint(c) => {
                    c.end_epoch(logs, model)?;
                    Control::Continue
                }
                Kind::Closure(c) => (c.call)(logs, model as &dyn Any)?,
            };
            if asked == Control::Stop {
                control = Control::Stop;
            }
        }
        Ok(control)
    }

    /// The state of each callback in order, for a training checkpoint. A closure's
    /// own captured state is the user's: it is recorded only as a `closure` entry.
    pub(crate) fn state(&self) -> Vec<StateDict> {
        self.0
            .iter()
            .map(|callback| {
                let mut state = StateDict::new(callback.kind());
                match &callback.0 {
                    Kind::EarlyStopping(c) => c.write_state(&mut state),
                    Kind::Checkpoint(c) => c.write_state(&mut state),
                    Kind::Closure(_) => {}
                }
                state
            })
            .collect()
    }

    /// Continues from [`state`](Self::state) of the same callbacks in the same order,
    /// after `epochs` epochs. An error can leave some restored; `fit` then ends,
    /// dropping them.
    pub(crate) fn load_state(
        &mut self,
        states: &[StateDict],
        params: usize,
        epochs: usize,
    ) -> Result<()> {
        let saved: Vec<&str> = states.iter().map(StateDict::kind).collect();
        let now: Vec<&str> = self.0.iter().map(Callback::kind).collect();
        if saved != now {
            return Err(Error::StateDict(format!(
                "the callbacks were [{}], now they are [{}]",
                saved.join(", "),
                now.join(", ")
            )));
        }
        for (callback, state) in self.0.iter_mut().zip(states) {
            match &mut callback.0 {
                Kind::EarlyStopping(c) => c.load_state(state, params, epochs)?,
                Kind::Checkpoint(c) => c.load_state(state, epochs)?,
                Kind::Closure(_) => {}
            }
        }
        Ok(())
    }

    /// Restores best weights (each restoring `EarlyStopping` in order, so the last
    /// one's weights are what the model keeps) and reports the best epoch: the first
    /// `EarlyStopping`'s, else the epoch the first best-only `Checkpoint` last saved.
    pub(crate) fn end_training<M: Params>(&mut self, model: &mut M) -> Outcome {
        let mut restored = None;
        let mut stopping = None;
        let mut saved = None;
        for callback in &self.0 {
            match &callback.0 {
                Kind::EarlyStopping(c) => {
                    if let Some(epoch) = c.end_training(model) {
                        restored = Some(epoch);
                    }
                    stopping = stopping.or(Some(c.best_epoch));
                }
                Kind::Checkpoint(c) if c.best_only => saved = saved.or(Some(c.saved_epoch)),
                _ => {}
            }
        }
        Outcome {
            best_epoch: stopping.or(saved).flatten(),
            restored,
        }
    }
}

// The monitor's reading of an epoch lives here, with `EpochLogs`, rather than in
// `metrics`: metrics sit below the training loop and never see its logs.
impl Monitor {
    /// The monitored value of an epoch; `None` for a validation value without
    /// validation data, or a metric the epoch did not compute.
    ///
    /// ```
    /// use rnn_runtime::callbacks::{EpochLogs, Monitor};
    /// use rnn_runtime::metrics::Metric;
    ///
    /// let logs = EpochLogs {
    ///     epoch: 0,
    ///     epochs: 1,
    ///     loss: 0.5,
    ///     val_loss: None,
    ///     metrics: vec![(Metric::Accuracy, 0.75)],
    ///     val_metrics: vec![],
    ///     lr: 1e-3,
    ///     seconds: 0.1,
    ///     grad_norms: vec![],
    /// };
    /// assert_eq!(Monitor::Auto.value(&logs), Some(0.5));
    /// assert_eq!(Monitor::ValLoss.value(&logs), None);
    /// assert_eq!(Monitor::Metric(Metric::Accuracy).value(&logs), Some(0.75));
    /// ```
    pub fn value(self, logs: &EpochLogs) -> Option<f32> {
        let find =
            |list: &[(Metric, f32)], m: Metric| list.iter().find(|(k, _)| *k == m).map(|&(_, v)| v);
        match self {
            Monitor::Metric(m) => find(&logs.metrics, m),
            Monitor::ValMetric(m) => find(&logs.val_metrics, m),
            other => other.pick(logs.loss, logs.val_loss),
        }
    }

    /// The monitored value as a loss (lower is better): accuracies negated, so that
    /// one comparison serves both directions.
    pub(crate) fn score(self, logs: &EpochLogs) -> Result<f32> {
        let value = self.value(logs).ok_or_else(|| {
            Error::Config(format!("{} is monitored but was not computed", self.name()))
        })?;
        Ok(if self.higher_is_better() {
            -value
        } else {
            value
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{EarlyStopping, Verdict};

    /// Feeds `values` to a fresh `EarlyStopping`; returns the epoch it stops at and
    /// its best epoch.
    fn run(es: EarlyStopping, values: &[f32]) -> (Option<usize>, Option<usize>) {
        let mut es = es;
        es.begin();
        for (epoch, &v) in values.iter().enumerate() {
            if es.observe(epoch, v).stop {
                return (Some(epoch), es.best_epoch);
            }
        }
        (None, es.best_epoch)
    }

    #[test]
    fn patience_counts_epochs_in_a_row_without_improvement() {
        let seq = [1.0, 0.9, 0.95, 0.91, 0.5, 0.6, 0.7, 0.8, 0.9];
        // Patience 0 and 1 both stop at the first epoch without improvement.
        assert_eq!(run(EarlyStopping::new(), &seq), (Some(2), Some(1)));
        assert_eq!(
            run(EarlyStopping::new().patience(1), &seq),
            (Some(2), Some(1))
        );
        assert_eq!(
            run(EarlyStopping::new().patience(2), &seq),
            (Some(3), Some(1))
        );
        // Epoch 4 improves and resets the wait.
        assert_eq!(
            run(EarlyStopping::new().patience(3), &seq),
            (Some(7), Some(4))
        );
        assert_eq!(
            run(EarlyStopping::new().patience(4), &seq),
            (Some(8), Some(4))
        );
        assert_eq!(run(EarlyStopping::new().patience(5), &seq), (None, Some(4)));
    }

    #[test]
    fn min_delta_compares_with_the_best_so_far_not_the_last_epoch() {
        // Steps of 0.1 each count with min_delta 0.05; with 0.15 only every second
        // step beats the best by enough.
        let seq = [1.0, 0.9, 0.8, 0.7, 0.6];
        assert_eq!(
            run(EarlyStopping::new().min_delta(0.05), &seq),
            (None, Some(4))
        );
        assert_eq!(
            run(EarlyStopping::new().min_delta(0.15).patience(1), &seq),
            (Some(1), Some(0))
        );
        assert_eq!(
            run(EarlyStopping::new().min_delta(0.15).patience(2), &seq),
            (None, Some(4))
        );
        // An improvement of exactly min_delta does not count.
        assert_eq!(
            run(EarlyStopping::new().min_delta(0.5), &[1.0, 0.5]),
            (Some(1), Some(0))
        );
    }

    #[test]
    fn nan_never_improves_and_the_first_epoch_never_stops() {
        let mut es = EarlyStopping::new();
        es.begin();
        let first = es.observe(0, f32::NAN);
        assert_eq!(
            first,
            Verdict {
                improved: false,
                stop: false
            }
        );
        assert!(es.observe(1, f32::NAN).stop);
        assert_eq!(es.best_epoch, None);
        assert_eq!(
            run(EarlyStopping::new(), &[1.0, f32::NAN]),
            (Some(1), Some(0))
        );
    }

    #[test]
    fn a_reused_early_stopping_starts_afresh() {
        let mut es = EarlyStopping::new().patience(1);
        es.begin();
        es.observe(0, 0.1);
        assert!(es.observe(1, 0.2).stop);
        assert_eq!(run(es, &[1.0, 0.9]), (None, Some(1)));
    }
}

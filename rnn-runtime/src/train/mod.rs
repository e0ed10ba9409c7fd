//! The training loop: mini-batch gradient descent with seeded shuffling.

use std::any::Any;
use std::borrow::BorrowMut;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ndarray::{ArrayD, ArrayViewD, AsArray, Axis, CowArray, Dimension, IxDyn, Slice};

use crate::callbacks::{Callback, Callbacks, Control, EpochLogs};
use crate::dropout::step_seed;
use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::metrics::{Metric, MetricSums};
use crate::network::{
    check_x, check_y, evaluate_batches, gather, model_loss, reading, InputElement, Network,
};
use crate::optim::clip::Clipping;
use crate::optim::schedule::Schedule;
use crate::optim::{Adam, Optimizer};
use crate::shards::{Batch, Objective, ShardedGrads};

mod checkpoints;
use crate::train_state::{fingerprint, Progress};
use checkpoints::{resume, Checkpoints};

/// What `fit` reports while it trains, as Keras's `verbose` levels 0, 1 and 2.
///
/// ```
/// use rnn_runtime::{Adam, Fit, Verbosity};
///
/// // `verbose(bool)` is shorthand for the two ends of the scale.
/// assert_eq!(Verbosity::from(false), Verbosity::Silent);
/// assert_eq!(Verbosity::from(true), Verbosity::ProgressBar);
/// // One line per epoch on stderr, also when it is redirected to a log file.
/// let _opts = Fit::new(Adam::new(1e-3)).verbosity(Verbosity::EpochLine);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verbosity {
    /// Nothing (Keras's `verbose=0`).
    Silent,
    /// A progress bar with the epoch, losses and ETA on stderr, drawn only when stderr
    /// is a terminal (Keras's `verbose=1`).
    #[default]
    ProgressBar,
    /// One line per epoch on stderr, terminal or not, as [`EpochLogs`] displays
    /// itself: `epoch 3/10 - loss 1.2e-3 - val_loss 2.0e-3 - 0.04 s` (Keras's
    /// `verbose=2`); plus a line when a callback stops training or restores weights.
    EpochLine,
}

/// `true` is [`Verbosity::ProgressBar`], `false` [`Verbosity::Silent`].
impl From<bool> for Verbosity {
    fn from(verbose: bool) -> Self {
        if verbose {
            Verbosity::ProgressBar
        } else {
            Verbosity::Silent
        }
    }
}

/// Training options, built like Keras's `fit` arguments:
/// `Fit::new(Adam::new(1e-3)).epochs(100).batch_size(32)`.
///
/// `fit` takes the options by value, or by `&mut` to keep them: then the optimiser's
/// state (Adam's moments and step count), the epoch and step counters, the shuffling
/// generator and the schedule carry over to the next `fit` with the same options,
/// which trains `epochs` more epochs — as calling Keras's `fit` twice on one compiled
/// model. Two `fit`s of 3 epochs then give the model one `fit` of 6 gives, bit for bit.
///
/// Not `Clone`: it owns the user's epoch closures.
///
/// ```
/// use rnn_runtime::ndarray::{Array2, Array3};
/// use rnn_runtime::schedule::Schedule;
/// use rnn_runtime::{model, Adam, Fit, Metric, Verbosity};
///
/// model! { struct Net < input(4, 1), lstm(3), dense(1), loss = huber(1.0) > }
///
/// # fn main() -> Result<(), rnn_runtime::Error> {
/// let x = Array3::from_shape_fn((10, 4, 1), |(i, t, _)| (i + t) as f32 * 0.1);
/// let y = Array2::from_shape_fn((10, 1), |(i, _)| (i + 4) as f32 * 0.1);
/// let mut opts = Fit::new(Adam::new(1e-2))
///     .epochs(2)
///     .batch_size(4) // 8 training samples: 2 steps per epoch
///     .shuffle(true)
///     .seed(1)
///     .validation_split(0.2) // the last 2 samples
///     .metrics(&[Metric::Mae])
///     .clip_by_global_norm(1.0)
///     .schedule(Schedule::exponential(0.5))
///     .verbose(Verbosity::Silent);
/// let mut net = Net::new(0);
/// let first = net.fit(&x, &y, &mut opts)?; // the model's loss: huber(1.0)
/// let more = net.fit(&x, &y, &mut opts)?; // two more epochs, Adam continuing
/// assert_eq!(first.lr, [1e-2, 5e-3]);
/// assert_eq!(more.lr, [2.5e-3, 1.25e-3]);
/// assert_eq!(more.metrics["val_mae"].len(), 2);
/// assert_eq!(opts.optimizer().steps(), 8);
/// # Ok(())
/// # }
/// ```
pub struct Fit<O = Adam> {
    optimizer: O,
    epochs: usize,
    batch_size: usize,
    shuffle: bool,
    seed: u64,
    validation_split: f64,
    validation_data: Option<ValidationData>,
    sample_weight: Option<Vec<f32>>,
    class_weight: Option<BTreeMap<usize, f32>>,
    metrics: Vec<Metric>,
    verbosity: Verbosity,
    clipping: Clipping,
    schedule: Option<Schedule>,
    loss: Option<Loss>,
    skip_non_finite: bool,
    callbacks: Callbacks,
    state: StateOptions,
    /// Where the last `fit` with these options ended, for the next one to continue.
    run: Option<Run>,
}

/// What a finished `fit` leaves for the next one with the same options.
#[derive(Debug)]
struct Run {
    progress: Progress,
    /// The whole run's history, which a training state saves.
    history: History,
}

/// `Fit::validation_data`: inputs of the model's element type, behind `Any` because
/// `Fit` does not name the model.
struct ValidationData {
    x: Box<dyn Any + Send>,
    element: &'static str,
    y: ArrayD<f32>,
}

impl fmt::Debug for ValidationData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidationData")
            .field("element", &self.element)
            .field("y", &self.y.shape())
            .finish_non_exhaustive()
    }
}

/// Where and how often `fit` saves its training state, and where it resumes from.
#[derive(Clone, Debug, Default)]
struct StateOptions {
    path: Option<PathBuf>,
    every_steps: Option<usize>,
    resume: Option<(PathBuf, bool)>,
}

impl<O: fmt::Debug> fmt::Debug for Fit<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fit")
            .field("optimizer", &self.optimizer)
            .field("epochs", &self.epochs)
            .field("batch_size", &self.batch_size)
            .field("shuffle", &self.shuffle)
            .field("seed", &self.seed)
            .field("validation_split", &self.validation_split)
            .field("validation_data", &self.validation_data)
            .field("sample_weight", &self.sample_weight.as_ref().map(Vec::len))
            .field("class_weight", &self.class_weight)
            .field("metrics", &self.metrics)
            .field("verbosity", &self.verbosity)
            .field("clipping", &self.clipping)
            .field("schedule", &self.schedule)
            .field("loss", &self.loss)
            .field("callbacks", &self.callbacks)
            .field("skip_non_finite", &self.skip_non_finite)
            .field("state", &self.state)
            .field("continues", &self.run.is_some())
            .finish()
    }
}

impl<O: Optimizer> Fit<O> {
    /// Options with Keras's defaults: 1 epoch, batch size 32, shuffling each epoch,
    /// no validation split, progress bar on a terminal. The shuffle seed is 0 unless
    /// set, so runs are reproducible.
    pub fn new(optimizer: O) -> Self {
        Fit {
            optimizer,
            epochs: 1,
            batch_size: 32,
            shuffle: true,
            seed: 0,
            validation_split: 0.0,
            validation_data: None,
            sample_weight: None,
            class_weight: None,
            metrics: Vec::new(),
            verbosity: Verbosity::ProgressBar,
            clipping: Clipping::default(),
            schedule: None,
            loss: None,
            skip_non_finite: false,
            callbacks: Callbacks::default(),
            state: StateOptions::default(),
            run: None,
        }
    }

    /// Number of passes over the training data (by each `fit` call, when the options
    /// are passed by `&mut` and carry over).
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Samples per gradient step; the last batch of an epoch may be smaller.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Whether to shuffle the training samples before each epoch (default true).
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Seed of the shuffling order.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Fraction in [0, 1) of the samples, taken from the end before shuffling as
    /// Keras does, held out to report a validation loss (and the metrics) after each
    /// epoch. With [`sample_weight`](Self::sample_weight) the held-out samples'
    /// weights weigh the validation loss, as in Keras.
    pub fn validation_split(mut self, fraction: f64) -> Self {
        self.validation_split = fraction;
        self
    }

    /// Data to report the validation loss and metrics on after each epoch (Keras's
    /// `validation_data=(x_val, y_val)`): shaped as `fit`'s `x` and `y`, checked when
    /// `fit` starts. Instead of [`validation_split`](Self::validation_split), not
    /// with it.
    ///
    /// ```
    /// use rnn_runtime::ndarray::{s, Array1, Array2};
    /// use rnn_runtime::{model, Adam, Fit, Metric};
    ///
    /// model! {
    ///     struct Clf < input(5), embedding(20, 4), gru(6), dense(2, activation = softmax),
    ///         loss = sparse_categorical_crossentropy >
    /// }
    ///
    /// # fn main() -> rnn_runtime::Result<()> {
    /// let x = Array2::from_shape_fn((16, 5), |(i, t)| ((i * 7 + t * 3) % 20) as u32);
    /// let y = Array1::from_shape_fn(16, |i| (i % 2) as f32); // class ids, shape (N,)
    /// let (x_val, y_val) = (x.slice(s![..4, ..]).to_owned(), y.slice(s![..4]).to_owned());
    /// let opts = Fit::new(Adam::new(1e-2))
    ///     .epochs(2)
    ///     .metrics(&[Metric::Accuracy])
    ///     .validation_data(&x_val, &y_val)
    ///     .verbose(false);
    /// let history = Clf::new(0).fit(&x, &y, opts)?;
    /// assert_eq!(history.metrics["val_acc"].len(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn validation_data<'a, 'b, T, D, E>(
        mut self,
        x: impl AsArray<'a, T, D>,
        y: impl AsArray<'b, f32, E>,
    ) -> Self
    where
        T: InputElement,
        D: Dimension,
        E: Dimension,
    {
        let x: ndarray::ArrayView<'a, T, D> = x.into();
        let y: ndarray::ArrayView<'b, f32, E> = y.into();
        self.validation_data = Some(ValidationData {
            x: Box::new(x.into_dyn().to_owned()),
            element: std::any::type_name::<T>(),
            y: y.into_dyn().to_owned(),
        });
        self
    }

    /// One weight per sample of `fit`'s `x` (Keras's `sample_weight`): each sample's
    /// loss (every step of it, for a sequence output) and metrics count `weight` times.
    /// As in Keras, a batch's loss is the weighted sum of its terms divided by their
    /// number, not by the weights' sum. Weights must be finite and >= 0.
    pub fn sample_weight<'a>(mut self, weights: impl AsArray<'a, f32, ndarray::Ix1>) -> Self {
        let weights: ndarray::ArrayView1<'a, f32> = weights.into();
        self.sample_weight = Some(weights.to_vec());
        self
    }

    /// A weight per class (Keras's `class_weight`): each training sample's loss is
    /// multiplied by the weight of its class (the class id of a sparse target, the
    /// largest entry of a one-hot row, the 0/1 target of a single binary output);
    /// classes not listed weigh 1. With [`sample_weight`](Self::sample_weight) the two
    /// multiply. For classifiers with one target per sample; the validation loss is
    /// not class-weighted (as in Keras).
    ///
    /// ```
    /// use rnn_runtime::{Adam, Fit};
    ///
    /// // The rare class 1 counts five times as much.
    /// let _opts = Fit::new(Adam::new(1e-3)).class_weight(&[(0, 1.0), (1, 5.0)]);
    /// ```
    pub fn class_weight(mut self, weights: &[(usize, f32)]) -> Self {
        self.class_weight = Some(weights.iter().copied().collect());
        self
    }

    /// Metrics to compute each epoch on the training batches and the validation data,
    /// recorded in [`History::metrics`] (`"acc"`, `"val_acc"`, …), shown on the
    /// progress line, and available to [`EarlyStopping`](crate::EarlyStopping) and
    /// [`ReduceOnPlateau`](crate::ReduceOnPlateau) through
    /// [`Monitor::Metric`](crate::Monitor::Metric) / `ValMetric`.
    pub fn metrics(mut self, metrics: &[Metric]) -> Self {
        self.metrics = metrics.to_vec();
        self
    }

    /// What to report while training: a [`Verbosity`], or `true` / `false` for a
    /// progress bar (drawn only on a terminal; the default) or nothing.
    pub fn verbose(mut self, verbosity: impl Into<Verbosity>) -> Self {
        self.verbosity = verbosity.into();
        self
    }

    /// [`verbose`](Self::verbose) with a [`Verbosity`].
    #[deprecated(
        since = "0.2.0",
        note = "use `verbose`, which takes a Verbosity or a bool"
    )]
    pub fn verbosity(self, verbosity: Verbosity) -> Self {
        self.verbose(verbosity)
    }

    /// Adds an [`EarlyStopping`](crate::callbacks::EarlyStopping) or a
    /// [`Checkpoint`](crate::callbacks::Checkpoint) to run after each epoch, after
    /// validation and the schedule. Callbacks and closures run in the order added,
    /// every one of them each epoch; training stops after the epoch if any asks. An
    /// error from one (a failed save) ends training with that error, and then no
    /// weights are restored.
    pub fn callback(mut self, callback: impl Into<Callback>) -> Self {
        self.callbacks.push(callback.into());
        self
    }

    /// Adds a closure to run after each epoch (in order with
    /// [`callback`](Self::callback)s) with the epoch's [`EpochLogs`]; it returns a
    /// [`Control`], or nothing to go on.
    ///
    /// The closure is `'static + Send`: to collect values out of it, capture an
    /// `Arc<Mutex<_>>` or an `mpsc::Sender`.
    ///
    /// ```
    /// use rnn_runtime::callbacks::Control;
    /// use rnn_runtime::{Adam, Fit};
    ///
    /// let _opts = Fit::new(Adam::new(1e-3))
    ///     .on_epoch_end(|logs| eprintln!("lr {}", logs.lr))
    ///     .on_epoch_end(|logs| if logs.loss < 1e-4 { Control::Stop } else { Control::Continue });
    /// ```
    pub fn on_epoch_end<F, R>(mut self, f: F) -> Self
    where
        F: FnMut(&EpochLogs) -> R + Send + 'static,
        R: Into<Control>,
    {
        self.callbacks.push(Callback::closure(f));
        self
    }

    /// Like [`on_epoch_end`](Self::on_epoch_end), with read-only access to the model
    /// (say, for a metric of its predictions); an error it returns ends training with
    /// that error. `fit` refuses, before training, a closure for another model type
    /// with [`Error::CallbackModel`].
    ///
    /// ```
    /// use rnn_runtime::callbacks::Control;
    /// use rnn_runtime::ndarray::{Array2, Array3};
    /// use rnn_runtime::{model, Adam, Fit};
    ///
    /// model! { struct Net < input(4, 1), gru(3), dense(1) > }
    ///
    /// let (x_val, y_val) = (Array3::<f32>::zeros((8, 4, 1)), Array2::<f32>::zeros((8, 1)));
    /// let _opts = Fit::new(Adam::new(1e-3)).on_epoch_end_with_model(move |logs, net: &Net| {
    ///     let mae = (net.predict(&x_val)? - &y_val).mapv(f32::abs).mean().unwrap_or(0.0);
    ///     eprintln!("epoch {}: val_mae {mae:.3e}", logs.epoch + 1);
    ///     Ok(Control::Continue)
    /// });
    /// ```
    pub fn on_epoch_end_with_model<M, F>(mut self, f: F) -> Self
    where
        M: Network,
        F: FnMut(&EpochLogs, &M) -> Result<Control> + Send + 'static,
    {
        self.callbacks.push(Callback::closure_with_model(f));
        self
    }

    /// Clips every gradient element into `[-limit, limit]` before each update
    /// (Keras's `clipvalue`; [`Grads::clip_by_value`](crate::Grads::clip_by_value)).
    pub fn clip_by_value(mut self, limit: f32) -> Self {
        self.clipping.value = Some(limit);
        self
    }

    /// Scales each parameter tensor's gradient to norm at most `max` before each
    /// update (Keras's `clipnorm`; [`Grads::clip_by_norm`](crate::Grads::clip_by_norm)).
    pub fn clip_by_norm(mut self, max: f32) -> Self {
        self.clipping.norm = Some(max);
        self
    }

    /// Scales all gradients together to joint norm at most `max` before each update
    /// (Keras's `global_clipnorm`, with the formula of torch's `clip_grad_norm_`;
    /// [`Grads::clip_by_global_norm`](crate::Grads::clip_by_global_norm)).
    ///
    /// When several clippings are set they apply in this order: by value, per-tensor
    /// norm, global norm.
    pub fn clip_by_global_norm(mut self, max: f32) -> Self {
        self.clipping.global_norm = Some(max);
        self
    }

    /// [`clip_by_value`](Self::clip_by_value).
    #[deprecated(since = "0.2.0", note = "renamed `clip_by_value`, as on `Grads`")]
    pub fn clipvalue(self, limit: f32) -> Self {
        self.clip_by_value(limit)
    }

    /// [`clip_by_norm`](Self::clip_by_norm).
    #[deprecated(since = "0.2.0", note = "renamed `clip_by_norm`, as on `Grads`")]
    pub fn clipnorm(self, max: f32) -> Self {
        self.clip_by_norm(max)
    }

    /// [`clip_by_global_norm`](Self::clip_by_global_norm).
    #[deprecated(since = "0.2.0", note = "renamed `clip_by_global_norm`, as on `Grads`")]
    pub fn global_clipnorm(self, max: f32) -> Self {
        self.clip_by_global_norm(max)
    }

    /// Adjusts the learning rate at the end of each epoch; a cosine schedule sets the
    /// first epoch's rate too ([`Schedule::start`]). A plateau schedule monitors
    /// what its [`monitor`](crate::ReduceOnPlateau::monitor) says: by default the
    /// validation loss when there is validation data, else the training loss (as
    /// Keras's callback monitors `val_loss`).
    pub fn schedule(mut self, schedule: impl Into<Schedule>) -> Self {
        self.schedule = Some(schedule.into());
        self
    }

    /// Names the loss to minimise, which must be the model's own
    /// ([`model_loss`](crate::model_loss): the spec's `loss = …`, else MSE); another
    /// is refused with [`Error::LossMismatch`], because `evaluate` and
    /// `loss_and_grads` would not use it.
    #[deprecated(
        since = "0.2.0",
        note = "declare the loss in the model's spec (`loss = …` after the last layer)"
    )]
    pub fn loss(mut self, loss: Loss) -> Self {
        self.loss = Some(loss);
        self
    }

    /// What to do with a batch whose loss or gradient is NaN or infinite. By default
    /// (`false`) training stops with [`Error::NonFiniteTraining`] naming the epoch and
    /// step, and the model keeps the parameters of the last finite step; with `true`
    /// the batch is skipped (no update) and counted in [`History::skipped`].
    pub fn skip_non_finite(mut self, skip: bool) -> Self {
        self.skip_non_finite = skip;
        self
    }

    /// Saves the whole training state — model, optimiser state, epoch and position,
    /// shuffle generator, schedule and callback state, history — to `path` at the end
    /// of every epoch (and every [`save_state_every_steps`](Self::save_state_every_steps)
    /// steps), so that [`resume`](Self::resume) can continue the run. Each save
    /// replaces the file atomically: a crash at any moment leaves the previous state
    /// or the new one, never a mix.
    ///
    /// ```
    /// use rnn_runtime::ndarray::{Array2, Array3};
    /// use rnn_runtime::{model, Adam, Fit};
    ///
    /// model! { struct Net < input(4, 1), lstm(3), dense(1) > }
    ///
    /// # fn main() -> Result<(), rnn_runtime::Error> {
    /// let dir = std::env::temp_dir().join(format!("rnn-doc-state-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).expect("temp dir");
    /// let state = dir.join("run.state");
    /// let x = Array3::from_shape_fn((12, 4, 1), |(i, t, _)| ((i + t) as f32 * 0.3).sin());
    /// let y = Array2::from_shape_fn((12, 1), |(i, _)| ((i + 4) as f32 * 0.3).sin());
    /// let opts = |epochs| Fit::new(Adam::new(1e-2)).epochs(epochs).batch_size(4).verbose(false);
    ///
    /// // Six epochs in one go...
    /// let mut whole = Net::new(0);
    /// let all = whole.fit(&x, &y, opts(6))?;
    /// // ...or three, then three more from the saved state (say, after a crash).
    /// let mut first = Net::new(0);
    /// first.fit(&x, &y, opts(3).save_state(&state))?;
    /// let mut resumed = Net::new(7); // its own weights are replaced by the state's
    /// let rest = resumed.fit(&x, &y, opts(6).save_state(&state).resume(&state))?;
    /// assert_eq!(resumed, whole); // bit for bit
    /// assert_eq!(rest.loss, all.loss); // the history carries on too
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok(())
    /// # }
    /// ```
    pub fn save_state(mut self, path: impl Into<PathBuf>) -> Self {
        self.state.path = Some(path.into());
        self
    }

    /// Also saves the training state every `steps` batches (counted over the whole
    /// run), for long epochs; needs [`save_state`](Self::save_state). A run resumed
    /// from a mid-epoch state finishes that epoch exactly as it would have.
    pub fn save_state_every_steps(mut self, steps: usize) -> Self {
        self.state.every_steps = Some(steps);
        self
    }

    /// Continues the run whose state [`save_state`](Self::save_state) wrote to `path`:
    /// the model's parameters, the optimiser (hyperparameters included, as torch's
    /// `load_state_dict`), the epoch and position within it, the shuffle order and
    /// generator, the schedule's and callbacks' progress and the history all come from
    /// the file; the schedule's and callbacks' settings stay this `Fit`'s. With the
    /// same data and options the result is bit-identical to an uninterrupted run;
    /// `epochs` may be raised to train further (a state already past `epochs` trains
    /// nothing more and returns its history).
    ///
    /// Refused before anything changes: a missing or damaged file or a state of
    /// another optimiser ([`Error::TrainState`]), of another model (the tensor errors
    /// of `load_safetensors`, e.g. [`Error::TensorShape`]), or one saved by a run with
    /// other data, sample count, batch size, shuffling, seed or loss
    /// ([`Error::ResumeMismatch`]). State kept inside user closures is the user's.
    pub fn resume(mut self, path: impl Into<PathBuf>) -> Self {
        self.state.resume = Some((path.into(), false));
        self
    }

    /// [`resume`](Self::resume) when `path` exists, else start afresh: with
    /// [`save_state`](Self::save_state) to the same path, one program that continues
    /// wherever it was killed (Keras's `BackupAndRestore`).
    pub fn resume_if_exists(mut self, path: impl Into<PathBuf>) -> Self {
        self.state.resume = Some((path.into(), true));
        self
    }

    /// The optimiser, with its state after training (pass the options to `fit` by
    /// `&mut` to keep them).
    pub fn optimizer(&self) -> &O {
        &self.optimizer
    }

    /// The loss `fit` trains `M` with: the model's own, which [`loss`](Self::loss)
    /// may only repeat.
    fn loss_for<M: Network>(&self) -> Result<Loss> {
        match (self.loss, model_loss::<M>()) {
            (None, own) => own,
            (Some(asked), Ok(own)) if asked == own => Ok(own),
            (Some(asked), Ok(own)) => Err(Error::LossMismatch {
                declared: if M::LOSS.is_some() {
                    own.to_string()
                } else {
                    format!("{own} (the default: the spec declares none)")
                },
                requested: asked.to_string(),
            }),
            (Some(_), Err(e)) => Err(e),
        }
    }
}

/// Per-epoch losses of a [`fit`] run, as Keras's `History.history`.
///
/// ```
/// use rnn_runtime::callbacks::Control;
/// use rnn_runtime::ndarray::{Array2, Array3};
/// use rnn_runtime::{model, Fit, Sgd};
///
/// model! { struct Net < input(3, 1), gru(2), dense(1) > }
///
/// # fn main() -> Result<(), rnn_runtime::Error> {
/// let (x, y) = (Array3::<f32>::ones((6, 3, 1)), Array2::<f32>::zeros((6, 1)));
/// let opts = Fit::new(Sgd::new(0.1))
///     .epochs(10)
///     .verbose(false)
///     .on_epoch_end(|logs| if logs.epoch == 2 { Control::Stop } else { Control::Continue });
/// let history = Net::new(3).fit(&x, &y, opts)?;
/// assert_eq!(history.stopped_epoch, Some(2));
/// assert_eq!(history.loss.len(), 3); // epochs 0, 1 and 2 ran
/// assert!(history.val_loss.is_empty()); // no validation split
/// assert_eq!(history.best_epoch, None); // no EarlyStopping or Checkpoint::best
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// Mean training loss of each epoch, over its batches as they were trained.
    pub loss: Vec<f32>,
    /// Validation loss after each epoch; empty without a validation split.
    pub val_loss: Vec<f32>,
    /// Wall-clock seconds of each epoch, validation included.
    pub seconds: Vec<f64>,
    /// Learning rate used in each epoch.
    pub lr: Vec<f32>,
    /// Index (from 0) of the last epoch trained when a callback or closure stopped
    /// training early; `None` when every epoch ran.
    pub stopped_epoch: Option<usize>,
    /// Index of the best epoch as the first
    /// [`EarlyStopping`](crate::callbacks::EarlyStopping) judged it (its last
    /// improvement by more than `min_delta`), else the epoch the first
    /// [`Checkpoint::best`](crate::callbacks::Checkpoint::best) saved last; `None`
    /// without either. After `restore_best_weights` the model holds this epoch's
    /// parameters.
    pub best_epoch: Option<usize>,
    /// Batches skipped in each epoch because their loss or gradient was not finite
    /// (only with [`Fit::skip_non_finite`]; otherwise such a batch stops training).
    pub skipped: Vec<usize>,
    /// Each metric of [`Fit::metrics`] per epoch, under Keras's keys: `"acc"`,
    /// `"mae"`, … on the training batches, `"val_acc"`, `"val_mae"`, … on the
    /// validation data.
    pub metrics: BTreeMap<String, Vec<f32>>,
}

impl History {
    /// The per-epoch values recorded under a Keras key: `"loss"`, `"val_loss"`,
    /// `"lr"`, or a metric's (`"acc"`, `"val_acc"`, …); `None` for a key not recorded.
    ///
    /// ```
    /// let history = rnn_runtime::History { loss: vec![0.5, 0.25], ..Default::default() };
    /// assert_eq!(history.get("loss"), Some(&[0.5, 0.25][..]));
    /// assert_eq!(history.get("val_acc"), None);
    /// ```
    pub fn get(&self, key: &str) -> Option<&[f32]> {
        match key {
            "loss" => Some(&self.loss),
            "val_loss" if !self.val_loss.is_empty() => Some(&self.val_loss),
            "lr" => Some(&self.lr),
            other => self.metrics.get(other).map(Vec::as_slice),
        }
    }

    /// The epochs from index `from` on: what one `fit` call of a continued run adds.
    fn since(&self, from: usize) -> History {
        let tail = |v: &[f32]| v.get(from..).unwrap_or_default().to_vec();
        History {
            loss: tail(&self.loss),
            val_loss: tail(&self.val_loss),
            seconds: self.seconds.get(from..).unwrap_or_default().to_vec(),
            lr: tail(&self.lr),
            stopped_epoch: self.stopped_epoch,
            best_epoch: self.best_epoch,
            skipped: self.skipped.get(from..).unwrap_or_default().to_vec(),
            metrics: self
                .metrics
                .iter()
                .map(|(k, v)| (k.clone(), tail(v)))
                .collect(),
        }
    }
}

/// Number of training samples for `n` samples and a validation fraction, as Keras:
/// the first `floor(n · (1 - split))`.
fn train_count(n: usize, split: f64) -> Result<usize> {
    if !(0.0..1.0).contains(&split) {
        return Err(Error::Config(format!(
            "validation_split must be in [0, 1), got {split}"
        )));
    }
    let n_train = (n as f64 * (1.0 - split)).floor() as usize;
    if n_train == 0 {
        return Err(Error::Config(format!(
            "validation_split {split} leaves no training samples out of {n}"
        )));
    }
    if split > 0.0 && n_train == n {
        return Err(Error::Config(format!(
            "validation_split {split} leaves no validation samples out of {n}"
        )));
    }
    Ok(n_train)
}

fn progress_bar(verbosity: Verbosity, steps: u64) -> ProgressBar {
    if verbosity != Verbosity::ProgressBar {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(steps), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ETA {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Trains `model` on `(x, y)`; see [`Fit`].
///
/// Step `s` (counted from 0 over the whole run) draws its dropout masks from
/// [`step_seed`]`(seed, s)`, so a run is reproducible from its seed.
///
/// The generated `fit` method is this call; the free function serves code generic
/// over the model:
///
/// ```
/// use rnn_runtime::ndarray::{Array2, Array3};
/// use rnn_runtime::{fit, model, Fit, Network, RmsProp};
///
/// model! { struct Net < input(5, 2), simple_rnn(4), dropout(0.2), dense(1) > }
///
/// fn train<M: Network<Input = f32>>(x: &Array3<f32>, y: &Array2<f32>) -> rnn_runtime::Result<M> {
///     let mut net = M::init(0);
///     let opts = Fit::new(RmsProp::new(1e-2)).epochs(20).batch_size(4).seed(9).verbose(false);
///     let history = fit(&mut net, x.view().into_dyn(), y.view().into_dyn(), opts)?;
///     assert!(history.loss[19] < history.loss[0]);
///     Ok(net)
/// }
///
/// # fn main() -> rnn_runtime::Result<()> {
/// let x = Array3::from_shape_fn((8, 5, 2), |(i, t, f)| ((i * 5 + t + f) as f32 * 0.3).sin());
/// let y = Array2::from_shape_fn((8, 1), |(i, _)| (i as f32 * 0.3).cos());
/// // Same seeds, same shuffles, same dropout masks: the same model.
/// assert_eq!(train::<Net>(&x, &y)?, train::<Net>(&x, &y)?);
/// # Ok(())
/// # }
/// ```
pub fn fit<M, O, F>(
    model: &mut M,
    x: ArrayViewD<'_, M::Input>,
    y: ArrayViewD<'_, f32>,
    mut options: F,
) -> Result<History>
where
    M: Network,
    O: Optimizer,
    F: BorrowMut<Fit<O>>,
{
    let opts: &mut Fit<O> = options.borrow_mut();
    let n = check_x::<M>(&x)?;
    let loss = opts.loss_for::<M>()?;
    let reading = reading::<M>(loss)?;
    let y = check_y::<M>(n, y, loss)?;
    if n == 0 {
        return Err(Error::Empty("x"));
    }
    if opts.batch_size == 0 {
        return Err(Error::Config("batch_size must be at least 1".into()));
    }
    let resolved = resolve_metrics(&opts.metrics, loss)?;
    let weights = sample_weights::<M>(opts, n, &y, loss)?;
    let validation = Validation::of::<M>(opts, &x, &y, weights.as_deref(), loss)?;
    let n_train = validation.n_train;
    opts.clipping.check()?;
    if let Some(schedule) = &opts.schedule {
        schedule.check()?;
        schedule
            .monitor()
            .check("ReduceOnPlateau", validation.present(), &opts.metrics)?;
    }
    opts.callbacks
        .check::<M>(validation.present(), &opts.metrics)?;
    opts.callbacks.begin();
    let train_weights = weights.as_ref().map(|w| &w[..n_train]);

    let batch = opts.batch_size.min(n_train);
    let steps_per_epoch = n_train.div_ceil(batch);
    let mut checkpoints = Checkpoints::new::<M, O>(opts, &x, &y, n, n_train, loss)?;
    checkpoints.key.validation = validation.present();
    checkpoints.key.metrics = metric_names(&opts.metrics);
    checkpoints.key.data = validation.fingerprint(checkpoints.key.data, weights.as_deref());
    let continuing = opts.run.is_some();
    let (mut p, mut history, end) = match opts.run.take() {
        // Options passed by `&mut` to an earlier `fit`: carry on from where it ended.
        Some(Run {
            mut progress,
            history,
        }) => {
            if progress.order.len() != n_train {
                progress.order = (0..n_train).collect();
            }
            progress.metric_sums = MetricSums::new(resolved.len());
            let end = progress.epoch + opts.epochs;
            (progress, history, end)
        }
        None => {
            let mut p = Progress::new(n_train, opts.seed, resolved.len());
            let mut history = History::default();
            if let Some(path) = checkpoints.resume_from() {
                let key = checkpoints.key.clone();
                resume(model, opts, path, &key, &mut p, &mut history)?;
            } else if let Some(schedule) = &mut opts.schedule {
                // A resumed run continues the schedule from its saved state instead.
                schedule.start(&mut opts.optimizer)?;
            }
            (p, history, opts.epochs)
        }
    };
    // A continued run reports this call's epochs; a resumed one its whole history.
    let reported_from = if continuing { history.loss.len() } else { 0 };
    let mut sharded = ShardedGrads::<M>::new();
    let mut grads = vec![0.0f32; M::PARAMS];
    let mut batch_metrics = MetricSums::new(resolved.len());
    let mut xb = Vec::with_capacity(batch * M::TIMESTEPS * M::FEATURES);
    let mut yb = Vec::with_capacity(batch * M::OUTPUT_STEPS * loss.target_width(M::OUTPUTS));
    let mut wb = Vec::with_capacity(if train_weights.is_some() { batch } else { 0 });
    let first = p.epoch;
    let bar = progress_bar(opts.verbosity, ((end - first) * steps_per_epoch) as u64);
    bar.set_position((p.position) as u64);
    let fail = |bar: &ProgressBar, e: Error| {
        bar.abandon();
        e
    };

    for epoch in first..end {
        if history.stopped_epoch.is_some() {
            break;
        }
        let started = std::time::Instant::now();
        bar.set_prefix(format!("epoch {}/{}", epoch + 1, end));
        // A state saved within an epoch resumes that epoch where it stopped.
        let lr = if p.position == 0 {
            if opts.shuffle {
                p.rng.shuffle(&mut p.order);
            }
            (p.loss_sum, p.trained, p.skipped, p.elapsed) = (0.0, 0, 0, 0.0);
            p.metric_sums.clear();
            let lr = opts.optimizer.learning_rate();
            history.lr.push(lr);
            lr
        } else {
            history.lr.last().copied().unwrap_or(f32::NAN)
        };
        for step_in_epoch in p.position..steps_per_epoch {
            let idx = &p.order[step_in_epoch * batch..((step_in_epoch + 1) * batch).min(n_train)];
            gather(&x, idx, &mut xb);
            gather(&y, idx, &mut yb);
            if let Some(w) = train_weights {
                wb.clear();
                wb.extend(idx.iter().map(|&i| w[i]));
            }
            let seed = step_seed(opts.seed, p.step);
            let batch_data = Batch {
                x: &xb,
                y: &yb,
                weights: train_weights.map(|_| &wb[..]),
                len: idx.len(),
            };
            let objective = Objective {
                loss,
                reading,
                metrics: &resolved,
            };
            batch_metrics.clear();
            let value = sharded.loss_and_grads(
                model,
                &batch_data,
                objective,
                seed,
                &mut grads,
                &mut batch_metrics,
            );
            // Checked before the update, so a diverging run ends with the parameters of
            // its last finite step rather than NaN.
            let what = if !value.is_finite() {
                Some("loss")
            } else if grads.iter().any(|g| !g.is_finite()) {
                Some("gradient")
            } else {
                None
            };
            match what {
                Some(_) if opts.skip_non_finite => p.skipped += 1,
                Some(what) => {
                    return Err(fail(
                        &bar,
                        Error::NonFiniteTraining {
                            what,
                            epoch: epoch + 1,
                            step: step_in_epoch + 1,
                        },
                    ));
                }
                None => {
                    opts.clipping.apply(&mut grads, M::param_specs());
                    opts.optimizer
                        .update(model, &grads)
                        .map_err(|e| fail(&bar, e))?;
                    p.loss_sum += value as f64 * idx.len() as f64;
                    p.trained += idx.len();
                    p.metric_sums.add(&batch_metrics);
                }
            }
            p.step += 1;
            p.position = step_in_epoch + 1;
            bar.inc(1);
            if checkpoints.due(p.step) {
                let spent = p.elapsed + started.elapsed().as_secs_f64();
                checkpoints
                    .save(model, opts, &p, spent, &history)
                    .map_err(|e| fail(&bar, e))?;
            }
        }
        p.position = 0;
        history.skipped.push(p.skipped);
        // The mean over the batches trained (NaN when every batch was skipped).
        let train_loss = (p.loss_sum / p.trained as f64) as f32;
        history.loss.push(train_loss);
        let metrics: Vec<(Metric, f32)> = opts
            .metrics
            .iter()
            .copied()
            .zip(p.metric_sums.values(&resolved))
            .collect();
        let (val_loss, val_metrics) = validation
            .evaluate(model, loss, reading, &resolved)
            .map_err(|e| fail(&bar, e))?;
        let val_metrics: Vec<(Metric, f32)> =
            opts.metrics.iter().copied().zip(val_metrics).collect();
        history.val_loss.extend(val_loss);
        for (m, v) in &metrics {
            history.metrics.entry(m.name().into()).or_default().push(*v);
        }
        for (m, v) in &val_metrics {
            history.metrics.entry(m.val_name()).or_default().push(*v);
        }
        let seconds = p.elapsed + started.elapsed().as_secs_f64();
        history.seconds.push(seconds);
        let logs = EpochLogs {
            epoch,
            epochs: end,
            loss: train_loss,
            val_loss,
            metrics,
            val_metrics,
            lr,
            seconds,
        };
        bar.set_message(progress_message(&logs));
        if let Some(schedule) = &mut opts.schedule {
            let monitor = schedule.monitor();
            let monitored = monitor.value(&logs).unwrap_or(train_loss);
            schedule
                .end_epoch(monitored, &mut opts.optimizer)
                .map_err(|e| fail(&bar, e))?;
        }
        if opts.verbosity == Verbosity::EpochLine {
            eprintln!("{logs}");
        }
        match opts.callbacks.end_epoch(&logs, &*model) {
            Ok(Control::Continue) => {}
            Ok(Control::Stop) => history.stopped_epoch = Some(epoch),
            Err(e) => return Err(fail(&bar, e)),
        }
        p.epoch = epoch + 1;
        checkpoints
            .save(model, opts, &p, seconds, &history)
            .map_err(|e| fail(&bar, e))?;
    }
    if history.stopped_epoch.is_some() {
        bar.abandon();
    } else {
        bar.finish();
    }
    let outcome = opts.callbacks.end_training(model);
    history.best_epoch = outcome.best_epoch;
    if opts.verbosity == Verbosity::EpochLine {
        if let Some(epoch) = history.stopped_epoch {
            eprintln!("stopped early after epoch {}/{}", epoch + 1, end);
        }
        if let Some(epoch) = outcome.restored {
            eprintln!("restored the weights of epoch {}", epoch + 1);
        }
    }
    let reported = history.since(reported_from);
    // The next fit with these options continues the run; an early stop ends it as
    // an epoch boundary does.
    history.stopped_epoch = None;
    opts.run = Some(Run {
        progress: p,
        history,
    });
    Ok(reported)
}

/// The progress bar's message: the epoch's loss and metrics, then the validation's.
fn progress_message(logs: &EpochLogs) -> String {
    let mut text = format!("loss {:.3e}", logs.loss);
    for (m, v) in &logs.metrics {
        text.push_str(&format!(" {m} {v:.4}"));
    }
    if let Some(v) = logs.val_loss {
        text.push_str(&format!(" val_loss {v:.3e}"));
    }
    for (m, v) in &logs.val_metrics {
        text.push_str(&format!(" val_{m} {v:.4}"));
    }
    text
}

/// The metrics as computed for `loss`; each asked for once.
fn resolve_metrics(metrics: &[Metric], loss: Loss) -> Result<Vec<Metric>> {
    for (i, m) in metrics.iter().enumerate() {
        if metrics[..i].contains(m) {
            return Err(Error::Config(format!("metric {m} is listed twice")));
        }
    }
    metrics.iter().map(|m| m.resolve(loss)).collect()
}

/// The metrics' names as a training state records them.
fn metric_names(metrics: &[Metric]) -> String {
    let names: Vec<&str> = metrics.iter().map(|m| m.name()).collect();
    names.join(",")
}

/// Each sample's weight: its `sample_weight` times its class's `class_weight`; `None`
/// when neither is set.
fn sample_weights<M: Network>(
    opts: &Fit<impl Optimizer>,
    n: usize,
    y: &ArrayViewD<'_, f32>,
    loss: Loss,
) -> Result<Option<Vec<f32>>> {
    if opts.sample_weight.is_none() && opts.class_weight.is_none() {
        return Ok(None);
    }
    let mut weights = match &opts.sample_weight {
        Some(w) if w.len() != n => {
            return Err(Error::Config(format!(
                "sample_weight has {} weights for {n} samples",
                w.len()
            )))
        }
        Some(w) => {
            if let Some((i, v)) = w
                .iter()
                .enumerate()
                .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
            {
                return Err(Error::Config(format!(
                    "sample_weight {i} is {v}: weights must be finite and >= 0"
                )));
            }
            w.clone()
        }
        None => vec![1.0; n],
    };
    if let Some(classes) = &opts.class_weight {
        for (&class, &w) in classes {
            if !(w.is_finite() && w >= 0.0) {
                return Err(Error::Config(format!(
                    "class_weight of class {class} is {w}: weights must be finite and >= 0"
                )));
            }
            let count = if loss == Loss::BinaryCrossentropy {
                2
            } else {
                M::OUTPUTS
            };
            if class >= count {
                return Err(Error::Config(format!(
                    "class_weight names class {class}, but the model has {count} classes"
                )));
            }
        }
        let one_target = M::OUTPUT_STEPS == 1
            && match loss {
                Loss::SparseCategoricalCrossentropy | Loss::CategoricalCrossentropy => true,
                Loss::BinaryCrossentropy => M::OUTPUTS == 1,
                _ => false,
            };
        if !one_target {
            return Err(Error::Config(format!(
                "class_weight needs a classifier with one target per sample (a categorical \
                 cross-entropy, or binary cross-entropy on one output, without a sequence \
                 output); this model's loss is {loss} with {} output steps of {} values: \
                 use sample_weight",
                M::OUTPUT_STEPS,
                M::OUTPUTS
            )));
        }
        for (i, w) in weights.iter_mut().enumerate() {
            let row = y.index_axis(Axis(0), i);
            let row: Vec<f32> = row.iter().copied().collect();
            let class = match loss {
                Loss::CategoricalCrossentropy => {
                    let mut best = 0;
                    for (k, &v) in row.iter().enumerate() {
                        if v > row[best] {
                            best = k;
                        }
                    }
                    best
                }
                _ => row[0].round() as usize,
            };
            *w *= classes.get(&class).copied().unwrap_or(1.0);
        }
    }
    Ok(Some(weights))
}

/// Validation inputs, targets and per-sample weights.
type HeldOut<'a, T> = (
    CowArray<'a, T, IxDyn>,
    CowArray<'a, f32, IxDyn>,
    Option<Vec<f32>>,
);

/// Where a run's validation data comes from, and the loss and metrics on it: the tail
/// of `x` and `y` (a split), or a copy of `Fit::validation_data`.
struct Validation<'a, T> {
    /// Samples trained on: the leading ones of `x`.
    n_train: usize,
    data: Option<HeldOut<'a, T>>,
}

impl<'a, T: InputElement> Validation<'a, T> {
    fn of<M: Network<Input = T>>(
        opts: &Fit<impl Optimizer>,
        x: &ArrayViewD<'a, T>,
        y: &ArrayViewD<'a, f32>,
        weights: Option<&[f32]>,
        loss: Loss,
    ) -> Result<Self> {
        let n = x.len_of(Axis(0));
        if let Some(data) = &opts.validation_data {
            if opts.validation_split > 0.0 {
                return Err(Error::Config(
                    "validation_data and validation_split are both set: use one".into(),
                ));
            }
            let x_val = data.x.downcast_ref::<ArrayD<T>>().ok_or_else(|| {
                Error::Config(format!(
                    "validation_data holds {} inputs, but the model reads {}",
                    data.element,
                    std::any::type_name::<T>()
                ))
            })?;
            let n_val = check_x::<M>(&x_val.view()).map_err(|e| in_validation(e, "x"))?;
            let y_val =
                check_y::<M>(n_val, data.y.view(), loss).map_err(|e| in_validation(e, "y"))?;
            if n_val == 0 {
                return Err(Error::Empty("validation_data"));
            }
            let (x_val, y_val) = (x_val.clone(), y_val.to_owned());
            return Ok(Validation {
                n_train: n,
                data: Some((x_val.into(), y_val.into(), None)),
            });
        }
        let n_train = train_count(n, opts.validation_split)?;
        let data = (n_train < n).then(|| {
            let tail = Slice::from(n_train..);
            // The held-out samples' own sample weights, without class weights (Keras).
            let w = weights
                .and(opts.sample_weight.as_ref())
                .map(|w| w[n_train..].to_vec());
            let (x, y) = (x.clone(), y.clone());
            (
                x.slice_axis_move(Axis(0), tail).into(),
                y.slice_axis_move(Axis(0), tail).into(),
                w,
            )
        });
        Ok(Validation { n_train, data })
    }

    fn present(&self) -> bool {
        self.data.is_some()
    }

    /// The validation loss and metrics of `model`; `(None, [])` without validation.
    fn evaluate<M: Network<Input = T>>(
        &self,
        model: &M,
        loss: Loss,
        reading: crate::loss::Reading,
        metrics: &[Metric],
    ) -> Result<(Option<f32>, Vec<f32>)> {
        let Some((x, y, w)) = &self.data else {
            return Ok((None, Vec::new()));
        };
        let (value, metrics) = evaluate_batches(
            model,
            x.view(),
            y.view(),
            w.as_deref(),
            loss,
            reading,
            metrics,
        )?;
        Ok((Some(value), metrics))
    }

    /// `data` extended by what else a resumed run must see again: the weights and
    /// the validation data.
    fn fingerprint(&self, data: u64, weights: Option<&[f32]>) -> u64 {
        if data == 0 {
            return 0; // no state is saved or resumed: nothing was fingerprinted
        }
        let mut hash = data;
        if let Some(w) = weights {
            hash = fingerprint(w.iter().map(|v| v.to_bits()), hash ^ 1);
        }
        if let Some((x, y, _)) = &self.data {
            hash = fingerprint(x.iter().map(|v| v.to_bits()), hash ^ 2);
            hash = fingerprint(y.iter().map(|v| v.to_bits()), hash);
        }
        hash
    }
}

/// Names the validation data in a shape error about `x` or `y`.
fn in_validation(e: Error, what: &'static str) -> Error {
    match e {
        Error::Shape { expected, got, .. } => Error::Shape {
            what: if what == "x" {
                "validation_data x"
            } else {
                "validation_data y"
            },
            expected,
            got,
        },
        Error::SampleCount { x, y } => Error::Config(format!(
            "validation_data has {x} inputs but {y} targets; they must match"
        )),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::{train_count, EpochLogs, Verbosity};

    #[test]
    fn options_with_closures_can_move_to_another_thread() {
        fn send<T: Send>(_: &T) {}
        send(&super::Fit::new(crate::Adam::new(1e-3)).on_epoch_end(|_: &EpochLogs| ()));
    }

    #[test]
    fn verbose_bool_maps_to_keras_levels_0_and_1() {
        assert_eq!(Verbosity::from(true), Verbosity::ProgressBar);
        assert_eq!(Verbosity::from(false), Verbosity::Silent);
        assert_eq!(Verbosity::default(), Verbosity::ProgressBar);
    }

    #[test]
    fn validation_split_follows_keras_and_refuses_empty_sides() {
        assert_eq!(train_count(10, 0.0).ok(), Some(10));
        assert_eq!(train_count(10, 0.2).ok(), Some(8));
        assert!(train_count(10, 1.0).is_err());
        assert!(train_count(10, -0.1).is_err());
        assert_eq!(train_count(10, 0.05).ok(), Some(9));
        assert!(train_count(10, 1e-20).is_err());
        assert!(train_count(1, 0.5).is_err());
    }
}

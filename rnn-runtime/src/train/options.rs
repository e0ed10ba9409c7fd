//! The options of a training run: [`Fit`] and [`Verbosity`].

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use ndarray::{ArrayD, AsArray, Dimension};

use super::callbacks::{Callback, Callbacks, Control, EpochLogs};
use super::history::History;
use super::state::Progress;
use crate::batch::clip::Clipping;
use crate::batch::compute::model_loss;
use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::metrics::Metric;
use crate::model::{InputElement, Network};
use crate::optim::schedule::Schedule;
use crate::optim::{Adam, Optimizer};

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

/// Keras's `verbose` levels: `0` is [`Verbosity::Silent`], `1`
/// [`Verbosity::ProgressBar`], `2` [`Verbosity::EpochLine`] (a larger level is also one
/// line per epoch, a negative one silent).
///
/// ```
/// use rnn_runtime::{Adam, Fit, Verbosity};
///
/// assert_eq!(Verbosity::from(2), Verbosity::EpochLine);
/// let _quiet = Fit::new(Adam::new(1e-3)).verbose(0);
/// ```
impl From<i32> for Verbosity {
    fn from(level: i32) -> Self {
        match level {
            ..=0 => Verbosity::Silent,
            1 => Verbosity::ProgressBar,
            _ => Verbosity::EpochLine,
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
    pub(super) optimizer: O,
    pub(super) epochs: usize,
    pub(super) batch_size: usize,
    pub(super) shuffle: bool,
    pub(super) seed: u64,
    pub(super) validation_split: f64,
    pub(super) validation_data: Option<ValidationData>,
    pub(super) sample_weight: Option<Vec<f32>>,
    pub(super) lengths: Option<Vec<usize>>,
    pub(super) validation_lengths: Option<Vec<usize>>,
    pub(super) class_weight: Option<BTreeMap<usize, f32>>,
    pub(super) metrics: Vec<Metric>,
    pub(super) verbosity: Verbosity,
    pub(super) clipping: Clipping,
    pub(super) schedule: Option<Schedule>,
    pub(super) loss: Option<Loss>,
    pub(super) skip_non_finite: bool,
    pub(super) callbacks: Callbacks,
    pub(super) state: StateOptions,
    /// Where the last `fit` with these options ended, for the next one to continue.
    pub(super) run: Option<Run>,
}

/// What a finished `fit` leaves for the next one with the same options.
#[derive(Debug)]
pub(super) struct Run {
    pub(super) progress: Progress,
    /// The whole run's history, which a training state saves.
    pub(super) history: History,
}

/// `Fit::validation_data`: inputs of the model's element type, behind `Any` because
/// `Fit` does not name the model.
pub(super) struct ValidationData {
    pub(super) x: Box<dyn Any + Send>,
    pub(super) element: &'static str,
    pub(super) y: ArrayD<f32>,
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
pub(super) struct StateOptions {
    pub(super) path: Option<PathBuf>,
    pub(super) every_steps: Option<usize>,
    pub(super) resume: Option<(PathBuf, bool)>,
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
            .field("lengths", &self.lengths.as_ref().map(Vec::len))
            .field(
                "validation_lengths",
                &self.validation_lengths.as_ref().map(Vec::len),
            )
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
            lengths: None,
            validation_lengths: None,
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

    /// Each sample's length (PyTorch's `lengths` with `pack_padded_sequence`): sample
    /// `i` of `fit`'s `x` trains on its first `lengths[i]` steps only, the steps after
    /// them being padding that is never computed and gets no gradient; a loss on a
    /// sequence output averages over the valid steps. `validation_split` splits the
    /// lengths with the samples; [`validation_data`](Self::validation_data) needs its
    /// own ([`validation_lengths`](Self::validation_lengths)).
    ///
    /// A model declared with `masking(value)` or `embedding(…, mask_zero = true)` reads
    /// its samples' lengths from their padding (Keras's habit) and needs none of this;
    /// lengths given to it must agree with the padding.
    ///
    /// ```
    /// use rnn_runtime::ndarray::{Array2, Array3};
    /// use rnn_runtime::{model, Adam, Fit};
    ///
    /// model! { struct Net < input(8, 1), gru(4), dense(1) > }
    ///
    /// let lengths: Vec<usize> = (0..16).map(|i| 2 + i % 7).collect();
    /// let x = Array3::from_shape_fn((16, 8, 1), |(i, t, _)| {
    ///     if t < lengths[i] { (t as f32 * 0.5).sin() } else { 0.0 }
    /// });
    /// let y = Array2::from_shape_fn((16, 1), |(i, _)| lengths[i] as f32 / 8.0);
    /// let mut net = Net::new(0);
    /// let history = net.fit(&x, &y, Fit::new(Adam::new(1e-2)).epochs(3).lengths(&lengths).verbose(false))?;
    /// assert_eq!(history.loss.len(), 3);
    /// # Ok::<(), rnn_runtime::Error>(())
    /// ```
    pub fn lengths(mut self, lengths: &[usize]) -> Self {
        self.lengths = Some(lengths.to_vec());
        self
    }

    /// The lengths of the samples of [`validation_data`](Self::validation_data), as
    /// [`lengths`](Self::lengths) gives those of `x`.
    pub fn validation_lengths(mut self, lengths: &[usize]) -> Self {
        self.validation_lengths = Some(lengths.to_vec());
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

    /// Adds an [`EarlyStopping`](crate::train::callbacks::EarlyStopping) or a
    /// [`Checkpoint`](crate::train::callbacks::Checkpoint) to run after each epoch, after
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
    pub(super) fn loss_for<M: Network>(&self) -> Result<Loss> {
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

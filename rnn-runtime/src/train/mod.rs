//! The training loop: mini-batch gradient descent with seeded shuffling.

use std::fmt;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ndarray::{ArrayViewD, Axis, Slice};

use crate::callbacks::{Callback, Callbacks, Control, EpochLogs, Monitor};

use crate::dropout::step_seed;
use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::network::{check_x, check_y, evaluate, gather, Network};
use crate::optim::clip::Clipping;
use crate::optim::schedule::Schedule;
use crate::optim::{Adam, Optimizer};
use crate::shards::ShardedGrads;

mod checkpoints;
use crate::train_state::Progress;
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
/// Not `Clone`: it owns the user's epoch closures.
///
/// ```
/// use rnn_runtime::ndarray::{Array2, Array3};
/// use rnn_runtime::schedule::Schedule;
/// use rnn_runtime::{model, Adam, Fit, Loss, Verbosity};
///
/// model! { struct Net < input(4, 1), lstm(3), dense(1) > }
///
/// # fn main() -> Result<(), rnn_runtime::Error> {
/// let x = Array3::from_shape_fn((10, 4, 1), |(i, t, _)| (i + t) as f32 * 0.1);
/// let y = Array2::from_shape_fn((10, 1), |(i, _)| (i + 4) as f32 * 0.1);
/// let opts = Fit::new(Adam::new(1e-2))
///     .epochs(4)
///     .batch_size(4) // 8 training samples: 2 steps per epoch
///     .shuffle(true)
///     .seed(1)
///     .validation_split(0.2) // the last 2 samples
///     .loss(Loss::Huber(1.0))
///     .global_clipnorm(1.0)
///     .schedule(Schedule::exponential(0.5))
///     .verbosity(Verbosity::Silent);
/// let mut net = Net::new(0);
/// let history = net.fit(&x, &y, opts)?;
/// assert_eq!(history.val_loss.len(), 4);
/// assert_eq!(history.lr, [1e-2, 5e-3, 2.5e-3, 1.25e-3]);
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
    verbosity: Verbosity,
    clipping: Clipping,
    schedule: Option<Schedule>,
    loss: Loss,
    skip_non_finite: bool,
    callbacks: Callbacks,
    state: StateOptions,
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
            .field("verbosity", &self.verbosity)
            .field("clipping", &self.clipping)
            .field("schedule", &self.schedule)
            .field("loss", &self.loss)
            .field("callbacks", &self.callbacks)
            .field("skip_non_finite", &self.skip_non_finite)
            .field("state", &self.state)
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
            verbosity: Verbosity::ProgressBar,
            clipping: Clipping::default(),
            schedule: None,
            loss: Loss::Mse,
            skip_non_finite: false,
            callbacks: Callbacks::default(),
            state: StateOptions::default(),
        }
    }

    /// Number of passes over the training data.
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
    /// Keras does, held out to report a validation loss after each epoch.
    pub fn validation_split(mut self, fraction: f64) -> Self {
        self.validation_split = fraction;
        self
    }

    /// Whether to draw a progress bar (only ever drawn on a terminal; default true):
    /// [`verbosity`](Self::verbosity) with [`Verbosity::ProgressBar`] or
    /// [`Verbosity::Silent`].
    pub fn verbose(mut self, verbose: bool) -> Self {
        self.verbosity = verbose.into();
        self
    }

    /// What to report while training (default [`Verbosity::ProgressBar`]).
    pub fn verbosity(mut self, verbosity: Verbosity) -> Self {
        self.verbosity = verbosity;
        self
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
    /// (Keras's `clipvalue`).
    pub fn clipvalue(mut self, limit: f32) -> Self {
        self.clipping.value = Some(limit);
        self
    }

    /// Scales each parameter tensor's gradient to norm at most `max` before each
    /// update (Keras's `clipnorm`).
    pub fn clipnorm(mut self, max: f32) -> Self {
        self.clipping.norm = Some(max);
        self
    }

    /// Scales all gradients together to joint norm at most `max` before each update
    /// (Keras's `global_clipnorm`, with the formula of torch's `clip_grad_norm_`).
    ///
    /// When several clippings are set they apply in this order: by value, per-tensor
    /// norm, global norm.
    pub fn global_clipnorm(mut self, max: f32) -> Self {
        self.clipping.global_norm = Some(max);
        self
    }

    /// Adjusts the learning rate at the end of each epoch; a cosine schedule sets the
    /// first epoch's rate too ([`Schedule::start`]). A plateau schedule monitors the
    /// validation loss when there is a validation split, else the training loss (as
    /// Keras's callback monitors `val_loss`).
    pub fn schedule(mut self, schedule: impl Into<Schedule>) -> Self {
        self.schedule = Some(schedule.into());
        self
    }

    /// The loss to minimise (default [`Loss::Mse`]); the validation loss uses it too.
    pub fn loss(mut self, loss: Loss) -> Self {
        self.loss = loss;
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

    /// The optimiser, with its state after training.
    pub fn optimizer(&self) -> &O {
        &self.optimizer
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
pub fn fit<M: Network, O: Optimizer>(
    model: &mut M,
    x: ArrayViewD<'_, M::Input>,
    y: ArrayViewD<'_, f32>,
    mut opts: Fit<O>,
) -> Result<History> {
    let n = check_x::<M>(&x)?;
    let loss_fn = opts.loss;
    check_y::<M>(n, &y, loss_fn)?;
    if n == 0 {
        return Err(Error::Empty("x"));
    }
    if opts.batch_size == 0 {
        return Err(Error::Config("batch_size must be at least 1".into()));
    }
    let n_train = train_count(n, opts.validation_split)?;
    opts.clipping.check()?;
    if let Some(schedule) = &opts.schedule {
        schedule.check()?;
    }
    let has_validation = n_train < n;
    opts.callbacks.check::<M>(has_validation)?;
    opts.callbacks.begin();
    let (x_val, y_val) = (
        x.slice_axis(Axis(0), Slice::from(n_train..)),
        y.slice_axis(Axis(0), Slice::from(n_train..)),
    );

    let batch = opts.batch_size.min(n_train);
    let steps_per_epoch = n_train.div_ceil(batch);
    let checkpoints = Checkpoints::new::<M, O>(&opts, &x, &y, n, n_train)?;
    let mut p = Progress::new(n_train, opts.seed);
    let mut history = History::default();
    if let Some(path) = checkpoints.resume_from() {
        resume(
            model,
            &mut opts,
            path,
            &checkpoints.key,
            &mut p,
            &mut history,
        )?;
    } else if let Some(schedule) = &mut opts.schedule {
        // A resumed run continues the schedule from its saved state instead.
        schedule.start(&mut opts.optimizer)?;
    }
    let mut sharded = ShardedGrads::<M>::new();
    let mut grads = vec![0.0f32; M::PARAMS];
    let mut xb = Vec::with_capacity(batch * M::TIMESTEPS * M::FEATURES);
    let mut yb = Vec::with_capacity(batch * M::OUTPUT_STEPS * loss_fn.target_width(M::OUTPUTS));
    let bar = progress_bar(opts.verbosity, (opts.epochs * steps_per_epoch) as u64);
    bar.set_position(p.step);

    let first = p.epoch;
    for epoch in first..opts.epochs {
        if history.stopped_epoch.is_some() {
            break;
        }
        let started = std::time::Instant::now();
        bar.set_prefix(format!("epoch {}/{}", epoch + 1, opts.epochs));
        // A state saved within an epoch resumes that epoch where it stopped.
        let lr = if p.position == 0 {
            if opts.shuffle {
                p.rng.shuffle(&mut p.order);
            }
            (p.loss_sum, p.trained, p.skipped, p.elapsed) = (0.0, 0, 0, 0.0);
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
            let seed = step_seed(opts.seed, p.step);
            let loss =
                sharded.loss_and_grads(model, &xb, &yb, idx.len(), loss_fn, seed, &mut grads);
            // Checked before the update, so a diverging run ends with the parameters of
            // its last finite step rather than NaN.
            let what = if !loss.is_finite() {
                Some("loss")
            } else if grads.iter().any(|g| !g.is_finite()) {
                Some("gradient")
            } else {
                None
            };
            match what {
                Some(_) if opts.skip_non_finite => p.skipped += 1,
                Some(what) => {
                    bar.abandon();
                    return Err(Error::NonFiniteTraining {
                        what,
                        epoch: epoch + 1,
                        step: step_in_epoch + 1,
                    });
                }
                None => {
                    opts.clipping.apply(&mut grads, M::param_specs());
                    if let Err(e) = opts.optimizer.update(model, &grads) {
                        bar.abandon();
                        return Err(e);
                    }
                    p.loss_sum += loss as f64 * idx.len() as f64;
                    p.trained += idx.len();
                }
            }
            p.step += 1;
            p.position = step_in_epoch + 1;
            bar.inc(1);
            if checkpoints.due(p.step) {
                let spent = p.elapsed + started.elapsed().as_secs_f64();
                if let Err(e) = checkpoints.save(model, &opts, &p, spent, &history) {
                    bar.abandon();
                    return Err(e);
                }
            }
        }
        p.position = 0;
        history.skipped.push(p.skipped);
        // The mean over the batches trained (NaN when every batch was skipped).
        let loss = (p.loss_sum / p.trained as f64) as f32;
        history.loss.push(loss);
        let ended = end_epoch(model, &x_val, &y_val, loss, &mut opts, &bar);
        let val_loss = match ended {
            Ok(v) => v,
            Err(e) => {
                bar.abandon();
                return Err(e);
            }
        };
        history.val_loss.extend(val_loss);
        let seconds = p.elapsed + started.elapsed().as_secs_f64();
        history.seconds.push(seconds);
        let logs = EpochLogs {
            epoch,
            epochs: opts.epochs,
            loss,
            val_loss,
            lr,
            seconds,
        };
        if opts.verbosity == Verbosity::EpochLine {
            eprintln!("{logs}");
        }
        match opts.callbacks.end_epoch(&logs, &*model) {
            Ok(Control::Continue) => {}
            Ok(Control::Stop) => history.stopped_epoch = Some(epoch),
            Err(e) => {
                bar.abandon();
                return Err(e);
            }
        }
        p.epoch = epoch + 1;
        if let Err(e) = checkpoints.save(model, &opts, &p, seconds, &history) {
            bar.abandon();
            return Err(e);
        }
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
            eprintln!("stopped early after epoch {}/{}", epoch + 1, opts.epochs);
        }
        if let Some(epoch) = outcome.restored {
            eprintln!("restored the weights of epoch {}", epoch + 1);
        }
    }
    Ok(history)
}

/// Validation and schedule of an epoch with training loss `loss`; returns the
/// validation loss when there is a validation split.
fn end_epoch<M: Network, O: Optimizer>(
    model: &M,
    x_val: &ArrayViewD<'_, M::Input>,
    y_val: &ArrayViewD<'_, f32>,
    loss: f32,
    opts: &mut Fit<O>,
    bar: &ProgressBar,
) -> Result<Option<f32>> {
    let val_loss = if x_val.len_of(Axis(0)) > 0 {
        let val = evaluate(model, x_val.view(), y_val.view(), opts.loss)?;
        bar.set_message(format!("loss {loss:.3e} val_loss {val:.3e}"));
        Some(val)
    } else {
        bar.set_message(format!("loss {loss:.3e}"));
        None
    };
    if let Some(schedule) = &mut opts.schedule {
        let monitored = Monitor::Auto.pick(loss, val_loss).unwrap_or(loss);
        schedule.end_epoch(monitored, &mut opts.optimizer)?;
    }
    Ok(val_loss)
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

//! Learning-rate schedules, applied at the end of each epoch.
//!
//! ```
//! use rnn_runtime::schedule::{ReduceOnPlateau, Schedule};
//! use rnn_runtime::{Adam, Optimizer};
//!
//! # fn main() -> Result<(), rnn_runtime::Error> {
//! let mut adam = Adam::new(0.1);
//! let mut halve_every_2 = Schedule::step_decay(2, 0.5);
//! for epoch_loss in [1.0, 0.9, 0.8, 0.7] {
//!     // ... train one epoch at adam.learning_rate() ...
//!     halve_every_2.end_epoch(epoch_loss, &mut adam)?;
//! }
//! assert_eq!(adam.learning_rate(), 0.025);
//! let _plateau = Schedule::from(ReduceOnPlateau::new().factor(0.5).patience(3));
//! let _cosine = Schedule::from(Schedule::cosine(100).min_lr(1e-5).warmup(5));
//! # Ok(())
//! # }
//! ```

use crate::error::{Error, Result};
use crate::metrics::Monitor;
use crate::optim::Optimizer;
use crate::state_dict::StateDict;

/// A learning-rate schedule: one of torch's `StepLR`, `ExponentialLR` and
/// `ReduceLROnPlateau`, or cosine decay with an optional linear warm-up
/// ([`CosineDecay`]), stepped once per epoch with the epoch's monitored loss.
///
/// The multiplicative schedules scale the optimiser's current learning rate, so a
/// rate set by hand between epochs is kept and scaled from there. Cosine decay sets
/// the rate from the one it started with, whatever the rate in between.
#[derive(Clone, Debug)]
pub struct Schedule {
    rule: Rule,
    epochs: usize,
}

#[derive(Clone, Debug)]
enum Rule {
    Step { step_size: usize, gamma: f32 },
    Exponential { gamma: f32 },
    Plateau(ReduceOnPlateau),
    Cosine(CosineDecay),
}

impl Schedule {
    /// torch's `StepLR`: after every `step_size` epochs the rate is multiplied by
    /// `gamma`.
    pub fn step_decay(step_size: usize, gamma: f32) -> Self {
        Schedule {
            rule: Rule::Step { step_size, gamma },
            epochs: 0,
        }
    }

    /// torch's `ExponentialLR`: after every epoch the rate is multiplied by `gamma`.
    pub fn exponential(gamma: f32) -> Self {
        Schedule {
            rule: Rule::Exponential { gamma },
            epochs: 0,
        }
    }

    /// torch's `ReduceLROnPlateau` in mode `min`; see [`ReduceOnPlateau`].
    pub fn reduce_on_plateau(options: ReduceOnPlateau) -> Self {
        Schedule {
            rule: Rule::Plateau(options),
            epochs: 0,
        }
    }

    /// Cosine decay over `total_epochs` epochs (warm-up included) from the starting
    /// rate to `min_lr` (0 unless set), after an optional linear warm-up: torch's
    /// `CosineAnnealingLR`, with `LinearLR` before it; see [`CosineDecay`].
    pub fn cosine(total_epochs: usize) -> CosineDecay {
        CosineDecay::new(total_epochs)
    }

    /// Epochs ended so far.
    pub fn epochs(&self) -> usize {
        self.epochs
    }

    /// What `fit` passes to [`end_epoch`](Self::end_epoch): the plateau schedule's
    /// [`ReduceOnPlateau::monitor`], else [`Monitor::Auto`] (which the other
    /// schedules ignore).
    pub fn monitor(&self) -> Monitor {
        match &self.rule {
            Rule::Plateau(p) => p.monitor,
            _ => Monitor::Auto,
        }
    }

    /// Checks the schedule's options; [`end_epoch`](Self::end_epoch) does too.
    pub fn check(&self) -> Result<()> {
        match &self.rule {
            Rule::Step { step_size, gamma } => {
                if *step_size == 0 {
                    return Err(Error::Config("step_size must be at least 1".into()));
                }
                check_gamma(*gamma)
            }
            Rule::Exponential { gamma } => check_gamma(*gamma),
            Rule::Plateau(p) => p.check(),
            Rule::Cosine(c) => c.check(),
        }
    }

    /// Starts the schedule before the first epoch, setting the optimiser's rate for
    /// it, which is returned. `fit` calls it when it does not resume a saved run.
    ///
    /// A cosine schedule takes the optimiser's rate as its peak and sets the first
    /// epoch's rate (the first warm-up rate); the other schedules change nothing. A
    /// schedule started already, or one that has ended epochs, changes nothing either.
    /// On a bad option nothing changes.
    pub fn start<O: Optimizer>(&mut self, optimizer: &mut O) -> Result<f32> {
        self.check()?;
        let epochs = self.epochs;
        if let Rule::Cosine(c) = &mut self.rule {
            if c.base.is_none() && epochs == 0 {
                c.begin(optimizer.learning_rate())?;
                optimizer.set_learning_rate(c.rate(0));
            }
        }
        Ok(optimizer.learning_rate())
    }

    /// Ends an epoch whose monitored value was `loss` (the loss, or for a plateau
    /// schedule monitoring a metric that metric), setting the optimiser's rate for the
    /// next epoch, which is returned. On a bad option nothing changes.
    ///
    /// A cosine schedule not [started](Self::start) starts here, its peak the rate
    /// of the epoch that ended; with a warm-up that is an error, since the first
    /// epoch should have run at the first warm-up rate.
    pub fn end_epoch<O: Optimizer>(&mut self, loss: f32, optimizer: &mut O) -> Result<f32> {
        self.check()?;
        if let Rule::Cosine(c) = &mut self.rule {
            if c.base.is_none() {
                if c.warmup > 0 {
                    return Err(Error::Config(
                        "a cosine schedule with a warm-up must be started (Schedule::start) \
                         before its first epoch"
                            .into(),
                    ));
                }
                c.begin(optimizer.learning_rate())?;
            }
        }
        self.epochs += 1;
        let lr = optimizer.learning_rate();
        let next = match &mut self.rule {
            Rule::Step { step_size, gamma } if self.epochs.is_multiple_of(*step_size) => {
                (lr as f64 * *gamma as f64) as f32
            }
            Rule::Step { .. } => lr,
            Rule::Exponential { gamma } => (lr as f64 * *gamma as f64) as f32,
            Rule::Plateau(p) => p.next(loss, lr),
            Rule::Cosine(c) => c.rate(self.epochs),
        };
        optimizer.set_learning_rate(next);
        Ok(next)
    }
}

impl Schedule {
    fn kind(&self) -> &'static str {
        match self.rule {
            Rule::Step { .. } => "step_decay",
            Rule::Exponential { .. } => "exponential",
            Rule::Plateau(_) => "reduce_on_plateau",
            Rule::Cosine(_) => "cosine",
        }
    }

    /// The progress of the schedule (not its settings) for a training checkpoint.
    pub(crate) fn state(&self) -> StateDict {
        let mut state = StateDict::new(self.kind());
        state.insert_u64("epochs", self.epochs as u64);
        if let Rule::Plateau(p) = &self.rule {
            state.insert_f64("best", p.best);
            state.insert_u64("bad_epochs", p.bad_epochs as u64);
            state.insert_u64("cooldown_left", p.cooldown_left as u64);
        }
        if let Rule::Cosine(c) = &self.rule {
            state.insert_u64("started", u64::from(c.base.is_some()));
            state.insert_f64("base_lr", c.base.unwrap_or(0.0) as f64);
        }
        state
    }

    /// Continues from [`state`](Self::state) of a schedule of the same kind, after
    /// `done` epochs; the settings stay this schedule's. Nothing changes on error.
    pub(crate) fn load_state(&mut self, state: &StateDict, done: usize) -> Result<()> {
        state.expect_kind(self.kind())?;
        let epochs = state.count_at_most("epochs", done)?;
        if let Rule::Plateau(p) = &mut self.rule {
            let (best, bad, cool) = (
                state.f64("best")?,
                state.count_at_most("bad_epochs", done)?,
                state.count_at_most("cooldown_left", done.max(p.cooldown))?,
            );
            (p.best, p.bad_epochs, p.cooldown_left) = (best, bad, cool);
        }
        if let Rule::Cosine(c) = &mut self.rule {
            let base = if state.bool("started")? {
                Some(state.f32("base_lr")?)
            } else {
                None
            };
            if let Some(lr) = base.filter(|lr| !(lr.is_finite() && *lr >= 0.0)) {
                return Err(Error::StateDict(format!(
                    "cosine state: base_lr = {lr} is not a learning rate"
                )));
            }
            c.base = base;
        }
        self.epochs = epochs;
        Ok(())
    }
}

impl From<ReduceOnPlateau> for Schedule {
    fn from(options: ReduceOnPlateau) -> Self {
        Schedule::reduce_on_plateau(options)
    }
}

impl From<CosineDecay> for Schedule {
    fn from(options: CosineDecay) -> Self {
        Schedule {
            rule: Rule::Cosine(options),
            epochs: 0,
        }
    }
}

fn check_gamma(gamma: f32) -> Result<()> {
    if gamma.is_finite() && gamma > 0.0 {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "gamma must be finite and > 0, got {gamma}"
        )))
    }
}

/// Options and state of torch's `ReduceLROnPlateau` (relative threshold): an epoch
/// improves when its monitored value is below `best · (1 - threshold)` (mode `min`:
/// a loss or an error), or above `best · (1 + threshold)` for an accuracy (mode
/// `max`, as Keras's `mode="auto"` picks it); after more than
/// `patience` epochs in a row without improvement the rate becomes
/// `max(lr · factor, min_lr)`, and the next `cooldown` epochs count no bad epochs.
///
/// Defaults are torch's: factor 0.1, patience 10, threshold 1e-4, cooldown 0,
/// min_lr 0. A reduction smaller than 1e-8 is skipped, as torch does.
///
/// ```
/// use rnn_runtime::schedule::{ReduceOnPlateau, Schedule};
/// use rnn_runtime::{Optimizer, Sgd};
///
/// # fn main() -> rnn_runtime::Result<()> {
/// let plateau = ReduceOnPlateau::new().factor(0.5).patience(1).threshold(0.0).cooldown(1).min_lr(0.02);
/// let mut schedule = Schedule::from(plateau);
/// let mut sgd = Sgd::new(0.1);
/// let mut rates = Vec::new();
/// for loss in [1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5] {
///     rates.push(schedule.end_epoch(loss, &mut sgd)?);
/// }
/// // Halved after the 2nd bad epoch in a row; the cooldown epoch counts none; then
/// // halved again, and clamped at min_lr.
/// assert_eq!(rates, [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.02]);
/// assert_eq!(schedule.epochs(), 10);
/// // A bad option is refused when used.
/// let mut bad = Schedule::from(ReduceOnPlateau::new().factor(2.0));
/// assert!(bad.end_epoch(1.0, &mut sgd).is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ReduceOnPlateau {
    monitor: Monitor,
    factor: f32,
    patience: usize,
    threshold: f32,
    cooldown: usize,
    min_lr: f32,
    best: f64,
    bad_epochs: usize,
    cooldown_left: usize,
}

impl Default for ReduceOnPlateau {
    fn default() -> Self {
        ReduceOnPlateau::new()
    }
}

impl ReduceOnPlateau {
    /// torch's defaults.
    pub fn new() -> Self {
        ReduceOnPlateau {
            monitor: Monitor::Auto,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            cooldown: 0,
            min_lr: 0.0,
            best: f64::INFINITY,
            bad_epochs: 0,
            cooldown_left: 0,
        }
    }

    /// Sets what `fit` watches (default [`Monitor::Auto`]: `val_loss` with
    /// validation data, else `loss`); a metric must be one `fit` computes.
    pub fn monitor(mut self, monitor: Monitor) -> Self {
        self.monitor = monitor;
        self.best = if monitor.higher_is_better() {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
        self
    }

    /// Sets the factor the rate is multiplied by on a plateau, in [0, 1).
    pub fn factor(mut self, factor: f32) -> Self {
        self.factor = factor;
        self
    }

    /// Sets how many epochs without improvement are tolerated.
    pub fn patience(mut self, patience: usize) -> Self {
        self.patience = patience;
        self
    }

    /// Sets the relative improvement that counts (>= 0).
    pub fn threshold(mut self, threshold: f32) -> Self {
        self.threshold = threshold;
        self
    }

    /// Sets how many epochs after a reduction count no bad epochs.
    pub fn cooldown(mut self, cooldown: usize) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// Sets the lowest rate a reduction goes to (>= 0).
    pub fn min_lr(mut self, min_lr: f32) -> Self {
        self.min_lr = min_lr;
        self
    }

    fn check(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.factor) {
            return Err(Error::Config(format!(
                "factor must be in [0, 1), got {}",
                self.factor
            )));
        }
        for (what, v) in [("threshold", self.threshold), ("min_lr", self.min_lr)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::Config(format!(
                    "{what} must be finite and >= 0, got {v}"
                )));
            }
        }
        Ok(())
    }

    /// The rate after an epoch whose monitored value was `value`, at rate `lr`.
    fn next(&mut self, value: f32, lr: f32) -> f32 {
        let value = value as f64;
        let threshold = self.threshold as f64;
        // A NaN is never an improvement.
        let improved = if self.monitor.higher_is_better() {
            value > self.best * (1.0 + threshold)
        } else {
            value < self.best * (1.0 - threshold)
        };
        if improved {
            self.best = value;
            self.bad_epochs = 0;
        } else {
            self.bad_epochs += 1;
        }
        if self.cooldown_left > 0 {
            self.cooldown_left -= 1;
            self.bad_epochs = 0;
        }
        if self.bad_epochs <= self.patience {
            return lr;
        }
        self.cooldown_left = self.cooldown;
        self.bad_epochs = 0;
        let reduced = (lr as f64 * self.factor as f64).max(self.min_lr as f64);
        if lr as f64 - reduced > 1e-8 {
            reduced as f32
        } else {
            lr
        }
    }
}

/// Cosine decay with an optional linear warm-up, per epoch: made by
/// [`Schedule::cosine`], set by [`min_lr`](Self::min_lr) and
/// [`warmup`](Self::warmup).
///
/// With `η` the optimiser's rate when the schedule [starts](Schedule::start), `E` the
/// total epochs, `w` the warm-up epochs and `η_min` the floor, epoch `e` (from 0)
/// trains at
///
/// ```text
/// e < w:       η · (e + 1) / (w + 1)
/// w ≤ e ≤ E:   η_min + (η − η_min) · (1 + cos(π · (e − w) / (E − w))) / 2
/// e > E:       η_min
/// ```
///
/// so the warm-up climbs in equal steps to `η` at epoch `w`, and the decay reaches
/// `η_min` after `E` epochs, the end of an `E`-epoch run. This is, up to float64
/// rounding, torch's `SequentialLR([LinearLR(start_factor = 1 / (w + 1),
/// end_factor = 1, total_iters = w), CosineAnnealingLR(T_max = E − w, eta_min =
/// η_min)], milestones = [w])` (without warm-up, `CosineAnnealingLR(T_max = E,
/// eta_min = η_min)` alone), each stepped at the end of every epoch, for every epoch
/// up to `E` (`tests/fixtures/optim/schedules/`). After `E` the rate stays at
/// `η_min`, as Keras's `CosineDecay(initial_learning_rate = η / (w + 1),
/// decay_steps = E − w, alpha = η_min / η, warmup_target = η, warmup_steps = w)`,
/// called with the epoch as its step, does at every epoch; torch's `CosineAnnealingLR`
/// would climb back up along the cosine.
///
/// `E` ≥ 1, `w` < `E` and `η_min` ≥ 0 are checked as `Error::Config` before
/// training, and `η_min` ≤ `η` when the schedule starts. The peak `η` and the epochs
/// ended are saved in a training state, so a resumed run has the same rates.
///
/// ```
/// use rnn_runtime::schedule::Schedule;
/// use rnn_runtime::{Error, Optimizer, Sgd};
///
/// # fn main() -> rnn_runtime::Result<()> {
/// let mut sgd = Sgd::new(0.1);
/// let mut schedule = Schedule::from(Schedule::cosine(6).min_lr(0.01).warmup(2));
/// let mut rates = vec![schedule.start(&mut sgd)?];
/// for _ in 0..7 {
///     rates.push(schedule.end_epoch(1.0, &mut sgd)?);
/// }
/// let want = [0.1 / 3.0, 0.2 / 3.0, 0.1, 0.086_819_81, 0.055, 0.023_180_19, 0.01, 0.01];
/// for (got, want) in rates.iter().zip(want) {
///     assert!((got - want).abs() < 1e-7, "{rates:?}");
/// }
/// // A warm-up as long as the whole schedule is refused, naming the problem.
/// let mut bad = Schedule::from(Schedule::cosine(5).warmup(5));
/// let err = bad.start(&mut sgd).unwrap_err();
/// assert!(matches!(err, Error::Config(_)));
/// assert_eq!(
///     err.to_string(),
///     "invalid training option: warmup (5 epochs) must be shorter than total_epochs (5)"
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct CosineDecay {
    total_epochs: usize,
    min_lr: f32,
    warmup: usize,
    /// The peak rate, once started.
    base: Option<f32>,
}

impl CosineDecay {
    /// Decay over `total_epochs` epochs to 0, without warm-up.
    pub fn new(total_epochs: usize) -> Self {
        CosineDecay {
            total_epochs,
            min_lr: 0.0,
            warmup: 0,
            base: None,
        }
    }

    /// Sets the rate the decay ends at (torch's `eta_min`; finite, >= 0, and not
    /// above the starting rate).
    pub fn min_lr(mut self, min_lr: f32) -> Self {
        self.min_lr = min_lr;
        self
    }

    /// Sets the warm-up epochs (fewer than the total): the rate climbs linearly to
    /// the starting rate over them, starting at `1 / (epochs + 1)` of it.
    pub fn warmup(mut self, epochs: usize) -> Self {
        self.warmup = epochs;
        self
    }

    fn check(&self) -> Result<()> {
        if self.total_epochs == 0 {
            return Err(Error::Config("total_epochs must be at least 1".into()));
        }
        if self.warmup >= self.total_epochs {
            return Err(Error::Config(format!(
                "warmup ({} epochs) must be shorter than total_epochs ({})",
                self.warmup, self.total_epochs
            )));
        }
        if !(self.min_lr.is_finite() && self.min_lr >= 0.0) {
            return Err(Error::Config(format!(
                "min_lr must be finite and >= 0, got {}",
                self.min_lr
            )));
        }
        Ok(())
    }

    /// Takes `lr` as the peak rate.
    fn begin(&mut self, lr: f32) -> Result<()> {
        if self.min_lr > lr {
            return Err(Error::Config(format!(
                "min_lr ({}) must not be above the starting learning rate ({lr})",
                self.min_lr
            )));
        }
        self.base = Some(lr);
        Ok(())
    }

    /// The rate of epoch `epoch` (from 0); the peak must be set.
    fn rate(&self, epoch: usize) -> f32 {
        let peak = self.base.unwrap_or(f32::NAN) as f64;
        let (w, total, floor) = (self.warmup, self.total_epochs, self.min_lr as f64);
        if epoch < w {
            return (peak * (epoch + 1) as f64 / (w + 1) as f64) as f32;
        }
        let decay = (total - w) as f64;
        let t = (epoch.min(total) - w) as f64 / decay;
        (floor + (peak - floor) * (1.0 + (std::f64::consts::PI * t).cos()) / 2.0) as f32
    }
}

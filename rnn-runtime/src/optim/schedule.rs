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
//! # Ok(())
//! # }
//! ```

use crate::error::{Error, Result};
use crate::metrics::Monitor;
use crate::optim::Optimizer;
use crate::state_dict::StateDict;

/// A learning-rate schedule: one of torch's `StepLR`, `ExponentialLR` and
/// `ReduceLROnPlateau`, stepped once per epoch with the epoch's monitored loss.
///
/// The multiplicative schedules scale the optimiser's current learning rate, so a
/// rate set by hand between epochs is kept and scaled from there.
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
        }
    }

    /// Ends an epoch whose monitored value was `loss` (the loss, or for a plateau
    /// schedule monitoring a metric that metric), setting the optimiser's rate for the
    /// next epoch, which is returned. On a bad option nothing changes.
    pub fn end_epoch<O: Optimizer>(&mut self, loss: f32, optimizer: &mut O) -> Result<f32> {
        self.check()?;
        self.epochs += 1;
        let lr = optimizer.learning_rate();
        let next = match &mut self.rule {
            Rule::Step { step_size, gamma } if self.epochs.is_multiple_of(*step_size) => {
                (lr as f64 * *gamma as f64) as f32
            }
            Rule::Step { .. } => lr,
            Rule::Exponential { gamma } => (lr as f64 * *gamma as f64) as f32,
            Rule::Plateau(p) => p.next(loss, lr),
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
        self.epochs = epochs;
        Ok(())
    }
}

impl From<ReduceOnPlateau> for Schedule {
    fn from(options: ReduceOnPlateau) -> Self {
        Schedule::reduce_on_plateau(options)
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

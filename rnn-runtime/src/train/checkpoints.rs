//! Saving and resuming the training state of a `fit` run (see `Fit::save_state`).

use std::path::{Path, PathBuf};

use ndarray::ArrayViewD;

use super::history::History;
use super::options::Fit;
use super::state::{fingerprint, Progress, RunKey, FINGERPRINT_START};
use crate::error::{Error, Result};
use crate::io::set_params;
use crate::loss::Loss;
use crate::model::{InputElement, Network};
use crate::optim::schedule::Schedule;
use crate::optim::Optimizer;

/// The training-state file of a run: where it is saved and how often, the run's key.
pub(super) struct Checkpoints {
    path: Option<PathBuf>,
    every_steps: Option<u64>,
    resume: Option<PathBuf>,
    pub(super) key: RunKey,
}

impl Checkpoints {
    /// Checks the options before training; fingerprints the data only when a state is
    /// saved or resumed.
    pub(super) fn new<M: Network, O: Optimizer>(
        opts: &Fit<O>,
        x: &ArrayViewD<'_, M::Input>,
        y: &ArrayViewD<'_, f32>,
        samples: usize,
        train: usize,
        loss: Loss,
    ) -> Result<Self> {
        let s = &opts.state;
        let every_steps = match s.every_steps {
            Some(0) => {
                return Err(Error::Config(
                    "save_state_every_steps must be at least 1".into(),
                ))
            }
            Some(_) if s.path.is_none() => {
                return Err(Error::Config(
                    "save_state_every_steps needs save_state(path) to say where".into(),
                ))
            }
            every => every.map(|n| n as u64),
        };
        let resume = match &s.resume {
            Some((path, true)) if !path.exists() => None,
            other => other.as_ref().map(|(path, _)| path.clone()),
        };
        if (s.path.is_some() || resume.is_some()) && opts.optimizer.state_dict().is_none() {
            return Err(Error::Config(
                "this optimiser has no state_dict, so its training state cannot be saved or resumed"
                    .into(),
            ));
        }
        let data = if s.path.is_some() || resume.is_some() {
            let hash = fingerprint(x.iter().map(|v| v.to_bits()), FINGERPRINT_START);
            fingerprint(y.iter().map(|v| v.to_bits()), hash)
        } else {
            0
        };
        let key = RunKey {
            samples,
            train,
            batch_size: opts.batch_size,
            shuffle: opts.shuffle,
            seed: opts.seed,
            loss: format!("{loss:?}"),
            data,
            validation: train < samples,
            metrics: String::new(),
        };
        Ok(Checkpoints {
            path: s.path.clone(),
            every_steps,
            resume,
            key,
        })
    }

    pub(super) fn resume_from(&self) -> Option<&Path> {
        self.resume.as_deref()
    }

    /// Whether a mid-epoch state is due after global step `step`.
    pub(super) fn due(&self, step: u64) -> bool {
        self.every_steps.is_some_and(|n| step.is_multiple_of(n))
    }

    pub(super) fn save<M: Network, O: Optimizer>(
        &self,
        model: &M,
        opts: &Fit<O>,
        progress: &Progress,
        elapsed: f64,
        history: &History,
    ) -> Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let Some(optimizer) = opts.optimizer.state_dict() else {
            return Ok(());
        };
        let schedule = opts.schedule.as_ref().map(Schedule::state);
        let components = super::state::Components {
            optimizer: &optimizer,
            schedule: schedule.as_ref(),
            callbacks: &opts.callbacks.state(),
            progress,
            elapsed,
            history,
            key: &self.key,
        };
        super::state::save(path, model, &components)
    }
}

/// Applies a saved state to the model and the options, all checked first: on error
/// nothing has changed but (possibly) the options, which `fit` then drops.
pub(super) fn resume<M: Network, O: Optimizer>(
    model: &mut M,
    opts: &mut Fit<O>,
    path: &Path,
    key: &RunKey,
    progress: &mut Progress,
    history: &mut History,
) -> Result<()> {
    let restored = super::state::load::<M>(path, key)?;
    let in_file = |e: Error| match e {
        Error::StateDict(reason) => Error::TrainState {
            path: path.to_path_buf(),
            reason,
        },
        other => other,
    };
    match (&mut opts.schedule, &restored.schedule) {
        (Some(schedule), Some(state)) => schedule
            .load_state(state, restored.progress.epoch)
            .map_err(in_file)?,
        (None, None) => {}
        (now, saved) => {
            return Err(Error::ResumeMismatch {
                path: path.to_path_buf(),
                what: "schedule",
                saved: saved
                    .as_ref()
                    .map_or("none".into(), |s| s.kind().to_owned()),
                now: now.as_ref().map_or("none".into(), |s| format!("{s:?}")),
            })
        }
    }
    opts.callbacks
        .load_state(&restored.callbacks, M::PARAMS, restored.progress.epoch)
        .map_err(in_file)?;
    opts.optimizer
        .load_state_dict(&restored.optimizer)
        .map_err(in_file)?;
    set_params(model, &restored.params);
    *progress = restored.progress;
    *history = restored.history;
    Ok(())
}

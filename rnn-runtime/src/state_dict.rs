//! Named state of an optimiser, schedule or callback, as torch's `state_dict()`.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// One named value of a [`StateDict`]. Scalars are one-element vectors, so every value
/// maps onto a safetensors tensor of its own dtype, bit for bit.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum StateValue {
    F32(Vec<f32>),
    F64(Vec<f64>),
    U64(Vec<u64>),
}

/// The state of a stateful training component — an optimiser's hyperparameters, step
/// count and moment estimates, say — under names, tagged with the component's kind.
///
/// Training checkpoints ([`Fit::save_state`](crate::Fit::save_state)) store one per
/// component, and restoring it gives back the component exactly, so a resumed run
/// is bit-identical to an uninterrupted one.
///
/// ```
/// use rnn_runtime::{model, Adam, Grads, Optimizer};
///
/// model! { struct Net < input(2, 1), simple_rnn(2), dense(1) > }
///
/// # fn main() -> rnn_runtime::Result<()> {
/// let (mut net, grads) = (Net::new(0), Grads::zeros::<Net>());
/// let mut adam = Adam::new(0.01);
/// adam.step(&mut net, &grads)?;
/// let state = adam.state_dict().expect("Adam can be checkpointed");
/// assert_eq!(state.kind(), "Adam");
/// assert_eq!(state.u64("step")?, 1);
/// let mut restored = Adam::new(0.5);
/// restored.load_state_dict(&state)?;
/// assert_eq!((restored.lr(), restored.steps()), (0.01, 1));
/// // A state of another kind is refused, and nothing changes.
/// assert!(rnn_runtime::Sgd::new(0.1).load_state_dict(&state).is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct StateDict {
    kind: String,
    values: BTreeMap<String, StateValue>,
}

impl StateDict {
    /// An empty state of the component kind `kind` (e.g. `"Adam"`).
    pub fn new(kind: impl Into<String>) -> Self {
        StateDict {
            kind: kind.into(),
            values: BTreeMap::new(),
        }
    }

    /// The kind of component this state belongs to.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// Stores a float32 tensor (a moment estimate, say).
    pub fn insert_f32s(&mut self, name: &str, values: Vec<f32>) {
        self.values.insert(name.to_owned(), StateValue::F32(values));
    }

    /// Stores a float64 number; an `f32` hyperparameter converts to it exactly.
    pub fn insert_f64(&mut self, name: &str, value: f64) {
        self.values
            .insert(name.to_owned(), StateValue::F64(vec![value]));
    }

    /// Stores a count or a flag (flags as 0 and 1).
    pub fn insert_u64(&mut self, name: &str, value: u64) {
        self.values
            .insert(name.to_owned(), StateValue::U64(vec![value]));
    }

    pub(crate) fn insert_f64s(&mut self, name: &str, values: Vec<f64>) {
        self.values.insert(name.to_owned(), StateValue::F64(values));
    }

    pub(crate) fn insert_u64s(&mut self, name: &str, values: Vec<u64>) {
        self.values.insert(name.to_owned(), StateValue::U64(values));
    }

    /// The float32 tensor `name`.
    pub fn f32s(&self, name: &str) -> Result<&[f32]> {
        match self.values.get(name) {
            Some(StateValue::F32(v)) => Ok(v),
            other => Err(self.missing(name, "an f32 tensor", other)),
        }
    }

    /// The float64 number `name`.
    pub fn f64(&self, name: &str) -> Result<f64> {
        match self.values.get(name) {
            Some(StateValue::F64(v)) if v.len() == 1 => Ok(v[0]),
            other => Err(self.missing(name, "one f64", other)),
        }
    }

    /// The number `name` as an `f32`; refused if it does not convert exactly, since
    /// every `f32` stored converts to `f64` and back unchanged.
    pub fn f32(&self, name: &str) -> Result<f32> {
        let value = self.f64(name)?;
        let narrow = value as f32;
        if narrow as f64 == value || value.is_nan() {
            Ok(narrow)
        } else {
            Err(Error::StateDict(format!(
                "{} state: `{name}` = {value} is not an f32",
                self.kind
            )))
        }
    }

    /// The count `name`.
    pub fn u64(&self, name: &str) -> Result<u64> {
        match self.values.get(name) {
            Some(StateValue::U64(v)) if v.len() == 1 => Ok(v[0]),
            other => Err(self.missing(name, "one u64", other)),
        }
    }

    /// The count `name` as a `usize`.
    pub fn usize(&self, name: &str) -> Result<usize> {
        let value = self.u64(name)?;
        usize::try_from(value).map_err(|_| {
            Error::StateDict(format!(
                "{} state: `{name}` = {value} does not fit in usize",
                self.kind
            ))
        })
    }

    /// The count `name`, refused above `max`: counters restored from a file must fit
    /// the run they continue (and so can never overflow when counted on).
    pub(crate) fn count_at_most(&self, name: &str, max: usize) -> Result<usize> {
        let value = self.usize(name)?;
        if value <= max {
            Ok(value)
        } else {
            Err(Error::StateDict(format!(
                "{} state: `{name}` = {value} is more than {max}",
                self.kind
            )))
        }
    }

    /// The flag `name` (stored as 0 or 1).
    pub fn bool(&self, name: &str) -> Result<bool> {
        match self.u64(name)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(Error::StateDict(format!(
                "{} state: flag `{name}` is {other}, expected 0 or 1",
                self.kind
            ))),
        }
    }

    pub(crate) fn f64s(&self, name: &str) -> Result<&[f64]> {
        match self.values.get(name) {
            Some(StateValue::F64(v)) => Ok(v),
            other => Err(self.missing(name, "an f64 tensor", other)),
        }
    }

    pub(crate) fn u64s(&self, name: &str) -> Result<&[u64]> {
        match self.values.get(name) {
            Some(StateValue::U64(v)) => Ok(v),
            other => Err(self.missing(name, "a u64 tensor", other)),
        }
    }

    /// Refuses a state of another kind.
    pub(crate) fn expect_kind(&self, kind: &str) -> Result<()> {
        if self.kind == kind {
            Ok(())
        } else {
            Err(Error::StateDict(format!(
                "a {} state cannot be loaded into a {kind}",
                self.kind
            )))
        }
    }

    /// Whether a value of that name is stored.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = (&str, &StateValue)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub(crate) fn insert_value(&mut self, name: String, value: StateValue) {
        self.values.insert(name, value);
    }

    fn missing(&self, name: &str, wanted: &str, found: Option<&StateValue>) -> Error {
        let found = match found {
            None => "nothing".to_owned(),
            Some(StateValue::F32(v)) => format!("{} f32 values", v.len()),
            Some(StateValue::F64(v)) => format!("{} f64 values", v.len()),
            Some(StateValue::U64(v)) => format!("{} u64 values", v.len()),
        };
        Error::StateDict(format!(
            "{} state: `{name}` should be {wanted}, found {found}",
            self.kind
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::StateDict;

    #[test]
    fn values_round_trip_by_name_and_type() {
        let mut s = StateDict::new("Thing");
        s.insert_f32s("m", vec![1.0, -2.5]);
        s.insert_f64("lr", 0.1f32 as f64);
        s.insert_u64("step", u64::MAX);
        s.insert_u64("flag", 1);
        assert_eq!(s.f32s("m").unwrap(), [1.0, -2.5]);
        assert_eq!(s.f32("lr").unwrap(), 0.1f32);
        assert_eq!(s.u64("step").unwrap(), u64::MAX);
        assert!(s.bool("flag").unwrap());
        assert!(s.f64("m").is_err());
        assert!(s.u64("missing").is_err());
        s.insert_f64("x", 0.1);
        assert!(s.f32("x").is_err(), "0.1f64 is not an f32");
        s.insert_u64("flag", 2);
        assert!(s.bool("flag").is_err());
        assert!(s.expect_kind("Thing").is_ok());
        assert_eq!(
            s.expect_kind("Other").unwrap_err().to_string(),
            "invalid state: a Thing state cannot be loaded into a Other"
        );
    }
}

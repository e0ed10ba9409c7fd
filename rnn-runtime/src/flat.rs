//! A model's parameters as one flat run of `f32`s in canonical order (that of
//! [`Params::param_specs`]), the format that needs no parser: what a firmware build
//! embeds with `include_bytes!` and turns into a model with the generated
//! `const fn from_le_bytes`, or loads at run time with [`load_flat`].
//!
//! ```
//! # #[cfg(feature = "std")] {
//! use rnn_runtime::{flat, model};
//!
//! model! { struct Tiny < input(4, 1), gru(3), dense(1) > }
//!
//! let net = Tiny::new(7);
//! // On the host: write the bytes a firmware build embeds.
//! let bytes: Vec<u8> = flat::to_le_bytes(&net);
//! assert_eq!(bytes.len(), 4 * Tiny::PARAMS);
//! // In the firmware: `static NET: Tiny = Tiny::from_le_bytes(include_bytes!(…));`
//! let copy = Tiny::from_le_bytes(bytes.as_slice().try_into().unwrap());
//! assert_eq!(copy, net);
//! # }
//! ```

use crate::error::{Error, Result};
use crate::params::Params;

/// Sets every parameter of `model` from `params`, canonical order, `P::PARAMS` values;
/// on error nothing changes.
///
/// # Errors
/// [`Error::ParamCount`] if `params` does not hold exactly `P::PARAMS` values.
///
/// ```
/// use rnn_runtime::flat::{load_flat, to_le_bytes};
/// use rnn_runtime::{model, Params};
///
/// model! { struct Net < input(4, 1), lstm(3), dense(1) > }
///
/// let trained = Net::new(1);
/// // A flat copy in canonical order, e.g. to build into an embedded image.
/// let bytes = to_le_bytes(&trained);
/// assert_eq!(bytes.len(), 4 * Net::PARAMS);
/// let values: Vec<f32> = bytes
///     .chunks_exact(4)
///     .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
///     .collect();
/// let mut net = Net::new(2);
/// load_flat(&mut net, &values)?;
/// assert_eq!(net, trained);
/// // The generated const constructor reads the same bytes.
/// assert_eq!(Net::from_le_bytes(bytes.as_slice().try_into().unwrap()), trained);
/// // A wrong count is an error and changes nothing.
/// assert!(load_flat(&mut net, &values[1..]).is_err());
/// assert_eq!(net, trained);
/// # Ok::<(), rnn_runtime::Error>(())
/// ```
pub fn load_flat<P: Params>(model: &mut P, params: &[f32]) -> Result<()> {
    if params.len() != P::PARAMS {
        return Err(Error::ParamCount {
            expected: P::PARAMS,
            got: params.len(),
        });
    }
    let mut at = 0;
    model.visit_params_mut(&mut |t| {
        t.copy_from_slice(&params[at..at + t.len()]);
        at += t.len();
    });
    Ok(())
}

/// Every parameter of `model` as little-endian `f32` bytes in canonical order: the
/// input of the generated `from_le_bytes`.
#[cfg(feature = "std")]
pub fn to_le_bytes<P: Params>(model: &P) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 * P::PARAMS);
    model.visit_params(&mut |t| out.extend(t.iter().flat_map(|v| v.to_le_bytes())));
    out
}

//! A model's parameters as one flat run of little-endian `f32`s in canonical order
//! (that of [`Params::param_specs`]) behind a 16-byte header: the format that needs no
//! parser, what a firmware build embeds with `include_bytes!` and turns into a model
//! with the generated `const fn from_le_bytes`, or loads at run time with
//! [`load_flat`].
//!
//! The header is [`MAGIC`], [`FORMAT_VERSION`] (`u32`) and the model's
//! [`Params::SPEC_HASH`] (`u64`), little-endian. Both readers check it: a file from
//! another model (other layers, sizes or activations, even of the same length), an
//! older format or something else altogether is refused — by `load_flat` with
//! [`Error::WeightsHeader`], by the `const` `from_le_bytes` of a `static` at compile
//! time, and by the std build's `from_le_bytes` with a panic saying which.
//!
//! ```
//! # #[cfg(feature = "std")] {
//! use rnn_runtime::{flat, model};
//!
//! model! { struct Tiny < input(4, 1), gru(3), dense(1) > }
//! model! { struct Other < input(4, 1), gru(3), dense(1, activation = tanh) > }
//!
//! let net = Tiny::new(7);
//! // On the host: write the bytes a firmware build embeds.
//! let bytes: Vec<u8> = flat::to_le_bytes(&net);
//! assert_eq!(bytes.len(), flat::HEADER_BYTES + Tiny::WEIGHT_BYTES);
//! // In the firmware: `static NET: Tiny = Tiny::from_le_bytes(include_bytes!(…));`
//! let copy = Tiny::from_le_bytes(bytes.as_slice().try_into().unwrap());
//! assert_eq!(copy, net);
//! // A model of the same size but another head does not take these weights.
//! let mut other = Other::new(7);
//! assert!(matches!(
//!     flat::load_flat(&mut other, &bytes),
//!     Err(rnn_runtime::Error::WeightsHeader(flat::HeaderMismatch::Spec { .. }))
//! ));
//! # }
//! ```

use crate::error::{Error, Result};
use crate::params::Params;

/// The first four bytes of a flat weights file.
pub const MAGIC: [u8; 4] = *b"RNNW";

/// The first four bytes of an int8 weights file (a generated `NameInt8`'s
/// `to_le_bytes`): the same header with another magic, so that neither kind of file
/// loads as the other.
pub const INT8_MAGIC: [u8; 4] = *b"RNNQ";

/// The version of the flat format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Bytes of the header in front of the parameters.
pub const HEADER_BYTES: usize = 16;

pub use crate::error::HeaderMismatch;

/// The header of a flat weights file for a model whose [`Params::SPEC_HASH`] is
/// `spec_hash`.
pub const fn header(spec_hash: u64) -> [u8; HEADER_BYTES] {
    header_for(MAGIC, spec_hash)
}

/// The header of a weights file with the given magic ([`MAGIC`] or [`INT8_MAGIC`]).
pub const fn header_for(magic: [u8; 4], spec_hash: u64) -> [u8; HEADER_BYTES] {
    let mut out = [0u8; HEADER_BYTES];
    let version = FORMAT_VERSION.to_le_bytes();
    let hash = spec_hash.to_le_bytes();
    let mut i = 0;
    while i < 4 {
        out[i] = magic[i];
        out[4 + i] = version[i];
        i += 1;
    }
    let mut i = 0;
    while i < 8 {
        out[8 + i] = hash[i];
        i += 1;
    }
    out
}

/// Checks the header at the start of `bytes` against a model whose
/// [`Params::SPEC_HASH`] is `spec_hash`; a `const fn`, so that a `static` model
/// checks its weights at compile time.
///
/// # Errors
/// The first [`HeaderMismatch`] found, in the order of the variants.
pub const fn check_header(
    bytes: &[u8],
    spec_hash: u64,
) -> core::result::Result<(), HeaderMismatch> {
    check_header_for(bytes, MAGIC, spec_hash)
}

/// [`check_header`] for a file with the given magic ([`MAGIC`] or [`INT8_MAGIC`]).
///
/// # Errors
/// The first [`HeaderMismatch`] found, in the order of the variants.
pub const fn check_header_for(
    bytes: &[u8],
    magic: [u8; 4],
    spec_hash: u64,
) -> core::result::Result<(), HeaderMismatch> {
    if bytes.len() < HEADER_BYTES {
        return Err(HeaderMismatch::Short);
    }
    if bytes[0] != magic[0] || bytes[1] != magic[1] || bytes[2] != magic[2] || bytes[3] != magic[3]
    {
        return Err(HeaderMismatch::Magic);
    }
    let found = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    if found != FORMAT_VERSION {
        return Err(HeaderMismatch::Version {
            found,
            expected: FORMAT_VERSION,
        });
    }
    let found = u64::from_le_bytes([
        bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15],
    ]);
    if found != spec_hash {
        return Err(HeaderMismatch::Spec {
            expected: spec_hash,
            found,
        });
    }
    Ok(())
}

/// Sets every parameter of `model` from a flat weights file (what [`to_le_bytes`]
/// writes): the header is checked, then `P::PARAMS` little-endian `f32`s are read in
/// canonical order. On error nothing changes.
///
/// # Errors
/// [`Error::WeightsHeader`] if the header is missing or belongs to another model or
/// format version; [`Error::ParamCount`] if the rest is not exactly `P::PARAMS` values.
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
/// let mut net = Net::new(2);
/// load_flat(&mut net, &bytes)?;
/// assert_eq!(net, trained);
/// // The generated const constructor reads the same bytes.
/// assert_eq!(Net::from_le_bytes(bytes.as_slice().try_into().unwrap()), trained);
/// // A wrong count is an error and changes nothing.
/// assert!(load_flat(&mut net, &bytes[..bytes.len() - 4]).is_err());
/// assert_eq!(net, trained);
/// # Ok::<(), rnn_runtime::Error>(())
/// ```
pub fn load_flat<P: Params>(model: &mut P, bytes: &[u8]) -> Result<()> {
    check_header(bytes, P::SPEC_HASH).map_err(Error::WeightsHeader)?;
    let values = &bytes[HEADER_BYTES..];
    if values.len() != 4 * P::PARAMS {
        return Err(Error::ParamCount {
            expected: P::PARAMS,
            got: values.len() / 4,
        });
    }
    let mut at = 0;
    model.visit_params_mut(&mut |t| {
        for (v, b) in t.iter_mut().zip(values[at..].chunks_exact(4)) {
            *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        at += 4 * t.len();
    });
    Ok(())
}

/// The flat weights file of `model`: the [`header`], then every parameter as a
/// little-endian `f32` in canonical order; the input of the generated
/// `from_le_bytes` and of [`load_flat`].
#[cfg(feature = "std")]
pub fn to_le_bytes<P: Params>(model: &P) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_BYTES + 4 * P::PARAMS);
    out.extend_from_slice(&header(P::SPEC_HASH));
    model.visit_params(&mut |t| out.extend(t.iter().flat_map(|v| v.to_le_bytes())));
    out
}

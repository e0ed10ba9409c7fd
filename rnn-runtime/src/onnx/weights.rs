//! The model's parameters and recurrent layers as the graph emitters read them: shared
//! by the operator emitter (`graph`) and the unrolled one (`unroll`).

use std::collections::HashMap;

use crate::architecture::Cell;
use crate::error::{Error, Result};
use crate::layers::CellActivation;

/// A model's parameters by canonical name.
pub(crate) struct Weights(pub(crate) HashMap<&'static str, Vec<f32>>);

impl Weights {
    /// The tensor `name`, checked to hold `len` values.
    pub(crate) fn get(&self, name: &str, len: usize) -> Result<&[f32]> {
        match self.0.get(name) {
            Some(v) if v.len() == len => Ok(v),
            Some(v) => Err(Error::OnnxExport(format!(
                "parameter `{name}` holds {} values, but the architecture implies {len}",
                v.len()
            ))),
            None => Err(Error::OnnxExport(format!(
                "the architecture implies a parameter `{name}` that the model does not have"
            ))),
        }
    }
}

/// A recurrent layer's declaration, as the emitters read it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rec {
    pub(crate) index: usize,
    pub(crate) cell: Cell,
    pub(crate) inputs: usize,
    pub(crate) hidden: usize,
    pub(crate) bidirectional: bool,
    pub(crate) return_sequences: bool,
    pub(crate) activation: CellActivation,
    pub(crate) recurrent_activation: CellActivation,
}

impl Rec {
    /// The file suffix of direction `d` (0 forward, 1 reverse).
    pub(crate) fn suffix(d: usize) -> &'static str {
        if d == 0 {
            ""
        } else {
            "_reverse"
        }
    }

    /// Directions: 1 or 2.
    pub(crate) fn directions(&self) -> usize {
        if self.bidirectional {
            2
        } else {
            1
        }
    }

    /// One direction's PyTorch tensors: `weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`.
    pub(crate) fn tensors<'w>(&self, w: &'w Weights, d: usize) -> Result<[&'w [f32]; 4]> {
        let (g, h, i, s) = (
            self.cell.gates() * self.hidden,
            self.hidden,
            self.inputs,
            Rec::suffix(d),
        );
        let n = self.index;
        Ok([
            w.get(&format!("{n}.weight_ih{s}"), g * i)?,
            w.get(&format!("{n}.weight_hh{s}"), g * h)?,
            w.get(&format!("{n}.bias_ih{s}"), g)?,
            w.get(&format!("{n}.bias_hh{s}"), g)?,
        ])
    }
}

/// The row-major transpose of a `[rows, cols]` matrix.
pub(crate) fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..cols)
        .flat_map(|c| (0..rows).map(move |r| m[r * cols + c]))
        .collect()
}

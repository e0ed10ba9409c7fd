//! Keras weight layouts to this library's, layer kind by layer kind.
//!
//! Keras stores `x W` kernels ([inputs, units]); here weights are `W x` ([units,
//! inputs]), so every kernel is transposed. Gate blocks: Keras's LSTM order i, f, c, o
//! is ours (i, f, g, o); its GRU order z, r, h becomes r, z, n by swapping the first
//! two blocks. Keras has one bias per LSTM / SimpleRNN where PyTorch's layout has two
//! that are only ever added: it goes to `bias_ih`, `bias_hh` is zero.

use std::path::Path;

use super::describe;
use super::h5::{Var, Weights};
use crate::architecture::{Cell, Layer};
use crate::error::{Error, Result};

/// Named tensors in this library's layout, as `model!` names them.
pub(crate) type Tensors = Vec<(String, Vec<f32>)>;

/// One declared layer being read from weight group `layers/<group>`.
pub(crate) struct LayerRead<'a> {
    pub path: &'a Path,
    pub index: usize,
    pub layer: &'a Layer,
    /// Keras's name of the layer, for errors.
    pub keras: &'a str,
    /// `layers/<group>`.
    pub group: String,
}

impl LayerRead<'_> {
    fn mismatch(&self, reason: impl Into<String>) -> Error {
        Error::KerasLayer {
            path: self.path.to_path_buf(),
            layer: self.index,
            keras: self.keras.to_owned(),
            reason: reason.into(),
        }
    }

    /// Refuses `var` unless its shape is `want`; `inputs` is the layer's input width,
    /// where it has one.
    fn check_shape(
        &self,
        what: &str,
        var: &Var,
        want: &[usize],
        inputs: Option<usize>,
    ) -> Result<()> {
        if var.shape == want {
            return Ok(());
        }
        let width = inputs.map_or(String::new(), |i| format!(" (input width {i})"));
        Err(self.mismatch(format!(
            "{what} has shape {:?} in the file, expected {want:?} for {}{width}",
            var.shape,
            describe(self.layer)
        )))
    }

    /// The variables of `group`, refusing counts other than `min` or `min + 1` (the
    /// bias, absent when Keras had `use_bias=False`).
    fn vars(&self, w: &Weights, group: &str, min: usize) -> Result<Vec<Var>> {
        let vars = w.vars(group)?;
        if vars.len() != min && vars.len() != min + 1 {
            return Err(self.mismatch(format!(
                "`{group}/vars` holds {} variables, expected {} (or {min} without bias) for {}",
                vars.len(),
                min + 1,
                describe(self.layer)
            )));
        }
        Ok(vars)
    }

    /// Reads this layer's tensors.
    pub(crate) fn read(&self, w: &Weights) -> Result<Tensors> {
        let i = self.index;
        match *self.layer {
            Layer::Recurrent {
                cell,
                inputs,
                hidden,
                bidirectional,
                ..
            } => {
                // Recurrent weights live in the cell; the layer's own `vars` are empty.
                if !w.vars(&self.group)?.is_empty() {
                    return Err(self.mismatch(format!(
                        "unexpected variables in `{}/vars` (Keras 3 keeps them in the cell)",
                        self.group
                    )));
                }
                let dirs: &[(&str, &str)] = if bidirectional {
                    &[("/forward_layer", ""), ("/backward_layer", "_reverse")]
                } else {
                    &[("", "")]
                };
                let mut out = Vec::with_capacity(4 * dirs.len());
                for (sub, suffix) in dirs {
                    let cell_group = format!("{}{sub}/cell", self.group);
                    let t = self.recurrent(w, &cell_group, cell, inputs, hidden)?;
                    let names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"];
                    out.extend(
                        names
                            .iter()
                            .zip(t)
                            .map(|(n, v)| (format!("{i}.{n}{suffix}"), v)),
                    );
                }
                Ok(out)
            }
            Layer::Dense { inputs, units, .. } => {
                let vars = self.vars(w, &self.group, 1)?;
                self.check_shape("kernel", &vars[0], &[inputs, units], Some(inputs))?;
                let kernel = w.read(&self.group, 0, inputs * units)?;
                let bias = self.bias(w, &self.group, &vars, 1, units, inputs)?;
                Ok(vec![
                    (
                        format!("{i}.weight"),
                        transpose(&kernel, inputs, units, |r| r),
                    ),
                    (format!("{i}.bias"), bias),
                ])
            }
            Layer::Embedding { vocab, dim } => {
                let vars = w.vars(&self.group)?;
                if vars.len() != 1 {
                    return Err(self.mismatch(format!(
                        "`{}/vars` holds {} variables, an embedding has 1",
                        self.group,
                        vars.len()
                    )));
                }
                self.check_shape("embeddings", &vars[0], &[vocab, dim], None)?;
                Ok(vec![(
                    format!("{i}.weight"),
                    w.read(&self.group, 0, vocab * dim)?,
                )])
            }
            Layer::Dropout { .. } => {
                if w.holds_data(&self.group)? {
                    return Err(self.mismatch(
                        "a dropout layer in the model, but the file has weights for it",
                    ));
                }
                Ok(Vec::new())
            }
        }
    }

    /// The bias at `index` of `vars`, zeros when the layer was saved without one.
    fn bias(
        &self,
        w: &Weights,
        group: &str,
        vars: &[Var],
        index: usize,
        len: usize,
        inputs: usize,
    ) -> Result<Vec<f32>> {
        match vars.get(index) {
            Some(var) => {
                self.check_shape("bias", var, &[len], Some(inputs))?;
                w.read(group, index, len)
            }
            // `use_bias=False`: a zero bias computes the same function.
            None => Ok(vec![0.0; len]),
        }
    }

    /// `weight_ih, weight_hh, bias_ih, bias_hh` of one direction from `cell_group`.
    fn recurrent(
        &self,
        w: &Weights,
        cell_group: &str,
        cell: Cell,
        inputs: usize,
        hidden: usize,
    ) -> Result<[Vec<f32>; 4]> {
        let gh = cell.gates() * hidden;
        let vars = self.vars(w, cell_group, 2)?;
        self.check_shape("kernel", &vars[0], &[inputs, gh], Some(inputs))?;
        self.check_shape("recurrent_kernel", &vars[1], &[hidden, gh], Some(inputs))?;
        // Our row `r` comes from Keras's column `source(r)`.
        let source = |r: usize| match cell {
            Cell::Gru => {
                let block = [1, 0, 2][r / hidden];
                block * hidden + r % hidden
            }
            Cell::Lstm | Cell::SimpleRnn => r,
        };
        let kernel = w.read(cell_group, 0, inputs * gh)?;
        let recurrent = w.read(cell_group, 1, hidden * gh)?;
        let weight_ih = transpose(&kernel, inputs, gh, source);
        let weight_hh = transpose(&recurrent, hidden, gh, source);
        let (bias_ih, bias_hh) = match (cell, vars.get(2)) {
            (Cell::Gru, Some(var)) if var.shape == [gh] => {
                return Err(self.mismatch(
                    "a GRU saved with reset_after=False (bias [3·units]) applies the reset \
                     gate before the recurrent product, an equation this library does not \
                     compute (it has reset_after=True, Keras's default); rebuild the Keras \
                     layer with reset_after=True",
                ));
            }
            (Cell::Gru, Some(var)) => {
                self.check_shape("bias", var, &[2, gh], Some(inputs))?;
                let b = w.read(cell_group, 2, 2 * gh)?;
                let pick = |row: &[f32]| (0..gh).map(|r| row[source(r)]).collect::<Vec<_>>();
                (pick(&b[..gh]), pick(&b[gh..]))
            }
            (Cell::Gru, None) => (vec![0.0; gh], vec![0.0; gh]),
            (Cell::Lstm | Cell::SimpleRnn, _) => (
                self.bias(w, cell_group, &vars, 2, gh, inputs)?,
                vec![0.0; gh],
            ),
        };
        Ok([weight_ih, weight_hh, bias_ih, bias_hh])
    }
}

/// `[cols, rows]` out of a row-major `[rows, cols]` Keras kernel, output row `r` taken
/// from kernel column `source(r)`.
fn transpose(
    kernel: &[f32],
    rows: usize,
    cols: usize,
    source: impl Fn(usize) -> usize,
) -> Vec<f32> {
    let mut out = Vec::with_capacity(rows * cols);
    for r in 0..cols {
        let c = source(r);
        out.extend((0..rows).map(|k| kernel[k * cols + c]));
    }
    out
}

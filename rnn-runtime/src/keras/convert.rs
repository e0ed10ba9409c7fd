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

/// Where a layer's weights are in the file.
pub(crate) enum Source {
    /// Keras 3: the layer's group `layers/<name>`, its variables in `…/vars`, a
    /// recurrent layer's in its cell (`…/cell/vars`, per direction
    /// `…/forward_layer/cell/vars` and `…/backward_layer/cell/vars`).
    Keras3(String),
    /// The legacy format: the layer's weights in the order of its `weight_names`
    /// (a bidirectional layer's forward direction, then its backward one).
    Legacy(Vec<Var>),
}

/// One declared layer being read.
pub(crate) struct LayerRead<'a> {
    pub path: &'a Path,
    pub index: usize,
    pub layer: &'a Layer,
    /// Keras's name of the layer, for errors.
    pub keras: &'a str,
    /// Its weights.
    pub source: Source,
}

/// What each weight of a layer is, in Keras's order: the kernel, the recurrent
/// kernel of a recurrent cell, the bias (absent with `use_bias=False`).
const RECURRENT_ROLES: &[&str] = &["kernel", "recurrent_kernel", "bias"];
const DENSE_ROLES: &[&str] = &["kernel", "bias"];
const EMBEDDING_ROLES: &[&str] = &["embeddings"];

/// The recurrent cell a legacy weight name says it belongs to (`…/gru_cell/kernel:0`
/// in tf.keras and Keras 3); `None` where the name does not say (Keras 2.0 – 2.2
/// named weights `lstm_1/kernel:0`).
fn named_cell(at: &str) -> Option<Cell> {
    at.split('/').find_map(|part| match part {
        "lstm_cell" => Some(Cell::Lstm),
        "gru_cell" => Some(Cell::Gru),
        "simple_rnn_cell" => Some(Cell::SimpleRnn),
        _ => None,
    })
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

    /// Refuses `vars` unless they are `roles` (all of them, or all but the last: the
    /// bias, absent when Keras had `use_bias=False`), each where a legacy file names
    /// its role, in that order. `what` names where they are.
    fn check_vars(&self, vars: &[Var], roles: &[&str], what: &str) -> Result<()> {
        let n = roles.len();
        let optional_bias = roles.last() == Some(&"bias");
        if vars.len() != n && !(optional_bias && vars.len() == n - 1) {
            let without = if optional_bias {
                format!(" (or {} without bias)", n - 1)
            } else {
                String::new()
            };
            return Err(self.mismatch(format!(
                "{what} holds {} weights, expected {n}{without} for {}: {}",
                vars.len(),
                describe(self.layer),
                roles.join(", ")
            )));
        }
        for (var, want) in vars.iter().zip(roles) {
            if let Some(role) = var.role.as_deref().filter(|r| r != want) {
                return Err(self.mismatch(format!(
                    "weight `{}` is a `{role}` where {} has its `{want}`",
                    var.at,
                    describe(self.layer)
                )));
            }
        }
        Ok(())
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
                let dirs = self.directions(w, bidirectional)?;
                let suffixes: &[&str] = if bidirectional {
                    &["", "_reverse"]
                } else {
                    &[""]
                };
                let mut out = Vec::with_capacity(4 * dirs.len());
                for ((vars, what), suffix) in dirs.iter().zip(suffixes) {
                    let t = self.recurrent(w, vars, what, cell, inputs, hidden)?;
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
                let (vars, what) = self.own_vars(w)?;
                self.check_vars(&vars, DENSE_ROLES, &what)?;
                self.check_shape("kernel", &vars[0], &[inputs, units], Some(inputs))?;
                let kernel = w.read(&vars[0], inputs * units)?;
                let bias = self.bias(w, &vars, 1, units, inputs)?;
                Ok(vec![
                    (
                        format!("{i}.weight"),
                        transpose(&kernel, inputs, units, |r| r),
                    ),
                    (format!("{i}.bias"), bias),
                ])
            }
            Layer::Embedding { vocab, dim } => {
                let (vars, what) = self.own_vars(w)?;
                self.check_vars(&vars, EMBEDDING_ROLES, &what)?;
                self.check_shape("embeddings", &vars[0], &[vocab, dim], None)?;
                Ok(vec![(
                    format!("{i}.weight"),
                    w.read(&vars[0], vocab * dim)?,
                )])
            }
            Layer::Dropout { .. } => {
                let holds = match &self.source {
                    Source::Keras3(group) => w.holds_data(group)?,
                    Source::Legacy(vars) => !vars.is_empty(),
                };
                if holds {
                    return Err(self.mismatch(
                        "a dropout layer in the model, but the file has weights for it",
                    ));
                }
                Ok(Vec::new())
            }
        }
    }

    /// The weights of a dense or embedding layer, and where they are (for messages).
    fn own_vars(&self, w: &Weights) -> Result<(Vec<Var>, String)> {
        Ok(match &self.source {
            Source::Keras3(group) => (w.vars(group)?, format!("`{group}/vars`")),
            Source::Legacy(vars) => (vars.clone(), "the layer".to_owned()),
        })
    }

    /// The weights of each direction of a recurrent layer, and where they are.
    fn directions(&self, w: &Weights, bidirectional: bool) -> Result<Vec<(Vec<Var>, String)>> {
        match &self.source {
            Source::Keras3(group) => {
                // Recurrent weights live in the cell; the layer's own `vars` are empty.
                if !w.vars(group)?.is_empty() {
                    return Err(self.mismatch(format!(
                        "unexpected variables in `{group}/vars` (Keras 3 keeps them in the cell)"
                    )));
                }
                let subs: &[&str] = if bidirectional {
                    &["/forward_layer", "/backward_layer"]
                } else {
                    &[""]
                };
                subs.iter()
                    .map(|sub| {
                        let cell = format!("{group}{sub}/cell");
                        Ok((w.vars(&cell)?, format!("`{cell}/vars`")))
                    })
                    .collect()
            }
            Source::Legacy(vars) if !bidirectional => {
                Ok(vec![(vars.clone(), "the layer".to_owned())])
            }
            Source::Legacy(vars) => {
                // Keras lists the forward layer's weights, then the backward layer's.
                if vars.len() % 2 != 0 {
                    return Err(self.mismatch(format!(
                        "the layer holds {} weights, expected 6 (or 4 without bias) for {}: \
                         kernel, recurrent_kernel, bias of each direction",
                        vars.len(),
                        describe(self.layer)
                    )));
                }
                let (forward, backward) = vars.split_at(vars.len() / 2);
                Ok(vec![
                    (forward.to_vec(), "the forward layer".to_owned()),
                    (backward.to_vec(), "the backward layer".to_owned()),
                ])
            }
        }
    }

    /// The bias at `index` of `vars`, zeros when the layer was saved without one.
    fn bias(
        &self,
        w: &Weights,
        vars: &[Var],
        index: usize,
        len: usize,
        inputs: usize,
    ) -> Result<Vec<f32>> {
        match vars.get(index) {
            Some(var) => {
                self.check_shape("bias", var, &[len], Some(inputs))?;
                w.read(var, len)
            }
            // `use_bias=False`: a zero bias computes the same function.
            None => Ok(vec![0.0; len]),
        }
    }

    /// `weight_ih, weight_hh, bias_ih, bias_hh` of one direction from its weights
    /// `vars`, found at `what`.
    fn recurrent(
        &self,
        w: &Weights,
        vars: &[Var],
        what: &str,
        cell: Cell,
        inputs: usize,
        hidden: usize,
    ) -> Result<[Vec<f32>; 4]> {
        if let Some((var, named)) = vars
            .iter()
            .find_map(|v| named_cell(&v.at).map(|c| (v, c)))
            .filter(|(_, c)| *c != cell)
        {
            return Err(self.mismatch(format!(
                "the file's weights are a {}'s (`{}`), the model declares {}",
                super::config::cell_class(named),
                var.at,
                describe(self.layer)
            )));
        }
        self.check_vars(vars, RECURRENT_ROLES, what)?;
        let gh = cell.gates() * hidden;
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
        let kernel = w.read(&vars[0], inputs * gh)?;
        let recurrent = w.read(&vars[1], hidden * gh)?;
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
                let b = w.read(var, 2 * gh)?;
                let pick = |row: &[f32]| (0..gh).map(|r| row[source(r)]).collect::<Vec<_>>();
                (pick(&b[..gh]), pick(&b[gh..]))
            }
            (Cell::Gru, None) => (vec![0.0; gh], vec![0.0; gh]),
            (Cell::Lstm | Cell::SimpleRnn, _) => {
                (self.bias(w, vars, 2, gh, inputs)?, vec![0.0; gh])
            }
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

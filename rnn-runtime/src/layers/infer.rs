//! The inference path of the recurrent layers: a forward pass that keeps nothing for
//! backward.
//!
//! The training forward keeps every step's gates, states and outputs for BPTT
//! (`[T·B, 4H]` gates alone are 1 MB for 64 samples of 20 steps of an LSTM(50)), so
//! its input projection streams through L2 and beyond. An inference pass needs only
//! the current `h` and `c`: it runs each step in tiles of rows, projecting a tile's
//! inputs, adding its recurrent product and activating it while the tile's gates are
//! still in L1, then moves to the next tile.
//!
//! The tiles call the training forward's own kernels (`project_inputs`,
//! `project_hidden`, the cell's element-wise step) on the same rows in the same
//! order, and every one of them computes a row independently of the others in its
//! call, so the outputs are the training forward's bit for bit. The one place where
//! the number of rows in a call matters is the recurrent product off AVX-512, which
//! streams rows without a GEMM for calls of at most four rows: [`tiles`] never cuts
//! a step into a tile that small unless the whole step is.

use core::ops::Range;

use super::{ensure, Packing, RecurrentBuffers, SeqOptions};

/// What a recurrent layer's forward pass keeps, set per workspace with
/// [`RecurrentBuffers::set_inference`]: the generated `predict` and `forward` set it,
/// training never does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Inference {
    /// Everything BPTT needs: every step's gates, states and outputs.
    #[default]
    Off,
    /// Only each sample's final hidden (and cell) state; no backward pass may follow.
    Last,
    /// Every step's hidden state, the layer's sequence output, and the final states;
    /// no backward pass may follow.
    Sequence,
}

/// Rows per tile: an LSTM(50)'s 32 rows of gates are 25 KB, which stay in L1 with the
/// recurrent weights' panel that the product streams.
pub(crate) const TILE_ROWS: usize = 32;

/// The most rows [`tiles`] puts in one tile.
pub(crate) const MAX_TILE_ROWS: usize = TILE_ROWS + 4;

/// Cuts `0..rows` into consecutive tiles of [`TILE_ROWS`], the last one taking up to
/// four more rows so that no tile has four rows or fewer unless `rows` has.
pub(crate) fn tiles(rows: usize) -> impl Iterator<Item = Range<usize>> {
    let mut start = 0;
    core::iter::from_fn(move || {
        let left = rows - start;
        if left == 0 {
            return None;
        }
        let take = if left <= MAX_TILE_ROWS {
            left
        } else {
            TILE_ROWS
        };
        start += take;
        Some(start - take..start)
    })
}

/// The buffers of one inference pass, borrowed from a layer's [`RecurrentBuffers`].
pub(crate) struct InferBuffers<'a> {
    /// Where each step's rows are in the input and in `seq`.
    pub(crate) packing: &'a Packing,
    /// Each sample's current hidden state, `[B, H]`; its final one at the end.
    pub(crate) h: &'a mut [f32],
    /// Each sample's final cell state, `[B, H]` (LSTM).
    pub(crate) last_c: &'a mut [f32],
    /// The cell states of the previous and the current step, `[B, H]` each (LSTM).
    pub(crate) c: [&'a mut [f32]; 2],
    /// Every step's hidden state, `[rows, H]`, when the output is the sequence; else
    /// empty.
    pub(crate) seq: &'a mut [f32],
    /// One tile's gates, `[MAX_TILE_ROWS, G·H]`.
    pub(crate) gates: &'a mut [f32],
    /// One tile's activated cell states (LSTM) or recurrent candidate terms (GRU),
    /// `[MAX_TILE_ROWS, H]`.
    pub(crate) act: &'a mut [f32],
    /// One tile's recurrent projection, `[MAX_TILE_ROWS, G·H]` (GRU).
    pub(crate) hid: &'a mut [f32],
    /// One tile's new hidden states, `[MAX_TILE_ROWS, H]`, for cells whose step reads
    /// the previous ones while writing (GRU); empty for an LSTM.
    pub(crate) h_new: &'a mut [f32],
}

impl RecurrentBuffers {
    /// Sets what the following forward passes keep. With anything but
    /// [`Inference::Off`] a cell takes its inference path where it has one (no dropout
    /// masks), and a backward pass must not follow.
    pub fn set_inference(&mut self, inference: Inference) {
        self.inference = inference;
    }

    /// Whether a forward pass with `opts` takes the inference path: asked for, and no
    /// dropout masks (which only training draws).
    pub(crate) fn infers(&self, opts: &SeqOptions<'_>) -> bool {
        self.inference != Inference::Off
            && opts.input_mask.is_none()
            && opts.recurrent_mask.is_none()
    }

    /// Sets up an inference pass of a cell with `gates` gates and a cell state if
    /// `cell`: the layout, the initial states (zero unless given) and the tile
    /// buffers, grown on the first pass and reused afterwards.
    pub(crate) fn start_inference(
        &mut self,
        [steps, batch, inputs, units, gates]: [usize; 5],
        cell: bool,
        opts: &SeqOptions<'_>,
    ) -> InferBuffers<'_> {
        self.set_shape(steps, batch, inputs, units);
        self.has_cell = cell;
        self.inferred = true;
        let kept = &mut self.kept;
        kept.packing.set(steps, batch, opts.lengths);
        kept.input_mask = false;
        kept.recurrent_mask = false;
        kept.initial_h = opts.initial_h.is_some();
        kept.initial_c = opts.initial_c.is_some();
        let (bh, rows) = (batch * units, kept.packing.rows());
        let h = ensure(&mut self.last_h, bh);
        match opts.initial_h {
            Some(h0) => h.copy_from_slice(h0),
            None => h.fill(0.0),
        }
        let tile_h = MAX_TILE_ROWS * units;
        let (last_c, c, h_new) = match cell {
            true => {
                let both = ensure(&mut self.state, 2 * bh);
                let (prev, now) = both.split_at_mut(bh);
                match opts.initial_c {
                    Some(c0) => prev.copy_from_slice(c0),
                    None => prev.fill(0.0),
                }
                (ensure(&mut self.last_c, bh), [prev, now], &mut [][..])
            }
            false => (
                &mut [][..],
                [&mut [][..], &mut [][..]],
                ensure(&mut self.state, tile_h),
            ),
        };
        let seq = match self.inference {
            Inference::Sequence => ensure(&mut self.h, rows * units),
            _ => &mut [][..],
        };
        InferBuffers {
            packing: &kept.packing,
            h,
            last_c,
            c,
            seq,
            gates: ensure(&mut self.gates, MAX_TILE_ROWS * gates * units),
            act: ensure(&mut self.tanh_c, tile_h),
            hid: ensure(&mut self.hidden_proj, MAX_TILE_ROWS * gates * units),
            h_new,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_the_rows_and_are_never_small_unless_the_step_is() {
        for rows in 0..200 {
            let all: Vec<Range<usize>> = tiles(rows).collect();
            let mut next = 0;
            for t in &all {
                assert_eq!(t.start, next);
                assert!(t.len() <= MAX_TILE_ROWS);
                assert!(t.len() > 4 || t.len() == rows, "{rows}: {t:?}");
                next = t.end;
            }
            assert_eq!(next, rows);
        }
    }
}

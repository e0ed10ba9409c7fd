//! What the recurrent cells share: their four parameter tensors, the input
//! projection of a whole sequence, and the weight gradients after BPTT.

#[cfg(feature = "std")]
use super::options::mask_rows_in_place;
use super::tensor::{Stored, Tensor};
#[cfg(feature = "std")]
use super::{ensure, RecurrentBuffers};
#[cfg(feature = "std")]
use crate::init::{glorot_uniform, orthogonal};
#[cfg(feature = "std")]
use crate::kernels::gemm::{
    add_column_sums, add_to_rows, add_weighted_column_sums, gemm, gemm_step, outer_product_plus, Op,
};
#[cfg(feature = "std")]
use crate::kernels::step::{self, Cell};
#[cfg(feature = "std")]
use crate::rng::Rng;

/// Parameters of a recurrent cell with `G` gates, `I` inputs and `H` units, laid out
/// as PyTorch's: `weight_ih [G·H, I]`, `weight_hh [G·H, H]`, `bias_ih [G·H]`,
/// `bias_hh [G·H]`, gate blocks of `H` rows each.
///
/// With `std` the kernels also keep both weights transposed (`[I, G·H]`, `[H, G·H]`),
/// the layout in which one step's product streams whole rows, and, where the CPU runs
/// the fused single-sample step (AVX-512), the weights and biases laid out for that
/// step (`kernels::step`). Every change to the parameters goes through
/// [`init`](Self::init) or [`visit_mut`](Self::visit_mut), which lay these out again:
/// once per optimiser step, never per call. Without `std` there are no copies (a
/// microcontroller's flash holds each weight once) and the single-sample kernel reads
/// the plain rows, adding in the same order as the `std` build's portable kernel: the
/// two builds give the same bits when the `std` build runs its portable kernels
/// (`RNN_PORTABLE=1`). Its AVX2/AVX-512 kernels fuse multiply-adds and may differ in the
/// last bits.
#[derive(Clone, Debug, PartialEq)]
pub struct CellParams<const I: usize, const H: usize, const G: usize> {
    pub(crate) weight_ih: Stored<[[[f32; I]; H]; G]>,
    pub(crate) weight_hh: Stored<[[[f32; H]; H]; G]>,
    pub(crate) bias_ih: Stored<[[f32; H]; G]>,
    pub(crate) bias_hh: Stored<[[f32; H]; G]>,
    #[cfg(feature = "std")]
    weight_ih_t: Lines,
    #[cfg(feature = "std")]
    weight_hh_t: Lines,
    #[cfg(feature = "std")]
    bias_sum: Lines,
    /// The weights laid out for the fused single-row step (`kernels::step`), or empty
    /// where the CPU cannot run it.
    #[cfg(feature = "std")]
    step: Lines,
}

/// Sixteen `f32`s on a cache line of their own.
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C, align(64))]
struct Line([f32; 16]);

/// A run of `f32` that starts on a cache line, whatever the allocator returns: the
/// store of the laid-out weights. The AVX-512 step kernel streams their rows with
/// 64-byte loads, and where a run started off a line a single-sample step measured
/// ~15% slower, depending on nothing but where the heap had put it.
#[cfg(feature = "std")]
#[derive(Clone, Debug, Default, PartialEq)]
struct Lines {
    lines: Vec<Line>,
    len: usize,
}

#[cfg(feature = "std")]
impl Lines {
    /// Sets the length to `len`, new values zero.
    fn resize(&mut self, len: usize) {
        self.lines.resize(len.div_ceil(16), Line([0.0; 16]));
        self.len = len;
    }

    fn as_slice(&self) -> &[f32] {
        // SAFETY: `Line` is `repr(C)` around `[f32; 16]` and exactly 64 bytes (no
        // padding), so `lines` is `16 · lines.len() >= len` contiguous, initialised
        // `f32`s, suitably aligned for `f32`.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast::<f32>(), self.len) }
    }

    fn as_mut_slice(&mut self) -> &mut [f32] {
        // SAFETY: as in `as_slice`, through the unique borrow of `lines`.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast::<f32>(), self.len) }
    }
}

#[cfg(feature = "std")]
impl std::ops::Deref for Lines {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        self.as_slice()
    }
}

/// `[rows, cols]` row-major → `[cols, rows]` row-major, into `out`, in square
/// blocks so that reads and writes both stay within a few cache lines.
#[cfg(feature = "std")]
fn transpose_into(m: &[f32], cols: usize, out: &mut Lines) {
    const BLOCK: usize = 32;
    let cols = cols.max(1);
    let rows = m.len() / cols;
    out.resize(m.len());
    let out = out.as_mut_slice();
    for r0 in (0..rows).step_by(BLOCK) {
        for c0 in (0..cols).step_by(BLOCK) {
            for c in c0..(c0 + BLOCK).min(cols) {
                let dst = &mut out[c * rows..(c + 1) * rows];
                for r in r0..(r0 + BLOCK).min(rows) {
                    dst[r] = m[r * cols + c];
                }
            }
        }
    }
}

impl<const I: usize, const H: usize, const G: usize> CellParams<I, H, G> {
    /// Rows of the stacked gate matrices.
    pub const GATE_ROWS: usize = G * H;
    /// Number of scalar parameters: the same as PyTorch's for this cell.
    pub const PARAMS: usize = G * H * (I + H) + 2 * G * H;

    /// Calls `f` on each tensor in canonical order.
    pub fn visit(&self, f: &mut dyn FnMut(&[f32])) {
        f(self.weight_ih.flat());
        f(self.weight_hh.flat());
        f(self.bias_ih.flat());
        f(self.bias_hh.flat());
    }

    /// Calls `f` on each tensor, mutably, in canonical order.
    pub fn visit_mut(&mut self, f: &mut dyn FnMut(&mut [f32])) {
        f(self.weight_ih.flat_mut());
        f(self.weight_hh.flat_mut());
        f(self.bias_ih.flat_mut());
        f(self.bias_hh.flat_mut());
        #[cfg(feature = "std")]
        self.lay_out();
    }

    /// The cell whose `PARAMS` values (canonical order) are the little-endian `f32`s
    /// at byte offset `at` of `bytes`.
    ///
    /// # Panics
    /// If `bytes` is shorter than `at + 4 · PARAMS` (at compile time in a constant).
    #[cfg(not(feature = "std"))]
    pub const fn from_le_bytes(bytes: &[u8], at: usize) -> Self {
        use super::tensor::{matrix_le, tensor3_le};
        let at_hh = at + 4 * G * H * I;
        let at_bih = at_hh + 4 * G * H * H;
        let at_bhh = at_bih + 4 * G * H;
        CellParams {
            weight_ih: tensor3_le::<I, H, G>(bytes, at),
            weight_hh: tensor3_le::<H, H, G>(bytes, at_hh),
            bias_ih: matrix_le::<H, G>(bytes, at_bih),
            bias_hh: matrix_le::<H, G>(bytes, at_bhh),
        }
    }

    /// The cell whose `PARAMS` values (canonical order) are the little-endian `f32`s
    /// at byte offset `at` of `bytes`.
    ///
    /// # Panics
    /// If `bytes` is shorter than `at + 4 · PARAMS`.
    #[cfg(feature = "std")]
    pub fn from_le_bytes(bytes: &[u8], at: usize) -> Self {
        let all = super::tensor::decode_le(bytes, at, Self::PARAMS);
        let (wih, rest) = all.split_at(G * H * I);
        let (whh, rest) = rest.split_at(G * H * H);
        let (bih, bhh) = rest.split_at(G * H);
        Self::from_parts(wih, whh, bih, bhh)
    }

    /// The cell with the given tensors (canonical shapes, row-major), laid out.
    #[cfg(feature = "std")]
    fn from_parts(wih: &[f32], whh: &[f32], bih: &[f32], bhh: &[f32]) -> Self {
        use super::tensor::{matrix, tensor3};
        let mut cell = CellParams {
            weight_ih: tensor3::<I, H, G>(wih),
            weight_hh: tensor3::<H, H, G>(whh),
            bias_ih: matrix::<H, G>(bih),
            bias_hh: matrix::<H, G>(bhh),
            weight_ih_t: Lines::default(),
            weight_hh_t: Lines::default(),
            bias_sum: Lines::default(),
            step: Lines::default(),
        };
        cell.lay_out();
        cell
    }

    /// `out = bias_ih + bias_hh + weight_ih·x + weight_hh·h` for one sample, or with
    /// `split_hidden` the hidden side `bias_hh + weight_hh·h` there instead: the same
    /// additions in the same order as the `std` build's kernel with the transposes.
    #[cfg(not(feature = "std"))]
    pub(crate) fn gates_one(
        &self,
        x: &[f32; I],
        h: &[f32; H],
        split_hidden: Option<&mut [f32]>,
        out: &mut [f32],
    ) {
        use crate::kernels::matvec::matvec_add_ordered;
        let (b_ih, b_hh) = (self.bias_ih.flat(), self.bias_hh.flat());
        let hidden = match split_hidden {
            Some(hid) => {
                out.copy_from_slice(b_ih);
                matvec_add_ordered(self.weight_ih.flat(), x, out);
                hid.copy_from_slice(b_hh);
                hid
            }
            None => {
                out.iter_mut()
                    .zip(b_ih.iter().zip(b_hh))
                    .for_each(|(o, (a, b))| *o = a + b);
                matvec_add_ordered(self.weight_ih.flat(), x, out);
                out
            }
        };
        matvec_add_ordered(self.weight_hh.flat(), h, hidden);
    }
}

#[cfg(feature = "std")]
impl<const I: usize, const H: usize, const G: usize> CellParams<I, H, G> {
    /// Keras's defaults: glorot-uniform input kernel, orthogonal recurrent kernel,
    /// zero biases.
    pub fn init(rng: &mut Rng) -> Self {
        let weight_ih = glorot_uniform(rng, I, G * H, G * H * I);
        let weight_hh = orthogonal(rng, G * H, H);
        let zeros = vec![0.0; G * H];
        Self::from_parts(&weight_ih, &weight_hh, &zeros, &zeros)
    }

    /// Lays out the transposed weights, the summed biases and, where the CPU runs the
    /// fused single-row step, its layout, after a change; every code path that writes
    /// the parameters directly must call it.
    pub(crate) fn lay_out(&mut self) {
        if step::available() {
            let cell = Cell::of_gates(G);
            self.step.resize(step::layout_len(cell, I, H));
            step::lay_out(
                cell,
                (I, H),
                (self.weight_ih.flat(), self.weight_hh.flat()),
                (self.bias_ih.flat(), self.bias_hh.flat()),
                self.step.as_mut_slice(),
            );
        }
        transpose_into(self.weight_ih.flat(), I, &mut self.weight_ih_t);
        transpose_into(self.weight_hh.flat(), H, &mut self.weight_hh_t);
        let (b_ih, b_hh) = (self.bias_ih.flat(), self.bias_hh.flat());
        self.bias_sum.resize(b_ih.len());
        let sums = b_ih.iter().zip(b_hh).map(|(a, b)| a + b);
        self.bias_sum
            .as_mut_slice()
            .iter_mut()
            .zip(sums)
            .for_each(|(s, v)| *s = v);
    }

    /// `out[r] = x[r] · weight_ihᵀ + bias_ih (+ bias_hh)` for all `rows` rows at once:
    /// one GEMM for the whole sequence instead of one per step.
    pub(crate) fn project_inputs(
        &self,
        x: &[f32],
        rows: usize,
        with_bias_hh: bool,
        out: &mut [f32],
    ) {
        let gh = G * H;
        let out = &mut out[..rows * gh];
        let bias = if with_bias_hh {
            &self.bias_sum
        } else {
            self.bias_ih.flat()
        };
        if I == 1 {
            outer_product_plus(&x[..rows], &self.weight_ih_t, bias, out);
        } else {
            // The laid-out transpose makes this a product with a row-major right side.
            gemm(rows, I, gh, x, Op::N, &self.weight_ih_t, Op::N, false, out);
            add_to_rows(out, bias);
        }
    }

    /// `out[B, G·H] += h[B, H] · weight_hhᵀ`: the recurrent projection of one step.
    pub(crate) fn project_hidden(&self, h: &[f32], batch: usize, out: &mut [f32]) {
        gemm_step(batch, H, G * H, h, &self.weight_hh_t, true, out);
    }

    /// `dh[B, H] (+)= d_hidden_pre[B, G·H] · weight_hh`: the gradient carried to the
    /// previous step.
    pub(crate) fn backprop_hidden(
        &self,
        d_pre: &[f32],
        batch: usize,
        accumulate: bool,
        dh: &mut [f32],
    ) {
        gemm_step(
            batch,
            G * H,
            H,
            d_pre,
            self.weight_hh.flat(),
            accumulate,
            dh,
        );
    }

    /// `dh[B, H] (+)= (d_hidden_pre[B, G·H] · weight_hh) ⊙ mask`: the gradient carried
    /// to the previous step through a masked recurrent input; `scratch` (`[B, H]`)
    /// holds the unmasked product when it must be added to `dh`.
    pub(crate) fn backprop_hidden_masked(
        &self,
        d_pre: &[f32],
        batch: usize,
        accumulate: bool,
        (mask, scratch): (Option<&[f32]>, &mut [f32]),
        dh: &mut [f32],
    ) {
        match mask {
            None => self.backprop_hidden(d_pre, batch, accumulate, dh),
            Some(mask) if !accumulate => {
                self.backprop_hidden(d_pre, batch, false, dh);
                mask_rows_in_place(dh, mask);
            }
            Some(mask) => {
                self.backprop_hidden(d_pre, batch, false, scratch);
                dh.iter_mut()
                    .zip(scratch.iter().zip(mask))
                    .for_each(|(d, (s, m))| *d += s * m);
            }
        }
    }

    /// Adds the parameter gradients of a whole sequence to `grads` (this cell's block
    /// of `PARAMS` values, canonical order), one GEMM per weight over all time steps.
    ///
    /// `x` is the `[rows, I]` input the projection saw, `rec` what the recurrent
    /// projection saw from row `first` on (`[rows - first, H]`; the rows before
    /// `first`, step 0's without an initial state, saw zero), `d_in` and `d_hid` the
    /// gradients of the input- and hidden-side pre-activations (`[rows, G·H]`; the
    /// same slice for cells where they coincide).
    fn accumulate_grads(
        &self,
        x: &[f32],
        (rec, first): (&[f32], usize),
        d_in: &[f32],
        d_hid: &[f32],
        rows: usize,
        grads: &mut [f32],
    ) {
        let gh = G * H;
        assert_eq!(
            grads.len(),
            Self::PARAMS,
            "gradient block of a recurrent cell"
        );
        let (g_wih, rest) = grads.split_at_mut(gh * I);
        let (g_whh, rest) = rest.split_at_mut(gh * H);
        let (g_bih, g_bhh) = rest.split_at_mut(gh);
        if I == 1 {
            add_weighted_column_sums(&d_in[..rows * gh], &x[..rows], g_wih);
        } else {
            gemm(gh, rows, I, d_in, Op::T, x, Op::N, true, g_wih);
        }
        let first = first.min(rows);
        gemm(
            gh,
            rows - first,
            H,
            &d_hid[first * gh..],
            Op::T,
            rec,
            Op::N,
            true,
            g_whh,
        );
        add_column_sums(&d_in[..rows * gh], g_bih);
        add_column_sums(&d_hid[..rows * gh], g_bhh);
    }

    /// The end of every cell's BPTT, once the pre-activation gradients of all steps
    /// are in `bufs.d_in` (and `bufs.d_hid` where the hidden side differs): the weight
    /// gradients, then, if `need_dx`, `dx[rows, I] = d_in · weight_ih` (times the input
    /// mask) for the layer below.
    pub(crate) fn finish_backward(
        &self,
        x: &[f32],
        bufs: &mut RecurrentBuffers,
        separate_hidden: bool,
        grads: &mut [f32],
        need_dx: bool,
    ) {
        let (rows, gh) = (bufs.rows(), G * H);
        let kept = &bufs.kept;
        let d_in = &bufs.d_in[..rows * gh];
        let d_hid = if separate_hidden {
            &bufs.d_hid[..rows * gh]
        } else {
            d_in
        };
        let x_in = if kept.input_mask {
            &kept.x_masked[..rows * I]
        } else {
            x
        };
        // Without an initial state, h_{t-1} is zero at t = 0, so step 0 adds nothing
        // to weight_hh. Unkept, the previous step's rows are the outputs one step back,
        // which in a full batch is `batch` rows back.
        let first = match kept.initial_h {
            true => 0,
            false => kept.packing.step(0).end.min(rows),
        };
        let rec = if !kept.separate_recurrent_input() {
            (&bufs.h[..rows * H - first * H], first)
        } else {
            (&kept.rec_in[first * H..rows * H], first)
        };
        self.accumulate_grads(x_in, rec, d_in, d_hid, rows, grads);
        if need_dx {
            let dx = ensure(&mut bufs.dx, rows * I);
            gemm(
                rows,
                gh,
                I,
                d_in,
                Op::N,
                self.weight_ih.flat(),
                Op::N,
                false,
                dx,
            );
            kept.mask_input_grad(dx, I);
        }
    }

    /// Whether the weights are laid out for the fused step (where the CPU runs it).
    #[cfg(test)]
    pub(crate) fn has_step_layout(&self) -> bool {
        !self.step.is_empty()
    }

    /// One fused step of one sample with the cell's default activations (see
    /// `kernels::step`), advancing `h` and, for the LSTM, `c`; false, changing nothing,
    /// where the CPU cannot run it, and the caller takes the unfused step.
    pub(crate) fn fused_step(
        &self,
        x: &[f32; I],
        h: &mut [f32; H],
        c: Option<&mut [f32; H]>,
    ) -> bool {
        !self.step.is_empty() && step::fused_step(Cell::of_gates(G), &self.step, x, h, c)
    }

    /// `out = bias_ih + bias_hh + weight_ih·x + weight_hh·h` for one sample, or with
    /// `split_hidden` the hidden side `bias_hh + weight_hh·h` there instead. Uses the
    /// transposed weights, so each input streams one contiguous row.
    pub(crate) fn gates_one(
        &self,
        x: &[f32; I],
        h: &[f32; H],
        split_hidden: Option<&mut [f32]>,
        out: &mut [f32],
    ) {
        let gh = G * H;
        let hidden = match split_hidden {
            Some(hid) => {
                out.copy_from_slice(self.bias_ih.flat());
                gemm_step(1, I, gh, x, &self.weight_ih_t, true, out);
                hid.copy_from_slice(self.bias_hh.flat());
                hid
            }
            None if I == 1 => {
                outer_product_plus(x, &self.weight_ih_t, &self.bias_sum, out);
                out
            }
            None => {
                out.copy_from_slice(&self.bias_sum);
                gemm_step(1, I, gh, x, &self.weight_ih_t, true, out);
                out
            }
        };
        gemm_step(1, H, gh, h, &self.weight_hh_t, true, hidden);
    }
}

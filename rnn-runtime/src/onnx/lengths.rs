//! Variable-length samples in the graph: each sample's valid steps, read from the
//! model's padding in the graph itself or given as a `lengths` input, fed to the
//! recurrent operators as `sequence_lens` (and to the unrolled steps as a mask).
//!
//! ONNX's `sequence_lens` means the first `len` steps of each sample are valid. A
//! masked model also accepts padding before the steps (Keras's `padding="pre"`), so the
//! graph first moves each sample's valid run to step 0 and, for a sequence output,
//! moves the outputs back to the steps they came from, 0 elsewhere — what `predict`
//! computes.

use super::builder::Builder;
use super::proto::{AttrValue, DataType};
use crate::architecture::{Architecture, Padding};

/// Each sample's valid steps, as the recurrent layers read them.
#[derive(Clone, Debug)]
pub(crate) struct StepLengths {
    /// int32 `[batch]`: the recurrent operators' `sequence_lens`.
    pub(crate) lens: String,
    /// bool `[T, batch, 1]`: step `t` of sample `b` is valid (the first `len` steps).
    pub(crate) valid: String,
}

/// What the graph's output needs after the layers: where the valid steps were.
#[derive(Clone, Debug)]
pub(crate) struct Placement {
    /// float `[batch, T, 1]`: 1 at the valid steps of the original input.
    mask: String,
    /// int64 `[batch, 1]`: the first valid step of each sample, `None` when the valid
    /// steps always start at step 0.
    start: Option<String>,
}

/// The steps `0..T` as an int64 `[1, T]` initializer.
fn steps_i64(b: &mut Builder, steps: usize) -> String {
    let name = b.fresh("steps");
    let values: Vec<i64> = (0..steps as i64).collect();
    b.initializers
        .push(super::proto::tensor_i64(&name, &[1, steps], &values));
    name
}

fn cast(b: &mut Builder, x: &str, to: DataType) -> String {
    b.op("Cast", &[x], &[("to", AttrValue::Int(to as i64))])
}

/// `[batch, T]` float mask (1 = valid) → the lengths the layers read, the valid steps
/// being the first `len` (`lens` float `[batch]`).
fn step_lengths(b: &mut Builder, lens: &str, steps: usize) -> StepLengths {
    let steps_f: Vec<f32> = (0..steps).map(|t| t as f32).collect();
    let steps_f = b.f32("steps_f", &[1, steps], &steps_f);
    let lens_col = b.unsqueeze(lens, &[1]);
    // Lengths are whole numbers far below 2^24: exact in float32.
    let valid = b.bin("Less", &steps_f, &lens_col);
    let valid = b.transpose(&valid, &[1, 0]);
    let valid = b.unsqueeze(&valid, &[2]);
    StepLengths {
        lens: cast(b, lens, DataType::Int32),
        valid,
    }
}

/// For a masked model reading `x`: the input with each sample's valid steps moved to
/// step 0, the lengths, and where the steps were.
pub(crate) fn from_padding(
    b: &mut Builder,
    arch: &Architecture,
    padding: Padding,
    x: &str,
) -> (String, StepLengths, Placement) {
    let steps = arch.timesteps;
    // valid: float [batch, T], 1 where a step is not padding.
    let valid = match padding {
        Padding::ZeroId => {
            let zero = b.i64("zero", &[0], true);
            let pad = b.bin("Equal", x, &zero);
            let keep = b.op("Not", &[&pad], &[]);
            cast(b, &keep, DataType::Float)
        }
        Padding::Value(v) => {
            // A step is padding when every feature equals `v`.
            let value = b.scalar("mask_value", v);
            let same = b.bin("Equal", x, &value);
            let differs = b.op("Not", &[&same], &[]);
            let differs = cast(b, &differs, DataType::Float);
            b.op(
                "ReduceMax",
                &[&differs],
                &[
                    ("axes", AttrValue::Ints(vec![2])),
                    ("keepdims", AttrValue::Int(0)),
                ],
            )
        }
    };
    let axis1 = b.i64("axis", &[1], false);
    let lens = b.op(
        "ReduceSum",
        &[&valid, &axis1],
        &[("keepdims", AttrValue::Int(0))],
    );
    // Leading padding steps: those before the running count of valid steps leaves 0.
    let axis1_scalar = b.i64("axis", &[1], true);
    let seen = b.op("CumSum", &[&valid, &axis1_scalar], &[]);
    let zero_f = b.scalar("zero_f", 0.0);
    let leading = b.bin("Equal", &seen, &zero_f);
    let leading = cast(b, &leading, DataType::Float);
    let start = b.op(
        "ReduceSum",
        &[&leading, &axis1],
        &[("keepdims", AttrValue::Int(1))],
    );
    let start = cast(b, &start, DataType::Int64);

    // Step t of the moved input is step min(t + start, T - 1) of x (beyond the
    // sample's length the value is never read).
    let steps_i = steps_i64(b, steps);
    let from = b.bin("Add", &steps_i, &start);
    let last = b.i64("last_step", &[steps as i64 - 1], true);
    let from = b.bin("Min", &from, &last);
    let moved = gather_steps(b, x, &from, !arch.tokens);
    let lengths = step_lengths(b, &lens, steps);
    let mask = b.unsqueeze(&valid, &[2]);
    (
        moved,
        lengths,
        Placement {
            mask,
            start: Some(start),
        },
    )
}

/// For a graph with a `lengths` input (int64 `[batch]`, right padding).
pub(crate) fn from_input(
    b: &mut Builder,
    arch: &Architecture,
    lengths: &str,
) -> (StepLengths, Placement) {
    let lens = cast(b, lengths, DataType::Float);
    let step_lengths = step_lengths(b, &lens, arch.timesteps);
    let valid = b.transpose(&step_lengths.valid, &[1, 0, 2]);
    let mask = cast(b, &valid, DataType::Float);
    (step_lengths, Placement { mask, start: None })
}

/// `x[b, index[b, t], …]` for every `b`, `t` (`x` is `[batch, T]` or, with `features`,
/// `[batch, T, width]`).
fn gather_steps(b: &mut Builder, x: &str, index: &str, features: bool) -> String {
    let index = if features {
        let col = b.unsqueeze(index, &[2]);
        let shape = b.op("Shape", &[x], &[]);
        b.op("Expand", &[&col, &shape], &[])
    } else {
        index.to_string()
    };
    b.op(
        "GatherElements",
        &[x, &index],
        &[("axis", AttrValue::Int(1))],
    )
}

/// The model's sequence output `y` (`[batch, T, OUT]`, each sample's outputs from step
/// 0) put back at the steps their inputs came from, 0 at padded steps.
pub(crate) fn place(b: &mut Builder, y: &str, placement: &Placement, steps: usize) -> String {
    let y = match &placement.start {
        Some(start) => {
            let steps_i = steps_i64(b, steps);
            let from = b.bin("Sub", &steps_i, start);
            let zero = b.i64("zero", &[0], true);
            let from = b.bin("Max", &from, &zero);
            gather_steps(b, y, &from, true)
        }
        None => y.to_string(),
    };
    b.bin("Mul", &y, &placement.mask)
}

//! Accumulates the nodes and initializers of one graph under fresh tensor names.

use super::proto::{self, AttrValue, Msg};

/// Nodes and initializers of a graph being built.
#[derive(Debug, Default)]
pub(crate) struct Builder {
    pub(crate) nodes: Vec<Msg>,
    pub(crate) initializers: Vec<Msg>,
    next: usize,
}

impl Builder {
    /// A tensor name not used before, readable in a graph viewer: `hint_N`.
    pub(crate) fn fresh(&mut self, hint: &str) -> String {
        self.next += 1;
        format!("{hint}_{}", self.next)
    }

    /// A node with one output; returns the output's name.
    pub(crate) fn op(&mut self, op: &str, inputs: &[&str], attrs: &[(&str, AttrValue)]) -> String {
        let out = self.fresh(op);
        self.op_into(op, inputs, &[&out], attrs);
        out
    }

    /// A node with `n` outputs; returns their names.
    pub(crate) fn op_n(
        &mut self,
        op: &str,
        inputs: &[&str],
        n: usize,
        attrs: &[(&str, AttrValue)],
    ) -> Vec<String> {
        let outs: Vec<String> = (0..n).map(|_| self.fresh(op)).collect();
        let refs: Vec<&str> = outs.iter().map(String::as_str).collect();
        self.op_into(op, inputs, &refs, attrs);
        outs
    }

    /// A node writing the outputs named (`""` leaves an optional output unused).
    pub(crate) fn op_into(
        &mut self,
        op: &str,
        inputs: &[&str],
        outputs: &[&str],
        attrs: &[(&str, AttrValue)],
    ) {
        let name = format!("{op}_node_{}", self.nodes.len());
        self.nodes
            .push(proto::node(&name, op, inputs, outputs, attrs));
    }

    /// A float32 initializer; returns its name.
    pub(crate) fn f32(&mut self, hint: &str, dims: &[usize], values: &[f32]) -> String {
        let name = self.fresh(hint);
        self.initializers
            .push(proto::tensor_f32(&name, dims, values));
        name
    }

    /// A float32 scalar (rank 0) initializer.
    pub(crate) fn scalar(&mut self, hint: &str, v: f32) -> String {
        self.f32(hint, &[], &[v])
    }

    /// An int64 initializer of rank 1 (or 0 with `scalar`).
    pub(crate) fn i64(&mut self, hint: &str, values: &[i64], scalar: bool) -> String {
        let name = self.fresh(hint);
        let dims: &[usize] = if scalar { &[] } else { &[values.len()] };
        self.initializers
            .push(proto::tensor_i64(&name, dims, values));
        name
    }

    /// `Transpose` with permutation `perm`.
    pub(crate) fn transpose(&mut self, x: &str, perm: &[i64]) -> String {
        self.op(
            "Transpose",
            &[x],
            &[("perm", AttrValue::Ints(perm.to_vec()))],
        )
    }

    /// `Squeeze` of `axes` (an input since opset 13).
    pub(crate) fn squeeze(&mut self, x: &str, axes: &[i64]) -> String {
        let axes = self.i64("axes", axes, false);
        self.op("Squeeze", &[x, &axes], &[])
    }

    /// `Unsqueeze` of `axes` (an input since opset 13).
    pub(crate) fn unsqueeze(&mut self, x: &str, axes: &[i64]) -> String {
        let axes = self.i64("axes", axes, false);
        self.op("Unsqueeze", &[x, &axes], &[])
    }

    /// `Reshape` to `shape`, where 0 copies the input's dimension and -1 is inferred.
    pub(crate) fn reshape(&mut self, x: &str, shape: &[i64]) -> String {
        let shape = self.i64("shape", shape, false);
        self.op("Reshape", &[x, &shape], &[])
    }

    /// `Concat` along `axis`.
    pub(crate) fn concat(&mut self, xs: &[&str], axis: i64) -> String {
        self.op("Concat", xs, &[("axis", AttrValue::Int(axis))])
    }

    /// A binary element-wise op (`Add`, `Mul`, …) with broadcasting.
    pub(crate) fn bin(&mut self, op: &str, a: &str, b: &str) -> String {
        self.op(op, &[a, b], &[])
    }
}

//! The few ONNX protobuf messages an export needs, written by hand in protobuf's wire
//! format: a build step (protoc, prost) would cost every user compile time for about
//! a hundred lines of encoding.
//!
//! Field numbers are those of `onnx.proto` (IR version 7). Repeated scalars are
//! written unpacked, proto2's default, which every protobuf parser accepts.

/// Wire types of protobuf's encoding.
const VARINT: u32 = 0;
const LEN: u32 = 2;
const FIXED32: u32 = 5;

/// One message being encoded: fields appended in any order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Msg(Vec<u8>);

impl Msg {
    fn key(&mut self, field: u32, wire: u32) {
        self.raw_varint(u64::from((field << 3) | wire));
    }

    fn raw_varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    /// An int32/int64/enum field; negative values take ten bytes, as protobuf's
    /// two's-complement varint encoding prescribes.
    pub(crate) fn int(&mut self, field: u32, v: i64) -> &mut Self {
        self.key(field, VARINT);
        self.raw_varint(v as u64);
        self
    }

    /// A float field.
    pub(crate) fn float(&mut self, field: u32, v: f32) -> &mut Self {
        self.key(field, FIXED32);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// A bytes field.
    pub(crate) fn bytes(&mut self, field: u32, v: &[u8]) -> &mut Self {
        self.key(field, LEN);
        self.raw_varint(v.len() as u64);
        self.0.extend_from_slice(v);
        self
    }

    /// A string field.
    pub(crate) fn string(&mut self, field: u32, v: &str) -> &mut Self {
        self.bytes(field, v.as_bytes())
    }

    /// An embedded message field.
    pub(crate) fn msg(&mut self, field: u32, m: &Msg) -> &mut Self {
        self.bytes(field, &m.0)
    }

    /// The encoded bytes.
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// `TensorProto.DataType` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DataType {
    Float = 1,
    Int32 = 6,
    Int64 = 7,
}

/// A `TensorProto` initializer with its values as little-endian `raw_data`.
pub(crate) fn tensor(name: &str, dims: &[usize], dtype: DataType, raw: &[u8]) -> Msg {
    let mut t = Msg::default();
    for &d in dims {
        t.int(1, d as i64);
    }
    t.int(2, dtype as i64).string(8, name).bytes(9, raw);
    t
}

/// A float32 initializer.
pub(crate) fn tensor_f32(name: &str, dims: &[usize], values: &[f32]) -> Msg {
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    tensor(name, dims, DataType::Float, &raw)
}

/// An int64 initializer.
pub(crate) fn tensor_i64(name: &str, dims: &[usize], values: &[i64]) -> Msg {
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    tensor(name, dims, DataType::Int64, &raw)
}

/// One dimension of a graph input or output.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Dim {
    /// A fixed size.
    Fixed(usize),
    /// A size named at run time (`"batch"`).
    Symbolic(&'static str),
}

/// A `ValueInfoProto` for a tensor graph input or output.
pub(crate) fn value_info(name: &str, dtype: DataType, dims: &[Dim]) -> Msg {
    let mut shape = Msg::default();
    for d in dims {
        let mut dim = Msg::default();
        match *d {
            Dim::Fixed(n) => dim.int(1, n as i64),
            Dim::Symbolic(s) => dim.string(2, s),
        };
        shape.msg(1, &dim);
    }
    let mut tensor_type = Msg::default();
    tensor_type.int(1, dtype as i64).msg(2, &shape);
    let mut ty = Msg::default();
    ty.msg(1, &tensor_type);
    let mut info = Msg::default();
    info.string(1, name).msg(2, &ty);
    info
}

/// A node attribute's value.
#[derive(Clone, Debug)]
pub(crate) enum AttrValue {
    Int(i64),
    Ints(Vec<i64>),
    Floats(Vec<f32>),
    Str(&'static str),
    Strs(Vec<&'static str>),
}

/// An `AttributeProto`.
pub(crate) fn attribute(name: &str, value: &AttrValue) -> Msg {
    // AttributeProto.AttributeType: INT 2, STRING 3, FLOATS 6, INTS 7, STRINGS 8.
    let mut a = Msg::default();
    a.string(1, name);
    match value {
        AttrValue::Int(v) => {
            a.int(3, *v).int(20, 2);
        }
        AttrValue::Str(s) => {
            a.bytes(4, s.as_bytes()).int(20, 3);
        }
        AttrValue::Floats(vs) => {
            for &v in vs {
                a.float(7, v);
            }
            a.int(20, 6);
        }
        AttrValue::Ints(vs) => {
            for &v in vs {
                a.int(8, v);
            }
            a.int(20, 7);
        }
        AttrValue::Strs(vs) => {
            for s in vs {
                a.bytes(9, s.as_bytes());
            }
            a.int(20, 8);
        }
    }
    a
}

/// A `NodeProto` of the default domain.
pub(crate) fn node(
    name: &str,
    op_type: &str,
    inputs: &[&str],
    outputs: &[&str],
    attrs: &[(&str, AttrValue)],
) -> Msg {
    let mut n = Msg::default();
    for i in inputs {
        n.string(1, i);
    }
    for o in outputs {
        n.string(2, o);
    }
    n.string(3, name).string(4, op_type);
    for (k, v) in attrs {
        n.msg(5, &attribute(k, v));
    }
    n
}

/// A `GraphProto`.
pub(crate) fn graph(
    name: &str,
    nodes: &[Msg],
    initializers: &[Msg],
    inputs: &[Msg],
    outputs: &[Msg],
) -> Msg {
    let mut g = Msg::default();
    for n in nodes {
        g.msg(1, n);
    }
    g.string(2, name);
    for t in initializers {
        g.msg(5, t);
    }
    for i in inputs {
        g.msg(11, i);
    }
    for o in outputs {
        g.msg(12, o);
    }
    g
}

/// A `ModelProto` importing opset `opset` of the default domain.
pub(crate) fn model(
    ir_version: i64,
    opset: i64,
    producer: &str,
    version: &str,
    graph: &Msg,
) -> Msg {
    let mut op = Msg::default();
    op.string(1, "").int(2, opset);
    let mut m = Msg::default();
    m.int(1, ir_version)
        .string(2, producer)
        .string(3, version)
        .msg(7, graph)
        .msg(8, &op);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_follow_the_wire_format() {
        let mut m = Msg::default();
        m.int(1, 150);
        // The protobuf documentation's own example: field 1 = 150.
        assert_eq!(m.clone().into_bytes(), [0x08, 0x96, 0x01]);
        let mut neg = Msg::default();
        neg.int(3, -1);
        let bytes = neg.into_bytes();
        assert_eq!(bytes.len(), 11);
        assert_eq!(bytes[0], 0x18);
        assert_eq!(bytes[10], 0x01);
    }

    #[test]
    fn strings_and_floats_are_length_delimited_and_fixed() {
        let mut m = Msg::default();
        m.string(2, "ab").float(7, 1.0);
        assert_eq!(
            m.into_bytes(),
            [0x12, 2, b'a', b'b', 0x3d, 0x00, 0x00, 0x80, 0x3f]
        );
    }
}

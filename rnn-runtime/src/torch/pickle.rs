//! A restricted unpickler for the `data.pkl` record of a `torch.save` archive: it
//! rebuilds a `state_dict` (a dict of tensor references) as plain data and executes
//! nothing.
//!
//! Python's unpickler is a small stack machine whose `GLOBAL` and `REDUCE` opcodes
//! import and call any function the file names, so loading a pickle can run arbitrary
//! code. This one knows a fixed set of opcodes and a fixed set of global names, and
//! gives each name a meaning of its own instead of importing it:
//!
//! | global | meaning here |
//! | --- | --- |
//! | `collections.OrderedDict` | called with no arguments: an empty ordered dict |
//! | `torch._utils._rebuild_tensor_v2` | called with `(storage, offset, size, stride, requires_grad, hooks[, metadata])`: a tensor reference |
//! | `torch._utils._rebuild_tensor_v3` | the same with the dtype after `hooks` (PyTorch writes it for dtypes without a legacy storage class: `uint16`, `float8_*`, …) |
//! | `torch._utils._rebuild_parameter` | called with `(tensor, requires_grad, hooks)`: the tensor (`state_dict(keep_vars=True)`) |
//! | `torch.FloatStorage`, `torch.DoubleStorage`, … (the legacy typed storage classes), `torch.storage.UntypedStorage`, `torch.UntypedStorage` | only inside a persistent id: the element type of a storage |
//! | `torch.float32`, `torch.uint16`, … | only as `_rebuild_tensor_v3`'s dtype |
//!
//! Any other global is refused by name ([`Refusal::Global`]) before anything else
//! happens, and so is every opcode outside the 35 of `ACCEPTED` ([`Refusal::Opcode`]): the
//! object-building opcodes (`INST`, `OBJ`, `NEWOBJ`, `NEWOBJ_EX`), the extension
//! registry (`EXT1`, `EXT2`, `EXT4`), text persistent ids (`PERSID`), the text
//! protocol 0 opcodes, byte strings, sets, out-of-band buffers and stack
//! manipulation that PyTorch never writes. Damage (a truncated record, a memo index
//! never stored, a stack underflow, a call with the wrong arguments) is
//! [`Refusal::Damaged`]. Nothing panics, whatever the bytes.
//!
//! Memory is bounded by a budget the caller sets: every vector of the machine grows
//! through [`Budget::room`], which charges the allocation before making it, and a
//! pickle that would build more is refused. Values are 16 bytes; strings and
//! containers are indices into the [`Pickle`]'s tables, so a memo entry read a
//! thousand times is stored once. Cycles, which a hostile pickle can build, are
//! harmless: objects live in one arena and refer to each other by index, so nothing is
//! dropped or walked recursively.

/// The opcodes this unpickler executes, with their names: what `torch.save` writes
/// for a `state_dict` with pickle protocols 2 (its default) to 5, plus the plain-data
/// opcodes of a training-checkpoint dict (lists, floats, `None`), so that a
/// checkpoint is refused as a checkpoint rather than for its first list. The arms of
/// [`unpickle`]'s `match` are these; the tests hold the two to each other.
#[cfg(test)]
const ACCEPTED: &[(u8, &str)] = &[
    (PROTO, "PROTO"),
    (FRAME, "FRAME"),
    (STOP, "STOP"),
    (MARK, "MARK"),
    (EMPTY_DICT, "EMPTY_DICT"),
    (EMPTY_LIST, "EMPTY_LIST"),
    (EMPTY_TUPLE, "EMPTY_TUPLE"),
    (TUPLE, "TUPLE"),
    (TUPLE1, "TUPLE1"),
    (TUPLE2, "TUPLE2"),
    (TUPLE3, "TUPLE3"),
    (APPEND, "APPEND"),
    (APPENDS, "APPENDS"),
    (SETITEM, "SETITEM"),
    (SETITEMS, "SETITEMS"),
    (BINUNICODE, "BINUNICODE"),
    (SHORT_BINUNICODE, "SHORT_BINUNICODE"),
    (BININT, "BININT"),
    (BININT1, "BININT1"),
    (BININT2, "BININT2"),
    (LONG1, "LONG1"),
    (BINFLOAT, "BINFLOAT"),
    (NONE, "NONE"),
    (NEWTRUE, "NEWTRUE"),
    (NEWFALSE, "NEWFALSE"),
    (BINPUT, "BINPUT"),
    (LONG_BINPUT, "LONG_BINPUT"),
    (MEMOIZE, "MEMOIZE"),
    (BINGET, "BINGET"),
    (LONG_BINGET, "LONG_BINGET"),
    (GLOBAL, "GLOBAL"),
    (STACK_GLOBAL, "STACK_GLOBAL"),
    (BINPERSID, "BINPERSID"),
    (REDUCE, "REDUCE"),
    (BUILD, "BUILD"),
];

/// Every other opcode of pickle protocols 0 to 5, refused by name.
const REFUSED: &[(u8, &str)] = &[
    (b'I', "INT"),
    (b'L', "LONG"),
    (0x8b, "LONG4"),
    (b'S', "STRING"),
    (b'T', "BINSTRING"),
    (b'U', "SHORT_BINSTRING"),
    (b'B', "BINBYTES"),
    (b'C', "SHORT_BINBYTES"),
    (0x8e, "BINBYTES8"),
    (0x96, "BYTEARRAY8"),
    (0x97, "NEXT_BUFFER"),
    (0x98, "READONLY_BUFFER"),
    (b'V', "UNICODE"),
    (0x8d, "BINUNICODE8"),
    (b'F', "FLOAT"),
    (b'l', "LIST"),
    (b'd', "DICT"),
    (0x8f, "EMPTY_SET"),
    (0x90, "ADDITEMS"),
    (0x91, "FROZENSET"),
    (b'0', "POP"),
    (b'2', "DUP"),
    (b'1', "POP_MARK"),
    (b'g', "GET"),
    (b'p', "PUT"),
    (0x82, "EXT1"),
    (0x83, "EXT2"),
    (0x84, "EXT4"),
    (b'i', "INST"),
    (b'o', "OBJ"),
    (0x81, "NEWOBJ"),
    (0x92, "NEWOBJ_EX"),
    (b'P', "PERSID"),
];

const PROTO: u8 = 0x80;
const FRAME: u8 = 0x95;
const STOP: u8 = b'.';
const MARK: u8 = b'(';
const EMPTY_DICT: u8 = b'}';
const EMPTY_LIST: u8 = b']';
const EMPTY_TUPLE: u8 = b')';
const TUPLE: u8 = b't';
const TUPLE1: u8 = 0x85;
const TUPLE2: u8 = 0x86;
const TUPLE3: u8 = 0x87;
const APPEND: u8 = b'a';
const APPENDS: u8 = b'e';
const SETITEM: u8 = b's';
const SETITEMS: u8 = b'u';
const BINUNICODE: u8 = b'X';
const SHORT_BINUNICODE: u8 = 0x8c;
const BININT: u8 = b'J';
const BININT1: u8 = b'K';
const BININT2: u8 = b'M';
const LONG1: u8 = 0x8a;
const BINFLOAT: u8 = b'G';
const NONE: u8 = b'N';
const NEWTRUE: u8 = 0x88;
const NEWFALSE: u8 = 0x89;
const BINPUT: u8 = b'q';
const LONG_BINPUT: u8 = b'r';
const MEMOIZE: u8 = 0x94;
const BINGET: u8 = b'h';
const LONG_BINGET: u8 = b'j';
const GLOBAL: u8 = b'c';
const STACK_GLOBAL: u8 = 0x93;
const BINPERSID: u8 = b'Q';
const REDUCE: u8 = b'R';
const BUILD: u8 = b'b';

/// A tensor has at most this many dimensions here (PyTorch's parameters have up to 5;
/// the bound keeps a damaged size tuple from costing more than a few hundred bytes).
pub(crate) const MAX_DIMS: usize = 64;

/// An element type: PyTorch's dtype names, the legacy storage class of each dtype
/// that has one, and the name errors give it (safetensors' name where it has one, so
/// that a `.pt` and a safetensors file of the same tensor are refused alike).
const DTYPES: &[(&str, Option<&str>, &str, usize)] = &[
    ("float32", Some("FloatStorage"), "F32", 4),
    ("float64", Some("DoubleStorage"), "F64", 8),
    ("float16", Some("HalfStorage"), "F16", 2),
    ("bfloat16", Some("BFloat16Storage"), "BF16", 2),
    ("int64", Some("LongStorage"), "I64", 8),
    ("int32", Some("IntStorage"), "I32", 4),
    ("int16", Some("ShortStorage"), "I16", 2),
    ("int8", Some("CharStorage"), "I8", 1),
    ("uint8", Some("ByteStorage"), "U8", 1),
    ("bool", Some("BoolStorage"), "BOOL", 1),
    ("complex64", Some("ComplexFloatStorage"), "complex64", 8),
    ("complex128", Some("ComplexDoubleStorage"), "complex128", 16),
    ("uint16", None, "U16", 2),
    ("uint32", None, "U32", 4),
    ("uint64", None, "U64", 8),
    ("float8_e5m2", None, "F8_E5M2", 1),
    ("float8_e4m3fn", None, "F8_E4M3", 1),
    ("float8_e5m2fnuz", None, "float8_e5m2fnuz", 1),
    ("float8_e4m3fnuz", None, "float8_e4m3fnuz", 1),
    ("float8_e8m0fnu", None, "float8_e8m0fnu", 1),
    ("float4_e2m1fn_x2", None, "float4_e2m1fn_x2", 1),
    ("complex32", None, "complex32", 4),
    ("bits8", None, "bits8", 1),
    ("bits16", None, "bits16", 2),
    ("bits1x8", None, "bits1x8", 1),
    ("bits2x4", None, "bits2x4", 1),
    ("bits4x2", None, "bits4x2", 1),
];

/// An element type, an index into [`DTYPES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dtype(u8);

impl Dtype {
    /// float32, the one type parameters are read from.
    pub(crate) const F32: Dtype = Dtype(0);

    fn by_torch_name(name: &str) -> Option<Dtype> {
        DTYPES
            .iter()
            .position(|d| d.0 == name)
            .map(|i| Dtype(i as u8))
    }

    fn by_storage(name: &str) -> Option<Dtype> {
        DTYPES
            .iter()
            .position(|d| d.1 == Some(name))
            .map(|i| Dtype(i as u8))
    }

    /// How errors name it: `F64`, `BF16`, `complex64`, …
    pub(crate) fn name(self) -> &'static str {
        DTYPES[usize::from(self.0)].2
    }

    /// Bytes per element.
    pub(crate) fn size(self) -> usize {
        DTYPES[usize::from(self.0)].3
    }
}

/// A global name this unpickler resolves (see the module's table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Global {
    OrderedDict,
    RebuildTensorV2,
    RebuildTensorV3,
    RebuildParameter,
    /// A legacy typed storage class: storages of this element type.
    TypedStorage(Dtype),
    /// `UntypedStorage`: storages of bytes.
    UntypedStorage,
    /// A dtype object.
    Dtype(Dtype),
}

impl Global {
    fn resolve(module: &str, name: &str) -> Option<Global> {
        Some(match (module, name) {
            ("collections", "OrderedDict") => Global::OrderedDict,
            ("torch._utils", "_rebuild_tensor_v2") => Global::RebuildTensorV2,
            ("torch._utils", "_rebuild_tensor_v3") => Global::RebuildTensorV3,
            ("torch._utils", "_rebuild_parameter") => Global::RebuildParameter,
            ("torch.storage" | "torch", "UntypedStorage") => Global::UntypedStorage,
            ("torch", name) => match Dtype::by_storage(name) {
                Some(dtype) => Global::TypedStorage(dtype),
                None => Global::Dtype(Dtype::by_torch_name(name)?),
            },
            _ => return None,
        })
    }

    fn name(self) -> String {
        match self {
            Global::OrderedDict => "collections.OrderedDict".into(),
            Global::RebuildTensorV2 => "torch._utils._rebuild_tensor_v2".into(),
            Global::RebuildTensorV3 => "torch._utils._rebuild_tensor_v3".into(),
            Global::RebuildParameter => "torch._utils._rebuild_parameter".into(),
            Global::TypedStorage(d) => {
                format!("torch.{}", DTYPES[usize::from(d.0)].1.unwrap_or("?"))
            }
            Global::UntypedStorage => "torch.storage.UntypedStorage".into(),
            Global::Dtype(d) => format!("torch.{}", DTYPES[usize::from(d.0)].0),
        }
    }
}

/// A value on the stack or in the memo. Strings and containers are indices into the
/// [`Pickle`]'s tables, so a value is 16 bytes and copying it shares what it refers to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// An index into [`Pickle::strs`].
    Str(usize),
    Global(Global),
    /// An index into [`Pickle::objs`].
    Obj(usize),
}

/// A storage: the archive record `data/<key>` holding `numel` elements of `dtype`
/// (bytes when `None`: an untyped storage).
#[derive(Debug)]
pub(crate) struct Storage {
    pub(crate) dtype: Option<Dtype>,
    /// An index into [`Pickle::strs`].
    pub(crate) key: usize,
    pub(crate) numel: u64,
}

impl Storage {
    /// The record's length in bytes as the pickle declares it, if it fits in `u64`.
    pub(crate) fn bytes(&self) -> Option<u64> {
        self.numel
            .checked_mul(self.dtype.map_or(1, |d| d.size() as u64))
    }
}

/// A tensor: a view of `dtype` elements into a storage.
#[derive(Debug)]
pub(crate) struct Tensor {
    /// An index into [`Pickle::objs`] of an [`Obj::Storage`].
    pub(crate) storage: usize,
    pub(crate) dtype: Dtype,
    /// In elements of `dtype`.
    pub(crate) offset: u64,
    /// Indices into [`Pickle::objs`] of tuples of non-negative ints of one length, at
    /// most [`MAX_DIMS`].
    pub(crate) size: usize,
    pub(crate) stride: usize,
}

/// A container or torch object built by the pickle.
#[derive(Debug)]
pub(crate) enum Obj {
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict {
        ordered: bool,
        items: Vec<(Value, Value)>,
    },
    Storage(Storage),
    Tensor(Tensor),
}

/// Why a pickle is not unpickled; `at` is the offset of the opcode in the record.
#[derive(Debug, PartialEq)]
pub(crate) enum Refusal {
    /// An opcode [`unpickle`] does not execute.
    Opcode {
        at: usize,
        code: u8,
        name: &'static str,
    },
    /// A global outside the module's table, `module.name`.
    Global { at: usize, name: String },
    /// Damage, or a use of an accepted name that PyTorch does not write.
    Damaged { at: usize, reason: String },
}

/// An unpickled record: its value and the tables the value refers to.
#[derive(Debug)]
pub(crate) struct Pickle {
    strs: Vec<Box<str>>,
    objs: Vec<Obj>,
    /// What the pickle's `STOP` returned.
    pub(crate) root: Value,
    /// Bytes it allocated for its structures (see [`unpickle`]).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) built: usize,
}

impl Pickle {
    /// The string of [`Value::Str`] `i`.
    pub(crate) fn str(&self, i: usize) -> &str {
        &self.strs[i]
    }

    /// The object of [`Value::Obj`] `i`.
    pub(crate) fn obj(&self, i: usize) -> &Obj {
        &self.objs[i]
    }

    /// The ints of a size or stride tuple of a [`Tensor`] (checked when it was built).
    pub(crate) fn dims(&self, tuple: usize) -> impl Iterator<Item = u64> + '_ {
        let items: &[Value] = match &self.objs[tuple] {
            Obj::Tuple(items) => items,
            _ => &[],
        };
        items.iter().map(|v| match *v {
            Value::Int(i) => i as u64,
            _ => 0,
        })
    }

    /// The value in words, for errors: `a tensor`, `a list`, …
    pub(crate) fn kind(&self, value: Value) -> &'static str {
        kind(&self.objs, value)
    }
}

/// `value` in words, for errors: `a tensor`, `a list`, …
fn kind(objs: &[Obj], value: Value) -> &'static str {
    match value {
        Value::None => "None",
        Value::Bool(_) => "a bool",
        Value::Int(_) => "an int",
        Value::Float(_) => "a float",
        Value::Str(_) => "a string",
        Value::Global(_) => "a class or function",
        Value::Obj(i) => match &objs[i] {
            Obj::Tuple(_) => "a tuple",
            Obj::List(_) => "a list",
            Obj::Dict { ordered: true, .. } => "an OrderedDict",
            Obj::Dict { ordered: false, .. } => "a dict",
            Obj::Storage(_) => "a storage",
            Obj::Tensor(_) => "a tensor",
        },
    }
}

/// The bytes of the record and a cursor.
struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let out = self.data.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(out)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    /// A `\n`-terminated line (of `GLOBAL`), without the newline.
    fn line(&mut self) -> Option<&'a [u8]> {
        let rest = self.data.get(self.at..)?;
        let len = rest.iter().position(|&b| b == b'\n')?;
        self.at += len + 1;
        Some(&rest[..len])
    }
}

/// The machine: Python's stack, mark stack and memo.
struct Machine {
    stack: Vec<Value>,
    /// Stack lengths at each open `MARK`.
    marks: Vec<usize>,
    memo: Vec<Value>,
    strs: Vec<Box<str>>,
    objs: Vec<Obj>,
    /// Offset of the opcode being executed, for errors.
    at: usize,
    budget: Budget,
}

/// The heap the machine's structures may take: every vector grows through
/// [`Budget::room`], which charges what it allocates before allocating it (strings and
/// tuples are charged their exact size). Nothing is refunded, so `built` bounds the
/// machine's heap at every moment.
struct Budget {
    built: usize,
    limit: usize,
}

impl Budget {
    /// Counts `bytes` more; whether they are within the limit.
    #[must_use]
    fn charge(&mut self, bytes: usize) -> bool {
        self.built = self.built.saturating_add(bytes);
        self.built <= self.limit
    }

    /// Makes room in `vec` for `more` items, doubling its capacity as `Vec` does,
    /// charged first; whether it was within the limit (if not, nothing is allocated).
    #[must_use]
    fn room<T>(&mut self, vec: &mut Vec<T>, more: usize) -> bool {
        let need = vec.len().saturating_add(more);
        if need <= vec.capacity() {
            return true;
        }
        let new = need.max(vec.capacity().saturating_mul(2)).max(4);
        let bytes = (new - vec.capacity()).saturating_mul(std::mem::size_of::<T>());
        if !self.charge(bytes) {
            return false;
        }
        vec.reserve_exact(new - vec.len());
        true
    }
}

impl Machine {
    fn damaged(&self, reason: impl Into<String>) -> Refusal {
        Refusal::Damaged {
            at: self.at,
            reason: reason.into(),
        }
    }

    /// The refusal of a pickle that builds more than its budget.
    fn over_budget(&self) -> Refusal {
        self.damaged(format!(
            "the pickle builds more than {} bytes of objects, out of proportion to the file \
             (damaged or hostile)",
            self.budget.limit
        ))
    }

    /// Counts `bytes` more against the budget.
    fn charge(&mut self, bytes: usize) -> Result<(), Refusal> {
        if self.budget.charge(bytes) {
            Ok(())
        } else {
            Err(self.over_budget())
        }
    }

    fn push(&mut self, value: Value) -> Result<(), Refusal> {
        if !self.budget.room(&mut self.stack, 1) {
            return Err(self.over_budget());
        }
        self.stack.push(value);
        Ok(())
    }

    /// Pushes a new object; a tuple's or list's items (a vector of exactly their
    /// number, moved from the stack) are charged too.
    fn push_obj(&mut self, obj: Obj) -> Result<(), Refusal> {
        if let Obj::Tuple(items) | Obj::List(items) = &obj {
            self.charge(items.capacity() * VALUE)?;
        }
        if !self.budget.room(&mut self.objs, 1) {
            return Err(self.over_budget());
        }
        self.objs.push(obj);
        self.push(Value::Obj(self.objs.len() - 1))
    }

    /// The items of the list or dict `target`, with room for `more` (charged).
    fn room_in(&mut self, target: Value, more: usize, dict: bool) -> Result<(), Refusal> {
        let Machine { objs, budget, .. } = self;
        let fits = match (target, dict) {
            (Value::Obj(i), false) => match &mut objs[i] {
                Obj::List(items) => budget.room(items, more),
                _ => return Err(self.damaged("APPEND(S) on something that is not a list")),
            },
            (Value::Obj(i), true) => match &mut objs[i] {
                Obj::Dict { items, .. } => budget.room(items, more / 2),
                _ => return Err(self.damaged("SETITEM(S) on something that is not a dict")),
            },
            (_, false) => return Err(self.damaged("APPEND(S) on something that is not a list")),
            (_, true) => return Err(self.damaged("SETITEM(S) on something that is not a dict")),
        };
        if fits {
            Ok(())
        } else {
            Err(self.over_budget())
        }
    }

    /// The stack's length below which the current mark protects it.
    fn floor(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn pop(&mut self) -> Result<Value, Refusal> {
        if self.stack.len() <= self.floor() {
            return Err(self.damaged("stack underflow"));
        }
        self.stack
            .pop()
            .ok_or_else(|| self.damaged("stack underflow"))
    }

    fn top(&self) -> Result<Value, Refusal> {
        if self.stack.len() <= self.floor() {
            return Err(self.damaged("stack underflow"));
        }
        self.stack
            .last()
            .copied()
            .ok_or_else(|| self.damaged("stack underflow"))
    }

    /// The values pushed since the last `MARK`, which is closed.
    fn pop_mark(&mut self) -> Result<Vec<Value>, Refusal> {
        let mark = self
            .marks
            .pop()
            .ok_or_else(|| self.damaged("no MARK to collect items from"))?;
        Ok(self.stack.split_off(mark.min(self.stack.len())))
    }

    fn pop_n(&mut self, n: usize) -> Result<Vec<Value>, Refusal> {
        if self.stack.len() < self.floor() + n {
            return Err(self.damaged("stack underflow"));
        }
        Ok(self.stack.split_off(self.stack.len() - n))
    }

    fn str_of(&self, v: Value) -> Option<&str> {
        match v {
            Value::Str(i) => Some(&self.strs[i]),
            _ => None,
        }
    }

    fn memo_put(&mut self, index: usize) -> Result<(), Refusal> {
        let value = self.top()?;
        match index.cmp(&self.memo.len()) {
            std::cmp::Ordering::Less => self.memo[index] = value,
            std::cmp::Ordering::Equal => {
                if !self.budget.room(&mut self.memo, 1) {
                    return Err(self.over_budget());
                }
                self.memo.push(value);
            }
            // Python's pickler numbers memo entries in order; a gap is damage, and
            // refusing it keeps the memo as long as the opcodes that filled it.
            std::cmp::Ordering::Greater => {
                return Err(self.damaged(format!(
                    "memo index {index} skips ahead of the {} entries stored",
                    self.memo.len()
                )))
            }
        }
        Ok(())
    }

    fn memo_get(&mut self, index: usize) -> Result<(), Refusal> {
        let value = *self
            .memo
            .get(index)
            .ok_or_else(|| self.damaged(format!("memo index {index} was never stored")))?;
        self.push(value)
    }

    fn string(&mut self, bytes: &[u8]) -> Result<(), Refusal> {
        let s =
            std::str::from_utf8(bytes).map_err(|_| self.damaged("a string that is not UTF-8"))?;
        self.charge(s.len())?;
        if !self.budget.room(&mut self.strs, 1) {
            return Err(self.over_budget());
        }
        self.strs.push(s.into());
        self.push(Value::Str(self.strs.len() - 1))
    }

    fn global(&mut self, module: &str, name: &str) -> Result<(), Refusal> {
        let global = Global::resolve(module, name).ok_or_else(|| Refusal::Global {
            at: self.at,
            name: format!("{}.{}", clip(module), clip(name)),
        })?;
        self.push(Value::Global(global))
    }

    fn dict_mut(&mut self, target: Value) -> Result<&mut Vec<(Value, Value)>, Refusal> {
        let at = self.at;
        let error = move || Refusal::Damaged {
            at,
            reason: "SETITEM(S) on something that is not a dict".into(),
        };
        match target {
            Value::Obj(i) => match &mut self.objs[i] {
                Obj::Dict { items, .. } => Ok(items),
                _ => Err(error()),
            },
            _ => Err(error()),
        }
    }

    fn list_mut(&mut self, target: Value) -> Result<&mut Vec<Value>, Refusal> {
        let at = self.at;
        let error = move || Refusal::Damaged {
            at,
            reason: "APPEND(S) on something that is not a list".into(),
        };
        match target {
            Value::Obj(i) => match &mut self.objs[i] {
                Obj::List(items) => Ok(items),
                _ => Err(error()),
            },
            _ => Err(error()),
        }
    }

    fn tuple(&self, v: Value) -> Option<&[Value]> {
        match v {
            Value::Obj(i) => match &self.objs[i] {
                Obj::Tuple(items) => Some(items),
                _ => None,
            },
            _ => None,
        }
    }

    /// `BINPERSID`: PyTorch's `('storage', storage_type, key, location, numel)`.
    fn persistent_load(&mut self, pid: Value) -> Result<(), Refusal> {
        let bad = || {
            self.damaged(
                "a persistent id that is not PyTorch's storage reference \
                 ('storage', storage type, key, location, numel)",
            )
        };
        let items = self.tuple(pid).ok_or_else(bad)?;
        let [tag, kind, key, location, numel] = items else {
            return Err(bad());
        };
        if self.str_of(*tag) != Some("storage") || self.str_of(*location).is_none() {
            return Err(bad());
        }
        let dtype = match kind {
            Value::Global(Global::TypedStorage(dtype)) => Some(*dtype),
            Value::Global(Global::UntypedStorage) => None,
            _ => return Err(bad()),
        };
        let (Value::Str(key), Value::Int(numel)) = (*key, *numel) else {
            return Err(bad());
        };
        let numel = u64::try_from(numel).map_err(|_| bad())?;
        self.push_obj(Obj::Storage(Storage { dtype, key, numel }))
    }

    /// A size or stride tuple: non-negative ints, at most [`MAX_DIMS`].
    fn dims(&self, v: Value, what: &str) -> Result<(usize, usize), Refusal> {
        let bad = || {
            self.damaged(format!(
                "a tensor's {what} is not a tuple of non-negative ints"
            ))
        };
        let Value::Obj(i) = v else { return Err(bad()) };
        let items = self.tuple(v).ok_or_else(bad)?;
        if items.len() > MAX_DIMS {
            return Err(self.damaged(format!(
                "a tensor of {} dimensions (at most {MAX_DIMS} are read)",
                items.len()
            )));
        }
        if !items.iter().all(|v| matches!(v, Value::Int(n) if *n >= 0)) {
            return Err(bad());
        }
        Ok((i, items.len()))
    }

    /// `_rebuild_tensor_v2` / `_v3` arguments: `(storage, offset, size, stride,
    /// requires_grad, hooks[, dtype (v3)][, metadata])`.
    fn rebuild_tensor(&mut self, args: &[Value], v3: bool) -> Result<(), Refusal> {
        let fixed = if v3 { 7 } else { 6 };
        let name = if v3 {
            "_rebuild_tensor_v3"
        } else {
            "_rebuild_tensor_v2"
        };
        if args.len() != fixed && args.len() != fixed + 1 {
            return Err(self.damaged(format!(
                "{name} called with {} arguments instead of {fixed} or {}",
                args.len(),
                fixed + 1
            )));
        }
        let Value::Obj(storage) = args[0] else {
            return Err(self.damaged(format!("{name}'s first argument is not a storage")));
        };
        let Obj::Storage(s) = &self.objs[storage] else {
            return Err(self.damaged(format!("{name}'s first argument is not a storage")));
        };
        let dtype = match (v3, s.dtype, args.get(6)) {
            (false, Some(dtype), _) => dtype,
            (true, None, Some(Value::Global(Global::Dtype(dtype)))) => *dtype,
            _ => {
                return Err(self.damaged(format!(
                    "{name} with a storage and dtype that PyTorch does not pair (a typed \
                     storage for v2; an untyped storage and a dtype for v3)"
                )))
            }
        };
        let Value::Int(offset) = args[1] else {
            return Err(self.damaged(format!("{name}'s storage offset is not an int")));
        };
        let offset = u64::try_from(offset)
            .map_err(|_| self.damaged(format!("{name}'s storage offset is negative")))?;
        let (size, dims) = self.dims(args[2], "size")?;
        let (stride, stride_dims) = self.dims(args[3], "stride")?;
        if dims != stride_dims {
            return Err(self.damaged(format!(
                "a tensor of {dims} dimensions with {stride_dims} strides"
            )));
        }
        if !matches!(args[4], Value::Bool(_)) {
            return Err(self.damaged(format!("{name}'s requires_grad is not a bool")));
        }
        // `backward_hooks` (args[5]) is always an empty OrderedDict; it is not used.
        if let Some(&metadata) = args.get(fixed) {
            // `torch._utils.get_tensor_metadata`: written only when not empty, which no
            // float tensor of a state_dict has (conjugate and negative bits are of
            // complex tensors).
            let empty = matches!(metadata, Value::Obj(i)
                if matches!(&self.objs[i], Obj::Dict { items, .. } if items.is_empty()));
            if !empty {
                return Err(self.damaged(format!(
                    "{name} with tensor metadata (conjugate or negative bits), which is not read"
                )));
            }
        }
        self.push_obj(Obj::Tensor(Tensor {
            storage,
            dtype,
            offset,
            size,
            stride,
        }))
    }

    /// `REDUCE`: `callable(*args)` for the callables of the module's table.
    fn reduce(&mut self) -> Result<(), Refusal> {
        let args = self.pop()?;
        let callable = self.pop()?;
        // No callable here takes more than 8 arguments: a longer tuple is refused by the
        // arity checks below without being copied.
        let args: Vec<Value> = self
            .tuple(args)
            .ok_or_else(|| self.damaged("REDUCE with arguments that are not a tuple"))?
            .iter()
            .take(9)
            .copied()
            .collect();
        let Value::Global(global) = callable else {
            return Err(self.damaged(format!(
                "REDUCE calls {}, which is not a function",
                kind(&self.objs, callable)
            )));
        };
        match global {
            Global::OrderedDict if args.is_empty() => self.push_obj(Obj::Dict {
                ordered: true,
                items: Vec::new(),
            })?,
            Global::OrderedDict => {
                return Err(self.damaged(
                    "OrderedDict called with arguments (PyTorch writes OrderedDict() and \
                     then its items)",
                ))
            }
            Global::RebuildTensorV2 => self.rebuild_tensor(&args, false)?,
            Global::RebuildTensorV3 => self.rebuild_tensor(&args, true)?,
            Global::RebuildParameter => {
                let [tensor @ Value::Obj(i), Value::Bool(_), _] = args[..] else {
                    return Err(self.damaged(
                        "_rebuild_parameter called with other arguments than (tensor, \
                         requires_grad, hooks)",
                    ));
                };
                if !matches!(self.objs[i], Obj::Tensor(_)) {
                    return Err(self.damaged("_rebuild_parameter of something not a tensor"));
                }
                self.push(tensor)?;
            }
            Global::TypedStorage(_) | Global::UntypedStorage | Global::Dtype(_) => {
                return Err(self.damaged(format!(
                    "REDUCE calls `{}`, which PyTorch names only as a storage's or tensor's \
                     type",
                    global.name()
                )))
            }
        }
        Ok(())
    }

    /// `BUILD`: the state of an `OrderedDict` is its attributes (a `state_dict`'s
    /// `_metadata`: module versions), which are not used; anything else is refused.
    fn build(&mut self) -> Result<(), Refusal> {
        let state = self.pop()?;
        let target = self.top()?;
        let ordered = matches!(target, Value::Obj(i) if matches!(self.objs[i], Obj::Dict { ordered: true, .. }));
        let dict_state = matches!(state, Value::Obj(i) if matches!(self.objs[i], Obj::Dict { ordered: false, .. }));
        if !ordered || !dict_state {
            return Err(self.damaged(format!(
                "BUILD sets the state of {} from {}; only an OrderedDict's attributes (a \
                 state_dict's `_metadata`) are read",
                kind(&self.objs, target),
                kind(&self.objs, state)
            )));
        }
        Ok(())
    }
}

/// `name` cut to 100 characters for an error message (a damaged file's "name" may be
/// megabytes long).
fn clip(name: &str) -> String {
    match name.char_indices().nth(100) {
        Some((end, _)) => format!("{}…", &name[..end]),
        None => name.to_owned(),
    }
}

/// Why opcode `code` is not executed: a refused opcode, or no opcode at all.
fn refuse(code: u8, at: usize) -> Refusal {
    match REFUSED.iter().find(|o| o.0 == code) {
        Some(&(code, name)) => Refusal::Opcode { at, code, name },
        None => Refusal::Damaged {
            at,
            reason: format!("byte 0x{code:02x} is not a pickle opcode (damaged)"),
        },
    }
}

/// Bytes of one value on the stack, in the memo or in a container.
const VALUE: usize = std::mem::size_of::<Value>();

/// Runs the pickle `data` to its `STOP`, allocating at most `budget` bytes for its
/// structures (the stack, memo and object vectors, containers and strings, counted as
/// they grow and never refunded; see the caller for what torch's pickles take).
pub(crate) fn unpickle(data: &[u8], budget: usize) -> Result<Pickle, Refusal> {
    let mut r = Reader { data, at: 0 };
    let mut m = Machine {
        stack: Vec::new(),
        marks: Vec::new(),
        memo: Vec::new(),
        strs: Vec::new(),
        objs: Vec::new(),
        at: 0,
        budget: Budget {
            built: 0,
            limit: budget,
        },
    };
    loop {
        m.at = r.at;
        let truncated = |m: &Machine| m.damaged("the record ends inside an opcode (truncated)");
        let Some([code]) = r.array() else {
            return Err(m.damaged("the record ends before the pickle's STOP (truncated)"));
        };
        // Each arm is one accepted opcode (`ACCEPTED`, in the tests); the rest are
        // refused.
        match code {
            PROTO => {
                let [version] = r.array().ok_or_else(|| truncated(&m))?;
                if !(2..=5).contains(&version) {
                    return Err(m.damaged(format!(
                        "pickle protocol {version} (protocols 2 to 5 are read)"
                    )));
                }
            }
            FRAME => {
                // The frame's length is a buffering hint; the opcodes are read as they
                // come, each bounds-checked.
                r.array::<8>().ok_or_else(|| truncated(&m))?;
            }
            STOP => {
                let root = m.pop()?;
                return Ok(Pickle {
                    strs: m.strs,
                    objs: m.objs,
                    root,
                    built: m.budget.built,
                });
            }
            MARK => {
                if !m.budget.room(&mut m.marks, 1) {
                    return Err(m.over_budget());
                }
                m.marks.push(m.stack.len());
            }
            EMPTY_DICT => m.push_obj(Obj::Dict {
                ordered: false,
                items: Vec::new(),
            })?,
            EMPTY_LIST => m.push_obj(Obj::List(Vec::new()))?,
            EMPTY_TUPLE => m.push_obj(Obj::Tuple(Vec::new()))?,
            TUPLE => {
                let items = m.pop_mark()?;
                m.push_obj(Obj::Tuple(items))?;
            }
            TUPLE1 | TUPLE2 | TUPLE3 => {
                let items = m.pop_n(usize::from(code - TUPLE1) + 1)?;
                m.push_obj(Obj::Tuple(items))?;
            }
            APPEND => {
                let value = m.pop()?;
                let list = m.top()?;
                m.room_in(list, 1, false)?;
                m.list_mut(list)?.push(value);
            }
            APPENDS => {
                let items = m.pop_mark()?;
                let list = m.top()?;
                m.room_in(list, items.len(), false)?;
                m.list_mut(list)?.extend(items);
            }
            SETITEM => {
                let value = m.pop()?;
                let key = m.pop()?;
                let dict = m.top()?;
                m.room_in(dict, 2, true)?;
                m.dict_mut(dict)?.push((key, value));
            }
            SETITEMS => {
                let items = m.pop_mark()?;
                if items.len() % 2 != 0 {
                    return Err(m.damaged("SETITEMS with a key but no value"));
                }
                let dict = m.top()?;
                m.room_in(dict, items.len(), true)?;
                let pairs = items.chunks_exact(2).map(|kv| (kv[0], kv[1]));
                m.dict_mut(dict)?.extend(pairs);
            }
            BINUNICODE => {
                let len = u32::from_le_bytes(r.array().ok_or_else(|| truncated(&m))?);
                let bytes = r.take(len as usize).ok_or_else(|| truncated(&m))?;
                m.string(bytes)?;
            }
            SHORT_BINUNICODE => {
                let [len] = r.array().ok_or_else(|| truncated(&m))?;
                let bytes = r.take(usize::from(len)).ok_or_else(|| truncated(&m))?;
                m.string(bytes)?;
            }
            BININT => {
                let v = i32::from_le_bytes(r.array().ok_or_else(|| truncated(&m))?);
                m.push(Value::Int(i64::from(v)))?;
            }
            BININT1 => {
                let [v] = r.array().ok_or_else(|| truncated(&m))?;
                m.push(Value::Int(i64::from(v)))?;
            }
            BININT2 => {
                let v = u16::from_le_bytes(r.array().ok_or_else(|| truncated(&m))?);
                m.push(Value::Int(i64::from(v)))?;
            }
            LONG1 => {
                let [len] = r.array().ok_or_else(|| truncated(&m))?;
                let bytes = r.take(usize::from(len)).ok_or_else(|| truncated(&m))?;
                if bytes.len() > 8 {
                    return Err(m.damaged(format!(
                        "an integer of {len} bytes, wider than 64 bits (no state_dict has one)"
                    )));
                }
                // Two's complement, little-endian, sign-extended from its last byte.
                let fill = if bytes.last().is_some_and(|b| b & 0x80 != 0) {
                    0xff
                } else {
                    0
                };
                let mut wide = [fill; 8];
                wide[..bytes.len()].copy_from_slice(bytes);
                m.push(Value::Int(i64::from_le_bytes(wide)))?;
            }
            BINFLOAT => {
                let v = f64::from_be_bytes(r.array().ok_or_else(|| truncated(&m))?);
                m.push(Value::Float(v))?;
            }
            NONE => m.push(Value::None)?,
            NEWTRUE => m.push(Value::Bool(true))?,
            NEWFALSE => m.push(Value::Bool(false))?,
            BINPUT => {
                let [i] = r.array().ok_or_else(|| truncated(&m))?;
                m.memo_put(usize::from(i))?;
            }
            LONG_BINPUT => {
                let i = u32::from_le_bytes(r.array().ok_or_else(|| truncated(&m))?);
                m.memo_put(i as usize)?;
            }
            MEMOIZE => m.memo_put(m.memo.len())?,
            BINGET => {
                let [i] = r.array().ok_or_else(|| truncated(&m))?;
                m.memo_get(usize::from(i))?;
            }
            LONG_BINGET => {
                let i = u32::from_le_bytes(r.array().ok_or_else(|| truncated(&m))?);
                m.memo_get(i as usize)?;
            }
            GLOBAL => {
                let module = r.line().ok_or_else(|| truncated(&m))?;
                let name = r.line().ok_or_else(|| truncated(&m))?;
                let (Ok(module), Ok(name)) =
                    (std::str::from_utf8(module), std::str::from_utf8(name))
                else {
                    return Err(m.damaged("a GLOBAL name that is not UTF-8"));
                };
                m.global(module, name)?;
            }
            STACK_GLOBAL => {
                let name = m.pop()?;
                let module = m.pop()?;
                let (Some(module), Some(name)) = (m.str_of(module), m.str_of(name)) else {
                    return Err(m.damaged("STACK_GLOBAL of something other than two strings"));
                };
                let (module, name) = (module.to_owned(), name.to_owned());
                m.global(&module, &name)?;
            }
            BINPERSID => {
                let pid = m.pop()?;
                m.persistent_load(pid)?;
            }
            REDUCE => m.reduce()?,
            BUILD => m.build()?,
            other => return Err(refuse(other, m.at)),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Enough for every pickle of these tests.
    const BUDGET: usize = 1 << 20;

    /// `BINUNICODE s`.
    pub(crate) fn text(s: &str) -> Vec<u8> {
        let mut out = vec![BINUNICODE];
        out.extend((s.len() as u32).to_le_bytes());
        out.extend(s.as_bytes());
        out
    }

    /// `GLOBAL module name`.
    pub(crate) fn global(module: &str, name: &str) -> Vec<u8> {
        format!("c{module}\n{name}\n").into_bytes()
    }

    /// What torch.save writes for one float32 tensor of `size` with `stride` at `offset`
    /// into storage `key` of `numel` elements (protocol 2, memo left out).
    pub(crate) fn tensor(key: &str, numel: u8, offset: u8, size: &[u8], stride: &[u8]) -> Vec<u8> {
        let ints = |v: &[u8]| {
            let mut out = vec![MARK];
            for &n in v {
                out.extend([BININT1, n]);
            }
            out.push(TUPLE);
            out
        };
        [
            global("torch._utils", "_rebuild_tensor_v2"),
            vec![MARK, MARK],
            text("storage"),
            global("torch", "FloatStorage"),
            text(key),
            text("cpu"),
            vec![BININT1, numel, TUPLE, BINPERSID, BININT1, offset],
            ints(size),
            ints(stride),
            vec![NEWFALSE],
            global("collections", "OrderedDict"),
            vec![EMPTY_TUPLE, REDUCE, TUPLE, REDUCE],
        ]
        .concat()
    }

    /// A state_dict of `entries` (name, tensor pickle) as torch.save writes it:
    /// `OrderedDict()`, its items, its `_metadata` set by BUILD.
    pub(crate) fn state_dict(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut out = vec![PROTO, 2];
        out.extend(global("collections", "OrderedDict"));
        out.extend([BINPUT, 0, EMPTY_TUPLE, REDUCE, MARK]);
        for (name, t) in entries {
            out.extend(text(name));
            out.extend(t);
        }
        out.push(SETITEMS);
        out.extend([EMPTY_DICT]);
        out.extend(text("_metadata"));
        out.extend([BINGET, 0, EMPTY_TUPLE, REDUCE, MARK]);
        out.extend(text(""));
        out.extend([EMPTY_DICT]);
        out.extend(text("version"));
        out.extend([BININT1, 1, SETITEM, SETITEMS, SETITEM, BUILD, STOP]);
        out
    }

    /// `hay` with the first `from` replaced by `to`.
    fn swap(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
        let at = hay
            .windows(from.len())
            .position(|w| w == from)
            .expect("present");
        [&hay[..at], to, &hay[at + from.len()..]].concat()
    }

    fn two_tensors() -> Vec<u8> {
        state_dict(&[
            ("fc.weight", tensor("0", 6, 0, &[2, 3], &[3, 1])),
            ("fc.bias", tensor("1", 2, 0, &[2], &[1])),
        ])
    }

    fn refusal(bytes: &[u8]) -> Refusal {
        unpickle(bytes, BUDGET).expect_err("refused")
    }

    fn damage(bytes: &[u8]) -> String {
        match refusal(bytes) {
            Refusal::Damaged { reason, .. } => reason,
            other => panic!("not damage: {other:?}"),
        }
    }

    #[test]
    fn a_state_dict_as_torch_writes_it_unpickles() {
        let p = unpickle(&two_tensors(), BUDGET).unwrap();
        let Value::Obj(root) = p.root else { panic!() };
        let Obj::Dict {
            ordered: true,
            items,
        } = p.obj(root)
        else {
            panic!("{:?}", p.obj(root))
        };
        let names: Vec<&str> = items
            .iter()
            .map(|(k, _)| match k {
                Value::Str(i) => p.str(*i),
                _ => panic!(),
            })
            .collect();
        assert_eq!(names, ["fc.weight", "fc.bias"]);
        let Value::Obj(t) = items[0].1 else { panic!() };
        let Obj::Tensor(t) = p.obj(t) else { panic!() };
        assert_eq!(t.dtype, Dtype::F32);
        assert_eq!(p.dims(t.size).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(p.dims(t.stride).collect::<Vec<_>>(), [3, 1]);
        let Obj::Storage(s) = p.obj(t.storage) else {
            panic!()
        };
        assert_eq!((p.str(s.key), s.numel, s.bytes()), ("0", 6, Some(24)));
    }

    #[test]
    fn accepted_and_refused_opcodes_are_python_s_68() {
        let mut all: Vec<u8> = ACCEPTED.iter().chain(REFUSED).map(|o| o.0).collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(
            all.len(),
            68,
            "every opcode of pickle protocols 0-5, each once"
        );
        assert_eq!((ACCEPTED.len(), REFUSED.len()), (35, 33));
        // Each accepted opcode is executed: alone, it fails for want of operands or
        // stack, never as refused.
        for &(code, name) in ACCEPTED {
            match unpickle(&[code], BUDGET) {
                Err(Refusal::Opcode { .. }) => panic!("{name} is refused"),
                Err(Refusal::Global { .. }) => panic!("{name}"),
                _ => {}
            }
        }
    }

    #[test]
    fn every_refused_opcode_is_refused_by_name() {
        for &(code, name) in REFUSED {
            // After a valid prefix, so the refusal is the opcode's, at its offset.
            let bytes = [PROTO, 2, EMPTY_DICT, code, 0, 0, 0, 0, 0, 0, 0, 0];
            assert_eq!(
                refusal(&bytes),
                Refusal::Opcode { at: 3, code, name },
                "{name}"
            );
        }
    }

    #[test]
    fn object_building_opcodes_are_refused_before_any_call() {
        // `torch.save(model)`: GLOBAL of the class, EMPTY_TUPLE, NEWOBJ. The class is
        // refused first, by name.
        let module = [
            vec![PROTO, 2],
            global("__main__", "Net"),
            vec![EMPTY_TUPLE, 0x81, STOP],
        ]
        .concat();
        assert_eq!(
            refusal(&module),
            Refusal::Global {
                at: 2,
                name: "__main__.Net".into()
            }
        );
        // NEWOBJ on an allowed class is still refused as an opcode.
        let newobj = [
            global("collections", "OrderedDict"),
            vec![EMPTY_TUPLE, 0x81, STOP],
        ]
        .concat();
        assert!(matches!(
            refusal(&newobj),
            Refusal::Opcode { name: "NEWOBJ", .. }
        ));
        // INST names its class in the opcode: refused without reading it.
        assert!(matches!(
            refusal(b"\x80\x02(ios\nsystem\n."),
            Refusal::Opcode {
                name: "INST",
                at: 3,
                ..
            }
        ));
        assert!(matches!(
            refusal(b"(cos\nsystem\no."),
            Refusal::Global { .. }
        ));
        // The extension registry, text persistent ids, buffers.
        assert!(matches!(
            refusal(b"\x82\x01."),
            Refusal::Opcode { name: "EXT1", .. }
        ));
        assert!(matches!(
            refusal(b"Pkey\n."),
            Refusal::Opcode { name: "PERSID", .. }
        ));
        assert!(matches!(
            refusal(b"\x97."),
            Refusal::Opcode {
                name: "NEXT_BUFFER",
                ..
            }
        ));
        // Text (protocol 0) data and byte strings.
        assert!(matches!(
            refusal(b"I1\n."),
            Refusal::Opcode { name: "INT", .. }
        ));
        assert!(matches!(
            refusal(b"C\x01x."),
            Refusal::Opcode {
                name: "SHORT_BINBYTES",
                ..
            }
        ));
    }

    #[test]
    fn globals_outside_the_table_are_refused_by_name() {
        for (module, name) in [
            ("os", "system"),
            ("posix", "system"),
            ("builtins", "eval"),
            ("__builtin__", "set"),
            ("torch.nn.modules.rnn", "LSTM"),
            ("torch._utils", "_rebuild_qtensor"),
            ("torch._utils", "_rebuild_parameter_with_state"),
            ("torch", "load"),
            ("collections", "defaultdict"),
        ] {
            let want = Refusal::Global {
                at: 2,
                name: format!("{module}.{name}"),
            };
            let bytes = [vec![PROTO, 2], global(module, name), vec![STOP]].concat();
            assert_eq!(refusal(&bytes), want);
            // The same through STACK_GLOBAL (protocol 4), refused at that opcode.
            let mut stacked = vec![PROTO, 4];
            stacked.extend(text(module));
            stacked.extend(text(name));
            let at = stacked.len();
            stacked.extend([STACK_GLOBAL, STOP]);
            assert_eq!(
                refusal(&stacked),
                Refusal::Global {
                    at,
                    name: format!("{module}.{name}")
                }
            );
        }
    }

    #[test]
    fn a_long_global_name_is_clipped_in_the_refusal() {
        let long = "m".repeat(5000);
        let bytes = [global(&long, "f"), vec![STOP]].concat();
        match refusal(&bytes) {
            Refusal::Global { name, .. } => assert_eq!(name, format!("{}….f", "m".repeat(100))),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_hostile_pickle_calls_nothing() {
        // os.system("echo pwned") as a pickle writes it: refused at the GLOBAL, before
        // the argument or the REDUCE is read.
        let mut bytes = vec![PROTO, 2];
        bytes.extend(global("os", "system"));
        bytes.extend(text("echo pwned"));
        bytes.extend([TUPLE1, REDUCE, STOP]);
        assert_eq!(
            refusal(&bytes),
            Refusal::Global {
                at: 2,
                name: "os.system".into()
            }
        );
        // Inside a state_dict after a valid tensor: the same.
        let sd = state_dict(&[
            ("a", tensor("0", 2, 0, &[2], &[1])),
            (
                "b",
                [global("os", "system"), text("x"), vec![TUPLE1, REDUCE]].concat(),
            ),
        ]);
        assert!(matches!(refusal(&sd), Refusal::Global { name, .. } if name == "os.system"));
    }

    #[test]
    fn accepted_names_used_otherwise_are_refused() {
        // Calling a storage class or a dtype.
        let call = [
            global("torch", "FloatStorage"),
            vec![EMPTY_TUPLE, REDUCE, STOP],
        ]
        .concat();
        assert!(
            damage(&call).contains("torch.FloatStorage"),
            "{}",
            damage(&call)
        );
        let call = [global("torch", "uint16"), vec![EMPTY_TUPLE, REDUCE, STOP]].concat();
        assert!(damage(&call).contains("torch.uint16"));
        // OrderedDict with arguments; REDUCE of a non-callable.
        let call = [
            global("collections", "OrderedDict"),
            vec![EMPTY_LIST, TUPLE1, REDUCE, STOP],
        ]
        .concat();
        assert!(damage(&call).contains("OrderedDict called with arguments"));
        assert!(damage(&[NONE, EMPTY_TUPLE, REDUCE, STOP]).contains("not a function"));
        // BUILD on anything but an OrderedDict, or with a state that is not a dict.
        assert!(damage(&[EMPTY_DICT, EMPTY_DICT, BUILD, STOP]).contains("BUILD"));
        let od = [
            global("collections", "OrderedDict"),
            vec![EMPTY_TUPLE, REDUCE],
        ]
        .concat();
        assert!(damage(&[od.clone(), vec![NONE, BUILD, STOP]].concat()).contains("BUILD"));
        assert!(unpickle(&[od, vec![EMPTY_DICT, BUILD, STOP]].concat(), BUDGET).is_ok());
        // A persistent id that is not a storage reference.
        assert!(damage(&[NONE, BINPERSID, STOP]).contains("persistent id"));
        let pid = [
            vec![MARK],
            text("storage"),
            global("torch", "FloatStorage"),
            text("0"),
            text("cpu"),
            vec![NEWFALSE, TUPLE, BINPERSID, STOP],
        ]
        .concat();
        assert!(damage(&pid).contains("persistent id"));
        // _rebuild_tensor_v2 with a negative offset, mismatched size and stride, too
        // many dimensions, metadata, an untyped storage.
        let bad = |t: Vec<u8>| damage(&state_dict(&[("w", t)]));
        let mut t = tensor("0", 6, 0, &[2, 3], &[3, 1]);
        let off = t.iter().position(|&b| b == BINPERSID).unwrap();
        t[off + 1..off + 3].copy_from_slice(&[BININT, 0xff]);
        t.splice(off + 3..off + 3, [0xff, 0xff, 0xff]);
        assert!(bad(t).contains("offset is negative"));
        assert!(bad(tensor("0", 6, 0, &[2, 3], &[1])).contains("2 dimensions with 1 strides"));
        assert!(bad(tensor("0", 6, 0, &[1; 65], &[1; 65])).contains("65 dimensions"));
        let mut meta = tensor("0", 2, 0, &[2], &[1]);
        let tail = meta.len() - 2; // before the outer TUPLE, REDUCE
        meta.splice(tail..tail, [EMPTY_DICT, MARK]);
        let with_item = [text("neg"), vec![NEWTRUE, SETITEMS]].concat();
        meta.splice(tail + 2..tail + 2, with_item);
        assert!(bad(meta).contains("metadata"));
        let untyped = swap(
            &tensor("0", 2, 0, &[2], &[1]),
            b"ctorch\nFloatStorage\n",
            b"ctorch.storage\nUntypedStorage\n",
        );
        assert!(bad(untyped).contains("storage and dtype"));
        // v3 with a typed storage, or with a storage class where the dtype goes.
        let mut typed_v3 = swap(&tensor("0", 2, 0, &[2], &[1]), b"_v2", b"_v3");
        let tail = typed_v3.len() - 2;
        typed_v3.splice(tail..tail, global("torch", "float32"));
        assert!(bad(typed_v3).contains("storage and dtype"));
        let mut class_v3 = swap(&tensor("0", 2, 0, &[2], &[1]), b"_v2", b"_v3");
        class_v3 = swap(
            &class_v3,
            b"ctorch\nFloatStorage\n",
            b"ctorch.storage\nUntypedStorage\n",
        );
        let tail = class_v3.len() - 2;
        class_v3.splice(tail..tail, global("torch", "FloatStorage"));
        assert!(bad(class_v3).contains("storage and dtype"));
    }

    #[test]
    fn rebuild_v3_and_parameters_are_read() {
        // A uint16 tensor as torch 2.x writes it: v3, untyped storage, dtype global.
        let v3 = swap(&tensor("0", 4, 0, &[2], &[1]), b"_v2", b"_v3");
        let mut v3 = swap(
            &v3,
            b"ctorch\nFloatStorage\n",
            b"ctorch.storage\nUntypedStorage\n",
        );
        // The dtype goes after the hooks: before the outer TUPLE, REDUCE.
        let tail = v3.len() - 2;
        v3.splice(tail..tail, global("torch", "uint16"));
        let p = unpickle(&state_dict(&[("u", v3)]), BUDGET).unwrap();
        let t = p.objs.iter().find_map(|o| match o {
            Obj::Tensor(t) => Some(t),
            _ => None,
        });
        assert_eq!(t.unwrap().dtype.name(), "U16");
        // _rebuild_parameter(tensor, True, OrderedDict()) is the tensor.
        let param = [
            global("torch._utils", "_rebuild_parameter"),
            tensor("0", 2, 0, &[2], &[1]),
            vec![NEWTRUE],
            global("collections", "OrderedDict"),
            vec![EMPTY_TUPLE, REDUCE, TUPLE3, REDUCE],
        ]
        .concat();
        let p = unpickle(&state_dict(&[("p", param)]), BUDGET).unwrap();
        let Value::Obj(root) = p.root else { panic!() };
        let Obj::Dict { items, .. } = p.obj(root) else {
            panic!()
        };
        assert_eq!(p.kind(items[0].1), "a tensor");
    }

    #[test]
    fn every_truncation_is_damage() {
        let whole = two_tensors();
        for len in 0..whole.len() {
            let reason = damage(&whole[..len]);
            assert!(
                reason.contains("truncated")
                    || reason.contains("underflow")
                    || reason.contains("MARK"),
                "{len}: {reason}"
            );
        }
    }

    #[test]
    fn damaged_structure_is_damage_not_a_panic() {
        assert!(damage(&[0xff]).contains("not a pickle opcode"));
        assert!(damage(&[PROTO, 1, STOP]).contains("protocol 1"));
        assert!(damage(&[PROTO, 6, STOP]).contains("protocol 6"));
        assert!(damage(&[STOP]).contains("underflow"));
        assert!(damage(&[MARK, STOP]).contains("underflow"));
        assert!(damage(&[NONE, MARK, TUPLE1]).contains("underflow"));
        assert!(damage(&[TUPLE]).contains("MARK"));
        assert!(damage(&[BINGET, 0]).contains("never stored"));
        assert!(damage(&[NONE, BINPUT, 1]).contains("skips ahead"));
        assert!(damage(&[NONE, LONG_BINPUT, 0xff, 0xff, 0xff, 0xff]).contains("skips ahead"));
        assert!(damage(&[MARK, BINPUT, 0]).contains("underflow"));
        assert!(damage(&[NONE, NONE, SETITEM]).contains("underflow"));
        assert!(damage(&[NONE, NONE, NONE, SETITEM]).contains("not a dict"));
        assert!(damage(&[EMPTY_DICT, MARK, NONE, SETITEMS]).contains("no value"));
        assert!(damage(&[NONE, NONE, APPEND]).contains("not a list"));
        assert!(damage(&[BINUNICODE, 0xff, 0xff, 0xff, 0xff, b'a']).contains("truncated"));
        assert!(damage(&[SHORT_BINUNICODE, 1, 0xff, STOP]).contains("UTF-8"));
        assert!(damage(&[LONG1, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, STOP]).contains("64 bits"));
        assert!(damage(b"cos\nsys").contains("truncated"));
        assert!(damage(&[NONE, NONE, STACK_GLOBAL]).contains("two strings"));
        assert!(damage(&[FRAME, 1, 2]).contains("truncated"));
        // A dict holding itself: built, returned, dropped; nothing walks it.
        let cyclic = [EMPTY_DICT, BINPUT, 0, NONE, BINGET, 0, SETITEM, STOP];
        assert!(unpickle(&cyclic, BUDGET).is_ok());
    }

    #[test]
    fn a_pickle_building_more_than_its_budget_is_refused() {
        // 10,000 empty dicts: each one byte of pickle, a value and an object built.
        let mut dicts = vec![PROTO, 2];
        dicts.extend([EMPTY_DICT; 10_000]);
        dicts.push(STOP);
        let each = VALUE + std::mem::size_of::<Obj>();
        let built = unpickle(&dicts, usize::MAX).unwrap().built;
        // Doubling vectors: between the bytes used and twice that.
        assert!(
            (10_000 * each..=2 * 10_000 * each).contains(&built),
            "{built}"
        );
        assert!(unpickle(&dicts, built).is_ok());
        let reason = match unpickle(&dicts, built - 1).unwrap_err() {
            Refusal::Damaged { reason, .. } => reason,
            other => panic!("{other:?}"),
        };
        assert!(reason.contains("out of proportion"), "{reason}");
        assert!(unpickle(&dicts, 4 * 10_000).is_err());
        // The stack grown by memo reads, strings, marks, list items: each counted.
        let mut gets = vec![NONE, MEMOIZE];
        gets.extend([BINGET, 0].repeat(1000));
        gets.push(STOP);
        assert!(unpickle(&gets, 1000 * VALUE).is_err());
        assert!(unpickle(&gets, 4 * 1000 * VALUE).is_ok());
        let strings = [text(&"x".repeat(5000)), vec![STOP]].concat();
        assert!(unpickle(&strings, 4000).is_err());
        let marks = [vec![MARK; 1000], vec![NONE, STOP]].concat();
        assert!(unpickle(&marks, 4000).is_err());
        let list = [
            vec![EMPTY_LIST, MARK],
            vec![NONE; 1000],
            vec![APPENDS, STOP],
        ]
        .concat();
        let built = unpickle(&list, usize::MAX).unwrap().built;
        assert!(unpickle(&list, built - 1).is_err());
    }

    #[test]
    fn ints_and_floats_decode_as_python_s() {
        let value = |bytes: &[u8]| unpickle(&[bytes, &[STOP]].concat(), BUDGET).unwrap().root;
        assert_eq!(value(&[BININT1, 200]), Value::Int(200));
        assert_eq!(value(&[BININT2, 0x34, 0x12]), Value::Int(0x1234));
        assert_eq!(value(&[BININT, 0xfe, 0xff, 0xff, 0xff]), Value::Int(-2));
        assert_eq!(value(&[LONG1, 0]), Value::Int(0));
        assert_eq!(value(&[LONG1, 1, 0xff]), Value::Int(-1));
        assert_eq!(value(&[LONG1, 2, 0xff, 0x00]), Value::Int(255));
        assert_eq!(value(&[LONG1, 5, 0, 0, 0, 0, 1]), Value::Int(1 << 32));
        assert_eq!(
            value(&[LONG1, 8, 0, 0, 0, 0, 0, 0, 0, 0x80]),
            Value::Int(i64::MIN)
        );
        let mut f = vec![BINFLOAT];
        f.extend(0.25f64.to_be_bytes());
        assert_eq!(value(&f), Value::Float(0.25));
    }
}

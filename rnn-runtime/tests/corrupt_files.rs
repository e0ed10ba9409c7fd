//! Damaged and hostile files: every loader, fed random byte mutations of the real files
//! it reads (flipped bits, overwritten and inserted bytes, truncation, deleted and
//! duplicated ranges, length and offset fields overwritten with huge values), returns
//! `Ok` or `Err`: never a panic, and never an allocation out of proportion to the file.
//!
//! A counting global allocator measures the peak of live heap bytes during each load
//! (per thread: tests run in parallel) against `loaders::alloc_bound`: 16 times the
//! file plus 8 times the model's parameter bytes plus 8 MiB (for `.keras` archives the
//! file counts as what its entries may inflate to); the reasons are given there. A
//! single allocation over 1 GiB is refused outright (the process aborts naming its
//! size) so that overcommit cannot hide one.
//!
//! Cases: `RNN_FUZZ_CASES` per loader (default 10000; raise it for long runs), seed
//! `RNN_FUZZ_SEED` (default fixed, so that CI is reproducible). The cargo-fuzz targets
//! in `fuzz/` walk the same table of loaders (`tests/loaders/mod.rs`).

mod loaders;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Mutex, Once};

use loaders::{alloc_bound, loader, Case, Loader, LOADERS};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// No single allocation of a load may ask for more.
const MAX_SINGLE_ALLOCATION: usize = 1 << 30;

fn grow(bytes: isize) {
    // `try_with`: the allocator also runs while thread locals are torn down.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + bytes;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_SINGLE_ALLOCATION {
            // Null makes the caller report the size and abort: a test failure.
            return std::ptr::null_mut();
        }
        grow(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        grow(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > MAX_SINGLE_ALLOCATION {
            return std::ptr::null_mut();
        }
        grow(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f`; returns its result and the peak of heap bytes it held at once.
fn peak_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let r = f();
    (r, (PEAK.with(Cell::get) - base).max(0) as usize)
}

/// Panics the HDF5 reader raised on malformed data and `keras/h5.rs` turned into
/// errors, by source location: not failures of ours, but bugs of the reader to report.
static READER_PANICS: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());

/// Counts the reader's caught panics silently; every other panic reports as usual.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            match info.location().filter(|l| l.file().contains("rustyhdf5")) {
                Some(at) => {
                    let key = format!("{}:{}", at.file(), at.line());
                    if let Ok(mut seen) = READER_PANICS.lock() {
                        *seen.entry(key).or_default() += 1;
                    }
                }
                None => default(info),
            }
        }));
    });
}

/// One damage to a file.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit {
        at: Index,
        bit: u8,
    },
    Overwrite {
        at: Index,
        bytes: Vec<u8>,
    },
    Truncate {
        at: Index,
    },
    Insert {
        at: Index,
        bytes: Vec<u8>,
    },
    Delete {
        at: Index,
        len: usize,
    },
    Duplicate {
        from: Index,
        len: usize,
        to: Index,
    },
    /// An integer of `width` bytes at any offset, little-endian.
    Integer {
        at: Index,
        width: u8,
        value: Index,
    },
    /// One of the format's length, count or offset fields (see [`fields`]).
    Field {
        field: Index,
        value: Index,
    },
}

/// Values that break length and offset arithmetic: zero, limits of each width, huge
/// and overflowing sizes; `len` and `old` (the field's value) give near misses.
fn interesting(pick: Index, len: u64, old: u64) -> u64 {
    let all = [
        0,
        1,
        0x7f,
        0xff,
        0x7fff,
        0xffff,
        0x7fff_ffff,
        0xffff_ffff,
        1 << 32,
        1 << 40,
        1 << 62,
        i64::MAX as u64,
        u64::MAX,
        u64::MAX - 7,
        len,
        len + 1,
        len.saturating_sub(1),
        old.saturating_add(1),
        old.saturating_sub(1),
        old.saturating_mul(2),
        old.saturating_mul(4096),
    ];
    *pick.get(&all)
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let width = prop_oneof![Just(2u8), Just(4u8), Just(8u8)];
    prop_oneof![
        1 => (any::<Index>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        1 => (any::<Index>(), vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Overwrite { at, bytes }),
        1 => any::<Index>().prop_map(|at| Mutation::Truncate { at }),
        1 => (any::<Index>(), vec(any::<u8>(), 1..64))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        1 => (any::<Index>(), 1usize..512).prop_map(|(at, len)| Mutation::Delete { at, len }),
        1 => (any::<Index>(), 1usize..1024, any::<Index>())
            .prop_map(|(from, len, to)| Mutation::Duplicate { from, len, to }),
        1 => (any::<Index>(), width, any::<Index>())
            .prop_map(|(at, width, value)| Mutation::Integer { at, width, value }),
        // Weighted up: structure is where the damage that matters lands.
        3 => (any::<Index>(), any::<Index>())
            .prop_map(|(field, value)| Mutation::Field { field, value }),
    ]
}

/// A structural field of a file.
#[derive(Debug, Clone, Copy)]
enum Field {
    /// A little-endian integer of `width` bytes.
    Binary { at: usize, width: usize },
    /// A run of ASCII digits (a number in a JSON header or a CSV cell).
    Text { at: usize, len: usize },
}

const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";

fn read_le(b: &[u8], at: usize, width: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(width)?)?;
    Some(s.iter().rev().fold(0u64, |v, &x| (v << 8) | u64::from(x)))
}

/// Digit runs of `b[range]`.
fn digit_runs(b: &[u8], start: usize, end: usize, out: &mut Vec<Field>) {
    let end = end.min(b.len());
    let mut at = start;
    while at < end {
        if b[at].is_ascii_digit() {
            let len = b[at..end].iter().take_while(|c| c.is_ascii_digit()).count();
            out.push(Field::Text { at, len });
            at += len;
        } else {
            at += 1;
        }
    }
}

/// The length, count and offset fields of `b` as far as its format can be walked:
/// safetensors' header length and the numbers of its JSON header; a zip archive's end
/// record, central directory entries and local headers; a pickle's int, length and
/// memo operands (see [`pickle_fields`]); for HDF5, every 8-byte value
/// that could be an address or a size (below the file's length), since its object
/// graph is not walked here; in text, every number.
fn fields(b: &[u8]) -> Vec<Field> {
    let mut out = Vec::new();
    if b.starts_with(HDF5_MAGIC) {
        for at in 8..b.len().saturating_sub(8) {
            if read_le(b, at, 8).is_some_and(|v| v > 0 && v < b.len() as u64) {
                out.push(Field::Binary { at, width: 8 });
            }
        }
    } else if b.starts_with(b"PK\x03\x04") {
        zip_fields(b, &mut out);
    } else if b.len() > 2 && b[0] == 0x80 && (2..=5).contains(&b[1]) && b[2] != 0 {
        // A pickle (PROTO 2-5, then an opcode; a safetensors header length with these
        // low bytes would have a zero third byte).
        pickle_fields(b, &mut out);
    } else if let Some(n) = read_le(b, 0, 8).filter(|&n| n > 0 && n < b.len() as u64) {
        out.push(Field::Binary { at: 0, width: 8 });
        digit_runs(b, 8, 8 + n as usize, &mut out);
    } else if b.is_ascii() {
        digit_runs(b, 0, b.len(), &mut out);
    }
    out
}

/// The operands of a pickle's opcodes that are lengths, ints or memo indices (a
/// tensor's offset, sizes and strides, a storage's element count, string lengths), as
/// far as its opcodes can be walked.
fn pickle_fields(b: &[u8], out: &mut Vec<Field>) {
    let mut at = 0;
    while let Some(&op) = b.get(at) {
        let operand = at + 1;
        let (width, skip) = match op {
            // PROTO, BININT1, BINPUT, BINGET, SHORT_BINUNICODE (its length), LONG1 (its
            // byte count), then the bytes they count.
            0x80 | b'K' | b'q' | b'h' => (1, 0),
            0x8c | 0x8a => (1, b.get(operand).map_or(0, |&n| usize::from(n))),
            b'M' => (2, 0),
            // BININT, LONG_BINPUT, LONG_BINGET, BINUNICODE (its length).
            b'J' | b'r' | b'j' => (4, 0),
            b'X' => (4, read_le(b, operand, 4).map_or(0, |n| n as usize)),
            // FRAME's length; BINFLOAT is a value, not a field.
            0x95 => (8, 0),
            b'G' => {
                at += 9;
                continue;
            }
            // GLOBAL: two lines.
            b'c' => {
                let lines = b[operand..]
                    .iter()
                    .enumerate()
                    .filter(|(_, &c)| c == b'\n')
                    .nth(1);
                match lines {
                    Some((end, _)) => at = operand + end + 1,
                    None => return,
                }
                continue;
            }
            b'.' => return,
            _ => {
                at += 1;
                continue;
            }
        };
        if operand + width > b.len() {
            return;
        }
        out.push(Field::Binary { at: operand, width });
        at = operand + width + skip;
    }
}

fn zip_fields(b: &[u8], out: &mut Vec<Field>) {
    let Some(end) = (0..b.len().saturating_sub(21))
        .rev()
        .find(|&at| b[at..].starts_with(b"PK\x05\x06"))
    else {
        return;
    };
    for (off, width) in [(8, 2), (10, 2), (12, 4), (16, 4), (20, 2)] {
        out.push(Field::Binary {
            at: end + off,
            width,
        });
    }
    let entries = read_le(b, end + 10, 2).unwrap_or(0);
    let mut at = read_le(b, end + 16, 4).unwrap_or(0) as usize;
    for _ in 0..entries {
        if !b.get(at..).is_some_and(|s| s.starts_with(b"PK\x01\x02")) {
            return;
        }
        for (off, width) in [(20, 4), (24, 4), (28, 2), (30, 2), (32, 2), (42, 4)] {
            out.push(Field::Binary {
                at: at + off,
                width,
            });
        }
        if let Some(local) = read_le(b, at + 42, 4).map(|l| l as usize) {
            if b.get(local..).is_some_and(|s| s.starts_with(b"PK\x03\x04")) {
                for (off, width) in [(18, 4), (22, 4), (26, 2), (28, 2)] {
                    out.push(Field::Binary {
                        at: local + off,
                        width,
                    });
                }
            }
        }
        let lens = [28, 30, 32].map(|o| read_le(b, at + o, 2).unwrap_or(0) as usize);
        at += 46 + lens.iter().sum::<usize>();
    }
}

fn write_le(b: &mut [u8], at: usize, width: usize, value: u64) {
    for (k, byte) in b.iter_mut().skip(at).take(width).enumerate() {
        *byte = (value >> (8 * k)) as u8;
    }
}

/// Applies `m` to `b`.
fn apply(b: &mut Vec<u8>, m: &Mutation) {
    let len = b.len();
    let pos = |i: &Index| if len == 0 { 0 } else { i.index(len) };
    match m {
        Mutation::FlipBit { at, bit } if len > 0 => b[pos(at)] ^= 1 << bit,
        Mutation::Overwrite { at, bytes } if len > 0 => {
            let at = pos(at);
            let n = bytes.len().min(len - at);
            b[at..at + n].copy_from_slice(&bytes[..n]);
        }
        Mutation::Truncate { at } => b.truncate(pos(at)),
        Mutation::Insert { at, bytes } => {
            let at = pos(at);
            b.splice(at..at, bytes.iter().copied());
        }
        Mutation::Delete { at, len: n } => {
            let at = pos(at);
            b.drain(at..(at + n).min(len));
        }
        Mutation::Duplicate { from, len: n, to } if len > 0 => {
            let from = pos(from);
            let chunk = b[from..(from + n).min(len)].to_vec();
            let to = pos(to);
            b.splice(to..to, chunk);
        }
        Mutation::Integer { at, width, value } if len > 0 => {
            let at = pos(at);
            let width = usize::from(*width);
            let old = read_le(b, at, width.min(len - at)).unwrap_or(0);
            write_le(b, at, width, interesting(*value, len as u64, old));
        }
        Mutation::Field { field, value } => {
            let all = fields(b);
            if all.is_empty() {
                return;
            }
            match *field.get(&all) {
                Field::Binary { at, width } => {
                    let old = read_le(b, at, width).unwrap_or(0);
                    write_le(b, at, width, interesting(*value, len as u64, old));
                }
                Field::Text { at, len: n } => {
                    let old = std::str::from_utf8(&b[at..at + n])
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    let text = interesting(*value, len as u64, old).to_string();
                    b.splice(at..at + n, text.bytes());
                    // Keep a safetensors header's length in step, so that the parser
                    // gets past it to the number itself.
                    if let Some(header) = read_le(b, 0, 8).filter(|&h| (at as u64) < 8 + h) {
                        let grown = header as i64 + text.len() as i64 - n as i64;
                        write_le(b, 0, 8, grown.max(0) as u64);
                    }
                }
            }
        }
        _ => {}
    }
}

/// Cases per loader: `RNN_FUZZ_CASES`, default 10000.
fn cases() -> u32 {
    std::env::var("RNN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn config() -> Config {
    let seed = std::env::var("RNN_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_f11e);
    Config {
        cases: cases(),
        rng_seed: RngSeed::Fixed(seed),
        // Failures are reported with the mutated file written out (see `check`).
        failure_persistence: None,
        max_shrink_iters: 2048,
        ..Config::default()
    }
}

/// Loads `bytes` as `case` does: `Ok` or `Err` within the allocation bound. A failure
/// leaves the bytes in the target directory for a regression test.
/// Returns whether the damaged file still loaded (damage to values only).
fn check(loader: &Loader, case: &Case, bytes: &[u8]) -> Result<bool, TestCaseError> {
    let name = loader.name;
    let (outcome, peak) =
        peak_during(|| panic::catch_unwind(AssertUnwindSafe(|| (case.load)(bytes))));
    let bound = loader.alloc_bound(bytes.len(), case.model_bytes);
    if outcome.is_err() || peak > bound {
        let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("corrupt-{name}-{}.bin", case.label()));
        let _ = std::fs::write(&out, bytes);
        let what = if let Err(payload) = &outcome {
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            format!("panicked: {message}")
        } else {
            format!("held {peak} heap bytes at once, over the bound {bound}")
        };
        return Err(TestCaseError::fail(format!(
            "{name} on damaged {}: {what}; the file is {}",
            case.label(),
            out.display()
        )));
    }
    Ok(matches!(outcome, Ok(Ok(()))))
}

/// Mutates every seed of loader `name` `cases()` times in all.
fn survive_mutations(name: &str) {
    install_panic_hook();
    let loader = loader(name);
    let seeds: Vec<Vec<u8>> = loader.cases.iter().map(Case::bytes).collect();
    let strategy = (0..seeds.len(), vec(mutation(), 1..=4));
    let mut runner = TestRunner::new(config());
    let started = std::time::Instant::now();
    // How many damaged files still loaded: a check that the damage is not all caught
    // by the first parser and the conversion code is reached.
    let loaded = Cell::new(0usize);
    let result = runner.run(&strategy, |(i, mutations)| {
        let mut bytes = seeds[i].clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        if check(loader, &loader.cases[i], &bytes)? {
            loaded.set(loaded.get() + 1);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    let (total, loaded) = (cases() as usize, loaded.get());
    eprintln!(
        "{name}: {total} mutated files in {:.2?}, {loaded} of them still loaded",
        started.elapsed(),
    );
    // Both outcomes are reached: some damage is refused, and some (to values only)
    // gets past the parser into the conversion code, which therefore runs on damaged
    // input too. At least 1% each way (10,000 cases give 4% to 34% loaded).
    assert!(
        loaded * 100 >= total && (total - loaded) * 100 >= total,
        "{name}: {loaded} of {total} damaged files loaded; the mutations should reach both \
         the refusals and the conversion code"
    );
    let caught = READER_PANICS.lock().map(|m| m.clone()).unwrap_or_default();
    if name.starts_with("keras") && !caught.is_empty() {
        eprintln!("HDF5 reader panics caught by keras/h5.rs so far: {caught:?}");
    }
}

#[test]
fn every_seed_loads_within_the_bound() {
    for loader in LOADERS {
        for case in loader.cases {
            let bytes = case.bytes();
            let (result, peak) = peak_during(|| (case.load)(&bytes));
            match result {
                Err(e) if case.loads => panic!("{} {}: {e}", loader.name, case.label()),
                Ok(()) if !case.loads => panic!("{} {} loads", loader.name, case.label()),
                _ => {}
            }
            let bound = loader.alloc_bound(bytes.len(), case.model_bytes);
            eprintln!(
                "{} {}: {} bytes, model {} bytes, peak {peak} (bound {bound})",
                loader.name,
                case.label(),
                bytes.len(),
                case.model_bytes
            );
            assert!(
                peak <= bound,
                "{} {}: peak {peak} > {bound}",
                loader.name,
                case.label()
            );
        }
    }
}

/// Inputs that once broke a bound or panicked, under
/// `tests/fixtures/fuzz-regressions/<loader>/`: each loaded as a fuzz input (what
/// libFuzzer saves, see `Loader::split_input`) and as a plain file into every model of
/// its loader.
#[test]
fn fuzz_regressions_stay_fixed() {
    install_panic_hook();
    let mut files = 0;
    for loader in LOADERS {
        let dir = loaders::repo("tests/fixtures/fuzz-regressions").join(loader.name);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let run = |case: &Case, file: &[u8]| {
                if let Err(e) = check(loader, case, file) {
                    panic!("{}: {e}", path.display());
                }
            };
            if let Some((case, file)) = loader.split_input(&bytes) {
                run(case, file);
            }
            for case in loader.cases {
                run(case, &bytes);
            }
            files += 1;
        }
    }
    assert!(files >= 2, "the regression files are missing");
}

/// The two compression bombs of `tests/fixtures/gen/hostile_files.py`: each would make
/// a reader inflate 64 MiB from a file of under 100 KiB; both are refused up front.
#[test]
fn compression_bombs_are_refused_before_inflating() {
    let dir = loaders::repo("tests/fixtures/fuzz-regressions");
    let read = |rel: &str| std::fs::read(dir.join(rel)).unwrap();
    let path = std::path::Path::new("bomb");

    let h5 = read("keras_weights_h5/chunk_bomb.weights.h5");
    let (result, peak) = peak_during(|| {
        rnn_runtime::keras::load_keras_weights_from_bytes(
            &mut loaders::K1::new(0),
            h5.clone(),
            path,
        )
    });
    let err = result.unwrap_err().to_string();
    assert!(
        err.contains("layers/dense/vars/0") && err.contains("chunked"),
        "{err}"
    );
    assert!(
        peak < alloc_bound(h5.len(), 4 * loaders::K1::PARAMS),
        "{peak}"
    );

    let archive = read("keras_archive/deflate_bomb.keras");
    let (result, peak) = peak_during(|| {
        rnn_runtime::keras::load_keras_from_bytes(&mut loaders::K1::new(0), &archive, path)
    });
    let err = result.unwrap_err().to_string();
    assert!(
        err.contains("model.weights.h5") && err.contains("zip bomb"),
        "{err}"
    );
    assert!(
        peak < alloc_bound(archive.len(), 4 * loaders::K1::PARAMS),
        "{peak}"
    );
}

/// Pickles built to make the unpickler allocate, 4 MiB each, in the LSTM fixture's
/// `.pt` archive: one-byte opcodes that each build an object or a value, memo reads,
/// open marks, strings, list items. Each is refused within the plain bound (16 times
/// the file, not the bound of what an archive may inflate to), all but the marks (8
/// bytes each, refused at the end) by the unpickler's budget; without it, the empty
/// dicts alone would hold 64 to 128 bytes per byte.
#[test]
fn hostile_pickles_are_refused_within_the_bound() {
    let n = 4 << 20;
    let pickle = |body: Vec<u8>| [vec![0x80, 2], body, vec![b'.']].concat();
    let cases = [
        ("empty dicts", pickle(vec![b'}'; n]), true),
        ("empty lists", pickle(vec![b']'; n]), true),
        ("empty tuples", pickle(vec![b')'; n]), true),
        ("one-item tuples", pickle(b"N\x85".repeat(n / 2)), true),
        (
            "memo reads",
            pickle([&b"N\x94"[..], &b"h\x00".repeat(n / 2)].concat()),
            true,
        ),
        (
            "memo entries",
            pickle([&b"N"[..], &vec![0x94; n]].concat()),
            true,
        ),
        ("marks", pickle(vec![b'('; n]), false),
        ("empty strings", pickle(b"\x8c\x00".repeat(n / 2)), true),
        (
            "list items",
            pickle([&b"]("[..], &vec![b'N'; n], &b"e"[..]].concat()),
            true,
        ),
    ];
    for (what, pickle, over_budget) in cases {
        let archive = loaders::with_pickle(true, &pickle);
        let path = std::path::Path::new("hostile.pt");
        let (result, peak) = peak_during(|| {
            loaders::all_or_nothing(&mut loaders::TorchBiLstm::new(0), |m| {
                rnn_runtime::torch::load_torch_from_bytes(m, &archive, path, loaders::torch_lstm)
            })
        });
        let err = result.expect_err(what).to_string();
        let bound = alloc_bound(archive.len(), 4 * loaders::TorchBiLstm::PARAMS);
        eprintln!(
            "{what}: {} bytes, peak {peak} (bound {bound}): {err}",
            archive.len()
        );
        assert!(peak <= bound, "{what}: peak {peak} > {bound}");
        if over_budget {
            assert!(err.contains("out of proportion"), "{what}: {err}");
        }
    }
}

#[test]
fn safetensors_params_survive_mutations() {
    survive_mutations("safetensors_params");
}

#[test]
fn torch_state_dict_survives_mutations() {
    survive_mutations("torch_state_dict");
}

#[test]
fn torch_pt_survives_mutations() {
    survive_mutations("torch_pt");
}

#[test]
fn keras_weights_h5_survive_mutations() {
    survive_mutations("keras_weights_h5");
}

#[test]
fn keras_legacy_h5_survives_mutations() {
    survive_mutations("keras_legacy_h5");
}

#[test]
fn keras_archive_survives_mutations() {
    survive_mutations("keras_archive");
}

#[test]
fn flat_survives_mutations() {
    survive_mutations("flat");
}

#[test]
fn train_state_survives_mutations() {
    survive_mutations("train_state");
}

#[test]
fn csv_survives_mutations() {
    survive_mutations("csv");
}

#[test]
fn every_loader_is_tested() {
    let tested = [
        "safetensors_params",
        "torch_state_dict",
        "torch_pt",
        "keras_weights_h5",
        "keras_legacy_h5",
        "keras_archive",
        "flat",
        "train_state",
        "csv",
    ];
    for loader in LOADERS {
        assert!(
            tested.contains(&loader.name),
            "add a test for `{}`",
            loader.name
        );
    }
}

/// Seeds the cargo-fuzz corpora, `fuzz/corpus/<loader>/`, with the real files of the
/// table (as fuzz inputs: see `Loader::load_input`), and checks that each seed input
/// loads: `cargo test -p rnn-runtime --test corrupt_files -- --ignored write_fuzz_corpus`.
#[test]
#[ignore = "writes fuzz/corpus; run by hand before fuzzing"]
fn write_fuzz_corpus() {
    let root = loaders::repo("fuzz/corpus");
    for loader in LOADERS {
        let dir = root.join(loader.name);
        std::fs::create_dir_all(&dir).unwrap();
        let mut names = Vec::new();
        for (i, case) in loader.cases.iter().enumerate() {
            let input = loader.seed_input(i);
            assert_eq!(loader.load_input(&input), case.loads, "{}", case.label());
            // A file loaded by two calls is two seeds.
            let mut name = case.label();
            if names.contains(&name) {
                name = format!("{name}.{i}");
            }
            std::fs::write(dir.join(&name), input).unwrap();
            names.push(name);
        }
        eprintln!("{}: {} seeds", dir.display(), loader.cases.len());
    }
}

//! Every file loader of the crate with the real files it reads: the one table that the
//! mutation test (`tests/corrupt_files.rs`) and the cargo-fuzz targets (`fuzz/`, which
//! include this file by path) both walk. A new loader is one more [`Loader`] here, a
//! three-line target in `fuzz/fuzz_targets/` and a `[[bin]]` entry in `fuzz/Cargo.toml`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use rnn_runtime::callbacks::{Control, EarlyStopping};
use rnn_runtime::ndarray::{Array2, Array3};
use rnn_runtime::schedule::ReduceOnPlateau;
use rnn_runtime::{data, flat, keras, model, torch, Adam, Error, Fit, Params, Result};

model! { pub struct Seed < input(20, 1), lstm(50), dense(1) > }
model! { pub struct P1 < input(4, 3), lstm(5), dense(2) > }
model! { pub struct P2 < input(3, 2), gru(4), dense(1) > }
model! { pub struct P3 < input(5, 2), simple_rnn(3), dense(1) > }
model! { pub struct P4 < input(4, 2), lstm(4, return_sequences = true), lstm(3), dense(1) > }
model! { pub struct M6 < input(6), embedding(10, 4), lstm(5), dense(3) > }
model! { pub struct K1 < input(6, 3), gru(5), dense(2) > }
model! { pub struct K2 < input(5, 2), simple_rnn(4, activation = relu), dense(3, activation = sigmoid) > }
model! {
    pub struct K3 < input(6, 2), lstm(5, return_sequences = true, recurrent_activation = tanh),
        lstm(4), dense(1) >
}
model! { pub struct K4 < input(5, 3), bidirectional(lstm(4)), dense(2) > }
model! {
    pub struct K5 < input(5, 2), gru(4, return_sequences = true), dense(3, activation = tanh),
        dense(2) >
}
model! { pub struct K7 < input(5, 2), lstm(4), dropout(0.3), dense(1) > }
model! { pub struct K8 < input(4, 2), gru(3), dense(1) > }
model! { pub struct K9 < input(4, 2), simple_rnn(3), dense(2) > }
model! { pub struct K10 < input(5, 2), bidirectional(gru(3, return_sequences = true)), dense(1) > }
model! {
    pub struct K14 < input(6, 3), gru(5, return_sequences = true), gru(4), dense(2) >
}
model! {
    pub struct K15 < input(7), embedding(10, 4), bidirectional(lstm(3, return_sequences = true)),
        dropout(0.25), simple_rnn(3), dense(2) >
}
model! {
    pub struct TorchBiLstm < input(6, 3),
        bidirectional(lstm(4, return_sequences = true)), bidirectional(lstm(4)), dense(1) >
}
model! { pub struct TorchGru < input(7), embedding(10, 4), gru(5, return_sequences = true), dense(3) > }
model! {
    /// What the training-state seeds are saved from: dropout, so the state's step
    /// counter matters, and a small model so each fuzzed resume trains in microseconds.
    pub struct Resumable < input(4, 2), lstm(6, dropout = 0.1), dense(1) >
}

/// Where a seed file comes from.
pub enum Source {
    /// A file of the repository (path from its root).
    File(&'static str),
    /// Bytes made on the spot (formats without a fixture file of their own), with a
    /// name for messages and corpus files.
    Made(&'static str, fn() -> Vec<u8>),
}

/// One real file and the call that loads it.
pub struct Case {
    /// The file.
    pub seed: Source,
    /// Loads bytes as this file's loader would load the file, into the file's model.
    /// A load that is refused must leave the model bit-identical to before (imports are
    /// all or nothing); one that changed it panics, naming the error it returned.
    pub load: fn(&[u8]) -> Result<()>,
    /// Bytes of the parameters of the model loaded into (the allocation bound scales
    /// with it).
    pub model_bytes: usize,
    /// Whether the undamaged file loads (some fixtures exist to be refused).
    pub loads: bool,
}

/// `case`, whose undamaged file is refused by design.
const fn refused(mut case: Case) -> Case {
    case.loads = false;
    case
}

/// A loader: the fuzz target's name and the real files it reads.
pub struct Loader {
    /// Name of the fuzz target and of its corpus directory.
    pub name: &'static str,
    /// The files, each with the model it belongs to.
    pub cases: &'static [Case],
    /// Whether the format holds compressed parts, which the loader may inflate up to
    /// `rnn_runtime`'s bound for zip entries (64 times, plus 1 MiB).
    pub inflates: bool,
}

impl Loader {
    /// A fuzz input as the case it loads and the file: with several cases, the
    /// input's first byte picks the case (modulo their number) and the rest is the
    /// file, so that each input loads into one model, the one its seed belongs to; with
    /// one case, the whole input is the file. `None` for an empty input.
    pub fn split_input<'a>(&self, input: &'a [u8]) -> Option<(&'static Case, &'a [u8])> {
        match (self.cases, input) {
            ([case], file) => Some((case, file)),
            (cases, [pick, file @ ..]) => Some((&cases[usize::from(*pick) % cases.len()], file)),
            (_, []) => None,
        }
    }

    /// Loads a fuzz input (see [`split_input`](Self::split_input)); whether it loaded.
    pub fn load_input(&self, input: &[u8]) -> bool {
        self.split_input(input)
            .is_some_and(|(case, file)| (case.load)(file).is_ok())
    }

    /// [`alloc_bound`] for this loader: where the format inflates, the file counts as
    /// what `rnn_runtime` lets it inflate to (64 times, plus 1 MiB).
    pub fn alloc_bound(&self, file_len: usize, model_bytes: usize) -> usize {
        let held = if self.inflates {
            64 * file_len + (1 << 20)
        } else {
            file_len
        };
        alloc_bound(held, model_bytes)
    }

    /// The fuzz input that loads case `index`'s seed (see [`split_input`](Self::split_input)).
    pub fn seed_input(&self, index: usize) -> Vec<u8> {
        let mut input = Vec::new();
        if self.cases.len() > 1 {
            input.push(u8::try_from(index).expect("at most 256 cases"));
        }
        input.extend(self.cases[index].bytes());
        input
    }
}

impl Case {
    /// The seed's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        match self.seed {
            Source::File(rel) => {
                std::fs::read(repo(rel)).unwrap_or_else(|e| panic!("{}: {e}", repo(rel).display()))
            }
            Source::Made(_, make) => make(),
        }
    }

    /// A short name of the seed for messages and corpus files.
    pub fn label(&self) -> String {
        match self.seed {
            Source::File(rel) => rel.trim_start_matches("tests/fixtures/").replace('/', "__"),
            Source::Made(name, _) => name.to_owned(),
        }
    }
}

/// The most heap a load of a `file_len`-byte file into a model of `model_bytes` may
/// hold at once: 16 times the file plus 8 times the parameters plus 8 MiB. A load
/// legitimately holds a copy of the file or of an archive entry (1×), the HDF5 reader's
/// parsed structures (a few times the metadata), the values as read and as converted
/// (2× the model) and fixed costs (error strings, JSON of a few KiB, small tables); the
/// real files peak at 1.3 to 3 times their size. The constant covers one allocation
/// that is bounded but not by the file: the HDF5 reader sizes a compound datatype's
/// member list from its 16-bit count before reading any member (up to 65535 × 96
/// bytes, 6 MiB). A length field that makes a loader allocate what the file claims
/// rather than what it holds breaks the bound by orders of magnitude.
pub fn alloc_bound(file_len: usize, model_bytes: usize) -> usize {
    16 * file_len + 8 * model_bytes + (8 << 20)
}

/// `<rel>` of the repository.
pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

/// Every parameter's bits, NaN payloads included.
fn param_bits<M: Params>(model: &M) -> Vec<u32> {
    let mut bits = Vec::new();
    model.visit_params(&mut |t| bits.extend(t.iter().map(|v| v.to_bits())));
    bits
}

/// Runs `load` on `model`; a refused load must leave `model` bit-identical.
pub fn all_or_nothing<M: Params>(
    model: &mut M,
    load: impl FnOnce(&mut M) -> Result<()>,
) -> Result<()> {
    let before = param_bits(model);
    let result = load(model);
    if let Err(e) = &result {
        assert!(
            param_bits(model) == before,
            "a refused load changed the model (all-or-nothing broken); the error was: {e}"
        );
    }
    result
}

/// The name errors carry; no file of that name is read.
fn named(ext: &str) -> PathBuf {
    PathBuf::from(format!("fuzzed.{ext}"))
}

macro_rules! case {
    ($file:literal, $model:ident, |$m:ident, $b:ident| $load:expr) => {
        Case {
            seed: Source::File(concat!("tests/fixtures/", $file)),
            load: |$b: &[u8]| all_or_nothing(&mut $model::new(0), |$m| $load),
            model_bytes: 4 * $model::PARAMS,
            loads: true,
        }
    };
}

macro_rules! params {
    ($file:literal, $model:ident) => {
        case!($file, $model, |m, b| {
            rnn_runtime::load_safetensors_from_bytes(m, b, &named("safetensors"))
        })
    };
}

macro_rules! h5 {
    ($dir:literal, $model:ident) => {
        case!($dir, $model, |m, b| keras::load_keras_weights_from_bytes(
            m,
            b.to_vec(),
            &named("weights.h5")
        ))
    };
}

macro_rules! archive {
    ($dir:literal, $model:ident) => {
        case!($dir, $model, |m, b| keras::load_keras_from_bytes(
            m,
            b,
            &named("keras")
        ))
    };
}

/// A legacy `.h5` file (Keras 2 / tf.keras, or Keras 3 to `.h5`) through `load_keras`:
/// its `model_config` checked, then its weights.
macro_rules! legacy_model {
    ($file:literal, $model:ident) => {
        case!($file, $model, |m, b| keras::load_keras_from_bytes(
            m,
            b,
            &named("h5")
        ))
    };
}

/// A legacy `.h5` file through `load_keras_weights`: its weights alone.
macro_rules! legacy_weights {
    ($file:literal, $model:ident) => {
        case!($file, $model, |m, b| keras::load_keras_weights_from_bytes(
            m,
            b.to_vec(),
            &named("h5")
        ))
    };
}

/// The name map of the LSTM fixture (`lstm`, `fc`).
pub fn torch_lstm(name: &str) -> Option<String> {
    torch::modules(&[("lstm", &[0, 1]), ("fc", &[2])])(name)
}

fn torch_gru(name: &str) -> Option<String> {
    if name == "scale" {
        return None;
    }
    torch::modules(&[("embed", &[0]), ("gru", &[1]), ("head", &[2])])(name)
}

macro_rules! pt {
    ($file:literal, $model:ident, $map:ident) => {
        case!($file, $model, |m, b| torch::load_torch_from_bytes(
            m,
            b,
            &named("pt"),
            $map
        ))
    };
}

/// A record of a zip archive: its name, contents and CRC-32.
type Record = (String, Vec<u8>, u32);

/// The records of a stored zip archive of the repository (a `.pt` fixture), in order.
/// The fixtures are well formed; this is no reader of damaged archives.
fn records(rel: &str) -> Vec<Record> {
    let bytes = std::fs::read(repo(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let le = |at: usize, width: usize| {
        bytes[at..at + width]
            .iter()
            .rev()
            .fold(0usize, |v, &b| (v << 8) | usize::from(b))
    };
    let end = (0..bytes.len() - 21)
        .rev()
        .find(|&at| bytes[at..].starts_with(b"PK\x05\x06"))
        .expect("an end of central directory record");
    let mut at = le(end + 16, 4);
    (0..le(end + 10, 2))
        .map(|_| {
            let (size, name_len) = (le(at + 20, 4), le(at + 28, 2));
            let local = le(at + 42, 4);
            let name = String::from_utf8(bytes[at + 46..at + 46 + name_len].to_vec()).unwrap();
            let start = local + 30 + le(local + 26, 2) + le(local + 28, 2);
            at += 46 + name_len + le(at + 30, 2) + le(at + 32, 2);
            let data = bytes[start..start + size].to_vec();
            let crc = crc32(&data);
            (name, data, crc)
        })
        .collect()
}

/// CRC-32 (IEEE), as zip records carry it.
fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &b| {
        (0..8).fold(crc ^ u32::from(b), |c, _| {
            (c >> 1) ^ (0xedb8_8320 & (c & 1).wrapping_neg())
        })
    })
}

/// A zip archive of `records` (name, contents, CRC-32), stored, as `torch.save` lays
/// it out (without its alignment padding).
fn stored_zip(records: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut directory = Vec::new();
    for &(name, data, crc) in records {
        let local = out.len() as u32;
        let mut header = vec![20, 0, 0, 0, 0, 0, 0, 0, 0, 0]; // version, flags, method, time, date
        header.extend(crc.to_le_bytes());
        header.extend((data.len() as u32).to_le_bytes());
        header.extend((data.len() as u32).to_le_bytes());
        header.extend((name.len() as u16).to_le_bytes());
        header.extend([0, 0]); // extra field length
        out.extend(0x0403_4b50u32.to_le_bytes());
        out.extend(&header);
        out.extend(name.as_bytes());
        out.extend(data);
        directory.extend(0x0201_4b50u32.to_le_bytes());
        directory.extend([20, 0]); // version made by
        directory.extend(&header);
        directory.extend([0; 10]); // comment length, disk, internal and external attributes
        directory.extend(local.to_le_bytes());
        directory.extend(name.as_bytes());
    }
    let start = out.len() as u32;
    out.extend(&directory);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0, 0, 0, 0]);
    out.extend((records.len() as u16).to_le_bytes());
    out.extend((records.len() as u16).to_le_bytes());
    out.extend((directory.len() as u32).to_le_bytes());
    out.extend(start.to_le_bytes());
    out.extend([0, 0]);
    out
}

/// The two `state_dict.pt` fixtures as records, read once.
fn pt_records(lstm: bool) -> &'static [Record] {
    static LSTM: OnceLock<Vec<Record>> = OnceLock::new();
    static GRU: OnceLock<Vec<Record>> = OnceLock::new();
    if lstm {
        LSTM.get_or_init(|| records("tests/fixtures/torch_lstm_bidirectional/state_dict.pt"))
    } else {
        GRU.get_or_init(|| records("tests/fixtures/torch_gru_embedding/state_dict.pt"))
    }
}

/// The `data.pkl` record of a `state_dict.pt` fixture: the pickle-level seeds.
fn pickle_of(lstm: bool) -> Vec<u8> {
    pt_records(lstm)
        .iter()
        .find(|(name, _, _)| name.ends_with("/data.pkl"))
        .expect("a data.pkl record")
        .1
        .clone()
}

fn lstm_pickle() -> Vec<u8> {
    pickle_of(true)
}

fn gru_pickle() -> Vec<u8> {
    pickle_of(false)
}

/// The fixture's archive (the LSTM's, or the GRU's) with `pickle` as its `data.pkl`
/// (checksum recomputed), so that a damaged pickle reaches the unpickler and the
/// storage reads behind it instead of failing the record's CRC-32.
pub fn with_pickle(lstm: bool, pickle: &[u8]) -> Vec<u8> {
    let crc = crc32(pickle);
    let records: Vec<(&str, &[u8], u32)> = pt_records(lstm)
        .iter()
        .map(|(name, data, record_crc)| {
            if name.ends_with("/data.pkl") {
                (name.as_str(), pickle, crc)
            } else {
                (name.as_str(), data.as_slice(), *record_crc)
            }
        })
        .collect();
    stored_zip(&records)
}

fn load_lstm_pickle(pickle: &[u8]) -> Result<()> {
    let archive = with_pickle(true, pickle);
    all_or_nothing(&mut TorchBiLstm::new(0), |m| {
        torch::load_torch_from_bytes(m, &archive, &named("pt"), torch_lstm)
    })
}

fn load_gru_pickle(pickle: &[u8]) -> Result<()> {
    let archive = with_pickle(false, pickle);
    all_or_nothing(&mut TorchGru::new(0), |m| {
        torch::load_torch_from_bytes(m, &archive, &named("pt"), torch_gru)
    })
}

/// The flat form of trained parameters: `flat::to_le_bytes` of the PyTorch reference
/// parameters of `p4_stacked`.
fn flat_seed() -> Vec<u8> {
    let mut net = P4::new(0);
    rnn_runtime::load_safetensors(
        &mut net,
        repo("tests/fixtures/p4_stacked/params.safetensors"),
    )
    .expect("p4_stacked/params.safetensors loads");
    flat::to_le_bytes(&net)
}

/// What a firmware build does with the bytes: `from_le_bytes` when the length is
/// exact and the header is this model's (otherwise it panics, by design: it is the
/// const path, whose check is the compiler's), and at run time `load_flat`, whatever
/// the bytes.
fn load_flat_bytes(bytes: &[u8]) -> Result<()> {
    if let Ok(exact) = <&[u8; flat::HEADER_BYTES + 4 * P4::PARAMS]>::try_from(bytes) {
        if flat::check_header(bytes, <P4 as rnn_runtime::Params>::SPEC_HASH).is_ok() {
            std::hint::black_box(P4::from_le_bytes(exact));
        }
    }
    all_or_nothing(&mut P4::new(0), |m| flat::load_flat(m, bytes))
}

/// The data and options of the training-state seeds, and of every resume from them:
/// 24 samples, 6 for validation, batches of 5 (4 per epoch), a plateau schedule and
/// early stopping with restored weights, so each part of the state has a reader.
fn resume_run(epochs: usize) -> (Array3<f32>, Array2<f32>, Fit<Adam>) {
    let x = Array3::from_shape_fn((24, 4, 2), |(i, t, f)| {
        ((i * 4 + t * 2 + f) as f32 * 0.3).sin()
    });
    let y = Array2::from_shape_fn((24, 1), |(i, _)| ((i * 4 + 8) as f32 * 0.3).cos());
    let opts = Fit::new(Adam::new(1e-2))
        .epochs(epochs)
        .batch_size(5)
        .seed(4)
        .validation_split(0.25)
        .schedule(ReduceOnPlateau::new().patience(0))
        .callback(EarlyStopping::new().patience(9).restore_best_weights(true))
        .verbose(false);
    (x, y, opts)
}

/// A temporary path of its own for each call, for loaders that read only from files.
fn scratch(ext: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("rnn-loaders-{}-{n}.{ext}", std::process::id()))
}

/// A training state saved at the end of epoch 2 of 2; with `mid_epoch`, the one saved
/// after step 6, halfway through epoch 2 (the run is stopped by a failing closure at
/// the end of epoch 2, before its epoch-end save).
fn state_seed(mid_epoch: bool) -> Vec<u8> {
    let path = scratch("state");
    let (x, y, opts) = resume_run(2);
    let opts = opts.save_state(&path).save_state_every_steps(6);
    let opts = if mid_epoch {
        opts.on_epoch_end_with_model(|logs, _: &Resumable| {
            if logs.epoch == 1 {
                Err(rnn_runtime::Error::Config(
                    "stop before the epoch-end save".into(),
                ))
            } else {
                Ok(Control::Continue)
            }
        })
    } else {
        opts.on_epoch_end_with_model(|_, _: &Resumable| Ok(Control::Continue))
    };
    let _ = Resumable::new(0).fit(&x, &y, opts);
    let bytes = std::fs::read(&path).expect("the training state was saved");
    std::fs::remove_file(&path).ok();
    bytes
}

fn state_seed_epoch_end() -> Vec<u8> {
    state_seed(false)
}

fn state_seed_mid_epoch() -> Vec<u8> {
    state_seed(true)
}

/// Resumes the seeds' run from `bytes` (through a file: `resume` reads one) and trains
/// it to epoch 3, so a damaged state that is accepted also has to train.
fn resume_state_bytes(bytes: &[u8]) -> Result<()> {
    let path = scratch("state");
    std::fs::write(&path, bytes).expect("temporary file");
    let (x, y, opts) = resume_run(3);
    let opts = opts
        .on_epoch_end_with_model(|_, _: &Resumable| Ok(Control::Continue))
        .resume(&path);
    let mut model = Resumable::new(0);
    let before = param_bits(&model);
    let trained = model.fit(&x, &y, opts).map(drop);
    std::fs::remove_file(&path).ok();
    match &trained {
        // A state accepted and then trained until the loss diverged keeps the last
        // finite parameters: the model changed on purpose.
        Err(Error::NonFiniteTraining { .. }) | Ok(()) => {}
        Err(e) => assert!(
            param_bits(&model) == before,
            "a refused resume changed the model; the error was: {e}"
        ),
    }
    trained
}

fn load_csv_bytes(bytes: &[u8]) -> Result<()> {
    data::read_csv(bytes, "fuzzed.csv", &["SUNACTIVITY", "YEAR"]).map(drop)
}

/// Every loader.
pub const LOADERS: &[Loader] = &[
    Loader {
        name: "safetensors_params",
        inflates: false,
        cases: &[
            params!("p1_lstm/params.safetensors", P1),
            params!("p2_gru/params.safetensors", P2),
            params!("p3_simple_rnn/params.safetensors", P3),
            params!("p4_stacked/params.safetensors", P4),
            params!("m6_embedding/params.safetensors", M6),
            params!("keras_seed/weights.safetensors", Seed),
        ],
    },
    Loader {
        name: "torch_state_dict",
        inflates: false,
        cases: &[
            case!(
                "torch_lstm_bidirectional/state_dict.safetensors",
                TorchBiLstm,
                |m, b| torch::load_torch_from_bytes(m, b, &named("safetensors"), torch_lstm)
            ),
            case!(
                "torch_gru_embedding/state_dict.safetensors",
                TorchGru,
                |m, b| torch::load_torch_from_bytes(m, b, &named("safetensors"), torch_gru)
            ),
        ],
    },
    Loader {
        // `.pt` files of `torch.save`: whole archives (zip reader, CRC-32, unpickler,
        // storages), and bare pickles put into the fixture's archive with a fresh
        // checksum, so that damage to the pickle reaches the unpickler.
        name: "torch_pt",
        inflates: true,
        cases: &[
            pt!(
                "torch_lstm_bidirectional/state_dict.pt",
                TorchBiLstm,
                torch_lstm
            ),
            pt!("torch_gru_embedding/state_dict.pt", TorchGru, torch_gru),
            pt!("torch_pt/lstm_views.pt", TorchBiLstm, torch_lstm),
            pt!("torch_pt/lstm_big_endian.pt", TorchBiLstm, torch_lstm),
            pt!("torch_pt/gru_protocol4.pt", TorchGru, torch_gru),
            pt!("torch_pt/gru_keep_vars.pt", TorchGru, torch_gru),
            refused(pt!("torch_pt/os_system.pt", TorchBiLstm, torch_lstm)),
            refused(pt!(
                "torch_pt/lstm_whole_module.pt",
                TorchBiLstm,
                torch_lstm
            )),
            refused(pt!("torch_pt/lstm_checkpoint.pt", TorchBiLstm, torch_lstm)),
            refused(pt!("torch_pt/lstm_float64.pt", TorchBiLstm, torch_lstm)),
            refused(pt!("torch_pt/lstm_torchscript.pt", TorchBiLstm, torch_lstm)),
            Case {
                seed: Source::Made("torch_lstm_bidirectional__data.pkl", lstm_pickle),
                load: load_lstm_pickle,
                model_bytes: 4 * TorchBiLstm::PARAMS,
                loads: true,
            },
            Case {
                seed: Source::Made("torch_gru_embedding__data.pkl", gru_pickle),
                load: load_gru_pickle,
                model_bytes: 4 * TorchGru::PARAMS,
                loads: true,
            },
        ],
    },
    Loader {
        name: "keras_weights_h5",
        inflates: false,
        cases: &[
            h5!("keras/k1_gru/model.weights.h5", K1),
            h5!("keras/k2_simple_rnn/model.weights.h5", K2),
            h5!("keras/k3_stacked_lstm/model.weights.h5", K3),
            h5!("keras/k4_bidirectional/model.weights.h5", K4),
            h5!("keras/k5_many_to_many/model.weights.h5", K5),
            h5!("keras/k6_embedding/model.weights.h5", M6),
            h5!("keras/k7_dropout/model.weights.h5", K7),
            refused(h5!("keras/k8_gru_reset_before/model.weights.h5", K8)),
            h5!("keras/k9_no_bias/model.weights.h5", K9),
            h5!("keras/k10_bidirectional_gru_seq/model.weights.h5", K10),
            h5!("keras/k13_keras3_h5/model.weights.h5", K3),
            h5!("keras_seed/model.weights.h5", Seed),
        ],
    },
    Loader {
        name: "keras_legacy_h5",
        inflates: false,
        cases: &[
            legacy_model!("keras/k13_keras3_h5/model.h5", K3),
            legacy_weights!("keras/k13_keras3_h5/model.h5", K3),
            legacy_model!("keras/k14_tf_keras_gru/model.h5", K14),
            legacy_weights!("keras/k14_tf_keras_gru/model.h5", K14),
            legacy_weights!("keras/k14_tf_keras_gru/model_weights.h5", K14),
            legacy_model!("keras/k14_tf_keras_gru/model_fixed_strings.h5", K14),
            legacy_weights!("keras/k14_tf_keras_gru/model_fixed_strings.h5", K14),
            legacy_model!("keras/k15_tf_keras_embedding_bidirectional/model.h5", K15),
            legacy_weights!("keras/k15_tf_keras_embedding_bidirectional/model.h5", K15),
            legacy_weights!(
                "keras/k15_tf_keras_embedding_bidirectional/model_weights.h5",
                K15
            ),
            refused(legacy_model!(
                "keras/k16_tf_keras_gru_reset_before/model.h5",
                K8
            )),
            refused(legacy_weights!(
                "keras/k16_tf_keras_gru_reset_before/model_weights.h5",
                K8
            )),
        ],
    },
    Loader {
        name: "keras_archive",
        inflates: true,
        cases: &[
            archive!("keras/k1_gru/model.keras", K1),
            archive!("keras/k1_gru/model_deflated.keras", K1),
            archive!("keras/k2_simple_rnn/model.keras", K2),
            archive!("keras/k3_stacked_lstm/model.keras", K3),
            archive!("keras/k4_bidirectional/model.keras", K4),
            archive!("keras/k5_many_to_many/model.keras", K5),
            archive!("keras/k6_embedding/model.keras", M6),
            archive!("keras/k7_dropout/model.keras", K7),
            refused(archive!("keras/k8_gru_reset_before/model.keras", K8)),
            archive!("keras/k9_no_bias/model.keras", K9),
            archive!("keras/k10_bidirectional_gru_seq/model.keras", K10),
            archive!("keras_seed/model.keras", Seed),
        ],
    },
    Loader {
        name: "flat",
        inflates: false,
        cases: &[Case {
            seed: Source::Made("p4_flat", flat_seed),
            load: load_flat_bytes,
            model_bytes: 4 * P4::PARAMS,
            loads: true,
        }],
    },
    Loader {
        name: "train_state",
        inflates: false,
        cases: &[
            Case {
                seed: Source::Made("state_epoch_end", state_seed_epoch_end),
                load: resume_state_bytes,
                model_bytes: 4 * Resumable::PARAMS,
                loads: true,
            },
            Case {
                seed: Source::Made("state_mid_epoch", state_seed_mid_epoch),
                load: resume_state_bytes,
                model_bytes: 4 * Resumable::PARAMS,
                loads: true,
            },
        ],
    },
    Loader {
        name: "csv",
        inflates: false,
        cases: &[Case {
            seed: Source::File("data/sunspots.csv"),
            load: load_csv_bytes,
            model_bytes: 0,
            loads: true,
        }],
    },
];

/// The loader named `name`; panics on a name not in [`LOADERS`] (a typo in a target).
pub fn loader(name: &str) -> &'static Loader {
    LOADERS
        .iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| panic!("no loader `{name}`"))
}

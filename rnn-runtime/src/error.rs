//! The one error type of the runtime.
//!
//! Without the `std` feature the variants that carry heap data (strings, paths, shapes)
//! do not exist; the rest keep their meaning, so errors stay typed on a
//! microcontroller too.

#[cfg(feature = "std")]
use std::path::PathBuf;

/// Everything a user of a generated model can get wrong at run time.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[cfg(feature = "std")]
    /// An input array does not have the shape the model was declared with.
    #[error("{what} has shape {got:?}, but the model expects {expected}")]
    Shape {
        /// Which argument (`x`, `y`, …).
        what: &'static str,
        /// The expected shape in words, e.g. `[batch, 20, 1]`.
        expected: String,
        /// The shape that was passed.
        got: Vec<usize>,
    },
    /// `x` and `y` hold different numbers of samples.
    #[error("x has {x} samples but y has {y}; they must match")]
    SampleCount {
        /// Samples in `x`.
        x: usize,
        /// Samples in `y`.
        y: usize,
    },
    /// There is nothing to train on or evaluate.
    #[error("{0} holds no samples")]
    Empty(&'static str),
    #[cfg(feature = "std")]
    /// A training option is out of its range.
    #[error("invalid training option: {0}")]
    Config(String),
    /// Gradients or optimiser state belong to a model with another parameter layout.
    #[error("gradients have {got} values, but the model has {expected} parameters")]
    GradsMismatch {
        /// The model's parameter count.
        expected: usize,
        /// Values in the gradients passed.
        got: usize,
    },
    #[cfg(feature = "std")]
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    #[cfg(feature = "std")]
    /// A file is not valid safetensors.
    #[error(
        "{path}: not a valid safetensors file: {}",
        describe_safetensors(source)
    )]
    SafeTensors {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        #[source]
        source: safetensors::SafeTensorError,
    },
    #[cfg(feature = "std")]
    /// A tensor the model needs is absent from a file.
    #[error("{path}: tensor `{name}` is missing")]
    MissingTensor {
        /// The file.
        path: PathBuf,
        /// The parameter name, e.g. `0.weight_ih`.
        name: String,
    },
    #[cfg(feature = "std")]
    /// A file holds a tensor that the model does not have.
    #[error("{path}: tensor `{name}` is not a parameter of this model")]
    UnexpectedTensor {
        /// The file.
        path: PathBuf,
        /// The unknown tensor's name.
        name: String,
    },
    #[cfg(feature = "std")]
    /// A tensor in a file has the wrong shape.
    #[error("{path}: tensor `{name}` has shape {got:?}, expected {expected:?}")]
    TensorShape {
        /// The file.
        path: PathBuf,
        /// The parameter name.
        name: String,
        /// The model's shape for it.
        expected: Vec<usize>,
        /// The file's shape for it.
        got: Vec<usize>,
    },
    #[cfg(feature = "std")]
    /// A tensor in a file is not float32.
    #[error("{path}: tensor `{name}` has dtype {got}, expected F32")]
    TensorDtype {
        /// The file.
        path: PathBuf,
        /// The parameter name.
        name: String,
        /// The file's dtype.
        got: String,
    },
    /// A token id is not below the vocabulary size of the model's embedding.
    #[error(
        "sample {sample}, step {step}: token id {id} is out of range for a vocabulary of {vocab}"
    )]
    TokenOutOfRange {
        /// Index of the sample in the array passed.
        sample: usize,
        /// Time step within the sample.
        step: usize,
        /// The offending id.
        id: u32,
        /// The vocabulary size; valid ids are `0..vocab`.
        vocab: usize,
    },
    /// A dropout rate is outside `[0, 1)`.
    #[error("dropout rate {rate} is outside [0, 1)")]
    DropoutRate {
        /// The rate given.
        rate: f32,
    },
    /// A target value is not valid for the loss: not finite, or not a class id.
    #[cfg(feature = "std")]
    #[error(
        "y row {row}{} is invalid for {loss}: {reason}",
        step.map(|t| format!(", step {t},")).unwrap_or_default()
    )]
    InvalidTarget {
        /// Keras's name of the loss.
        loss: &'static str,
        /// The row (sample) of `y`, from 0.
        row: usize,
        /// The time step within the row, for a model with a sequence output.
        step: Option<usize>,
        /// What is wrong with it.
        reason: String,
    },
    #[cfg(feature = "std")]
    /// A loss has a parameter out of its range (a Huber delta that is not positive).
    #[cfg(feature = "std")]
    #[error("invalid {loss} loss: {reason}")]
    LossParameter {
        /// Keras's name of the loss.
        loss: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A loss that cannot be computed on the model's output: a cross-entropy on an
    /// output that is neither logits nor the probabilities it expects.
    #[cfg(feature = "std")]
    #[error("{loss} cannot read this model's output: {reason}")]
    LossOutput {
        /// Keras's name of the loss.
        loss: &'static str,
        /// What the loss reads and what the model's last layer is.
        reason: String,
    },
    /// `Fit::loss` names a loss other than the one the model trains and evaluates with.
    #[cfg(feature = "std")]
    #[error(
        "Fit::loss({requested}) contradicts the model's loss {declared}: declare \
         `loss = {requested}` in the model's spec instead, so that evaluate and \
         loss_and_grads use it too"
    )]
    LossMismatch {
        /// The model's loss: declared in its spec, or MSE by default.
        declared: String,
        /// The loss `Fit::loss` named.
        requested: String,
    },
    /// A file is not one the called Keras loader reads: not HDF5 or zip, truncated,
    /// corrupt, without the groups, attributes and entries Keras writes, or a Keras
    /// file of the kind the other loader reads (the reason names that call).
    #[cfg(feature = "std")]
    #[error("{path}: not a readable Keras file: {reason}")]
    KerasFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A layer of a Keras file does not match the declared model (kind, sizes,
    /// options, weight shapes), or is missing or extra.
    #[cfg(feature = "std")]
    #[error("{path}: layer {layer} (Keras `{keras}`): {reason}")]
    KerasLayer {
        /// The file.
        path: PathBuf,
        /// The layer's number in the declared model (for an extra layer, the number
        /// it would have).
        layer: usize,
        /// Keras's name of the layer: its config name in a `.keras` archive or a
        /// legacy `.h5` model file, its weight group (`lstm`, `dense_1`, …) in a Keras
        /// 3 `.weights.h5` file, its layer name in a legacy weights file.
        keras: String,
        /// The mismatch, naming both sides.
        reason: String,
    },
    /// A Keras model as a whole does not match the declared one (not Sequential, a
    /// different input width).
    #[cfg(feature = "std")]
    #[error("{path}: {reason}")]
    KerasModel {
        /// The file.
        path: PathBuf,
        /// The mismatch, naming both sides.
        reason: String,
    },
    /// `use_portable_kernels` came after a computation chose the accelerated kernels.
    #[error(
        "the accelerated kernels are already in use by this process: call \
         use_portable_kernels() before building any model, or set RNN_PORTABLE=1"
    )]
    KernelsChosen,
    /// A flat weights file whose header does not fit the model reading it.
    #[error("cannot load these weights: {0}")]
    WeightsHeader(HeaderMismatch),
    /// A flat parameter vector does not have one value per parameter of the model.
    #[error("the model has {expected} parameters, but {got} values were given")]
    ParamCount {
        /// The model's parameter count.
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// Training met a NaN or infinite loss or gradient; the model keeps the parameters
    /// of the last finite step.
    #[error(
        "training diverged: the {what} of epoch {epoch}, step {step} is not finite; the model keeps the parameters of the last finite step"
    )]
    NonFiniteTraining {
        /// `"loss"` or `"gradient"`.
        what: &'static str,
        /// The epoch, counted from 1 as the progress bar shows it.
        epoch: usize,
        /// The step (batch) within the epoch, counted from 1.
        step: usize,
    },
    /// A parameter of a model to quantise to int8 is NaN or infinite: its row would
    /// have no finite scale.
    #[error(
        "parameter {tensor}, value {index} is {value}: only finite parameters can be quantised"
    )]
    NonFiniteWeight {
        /// The tensor's name, as in `param_specs` (e.g. `0.weight_hh`).
        tensor: &'static str,
        /// The value's index in the tensor, row-major.
        index: usize,
        /// The value found.
        value: f32,
    },
    /// An input feature is NaN or infinite.
    #[error("x sample {sample}, step {step}, feature {feature} is {value}: inputs must be finite")]
    NonFiniteInput {
        /// The sample (row of `x`), from 0.
        sample: usize,
        /// The time step.
        step: usize,
        /// The feature.
        feature: usize,
        /// The value found.
        value: f32,
    },
    /// A sample's length (given, or read from its padding) is outside `1..=steps`.
    #[error(
        "sample {sample} has length {length}, but lengths must be between 1 and the model's {steps} \
         steps; drop empty samples, and cut longer ones into windows"
    )]
    Length {
        /// The sample (row of `x`), from 0.
        sample: usize,
        /// Its length.
        length: usize,
        /// The model's time steps.
        steps: usize,
    },
    /// Lengths given to a model that reads them from its padding disagree with it.
    #[error(
        "lengths[{sample}] is {given}, but sample {sample}'s padding gives {read} steps from \
         step {start}; pass lengths that match the padding (given lengths mean padding after \
         the steps), or none (the model reads them from the padding)"
    )]
    LengthMismatch {
        /// The sample (row of `x`), from 0.
        sample: usize,
        /// The length given.
        given: usize,
        /// The valid steps its padding marks.
        read: usize,
        /// Where they start.
        start: usize,
    },
    /// A masked model found a valid step after padding: the valid steps of a sample
    /// must be one run, padded after it (PyTorch's and Keras's `padding="post"`) or
    /// before it (Keras's default `padding="pre"`).
    #[error(
        "x sample {sample} has padding at step {padding} and a valid step at {valid}; pad \
         each sample on one side only, before or after its steps"
    )]
    PaddingInside {
        /// The sample (row of `x`), from 0.
        sample: usize,
        /// A padded step between valid ones.
        padding: usize,
        /// A valid step on the far side of it.
        valid: usize,
    },
    /// `forward_from` was given a number of initial states other than one per sample.
    #[error("forward_from needs one initial state per sample: {samples} samples, {states} states")]
    StateCount {
        /// Samples in `x`.
        samples: usize,
        /// States given.
        states: usize,
    },
    /// A closure given to `Fit::on_epoch_end_with_model` reads another model type than
    /// the one `fit` trains.
    #[error("an epoch callback reads a model of type {expected}, but fit trains {got}")]
    CallbackModel {
        /// The type the closure takes.
        expected: &'static str,
        /// The type being trained.
        got: &'static str,
    },
    /// No ONNX graph can be built: the model masks padding (`mask_zero` or `masking`),
    /// which the export does not carry yet, or its architecture and parameters disagree
    /// (only a hand-written [`Network`](crate::Network) implementation can cause that).
    #[cfg(feature = "std")]
    #[error("cannot export to ONNX: {0}")]
    OnnxExport(String),
    /// A name map sent a file's tensor to a name that is not a parameter of the model.
    #[cfg(feature = "std")]
    #[error(
        "{path}: tensor `{name}` maps to `{mapped}`, which is not a parameter of this model; map it to None to skip it"
    )]
    UnmappedTensor {
        /// The file.
        path: PathBuf,
        /// The tensor's name in the file.
        name: String,
        /// The name the map gave it.
        mapped: String,
    },
    /// A name map sent two of a file's tensors to the same parameter.
    #[cfg(feature = "std")]
    #[error("{path}: tensors `{first}` and `{second}` both map to parameter `{param}`")]
    DuplicateTensor {
        /// The file.
        path: PathBuf,
        /// The parameter, e.g. `0.weight_ih`.
        param: String,
        /// The first tensor mapped to it (in name order).
        first: String,
        /// The second.
        second: String,
    },
    /// A PyTorch `.pt` file (`torch.save`) is damaged or not laid out as `torch.save`
    /// writes it: not a zip archive with one `<name>/data.pkl` record, a truncated or
    /// corrupt record, a pickle damaged or using an accepted name in a way PyTorch does
    /// not, a storage record shorter than its tensors. Also PyTorch's legacy (pre-1.6)
    /// format and TorchScript archives, which say how to save a readable file instead.
    #[cfg(feature = "std")]
    #[error("{path}: not a readable PyTorch file: {reason}")]
    TorchFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The pickle of a `.pt` file uses an opcode that rebuilding a `state_dict` never
    /// needs (one that builds arbitrary objects, such as `NEWOBJ` or `INST`); the
    /// restricted unpickler refuses it rather than run what the file says.
    #[cfg(feature = "std")]
    #[error(
        "{path}: the pickle (data.pkl) uses opcode {name} (0x{opcode:02x}) at byte {offset}, \
         which is refused: only a state_dict of tensors is rebuilt and nothing in the file is \
         run; save the weights with `torch.save(model.state_dict(), path)`"
    )]
    TorchPickleOpcode {
        /// The file.
        path: PathBuf,
        /// Offset of the opcode in the pickle record.
        offset: usize,
        /// The opcode's byte.
        opcode: u8,
        /// Its name in Python's `pickletools`.
        name: &'static str,
    },
    /// The pickle of a `.pt` file names a Python global (class or function) outside the
    /// few that rebuild a `state_dict`: a whole pickled `nn.Module`
    /// (`torch.save(model)`), or a hostile file naming `os.system`. Nothing is imported
    /// or called.
    #[cfg(feature = "std")]
    #[error(
        "{path}: the pickle (data.pkl) names `{global}` at byte {offset}, which is refused: \
         only a state_dict of tensors is rebuilt and nothing in the file is imported or run; \
         if the file holds a whole model (`torch.save(model)`), save \
         `torch.save(model.state_dict(), path)` instead"
    )]
    TorchPickleGlobal {
        /// The file.
        path: PathBuf,
        /// Offset of the `GLOBAL` or `STACK_GLOBAL` opcode in the pickle record.
        offset: usize,
        /// `module.name`, e.g. `__main__.Net` or `os.system`.
        global: String,
    },
    /// A `.pt` file unpickles to something other than a `state_dict` (a dict of tensors
    /// by name): a single tensor, a list, a training checkpoint holding the state_dict
    /// under a key.
    #[cfg(feature = "std")]
    #[error(
        "{path}: not a state_dict (tensors by name): it holds {found}; save the weights with \
         `torch.save(model.state_dict(), path)`"
    )]
    TorchNotStateDict {
        /// The file.
        path: PathBuf,
        /// What it holds instead.
        found: String,
    },
    /// A series is too short to cut even one window from it.
    #[cfg(feature = "std")]
    #[error(
        "series has {len} steps, but one window needs timesteps + horizon = {timesteps} + {horizon} = {}",
        timesteps + horizon
    )]
    SeriesTooShort {
        /// Steps (rows) in the series.
        len: usize,
        /// Input steps per window.
        timesteps: usize,
        /// Target steps per window.
        horizon: usize,
    },
    /// A data helper was called with an argument out of its range (a zero horizon,
    /// split fractions that do not add up, a column index past the last column).
    #[cfg(feature = "std")]
    #[error("invalid data option: {0}")]
    DataOption(String),
    /// A CSV file lacks a column that was asked for.
    #[cfg(feature = "std")]
    #[error(
        "{path}: no column `{column}`; the columns are {}",
        list_columns(available)
    )]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column asked for.
        column: String,
        /// The header of the file.
        available: Vec<String>,
    },
    /// A CSV cell in a requested column is not a finite number.
    #[cfg(feature = "std")]
    #[error(
        "{path}, line {line}, column `{column}`: {} is not a finite number",
        quote_cell(value)
    )]
    NonNumeric {
        /// The file.
        path: PathBuf,
        /// Line in the file, from 1 (the header is line 1).
        line: u64,
        /// The column's name.
        column: String,
        /// The cell's text.
        value: String,
    },
    /// A CSV file has no header, or a header and no data rows.
    #[cfg(feature = "std")]
    #[error("{path}: {}", if *header { "has a header but no data rows" } else { "is empty" })]
    EmptyFile {
        /// The file.
        path: PathBuf,
        /// Whether it has a header row.
        header: bool,
    },
    /// A CSV file is malformed (a row with another number of fields than the header,
    /// invalid UTF-8).
    #[cfg(feature = "std")]
    #[error("{path}, line {line}: {reason}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// Line in the file, from 1; 0 when the parser could not tell.
        line: u64,
        /// What the parser said.
        reason: String,
    },
    /// A scaler cannot be fitted to a column whose values are all the same.
    #[cfg(feature = "std")]
    #[error(
        "column {column} is constant ({value}), so a scaler cannot spread it; drop the column or leave it unscaled"
    )]
    ConstantColumn {
        /// The column's index.
        column: usize,
        /// Its one value.
        value: f32,
    },
    /// Data to fit a scaler to holds NaN or an infinity.
    #[cfg(feature = "std")]
    #[error("row {row}, column {column} is {value}; a scaler needs finite values")]
    NonFinite {
        /// The row, from 0.
        row: usize,
        /// The column, from 0.
        column: usize,
        /// The value.
        value: f32,
    },
    /// Drawing a plot failed.
    #[cfg(feature = "std")]
    #[error("{path}: cannot draw the plot: {reason}")]
    Plot {
        /// The image file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The state of an optimiser, schedule or callback does not fit the component it
    /// is loaded into (another kind, a missing or mistyped value).
    #[cfg(feature = "std")]
    #[error("invalid state: {0}")]
    StateDict(String),
    /// A training-state file cannot be resumed from: damaged, or not written by
    /// `Fit::save_state`, or for another optimiser or set of callbacks.
    #[cfg(feature = "std")]
    #[error("{path}: cannot resume from this training state: {reason}")]
    TrainState {
        /// The training-state file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A training state was saved by a run configured differently from the one
    /// resuming it, so the resumed run could not continue the same trajectory.
    #[cfg(feature = "std")]
    #[error(
        "{path}: the training state was saved by a run with {what} {saved}, but this run has {now}"
    )]
    ResumeMismatch {
        /// The training-state file.
        path: PathBuf,
        /// What differs: `batch_size`, `seed`, `training samples`, …
        what: &'static str,
        /// The saved run's value.
        saved: String,
        /// This run's value.
        now: String,
    },
}

/// The safetensors crate displays its errors as their variant names; say what each
/// means for the file instead.
#[cfg(feature = "std")]
fn describe_safetensors(e: &safetensors::SafeTensorError) -> String {
    use safetensors::SafeTensorError as E;
    match e {
        E::HeaderTooSmall => "shorter than the 8-byte header length (empty or truncated)".into(),
        E::InvalidHeaderLength => {
            "the header length points past the end of the file (truncated?)".into()
        }
        E::HeaderTooLarge => "the header length is over the format's 100 MB limit".into(),
        E::InvalidHeader | E::InvalidHeaderStart => "the header is not UTF-8 JSON".into(),
        E::InvalidHeaderDeserialization | E::JsonError(_) => {
            format!("the header is not a valid tensor table ({e:?})")
        }
        E::MetadataIncompleteBuffer => {
            "the data section does not match the header's offsets (truncated or damaged)".into()
        }
        E::InvalidOffset(name) => format!("tensor `{name}` has invalid offsets"),
        E::TensorInvalidInfo | E::ValidationOverflow => {
            "a tensor's shape and dtype do not match its byte range".into()
        }
        other => format!("{other:?}"),
    }
}

#[cfg(feature = "std")]
fn list_columns(columns: &[String]) -> String {
    if columns.is_empty() {
        return "(none)".into();
    }
    let quoted: Vec<String> = columns.iter().map(|c| format!("`{c}`")).collect();
    quoted.join(", ")
}

#[cfg(feature = "std")]
fn quote_cell(value: &str) -> String {
    if value.is_empty() {
        "the empty cell".into()
    } else {
        format!("`{value}`")
    }
}

/// `Result` with the runtime's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Why a flat weights file's header does not fit the model reading it
/// ([`flat::check_header`](crate::flat::check_header)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderMismatch {
    /// Fewer bytes than a header.
    Short,
    /// The first bytes are not the expected magic (`flat::MAGIC`, or
    /// `flat::INT8_MAGIC` for an int8 model): not a weights file of this kind, or one
    /// written before the format had a header (write it again with `to_le_bytes`).
    Magic,
    /// Another version of the format.
    Version {
        /// The version in the file.
        found: u32,
        /// The version this build reads.
        expected: u32,
    },
    /// Written for another model: other layers, sizes or activations.
    Spec {
        /// This model's [`Params::SPEC_HASH`](crate::Params::SPEC_HASH).
        expected: u64,
        /// The hash in the file.
        found: u64,
    },
}

impl HeaderMismatch {
    /// What went wrong and what to do, without the numbers: the message of the
    /// compile-time error of a `static` model's `from_le_bytes`.
    pub const fn message(self) -> &'static str {
        match self {
            HeaderMismatch::Short => "the weights are shorter than the 16-byte header",
            HeaderMismatch::Magic => {
                "the weights do not start with this kind of file's header (`RNNW` for f32, \
                 `RNNQ` for int8): write them with the model's to_le_bytes (or its int8 \
                 twin's)"
            }
            HeaderMismatch::Version { .. } => {
                "the weights were written in another version of the flat format: write them \
                 again with this version's rnn_runtime::flat::to_le_bytes"
            }
            HeaderMismatch::Spec { .. } => {
                "the weights were written for another model (its layers, sizes or activations \
                 differ from this one's spec)"
            }
        }
    }
}

impl core::fmt::Display for HeaderMismatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message())?;
        match *self {
            HeaderMismatch::Version { found, expected } => {
                write!(f, " (file: version {found}, this build: {expected})")
            }
            HeaderMismatch::Spec { expected, found } => {
                write!(
                    f,
                    " (file: spec hash {found:#018x}, this model: {expected:#018x})"
                )
            }
            _ => Ok(()),
        }
    }
}

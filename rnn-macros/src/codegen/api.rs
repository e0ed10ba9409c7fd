//! The generated API as one table: every item a `model!` declares, where it lives,
//! when it exists and its signature.
//!
//! Both the real expansion ([`super::expand`]) and the fallback emitted after a spec
//! error ([`super::fallback`]) declare the items of this table through
//! [`inherent_impls`], the first with real bodies, the second with bodies that are
//! never run; so the fallback cannot lack an item the real API has, and a user's code
//! sees one error, not a cascade. The `model!` documentation
//! (`rnn-runtime/docs/model.md`) lists the same items, and a test checks it.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::lit;
use crate::spec::{Header, Input, PartialShape};

/// The type that declares an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// The model struct, `Name`.
    Model,
    /// The single-sample state, `NameState`.
    State,
    /// The streaming cursor, `NameStream<'_>`.
    Stream,
}

/// When an item exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// Always, `no_std` included.
    Core,
    /// With the runtime's `std` feature (heap, threads, files).
    Std,
    /// For models that run step by step (no bidirectional layer), `no_std` included.
    Streaming,
    /// For models that run step by step, with the runtime's `std` feature.
    StreamingStd,
}

impl Needs {
    fn std(self) -> bool {
        matches!(self, Needs::Std | Needs::StreamingStd)
    }

    fn streaming(self) -> bool {
        matches!(self, Needs::Streaming | Needs::StreamingStd)
    }
}

/// The associated consts of the model struct, each with its type and documentation.
pub const CONSTS: [(&str, &str, &str); 9] = [
    ("TIMESTEPS", "usize", "Time steps of one input sample."),
    (
        "FEATURES",
        "usize",
        "Features per time step (1 for a token id).",
    ),
    (
        "OUTPUTS",
        "usize",
        "Width of the output (per time step for a sequence output).",
    ),
    (
        "PARAMS",
        "usize",
        "Number of scalar parameters (the same as PyTorch's for this model).",
    ),
    (
        "WEIGHT_BYTES",
        "usize",
        "Bytes of the parameters as the model holds them (`4 × PARAMS`): the flash a \
         `static` model takes. A flat weights file adds `rnn_runtime::flat::HEADER_BYTES`.",
    ),
    (
        "STATE_BYTES",
        "usize",
        "Bytes of the state a stream carries between steps (`h` of every recurrent layer, \
         and `c` of an LSTM): the RAM of one stream besides its model. 0 for a model \
         without a stream (one with a bidirectional layer).",
    ),
    (
        "STACK_BYTES",
        "usize",
        "An upper bound on the stack of one `predict_one` or `push` in an optimised build \
         (opt-level 3 or \"s\"; a debug build uses more): twice the arrays the call holds \
         (room for the compiler's copies), plus an allowance for frames. CI measures the \
         real figure by stack painting and checks it stays below.",
    ),
    (
        "FLOPS_PER_STEP",
        "u64",
        "Floating-point operations of one `push` (every layer once; 0 for a model without \
         a stream): two per multiply-add of the weight products; biases, activations and \
         element-wise updates are not counted.",
    ),
    (
        "FLOPS_PER_SAMPLE",
        "u64",
        "Floating-point operations of one `predict_one`, counted as `FLOPS_PER_STEP`: the \
         layers that read a sequence run `TIMESTEPS` times, the others once.",
    ),
];

/// The types a model declares beside its struct, by the suffix of their name.
#[cfg_attr(not(test), allow(dead_code, reason = "read by the documentation test"))]
pub const TYPES: [(&str, Needs); 3] = [
    ("Workspace", Needs::Std),
    ("State", Needs::Streaming),
    ("Stream", Needs::Streaming),
];

/// The traits the model struct implements (`Clone` and `PartialEq` are derived, and
/// none of these is generated when the user derives it).
#[cfg_attr(not(test), allow(dead_code, reason = "read by the documentation test"))]
pub const TRAITS: [&str; 6] = [
    "Clone",
    "PartialEq",
    "Debug",
    "Display",
    "Params",
    "Network",
];

/// The items of the int8 twin (`codegen::quant`), as the `model!` documentation names
/// them: generated for every model that runs step by step, the same as `NameState`.
#[cfg_attr(not(test), allow(dead_code, reason = "read by the documentation test"))]
pub const INT8: [&str; 10] = [
    "Name::quantize(",
    "NameInt8",
    "NameInt8::WEIGHT_BYTES",
    "NameInt8::from_le_bytes(",
    "NameInt8::to_le_bytes(",
    "NameInt8::dequantize(",
    "NameInt8::predict_one(",
    "NameInt8::stream(",
    "NameInt8::stream_from(",
    "NameInt8Stream",
];

/// Every generated method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `Name::new(seed)`.
    New,
    /// `Name::from_le_bytes(&[u8; 4 * PARAMS])`.
    FromLeBytes,
    /// `predict_one(&x)`: one sample on the stack.
    PredictOne,
    /// `stream()`.
    Stream,
    /// `stream_from(state)`.
    StreamFrom,
    /// `forward(x)`.
    Forward,
    /// `predict(x)`.
    Predict,
    /// `evaluate(x, y)`.
    Evaluate,
    /// `evaluate_with(x, y, loss)`.
    EvaluateWith,
    /// `loss_and_grads(x, y)`.
    LossAndGrads,
    /// `loss_and_grads_with(x, y, loss, dropout_seed)`.
    LossAndGradsWith,
    /// `loss_and_grads_into(x, y, grads)`: into reused gradients, without allocating.
    LossAndGradsInto,
    /// `fit(x, y, options)`.
    Fit,
    /// `forward_from(x, states)`.
    ForwardFrom,
    /// `loss_and_grads_from(x, y, states, dropout_seed)`: one chunk of truncated BPTT.
    LossAndGradsFrom,
    /// `predict_series(x)`: a series of any length, state carried across chunks.
    PredictSeries,
    /// `fit_series(x, y, options)`: truncated BPTT over long series.
    FitSeries,
    /// `summary()`.
    Summary,
    /// `save_safetensors(path)`.
    SaveSafetensors,
    /// `load_safetensors(path)`.
    LoadSafetensors,
    /// `load_keras(path)`.
    LoadKeras,
    /// `load_keras_weights(path)`.
    LoadKerasWeights,
    /// `load_torch(path, map)`.
    LoadTorch,
    /// `load_state_dict(path, map)`, deprecated.
    LoadStateDict,
    /// `to_le_bytes()`.
    ToLeBytes,
    /// `save_onnx(path)`.
    SaveOnnx,
    /// `NameState::new()`.
    StateNew,
    /// `NameStream::push(x)`.
    Push,
    /// `NameStream::state()`.
    StreamState,
    /// `NameStream::into_state()`.
    IntoState,
    /// `NameStream::steps()`.
    Steps,
    /// `NameStream::reset()`.
    Reset,
}

impl Method {
    /// Every method, in the order they are declared.
    pub const ALL: [Method; 32] = [
        Method::New,
        Method::FromLeBytes,
        Method::PredictOne,
        Method::Stream,
        Method::StreamFrom,
        Method::Forward,
        Method::Predict,
        Method::Evaluate,
        Method::EvaluateWith,
        Method::LossAndGrads,
        Method::LossAndGradsWith,
        Method::LossAndGradsInto,
        Method::Fit,
        Method::ForwardFrom,
        Method::LossAndGradsFrom,
        Method::PredictSeries,
        Method::FitSeries,
        Method::Summary,
        Method::SaveSafetensors,
        Method::LoadSafetensors,
        Method::LoadKeras,
        Method::LoadKerasWeights,
        Method::LoadTorch,
        Method::LoadStateDict,
        Method::ToLeBytes,
        Method::SaveOnnx,
        Method::StateNew,
        Method::Push,
        Method::StreamState,
        Method::IntoState,
        Method::Steps,
        Method::Reset,
    ];

    /// The method's name.
    pub fn name(self) -> &'static str {
        match self {
            Method::New | Method::StateNew => "new",
            Method::FromLeBytes => "from_le_bytes",
            Method::PredictOne => "predict_one",
            Method::Stream => "stream",
            Method::StreamFrom => "stream_from",
            Method::Forward => "forward",
            Method::Predict => "predict",
            Method::Evaluate => "evaluate",
            Method::EvaluateWith => "evaluate_with",
            Method::LossAndGrads => "loss_and_grads",
            Method::LossAndGradsWith => "loss_and_grads_with",
            Method::LossAndGradsInto => "loss_and_grads_into",
            Method::Fit => "fit",
            Method::ForwardFrom => "forward_from",
            Method::LossAndGradsFrom => "loss_and_grads_from",
            Method::PredictSeries => "predict_series",
            Method::FitSeries => "fit_series",
            Method::Summary => "summary",
            Method::SaveSafetensors => "save_safetensors",
            Method::LoadSafetensors => "load_safetensors",
            Method::LoadKeras => "load_keras",
            Method::LoadKerasWeights => "load_keras_weights",
            Method::LoadTorch => "load_torch",
            Method::LoadStateDict => "load_state_dict",
            Method::ToLeBytes => "to_le_bytes",
            Method::SaveOnnx => "save_onnx",
            Method::Push => "push",
            Method::StreamState => "state",
            Method::IntoState => "into_state",
            Method::Steps => "steps",
            Method::Reset => "reset",
        }
    }

    /// The type that declares the method.
    pub fn owner(self) -> Owner {
        match self {
            Method::StateNew => Owner::State,
            Method::Push
            | Method::StreamState
            | Method::IntoState
            | Method::Steps
            | Method::Reset => Owner::Stream,
            _ => Owner::Model,
        }
    }

    /// When the method exists.
    pub fn needs(self) -> Needs {
        match self {
            // `new` initialises through `Network::init`, which needs the runtime's `std`.
            Method::FromLeBytes | Method::PredictOne => Needs::Core,
            Method::Stream
            | Method::StreamFrom
            | Method::StateNew
            | Method::Push
            | Method::StreamState
            | Method::IntoState
            | Method::Steps
            | Method::Reset => Needs::Streaming,
            Method::ForwardFrom
            | Method::LossAndGradsFrom
            | Method::PredictSeries
            | Method::FitSeries => Needs::StreamingStd,
            _ => Needs::Std,
        }
    }

    /// Attributes that belong to the signature (deprecation).
    fn attrs(self) -> TokenStream {
        match self {
            Method::LoadStateDict => quote! {
                #[deprecated(since = "0.2.0", note = "renamed `load_torch` (`load_state_dict` is the optimisers' name for their state)")]
            },
            _ => TokenStream::new(),
        }
    }
}

/// What the signatures are written with: the model's names and, as far as it is
/// known, its shape.
pub struct Types {
    name: Ident,
    shape: Option<PartialShape>,
    /// `PARAMS`, when known.
    params: Option<usize>,
    /// The fallback's: batch inputs are any type, so that the user's code, right or
    /// wrong for a spec that does not compile, adds no error of its own.
    loose: bool,
}

impl Types {
    /// The signatures of a checked model.
    pub fn exact(header: &Header, shape: PartialShape, params: usize) -> Self {
        Types {
            name: header.name.clone(),
            shape: Some(shape),
            params: Some(params),
            loose: false,
        }
    }

    /// The fallback's signatures, typed where `shape` is known.
    pub fn loose(header: &Header, shape: Option<PartialShape>) -> Self {
        Types {
            name: header.name.clone(),
            shape,
            params: None,
            loose: true,
        }
    }

    /// `NameState`, `NameStream` or `NameWorkspace`.
    pub fn type_name(&self, suffix: &str) -> Ident {
        format_ident!("{}{}", self.name, suffix)
    }

    /// The element type of a batch input and its ndarray dimension.
    pub fn input(&self) -> (TokenStream, TokenStream) {
        match self.shape.map(|s| s.input) {
            Some(Input::Tokens) => (quote!(u32), quote!(::rnn_runtime::ndarray::Ix2)),
            _ => (quote!(f32), quote!(::rnn_runtime::ndarray::Ix3)),
        }
    }

    /// The ndarray dimension of a batch of outputs.
    pub fn output_dim(&self) -> TokenStream {
        if self.shape.is_some_and(|s| s.sequence) {
            quote!(::rnn_runtime::ndarray::Ix3)
        } else {
            quote!(::rnn_runtime::ndarray::Ix2)
        }
    }

    /// `(type generics, parameter type)` of the batch input `x`, whose lifetime is
    /// `'a`.
    fn batch_x(&self) -> (TokenStream, TokenStream) {
        if self.loose {
            (quote!(X,), quote!(X))
        } else {
            let (elem, dim) = self.input();
            (
                TokenStream::new(),
                quote!(impl ::rnn_runtime::ndarray::AsArray<'a, #elem, #dim>),
            )
        }
    }

    /// One sample's output, `[f32; OUTPUTS]` or `[[f32; OUTPUTS]; T]`.
    fn sample_output(shape: PartialShape) -> TokenStream {
        let (t, out) = (lit(shape.timesteps), lit(shape.outputs));
        if shape.sequence {
            quote!([[f32; #out]; #t])
        } else {
            quote!([f32; #out])
        }
    }

    /// The signature of `method`: everything from `fn` to the body.
    pub fn signature(&self, method: Method) -> TokenStream {
        let ident = format_ident!("{}", method.name());
        let state = self.type_name("State");
        let stream = self.type_name("Stream");
        let result = quote!(::rnn_runtime::Result);
        let path = quote!(impl ::rnn_runtime::__private::AsRef<::rnn_runtime::__private::Path>);
        let y_dim = self.output_dim();
        let batch = quote!(::rnn_runtime::ndarray::Array<f32, #y_dim>);
        let (x_generics, x) = self.batch_x();
        let y = quote!(impl ::rnn_runtime::ndarray::AsArray<'b, f32, D>);
        let dim = quote!(D: ::rnn_runtime::ndarray::Dimension);
        let grads = quote!(#result<(f32, ::rnn_runtime::Grads)>);
        let map = quote! {
            impl ::rnn_runtime::__private::Fn(&str) -> ::rnn_runtime::__private::Option<::rnn_runtime::__private::String>
        };
        match method {
            Method::New => quote!(fn new(seed: u64) -> Self),
            Method::FromLeBytes => {
                let bytes = match self.params {
                    Some(params) => {
                        let bytes = lit(4 * params);
                        quote!(&[u8; ::rnn_runtime::flat::HEADER_BYTES + #bytes])
                    }
                    None => quote!(&[u8]),
                };
                quote!(fn from_le_bytes(bytes: #bytes) -> Self)
            }
            Method::PredictOne => match self.shape {
                Some(shape) => {
                    let t = lit(shape.timesteps);
                    let y = Self::sample_output(shape);
                    match shape.input {
                        Input::Features(f) => {
                            let f = lit(f);
                            quote!(fn predict_one(&self, x: &[[f32; #f]; #t]) -> #y)
                        }
                        Input::Tokens => {
                            quote!(fn predict_one(&self, x: &[u32; #t]) -> #result<#y>)
                        }
                    }
                }
                None => quote!(fn predict_one<X: ?Sized, R>(&self, x: &X) -> R),
            },
            Method::Stream => quote!(fn stream(&self) -> #stream<'_>),
            Method::StreamFrom => quote!(fn stream_from(&self, state: #state) -> #stream<'_>),
            Method::Forward | Method::Predict => {
                quote!(fn #ident<'a, #x_generics>(&self, x: #x) -> #result<#batch>)
            }
            Method::Evaluate => {
                quote!(fn evaluate<'a, 'b, #x_generics #dim>(&self, x: #x, y: #y) -> #result<f32>)
            }
            Method::EvaluateWith => quote! {
                fn evaluate_with<'a, 'b, #x_generics #dim>(
                    &self,
                    x: #x,
                    y: #y,
                    loss: ::rnn_runtime::Loss,
                ) -> #result<f32>
            },
            Method::LossAndGrads => {
                quote!(fn loss_and_grads<'a, 'b, #x_generics #dim>(&self, x: #x, y: #y) -> #grads)
            }
            Method::LossAndGradsWith => quote! {
                fn loss_and_grads_with<'a, 'b, #x_generics #dim>(
                    &self,
                    x: #x,
                    y: #y,
                    loss: ::rnn_runtime::Loss,
                    dropout_seed: u64,
                ) -> #grads
            },
            Method::LossAndGradsInto => quote! {
                fn loss_and_grads_into<'a, 'b, #x_generics #dim>(
                    &self,
                    x: #x,
                    y: #y,
                    grads: &mut ::rnn_runtime::Grads,
                ) -> #result<f32>
            },
            Method::Fit => quote! {
                fn fit<'a, 'b, #x_generics D, O, F>(
                    &mut self,
                    x: #x,
                    y: #y,
                    options: F,
                ) -> #result<::rnn_runtime::History>
                where
                    #dim,
                    O: ::rnn_runtime::Optimizer,
                    F: ::rnn_runtime::__private::BorrowMut<::rnn_runtime::Fit<O>>,
            },
            Method::ForwardFrom => quote! {
                fn forward_from<'a, #x_generics>(
                    &self,
                    x: #x,
                    states: &[#state],
                ) -> #result<(#batch, ::rnn_runtime::__private::Vec<#state>)>
            },
            Method::LossAndGradsFrom => quote! {
                fn loss_and_grads_from<'a, 'b, #x_generics #dim>(
                    &self,
                    x: #x,
                    y: #y,
                    states: &[#state],
                    dropout_seed: u64,
                ) -> #result<(f32, ::rnn_runtime::Grads, ::rnn_runtime::__private::Vec<#state>)>
            },
            Method::PredictSeries => {
                quote!(fn predict_series<'a, #x_generics>(&self, x: #x) -> #result<#batch>)
            }
            Method::FitSeries => quote! {
                fn fit_series<'a, 'b, #x_generics D, O, F>(
                    &mut self,
                    x: #x,
                    y: #y,
                    options: F,
                ) -> #result<::rnn_runtime::History>
                where
                    #dim,
                    O: ::rnn_runtime::Optimizer,
                    F: ::rnn_runtime::__private::BorrowMut<::rnn_runtime::Fit<O>>,
            },
            Method::Summary => quote!(fn summary(&self) -> ::rnn_runtime::__private::String),
            Method::SaveSafetensors | Method::SaveOnnx => {
                quote!(fn #ident(&self, path: #path) -> #result<()>)
            }
            Method::LoadSafetensors | Method::LoadKeras | Method::LoadKerasWeights => {
                quote!(fn #ident(&mut self, path: #path) -> #result<()>)
            }
            Method::LoadTorch | Method::LoadStateDict => {
                quote!(fn #ident(&mut self, path: #path, map: #map) -> #result<()>)
            }
            Method::ToLeBytes => quote!(fn to_le_bytes(&self) -> ::rnn_runtime::__private::Vec<u8>),
            Method::StateNew => quote!(const fn new() -> Self),
            Method::Push => match self.shape {
                Some(shape) => {
                    let out = lit(shape.outputs);
                    match shape.input {
                        Input::Features(f) => {
                            let f = lit(f);
                            quote!(fn push(&mut self, x: &[f32; #f]) -> [f32; #out])
                        }
                        Input::Tokens => {
                            quote!(fn push(&mut self, x: u32) -> #result<[f32; #out]>)
                        }
                    }
                }
                None => quote!(fn push<X, R>(&mut self, x: X) -> R),
            },
            Method::StreamState => quote!(fn state(&self) -> &#state),
            Method::IntoState => quote!(fn into_state(self) -> #state),
            Method::Steps => quote!(fn steps(&self) -> usize),
            Method::Reset => quote!(fn reset(&mut self)),
        }
    }
}

/// One method as emitted: `doc` (attributes) and `body` (a block) supplied by the
/// caller, the rest from the table.
fn method(types: &Types, method: Method, doc: TokenStream, body: TokenStream) -> TokenStream {
    let attrs = method.attrs();
    let signature = types.signature(method);
    let item = quote! {
        #doc
        #attrs
        pub #signature #body
    };
    match method {
        // `const` where parameters are inline (no `std`), so that a model can be built
        // at compile time; with `std` they are boxed, which no `const fn` can do.
        Method::FromLeBytes => quote!(::rnn_runtime::__const_without_std! { #item }),
        _ => item,
    }
}

/// The inherent `impl` blocks of the model, its state and its stream: every method of
/// the table that exists for the model (`streams`: it runs step by step), with the
/// documentation and body `emit` returns for it.
pub fn inherent_impls(
    types: &Types,
    streams: bool,
    allow: &TokenStream,
    mut emit: impl FnMut(Method) -> (TokenStream, TokenStream),
) -> TokenStream {
    let mut blocks = TokenStream::new();
    for owner in [Owner::Model, Owner::State, Owner::Stream] {
        let (mut core, mut std) = (TokenStream::new(), TokenStream::new());
        for m in Method::ALL.into_iter().filter(|m| m.owner() == owner) {
            if m.needs().streaming() && !streams {
                continue;
            }
            let (doc, body) = emit(m);
            let item = method(types, m, doc, body);
            if m.needs().std() {
                std.extend(item);
            } else {
                core.extend(item);
            }
        }
        let ty = match owner {
            Owner::Model => {
                let name = &types.name;
                quote!(#name)
            }
            Owner::State => {
                let state = types.type_name("State");
                quote!(#state)
            }
            Owner::Stream => {
                let stream = types.type_name("Stream");
                quote!(#stream<'_>)
            }
        };
        if !core.is_empty() {
            blocks.extend(quote! {
                #allow
                impl #ty { #core }
            });
        }
        if !std.is_empty() {
            blocks.extend(quote! {
                ::rnn_runtime::__if_std! {
                    #allow
                    impl #ty { #std }
                }
            });
        }
    }
    blocks
}

/// The associated consts, with their values in the order of [`CONSTS`].
pub fn consts(
    types: &Types,
    values: [TokenStream; CONSTS.len()],
    allow: &TokenStream,
) -> TokenStream {
    let name = &types.name;
    let items = CONSTS.iter().zip(values).map(|((c, ty, doc), value)| {
        let c = format_ident!("{}", c);
        let ty = format_ident!("{}", ty);
        quote!(#[doc = #doc] pub const #c: #ty = #value;)
    });
    quote! {
        #allow
        impl #name { #(#items)* }
    }
}

/// `NameState` (with `fields`) and `NameStream<'m>`, with their derives and
/// `Default` for the state.
pub fn streaming_types(
    header: &Header,
    state_doc: TokenStream,
    state_fields: TokenStream,
    stream_doc: TokenStream,
) -> TokenStream {
    let (name, vis) = (&header.name, &header.vis);
    let state = format_ident!("{}State", name);
    let stream = format_ident!("{}Stream", name);
    quote! {
        #state_doc
        #[derive(::rnn_runtime::__private::Clone, ::rnn_runtime::__private::Debug)]
        #vis struct #state {
            #state_fields
        }

        impl ::rnn_runtime::__private::Default for #state {
            fn default() -> Self {
                Self::new()
            }
        }

        #stream_doc
        #[derive(::rnn_runtime::__private::Clone, ::rnn_runtime::__private::Debug)]
        #vis struct #stream<'m> {
            model: &'m #name,
            state: #state,
            steps: usize,
        }
    }
}

/// Every type of [`TYPES`] as the fallback declares it: without fields (the state)
/// or with fields that are never read.
pub fn fallback_types(header: &Header) -> TokenStream {
    let (name, vis) = (&header.name, &header.vis);
    let workspace = format_ident!("{}Workspace", name);
    let doc = quote!(#[doc = "Not generated: the spec has errors."] #[allow(dead_code)]);
    let streaming = streaming_types(header, doc.clone(), TokenStream::new(), doc.clone());
    quote! {
        ::rnn_runtime::__if_std! {
            #doc
            #[derive(::rnn_runtime::__private::Debug, ::rnn_runtime::__private::Default)]
            #vis struct #workspace {}
        }
        #streaming
    }
}

#[cfg(test)]
mod tests {
    use super::{Method, Owner, CONSTS, INT8, TRAITS, TYPES};

    /// The `model!` documentation (`rnn-runtime/docs/model.md`) names every item of
    /// the table, so that it cannot drift from what the macro generates.
    #[test]
    fn the_documentation_names_every_generated_item() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../rnn-runtime/docs/model.md");
        let doc =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let named = |text: &str| {
            [
                format!("`{text}`"),
                format!("`{text}("),
                format!("`Name::{text}("),
            ]
            .iter()
            .any(|form| doc.contains(form.as_str()))
        };
        let mut missing = Vec::new();
        for method in Method::ALL {
            let name = method.name();
            let found = match method.owner() {
                Owner::Model => doc.contains(&format!("| `{name}(")),
                Owner::State => named(&format!("NameState::{name}")),
                Owner::Stream => named(name),
            };
            if !found {
                missing.push(format!("{method:?} (`{name}`)"));
            }
        }
        for item in CONSTS.iter().map(|(c, _, _)| c).chain(&TRAITS) {
            if !named(item) && !doc.contains(&format!("[`{item}`]")) {
                missing.push((*item).to_owned());
            }
        }
        for (suffix, _) in TYPES {
            if !named(&format!("Name{suffix}")) {
                missing.push(format!("Name{suffix}"));
            }
        }
        for item in INT8 {
            if !doc.contains(&format!("`{item}")) {
                missing.push(item.to_owned());
            }
        }
        assert!(missing.is_empty(), "not in {}: {missing:?}", path.display());
    }
}

//! The parameters of a model: `impl Params` (the canonical order of its tensors, with
//! PyTorch's names and shapes) and the body of `from_le_bytes`, which reads them in
//! that order.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::field;
use super::layers::{from_bytes_expr, layer_type, tensors};
use super::lit;
use crate::spec::Model;

/// `impl Params`.
pub fn params_impl(model: &Model) -> TokenStream {
    let name = &model.header.name;
    let params = lit(model.params());
    let spec_hash = Literal::u64_suffixed(model.spec_hash());
    let specs = model.layers.iter().enumerate().flat_map(|(i, layer)| {
        tensors(layer).into_iter().map(move |(tensor, shape)| {
            let name = format!("{i}.{tensor}");
            let shape = shape.into_iter().map(lit);
            quote!(::rnn_runtime::ParamSpec { name: #name, shape: &[#(#shape),*] },)
        })
    });
    let visits = model.layers.iter().enumerate().filter_map(|(i, layer)| {
        layer_type(layer)?;
        let f = field(i);
        Some((quote!(self.#f.visit(f);), quote!(self.#f.visit_mut(f);)))
    });
    let (visits, visits_mut): (Vec<_>, Vec<_>) = visits.unzip();
    quote! {
        impl ::rnn_runtime::Params for #name {
            const PARAMS: usize = #params;
            const SPEC_HASH: u64 = #spec_hash;

            fn param_specs() -> &'static [::rnn_runtime::ParamSpec] {
                const SPECS: &[::rnn_runtime::ParamSpec] = &[#(#specs)*];
                SPECS
            }

            fn visit_params(&self, f: &mut dyn ::rnn_runtime::__private::FnMut(&[f32])) {
                #(#visits)*
            }

            fn visit_params_mut(&mut self, f: &mut dyn ::rnn_runtime::__private::FnMut(&mut [f32])) {
                #(#visits_mut)*
            }
        }
    }
}

/// The body of `from_le_bytes`: every layer's field from its slice of `bytes`.
pub fn from_le_bytes_body(model: &Model) -> TokenStream {
    let name = &model.header.name;
    let mut offset = 0;
    let fields = model.layers.iter().enumerate().filter_map(|(i, layer)| {
        let at = offset;
        offset += layer.param_count();
        let f = field(i);
        let expr = from_bytes_expr(layer, at)?;
        Some(quote!(#f: #expr,))
    });
    let fields: Vec<TokenStream> = fields.collect();
    let spec_hash = Literal::u64_suffixed(model.spec_hash());
    quote! {{
        let bytes: &[u8] = bytes;
        if let ::rnn_runtime::__private::Err(mismatch) = ::rnn_runtime::flat::check_header(bytes, #spec_hash) {
            ::rnn_runtime::__private::panic!("{}", mismatch.message());
        }
        let bytes = bytes.split_at(::rnn_runtime::flat::HEADER_BYTES).1;
        #name { #(#fields)* }
    }}
}

/// The documentation of `from_le_bytes`.
pub fn from_le_bytes_doc(model: &Model) -> String {
    let name = &model.header.name;
    format!(
        "The model whose parameters are the flat weights file `bytes` \
         (`rnn_runtime::flat::to_le_bytes` or `to_le_bytes` writes it): a 16-byte header, \
         then the {} parameters as little-endian `f32`s in the canonical order of \
         `param_specs`. A `const fn` without the runtime's `std` feature, so that \
         `static NET: {name} = {name}::from_le_bytes(include_bytes!(…));` puts the weights \
         in flash, built at compile time; a file of the wrong size, or whose header \
         belongs to another model, does not compile.\n\n\
         # Panics\n\
         With `std`, if the header belongs to another model or format version (the \
         message says which); `rnn_runtime::flat::load_flat` returns that as an error.",
        model.params()
    )
}

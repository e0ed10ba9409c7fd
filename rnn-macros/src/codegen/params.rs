//! The parameters of a model: `impl Params` (the canonical order of its tensors, with
//! PyTorch's names and shapes) and the body of `from_le_bytes`, which reads them in
//! that order.

use proc_macro2::TokenStream;
use quote::quote;

use super::field;
use super::layers::{from_bytes_expr, layer_type, tensors};
use super::lit;
use crate::spec::Model;

/// `impl Params`.
pub fn params_impl(model: &Model) -> TokenStream {
    let name = &model.header.name;
    let params = lit(model.params());
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
    quote! {{
        let bytes: &[u8] = bytes;
        #name { #(#fields)* }
    }}
}

/// The documentation of `from_le_bytes`.
pub fn from_le_bytes_doc(model: &Model) -> String {
    let name = &model.header.name;
    format!(
        "The model whose parameters are the {} bytes of `bytes`: every parameter as a \
         little-endian `f32`, in the canonical order of `param_specs` (what \
         `rnn_runtime::flat::to_le_bytes` writes). A `const fn` without the runtime's \
         `std` feature, so that `static NET: {name} = {name}::from_le_bytes(include_bytes!(…));` \
         puts the weights in flash, built at compile time; a file of the wrong size does \
         not compile.",
        4 * model.params()
    )
}

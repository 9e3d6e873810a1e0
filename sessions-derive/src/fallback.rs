//! The impl emitted next to the errors when the input is wrong, so that one mistake in the attributes
//! does not also fail every use of the type as a `Session` (or of its flash accessors) elsewhere.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::ast::Input;

pub(crate) fn stub(input: &Input<'_>) -> TokenStream {
    let ident = input.ident;
    let accessors = input.flash_fields().map(|field| {
        let vis = field.vis;
        let ty = field.ty;
        let take = format_ident!("take_{}", field.name);
        let put = format_ident!("flash_{}", field.name);
        quote! {
            #vis fn #take(&mut self) -> #ty { ::core::unimplemented!() }
            #vis fn #put<__SessionsMessage>(&mut self, _: __SessionsMessage) { ::core::unimplemented!() }
        }
    });
    crate::expand::wrap(quote! {
            #[automatically_derived]
            impl ::sessions::__private::Session for #ident {
                const CONFIG: ::sessions::__private::Config = ::sessions::__private::Config::new("", "");
                const FIELDS: &'static [::sessions::__private::Field] = &[];
                fn encode_field(&self, _: usize, _: &mut ::std::vec::Vec<u8>) -> ::core::result::Result<(), ::sessions::__private::FieldError> {
                    ::core::unimplemented!()
                }
                fn decode_field(&mut self, _: usize, _: &[u8]) -> ::core::result::Result<(), ::sessions::__private::FieldError> {
                    ::core::unimplemented!()
                }
            }
            #[automatically_derived]
            impl #ident {
                #(#accessors)*
            }
    })
}

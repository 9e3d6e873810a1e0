//! Generates the `Session` impl and the flash accessors. Only data and thin glue: every behaviour
//! lives in the runtime crate, reached through `::sessions::__private`.

use proc_macro2::TokenStream;
use quote::{ToTokens as _, format_ident, quote, quote_spanned};
use syn::DeriveInput;
use syn::spanned::Spanned as _;

use crate::ast::{Field, Input};
use crate::attr::SameSite;
use crate::check;
use crate::ctxt::Ctxt;
use crate::fallback;

pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    let mut cx = Ctxt::default();
    let Some(model) = Input::from_syn(&mut cx, input) else {
        return cx
            .finish()
            .err()
            .map(|e| e.to_compile_error())
            .unwrap_or_default();
    };
    check::check(&mut cx, &model);
    match cx.finish() {
        Ok(()) => generate(&model),
        Err(errors) => {
            let stub = fallback::stub(&model);
            let errors = errors.to_compile_error();
            quote!(#errors #stub)
        }
    }
}

fn generate(input: &Input<'_>) -> TokenStream {
    let ident = input.ident;
    let config = config(input);
    let fields = input.fields.iter().map(field_meta);
    let indices = 0..input.fields.len();
    // Every value goes through `FieldValue`, named with the field's own type tokens: a type that cannot
    // be stored gets one error, on the field, in words (encode and decode report it identically, and
    // the compiler shows it once). Only that path takes the field's span: `self` and the locals keep
    // the derive's, so a session declared inside a `macro_rules!` macro still resolves them.
    let value_trait = |field: &Field<'_>| {
        let ty = field.ty;
        quote_spanned!(ty.span()=> <#ty as ::sessions::__private::FieldValue>)
    };
    let encode = input.fields.iter().zip(indices.clone()).map(|(field, index)| {
        let name = field.ident;
        let value = value_trait(field);
        quote!(#index => #value::encode(&self.#name, __sessions_out),)
    });
    let decode = input.fields.iter().zip(indices.clone()).map(|(field, index)| {
        let name = field.ident;
        let value = value_trait(field);
        quote!(#index => {
            self.#name = #value::decode(__sessions_bytes)?;
            ::core::result::Result::Ok(())
        })
    });
    let shapes = input.fields.iter().zip(indices).map(|(field, index)| {
        let value = value_trait(field);
        quote!(#index => #value::shape_tag(),)
    });
    // `Send + Sync`, asked of each field on its own type: a field that is neither is reported on
    // that field, not as the whole struct failing the `Session` trait's bounds.
    let thread_safe = input.fields.iter().map(|field| {
        let ty = field.ty;
        // The bound's own tokens take the span of the type's last token, so the error underlines
        // the whole type.
        let end = (ty.to_token_stream().into_iter().last()).map_or_else(|| ty.span(), |token| token.span());
        let bound = quote_spanned!(end=> : ::core::marker::Send + ::core::marker::Sync);
        quote!(#ty #bound)
    });
    let owner = input.owner_field().map(|field| {
            let name = field.ident;
            // The `T` of `Option<T>` (the check made sure of the `Option`), named with its own
            // tokens: a `T` that names no owner is reported on it, as not implementing `OwnerKey`.
            let key_type = crate::ast::single_argument(field.ty).unwrap_or(field.ty);
            let as_dyn = quote_spanned!(key_type.span()=> <#key_type as ::sessions::__private::OwnerKey>::__as_dyn);
            quote! {
                fn owner(&self) -> ::core::option::Option<&dyn ::sessions::__private::OwnerKey> {
                    match &self.#name {
                        ::core::option::Option::Some(__sessions_key) => ::core::option::Option::Some(#as_dyn(__sessions_key)),
                        ::core::option::Option::None => ::core::option::Option::None,
                    }
                }
            }
        });
    let accessors = input.flash_fields().map(flash_accessors);
    wrap(quote! {
            const __SESSIONS_FIELDS: &[::sessions::__private::Field] = &[#(#fields),*];
            const _: () = ::sessions::__private::assert_distinct_tags(__SESSIONS_FIELDS);

            #[automatically_derived]
            impl ::sessions::__private::Session for #ident where #(#thread_safe),* {
                const CONFIG: ::sessions::__private::Config = #config;
                const FIELDS: &'static [::sessions::__private::Field] = __SESSIONS_FIELDS;

                fn encode_field(
                    &self,
                    __sessions_index: usize,
                    __sessions_out: &mut ::std::vec::Vec<u8>,
                ) -> ::core::result::Result<(), ::sessions::__private::FieldError> {
                    match __sessions_index {
                        #(#encode)*
                        _ => ::sessions::__private::no_such_field(__sessions_index),
                    }
                }

                fn decode_field(
                    &mut self,
                    __sessions_index: usize,
                    __sessions_bytes: &[u8],
                ) -> ::core::result::Result<(), ::sessions::__private::FieldError> {
                    match __sessions_index {
                        #(#decode)*
                        _ => ::sessions::__private::no_such_field(__sessions_index),
                    }
                }

                fn shape_tag(__sessions_index: usize) -> ::core::option::Option<::core::primitive::u32> {
                    match __sessions_index {
                        #(#shapes)*
                        _ => ::core::option::Option::None,
                    }
                }

                #owner

                fn prepared() -> &'static ::sessions::__private::Prepared {
                    static __SESSIONS_PREPARED: ::sessions::__private::OnceLock<::sessions::__private::Prepared> =
                        ::sessions::__private::OnceLock::new();
                    ::sessions::__private::prepare::<Self>(&__SESSIONS_PREPARED)
                }
            }

            #[automatically_derived]
            impl #ident {
                #(#accessors)*
            }
    })
}

/// Every item the derive generates, in one anonymous `const` (nothing it names leaks into the
/// app's namespace), under the one lint its output trips in an app: flash accessors the app never
/// calls are not the app's dead code. Its absolute paths and `__sessions_` names trip nothing
/// else an app may deny (`ui-tests/tests/pass/strict_lints.rs` denies rustc's stricter lints and
/// clippy's pedantic, nursery and style restrictions over every kind of field); a lint that one
/// day does is allowed here, once, for all of it.
pub(crate) fn wrap(items: TokenStream) -> TokenStream {
    quote! {
        #[doc(hidden)]
        #[allow(dead_code)]
        const _: () = {
            #items
        };
    }
}

/// `Config::new(...)` and one builder call per option that differs from the runtime's default.
fn config(input: &Input<'_>) -> TokenStream {
    let attrs = &input.attrs;
    let type_name = &input.name;
    let cookie = &input.cookie.value;
    let mut calls = Vec::new();
    if let Some(path) = &attrs.path {
        let path = &path.value;
        calls.push(quote!(.path(#path)));
    }
    if let Some(domain) = &attrs.domain {
        let domain = &domain.value;
        calls.push(quote!(.domain(#domain)));
    }
    for (name, flag) in [
        ("secure", &attrs.secure),
        ("http_only", &attrs.http_only),
        ("partitioned", &attrs.partitioned),
        ("session_only", &attrs.session_only),
    ] {
        if let Some(flag) = flag {
            let method = format_ident!("{name}");
            let value = flag.value;
            calls.push(quote!(.#method(#value)));
        }
    }
    if attrs.signed.as_ref().is_some_and(|signed| signed.value) {
        calls.push(quote!(.signed()));
    }
    if let Some(same_site) = &attrs.same_site {
        let variant = match same_site.value {
            SameSite::Strict => quote!(Strict),
            SameSite::Lax => quote!(Lax),
            SameSite::None => quote!(None),
        };
        calls.push(quote!(.same_site(::sessions::__private::SameSite::#variant)));
    }
    if let Some(max_age) = &attrs.max_age {
        let seconds = max_age.value;
        calls.push(quote!(.max_age(::sessions::__private::Duration::from_secs(#seconds))));
    }
    if let Some(idle) = &attrs.idle_timeout {
        let seconds = idle.value;
        calls.push(quote!(.idle_timeout(::sessions::__private::Duration::from_secs(#seconds))));
    }
    quote!(::sessions::__private::Config::new(#type_name, #cookie) #(#calls)*)
}

/// The field's metadata, with its type's spelling without spaces: the type tag of last resort, for a
/// type whose serde shape cannot be traced (see `shape_tag` in the generated impl).
fn field_meta(field: &Field<'_>) -> TokenStream {
    let name = &field.name;
    let ty = field.ty;
    let type_name: String = quote!(#ty).to_string().split_whitespace().collect();
    let stored_as = field.attrs.rename.as_ref().map(|rename| {
        let stored = &rename.value;
        quote!(.stored_as(#stored))
    });
    let flash = field.attrs.flash.map(|_| quote!(.flash()));
    let owner = field.attrs.owner.map(|_| quote!(.owner()));
    let listed = field.attrs.listed.map(|_| quote!(.listed()));
    let max_age = field.attrs.max_age.as_ref().map(|max_age| {
        let seconds = max_age.value;
        quote!(.max_age(::sessions::__private::Duration::from_secs(#seconds)))
    });
    quote!(::sessions::__private::Field::new(#name, #type_name) #stored_as #flash #owner #listed #max_age)
}

/// `take_<field>()` and `flash_<field>(message)`, with the field's visibility.
fn flash_accessors(field: &Field<'_>) -> TokenStream {
    let ident = field.ident;
    let name = &field.name;
    let vis = field.vis;
    let ty = field.ty;
    let take = format_ident!("take_{}", name);
    let put = format_ident!("flash_{}", name);
    let take_doc = format!("Takes the flash `{name}`, leaving it empty: read once, then gone.");
    let put_doc = format!("Adds a message to the flash `{name}`; it stays until taken.");
    quote_spanned! {field.ident.span()=>
        #[doc = #take_doc]
        #vis fn #take(&mut self) -> #ty {
            ::core::mem::take(&mut self.#ident)
        }

        #[doc = #put_doc]
        #vis fn #put(&mut self, message: <#ty as ::sessions::__private::Flash>::Message) {
            <#ty as ::sessions::__private::Flash>::put(&mut self.#ident, message)
        }
    }
}

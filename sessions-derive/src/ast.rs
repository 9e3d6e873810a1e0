//! The model of a session struct: what the derive accepts, each part keeping its `syn` original for
//! spans, with the values resolved once (the cookie name, each field's name) and the checks that need
//! one field alone (a flash field's type, a borrowed type).

use proc_macro2::Span;
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;
use syn::{Data, DeriveInput, Fields, GenericArgument, Ident, PathArguments, Type, Visibility};

use crate::attr::{FieldAttrs, SessionAttrs, Spanned};
use crate::ctxt::Ctxt;

/// A struct with named fields and no generic parameters.
pub(crate) struct Input<'a> {
    pub(crate) ident: &'a Ident,
    /// The struct's name as Rust users and serde spell it: `r#Match` is `Match`.
    pub(crate) name: String,
    pub(crate) attrs: SessionAttrs,
    /// The cookie the session uses: `#[session(cookie = "...")]`, or the struct's name in snake_case.
    pub(crate) cookie: Spanned<String>,
    pub(crate) fields: Vec<Field<'a>>,
}

pub(crate) struct Field<'a> {
    pub(crate) ident: &'a Ident,
    /// The field's name as Rust users and serde spell it: `r#type` is `type`.
    pub(crate) name: String,
    pub(crate) vis: &'a Visibility,
    pub(crate) ty: &'a Type,
    pub(crate) attrs: FieldAttrs,
}

impl Field<'_> {
    /// The name the field's value is stored under: its `rename`, or its name.
    pub(crate) fn stored_name(&self) -> &str {
        match &self.attrs.rename {
            Some(rename) => &rename.value,
            None => &self.name,
        }
    }

    /// Where the stored name was written, for errors about it.
    pub(crate) fn stored_name_span(&self) -> Span {
        match &self.attrs.rename {
            Some(rename) => rename.span,
            None => self.ident.span(),
        }
    }
}

impl<'a> Input<'a> {
    /// The fields marked `#[flash]`.
    pub(crate) fn flash_fields(&self) -> impl Iterator<Item = &Field<'a>> {
        self.fields.iter().filter(|field| field.attrs.flash.is_some())
    }

    /// The field marked `#[owner]`, if one is (the checks allow one at most).
    pub(crate) fn owner_field(&self) -> Option<&Field<'a>> {
        self.fields.iter().find(|field| field.attrs.owner.is_some())
    }

    /// The model of `input`, or `None` (with the reason in `cx`) when it is not a struct the derive
    /// supports. Attribute mistakes are recorded but still give a model, so later checks run too.
    pub(crate) fn from_syn(cx: &mut Ctxt, input: &'a DeriveInput) -> Option<Self> {
        let fields = match &input.data {
            Data::Struct(data) => {
                match &data.fields {
                    Fields::Named(named) => &named.named,
                    Fields::Unnamed(_) => {
                        cx.error(input.ident.span(), "`#[derive(Session)]` needs named fields: each field is stored under its name; write `struct Name { field: Type }`");
                        return None;
                    }
                    Fields::Unit => {
                        cx.error(input.ident.span(), "`#[derive(Session)]` on a struct without fields stores nothing; add named fields");
                        return None;
                    }
                }
            }
            Data::Enum(data) => {
                cx.error(
                    data.enum_token.span,
                    "`#[derive(Session)]` works on structs, not enums; wrap the enum in a struct field",
                );
                return None;
            }
            Data::Union(data) => {
                cx.error(
                    data.union_token.span,
                    "`#[derive(Session)]` works on structs, not unions",
                );
                return None;
            }
        };
        if !input.generics.params.is_empty() {
            let what = if input.generics.lifetimes().next().is_some() {
                "a session cannot borrow: it is decoded from a cookie and outlives the request; use owned types like `String`"
            } else {
                "a session type cannot have generic parameters: its cookie's contents must have one concrete type; use concrete field types"
            };
            cx.error(input.generics.params.span(), what);
            return None;
        }
        let attrs = SessionAttrs::read(cx, &input.attrs);
        let name = input.ident.unraw().to_string();
        let cookie = attrs.cookie.clone().unwrap_or_else(|| Spanned {
            value: snake_case(&name),
            span: input.ident.span(),
        });
        let fields = fields
            .iter()
            .filter_map(|field| {
                let ident = field.ident.as_ref()?;
                let field = Field {
                    ident,
                    name: ident.unraw().to_string(),
                    vis: &field.vis,
                    ty: &field.ty,
                    attrs: FieldAttrs::read(cx, &field.attrs),
                };
                check_owned(cx, field.ty);
                check_flash_type(cx, &field);
                check_owner_type(cx, &field);
                Some(field)
            })
            .collect();
        Some(Self {
            ident: &input.ident,
            name,
            attrs,
            cookie,
            fields,
        })
    }
}

/// A field is decoded from a cookie or a record that is gone once the request is: it cannot borrow.
/// (A reference hidden behind a type alias is still refused, by the compiler's own words.)
fn check_owned(cx: &mut Ctxt, ty: &Type) {
    let Some(reference) = find_reference(ty) else {
        return;
    };
    let fix = match &*reference.elem {
        Type::Path(path) if path.path.is_ident("str") => "use `String`".to_string(),
        Type::Slice(_) => "use `Vec<T>`".to_string(),
        Type::Path(path) if path.path.is_ident("Path") => "use `PathBuf`".to_string(),
        _ => "use the owned type".to_string(),
    };
    cx.error(
        reference.and_token.span,
        format!("a session field cannot borrow: its value is decoded from the cookie or the store on every request and must own its data; {fix}"),
    );
}

/// The first reference written anywhere in `ty`: `&'static str`, `Option<&'static [u8]>`.
fn find_reference(ty: &Type) -> Option<&syn::TypeReference> {
    match ty {
        Type::Reference(reference) => Some(reference),
        Type::Array(array) => find_reference(&array.elem),
        Type::Slice(slice) => find_reference(&slice.elem),
        Type::Group(group) => find_reference(&group.elem),
        Type::Paren(paren) => find_reference(&paren.elem),
        Type::Tuple(tuple) => tuple.elems.iter().find_map(find_reference),
        Type::Path(path) => path
            .path
            .segments
            .iter()
            .find_map(|segment| match &segment.arguments {
                PathArguments::AngleBracketed(args) => args.args.iter().find_map(|arg| match arg {
                    GenericArgument::Type(ty) => find_reference(ty),
                    _ => None,
                }),
                _ => None,
            }),
        _ => None,
    }
}

fn check_flash_type(cx: &mut Ctxt, field: &Field<'_>) {
    if field.attrs.flash.is_some() && !holds_messages(field.ty) {
        cx.error(
            field.ty.span(),
            format!("a `#[flash]` field holds messages until they are read, so its type must be `Option<T>` (one message) or `Vec<T>` (a list); change the type of `{}`", field.name),
        );
    }
}

fn check_owner_type(cx: &mut Ctxt, field: &Field<'_>) {
    if field.attrs.owner.is_some() && !is_one_of(field.ty, &["Option"]) {
        cx.error(
            field.ty.span(),
            format!("an `#[owner]` field says who is signed in, or that nobody is, so its type must be `Option<T>` (like `Option<u64>`); change the type of `{}`", field.name),
        );
    }
}

/// Whether `ty` is spelled `Option<T>` or `Vec<T>`, with or without its module path.
fn holds_messages(ty: &Type) -> bool {
    is_one_of(ty, &["Option", "Vec"])
}

/// The `T` of a type spelled `Name<T>` (`Option<u64>` → `u64`), if it is.
pub(crate) fn single_argument(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let PathArguments::AngleBracketed(args) = &path.path.segments.last()?.arguments else {
        return None;
    };
    match args.args.first() {
        Some(GenericArgument::Type(inner)) if args.args.len() == 1 => Some(inner),
        _ => None,
    }
}

/// Whether `ty` is spelled `Name<T>` for one of `names`, with or without its module path.
fn is_one_of(ty: &Type, names: &[&str]) -> bool {
    let Type::Path(path) = ty else { return false };
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return false;
    };
    names.iter().any(|name| last.ident == name)
        && args.args.len() == 1
        && matches!(args.args[0], GenericArgument::Type(_))
}

/// `AppSession` → `app_session`, `HTTPSession` → `http_session`.
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 {
            let previous = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if previous.is_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_uppercase() && next_is_lower)
            {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_names() {
        assert_eq!(snake_case("AppSession"), "app_session");
        assert_eq!(snake_case("HTTPSession"), "http_session");
        assert_eq!(snake_case("Cart"), "cart");
        assert_eq!(snake_case("Session2Fa"), "session2_fa");
    }

    #[test]
    fn references_are_found_wherever_they_are_written() {
        for (ty, borrowed) in [
            ("&'static str", true),
            ("Option<&'static str>", true),
            ("Vec<(u32, &'static [u8])>", true),
            ("[&'static str; 2]", true),
            ("std::collections::HashMap<String, Vec<&'static str>>", true),
            ("String", false),
            ("Option<Box<str>>", false),
            ("std::borrow::Cow<'static, str>", false),
            ("fn(&str) -> u32", false),
        ] {
            let ty: Type = syn::parse_str(ty).unwrap();
            assert_eq!(find_reference(&ty).is_some(), borrowed, "{}", quote::quote!(#ty));
        }
    }
}

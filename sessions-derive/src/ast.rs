//! The model of a session struct: what the derive accepts, each part keeping its `syn` original for
//! spans.

use syn::spanned::Spanned as _;
use syn::{Data, DeriveInput, Fields, Ident, Type, Visibility};

use crate::attr::{FieldAttrs, SessionAttrs};
use crate::ctxt::Ctxt;

/// A struct with named fields and no generic parameters.
pub(crate) struct Input<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) attrs: SessionAttrs,
    pub(crate) fields: Vec<Field<'a>>,
}

pub(crate) struct Field<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) vis: &'a Visibility,
    pub(crate) ty: &'a Type,
    pub(crate) attrs: FieldAttrs,
}

impl<'a> Input<'a> {
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
        let fields = fields
            .iter()
            .filter_map(|field| {
                Some(Field {
                    ident: field.ident.as_ref()?,
                    vis: &field.vis,
                    ty: &field.ty,
                    attrs: FieldAttrs::read(cx, &field.attrs),
                })
            })
            .collect();
        Some(Self {
            ident: &input.ident,
            attrs,
            fields,
        })
    }
}

//! Reads the attributes into plain values, each with the span of the token the user wrote. Rules that
//! involve more than one attribute live in `check.rs`.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned as _;
use syn::{Attribute, Lit, LitBool, LitStr, Meta, Token};

use crate::ctxt::Ctxt;
use crate::duration;

/// A value and where the user wrote it.
#[derive(Clone)]
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
}

/// The `SameSite` choices.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum SameSite {
    Strict,
    Lax,
    None,
}

/// What `#[session(...)]` said; `None` where it said nothing.
#[derive(Default)]
pub(crate) struct SessionAttrs {
    pub(crate) cookie: Option<Spanned<String>>,
    pub(crate) max_age: Option<Spanned<u64>>,
    pub(crate) idle_timeout: Option<Spanned<u64>>,
    pub(crate) session_only: Option<Spanned<bool>>,
    pub(crate) path: Option<Spanned<String>>,
    pub(crate) domain: Option<Spanned<String>>,
    pub(crate) secure: Option<Spanned<bool>>,
    pub(crate) http_only: Option<Spanned<bool>>,
    pub(crate) same_site: Option<Spanned<SameSite>>,
    pub(crate) partitioned: Option<Spanned<bool>>,
    pub(crate) signed: Option<Spanned<bool>>,
}

const SESSION_OPTIONS: &str = "`cookie`, `max_age`, `idle_timeout`, `session_only`, `path`, `domain`, `secure`, \
                               `http_only`, `same_site`, `partitioned`, `signed`";

/// What a field's attributes said.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub(crate) flash: bool,
    pub(crate) max_age: Option<Spanned<u64>>,
}

impl SessionAttrs {
    /// Reads every `#[session(...)]` on the struct, and refuses field attributes placed there.
    pub(crate) fn read(cx: &mut Ctxt, attrs: &[Attribute]) -> Self {
        let mut read = Self::default();
        for attr in attrs {
            let path = attr.path();
            if path.is_ident("flash") {
                cx.error(
                    path.span(),
                    "`#[flash]` goes on a field of type `Option<T>` or `Vec<T>`, not on the struct",
                );
            } else if path.is_ident("max_age") {
                cx.error(
                    path.span(),
                    "`#[max_age(...)]` goes on a field; for the whole session write `#[session(max_age = \"...\")]`",
                );
            } else if path.is_ident("session")
                && let Err(error) = attr.parse_nested_meta(|meta| read.option(cx, &meta))
            {
                cx.syn_error(error);
            }
        }
        read
    }

    fn option(&mut self, cx: &mut Ctxt, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
        let key = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
        match key.as_str() {
            "cookie" => set(cx, &mut self.cookie, meta, Some(string(meta)?)),
            "path" => set(cx, &mut self.path, meta, Some(string(meta)?)),
            "domain" => set(cx, &mut self.domain, meta, Some(string(meta)?)),
            "max_age" => {
                let value = duration_value(cx, meta)?;
                set(cx, &mut self.max_age, meta, value);
            }
            "idle_timeout" => {
                let value = duration_value(cx, meta)?;
                set(cx, &mut self.idle_timeout, meta, value);
            }
            "session_only" => set(cx, &mut self.session_only, meta, Some(flag(meta)?)),
            "secure" => set(cx, &mut self.secure, meta, Some(flag(meta)?)),
            "http_only" => set(cx, &mut self.http_only, meta, Some(flag(meta)?)),
            "partitioned" => set(cx, &mut self.partitioned, meta, Some(flag(meta)?)),
            "signed" => set(cx, &mut self.signed, meta, Some(flag(meta)?)),
            "same_site" => {
                let value = same_site(cx, meta)?;
                set(cx, &mut self.same_site, meta, value);
            }
            _ => {
                let shown = if key.is_empty() {
                    String::new()
                } else {
                    format!(" `{key}`")
                };
                cx.error(
                    meta.path.span(),
                    format!("unknown session option{shown}; expected one of {SESSION_OPTIONS}"),
                );
                skip_value(meta)?;
            }
        }
        Ok(())
    }
}

impl FieldAttrs {
    /// Reads `#[flash]` and `#[max_age(...)]` on a field, and refuses `#[session]` there.
    pub(crate) fn read(cx: &mut Ctxt, attrs: &[Attribute]) -> Self {
        let mut read = Self::default();
        for attr in attrs {
            let path = attr.path();
            if path.is_ident("flash") {
                match &attr.meta {
                    Meta::List(list) => cx.error(
                        list.delimiter.span().join(),
                        "`#[flash]` takes no arguments; write `#[flash]`",
                    ),
                    Meta::NameValue(name_value) => cx.error(
                        name_value.value.span(),
                        "`#[flash]` takes no value; write `#[flash]`",
                    ),
                    Meta::Path(_) => {}
                }
                if read.flash {
                    cx.error(path.span(), "duplicate `#[flash]` on this field");
                }
                read.flash = true;
            } else if path.is_ident("max_age") {
                match field_max_age(attr) {
                    Ok(_) if read.max_age.is_some() => {
                        cx.error(path.span(), "duplicate `#[max_age]` on this field")
                    }
                    Ok(value) => read.max_age = Some(value),
                    Err(error) => cx.syn_error(error),
                }
            } else if path.is_ident("session") {
                cx.error(
                    path.span(),
                    "`#[session(...)]` goes on the struct; on a field write `#[flash]` or `#[max_age(\"...\")]`",
                );
            }
        }
        read
    }
}

/// `#[max_age("10m")]`, or `#[max_age = "10m"]`.
fn field_max_age(attr: &Attribute) -> syn::Result<Spanned<u64>> {
    let lit = match &attr.meta {
        Meta::List(_) => attr.parse_args::<Lit>()?,
        Meta::NameValue(name_value) => match &name_value.value {
            syn::Expr::Lit(expr) => expr.lit.clone(),
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "expected a duration literal like \"10m\"",
                ));
            }
        },
        Meta::Path(path) => {
            return Err(syn::Error::new_spanned(
                path,
                "`#[max_age]` needs a duration: `#[max_age(\"10m\")]`",
            ));
        }
    };
    Ok(Spanned {
        value: duration::parse(&lit)?,
        span: lit.span(),
    })
}

/// Stores `value` (`None`: it was invalid and already reported), or reports a duplicate at the second
/// occurrence of the option's name.
fn set<T>(
    cx: &mut Ctxt,
    slot: &mut Option<Spanned<T>>,
    meta: &ParseNestedMeta<'_>,
    value: Option<Spanned<T>>,
) {
    let Some(value) = value else { return };
    if slot.is_some() {
        let key = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
        cx.error(meta.path.span(), format!("duplicate session option `{key}`"));
    } else {
        *slot = Some(value);
    }
}

fn string(meta: &ParseNestedMeta<'_>) -> syn::Result<Spanned<String>> {
    let lit: LitStr = meta.value()?.parse()?;
    Ok(Spanned {
        value: lit.value(),
        span: lit.span(),
    })
}

/// `name` alone means true; `name = true` or `name = false` says it outright.
fn flag(meta: &ParseNestedMeta<'_>) -> syn::Result<Spanned<bool>> {
    if !meta.input.peek(Token![=]) {
        return Ok(Spanned {
            value: true,
            span: meta.path.span(),
        });
    }
    let value = meta.value()?;
    let lit: LitBool = value.parse().map_err(|error| {
        let key = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
        syn::Error::new(
            error.span(),
            format!("`{key}` takes `true` or `false`, or nothing: `{key}` alone means true"),
        )
    })?;
    Ok(Spanned {
        value: lit.value,
        span: lit.span,
    })
}

/// `"strict"`, `"lax"` or `"none"`; anything else is recorded and yields `None`.
fn same_site(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>) -> syn::Result<Option<Spanned<SameSite>>> {
    let text = string(meta)?;
    let value = match text.value.as_str() {
        "strict" => SameSite::Strict,
        "lax" => SameSite::Lax,
        "none" => SameSite::None,
        other => {
            cx.error(
                text.span,
                format!("unknown `same_site` value \"{other}\"; expected \"strict\", \"lax\" or \"none\""),
            );
            return Ok(None);
        }
    };
    Ok(Some(Spanned {
        value,
        span: text.span,
    }))
}

/// A duration; a bad one is recorded and yields `None` so that parsing goes on.
fn duration_value(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>) -> syn::Result<Option<Spanned<u64>>> {
    let lit: Lit = meta.value()?.parse()?;
    Ok(match duration::parse(&lit) {
        Ok(value) => Some(Spanned {
            value,
            span: lit.span(),
        }),
        Err(error) => {
            cx.syn_error(error);
            None
        }
    })
}

/// Consumes whatever follows an unknown option, so the options after it are still read.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.input.parse::<proc_macro2::Group>()?;
    }
    Ok(())
}

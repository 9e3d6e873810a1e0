//! Reads the attributes into plain values, each with the span of the token the user wrote. Rules that
//! involve more than one attribute live in `check.rs`.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned as _;
use syn::{Attribute, Lit, LitBool, LitStr, Token};

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

const SESSION_OPTIONS: &str = "`cookie`, `max_age`, `idle_timeout`, `session_only`, `path`, `domain`, `secure`, `http_only`, `same_site`, `partitioned`, `signed`";

/// What a field's attributes said.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub(crate) flash: Option<Span>,
    pub(crate) max_age: Option<Spanned<u64>>,
}

impl SessionAttrs {
    /// Reads every `#[session(...)]` on the struct, and refuses field attributes placed there.
    pub(crate) fn read(cx: &mut Ctxt, attrs: &[Attribute]) -> Self {
        let mut read = Self::default();
        for attr in attrs {
            if attr.path().is_ident("flash") || attr.path().is_ident("max_age") {
                let name = if attr.path().is_ident("flash") {
                    "#[flash]"
                } else {
                    "#[max_age(...)]"
                };
                cx.error(attr.path().span(), format!("`{name}` goes on a field, not on the struct; for the whole session write `#[session(max_age = \"...\")]`"));
                continue;
            }
            if !attr.path().is_ident("session") {
                continue;
            }
            let parsed = attr.parse_nested_meta(|meta| {
                read.option(cx, &meta)?;
                Ok(())
            });
            if let Err(error) = parsed {
                cx.syn_error(error);
            }
        }
        read
    }

    fn option(&mut self, cx: &mut Ctxt, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
        let Some(key) = meta.path.get_ident().map(ToString::to_string) else {
            cx.error(
                meta.path.span(),
                format!("unknown session option; expected one of {SESSION_OPTIONS}"),
            );
            return skip_value(meta);
        };
        let span = meta.path.span();
        match key.as_str() {
            "cookie" => set(cx, &mut self.cookie, &key, string(meta)?),
            "path" => set(cx, &mut self.path, &key, string(meta)?),
            "domain" => set(cx, &mut self.domain, &key, string(meta)?),
            "max_age" => {
                let value = duration_value(cx, meta)?;
                set_some(cx, &mut self.max_age, &key, value);
            }
            "idle_timeout" => {
                let value = duration_value(cx, meta)?;
                set_some(cx, &mut self.idle_timeout, &key, value);
            }
            "session_only" => set(cx, &mut self.session_only, &key, flag(meta)?),
            "secure" => set(cx, &mut self.secure, &key, flag(meta)?),
            "http_only" => set(cx, &mut self.http_only, &key, flag(meta)?),
            "partitioned" => set(cx, &mut self.partitioned, &key, flag(meta)?),
            "signed" => set(cx, &mut self.signed, &key, flag(meta)?),
            "same_site" => {
                let text = string(meta)?;
                let value = match text.value.as_str() {
                    "strict" => Some(SameSite::Strict),
                    "lax" => Some(SameSite::Lax),
                    "none" => Some(SameSite::None),
                    _ => {
                        cx.error(
                            text.span,
                            format!(
                                "unknown `same_site` value \"{}\"; expected \"strict\", \"lax\" or \"none\"",
                                text.value
                            ),
                        );
                        None
                    }
                };
                set_some(
                    cx,
                    &mut self.same_site,
                    &key,
                    value.map(|value| Spanned {
                        value,
                        span: text.span,
                    }),
                );
            }
            _ => {
                cx.error(
                    span,
                    format!("unknown session option `{key}`; expected one of {SESSION_OPTIONS}"),
                );
                return skip_value(meta);
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
                if let Err(error) = attr.meta.require_path_only() {
                    cx.error(error.span(), "`#[flash]` takes no arguments");
                }
                if read.flash.is_some() {
                    cx.error(path.span(), "duplicate `#[flash]` on this field");
                }
                read.flash = Some(path.span());
            } else if path.is_ident("max_age") {
                let lit = match &attr.meta {
                    syn::Meta::List(_) => attr.parse_args::<Lit>(),
                    syn::Meta::NameValue(name_value) => match &name_value.value {
                        syn::Expr::Lit(expr) => Ok(expr.lit.clone()),
                        other => Err(syn::Error::new_spanned(
                            other,
                            "expected a duration literal like \"10m\"",
                        )),
                    },
                    syn::Meta::Path(path) => Err(syn::Error::new_spanned(
                        path,
                        "`#[max_age]` needs a duration: `#[max_age(\"10m\")]`",
                    )),
                };
                let value = lit.and_then(|lit| {
                    duration::parse(&lit).map(|value| Spanned {
                        value,
                        span: lit.span(),
                    })
                });
                match value {
                    Ok(value) => {
                        if read.max_age.is_some() {
                            cx.error(path.span(), "duplicate `#[max_age]` on this field");
                        }
                        read.max_age = Some(value);
                    }
                    Err(error) => cx.syn_error(error),
                }
            } else if path.is_ident("session") {
                cx.error(path.span(), "`#[session(...)]` goes on the struct; on a field write `#[flash]` or `#[max_age(\"...\")]`");
            }
        }
        read
    }
}

fn set<T>(cx: &mut Ctxt, slot: &mut Option<Spanned<T>>, key: &str, value: Spanned<T>) {
    set_some(cx, slot, key, Some(value));
}

/// Stores `value`, or reports a duplicate at the second occurrence.
fn set_some<T>(cx: &mut Ctxt, slot: &mut Option<Spanned<T>>, key: &str, value: Option<Spanned<T>>) {
    let Some(value) = value else { return };
    if slot.is_some() {
        cx.error(value.span, format!("duplicate session option `{key}`"));
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
    if meta.input.peek(Token![=]) {
        let lit: LitBool = meta.value()?.parse()?;
        Ok(Spanned {
            value: lit.value,
            span: lit.span,
        })
    } else {
        Ok(Spanned {
            value: true,
            span: meta.path.span(),
        })
    }
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

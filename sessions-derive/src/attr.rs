//! Reads the attributes into plain values, each with the span of the token the user wrote, and checks
//! what one attribute can be checked alone: a cookie name's characters, a path, a domain, a duration.
//! Rules that involve more than one attribute live in `check.rs`.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens as _;
use syn::ext::IdentExt as _;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned as _;
use syn::{Attribute, Expr, Ident, LitBool, LitStr, Meta, Token};

use crate::ctxt::Ctxt;
use crate::duration;
use crate::suggest::closest;
use crate::symbol::{
    COOKIE, DOMAIN, FIELD_OPTIONS, FLASH, HTTP_ONLY, IDLE_TIMEOUT, LISTED, MARKERS, MAX_AGE, OWNER,
    PARTITIONED, PATH, RENAME, SAME_SITE, SECURE, SERDE, SESSION, SESSION_ONLY, SESSION_OPTIONS, SIGNED,
    Symbol,
};

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

/// What `#[session(...)]` on the struct said; `None` where it said nothing, or said something invalid
/// (already reported).
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

/// Browsers cap a cookie's lifetime at 400 days (RFC 6265bis), so a longer one would be cut short.
const BROWSER_MAX_AGE: u64 = 400 * 24 * 60 * 60;

/// What a field's attributes said.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    /// Where `#[flash]` was written, if it was.
    pub(crate) flash: Option<Span>,
    /// Where `#[owner]` was written, if it was.
    pub(crate) owner: Option<Span>,
    /// Where `#[listed]` was written, if it was.
    pub(crate) listed: Option<Span>,
    pub(crate) max_age: Option<Spanned<u64>>,
    pub(crate) rename: Option<Spanned<String>>,
}

impl SessionAttrs {
    /// Reads every `#[session(...)]` on the struct, and refuses field attributes placed there.
    pub(crate) fn read(cx: &mut Ctxt, attrs: &[Attribute]) -> Self {
        let mut read = Self::default();
        for attr in attrs {
            let path = attr.path();
            if let Some((marker, place)) = MARKERS.iter().find(|(marker, _)| *path == *marker) {
                cx.error(path.span(), format!("`#[{marker}]` {place}"));
            } else if *path == MAX_AGE {
                cx.error(
                    path.span(),
                    "`#[max_age(...)]` goes on a field; for the whole session write `#[session(max_age = \"...\")]`",
                );
            } else if *path == SESSION
                && let Err(error) =
                    attr.parse_nested_meta(|meta| read_on(cx, &meta, |cx| read.option(cx, &meta)))
            {
                cx.syn_error(error);
            }
        }
        read
    }

    fn option(&mut self, cx: &mut Ctxt, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
        let key = OptionKey::read(meta)?;
        match key.symbol(&[SESSION_OPTIONS, FIELD_OPTIONS]) {
            Some(COOKIE) => {
                let value = cookie_name(cx, meta)?;
                set(cx, &mut self.cookie, &key, value);
            }
            Some(PATH) => {
                let value = path(cx, meta)?;
                set(cx, &mut self.path, &key, value);
            }
            Some(DOMAIN) => {
                let value = domain(cx, meta)?;
                set(cx, &mut self.domain, &key, value);
            }
            Some(MAX_AGE) => {
                let value = duration_value(cx, meta)?.filter(|max_age| {
                    let fits = max_age.value <= BROWSER_MAX_AGE;
                    if !fits {
                        cx.error(
                            max_age.span,
                            "browsers keep a cookie for 400 days at most; use `max_age = \"400d\"` or less",
                        );
                    }
                    fits
                });
                set(cx, &mut self.max_age, &key, value);
            }
            Some(IDLE_TIMEOUT) => {
                let value = duration_value(cx, meta)?;
                set(cx, &mut self.idle_timeout, &key, value);
            }
            Some(SESSION_ONLY) => set(cx, &mut self.session_only, &key, Some(flag(meta)?)),
            Some(SECURE) => set(cx, &mut self.secure, &key, Some(flag(meta)?)),
            Some(HTTP_ONLY) => set(cx, &mut self.http_only, &key, Some(flag(meta)?)),
            Some(PARTITIONED) => set(cx, &mut self.partitioned, &key, Some(flag(meta)?)),
            Some(SIGNED) => set(cx, &mut self.signed, &key, Some(flag(meta)?)),
            Some(SAME_SITE) => {
                let value = same_site(cx, meta)?;
                set(cx, &mut self.same_site, &key, value);
            }
            Some(RENAME) => {
                cx.syn_error(key.error("`rename` goes on a field: write `#[session(rename = \"...\")]` above the field to store it under another name"));
                skip_value(meta)?;
            }
            _ => {
                cx.syn_error(key.unknown("session option", SESSION_OPTIONS));
                skip_value(meta)?;
            }
        }
        Ok(())
    }
}

impl FieldAttrs {
    /// Reads `#[flash]`, `#[owner]`, `#[listed]`, `#[max_age(...)]` and `#[session(rename = "...")]` on
    /// a field.
    pub(crate) fn read(cx: &mut Ctxt, attrs: &[Attribute]) -> Self {
        let mut read = Self::default();
        for attr in attrs {
            let path = attr.path();
            if let Some((name, slot)) = [
                (FLASH, &mut read.flash),
                (OWNER, &mut read.owner),
                (LISTED, &mut read.listed),
            ]
            .into_iter()
            .find(|(name, _)| *path == *name)
            {
                marker(cx, attr, name, slot);
            } else if *path == MAX_AGE {
                match field_max_age(attr) {
                    Ok(_) if read.max_age.is_some() => {
                        cx.error(path.span(), "duplicate `#[max_age]` on this field")
                    }
                    Ok(value) => read.max_age = Some(value),
                    Err(error) => cx.syn_error(error),
                }
            } else if *path == SESSION
                && let Err(error) =
                    attr.parse_nested_meta(|meta| read_on(cx, &meta, |cx| read.option(cx, &meta)))
            {
                cx.syn_error(error);
            } else if *path == SERDE {
                // Serde reports its own syntax errors; here only the keys that look like they change
                // how the session stores the field matter.
                let _ = attr.parse_nested_meta(|meta| serde_option(cx, &meta));
            }
        }
        read
    }

    fn option(&mut self, cx: &mut Ctxt, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
        let key = OptionKey::read(meta)?;
        match key.symbol(&[FIELD_OPTIONS, SESSION_OPTIONS, &[FLASH, OWNER, LISTED]]) {
            Some(RENAME) => {
                let name = string(meta)?;
                let value = if name.value.is_empty() {
                    cx.error(
                        name.span,
                        "a field cannot be stored under an empty name; write a name like `rename = \"cart_v2\"`",
                    );
                    None
                } else {
                    Some(name)
                };
                set(cx, &mut self.rename, &key, value);
            }
            Some(name @ (FLASH | OWNER | LISTED)) => {
                cx.syn_error(key.error(format!(
                    "`{name}` is an attribute of its own: write `#[{name}]` above the field"
                )));
                skip_value(meta)?;
            }
            Some(MAX_AGE) => {
                cx.syn_error(key.error("a field's own lifetime is an attribute of its own: write `#[max_age(\"10m\")]` above the field"));
                skip_value(meta)?;
            }
            Some(name) => {
                cx.syn_error(key.error(format!(
                    "`{name}` is an option of the whole session; put it in `#[session(...)]` on the struct"
                )));
                skip_value(meta)?;
            }
            _ => {
                cx.syn_error(key.unknown("field option", FIELD_OPTIONS));
                skip_value(meta)?;
            }
        }
        Ok(())
    }
}

/// Reads a marker attribute (`#[flash]`, `#[owner]`, `#[listed]`) into `slot`: it takes no arguments
/// and no value, and is written once.
fn marker(cx: &mut Ctxt, attr: &Attribute, name: Symbol, slot: &mut Option<Span>) {
    match &attr.meta {
        Meta::List(list) => cx.error(
            list.delimiter.span().join(),
            format!("`#[{name}]` takes no arguments; write `#[{name}]`"),
        ),
        Meta::NameValue(name_value) => cx.error(
            name_value.value.span(),
            format!("`#[{name}]` takes no value; write `#[{name}]`"),
        ),
        Meta::Path(_) => {}
    }
    let span = attr.path().span();
    if slot.is_some() {
        cx.error(span, format!("duplicate `#[{name}]` on this field"));
    }
    *slot = Some(span);
}

/// A session stores every field, under its own name, with its type's own serde impls: the struct's
/// serde attributes never reach it. Those that would seem to keep a field out of the session, store it
/// under another name or give it another default are refused; the rest (`with`, `rename_all`, ...)
/// only shape the struct's own serde output, and may stay.
fn serde_option(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    let key = OptionKey::read(meta)?;
    let fix = match key.name.as_str() {
        "rename" | "alias" => {
            Some("to store the field under another name, write `#[session(rename = \"...\")]`")
        }
        "skip" | "skip_serializing" | "skip_deserializing" | "skip_serializing_if" => Some(
            "every field of a session is stored; keep values that must not be stored out of the session struct",
        ),
        "default" => Some(
            "a field the session cannot read takes its value from the struct's `Default`; change that impl instead",
        ),
        _ => None,
    };
    if let Some(fix) = fix {
        cx.syn_error(key.error(format!(
            "`#[serde({})]` does not change what the session stores: {fix}",
            key.name
        )));
    }
    skip_value(meta)
}

/// An option's key as written, hyphens included: `max-age` is one key, reported once.
struct OptionKey {
    name: String,
    tokens: TokenStream,
}

impl OptionKey {
    fn read(meta: &ParseNestedMeta<'_>) -> syn::Result<Self> {
        let mut tokens = meta.path.to_token_stream();
        let mut name = match meta.path.get_ident() {
            Some(ident) => ident.unraw().to_string(),
            None => tokens.to_string().replace(' ', ""),
        };
        while meta.input.peek(Token![-]) {
            let hyphen: Token![-] = meta.input.parse()?;
            let part = Ident::parse_any(meta.input)?;
            name.push('-');
            name.push_str(&part.unraw().to_string());
            hyphen.to_tokens(&mut tokens);
            part.to_tokens(&mut tokens);
        }
        Ok(Self { name, tokens })
    }

    /// The symbol among `tables` this key spells, if it spells one.
    fn symbol(&self, tables: &[&[Symbol]]) -> Option<Symbol> {
        tables.iter().find_map(|table| Symbol::find(table, &self.name))
    }

    fn error(&self, message: impl std::fmt::Display) -> syn::Error {
        syn::Error::new_spanned(&self.tokens, message)
    }

    /// "unknown session option `max_agee`; did you mean `max_age`?", or the list of options.
    fn unknown(&self, what: &str, known: &[Symbol]) -> syn::Error {
        let name = &self.name;
        let known = Symbol::names(known);
        match closest(name, &known) {
            Some(meant) => self.error(format!("unknown {what} `{name}`; did you mean `{meant}`?")),
            None => {
                let list = known
                    .iter()
                    .map(|option| format!("`{option}`"))
                    .collect::<Vec<_>>();
                self.error(format!("unknown {what} `{name}`; expected {}", one_of(&list)))
            }
        }
    }
}

/// "`a`", "`a` or `b`", "one of `a`, `b`, `c`".
fn one_of(list: &[String]) -> String {
    match list {
        [one] => one.clone(),
        [first, second] => format!("{first} or {second}"),
        _ => format!("one of {}", list.join(", ")),
    }
}

/// `#[max_age("10m")]`, or `#[max_age = "10m"]`.
fn field_max_age(attr: &Attribute) -> syn::Result<Spanned<u64>> {
    let expr = match &attr.meta {
        Meta::List(_) => attr.parse_args::<Expr>()?,
        Meta::NameValue(name_value) => name_value.value.clone(),
        Meta::Path(path) => {
            return Err(syn::Error::new_spanned(
                path,
                "`#[max_age]` needs a duration: `#[max_age(\"10m\")]`",
            ));
        }
    };
    Ok(Spanned {
        value: duration::parse(&expr)?,
        span: expr.span(),
    })
}

/// Stores `value` (`None`: it was invalid and already reported), or reports a duplicate at the second
/// occurrence of the option's name.
fn set<T>(cx: &mut Ctxt, slot: &mut Option<Spanned<T>>, key: &OptionKey, value: Option<Spanned<T>>) {
    let Some(value) = value else { return };
    if slot.is_some() {
        cx.syn_error(key.error(format!("duplicate option `{}`", key.name)));
    } else {
        *slot = Some(value);
    }
}

/// A string value. Anything else is refused with the quoted form to write instead: `same_site =
/// lax` gets "write `same_site = \"lax\"`".
fn string(meta: &ParseNestedMeta<'_>) -> syn::Result<Spanned<String>> {
    let value = meta.value()?;
    if value.peek(LitStr) {
        let lit: LitStr = value.parse()?;
        return Ok(Spanned {
            value: lit.value(),
            span: lit.span(),
        });
    }
    let key = meta.path.to_token_stream().to_string();
    let found: proc_macro2::TokenTree = value.parse()?;
    let written = match &found {
        proc_macro2::TokenTree::Ident(_) | proc_macro2::TokenTree::Literal(_) => found.to_string(),
        _ => "...".to_owned(),
    };
    Err(syn::Error::new(
        found.span(),
        format!(
            "`{key}` takes a string in quotes: write `{key} = \"{}\"`",
            written.trim_matches('\'')
        ),
    ))
}

/// A cookie name: an RFC 6265 token, that is visible ASCII but separators.
fn cookie_name(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>) -> syn::Result<Option<Spanned<String>>> {
    let name = string(meta)?;
    if name.value.is_empty() {
        cx.error(
            name.span,
            "the cookie name is empty; write a name like `cookie = \"app\"`",
        );
        return Ok(None);
    }
    if let Some(bad) = name.value.chars().find(|&c| !is_token_char(c)) {
        cx.error(
            name.span,
            format!("cookie name \"{}\" contains {}, which a cookie name cannot hold; use letters, digits and `!#$%&'*+-.^_`|~`", name.value, describe(bad)),
        );
        return Ok(None);
    }
    Ok(Some(name))
}

/// RFC 6265 cookie names are RFC 2616 tokens: visible ASCII except separators.
fn is_token_char(c: char) -> bool {
    c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?={}".contains(c)
}

fn describe(c: char) -> String {
    match c {
        ' ' => "a space".to_string(),
        c if c.is_ascii_control() => format!("the control character {:?}", c),
        c => format!("`{c}`"),
    }
}

fn path(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>) -> syn::Result<Option<Spanned<String>>> {
    let path = string(meta)?;
    if !path.value.starts_with('/') || path.value.contains(|c: char| c == ';' || c.is_control()) {
        cx.error(
            path.span,
            format!(
                "cookie path \"{}\" must start with `/` and hold no `;` or control characters",
                path.value
            ),
        );
        return Ok(None);
    }
    Ok(Some(path))
}

fn domain(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>) -> syn::Result<Option<Spanned<String>>> {
    let domain = string(meta)?;
    let host = domain.value.strip_prefix('.').unwrap_or(&domain.value);
    let valid = !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !valid {
        cx.error(
            domain.span,
            format!(
                "cookie domain \"{}\" is not a host name; write one like `domain = \"example.com\"`",
                domain.value
            ),
        );
        return Ok(None);
    }
    Ok(Some(domain))
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
    const VALUES: &[&str] = &["strict", "lax", "none"];
    let text = string(meta)?;
    let value = match text.value.as_str() {
        "strict" => SameSite::Strict,
        "lax" => SameSite::Lax,
        "none" => SameSite::None,
        other => {
            let help = match closest(other, VALUES) {
                Some(meant) => format!("did you mean \"{meant}\"?"),
                None => "expected \"strict\", \"lax\" or \"none\"".to_string(),
            };
            cx.error(
                text.span,
                format!("unknown `same_site` value \"{other}\"; {help}"),
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
    let expr: Expr = meta.value()?.parse()?;
    Ok(match duration::parse(&expr) {
        Ok(value) => Some(Spanned {
            value,
            span: expr.span(),
        }),
        Err(error) => {
            cx.syn_error(error);
            None
        }
    })
}

/// Reads one option of a `#[session(...)]` list with `read`. An option whose value cannot be read
/// (`cookie = 5`) is reported, and the rest of it skipped up to the comma: the options after it
/// are still read, and their mistakes reported in the same build.
fn read_on(
    cx: &mut Ctxt,
    meta: &ParseNestedMeta<'_>,
    read: impl FnOnce(&mut Ctxt) -> syn::Result<()>,
) -> syn::Result<()> {
    if let Err(error) = read(cx) {
        cx.syn_error(error);
        while !meta.input.is_empty() && !meta.input.peek(Token![,]) {
            meta.input.parse::<proc_macro2::TokenTree>()?;
        }
    }
    Ok(())
}

/// Consumes whatever follows an unknown option, so the options after it are still read.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.input.parse::<proc_macro2::Group>()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_characters() {
        assert!("app_session-1.x".chars().all(is_token_char));
        for bad in [' ', ';', '=', ',', '"', 'é', '\t', '/'] {
            assert!(!is_token_char(bad), "{bad:?}");
        }
    }
}

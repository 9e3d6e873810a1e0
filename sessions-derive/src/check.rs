//! The rules that involve more than one attribute, or an attribute and a type. Each mistake is
//! reported at the token to change, with what to write instead.

use syn::spanned::Spanned as _;
use syn::{GenericArgument, PathArguments, Type};

use crate::ast::{Field, Input};
use crate::attr::SameSite;
use crate::ctxt::Ctxt;
use crate::duration::display;

/// The `max_age` of a session that does not say: 14 days.
pub(crate) const DEFAULT_MAX_AGE: u64 = 14 * 24 * 60 * 60;

/// Browsers cap a cookie's lifetime at 400 days (RFC 6265bis), so a longer one would be cut short.
const BROWSER_MAX_AGE: u64 = 400 * 24 * 60 * 60;

pub(crate) fn check(cx: &mut Ctxt, input: &Input<'_>) {
    check_cookie_name(cx, input);
    check_path_and_domain(cx, input);
    check_secure_requirements(cx, input);
    check_lifetimes(cx, input);
    for field in &input.fields {
        check_flash_type(cx, field);
    }
}

/// The cookie name the session uses: the one given, or the struct's name in snake_case.
pub(crate) fn cookie_name(input: &Input<'_>) -> String {
    match &input.attrs.cookie {
        Some(cookie) => cookie.value.clone(),
        None => snake_case(&input.ident.to_string()),
    }
}

fn check_cookie_name(cx: &mut Ctxt, input: &Input<'_>) {
    let Some(cookie) = &input.attrs.cookie else { return };
    if cookie.value.is_empty() {
        cx.error(
            cookie.span,
            "the cookie name is empty; write a name like `cookie = \"app\"`",
        );
        return;
    }
    if let Some(bad) = cookie.value.chars().find(|&c| !is_token_char(c)) {
        cx.error(
            cookie.span,
            format!("cookie name \"{}\" contains {}, which a cookie name cannot hold; use letters, digits and `!#$%&'*+-.^_`|~`", cookie.value, describe(bad)),
        );
    }
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

fn check_path_and_domain(cx: &mut Ctxt, input: &Input<'_>) {
    if let Some(path) = &input.attrs.path
        && (!path.value.starts_with('/') || path.value.contains(|c: char| c == ';' || c.is_control()))
    {
        cx.error(
            path.span,
            format!(
                "cookie path \"{}\" must start with `/` and hold no `;` or control characters",
                path.value
            ),
        );
    }
    if let Some(domain) = &input.attrs.domain {
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
        }
    }
}

fn check_secure_requirements(cx: &mut Ctxt, input: &Input<'_>) {
    let attrs = &input.attrs;
    let insecure = attrs.secure.as_ref().filter(|secure| !secure.value);
    let name = cookie_name(input);
    if let Some(insecure) = insecure {
        if name.starts_with("__Host-") {
            cx.error(
                insecure.span,
                "a `__Host-` cookie must be `secure`; remove `secure = false`, or drop the `__Host-` prefix",
            );
        } else if name.starts_with("__Secure-") {
            cx.error(insecure.span, "a `__Secure-` cookie must be `secure`; remove `secure = false`, or drop the `__Secure-` prefix");
        }
        if let Some(same_site) = attrs.same_site.as_ref().filter(|s| s.value == SameSite::None) {
            cx.error(same_site.span, "`same_site = \"none\"` requires `secure`; remove `secure = false` or use `same_site = \"lax\"`");
        }
        if let Some(partitioned) = attrs.partitioned.as_ref().filter(|p| p.value) {
            cx.error(
                partitioned.span,
                "`partitioned` requires `secure`; remove `secure = false` or drop `partitioned`",
            );
        }
    }
    if name.starts_with("__Host-") {
        if let Some(domain) = &attrs.domain {
            cx.error(domain.span, "a `__Host-` cookie cannot have a `domain`: it is bound to the exact host; remove `domain`, or use the `__Secure-` prefix");
        }
        if let Some(path) = attrs.path.as_ref().filter(|path| path.value != "/") {
            cx.error(
                path.span,
                "a `__Host-` cookie must have `path = \"/\"`; remove `path`, or use the `__Secure-` prefix",
            );
        }
    }
}

fn check_lifetimes(cx: &mut Ctxt, input: &Input<'_>) {
    let attrs = &input.attrs;
    let (max_age, max_age_said) = match &attrs.max_age {
        Some(max_age) => (max_age.value, format!("`max_age` ({})", display(max_age.value))),
        None => (
            DEFAULT_MAX_AGE,
            format!("default `max_age` ({})", display(DEFAULT_MAX_AGE)),
        ),
    };
    if let Some(given) = &attrs.max_age
        && given.value > BROWSER_MAX_AGE
    {
        cx.error(
            given.span,
            "browsers keep a cookie for 400 days at most; use `max_age = \"400d\"` or less",
        );
    }
    if let Some(idle) = &attrs.idle_timeout
        && idle.value > max_age
    {
        cx.error(
            idle.span,
            format!("`idle_timeout` ({}) is longer than the session's {max_age_said}, so it would never apply; shorten it or raise `max_age`", display(idle.value)),
        );
    }
    for field in &input.fields {
        if let Some(field_age) = &field.attrs.max_age
            && field_age.value > max_age
        {
            cx.error(
                field_age.span,
                format!(
                    "field `{}` would outlive its session: `#[max_age(\"{}\")]` is longer than the session's {max_age_said}; shorten it or raise the session's `max_age`",
                    field.ident,
                    display(field_age.value)
                ),
            );
        }
    }
}

fn check_flash_type(cx: &mut Ctxt, field: &Field<'_>) {
    if field.attrs.flash && !holds_messages(field.ty) {
        cx.error(
            field.ty.span(),
            format!("a `#[flash]` field holds messages until they are read, so its type must be `Option<T>` (one message) or `Vec<T>` (a list); change the type of `{}`", field.ident),
        );
    }
}

/// Whether `ty` is spelled `Option<T>` or `Vec<T>`, with or without its module path.
fn holds_messages(ty: &Type) -> bool {
    let Type::Path(path) = ty else { return false };
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return false;
    };
    (last.ident == "Option" || last.ident == "Vec")
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
    fn token_characters() {
        assert!("app_session-1.x".chars().all(is_token_char));
        for bad in [' ', ';', '=', ',', '"', 'é', '\t', '/'] {
            assert!(!is_token_char(bad), "{bad:?}");
        }
    }
}

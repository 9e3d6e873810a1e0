//! The rules that involve more than one attribute, or more than one field. Each mistake is reported at
//! the token to change, with what to write instead.

use crate::ast::{Field, Input};
use crate::attr::SameSite;
use crate::ctxt::Ctxt;
use crate::duration::display;
use crate::tag::name_tag;

/// The `max_age` of a session that does not say: 14 days.
pub(crate) const DEFAULT_MAX_AGE: u64 = 14 * 24 * 60 * 60;

pub(crate) fn check(cx: &mut Ctxt, input: &Input<'_>) {
    check_prefix(cx, input);
    check_needs_secure(cx, input);
    check_lifetimes(cx, input);
    check_stored_names(cx, &input.fields);
    check_owner(cx, &input.fields);
}

/// One field at most says who owns the session, and it lives as long as the session: an owner that
/// expired on its own, or was taken like a flash message, would leave the session in its owner's
/// list while no longer belonging to them.
fn check_owner(cx: &mut Ctxt, fields: &[Field<'_>]) {
    let mut owners = fields
        .iter()
        .filter_map(|field| Some((field, field.attrs.owner?)));
    let Some((first, _)) = owners.next() else {
        return;
    };
    for (field, span) in owners {
        cx.error(
            span,
            format!(
                "a session has one owner, and `{}` already is it; remove `#[owner]` from `{}`",
                first.name, field.name
            ),
        );
    }
    for field in fields.iter().filter(|field| field.attrs.owner.is_some()) {
        if let Some(flash) = field.attrs.flash {
            cx.error(
                flash,
                format!("the `#[owner]` field `{}` cannot be `#[flash]`: the owner stays until sign-out, it is not read once; remove `#[flash]`", field.name),
            );
        }
        if let Some(max_age) = &field.attrs.max_age {
            cx.error(
                max_age.span,
                format!("the `#[owner]` field `{}` lives as long as its session; remove `#[max_age]` (for a shorter sign-in, shorten the session's `max_age` or `idle_timeout`)", field.name),
            );
        }
    }
}

/// A cookie name prefix that browsers enforce (RFC 6265bis, section 4.1.3, and the `__Http-` prefixes
/// of its later drafts), and what it demands.
struct Prefix {
    /// The canonical spelling.
    name: &'static str,
    /// No `Domain`, and `Path=/`.
    host_only: bool,
    http_only: bool,
}

/// Longest first: `__Host-Http-` is also `__Host-`.
const PREFIXES: [Prefix; 4] = [
    Prefix {
        name: "__Host-Http-",
        host_only: true,
        http_only: true,
    },
    Prefix {
        name: "__Host-",
        host_only: true,
        http_only: false,
    },
    Prefix {
        name: "__Http-",
        host_only: false,
        http_only: true,
    },
    Prefix {
        name: "__Secure-",
        host_only: false,
        http_only: false,
    },
];

/// Browsers match prefixes in any letter case: `__host-app` is held to the `__Host-` rules.
fn check_prefix(cx: &mut Ctxt, input: &Input<'_>) {
    let cookie = &input.cookie.value;
    let Some(prefix) = PREFIXES.iter().find(|prefix| {
        cookie.len() >= prefix.name.len()
            && cookie.as_bytes()[..prefix.name.len()].eq_ignore_ascii_case(prefix.name.as_bytes())
    }) else {
        return;
    };
    let written = &cookie[..prefix.name.len()];
    let spelled = if written == prefix.name {
        format!("a `{written}` cookie")
    } else {
        format!(
            "a `{written}` cookie (browsers read it as `{}`: prefixes match in any letter case)",
            prefix.name
        )
    };
    let attrs = &input.attrs;
    if let Some(insecure) = attrs.secure.as_ref().filter(|secure| !secure.value) {
        cx.error(
            insecure.span,
            format!("{spelled} must be `secure`; remove `secure = false`, or drop the prefix"),
        );
    }
    if prefix.http_only
        && let Some(readable) = attrs.http_only.as_ref().filter(|http_only| !http_only.value)
    {
        cx.error(
            readable.span,
            format!("{spelled} must be `http_only`; remove `http_only = false`, or drop the prefix"),
        );
    }
    if prefix.host_only {
        if let Some(domain) = &attrs.domain {
            cx.error(domain.span, format!("{spelled} cannot have a `domain`: it is bound to the exact host; remove `domain`, or use the `__Secure-` prefix"));
        }
        if let Some(path) = attrs.path.as_ref().filter(|path| path.value != "/") {
            cx.error(
                path.span,
                format!("{spelled} must have `path = \"/\"`; remove `path`, or use the `__Secure-` prefix"),
            );
        }
    }
}

/// Options that browsers honour only on a `Secure` cookie.
fn check_needs_secure(cx: &mut Ctxt, input: &Input<'_>) {
    let attrs = &input.attrs;
    if attrs.secure.as_ref().is_none_or(|secure| secure.value) {
        return;
    }
    if let Some(same_site) = attrs.same_site.as_ref().filter(|s| s.value == SameSite::None) {
        cx.error(
            same_site.span,
            "`same_site = \"none\"` requires `secure`; remove `secure = false` or use `same_site = \"lax\"`",
        );
    }
    if let Some(partitioned) = attrs.partitioned.as_ref().filter(|p| p.value) {
        cx.error(
            partitioned.span,
            "`partitioned` requires `secure`; remove `secure = false` or drop `partitioned`",
        );
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
                    field.name,
                    display(field_age.value)
                ),
            );
        }
    }
}

/// Each field is stored under a 32-bit tag of its stored name. Two equal tags would make each field read
/// the other's value, so the later field is refused, with both named.
fn check_stored_names(cx: &mut Ctxt, fields: &[Field<'_>]) {
    for (index, field) in fields.iter().enumerate() {
        let tag = name_tag(field.stored_name());
        let Some(earlier) = fields[..index]
            .iter()
            .find(|earlier| name_tag(earlier.stored_name()) == tag)
        else {
            continue;
        };
        let message = if earlier.stored_name() == field.stored_name() {
            format!(
                "fields `{}` and `{}` are both stored as \"{}\", so each would read the other's value; give one another name with `#[session(rename = \"...\")]`",
                earlier.name,
                field.name,
                field.stored_name()
            )
        } else {
            format!(
                "fields `{}` and `{}` are stored under the same tag ({tag:#010x}: their names \"{}\" and \"{}\" hash alike), so each would read the other's value; store one under another name with `#[session(rename = \"{}_v2\")]`",
                earlier.name,
                field.name,
                earlier.stored_name(),
                field.stored_name(),
                field.stored_name(),
            )
        };
        cx.error(field.stored_name_span(), message);
    }
}

//! Every attribute and option name the derive reads, once (serde_derive's manner): the readers in
//! `attr.rs` match on these, the "did you mean" lists are built from them, and a new option is one
//! line here and one arm there. The names the compiler routes to the derive are also listed in
//! `lib.rs`'s `attributes(...)`, which must stay in step with [`ATTRIBUTES`].

use std::fmt;

use syn::Path;

/// A name the user writes in an attribute.
#[derive(Copy, Clone, PartialEq, Eq)]
pub(crate) struct Symbol(pub(crate) &'static str);

/// `#[session(...)]`: the struct's options, or a field's.
pub(crate) const SESSION: Symbol = Symbol("session");
/// `#[flash]` on a field.
pub(crate) const FLASH: Symbol = Symbol("flash");
/// `#[owner]` on a field.
pub(crate) const OWNER: Symbol = Symbol("owner");
/// `#[listed]` on a field.
pub(crate) const LISTED: Symbol = Symbol("listed");
/// `#[max_age("10m")]` on a field, and `max_age = "14d"` among the struct's options.
pub(crate) const MAX_AGE: Symbol = Symbol("max_age");
/// `#[serde(...)]`, read only to refuse what would seem to change what is stored.
pub(crate) const SERDE: Symbol = Symbol("serde");

pub(crate) const COOKIE: Symbol = Symbol("cookie");
pub(crate) const IDLE_TIMEOUT: Symbol = Symbol("idle_timeout");
pub(crate) const SESSION_ONLY: Symbol = Symbol("session_only");
pub(crate) const PATH: Symbol = Symbol("path");
pub(crate) const DOMAIN: Symbol = Symbol("domain");
pub(crate) const SECURE: Symbol = Symbol("secure");
pub(crate) const HTTP_ONLY: Symbol = Symbol("http_only");
pub(crate) const SAME_SITE: Symbol = Symbol("same_site");
pub(crate) const PARTITIONED: Symbol = Symbol("partitioned");
pub(crate) const SIGNED: Symbol = Symbol("signed");
pub(crate) const RENAME: Symbol = Symbol("rename");

/// The attributes the derive reads (`lib.rs` declares them to the compiler, as literal idents; a
/// test checks the two agree).
#[cfg(test)]
pub(crate) const ATTRIBUTES: &[Symbol] = &[SESSION, FLASH, MAX_AGE, OWNER, LISTED];

/// The options of `#[session(...)]` on the struct.
pub(crate) const SESSION_OPTIONS: &[Symbol] = &[
    COOKIE,
    MAX_AGE,
    IDLE_TIMEOUT,
    SESSION_ONLY,
    PATH,
    DOMAIN,
    SECURE,
    HTTP_ONLY,
    SAME_SITE,
    PARTITIONED,
    SIGNED,
];

/// The options of `#[session(...)]` on a field.
pub(crate) const FIELD_OPTIONS: &[Symbol] = &[RENAME];

/// The attributes of a field that take no value, and what to say when one is put on the struct.
pub(crate) const MARKERS: &[(Symbol, &str)] = &[
    (
        FLASH,
        "goes on a field of type `Option<T>` or `Vec<T>`, not on the struct",
    ),
    (
        OWNER,
        "goes on the field of type `Option<T>` that says who is signed in, not on the struct",
    ),
    (
        LISTED,
        "goes on a field to show in the list of an owner's sessions, not on the struct",
    ),
];

impl Symbol {
    /// The symbol among `symbols` spelled `name`.
    pub(crate) fn find(symbols: &[Symbol], name: &str) -> Option<Symbol> {
        symbols.iter().copied().find(|symbol| symbol.0 == name)
    }

    /// The names of `symbols`, for a "did you mean".
    pub(crate) fn names(symbols: &[Symbol]) -> Vec<&'static str> {
        symbols.iter().map(|symbol| symbol.0).collect()
    }
}

impl PartialEq<Symbol> for Path {
    fn eq(&self, symbol: &Symbol) -> bool {
        self.is_ident(symbol.0)
    }
}

impl PartialEq<Symbol> for str {
    fn eq(&self, symbol: &Symbol) -> bool {
        self == symbol.0
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `lib.rs` names the attributes to the compiler as literal idents; they must be these.
    #[test]
    fn the_attributes_declared_in_lib_rs_are_the_ones_read() {
        let lib = include_str!("lib.rs");
        let declared = lib
            .split("attributes(")
            .nth(1)
            .and_then(|rest| rest.split(')').next())
            .unwrap();
        let declared: Vec<&str> = declared.split(',').map(str::trim).collect();
        assert_eq!(declared, Symbol::names(ATTRIBUTES));
    }
}

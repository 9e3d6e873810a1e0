//! What a response that used a session tells shared caches (a CDN, a proxy): that it depends on the
//! request's cookies, and, when it sets a session's cookie, that it is this user's alone.

use ::http::HeaderMap;
use ::http::header::{CACHE_CONTROL, Entry, HeaderValue, VARY};

/// What to add to a response that read a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CacheHeaders {
    /// Append `Vary: Cookie`: the response is what it is because of the request's cookies. Not when
    /// a `Vary` already names `Cookie` (or is `*`).
    pub(crate) vary_cookie: bool,
    /// Set `Cache-Control: private, no-store`: the response carries a session's `Set-Cookie`, which
    /// a shared cache must never hand to another user. Not when the app set its own
    /// `Cache-Control`, which is kept as the app's decision.
    pub(crate) no_store: bool,
}

/// The `Vary` value added.
pub(crate) const VARY_COOKIE: &str = "Cookie";

/// The `Cache-Control` value set.
pub(crate) const NO_STORE: &str = "private, no-store";

impl CacheHeaders {
    /// For a response that read a session, with these `Vary` values, whether it has a
    /// `Cache-Control`, and whether saving the session set a cookie.
    pub(crate) fn for_response<'a>(
        vary: impl IntoIterator<Item = &'a [u8]>,
        has_cache_control: bool,
        sets_session_cookie: bool,
    ) -> Self {
        let varies_by_cookie = vary.into_iter().any(|value| {
            value.split(|&b| b == b',').any(|name| {
                let name = name.trim_ascii();
                name == b"*" || name.eq_ignore_ascii_case(b"cookie")
            })
        });
        Self {
            vary_cookie: !varies_by_cookie,
            no_store: sets_session_cookie && !has_cache_control,
        }
    }

    /// Adds them to `headers`, those of a response that read a session.
    ///
    /// Two more header values cost a layered cookie session's request 2.8 % of its instructions
    /// (24,081 → 24,756 per request in process, callgrind), all of it in the two inserts; an entry
    /// per header, and counting values instead of `Set-Cookie` lines, took it from 3.4 %.
    pub(crate) fn add_to(headers: &mut HeaderMap, sets_session_cookie: bool) {
        // One lookup per header, through its entry.
        match headers.entry(VARY) {
            Entry::Vacant(vacant) => {
                vacant.insert(HeaderValue::from_static(VARY_COOKIE));
            }
            Entry::Occupied(mut vary) => {
                if Self::for_response(vary.iter().map(HeaderValue::as_bytes), true, false).vary_cookie {
                    vary.append(HeaderValue::from_static(VARY_COOKIE));
                }
            }
        }
        if sets_session_cookie && let Entry::Vacant(vacant) = headers.entry(CACHE_CONTROL) {
            vacant.insert(HeaderValue::from_static(NO_STORE));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_is_added_to_vary_once_and_the_apps_cache_control_is_kept() {
        let add = |vary: &[&str], cache_control, sets| {
            CacheHeaders::for_response(vary.iter().map(|v| v.as_bytes()), cache_control, sets)
        };
        let both = CacheHeaders {
            vary_cookie: true,
            no_store: true,
        };
        assert_eq!(add(&[], false, true), both);
        assert_eq!(add(&["Accept-Encoding"], false, true), both);
        assert!(!add(&["accept-encoding, COOKIE"], false, true).vary_cookie);
        assert!(!add(&["Accept", "Cookie"], false, true).vary_cookie);
        assert!(!add(&["*"], false, true).vary_cookie);
        assert!(
            add(&["Cookies"], false, true).vary_cookie,
            "another header's name"
        );
        assert!(!add(&[], true, true).no_store, "the app's own Cache-Control");
        assert!(!add(&[], false, false).no_store, "no session cookie set");
    }
}

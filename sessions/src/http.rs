//! Where sessions meet HTTP headers: reading the session cookie from `Cookie`, and writing `Set-Cookie`
//! lines, each checked against the size browsers keep.

use std::time::Duration;

use cookie::{Cookie, SameSite as CookieSameSite};
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue};

use crate::codec::MAX_COOKIE_LEN;
use crate::error::SaveError;
use crate::options::{CookieOptions, SameSite};

/// The values of every cookie called `name` in the request, in order. A browser sends several when
/// cookies of one name were set for different paths or domains; each is tried in turn.
pub(crate) fn cookie_values<'h>(headers: &'h HeaderMap, name: &'h str) -> impl Iterator<Item = &'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|header| header.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(move |cookie| cookie.name_raw() == Some(name))
        .filter_map(|cookie| cookie.value_raw())
}

/// The `Set-Cookie` line that stores `value`: persistent with `max_age`, a browser-session cookie
/// without. Refused when the whole line passes 4096 bytes, since browsers drop such cookies silently.
pub(crate) fn set_cookie(
    options: &CookieOptions,
    value: &str,
    max_age: Option<Duration>,
) -> Result<HeaderValue, SaveError> {
    let mut cookie = with_attributes(options, Cookie::new(options.name(), value));
    if let Some(max_age) = max_age {
        cookie.set_max_age(cookie::time::Duration::seconds(
            i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX),
        ));
    }
    let line = cookie.to_string();
    if line.len() > MAX_COOKIE_LEN {
        return Err(SaveError::TooLarge {
            cookie: options.name(),
            size: line.len(),
            limit: MAX_COOKIE_LEN,
        });
    }
    Ok(HeaderValue::try_from(line)
        .expect("a cookie built from a token name and base64url value is a valid header"))
}

/// The `Set-Cookie` line that removes the cookie: empty, expired, and with the same `Path`, `Domain`,
/// `Secure`, `SameSite` and `Partitioned`, since a browser only replaces a cookie whose attributes
/// match (and refuses a `__Host-` cookie without them).
pub(crate) fn removal(options: &CookieOptions) -> HeaderValue {
    let mut cookie = with_attributes(options, Cookie::new(options.name(), ""));
    cookie.make_removal();
    HeaderValue::try_from(cookie.to_string()).expect("a removal cookie is a valid header")
}

/// Appends a `Set-Cookie` line to the response headers.
pub(crate) fn append(headers: &mut HeaderMap, line: HeaderValue) {
    headers.append(SET_COOKIE, line);
}

fn with_attributes<'c>(options: &CookieOptions, mut cookie: Cookie<'c>) -> Cookie<'c> {
    cookie.set_path(options.path());
    if let Some(domain) = options.domain() {
        cookie.set_domain(domain);
    }
    cookie.set_secure(options.secure());
    cookie.set_http_only(options.http_only());
    cookie.set_same_site(match options.same_site() {
        SameSite::Strict => CookieSameSite::Strict,
        SameSite::Lax => CookieSameSite::Lax,
        SameSite::None => CookieSameSite::None,
    });
    cookie.set_partitioned(options.partitioned());
    cookie
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Config;

    const OPTIONS: Config = Config::new("S", "__Host-s")
        .same_site(SameSite::Strict)
        .partitioned(true);

    #[test]
    fn every_cookie_of_the_name_is_found_across_headers() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; __Host-s=first; b=2"));
        headers.append(COOKIE, HeaderValue::from_static("__Host-s=second"));
        headers.append(COOKIE, HeaderValue::from_bytes(b"\xff=junk").unwrap());
        let found: Vec<_> = cookie_values(&headers, "__Host-s").collect();
        assert_eq!(found, ["first", "second"]);
    }

    #[test]
    fn set_cookie_carries_every_attribute_and_removal_keeps_them() {
        let line = set_cookie(OPTIONS.cookie(), "v", Some(Duration::from_secs(60))).unwrap();
        let line = line.to_str().unwrap();
        for part in [
            "__Host-s=v",
            "HttpOnly",
            "SameSite=Strict",
            "Partitioned",
            "Secure",
            "Path=/",
            "Max-Age=60",
        ] {
            assert!(line.contains(part), "{part} missing from {line}");
        }
        let session_only = set_cookie(OPTIONS.cookie(), "v", None).unwrap();
        assert!(!session_only.to_str().unwrap().contains("Max-Age"));
        let removal = removal(OPTIONS.cookie());
        let removal = removal.to_str().unwrap();
        for part in [
            "__Host-s=;",
            "Secure",
            "Path=/",
            "SameSite=Strict",
            "Partitioned",
            "Max-Age=0",
        ] {
            assert!(removal.contains(part), "{part} missing from {removal}");
        }
    }

    #[test]
    fn a_line_over_4096_bytes_is_an_error_naming_its_size() {
        let value = "x".repeat(4096);
        match set_cookie(OPTIONS.cookie(), &value, None) {
            Err(SaveError::TooLarge { cookie, size, limit }) => {
                assert_eq!((cookie, limit), ("__Host-s", 4096));
                assert!(size > 4096);
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }
}

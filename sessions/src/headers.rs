//! Where sessions meet HTTP headers: reading the session cookie from `Cookie`, and writing `Set-Cookie`
//! lines, each checked against the size browsers keep.

use std::fmt::Write as _;
use std::time::Duration;

use cookie::{Cookie, SameSite as CookieSameSite};
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue};

use crate::config::{CookieOptions, SameSite};
use crate::error::SaveError;

/// The longest `Set-Cookie` line, and cookie value, a browser keeps (RFC 6265's minimum every browser
/// honours). A longer incoming value is refused before it is decoded.
pub(crate) const MAX_COOKIE_LEN: usize = 4096;

/// The values of every cookie called `name` in the request, in order. A browser sends several when
/// cookies of one name were set for different paths or domains.
///
/// Read from the header's bytes, pair by pair: a sibling cookie whose value is not ASCII (browsers
/// send UTF-8 raw, `pref=café`) or not even UTF-8 costs only that pair, never the session cookie.
pub(crate) fn cookie_values<'h>(headers: &'h HeaderMap, name: &'h str) -> impl Iterator<Item = &'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|header| header.as_bytes().split(|&byte| byte == b';'))
        .filter_map(|pair| std::str::from_utf8(pair).ok())
        .filter_map(|pair| Cookie::parse(pair).ok())
        .filter(move |cookie| cookie.name_raw() == Some(name))
        .filter_map(|cookie| cookie.value_raw())
}

/// The most distinct values of one cookie tried per request. A browser sends one per path or domain
/// the cookie was set for; whoever can set cookies for the site's domain (a sibling subdomain) can
/// add values of the session's name before the real one, but no more than a browser keeps for a
/// domain (Chrome, the most: 180). Each try costs a check of a MAC over at most 4096 bytes, so the
/// work stays bounded by this times that, and in practice by the server's limit on a header.
pub(crate) const MAX_TRIED_VALUES: usize = 180;

/// The values of a session cookie worth trying: the first [`MAX_TRIED_VALUES`] distinct ones, in
/// order. A header repeating one value 5,000 times costs one attempt, not 5,000.
#[derive(Debug)]
pub(crate) struct Candidates<'v> {
    /// The first value: usually the only one, held without allocating.
    first: Option<&'v str>,
    /// The distinct values after it.
    more: Vec<&'v str>,
    /// Values past the first few distinct ones, not tried (repeats of a tried value are not counted).
    pub(crate) untried: u64,
}

impl<'v> Candidates<'v> {
    pub(crate) fn new(values: impl IntoIterator<Item = &'v str>) -> Self {
        let mut candidates = Self {
            first: None,
            more: Vec::new(),
            untried: 0,
        };
        // Past a few values, a set finds repeats: a header of thousands of distinct values costs
        // one look-up each, not one comparison with every value kept.
        let mut seen = std::collections::HashSet::new();
        for value in values {
            let Some(first) = candidates.first else {
                candidates.first = Some(value);
                continue;
            };
            let repeated = if candidates.more.len() < 8 {
                value == first || candidates.more.contains(&value)
            } else {
                if seen.is_empty() {
                    seen.extend(candidates.more.iter().copied());
                    seen.insert(first);
                }
                !seen.insert(value)
            };
            if repeated {
                continue;
            }
            if candidates.more.len() + 1 == MAX_TRIED_VALUES {
                candidates.untried += 1;
            } else {
                candidates.more.push(value);
            }
        }
        candidates
    }

    /// The values to try, in the order the request gave them.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &'v str> + '_ {
        self.first.into_iter().chain(self.more.iter().copied())
    }

    /// Whether every value of the request is among those tried: if not, one left untried may be
    /// a good one, so a refusal must not remove the cookie.
    pub(crate) fn complete(&self) -> bool {
        self.untried == 0
    }
}

/// The attributes of the cookie described by `options` (`; HttpOnly; SameSite=Lax; Secure; Path=/`
/// and so on), as the `cookie` crate formats them, without `Max-Age`.
pub(crate) fn attributes(options: &CookieOptions) -> String {
    let line = with_attributes(options, Cookie::new("", "")).to_string();
    line.strip_prefix('=').unwrap_or(&line).to_owned()
}

/// Refuses a cookie whose whole `Set-Cookie` line (from [`set_cookie`]) would pass 4096 bytes, since
/// browsers drop such cookies silently.
pub(crate) fn check_size(
    name: &'static str,
    value_len: usize,
    attributes: &str,
    max_age: Option<Duration>,
) -> Result<(), SaveError> {
    let size = line_len(name, value_len, attributes, max_age);
    if size > MAX_COOKIE_LEN {
        return Err(SaveError::TooLarge {
            cookie: name,
            size,
            limit: MAX_COOKIE_LEN,
        });
    }
    Ok(())
}

/// The length of the `Set-Cookie` line [`set_cookie`] writes.
fn line_len(name: &str, value_len: usize, attributes: &str, max_age: Option<Duration>) -> usize {
    let max_age_len = max_age.map_or(0, |age| "; Max-Age=".len() + decimal_digits(age.as_secs()));
    name.len() + 1 + value_len + attributes.len() + max_age_len
}

fn decimal_digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |log| log as usize + 1)
}

/// The `Set-Cookie` line `name=value`, then `attributes` (from [`attributes`]), then `Max-Age` when
/// persistent (a browser-session cookie has none). Checked with [`check_size`].
pub(crate) fn set_cookie(
    name: &'static str,
    attributes: &str,
    max_age: Option<Duration>,
    value: &str,
) -> Result<HeaderValue, SaveError> {
    let mut line = SetCookieLine::start(name, attributes, max_age, value.len())?;
    line.value_mut().push_str(value);
    line.finish()
}

/// A [`set_cookie`] line written in place: started with `name=`, then the caller appends the value
/// through [`ValueOut`], then [`SetCookieLine::finish`] adds the attributes. For a value that is made
/// as it is written (a sealed cookie's base64), so that it needs no buffer of its own: a cookie
/// store's load and save through headers runs 1.9% fewer instructions than sealing into a `String`
/// and copying it into the line (callgrind, the `seal_open` session).
#[derive(Debug)]
pub(crate) struct SetCookieLine<'a> {
    line: String,
    name: &'static str,
    attributes: &'a str,
    max_age: Option<Duration>,
}

impl<'a> SetCookieLine<'a> {
    /// Starts the line for a value of `value_len` bytes; refused as [`check_size`] refuses it.
    pub(crate) fn start(
        name: &'static str,
        attributes: &'a str,
        max_age: Option<Duration>,
        value_len: usize,
    ) -> Result<Self, SaveError> {
        check_size(name, value_len, attributes, max_age)?;
        // Exactly the line's length: `http` then takes the buffer as it is, with no second allocation.
        let mut line = String::with_capacity(line_len(name, value_len, attributes, max_age));
        line.push_str(name);
        line.push('=');
        Ok(Self {
            line,
            name,
            attributes,
            max_age,
        })
    }

    /// Adds the attributes and makes the header value.
    pub(crate) fn finish(mut self) -> Result<HeaderValue, SaveError> {
        self.line.push_str(self.attributes);
        if let Some(max_age) = self.max_age {
            // Writing to a String cannot fail.
            let _ = write!(self.line, "; Max-Age={}", max_age.as_secs());
        }
        HeaderValue::try_from(self.line).map_err(|_| SaveError::InvalidCookieOptions { cookie: self.name })
    }
}

/// Where a cookie value is written as it is made: a value of its own, or the middle of a
/// [`SetCookieLine`]. Exactly the announced number of bytes is appended.
pub(crate) trait ValueOut {
    fn value_mut(&mut self) -> &mut String;
}

impl ValueOut for String {
    fn value_mut(&mut self) -> &mut String {
        self
    }
}

impl ValueOut for SetCookieLine<'_> {
    fn value_mut(&mut self) -> &mut String {
        &mut self.line
    }
}

/// The `Set-Cookie` line that removes the cookie: empty, expired, and with the same `Path`, `Domain`,
/// `Secure`, `SameSite` and `Partitioned`, since a browser only replaces a cookie whose attributes
/// match (and refuses a `__Host-` cookie without them).
pub(crate) fn removal(options: &CookieOptions) -> Result<HeaderValue, SaveError> {
    let mut cookie = with_attributes(options, Cookie::new(options.name(), ""));
    cookie.make_removal();
    HeaderValue::try_from(cookie.to_string()).map_err(|_| SaveError::InvalidCookieOptions {
        cookie: options.name(),
    })
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
    use crate::config::Config;

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
        let attributes = attributes(OPTIONS.cookie());
        let max_age = Some(Duration::from_secs(60));
        let line = set_cookie("__Host-s", &attributes, max_age, "v").unwrap();
        assert_eq!(line.len(), line_len("__Host-s", 1, &attributes, max_age));
        let holds = |line: &HeaderValue, parts: &str| {
            let line = line.to_str().unwrap();
            for part in parts.split(' ') {
                assert!(line.contains(part), "{part} missing from {line}");
            }
        };
        holds(
            &line,
            "__Host-s=v HttpOnly SameSite=Strict Partitioned Secure Path=/ Max-Age=60",
        );
        let session_only = set_cookie("__Host-s", &attributes, None, "v").unwrap();
        assert_eq!(session_only.len(), line_len("__Host-s", 1, &attributes, None));
        assert!(!session_only.to_str().unwrap().contains("Max-Age"));
        let removal = removal(OPTIONS.cookie()).unwrap();
        holds(
            &removal,
            "__Host-s=; Secure Path=/ SameSite=Strict Partitioned Max-Age=0",
        );
    }

    #[test]
    fn the_size_check_counts_exactly_what_the_line_holds() {
        let attributes = attributes(OPTIONS.cookie());
        for max_age in [
            None,
            Some(Duration::ZERO),
            Some(Duration::from_secs(9)),
            Some(Duration::from_secs(1_209_600)),
        ] {
            let line = set_cookie("__Host-s", &attributes, max_age, "value").unwrap();
            let room = MAX_COOKIE_LEN - line.len();
            let value = "v".repeat(5 + room);
            assert!(
                set_cookie("__Host-s", &attributes, max_age, &value).is_ok(),
                "{max_age:?}"
            );
            let value = "v".repeat(6 + room);
            assert!(
                set_cookie("__Host-s", &attributes, max_age, &value).is_err(),
                "{max_age:?}"
            );
        }
    }

    #[test]
    fn a_line_over_4096_bytes_is_an_error_naming_its_size() {
        let value = "x".repeat(4096);
        match set_cookie("__Host-s", &attributes(OPTIONS.cookie()), None, &value) {
            Err(SaveError::TooLarge { cookie, size, limit }) => {
                assert_eq!((cookie, limit), ("__Host-s", 4096));
                assert!(size > 4096);
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }
}

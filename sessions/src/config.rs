//! What a session type declares about its cookie: name and attributes, lifetime, protection.
//!
//! `#[derive(Session)]` builds a [`Config`] from `#[session(...)]` and checks it at compile time; a
//! hand-written [`crate::Session`] impl builds one with the same `const` builder:
//!
//! ```
//! use sessions::config::{Config, SameSite};
//! use std::time::Duration;
//!
//! const CONFIG: Config = Config::new("Cart", "cart")
//!     .max_age(Duration::from_secs(14 * 24 * 3600))
//!     .idle_timeout(Duration::from_secs(2 * 3600))
//!     .same_site(SameSite::Strict);
//! assert_eq!(CONFIG.cookie().name(), "cart");
//! assert!(CONFIG.cookie().secure());
//! ```

use std::time::Duration;

/// The `SameSite` attribute of the cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Sent on same-site requests only.
    Strict,
    /// Sent on same-site requests and top-level navigations. The default.
    Lax,
    /// Sent everywhere; browsers require `Secure` with it.
    None,
}

/// How the cookie's contents are protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// Encrypted and authenticated with AES-256-GCM: the client can neither read nor change it. The
    /// default.
    Sealed,
    /// Authenticated with HMAC-SHA256 but readable by the client (base64url of the payload).
    Signed,
}

/// The cookie's name and attributes.
#[derive(Debug, Clone, Copy)]
pub struct CookieOptions {
    name: &'static str,
    path: &'static str,
    domain: Option<&'static str>,
    secure: bool,
    http_only: bool,
    same_site: SameSite,
    partitioned: bool,
}

impl CookieOptions {
    /// The cookie's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }
    /// The `Path` attribute (`/` by default).
    pub const fn path(&self) -> &'static str {
        self.path
    }
    /// The `Domain` attribute, if any (none by default: the cookie goes to the exact host).
    pub const fn domain(&self) -> Option<&'static str> {
        self.domain
    }
    /// Whether the cookie has `Secure` (on by default).
    pub const fn secure(&self) -> bool {
        self.secure
    }
    /// Whether the cookie has `HttpOnly` (on by default).
    pub const fn http_only(&self) -> bool {
        self.http_only
    }
    /// The `SameSite` attribute (`Lax` by default).
    pub const fn same_site(&self) -> SameSite {
        self.same_site
    }
    /// Whether the cookie has `Partitioned` (off by default).
    pub const fn partitioned(&self) -> bool {
        self.partitioned
    }
}

/// How long a session lives, enforced by the server from times sealed inside the cookie.
#[derive(Debug, Clone, Copy)]
pub struct Lifetime {
    max_age: Duration,
    idle_timeout: Option<Duration>,
    session_only: bool,
}

impl Lifetime {
    /// The longest a session lives after it was created, however active (14 days by default).
    pub const fn max_age(&self) -> Duration {
        self.max_age
    }
    /// How long a session lives without a request, if that is limited (it is not by default).
    pub const fn idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }
    /// Whether new sessions get a browser-session cookie (no `Max-Age`) until the app makes them
    /// persistent with [`crate::Loaded::set_persistent`].
    pub const fn session_only(&self) -> bool {
        self.session_only
    }
}

/// Everything a session type declares: its identity, cookie, lifetime and protection.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    type_name: &'static str,
    cookie: CookieOptions,
    lifetime: Lifetime,
    protection: Protection,
}

impl Config {
    /// The default `max_age`: 14 days.
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(14 * 24 * 60 * 60);

    /// The longest lifetime a session can have: 400 days, the most a browser keeps a cookie (RFC
    /// 6265bis). Longer durations given to [`Config::max_age`] and [`Config::idle_timeout`] are cut to
    /// it, as a browser would cut the cookie.
    pub const MAX_LIFETIME: Duration = Duration::from_secs(400 * 24 * 60 * 60);

    /// The secure defaults for the session type `type_name` under the cookie `cookie_name`: `Path=/`,
    /// `Secure`, `HttpOnly`, `SameSite=Lax`, a 14-day `max_age`, sealed.
    ///
    /// `type_name` is bound into every cookie, so one type's cookie never opens as another's.
    pub const fn new(type_name: &'static str, cookie_name: &'static str) -> Self {
        Self {
            type_name,
            cookie: CookieOptions {
                name: cookie_name,
                path: "/",
                domain: None,
                secure: true,
                http_only: true,
                same_site: SameSite::Lax,
                partitioned: false,
            },
            lifetime: Lifetime {
                max_age: Self::DEFAULT_MAX_AGE,
                idle_timeout: None,
                session_only: false,
            },
            protection: Protection::Sealed,
        }
    }

    /// Sets the `Path` attribute.
    pub const fn path(mut self, path: &'static str) -> Self {
        self.cookie.path = path;
        self
    }
    /// Sets the `Domain` attribute.
    pub const fn domain(mut self, domain: &'static str) -> Self {
        self.cookie.domain = Some(domain);
        self
    }
    /// Sets or clears `Secure`.
    pub const fn secure(mut self, secure: bool) -> Self {
        self.cookie.secure = secure;
        self
    }
    /// Sets or clears `HttpOnly`.
    pub const fn http_only(mut self, http_only: bool) -> Self {
        self.cookie.http_only = http_only;
        self
    }
    /// Sets `SameSite`.
    pub const fn same_site(mut self, same_site: SameSite) -> Self {
        self.cookie.same_site = same_site;
        self
    }
    /// Sets or clears `Partitioned`.
    pub const fn partitioned(mut self, partitioned: bool) -> Self {
        self.cookie.partitioned = partitioned;
        self
    }
    /// Sets the absolute lifetime, at most [`Config::MAX_LIFETIME`].
    pub const fn max_age(mut self, max_age: Duration) -> Self {
        self.lifetime.max_age = clamp_lifetime(max_age);
        self
    }
    /// Sets the sliding idle timeout, at most [`Config::MAX_LIFETIME`].
    pub const fn idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.lifetime.idle_timeout = Some(clamp_lifetime(idle_timeout));
        self
    }
    /// Makes new sessions browser-session cookies.
    pub const fn session_only(mut self, session_only: bool) -> Self {
        self.lifetime.session_only = session_only;
        self
    }
    /// Signs the cookie instead of sealing it: readable by the client, still tamper-proof.
    pub const fn signed(mut self) -> Self {
        self.protection = Protection::Signed;
        self
    }

    /// The session type's identity, bound into every cookie.
    pub const fn type_name(&self) -> &'static str {
        self.type_name
    }
    /// The cookie's name and attributes.
    pub const fn cookie(&self) -> &CookieOptions {
        &self.cookie
    }
    /// The session's lifetime.
    pub const fn lifetime(&self) -> &Lifetime {
        &self.lifetime
    }
    /// Sealed or signed.
    pub const fn protection(&self) -> Protection {
        self.protection
    }
}

/// `lifetime`, or [`Config::MAX_LIFETIME`] if it is longer.
pub(crate) const fn clamp_lifetime(lifetime: Duration) -> Duration {
    if lifetime.as_secs() > Config::MAX_LIFETIME.as_secs() {
        Config::MAX_LIFETIME
    } else {
        lifetime
    }
}

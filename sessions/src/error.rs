//! The errors of each layer.
//!
//! Three kinds of failure are kept apart: the client sent a bad cookie (not an error at all: the store
//! answers with a fresh session and says why through [`Rejection`]), the server is misconfigured
//! ([`KeyError`]), and saving failed ([`SaveError`]).

use std::fmt;

/// A secret key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The secret is shorter than the minimum.
    #[error(
        "a session key needs at least {min} bytes of secret, this one has {len} bytes; generate one with `openssl rand -base64 64`"
    )]
    TooShort {
        /// The length given.
        len: usize,
        /// The minimum length.
        min: usize,
    },
    /// The text given is not base64.
    #[error("a session key must be base64 text (standard or URL-safe alphabet)")]
    NotBase64,
    /// The secret is long enough but plainly not random.
    #[error("this session key is not random: {reason}; generate one with `openssl rand -base64 64`")]
    Weak {
        /// What gives it away.
        reason: &'static str,
    },
    /// The environment variable that should hold the key is not set.
    #[error(
        "the environment variable `{name}` is not set; set it to a session key, the output of `openssl rand -base64 64`"
    )]
    MissingVar {
        /// The variable's name.
        name: String,
    },
    /// The environment variable is set, but not to a usable key.
    #[error("the environment variable `{name}` does not hold a usable session key: {problem}")]
    BadVar {
        /// The variable's name.
        name: String,
        /// What is wrong with its value (never the value itself).
        problem: Box<KeyError>,
    },
}

/// Why an incoming session cookie was refused. The request goes on with a fresh session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rejection {
    /// Not base64url, or too short to hold an envelope.
    Malformed,
    /// Longer than a browser may send (4096 bytes); refused before decoding anything.
    Oversized,
    /// Written in a format version this build does not read (by a newer release, during a rolling
    /// upgrade). Left alone: no removal cookie, and a server-side record is kept.
    UnsupportedVersion,
    /// Sealed with a key this store does not have: rotated out, another app's, or (during a rolling
    /// key change) a key another instance already has. Left alone: no removal cookie, and a
    /// server-side record is kept.
    UnknownKey,
    /// The seal or signature does not verify: changed, truncated, or meant for another cookie or type.
    Tampered,
    /// Past the session's `max_age` or `idle_timeout`, whatever the browser thought.
    Expired,
    /// Issued later than now (by more than a minute of clock skew).
    IssuedInFuture,
    /// A server-side store has no session under the cookie's id (expired, destroyed, or never there).
    NotFound,
    /// A server-side store's record for the cookie's id does not open: corrupt or tampered with. The
    /// record is removed.
    Unreadable,
    /// More distinct values of the session cookie than a browser sends (4 are tried per request); the
    /// rest were not tried, and each counts once.
    TooManyValues,
    /// A server-side session moved to a new id a moment ago (`cycle_id`, as at sign-in) and this request
    /// still carries the old one: a request racing the move. It gets a fresh session and no access to
    /// the moved one (the old id may be an attacker's planted id); its cookie is not cleared, and what
    /// it writes is not stored, so the browser keeps the new id's cookie.
    Moved,
    /// The session's owner revoked it ("sign out everywhere", a password change): a cookie
    /// session created before its owner's sessions were revoked, checked against the cookie store's
    /// revocation backend.
    Revoked,
}

impl Rejection {
    /// Every reason, in the order [`crate::store::RejectionCounts`] reports them.
    pub const ALL: [Rejection; 12] = [
        Rejection::Malformed,
        Rejection::Oversized,
        Rejection::UnsupportedVersion,
        Rejection::UnknownKey,
        Rejection::Tampered,
        Rejection::Expired,
        Rejection::IssuedInFuture,
        Rejection::NotFound,
        Rejection::Unreadable,
        Rejection::TooManyValues,
        Rejection::Moved,
        Rejection::Revoked,
    ];

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Whether a refused cookie and what the store holds for it are left alone: not cleared, not
    /// deleted. So for one that may be another instance's (sealed with a key or in a format this one
    /// lacks; an instance that has the key reads it), and for a request racing a `cycle_id` (the
    /// browser already has, or is about to get, the new id's cookie).
    pub(crate) fn is_left_alone(self) -> bool {
        matches!(
            self,
            Rejection::UnknownKey
                | Rejection::UnsupportedVersion
                | Rejection::Moved
                | Rejection::TooManyValues
        )
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rejection::Malformed => "malformed session cookie",
            Rejection::Oversized => "session cookie longer than 4096 bytes",
            Rejection::UnsupportedVersion => "session cookie in an unsupported format version",
            Rejection::UnknownKey => "session cookie sealed with an unknown key",
            Rejection::Tampered => "session cookie failed verification",
            Rejection::Expired => "session expired",
            Rejection::IssuedInFuture => "session cookie issued in the future",
            Rejection::NotFound => "no stored session for the cookie's id",
            Rejection::Unreadable => "the stored session does not open (corrupt, or its key is gone)",
            Rejection::TooManyValues => "more values of the session cookie than are tried",
            Rejection::Moved => "the session moved to a new id a moment ago",
            Rejection::Revoked => "the session was revoked by its owner",
        })
    }
}

/// A session could not be saved. The response should not claim success.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SaveError {
    /// The whole `Set-Cookie` line would pass the 4096 bytes browsers keep.
    #[error(
        "the `{cookie}` cookie would be {size} bytes, over the {limit}-byte limit browsers keep; store less in the session or use a server-side store"
    )]
    TooLarge {
        /// The cookie's name.
        cookie: &'static str,
        /// The size of the whole `Set-Cookie` line.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The cookie's name or attributes hold characters a header cannot carry. `#[derive(Session)]` refuses
    /// such options at compile time; a hand-written `Config` can still have them.
    #[error(
        "the `{cookie}` cookie's name or attributes hold characters an HTTP header cannot carry; check its `Config`"
    )]
    InvalidCookieOptions {
        /// The cookie's name.
        cookie: &'static str,
    },
    /// One field's encoded value is longer than a record holds.
    #[error(
        "field `{field}` of the `{cookie}` session encodes to {size} bytes, over the {limit}-byte limit of one field"
    )]
    FieldTooLarge {
        /// The cookie's name.
        cookie: &'static str,
        /// The field's name.
        field: &'static str,
        /// The encoded size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A field's value could not be serialized.
    #[error("could not serialize field `{field}` of the `{cookie}` session")]
    Encode {
        /// The cookie's name.
        cookie: &'static str,
        /// The field's name.
        field: &'static str,
        /// What the serializer said.
        #[source]
        source: FieldError,
    },
    /// The server-side store failed.
    #[error(
        "the session store failed to save the `{cookie}` session; nothing of this request's changes to it was kept: bring the store back (the cause follows), and send the request again"
    )]
    Store {
        /// The cookie's name.
        cookie: &'static str,
        /// What the store said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A server-side store could not read a session. The request should fail rather than treat the user as
/// signed out, which is what answering with a fresh session would do.
#[derive(Debug, thiserror::Error)]
#[error(
    "the session store failed to load the `{cookie}` session; the request stops rather than sign the user out: bring the store back (the cause follows), and the same request succeeds"
)]
pub struct LoadError {
    /// The cookie's name.
    pub cookie: &'static str,
    /// What the store said.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl LoadError {
    /// The status a response carries when this load failed: 503 Service Unavailable. The store is
    /// down, not the client's cookie wrong, and the same request may succeed a little later.
    pub fn status(&self) -> http::StatusCode {
        http::StatusCode::SERVICE_UNAVAILABLE
    }
}

impl SaveError {
    /// The status a response carries when this save failed: 503 Service Unavailable when the store
    /// failed (an outage: retry later); 500 Internal Server Error for anything else (a session too
    /// large for its cookie, a value that does not encode: a bug in the app).
    pub fn status(&self) -> http::StatusCode {
        match self {
            SaveError::Store { .. } => http::StatusCode::SERVICE_UNAVAILABLE,
            _ => http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// One field's value could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct FieldError(#[from] Box<dyn std::error::Error + Send + Sync>);

/// The body of a response for a server fault with `status`: in debug builds, what went wrong and
/// how to fix it, with its causes; in release builds only the status's reason, since details are
/// for the logs, not clients.
pub(crate) fn fault_body(error: &(dyn std::error::Error + 'static), status: http::StatusCode) -> String {
    if cfg!(debug_assertions) {
        ErrorChain(error).to_string()
    } else {
        status.canonical_reason().unwrap_or_default().to_owned()
    }
}

/// An error with its causes, on one line, for a log or a message: `could not connect to Redis at
/// 127.0.0.1:6379: Connection refused (os error 111)`. A cause whose words the line already holds
/// (many errors repeat their source's message in their own) is not written again.
///
/// ```
/// use sessions::ErrorChain;
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("could not read the session file `/var/lib/app/s1`")]
/// struct ReadFailed(#[source] std::io::Error);
///
/// let error = ReadFailed(std::io::Error::other("permission denied"));
/// assert_eq!(
///     ErrorChain(&error).to_string(),
///     "could not read the session file `/var/lib/app/s1`: permission denied"
/// );
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = self.0.to_string();
        let mut cause = self.0.source();
        while let Some(error) = cause {
            let words = error.to_string();
            if !line.contains(&words) {
                line.push_str(": ");
                line.push_str(&words);
            }
            cause = error.source();
        }
        f.write_str(&line)
    }
}

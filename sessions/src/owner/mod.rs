//! Who a session belongs to, and what the app sees of an owner's sessions: the [`OwnerKey`] of an
//! `#[owner]` field, the [`Owner`] it names (what the app lists and revokes sessions by), the
//! [`OwnerDigest`] a store's index holds instead, the [`Handle`] that names one session in a
//! listing, and a [`Listed`] session.
//!
//! ```
//! use sessions::owner::Owner;
//! use sessions::store::MemoryStore;
//! use sessions::{Key, Session, Store};
//!
//! #[derive(Session, Default)]
//! struct Account {
//!     /// Who is signed in: server-side stores index the session by it.
//!     #[owner]
//!     user_id: Option<u64>,
//!     /// Shown in the list of a user's sessions, which reads it without opening the session.
//!     #[listed]
//!     device: Option<String>,
//! }
//!
//! assert_eq!(Owner::of::<Account>(&7u64), Owner::of::<Account>(&7u64));
//! assert_ne!(Owner::of::<Account>(&7u64), Owner::of::<Account>(&8u64));
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = MemoryStore::new(Key::generate());
//! // An admin ends every session of user 7 (the type says which sessions):
//! store.revoke_all::<Account>(&Owner::of::<Account>(&7u64), None).await?;
//! // A signed-in user lists their own, this one marked current:
//! let session = store.load::<Account>(&http::HeaderMap::new()).await?;
//! if let Some(owner) = session.owner() {
//!     for listed in store.sessions_of(&owner, Some(&session)).await? {
//!         println!("{:?} last seen {:?}", listed.fields.device, listed.last_seen);
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::fmt;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::key::Keys;
use crate::session::Session;

mod digest;
pub(crate) mod key;

pub use digest::OwnerDigest;
pub use key::OwnerKey;

/// The owner of a session: a 128-bit digest (SHA-256) of the session type's cookie name and the
/// owner's key, so that two session types never share an owner, and the key itself (an email
/// address) is held nowhere. A store never writes it as it is: its index holds the owner's
/// [`OwnerDigest`], keyed with a sub-key of the store's key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Owner([u8; 16]);

impl Owner {
    /// The owner of sessions of type `S` whose `#[owner]` field holds `key`.
    pub fn of<S: Session>(key: &(impl OwnerKey + ?Sized)) -> Self {
        let mut bytes = Vec::with_capacity(64);
        key.write_key(&mut bytes);
        let digest = Sha256::new()
            .chain_update(b"sessions owner\0")
            .chain_update(S::CONFIG.cookie().name().as_bytes())
            .chain_update([0])
            .chain_update(&bytes)
            .finalize();
        let mut owner = [0; 16];
        owner.copy_from_slice(&digest[..16]);
        Self(owner)
    }

    /// The owner `session` names in its `#[owner]` field, if it has one and it holds a value.
    pub(crate) fn of_session<S: Session>(session: &S) -> Option<Self> {
        session.owner().map(Self::of::<S>)
    }

    /// The digest's 16 bytes.
    pub(crate) fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Debug for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Owner({})", self.unkeyed().to_text())
    }
}

/// Names one session in a listing ([`Listed::handle`]), so that a page can offer "sign out this
/// one". It is a keyed digest of the session's serial, a random value the session keeps through
/// `cycle_id` (of its id, for a session stored before serials, until its next save): it reveals
/// nothing of the id, and sent as a cookie it is refused like any forged value. It stays the same
/// for the life of the session while the store keeps its primary key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Handle(String);

impl Handle {
    /// The handle of the session known by `serial` (its serial, or its id) under the primary key
    /// of `keys`.
    pub(crate) fn of(serial: &[u8; 16], keys: &Keys) -> Self {
        let mut mac = keys.primary().handle_signer.clone();
        mac.update(serial);
        let digest = mac.finalize().into_bytes();
        Self(URL_SAFE_NO_PAD.encode(&digest[..16]))
    }

    /// Whether this handle is `other`, compared in constant time.
    pub(crate) fn is(&self, other: &Handle) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }

    /// The handle as text, for a form field or a URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A handle from its text, as a form sent it back; `None` unless it has a handle's form.
    pub fn parse(text: &str) -> Option<Self> {
        let well_formed = text.len() == 22
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        well_formed.then(|| Self(text.to_owned()))
    }
}

impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Handle({})", self.0)
    }
}

/// One session of an owner, as [`Store::sessions_of`](crate::Store::sessions_of) lists it.
#[derive(Debug)]
#[non_exhaustive]
pub struct Listed<S> {
    /// What names this session to [`Store::revoke`](crate::Store::revoke).
    pub handle: Handle,
    /// Whether this is the session the listing was asked from.
    pub current: bool,
    /// When the session began.
    pub created_at: SystemTime,
    /// When it was last stored: on a change, or when an idle refresh was due (a tenth of the
    /// `idle_timeout` after the last one), so it lags the last request by up to that much.
    pub last_seen: SystemTime,
    /// When it ends unless a request comes first.
    pub expires_at: SystemTime,
    /// Whether its cookie outlives the browser (`Loaded::set_persistent`, "remember me"). A
    /// session-only cookie goes when its browser closes, which no server sees: its session stays
    /// listed until it idles out (`expires_at`), so a page should say "until the browser closes".
    pub persistent: bool,
    /// The session's `#[listed]` fields, as last stored; every other field holds its default.
    pub fields: S,
}

/// An owner's sessions as [`Store::sessions_of`](crate::Store::sessions_of) lists them, most
/// recently seen first: at most [`Listing::MAX`] of them (the session of the request asking always
/// among them), and how many there are. Derefs to a slice of [`Listed`].
///
/// A page of a user's devices stays small even when a script signed in ten thousand times;
/// "Sign out everywhere else" ends every one of them, listed or not.
#[derive(Debug)]
pub struct Listing<S> {
    sessions: Vec<Listed<S>>,
    total: usize,
}

impl<S> Listing<S> {
    /// The most sessions a listing holds.
    pub const MAX: usize = 100;

    /// The listing of `sessions` (all of an owner's), sorted and cut to [`Listing::MAX`], keeping
    /// the current one.
    pub(crate) fn of(mut sessions: Vec<Listed<S>>) -> Self {
        let total = sessions.len();
        sessions.sort_by_key(|listed| std::cmp::Reverse(listed.last_seen));
        if total > Self::MAX {
            let current = sessions.iter().position(|listed| listed.current);
            if let Some(at) = current.filter(|&at| at >= Self::MAX) {
                sessions.swap(Self::MAX - 1, at);
            }
            sessions.truncate(Self::MAX);
        }
        Self { sessions, total }
    }

    /// How many live sessions the owner has, listed or not.
    pub fn total(&self) -> usize {
        self.total
    }

    /// The listed sessions.
    pub fn into_vec(self) -> Vec<Listed<S>> {
        self.sessions
    }
}

impl<S> std::ops::Deref for Listing<S> {
    type Target = [Listed<S>];

    fn deref(&self) -> &[Listed<S>] {
        &self.sessions
    }
}

impl<S> IntoIterator for Listing<S> {
    type Item = Listed<S>;
    type IntoIter = std::vec::IntoIter<Listed<S>>;

    fn into_iter(self) -> Self::IntoIter {
        self.sessions.into_iter()
    }
}

impl<'a, S> IntoIterator for &'a Listing<S> {
    type Item = &'a Listed<S>;
    type IntoIter = std::slice::Iter<'a, Listed<S>>;

    fn into_iter(self) -> Self::IntoIter {
        self.sessions.iter()
    }
}

/// Listing or revoking sessions failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OwnersError {
    /// This store cannot do it: it keeps no index of owners (a backend that does not implement
    /// one), or it is a cookie store asked to list sessions, or one without a revocation backend
    /// asked to revoke them.
    #[error("the `{cookie}` sessions' store cannot {what}")]
    Unsupported {
        /// The cookie's name.
        cookie: &'static str,
        /// What it cannot do.
        what: &'static str,
    },
    /// The store failed.
    #[error("the session store failed to {what} `{cookie}` sessions")]
    Store {
        /// The cookie's name.
        cookie: &'static str,
        /// What was being done.
        what: &'static str,
        /// What the store said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl OwnersError {
    /// The status a response carries when this failed: 503 Service Unavailable when the store failed,
    /// 500 Internal Server Error when the store cannot do it (a configuration mistake).
    pub fn status(&self) -> http::StatusCode {
        match self {
            OwnersError::Store { .. } => http::StatusCode::SERVICE_UNAVAILABLE,
            OwnersError::Unsupported { .. } => http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body of the response this error becomes: in debug builds, what went wrong; in release
    /// builds only the status's reason, since details are for the logs, not clients.
    pub fn body_text(&self) -> String {
        crate::error::fault_body(self, self.status())
    }

    pub(crate) fn store<S: Session>(
        what: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        OwnersError::Store {
            cookie: S::CONFIG.cookie().name(),
            what,
            source: source.into(),
        }
    }

    pub(crate) fn unsupported<S: Session>(what: &'static str) -> Self {
        OwnersError::Unsupported {
            cookie: S::CONFIG.cookie().name(),
            what,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Key;
    use crate::codec::id::SessionId;

    #[test]
    fn handles_name_one_session_and_parse_only_their_own_form() {
        let keys = Keys::new(Key::generate());
        let (a, b) = (SessionId::random(), SessionId::random());
        let handle = Handle::of(a.as_bytes(), &keys);
        assert!(handle.is(&Handle::of(a.as_bytes(), &keys)));
        assert!(!handle.is(&Handle::of(b.as_bytes(), &keys)));
        assert!(!handle.is(&Handle::of(a.as_bytes(), &Keys::new(Key::generate()))));
        assert_ne!(handle.as_str(), a.to_text());
        assert_eq!(Handle::parse(handle.as_str()), Some(handle.clone()));
        for bad in ["", "short", "../../../../etc/passwd", &"A".repeat(23)] {
            assert_eq!(Handle::parse(bad), None, "{bad:?}");
        }
    }
}

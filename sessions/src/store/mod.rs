//! Where sessions live between requests.
//!
//! [`Store`] is what an app (or a framework integration) calls: load a typed session from request
//! headers, save it into response headers. Two families implement it:
//! - [`CookieStore`]: the whole session, sealed, in the cookie. Nothing on the server.
//! - [`ServerStore`]: only a signed random id in the cookie; the session lives in a [`Backend`](backend::Backend) such
//!   as [`MemoryBackend`](backend::MemoryBackend) (tests, development). Concurrent requests that change different fields of one
//!   session both keep their change: backends merge per field.

pub(crate) mod backends;
pub(crate) mod cookie;
pub(crate) mod server;

pub use self::server::backend;

pub use crate::stats::RejectionCounts;
#[cfg(all(feature = "fs", unix))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "fs", unix))))]
pub use backends::fs::{FileStore, FileStoreError};
pub use backends::memory::MemoryStore;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use backends::redis::{RedisOptions, RedisStore, RedisStoreError};
#[allow(unused_imports)] // nothing without an SQL database's feature
pub use backends::sql::for_apps::*;
pub use cookie::{CookieStore, CookieUpdate};
pub use server::ServerStore;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use server::sweeper::{NoRuntime, Sweeper};

use std::future::Future;
use std::sync::Arc;

use http::HeaderMap;

use crate::clock::{Clock, SystemClock, unix_seconds};
use crate::error::{LoadError, Rejection, SaveError};
use crate::key::Keys;
use crate::loaded::{Loaded, Origin};
use crate::owner::{Handle, Listing, Owner, OwnersError};
use crate::session::Session;

/// Loads typed sessions from requests and saves them into responses.
///
/// Loading never fails because of what the client sent: a missing, tampered, expired or foreign cookie
/// gives a fresh session, with the reason in [`Loaded::rejection`] and counted in
/// [`Store::rejections`]. It fails only when a server-side store cannot be reached, since answering
/// with a fresh session then would sign every user out.
///
/// Saving appends a `Set-Cookie` line only when the session changed, its cookie must be re-issued
/// (key rotation, "remember me" switched, idle refresh), it was destroyed, or a refused cookie should be
/// cleared.
pub trait Store: Send + Sync + 'static {
    /// Loads the session of type `S` from the request's `Cookie` headers.
    fn load<S: Session>(
        &self,
        request: &HeaderMap,
    ) -> impl Future<Output = Result<Loaded<S>, LoadError>> + Send;

    /// Saves `session`, appending to the response's headers whatever `Set-Cookie` line it needs.
    fn save<S: Session>(
        &self,
        session: &mut Loaded<S>,
        response: &mut HeaderMap,
    ) -> impl Future<Output = Result<(), SaveError>> + Send;

    /// The live sessions of `owner` (see [`crate::owner`]), most recently seen first, at most
    /// [`Listing::MAX`] of them with their total; the one of `current`, the session of the request
    /// asking, is marked [`Listed::current`](crate::owner::Listed::current). A server-side
    /// store reads them from its backend's owner index, without opening any session; the cookie
    /// store cannot list sessions (they live in browsers) and answers
    /// [`OwnersError::Unsupported`], as does a store whose backend keeps no owner index.
    fn sessions_of<S: Session>(
        &self,
        owner: &Owner,
        current: Option<&Loaded<S>>,
    ) -> impl Future<Output = Result<Listing<S>, OwnersError>> + Send {
        let _ = (owner, current);
        std::future::ready(Err(OwnersError::unsupported::<S>("list sessions")))
    }

    /// Ends the session of `owner` that `handle` names (from [`Store::sessions_of`]): its next
    /// request is signed out. `false` when `owner` has no such session (ended meanwhile, or not
    /// theirs: a handle works only within its owner's sessions).
    fn revoke<S: Session>(
        &self,
        owner: &Owner,
        handle: &Handle,
    ) -> impl Future<Output = Result<bool, OwnersError>> + Send {
        let _ = (owner, handle);
        std::future::ready(Err(OwnersError::unsupported::<S>("revoke a session")))
    }

    /// Ends every session of `owner` but `keep` ("sign out everywhere else"; with `None`, "sign out
    /// everywhere", as after a password reset). A request in flight in a revoked session does not
    /// bring it back.
    ///
    /// On the cookie store this needs a revocation backend
    /// ([`CookieStore::with_revocations`]); without one, cookie sessions cannot be revoked and this
    /// answers [`OwnersError::Unsupported`].
    fn revoke_all<S: Session>(
        &self,
        owner: &Owner,
        keep: Option<&mut Loaded<S>>,
    ) -> impl Future<Output = Result<(), OwnersError>> + Send {
        let _ = (owner, keep);
        std::future::ready(Err(OwnersError::unsupported::<S>("revoke sessions")))
    }

    /// How many incoming cookies this store refused, and why.
    fn rejections(&self) -> &RejectionCounts;
}

/// What every store holds: keys, a clock, and its counts of refused cookies.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    pub(crate) keys: Arc<Keys>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) rejections: Arc<RejectionCounts>,
}

impl Context {
    pub(crate) fn new(keys: Keys) -> Self {
        Self {
            keys: Arc::new(keys),
            clock: Arc::new(SystemClock),
            rejections: Arc::default(),
        }
    }

    pub(crate) fn now(&self) -> u64 {
        unix_seconds(&*self.clock)
    }

    /// The values of a session cookie to try (see [`crate::headers::Candidates`]); those left untried
    /// are counted.
    pub(crate) fn candidates<'v>(
        &self,
        values: impl IntoIterator<Item = &'v str>,
    ) -> crate::headers::Candidates<'v> {
        let candidates = crate::headers::Candidates::new(values);
        self.rejections
            .record_many(Rejection::TooManyValues, candidates.untried);
        candidates
    }

    /// A fresh session for a request none of whose values of the cookie opened: [`Context::fresh`],
    /// but when some were left untried (`complete` false), one of them may be good, so the session
    /// is refused as [`Rejection::TooManyValues`], which leaves the cookie alone.
    pub(crate) fn none_opened<S: Session>(
        &self,
        refused: Option<Rejection>,
        complete: bool,
        now: u64,
    ) -> Loaded<S> {
        let mut session: Loaded<S> = self.fresh(refused, now);
        if !complete && session.rejection().is_some() {
            session = Loaded::new(Origin::Rejected(Rejection::TooManyValues), now);
        }
        session
    }

    /// A fresh session for a request that carried no usable cookie; a refusal is counted and logged.
    pub(crate) fn fresh<S: Session>(&self, refused: Option<Rejection>, now: u64) -> Loaded<S> {
        match refused {
            None => Loaded::new(Origin::New, now),
            Some(reason) => {
                self.rejections.record(reason);
                tracing::debug!(cookie = S::CONFIG.cookie().name(), %reason, "refused session cookie; starting a fresh session");
                Loaded::new(Origin::Rejected(reason), now)
            }
        }
    }
}

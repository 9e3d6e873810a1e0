//! Where sessions live between requests.
//!
//! [`Store`] is what an app (or a framework integration) calls: load a typed session from request
//! headers, save it into response headers. Two families implement it:
//! - [`CookieStore`]: the whole session, sealed, in the cookie. Nothing on the server.
//! - [`ServerStore`]: only a signed random id in the cookie; the session lives in a [`Backend`] such
//!   as [`MemoryBackend`] (tests, development). Concurrent requests that change different fields of one
//!   session both keep their change: backends merge per field.

pub(crate) mod cookie;
#[cfg(all(feature = "fs", unix))]
pub(crate) mod fs;
pub(crate) mod memory;
pub(crate) mod merge;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
pub(crate) mod record;
#[cfg(feature = "redis")]
pub(crate) mod redis;
pub(crate) mod server;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) mod sql;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

pub use crate::codec::id::SessionId;
pub use crate::stats::RejectionCounts;
pub use cookie::{CookieStore, CookieUpdate};
#[cfg(all(feature = "fs", unix))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "fs", unix))))]
pub use fs::{FileBackend, FileStore, FileStoreError, Sweeper, Swept};
pub use memory::{MemoryBackend, MemoryStore};
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::{PostgresBackend, PostgresStore};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::{RedisBackend, RedisOptions, RedisStore, RedisStoreError};
pub use server::{Backend, Entries, Saved, ServerStore, SessionWrite, Stored};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "sqlite", feature = "postgres"))))]
pub use sql::{SqlStoreError, SqlSweeper};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::{SqliteBackend, SqliteStore};

use std::future::Future;
use std::sync::Arc;

use http::HeaderMap;

use crate::clock::{Clock, SystemClock, unix_seconds};
use crate::error::{LoadError, Rejection, SaveError};
use crate::key::Keys;
use crate::loaded::{Loaded, Origin};
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

    /// The values of a session cookie to try (see [`crate::http::Candidates`]); those left untried
    /// are counted.
    pub(crate) fn candidates<'v>(
        &self,
        values: impl IntoIterator<Item = &'v str>,
    ) -> crate::http::Candidates<'v> {
        let candidates = crate::http::Candidates::new(values);
        self.rejections
            .record_many(Rejection::TooManyValues, candidates.untried);
        candidates
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

//! Revoking cookie sessions: a little server state, per owner the time before which their sessions
//! no longer count ("not valid before"), checked by the cookie store on load.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use crate::owner::Owner;

/// Where a [`CookieStore`](crate::CookieStore) keeps revocations: per owner, a time before which
/// their sessions were revoked. The store asks it once per load of a session that has an owner
/// (one lookup; anonymous sessions cost nothing), and refuses a session created before its owner's
/// time as [`Rejection::Revoked`](crate::Rejection::Revoked).
///
/// [`MemoryRevocations`] keeps them in this process; the file, Redis and SQL backends keep them
/// beside their sessions, for every instance of an app to see.
pub trait Revocations: Send + Sync + 'static {
    /// What goes wrong in this backend (I/O, connection).
    type Error: std::error::Error + Send + Sync + 'static;

    /// The time before which `owner`'s sessions are revoked, if they are.
    fn revoked_before(
        &self,
        owner: &Owner,
    ) -> impl Future<Output = Result<Option<SystemTime>, Self::Error>> + Send;

    /// Revokes every session of `owner` created before `at`, keeping the later time if one is
    /// already stored. The entry may be dropped after `keep_for` (when every session it could
    /// refuse has expired anyway).
    fn revoke_before(
        &self,
        owner: &Owner,
        at: SystemTime,
        keep_for: Duration,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Revocations in this process's memory: for tests, and for an app that runs as one process.
#[derive(Debug, Default)]
pub struct MemoryRevocations {
    by_owner: Mutex<HashMap<Owner, Revoked>>,
}

#[derive(Debug, Clone, Copy)]
struct Revoked {
    before: SystemTime,
    until: SystemTime,
}

impl MemoryRevocations {
    /// No revocations yet.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Revocations for MemoryRevocations {
    type Error = Infallible;

    async fn revoked_before(&self, owner: &Owner) -> Result<Option<SystemTime>, Infallible> {
        let by_owner = self.by_owner.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(by_owner.get(owner).map(|revoked| revoked.before))
    }

    async fn revoke_before(
        &self,
        owner: &Owner,
        at: SystemTime,
        keep_for: Duration,
    ) -> Result<(), Infallible> {
        let mut by_owner = self.by_owner.lock().unwrap_or_else(PoisonError::into_inner);
        // Entries past their use go on each write, so memory stays bounded by the live ones.
        by_owner.retain(|_, revoked| revoked.until > at);
        let until = at + keep_for;
        let revoked = by_owner.entry(*owner).or_insert(Revoked { before: at, until });
        revoked.before = revoked.before.max(at);
        revoked.until = revoked.until.max(until);
        Ok(())
    }
}

/// Any [`Revocations`], behind one pointer type the cookie store can hold.
#[derive(Clone)]
pub(crate) struct AnyRevocations(Arc<dyn Erased>);

type Boxed<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, Box<dyn std::error::Error + Send + Sync>>> + Send + 'a>>;

trait Erased: Send + Sync {
    fn revoked_before<'a>(&'a self, owner: &'a Owner) -> Boxed<'a, Option<SystemTime>>;
    fn revoke_before<'a>(&'a self, owner: &'a Owner, at: SystemTime, keep_for: Duration) -> Boxed<'a, ()>;
}

impl<R: Revocations> Erased for R {
    fn revoked_before<'a>(&'a self, owner: &'a Owner) -> Boxed<'a, Option<SystemTime>> {
        Box::pin(async move { Revocations::revoked_before(self, owner).await.map_err(Into::into) })
    }

    fn revoke_before<'a>(&'a self, owner: &'a Owner, at: SystemTime, keep_for: Duration) -> Boxed<'a, ()> {
        Box::pin(async move {
            Revocations::revoke_before(self, owner, at, keep_for)
                .await
                .map_err(Into::into)
        })
    }
}

impl AnyRevocations {
    pub(crate) fn new(revocations: impl Revocations) -> Self {
        Self(Arc::new(revocations))
    }

    pub(crate) async fn revoked_before(
        &self,
        owner: &Owner,
    ) -> Result<Option<SystemTime>, Box<dyn std::error::Error + Send + Sync>> {
        self.0.revoked_before(owner).await
    }

    pub(crate) async fn revoke_before(
        &self,
        owner: &Owner,
        at: SystemTime,
        keep_for: Duration,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.0.revoke_before(owner, at, keep_for).await
    }
}

impl fmt::Debug for AnyRevocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Revocations(..)")
    }
}

/// One backend behind several stores.
impl<R: Revocations> Revocations for Arc<R> {
    type Error = R::Error;

    fn revoked_before(
        &self,
        owner: &Owner,
    ) -> impl Future<Output = Result<Option<SystemTime>, Self::Error>> + Send {
        R::revoked_before(self, owner)
    }

    fn revoke_before(
        &self,
        owner: &Owner,
        at: SystemTime,
        keep_for: Duration,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        R::revoke_before(self, owner, at, keep_for)
    }
}

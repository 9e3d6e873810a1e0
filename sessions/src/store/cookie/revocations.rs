//! Revoking cookie sessions: a little server state, per owner a *revocation mark* that grows with
//! each "sign out everywhere", checked by the cookie store on load.
//!
//! A cookie session with an owner carries the mark its owner had when it was signed in (read from
//! the backend by the save that set the owner). It is refused once the owner's mark has grown past
//! that: a revocation after the sign-in. Marks are ordered by the backend, not by clocks, so a
//! sign-in that completes after a revocation is never refused, however close the two (the same
//! second, the same microsecond), and a session signed in before it never survives.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use crate::owner::OwnerDigest;

/// Where a [`CookieStore`](crate::CookieStore) keeps revocations: per owner, a *mark* (a `u64`)
/// that each revocation raises. The store reads it once per load of a session that has an owner
/// (anonymous sessions cost nothing) and once per save that signs a session in, and refuses a
/// session signed in under a lower mark as [`Rejection::Revoked`](crate::Rejection::Revoked).
///
/// [`MemoryRevocations`] keeps them in this process; the file, Redis and SQL backends keep them
/// beside their sessions, for every instance of an app to see.
///
/// Owners come as the [`OwnerDigest`] the store keys with its own key, so the backend never holds
/// who was revoked in a form anyone can compute. A revocation raises the mark under each of the
/// store's keys' digests (a session signed in before a key rotation is judged under the old key's).
///
/// An implementation must make [`Revocations::revoke`] one atomic step: two revocations of one owner
/// racing each other both raise its mark.
pub trait Revocations: Send + Sync + 'static {
    /// What goes wrong in this backend (I/O, connection).
    type Error: std::error::Error + Send + Sync + 'static;

    /// `owner`'s revocation mark, if a revocation of theirs is kept.
    fn mark(&self, owner: &OwnerDigest) -> impl Future<Output = Result<Option<u64>, Self::Error>> + Send;

    /// Revokes every session of `owner` signed in so far: raises `owner`'s mark to `at` (the time,
    /// in microseconds since the Unix epoch) or, if that is not above the stored mark, to the stored
    /// mark plus one; returns the new mark. The entry may be dropped `keep_for` after `at` (when
    /// every session it could refuse has expired anyway), and is kept for the longest `keep_for`
    /// asked.
    ///
    /// Marks are times so that one dropped and made again still lies above every mark handed out
    /// while the old one was kept.
    fn revoke(
        &self,
        owner: &OwnerDigest,
        at: u64,
        keep_for: Duration,
    ) -> impl Future<Output = Result<u64, Self::Error>> + Send;
}

/// The mark a revocation at `at` (microseconds since the epoch) leaves over `stored`: see
/// [`Revocations::revoke`]. For backends written in Rust; the Redis and SQL ones say the same in
/// their own language.
pub fn next_mark(stored: Option<u64>, at: u64) -> u64 {
    stored.map_or(at, |stored| at.max(stored.saturating_add(1)))
}

/// Revocations in this process's memory: for tests, and for an app that runs as one process.
#[derive(Debug, Default)]
pub struct MemoryRevocations {
    by_owner: Mutex<HashMap<OwnerDigest, Revoked>>,
}

#[derive(Debug, Clone, Copy)]
struct Revoked {
    mark: u64,
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

    async fn mark(&self, owner: &OwnerDigest) -> Result<Option<u64>, Infallible> {
        let by_owner = self.by_owner.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(by_owner.get(owner).map(|revoked| revoked.mark))
    }

    async fn revoke(&self, owner: &OwnerDigest, at: u64, keep_for: Duration) -> Result<u64, Infallible> {
        let mut by_owner = self.by_owner.lock().unwrap_or_else(PoisonError::into_inner);
        let now = crate::clock::from_micros(at);
        // Entries past their use go on each write, so memory stays bounded by the live ones.
        by_owner.retain(|_, revoked| revoked.until > now);
        let until = now + keep_for;
        let stored = by_owner.get(owner).copied();
        let revoked = Revoked {
            mark: next_mark(stored.map(|stored| stored.mark), at),
            until: stored.map_or(until, |stored| stored.until.max(until)),
        };
        by_owner.insert(*owner, revoked);
        Ok(revoked.mark)
    }
}

/// Any [`Revocations`], behind one pointer type the cookie store can hold.
#[derive(Clone)]
pub(crate) struct AnyRevocations(Arc<dyn Erased>);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send + 'a>>;

trait Erased: Send + Sync {
    fn mark<'a>(&'a self, owner: &'a OwnerDigest) -> Boxed<'a, Option<u64>>;
    fn revoke<'a>(&'a self, owner: &'a OwnerDigest, at: u64, keep_for: Duration) -> Boxed<'a, u64>;
}

impl<R: Revocations> Erased for R {
    fn mark<'a>(&'a self, owner: &'a OwnerDigest) -> Boxed<'a, Option<u64>> {
        Box::pin(async move { Revocations::mark(self, owner).await.map_err(Into::into) })
    }

    fn revoke<'a>(&'a self, owner: &'a OwnerDigest, at: u64, keep_for: Duration) -> Boxed<'a, u64> {
        Box::pin(async move {
            Revocations::revoke(self, owner, at, keep_for)
                .await
                .map_err(Into::into)
        })
    }
}

impl AnyRevocations {
    pub(crate) fn new(revocations: impl Revocations) -> Self {
        Self(Arc::new(revocations))
    }

    pub(crate) async fn mark(&self, owner: &OwnerDigest) -> Result<Option<u64>, BoxError> {
        self.0.mark(owner).await
    }

    pub(crate) async fn revoke(
        &self,
        owner: &OwnerDigest,
        at: u64,
        keep_for: Duration,
    ) -> Result<u64, BoxError> {
        self.0.revoke(owner, at, keep_for).await
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

    fn mark(&self, owner: &OwnerDigest) -> impl Future<Output = Result<Option<u64>, Self::Error>> + Send {
        R::mark(self, owner)
    }

    fn revoke(
        &self,
        owner: &OwnerDigest,
        at: u64,
        keep_for: Duration,
    ) -> impl Future<Output = Result<u64, Self::Error>> + Send {
        R::revoke(self, owner, at, keep_for)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_only_grows() {
        assert_eq!(next_mark(None, 100), 100);
        assert_eq!(next_mark(Some(50), 100), 100, "a later time");
        assert_eq!(next_mark(Some(100), 100), 101, "the same microsecond");
        assert_eq!(next_mark(Some(100), 7), 101, "a clock that went back");
        assert_eq!(next_mark(Some(u64::MAX), 7), u64::MAX, "no overflow");
    }
}

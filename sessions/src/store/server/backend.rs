//! The protocol between a [`ServerStore`](super::ServerStore) and its storage: read this first to
//! write a backend.
//!
//! A backend keeps sealed bytes under session ids and nothing else: [`Backend::load`] returns what
//! is [`Stored`], [`Backend::save`] applies one [`SessionWrite`] atomically and says what it did
//! ([`Saved`]), [`Backend::delete`] removes. Three more methods are optional, each with a default
//! that says "not kept here": an owner index ([`Backend::sessions_of`], [`Backend::revoke_owner`],
//! kept exact by every save through [`SessionWrite::owner_change`]), and a sweep of expired
//! sessions ([`Backend::sweep`]). The types here are `#[non_exhaustive]` and built with their
//! constructors, so that the protocol can grow without breaking a backend written outside this crate.
//!
//! Every backend runs the store contract (`tests/src/contract.rs`); the workspace's
//! `sessions-examples` crate has a backend written outside this crate, run through it too.
//!
//! The backends this crate ships are here too, for an app that builds a store on its own pool or
//! directory, or reaches its store's backend: [`MemoryBackend`], `FileBackend`, `RedisBackend`,
//! `SqliteBackend` and `PostgresBackend` (one `SqlBackend` per database, with their
//! features), and [`MemoryRevocations`], the cookie store's revocations in memory.

use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

pub use crate::codec::id::SessionId;
pub use crate::owner::OwnerDigest;
pub use crate::store::cookie::revocations::{Revocations, next_mark};
pub use crate::store::server::write::{OwnerChange, SessionWrite};

pub use crate::store::backends::memory::MemoryBackend;
pub use crate::store::cookie::revocations::MemoryRevocations;

#[cfg(all(feature = "fs", unix))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "fs", unix))))]
pub use crate::store::backends::fs::FileBackend;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use crate::store::backends::redis::RedisBackend;
#[allow(unused_imports)] // nothing without an SQL database's feature
pub use crate::store::backends::sql::for_backends::*;

/// Storage for server-side sessions: sealed records under session ids.
///
/// A backend never sees a field's value: records arrive sealed (AES-256-GCM, bound to the session's
/// id), and [`SessionWrite::merge`] opens, merges and re-seals them under whatever makes that atomic
/// for the backend (a mutex, a file lock, a Redis script, or a compare and swap: a backend that can
/// write on a condition merges into [`SessionWrite::loaded`], the record the session was loaded
/// from, and stores the result only if the record is still that one, without reading it first).
///
/// A backend may also keep an owner index, for listing and revoking an owner's sessions (see
/// [`crate::owner`]): it implements [`Backend::sessions_of`] and [`Backend::revoke_owner`], and
/// changes the index in the same atomic step as the record it belongs to
/// ([`SessionWrite::owner_change`] says how). One that does not
/// keeps the two defaults, and its store answers listing and revoking with
/// [`OwnersError::Unsupported`](crate::owner::OwnersError::Unsupported).
pub trait Backend: Send + Sync + 'static {
    /// What goes wrong in this backend (I/O, connection).
    type Error: std::error::Error + Send + Sync + 'static;

    /// What is stored for `id`, or `None` when there is nothing.
    fn load(&self, id: &SessionId) -> impl Future<Output = Result<Option<Stored>, Self::Error>> + Send;

    /// Applies `write`, atomically for the ids it names:
    /// - when [`SessionWrite::source_id`] holds a forward ([`Stored::Moved`]), stores nothing and
    ///   answers [`Saved::Moved`] with it (the store then writes again to where it points);
    /// - otherwise merges the write into the record of [`SessionWrite::source_id`] and stores the
    ///   result under [`SessionWrite::id`]; when the two differ, the source record is replaced by
    ///   [`SessionWrite::forward`] until [`SessionWrite::forward_expires_at`];
    /// - answers [`Saved::Removed`], storing nothing, when [`SessionWrite::merge`] says there is
    ///   nothing to merge into.
    fn save(&self, write: SessionWrite) -> impl Future<Output = Result<Saved, Self::Error>> + Send;

    /// Removes the record of `id`, if there is one, and its entry in the owner index.
    fn delete(&self, id: &SessionId) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// The sessions indexed under `owner`: each one's id and [`Summary`], from an owner index kept exact by
    /// every save ([`SessionWrite::owner_change`]), delete and sweep. `listed` holds the tags of the
    /// fields a listing shows, for a backend of entries to return those. `None` (the default) says
    /// this backend keeps no owner index; then the store answers listing and revoking with
    /// [`OwnersError::Unsupported`](crate::owner::OwnersError::Unsupported).
    fn sessions_of(
        &self,
        owner: &OwnerDigest,
        listed: &[u32],
    ) -> impl Future<Output = Result<Option<Vec<Indexed>>, Self::Error>> + Send {
        let _ = (owner, listed);
        std::future::ready(Ok(None))
    }

    /// Removes every session indexed under `owner` but `keep`, with their index entries; how many, or `None`
    /// (the default) when this backend keeps no owner index. Atomic against saves: a session it
    /// removes is not stored again by a save in flight (that save finds no record, and answers
    /// [`Saved::Removed`]), and a session a save in flight moves to a new id (`cycle_id`) is removed
    /// under its new id.
    fn revoke_owner(
        &self,
        owner: &OwnerDigest,
        keep: Option<&SessionId>,
    ) -> impl Future<Output = Result<Option<usize>, Self::Error>> + Send {
        let _ = (owner, keep);
        std::future::ready(Ok(None))
    }

    /// Removes what expired at or before `now` (the store's clock, see
    /// [`ServerStore::now`](super::ServerStore::now)): sessions, forwards, their index entries, and
    /// whatever else the backend keeps for them. What it removed, or `None` (the default) when this
    /// backend has nothing to sweep: what it stores expires by itself (Redis's TTLs). A store runs
    /// it from [`ServerStore::sweep`](super::ServerStore::sweep) and its sweeper.
    fn sweep(&self, now: SystemTime) -> impl Future<Output = Result<Option<Swept>, Self::Error>> + Send {
        let _ = now;
        std::future::ready(Ok(None))
    }
}

/// One backend behind several stores, each with its own keys or clock: the app instances of a test,
/// or of a key rotation, on one storage.
impl<B: Backend> Backend for Arc<B> {
    type Error = B::Error;

    fn load(&self, id: &SessionId) -> impl Future<Output = Result<Option<Stored>, Self::Error>> + Send {
        B::load(self, id)
    }

    fn save(&self, write: SessionWrite) -> impl Future<Output = Result<Saved, Self::Error>> + Send {
        B::save(self, write)
    }

    fn delete(&self, id: &SessionId) -> impl Future<Output = Result<(), Self::Error>> + Send {
        B::delete(self, id)
    }

    fn sessions_of(
        &self,
        owner: &OwnerDigest,
        listed: &[u32],
    ) -> impl Future<Output = Result<Option<Vec<Indexed>>, Self::Error>> + Send {
        B::sessions_of(self, owner, listed)
    }

    fn revoke_owner(
        &self,
        owner: &OwnerDigest,
        keep: Option<&SessionId>,
    ) -> impl Future<Output = Result<Option<usize>, Self::Error>> + Send {
        B::revoke_owner(self, owner, keep)
    }

    fn sweep(&self, now: SystemTime) -> impl Future<Output = Result<Option<Swept>, Self::Error>> + Send {
        B::sweep(self, now)
    }
}

/// One session in an owner index, as [`Backend::sessions_of`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Indexed {
    /// The session's id.
    pub id: SessionId,
    /// What a listing shows of it.
    pub summary: Summary,
}

/// What a listing shows of a session: its times and its `#[listed]` fields, sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Summary {
    /// The sealed summary of the session's last save ([`SessionWrite::summary`]), for a backend
    /// that stores whole records.
    Sealed(Vec<u8>),
    /// For a backend that stores entries ([`SessionWrite::entries`]): the session's times entry
    /// and the entries of the listed fields (those [`Backend::sessions_of`] names; any others are
    /// ignored). Always as current as the session, concurrent saves included.
    Entries(Entries),
}

/// A session as a backend stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stored {
    /// One sealed record, from [`SessionWrite::merge`].
    Record(Vec<u8>),
    /// Sealed entries, from [`SessionWrite::entries`]: for backends that merge on the server, field by field.
    Entries(Entries),
    /// A sealed forward, from [`SessionWrite::forward`]: the session moved to a new id (`cycle_id`) a moment
    /// ago. For a grace period, saves of requests that loaded it under the old id are written where it
    /// went; loads of the old id are refused ([`crate::Rejection::Moved`]).
    Moved(Vec<u8>),
}

/// What [`Backend::save`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Saved {
    /// The write is stored.
    Stored,
    /// The session was removed since it was loaded (destroyed, expired): nothing was stored, and it
    /// stays removed.
    Removed,
    /// The session moved to a new id since it was loaded: nothing was stored; this is the sealed
    /// forward found under [`SessionWrite::source_id`].
    Moved(Vec<u8>),
}

/// A session as sealed entries: its times, and one entry per field, keyed by the field's tag. A
/// backend that stores them keeps the last entry written under each tag; that is the per-field merge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entries {
    /// The session's times, sealed.
    pub meta: Vec<u8>,
    /// Each field's record, sealed, by the field's tag.
    pub fields: Vec<(u32, Vec<u8>)>,
}

/// What a sweep removed ([`Backend::sweep`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Swept {
    /// Expired sessions and forwards.
    pub expired: usize,
    /// Stored values that were not records (corrupt, or cut short by something other than the store).
    pub corrupt: usize,
    /// Temporary files left by writers that died (the file store).
    pub temp_files: usize,
}

impl Swept {
    /// A sweep that removed `expired` expired sessions and forwards.
    pub fn new(expired: usize) -> Self {
        Self {
            expired,
            ..Self::default()
        }
    }
}

impl Indexed {
    /// The session `id`, as a listing shows it.
    pub fn new(id: SessionId, summary: Summary) -> Self {
        Self { id, summary }
    }
}

impl Entries {
    /// A session's sealed times and its fields' sealed records by tag.
    pub fn new(meta: Vec<u8>, fields: Vec<(u32, Vec<u8>)>) -> Self {
        Self { meta, fields }
    }
}

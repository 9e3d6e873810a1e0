//! A [`Backend`] of your own, written outside the `sessions` crate with its public API alone: sessions
//! kept as sealed entries (the session's times, and one entry per field), merged field by field as
//! each save writes its changed entries over the stored ones. It is the shape of a backend over a
//! key-value service with hashes (Redis, DynamoDB, etcd); the maps here stand in for that service.
//!
//! ```
//! use axum::http::HeaderMap;
//! use sessions::store::ServerStore;
//! use sessions::{Key, Session, Store};
//! use sessions_examples::entry_backend::EntryBackend;
//!
//! #[derive(Session, Default)]
//! struct Visits {
//!     count: u32,
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = ServerStore::with_backend(EntryBackend::default(), Key::generate());
//! let mut visits = store.load::<Visits>(&HeaderMap::new()).await.unwrap();
//! visits.count += 1;
//! store.save(&mut visits, &mut HeaderMap::new()).await.unwrap();
//! assert_eq!(store.backend().len(), 1);
//! # });
//! ```
//!
//! The tests crate runs the same store contract over it as over the built-in stores.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use sessions::owner::OwnerDigest;
use sessions::store::backend::{
    Backend, Entries, Indexed, Saved, SessionId, SessionWrite, Stored, Summary, Swept,
};

/// Sessions as sealed entries in memory, with an index of their owners, behind one lock: what a
/// save does to one id happens at once, as a transaction would on a real service.
#[derive(Debug, Default)]
pub struct EntryBackend {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    kept: HashMap<SessionId, Kept>,
    /// Each owner's sessions: changed with `kept`, only by `State::put` and `State::take`.
    owners: HashMap<OwnerDigest, HashSet<SessionId>>,
}

#[derive(Debug)]
enum Kept {
    /// The session's times, and its fields' entries by tag.
    Session {
        meta: Vec<u8>,
        fields: BTreeMap<u32, Vec<u8>>,
        expires_at: SystemTime,
        owner: Option<OwnerDigest>,
    },
    /// The session moved to a new id a moment ago (`cycle_id`): the sealed forward, until it expires.
    Forward { sealed: Vec<u8>, expires_at: SystemTime },
}

impl Kept {
    fn owner(&self) -> Option<OwnerDigest> {
        match self {
            Kept::Session { owner, .. } => *owner,
            Kept::Forward { .. } => None,
        }
    }

    fn expires_at(&self) -> SystemTime {
        match self {
            Kept::Session { expires_at, .. } | Kept::Forward { expires_at, .. } => *expires_at,
        }
    }
}

impl State {
    /// Stores `kept` under `id`, and indexes it under its owner instead of the former one's.
    fn put(&mut self, id: &SessionId, kept: Kept) {
        self.take(id);
        if let Some(owner) = kept.owner() {
            self.owners.entry(owner).or_default().insert(id.clone());
        }
        self.kept.insert(id.clone(), kept);
    }

    /// Removes what is under `id`, and its index entry.
    fn take(&mut self, id: &SessionId) -> Option<Kept> {
        let kept = self.kept.remove(id)?;
        if let Some(owner) = kept.owner()
            && let Some(ids) = self.owners.get_mut(&owner)
        {
            ids.remove(id);
            if ids.is_empty() {
                self.owners.remove(&owner);
            }
        }
        Some(kept)
    }
}

impl EntryBackend {
    /// How many ids are stored (sessions and forwards), expired ones included until a sweep.
    pub fn len(&self) -> usize {
        self.state().kept.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every change is one `put` or `take`, so a lock poisoned by a panic elsewhere guards
    /// consistent data.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Backend for EntryBackend {
    type Error = Infallible;

    /// Drops what expired at or before `now` (the store's clock: see `ServerStore::now`).
    async fn sweep(&self, now: SystemTime) -> Result<Option<Swept>, Infallible> {
        let mut state = self.state();
        let expired: Vec<SessionId> = state
            .kept
            .iter()
            .filter(|(_, kept)| kept.expires_at() <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &expired {
            state.take(id);
        }
        Ok(Some(Swept::new(expired.len())))
    }

    async fn load(&self, id: &SessionId) -> Result<Option<Stored>, Infallible> {
        Ok(self.state().kept.get(id).map(|kept| match kept {
            Kept::Session { meta, fields, .. } => Stored::Entries(Entries::new(
                meta.clone(),
                fields.iter().map(|(&tag, entry)| (tag, entry.clone())).collect(),
            )),
            Kept::Forward { sealed, .. } => Stored::Moved(sealed.clone()),
        }))
    }

    async fn save(&self, write: SessionWrite) -> Result<Saved, Infallible> {
        let mut state = self.state();
        let (mut fields, stored_owner) = match state.kept.get(write.source_id()) {
            Some(Kept::Forward { sealed, .. }) => return Ok(Saved::Moved(sealed.clone())),
            Some(Kept::Session { fields, owner, .. }) => (fields.clone(), *owner),
            // Removed since it was loaded (destroyed, expired): it must not come back.
            None if !write.creates() => return Ok(Saved::Removed),
            None => (BTreeMap::new(), None),
        };
        let entries = write.entries();
        fields.extend(entries.fields);
        if write.source_id() != write.id() {
            state.take(write.source_id());
            if let Some(forward) = write.forward() {
                let forward = Kept::Forward {
                    sealed: forward.to_vec(),
                    expires_at: write.forward_expires_at(),
                };
                state.put(write.source_id(), forward);
            }
        }
        let session = Kept::Session {
            meta: entries.meta,
            fields,
            expires_at: write.expires_at(),
            owner: write.owner_change().after(stored_owner.as_ref()),
        };
        state.put(write.id(), session);
        Ok(Saved::Stored)
    }

    async fn delete(&self, id: &SessionId) -> Result<(), Infallible> {
        self.state().take(id);
        Ok(())
    }

    async fn sessions_of(
        &self,
        owner: &OwnerDigest,
        listed: &[u32],
    ) -> Result<Option<Vec<Indexed>>, Infallible> {
        let state = self.state();
        let ids = state.owners.get(owner).into_iter().flatten();
        let indexed = ids.filter_map(|id| match state.kept.get(id)? {
            Kept::Session { meta, fields, .. } => Some(Indexed::new(
                id.clone(),
                Summary::Entries(Entries::new(
                    meta.clone(),
                    listed
                        .iter()
                        .filter_map(|tag| Some((*tag, fields.get(tag)?.clone())))
                        .collect(),
                )),
            )),
            Kept::Forward { .. } => None,
        });
        Ok(Some(indexed.collect()))
    }

    async fn revoke_owner(
        &self,
        owner: &OwnerDigest,
        keep: Option<&SessionId>,
    ) -> Result<Option<usize>, Infallible> {
        let mut state = self.state();
        let ids: Vec<SessionId> = state
            .owners
            .get(owner)
            .into_iter()
            .flatten()
            .filter(|id| Some(*id) != keep)
            .cloned()
            .collect();
        for id in &ids {
            state.take(id);
        }
        Ok(Some(ids.len()))
    }
}

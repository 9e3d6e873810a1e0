//! Sessions in a `HashMap` behind a mutex: for tests and development.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use crate::codec::id::SessionId;
use crate::key::Keys;
use crate::owner::OwnerDigest;
use crate::store::server::ServerStore;
use crate::store::server::backend::{Backend, Indexed, Saved, SessionWrite, Stored, Summary, Swept};

/// A [`ServerStore`] keeping sessions in this process's memory. Sessions are lost on restart and not
/// shared between processes: use it for tests and development.
///
/// ```
/// use sessions::{Key, Session, Store};
/// use sessions::store::MemoryStore;
/// use http::HeaderMap;
///
/// #[derive(Session, Default)]
/// struct Visits {
///     count: u32,
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::new(Key::generate());
/// let mut visits = store.load::<Visits>(&HeaderMap::new()).await.unwrap();
/// visits.count += 1;
/// store.save(&mut visits, &mut HeaderMap::new()).await.unwrap();
/// assert_eq!(store.backend().len(), 1);
/// # });
/// ```
pub type MemoryStore = ServerStore<MemoryBackend>;

impl MemoryStore {
    /// An empty in-memory store signing ids with `keys`' primary key.
    pub fn new(keys: impl Into<Keys>) -> Self {
        Self::with_backend(MemoryBackend::default(), keys)
    }
}

/// The backend of [`MemoryStore`]: records and the owner index, under one mutex.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    sessions: Mutex<Sessions>,
}

#[derive(Debug, Default)]
struct Sessions {
    records: HashMap<SessionId, Kept>,
    /// Each owner's sessions; changed only with `records`, by `insert` and `remove`.
    owners: HashMap<OwnerDigest, HashSet<SessionId>>,
}

#[derive(Debug)]
struct Kept {
    /// A sealed record, or with `forward` a sealed forward.
    payload: Vec<u8>,
    forward: bool,
    expires_at: SystemTime,
    owner: Option<OwnerDigest>,
    summary: Option<Vec<u8>>,
}

impl Sessions {
    /// Stores `kept` under `id`, indexed under its owner instead of the former one's.
    fn insert(&mut self, id: SessionId, kept: Kept) {
        self.remove(&id);
        if let Some(owner) = kept.owner {
            self.owners.entry(owner).or_default().insert(id.clone());
        }
        self.records.insert(id, kept);
    }

    /// Removes what is under `id`, and its index entry; whether there was anything.
    fn remove(&mut self, id: &SessionId) -> bool {
        let Some(removed) = self.records.remove(id) else {
            return false;
        };
        if let Some(owner) = removed.owner
            && let Some(ids) = self.owners.get_mut(&owner)
        {
            ids.remove(id);
            if ids.is_empty() {
                self.owners.remove(&owner);
            }
        }
        true
    }
}

impl MemoryBackend {
    /// How many sessions are stored, expired ones included until a sweep.
    pub fn len(&self) -> usize {
        self.sessions().records.len()
    }

    /// Whether no session is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn remove_expired(&self, now: SystemTime) -> usize {
        let mut sessions = self.sessions();
        let expired: Vec<SessionId> = sessions
            .records
            .iter()
            .filter(|(_, kept)| kept.expires_at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &expired {
            sessions.remove(id);
        }
        expired.len()
    }

    /// The sessions; a panic elsewhere while they were locked leaves them consistent (every change
    /// is one `insert` or `remove`, each keeping the index with the record), so a poisoned lock is
    /// used as it is.
    fn sessions(&self) -> MutexGuard<'_, Sessions> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Backend for MemoryBackend {
    type Error = Infallible;

    async fn load(&self, id: &SessionId) -> Result<Option<Stored>, Infallible> {
        Ok(self.sessions().records.get(id).map(|kept| {
            if kept.forward {
                Stored::Moved(kept.payload.clone())
            } else {
                Stored::Record(kept.payload.clone())
            }
        }))
    }

    async fn save(&self, write: SessionWrite) -> Result<Saved, Infallible> {
        let mut sessions = self.sessions();
        let current = sessions.records.get(write.source_id());
        if let Some(kept) = current.filter(|kept| kept.forward) {
            return Ok(Saved::Moved(kept.payload.clone()));
        }
        let Some(payload) = write.merge(current.map(|kept| &kept.payload[..])) else {
            return Ok(Saved::Removed);
        };
        let owner = write
            .owner_change()
            .after(current.and_then(|kept| kept.owner.as_ref()));
        if write.source_id() != write.id() {
            match write.forward() {
                Some(forward) => sessions.insert(
                    write.source_id().clone(),
                    Kept {
                        payload: forward.to_vec(),
                        forward: true,
                        expires_at: write.forward_expires_at(),
                        owner: None,
                        summary: None,
                    },
                ),
                None => {
                    sessions.remove(write.source_id());
                }
            };
        }
        sessions.insert(
            write.id().clone(),
            Kept {
                payload,
                forward: false,
                expires_at: write.expires_at(),
                owner,
                summary: write.summary(),
            },
        );
        Ok(Saved::Stored)
    }

    async fn delete(&self, id: &SessionId) -> Result<(), Infallible> {
        self.sessions().remove(id);
        Ok(())
    }

    async fn sweep(&self, now: SystemTime) -> Result<Option<Swept>, Infallible> {
        Ok(Some(Swept::new(self.remove_expired(now))))
    }

    async fn sessions_of(
        &self,
        owner: &OwnerDigest,
        _listed: &[u32],
    ) -> Result<Option<Vec<Indexed>>, Infallible> {
        let sessions = self.sessions();
        let Some(ids) = sessions.owners.get(owner) else {
            return Ok(Some(Vec::new()));
        };
        Ok(Some(
            ids.iter()
                .filter_map(|id| {
                    Some(Indexed {
                        id: id.clone(),
                        summary: Summary::Sealed(sessions.records.get(id)?.summary.clone()?),
                    })
                })
                .collect(),
        ))
    }

    async fn revoke_owner(
        &self,
        owner: &OwnerDigest,
        keep: Option<&SessionId>,
    ) -> Result<Option<usize>, Infallible> {
        let mut sessions = self.sessions();
        let ids: Vec<SessionId> = sessions
            .owners
            .get(owner)
            .into_iter()
            .flatten()
            .filter(|id| Some(*id) != keep)
            .cloned()
            .collect();
        let revoked = ids.iter().filter(|id| sessions.remove(id)).count();
        Ok(Some(revoked))
    }
}

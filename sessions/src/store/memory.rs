//! Sessions in a `HashMap` behind a mutex: for tests and development.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use crate::codec::id::SessionId;
use crate::key::Keys;
use crate::store::server::{Backend, Saved, ServerStore, SessionWrite, Stored};

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

    /// Removes every session that has expired by the store's clock; returns how many.
    pub fn sweep(&self) -> usize {
        self.backend().remove_expired(self.now())
    }
}

/// The backend of [`MemoryStore`].
#[derive(Debug, Default)]
pub struct MemoryBackend {
    records: Mutex<HashMap<SessionId, Kept>>,
}

#[derive(Debug)]
struct Kept {
    /// A sealed record, or with `forward` a sealed forward.
    payload: Vec<u8>,
    forward: bool,
    expires_at: SystemTime,
}

impl MemoryBackend {
    /// How many sessions are stored, expired ones included until a sweep.
    pub fn len(&self) -> usize {
        self.records().len()
    }

    /// Whether no session is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn remove_expired(&self, now: SystemTime) -> usize {
        let mut records = self.records();
        let before = records.len();
        records.retain(|_, stored| stored.expires_at > now);
        before - records.len()
    }

    /// The map; a panic elsewhere while it was locked leaves it consistent (every change is one
    /// insert or remove), so a poisoned lock is used as it is.
    fn records(&self) -> MutexGuard<'_, HashMap<SessionId, Kept>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Backend for MemoryBackend {
    type Error = Infallible;

    async fn load(&self, id: &SessionId) -> Result<Option<Stored>, Infallible> {
        Ok(self.records().get(id).map(|kept| {
            if kept.forward {
                Stored::Moved(kept.payload.clone())
            } else {
                Stored::Record(kept.payload.clone())
            }
        }))
    }

    async fn save(&self, write: SessionWrite) -> Result<Saved, Infallible> {
        let mut records = self.records();
        let current = records.get(write.source_id());
        if let Some(kept) = current.filter(|kept| kept.forward) {
            return Ok(Saved::Moved(kept.payload.clone()));
        }
        let Some(payload) = write.merge(current.map(|kept| &kept.payload[..])) else {
            return Ok(Saved::Removed);
        };
        if write.source_id() != write.id() {
            match write.forward() {
                Some(forward) => records.insert(
                    write.source_id().clone(),
                    Kept {
                        payload: forward.to_vec(),
                        forward: true,
                        expires_at: write.forward_expires_at(),
                    },
                ),
                None => records.remove(write.source_id()),
            };
        }
        records.insert(
            write.id().clone(),
            Kept {
                payload,
                forward: false,
                expires_at: write.expires_at(),
            },
        );
        Ok(Saved::Stored)
    }

    async fn delete(&self, id: &SessionId) -> Result<(), Infallible> {
        self.records().remove(id);
        Ok(())
    }
}

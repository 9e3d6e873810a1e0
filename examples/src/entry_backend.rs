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

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use sessions::store::{Backend, Entries, Saved, SessionId, SessionWrite, Stored};

/// Sessions as sealed entries in memory, behind one lock: what a save does to one id happens at
/// once, as a transaction would on a real service.
#[derive(Debug, Default)]
pub struct EntryBackend {
    kept: Mutex<HashMap<SessionId, Kept>>,
}

#[derive(Debug)]
enum Kept {
    /// The session's times, and its fields' entries by tag.
    Session {
        meta: Vec<u8>,
        fields: BTreeMap<u32, Vec<u8>>,
        expires_at: SystemTime,
    },
    /// The session moved to a new id a moment ago (`cycle_id`): the sealed forward, until it expires.
    Forward { sealed: Vec<u8>, expires_at: SystemTime },
}

impl EntryBackend {
    /// How many ids are stored (sessions and forwards), expired ones included until a sweep.
    pub fn len(&self) -> usize {
        self.kept().len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops what expired before `now` (the app's clock: see `ServerStore::now`).
    pub fn sweep(&self, now: SystemTime) {
        self.kept().retain(|_, kept| match kept {
            Kept::Session { expires_at, .. } | Kept::Forward { expires_at, .. } => *expires_at > now,
        });
    }

    /// Every change is one insert or remove, so a lock poisoned by a panic elsewhere guards
    /// consistent data.
    fn kept(&self) -> MutexGuard<'_, HashMap<SessionId, Kept>> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Backend for EntryBackend {
    type Error = Infallible;

    async fn load(&self, id: &SessionId) -> Result<Option<Stored>, Infallible> {
        Ok(self.kept().get(id).map(|kept| match kept {
            Kept::Session { meta, fields, .. } => Stored::Entries(Entries {
                meta: meta.clone(),
                fields: fields.iter().map(|(&tag, entry)| (tag, entry.clone())).collect(),
            }),
            Kept::Forward { sealed, .. } => Stored::Moved(sealed.clone()),
        }))
    }

    async fn save(&self, write: SessionWrite) -> Result<Saved, Infallible> {
        let mut kept = self.kept();
        let mut fields = match kept.remove(write.source_id()) {
            Some(Kept::Forward { sealed, expires_at }) => {
                let answer = Saved::Moved(sealed.clone());
                kept.insert(write.source_id().clone(), Kept::Forward { sealed, expires_at });
                return Ok(answer);
            }
            Some(Kept::Session { fields, .. }) => fields,
            // Removed since it was loaded (destroyed, expired): it must not come back.
            None if !write.creates() => return Ok(Saved::Removed),
            None => BTreeMap::new(),
        };
        let entries = write.entries();
        fields.extend(entries.fields);
        if write.source_id() != write.id()
            && let Some(forward) = write.forward()
        {
            let forward = Kept::Forward {
                sealed: forward.to_vec(),
                expires_at: write.forward_expires_at(),
            };
            kept.insert(write.source_id().clone(), forward);
        }
        let session = Kept::Session {
            meta: entries.meta,
            fields,
            expires_at: write.expires_at(),
        };
        kept.insert(write.id().clone(), session);
        Ok(Saved::Stored)
    }

    async fn delete(&self, id: &SessionId) -> Result<(), Infallible> {
        self.kept().remove(id);
        Ok(())
    }
}

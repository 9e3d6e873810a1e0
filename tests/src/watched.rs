//! A memory backend that counts loads and can go down: for the tests of what the framework
//! integrations do when a store fails.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use sessions::owner::OwnerDigest;
use sessions::store::backend::MemoryBackend;
use sessions::store::backend::{Backend, Indexed, Saved, SessionId, SessionWrite, Stored};

/// A memory backend that counts loads and can go down.
#[derive(Debug, Default)]
pub struct Watched {
    /// Where the sessions are.
    pub inner: MemoryBackend,
    /// Loads so far.
    pub loads: AtomicUsize,
    /// Whether every load and save fails.
    pub down: AtomicBool,
}

/// What a [`Watched`] backend that is down answers.
#[derive(Debug, thiserror::Error)]
#[error("the session database is down")]
pub struct Down;

impl Backend for Watched {
    type Error = Down;
    async fn load(&self, id: &SessionId) -> Result<Option<Stored>, Down> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(Down);
        }
        Ok(self.inner.load(id).await.unwrap_or_default())
    }
    async fn save(&self, write: SessionWrite) -> Result<Saved, Down> {
        if self.down.load(Ordering::SeqCst) {
            return Err(Down);
        }
        let Ok(saved) = self.inner.save(write).await;
        Ok(saved)
    }
    async fn delete(&self, id: &SessionId) -> Result<(), Down> {
        let _ = self.inner.delete(id).await;
        Ok(())
    }
    async fn sessions_of(&self, owner: &OwnerDigest, listed: &[u32]) -> Result<Option<Vec<Indexed>>, Down> {
        if self.down.load(Ordering::SeqCst) {
            return Err(Down);
        }
        let Ok(indexed) = self.inner.sessions_of(owner, listed).await;
        Ok(indexed)
    }
}

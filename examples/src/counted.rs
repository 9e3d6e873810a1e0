//! A [`Store`] around a store, written outside the `sessions` crate: it delegates every call, and
//! counts loads and saves on the way. The same shape picks a store per tenant, or times each call.
//! A store from scratch is not an extension point (a [`Loaded`] session is built only by the
//! `sessions` stores, which keep the wire format); a [`Backend`](sessions::store::backend::Backend) is.
//!
//! ```
//! use axum::http::HeaderMap;
//! use sessions::{CookieStore, Key, Session, Store};
//! use sessions_examples::counted::Counted;
//!
//! #[derive(Session, Default)]
//! struct Visits {
//!     count: u32,
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = Counted::new(CookieStore::new(Key::generate()));
//! let mut visits = store.load::<Visits>(&HeaderMap::new()).await.unwrap();
//! visits.count += 1;
//! store.save(&mut visits, &mut HeaderMap::new()).await.unwrap();
//! assert_eq!((store.loads(), store.saves()), (1, 1));
//! # });
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::HeaderMap;
use sessions::owner::{Handle, Listing, Owner, OwnersError};
use sessions::store::RejectionCounts;
use sessions::{LoadError, Loaded, SaveError, Session, Store};

/// `St`, counting the loads and saves that reach it. Clones share the counts.
#[derive(Debug, Clone)]
pub struct Counted<St> {
    inner: St,
    counts: Arc<[AtomicU64; 2]>,
}

impl<St: Store> Counted<St> {
    /// `inner`, with both counts at zero.
    pub fn new(inner: St) -> Self {
        Self {
            inner,
            counts: Arc::default(),
        }
    }

    /// How many loads were asked of the store.
    pub fn loads(&self) -> u64 {
        self.counts[0].load(Ordering::Relaxed)
    }

    /// How many saves were asked of the store.
    pub fn saves(&self) -> u64 {
        self.counts[1].load(Ordering::Relaxed)
    }
}

impl<St: Store> Store for Counted<St> {
    async fn load<S: Session>(&self, request: &HeaderMap) -> Result<Loaded<S>, LoadError> {
        self.counts[0].fetch_add(1, Ordering::Relaxed);
        self.inner.load(request).await
    }

    async fn save<S: Session>(
        &self,
        session: &mut Loaded<S>,
        response: &mut HeaderMap,
    ) -> Result<(), SaveError> {
        self.counts[1].fetch_add(1, Ordering::Relaxed);
        self.inner.save(session, response).await
    }

    async fn sessions_of<S: Session>(
        &self,
        owner: &Owner,
        current: Option<&Loaded<S>>,
    ) -> Result<Listing<S>, OwnersError> {
        self.inner.sessions_of(owner, current).await
    }

    async fn revoke<S: Session>(&self, owner: &Owner, handle: &Handle) -> Result<bool, OwnersError> {
        self.inner.revoke::<S>(owner, handle).await
    }

    async fn revoke_all<S: Session>(
        &self,
        owner: &Owner,
        keep: Option<&mut Loaded<S>>,
    ) -> Result<(), OwnersError> {
        self.inner.revoke_all(owner, keep).await
    }

    fn rejections(&self) -> &RejectionCounts {
        self.inner.rejections()
    }
}

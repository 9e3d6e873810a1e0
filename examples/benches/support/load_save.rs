//! Load plus save of the typical session in process (open it, flip a field, save), through our
//! store and through a tower-sessions store, each timed over a number of operations: one round of
//! an interleaved comparison.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use axum::http::HeaderMap;
use sessions::Store;
use tower_sessions::SessionStore;
use tower_sessions::session::Id;

use crate::typical::{Typical, typical};

/// Seconds that `operations` loads and saves of the typical session took through `store`, for
/// `request` (the cookie of a stored typical session: `typical::signed_in`).
pub async fn ours(store: &impl Store, request: &HeaderMap, operations: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..operations {
        let mut session = store.load::<Typical>(black_box(request)).await.unwrap();
        session.admin = !session.admin;
        let mut response = HeaderMap::new();
        store.save(&mut session, &mut response).await.unwrap();
        black_box(response);
    }
    start.elapsed().as_secs_f64()
}

/// A session of tower-sessions' `store` holding the typical session under one key: its id.
pub async fn stored<Theirs: SessionStore>(store: &Arc<Theirs>) -> Id {
    let first = tower_sessions::Session::new(None, Arc::clone(store), None);
    first.insert("typical", typical()).await.unwrap();
    first.save().await.unwrap();
    first.id().unwrap()
}

/// Seconds that `operations` loads and saves of session `id` (see [`stored`]) took through
/// tower-sessions' `store`.
pub async fn theirs<Theirs: SessionStore>(store: &Arc<Theirs>, id: Id, operations: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..operations {
        let session = tower_sessions::Session::new(Some(id), Arc::clone(store), None);
        let mut value: Typical = session.get("typical").await.unwrap().unwrap();
        value.admin = !value.admin;
        session.insert("typical", value).await.unwrap();
        session.save().await.unwrap();
    }
    start.elapsed().as_secs_f64()
}

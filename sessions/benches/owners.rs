//! What an owner costs a load and save: the typical session, and the same session with its user id
//! as `#[owner]` (and its name `#[listed]`), on each store that keeps an owner index, and on the
//! cookie store with a revocation backend. Interleaved rounds (plain, owned, owned, plain, ...);
//! the figure is the median of the per-round ratios, owned over plain.
//!
//! Run: `cargo bench -p sessions --features fs,sqlite --bench owners`

use std::hint::black_box;
use std::time::Instant;

mod support;

use http::HeaderMap;
use sessions::store::backend::MemoryRevocations;
use sessions::store::{FileStore, MemoryStore, SqliteStore};
use sessions::{CookieStore, Key, Session, Store};
use support::{Typical, signed_in, signed_in_as, typical};

/// The typical session, owned by its user.
#[derive(Session, Default)]
#[session(cookie = "owned")]
struct Owned {
    #[owner]
    user_id: Option<u64>,
    #[listed]
    name: String,
    #[flash]
    messages: Vec<String>,
    admin: bool,
}

const OPERATIONS: usize = 300;
const ROUNDS: usize = 15;

/// Microseconds per load and save of `S` (flipping a field, so each save writes).
async fn round<S: Session, St: Store>(store: &St, request: &HeaderMap, flip: fn(&mut S)) -> f64 {
    let start = Instant::now();
    for _ in 0..OPERATIONS {
        let mut session = store.load::<S>(black_box(request)).await.unwrap();
        flip(&mut session);
        let mut response = HeaderMap::new();
        store.save(&mut session, &mut response).await.unwrap();
        black_box(response);
    }
    start.elapsed().as_secs_f64() * 1e6 / OPERATIONS as f64
}

async fn compare<St: Store>(name: &str, store: &St) {
    let plain = signed_in(store).await;
    let owned = signed_in_as::<Owned, _>(store, |session| {
        let value = typical();
        session.user_id = Some(value.user_id);
        session.name = value.name;
        session.messages = value.messages;
    })
    .await;
    let (mut plain_times, mut owned_times, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for n in 0..ROUNDS {
        let flip_plain: fn(&mut Typical) = |session| session.admin = !session.admin;
        let flip_owned: fn(&mut Owned) = |session| session.admin = !session.admin;
        let (a, b) = if n % 2 == 0 {
            let a = round(store, &plain, flip_plain).await;
            (a, round(store, &owned, flip_owned).await)
        } else {
            let b = round(store, &owned, flip_owned).await;
            (round(store, &plain, flip_plain).await, b)
        };
        plain_times.push(a);
        owned_times.push(b);
        ratios.push(b / a);
    }
    println!(
        "{name:40} plain {:8.1} µs   owned {:8.1} µs   owned/plain {:.3} (median of {ROUNDS} rounds)",
        median(&mut plain_times),
        median(&mut owned_times),
        median(&mut ratios)
    );
}

fn median(figures: &mut [f64]) -> f64 {
    figures.sort_by(f64::total_cmp);
    figures[figures.len() / 2]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("sessions-bench-owners-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    runtime.block_on(async {
        compare("memory store", &MemoryStore::new(Key::generate())).await;
        compare(
            "file store (durable)",
            &FileStore::open(dir.join("files"), Key::generate()).unwrap(),
        )
        .await;
        let sqlite = SqliteStore::open(dir.join("sessions.db"), Key::generate())
            .await
            .unwrap();
        compare("SQLite store", &sqlite).await;
        compare("cookie store", &CookieStore::new(Key::generate())).await;
        let revoked = CookieStore::new(Key::generate()).with_revocations(MemoryRevocations::new());
        compare("cookie store, memory revocations", &revoked).await;
    });
    let _ = std::fs::remove_dir_all(&dir);
}

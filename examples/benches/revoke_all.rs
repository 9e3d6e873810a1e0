//! One owner with 10,000 sessions (a script that signed in again and again, an app that never
//! signs anyone out), on every store with an owner index: how long "sign out everywhere"
//! (`revoke_all`) takes, and how long listing them takes and how many it returns. Sessions are made
//! through the store, one save each; three rounds per store, on fresh storage each, the median.
//!
//! PostgreSQL needs `initdb` and `postgres`, Redis `redis-server`; without them, those stores
//! are skipped with a word. Run: `cargo bench -p sessions-examples --bench revoke_all`

use std::time::Instant;

use http::HeaderMap;
use sessions::owner::Owner;
use sessions::store::{FileStore, MemoryStore, PostgresStore, RedisOptions, RedisStore, SqliteStore};
use sessions::{Key, Store};
use sessions_tests::revocation::Account;
use sessions_tests::{PostgresServer, RedisServer, postgres_program};

const SESSIONS: usize = 10_000;
const ROUNDS: usize = 3;

/// Seconds to list and to revoke, and how many the listing returned, for `SESSIONS` sessions of
/// user 7 in `store`.
async fn round(store: &impl Store) -> (f64, f64, usize) {
    for device in 0..SESSIONS {
        let mut session = store.load::<Account>(&HeaderMap::new()).await.unwrap();
        session.user_id = Some(7);
        session.device = Some(format!("device {device}"));
        store.save(&mut session, &mut HeaderMap::new()).await.unwrap();
    }
    let owner = Owner::of::<Account>(&7u64);
    let start = Instant::now();
    let listed = store.sessions_of::<Account>(&owner, None).await.unwrap().len();
    let listing = start.elapsed().as_secs_f64();
    let start = Instant::now();
    store.revoke_all::<Account>(&owner, None).await.unwrap();
    let revoking = start.elapsed().as_secs_f64();
    assert!(
        store
            .sessions_of::<Account>(&owner, None)
            .await
            .unwrap()
            .is_empty()
    );
    (listing, revoking, listed)
}

async fn measure<St: Store>(name: &str, mut fresh: impl AsyncFnMut(usize) -> St) {
    let (mut listings, mut revocations, mut listed) = (Vec::new(), Vec::new(), 0);
    for n in 0..ROUNDS {
        let store = fresh(n).await;
        let (listing, revoking, count) = round(&store).await;
        listings.push(listing);
        revocations.push(revoking);
        listed = count;
    }
    println!(
        "{name:<22} revoke_all {:>7.3} s   sessions_of {:>7.3} s, {listed} listed",
        median(&mut revocations),
        median(&mut listings),
    );
}

fn median(figures: &mut [f64]) -> f64 {
    figures.sort_by(f64::total_cmp);
    figures[figures.len() / 2]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("sessions-bench-revoke-all-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    println!("{SESSIONS} sessions of one owner, median of {ROUNDS} rounds");
    runtime.block_on(async {
        measure("memory", async |_| MemoryStore::new(Key::generate())).await;
        measure("files (durable)", async |n| {
            FileStore::open(dir.join(format!("files-{n}")), Key::generate()).unwrap()
        })
        .await;
        measure("SQLite", async |n| {
            SqliteStore::open(dir.join(format!("sessions-{n}.db")), Key::generate())
                .await
                .unwrap()
        })
        .await;
        if postgres_program("postgres").is_some() {
            let server = PostgresServer::start("bench-revoke-all");
            measure("PostgreSQL", async |_| {
                PostgresStore::connect(&server.url(), Key::generate())
                    .await
                    .unwrap()
            })
            .await;
        } else {
            println!("PostgreSQL             skipped: initdb and postgres were not found");
        }
        if std::process::Command::new("redis-server")
            .arg("--version")
            .output()
            .is_ok()
        {
            let server = RedisServer::start("bench-revoke-all");
            measure("Redis", async |_| {
                RedisStore::connect(&server.url(), RedisOptions::default(), Key::generate())
                    .await
                    .unwrap()
            })
            .await;
        } else {
            println!("Redis                  skipped: redis-server was not found");
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}

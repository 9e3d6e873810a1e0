//! The SQLite store beyond the shared contract (`store_contract.rs` runs that, concurrent saves
//! included): records sealed at rest and bound to their id, the sweep, a custom table, a database
//! that fails, and a writer process killed mid-save.

use std::path::PathBuf;
use std::time::Duration;

use sessions::clock::ManualClock;
use sessions::store::backend::SqliteBackend;
use sessions::store::{ServerStore, SqliteStore};
use sessions::{Key, Keys, Store};
use sessions_tests::child::{self, shared_keys, spawn_child};
use sessions_tests::{AppSession, Browser, TempDir, sql_table};
use sqlx::AnyPool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

const START: u64 = 1_700_000_000;

/// The database file in `dir`.
fn db(dir: &TempDir) -> PathBuf {
    dir.0.join("sessions.db")
}

async fn open(dir: &TempDir, keys: &Keys, clock: &ManualClock) -> SqliteStore {
    SqliteStore::open(db(dir), keys.clone())
        .await
        .unwrap()
        .with_clock(clock.clone())
}

/// A store on a database of its own, with a new key and a clock of its own.
async fn fresh(name: &str) -> (TempDir, Keys, ManualClock, SqliteStore) {
    let dir = TempDir::made(&format!("sqlite-{name}"));
    let (keys, clock) = (Keys::new(Key::generate()), ManualClock::at_unix(START));
    let store = open(&dir, &keys, &clock).await;
    (dir, keys, clock, store)
}

/// A plain pool on the database, to look at or damage what the store wrote.
async fn raw(dir: &TempDir) -> AnyPool {
    sql_table::raw_pool(&format!("sqlite://{}", db(dir).display())).await
}

#[tokio::test]
async fn records_are_sealed_at_rest_and_bound_to_their_id() {
    let (dir, _, _, store) = fresh("sealed").await;
    sql_table::records_are_sealed_at_rest_and_bound_to_their_id(&store, &raw(&dir).await).await;
}

#[tokio::test]
async fn rows_that_do_not_decode_are_removed_never_a_503() {
    let (dir, _, _, store) = fresh("undecodable").await;
    let corruptions = [
        "UPDATE sessions SET forward = 'maybe'",
        "UPDATE sessions SET data = 42",
        "UPDATE sessions SET data = 4.5, forward = x'00'",
    ];
    sql_table::rows_that_do_not_decode_are_removed_never_a_503(&store, &raw(&dir).await, &corruptions).await;
}

#[tokio::test]
async fn the_owner_index_is_keyed_and_an_unkeyed_one_is_read_until_rewritten() {
    let (dir, keys, _, store) = fresh("keyed-index").await;
    let cookies = sessions::CookieStore::new(keys.clone()).with_revocations(store.backend().clone());
    sql_table::the_owner_index_is_keyed_and_an_unkeyed_one_is_read_until_rewritten(
        &store,
        &cookies,
        &keys,
        &raw(&dir).await,
    )
    .await;
}

#[tokio::test]
async fn the_sweep_removes_what_expired_by_the_stores_clock() {
    let (dir, _, clock, store) = fresh("sweep").await;
    sql_table::the_sweep_removes_what_expired_by_the_stores_clock(&store, &clock, &raw(&dir).await).await;
}

#[tokio::test]
async fn a_table_of_its_own_name_and_names_that_are_not_identifiers() {
    let dir = TempDir::made("sqlite-table");
    let options = SqliteConnectOptions::new()
        .filename(db(&dir))
        .create_if_missing(true);
    let pool = SqlitePool::connect_with(options).await.unwrap();
    let on_table = async |table: &str| {
        let backend = SqliteBackend::new(pool.clone()).with_table(table)?;
        backend.migrate().await?;
        backend.migrate().await?; // twice is fine
        Ok(ServerStore::with_backend(backend, Key::generate()))
    };
    sql_table::a_table_of_its_own_name_and_names_that_are_not_identifiers(on_table, &raw(&dir).await).await;
    assert!(
        SqliteBackend::schema("app_sessions")
            .unwrap()
            .contains("CREATE INDEX IF NOT EXISTS app_sessions_expires_at")
    );
}

#[tokio::test]
async fn a_failing_database_is_an_error_naming_the_table_never_a_fresh_session() {
    let (dir, _, _, store) = fresh("failing").await;
    sessions_tests::a_lost_table_is_an_error(&store, async || {
        let pool = raw(&dir).await;
        sqlx::query("DROP TABLE sessions").execute(&pool).await.unwrap();
    })
    .await;
}

/// The writer of the killed-writer test, in its own process; does nothing unless started by it.
#[test]
#[ignore = "started by the killed-writer test"]
fn child() {
    child::write_when_ordered(async |place| SqliteStore::open(place, shared_keys()).await.unwrap());
}

#[tokio::test]
async fn a_writer_killed_at_any_moment_leaves_the_database_and_every_session_whole() {
    let dir = TempDir::made("sqlite-killed");
    let store = SqliteStore::open(db(&dir), shared_keys()).await.unwrap();
    let browsers = child::sessions_to_rewrite(&store, 8).await;
    let cookies = child::cookies_of(&browsers);
    drop(store);
    let spawn = || spawn_child(db(&dir).as_os_str(), "write", &cookies);
    let reopened = async |kill| {
        // Reopened as after a crash: SQLite rolls back what was not committed.
        let store = SqliteStore::open(db(&dir), shared_keys()).await.unwrap();
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&raw(&dir).await)
            .await
            .unwrap();
        assert_eq!(check, "ok", "after kill {kill}");
        store
    };
    child::every_session_survives_a_killed_writer(&browsers, 15, spawn, reopened).await;
}

#[tokio::test]
async fn a_table_from_before_owners_gets_the_owner_index() {
    let dir = TempDir::made("sqlite-before-owners");
    let (keys, clock) = (Keys::new(Key::generate()), ManualClock::at_unix(START));
    std::fs::File::create(db(&dir)).unwrap(); // an empty file is an empty SQLite database
    let raw = raw(&dir).await;
    sql_table::a_table_from_before_owners_gets_the_owner_index(
        "CREATE TABLE sessions (id TEXT PRIMARY KEY NOT NULL, forward INTEGER NOT NULL, \
         data BLOB NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID",
        async || open(&dir, &keys, &clock).await,
        &raw,
    )
    .await;
}

#[tokio::test]
async fn revocations_raise_the_mark_and_go_once_past_their_use() {
    let (dir, _, _, store) = fresh("revocations").await;
    let backend = store.backend();
    sql_table::revocations_raise_the_mark_and_go_once_past_their_use(
        backend,
        async |now| sessions::store::backend::Backend::sweep(backend, now).await,
        &raw(&dir).await,
    )
    .await;
}

#[tokio::test]
async fn a_corrupt_revocation_does_not_panic() {
    let (dir, keys, _, store) = fresh("corrupt-revocation").await;
    let cookies = sessions::CookieStore::new(keys.clone()).with_revocations(store.backend().clone());
    sql_table::a_corrupt_revocation_does_not_panic(&cookies, &keys, &raw(&dir).await).await;
}

/// Sixteen writers (each with a store of its own, as processes would have) on a database that
/// does not exist yet, all changing the same sessions: every open, migration and save succeeds,
/// since waiting serves each of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_writers_on_a_fresh_database_never_fail() {
    let dir = TempDir::made("sqlite-writers");
    let key = Key::generate();
    let first = SqliteStore::open(db(&dir), key.clone()).await.unwrap();
    let mut shared = Vec::new();
    for _ in 0..4 {
        let browser = Browser::signed_in(&first, 7).await;
        shared.push(browser);
    }
    let writers = (0..16u32).map(|writer| {
        let (path, key, mut shared) = (db(&dir), key.clone(), shared.clone());
        tokio::spawn(async move {
            let store = SqliteStore::open(path, key).await.expect("opens");
            for round in 0..100u32 {
                let browser = &mut shared[(writer + round) as usize % 4];
                let mut session = browser.load::<AppSession>(&store).await;
                session.cart.push(writer);
                browser.save(&store, &mut session).await;
            }
        })
    });
    for writer in writers.collect::<Vec<_>>() {
        writer.await.expect("no save failed");
    }
}

/// A save that finds the database busy past the pool's busy timeout (another process holds the
/// write lock a while, here 400 ms against 50 ms) waits its turn and goes through: waiting serves
/// it, so it does not fail.
#[tokio::test]
async fn a_save_waits_out_a_busy_database() {
    use sqlx::Connection as _;
    let dir = TempDir::made("sqlite-busy");
    let options = SqliteConnectOptions::new()
        .filename(db(&dir))
        .create_if_missing(true)
        .busy_timeout(Duration::from_millis(50));
    let pool = SqlitePool::connect_with(options.clone()).await.unwrap();
    let backend = SqliteBackend::new(pool);
    backend.migrate().await.unwrap();
    let store = ServerStore::with_backend(backend, Key::generate());
    let browser = Browser::signed_in(&store, 7).await;

    let mut other_process = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut other_process)
        .await
        .unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        sqlx::raw_sql("COMMIT").execute(&mut other_process).await.unwrap();
    });
    let mut session = browser.load::<AppSession>(&store).await;
    session.cart.push(1);
    let mut response = http::HeaderMap::new();
    store
        .save(&mut session, &mut response)
        .await
        .expect("the save waits its turn");
    release.await.unwrap();
    assert_eq!(browser.load::<AppSession>(&store).await.cart, [1]);
}

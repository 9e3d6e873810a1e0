//! The SQLite store beyond the shared contract (`store_contract.rs` runs that, concurrent saves
//! included): records sealed at rest and bound to their id, the sweep, a custom table, a database
//! that fails, and a writer process killed mid-save.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use sessions::clock::ManualClock;
use sessions::session::Origin;
use sessions::store::backend::SqliteBackend;
use sessions::store::{ServerStore, SqliteStore};
use sessions::{Key, Keys, Session, Store};
use sessions_tests::{AppSession, Browser, sql_table};
use sqlx::AnyPool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

const START: u64 = 1_700_000_000;

/// A directory of its own, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("sessions-sqlite-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn db(&self) -> PathBuf {
        self.0.join("sessions.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn open(dir: &TempDir, keys: &Keys, clock: &ManualClock) -> SqliteStore {
    SqliteStore::open(dir.db(), keys.clone())
        .await
        .unwrap()
        .with_clock(clock.clone())
}

/// A plain pool on the database, to look at or damage what the store wrote.
async fn raw(dir: &TempDir) -> AnyPool {
    sql_table::raw_pool(&format!("sqlite://{}", dir.db().display())).await
}

#[tokio::test]
async fn records_are_sealed_at_rest_and_bound_to_their_id() {
    let dir = TempDir::new("sealed");
    let (keys, clock) = (Keys::new(Key::generate()), ManualClock::at_unix(START));
    let store = open(&dir, &keys, &clock).await;
    sql_table::records_are_sealed_at_rest_and_bound_to_their_id(&store, &raw(&dir).await).await;
}

#[tokio::test]
async fn rows_that_do_not_decode_are_removed_never_a_503() {
    let dir = TempDir::new("undecodable");
    let (keys, clock) = (Keys::new(Key::generate()), ManualClock::at_unix(START));
    let store = open(&dir, &keys, &clock).await;
    let corruptions = [
        "UPDATE sessions SET forward = 'maybe'",
        "UPDATE sessions SET data = 42",
        "UPDATE sessions SET data = 4.5, forward = x'00'",
    ];
    sql_table::rows_that_do_not_decode_are_removed_never_a_503(&store, &raw(&dir).await, &corruptions).await;
}

#[tokio::test]
async fn the_owner_index_is_keyed_and_an_unkeyed_one_is_read_until_rewritten() {
    let dir = TempDir::new("keyed-index");
    let (keys, clock) = (Keys::new(Key::generate()), ManualClock::at_unix(START));
    let store = open(&dir, &keys, &clock).await;
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
    let dir = TempDir::new("sweep");
    let (keys, clock) = (Keys::new(Key::generate()), ManualClock::at_unix(START));
    let store = open(&dir, &keys, &clock).await;
    sql_table::the_sweep_removes_what_expired_by_the_stores_clock(&store, &clock, &raw(&dir).await).await;
}

#[tokio::test]
async fn a_table_of_its_own_name_and_names_that_are_not_identifiers() {
    let dir = TempDir::new("table");
    let options = SqliteConnectOptions::new()
        .filename(dir.db())
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
    let dir = TempDir::new("failing");
    let (keys, clock) = (Keys::new(Key::generate()), ManualClock::at_unix(START));
    let store = open(&dir, &keys, &clock).await;
    sessions_tests::a_lost_table_is_an_error(&store, async || {
        let pool = raw(&dir).await;
        sqlx::query("DROP TABLE sessions").execute(&pool).await.unwrap();
    })
    .await;
}

/// What the killed writer rewrites: every field to one round number, so a torn save would show.
#[derive(Session, Default, Debug)]
#[session(cookie = "sid")]
struct Rounds {
    a: u64,
    b: u64,
    c: Vec<u64>,
    note: String,
}

/// The writer of the killed-writer test, on the database at `db`.
fn spawn_writer(db: &Path, cookies: &[String]) -> Child {
    let (key, cookies) = (sessions_tests::shared_secret(), cookies.join(" "));
    sessions_tests::spawn_child(&[
        ("SESSIONS_CHILD_DB", db.as_os_str()),
        ("SESSIONS_CHILD_KEY", key.as_ref()),
        ("SESSIONS_CHILD_COOKIES", cookies.as_ref()),
    ])
}

/// The writer of the killed-writer test, in its own process; does nothing unless started by it.
#[test]
#[ignore = "started by the killed-writer test"]
fn child() {
    let Ok(db) = std::env::var("SESSIONS_CHILD_DB") else {
        return;
    };
    let key = Key::from_base64(&std::env::var("SESSIONS_CHILD_KEY").unwrap()).unwrap();
    let cookies = std::env::var("SESSIONS_CHILD_COOKIES").unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(&db, key).await.unwrap();
        let browsers = sessions_tests::browsers_holding("sid", &cookies);
        for round in 1.. {
            for browser in &browsers {
                let mut session = browser.load::<Rounds>(&store).await;
                session.a = round;
                session.b = round;
                session.c = vec![round; 50];
                session.note = format!("round {round}");
                store
                    .save(&mut session, &mut http::HeaderMap::new())
                    .await
                    .unwrap();
            }
        }
    });
}

#[tokio::test]
async fn a_writer_killed_at_any_moment_leaves_the_database_and_every_session_whole() {
    let dir = TempDir::new("killed");
    let key = Keys::new(Key::from_base64(&sessions_tests::shared_secret()).unwrap());
    let store = SqliteStore::open(dir.db(), key.clone()).await.unwrap();
    let mut browsers = Vec::new();
    for n in 0..8 {
        let mut browser = Browser::default();
        let mut session = browser.load::<Rounds>(&store).await;
        session.note = format!("session {n}");
        browser.save(&store, &mut session).await;
        browsers.push(browser);
    }
    let cookies: Vec<String> = browsers
        .iter()
        .map(|browser| browser.cookie("sid").unwrap().to_owned())
        .collect();
    drop(store);
    let mut highest = 0;
    for kill in 0..15u64 {
        let mut writer = spawn_writer(&dir.db(), &cookies);
        // Kill at a moment that varies from round to round: early, mid-transaction, mid-commit.
        std::thread::sleep(Duration::from_millis(40 + kill * 7 % 60));
        writer.kill().unwrap();
        writer.wait().unwrap();
        // Reopened as after a crash: SQLite rolls back what was not committed.
        let store = SqliteStore::open(dir.db(), key.clone()).await.unwrap();
        let pool = raw(&dir).await;
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(check, "ok", "after kill {kill}");
        for (n, browser) in browsers.iter().enumerate() {
            let session = browser.load::<Rounds>(&store).await;
            assert_eq!(
                session.origin(),
                Origin::Restored,
                "session {n} after kill {kill}"
            );
            let round = session.a;
            assert!(
                session.b == round && session.c.iter().all(|&c| c == round),
                "session {n} is torn after kill {kill}: {session:?}"
            );
            highest = highest.max(round);
        }
    }
    assert!(
        highest > 0,
        "the writer never got to write; the test proved nothing"
    );
}

#[tokio::test]
async fn a_table_from_before_owners_gets_the_owner_index() {
    let dir = TempDir::new("before-owners");
    let (keys, clock) = (Keys::new(Key::generate()), ManualClock::at_unix(START));
    std::fs::File::create(dir.db()).unwrap(); // an empty file is an empty SQLite database
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
    let dir = TempDir::new("revocations");
    let (keys, clock) = (Keys::new(Key::generate()), ManualClock::at_unix(START));
    let store = open(&dir, &keys, &clock).await;
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
    let dir = TempDir::new("corrupt-revocation");
    let (keys, clock) = (Keys::new(Key::generate()), ManualClock::at_unix(START));
    let store = open(&dir, &keys, &clock).await;
    let cookies = sessions::CookieStore::new(keys.clone()).with_revocations(store.backend().clone());
    sql_table::a_corrupt_revocation_does_not_panic(&cookies, &keys, &raw(&dir).await).await;
}

/// Sixteen writers (each with a store of its own, as processes would have) on a database that
/// does not exist yet, all changing the same sessions: every open, migration and save succeeds,
/// since waiting serves each of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_writers_on_a_fresh_database_never_fail() {
    let dir = TempDir::new("writers");
    let key = Key::generate();
    let first = SqliteStore::open(dir.db(), key.clone()).await.unwrap();
    let mut shared = Vec::new();
    for _ in 0..4 {
        let mut browser = Browser::default();
        let mut session = browser.load::<AppSession>(&first).await;
        session.user_id = Some(7);
        browser.save(&first, &mut session).await;
        shared.push(browser);
    }
    let writers = (0..16u32).map(|writer| {
        let (path, key, mut shared) = (dir.db(), key.clone(), shared.clone());
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
    let dir = TempDir::new("busy");
    let options = SqliteConnectOptions::new()
        .filename(dir.db())
        .create_if_missing(true)
        .busy_timeout(Duration::from_millis(50));
    let pool = SqlitePool::connect_with(options.clone()).await.unwrap();
    let backend = SqliteBackend::new(pool);
    backend.migrate().await.unwrap();
    let store = ServerStore::with_backend(backend, Key::generate());
    let mut browser = Browser::default();
    let mut session = browser.load::<AppSession>(&store).await;
    session.user_id = Some(7);
    browser.save(&store, &mut session).await;

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

//! What the SQL stores' own tests share, run on SQLite, PostgreSQL and MySQL: each function is one
//! promise, given the store and a plain pool on its database (`sqlx::Any`, so one statement text
//! serves all, put in MySQL's `?` placeholders by [`terms`]) to look at or damage the rows it wrote.

use std::time::Duration;

use sessions::clock::ManualClock;
use sessions::store::backend::Backend;
use sessions::store::{ServerStore, SqlStoreError};
use sessions::{Rejection, Store};
use sqlx::AnyPool;

use crate::{AppSession, Browser, RoundTrips};

/// A plain pool on the database at `url` (`sqlite://PATH`, `postgres://...`, `mysql://...`).
pub async fn raw_pool(url: &str) -> AnyPool {
    sqlx::any::install_default_drivers();
    AnyPool::connect(url).await.expect("the test database opens")
}

/// `statement`, written with `$1`, `$2`, ... (each used once, in order), in the terms of the
/// database `raw` is on: `?` on MySQL.
pub fn terms(raw: &AnyPool, statement: &str) -> sqlx::AssertSqlSafe<String> {
    let mysql = raw.connect_options().database_url.scheme() == "mysql";
    let mut text = statement.to_owned();
    if mysql {
        for number in (1..10).rev() {
            text = text.replace(&format!("${number}"), "?");
        }
    }
    sqlx::AssertSqlSafe(text)
}

/// Values are not readable in the rows, and a record copied under another id does not open there.
pub async fn records_are_sealed_at_rest_and_bound_to_their_id(store: &impl Store, raw: &AnyPool) {
    let mut alice = Browser::default();
    let mut session = alice.load::<AppSession>(store).await;
    session.theme = "plainly-visible-theme".into();
    alice.save(store, &mut session).await;
    let mut bob = Browser::default();
    let mut session = bob.load::<AppSession>(store).await;
    session.user_id = Some(2);
    bob.save(store, &mut session).await;

    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as("SELECT id, data FROM sessions ORDER BY id")
        .fetch_all(raw)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for (_, data) in &rows {
        assert!(
            !data.windows(8).any(|w| w == b"plainly-"),
            "a value readable at rest"
        );
    }
    sqlx::query(terms(raw, "UPDATE sessions SET data = $1 WHERE id = $2"))
        .bind(rows[0].1.clone())
        .bind(rows[1].0.clone())
        .execute(raw)
        .await
        .unwrap();
    let (alice_session, bob_session) = (
        alice.load::<AppSession>(store).await,
        bob.load::<AppSession>(store).await,
    );
    let opened = [&alice_session, &bob_session]
        .iter()
        .filter(|session| session.rejection().is_none())
        .count();
    assert_eq!(opened, 1, "only the record's own id opens it");
    assert!([alice_session.rejection(), bob_session.rejection()].contains(&Some(Rejection::Unreadable)));
}

/// `sweep` removes the rows that expired by the store's clock (`clock`), and only those; the
/// sweeper `spawn_sweeper` starts does the same until dropped.
pub async fn the_sweep_removes_what_expired_by_the_stores_clock<B: Backend>(
    store: &ServerStore<B>,
    clock: &ManualClock,
    raw: &AnyPool,
) {
    let sweep = async || store.sweep().await.unwrap().map(|swept| swept.expired);
    for user in 0..3 {
        let mut browser = Browser::default();
        let mut session = browser.load::<AppSession>(store).await;
        session.user_id = Some(user);
        browser.save(store, &mut session).await;
    }
    assert_eq!(sweep().await, Some(0), "nothing has expired yet");
    clock.advance(Duration::from_secs(30 * 60));
    let mut live = Browser::default();
    let mut session = live.load::<AppSession>(store).await;
    session.user_id = Some(9);
    live.save(store, &mut session).await;
    clock.advance(Duration::from_secs(31 * 60)); // the first three are past their idle hour
    assert_eq!(sweep().await, Some(3));
    assert_eq!(live.load::<AppSession>(store).await.user_id, Some(9));

    clock.advance(Duration::from_secs(2 * 3600));
    let sweeper = store.spawn_sweeper(Duration::from_millis(10)).unwrap();
    let mut left = 1;
    for _ in 0..500 {
        left = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM sessions")
            .fetch_one(raw)
            .await
            .unwrap();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(left, 0, "the sweeper did not remove the expired session");
    drop(sweeper);
}

/// Names that are not plain identifiers are refused; a store on the table `app_sessions` (which
/// `on_table` gives, its table created) keeps its rows there.
pub async fn a_table_of_its_own_name_and_names_that_are_not_identifiers<St: Store>(
    on_table: impl AsyncFn(&str) -> Result<St, SqlStoreError>,
    raw: &AnyPool,
) {
    let too_long = "s".repeat(52);
    for bad in [
        "",
        "1sessions",
        "sessions; DROP TABLE x",
        "sess-ions",
        "séances",
        &too_long,
    ] {
        let Err(error) = on_table(bad).await else {
            panic!("{bad:?} is not an identifier");
        };
        assert!(matches!(error, SqlStoreError::InvalidTable { .. }), "{bad:?}");
        assert!(error.to_string().contains("not a usable table name"), "{error}");
        assert!(error.to_string().contains("at most 51"), "{error}");
    }
    // The longest name there is: every name derived from it stays distinct within PostgreSQL's 63
    // bytes, so its indexes and its table of revocations are made beside it.
    let longest = on_table(&"s".repeat(51)).await.unwrap();
    let mut browser = Browser::default();
    let mut session = browser.load::<AppSession>(&longest).await;
    session.user_id = Some(7);
    browser.save(&longest, &mut session).await;
    assert_eq!(browser.load::<AppSession>(&longest).await.user_id, Some(7));
    let store = on_table("app_sessions").await.unwrap();
    let mut browser = Browser::default();
    let mut session = browser.load::<AppSession>(&store).await;
    session.user_id = Some(7);
    browser.save(&store, &mut session).await;
    assert_eq!(browser.load::<AppSession>(&store).await.user_id, Some(7));
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM app_sessions")
        .fetch_one(raw)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

/// A session table made before sessions had owners (`old_schema`, the statement that made it)
/// gets the owner columns from `open` (which migrates), keeping its rows; then sessions are
/// listed and revoked by owner, and the sweep clears the index with the rows.
pub async fn a_table_from_before_owners_gets_the_owner_index<St: Store>(
    old_schema: &str,
    open: impl AsyncFnOnce() -> St,
    raw: &AnyPool,
) {
    use crate::revocation::{Account, signed_in, who};
    use sessions::owner::Owner;

    sqlx::raw_sql(sqlx::AssertSqlSafe(old_schema))
        .execute(raw)
        .await
        .unwrap();
    let older = "INSERT INTO sessions (id, forward, data, expires_at) VALUES ('AAAAAAAAAAAAAAAAAAAAAA', FALSE, $1, 4000000000)";
    sqlx::query(terms(raw, older))
        .bind(b"an older session".to_vec())
        .execute(raw)
        .await
        .unwrap();
    let store = open().await;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions WHERE owner IS NULL")
        .fetch_one(raw)
        .await
        .unwrap();
    assert_eq!(rows, 1, "the older row stays, without an owner");

    let mut laptop = signed_in(&store, 7, "laptop").await;
    let mut phone = signed_in(&store, 7, "phone").await;
    let owner = Owner::of::<Account>(&7u64);
    assert_eq!(store.sessions_of::<Account>(&owner, None).await.unwrap().len(), 2);
    let mut session = laptop.load::<Account>(&store).await;
    store.revoke_all(&owner, Some(&mut session)).await.unwrap();
    assert_eq!(who(&store, &mut phone).await, None);
    assert_eq!(who(&store, &mut laptop).await, Some(7));
}

/// Each revocation of cookie sessions raises the owner's mark (to its time, or past the stored
/// mark when that time is not later: two in one microsecond, or a clock that went back), the row is
/// kept for the longer keep of two, and the sweep (`sweep`, at a given time) drops it once past that,
/// and not before.
pub async fn revocations_raise_the_mark_and_go_once_past_their_use(
    revocations: &impl sessions::store::backend::Revocations,
    sweep: impl AsyncFn(std::time::SystemTime) -> Result<Option<sessions::store::backend::Swept>, SqlStoreError>,
    raw: &AnyPool,
) {
    use sessions::owner::OwnerDigest;
    use std::time::UNIX_EPOCH;

    let owner = OwnerDigest::from_bytes([7; 16]);
    let at = UNIX_EPOCH + Duration::from_secs(crate::contract::START);
    let micros = |time: std::time::SystemTime| {
        u64::try_from(time.duration_since(UNIX_EPOCH).unwrap().as_micros()).unwrap()
    };
    let hour = Duration::from_secs(3600);
    assert_eq!(
        revocations.revoke(&owner, micros(at), hour).await.unwrap(),
        micros(at)
    );
    let earlier = at - Duration::from_secs(10);
    let minute = Duration::from_secs(60);
    assert_eq!(
        revocations.revoke(&owner, micros(earlier), minute).await.unwrap(),
        micros(at) + 1
    );
    assert_eq!(
        revocations.revoke(&owner, micros(at), minute).await.unwrap(),
        micros(at) + 2
    );
    assert_eq!(revocations.mark(&owner).await.unwrap(), Some(micros(at) + 2));
    let other = OwnerDigest::from_bytes([8; 16]);
    assert_eq!(revocations.mark(&other).await.unwrap(), None);

    let rows = async || -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM sessions_revocations")
            .fetch_one(raw)
            .await
            .unwrap()
    };
    sweep(at + Duration::from_secs(3599)).await.unwrap();
    assert_eq!(rows().await, 1, "kept for the longer of the two");
    sweep(at + hour).await.unwrap();
    assert_eq!(rows().await, 0);
    assert_eq!(revocations.mark(&owner).await.unwrap(), None);
}

/// Revocations read back from the table are input too: a mark past any real one refuses the
/// owner's sessions (here of `cookies`, sealing with `keys`, revoked through the table), never a
/// panic; a negative one, which no store writes, revokes nothing and fails no request.
pub async fn a_corrupt_revocation_does_not_panic(cookies: &impl Store, keys: &sessions::Keys, raw: &AnyPool) {
    use crate::revocation::{Account, signed_in, who};
    use sessions::owner::Owner;

    let mut laptop = signed_in(cookies, 7, "laptop").await;
    for (mark, user) in [(-1, Some(7)), (i64::MAX, None)] {
        sqlx::query("DELETE FROM sessions_revocations")
            .execute(raw)
            .await
            .unwrap();
        let insert = "INSERT INTO sessions_revocations (owner, mark, until) VALUES ($1, $2, $3)";
        sqlx::query(terms(raw, insert))
            .bind(Owner::of::<Account>(&7u64).digest(keys).to_text())
            .bind(mark)
            .bind(mark)
            .execute(raw)
            .await
            .unwrap();
        assert_eq!(who(cookies, &mut laptop).await, user, "{mark}");
    }
}

/// Rows read back are input too: a session row with a NULL or a value of another type in a column
/// (`corruptions`: statements that make one, each run on a table holding one signed-in session) is
/// a fresh session, refused as unreadable and counted, and the row is removed, never a 503 for that
/// user forever; the user signs in again. A listing is no error either.
pub async fn rows_that_do_not_decode_are_removed_never_a_503(
    store: &impl Store,
    raw: &AnyPool,
    corruptions: &[&str],
) {
    use crate::revocation::{Account, signed_in, who};
    use sessions::Rejection;
    use sessions::owner::Owner;

    let rows = async || -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM sessions")
            .fetch_one(raw)
            .await
            .unwrap()
    };
    for (done, corruption) in corruptions.iter().enumerate() {
        sqlx::query("DELETE FROM sessions").execute(raw).await.unwrap();
        let laptop = signed_in(store, 7, "laptop").await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(*corruption))
            .execute(raw)
            .await
            .unwrap();
        let listed = async || {
            let listed = store
                .sessions_of::<Account>(&Owner::of::<Account>(&7u64), None)
                .await;
            listed.map(|listed| listed.len()).ok()
        };
        assert!(listed().await.is_some(), "{corruption}: listing is no error");
        let refused = laptop.load::<Account>(store).await;
        assert_eq!(refused.rejection(), Some(Rejection::Unreadable), "{corruption}");
        assert_eq!(rows().await, 0, "{corruption}: the row is removed");
        assert_eq!(listed().await, Some(0), "{corruption}: nor listed");
        assert_eq!(store.rejections().get(Rejection::Unreadable), done as u64 + 1);
        let mut again = signed_in(store, 7, "laptop").await;
        assert_eq!(
            who(store, &mut again).await,
            Some(7),
            "{corruption}: signed in again"
        );
    }
}

/// The owner columns hold digests keyed with the store's key (`keys`), never the unkeyed digest
/// anyone with a list of user ids can compute, nor does the revocations table (written by
/// `cookies`, a cookie store on this table under `keys`). Rows a build before keyed digests
/// wrote (an unkeyed owner column) are listed and revoked all the same, and a save re-keys its row.
pub async fn the_owner_index_is_keyed_and_an_unkeyed_one_is_read_until_rewritten(
    store: &impl Store,
    cookies: &impl Store,
    keys: &sessions::Keys,
    raw: &AnyPool,
) {
    use crate::revocation::{Account, signed_in, who};
    use sessions::owner::Owner;

    let owner = Owner::of::<Account>(&7u64);
    let (keyed, unkeyed) = (owner.digest(keys).to_text(), owner.unkeyed().to_text());
    let owners = async || -> Vec<String> {
        sqlx::query_scalar("SELECT owner FROM sessions WHERE owner IS NOT NULL ORDER BY expires_at")
            .fetch_all(raw)
            .await
            .unwrap()
    };
    let mut laptop = signed_in(store, 7, "laptop").await;
    let mut phone = signed_in(store, 7, "phone").await;
    assert_eq!(owners().await, [keyed.clone(), keyed.clone()]);
    let _cookie = signed_in(cookies, 7, "laptop").await;
    cookies.revoke_all::<Account>(&owner, None).await.unwrap();
    let revoked: Vec<String> = sqlx::query_scalar("SELECT owner FROM sessions_revocations")
        .fetch_all(raw)
        .await
        .unwrap();
    assert_eq!(revoked, std::slice::from_ref(&keyed));

    // As a build before keyed digests left them:
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE sessions SET owner = '{unkeyed}' WHERE owner IS NOT NULL"
    )))
    .execute(raw)
    .await
    .unwrap();
    assert_eq!(store.sessions_of::<Account>(&owner, None).await.unwrap().len(), 2);
    let mut session = laptop.load::<Account>(store).await;
    session.cart.push(1);
    laptop.save(store, &mut session).await;
    let mut rewritten = owners().await;
    rewritten.sort();
    let mut expected = vec![keyed, unkeyed];
    expected.sort();
    assert_eq!(
        rewritten, expected,
        "the laptop's save re-keyed its row, only its own"
    );
    assert_eq!(
        store.sessions_of::<Account>(&owner, None).await.unwrap().len(),
        2,
        "each once"
    );
    store.revoke_all::<Account>(&owner, None).await.unwrap();
    assert_eq!(who(store, &mut laptop).await, None);
    assert_eq!(who(store, &mut phone).await, None);
    assert!(owners().await.is_empty());
}

/// Waits until every connection of `pool` is back in it: `sqlx` pings a connection as it goes
/// back, off the path of the request that used it, and a count of round trips must not catch that.
async fn idle<DB: sqlx::Database>(pool: &sqlx::Pool<DB>) {
    for _ in 0..1000 {
        if pool.num_idle() == pool.size() as usize {
            return;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    panic!("a connection never went back to the pool");
}

/// The round trips `operation` waits on, counted by `proxy`: everything on this thread (the test
/// runtime is single-threaded), so what the proxy has seen when `operation` returns is its own.
async fn round_trips<DB: sqlx::Database, T>(
    proxy: &RoundTrips,
    pool: &sqlx::Pool<DB>,
    operation: impl AsyncFnOnce() -> T,
) -> (u64, T) {
    idle(pool).await;
    let before = proxy.count();
    let done = operation().await;
    (proxy.count() - before, done)
}

/// A load is one round trip (counted by `proxy`, between `store`'s pool `pool` and its database),
/// and so is a save that no other save raced; a raced one reads, merges and swaps again.
pub async fn a_load_is_one_round_trip_and_so_is_a_save_no_other_save_raced<DB: sqlx::Database>(
    store: &impl Store,
    pool: &sqlx::Pool<DB>,
    proxy: &RoundTrips,
) {
    // Each statement is prepared on its first use on a connection, a round trip more: use each
    // once first, one operation at a time, so that the pool keeps one connection.
    let mut warm = Browser::default();
    let mut session = warm.load::<AppSession>(store).await;
    session.user_id = Some(1);
    round_trips(proxy, pool, async || warm.save(store, &mut session).await).await;
    let (_, mut one) = round_trips(proxy, pool, async || warm.load::<AppSession>(store).await).await;
    let (_, mut other) = round_trips(proxy, pool, async || warm.load::<AppSession>(store).await).await;
    one.cart.push(1);
    round_trips(proxy, pool, async || warm.save(store, &mut one).await).await;
    other.theme = "dark".into();
    round_trips(proxy, pool, async || warm.save(store, &mut other).await).await;

    let mut browser = Browser::default();
    let mut session = browser.load::<AppSession>(store).await;
    session.user_id = Some(7);
    let (trips, _) = round_trips(proxy, pool, async || browser.save(store, &mut session).await).await;
    assert_eq!(trips, 1, "saving a new session");
    let (trips, mut session) =
        round_trips(proxy, pool, async || browser.load::<AppSession>(store).await).await;
    assert_eq!((trips, session.user_id), (1, Some(7)), "loading a session");
    let (_, mut racing) = round_trips(proxy, pool, async || browser.load::<AppSession>(store).await).await;
    session.cart.push(3);
    let (trips, _) = round_trips(proxy, pool, async || browser.save(store, &mut session).await).await;
    assert_eq!(trips, 1, "saving a change");
    // This one loaded before that save: its swap finds another record, reads it, merges, swaps.
    racing.theme = "dark".into();
    let (trips, _) = round_trips(proxy, pool, async || browser.save(store, &mut racing).await).await;
    assert_eq!(trips, 3, "saving after another save");
    let session = browser.load::<AppSession>(store).await;
    assert_eq!(
        (session.cart.as_slice(), session.theme.as_str()),
        (&[3][..], "dark")
    );
}

/// Connections the database closed while they sat idle in `store`'s pool `pool` (all of them,
/// as a restart does: `close` closes every connection but its own and says how many)
/// cost no load or save an error.
pub async fn connections_closed_while_idle_cost_no_error<DB: sqlx::Database>(
    store: &impl Store,
    pool: &sqlx::Pool<DB>,
    close: impl AsyncFn() -> usize,
) {
    let close_the_stores_connections = async || {
        // Several connections in the pool, as under load: a restart loses them all.
        let held = tokio::join!(pool.acquire(), pool.acquire(), pool.acquire());
        assert!(held.0.is_ok() && held.1.is_ok() && held.2.is_ok());
        drop(held);
        idle(pool).await;
        assert!(pool.num_idle() >= 3, "{} idle connections", pool.num_idle());
        assert!(close().await >= 3, "the store's idle connections are closed");
    };
    let browser = Browser::signed_in(store, 7).await;

    close_the_stores_connections().await;
    let mut session = store.load::<AppSession>(&browser.request()).await.unwrap();
    assert_eq!(session.user_id, Some(7));
    close_the_stores_connections().await;
    session.cart.push(3);
    let mut response = http::HeaderMap::new();
    store.save(&mut session, &mut response).await.unwrap();
    close_the_stores_connections().await;
    assert_eq!(browser.load::<AppSession>(store).await.cart, [3]);
}

/// The tests every SQL store on a database server shares, in a module `$module` (whose `started`
/// the store's other tests use too): `$server` (with `start(name)`, `port()` and `url()`) a server
/// of each test's own, `$store` the store, with `connect(url, keys)`; `loosened`, statements that
/// make the table looser than the store's schema (each leaving a NULL where a value was), and
/// `index_named`, a query counting the indexes named `$1`. Attributes after them go on every test.
#[macro_export]
macro_rules! sql_server_tests {
    (
        $module:ident: $server:ty, $store:ty,
        loosened: [$($loosened:literal),* $(,)?],
        index_named: $index_named:literal
        $(, #[$attr:meta])* $(,)?
    ) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            use sessions::Key;
            use $crate::sql_table;

            /// A server of its own, named for the test, a store on it with a new key, and a plain
            /// pool on its database.
            pub(super) async fn started(name: &str) -> ($server, $store, sqlx::AnyPool) {
                let server = <$server>::start(name);
                let store = <$store>::connect(&server.url(), Key::generate()).await;
                let raw = sql_table::raw_pool(&server.url()).await;
                (server, store.expect("the store connects"), raw)
            }

            #[tokio::test]
            $(#[$attr])*
            async fn records_are_sealed_at_rest_and_bound_to_their_id() {
                let (_server, store, raw) = started("sealed").await;
                sql_table::records_are_sealed_at_rest_and_bound_to_their_id(&store, &raw).await;
            }

            #[tokio::test]
            $(#[$attr])*
            async fn rows_that_do_not_decode_are_removed_never_a_503() {
                let (_server, store, raw) = started("undecodable").await;
                let loosened = [$($loosened),*];
                sql_table::rows_that_do_not_decode_are_removed_never_a_503(&store, &raw, &loosened).await;
            }

            #[tokio::test]
            $(#[$attr])*
            async fn a_table_of_its_own_name_and_names_that_are_not_identifiers() {
                let (_server, store, raw) = started("table").await;
                let pool = store.backend().pool().clone();
                let on_table = async |table: &str| {
                    let backend = sessions::store::backend::SqlBackend::new(pool.clone()).with_table(table)?;
                    backend.migrate().await?;
                    backend.migrate().await?; // twice is fine
                    Ok(sessions::store::ServerStore::with_backend(backend, Key::generate()))
                };
                sql_table::a_table_of_its_own_name_and_names_that_are_not_identifiers(on_table, &raw).await;
                let indexes: i64 = sqlx::query_scalar(sql_table::terms(&raw, $index_named))
                    .bind("app_sessions_expires_at")
                    .fetch_one(&raw)
                    .await
                    .unwrap();
                assert_eq!(indexes, 1, "the sweep's index");
            }

            #[tokio::test]
            $(#[$attr])*
            async fn the_owner_index_is_keyed_and_an_unkeyed_one_is_read_until_rewritten() {
                let server = <$server>::start("keyed-index");
                let keys = sessions::Keys::new(Key::generate());
                let store = <$store>::connect(&server.url(), keys.clone()).await.unwrap();
                let cookies = sessions::CookieStore::new(keys.clone()).with_revocations(store.backend().clone());
                let raw = sql_table::raw_pool(&server.url()).await;
                sql_table::the_owner_index_is_keyed_and_an_unkeyed_one_is_read_until_rewritten(
                    &store, &cookies, &keys, &raw,
                )
                .await;
            }

            #[tokio::test]
            $(#[$attr])*
            async fn the_sweep_removes_what_expired_by_the_stores_clock() {
                let (_server, store, raw) = started("sweep").await;
                let clock = sessions::clock::ManualClock::at_unix($crate::contract::START);
                let store = store.with_clock(clock.clone());
                sql_table::the_sweep_removes_what_expired_by_the_stores_clock(&store, &clock, &raw).await;
            }

            #[tokio::test]
            $(#[$attr])*
            async fn a_failing_database_is_an_error_naming_the_table_never_a_fresh_session() {
                let (_server, store, raw) = started("failing").await;
                $crate::a_lost_table_is_an_error(&store, async || {
                    sqlx::query("DROP TABLE sessions").execute(&raw).await.unwrap();
                })
                .await;
            }

            #[tokio::test]
            $(#[$attr])*
            async fn a_load_is_one_round_trip_and_so_is_a_save_no_other_save_raced() {
                let server = <$server>::start("round-trips");
                let proxy = $crate::RoundTrips::start(server.port()).await;
                let through = |port: u16| format!(":{port}/");
                let url = server.url().replace(&through(server.port()), &through(proxy.port()));
                let store = <$store>::connect(&url, Key::generate()).await.unwrap();
                let pool = store.backend().pool().clone();
                sql_table::a_load_is_one_round_trip_and_so_is_a_save_no_other_save_raced(&store, &pool, &proxy)
                    .await;
            }

            #[tokio::test]
            $(#[$attr])*
            async fn revocations_raise_the_mark_and_go_once_past_their_use() {
                let (_server, store, raw) = started("revocations").await;
                let backend = store.backend();
                let sweep = async |now| sessions::store::backend::Backend::sweep(backend, now).await;
                sql_table::revocations_raise_the_mark_and_go_once_past_their_use(backend, sweep, &raw).await;
            }

            #[tokio::test]
            $(#[$attr])*
            async fn a_corrupt_revocation_does_not_panic() {
                let (_server, store, raw) = started("corrupt-revocation").await;
                let keys = sessions::Keys::new(Key::generate());
                let cookies = sessions::CookieStore::new(keys.clone()).with_revocations(store.backend().clone());
                sql_table::a_corrupt_revocation_does_not_panic(&cookies, &keys, &raw).await;
            }

            /// Twenty instances of an app starting at once on a new database all connect: their
            /// migrations do not fail one another (on PostgreSQL they take turns).
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn twenty_instances_starting_at_once_all_connect() {
                let server = <$server>::start("concurrent-migrations");
                let (url, key) = (server.url(), Key::generate());
                let starts: Vec<_> = (0..20)
                    .map(|_| {
                        let (url, key) = (url.clone(), key.clone());
                        tokio::spawn(async move { <$store>::connect(&url, key).await })
                    })
                    .collect();
                let mut stores = Vec::new();
                for start in starts {
                    stores.push(start.await.unwrap().expect("every instance connects"));
                }
                let mut browser = $crate::Browser::signed_in(&stores[0], 7).await;
                let mut session = browser.load::<$crate::AppSession>(&stores[19]).await;
                assert_eq!(session.user_id, Some(7));
                session.cart.push(3);
                browser.save(&stores[19], &mut session).await;
                assert_eq!(browser.load::<$crate::AppSession>(&stores[0]).await.cart, [3]);
            }
        }
    };
}

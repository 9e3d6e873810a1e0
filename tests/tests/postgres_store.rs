//! The PostgreSQL store beyond the shared contract (`store_contract.rs` runs that, against a
//! server of its own per test): records sealed at rest, the sweep, a custom table, round trips per
//! load and save, connections the database closed, and a database that fails.

use sessions::clock::ManualClock;
use sessions::store::backend::PostgresBackend;
use sessions::store::{PostgresStore, ServerStore};
use sessions::{Key, Store};
use sessions_tests::{AppSession, Browser, PostgresServer, RoundTrips, sql_table};

/// A PostgreSQL server of its own, named for the test, and a store on it with a new key.
async fn started(name: &str) -> (PostgresServer, PostgresStore) {
    let server = PostgresServer::start(name);
    let store = PostgresStore::connect(&server.url(), Key::generate()).await;
    (server, store.expect("the store connects"))
}

#[tokio::test]
#[cfg_attr(not(postgres_server), ignore = "initdb and postgres were not found")]
async fn records_are_sealed_at_rest_and_bound_to_their_id() {
    let (server, store) = started("sealed").await;
    let raw = sql_table::raw_pool(&server.url()).await;
    sql_table::records_are_sealed_at_rest_and_bound_to_their_id(&store, &raw).await;
}

#[tokio::test]
#[cfg_attr(not(postgres_server), ignore = "initdb and postgres were not found")]
async fn rows_that_do_not_decode_are_removed_never_a_503() {
    let (server, store) = started("undecodable").await;
    // A table the team made looser than the store's own schema.
    let corruptions = [
        "ALTER TABLE sessions ALTER COLUMN data DROP NOT NULL; UPDATE sessions SET data = NULL",
        "ALTER TABLE sessions ALTER COLUMN forward DROP NOT NULL; UPDATE sessions SET forward = NULL",
    ];
    let raw = sql_table::raw_pool(&server.url()).await;
    sql_table::rows_that_do_not_decode_are_removed_never_a_503(&store, &raw, &corruptions).await;
}

#[tokio::test]
#[cfg_attr(not(postgres_server), ignore = "initdb and postgres were not found")]
async fn the_owner_index_is_keyed_and_an_unkeyed_one_is_read_until_rewritten() {
    let server = PostgresServer::start("keyed-index");
    let keys = sessions::Keys::new(Key::generate());
    let store = PostgresStore::connect(&server.url(), keys.clone()).await.unwrap();
    let cookies = sessions::CookieStore::new(keys.clone()).with_revocations(store.backend().clone());
    let raw = sql_table::raw_pool(&server.url()).await;
    sql_table::the_owner_index_is_keyed_and_an_unkeyed_one_is_read_until_rewritten(
        &store, &cookies, &keys, &raw,
    )
    .await;
}

#[tokio::test]
#[cfg_attr(not(postgres_server), ignore = "initdb and postgres were not found")]
async fn the_sweep_removes_what_expired_by_the_stores_clock() {
    let server = PostgresServer::start("sweep");
    let clock = ManualClock::at_unix(1_700_000_000);
    let store = PostgresStore::connect(&server.url(), Key::generate())
        .await
        .unwrap()
        .with_clock(clock.clone());
    sql_table::the_sweep_removes_what_expired_by_the_stores_clock(
        &store,
        &clock,
        &sql_table::raw_pool(&server.url()).await,
    )
    .await;
}

#[tokio::test]
#[cfg_attr(not(postgres_server), ignore = "initdb and postgres were not found")]
async fn a_table_of_its_own_name_and_names_that_are_not_identifiers() {
    let server = PostgresServer::start("table");
    let pool = sqlx::PgPool::connect(&server.url()).await.unwrap();
    let on_table = async |table: &str| {
        let backend = PostgresBackend::new(pool.clone()).with_table(table)?;
        backend.migrate().await?;
        backend.migrate().await?; // twice is fine
        Ok(ServerStore::with_backend(backend, Key::generate()))
    };
    let raw = sql_table::raw_pool(&server.url()).await;
    sql_table::a_table_of_its_own_name_and_names_that_are_not_identifiers(on_table, &raw).await;
    let indexes: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_indexes WHERE indexname = 'app_sessions_expires_at'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(indexes, 1, "the sweep's index");
}

#[tokio::test]
#[cfg_attr(not(postgres_server), ignore = "initdb and postgres were not found")]
async fn a_failing_database_is_an_error_naming_the_table_never_a_fresh_session() {
    let (server, store) = started("failing").await;
    sessions_tests::a_lost_table_is_an_error(&store, async || {
        let pool = sqlx::PgPool::connect(&server.url()).await.unwrap();
        sqlx::query("DROP TABLE sessions").execute(&pool).await.unwrap();
    })
    .await;
}

/// Waits until every connection of `pool` is back in it: `sqlx` pings a connection as it goes
/// back, off the path of the request that used it, and a count of round trips must not catch that.
async fn idle(pool: &sqlx::PgPool) {
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
async fn round_trips<T>(
    proxy: &RoundTrips,
    pool: &sqlx::PgPool,
    operation: impl AsyncFnOnce() -> T,
) -> (u64, T) {
    idle(pool).await;
    let before = proxy.count();
    let done = operation().await;
    (proxy.count() - before, done)
}

#[tokio::test]
#[cfg_attr(not(postgres_server), ignore = "initdb and postgres were not found")]
async fn a_load_is_one_round_trip_and_so_is_a_save_no_other_save_raced() {
    let server = PostgresServer::start("round-trips");
    let proxy = RoundTrips::start(server.port()).await;
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", proxy.port());
    let store = PostgresStore::connect(&url, Key::generate()).await.unwrap();
    let pool = store.backend().pool().clone();
    // Each statement is prepared on its first use on a connection, a round trip more: use each
    // once first, one operation at a time, so that the pool keeps one connection.
    let mut warm = Browser::default();
    let mut session = warm.load::<AppSession>(&store).await;
    session.user_id = Some(1);
    round_trips(&proxy, &pool, async || warm.save(&store, &mut session).await).await;
    let (_, mut one) = round_trips(&proxy, &pool, async || warm.load::<AppSession>(&store).await).await;
    let (_, mut other) = round_trips(&proxy, &pool, async || warm.load::<AppSession>(&store).await).await;
    one.cart.push(1);
    round_trips(&proxy, &pool, async || warm.save(&store, &mut one).await).await;
    other.theme = "dark".into();
    round_trips(&proxy, &pool, async || warm.save(&store, &mut other).await).await;

    let mut browser = Browser::default();
    let mut session = browser.load::<AppSession>(&store).await;
    session.user_id = Some(7);
    let (trips, _) = round_trips(&proxy, &pool, async || browser.save(&store, &mut session).await).await;
    assert_eq!(trips, 1, "saving a new session");
    let (trips, mut session) =
        round_trips(&proxy, &pool, async || browser.load::<AppSession>(&store).await).await;
    assert_eq!((trips, session.user_id), (1, Some(7)), "loading a session");
    let (_, mut racing) = round_trips(&proxy, &pool, async || browser.load::<AppSession>(&store).await).await;
    session.cart.push(3);
    let (trips, _) = round_trips(&proxy, &pool, async || browser.save(&store, &mut session).await).await;
    assert_eq!(trips, 1, "saving a change");
    // This one loaded before that save: its swap finds another record, reads it, merges, swaps.
    racing.theme = "dark".into();
    let (trips, _) = round_trips(&proxy, &pool, async || browser.save(&store, &mut racing).await).await;
    assert_eq!(trips, 3, "saving after another save");
    let session = browser.load::<AppSession>(&store).await;
    assert_eq!(
        (session.cart.as_slice(), session.theme.as_str()),
        (&[3][..], "dark")
    );
}

#[tokio::test]
#[cfg_attr(not(postgres_server), ignore = "initdb and postgres were not found")]
async fn connections_the_database_closed_while_idle_cost_no_request_an_error() {
    let (server, store) = started("closed-idle").await;
    let admin = sqlx::PgPool::connect(&server.url()).await.unwrap();
    let pool = store.backend().pool();
    let close_the_stores_connections = async || {
        // Several connections in the pool, as under load: a restart loses them all.
        let held = tokio::join!(pool.acquire(), pool.acquire(), pool.acquire());
        assert!(held.0.is_ok() && held.1.is_ok() && held.2.is_ok());
        drop(held);
        idle(pool).await;
        assert!(pool.num_idle() >= 3, "{} idle connections", pool.num_idle());
        let closed: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'",
        )
        .fetch_all(&admin)
        .await
        .unwrap();
        assert!(closed.len() >= 3, "the store's idle connections are closed");
    };
    let browser = Browser::signed_in(&store, 7).await;

    close_the_stores_connections().await;
    let mut session = store.load::<AppSession>(&browser.request()).await.unwrap();
    assert_eq!(session.user_id, Some(7));
    close_the_stores_connections().await;
    session.cart.push(3);
    let mut response = http::HeaderMap::new();
    store.save(&mut session, &mut response).await.unwrap();
    close_the_stores_connections().await;
    assert_eq!(browser.load::<AppSession>(&store).await.cart, [3]);
}

#[tokio::test]
#[cfg_attr(not(postgres_server), ignore = "initdb and postgres were not found")]
async fn a_table_from_before_owners_gets_the_owner_index() {
    let server = PostgresServer::start("before-owners");
    let raw = sql_table::raw_pool(&server.url()).await;
    sql_table::a_table_from_before_owners_gets_the_owner_index(
        "CREATE TABLE sessions (id TEXT PRIMARY KEY, forward BOOLEAN NOT NULL, \
         data BYTEA NOT NULL, expires_at BIGINT NOT NULL)",
        async || {
            PostgresStore::connect(&server.url(), Key::generate())
                .await
                .unwrap()
        },
        &raw,
    )
    .await;
}

#[tokio::test]
#[cfg_attr(not(postgres_server), ignore = "initdb and postgres were not found")]
async fn revocations_raise_the_mark_and_go_once_past_their_use() {
    let (server, store) = started("revocations").await;
    let backend = store.backend();
    sql_table::revocations_raise_the_mark_and_go_once_past_their_use(
        backend,
        async |now| sessions::store::backend::Backend::sweep(backend, now).await,
        &sql_table::raw_pool(&server.url()).await,
    )
    .await;
}

#[tokio::test]
#[cfg_attr(not(postgres_server), ignore = "initdb and postgres were not found")]
async fn a_corrupt_revocation_does_not_panic() {
    let (server, store) = started("corrupt-revocation").await;
    let keys = sessions::Keys::new(Key::generate());
    let cookies = sessions::CookieStore::new(keys.clone()).with_revocations(store.backend().clone());
    sql_table::a_corrupt_revocation_does_not_panic(
        &cookies,
        &keys,
        &sql_table::raw_pool(&server.url()).await,
    )
    .await;
}

/// Twenty instances of an app starting at once on a new database all connect: their migrations
/// take turns, where `CREATE TABLE IF NOT EXISTS` run side by side fails on PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_server), ignore = "initdb and postgres were not found")]
async fn twenty_instances_starting_at_once_all_connect() {
    let server = PostgresServer::start("concurrent-migrations");
    let url = server.url();
    let key = Key::generate();
    let starts = (0..20).map(|_| {
        let (url, key) = (url.clone(), key.clone());
        tokio::spawn(async move { PostgresStore::connect(&url, key).await })
    });
    let mut stores = Vec::new();
    for start in starts.collect::<Vec<_>>() {
        stores.push(start.await.unwrap().expect("every instance connects"));
    }
    let mut browser = Browser::default();
    let mut session = browser.load::<AppSession>(&stores[0]).await;
    session.user_id = Some(7);
    browser.save(&stores[0], &mut session).await;
    assert_eq!(browser.load::<AppSession>(&stores[19]).await.user_id, Some(7));
}

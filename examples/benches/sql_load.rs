//! Our SQL stores against `tower-sessions-sqlx-store`, on SQLite (a database file each), on
//! PostgreSQL and on MariaDB (one server each on loopback, a database each), in one run:
//! 1. load plus save of a typical session in process: open it, flip a field, save. Interleaved in
//!    rounds (ours, theirs, theirs, ours, ...), each timing a fixed number of operations; the figure
//!    is the median of the per-round ratios, which on a noisy machine drifts far less than two
//!    separate runs. Then ours against the floor, no session store at all: one `SELECT` and one
//!    `UPDATE` by hand per operation, of a row the size of ours, in a table beside ours, on a pool
//!    built as ours is (no ping before each use).
//! 2. the demo's cart route over HTTP under wrk (`POST /cart`: load a 10-item cart, add one, drop
//!    the oldest, save), each request on the next of 256 sessions; rounds interleaved the same way.
//!
//! PostgreSQL needs `initdb` and `postgres` (Debian: `postgresql`), MariaDB `mariadb-install-db`
//! and `mariadbd` (Debian: `mariadb-server`), the HTTP part `wrk`; without them, those parts say
//! so and are skipped. Run: `cargo bench -p sessions-examples --bench sql_load`

#[path = "support/axum_servers.rs"]
mod axum_servers;
#[path = "support/load_save.rs"]
mod load_save;
#[path = "support/rounds.rs"]
mod rounds;
mod support;
// The typical session of the `sessions` crate's own benchmarks.
#[path = "../../sessions/benches/support/mod.rs"]
mod typical;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::routing::post;
use axum_servers::{serve, tower_sessions_cart};
use rounds::interleaved;
use sessions::store::{MySqlStore, PostgresStore, SqliteStore};
use sessions::{Key, Store};
use sessions_tests::{MySqlServer, PostgresServer, mysql_program, postgres_program};
use sqlx::mysql::MySqlPool;
use sqlx::postgres::PgPool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use support::{SECONDS, filled_cart, have_wrk, wrk};
use tower_sessions::SessionStore;
// tower-sessions' stores take pools of the `sqlx` they were built with (0.8; ours is 0.9).
use tower_sessions_sqlx_store::sqlx as their_sqlx;
use typical::signed_in;

/// Operations per round, and rounds, of the in-process part.
const OPERATIONS: u32 = 2_000;
const ROUNDS: usize = 12;
/// Sessions the HTTP part spreads its requests over, and its rounds (each `SECONDS` long).
const SESSIONS: usize = 256;
const HTTP_ROUNDS: usize = 4;

/// The stores on one database: ours and theirs, and the floor: the same table read and written by
/// hand, one `SELECT` and one `UPDATE` per operation, no session store at all.
struct Pair<Ours, Theirs> {
    database: &'static str,
    ours: Ours,
    theirs: Arc<Theirs>,
    floor: Floor,
}

/// A tower-sessions store, its table made, to share.
macro_rules! migrated {
    ($store:expr) => {{
        let store = $store;
        store.migrate().await.unwrap();
        Arc::new(store)
    }};
}

/// A table by hand in our store's database, with rows the size of our sealed records, on the
/// `sqlx` our stores use. (On tower-sessions' older `sqlx`, the same statements took 1.24x to
/// 1.85x our time on MariaDB.)
enum Floor {
    Sqlite(SqlitePool),
    Postgres(PgPool),
    MySql(MySqlPool),
}

impl Floor {
    const TABLE: &str = "CREATE TABLE IF NOT EXISTS floor (id TEXT PRIMARY KEY NOT NULL, \
        data BLOB NOT NULL, expires_at BIGINT NOT NULL); \
        CREATE INDEX IF NOT EXISTS floor_expires_at ON floor (expires_at); \
        INSERT INTO floor (id, data, expires_at) VALUES ('row', '', 0)";

    async fn sqlite(path: &std::path::Path) -> Self {
        let options = SqliteConnectOptions::new().filename(path).create_if_missing(true);
        let pool = SqlitePool::connect_with(options).await.unwrap();
        sqlx::raw_sql(Self::TABLE).execute(&pool).await.unwrap();
        Self::Sqlite(pool)
    }

    /// PostgreSQL's table (`BYTEA` for `BLOB`).
    async fn postgres(url: &str) -> Self {
        Self::Postgres(Self::server(url, ("BLOB", "BYTEA")).await)
    }

    /// MariaDB's table (a primary key of bounded length; MariaDB has `CREATE INDEX IF NOT EXISTS`).
    async fn mysql(url: &str) -> Self {
        Self::MySql(Self::server(url, ("TEXT", "VARCHAR(64)")).await)
    }

    /// The table on the database server at `url`, with one type of [`Floor::TABLE`] changed, on a
    /// pool that does not ping connections before use, as our stores' `connect` builds it
    /// (`sqlx`'s default pool, which tower-sessions is given here, does: a round trip more).
    async fn server<DB: sqlx::Database>(url: &str, (from, to): (&str, &str)) -> sqlx::Pool<DB>
    where
        for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    {
        let pool = sqlx::pool::PoolOptions::<DB>::new()
            .test_before_acquire(false)
            .connect(url)
            .await
            .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(Self::TABLE.replace(from, to)))
            .execute(&pool)
            .await
            .unwrap();
        pool
    }

    /// The size of the largest record our store keeps in the same database.
    async fn record_size(&self) -> usize {
        const SIZE: &str = "SELECT max(length(data)) FROM sessions";
        let size: i32 = match self {
            Self::Sqlite(pool) => sqlx::query_scalar(SIZE).fetch_one(pool).await.unwrap(),
            Self::Postgres(pool) => sqlx::query_scalar(SIZE).fetch_one(pool).await.unwrap(),
            Self::MySql(pool) => sqlx::query_scalar::<_, i64>(SIZE)
                .fetch_one(pool)
                .await
                .unwrap()
                .try_into()
                .unwrap(),
        };
        usize::try_from(size).unwrap()
    }

    /// `OPERATIONS` reads and writes of one row holding `size` bytes; the seconds they took.
    async fn round(&self, size: usize) -> f64 {
        // The row exists (made with the table), as a session's does when it is loaded and saved.
        const READ: &str = "SELECT data FROM floor WHERE id = $1";
        const WRITE: &str = "UPDATE floor SET data = $1, expires_at = $2 WHERE id = $3";
        const MYSQL_READ: &str = "SELECT data FROM floor WHERE id = ?";
        const MYSQL_WRITE: &str = "UPDATE floor SET data = ?, expires_at = ? WHERE id = ?";
        // The expiry our saves write: the idle timeout from now, in seconds, so the same within a
        // second and its index left alone. (One more per operation, as first written, made
        // MariaDB's floor take 1.86x our time, and 1.06x with this: an indexed column changed on
        // every update is what InnoDB pays for, not the statements.)
        let expires_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + 3600;
        let start = Instant::now();
        for n in 0..OPERATIONS {
            let mut data = vec![7u8; size];
            data[0] = n as u8;
            // The same statements on each pool, whose types differ.
            macro_rules! read_and_write {
                ($pool:expr) => {
                    read_and_write!($pool, READ, WRITE)
                };
                ($pool:expr, $read:expr, $write:expr) => {{
                    let _: Option<Vec<u8>> = sqlx::query_scalar($read)
                        .bind("row")
                        .fetch_optional($pool)
                        .await
                        .unwrap();
                    sqlx::query($write)
                        .bind(data)
                        .bind(expires_at)
                        .bind("row")
                        .execute($pool)
                        .await
                        .unwrap();
                }};
            }
            match self {
                Self::Sqlite(pool) => read_and_write!(pool),
                Self::Postgres(pool) => read_and_write!(pool),
                Self::MySql(pool) => read_and_write!(pool, MYSQL_READ, MYSQL_WRITE),
            }
        }
        start.elapsed().as_secs_f64()
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let dir = std::env::temp_dir().join(format!("sessions-sql-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    let sqlite = Pair {
        database: "SQLite (a file each, WAL)",
        ours: SqliteStore::open(dir.join("ours.db"), Key::generate())
            .await
            .unwrap(),
        theirs: {
            let options = their_sqlx::sqlite::SqliteConnectOptions::new()
                .filename(dir.join("theirs.db"))
                .create_if_missing(true);
            let pool = their_sqlx::SqlitePool::connect_with(options).await.unwrap();
            migrated!(tower_sessions_sqlx_store::SqliteStore::new(pool))
        },
        floor: Floor::sqlite(&dir.join("ours.db")).await,
    };
    load_and_save(&sqlite).await;
    let postgres_server = postgres_program("postgres").map(|_| PostgresServer::start("bench"));
    let postgres = match &postgres_server {
        Some(server) => Some(Pair {
            database: "PostgreSQL (loopback)",
            ours: PostgresStore::connect(&server.url(), Key::generate())
                .await
                .unwrap(),
            theirs: {
                let pool = their_sqlx::PgPool::connect(&server.url()).await.unwrap();
                migrated!(tower_sessions_sqlx_store::PostgresStore::new(pool))
            },
            floor: Floor::postgres(&server.url()).await,
        }),
        None => {
            eprintln!(
                "initdb and postgres are not installed (apt-get install postgresql): PostgreSQL is not measured"
            );
            None
        }
    };
    if let Some(postgres) = &postgres {
        load_and_save(postgres).await;
    }
    let mysql_server = mysql_program("mariadbd").map(|_| MySqlServer::start("bench"));
    let mysql = match &mysql_server {
        Some(server) => Some(Pair {
            database: "MariaDB (loopback)",
            ours: MySqlStore::connect(&server.url(), Key::generate()).await.unwrap(),
            theirs: {
                let pool = their_sqlx::MySqlPool::connect(&server.url()).await.unwrap();
                migrated!(tower_sessions_sqlx_store::MySqlStore::new(pool))
            },
            floor: Floor::mysql(&server.url()).await,
        }),
        None => {
            eprintln!("mariadbd is not installed (apt-get install mariadb-server): MariaDB is not measured");
            None
        }
    };
    if let Some(mysql) = &mysql {
        load_and_save(mysql).await;
    }
    if have_wrk() {
        cart_route(&sqlite).await;
        if let Some(postgres) = &postgres {
            cart_route(postgres).await;
        }
        if let Some(mysql) = &mysql {
            cart_route(mysql).await;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Part 1: load plus save of the typical session, in process.
async fn load_and_save<Theirs: SessionStore>(pair: &Pair<impl Store, Theirs>) {
    let request = signed_in(&pair.ours).await;
    let id = load_save::stored(&pair.theirs).await;
    let ours_round = async || load_save::ours(&pair.ours, &request, OPERATIONS).await;
    let theirs_round = async || load_save::theirs(&pair.theirs, id, OPERATIONS).await;
    // The floor writes rows the size of ours.
    let sealed_size = pair.floor.record_size().await;
    let floor_round = async || pair.floor.round(sealed_size).await;
    // One round each first, unmeasured: the page caches and the statement caches fill.
    ours_round().await;
    theirs_round().await;
    floor_round().await;
    let rounds = interleaved(ROUNDS, ours_round, theirs_round, |ours, theirs| theirs / ours).await;
    let floor = interleaved(ROUNDS, ours_round, floor_round, |ours, floor| floor / ours).await;
    let per_operation = |seconds: f64| seconds * 1e6 / f64::from(OPERATIONS);
    println!(
        "load + save of the typical session on {}, {ROUNDS} interleaved rounds of {OPERATIONS}:",
        pair.database
    );
    println!(
        "  sessions                   {:8.1} µs (median round)",
        per_operation(rounds.ours)
    );
    println!(
        "  tower-sessions-sqlx-store  {:8.1} µs (median round)",
        per_operation(rounds.theirs)
    );
    rounds.print_ratio("tower-sessions takes {ratio} our time");
    println!(
        "  the floor (a SELECT and an UPDATE of a {sealed_size}-byte row by hand) {:.1} µs",
        per_operation(floor.theirs)
    );
    floor.print_ratio("the floor takes {ratio} our time");
}

/// Part 2: the cart route over HTTP, under wrk, each request on the next of many sessions.
async fn cart_route<Theirs: SessionStore + Clone>(pair: &Pair<impl Store + Clone, Theirs>) {
    let ours = serve(sessions_examples::app(pair.ours.clone(), pair.ours.clone())).await;
    let layer = tower_sessions::SessionManagerLayer::new(Theirs::clone(&pair.theirs));
    let theirs = serve(
        Router::new()
            .route("/cart", post(tower_sessions_cart))
            .layer(layer),
    )
    .await;
    let (our_cookies, their_cookies) = (carts(ours).await, carts(theirs).await);
    let run = |address: SocketAddr, cookies: Vec<String>| async move {
        tokio::task::spawn_blocking(move || {
            let cookies: Vec<&str> = cookies.iter().map(String::as_str).collect();
            wrk(address, &cookies)
        })
        .await
        .unwrap()
    };
    let rounds = interleaved(
        HTTP_ROUNDS,
        async || run(ours, our_cookies.clone()).await,
        async || run(theirs, their_cookies.clone()).await,
        |ours, theirs| ours / theirs,
    )
    .await;
    println!(
        "POST /cart on {}, {SESSIONS} sessions, wrk -t1 -c32 -d{SECONDS}s, {HTTP_ROUNDS} interleaved rounds, one tokio worker:",
        pair.database
    );
    println!(
        "  sessions                   {:8.0} req/s (median round)",
        rounds.ours
    );
    println!(
        "  tower-sessions-sqlx-store  {:8.0} req/s (median round)",
        rounds.theirs
    );
    rounds.print_ratio("sessions serves {ratio} the requests of tower-sessions");
}

/// `SESSIONS` sessions with a full cart each on the app at `address`; their `Cookie` headers.
async fn carts(address: SocketAddr) -> Vec<String> {
    let mut cookies = Vec::with_capacity(SESSIONS);
    for _ in 0..SESSIONS {
        cookies.push(filled_cart(address).await);
    }
    cookies
}

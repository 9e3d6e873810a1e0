//! Sessions in PostgreSQL, through `sqlx` (feature `postgres`): for a fleet of app instances that
//! already share a database.
//!
//! The table and its saves are those of every SQL store (`store/sql/table.rs`). A load is one round
//! trip; so is a save when no other save came between (a conditional `UPDATE` over the record the
//! session was loaded from), and a save that moves the session is one transaction that locks the
//! old row first (`SELECT ... FOR UPDATE`).

use std::time::Duration;

use sqlx::Connection as _;
use sqlx::Postgres;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};

use crate::key::Keys;
use crate::store::backends::sql::statements::Dialect;
use crate::store::backends::sql::{SqlBackend, SqlDatabase, SqlStoreError, dialect, run_script};
use crate::store::server::ServerStore;

/// A [`ServerStore`] keeping sessions in PostgreSQL.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use sessions::Key;
/// use sessions::store::PostgresStore;
///
/// let store = PostgresStore::connect("postgres://app@10.0.0.7/app", Key::from_env("SESSION_KEY")?).await?;
/// let sweeper = store.spawn_sweeper(std::time::Duration::from_secs(600))?;
/// # Ok(()) }
/// ```
pub type PostgresStore = ServerStore<PostgresBackend>;

impl PostgresStore {
    /// Connects to the database at `url`, with the table `sessions` created if missing. A load or
    /// save that cannot get a connection within 5 seconds (the database down or overloaded) is an
    /// error, as is this call; for other pool settings, give [`PostgresBackend::new`] your own pool.
    ///
    /// A load is one round trip to the database, and so is a save when no other save of the
    /// session came between: the pool does not ping a connection before handing it out (`sqlx`
    /// does by default, a round trip more). A connection the database closed while it sat idle
    /// (a restart) shows when it is used, and the load or save is tried again on another one.
    /// To get the same from your own pool, build it with
    /// [`test_before_acquire(false)`](PgPoolOptions::test_before_acquire).
    pub async fn connect(url: &str, keys: impl Into<Keys>) -> Result<Self, SqlStoreError> {
        let failed = |database: String| {
            move |source| SqlStoreError::Connect {
                doing: "connect to",
                database,
                fix: "is the server running there, does it take this user, and is the URL right?",
                source,
            }
        };
        let options: PgConnectOptions = url.parse().map_err(failed("PostgreSQL (the URL)".into()))?;
        let database = format!(
            "PostgreSQL at {}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or_default()
        );
        // One connection first, outside the pool: a pool retries a refused connection until its
        // acquire timeout and then says only that it timed out; this says why, at once.
        let probe = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .unwrap_or(Err(sqlx::Error::PoolTimedOut))
            .map_err(failed(database.clone()))?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .acquire_timeout(CONNECT_TIMEOUT)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(failed(database))?;
        let backend = PostgresBackend::new(pool);
        backend.migrate().await?;
        Ok(Self::with_backend(backend, keys))
    }
}

/// The backend of [`PostgresStore`], on the app's own pool: the SQL backend on PostgreSQL. Its
/// schema ([`SqlBackend::schema`]), with `{table}` for the table's name:
///
/// ```sql
#[doc = include_str!("postgres.sql")]
/// ```
pub type PostgresBackend = SqlBackend<Postgres>;

/// A save that moves a session locks the old row (`FOR UPDATE`), so two such saves of one session
/// take turns; other sessions' saves go on.
/// How long connecting (and, later, getting a connection from the pool) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

const POSTGRES: Dialect = Dialect {
    // Under READ COMMITTED, a delete that waited for a moving save's lock finds the old row gone
    // and cannot see the new one; under REPEATABLE READ it fails instead (SQLSTATE 40001).
    begin_revoke: "BEGIN ISOLATION LEVEL REPEATABLE READ",
    lock_read: " FOR UPDATE",
    schema: include_str!("postgres.sql"),
    // PostgreSQL waits for row locks; it has no "busy" answer to wait out (the default's).
    ..Dialect::ON_CONFLICT
};

impl SqlDatabase for Postgres {}

crate::store::backends::sql::rows::rows_on!(rows, sqlx::PgConnection, sqlx::Postgres);

impl dialect::Sealed for Postgres {
    const DIALECT: &'static Dialect = &POSTGRES;

    /// Runs the schema under a transaction-scoped advisory lock, so that runs from many processes
    /// at once take turns: PostgreSQL's `CREATE TABLE IF NOT EXISTS` fails when two run together.
    async fn migrate(pool: &PgPool, table: &str, schema: String) -> Result<(), SqlStoreError> {
        // One multi-statement query is one transaction, so the lock is held until the script ends.
        let script = format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK});\n{schema}");
        run_script(pool, table, script).await
    }
}

/// The advisory lock key [`PostgresBackend::migrate`] holds: the first eight bytes of "sessions"
/// as a big-endian number, shared by every table of every app on the database (migrations are rare).
const MIGRATION_LOCK: i64 = i64::from_be_bytes(*b"sessions");

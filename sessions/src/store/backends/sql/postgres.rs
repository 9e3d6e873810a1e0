//! Sessions in PostgreSQL, through `sqlx` (feature `postgres`): for a fleet of app instances that
//! already share a database.
//!
//! The table and its saves are those of every SQL store (`store/sql/table.rs`). A load is one round
//! trip; so is a save when no other save came between (a conditional `UPDATE` over the record the
//! session was loaded from), and a save that moves the session is one transaction that locks the
//! old row first (`SELECT ... FOR UPDATE`).

use sqlx::Postgres;
use sqlx::postgres::PgPool;

use crate::store::backends::sql::statements::Dialect;
use crate::store::backends::sql::{SqlBackend, SqlStoreError, dialect, run_script};
use crate::store::server::ServerStore;

/// A [`ServerStore`] keeping sessions in PostgreSQL, opened with
/// [`connect`](ServerStore::connect).
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

/// The backend of [`PostgresStore`], on the app's own pool: the SQL backend on PostgreSQL. Its
/// schema ([`SqlBackend::schema`]), with `{table}` for the table's name:
///
/// ```sql
#[doc = include_str!("postgres.sql")]
/// ```
pub type PostgresBackend = SqlBackend<Postgres>;

const POSTGRES: Dialect = Dialect {
    // Under READ COMMITTED, a delete that waited for a moving save's lock finds the old row gone
    // and cannot see the new one; under REPEATABLE READ it fails instead (SQLSTATE 40001).
    begin_revoke: "BEGIN ISOLATION LEVEL REPEATABLE READ",
    // A save that moves a session locks the old row, so two such saves of one session take
    // turns; other sessions' saves go on.
    lock_read: " FOR UPDATE",
    // "terminating connection due to administrator command" (a restart, or
    // `pg_terminate_backend`) and "... because of crash of another server process".
    lost: |code| matches!(code, "57P01" | "57P02"),
    schema: include_str!("postgres.sql"),
    // PostgreSQL waits for row locks; it has no "busy" answer to wait out (the default's).
    ..Dialect::ON_CONFLICT
};

crate::store::backends::sql::sql_database!(rows, sqlx::PgConnection, sqlx::Postgres, server);

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

//! Sessions in an SQLite database, through `sqlx` (feature `sqlite`).
//!
//! The table and its saves are those of every SQL store (`store/sql/table.rs`): a save that keeps
//! its id is a compare and swap, one that moves the session is one `BEGIN IMMEDIATE` transaction.
//! The compare and swap took 8% less time than a transaction per save
//! (`cargo bench -p sessions-examples --bench sql_load`: 1,379 to 1,271 µs per load and save, most
//! of it the commit's sync to disk).

use std::path::Path;

use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

use crate::key::Keys;
use crate::store::backends::sql::statements::Dialect;
use crate::store::backends::sql::{SqlBackend, SqlStoreError, database_error, dialect, run_script};
use crate::store::server::ServerStore;

/// A [`ServerStore`] keeping sessions in SQLite.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use sessions::Key;
/// use sessions::store::SqliteStore;
///
/// let store = SqliteStore::open("sessions.db", Key::from_env("SESSION_KEY")?).await?;
/// // Expired sessions are removed while `sweeper` lives.
/// let sweeper = store.spawn_sweeper(std::time::Duration::from_secs(600))?;
/// # Ok(()) }
/// ```
pub type SqliteStore = ServerStore<SqliteBackend>;

impl SqliteStore {
    /// Opens the database at `path` (created if missing), with the table `sessions` created if
    /// missing.
    pub async fn open(path: impl AsRef<Path>, keys: impl Into<Keys>) -> Result<Self, SqlStoreError> {
        let path = path.as_ref();
        let options = SqliteConnectOptions::new().filename(path).create_if_missing(true);
        let pool = SqlitePool::connect_with(options)
            .await
            .map_err(|source| SqlStoreError::Connect {
                doing: "open",
                database: format!("the SQLite database `{}`", path.display()),
                fix: "does its directory exist, and may this process write there?",
                source,
            })?;
        let backend = SqliteBackend::new(pool);
        backend.migrate().await?;
        Ok(Self::with_backend(backend, keys))
    }
}

/// The backend of [`SqliteStore`], on the app's own pool: the SQL backend on SQLite. Its schema
/// ([`SqlBackend::schema`]), with `{table}` for the table's name:
///
/// ```sql
#[doc = include_str!("sqlite.sql")]
/// ```
pub type SqliteBackend = SqlBackend<Sqlite>;

/// IMMEDIATE takes the write lock first, so two saves that move sessions never both read and
/// then both wait to write ("database is locked"); SQLite locks the whole database, not rows.
const SQLITE: Dialect = Dialect {
    begin_move: "BEGIN IMMEDIATE",
    // Writes take turns on SQLite: nothing moves while the delete runs.
    begin_revoke: "BEGIN IMMEDIATE",
    lock_read: "",
    busy: sqlite_busy,
    greatest: "max",
    schema: include_str!("sqlite.sql"),
    ..Dialect::ON_CONFLICT
};

/// `SQLITE_BUSY` or `SQLITE_LOCKED`, with any extended code. SQLite answers it at once, without
/// waiting, where waiting could deadlock: a statement holding a read lock that needs the write
/// lock while another connection commits. Run again, the statement goes through.
fn sqlite_busy(code: &str) -> bool {
    code.parse::<i32>().is_ok_and(|code| matches!(code & 0xff, 5 | 6))
}

crate::store::backends::sql::sql_database!(rows, sqlx::SqliteConnection, sqlx::Sqlite);

impl dialect::Sealed for Sqlite {
    const DIALECT: &'static Dialect = &SQLITE;

    /// SQLite's writes take turns, so the schema runs as it is; a table made before sessions had
    /// owners gets their columns first (`ALTER TABLE ... ADD COLUMN` has no `IF NOT EXISTS` there).
    async fn migrate(pool: &SqlitePool, name: &str, schema: String) -> Result<(), SqlStoreError> {
        let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
            .bind(name)
            .fetch_all(pool)
            .await
            .map_err(database_error("read the columns of", name))?;
        if !columns.is_empty() && !columns.iter().any(|column| column == "owner") {
            let add = format!(
                "ALTER TABLE {name} ADD COLUMN owner TEXT; ALTER TABLE {name} ADD COLUMN summary BLOB;"
            );
            run_script(pool, name, add).await?;
        }
        run_script(pool, name, schema).await
    }
}

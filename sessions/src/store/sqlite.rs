//! Sessions in an SQLite database, through `sqlx` (feature `sqlite`).
//!
//! The table and its saves are those of every SQL store (`store/sql/table.rs`): a save that keeps
//! its id is a compare and swap, one that moves the session is one `BEGIN IMMEDIATE` transaction.
//! The compare and swap took 8% less time than a transaction per save
//! (`cargo bench -p sessions-examples --bench sql_load`: 1,379 to 1,271 µs per load and save, most
//! of it the commit's sync to disk).

use std::path::Path;
use std::time::{Duration, SystemTime};

use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

use crate::key::Keys;
use crate::store::server::ServerStore;
use crate::store::sql::statements::Dialect;
use crate::store::sql::table::{Table, backend_on_table};
use crate::store::sql::{SqlStoreError, SqlSweeper, checked_table, database_error};

/// A [`ServerStore`] keeping sessions in SQLite.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use sessions::Key;
/// use sessions::store::SqliteStore;
///
/// let store = SqliteStore::open("sessions.db", Key::from_env("SESSION_KEY")?).await?;
/// // Expired sessions are removed while `sweeper` lives.
/// let sweeper = store.spawn_sweeper(std::time::Duration::from_secs(600));
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

    /// Removes the sessions that expired by the store's clock; returns how many.
    pub async fn sweep(&self) -> Result<u64, SqlStoreError> {
        self.backend().sweep(self.now()).await
    }

    /// Sweeps every `interval` (at least 10 ms) on a tokio task until the returned handle is
    /// dropped. A sweep that fails is logged, and the next runs on time.
    pub fn spawn_sweeper(&self, interval: Duration) -> SqlSweeper {
        let store = self.clone();
        SqlSweeper::spawn(interval, move || {
            let store = store.clone();
            async move { store.sweep().await }
        })
    }
}

/// The backend of [`SqliteStore`], on the app's own pool.
#[derive(Debug, Clone)]
pub struct SqliteBackend {
    table: Table<Sqlite>,
}

/// IMMEDIATE takes the write lock first, so two saves that move sessions never both read and
/// then both wait to write ("database is locked"); SQLite locks the whole database, not rows.
const SQLITE: Dialect = Dialect {
    begin_move: "BEGIN IMMEDIATE",
    // Writes take turns on SQLite: nothing moves while the delete runs.
    begin_revoke: "BEGIN IMMEDIATE",
    lock_read: "",
    busy: sqlite_busy,
    greatest: "max",
};

/// `SQLITE_BUSY` or `SQLITE_LOCKED`, with any extended code. SQLite answers it at once, without
/// waiting, where waiting could deadlock: a statement holding a read lock that needs the write
/// lock while another connection commits. Run again, the statement goes through.
fn sqlite_busy(code: &str) -> bool {
    code.parse::<i32>().is_ok_and(|code| matches!(code & 0xff, 5 | 6))
}

impl SqliteBackend {
    /// A backend on `pool`, in the table `sessions`; call [`SqliteBackend::migrate`] once, or
    /// create the table yourself from [`SqliteBackend::schema`].
    pub fn new(pool: SqlitePool) -> Self {
        Self {
            table: Table::new(pool, &SQLITE),
        }
    }

    /// The same backend on the table `table`: ASCII letters, digits and `_`, not starting with a
    /// digit, at most 51 characters.
    pub fn with_table(self, table: &str) -> Result<Self, SqlStoreError> {
        Ok(Self {
            table: self.table.renamed(table)?,
        })
    }

    /// The SQL that creates the table `table`, its indexes and its table of revocations, for teams
    /// that run their own migrations (what [`SqliteBackend::migrate`] runs); refused for a table
    /// name [`with_table`](SqliteBackend::with_table) refuses. With `{table}` for the name:
    ///
    /// ```sql
    #[doc = include_str!("sql/sqlite.sql")]
    /// ```
    ///
    /// ```
    /// # use sessions::store::SqliteBackend;
    /// let sql = SqliteBackend::schema("app_sessions").unwrap();
    /// assert!(sql.contains("CREATE TABLE IF NOT EXISTS app_sessions_revocations"));
    /// assert!(SqliteBackend::schema("sessions; DROP TABLE users").is_err());
    /// ```
    pub fn schema(table: &str) -> Result<String, SqlStoreError> {
        Ok(include_str!("sql/sqlite.sql").replace("{table}", checked_table(table)?))
    }

    /// The pool it runs on.
    pub fn pool(&self) -> &SqlitePool {
        self.table.pool()
    }

    /// Creates the table and its index if they are missing.
    pub async fn migrate(&self) -> Result<(), SqlStoreError> {
        let table = self.table.name();
        // A table made before sessions had owners gets their columns (`ALTER TABLE ... ADD COLUMN`
        // has no `IF NOT EXISTS` in SQLite).
        let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
            .bind(table)
            .fetch_all(self.pool())
            .await
            .map_err(database_error("read the columns of", table))?;
        if !columns.is_empty() && !columns.iter().any(|column| column == "owner") {
            let add = format!(
                "ALTER TABLE {table} ADD COLUMN owner TEXT; ALTER TABLE {table} ADD COLUMN summary BLOB;"
            );
            self.table.create(add).await?;
        }
        self.table.create(Self::schema(table)?).await
    }

    /// Removes what expired at or before `now`; returns how many rows.
    pub async fn sweep(&self, now: SystemTime) -> Result<u64, SqlStoreError> {
        self.table.sweep(now).await
    }
}

backend_on_table!(SqliteBackend);

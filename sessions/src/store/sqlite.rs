//! Sessions in an SQLite database, through `sqlx` (feature `sqlite`).
//!
//! One row per session id: the sealed record (or, for a minute after `cycle_id`, the sealed forward
//! to where the session moved) and when it expires.
//!
//! A save reads the stored record, merges this save's changed fields into it, and writes it back
//! with one statement that changes the row only if it still holds what was read (compare and swap);
//! if another save got there first, it reads and merges again. So concurrent saves from any number
//! of processes merge per field and none is lost, and a session removed meanwhile is not written
//! again. A save that moves the session (`cycle_id`) is one `BEGIN IMMEDIATE` transaction: merge,
//! write under the new id, leave the forward under the old one. The compare and swap takes two
//! statements where the transaction takes four: a load and save took 8% less time
//! (`cargo bench -p sessions-examples --bench sql_load`: 1,379 to 1,271 µs, most of it the commit's
//! sync to disk).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use sqlx::{AssertSqlSafe, Row as _, SqliteConnection};

use crate::codec::id::SessionId;
use crate::key::Keys;
use crate::store::server::{Backend, Saved, ServerStore, SessionWrite, Stored};
use crate::store::sql::{
    DEFAULT_TABLE, SqlStoreError, SqlSweeper, checked_table, database_error, unix_seconds,
};

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
        let options = SqliteConnectOptions::new().filename(path).create_if_missing(true);
        let pool = SqlitePool::connect_with(options)
            .await
            .map_err(database_error("open the database for", DEFAULT_TABLE))?;
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
    pool: SqlitePool,
    sql: Arc<Statements>,
}

/// The statements, written once for the table's name.
#[derive(Debug)]
struct Statements {
    table: String,
    load: String,
    upsert: String,
    insert_new: String,
    swap: String,
    delete: String,
    sweep: String,
}

impl Statements {
    fn new(table: &str) -> Self {
        Self {
            table: table.to_owned(),
            load: format!("SELECT forward, data FROM {table} WHERE id = ?1"),
            upsert: format!(
                "INSERT INTO {table} (id, forward, data, expires_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (id) DO UPDATE SET forward = ?2, data = ?3, expires_at = ?4"
            ),
            insert_new: format!(
                "INSERT INTO {table} (id, forward, data, expires_at) VALUES (?1, 0, ?2, ?3) \
                 ON CONFLICT (id) DO NOTHING"
            ),
            swap: format!(
                "UPDATE {table} SET data = ?2, expires_at = ?3 WHERE id = ?1 AND forward = 0 AND data = ?4"
            ),
            delete: format!("DELETE FROM {table} WHERE id = ?1"),
            sweep: format!("DELETE FROM {table} WHERE expires_at <= ?1"),
        }
    }
}

impl SqliteBackend {
    /// A backend on `pool`, in the table `sessions`; call [`SqliteBackend::migrate`] once, or
    /// create the table yourself from [`SqliteBackend::schema`].
    pub fn new(pool: SqlitePool) -> Self {
        Self {
            pool,
            sql: Arc::new(Statements::new(DEFAULT_TABLE)),
        }
    }

    /// The same backend on the table `table`: ASCII letters, digits and `_`, not starting with a
    /// digit, at most 63 characters.
    pub fn with_table(self, table: &str) -> Result<Self, SqlStoreError> {
        Ok(Self {
            sql: Arc::new(Statements::new(checked_table(table)?)),
            ..self
        })
    }

    /// The SQL that creates the table `table` and its index, for teams that run their own
    /// migrations. For `sessions`:
    ///
    /// ```sql
    /// CREATE TABLE IF NOT EXISTS sessions (
    ///     id TEXT PRIMARY KEY NOT NULL,  -- SessionId::to_text
    ///     forward INTEGER NOT NULL,      -- 1: `data` is a sealed forward, not a record
    ///     data BLOB NOT NULL,            -- sealed: nothing here is readable without the key
    ///     expires_at INTEGER NOT NULL    -- unix seconds
    /// ) WITHOUT ROWID;
    /// CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);
    /// ```
    pub fn schema(table: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {table} (\n    \
                 id TEXT PRIMARY KEY NOT NULL,\n    \
                 forward INTEGER NOT NULL,\n    \
                 data BLOB NOT NULL,\n    \
                 expires_at INTEGER NOT NULL\n\
             ) WITHOUT ROWID;\n\
             CREATE INDEX IF NOT EXISTS {table}_expires_at ON {table} (expires_at);\n"
        )
    }

    /// Creates the table and its index if they are missing.
    pub async fn migrate(&self) -> Result<(), SqlStoreError> {
        let schema = Self::schema(&self.sql.table);
        sqlx::raw_sql(AssertSqlSafe(schema))
            .execute(&self.pool)
            .await
            .map_err(database_error("create", &self.sql.table))?;
        Ok(())
    }

    /// Removes what expired at or before `now`; returns how many rows.
    pub async fn sweep(&self, now: SystemTime) -> Result<u64, SqlStoreError> {
        let done = sqlx::query(AssertSqlSafe(&*self.sql.sweep))
            .bind(unix_seconds(now))
            .execute(&self.pool)
            .await
            .map_err(database_error("sweep", &self.sql.table))?;
        Ok(done.rows_affected())
    }

    /// What is stored under `id`, read on `connection`.
    async fn stored(
        &self,
        connection: &mut SqliteConnection,
        id: &SessionId,
    ) -> Result<Option<Stored>, sqlx::Error> {
        let row = sqlx::query(AssertSqlSafe(&*self.sql.load))
            .bind(id.to_text())
            .fetch_optional(connection)
            .await?;
        row.map(|row| {
            let data: Vec<u8> = row.try_get("data")?;
            Ok(if row.try_get::<bool, _>("forward")? {
                Stored::Moved(data)
            } else {
                Stored::Record(data)
            })
        })
        .transpose()
    }

    async fn upsert(
        &self,
        connection: &mut SqliteConnection,
        id: &SessionId,
        (forward, data, expires_at): (bool, &[u8], SystemTime),
    ) -> Result<(), sqlx::Error> {
        sqlx::query(AssertSqlSafe(&*self.sql.upsert))
            .bind(id.to_text())
            .bind(forward)
            .bind(data)
            .bind(unix_seconds(expires_at))
            .execute(connection)
            .await?;
        Ok(())
    }

    async fn delete_on(&self, connection: &mut SqliteConnection, id: &SessionId) -> Result<(), sqlx::Error> {
        sqlx::query(AssertSqlSafe(&*self.sql.delete))
            .bind(id.to_text())
            .execute(connection)
            .await?;
        Ok(())
    }

    /// [`Backend::save`] of a session that keeps its id: read, merge, and write only if the row
    /// still holds what was read; otherwise again.
    async fn save_in_place(&self, write: &SessionWrite) -> Result<Saved, sqlx::Error> {
        let mut connection = self.pool.acquire().await?;
        let (id, expires_at) = (write.id().to_text(), unix_seconds(write.expires_at()));
        loop {
            let written = match self.stored(&mut connection, write.id()).await? {
                Some(Stored::Moved(forward)) => return Ok(Saved::Moved(forward)),
                Some(Stored::Record(current)) => {
                    let Some(merged) = write.merge(Some(&current)) else {
                        return Ok(Saved::Removed);
                    };
                    sqlx::query(AssertSqlSafe(&*self.sql.swap))
                        .bind(&id)
                        .bind(merged)
                        .bind(expires_at)
                        .bind(current)
                        .execute(&mut *connection)
                        .await?
                }
                Some(Stored::Entries(_)) | None => {
                    let Some(merged) = write.merge(None) else {
                        return Ok(Saved::Removed);
                    };
                    sqlx::query(AssertSqlSafe(&*self.sql.insert_new))
                        .bind(&id)
                        .bind(merged)
                        .bind(expires_at)
                        .execute(&mut *connection)
                        .await?
                }
            };
            if written.rows_affected() == 1 {
                return Ok(Saved::Stored);
            }
            // Another save changed the row between the read and the write: merge into that.
        }
    }

    /// [`Backend::save`] of a session that moves to a new id, in one write transaction.
    async fn save_in_transaction(&self, write: &SessionWrite) -> Result<Saved, sqlx::Error> {
        // IMMEDIATE takes the write lock first, so two savers never both read and then both wait
        // to write.
        let mut transaction = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let record = match self.stored(&mut transaction, write.source_id()).await? {
            Some(Stored::Moved(forward)) => return Ok(Saved::Moved(forward)),
            Some(Stored::Record(record)) => Some(record),
            Some(Stored::Entries(_)) | None => None,
        };
        let Some(merged) = write.merge(record.as_deref()) else {
            return Ok(Saved::Removed);
        };
        if write.source_id() != write.id() {
            match write.forward() {
                Some(forward) => {
                    let row = (true, forward, write.forward_expires_at());
                    self.upsert(&mut transaction, write.source_id(), row).await?;
                }
                None => self.delete_on(&mut transaction, write.source_id()).await?,
            }
        }
        let row = (false, &merged[..], write.expires_at());
        self.upsert(&mut transaction, write.id(), row).await?;
        transaction.commit().await?;
        Ok(Saved::Stored)
    }
}

impl Backend for SqliteBackend {
    type Error = SqlStoreError;

    async fn load(&self, id: &SessionId) -> Result<Option<Stored>, SqlStoreError> {
        let mut connection = self
            .pool
            .acquire()
            .await
            .map_err(database_error("read", &self.sql.table))?;
        self.stored(&mut connection, id)
            .await
            .map_err(database_error("read", &self.sql.table))
    }

    async fn save(&self, write: SessionWrite) -> Result<Saved, SqlStoreError> {
        let saved = if write.source_id() == write.id() {
            self.save_in_place(&write).await
        } else {
            self.save_in_transaction(&write).await
        };
        saved.map_err(database_error("write", &self.sql.table))
    }

    async fn delete(&self, id: &SessionId) -> Result<(), SqlStoreError> {
        let mut connection = self
            .pool
            .acquire()
            .await
            .map_err(database_error("delete from", &self.sql.table))?;
        self.delete_on(&mut connection, id)
            .await
            .map_err(database_error("delete from", &self.sql.table))
    }
}

//! Sessions in PostgreSQL, through `sqlx` (feature `postgres`): for a fleet of app instances that
//! already share a database.
//!
//! The table and the saves are those of the SQLite store (`store/sqlite.rs`): one row per id, the
//! sealed record or forward and when it expires; a save that keeps its id is a compare and swap
//! (read, merge the changed fields, write only if the row still holds what was read, else again),
//! and a save that moves the session is one transaction that locks the old row first. A load is one
//! round trip, a save two when no other save raced it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Row as _};

use crate::codec::id::SessionId;
use crate::key::Keys;
use crate::store::server::{Backend, Saved, ServerStore, SessionWrite, Stored};
use crate::store::sql::{
    DEFAULT_TABLE, SqlStoreError, SqlSweeper, checked_table, database_error, unix_seconds,
};

/// A [`ServerStore`] keeping sessions in PostgreSQL.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use sessions::Key;
/// use sessions::store::PostgresStore;
///
/// let store = PostgresStore::connect("postgres://app@10.0.0.7/app", Key::from_env("SESSION_KEY")?).await?;
/// let sweeper = store.spawn_sweeper(std::time::Duration::from_secs(600));
/// # Ok(()) }
/// ```
pub type PostgresStore = ServerStore<PostgresBackend>;

impl PostgresStore {
    /// Connects to the database at `url`, with the table `sessions` created if missing. A load or
    /// save that cannot get a connection within 5 seconds (the database down or overloaded) is an
    /// error, as is this call; for other pool settings, give [`PostgresBackend::new`] your own pool.
    pub async fn connect(url: &str, keys: impl Into<Keys>) -> Result<Self, SqlStoreError> {
        let pool = PgPoolOptions::new()
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(database_error("connect to the database of", DEFAULT_TABLE))?;
        let backend = PostgresBackend::new(pool);
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

/// The backend of [`PostgresStore`], on the app's own pool.
#[derive(Debug, Clone)]
pub struct PostgresBackend {
    pool: PgPool,
    sql: Arc<Statements>,
}

/// The statements, written once for the table's name.
#[derive(Debug)]
struct Statements {
    table: String,
    load: String,
    lock: String,
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
            load: format!("SELECT forward, data FROM {table} WHERE id = $1"),
            lock: format!("SELECT forward, data FROM {table} WHERE id = $1 FOR UPDATE"),
            upsert: format!(
                "INSERT INTO {table} (id, forward, data, expires_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO UPDATE SET forward = $2, data = $3, expires_at = $4"
            ),
            insert_new: format!(
                "INSERT INTO {table} (id, forward, data, expires_at) VALUES ($1, false, $2, $3) \
                 ON CONFLICT (id) DO NOTHING"
            ),
            swap: format!(
                "UPDATE {table} SET data = $2, expires_at = $3 WHERE id = $1 AND NOT forward AND data = $4"
            ),
            delete: format!("DELETE FROM {table} WHERE id = $1"),
            sweep: format!("DELETE FROM {table} WHERE expires_at <= $1"),
        }
    }
}

impl PostgresBackend {
    /// A backend on `pool`, in the table `sessions`; call [`PostgresBackend::migrate`] once, or
    /// create the table yourself from [`PostgresBackend::schema`].
    pub fn new(pool: PgPool) -> Self {
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
    ///     id TEXT PRIMARY KEY,           -- SessionId::to_text
    ///     forward BOOLEAN NOT NULL,      -- `data` is a sealed forward, not a record
    ///     data BYTEA NOT NULL,           -- sealed: nothing here is readable without the key
    ///     expires_at BIGINT NOT NULL     -- unix seconds
    /// );
    /// CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);
    /// ```
    pub fn schema(table: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {table} (\n    \
                 id TEXT PRIMARY KEY,\n    \
                 forward BOOLEAN NOT NULL,\n    \
                 data BYTEA NOT NULL,\n    \
                 expires_at BIGINT NOT NULL\n\
             );\n\
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

    /// What is stored under `id`, read on `connection` with `statement` (a plain read, or one that
    /// locks the row).
    async fn stored(
        &self,
        connection: &mut PgConnection,
        statement: &str,
        id: &SessionId,
    ) -> Result<Option<Stored>, sqlx::Error> {
        let row = sqlx::query(AssertSqlSafe(statement))
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

    /// [`Backend::save`] of a session that keeps its id: read, merge, and write only if the row
    /// still holds what was read; otherwise again.
    async fn save_in_place(&self, write: &SessionWrite) -> Result<Saved, sqlx::Error> {
        let mut connection = self.pool.acquire().await?;
        let (id, expires_at) = (write.id().to_text(), unix_seconds(write.expires_at()));
        loop {
            let written = match self.stored(&mut connection, &self.sql.load, write.id()).await? {
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

    /// [`Backend::save`] of a session that moves to a new id, in one transaction holding the old
    /// row's lock.
    async fn save_in_transaction(&self, write: &SessionWrite) -> Result<Saved, sqlx::Error> {
        let mut transaction = self.pool.begin().await?;
        let record = match self
            .stored(&mut transaction, &self.sql.lock, write.source_id())
            .await?
        {
            Some(Stored::Moved(forward)) => return Ok(Saved::Moved(forward)),
            Some(Stored::Record(record)) => Some(record),
            Some(Stored::Entries(_)) | None => None,
        };
        let Some(merged) = write.merge(record.as_deref()) else {
            return Ok(Saved::Removed);
        };
        let upsert = |id: &SessionId, forward: bool, data: Vec<u8>, expires_at: SystemTime| {
            sqlx::query(AssertSqlSafe(&*self.sql.upsert))
                .bind(id.to_text())
                .bind(forward)
                .bind(data)
                .bind(unix_seconds(expires_at))
        };
        match write.forward() {
            Some(forward) => {
                upsert(
                    write.source_id(),
                    true,
                    forward.to_vec(),
                    write.forward_expires_at(),
                )
                .execute(&mut *transaction)
                .await?;
            }
            None => {
                sqlx::query(AssertSqlSafe(&*self.sql.delete))
                    .bind(write.source_id().to_text())
                    .execute(&mut *transaction)
                    .await?;
            }
        }
        upsert(write.id(), false, merged, write.expires_at())
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(Saved::Stored)
    }
}

impl Backend for PostgresBackend {
    type Error = SqlStoreError;

    async fn load(&self, id: &SessionId) -> Result<Option<Stored>, SqlStoreError> {
        let mut connection = self
            .pool
            .acquire()
            .await
            .map_err(database_error("read", &self.sql.table))?;
        self.stored(&mut connection, &self.sql.load, id)
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
        sqlx::query(AssertSqlSafe(&*self.sql.delete))
            .bind(id.to_text())
            .execute(&self.pool)
            .await
            .map_err(database_error("delete from", &self.sql.table))?;
        Ok(())
    }
}

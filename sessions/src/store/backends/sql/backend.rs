//! [`SqlBackend`]: the one backend of every SQL store, generic over the database. What differs
//! between databases is a value of the database's dialect (`sqlite.rs`, `postgres.rs`): its
//! statement texts and its schema, which [`SqlBackend::migrate`] runs and [`SqlBackend::schema`]
//! returns as text.

use std::fmt;
use std::time::{Duration, SystemTime};

use sqlx::Pool;

use crate::codec::id::SessionId;
use crate::owner::OwnerDigest;
use crate::store::backends::sql::table::Table;
use crate::store::backends::sql::{SqlDatabase, SqlStoreError, checked_table};
use crate::store::server::backend::{Backend, Indexed, Revocations, Saved, SessionWrite, Stored, Swept};

/// The backend of the SQL stores ([`SqliteStore`](crate::store::SqliteStore),
/// [`PostgresStore`](crate::store::PostgresStore)) on the app's own pool of database `DB`: one
/// table of sealed records, its owner index a column, saves merged per field by a compare and swap.
/// Named for its database: [`SqliteBackend`](crate::store::backend::SqliteBackend),
/// [`PostgresBackend`](crate::store::backend::PostgresBackend).
pub struct SqlBackend<DB: SqlDatabase> {
    table: Table<DB>,
}

impl<DB: SqlDatabase> fmt::Debug for SqlBackend<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlBackend")
            .field("table", &self.table.name())
            .finish_non_exhaustive()
    }
}

impl<DB: SqlDatabase> Clone for SqlBackend<DB> {
    fn clone(&self) -> Self {
        Self {
            table: self.table.clone(),
        }
    }
}

impl<DB: SqlDatabase> SqlBackend<DB> {
    /// A backend on `pool`, in the table `sessions`; call [`SqlBackend::migrate`] once, or create
    /// the table yourself from [`SqlBackend::schema`].
    pub fn new(pool: Pool<DB>) -> Self {
        Self {
            table: Table::new(pool),
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
    /// that run their own migrations: what [`SqlBackend::migrate`] runs. Refused for a table name
    /// [`with_table`](SqlBackend::with_table) refuses. Each database's is in its store's docs.
    ///
    /// ```
    /// # use sessions::store::backend::SqliteBackend;
    /// let sql = SqliteBackend::schema("app_sessions").unwrap();
    /// assert!(sql.contains("CREATE TABLE IF NOT EXISTS app_sessions_revocations"));
    /// assert!(SqliteBackend::schema("sessions; DROP TABLE users").is_err());
    /// ```
    pub fn schema(table: &str) -> Result<String, SqlStoreError> {
        Ok(DB::DIALECT.schema.replace("{table}", checked_table(table)?))
    }

    /// The pool it runs on.
    pub fn pool(&self) -> &Pool<DB> {
        self.table.pool()
    }

    /// Creates the table, its indexes and its table of revocations where they are missing, and
    /// adds the columns a table made by an older version lacks. Safe to run from many processes at
    /// once (every instance of an app starting together).
    pub async fn migrate(&self) -> Result<(), SqlStoreError> {
        let name = self.table.name();
        DB::migrate(self.table.pool(), name, Self::schema(name)?).await
    }
}

impl<DB: SqlDatabase> Backend for SqlBackend<DB> {
    type Error = SqlStoreError;

    async fn load(&self, id: &SessionId) -> Result<Option<Stored>, Self::Error> {
        self.table.load(id).await
    }

    async fn save(&self, write: SessionWrite) -> Result<Saved, Self::Error> {
        self.table.save(&write).await
    }

    async fn delete(&self, id: &SessionId) -> Result<(), Self::Error> {
        self.table.delete(id).await
    }

    async fn sessions_of(
        &self,
        owner: &OwnerDigest,
        _listed: &[u32],
    ) -> Result<Option<Vec<Indexed>>, Self::Error> {
        self.table.sessions_of(owner).await.map(Some)
    }

    async fn revoke_owner(
        &self,
        owner: &OwnerDigest,
        keep: Option<&SessionId>,
    ) -> Result<Option<usize>, Self::Error> {
        self.table.revoke_owner(owner, keep).await.map(Some)
    }

    /// Removes the rows that expired, and revocations of cookie sessions past their use.
    async fn sweep(&self, now: SystemTime) -> Result<Option<Swept>, Self::Error> {
        let removed = self.table.sweep(now).await?;
        Ok(Some(Swept::new(usize::try_from(removed).unwrap_or(usize::MAX))))
    }
}

/// Revocations of cookie sessions in the table's `_revocations` table.
impl<DB: SqlDatabase> Revocations for SqlBackend<DB> {
    type Error = SqlStoreError;

    async fn mark(&self, owner: &OwnerDigest) -> Result<Option<u64>, Self::Error> {
        self.table.mark(owner).await
    }

    async fn revoke(&self, owner: &OwnerDigest, at: u64, keep_for: Duration) -> Result<u64, Self::Error> {
        self.table.revoke_cookies(owner, at, keep_for).await
    }
}

//! The session table of an SQL store, on any database with [`Rows`]: one row per id, the sealed
//! record (or, for a while after `cycle_id`, the sealed forward to where the session moved) and
//! when it expires.
//!
//! A save that keeps its id is a compare and swap: it merges the fields it changed into the record
//! the session was loaded from and writes that on condition that the row still holds that record.
//! When no other save came between, that conditional write is the save's one round trip. When one
//! did, the save reads what is there now, merges into it, and tries again: concurrent saves from
//! any number of processes merge per field and none is lost, and a session removed meanwhile is not
//! written again. A save that moves the session (`cycle_id`) is one transaction that reads the old
//! row first (locking it where the database can), writes under the new id and leaves the forward
//! under the old one.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sqlx::pool::PoolConnection;
use sqlx::{AssertSqlSafe, Database, Pool};

use crate::codec::id::SessionId;
use crate::owner::OwnerDigest;
use crate::store::backends::sql::SqlDatabase;
use crate::store::backends::sql::rows::{Row, Rows};
use crate::store::backends::sql::statements::{Statements, revocations_table};
use crate::store::backends::sql::{SqlStoreError, checked_table, database_error, unix_seconds};
use crate::store::server::backend::{Indexed, Saved, SessionWrite, Stored, Summary};

/// The session table on a pool of `DB`: what a SQL store's backend does.
#[derive(Debug)]
pub struct Table<DB: Database> {
    pool: Pool<DB>,
    sql: Arc<Statements>,
}

impl<DB: Database> Clone for Table<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            sql: Arc::clone(&self.sql),
        }
    }
}

impl<DB: SqlDatabase> Table<DB> {
    /// The table `sessions` on `pool`.
    pub(crate) fn new(pool: Pool<DB>) -> Self {
        Self {
            pool,
            sql: Arc::new(Statements::new(super::DEFAULT_TABLE, DB::DIALECT)),
        }
    }

    /// The table `table` on the same pool, if `table` is a plain identifier.
    pub(crate) fn renamed(self, table: &str) -> Result<Self, SqlStoreError> {
        Ok(Self {
            sql: Arc::new(Statements::new(checked_table(table)?, self.sql.dialect)),
            ..self
        })
    }

    /// The pool it is on.
    pub(crate) fn pool(&self) -> &Pool<DB> {
        &self.pool
    }

    /// The table's name.
    pub(crate) fn name(&self) -> &str {
        &self.sql.table
    }

    /// What is stored under `id`.
    pub(crate) async fn load(&self, id: &SessionId) -> Result<Option<Stored>, SqlStoreError> {
        self.on_a_connection(("read", self.name()), |mut connection| async move {
            connection.read(&self.sql.read, id).await
        })
        .await
    }

    /// Applies `write` as [`Backend::save`](crate::store::backend::Backend::save) says.
    pub(crate) async fn save(&self, write: &SessionWrite) -> Result<Saved, SqlStoreError> {
        let saved = if write.source_id() == write.id() {
            // Again on another connection is safe: the save merges into what it finds, so the
            // same fields written twice are written once.
            self.on_a_live_connection(|| self.save_in_place(write)).await
        } else {
            // The database may undo it (a deadlock with a revocation, on MySQL).
            again_while_undone(|| self.save_moving(write)).await
        };
        saved.map_err(database_error("write", self.name()))
    }

    /// Removes the row of `id`.
    pub(crate) async fn delete(&self, id: &SessionId) -> Result<(), SqlStoreError> {
        self.on_a_connection(("delete from", self.name()), |mut connection| async move {
            connection.delete(&self.sql, id).await
        })
        .await
    }

    /// Removes what expired at or before `now`, and revocations past their use; how many sessions.
    pub(crate) async fn sweep(&self, now: SystemTime) -> Result<u64, SqlStoreError> {
        self.on_a_connection(("sweep", self.name()), |mut connection| async move {
            connection.sweep(&self.sql, unix_seconds(now)).await
        })
        .await
    }

    /// The ids and summaries of `owner`'s sessions: the rows with its `owner` column.
    pub(crate) async fn sessions_of(&self, owner: &OwnerDigest) -> Result<Vec<Indexed>, SqlStoreError> {
        let rows = self
            .on_a_connection(("read", self.name()), |mut connection| async move {
                connection.list(&self.sql, &owner.to_text()).await
            })
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, summary)| {
                Some(Indexed {
                    id: SessionId::from_text(&id)?,
                    summary: Summary::Sealed(summary),
                })
            })
            .collect())
    }

    /// Removes the rows of `owner` but `keep`'s; how many. One delete in a transaction that fails
    /// when a save moving one of those sessions (`cycle_id`) committed while it ran (see
    /// [`Dialect::begin_revoke`](super::statements::Dialect::begin_revoke)); it is run again then, and sees the row the session moved to.
    /// A delete that completes leaves no session of the owner that began before it.
    pub(crate) async fn revoke_owner(
        &self,
        owner: &OwnerDigest,
        keep: Option<&SessionId>,
    ) -> Result<usize, SqlStoreError> {
        let (owner, keep) = (owner.to_text(), keep.map(SessionId::to_text).unwrap_or_default());
        // Undone when a save moving one of the sessions committed meanwhile: run again, it sees
        // where the session went.
        let deleted = again_while_undone(|| {
            self.on_a_live_connection(|| async {
                let begin = AssertSqlSafe(self.sql.dialect.begin_revoke);
                let mut transaction = self.pool.begin_with(begin).await?;
                let deleted = transaction.revoke(&self.sql, &owner, &keep).await?;
                transaction.commit().await?;
                Ok(deleted)
            })
        })
        .await
        .map_err(database_error("delete from", self.name()))?;
        Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
    }

    /// `owner`'s revocation mark, if one is kept. Read back, so input: a negative one (no mark this
    /// crate writes) revokes nothing.
    pub(crate) async fn mark(&self, owner: &OwnerDigest) -> Result<Option<u64>, SqlStoreError> {
        let revocations = revocations_table(self.name());
        let mark = (self.on_a_connection(("read", &revocations), |mut connection| async move {
            connection.mark(&self.sql, &owner.to_text()).await
        }))
        .await?;
        Ok(mark.and_then(|mark| {
            let read = u64::try_from(mark).ok();
            if read.is_none() {
                tracing::warn!(owner = ?owner, mark, "a revocation that is not a mark; ignored");
            }
            read
        }))
    }

    /// Raises `owner`'s revocation mark as of `at` (microseconds), kept for `keep_for`; the new mark.
    pub(crate) async fn revoke_cookies(
        &self,
        owner: &OwnerDigest,
        at: u64,
        keep_for: Duration,
    ) -> Result<u64, SqlStoreError> {
        let until = at / 1_000_000 + keep_for.as_secs();
        let at_until = (
            i64::try_from(at).unwrap_or(i64::MAX),
            i64::try_from(until).unwrap_or(i64::MAX),
        );
        let revocations = revocations_table(self.name());
        let mark = (self.on_a_connection(("write", &revocations), |mut connection| async move {
            connection
                .revoke_cookies(&self.sql, &owner.to_text(), at_until)
                .await
        }))
        .await?;
        Ok(u64::try_from(mark).unwrap_or(0))
    }

    /// `work` on a connection of the pool, retried as [`Self::on_a_live_connection`] says; a
    /// failure is an error naming what it was `doing` to which table.
    async fn on_a_connection<T, Work>(
        &self,
        (doing, table): (&'static str, &str),
        work: impl Fn(PoolConnection<DB>) -> Work,
    ) -> Result<T, SqlStoreError>
    where
        Work: Future<Output = Result<T, sqlx::Error>>,
    {
        (self.on_a_live_connection(|| async { work(self.pool.acquire().await?).await }))
            .await
            .map_err(database_error(doing, table))
    }

    /// Runs `attempt`, again while it finds its connection lost: the database restarted, or closed
    /// connections while they sat idle in the pool. Pools that do not ping a connection before
    /// handing it out (one round trip less per load and save, as `PostgresStore::connect` makes
    /// them) find out this way, and the request does not fail for it. A restart loses every
    /// connection, so it tries at most once per connection the pool holds, and once more.
    ///
    /// Also again, after a pause that doubles each time (about 2 s in all), while the database
    /// answers that it is busy ([`Dialect::busy`](super::statements::Dialect::busy)): a save under contention waits its turn rather
    /// than fail.
    async fn on_a_live_connection<T, Attempt>(
        &self,
        mut attempt: impl FnMut() -> Attempt,
    ) -> Result<T, sqlx::Error>
    where
        Attempt: Future<Output = Result<T, sqlx::Error>>,
    {
        let mut again = self.pool.size() + 1;
        let mut waited = 0;
        loop {
            match attempt().await {
                Err(error) if again > 0 && self.connection_lost(&error) => {
                    again -= 1;
                    tracing::debug!(%error, "lost a database connection; trying again on another");
                }
                Err(error) if waited < BUSY_WAITS && self.busy(&error) => {
                    waited += 1;
                    tracing::debug!(%error, "the database is busy; trying again");
                    tokio::time::sleep(Duration::from_millis(5 << waited.min(7))).await;
                }
                done => return done,
            }
        }
    }

    /// Whether `error` says the connection is gone, rather than that the statement failed.
    fn connection_lost(&self, error: &sqlx::Error) -> bool {
        match error {
            sqlx::Error::Io(_) => true,
            sqlx::Error::Database(error) => error.code().is_some_and(|code| (self.sql.dialect.lost)(&code)),
            _ => false,
        }
    }

    /// Whether `error` says the database was busy (see [`Dialect::busy`](super::statements::Dialect::busy)).
    fn busy(&self, error: &sqlx::Error) -> bool {
        matches!(error, sqlx::Error::Database(error) if error.code().is_some_and(|code| (self.sql.dialect.busy)(&code)))
    }

    /// A save that keeps its id: a compare and swap, again while other saves get there first.
    async fn save_in_place(&self, write: &SessionWrite) -> Result<Saved, sqlx::Error> {
        let mut connection = self.pool.acquire().await?;
        let id = write.id();
        // What the row holds, as far as this save knows: first what the session was loaded from
        // (nothing, for a new one), so that the conditional write is the only round trip when no
        // other save came between; after that write failed, what a read finds.
        let mut current = match write.loaded() {
            Some(loaded) => Some(Stored::Record(loaded.to_vec())),
            None if write.creates() => None,
            None => connection.read(&self.sql.read, id).await?,
        };
        loop {
            let written = match current {
                Some(Stored::Moved(forward)) => return Ok(Saved::Moved(forward)),
                Some(Stored::Record(record)) => {
                    let Some(merged) = write.merge(Some(&record)) else {
                        return Ok(Saved::Removed);
                    };
                    let row = session_row(write, &merged);
                    connection.swap(&self.sql, id, &row, &record).await?
                }
                Some(Stored::Entries(_)) | None => {
                    let Some(merged) = write.merge(None) else {
                        return Ok(Saved::Removed);
                    };
                    let row = session_row(write, &merged);
                    connection.insert_new(&self.sql, id, &row).await?
                }
            };
            if written {
                return Ok(Saved::Stored);
            }
            // Another save changed the row since: merge into what it holds now.
            current = connection.read(&self.sql.read, id).await?;
        }
    }

    /// A save that moves the session to a new id, in one transaction that reads the old row first.
    async fn save_moving(&self, write: &SessionWrite) -> Result<Saved, sqlx::Error> {
        // Only the `BEGIN` is tried again: a commit whose answer was lost may have moved the
        // session, and a second move would find the forward it left.
        let mut transaction = self
            .on_a_live_connection(|| self.pool.begin_with(AssertSqlSafe(self.sql.dialect.begin_move)))
            .await?;
        let record = match transaction
            .read(&self.sql.read_to_move, write.source_id())
            .await?
        {
            Some(Stored::Moved(forward)) => return Ok(Saved::Moved(forward)),
            Some(Stored::Record(record)) => Some(record),
            Some(Stored::Entries(_)) | None => None,
        };
        let Some(merged) = write.merge(record.as_deref()) else {
            return Ok(Saved::Removed);
        };
        match write.forward() {
            Some(forward) => {
                let row = Row {
                    forward: true,
                    data: forward,
                    expires_at: unix_seconds(write.forward_expires_at()),
                    owner: None,
                    summary: None,
                };
                transaction.upsert(&self.sql, write.source_id(), &row).await?;
            }
            None => transaction.delete(&self.sql, write.source_id()).await?,
        }
        let row = session_row(write, &merged);
        transaction.upsert(&self.sql, write.id(), &row).await?;
        transaction.commit().await?;
        Ok(Saved::Stored)
    }
}

/// How many times a statement is run again while the database is busy.
const BUSY_WAITS: u32 = 8;

/// How many times [`again_while_undone`] runs a transaction the database keeps undoing: past that
/// (sessions of an owner moving without pause under a revocation) it fails, to be retried, rather
/// than a revocation return with a session left.
const UNDONE_ATTEMPTS: usize = 64;

/// Runs `attempt` (a transaction) again while the database undoes it (SQLSTATE 40001: a
/// serialization failure, or InnoDB's deadlock victim), at most [`UNDONE_ATTEMPTS`] times: an
/// undone transaction wrote nothing, so running it again is safe.
async fn again_while_undone<T, Attempt>(mut attempt: impl FnMut() -> Attempt) -> Result<T, sqlx::Error>
where
    Attempt: Future<Output = Result<T, sqlx::Error>>,
{
    let mut attempts = 1;
    loop {
        match attempt().await {
            Err(error) if is_serialization_failure(&error) && attempts < UNDONE_ATTEMPTS => {
                attempts += 1;
                tracing::debug!(%error, "the database undid a transaction; again");
            }
            done => return done,
        }
    }
}

/// Whether `error` is a transaction's serialization failure (SQLSTATE 40001): run it again.
fn is_serialization_failure(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(error) if error.code().as_deref() == Some("40001"))
}

/// The row `write` stores, `merged` being the record its merge returned: with the owner of that
/// record, and its summary.
fn session_row<'a>(write: &SessionWrite, merged: &'a [u8]) -> Row<'a> {
    let (_, owner) = write.owner_change().merged();
    Row {
        forward: false,
        data: merged,
        expires_at: unix_seconds(write.expires_at()),
        owner: owner.map(|owner| owner.to_text()),
        summary: owner.and_then(|_| write.summary()),
    }
}

//! The session table's statements, run on one connection of each database the SQL stores support.
//!
//! `sqlx` has no trait for what a statement did (`rows_affected` is on each database's own result
//! type), so [`Rows`] is implemented once per connection type, by one macro: the same statements
//! and binds for each.

use std::future::Future;

use crate::codec::id::SessionId;
use crate::store::backends::sql::statements::Statements;
use crate::store::server::backend::Stored;

/// A session row as a write stores it: whether it is a forward, its sealed data, when it expires
/// (unix seconds), and its owner columns: the owner (hex) and the sealed summary a listing shows,
/// both `None` for a session without an owner, and for a forward. Every statement that writes a
/// row binds it the same way ([`Statements`]' `$1` to `$6`).
#[derive(Debug)]
pub struct Row<'a> {
    pub(crate) forward: bool,
    pub(crate) data: &'a [u8],
    pub(crate) expires_at: i64,
    pub(crate) owner: Option<String>,
    pub(crate) summary: Option<Vec<u8>>,
}

/// The statements on the session table, on one connection (or transaction).
pub trait Rows: Send {
    /// What is stored under `id`, read with `statement` (a plain read, or one that locks the row
    /// for a transaction).
    fn read(
        &mut self,
        statement: &str,
        id: &SessionId,
    ) -> impl Future<Output = Result<Option<Stored>, sqlx::Error>> + Send;

    /// Stores `row` under `id` if the row there holds exactly the record `expected`; whether it did.
    fn swap(
        &mut self,
        sql: &Statements,
        id: &SessionId,
        row: &Row<'_>,
        expected: &[u8],
    ) -> impl Future<Output = Result<bool, sqlx::Error>> + Send;

    /// Stores `row` under `id` if no row is there; whether it did.
    fn insert_new(
        &mut self,
        sql: &Statements,
        id: &SessionId,
        row: &Row<'_>,
    ) -> impl Future<Output = Result<bool, sqlx::Error>> + Send;

    /// Stores `row` under `id`, over whatever is there.
    fn upsert(
        &mut self,
        sql: &Statements,
        id: &SessionId,
        row: &Row<'_>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// The ids and sealed summaries of `owner`'s sessions.
    fn list(
        &mut self,
        sql: &Statements,
        owner: &str,
    ) -> impl Future<Output = Result<Vec<(String, Vec<u8>)>, sqlx::Error>> + Send;

    /// Removes the rows of `owner` but `keep`'s; how many.
    fn revoke(
        &mut self,
        sql: &Statements,
        owner: &str,
        keep: &str,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;

    /// `owner`'s revocation mark, if one is kept.
    fn mark(
        &mut self,
        sql: &Statements,
        owner: &str,
    ) -> impl Future<Output = Result<Option<i64>, sqlx::Error>> + Send;

    /// Raises `owner`'s revocation mark as of `at`, kept at least until `until`; the new mark.
    fn revoke_cookies(
        &mut self,
        sql: &Statements,
        owner: &str,
        at_until: (i64, i64),
    ) -> impl Future<Output = Result<i64, sqlx::Error>> + Send;

    /// Removes the row of `id`.
    fn delete(
        &mut self,
        sql: &Statements,
        id: &SessionId,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Removes the rows that expire at or before `now`, and revocations past their use; how many
    /// sessions.
    fn sweep(&mut self, sql: &Statements, now: i64) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;

    /// Runs `script`, statements separated by `;` (the schema).
    fn run_script(&mut self, script: String) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

macro_rules! rows_on {
    ($connection:ty, $database:ty, $bind_row:ident) => {
        /// Binds `$1` to `$6` of a statement that writes a row: `id`, then `row`'s columns.
        fn $bind_row<'q>(
            query: sqlx::query::Query<'q, $database, <$database as sqlx::Database>::Arguments>,
            id: &SessionId,
            row: &'q Row<'_>,
        ) -> sqlx::query::Query<'q, $database, <$database as sqlx::Database>::Arguments> {
            query
                .bind(id.to_text())
                .bind(row.forward)
                .bind(row.data)
                .bind(row.expires_at)
                .bind(row.owner.as_deref())
                .bind(row.summary.as_deref())
        }

        impl Rows for $connection {
            async fn read(&mut self, statement: &str, id: &SessionId) -> Result<Option<Stored>, sqlx::Error> {
                use sqlx::Row as _;
                let row = sqlx::query(sqlx::AssertSqlSafe(statement))
                    .bind(id.to_text())
                    .fetch_optional(self)
                    .await?;
                Ok(row.map(|row| {
                    match (row.try_get::<Vec<u8>, _>("data"), row.try_get::<bool, _>("forward")) {
                        (Ok(data), Ok(true)) => Stored::Moved(data),
                        (Ok(data), Ok(false)) => Stored::Record(data),
                        // Read back, so input: a row with a NULL or a value of another type (a
                        // hand edit, a schema of the team's own) holds no session. As a record that
                        // does not open, it is refused, removed and counted like a bad seal.
                        (Err(error), _) | (_, Err(error)) => {
                            tracing::warn!(%error, "a session row that does not decode; removing it");
                            Stored::Record(Vec::new())
                        }
                    }
                }))
            }

            async fn swap(
                &mut self,
                sql: &Statements,
                id: &SessionId,
                row: &Row<'_>,
                expected: &[u8],
            ) -> Result<bool, sqlx::Error> {
                let query = $bind_row(sqlx::query(sqlx::AssertSqlSafe(&*sql.swap)), id, row);
                let done = query.bind(expected).execute(self).await?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_new(
                &mut self,
                sql: &Statements,
                id: &SessionId,
                row: &Row<'_>,
            ) -> Result<bool, sqlx::Error> {
                let query = $bind_row(sqlx::query(sqlx::AssertSqlSafe(&*sql.insert_new)), id, row);
                Ok(query.execute(self).await?.rows_affected() == 1)
            }

            async fn upsert(&mut self, sql: &Statements, id: &SessionId, row: &Row<'_>) -> Result<(), sqlx::Error> {
                let query = $bind_row(sqlx::query(sqlx::AssertSqlSafe(&*sql.upsert)), id, row);
                query.execute(self).await?;
                Ok(())
            }

            async fn list(
                &mut self,
                sql: &Statements,
                owner: &str,
            ) -> Result<Vec<(String, Vec<u8>)>, sqlx::Error> {
                use sqlx::Row as _;
                let rows = sqlx::query(sqlx::AssertSqlSafe(&*sql.list))
                    .bind(owner)
                    .fetch_all(self)
                    .await?;
                // A row that does not decode is left out of the listing (its load removes it).
                Ok(rows
                    .iter()
                    .filter_map(|row| Some((row.try_get("id").ok()?, row.try_get("summary").ok()?)))
                    .collect())
            }

            async fn revoke(
                &mut self,
                sql: &Statements,
                owner: &str,
                keep: &str,
            ) -> Result<u64, sqlx::Error> {
                let done = sqlx::query(sqlx::AssertSqlSafe(&*sql.revoke))
                    .bind(owner)
                    .bind(keep)
                    .execute(self)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn mark(&mut self, sql: &Statements, owner: &str) -> Result<Option<i64>, sqlx::Error> {
                sqlx::query_scalar(sqlx::AssertSqlSafe(&*sql.mark))
                    .bind(owner)
                    .fetch_optional(self)
                    .await
            }

            async fn revoke_cookies(
                &mut self,
                sql: &Statements,
                owner: &str,
                (at, until): (i64, i64),
            ) -> Result<i64, sqlx::Error> {
                sqlx::query_scalar(sqlx::AssertSqlSafe(&*sql.revoke_cookies))
                    .bind(owner)
                    .bind(at)
                    .bind(until)
                    .fetch_one(self)
                    .await
            }

            async fn delete(&mut self, sql: &Statements, id: &SessionId) -> Result<(), sqlx::Error> {
                sqlx::query(sqlx::AssertSqlSafe(&*sql.delete))
                    .bind(id.to_text())
                    .execute(self)
                    .await?;
                Ok(())
            }

            async fn sweep(&mut self, sql: &Statements, now: i64) -> Result<u64, sqlx::Error> {
                let done = sqlx::query(sqlx::AssertSqlSafe(&*sql.sweep))
                    .bind(now)
                    .execute(&mut *self)
                    .await?;
                sqlx::query(sqlx::AssertSqlSafe(&*sql.sweep_revocations))
                    .bind(now)
                    .execute(self)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn run_script(&mut self, script: String) -> Result<(), sqlx::Error> {
                sqlx::raw_sql(sqlx::AssertSqlSafe(script))
                    .execute(self)
                    .await?;
                Ok(())
            }
        }
    };
}

#[cfg(feature = "sqlite")]
rows_on!(sqlx::SqliteConnection, sqlx::Sqlite, bind_sqlite_row);
#[cfg(feature = "postgres")]
rows_on!(sqlx::PgConnection, sqlx::Postgres, bind_postgres_row);

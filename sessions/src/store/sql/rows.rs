//! The session table's statements, run on one connection of each database the SQL stores support.
//!
//! `sqlx` has no trait for what a statement did (`rows_affected` is on each database's own result
//! type), so [`Rows`] is implemented once per connection type, by one macro: the same statements
//! and binds for each.

use std::future::Future;

use crate::codec::id::SessionId;
use crate::store::server::Stored;
use crate::store::sql::statements::Statements;

/// The statements on the session table, on one connection (or transaction).
pub(crate) trait Rows: Send {
    /// What is stored under `id`, read with `statement` (a plain read, or one that locks the row
    /// for a transaction).
    fn read(
        &mut self,
        statement: &str,
        id: &SessionId,
    ) -> impl Future<Output = Result<Option<Stored>, sqlx::Error>> + Send;

    /// Stores `record` (the sealed record, when it expires) under `id` if the row holds exactly the
    /// record `expected`; whether it did.
    fn swap(
        &mut self,
        sql: &Statements,
        id: &SessionId,
        record: (&[u8], i64),
        expected: &[u8],
    ) -> impl Future<Output = Result<bool, sqlx::Error>> + Send;

    /// Stores `record` under `id` if no row is there; whether it did.
    fn insert_new(
        &mut self,
        sql: &Statements,
        id: &SessionId,
        record: (&[u8], i64),
    ) -> impl Future<Output = Result<bool, sqlx::Error>> + Send;

    /// Stores `row` (whether it is a forward, its sealed data, when it expires) under `id`, over
    /// whatever is there.
    fn upsert(
        &mut self,
        sql: &Statements,
        id: &SessionId,
        row: (bool, &[u8], i64),
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Removes the row of `id`.
    fn delete(
        &mut self,
        sql: &Statements,
        id: &SessionId,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Removes the rows that expire at or before `now`; how many.
    fn sweep(&mut self, sql: &Statements, now: i64) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;

    /// Runs `script`, statements separated by `;` (the schema).
    fn run_script(&mut self, script: String) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

macro_rules! rows_on {
    ($connection:ty) => {
        impl Rows for $connection {
            async fn read(&mut self, statement: &str, id: &SessionId) -> Result<Option<Stored>, sqlx::Error> {
                use sqlx::Row as _;
                let row = sqlx::query(sqlx::AssertSqlSafe(statement))
                    .bind(id.to_text())
                    .fetch_optional(self)
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

            async fn swap(
                &mut self,
                sql: &Statements,
                id: &SessionId,
                (data, expires_at): (&[u8], i64),
                expected: &[u8],
            ) -> Result<bool, sqlx::Error> {
                let done = sqlx::query(sqlx::AssertSqlSafe(&*sql.swap))
                    .bind(id.to_text())
                    .bind(data)
                    .bind(expires_at)
                    .bind(expected)
                    .execute(self)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_new(
                &mut self,
                sql: &Statements,
                id: &SessionId,
                (data, expires_at): (&[u8], i64),
            ) -> Result<bool, sqlx::Error> {
                let done = sqlx::query(sqlx::AssertSqlSafe(&*sql.insert_new))
                    .bind(id.to_text())
                    .bind(data)
                    .bind(expires_at)
                    .execute(self)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn upsert(
                &mut self,
                sql: &Statements,
                id: &SessionId,
                (forward, data, expires_at): (bool, &[u8], i64),
            ) -> Result<(), sqlx::Error> {
                sqlx::query(sqlx::AssertSqlSafe(&*sql.upsert))
                    .bind(id.to_text())
                    .bind(forward)
                    .bind(data)
                    .bind(expires_at)
                    .execute(self)
                    .await?;
                Ok(())
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
rows_on!(sqlx::SqliteConnection);
#[cfg(feature = "postgres")]
rows_on!(sqlx::PgConnection);

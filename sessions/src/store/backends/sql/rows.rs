//! The session table's statements, run on one connection of each database the SQL stores support.
//!
//! `sqlx` has no trait for what a statement did (`rows_affected` is on each database's own result
//! type), so [`Rows`] is implemented once per connection type, by one macro: the same statements
//! and binds for each.

use std::future::Future;

use crate::codec::id::SessionId;
use crate::store::backends::sql::statements::{Statement, Statements};
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

/// One parameter of a statement, by its number (`$1` is the first).
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Text(&'a str),
    MaybeText(Option<&'a str>),
    Bytes(&'a [u8]),
    MaybeBytes(Option<&'a [u8]>),
    Int(i64),
    Bool(bool),
}

impl<'a> Row<'a> {
    /// The parameters of a statement that writes this row under `id` (its text form).
    pub(crate) fn args(&'a self, id: &'a str) -> [Arg<'a>; 6] {
        [
            Arg::Text(id),
            Arg::Bool(self.forward),
            Arg::Bytes(self.data),
            Arg::Int(self.expires_at),
            Arg::MaybeText(self.owner.as_deref()),
            Arg::MaybeBytes(self.summary.as_deref()),
        ]
    }
}

/// The statements on the session table, on one connection (or transaction).
pub trait Rows: Send {
    /// What is stored under `id`, read with `statement` (a plain read, or one that locks the row
    /// for a transaction).
    fn read(
        &mut self,
        statement: &Statement,
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

/// [`Rows`] on a database's connection, in a module `$module` (see `sql_database!`).
macro_rules! rows_on {
    ($module:ident, $connection:ty, $database:ty) => {
    mod $module {
        use crate::codec::id::SessionId;
        use crate::store::backends::sql::rows::{Arg, Row, Rows};
        use crate::store::backends::sql::statements::{Statement, Statements};
        use crate::store::server::backend::Stored;

        /// `args`, bound as `statement`'s placeholders take them (see `Statement::order`).
        fn arguments(
            statement: &Statement,
            args: &[Arg<'_>],
        ) -> Result<<$database as sqlx::Database>::Arguments, sqlx::Error> {
            use sqlx::Arguments as _;
            let mut arguments = <$database as sqlx::Database>::Arguments::default();
            for &number in &statement.order {
                let added = match args[number - 1] {
                    Arg::Text(value) => arguments.add(value),
                    Arg::MaybeText(value) => arguments.add(value),
                    Arg::Bytes(value) => arguments.add(value),
                    Arg::MaybeBytes(value) => arguments.add(value),
                    Arg::Int(value) => arguments.add(value),
                    Arg::Bool(value) => arguments.add(value),
                };
                added.map_err(sqlx::Error::Encode)?;
            }
            Ok(arguments)
        }

        /// `statement` with `args`.
        fn query<'q>(
            statement: &'q Statement,
            args: &[Arg<'_>],
        ) -> Result<
            sqlx::query::Query<'q, $database, <$database as sqlx::Database>::Arguments>,
            sqlx::Error,
        > {
            Ok(sqlx::query_with(
                sqlx::AssertSqlSafe(&*statement.text),
                arguments(statement, args)?,
            ))
        }

        /// `statement` with `args`, answering one column.
        fn query_scalar<'q, Out>(
            statement: &'q Statement,
            args: &[Arg<'_>],
        ) -> Result<
            sqlx::query::QueryScalar<'q, $database, Out, <$database as sqlx::Database>::Arguments>,
            sqlx::Error,
        >
        where
            (Out,): for<'r> sqlx::FromRow<'r, <$database as sqlx::Database>::Row>,
        {
            Ok(sqlx::query_scalar_with(
                sqlx::AssertSqlSafe(&*statement.text),
                arguments(statement, args)?,
            ))
        }

        impl Rows for $connection {
            async fn read(&mut self, statement: &Statement, id: &SessionId) -> Result<Option<Stored>, sqlx::Error> {
                use sqlx::Row as _;
                let id = id.to_text();
                let row = query(statement, &[Arg::Text(&id)])?.fetch_optional(self).await?;
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
                let id = id.to_text();
                let [a, b, c, d, e, f] = row.args(&id);
                let args = [a, b, c, d, e, f, Arg::Bytes(expected)];
                let done = query(&sql.swap, &args)?.execute(self).await?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_new(&mut self, sql: &Statements, id: &SessionId, row: &Row<'_>) -> Result<bool, sqlx::Error> {
                let id = id.to_text();
                let done = query(&sql.insert_new, &row.args(&id))?.execute(self).await?;
                Ok(done.rows_affected() == 1)
            }

            async fn upsert(&mut self, sql: &Statements, id: &SessionId, row: &Row<'_>) -> Result<(), sqlx::Error> {
                let id = id.to_text();
                query(&sql.upsert, &row.args(&id))?.execute(self).await?;
                Ok(())
            }

            async fn list(&mut self, sql: &Statements, owner: &str) -> Result<Vec<(String, Vec<u8>)>, sqlx::Error> {
                use sqlx::Row as _;
                let rows = query(&sql.list, &[Arg::Text(owner)])?.fetch_all(self).await?;
                // A row that does not decode is left out of the listing (its load removes it).
                Ok(rows
                    .iter()
                    .filter_map(|row| Some((row.try_get("id").ok()?, row.try_get("summary").ok()?)))
                    .collect())
            }

            async fn revoke(&mut self, sql: &Statements, owner: &str, keep: &str) -> Result<u64, sqlx::Error> {
                let args = [Arg::Text(owner), Arg::Text(keep)];
                Ok(query(&sql.revoke, &args)?.execute(self).await?.rows_affected())
            }

            async fn mark(&mut self, sql: &Statements, owner: &str) -> Result<Option<i64>, sqlx::Error> {
                query_scalar(&sql.mark, &[Arg::Text(owner)])?.fetch_optional(self).await
            }

            async fn revoke_cookies(
                &mut self,
                sql: &Statements,
                owner: &str,
                (at, until): (i64, i64),
            ) -> Result<i64, sqlx::Error> {
                let args = [Arg::Text(owner), Arg::Int(at), Arg::Int(until)];
                match &sql.read_new_mark {
                    None => query_scalar(&sql.revoke_cookies, &args)?.fetch_one(self).await,
                    Some(read_back) => {
                        query(&sql.revoke_cookies, &args)?.execute(&mut *self).await?;
                        query_scalar(read_back, &[])?.fetch_one(self).await
                    }
                }
            }

            async fn delete(&mut self, sql: &Statements, id: &SessionId) -> Result<(), sqlx::Error> {
                let id = id.to_text();
                query(&sql.delete, &[Arg::Text(&id)])?.execute(self).await?;
                Ok(())
            }

            async fn sweep(&mut self, sql: &Statements, now: i64) -> Result<u64, sqlx::Error> {
                let done = query(&sql.sweep, &[Arg::Int(now)])?.execute(&mut *self).await?;
                query(&sql.sweep_revocations, &[Arg::Int(now)])?.execute(self).await?;
                Ok(done.rows_affected())
            }

            async fn run_script(&mut self, script: String) -> Result<(), sqlx::Error> {
                sqlx::raw_sql(sqlx::AssertSqlSafe(script)).execute(self).await?;
                Ok(())
            }
        }
    }
    };
}
pub(crate) use rows_on;

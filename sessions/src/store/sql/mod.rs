//! What the SQL stores share: the table and its saves (`table.rs`), its statements (`statements.rs`)
//! run on each database's connection (`rows.rs`); and, here, their errors, their table names, their
//! sweeper, and the time as the tables keep it.

pub(crate) mod rows;
pub(crate) mod statements;
pub(crate) mod table;

use std::future::Future;
use std::time::{Duration, SystemTime};

/// The table name the SQL stores use unless told otherwise.
pub(crate) const DEFAULT_TABLE: &str = "sessions";

/// The longest table name a store takes: PostgreSQL keeps the first 63 bytes of a name, and the
/// longest name the store derives from its table's adds 12 (`_revocations`), so a longer table
/// name would make two derived names the same once cut.
pub(crate) const MAX_TABLE_LEN: usize = 63 - "_revocations".len();

const _: () = assert!(
    MAX_TABLE_LEN == 51,
    "the error message of `InvalidTable` names the limit"
);

/// `table` if it is a plain SQL identifier (ASCII letters, digits and `_`, not starting with a
/// digit, at most [`MAX_TABLE_LEN`] characters), so it can be written into statements as it is.
pub(crate) fn checked_table(table: &str) -> Result<&str, SqlStoreError> {
    let valid = !table.is_empty()
        && table.len() <= MAX_TABLE_LEN
        && !table.starts_with(|c: char| c.is_ascii_digit())
        && table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(table)
    } else {
        Err(SqlStoreError::InvalidTable {
            table: table.to_owned(),
        })
    }
}

/// The background sweeper of an SQL store's `spawn_sweeper`; dropping it stops the task.
#[derive(Debug)]
pub struct SqlSweeper(tokio::task::JoinHandle<()>);

impl SqlSweeper {
    /// Runs `sweep` every `interval` (at least 10 ms) on a tokio task; a sweep that fails is
    /// logged, and the next runs on time.
    pub(crate) fn spawn<F, Fut>(interval: Duration, sweep: F) -> Self
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Result<u64, SqlStoreError>> + Send,
    {
        let interval = interval.max(Duration::from_millis(10));
        Self(tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                match sweep().await {
                    Ok(removed) => tracing::debug!(removed, "swept the session table"),
                    Err(error) => tracing::warn!(%error, "sweeping the session table failed"),
                }
            }
        }))
    }
}

impl Drop for SqlSweeper {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What went wrong in an SQL store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqlStoreError {
    /// A table name that is not a plain SQL identifier.
    #[error(
        "`{table}` is not a usable table name: use at most 51 ASCII letters, digits and `_`, not starting with a digit (PostgreSQL keeps 63 bytes of a name, and the store adds up to 12 for the names it derives, `{table}_revocations`)"
    )]
    InvalidTable {
        /// The name given.
        table: String,
    },
    /// The store could not connect to its database, or open it.
    #[error("could not {doing} {database} ({fix})")]
    Connect {
        /// What the store was doing.
        doing: &'static str,
        /// Which database: its path, or its host, port and name (never the password).
        database: String,
        /// What to check.
        fix: &'static str,
        /// The database's error.
        #[source]
        source: sqlx::Error,
    },
    /// The database refused or failed.
    #[error("could not {doing} the session table `{table}`")]
    Database {
        /// What the store was doing.
        doing: &'static str,
        /// The table.
        table: String,
        /// The database's error.
        #[source]
        source: sqlx::Error,
    },
}

/// Makes an error of `sqlx`'s an [`SqlStoreError::Database`] saying what the store was doing.
pub(crate) fn database_error(doing: &'static str, table: &str) -> impl Fn(sqlx::Error) -> SqlStoreError {
    let table = table.to_owned();
    move |source| SqlStoreError::Database {
        doing,
        table: table.clone(),
        source,
    }
}

/// `time` in whole seconds since the epoch; a time before it is 0, one past `i64` is `i64::MAX`.
pub(crate) fn unix_seconds(time: SystemTime) -> i64 {
    i64::try_from(crate::clock::seconds_of(time)).unwrap_or(i64::MAX)
}

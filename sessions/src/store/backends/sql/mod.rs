//! The SQL stores: one backend ([`SqlBackend`], `backend.rs`) over one table and its saves
//! (`table.rs`), whose statements (`statements.rs`) run on each database's connection (`rows.rs`).
//! A database is a dialect in its own file (`sqlite.rs`, `postgres.rs`, `mysql.rs`): a value, its
//! schema, its `sql_database!` line and its migration (a database on a server gets `connect`
//! here). Here: the seal on which databases there are, the names they add to the public API,
//! errors, table names, and the time as the tables keep it. A new database is its file, a line for
//! its module here and a line in each of [`for_apps`] and [`for_backends`], and its feature in the
//! list of `backends/mod.rs`.

pub(crate) mod backend;
#[cfg(feature = "mysql")]
pub(crate) mod mysql;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
pub(crate) mod rows;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;
pub(crate) mod statements;
pub(crate) mod table;

use std::time::SystemTime;

pub use backend::SqlBackend;

/// The names the SQL stores add to `sessions::store`.
pub(crate) mod for_apps {
    pub use super::SqlStoreError;
    #[cfg(feature = "mysql")]
    #[cfg_attr(docsrs, doc(cfg(feature = "mysql")))]
    pub use super::mysql::MySqlStore;
    #[cfg(feature = "postgres")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub use super::postgres::PostgresStore;
    #[cfg(feature = "sqlite")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub use super::sqlite::SqliteStore;
}

/// The names the SQL stores add to `sessions::store::backend`.
pub(crate) mod for_backends {
    #[cfg(feature = "mysql")]
    #[cfg_attr(docsrs, doc(cfg(feature = "mysql")))]
    pub use super::mysql::MySqlBackend;
    #[cfg(feature = "postgres")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub use super::postgres::PostgresBackend;
    #[cfg(feature = "sqlite")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub use super::sqlite::SqliteBackend;
    pub use super::{SqlBackend, SqlDatabase};
}

/// A database the SQL stores run on: SQLite (feature `sqlite`), PostgreSQL (feature `postgres`),
/// MySQL and MariaDB (feature `mysql`).
/// Sealed: a database is a dialect of this crate's, a value beside the others.
pub trait SqlDatabase: dialect::Sealed {}

pub(crate) mod dialect {
    use std::future::Future;

    use sqlx::Pool;

    use crate::store::backends::sql::SqlStoreError;
    use crate::store::backends::sql::rows::Rows;
    use crate::store::backends::sql::statements::Dialect;

    /// A database on a server, reached by URL (PostgreSQL, MySQL): its stores have `connect`.
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    pub trait Server: Sealed {
        /// Where `options` lead, for errors: host, port and database, never the password.
        fn address(options: &<Self::Connection as sqlx::Connection>::Options) -> String;
    }

    /// What the generic backend needs of a database, implemented in its dialect's file.
    pub trait Sealed: sqlx::Database<Connection: Rows> {
        /// Its statement texts and schema.
        const DIALECT: &'static Dialect;

        /// Runs `schema`, the schema of the table `table`, on `pool`, as many processes may at once:
        /// as it is, unless the database needs more (a lock, columns added to an older table).
        fn migrate(
            pool: &Pool<Self>,
            table: &str,
            schema: String,
        ) -> impl Future<Output = Result<(), SqlStoreError>> + Send {
            async move { super::run_script(pool, table, schema).await }
        }
    }
}

/// A database for the SQL stores, one line in its dialect's file: [`Rows`](rows::Rows) on its
/// connection (in a module `$module`) and [`SqlDatabase`]; with `server`, a database reached by
/// URL, whose store has `connect` ([`dialect::Server`]).
macro_rules! sql_database {
    ($module:ident, $connection:ty, $database:ty, server) => {
        crate::store::backends::sql::sql_database!($module, $connection, $database);

        impl crate::store::backends::sql::dialect::Server for $database {
            fn address(options: &<$connection as sqlx::Connection>::Options) -> String {
                let database = options.get_database().unwrap_or_default();
                format!("{}:{}/{database}", options.get_host(), options.get_port())
            }
        }
    };
    ($module:ident, $connection:ty, $database:ty) => {
        crate::store::backends::sql::rows::rows_on!($module, $connection, $database);

        impl crate::store::backends::sql::SqlDatabase for $database {}
    };
}
pub(crate) use sql_database;

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

/// Runs `script` (statements separated by `;`) on a connection of `pool`, to create the table
/// `table`.
pub(crate) async fn run_script<DB: dialect::Sealed>(
    pool: &sqlx::Pool<DB>,
    table: &str,
    script: String,
) -> Result<(), SqlStoreError> {
    let doing = database_error("create", table);
    let mut connection = pool.acquire().await.map_err(&doing)?;
    rows::Rows::run_script(&mut *connection, script)
        .await
        .map_err(doing)
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
impl<DB: SqlDatabase + dialect::Server> crate::store::ServerStore<SqlBackend<DB>> {
    /// Connects to the database server at `url` (`postgres://user:password@host:port/database`,
    /// `mysql://...`), with the table `sessions` created if missing. A load or save that cannot get
    /// a connection within 5 seconds (the database down or overloaded) is an error, as is this
    /// call; for other pool settings, give [`SqlBackend::new`] your own pool. Errors name the
    /// host, port and database, never the password.
    ///
    /// A load is one round trip to the database, and so is a save when no other save of the
    /// session came between: the pool does not ping a connection before handing it out (`sqlx`
    /// does by default, a round trip more). A connection the server closed while it sat idle (a
    /// restart, MySQL's `wait_timeout`) shows when it is used, and the load or save is tried again
    /// on another one. To get the same from your own pool, build it with
    /// [`test_before_acquire(false)`](sqlx::pool::PoolOptions::test_before_acquire).
    pub async fn connect(url: &str, keys: impl Into<crate::key::Keys>) -> Result<Self, SqlStoreError> {
        use sqlx::Connection as _;
        /// How long connecting (and, later, getting a connection from the pool) may take.
        const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
        let failed = |database: String| {
            move |source| SqlStoreError::Connect {
                doing: "connect to",
                database,
                fix: "is the server running there, does it take this user, and is the URL right?",
                source,
            }
        };
        let options: <DB::Connection as sqlx::Connection>::Options = url
            .parse()
            .map_err(failed(format!("{} (the URL)", <DB as sqlx::Database>::NAME)))?;
        let database = format!("{} at {}", <DB as sqlx::Database>::NAME, DB::address(&options));
        // One connection first, outside the pool: a pool retries a refused connection until its
        // acquire timeout and then says only that it timed out; this says why, at once.
        let probe = tokio::time::timeout(CONNECT_TIMEOUT, DB::Connection::connect_with(&options))
            .await
            .unwrap_or(Err(sqlx::Error::PoolTimedOut))
            .map_err(failed(database.clone()))?;
        let _ = probe.close().await;
        let pool = sqlx::pool::PoolOptions::<DB>::new()
            .acquire_timeout(CONNECT_TIMEOUT)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(failed(database))?;
        let backend = SqlBackend::new(pool);
        backend.migrate().await?;
        Ok(Self::with_backend(backend, keys))
    }
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

//! The backends this crate ships, one file (or folder) each: [`memory`] for tests and development,
//! `fs` for files, `redis` for Redis, `sql` for SQLite, PostgreSQL and MySQL on one generic table.

pub(crate) mod memory;

#[cfg(all(feature = "fs", unix))]
pub(crate) mod fs;
#[cfg(feature = "redis")]
pub(crate) mod redis;
/// The SQL stores, with a feature of one of their databases: the one list of those features.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub(crate) mod sql;
/// Without one, the names they add to the public API: none.
#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
pub(crate) mod sql {
    pub(crate) mod for_apps {}
    pub(crate) mod for_backends {}
}

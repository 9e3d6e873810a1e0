//! The backends this crate ships, one file (or folder) each: [`memory`] for tests and development,
//! `fs` for files, `redis` for Redis, `sql` for SQLite and PostgreSQL on one generic table.

pub(crate) mod memory;

#[cfg(all(feature = "fs", unix))]
pub(crate) mod fs;
#[cfg(feature = "redis")]
pub(crate) mod redis;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) mod sql;

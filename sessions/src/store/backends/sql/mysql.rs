//! Sessions in MySQL or MariaDB, through `sqlx` (feature `mysql`): for a fleet of app instances
//! that already share one of those databases.
//!
//! The table and its saves are those of every SQL store (`table.rs`); what differs is this
//! dialect: `?` placeholders, `INSERT ... ON DUPLICATE KEY UPDATE`, `INSERT IGNORE`, and a new
//! revocation mark given back through `LAST_INSERT_ID` (no `RETURNING`). A compare and swap counts
//! the rows its `UPDATE` matched, not those it changed: `sqlx` connects with `CLIENT_FOUND_ROWS`,
//! so a write of the bytes already there is never taken for a lost race (a test holds `sqlx` to it).

use sqlx::MySql;

use crate::store::backends::sql::statements::Dialect;
use crate::store::backends::sql::{SqlBackend, dialect};
use crate::store::server::ServerStore;

/// A [`ServerStore`] keeping sessions in MySQL or MariaDB, opened with
/// [`connect`](ServerStore::connect).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use sessions::Key;
/// use sessions::store::MySqlStore;
///
/// let store = MySqlStore::connect("mysql://app@10.0.0.7/app", Key::from_env("SESSION_KEY")?).await?;
/// let sweeper = store.spawn_sweeper(std::time::Duration::from_secs(600))?;
/// # Ok(()) }
/// ```
pub type MySqlStore = ServerStore<MySqlBackend>;

/// The backend of [`MySqlStore`], on the app's own pool: the SQL backend on MySQL or MariaDB.
/// Its schema ([`SqlBackend::schema`]), with `{table}` for the table's name (ids and owners in a
/// binary collation, since they are case-sensitive):
///
/// ```sql
#[doc = include_str!("mysql.sql")]
/// ```
pub type MySqlBackend = SqlBackend<MySql>;

const MYSQL: Dialect = Dialect {
    // A save that moves a session locks the old row, so two such saves of one session take
    // turns. A revocation's `DELETE` is a locking read of the rows as last committed, so it sees
    // where a moving save took a session; when the two deadlock, InnoDB undoes one (SQLSTATE
    // 40001) and it runs again.
    lock_read: " FOR UPDATE",
    // MariaDB's "Connection was killed" (an administrator's `KILL`, a shutdown).
    lost: |code| code == "70100",
    schema: include_str!("mysql.sql"),
    ..Dialect::ON_DUPLICATE_KEY
};

crate::store::backends::sql::sql_database!(rows, sqlx::MySqlConnection, sqlx::MySql, server);

// MySQL's `CREATE TABLE IF NOT EXISTS` (its indexes inside it) is safe when many processes run it
// at once: the schema runs as it is.
impl dialect::Sealed for MySql {
    const DIALECT: &'static Dialect = &MYSQL;
}

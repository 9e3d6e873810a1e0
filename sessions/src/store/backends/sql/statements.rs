//! The statements on the session table, the same text for every database the SQL stores support
//! (`sqlx` binds `$1` on SQLite too) but for what [`Dialect`] says.

/// What differs between the databases in the statements.
#[derive(Debug)]
pub struct Dialect {
    /// Begins the transaction of a save that moves a session.
    pub(crate) begin_move: &'static str,
    /// Begins the transaction of "revoke every session of an owner": one that fails, rather than
    /// deleting nothing, when a row it would delete was changed since it began (a save moving that
    /// session committed meanwhile), so that it is run again and sees where the session went.
    pub(crate) begin_revoke: &'static str,
    /// Ends the read of such a save, to lock the row until the transaction ends.
    pub(crate) lock_read: &'static str,
    /// Whether an error code says the database was busy with another connection's write, so that
    /// the statement, run again a moment later, goes through (SQLite's `SQLITE_BUSY` when its busy
    /// handler was not called, or gave up).
    pub(crate) busy: fn(&str) -> bool,
    /// The function of the larger of two values: `max` (SQLite), `GREATEST` (PostgreSQL).
    pub(crate) greatest: &'static str,
    /// The schema: the tables and indexes, with `{table}` for the table's name.
    pub(crate) schema: &'static str,
}

/// The statements on one table, written once for its name. Every write of a session row writes
/// its owner and summary (`NULL` for a session without an owner, and for a forward) in the same
/// statement: the owner index is the `owner` column, as exact as the rows.
#[derive(Debug)]
pub struct Statements {
    pub(crate) table: String,
    pub(crate) dialect: &'static Dialect,
    pub(crate) read: String,
    pub(crate) read_to_move: String,
    pub(crate) upsert: String,
    pub(crate) insert_new: String,
    pub(crate) swap: String,
    pub(crate) delete: String,
    pub(crate) sweep: String,
    pub(crate) list: String,
    pub(crate) revoke: String,
    pub(crate) mark: String,
    pub(crate) revoke_cookies: String,
    pub(crate) sweep_revocations: String,
}

impl Statements {
    pub(crate) fn new(table: &str, dialect: &'static Dialect) -> Self {
        let read = format!("SELECT forward, data FROM {table} WHERE id = $1");
        let revocations = revocations_table(table);
        let greatest = dialect.greatest;
        Self {
            table: table.to_owned(),
            dialect,
            read_to_move: format!("{read}{}", dialect.lock_read),
            read,
            // Every statement that writes a row binds the same: `$1` the id, `$2` whether it is a
            // forward, `$3` the data, `$4` when it expires, `$5` and `$6` its owner columns (see
            // `rows::Row`); and a compare and swap `$7`, the record it expects.
            upsert: format!(
                "INSERT INTO {table} (id, forward, data, expires_at, owner, summary) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (id) DO UPDATE SET forward = $2, data = $3, expires_at = $4, owner = $5, summary = $6"
            ),
            insert_new: format!(
                "INSERT INTO {table} (id, forward, data, expires_at, owner, summary) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (id) DO NOTHING"
            ),
            swap: format!(
                "UPDATE {table} SET data = $3, expires_at = $4, owner = $5, summary = $6 \
                 WHERE id = $1 AND forward = $2 AND data = $7"
            ),
            delete: format!("DELETE FROM {table} WHERE id = $1"),
            sweep: format!("DELETE FROM {table} WHERE expires_at <= $1"),
            list: format!("SELECT id, summary FROM {table} WHERE owner = $1 AND summary IS NOT NULL"),
            revoke: format!("DELETE FROM {table} WHERE owner = $1 AND id <> $2"),
            mark: format!("SELECT mark FROM {revocations} WHERE owner = $1"),
            // The mark goes to `$2` (the time), or one past the stored mark if that is not below it:
            // see `Revocations::revoke`.
            revoke_cookies: format!(
                "INSERT INTO {revocations} (owner, mark, until) VALUES ($1, $2, $3) \
                 ON CONFLICT (owner) DO UPDATE SET \
                 mark = CASE WHEN {revocations}.mark >= $2 THEN {revocations}.mark + 1 ELSE $2 END, \
                 until = {greatest}({revocations}.until, $3) \
                 RETURNING mark"
            ),
            sweep_revocations: format!("DELETE FROM {revocations} WHERE until <= $1"),
        }
    }
}

/// The table of a session table's revocations of cookie sessions.
pub(crate) fn revocations_table(table: &str) -> String {
    format!("{table}_revocations")
}

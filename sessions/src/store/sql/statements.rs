//! The statements on the session table, the same text for every database the SQL stores support
//! (`sqlx` binds `$1` on SQLite too) but for what [`Dialect`] says.

/// What differs between the databases in the statements of a save.
#[derive(Debug)]
pub(crate) struct Dialect {
    /// Begins the transaction of a save that moves a session.
    pub(crate) begin_move: &'static str,
    /// Ends the read of such a save, to lock the row until the transaction ends.
    pub(crate) lock_read: &'static str,
}

/// The statements on one table, written once for its name.
#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) table: String,
    pub(crate) dialect: &'static Dialect,
    pub(crate) read: String,
    pub(crate) read_to_move: String,
    pub(crate) upsert: String,
    pub(crate) insert_new: String,
    pub(crate) swap: String,
    pub(crate) delete: String,
    pub(crate) sweep: String,
}

impl Statements {
    pub(crate) fn new(table: &str, dialect: &'static Dialect) -> Self {
        let read = format!("SELECT forward, data FROM {table} WHERE id = $1");
        Self {
            table: table.to_owned(),
            dialect,
            read_to_move: format!("{read}{}", dialect.lock_read),
            read,
            upsert: format!(
                "INSERT INTO {table} (id, forward, data, expires_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO UPDATE SET forward = $2, data = $3, expires_at = $4"
            ),
            insert_new: format!(
                "INSERT INTO {table} (id, forward, data, expires_at) VALUES ($1, FALSE, $2, $3) \
                 ON CONFLICT (id) DO NOTHING"
            ),
            swap: format!(
                "UPDATE {table} SET data = $2, expires_at = $3 WHERE id = $1 AND NOT forward AND data = $4"
            ),
            delete: format!("DELETE FROM {table} WHERE id = $1"),
            sweep: format!("DELETE FROM {table} WHERE expires_at <= $1"),
        }
    }
}

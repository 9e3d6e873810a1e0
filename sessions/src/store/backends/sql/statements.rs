//! The statements on the session table, written once with `$1`, `$2`, ... and put in each
//! database's terms by its [`Dialect`], a value that holds every text that differs.

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
    /// Whether an error code says the connection is gone rather than that the statement failed,
    /// besides the I/O errors that say so on every database: PostgreSQL's "terminating connection
    /// due to administrator command" (a restart), for one.
    pub(crate) lost: fn(&str) -> bool,
    /// The function of the larger of two values: `max` (SQLite), `GREATEST` (PostgreSQL).
    pub(crate) greatest: &'static str,
    /// The schema: the tables and indexes, with `{table}` for the table's name.
    pub(crate) schema: &'static str,
    /// How the statements name their parameters.
    pub(crate) placeholders: Placeholders,
    /// What follows an `INSERT` so that a row already under the key `{key}` is updated instead:
    /// `ON CONFLICT ({key}) DO UPDATE SET` (SQLite, PostgreSQL); `ON DUPLICATE KEY UPDATE` (MySQL).
    pub(crate) upsert: &'static str,
    /// How the assignments after [`Dialect::upsert`] name the value the `INSERT` carried for
    /// `{column}`: `excluded.{column}`; `VALUES({column})` (MySQL).
    pub(crate) inserted: &'static str,
    /// An `INSERT` that does nothing when the key `{key}` is taken, as its start and its end:
    /// `INSERT` and ` ON CONFLICT ({key}) DO NOTHING`; `INSERT IGNORE` and nothing (MySQL).
    pub(crate) insert_if_absent: (&'static str, &'static str),
    /// How the statement that raises a revocation mark writes the new mark `{value}`: as it is;
    /// `LAST_INSERT_ID({value})`, remembered for [`Dialect::read_new_mark`] (MySQL).
    pub(crate) remember: &'static str,
    /// What reads that mark back on the same connection, for a database without `RETURNING`
    /// (MySQL: `LAST_INSERT_ID` is the connection's own, so no other revocation comes between);
    /// `None`: the statement ends in `RETURNING mark`.
    pub(crate) read_new_mark: Option<&'static str>,
}

impl Dialect {
    /// The terms SQLite and PostgreSQL share (`$1` placeholders, `INSERT ... ON CONFLICT`,
    /// `excluded.`, `GREATEST`, plain `BEGIN`, no locking read, never busy), for a dialect to
    /// start from: `Dialect { busy: ..., schema: ..., ..Dialect::ON_CONFLICT }`.
    pub(crate) const ON_CONFLICT: Dialect = Dialect {
        begin_move: "BEGIN",
        begin_revoke: "BEGIN",
        lock_read: "",
        busy: |_| false,
        lost: |_| false,
        greatest: "GREATEST",
        schema: "",
        placeholders: Placeholders::Numbered,
        upsert: "ON CONFLICT ({key}) DO UPDATE SET",
        inserted: "excluded.{column}",
        insert_if_absent: ("INSERT", " ON CONFLICT ({key}) DO NOTHING"),
        remember: "{value}",
        read_new_mark: None,
    };

    /// MySQL's terms (`?` placeholders, `INSERT ... ON DUPLICATE KEY UPDATE`, `VALUES(...)`,
    /// `INSERT IGNORE`, no `RETURNING`), for its dialect to start from.
    #[cfg_attr(
        not(any(test, feature = "mysql")),
        expect(dead_code, reason = "MySQL's dialect alone starts from it")
    )]
    pub(crate) const ON_DUPLICATE_KEY: Dialect = Dialect {
        placeholders: Placeholders::Positional,
        upsert: "ON DUPLICATE KEY UPDATE",
        inserted: "VALUES({column})",
        insert_if_absent: ("INSERT IGNORE", ""),
        remember: "LAST_INSERT_ID({value})",
        read_new_mark: Some("SELECT CAST(LAST_INSERT_ID() AS SIGNED)"),
        ..Dialect::ON_CONFLICT
    };
}

/// How a dialect's statements name their parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholders {
    /// `$1`, `$2`, ...: each parameter bound once, in its number's order (SQLite, PostgreSQL).
    Numbered,
    /// `?` for each use, bound in the order they appear (MySQL).
    Positional,
}

/// One statement as its database reads it, and the parameter each of its placeholders takes.
#[derive(Debug)]
pub struct Statement {
    pub(crate) text: String,
    /// The number (from 1) of the parameter each placeholder takes, in the order they are bound.
    pub(crate) order: Vec<usize>,
}

impl Statement {
    /// `text`, written with `$1`, `$2`, ..., in the placeholders of `dialect`.
    pub(crate) fn new(text: &str, dialect: &Dialect) -> Self {
        let mut written = String::with_capacity(text.len());
        let mut used = Vec::new();
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            let digits = rest[at + 1..]
                .find(|c: char| !c.is_ascii_digit())
                .map_or(rest.len() - at - 1, |end| end);
            let Ok(number) = rest[at + 1..at + 1 + digits].parse::<usize>() else {
                written.push_str(&rest[..=at]);
                rest = &rest[at + 1..];
                continue;
            };
            written.push_str(&rest[..at]);
            match dialect.placeholders {
                Placeholders::Numbered => written.push_str(&rest[at..at + 1 + digits]),
                Placeholders::Positional => written.push('?'),
            }
            used.push(number);
            rest = &rest[at + 1 + digits..];
        }
        written.push_str(rest);
        let order = match dialect.placeholders {
            Placeholders::Numbered => (1..=used.iter().copied().max().unwrap_or(0)).collect(),
            Placeholders::Positional => used,
        };
        Self { text: written, order }
    }
}

/// The statements on one table, written once for its name. Every write of a session row writes
/// its owner and summary (`NULL` for a session without an owner, and for a forward) in the same
/// statement: the owner index is the `owner` column, as exact as the rows.
#[derive(Debug)]
pub struct Statements {
    pub(crate) table: String,
    pub(crate) dialect: &'static Dialect,
    pub(crate) read: Statement,
    pub(crate) read_to_move: Statement,
    pub(crate) upsert: Statement,
    pub(crate) insert_new: Statement,
    pub(crate) swap: Statement,
    pub(crate) delete: Statement,
    pub(crate) sweep: Statement,
    pub(crate) list: Statement,
    pub(crate) revoke: Statement,
    pub(crate) mark: Statement,
    pub(crate) revoke_cookies: Statement,
    /// What reads the new mark back after `revoke_cookies`, for a dialect without `RETURNING`.
    pub(crate) read_new_mark: Option<Statement>,
    pub(crate) sweep_revocations: Statement,
}

/// The columns of a session row, in the order every statement that writes one binds them
/// (`rows::Row`): `$1` the id, `$2` whether it is a forward, `$3` the data, `$4` when it expires,
/// `$5` and `$6` its owner columns.
const ROW_COLUMNS: [&str; 6] = ["id", "forward", "data", "expires_at", "owner", "summary"];

impl Statements {
    pub(crate) fn new(table: &str, dialect: &'static Dialect) -> Self {
        let statement = |text: String| Statement::new(&text, dialect);
        let revocations = revocations_table(table);
        let Dialect {
            greatest,
            upsert,
            inserted,
            insert_if_absent: (insert_start, insert_end),
            remember,
            read_new_mark,
            ..
        } = dialect;
        let remembered = |value: &str| remember.replace("{value}", value);
        let returning = if read_new_mark.is_some() {
            ""
        } else {
            " RETURNING mark"
        };
        let inserted = |column: &str| inserted.replace("{column}", column);
        let columns = ROW_COLUMNS.join(", ");
        let insert_row = format!("INTO {table} ({columns}) VALUES ($1, $2, $3, $4, $5, $6)");
        let update_row = ROW_COLUMNS[1..]
            .iter()
            .map(|column| format!("{column} = {}", inserted(column)))
            .collect::<Vec<_>>()
            .join(", ");
        let read = format!("SELECT forward, data FROM {table} WHERE id = $1");
        Self {
            table: table.to_owned(),
            dialect,
            read_to_move: statement(format!("{read}{}", dialect.lock_read)),
            read: statement(read),
            upsert: statement(format!(
                "INSERT {insert_row} {} {update_row}",
                upsert.replace("{key}", "id")
            )),
            insert_new: statement(format!(
                "{insert_start} {insert_row}{}",
                insert_end.replace("{key}", "id")
            )),
            // A compare and swap, `$7` the record it expects.
            swap: statement(format!(
                "UPDATE {table} SET data = $3, expires_at = $4, owner = $5, summary = $6 \
                 WHERE id = $1 AND forward = $2 AND data = $7"
            )),
            delete: statement(format!("DELETE FROM {table} WHERE id = $1")),
            sweep: statement(format!("DELETE FROM {table} WHERE expires_at <= $1")),
            list: statement(format!(
                "SELECT id, summary FROM {table} WHERE owner = $1 AND summary IS NOT NULL"
            )),
            revoke: statement(format!("DELETE FROM {table} WHERE owner = $1 AND id <> $2")),
            mark: statement(format!("SELECT mark FROM {revocations} WHERE owner = $1")),
            // The mark goes to `$2` (the time), or one past the stored mark if that is not below it:
            // see `Revocations::revoke`.
            revoke_cookies: {
                let (mark, until) = (inserted("mark"), inserted("until"));
                let raised = remembered(&format!(
                    "CASE WHEN {revocations}.mark >= {mark} THEN {revocations}.mark + 1 ELSE {mark} END"
                ));
                statement(format!(
                    "INSERT INTO {revocations} (owner, mark, until) VALUES ($1, {}, $3) {} \
                     mark = {raised}, until = {greatest}({revocations}.until, {until}){returning}",
                    remembered("$2"),
                    upsert.replace("{key}", "owner"),
                ))
            },
            read_new_mark: read_new_mark.map(|text| statement(text.into())),
            sweep_revocations: statement(format!("DELETE FROM {revocations} WHERE until <= $1")),
        }
    }
}

/// The table of a session table's revocations of cookie sessions.
pub(crate) fn revocations_table(table: &str) -> String {
    format!("{table}_revocations")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MySQL's terms, with its locking read.
    const POSITIONAL: Dialect = Dialect {
        lock_read: " FOR UPDATE",
        ..Dialect::ON_DUPLICATE_KEY
    };

    #[test]
    fn numbered_placeholders_stay_and_bind_each_parameter_once() {
        let dialect = Dialect {
            placeholders: Placeholders::Numbered,
            ..POSITIONAL
        };
        let statement = Statement::new(
            "UPDATE t SET a = $3 WHERE id = $1 AND b = $2 AND c = $3",
            &dialect,
        );
        assert_eq!(
            statement.text,
            "UPDATE t SET a = $3 WHERE id = $1 AND b = $2 AND c = $3"
        );
        assert_eq!(statement.order, [1, 2, 3]);
    }

    #[test]
    fn positional_placeholders_bind_in_the_order_they_appear() {
        let statement = Statement::new(
            "UPDATE t SET a = $3 WHERE id = $1 AND b = $12 AND c = $3",
            &POSITIONAL,
        );
        assert_eq!(
            statement.text,
            "UPDATE t SET a = ? WHERE id = ? AND b = ? AND c = ?"
        );
        assert_eq!(statement.order, [3, 1, 12, 3]);
    }

    #[test]
    fn every_statement_is_in_the_dialects_terms() {
        static DIALECT: Dialect = POSITIONAL;
        let sql = Statements::new("app_sessions", &DIALECT);
        assert_eq!(
            sql.upsert.text,
            "INSERT INTO app_sessions (id, forward, data, expires_at, owner, summary) VALUES (?, ?, ?, ?, ?, ?) \
             ON DUPLICATE KEY UPDATE forward = VALUES(forward), data = VALUES(data), \
             expires_at = VALUES(expires_at), owner = VALUES(owner), summary = VALUES(summary)"
        );
        assert_eq!(sql.upsert.order, [1, 2, 3, 4, 5, 6]);
        assert_eq!(
            sql.insert_new.text,
            "INSERT IGNORE INTO app_sessions (id, forward, data, expires_at, owner, summary) VALUES (?, ?, ?, ?, ?, ?)"
        );
        assert_eq!(sql.swap.order, [3, 4, 5, 6, 1, 2, 7]);
        assert_eq!(
            sql.read_to_move.text,
            "SELECT forward, data FROM app_sessions WHERE id = ? FOR UPDATE"
        );
        assert_eq!(
            sql.revoke_cookies.text,
            "INSERT INTO app_sessions_revocations (owner, mark, until) VALUES (?, LAST_INSERT_ID(?), ?) \
             ON DUPLICATE KEY UPDATE mark = LAST_INSERT_ID(CASE WHEN app_sessions_revocations.mark >= VALUES(mark) \
             THEN app_sessions_revocations.mark + 1 ELSE VALUES(mark) END), \
             until = GREATEST(app_sessions_revocations.until, VALUES(until))"
        );
        assert!(sql.read_new_mark.is_some());
        let all = [
            &sql.read,
            &sql.read_to_move,
            &sql.upsert,
            &sql.insert_new,
            &sql.swap,
            &sql.delete,
            &sql.sweep,
            &sql.list,
            &sql.revoke,
            &sql.mark,
            &sql.revoke_cookies,
            &sql.sweep_revocations,
        ];
        for statement in all {
            assert!(!statement.text.contains('$'), "{}", statement.text);
            assert!(!statement.text.contains("ON CONFLICT"), "{}", statement.text);
            assert!(!statement.text.contains("excluded."), "{}", statement.text);
        }
    }
}

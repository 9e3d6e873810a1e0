//! The MySQL store beyond the shared contract (`store_contract.rs` runs that, against a server of
//! its own per test), on MariaDB: records sealed at rest, ids and owners compared as the bytes they
//! are, the sweep, a custom table, round trips per load and save, connections the server closed, a
//! database that fails, a writer killed mid-save, and many instances starting at once.

use sessions::Key;
use sessions::store::MySqlStore;
use sessions_tests::child::{self, shared_keys, spawn_child};
use sessions_tests::{AppSession, Browser, MySqlServer, sql_table};
use sqlx::MySqlPool;

sessions_tests::sql_server_tests!(
    shared: MySqlServer, MySqlStore,
    loosened: [
        "ALTER TABLE sessions MODIFY data LONGBLOB NULL; UPDATE sessions SET data = NULL",
        "ALTER TABLE sessions MODIFY forward BOOLEAN NULL; UPDATE sessions SET forward = NULL",
    ],
    index_named: "SELECT count(*) FROM information_schema.STATISTICS WHERE INDEX_NAME = $1",
    #[cfg_attr(not(mysql_server), ignore = "mariadbd and mariadb-install-db not found")]
);

/// Ids and owners are case-sensitive text: a row under an id that differs from a session's only in
/// the case of a letter is another row (a case-insensitive collation would take it for the same
/// and refuse it), and the session keeps its own.
#[tokio::test]
#[cfg_attr(not(mysql_server), ignore = "mariadbd and mariadb-install-db not found")]
async fn ids_that_differ_only_in_case_are_different_sessions() {
    let (server, store, _) = shared::started("case").await;
    let browser = Browser::signed_in(&store, 7).await;
    let raw = MySqlPool::connect(&server.url()).await.unwrap();
    let id: String = sqlx::query_scalar("SELECT id FROM sessions")
        .fetch_one(&raw)
        .await
        .unwrap();
    let flipped: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    assert_ne!(id, flipped, "the id has letters");
    sqlx::query(
        "INSERT INTO sessions (id, forward, data, expires_at) \
         SELECT ?, forward, data, expires_at FROM sessions WHERE id = ?",
    )
    .bind(&flipped)
    .bind(&id)
    .execute(&raw)
    .await
    .expect("another id, another row");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions")
        .fetch_one(&raw)
        .await
        .unwrap();
    assert_eq!(rows, 2);
    assert_eq!(browser.load::<AppSession>(&store).await.user_id, Some(7));
}

/// A compare and swap counts the rows its `UPDATE` matched, not the rows it changed: `sqlx`
/// connects with `CLIENT_FOUND_ROWS`, which the store relies on so that a write of the bytes
/// already there is never taken for a lost race.
#[tokio::test]
#[cfg_attr(not(mysql_server), ignore = "mariadbd and mariadb-install-db not found")]
async fn an_update_that_changes_nothing_still_counts_the_row_it_matched() {
    let (_server, store, _) = shared::started("found-rows").await;
    Browser::signed_in(&store, 7).await;
    let pool = store.backend().pool();
    let done = sqlx::query(
        "UPDATE sessions SET data = data WHERE id = (SELECT id FROM (SELECT id FROM sessions) AS one)",
    )
    .execute(pool)
    .await
    .unwrap();
    assert_eq!(done.rows_affected(), 1);
}

/// The password of a URL is never in an error: the store names the host, port and database.
#[tokio::test]
async fn a_password_is_never_in_an_error() {
    let port = sessions_tests::free_port();
    let url = format!("mysql://app:hunter2-secret@127.0.0.1:{port}/app");
    let Err(error) = MySqlStore::connect(&url, Key::generate()).await else {
        panic!("nothing listens there");
    };
    let said = format!("{error} {:?} {}", error, sessions::ErrorChain(&error));
    assert!(!said.contains("hunter2"), "{said}");
    assert!(said.contains(&format!("MySQL at 127.0.0.1:{port}/app")), "{said}");
}

#[tokio::test]
#[cfg_attr(not(mysql_server), ignore = "mariadbd and mariadb-install-db not found")]
async fn connections_the_server_closed_while_idle_cost_no_request_an_error() {
    let (server, store, _) = shared::started("closed-idle").await;
    let admin = MySqlPool::connect(&server.url()).await.unwrap();
    let close = async || {
        let mut connection = admin.acquire().await.unwrap();
        let others: Vec<i64> = sqlx::query_scalar(
            "SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST \
             WHERE ID <> CONNECTION_ID() AND USER = 'root' AND COMMAND = 'Sleep'",
        )
        .fetch_all(&mut *connection)
        .await
        .unwrap();
        for id in &others {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("KILL {id}")))
                .execute(&mut *connection)
                .await;
        }
        others.len()
    };
    sql_table::connections_closed_while_idle_cost_no_error(&store, store.backend().pool(), close).await;
}

/// The writer of the killed-writer test, in its own process; does nothing unless started by it.
#[test]
#[ignore = "started by the killed-writer test"]
fn child() {
    child::write_when_ordered(async |place| MySqlStore::connect(place, shared_keys()).await.unwrap());
}

/// A writer killed with SIGKILL at any moment of a save leaves every session whole: each row holds
/// one acknowledged save's record, never part of one, and opens.
#[tokio::test]
#[cfg_attr(not(mysql_server), ignore = "mariadbd and mariadb-install-db not found")]
async fn a_writer_killed_at_any_moment_leaves_every_session_whole() {
    let server = MySqlServer::start("killed");
    let store = MySqlStore::connect(&server.url(), shared_keys()).await.unwrap();
    let browsers = child::sessions_to_rewrite(&store, 8).await;
    let cookies = child::cookies_of(&browsers);
    let url = server.url();
    let spawn = || spawn_child(url.as_ref(), "write", &cookies);
    child::every_session_survives_a_killed_writer(&browsers, 15, spawn, async |_| store.clone()).await;
}

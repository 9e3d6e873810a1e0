//! The PostgreSQL store beyond the shared contract (`store_contract.rs` runs that, against a
//! server of its own per test): records sealed at rest, the sweep, a custom table, round trips per
//! load and save, connections the database closed, and a database that fails.

use sessions::Key;
use sessions::store::PostgresStore;
use sessions_tests::{PostgresServer, sql_table};

sessions_tests::sql_server_tests!(
    shared: PostgresServer, PostgresStore,
    loosened: [
        "ALTER TABLE sessions ALTER COLUMN data DROP NOT NULL; UPDATE sessions SET data = NULL",
        "ALTER TABLE sessions ALTER COLUMN forward DROP NOT NULL; UPDATE sessions SET forward = NULL",
    ],
    index_named: "SELECT count(*) FROM pg_indexes WHERE indexname = $1",
    #[cfg_attr(not(postgres_server), ignore = "initdb and postgres were not found")]
);

#[tokio::test]
#[cfg_attr(not(postgres_server), ignore = "initdb and postgres were not found")]
async fn connections_the_database_closed_while_idle_cost_no_request_an_error() {
    let (server, store, _) = shared::started("closed-idle").await;
    let admin = sqlx::PgPool::connect(&server.url()).await.unwrap();
    let close = async || {
        let closed: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'",
        )
        .fetch_all(&admin)
        .await
        .unwrap();
        closed.len()
    };
    sql_table::connections_closed_while_idle_cost_no_error(&store, store.backend().pool(), close).await;
}

#[tokio::test]
#[cfg_attr(not(postgres_server), ignore = "initdb and postgres were not found")]
async fn a_table_from_before_owners_gets_the_owner_index() {
    let server = PostgresServer::start("before-owners");
    let raw = sql_table::raw_pool(&server.url()).await;
    sql_table::a_table_from_before_owners_gets_the_owner_index(
        "CREATE TABLE sessions (id TEXT PRIMARY KEY, forward BOOLEAN NOT NULL, \
         data BYTEA NOT NULL, expires_at BIGINT NOT NULL)",
        async || {
            PostgresStore::connect(&server.url(), Key::generate())
                .await
                .unwrap()
        },
        &raw,
    )
    .await;
}

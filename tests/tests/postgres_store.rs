//! The PostgreSQL store beyond the shared contract (`store_contract.rs` runs that, against a
//! server of its own per test): a database that fails.

use sessions::Key;
use sessions::store::PostgresStore;
use sessions_tests::PostgresServer;

#[tokio::test]
#[cfg_attr(
    not(postgres_server),
    ignore = "initdb and postgres were not found: the PostgreSQL store is not tested"
)]
async fn a_failing_database_is_an_error_naming_the_table_never_a_fresh_session() {
    let server = PostgresServer::start("failing");
    let store = PostgresStore::connect(&server.url(), Key::generate())
        .await
        .unwrap();
    sessions_tests::a_lost_table_is_an_error(&store, async || {
        let pool = sqlx::PgPool::connect(&server.url()).await.unwrap();
        sqlx::query("DROP TABLE sessions").execute(&pool).await.unwrap();
    })
    .await;
}

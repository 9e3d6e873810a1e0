//! Errors a newcomer meets first, when a store cannot start: each names what failed, where (a
//! path, a host and port, never a password), what to check, and its cause once.

use sessions::store::{PostgresStore, RedisOptions, RedisStore, SqliteStore};
use sessions::{ErrorChain, Key};

/// A loopback port nothing listens on (bound, then let go).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `message` holds each of `parts`, holds no `secret`, and says no cause twice.
fn says(message: &str, parts: &[&str], secret: &str) {
    for part in parts {
        assert!(message.contains(part), "{part:?} missing from: {message}");
    }
    assert!(!message.contains(secret), "the password shows: {message}");
    let causes: Vec<&str> = message.split(": ").collect();
    for (i, cause) in causes.iter().enumerate() {
        assert!(!causes[i + 1..].contains(cause), "{cause:?} twice in: {message}");
    }
}

#[tokio::test]
async fn redis_not_running_is_named_with_its_address_and_the_fix() {
    let port = closed_port();
    let url = format!("redis://:hunter2@127.0.0.1:{port}");
    let error = RedisStore::connect(&url, RedisOptions::default(), Key::generate())
        .await
        .unwrap_err();
    let message = ErrorChain(&error).to_string();
    says(
        &message,
        &[
            &format!("Redis at 127.0.0.1:{port}"),
            "is redis-server running",
            "refused",
        ],
        "hunter2",
    );
}

#[tokio::test]
async fn postgres_not_running_says_why_at_once_not_that_a_pool_timed_out() {
    let port = closed_port();
    let url = format!("postgres://app:hunter2@127.0.0.1:{port}/sessions");
    let error = PostgresStore::connect(&url, Key::generate()).await.unwrap_err();
    let message = ErrorChain(&error).to_string();
    says(
        &message,
        &[
            &format!("PostgreSQL at 127.0.0.1:{port}/sessions"),
            "is the server running",
            "refused",
        ],
        "hunter2",
    );
    assert!(!message.contains("timed out"), "{message}");
}

#[tokio::test]
async fn an_sqlite_file_that_cannot_be_opened_is_named_with_its_path() {
    let path = std::env::temp_dir()
        .join(format!("sessions-no-such-dir-{}", std::process::id()))
        .join("app.db");
    let error = SqliteStore::open(&path, Key::generate()).await.unwrap_err();
    let message = ErrorChain(&error).to_string();
    says(
        &message,
        &[
            &path.display().to_string(),
            "does its directory exist",
            "unable to open database file",
        ],
        "\0",
    );
}

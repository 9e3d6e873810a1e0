//! Load plus save of a typical session on SQLite, ours against `tower-sessions-sqlx-store`, each on
//! a database file of its own: open the session, flip a field, save. Interleaved in rounds (ours,
//! theirs, theirs, ours, ...), each round timing a fixed number of operations; the figure is the
//! median of the per-round ratios, which on a noisy machine drifts far less than two separate runs.
//!
//! Run: `cargo bench -p sessions-examples --bench sql_load`

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::{COOKIE, SET_COOKIE};
use serde::{Deserialize, Serialize};
use sessions::store::SqliteStore;
use sessions::{Key, Session, Store};
use tower_sessions_sqlx_store::sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

/// The typical session: a `u64` id, a 20-character name, three 30-character flash messages, a bool.
#[derive(Session, Default, Serialize, Deserialize, Clone, Debug)]
#[session(cookie = "app")]
struct Typical {
    user_id: u64,
    name: String,
    #[flash]
    messages: Vec<String>,
    admin: bool,
}

fn typical() -> Typical {
    Typical {
        user_id: 1_234_567,
        name: "Ada Lovelace Byron 1".into(),
        messages: vec![
            "Your profile has been updated.".into(),
            "Two new messages in your inbox".into(),
            "Your order #4411 has shipped!!".into(),
        ],
        admin: false,
    }
}

/// Operations per round, and rounds.
const OPERATIONS: u32 = 2_000;
const ROUNDS: usize = 12;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = std::env::temp_dir().join(format!("sessions-sql-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    // Ours: a request carrying the cookie of a stored typical session.
    let ours = SqliteStore::open(dir.join("ours.db"), Key::generate())
        .await
        .unwrap();
    let mut session = ours.load::<Typical>(&HeaderMap::new()).await.unwrap();
    *session = typical();
    let mut response = HeaderMap::new();
    ours.save(&mut session, &mut response).await.unwrap();
    let pair = response[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mut request = HeaderMap::new();
    request.insert(COOKIE, pair.parse().unwrap());

    // Theirs: a stored session holding the same value under one key.
    let options = SqliteConnectOptions::new()
        .filename(dir.join("theirs.db"))
        .create_if_missing(true);
    let theirs =
        tower_sessions_sqlx_store::SqliteStore::new(SqlitePool::connect_with(options).await.unwrap());
    theirs.migrate().await.unwrap();
    let theirs = Arc::new(theirs);
    let first = tower_sessions::Session::new(None, Arc::clone(&theirs), None);
    first.insert("typical", typical()).await.unwrap();
    first.save().await.unwrap();
    let id = first.id().unwrap();

    let ours_round = async || {
        let start = Instant::now();
        for _ in 0..OPERATIONS {
            let mut session = ours.load::<Typical>(black_box(&request)).await.unwrap();
            session.admin = !session.admin;
            let mut response = HeaderMap::new();
            ours.save(&mut session, &mut response).await.unwrap();
            black_box(response);
        }
        start.elapsed()
    };
    let theirs_round = async || {
        let start = Instant::now();
        for _ in 0..OPERATIONS {
            let session = tower_sessions::Session::new(Some(id), Arc::clone(&theirs), None);
            let mut value: Typical = session.get("typical").await.unwrap().unwrap();
            value.admin = !value.admin;
            session.insert("typical", value).await.unwrap();
            session.save().await.unwrap();
        }
        start.elapsed()
    };
    // One round each first, unmeasured: the page caches and the statement caches fill.
    ours_round().await;
    theirs_round().await;

    let mut ratios = Vec::new();
    let (mut ours_times, mut theirs_times) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let (a, b) = if round % 2 == 0 {
            let a = ours_round().await;
            (a, theirs_round().await)
        } else {
            let b = theirs_round().await;
            (ours_round().await, b)
        };
        ours_times.push(a);
        theirs_times.push(b);
        ratios.push(b.as_secs_f64() / a.as_secs_f64());
    }
    let per_operation = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2].as_secs_f64() * 1e6 / f64::from(OPERATIONS)
    };
    ratios.sort_by(f64::total_cmp);
    println!(
        "load + save of the typical session on SQLite (a file each, WAL), {ROUNDS} interleaved rounds of {OPERATIONS}:"
    );
    println!(
        "  sessions SqliteStore                  {:8.2} µs (median round)",
        per_operation(&mut ours_times)
    );
    println!(
        "  tower-sessions-sqlx-store SqliteStore {:8.2} µs (median round)",
        per_operation(&mut theirs_times)
    );
    println!(
        "  tower-sessions takes {:.2}x our time (median of per-round ratios; rounds from {:.2}x to {:.2}x)",
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

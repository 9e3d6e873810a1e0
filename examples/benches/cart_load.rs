//! Requests per second of the demo's cart route (`POST /cart`) under keep-alive load on loopback,
//! three ways in one run: no session at all, the demo on our cookie store, and `tower-sessions` with
//! its memory store doing the same work (load a 10-item cart, add one, drop the oldest, save).
//!
//! Load comes from `wrk` (`apt-get install wrk`), one thread and 32 connections, replaying a fixed
//! cookie: every request finds the same 10-item cart, so all three do the same work each time.
//!
//! Run: `cargo bench -p sessions-examples --bench cart_load`

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use axum::Form;
use axum::Router;
use axum::response::Redirect;
use axum::routing::post;
use serde::Deserialize;
use sessions::{CookieStore, Key, Keys};
use sessions_examples::{CART_SIZE, CATALOG};

const SECONDS: u32 = 10;

#[derive(Deserialize)]
struct ItemForm {
    item: String,
}

/// The cart route with no session: the same form handling, nothing kept.
async fn no_session(Form(form): Form<ItemForm>) -> Redirect {
    std::hint::black_box(CATALOG.contains(&form.item.as_str()));
    Redirect::to("/")
}

/// The cart route on tower-sessions: the same rule, through string keys.
async fn tower_sessions_cart(session: tower_sessions::Session, Form(form): Form<ItemForm>) -> Redirect {
    let mut items: Vec<String> = session.get("items").await.unwrap().unwrap_or_default();
    if CATALOG.contains(&form.item.as_str()) {
        items.push(form.item);
        if items.len() > CART_SIZE {
            items.remove(0);
        }
    }
    session.insert("items", items).await.unwrap();
    Redirect::to("/")
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

/// Fills the cart with `CART_SIZE` items as a browser would; returns the `Cookie` header to replay.
async fn filled_cart(address: SocketAddr) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut cookie = String::new();
    for _ in 0..CART_SIZE {
        let response = client
            .post(format!("http://{address}/cart"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &cookie)
            .body("item=tea")
            .send()
            .await
            .unwrap();
        if let Some(set) = response.headers().get("set-cookie") {
            cookie = set.to_str().unwrap().split(';').next().unwrap().to_owned();
        }
    }
    cookie
}

/// Requests per second that wrk measured against `address`.
fn wrk(address: SocketAddr, cookie: &str) -> f64 {
    let script = std::env::temp_dir().join(format!("cart-load-{}.lua", address.port()));
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.body = \"item=cake\"\n\
             wrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\n\
             wrk.headers[\"Cookie\"] = \"{cookie}\"\n"
        ),
    )
    .unwrap();
    let output = Command::new("wrk")
        .args(["-t1", "-c32", &format!("-d{SECONDS}s"), "-s"])
        .arg(&script)
        .arg(format!("http://{address}/cart"))
        .output()
        .expect("wrk runs");
    let _ = std::fs::remove_file(script);
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(!report.contains("Non-2xx or 3xx"), "errors under load:\n{report}");
    report
        .lines()
        .find_map(|line| line.strip_prefix("Requests/sec:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no rate in wrk's report:\n{report}"))
}

fn main() {
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("wrk is not installed (apt-get install wrk); the cart load benchmark did not run");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (plain, ours, theirs) = runtime.block_on(async {
        let plain = serve(Router::new().route("/cart", post(no_session))).await;
        let store = CookieStore::new(Keys::new(Key::generate()));
        let ours = serve(sessions_examples::app(store.clone(), store)).await;
        let layer = tower_sessions::SessionManagerLayer::new(tower_sessions::MemoryStore::default());
        let theirs = serve(
            Router::new()
                .route("/cart", post(tower_sessions_cart))
                .layer(layer),
        )
        .await;
        (plain, ours, theirs)
    });
    let our_cookie = runtime.block_on(filled_cart(ours));
    let their_cookie = runtime.block_on(filled_cart(theirs));
    std::thread::sleep(Duration::from_millis(100));

    let none = wrk(plain, "");
    let sessions = wrk(ours, &our_cookie);
    let tower = wrk(theirs, &their_cookie);
    println!("POST /cart, keep-alive, wrk -t1 -c32 -d{SECONDS}s, server on one tokio worker:");
    println!("  no session                    {none:>10.0} req/s");
    println!(
        "  sessions, cookie store        {sessions:>10.0} req/s  ({:.2}x no session)",
        sessions / none
    );
    println!(
        "  tower-sessions, memory store  {tower:>10.0} req/s  ({:.2}x no session; sessions is {:.2}x it)",
        tower / none,
        sessions / tower
    );
}

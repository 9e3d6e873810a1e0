//! Requests per second of the demo's cart route (`POST /cart`) under keep-alive load on loopback,
//! three ways in one run: no session at all, the demo on our cookie store, and `tower-sessions` with
//! its memory store doing the same work (load a 10-item cart, add one, drop the oldest, save).
//!
//! Load comes from `wrk` (`apt-get install wrk`), one thread and 32 connections, replaying a fixed
//! cookie: every request finds the same 10-item cart, so all three do the same work each time.
//!
//! Run: `cargo bench -p sessions-examples --bench cart_load`

mod support;

use axum::Form;
use axum::Router;
use axum::response::Redirect;
use axum::routing::post;
use sessions::{CookieStore, Key, Keys};
use sessions_examples::CATALOG;
use support::{ItemForm, SECONDS, filled_cart, have_wrk, serve, tower_sessions_cart, wrk};

/// The cart route with no session: the same form handling, nothing kept.
async fn no_session(Form(form): Form<ItemForm>) -> Redirect {
    std::hint::black_box(CATALOG.contains(&form.item.as_str()));
    Redirect::to("/")
}

fn main() {
    if !have_wrk() {
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

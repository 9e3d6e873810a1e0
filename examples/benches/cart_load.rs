//! Requests per second of the demo's cart route (`POST /cart`) under keep-alive load on loopback,
//! five ways in one run: no session at all; no session but our cookie carried both ways (what the
//! bytes cost on the wire alone); the cart sealed by hand in the handler, with the same primitives
//! and no library (what a sealed cookie costs at the least); the demo on our cookie store; and
//! `tower-sessions` with its memory store doing the same work (load a 10-item cart, add one, drop
//! the oldest, save).
//!
//! Load comes from `wrk` (`apt-get install wrk`), one thread and 32 connections, replaying a fixed
//! cookie: every request finds the same 10-item cart, so the sessions do the same work each time.
//! Three rounds go through the servers in turn; each server's best round is its figure. Beside the
//! rate, the CPU time the server used per request (its lowest round): wrk shares the machine, so
//! the rate also depends on wrk, while the CPU time is the server's own cost.
//!
//! Run: `cargo bench -p sessions-examples --bench cart_load`

#[path = "support/axum_servers.rs"]
mod axum_servers;
#[path = "support/cpu.rs"]
mod cpu;
mod sealed_by_hand;
mod support;

use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect};
use axum::routing::post;
use axum_servers::{serve, tower_sessions_cart};
use cpu::cpu_seconds_of;
use sessions::{CookieStore, Key, Keys};
use sessions_examples::CATALOG;
use support::{ItemForm, SECONDS, filled_cart, have_wrk, set_cookie_line, wrk};

/// Where each server is in the list the bench goes through.
const NO_SESSION: usize = 0;
const BY_HAND: usize = 2;
const OURS: usize = 3;
const TOWER_SESSIONS: usize = 4;

/// How many times each server is loaded.
const ROUNDS: usize = 3;

/// The cart route with no session: the same form handling, nothing kept.
async fn no_session(Form(form): Form<ItemForm>) -> Redirect {
    std::hint::black_box(CATALOG.contains(&form.item.as_str()));
    Redirect::to("/")
}

/// The cart route with no session but the same cookie traffic as ours: the request carries our
/// cookie, and the response sends back a fixed `Set-Cookie` line as long as the one ours sends. What
/// carrying a sealed cookie over HTTP costs by itself, with no session work at all.
async fn cookie_bytes_only(
    State(set_cookie): State<HeaderValue>,
    headers: HeaderMap,
    Form(form): Form<ItemForm>,
) -> impl IntoResponse {
    std::hint::black_box(headers.get(COOKIE));
    std::hint::black_box(CATALOG.contains(&form.item.as_str()));
    ([(SET_COOKIE, set_cookie)], Redirect::to("/"))
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
    let (plain, by_hand, ours, theirs) = runtime.block_on(async {
        let plain = serve(Router::new().route("/cart", post(no_session))).await;
        let by_hand = serve(
            Router::new()
                .route("/cart", post(sealed_by_hand::cart))
                .with_state(sealed_by_hand::cipher()),
        )
        .await;
        let store = CookieStore::new(Keys::new(Key::generate()));
        let ours = serve(sessions_examples::app(store.clone(), store)).await;
        let layer = tower_sessions::SessionManagerLayer::new(tower_sessions::MemoryStore::default());
        let theirs = serve(
            Router::new()
                .route("/cart", post(tower_sessions_cart))
                .layer(layer),
        )
        .await;
        (plain, by_hand, ours, theirs)
    });
    let by_hand_cookie = runtime.block_on(filled_cart(by_hand));
    let our_cookie = runtime.block_on(filled_cart(ours));
    let their_cookie = runtime.block_on(filled_cart(theirs));
    let our_set_cookie = runtime
        .block_on(set_cookie_line(ours, &our_cookie, "cake"))
        .expect("adding to the cart sets the cookie");
    let bytes_only = runtime.block_on(serve(
        Router::new()
            .route("/cart", post(cookie_bytes_only))
            .with_state(HeaderValue::from_str(&our_set_cookie).unwrap()),
    ));

    // In the order of the index constants at the top.
    let servers = [
        ("no session", plain, ""),
        ("no session, our cookie bytes", bytes_only, our_cookie.as_str()),
        ("sealed by hand, no library", by_hand, by_hand_cookie.as_str()),
        ("sessions, cookie store", ours, our_cookie.as_str()),
        ("tower-sessions, memory store", theirs, their_cookie.as_str()),
    ];
    // Rounds go through the servers in turn, and each server's best round counts: a round that
    // shared the machine with something else only ever makes a rate lower.
    let mut rounds = vec![Vec::new(); servers.len()];
    let mut cpu_per_request = vec![f64::INFINITY; servers.len()];
    for _ in 0..ROUNDS {
        for ((rates, cpu), (_, address, cookie)) in rounds.iter_mut().zip(&mut cpu_per_request).zip(&servers)
        {
            let cpu_before = cpu_seconds_of("self");
            let rate = wrk(*address, &[cookie]);
            let requests = rate * f64::from(SECONDS);
            *cpu = cpu.min((cpu_seconds_of("self") - cpu_before) / requests);
            rates.push(rate);
        }
    }
    let best: Vec<f64> = rounds
        .iter()
        .map(|rates| rates.iter().copied().fold(0.0, f64::max))
        .collect();
    println!(
        "POST /cart, keep-alive, wrk -t1 -c32 -d{SECONDS}s, server on one tokio worker, best of {ROUNDS} rounds:"
    );
    for ((name, _, _), ((best_rate, rates), cpu)) in
        servers.iter().zip(best.iter().zip(&rounds).zip(&cpu_per_request))
    {
        let all: Vec<String> = rates.iter().map(|rate| format!("{rate:.0}")).collect();
        println!(
            "  {name:<30}{best_rate:>10.0} req/s  ({:.2}x no session; rounds: {})  server CPU {:.2} µs/request",
            best_rate / best[NO_SESSION],
            all.join(", "),
            cpu * 1e6
        );
    }
    println!(
        "  sessions is {:.2}x tower-sessions, {:.2}x the cart sealed by hand",
        best[OURS] / best[TOWER_SESSIONS],
        best[OURS] / best[BY_HAND]
    );
    let added = |server: usize| (cpu_per_request[server] - cpu_per_request[NO_SESSION]) * 1e6;
    println!(
        "  server CPU added to a request over no session: sessions {:.2} µs, sealed by hand {:.2} µs, \
         tower-sessions {:.2} µs",
        added(OURS),
        added(BY_HAND),
        added(TOWER_SESSIONS)
    );
}

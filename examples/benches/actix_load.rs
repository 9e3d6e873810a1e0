//! Requests per second of the demo's cart route (`POST /cart`: load a 10-item cart, add one, drop
//! the oldest, save) on actix-web under keep-alive load on loopback, three ways in one run: no
//! session at all; the demo on our cookie store (`sessions::actix`); and `actix-session` with its
//! cookie store doing the same work, its cookie encrypted as ours is (its default, `Private`).
//!
//! Each server is actix-web with one worker. Load comes from `wrk` (`apt-get install wrk`), one
//! thread and 32 connections, replaying a fixed cookie: every request finds the same 10-item cart.
//! Rounds go through the servers in the order A, B, C, C, B, A, ...; the figure for ours against
//! actix-session is the median of the per-round ratios, which drifts far less than separate runs.
//!
//! Run: `cargo bench -p sessions-examples --bench actix_load`

mod support;

use std::net::{SocketAddr, TcpListener};

use actix_session::storage::CookieSessionStore;
use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::Key as ActixKey;
use actix_web::dev::Server;
use actix_web::http::header::LOCATION;
use actix_web::{App, HttpResponse, HttpServer, web};
use sessions::{CookieStore, Key, Keys};
use sessions_examples::{CART_SIZE, CATALOG};
use support::{ItemForm, SECONDS, filled_cart, have_wrk, wrk};

/// How many times each server is loaded.
const ROUNDS: usize = 4;

/// The cart route with no session: the same form handling, nothing kept.
async fn no_session(form: web::Form<ItemForm>) -> HttpResponse {
    std::hint::black_box(CATALOG.contains(&form.item.as_str()));
    HttpResponse::SeeOther().insert_header((LOCATION, "/")).finish()
}

/// The demo's cart route on actix-session: the same rule, through string keys.
async fn actix_session_cart(session: Session, form: web::Form<ItemForm>) -> HttpResponse {
    let mut items: Vec<String> = session.get("items").unwrap().unwrap_or_default();
    let item = form.into_inner().item;
    if CATALOG.contains(&item.as_str()) {
        items.push(item);
        if items.len() > CART_SIZE {
            items.remove(0);
        }
    }
    session.insert("items", items).unwrap();
    HttpResponse::SeeOther().insert_header((LOCATION, "/")).finish()
}

/// Runs the server `start` makes on a free loopback port, on a thread and runtime of its own; its
/// address.
fn spawn(start: impl FnOnce(TcpListener) -> std::io::Result<Server> + Send + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move { start(listener).unwrap().await.unwrap() });
    });
    address
}

fn main() {
    if !have_wrk() {
        return;
    }
    let plain = spawn(|listener| {
        let server = HttpServer::new(|| App::new().route("/cart", web::post().to(no_session)));
        Ok(server.workers(1).listen(listener)?.run())
    });
    let store = CookieStore::new(Keys::new(Key::generate()));
    let ours = sessions_examples::actix_app::spawn(store.clone(), store).unwrap();
    let key = ActixKey::generate();
    let theirs = spawn(move |listener| {
        let server = HttpServer::new(move || {
            App::new()
                .wrap(SessionMiddleware::new(CookieSessionStore::default(), key.clone()))
                .route("/cart", web::post().to(actix_session_cart))
        });
        Ok(server.workers(1).listen(listener)?.run())
    });

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let our_cookie = runtime.block_on(filled_cart(ours));
    let their_cookie = runtime.block_on(filled_cart(theirs));
    assert!(
        our_cookie.starts_with("cart=") && !their_cookie.is_empty(),
        "both carts are in cookies"
    );

    let servers = [
        ("no session", plain, ""),
        ("sessions, cookie store", ours, our_cookie.as_str()),
        ("actix-session, cookie store", theirs, their_cookie.as_str()),
    ];
    let mut rates = vec![Vec::new(); servers.len()];
    let mut ratios = Vec::new();
    for round in 0..ROUNDS {
        let mut order: Vec<usize> = (0..servers.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for server in order {
            let (_, address, cookie) = servers[server];
            rates[server].push(wrk(address, &[cookie]));
        }
        ratios.push(rates[1][round] / rates[2][round]);
    }
    let median = |figures: &[f64]| {
        let mut sorted = figures.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted[sorted.len() / 2]
    };
    println!(
        "POST /cart on actix-web, keep-alive, wrk -t1 -c32 -d{SECONDS}s, one worker, {ROUNDS} interleaved rounds:"
    );
    let no_session = median(&rates[0]);
    for ((name, _, _), rates) in servers.iter().zip(&rates) {
        let all: Vec<String> = rates.iter().map(|rate| format!("{rate:.0}")).collect();
        println!(
            "  {name:<30}{:>10.0} req/s median  ({:.2}x no session; rounds: {})",
            median(rates),
            median(rates) / no_session,
            all.join(", ")
        );
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "  sessions serves {:.2}x the requests of actix-session (median of per-round ratios; rounds from {:.2}x to {:.2}x)",
        median(&ratios),
        ratios[0],
        ratios[ratios.len() - 1]
    );
}

//! The demo's cart route (`POST /cart`: load a 10-item cart, add one, drop the oldest, save) with the
//! session in Redis on loopback, two ways in one run: our Redis store, and `tower-sessions` with its
//! Redis store. For each, the Redis round trips one request costs (read from `redis-cli monitor`,
//! leaving out the calls a script makes inside Redis), then requests per second under wrk and the CPU
//! time the servers (in this process) spend per request. Then the same on a Redis Cluster (three
//! primaries, three replicas), against tower-sessions' store on fred in cluster mode. Each in
//! interleaved rounds (ours, theirs, theirs, ours): the median of per-round ratios.
//!
//! Needs `redis-server`, `redis-cli` and `wrk` (Debian packages). Run:
//! `cargo bench -p sessions-examples --bench redis_load`

#[path = "support/axum_servers.rs"]
mod axum_servers;
#[path = "support/cpu.rs"]
mod cpu;
#[path = "support/rounds.rs"]
mod rounds;
mod support;

use std::cell::RefCell;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use axum_servers::{serve, tower_sessions_cart};
use cpu::cpu_seconds;
use rounds::{interleaved, median};
use sessions::store::{RedisOptions, RedisStore};
use sessions::{Key, Keys};
use sessions_tests::RedisDeployment;
use support::{SECONDS, add_to_cart, filled_cart, have_wrk, wrk};
use tower_sessions_redis_store::fred::prelude::{ClientLike, Config, Pool};

/// A redis-server on a free port, stopped when dropped.
struct Server(Child, u16);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_redis() -> Option<Server> {
    let port = TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let child = Command::new("redis-server")
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .ok()?;
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(Server(child, port));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// The commands one `POST /cart` sends to Redis, as `redis-cli monitor` sees them; calls a script
/// makes inside Redis are left out, so each one counted is a round trip.
fn round_trips(
    runtime: &tokio::runtime::Runtime,
    redis_port: u16,
    app: SocketAddr,
    cookie: &str,
) -> Vec<String> {
    let mut monitor = Command::new("redis-cli")
        .args(["-p", &redis_port.to_string(), "monitor"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("redis-cli runs");
    let mut lines = BufReader::new(monitor.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().and_then(Result::ok).as_deref(), Some("OK"));
    // "cake" onto a cart of ten "tea": a change, as each request under wrk makes.
    runtime.block_on(add_to_cart(app, cookie, "cake"));
    // A marker after the request: everything before it belongs to the request.
    let _ = Command::new("redis-cli")
        .args(["-p", &redis_port.to_string(), "echo", "end-of-request"])
        .output();
    let mut commands = Vec::new();
    for line in lines.map_while(Result::ok) {
        if line.contains("end-of-request") {
            break;
        }
        if !line.contains("[0 lua]") {
            let command = line.split('"').nth(1).unwrap_or_default().to_uppercase();
            commands.push(command);
        }
    }
    let _ = monitor.kill();
    let _ = monitor.wait();
    commands
}

fn main() {
    if !have_wrk() {
        return;
    }
    let Some(redis) = start_redis() else {
        eprintln!("redis-server is not installed (apt-get install redis-server); this benchmark did not run");
        return;
    };
    let url = format!("redis://127.0.0.1:{}/", redis.1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (ours, theirs) = runtime.block_on(servers(&url, &url));
    let our_cookie = runtime.block_on(filled_cart(ours));
    let their_cookie = runtime.block_on(filled_cart(theirs));

    let our_trips = round_trips(&runtime, redis.1, ours, &our_cookie);
    let their_trips = round_trips(&runtime, redis.1, theirs, &their_cookie);
    println!("POST /cart with the session in Redis, round trips per request:");
    println!("  sessions, Redis store        {} {our_trips:?}", our_trips.len());
    println!(
        "  tower-sessions, Redis store  {} {their_trips:?}",
        their_trips.len()
    );
    compare(
        &runtime,
        "on one Redis node",
        (ours, &our_cookie),
        (theirs, &their_cookie),
    );
    drop(redis);
    on_a_cluster(&runtime);
}

/// The cart route served with our store on `ours` (a store URL) and with tower-sessions' on
/// `theirs` (a fred URL): their addresses.
async fn servers(ours: &str, theirs: &str) -> (SocketAddr, SocketAddr) {
    let store = RedisStore::connect(ours, RedisOptions::default(), Keys::new(Key::generate()))
        .await
        .unwrap();
    let ours = serve(sessions_examples::app(store.clone(), store)).await;
    let pool = Pool::new(Config::from_url(theirs).unwrap(), None, None, None, 4).unwrap();
    pool.init().await.unwrap();
    let layer = tower_sessions::SessionManagerLayer::new(tower_sessions_redis_store::RedisStore::new(pool));
    let theirs = serve(
        Router::new()
            .route("/cart", post(tower_sessions_cart))
            .layer(layer),
    )
    .await;
    (ours, theirs)
}

/// Rounds of wrk, each side in turn.
const ROUNDS: usize = 5;

/// The cart route with the session on a Redis Cluster: ours and tower-sessions' (fred, cluster mode).
fn on_a_cluster(runtime: &tokio::runtime::Runtime) {
    let cluster = sessions_tests::RedisCluster::start("bench");
    let seeds = cluster.seeds();
    let others: Vec<String> = seeds[1..].iter().map(|seed| format!("node={seed}")).collect();
    let their_url = format!("redis-cluster://{}?{}", seeds[0], others.join("&"));
    let (ours, theirs) = runtime.block_on(servers(&cluster.url(), &their_url));
    let our_cookie = runtime.block_on(filled_cart(ours));
    let their_cookie = runtime.block_on(filled_cart(theirs));
    compare(
        runtime,
        "on a Redis Cluster (3 primaries, 3 replicas)",
        (ours, &our_cookie),
        (theirs, &their_cookie),
    );
}

/// `ROUNDS` interleaved rounds of wrk on our server and theirs, each `(address, cookie)`: requests
/// per second, and the CPU time this process (where both servers run) spent per request.
fn compare(
    runtime: &tokio::runtime::Runtime,
    place: &str,
    ours: (SocketAddr, &str),
    theirs: (SocketAddr, &str),
) {
    let (our_cpu, their_cpu) = (RefCell::new(Vec::new()), RefCell::new(Vec::new()));
    let measured = |(address, cookie): (SocketAddr, &str), cpu: &RefCell<Vec<f64>>| {
        let before = cpu_seconds();
        let rate = wrk(address, &[cookie]);
        cpu.borrow_mut()
            .push((cpu_seconds() - before) / (rate * f64::from(SECONDS)));
        rate
    };
    let rates = runtime.block_on(interleaved(
        ROUNDS,
        async || measured(ours, &our_cpu),
        async || measured(theirs, &their_cpu),
        |ours, theirs| ours / theirs,
    ));
    let (our_cpu, their_cpu) = (median(&our_cpu.borrow()), median(&their_cpu.borrow()));
    println!(
        "POST /cart with the session {place}, wrk -t1 -c32 -d{SECONDS}s, one tokio worker, {ROUNDS} interleaved rounds (medians):"
    );
    println!(
        "  sessions, Redis store        {:>9.0} req/s   server CPU {:.2} µs/request",
        rates.ours,
        our_cpu * 1e6
    );
    println!(
        "  tower-sessions, Redis store  {:>9.0} req/s   server CPU {:.2} µs/request",
        rates.theirs,
        their_cpu * 1e6
    );
    rates.print_ratio("sessions serves {ratio} the requests of tower-sessions");
    println!(
        "  tower-sessions takes {:.2}x our server CPU per request",
        their_cpu / our_cpu
    );
}

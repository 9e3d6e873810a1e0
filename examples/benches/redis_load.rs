//! Our Redis store against `tower-sessions` with its Redis store (on fred), on one node on loopback
//! and on a Redis Cluster (three primaries, three replicas), each in interleaved rounds (ours,
//! theirs, theirs, ours, ...), the median of per-round ratios:
//! 1. load plus save of the typical session in process (open it, flip a field, save); on one node
//!    also the CPU time Redis spent per operation, which sizes a node.
//! 2. the demo's cart route (`POST /cart`: load a 10-item cart, add "cake", drop the oldest) under
//!    wrk, replaying one cookie: the first request changes the cart (the Redis round trips it costs
//!    are read from `redis-cli monitor`, leaving out the calls a script makes inside Redis); once the
//!    cart holds only cake it stays the same, and both stores skip the save, so under wrk a request
//!    is a load. Requests per second, and the CPU time the servers (in this process) spent per
//!    request.
//!
//! Needs `redis-server`, `redis-cli` and `wrk` (Debian packages). Run:
//! `cargo bench -p sessions-examples --bench redis_load`

#[path = "support/axum_servers.rs"]
mod axum_servers;
#[path = "support/cpu.rs"]
mod cpu;
#[path = "support/load_save.rs"]
mod load_save;
#[path = "support/rounds.rs"]
mod rounds;
mod support;
// The typical session of the `sessions` crate's own benchmarks.
#[path = "../../sessions/benches/support/mod.rs"]
mod typical;

use std::cell::RefCell;
use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use axum_servers::{serve, tower_sessions_cart};
use cpu::cpu_seconds_of;
use rounds::{interleaved, median};
use sessions::store::{RedisOptions, RedisStore};
use sessions::{Key, Keys};
use sessions_tests::RedisDeployment;
use support::{SECONDS, add_to_cart, filled_cart, have_wrk, wrk};
use tower_sessions_redis_store::fred::prelude::{ClientLike, Config, Pool};
use typical::signed_in;

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
    let (ours, theirs) = runtime.block_on(stores(&url, &url));
    load_and_save(&runtime, "one Redis node", &ours, &theirs, Some(&redis));
    if have_wrk() {
        let (ours, theirs) = runtime.block_on(servers(ours, &theirs));
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
            Some(redis.0.id()),
        );
    }
    drop(redis);
    on_a_cluster(&runtime);
}

/// tower-sessions' Redis store, on fred.
type TheirStore = tower_sessions_redis_store::RedisStore<Pool>;

/// Our store on `ours` (a store URL) and tower-sessions' on `theirs` (a fred URL).
async fn stores(ours: &str, theirs: &str) -> (RedisStore, Arc<TheirStore>) {
    let store = RedisStore::connect(ours, RedisOptions::default(), Keys::new(Key::generate()))
        .await
        .unwrap();
    let pool = Pool::new(Config::from_url(theirs).unwrap(), None, None, None, 4).unwrap();
    pool.init().await.unwrap();
    (store, Arc::new(TheirStore::new(pool)))
}

/// The cart route served with our store and with tower-sessions': their addresses.
async fn servers(ours: RedisStore, theirs: &TheirStore) -> (SocketAddr, SocketAddr) {
    let ours = serve(sessions_examples::app(ours.clone(), ours)).await;
    let layer = tower_sessions::SessionManagerLayer::new(theirs.clone());
    let theirs = serve(
        Router::new()
            .route("/cart", post(tower_sessions_cart))
            .layer(layer),
    )
    .await;
    (ours, theirs)
}

/// The floor of a load and a save on one node, no session store: one `HGETALL` of a copy of our
/// stored session's hash, and one script that writes one of its fields back and sets the TTL
/// (`EVALSHA`, two calls in Lua): the round trips and the Lua our save needs, without the rest.
struct Floor {
    connection: redis::aio::MultiplexedConnection,
    script: redis::Script,
}

/// Where the floor keeps its copy.
const FLOOR_KEY: &str = "floor:typical";

impl Floor {
    /// On the node at `port`, beside the one session our store holds there.
    async fn beside_ours(port: u16) -> Self {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("session:*")
            .query_async(&mut connection)
            .await
            .unwrap();
        let _: () = redis::cmd("COPY")
            .arg(&keys[0])
            .arg(FLOOR_KEY)
            .arg("REPLACE")
            .query_async(&mut connection)
            .await
            .unwrap();
        let script = redis::Script::new(
            "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) redis.call('PEXPIRE', KEYS[1], ARGV[3]) return 1",
        );
        Self { connection, script }
    }

    /// Seconds that `operations` loads and saves took.
    async fn round(&self, operations: u32) -> f64 {
        let mut connection = self.connection.clone();
        let start = Instant::now();
        for _ in 0..operations {
            let fields: Vec<(Vec<u8>, Vec<u8>)> = redis::cmd("HGETALL")
                .arg(FLOOR_KEY)
                .query_async(&mut connection)
                .await
                .unwrap();
            let (name, value) = black_box(fields).pop().unwrap();
            let _: i64 = self
                .script
                .key(FLOOR_KEY)
                .arg(name)
                .arg(value)
                .arg(86_400_000)
                .invoke_async(&mut connection)
                .await
                .unwrap();
        }
        start.elapsed().as_secs_f64()
    }
}

/// The CPU time one process (this one, where the servers run, or the Redis server) spends per unit of
/// work (an operation, a request): a figure per measured round.
struct CpuPer {
    pid: String,
    figures: RefCell<Vec<f64>>,
}

impl CpuPer {
    fn of(pid: impl ToString) -> Self {
        Self {
            pid: pid.to_string(),
            figures: RefCell::new(Vec::new()),
        }
    }

    /// The CPU seconds of each of `meters` so far, for [`CpuPer::record`].
    fn readings(meters: &[&Self]) -> Vec<f64> {
        meters.iter().map(|meter| cpu_seconds_of(&meter.pid)).collect()
    }

    /// Records for each of `meters` its CPU time since `readings` per unit, over `units` units.
    fn record(meters: &[&Self], readings: &[f64], units: f64) {
        for (meter, before) in meters.iter().zip(readings) {
            let spent = cpu_seconds_of(&meter.pid) - before;
            meter.figures.borrow_mut().push(spent / units);
        }
    }

    /// The median figure, in microseconds.
    fn median_micros(&self) -> f64 {
        median(&self.figures.borrow()) * 1e6
    }

    /// `   Redis CPU <median> µs/<unit>` for a Redis meter; nothing without one.
    fn redis_figure(meter: Option<&Self>, unit: &str) -> String {
        meter.map_or_else(String::new, |meter| {
            format!("   Redis CPU {:.2} µs/{unit}", meter.median_micros())
        })
    }
}

/// Loads and saves per round of the in-process part, and its rounds.
const OPERATIONS: u32 = 20_000;
const LOAD_SAVE_ROUNDS: usize = 7;

/// Load plus save of the typical session in process, ours and theirs in interleaved rounds; with
/// the pid of the one Redis server, the CPU time it spent per operation for each (one operation in
/// flight at a time, so each wakes Redis: the cost of a quiet node, not of a busy one).
fn load_and_save(
    runtime: &tokio::runtime::Runtime,
    place: &str,
    ours: &RedisStore,
    theirs: &Arc<TheirStore>,
    node: Option<&Server>,
) {
    let (our_redis, their_redis) = (
        node.map(|node| CpuPer::of(node.0.id())),
        node.map(|node| CpuPer::of(node.0.id())),
    );
    let (rounds, floor) = runtime.block_on(async {
        let request = signed_in(ours).await;
        let id = load_save::stored(theirs).await;
        let ours_round = async || {
            let meters: Vec<&CpuPer> = our_redis.iter().collect();
            let readings = CpuPer::readings(&meters);
            let seconds = load_save::ours(ours, &request, OPERATIONS).await;
            CpuPer::record(&meters, &readings, f64::from(OPERATIONS));
            seconds
        };
        let theirs_round = async || {
            let meters: Vec<&CpuPer> = their_redis.iter().collect();
            let readings = CpuPer::readings(&meters);
            let seconds = load_save::theirs(theirs, id, OPERATIONS).await;
            CpuPer::record(&meters, &readings, f64::from(OPERATIONS));
            seconds
        };
        // One round each first, unmeasured (so not recorded).
        load_save::ours(ours, &request, OPERATIONS).await;
        load_save::theirs(theirs, id, OPERATIONS).await;
        let rounds = interleaved(LOAD_SAVE_ROUNDS, ours_round, theirs_round, |ours, theirs| {
            theirs / ours
        })
        .await;
        let Some(node) = node else {
            return (rounds, None);
        };
        let floor = Floor::beside_ours(node.1).await;
        let floor_round = async || floor.round(OPERATIONS).await;
        floor_round().await;
        let floor = interleaved(LOAD_SAVE_ROUNDS, ours_round, floor_round, |ours, floor| {
            floor / ours
        })
        .await;
        (rounds, Some(floor))
    });
    let per_operation = |seconds: f64| seconds * 1e6 / f64::from(OPERATIONS);
    println!(
        "load + save of the typical session on {place}, in process, {LOAD_SAVE_ROUNDS} interleaved rounds of {OPERATIONS} (medians):"
    );
    println!(
        "  sessions, Redis store        {:8.1} µs{}",
        per_operation(rounds.ours),
        CpuPer::redis_figure(our_redis.as_ref(), "operation")
    );
    println!(
        "  tower-sessions, Redis store  {:8.1} µs{}",
        per_operation(rounds.theirs),
        CpuPer::redis_figure(their_redis.as_ref(), "operation")
    );
    rounds.print_ratio("tower-sessions takes {ratio} our time");
    if let Some(floor) = floor {
        println!(
            "  the floor (HGETALL and a two-call script by hand) {:.1} µs",
            per_operation(floor.theirs)
        );
        floor.print_ratio("the floor takes {ratio} our time");
    }
}

/// Rounds of wrk, each side in turn.
const ROUNDS: usize = 5;

/// The cart route with the session on a Redis Cluster: ours and tower-sessions' (fred, cluster mode).
fn on_a_cluster(runtime: &tokio::runtime::Runtime) {
    let cluster = sessions_tests::RedisCluster::start("bench");
    let seeds = cluster.seeds();
    let others: Vec<String> = seeds[1..].iter().map(|seed| format!("node={seed}")).collect();
    let their_url = format!("redis-cluster://{}?{}", seeds[0], others.join("&"));
    let (ours, theirs) = runtime.block_on(stores(&cluster.url(), &their_url));
    load_and_save(
        runtime,
        "a Redis Cluster (3 primaries, 3 replicas)",
        &ours,
        &theirs,
        None,
    );
    if !have_wrk() {
        return;
    }
    let (ours, theirs) = runtime.block_on(servers(ours, &theirs));
    let our_cookie = runtime.block_on(filled_cart(ours));
    let their_cookie = runtime.block_on(filled_cart(theirs));
    compare(
        runtime,
        "on a Redis Cluster (3 primaries, 3 replicas)",
        (ours, &our_cookie),
        (theirs, &their_cookie),
        None,
    );
}

/// `ROUNDS` interleaved rounds of wrk on our server and theirs, each `(address, cookie)`: requests
/// per second, the CPU time this process (where both servers run) spent per request, and with the
/// pid of the one Redis server, the CPU time it spent per request.
fn compare(
    runtime: &tokio::runtime::Runtime,
    place: &str,
    ours: (SocketAddr, &str),
    theirs: (SocketAddr, &str),
    redis: Option<u32>,
) {
    let (our_cpu, their_cpu) = (CpuPer::of("self"), CpuPer::of("self"));
    let (our_redis, their_redis) = (redis.map(CpuPer::of), redis.map(CpuPer::of));
    let measured = |(address, cookie): (SocketAddr, &str), cpu: &CpuPer, redis: Option<&CpuPer>| {
        let meters: Vec<&CpuPer> = std::iter::once(cpu).chain(redis).collect();
        let readings = CpuPer::readings(&meters);
        let rate = wrk(address, &[cookie]);
        CpuPer::record(&meters, &readings, rate * f64::from(SECONDS));
        rate
    };
    let rates = runtime.block_on(interleaved(
        ROUNDS,
        async || measured(ours, &our_cpu, our_redis.as_ref()),
        async || measured(theirs, &their_cpu, their_redis.as_ref()),
        |ours, theirs| ours / theirs,
    ));
    println!(
        "POST /cart with the session {place}, wrk -t1 -c32 -d{SECONDS}s, one tokio worker, {ROUNDS} interleaved rounds (medians):"
    );
    println!(
        "  sessions, Redis store        {:>9.0} req/s   server CPU {:.2} µs/request{}",
        rates.ours,
        our_cpu.median_micros(),
        CpuPer::redis_figure(our_redis.as_ref(), "request")
    );
    println!(
        "  tower-sessions, Redis store  {:>9.0} req/s   server CPU {:.2} µs/request{}",
        rates.theirs,
        their_cpu.median_micros(),
        CpuPer::redis_figure(their_redis.as_ref(), "request")
    );
    rates.print_ratio("sessions serves {ratio} the requests of tower-sessions");
    println!(
        "  tower-sessions takes {:.2}x our server CPU per request",
        their_cpu.median_micros() / our_cpu.median_micros()
    );
}

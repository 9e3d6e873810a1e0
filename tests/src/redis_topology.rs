//! Redis beyond one node, of a test's own, on free loopback ports: a Cluster of three primaries
//! with a replica each, and a primary with a replica watched by three sentinels. Every process is
//! a [`RedisServer`], stopped by its pid when dropped.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::RedisServer;
use crate::redis_server::query_on;

/// Redis as a test starts it: one node, a Cluster, or a Sentinel group.
pub trait RedisDeployment: Send + 'static {
    /// Starts it, ready for a store to connect (blocking: run it off the runtime).
    fn start(name: &str) -> Self;
    /// The store URL.
    fn url(&self) -> String;
    /// Kills the primary (of some slots, on a Cluster), and returns once a replica has taken
    /// over and the dead node is back as a replica, in sync.
    fn fail_over(&mut self);
    /// Runs one command as `redis-cli` would (`-c` on a Cluster: sent to the node of its key, or
    /// to every primary for `KEYS`), on a connection of its own: to look at or damage what the
    /// store wrote.
    fn query<T: redis::FromRedisValue>(&self, command: impl redis::ToRedisArgs) -> impl Future<Output = T>;
}

impl RedisDeployment for RedisServer {
    fn start(name: &str) -> Self {
        RedisServer::start(name)
    }
    fn url(&self) -> String {
        RedisServer::url(self)
    }
    fn fail_over(&mut self) {
        panic!("one node has nothing to fail over to")
    }
    async fn query<T: redis::FromRedisValue>(&self, command: impl redis::ToRedisArgs) -> T {
        RedisServer::query(self, command).await
    }
}

impl RedisDeployment for RedisCluster {
    /// Six nodes, joined with `redis-cli --cluster create ... --cluster-replicas 1`; returns once
    /// every node sees the cluster whole.
    fn start(name: &str) -> Self {
        let nodes: Vec<RedisServer> = (0..6)
            .map(|n| {
                // The bus on a free port too: by default it is the port plus 10000, which may
                // be taken, or past 65535.
                let bus = crate::free_port().to_string();
                RedisServer::with_arguments(
                    &format!("{name}-node{n}"),
                    &[
                        "--cluster-enabled",
                        "yes",
                        "--cluster-node-timeout",
                        "2000",
                        "--cluster-port",
                        &bus,
                    ],
                )
            })
            .collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port()))
            .collect();
        let status = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("redis-cli is installed with redis-server");
        assert!(status.success(), "redis-cli --cluster create failed");
        let cluster = Self { nodes };
        cluster.wait_until(
            "every node sees the cluster whole, every replica in sync",
            |cluster| {
                cluster.nodes.iter().all(|node| {
                    let info = info(node.port(), "CLUSTER INFO");
                    info.contains("cluster_state:ok")
                        && info.contains("cluster_known_nodes:6")
                        && in_sync(node.port())
                })
            },
        );
        cluster
    }

    /// The store URL: every node as a seed.
    fn url(&self) -> String {
        format!("redis+cluster://{}", self.seeds().join(","))
    }

    /// Kills a primary (`kill -9`), and returns once its replica has taken its slots, the dead
    /// node is back as the new primary's replica (as whoever runs the cluster would bring it
    /// back), and every node sees the cluster whole again.
    fn fail_over(&mut self) {
        let (id, port) = self.primaries().remove(0);
        let index = self.nodes.iter().position(|node| node.port() == port).unwrap();
        self.nodes[index].stop();
        self.wait_until("the others mark the dead primary failed", |cluster| {
            !cluster.primaries().iter().any(|(primary, _)| *primary == id)
        });
        self.wait_until("a replica takes its slots", |cluster| {
            cluster.primaries().len() == 3
                && (cluster.nodes.iter().filter(|node| node.is_running()))
                    .all(|node| info(node.port(), "CLUSTER INFO").contains("cluster_state:ok"))
        });
        self.nodes[index].run();
        self.wait_until("the dead primary is back as a replica, in sync", |cluster| {
            cluster.nodes.iter().all(|node| {
                info(node.port(), "CLUSTER INFO").contains("cluster_state:ok") && in_sync(node.port())
            })
        });
    }

    async fn query<T: redis::FromRedisValue>(&self, command: impl redis::ToRedisArgs) -> T {
        let seeds: Vec<String> = self
            .seeds()
            .iter()
            .map(|seed| format!("redis://{seed}/"))
            .collect();
        let client = redis::cluster::ClusterClient::new(seeds).unwrap();
        query_on(client.get_async_connection().await.unwrap(), command).await
    }
}

impl RedisDeployment for RedisSentinels {
    /// Starts the five, and returns once every sentinel knows the primary and its replica.
    fn start(name: &str) -> Self {
        let primary = RedisServer::start(&format!("{name}-primary"));
        let port = primary.port().to_string();
        let replica =
            RedisServer::with_arguments(&format!("{name}-replica"), &["--replicaof", "127.0.0.1", &port]);
        let configuration = format!(
            "sentinel monitor {primary_name} 127.0.0.1 {port} 2\n\
             sentinel down-after-milliseconds {primary_name} 1000\n\
             sentinel failover-timeout {primary_name} 5000",
            primary_name = Self::PRIMARY
        );
        let sentinels = (0..3)
            .map(|n| RedisServer::sentinel(&format!("{name}-sentinel{n}"), &configuration))
            .collect();
        let group = Self {
            primary,
            replica,
            sentinels,
        };
        let start = Instant::now();
        while !in_sync(group.replica.port())
            || !group.sentinels.iter().all(|sentinel| {
                let info = info(sentinel.port(), "INFO sentinel");
                info.contains("status=ok") && info.contains("slaves=1") && info.contains("sentinels=3")
            })
        {
            assert!(
                start.elapsed() < FORMING,
                "the sentinels did not see the primary, its replica and each other"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        group
    }

    /// The store URL: the three sentinels and the primary's name.
    fn url(&self) -> String {
        let sentinels: Vec<String> = (self.sentinels.iter())
            .map(|sentinel| format!("127.0.0.1:{}", sentinel.port()))
            .collect();
        format!("redis+sentinel://{}/{}", sentinels.join(","), Self::PRIMARY)
    }

    /// Kills the primary (`kill -9`), and returns once the sentinels have promoted the replica
    /// and the old primary is back as its replica, in sync (as whoever runs it would bring it back).
    fn fail_over(&mut self) {
        let old = self.primary.port();
        self.primary.stop();
        let start = Instant::now();
        while self.primary_port() == old {
            assert!(start.elapsed() < FORMING, "the sentinels promoted no replica");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(self.primary_port(), self.replica.port());
        std::mem::swap(&mut self.primary, &mut self.replica);
        self.replica.run();
        while !in_sync(self.primary.port()) || !in_sync(self.replica.port()) {
            assert!(
                start.elapsed() < FORMING,
                "the old primary did not come back as a replica"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    async fn query<T: redis::FromRedisValue>(&self, command: impl redis::ToRedisArgs) -> T {
        self.primary.query(command).await
    }
}

/// How long a topology may take to form, or a failover to complete, before a test fails.
const FORMING: Duration = Duration::from_secs(60);

/// A Redis Cluster: three primaries, three replicas.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Every node, as `127.0.0.1:port`.
    pub fn seeds(&self) -> Vec<String> {
        (self.nodes.iter())
            .map(|node| format!("127.0.0.1:{}", node.port()))
            .collect()
    }

    /// The primaries alive, as `(node id, port)`, by the first node alive.
    fn primaries(&self) -> Vec<(String, u16)> {
        let alive = self
            .nodes
            .iter()
            .find(|node| node.is_running())
            .expect("a node is alive");
        (info(alive.port(), "CLUSTER NODES").lines())
            .filter_map(|line| {
                let words: Vec<&str> = line.split(' ').collect();
                let (id, address, flags) = (words.first()?, words.get(1)?, words.get(2)?);
                if !flags.contains("master") || flags.contains("fail") {
                    return None;
                }
                let port = address.split('@').next()?.rsplit(':').next()?.parse().ok()?;
                Some((id.to_string(), port))
            })
            .collect()
    }

    /// Moves `slots` slots from one primary to another with `redis-cli --cluster reshard`, keys
    /// and all, while the cluster serves. A node that does not know the other primary yet (gossip
    /// still spreading: redis-cli says "please retry") is asked again, for at most a minute.
    pub fn reshard(&mut self, slots: u32) {
        let start = Instant::now();
        loop {
            let primaries = self.primaries();
            let output = Command::new("redis-cli")
                .args(["--cluster", "reshard", &format!("127.0.0.1:{}", primaries[0].1)])
                .args(["--cluster-from", &primaries[0].0, "--cluster-to", &primaries[1].0])
                .args(["--cluster-slots", &slots.to_string(), "--cluster-yes"])
                .output()
                .expect("redis-cli is installed with redis-server");
            if output.status.success() {
                return;
            }
            let said = String::from_utf8_lossy(&output.stdout);
            let last: Vec<&str> = said.lines().rev().take(5).collect();
            assert!(
                said.contains("please retry") && start.elapsed() < FORMING,
                "redis-cli --cluster reshard failed: {}{last:?}",
                String::from_utf8_lossy(&output.stderr)
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Polls `done` every 50 ms, for at most a minute.
    fn wait_until(&self, what: &str, done: impl Fn(&Self) -> bool) {
        let start = Instant::now();
        while !done(self) {
            assert!(start.elapsed() < FORMING, "the cluster did not get there: {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A primary and its replica, watched by three sentinels that know it as `sessions`.
#[derive(Debug)]
pub struct RedisSentinels {
    primary: RedisServer,
    replica: RedisServer,
    sentinels: Vec<RedisServer>,
}

impl RedisSentinels {
    /// The name the sentinels know the primary by.
    pub const PRIMARY: &str = "sessions";

    /// The node that is the primary now, by the sentinels.
    pub fn primary_port(&self) -> u16 {
        let reply = info(
            self.sentinels[0].port(),
            &format!("SENTINEL get-master-addr-by-name {}", Self::PRIMARY),
        );
        reply
            .lines()
            .filter_map(|line| line.trim().parse().ok())
            .next()
            .expect("the sentinel names a primary")
    }
}

/// Whether the node on `port` is a primary whose one replica is online (it has acknowledged, so
/// `WAIT` counts it), or a replica whose link to its primary is up.
fn in_sync(port: u16) -> bool {
    let replication = info(port, "INFO replication");
    if replication.contains("role:master") {
        replication.contains("connected_slaves:1") && replication.contains("state=online")
    } else {
        replication.contains("master_link_status:up")
    }
}

/// What `redis-cli -p port` answers to `command` (words split on spaces), as text.
fn info(port: u16, command: &str) -> String {
    let output = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(command.split(' '))
        .output()
        .expect("redis-cli is installed with redis-server");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

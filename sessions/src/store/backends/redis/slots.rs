//! A Cluster's commands sent straight to the primary that serves their key's slot.
//!
//! redis-rs's [`ClusterConnection`] hands each command to its routing task over a channel, and that
//! task hands it to the node connection's own task: two hops where one node takes one. Measured with
//! `cargo bench -p sessions-examples --bench redis_load` (one load + save at a time, 3 primaries),
//! a load + save of the typical session took 383 µs through the cluster connection against 264 µs
//! on one node, tower-sessions on fred 0.81x our time; sent straight, 274 µs against 260 µs on one
//! node, fred 0.86x our time. Under wrk (many requests in flight) it moved nothing measurable.
//!
//! So a command for one key goes to the primary that a slot table (read with `CLUSTER SLOTS`) names
//! for the key's slot, on that node's own [`MultiplexedConnection`]. What the table cannot place
//! (no key, several nodes, a slot nobody serves) goes through the [`ClusterConnection`], and so does
//! a command that a node refuses because the cluster is changing (a redirection, `TRYAGAIN`,
//! `CLUSTERDOWN`: not applied) or that meets a broken connection: the cluster connection follows
//! redirections and reconnects as it always did, and the table is read again in the background.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis::{
    Arg, AsyncConnectionConfig, Client, Cmd, ConnectionAddr, ConnectionInfo, Pipeline, RedisFuture, Value,
};

/// Slots of a Cluster.
const SLOTS: usize = 16_384;

/// The commands this store sends whose first argument is their one key (or whose keys share its
/// slot). Any other command takes the cluster connection: slower, never wrong.
const KEY_FIRST: [&[u8]; 5] = [b"GET", b"HGETALL", b"HMGET", b"ZRANGE", b"ZREM"];

/// A Cluster, each command for one key sent to its slot's primary; clones share the connections.
#[derive(Clone)]
pub(super) struct SlotRouted {
    cluster: ClusterConnection,
    table: Arc<SlotTable>,
}

/// Which primary serves each slot, read again when the cluster changes.
struct SlotTable {
    current: RwLock<Arc<Primaries>>,
    /// A seed's settings (credentials, database), for every node connection.
    seed: ConnectionInfo,
    config: AsyncConnectionConfig,
    /// Whether a new table is being read.
    reading: AtomicBool,
}

/// The primaries, and for each slot the index of the one that serves it.
struct Primaries {
    by_slot: Vec<Option<u16>>,
    nodes: Vec<MultiplexedConnection>,
}

impl SlotRouted {
    /// Routes over `cluster`, reaching each primary as `seed` says (its host and port replaced).
    pub(super) async fn new(
        mut cluster: ClusterConnection,
        seed: ConnectionInfo,
        config: AsyncConnectionConfig,
    ) -> redis::RedisResult<Self> {
        let primaries = Primaries::read(&mut cluster, &seed, &config).await?;
        Ok(Self {
            cluster,
            table: Arc::new(SlotTable {
                current: RwLock::new(Arc::new(primaries)),
                seed,
                config,
                reading: AtomicBool::new(false),
            }),
        })
    }

    /// The connection to the primary of `cmd`'s slot, if the command has one key and the table
    /// names a primary for its slot.
    fn primary_for(&self, cmd: &Cmd) -> Option<MultiplexedConnection> {
        let slot = slot_of(cmd)?;
        let primaries = self
            .table
            .current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let node = primaries.by_slot[usize::from(slot)]?;
        primaries.nodes.get(usize::from(node)).cloned()
    }

    /// Reads the table again on a task of its own, unless that is under way.
    fn read_again(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.table.reading.swap(true, Ordering::AcqRel) {
            return;
        }
        let (mut cluster, table) = (self.cluster.clone(), Arc::clone(&self.table));
        runtime.spawn(async move {
            match Primaries::read(&mut cluster, &table.seed, &table.config).await {
                Ok(primaries) => {
                    *table
                        .current
                        .write()
                        .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(primaries);
                }
                // The cluster connection keeps serving; the next refusal tries again.
                Err(error) => tracing::debug!(%error, "reading the Cluster's slots failed"),
            }
            table.reading.store(false, Ordering::Release);
        });
    }
}

/// Whether `reply` says the command met a cluster that is changing (refused, so not applied), or a
/// broken connection: the cluster connection is to handle it, as it did every command before this
/// module. (A node's refusal comes as a value, `Value::ServerError`, not as an error.)
fn for_the_cluster(reply: &redis::RedisResult<Value>) -> bool {
    let changing = |code: &str| {
        matches!(
            code,
            "MOVED" | "ASK" | "TRYAGAIN" | "CLUSTERDOWN" | "MASTERDOWN" | "LOADING"
        )
    };
    match reply {
        Ok(Value::ServerError(error)) => changing(error.code()),
        Ok(_) => false,
        Err(error) => {
            error.code().is_some_and(changing)
                || error.is_io_error()
                || error.is_connection_dropped()
                || error.is_connection_refusal()
        }
    }
}

impl Primaries {
    /// The primaries that `CLUSTER SLOTS` names, connected.
    async fn read(
        cluster: &mut ClusterConnection,
        seed: &ConnectionInfo,
        config: &AsyncConnectionConfig,
    ) -> redis::RedisResult<Self> {
        let reply: Value = redis::cmd("CLUSTER").arg("SLOTS").query_async(cluster).await?;
        let ranges = slot_ranges(&reply).ok_or_else(|| {
            redis::RedisError::from((
                redis::ErrorKind::Parse,
                "CLUSTER SLOTS answered in an unknown shape",
            ))
        })?;
        let mut addresses: Vec<(String, u16)> = Vec::new();
        let mut by_slot = vec![None; SLOTS];
        for SlotRange { first, last, primary } in ranges {
            let node = match addresses.iter().position(|known| *known == primary) {
                Some(node) => node,
                None => {
                    addresses.push(primary);
                    addresses.len() - 1
                }
            };
            let node = u16::try_from(node).ok();
            for slot in &mut by_slot[usize::from(first)..=usize::from(last)] {
                *slot = node;
            }
        }
        let mut nodes = Vec::with_capacity(addresses.len());
        for (host, port) in addresses {
            let info = seed.clone().set_addr(ConnectionAddr::Tcp(host, port));
            let client = Client::open(info)?;
            nodes.push(
                client
                    .get_multiplexed_async_connection_with_config(config)
                    .await?,
            );
        }
        Ok(Self { by_slot, nodes })
    }
}

/// Slots `first..=last`, served by the primary at `primary` (host, port).
#[derive(Debug, PartialEq, Eq)]
struct SlotRange {
    first: u16,
    last: u16,
    primary: (String, u16),
}

/// The slot ranges of a `CLUSTER SLOTS` reply; ranges whose primary has no known endpoint are left
/// out (their commands take the cluster connection).
fn slot_ranges(reply: &Value) -> Option<Vec<SlotRange>> {
    let Value::Array(ranges) = reply else {
        return None;
    };
    let mut out = Vec::with_capacity(ranges.len());
    for range in ranges {
        let Value::Array(range) = range else {
            return None;
        };
        let [Value::Int(first), Value::Int(last), Value::Array(primary), ..] = range.as_slice() else {
            return None;
        };
        let [host, Value::Int(port), ..] = primary.as_slice() else {
            return None;
        };
        let host = match host {
            Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok()?,
            Value::SimpleString(text) => text.clone(),
            _ => return None,
        };
        let (first, last, port) = (
            u16::try_from(*first).ok()?,
            u16::try_from(*last).ok()?,
            u16::try_from(*port).ok()?,
        );
        if first > last || usize::from(last) >= SLOTS {
            return None;
        }
        // "" or "?": the endpoint is unknown.
        if !host.is_empty() && host != "?" {
            out.push(SlotRange {
                first,
                last,
                primary: (host, port),
            });
        }
    }
    Some(out)
}

/// The slot of the key `cmd` is for, if it is for one: the first key of a script, or the first
/// argument of a command of [`KEY_FIRST`].
fn slot_of(cmd: &Cmd) -> Option<u16> {
    let mut args = cmd.args_iter().map(|arg| match arg {
        Arg::Simple(bytes) => Some(bytes),
        _ => None,
    });
    let name = args.next()??;
    let key = if name.eq_ignore_ascii_case(b"EVALSHA") || name.eq_ignore_ascii_case(b"EVAL") {
        let _script = args.next()??;
        if args.next()?? == b"0" {
            return None;
        }
        args.next()??
    } else if KEY_FIRST.iter().any(|known| name.eq_ignore_ascii_case(known)) {
        args.next()??
    } else {
        return None;
    };
    Some(slot(key))
}

/// The slot of `key`: CRC16 (XMODEM) of its hash tag (the text between the first `{` and the next
/// `}`, when not empty), or of the whole key, modulo the slots.
fn slot(key: &[u8]) -> u16 {
    let tag = key.iter().position(|&byte| byte == b'{').and_then(|open| {
        let rest = &key[open + 1..];
        let close = rest.iter().position(|&byte| byte == b'}')?;
        (close > 0).then(|| &rest[..close])
    });
    crc16::State::<crc16::XMODEM>::calculate(tag.unwrap_or(key)) % SLOTS as u16
}

impl ConnectionLike for SlotRouted {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        let Some(mut primary) = self.primary_for(cmd) else {
            return self.cluster.req_packed_command(cmd);
        };
        Box::pin(async move {
            let reply = primary.req_packed_command(cmd).await;
            if for_the_cluster(&reply) {
                self.read_again();
                return self.cluster.req_packed_command(cmd).await;
            }
            reply
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        self.cluster.req_packed_commands(pipeline, offset, count)
    }

    fn get_db(&self) -> i64 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_redis_own() {
        // From the Cluster specification and `CLUSTER KEYSLOT`.
        assert_eq!(crc16::State::<crc16::XMODEM>::calculate(b"123456789"), 0x31c3);
        assert_eq!(slot(b"foo"), 12_182);
        assert_eq!(slot(b"somekey"), 11_058);
        // A hash tag decides; an empty one does not count.
        assert_eq!(slot(b"{foo}.bar"), slot(b"foo"));
        assert_eq!(slot(b"a{foo}b{bar}"), slot(b"foo"));
        assert_ne!(slot(b"{}foo"), slot(b"foo"));
        assert_eq!(slot(b"{user1000}.following"), slot(b"{user1000}.followers"));
    }

    #[test]
    fn commands_find_their_key() {
        let mut get = redis::cmd("HGETALL");
        get.arg("foo");
        assert_eq!(slot_of(&get), Some(12_182));
        let mut script = redis::cmd("EVALSHA");
        script.arg("0123").arg(1).arg("somekey").arg("argument");
        assert_eq!(slot_of(&script), Some(11_058));
        let mut keyless = redis::cmd("evalsha");
        keyless.arg("0123").arg(0).arg("argument");
        assert_eq!(slot_of(&keyless), None);
        let mut wait = redis::cmd("WAIT");
        wait.arg(1).arg(100);
        assert_eq!(slot_of(&wait), None);
        assert_eq!(
            slot_of(&redis::cmd("SCRIPT").arg("LOAD").arg("return 1").clone()),
            None
        );
    }

    #[test]
    fn a_changing_cluster_is_left_to_the_cluster_connection() {
        let reply = |resp: &str| redis::parse_redis_value(resp.as_bytes());
        for changing in [
            "-MOVED 3999 127.0.0.1:6381\r\n",
            "-ASK 3999 127.0.0.1:6381\r\n",
            "-TRYAGAIN Multiple keys request during rehashing of slot\r\n",
            "-CLUSTERDOWN The cluster is down\r\n",
        ] {
            assert!(for_the_cluster(&reply(changing)), "{changing}");
        }
        let broken = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert!(for_the_cluster(&Err(broken.into())));
        for answered in [
            "$2\r\nok\r\n",
            "-NOSCRIPT No matching script\r\n",
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ] {
            assert!(!for_the_cluster(&reply(answered)), "{answered}");
        }
    }

    #[test]
    fn slot_tables_are_read_or_refused() {
        let node = |host: &str, port| {
            Value::Array(vec![
                Value::BulkString(host.into()),
                Value::Int(port),
                Value::BulkString(b"id".to_vec()),
            ])
        };
        let reply = Value::Array(vec![
            Value::Array(vec![
                Value::Int(0),
                Value::Int(5460),
                node("10.0.0.1", 7000),
                node("10.0.0.4", 7003),
            ]),
            Value::Array(vec![Value::Int(5461), Value::Int(16_383), node("?", 7001)]),
        ]);
        assert_eq!(
            slot_ranges(&reply),
            Some(vec![SlotRange {
                first: 0,
                last: 5460,
                primary: ("10.0.0.1".to_owned(), 7000)
            }])
        );
        for bad in [
            Value::Nil,
            Value::Array(vec![Value::Int(0)]),
            Value::Array(vec![Value::Array(vec![
                Value::Int(9),
                Value::Int(3),
                node("h", 1),
            ])]),
            Value::Array(vec![Value::Array(vec![
                Value::Int(0),
                Value::Int(16_384),
                node("h", 1),
            ])]),
            Value::Array(vec![Value::Array(vec![
                Value::Int(0),
                Value::Int(1),
                node("h", 70_000),
            ])]),
        ] {
            assert_eq!(slot_ranges(&bad), None, "{bad:?}");
        }
    }
}

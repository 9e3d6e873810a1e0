//! One connection for the three ways Redis runs: one node, a primary watched by Sentinel, and a
//! Cluster, chosen by the URL's scheme.
//!
//! ```text
//! redis://[user[:password]@]host:port[/db]                  one node (also rediss://, unix://)
//! redis+sentinel://[user[:password]@]host:port[,host:port…]/primary-name[/db]
//!                                                           the sentinels; the credentials are
//!                                                           the primary's, the sentinels need none
//! redis+cluster://[user[:password]@]host:port[,host:port…]  seed nodes of a Cluster
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, MultiplexedConnection};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{AsyncConnectionConfig, Client, Cmd, IntoConnectionInfo, Pipeline, RedisFuture, Value};

use super::RedisStoreError;

/// Where the store's Redis is, parsed from its URL; never shows a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Topology {
    /// One node.
    Node(String),
    /// A primary named `primary`, found through the `sentinels`; `node` is the URL for the
    /// primary's credentials and database, with a placeholder host.
    Sentinel {
        sentinels: Vec<String>,
        primary: String,
        node: String,
    },
    /// The seed nodes of a Cluster, each as a one-node URL with the credentials.
    Cluster(Vec<String>),
}

impl Topology {
    /// Parses a store URL (see the module's documentation).
    pub(super) fn parse(url: &str) -> Result<Self, RedisStoreError> {
        let invalid = |reason: &'static str| RedisStoreError::Url {
            url: redacted(url),
            reason,
        };
        let (scheme, rest) = url.split_once("://").ok_or(invalid("it has no scheme"))?;
        // Schemes are case-insensitive (RFC 3986), as the redis crate reads `REDIS://` too.
        let sentinel = match scheme.to_ascii_lowercase().as_str() {
            "redis+sentinel" => true,
            "redis+cluster" => false,
            _ => return Ok(Self::Node(url.to_owned())),
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (credentials, hosts) = match authority.rsplit_once('@') {
            Some((credentials, hosts)) => (format!("{credentials}@"), hosts),
            None => (String::new(), authority),
        };
        let hosts: Vec<&str> = hosts.split(',').filter(|host| !host.is_empty()).collect();
        if hosts.is_empty() {
            return Err(invalid("it names no host"));
        }
        // Each URL is checked here, so that a typo fails at `connect` with the URL's own words.
        let checked = |url: String| match url.as_str().into_connection_info() {
            Ok(_) => Ok(url),
            Err(_) => Err(invalid(
                "a host is not host:port, or the credentials do not parse",
            )),
        };
        if sentinel {
            let (primary, db) = path.split_once('/').unwrap_or((path, ""));
            if primary.is_empty() {
                return Err(invalid(
                    "it names no primary: redis+sentinel://host:port/primary-name",
                ));
            }
            let sentinels = hosts
                .iter()
                .map(|host| checked(format!("redis://{host}/")))
                .collect::<Result<_, _>>()?;
            Ok(Self::Sentinel {
                sentinels,
                primary: primary.to_owned(),
                node: checked(format!("redis://{credentials}{}/{db}", hosts[0]))?,
            })
        } else {
            if !path.is_empty() {
                return Err(invalid("a Cluster has one database: give no /db"));
            }
            let seeds = hosts
                .iter()
                .map(|host| checked(format!("redis://{credentials}{host}/")))
                .collect::<Result<_, _>>()?;
            Ok(Self::Cluster(seeds))
        }
    }

    /// Where, for errors and logs: the hosts, never the credentials.
    pub(super) fn at(&self) -> String {
        match self {
            Self::Node(url) => match url.as_str().into_connection_info() {
                Ok(info) => info.addr().to_string(),
                Err(_) => redacted(url),
            },
            Self::Sentinel {
                sentinels, primary, ..
            } => format!("primary {primary:?} of the sentinels {}", hosts(sentinels)),
            Self::Cluster(seeds) => format!("the cluster of {}", hosts(seeds)),
        }
    }

    /// Connects, within `timeout` for each step.
    pub(super) async fn connect(&self, timeout: Duration) -> redis::RedisResult<Connection> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        match self {
            Self::Node(url) => {
                let manager = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout))
                    .set_number_of_retries(1);
                let client = Client::open(url.as_str())?;
                Ok(Connection::Node(
                    ConnectionManager::new_with_config(client, manager).await?,
                ))
            }
            Self::Sentinel {
                sentinels,
                primary,
                node,
            } => {
                let node = node.as_str().into_connection_info()?;
                let client = SentinelClient::build(
                    sentinels.clone(),
                    primary.clone(),
                    Some(
                        SentinelNodeConnectionInfo::default()
                            .set_redis_connection_info(node.redis_settings().clone()),
                    ),
                    SentinelServerType::Master,
                )?;
                let primary = FollowedPrimary {
                    sentinel: Arc::new(tokio::sync::Mutex::new(client)),
                    current: Arc::new(Mutex::new(None)),
                    config,
                };
                primary.connected().await?;
                Ok(Connection::Sentinel(primary))
            }
            Self::Cluster(seeds) => {
                let client = ClusterClient::builder(seeds.clone())
                    .connection_timeout(timeout)
                    .response_timeout(timeout)
                    .build()?;
                Ok(Connection::Cluster(client.get_async_connection().await?))
            }
        }
    }
}

/// `host:port, host:port` of URLs this module made (no credentials shown).
fn hosts(urls: &[String]) -> String {
    let hosts: Vec<String> = urls
        .iter()
        .filter_map(|url| Some(url.as_str().into_connection_info().ok()?.addr().to_string()))
        .collect();
    hosts.join(", ")
}

/// A URL with whatever stands between `://` and `@` hidden.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(start), Some(end)) if start + 3 < end => {
            format!("{}***{}", &url[..start + 3], &url[end..])
        }
        _ => url.to_owned(),
    }
}

/// A connection to the store's Redis, whatever its topology; clones share it.
#[derive(Clone)]
pub(super) enum Connection {
    Node(ConnectionManager),
    Sentinel(FollowedPrimary),
    Cluster(ClusterConnection),
}

impl Connection {
    /// Whether keys of different slots may never meet in one script.
    pub(super) fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster(_))
    }
}

/// The primary that the sentinels name, followed across failovers: a connection that fails, or
/// a node that refuses a write because it is a replica now (`READONLY`), makes the next call ask
/// the sentinels again. A refused write is sent again at once, to the new primary: it was not
/// applied. Any other failure is the caller's (a 503), as on one node.
#[derive(Clone)]
pub(super) struct FollowedPrimary {
    sentinel: Arc<tokio::sync::Mutex<SentinelClient>>,
    current: Arc<Mutex<Option<MultiplexedConnection>>>,
    config: AsyncConnectionConfig,
}

impl FollowedPrimary {
    /// The connection in use, if any (a panic elsewhere while it was held leaves it usable).
    fn current(&self) -> std::sync::MutexGuard<'_, Option<MultiplexedConnection>> {
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The connection to the primary, asking the sentinels for it if there is none.
    async fn connected(&self) -> redis::RedisResult<MultiplexedConnection> {
        if let Some(connection) = self.current().clone() {
            return Ok(connection);
        }
        let mut sentinel = self.sentinel.lock().await;
        // Another call may have connected while this one waited.
        if let Some(connection) = self.current().clone() {
            return Ok(connection);
        }
        let connection = sentinel.get_async_connection_with_config(&self.config).await?;
        *self.current() = Some(connection.clone());
        Ok(connection)
    }

    /// Forgets the connection after `error`, if it says the primary is gone or moved; whether the
    /// command was refused unapplied (so is safe to send again).
    fn after(&self, error: &redis::RedisError) -> bool {
        let refused = error.code() == Some("READONLY");
        if refused || error.is_io_error() || error.is_connection_dropped() || error.is_connection_refusal() {
            *self.current() = None;
        }
        refused
    }
}

/// Runs `$call` on `$primary`'s connection `$connection`; once more on the new primary if the old
/// one refused it as a replica.
macro_rules! on_primary {
    ($primary:expr, |$connection:ident| $call:expr) => {
        Box::pin(async move {
            let mut $connection = $primary.connected().await?;
            let result = $call.await;
            match result {
                Err(error) if $primary.after(&error) => {
                    let mut $connection = $primary.connected().await?;
                    let result = $call.await;
                    if let Err(error) = &result {
                        $primary.after(error);
                    }
                    result
                }
                result => result,
            }
        })
    };
}

/// `$call` (a command's future) on whichever connection `$connection` is; on a followed primary,
/// through [`on_primary!`].
macro_rules! on_each {
    ($connection:expr, |$inner:ident| $call:expr) => {
        match $connection {
            Connection::Node($inner) => $call,
            Connection::Sentinel(primary) => on_primary!(primary, |$inner| $call),
            Connection::Cluster($inner) => $call,
        }
    };
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        on_each!(self, |connection| connection.req_packed_command(cmd))
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        on_each!(self, |connection| connection
            .req_packed_commands(pipeline, offset, count))
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Node(connection) => connection.get_db(),
            Self::Sentinel(primary) => primary.current().as_ref().map_or(0, ConnectionLike::get_db),
            Self::Cluster(connection) => connection.get_db(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_node_urls_pass_through() {
        let url = "redis://app:secret@10.0.0.7:6380/2";
        assert_eq!(Topology::parse(url).unwrap(), Topology::Node(url.into()));
        assert_eq!(Topology::parse(url).unwrap().at(), "10.0.0.7:6380");
    }

    #[test]
    fn sentinel_urls_name_the_sentinels_and_the_primary() {
        let topology =
            Topology::parse("redis+sentinel://app:secret@10.0.0.1:26379,10.0.0.2:26379/cache/3").unwrap();
        assert_eq!(
            topology,
            Topology::Sentinel {
                sentinels: vec!["redis://10.0.0.1:26379/".into(), "redis://10.0.0.2:26379/".into()],
                primary: "cache".into(),
                node: "redis://app:secret@10.0.0.1:26379/3".into(),
            }
        );
        let at = topology.at();
        assert_eq!(
            at,
            "primary \"cache\" of the sentinels 10.0.0.1:26379, 10.0.0.2:26379"
        );
    }

    #[test]
    fn schemes_are_read_in_any_letter_case() {
        let upper = Topology::parse("REDIS+CLUSTER://10.0.0.1:7000").unwrap();
        assert_eq!(upper, Topology::Cluster(vec!["redis://10.0.0.1:7000/".into()]));
        let mixed = Topology::parse("Redis+Sentinel://10.0.0.1:26379/cache").unwrap();
        assert!(matches!(mixed, Topology::Sentinel { primary, .. } if primary == "cache"));
    }

    #[test]
    fn cluster_urls_name_the_seeds_with_their_credentials() {
        let topology = Topology::parse("redis+cluster://:secret@10.0.0.1:7000,10.0.0.2:7001").unwrap();
        assert_eq!(
            topology,
            Topology::Cluster(vec![
                "redis://:secret@10.0.0.1:7000/".into(),
                "redis://:secret@10.0.0.2:7001/".into()
            ])
        );
        assert_eq!(topology.at(), "the cluster of 10.0.0.1:7000, 10.0.0.2:7001");
    }

    #[test]
    fn bad_urls_are_refused_without_their_password() {
        for url in [
            "redis+sentinel://u:secret@10.0.0.1:26379",
            "redis+sentinel://u:secret@10.0.0.1:26379/",
            "redis+cluster://u:secret@/",
            "redis+cluster://u:secret@10.0.0.1:notaport",
            "redis+cluster://u:secret@10.0.0.1:7000/2",
            "no scheme at all",
        ] {
            let error = Topology::parse(url).unwrap_err().to_string();
            assert!(!error.contains("secret"), "{url}: {error}");
            assert!(error.contains("URL"), "{url}: {error}");
        }
    }
}

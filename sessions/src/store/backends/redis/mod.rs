//! Sessions in Redis, shared by every instance of an app: one hash per session, one sealed entry per
//! field, merged on the server. One node, a primary behind Sentinel, or a Cluster, by the URL
//! ([`connection`]); on a Cluster the keys and steps of [`cluster`] instead of these.
//!
//! ```text
//! <prefix><id>   hash, with a TTL of the session's remaining lifetime
//!   m            the session's times, sealed
//!   f<tag>       one field's record, sealed (tag: the field's name hash, 8 hex digits)
//!   o            the owner (see `crate::owner`), 32 hex digits, if the session has one
//! <prefix><old>  hash, with a TTL of the store's cycle grace: left by a save that moved the session
//!   fwd          the sealed forward to the new id
//! <prefix>owner:<owner>    set of the owner's session ids; its TTL the longest of theirs
//! <prefix>revoked:<owner>  revocation of cookie sessions: the owner's mark, with a TTL
//! ```
//!
//! The owner index changes in the script of the save that changes the session, so nothing runs
//! between the two; sessions that expire by TTL leave their id in the set, which a listing removes.
//!
//! A load is one round trip (`HGETALL`; a key holding something else than a hash reads as an
//! unreadable session). A save is one round trip (a script, sent by hash after the first call): refuse if the session
//! was removed meanwhile (unless it is new), rename it when its id is cycled, `HSET` the entries the
//! save carries (only the changed fields), and set the TTL; a save whose source holds a forward stores
//! nothing and answers with the forward, and a move leaves one behind. Two instances changing different fields
//! of one session both keep their change, without a read before the write.

mod cluster;
mod connection;

use std::sync::Arc;
use std::time::Duration;

use redis::Script;

use crate::codec::id::SessionId;
use crate::key::Keys;
use crate::owner::OwnerDigest;
use crate::store::server::ServerStore;
use crate::store::server::backend::{
    Backend, Entries, Indexed, Revocations, Saved, SessionWrite, Stored, Summary,
};
use cluster::ClusterScripts;
use connection::{Connection, Topology};

/// KEYS: source, target. ARGV: creates, TTL (ms), forward, forward TTL, prefix, sets owner, owner,
/// the owner's other digests (space-separated: a stored one among them is re-indexed under the
/// owner's), then the entries as name, value pairs.
const SAVE: &str = r"
local source, target = KEYS[1], KEYS[2]
local prefix = ARGV[5]
local kind = redis.call('TYPE', source).ok
if kind ~= 'hash' and kind ~= 'none' then
  redis.call('DEL', source)
  kind = 'none'
end
local old_owner = false
if kind == 'hash' then
  local forward = redis.call('HGET', source, 'fwd')
  if forward then return {2, forward} end
  old_owner = redis.call('HGET', source, 'o')
end
if kind == 'none' then
  if ARGV[1] == '0' then return {0} end
elseif source ~= target then
  redis.call('RENAME', source, target)
  if ARGV[3] ~= '' then
    redis.call('HSET', source, 'fwd', ARGV[3])
    redis.call('PEXPIRE', source, ARGV[4])
  end
end
if #ARGV > 8 then redis.call('HSET', target, unpack(ARGV, 9)) end
redis.call('PEXPIRE', target, ARGV[2])
local owner = old_owner
if ARGV[6] == '1' or (old_owner and string.find(' ' .. ARGV[8] .. ' ', ' ' .. old_owner .. ' ', 1, true)) then
  owner = ARGV[7] ~= '' and ARGV[7]
end
if old_owner and (old_owner ~= owner or source ~= target) then
  redis.call('SREM', prefix .. 'owner:' .. old_owner, string.sub(source, #prefix + 1))
end
if owner then
  redis.call('HSET', target, 'o', owner)
  local set = prefix .. 'owner:' .. owner
  redis.call('SADD', set, string.sub(target, #prefix + 1))
  if redis.call('PTTL', set) < tonumber(ARGV[2]) then redis.call('PEXPIRE', set, ARGV[2]) end
else
  redis.call('HDEL', target, 'o')
end
return {1}
";

/// KEYS: the session. ARGV: prefix. Deletes it, and its id from its owner's set.
const DELETE: &str = r"
local owner = redis.call('TYPE', KEYS[1]).ok == 'hash' and redis.call('HGET', KEYS[1], 'o')
redis.call('DEL', KEYS[1])
if owner then
  redis.call('SREM', ARGV[1] .. 'owner:' .. owner, string.sub(KEYS[1], #ARGV[1] + 1))
end
return 1
";

/// ARGV: prefix, owner, then the names of the listed fields. For each session of the owner: its id,
/// its times entry, and its listed fields' entries (`false` where missing). Ids whose session is
/// gone (expired by TTL, moved) or is another owner's now leave the set.
const LIST: &str = r"
local prefix, owner = ARGV[1], ARGV[2]
local set = prefix .. 'owner:' .. owner
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', set)) do
  local key = prefix .. id
  local fields = {'o', 'm'}
  for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
  local values = redis.call('TYPE', key).ok == 'hash' and redis.call('HMGET', key, unpack(fields)) or {false}
  if values[1] ~= owner then
    redis.call('SREM', set, id)
  else
    out[#out + 1] = id
    for i = 2, #values do out[#out + 1] = values[i] end
  end
end
return out
";

/// ARGV: prefix, owner, the id to keep (or ''). Deletes every other session of the owner.
const REVOKE: &str = r"
local prefix, owner, keep = ARGV[1], ARGV[2], ARGV[3]
local set = prefix .. 'owner:' .. owner
local revoked = 0
for _, id in ipairs(redis.call('SMEMBERS', set)) do
  if id ~= keep then
    local key = prefix .. id
    if redis.call('TYPE', key).ok == 'hash' and redis.call('HGET', key, 'o') == owner then
      redis.call('DEL', key)
      revoked = revoked + 1
    end
    redis.call('SREM', set, id)
  end
end
return revoked
";

/// KEYS: the revocation. ARGV: when (microseconds since the epoch), keep for (ms). Raises the mark
/// to when, or to the stored mark plus one, keeps the longer TTL, and returns the mark. (Lua's
/// numbers are doubles: exact for marks up to 2^53 microseconds, the year 2255.)
const REVOKE_COOKIES: &str = r"
local stored = tonumber(redis.call('GET', KEYS[1]) or '')
local mark = tonumber(ARGV[1])
if stored and stored >= mark then mark = stored + 1 end
redis.call('SET', KEYS[1], string.format('%d', mark), 'KEEPTTL')
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return mark
";

/// A [`ServerStore`] keeping sessions in Redis.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use sessions::Key;
/// use sessions::store::{RedisOptions, RedisStore};
///
/// // Every instance sharing the Redis must share the key too: read it, never generate it here.
/// let key = Key::from_env("SESSION_KEY")?;
/// let store = RedisStore::connect("redis://127.0.0.1:6379", RedisOptions::default(), key).await?;
/// # Ok(()) }
/// ```
///
/// The same call reaches a primary that Sentinel watches, followed across failovers, or a Redis
/// Cluster:
///
/// ```no_run
/// # async fn run(key: sessions::Key) -> Result<(), Box<dyn std::error::Error>> {
/// # use sessions::store::{RedisOptions, RedisStore};
/// // The sentinels, then the name they know the primary by (and a database, if not 0).
/// let sentinel = "redis+sentinel://10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/sessions";
/// let store = RedisStore::connect(sentinel, RedisOptions::default(), key.clone()).await?;
/// // Any nodes of the Cluster: the store learns the others, and follows slots as they move.
/// let cluster = "redis+cluster://:password@10.0.0.1:7000,10.0.0.2:7000";
/// let store = RedisStore::connect(cluster, RedisOptions::default(), key).await?;
/// # Ok(()) }
/// ```
pub type RedisStore = ServerStore<RedisBackend>;

impl RedisStore {
    /// Connects to the Redis at `url`: `redis://host:port/db` (one node),
    /// `redis+sentinel://host:port,host:port/primary-name[/db]` (the sentinels; credentials given
    /// before the hosts are the primary's), or `redis+cluster://host:port,host:port` (seed nodes).
    pub async fn connect(
        url: &str,
        options: RedisOptions,
        keys: impl Into<Keys>,
    ) -> Result<Self, RedisStoreError> {
        Ok(Self::with_backend(
            RedisBackend::connect(url, options).await?,
            keys,
        ))
    }
}

/// How the Redis store connects and names its keys.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// Put before each session id to make its key (`session:` by default).
    pub prefix: String,
    /// The longest a call may take, connecting included; past it the call fails with
    /// [`RedisStoreError::Timeout`] and the app decides (1 second by default).
    pub timeout: Duration,
    /// After each save, wait until this many replicas have it (Redis's `WAIT`, within
    /// [`RedisOptions::timeout`]); a save that fewer acknowledged in time fails with
    /// [`RedisStoreError::NotReplicated`]. Redis replicates asynchronously: without this (0, the
    /// default), a primary that dies can take the writes of its last moments with it, and a
    /// failover then serves those sessions as they were before.
    pub replicas: u32,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            prefix: "session:".into(),
            timeout: Duration::from_secs(1),
            replicas: 0,
        }
    }
}

/// Redis failed or did not answer in time. A load that fails this way is an error, never a fresh
/// session: that would sign everyone out while Redis is down.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisStoreError {
    /// Redis could not be reached when the store connected.
    #[error("could not connect to Redis at {at} (is redis-server running there, and is the URL right?)")]
    Connect {
        /// Where: the host and port, or the socket's path (never the password).
        at: String,
        /// Why.
        #[source]
        source: redis::RedisError,
    },
    /// Redis did not answer when the store connected, within the configured timeout.
    #[error(
        "Redis at {at} did not answer within {timeout:?} (is it running, and reachable from here? `RedisOptions::timeout` sets the wait)"
    )]
    ConnectTimeout {
        /// Where: the host and port, or the socket's path (never the password).
        at: String,
        /// How long the store waited.
        timeout: Duration,
    },
    /// No answer within the configured timeout.
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    /// Redis answered with an error, or the connection failed.
    #[error("redis failed")]
    Redis(#[from] redis::RedisError),
    /// The URL given to `connect` is not one the store understands.
    #[error("the Redis URL {url} is not valid: {reason}")]
    Url {
        /// The URL, its credentials hidden.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A save was applied on the primary, but fewer replicas than [`RedisOptions::replicas`] had
    /// it within the timeout: it may be lost if the primary fails now.
    #[error("a save reached {acknowledged} of the {wanted} replicas asked for in time")]
    NotReplicated {
        /// How many replicas had it.
        acknowledged: u32,
        /// How many were asked for.
        wanted: u32,
    },
    /// On a Cluster, saves kept changing a session while a `cycle_id` copied it to its new id.
    #[error("a session changed under each of {0} attempts to move it to a new id; try again")]
    Contended(usize),
}

/// The backend of [`RedisStore`]. Clones share one multiplexed connection, which reconnects by itself
/// when Redis comes back.
#[derive(Clone)]
pub struct RedisBackend {
    connection: Connection,
    prefix: Arc<str>,
    timeout: Duration,
    replicas: u32,
    scripts: Arc<Scripts>,
}

/// The scripts, each sent by hash after its first call.
struct Scripts {
    save: Script,
    delete: Script,
    list: Script,
    revoke: Script,
    revoke_cookies: Script,
    cluster: ClusterScripts,
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisBackend {
    /// Connects to the Redis at `url` (see [`RedisStore::connect`]).
    pub async fn connect(url: &str, options: RedisOptions) -> Result<Self, RedisStoreError> {
        let topology = Topology::parse(url)?;
        let connection = match tokio::time::timeout(options.timeout, topology.connect(options.timeout)).await
        {
            Ok(Ok(connection)) => connection,
            Ok(Err(source)) => {
                return Err(RedisStoreError::Connect {
                    at: topology.at(),
                    source,
                });
            }
            Err(_) => {
                return Err(RedisStoreError::ConnectTimeout {
                    at: topology.at(),
                    timeout: options.timeout,
                });
            }
        };
        Ok(Self {
            connection,
            prefix: options.prefix.into(),
            timeout: options.timeout,
            replicas: options.replicas,
            scripts: Arc::new(Scripts {
                save: Script::new(SAVE),
                delete: Script::new(DELETE),
                list: Script::new(LIST),
                revoke: Script::new(REVOKE),
                revoke_cookies: Script::new(REVOKE_COOKIES),
                cluster: ClusterScripts::new(),
            }),
        })
    }

    /// With [`RedisOptions::replicas`]: waits until that many replicas have every write so far.
    async fn replicated(&self) -> Result<(), RedisStoreError> {
        if self.replicas == 0 {
            return Ok(());
        }
        let mut connection = self.connection.clone();
        let mut command = redis::cmd("WAIT");
        // Within the call's own bound, so that a short count answers before it fires.
        let wait = self.timeout * 3 / 4;
        command
            .arg(self.replicas)
            .arg(wait.as_millis().max(1).to_string());
        let acknowledged: u32 = self.bounded(command.query_async(&mut connection)).await?;
        if acknowledged < self.replicas {
            return Err(RedisStoreError::NotReplicated {
                acknowledged,
                wanted: self.replicas,
            });
        }
        Ok(())
    }

    /// The key of session `id`.
    pub fn key(&self, id: &SessionId) -> String {
        self.key_of(&id.to_text())
    }

    /// The key of the session whose id reads `id` (as an index holds it).
    fn key_of(&self, id: &str) -> String {
        format!("{}{id}", self.prefix)
    }

    /// Runs `call` for at most the configured timeout. The connection's own response timeout may fire
    /// first: either way the error is [`RedisStoreError::Timeout`].
    async fn bounded<T>(
        &self,
        call: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, RedisStoreError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Err(error)) if error.is_timeout() => Err(RedisStoreError::Timeout(self.timeout)),
            Ok(result) => Ok(result?),
            Err(_) => Err(RedisStoreError::Timeout(self.timeout)),
        }
    }
}

/// The hash field of one field's entry.
fn field_name(tag: u32) -> String {
    format!("f{tag:08x}")
}

impl Backend for RedisBackend {
    type Error = RedisStoreError;

    async fn load(&self, id: &SessionId) -> Result<Option<Stored>, RedisStoreError> {
        let mut connection = self.connection.clone();
        let mut command = redis::cmd("HGETALL");
        command.arg(self.key(id));
        let pairs: Vec<(Vec<u8>, Vec<u8>)> = match self.bounded(command.query_async(&mut connection)).await {
            Ok(pairs) => pairs,
            // Something else than a session under the key: an unreadable session, which the store
            // refuses and deletes.
            Err(RedisStoreError::Redis(error)) if error.code() == Some("WRONGTYPE") => {
                return Ok(Some(Stored::Entries(Entries::default())));
            }
            Err(error) => return Err(error),
        };
        if pairs.is_empty() {
            return Ok(None);
        }
        let mut entries = Entries::default();
        for (name, value) in pairs {
            if name == b"fwd" {
                return Ok(Some(Stored::Moved(value)));
            } else if name == b"m" {
                entries.meta = value;
            } else if let Some(tag) = name
                .strip_prefix(b"f")
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            {
                entries.fields.push((tag, value));
            }
        }
        Ok(Some(Stored::Entries(entries)))
    }

    async fn save(&self, write: SessionWrite) -> Result<Saved, RedisStoreError> {
        let saved = if self.connection.is_cluster() {
            self.cluster_save(write).await?
        } else {
            self.node_save(write).await?
        };
        self.replicated().await?;
        Ok(saved)
    }

    async fn delete(&self, id: &SessionId) -> Result<(), RedisStoreError> {
        if self.connection.is_cluster() {
            return self.cluster_delete(id).await;
        }
        let mut connection = self.connection.clone();
        let mut invocation = self.scripts.delete.key(self.key(id));
        invocation.arg(&*self.prefix);
        self.bounded(invocation.invoke_async::<i64>(&mut connection))
            .await
            .map(drop)
    }

    async fn sessions_of(
        &self,
        owner: &OwnerDigest,
        listed: &[u32],
    ) -> Result<Option<Vec<Indexed>>, RedisStoreError> {
        if self.connection.is_cluster() {
            return self.cluster_sessions_of(owner, listed).await.map(Some);
        }
        self.node_sessions_of(owner, listed).await.map(Some)
    }

    async fn revoke_owner(
        &self,
        owner: &OwnerDigest,
        keep: Option<&SessionId>,
    ) -> Result<Option<usize>, RedisStoreError> {
        if self.connection.is_cluster() {
            return self.cluster_revoke_owner(owner, keep).await.map(Some);
        }
        let mut invocation = self.scripts.revoke.prepare_invoke();
        invocation
            .arg(&*self.prefix)
            .arg(owner.to_text())
            .arg(keep.map(SessionId::to_text).unwrap_or_default());
        let mut connection = self.connection.clone();
        let revoked: usize = self.bounded(invocation.invoke_async(&mut connection)).await?;
        Ok(Some(revoked))
    }
}

/// The one-node layout's save and listing (a primary behind Sentinel is one node too).
impl RedisBackend {
    async fn node_save(&self, write: SessionWrite) -> Result<Saved, RedisStoreError> {
        let entries = write.entries();
        let ttl = write.time_to_live().as_millis().max(1);
        let owner = write.owner_change();
        let mut invocation = self.scripts.save.key(self.key(write.source_id()));
        invocation
            .key(self.key(write.id()))
            .arg(if write.creates() { "1" } else { "0" })
            .arg(ttl.to_string())
            .arg(write.forward().unwrap_or_default())
            .arg(write.forward_time_to_live().as_millis().max(1).to_string())
            .arg(&*self.prefix)
            .arg(if owner.sets() { "1" } else { "0" })
            .arg(
                owner
                    .seen()
                    .as_ref()
                    .map(OwnerDigest::to_text)
                    .unwrap_or_default(),
            )
            .arg(
                (owner.aliases().iter())
                    .map(OwnerDigest::to_text)
                    .collect::<Vec<_>>()
                    .join(" "),
            )
            .arg("m")
            .arg(entries.meta);
        for (tag, entry) in entries.fields {
            invocation.arg(field_name(tag)).arg(entry);
        }
        let mut connection = self.connection.clone();
        let reply: Vec<redis::Value> = self.bounded(invocation.invoke_async(&mut connection)).await?;
        Ok(match reply.as_slice() {
            [redis::Value::Int(1)] => Saved::Stored,
            [redis::Value::Int(2), redis::Value::BulkString(forward)] => Saved::Moved(forward.clone()),
            _ => Saved::Removed,
        })
    }

    async fn node_sessions_of(
        &self,
        owner: &OwnerDigest,
        listed: &[u32],
    ) -> Result<Vec<Indexed>, RedisStoreError> {
        let mut invocation = self.scripts.list.prepare_invoke();
        invocation.arg(&*self.prefix).arg(owner.to_text());
        for &tag in listed {
            invocation.arg(field_name(tag));
        }
        let mut connection = self.connection.clone();
        let reply: Vec<redis::Value> = self.bounded(invocation.invoke_async(&mut connection)).await?;
        let bytes = |value: &redis::Value| match value {
            redis::Value::BulkString(bytes) => Some(bytes.clone()),
            _ => None,
        };
        // Per session: its id, its times, then one value per listed field.
        let sessions = reply
            .chunks(2 + listed.len())
            .filter_map(|chunk| {
                let id = SessionId::from_text(std::str::from_utf8(&bytes(chunk.first()?)?).ok()?)?;
                let fields = listed
                    .iter()
                    .zip(&chunk[2..])
                    .filter_map(|(&tag, value)| Some((tag, bytes(value)?)))
                    .collect();
                Some(Indexed {
                    id,
                    summary: Summary::Entries(Entries {
                        meta: bytes(chunk.get(1)?)?,
                        fields,
                    }),
                })
            })
            .collect();
        Ok(sessions)
    }
}

/// Revocations of cookie sessions in Redis, for every instance of an app.
impl Revocations for RedisBackend {
    type Error = RedisStoreError;

    async fn mark(&self, owner: &OwnerDigest) -> Result<Option<u64>, RedisStoreError> {
        let mut connection = self.connection.clone();
        let mut command = redis::cmd("GET");
        command.arg(format!("{}revoked:{}", self.prefix, owner.to_text()));
        let stored: Option<Vec<u8>> = self.bounded(command.query_async(&mut connection)).await?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        // Read back from Redis, so input: a value that is no mark revokes nothing (and fails no
        // request).
        match std::str::from_utf8(&stored)
            .ok()
            .and_then(|text| text.parse().ok())
        {
            Some(mark) => Ok(Some(mark)),
            None => {
                tracing::warn!(owner = ?owner, "a revocation in Redis that is not a mark; ignored");
                Ok(None)
            }
        }
    }

    async fn revoke(&self, owner: &OwnerDigest, at: u64, keep_for: Duration) -> Result<u64, RedisStoreError> {
        let mut invocation =
            self.scripts
                .revoke_cookies
                .key(format!("{}revoked:{}", self.prefix, owner.to_text()));
        invocation.arg(at).arg(keep_for.as_millis().max(1).to_string());
        let mut connection = self.connection.clone();
        self.bounded(invocation.invoke_async::<u64>(&mut connection))
            .await
    }
}

//! Sessions in Redis, shared by every instance of an app: one hash per session, one sealed entry per
//! field, merged on the server.
//!
//! ```text
//! <prefix><id>   hash, with a TTL of the session's remaining lifetime
//!   m            the session's times, sealed
//!   f<tag>       one field's record, sealed (tag: the field's name hash, 8 hex digits)
//! <prefix><old>  hash, with a TTL of the store's cycle grace: left by a save that moved the session
//!   fwd          the sealed forward to the new id
//! ```
//!
//! A load is one round trip (`HGETALL`; a key holding something else than a hash reads as an
//! unreadable session). A save is one round trip (a script, sent by hash after the first call): refuse if the session
//! was removed meanwhile (unless it is new), rename it when its id is cycled, `HSET` the entries the
//! save carries (only the changed fields), and set the TTL; a save whose source holds a forward stores
//! nothing and answers with the forward, and a move leaves one behind. Two instances changing different fields
//! of one session both keep their change, without a read before the write.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{Client, Script};

use crate::codec::id::SessionId;
use crate::key::Keys;
use crate::store::server::{Backend, Entries, Saved, ServerStore, SessionWrite, Stored};

const SAVE: &str = r"
local source, target = KEYS[1], KEYS[2]
local kind = redis.call('TYPE', source).ok
if kind ~= 'hash' and kind ~= 'none' then
  redis.call('DEL', source)
  kind = 'none'
end
if kind == 'hash' then
  local forward = redis.call('HGET', source, 'fwd')
  if forward then return {2, forward} end
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
if #ARGV > 4 then redis.call('HSET', target, unpack(ARGV, 5)) end
redis.call('PEXPIRE', target, ARGV[2])
return {1}
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
pub type RedisStore = ServerStore<RedisBackend>;

impl RedisStore {
    /// Connects to the Redis at `url` (`redis://host:port/db`).
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
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            prefix: "session:".into(),
            timeout: Duration::from_secs(1),
        }
    }
}

/// Redis failed or did not answer in time. A load that fails this way is an error, never a fresh
/// session: that would sign everyone out while Redis is down.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisStoreError {
    /// No answer within the configured timeout.
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    /// Redis answered with an error, or the connection failed.
    #[error("redis failed")]
    Redis(#[from] redis::RedisError),
}

/// The backend of [`RedisStore`]. Clones share one multiplexed connection, which reconnects by itself
/// when Redis comes back.
#[derive(Clone)]
pub struct RedisBackend {
    connection: ConnectionManager,
    prefix: Arc<str>,
    timeout: Duration,
    save: Arc<Script>,
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
    /// Connects to the Redis at `url`.
    pub async fn connect(url: &str, options: RedisOptions) -> Result<Self, RedisStoreError> {
        let client = Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.timeout))
            .set_response_timeout(Some(options.timeout))
            .set_number_of_retries(1);
        let connect = ConnectionManager::new_with_config(client, config);
        let connection = tokio::time::timeout(options.timeout, connect)
            .await
            .map_err(|_| RedisStoreError::Timeout(options.timeout))??;
        Ok(Self {
            connection,
            prefix: options.prefix.into(),
            timeout: options.timeout,
            save: Arc::new(Script::new(SAVE)),
        })
    }

    /// The key of session `id`.
    pub fn key(&self, id: &SessionId) -> String {
        format!("{}{}", self.prefix, id.to_text())
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
        let entries = write.entries();
        let ttl = write.time_to_live().as_millis().max(1);
        let mut invocation = self.save.key(self.key(write.source_id()));
        invocation
            .key(self.key(write.id()))
            .arg(if write.creates() { "1" } else { "0" })
            .arg(ttl.to_string())
            .arg(write.forward().unwrap_or_default())
            .arg(write.forward_time_to_live().as_millis().max(1).to_string())
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

    async fn delete(&self, id: &SessionId) -> Result<(), RedisStoreError> {
        let mut connection = self.connection.clone();
        let mut command = redis::cmd("DEL");
        command.arg(self.key(id));
        self.bounded(command.query_async::<i64>(&mut connection))
            .await
            .map(drop)
    }
}

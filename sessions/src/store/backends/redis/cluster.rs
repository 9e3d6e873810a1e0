//! The Redis store on a Cluster, where one script may touch the keys of one slot only: a
//! session's hash is one key, its owner's index another, and a new id a third, each in a slot of
//! its own. Every step below is one script on one key; their order keeps each promise of the
//! one-node store.
//!
//! ```text
//! <prefix><id>              hash, as on one node, plus `v` (a version every write raises);
//!                           a forward holds `fwd`, and `o` and `to` (the new id) for revocations
//! <prefix>index:<owner>     sorted set of the owner's session ids, scored by when each entry was
//!                           last written (the set's own clock, ms); its TTL the longest of theirs
//! <prefix>revoked:<owner>   as on one node
//! ```
//!
//! - **Entry before record.** A save of an owned session writes its index entry first, then the
//!   record, then confirms that the entry is still there. A revocation removes an entry before it
//!   looks at the session. So a save that a revocation overtook finds its entry gone and undoes its
//!   record (the session was revoked while it saved, as on one node), and an entry without its
//!   record (a save under way, or a crash between the two) is harmless: listings skip it, and drop
//!   it once it is [`STALE_AFTER`] old.
//! - **A new id is a copy, then a forward.** `cycle_id` copies the record to the new id (taking it
//!   with its version), then turns the old key into a forward on condition that the version did not
//!   move; a save that came between makes it copy again. The record is under the new id before
//!   any request can be sent there, and a session removed meanwhile takes its copy with it.
//!
//! An owned session's save is three round trips here (index, record, confirm), one on one node.

use std::time::Duration;

use redis::{Script, Value};

use super::RedisBackend;
use super::RedisStoreError;
use crate::codec::id::SessionId;
use crate::owner::OwnerDigest;
use crate::store::server::backend::{Entries, Indexed, Saved, SessionWrite, Summary};

/// An index entry older than this whose session is gone or another owner's is dropped by the next
/// listing; a younger one may be a save under way (each of its steps is bounded by the store's
/// timeout, far below this).
const STALE_AFTER: Duration = Duration::from_secs(600);

/// How many times a `cycle_id` copies the record before giving up, when saves keep changing it.
const COPY_ATTEMPTS: usize = 16;

/// KEYS: the owner's index. ARGV: TTL (ms), session id. Adds or refreshes the entry, and keeps
/// the index at least as long as the session.
const INDEX: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[2])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1
";

/// KEYS: the owner's index. ARGV: the id saved, then the id it moved from (or ''). 1 if the saved
/// id's entry is still there (and then the old id's entry goes), 0 if a revocation removed it.
const CONFIRM: &str = r"
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
if ARGV[2] ~= '' then redis.call('ZREM', KEYS[1], ARGV[2]) end
return 1
";

/// KEYS: the owner's index. ARGV: age (ms), then ids. Removes the entries of those ids written
/// longer than age ago.
const PRUNE: &str = r"
local time = redis.call('TIME')
local before = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) - tonumber(ARGV[1])
for i = 2, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) < before then redis.call('ZREM', KEYS[1], ARGV[i]) end
end
return 1
";

/// KEYS: the session. ARGV: creates, TTL (ms), sets owner, owner, the owner's other digests, then
/// the entries. As the one-node save for an id that stays: {1, stored owner, owner after},
/// {0} (removed), or {2, forward}.
const SAVE: &str = r"
local key = KEYS[1]
local kind = redis.call('TYPE', key).ok
if kind ~= 'hash' and kind ~= 'none' then
  redis.call('DEL', key)
  kind = 'none'
end
local stored = false
if kind == 'hash' then
  local forward = redis.call('HGET', key, 'fwd')
  if forward then return {2, forward} end
  stored = redis.call('HGET', key, 'o')
elseif ARGV[1] == '0' then
  return {0}
end
if #ARGV > 5 then redis.call('HSET', key, unpack(ARGV, 6)) end
redis.call('HINCRBY', key, 'v', 1)
redis.call('PEXPIRE', key, ARGV[2])
local owner = stored
if ARGV[3] == '1' or (stored and string.find(' ' .. ARGV[5] .. ' ', ' ' .. stored .. ' ', 1, true)) then
  owner = ARGV[4] ~= '' and ARGV[4]
end
if owner then redis.call('HSET', key, 'o', owner) else redis.call('HDEL', key, 'o') end
return {1, stored or '', owner or ''}
";

/// KEYS: the session. {0} if there is none, {2, forward} if it moved, else {1, version, the hash's
/// names and values}.
const TAKE: &str = r"
local key = KEYS[1]
local kind = redis.call('TYPE', key).ok
if kind ~= 'hash' then
  if kind ~= 'none' then redis.call('DEL', key) end
  return {0}
end
local forward = redis.call('HGET', key, 'fwd')
if forward then return {2, forward} end
return {1, redis.call('HGET', key, 'v') or '0', redis.call('HGETALL', key)}
";

/// KEYS: the new id's key. ARGV: TTL (ms), then names and values. Writes the copy afresh.
const PUT: &str = r"
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
";

/// KEYS: the old id's key. ARGV: the version taken, forward, its TTL (ms), owner, new id. {1} once
/// it is a forward (or gone, without one), {3} if a save changed it since, {0} if it was removed,
/// {2, forward} if another `cycle_id` moved it first.
const SEAL: &str = r"
local key = KEYS[1]
if redis.call('TYPE', key).ok ~= 'hash' then return {0} end
local forward = redis.call('HGET', key, 'fwd')
if forward then return {2, forward} end
if (redis.call('HGET', key, 'v') or '0') ~= ARGV[1] then return {3} end
redis.call('DEL', key)
if ARGV[2] ~= '' then
  redis.call('HSET', key, 'fwd', ARGV[2], 'to', ARGV[5])
  if ARGV[4] ~= '' then redis.call('HSET', key, 'o', ARGV[4]) end
  redis.call('PEXPIRE', key, ARGV[3])
end
return {1}
";

/// KEYS: the session. Deletes it; its owner, or ''.
const DELETE: &str = r"
local owner = redis.call('TYPE', KEYS[1]).ok == 'hash' and redis.call('HGET', KEYS[1], 'o')
redis.call('DEL', KEYS[1])
return owner or ''
";

/// KEYS: the session. ARGV: owner. Deletes it if it is the owner's: 1, or, for a forward of the
/// owner's, the new id to revoke too; 0 if it is not the owner's (or gone).
const REVOKE_ONE: &str = r"
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' or redis.call('HGET', KEYS[1], 'o') ~= ARGV[1] then return 0 end
local to = redis.call('HGET', KEYS[1], 'to')
redis.call('DEL', KEYS[1])
return to or 1
";

/// The scripts of the Cluster layout, each sent by hash after its first call.
pub(super) struct ClusterScripts {
    index: Script,
    confirm: Script,
    prune: Script,
    save: Script,
    take: Script,
    put: Script,
    seal: Script,
    delete: Script,
    revoke_one: Script,
}

impl ClusterScripts {
    pub(super) fn new() -> Self {
        Self {
            index: Script::new(INDEX),
            confirm: Script::new(CONFIRM),
            prune: Script::new(PRUNE),
            save: Script::new(SAVE),
            take: Script::new(TAKE),
            put: Script::new(PUT),
            seal: Script::new(SEAL),
            delete: Script::new(DELETE),
            revoke_one: Script::new(REVOKE_ONE),
        }
    }
}

/// Milliseconds for a TTL argument: at least one.
fn millis(duration: Duration) -> String {
    duration.as_millis().max(1).to_string()
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(text) => Some(text.clone()),
        Value::Int(number) => Some(number.to_string()),
        _ => None,
    }
}

impl RedisBackend {
    /// The key of `owner`'s index.
    fn index_key(&self, owner: &OwnerDigest) -> String {
        format!("{}index:{}", self.prefix, owner.to_text())
    }

    fn scripts(&self) -> &ClusterScripts {
        &self.scripts.cluster
    }

    /// Adds or refreshes `id`'s entry in `owner`'s index, which then lives at least `ttl`.
    async fn index(&self, owner: &OwnerDigest, id: &SessionId, ttl: &str) -> Result<(), RedisStoreError> {
        let mut invocation = self.scripts().index.key(self.index_key(owner));
        invocation.arg(ttl).arg(id.to_text());
        let mut connection = self.connection.clone();
        self.bounded(invocation.invoke_async::<i64>(&mut connection))
            .await
            .map(drop)
    }

    /// Removes the entries of `ids` (id texts) from `owner`'s index.
    async fn unindex<Id: redis::ToRedisArgs + Send + Sync>(
        &self,
        owner: &OwnerDigest,
        ids: &[Id],
    ) -> Result<(), RedisStoreError> {
        let mut connection = self.connection.clone();
        let mut command = redis::cmd("ZREM");
        command.arg(self.index_key(owner)).arg(ids);
        self.bounded(command.query_async::<i64>(&mut connection))
            .await
            .map(drop)
    }

    async fn delete_key(&self, key: String) -> Result<String, RedisStoreError> {
        let mut connection = self.connection.clone();
        let invocation = self.scripts().delete.key(key);
        self.bounded(invocation.invoke_async(&mut connection)).await
    }

    /// One save on a Cluster (see the module's documentation for the order of its steps).
    pub(super) async fn cluster_save(&self, write: SessionWrite) -> Result<Saved, RedisStoreError> {
        let ttl = millis(write.time_to_live());
        let change = write.owner_change();
        let seen = change.seen();
        let (source, target) = (write.source_id(), write.id());
        let moves = source != target;
        // Entry before record: the owner as this request sees it (the owner after the save, but
        // for a concurrent change of owner).
        if let Some(seen) = &seen {
            self.index(seen, target, &ttl).await?;
        }
        let (stored, owner) = if moves {
            match self.copy(&write, &ttl).await? {
                Ok(owners) => owners,
                Err(saved) => return Ok(saved),
            }
        } else {
            let aliases = change
                .aliases()
                .iter()
                .map(OwnerDigest::to_text)
                .collect::<Vec<_>>();
            let mut invocation = self.scripts().save.key(self.key(target));
            invocation
                .arg(if write.creates() { "1" } else { "0" })
                .arg(&ttl)
                .arg(if change.sets() { "1" } else { "0" })
                .arg(seen.as_ref().map(OwnerDigest::to_text).unwrap_or_default())
                .arg(aliases.join(" "));
            let entries = write.entries();
            invocation.arg("m").arg(entries.meta);
            for (tag, entry) in entries.fields {
                invocation.arg(super::field_name(tag)).arg(entry);
            }
            let mut connection = self.connection.clone();
            let reply: Vec<Value> = self.bounded(invocation.invoke_async(&mut connection)).await?;
            match reply.as_slice() {
                [Value::Int(1), stored, owner] => (owner_of(stored), owner_of(owner)),
                [Value::Int(2), Value::BulkString(forward)] => return Ok(Saved::Moved(forward.clone())),
                _ => return Ok(Saved::Removed),
            }
        };
        // Whether the old id's entry is gone already (the confirmation drops it).
        let mut unindexed = false;
        if let Some(owner) = &owner {
            if seen.as_ref() == Some(owner) {
                // Confirm: a revocation that removed the entry meanwhile wins.
                let mut invocation = self.scripts().confirm.key(self.index_key(owner));
                unindexed = moves && stored.as_ref() == Some(owner);
                invocation.arg(target.to_text());
                invocation.arg(if unindexed {
                    source.to_text()
                } else {
                    String::new()
                });
                let mut connection = self.connection.clone();
                let kept: i64 = self.bounded(invocation.invoke_async(&mut connection)).await?;
                if kept == 0 {
                    self.delete_key(self.key(target)).await?;
                    if moves {
                        self.delete_key(self.key(source)).await?;
                    }
                    return Ok(Saved::Removed);
                }
            } else {
                // The stored owner stays (a concurrent change of owner): record before entry.
                self.index(owner, target, &ttl).await?;
            }
        }
        if let Some(stored) = stored
            && (owner.as_ref() != Some(&stored) || moves)
            && !unindexed
        {
            self.unindex(&stored, &[source.to_text()]).await?;
        }
        Ok(Saved::Stored)
    }

    /// `cycle_id`: the record copied to the new id, then the old one turned into a forward. The
    /// owner stored and the owner after, or what the save answers instead.
    async fn copy(
        &self,
        write: &SessionWrite,
        ttl: &str,
    ) -> Result<Result<(Option<OwnerDigest>, Option<OwnerDigest>), Saved>, RedisStoreError> {
        let (source, target) = (self.key(write.source_id()), self.key(write.id()));
        let change = write.owner_change();
        let entries = write.entries();
        let mut connection = self.connection.clone();
        for _ in 0..COPY_ATTEMPTS {
            let reply: Vec<Value> = self
                .bounded(self.scripts().take.key(&source).invoke_async(&mut connection))
                .await?;
            let (version, mut hash) = match reply.as_slice() {
                [Value::Int(1), version, Value::Array(pairs)] => {
                    let mut hash = Vec::new();
                    for pair in pairs.chunks(2) {
                        if let [Value::BulkString(name), Value::BulkString(value)] = pair {
                            hash.push((name.clone(), value.clone()));
                        }
                    }
                    (text(version).unwrap_or_default(), hash)
                }
                [Value::Int(2), Value::BulkString(forward)] => return Ok(Err(Saved::Moved(forward.clone()))),
                _ if write.creates() => (String::new(), Vec::new()),
                _ => return Ok(Err(Saved::Removed)),
            };
            let stored = hash
                .iter()
                .find(|(name, _)| name == b"o")
                .and_then(|(_, value)| OwnerDigest::from_text(std::str::from_utf8(value).ok()?));
            let owner = change.after(stored.as_ref());
            // The stored hash, with this save's entries over it and the owner after it.
            hash.retain(|(name, _)| !matches!(name.as_slice(), b"v" | b"o" | b"to" | b"fwd"));
            let mut put = self.scripts().put.key(&target);
            put.arg(ttl);
            let written = std::iter::once((b"m".to_vec(), entries.meta.clone())).chain(
                entries
                    .fields
                    .iter()
                    .map(|(tag, entry)| (super::field_name(*tag).into_bytes(), entry.clone())),
            );
            for (name, value) in written {
                hash.retain(|(stored, _)| *stored != name);
                hash.push((name, value));
            }
            hash.push((b"v".to_vec(), b"1".to_vec()));
            if let Some(owner) = &owner {
                hash.push((b"o".to_vec(), owner.to_text().into_bytes()));
            }
            for (name, value) in &hash {
                put.arg(name).arg(value);
            }
            self.bounded(put.invoke_async::<i64>(&mut connection)).await?;
            if version.is_empty() {
                // A new session under a new id: nothing to forward from.
                return Ok(Ok((None, owner)));
            }
            let mut seal = self.scripts().seal.key(&source);
            seal.arg(&version)
                .arg(write.forward().unwrap_or_default())
                .arg(millis(write.forward_time_to_live()))
                .arg(owner.as_ref().map(OwnerDigest::to_text).unwrap_or_default())
                .arg(write.id().to_text());
            let reply: Vec<Value> = self.bounded(seal.invoke_async(&mut connection)).await?;
            match reply.as_slice() {
                [Value::Int(1)] => return Ok(Ok((stored, owner))),
                [Value::Int(3)] => continue,
                [Value::Int(2), Value::BulkString(forward)] => {
                    self.delete_key(target).await?;
                    return Ok(Err(Saved::Moved(forward.clone())));
                }
                _ => {
                    self.delete_key(target).await?;
                    return Ok(Err(Saved::Removed));
                }
            }
        }
        Err(RedisStoreError::Contended(COPY_ATTEMPTS))
    }

    pub(super) async fn cluster_delete(&self, id: &SessionId) -> Result<(), RedisStoreError> {
        let owner = self.delete_key(self.key(id)).await?;
        if let Some(owner) = OwnerDigest::from_text(&owner) {
            self.unindex(&owner, &[id.to_text()]).await?;
        }
        Ok(())
    }

    async fn members(&self, owner: &OwnerDigest) -> Result<Vec<String>, RedisStoreError> {
        let mut connection = self.connection.clone();
        let mut command = redis::cmd("ZRANGE");
        command.arg(self.index_key(owner)).arg(0).arg(-1);
        self.bounded(command.query_async(&mut connection)).await
    }

    /// Drops the entries of `ids` older than [`STALE_AFTER`].
    async fn prune(&self, owner: &OwnerDigest, ids: &[String]) -> Result<(), RedisStoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut invocation = self.scripts().prune.key(self.index_key(owner));
        invocation.arg(STALE_AFTER.as_millis().to_string()).arg(ids);
        let mut connection = self.connection.clone();
        self.bounded(invocation.invoke_async::<i64>(&mut connection))
            .await
            .map(drop)
    }

    pub(super) async fn cluster_sessions_of(
        &self,
        owner: &OwnerDigest,
        listed: &[u32],
    ) -> Result<Vec<Indexed>, RedisStoreError> {
        let ids = self.members(owner).await?;
        let expected = owner.to_text();
        let reads = ids.iter().map(|id| async move {
            let mut command = redis::cmd("HMGET");
            command.arg(self.key_of(id)).arg(&["o", "fwd", "m"][..]);
            for &tag in listed {
                command.arg(super::field_name(tag));
            }
            let mut connection = self.connection.clone();
            match self
                .bounded(command.query_async::<Vec<Option<Vec<u8>>>>(&mut connection))
                .await
            {
                Ok(values) => Ok(Some(values)),
                // Something else than a hash under the key: not a session.
                Err(RedisStoreError::Redis(error)) if error.code() == Some("WRONGTYPE") => Ok(None),
                Err(error) => Err(error),
            }
        });
        let mut sessions = Vec::new();
        let mut stale = Vec::new();
        for (id, values) in ids.iter().zip(futures_util::future::join_all(reads).await) {
            let values = values?;
            let session = values.and_then(|values| {
                let [owner, forward, meta, fields @ ..] = values.as_slice() else {
                    return None;
                };
                if owner.as_deref() != Some(expected.as_bytes()) || forward.is_some() {
                    return None;
                }
                Some(Indexed {
                    id: SessionId::from_text(id)?,
                    summary: Summary::Entries(Entries {
                        meta: meta.clone()?,
                        fields: listed
                            .iter()
                            .zip(fields)
                            .filter_map(|(&tag, value)| Some((tag, value.clone()?)))
                            .collect(),
                    }),
                })
            });
            match session {
                Some(session) => sessions.push(session),
                None => stale.push(id.clone()),
            }
        }
        self.prune(owner, &stale).await?;
        Ok(sessions)
    }

    pub(super) async fn cluster_revoke_owner(
        &self,
        owner: &OwnerDigest,
        keep: Option<&SessionId>,
    ) -> Result<usize, RedisStoreError> {
        let keep = keep.map(SessionId::to_text);
        let ids: Vec<String> = (self.members(owner).await?.into_iter())
            .filter(|id| Some(id) != keep.as_ref())
            .collect();
        if ids.is_empty() {
            return Ok(0);
        }
        // Entries first: a save under way finds its entry gone, and undoes itself.
        self.unindex(owner, &ids).await?;
        let revokes = ids.iter().map(|id| self.revoke_one(owner, self.key_of(id)));
        let mut revoked = 0;
        for outcome in futures_util::future::join_all(revokes).await {
            revoked += outcome?;
        }
        Ok(revoked)
    }

    /// Deletes the session at `key` if it is `owner`'s, and the one its forward leads to.
    async fn revoke_one(&self, owner: &OwnerDigest, key: String) -> Result<usize, RedisStoreError> {
        let mut connection = self.connection.clone();
        let mut invocation = self.scripts().revoke_one.key(key);
        invocation.arg(owner.to_text());
        let reply: Value = self.bounded(invocation.invoke_async(&mut connection)).await?;
        Ok(match reply {
            Value::Int(0) => 0,
            Value::BulkString(to) => {
                let mut invocation =
                    (self.scripts().revoke_one).key(self.key_of(&String::from_utf8_lossy(&to)));
                invocation.arg(owner.to_text());
                let reply: Value = self.bounded(invocation.invoke_async(&mut connection)).await?;
                usize::from(reply != Value::Int(0))
            }
            _ => 1,
        })
    }
}

/// An owner digest a script answered, or none for ''.
fn owner_of(value: &Value) -> Option<OwnerDigest> {
    OwnerDigest::from_text(&text(value)?)
}

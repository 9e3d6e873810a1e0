//! The file store's owner index, and its revocations of cookie sessions.
//!
//! An owner's sessions are the entries of `owners/<owner>/`, one per session id, holding the
//! session's expiry and sealed summary. A save changes them under the locks it holds for the
//! record: the new entry goes in before the record is written, the old one (a session that moved
//! or changed owner) goes after. `delete` knows only an id, so it leaves the entry: a listing shows
//! only entries whose record is there, and a sweep removes the rest.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{FileBackend, FileStoreError, Files, MAGIC, io_error, read_header, split};
use crate::clock::system_time;
use crate::codec::id::SessionId;
use crate::owner::OwnerDigest;
use crate::store::server::backend::{Indexed, Revocations, Summary, next_mark};

pub(super) const OWNERS_DIR: &str = "owners";
pub(super) const REVOKED_DIR: &str = "revoked";
const INDEX_MAGIC: &[u8; 4] = b"SSO1";
const REVOKED_MAGIC: &[u8; 4] = b"SSR2";

/// How many threads `revoke_owner` moves records with.
const REVOKE_THREADS: usize = 4;

/// How many times `revoke_owner` lists an owner's entries again while saves in flight move
/// sessions to new ids; each pass waits on the locks those saves hold, so a few passes drain them.
const REVOKE_PASSES: usize = 64;

impl Files {
    fn owner_dir(&self, owner: &OwnerDigest) -> PathBuf {
        self.root.join(OWNERS_DIR).join(owner.to_text())
    }

    fn revoked_path(&self, owner: &OwnerDigest) -> PathBuf {
        self.root.join(REVOKED_DIR).join(owner.to_text())
    }

    /// Lists `id` among `owner`'s sessions, with its summary. Called under the session's lock.
    ///
    /// A new entry is synced like a record (a revocation must find it after a power loss); an
    /// entry already there is only brought up to date (the summary's times and listed fields), not
    /// synced: a power loss may leave it as it was, or empty (then left out of listings until the
    /// next save), and it is still there for a revocation. Synced every time, an owned session's
    /// load and save on the file store took 1.77x the time of an unowned one; so, 1.28x (`cargo
    /// bench -p sessions --features fs,sqlite --bench owners`, durable).
    pub(super) fn index(
        &self,
        owner: &OwnerDigest,
        id: &SessionId,
        expires_at: SystemTime,
        summary: &[u8],
    ) -> Result<(), FileStoreError> {
        let path = self.owner_dir(owner).join(id.to_text());
        let new = !path.exists();
        self.write_file(&path, (INDEX_MAGIC, expires_at, summary), self.durable && new)
    }

    /// Takes `id` out of `owner`'s sessions. Called under the session's lock.
    pub(super) fn unindex(&self, owner: &OwnerDigest, id: &SessionId) -> Result<(), FileStoreError> {
        self.remove(&self.owner_dir(owner).join(id.to_text()))
    }

    /// The ids in `owner`'s directory.
    fn indexed_ids(&self, owner: &OwnerDigest) -> Result<Vec<SessionId>, FileStoreError> {
        let dir = self.owner_dir(owner);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(io_error("list the owner directory", &dir)(error)),
        };
        Ok(entries
            .flatten()
            .filter_map(|entry| SessionId::from_text(entry.file_name().to_str()?))
            .collect())
    }

    /// Whether a session record (not a forward) is stored under `id`.
    fn holds_record(&self, id: &SessionId) -> bool {
        magic_and_expiry(&self.path(id)).is_some_and(|(magic, _)| &magic == MAGIC)
    }

    /// The entries of `owner` whose record is there. A save moving a session (`cycle_id`) writes
    /// the new id's entry, then its record, then turns the old record into a forward, then removes
    /// the old entry: an entry skipped because its record had just become a forward, or because
    /// it was just removed, may mean the directory now holds the new id's entry, so the directory
    /// is read again, and a session moving meanwhile is never missing from the listing.
    pub(super) fn sessions_of(&self, owner: &OwnerDigest) -> Result<Vec<Indexed>, FileStoreError> {
        let dir = self.owner_dir(owner);
        let mut sessions = Vec::new();
        let mut seen = std::collections::HashSet::new();
        loop {
            let fresh: Vec<SessionId> = (self.indexed_ids(owner)?.into_iter())
                .filter(|id| seen.insert(id.clone()))
                .collect();
            let mut skipped = false;
            for id in &fresh {
                let path = dir.join(id.to_text());
                let bytes = match fs::read(&path) {
                    Ok(bytes) => bytes,
                    Err(error) if error.kind() == io::ErrorKind::NotFound => {
                        skipped = true; // removed since listed: maybe moved, to an entry now there
                        continue;
                    }
                    Err(error) => return Err(io_error("read the owner index entry", &path)(error)),
                };
                let Some((INDEX_MAGIC, _, summary)) = split(&bytes) else {
                    continue; // not an entry: the sweep removes it
                };
                // An entry whose record is not there may be a save's, between writing the entry and
                // the record: asked again under the session's lock, which that save holds until it
                // is done, it is answered for good. (Asked once, an entry read before its record
                // was written, and its old id's read after that became a forward, left a moving
                // session out of a listing: `revoke` then found nothing to end.)
                let holds_record = self.holds_record(id) || {
                    let _lock = self.lock(&[id])?;
                    self.holds_record(id)
                };
                if holds_record {
                    sessions.push(Indexed {
                        id: id.clone(),
                        summary: Summary::Sealed(summary.to_vec()),
                    });
                } else {
                    skipped = true;
                }
            }
            if fresh.is_empty() || !skipped {
                return Ok(sessions);
            }
        }
    }

    /// Removes every session of `owner` but `keep`, each under its lock, listing the owner's entries
    /// again until none is left: a save that held a lock meanwhile may have moved a session to a new
    /// id, whose entry the next listing finds.
    ///
    /// Each pass moves its records to the trash ([`Files::discard`]), makes that durable at once
    /// ([`Files::sync_dirs`]), then moves their entries and makes that durable: entries still go
    /// after their records (a crash leaves an entry too many, never a record the index lost), and
    /// 10,000 sessions cost two syncs, not 20,000 (see `cargo bench -p sessions-examples --bench
    /// revoke_all`).
    pub(super) fn revoke_owner(
        &self,
        owner: &OwnerDigest,
        keep: Option<&SessionId>,
    ) -> Result<usize, FileStoreError> {
        let dir = self.owner_dir(owner);
        let mut revoked = 0;
        for _ in 0..REVOKE_PASSES {
            let ids: Vec<SessionId> = self
                .indexed_ids(owner)?
                .into_iter()
                .filter(|id| Some(id) != keep)
                .collect();
            if ids.is_empty() {
                return Ok(revoked);
            }
            // By lock stripe, each locked once for all its sessions, the stripes shared among a
            // few threads: the time is the file system's, waiting on renames, which overlap
            // (10,000 sessions: 0.9 s on one thread, 0.55 s on four; revoke_all bench).
            let mut by_stripe: BTreeMap<PathBuf, Vec<SessionId>> = BTreeMap::new();
            for id in ids {
                by_stripe.entry(self.lock_path(&id)).or_default().push(id);
            }
            let stripes: Vec<Vec<SessionId>> = by_stripe.into_values().collect();
            let per_thread = stripes.len().div_ceil(REVOKE_THREADS).max(1);
            let discarded = std::thread::scope(|scope| {
                let workers: Vec<_> = stripes
                    .chunks(per_thread)
                    .map(|chunk| scope.spawn(|| self.discard_records(&dir, chunk)))
                    .collect();
                workers
                    .into_iter()
                    .map(|worker| {
                        worker
                            .join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })?;
            let mut to_sync = BTreeSet::new();
            let mut entries = Vec::new();
            for part in discarded {
                revoked += part.sessions;
                to_sync.extend(part.dirs);
                entries.extend(part.entries);
            }
            to_sync.insert(self.root.join(super::TRASH_DIR));
            self.sync_dirs(&to_sync)?;
            for (entry, id) in &entries {
                self.discard(entry, &format!("{}.entry", id.to_text()))?;
            }
            self.sync_dirs(&BTreeSet::from([dir.clone(), self.root.join(super::TRASH_DIR)]))?;
        }
        Ok(revoked)
    }

    /// Moves the records of `stripes` (ids grouped by lock stripe) whose entry in the owner's
    /// directory `dir` is still there to the trash, each stripe's lock held while it is done.
    fn discard_records(&self, dir: &Path, stripes: &[Vec<SessionId>]) -> Result<Discarded, FileStoreError> {
        let mut discarded = Discarded::default();
        for ids in stripes {
            let Some(first) = ids.first() else { continue };
            let _lock = self.lock(&[first])?;
            for id in ids {
                let entry = dir.join(id.to_text());
                if !entry.exists() {
                    continue; // moved, removed or given another owner while this waited
                }
                if self.holds_record(id) {
                    discarded.sessions += 1;
                }
                let record = self.path(id);
                if self.discard(&record, &format!("{}.record", id.to_text()))? {
                    discarded.dirs.extend(record.parent().map(Path::to_path_buf));
                }
                discarded.entries.push((entry, id.clone()));
            }
        }
        Ok(discarded)
    }

    /// Removes index entries whose session expired by `now` or is gone, and revocations past their
    /// use. Owner directories stay: a save may be writing into one.
    pub(super) fn sweep_owners(&self, now: u64) -> Result<(), FileStoreError> {
        let owners_dir = self.root.join(OWNERS_DIR);
        for owner in list(&owners_dir)? {
            let Some(owner) = OwnerDigest::from_text(&owner) else {
                continue;
            };
            for id in self.indexed_ids(&owner)? {
                let entry = self.owner_dir(&owner).join(id.to_text());
                let live = |files: &Files| {
                    magic_and_expiry(&entry)
                        .is_some_and(|(magic, expires)| &magic == INDEX_MAGIC && expires > now)
                        && files.holds_record(&id)
                };
                if live(self) {
                    continue;
                }
                let _lock = self.lock(&[&id])?;
                if !live(self) {
                    self.remove(&entry)?;
                }
            }
        }
        let revoked_dir = self.root.join(REVOKED_DIR);
        for name in list(&revoked_dir)? {
            let Some(owner) = OwnerDigest::from_text(&name) else {
                continue;
            };
            let path = revoked_dir.join(&name);
            let past = || magic_and_expiry(&path).is_none_or(|(_, until)| until <= now);
            if past() {
                let _lock = self.lock(&[&owner_lock(&owner)])?;
                if past() {
                    self.remove(&path)?;
                }
            }
        }
        Ok(())
    }

    fn mark(&self, owner: &OwnerDigest) -> Result<Option<u64>, FileStoreError> {
        let path = self.revoked_path(owner);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(io_error("read the revocation file", &path)(error)),
        };
        let Some((mark, _)) = parse_revocation(&bytes) else {
            tracing::warn!(path = %path.display(), "a revocation file that is not one; the sweep removes it");
            return Ok(None);
        };
        Ok(Some(mark))
    }

    fn revoke(&self, owner: &OwnerDigest, at: u64, keep_for: Duration) -> Result<u64, FileStoreError> {
        let _lock = self.lock(&[&owner_lock(owner)])?;
        let path = self.revoked_path(owner);
        let stored = fs::read(&path).ok().and_then(|bytes| parse_revocation(&bytes));
        let mark = next_mark(stored.map(|(mark, _)| mark), at);
        let until = (at / 1_000_000).saturating_add(keep_for.as_secs());
        let until = stored.map_or(until, |(_, stored_until)| until.max(stored_until));
        self.write_atomically(&path, REVOKED_MAGIC, system_time(until), &mark.to_be_bytes())?;
        Ok(mark)
    }
}

/// What [`Files::discard_records`] moved to the trash.
#[derive(Debug, Default)]
struct Discarded {
    /// How many of the records were sessions (not forwards).
    sessions: usize,
    /// The directories they were in, to sync.
    dirs: BTreeSet<PathBuf>,
    /// Their entries in the owner's directory, with their ids: to discard once the records are.
    entries: Vec<(PathBuf, SessionId)>,
}

/// The stripe lock of an owner's revocation: the lock of the id with the owner's bytes.
fn owner_lock(owner: &OwnerDigest) -> SessionId {
    SessionId::from_bytes(*owner.as_bytes())
}

/// The names in `dir` (none if it is gone).
fn list(dir: &Path) -> Result<Vec<String>, FileStoreError> {
    match fs::read_dir(dir) {
        Ok(entries) => Ok(entries
            .flatten()
            .filter_map(|entry| entry.file_name().into_string().ok())
            .collect()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(error) => Err(io_error("list the owner directory", dir)(error)),
    }
}

/// The magic and expiry of the file at `path`, if it has a whole header.
fn magic_and_expiry(path: &Path) -> Option<([u8; 4], u64)> {
    let header = read_header(path).ok()?;
    split(&header).map(|(magic, expires, _)| (*magic, expires))
}

/// A revocation file's mark and "until" (its expiry).
fn parse_revocation(bytes: &[u8]) -> Option<(u64, u64)> {
    let (magic, until, rest) = split(bytes)?;
    let mark = rest.first_chunk::<8>().filter(|_| magic == REVOKED_MAGIC)?;
    Some((u64::from_be_bytes(*mark), until))
}

/// Revocations of cookie sessions in the session directory, for every process using it.
impl Revocations for FileBackend {
    type Error = FileStoreError;

    async fn mark(&self, owner: &OwnerDigest) -> Result<Option<u64>, FileStoreError> {
        let owner = *owner;
        self.blocking(move |files| files.mark(&owner)).await
    }

    async fn revoke(&self, owner: &OwnerDigest, at: u64, keep_for: Duration) -> Result<u64, FileStoreError> {
        let owner = *owner;
        self.blocking(move |files| files.revoke(&owner, at, keep_for))
            .await
    }
}

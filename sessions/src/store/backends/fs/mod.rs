//! Sessions in files: one sealed record per session, written atomically, merged under a lock that
//! also holds across processes.
//!
//! ```text
//! root/                 0700; refused if world-writable
//!   locks/00 .. 63      lock stripes: a session's id picks one (flock, so other processes wait too)
//!   Ab/                 shard: the first two characters of the id
//!     AbCd...(22)       0600: "SSN1", expires_at (u64 BE, unix seconds), the sealed record
//!     .AbCd....<n>.tmp  a write in progress; renamed over the record when complete
//!   owners/             the owner index (see `owners.rs`)
//!     0f3a...(32)/      one directory per owner: the hex of its `OwnerDigest`
//!       AbCd...(22)     0600: "SSO1", expires_at, the sealed summary a listing shows
//!   revoked/            revocations of cookie sessions (see `owners.rs`)
//!     0f3a...(32)       0600: "SSR2", until (expires_at), the owner's revocation mark (u64 BE)
//! ```
//!
//! A save writes a temporary file in the record's directory, syncs it, renames it over the record and
//! syncs the directory: a crash at any point leaves the old record or the new one, never a torn one.
//! Loads take no lock (a rename is atomic); saves of one session take its stripe's lock, read the
//! record, merge per field, and write.

use std::collections::BTreeSet;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write as _};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::clock::{LATEST_UNIX_SECONDS, seconds_of};
use crate::codec::id::SessionId;
use crate::config::Config;
use crate::key::Keys;
use crate::owner::OwnerDigest;
use crate::store::server::ServerStore;
use crate::store::server::backend::{Backend, Indexed, Saved, SessionWrite, Stored, Swept};

const MAGIC: &[u8; 4] = b"SSN1";
/// The magic of a forward left under an old id by `cycle_id` (same header, a sealed forward after it).
const FORWARD_MAGIC: &[u8; 4] = b"SSF1";
const HEADER_LEN: usize = MAGIC.len() + 8;
const LOCK_STRIPES: u8 = 64;
const LOCKS_DIR: &str = "locks";
/// Where `revoke_all` moves what it removes, to delete later: see [`Files::discard`].
const TRASH_DIR: &str = "trash";

mod owners;
/// How much later than any session can live a file's expiry may be before a sweep takes the file for
/// corrupt: clocks of the writers may disagree.
const CLOCK_LEEWAY: u64 = 24 * 60 * 60;
/// A temporary file older than this belongs to a writer that died; a sweep removes it.
const STALE_TEMP_AGE: Duration = Duration::from_secs(60 * 60);

/// A [`ServerStore`] keeping each session in a file under one directory.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use sessions::{Key, Session, Store};
/// use sessions::store::FileStore;
/// use http::HeaderMap;
///
/// #[derive(Session, Default)]
/// struct Visits {
///     count: u32,
/// }
///
/// # let dir = std::env::temp_dir().join(format!("sessions-doc-{}", std::process::id()));
/// // An app reads its key (`Key::from_env("SESSION_KEY")?`): the files outlive the process, and a
/// // key generated at each start could not open them after a restart.
/// let store = FileStore::open(&dir, Key::generate())?;
/// let mut visits = store.load::<Visits>(&HeaderMap::new()).await?;
/// visits.count += 1;
/// store.save(&mut visits, &mut HeaderMap::new()).await?;
///
/// // A background task removes expired sessions every ten minutes, until it is dropped.
/// let _sweeper = store.spawn_sweeper(std::time::Duration::from_secs(600))?;
/// # drop(_sweeper); std::fs::remove_dir_all(&dir)?;
/// # Ok(()) }
/// ```
pub type FileStore = ServerStore<FileBackend>;

impl FileStore {
    /// A store in `dir`, created (mode 0700) if missing; refused if `dir` is world-writable. Every
    /// write is synced to disk; see [`FileBackend::durable`] to trade that for speed.
    pub fn open(dir: impl AsRef<Path>, keys: impl Into<Keys>) -> Result<Self, FileStoreError> {
        Ok(Self::with_backend(FileBackend::open(dir)?, keys))
    }
}

/// A filesystem operation failed; says which, on which path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileStoreError {
    /// The session directory can be written by anyone, so anyone could plant or swap sessions.
    #[error("the session directory `{}` is world-writable; use a directory only the app's user can write (mode 0700)", path.display())]
    WorldWritable {
        /// The directory.
        path: PathBuf,
    },
    /// An operation on a file or directory failed.
    #[error("could not {action} `{}`", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
}

fn io_error<'p>(action: &'static str, path: &'p Path) -> impl FnOnce(io::Error) -> FileStoreError + 'p {
    move |source| FileStoreError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// The backend of [`FileStore`].
#[derive(Debug, Clone)]
pub struct FileBackend {
    files: Arc<Files>,
}

#[derive(Debug)]
struct Files {
    root: PathBuf,
    durable: bool,
}

impl FileBackend {
    /// The backend for `dir`, created (mode 0700) if missing; refused if `dir` is world-writable.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, FileStoreError> {
        let root = dir.as_ref().to_owned();
        create_private_dir(&root)?;
        let mode = fs::metadata(&root)
            .map_err(io_error("read the metadata of", &root))?
            .permissions()
            .mode();
        if mode & 0o002 != 0 {
            return Err(FileStoreError::WorldWritable { path: root });
        }
        let locks = root.join(LOCKS_DIR);
        create_private_dir(&locks)?;
        create_private_dir(&root.join(owners::OWNERS_DIR))?;
        create_private_dir(&root.join(owners::REVOKED_DIR))?;
        create_private_dir(&root.join(TRASH_DIR))?;
        for stripe in 0..LOCK_STRIPES {
            let path = locks.join(format!("{stripe:02}"));
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&path)
                .map_err(io_error("create the lock file", &path))?;
        }
        Ok(Self {
            files: Arc::new(Files { root, durable: true }),
        })
    }

    /// Whether each write is synced to disk before a save returns (the default). Without it, a crash
    /// of the process still leaves whole records (the rename is atomic), but a power loss may lose the
    /// last writes.
    #[must_use]
    pub fn durable(self, durable: bool) -> Self {
        Self {
            files: Arc::new(Files {
                root: self.files.root.clone(),
                durable,
            }),
        }
    }

    /// The session directory.
    pub fn root(&self) -> &Path {
        &self.files.root
    }

    /// Runs `job` on a blocking thread when inside a tokio runtime, or right here otherwise.
    async fn blocking<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Files) -> Result<T, FileStoreError> + Send + 'static,
    ) -> Result<T, FileStoreError> {
        let files = Arc::clone(&self.files);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => match runtime.spawn_blocking(move || job(&files)).await {
                Ok(result) => result,
                Err(join) => std::panic::resume_unwind(join.into_panic()),
            },
            Err(_) => job(&files),
        }
    }
}

impl Backend for FileBackend {
    type Error = FileStoreError;

    async fn load(&self, id: &SessionId) -> Result<Option<Stored>, FileStoreError> {
        let id = id.clone();
        self.blocking(move |files| files.load(&id)).await
    }

    async fn save(&self, write: SessionWrite) -> Result<Saved, FileStoreError> {
        self.blocking(move |files| files.save(&write)).await
    }

    async fn delete(&self, id: &SessionId) -> Result<(), FileStoreError> {
        let id = id.clone();
        self.blocking(move |files| files.delete(&id)).await
    }

    async fn sessions_of(
        &self,
        owner: &OwnerDigest,
        _listed: &[u32],
    ) -> Result<Option<Vec<Indexed>>, FileStoreError> {
        let owner = *owner;
        self.blocking(move |files| files.sessions_of(&owner))
            .await
            .map(Some)
    }

    async fn revoke_owner(
        &self,
        owner: &OwnerDigest,
        keep: Option<&SessionId>,
    ) -> Result<Option<usize>, FileStoreError> {
        let (owner, keep) = (*owner, keep.cloned());
        let revoked = self
            .blocking(move |files| files.revoke_owner(&owner, keep.as_ref()))
            .await?;
        // What was moved to the trash is deleted after the answer (or by the next sweep).
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let files = Arc::clone(&self.files);
            drop(runtime.spawn_blocking(move || files.empty_trash()));
        }
        Ok(Some(revoked))
    }

    /// Removes sessions that expired by `now`, files that are not records, and temporary files older
    /// than an hour. Linear in the number of files; holds no lock but each removed session's own, so
    /// loads and saves go on meanwhile.
    async fn sweep(&self, now: SystemTime) -> Result<Option<Swept>, FileStoreError> {
        self.blocking(move |files| files.sweep(now)).await.map(Some)
    }
}

impl Files {
    fn path(&self, id: &SessionId) -> PathBuf {
        let name = id.to_text();
        self.root.join(&name[..2]).join(name)
    }

    fn lock_path(&self, id: &SessionId) -> PathBuf {
        let stripe = id.as_bytes()[0] % LOCK_STRIPES;
        self.root.join(LOCKS_DIR).join(format!("{stripe:02}"))
    }

    /// Holds the stripe locks of `ids` (each once, in order, so two savers never wait on each other).
    ///
    /// Each call opens the lock file afresh, on purpose: an flock belongs to an open file description,
    /// so threads sharing one open `File` would all "hold" the lock at once. A file opened per save
    /// makes the lock exclude other threads of this process as well as other processes.
    fn lock(&self, ids: &[&SessionId]) -> Result<Vec<File>, FileStoreError> {
        let mut paths: Vec<PathBuf> = ids.iter().map(|id| self.lock_path(id)).collect();
        paths.sort();
        paths.dedup();
        paths
            .iter()
            .map(|path| {
                let file = File::open(path).map_err(io_error("open the lock file", path))?;
                file.lock().map_err(io_error("lock", path))?;
                Ok(file)
            })
            .collect()
    }

    fn load(&self, id: &SessionId) -> Result<Option<Stored>, FileStoreError> {
        let path = self.path(id);
        match fs::read(&path) {
            // A file that is not a record is handed over as an empty one: it does not open, so the
            // store refuses it as unreadable and deletes it.
            Ok(bytes) => Ok(Some(
                match parse(&bytes).filter(|file| file.expires_at <= LATEST_UNIX_SECONDS) {
                    Some(file) if file.forward => Stored::Moved(file.sealed.to_vec()),
                    Some(file) => Stored::Record(file.sealed.to_vec()),
                    None => Stored::Record(Vec::new()),
                },
            )),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                // No record, unless the whole directory is gone: that is a broken deployment, and
                // answering "no session" would sign everyone out.
                fs::metadata(&self.root).map_err(io_error("open the session directory", &self.root))?;
                Ok(None)
            }
            Err(error) => Err(io_error("read the session file", &path)(error)),
        }
    }

    fn save(&self, write: &SessionWrite) -> Result<Saved, FileStoreError> {
        let _locks = self.lock(&[write.source_id(), write.id()])?;
        let source = self.path(write.source_id());
        let current = match fs::read(&source) {
            Ok(bytes) => match parse(&bytes) {
                Some(file) if file.forward => return Ok(Saved::Moved(file.sealed.to_vec())),
                Some(file) => Some(file.sealed.to_vec()),
                None => Some(Vec::new()),
            },
            Err(error) if error.kind() == io::ErrorKind::NotFound => None,
            Err(error) => return Err(io_error("read the session file", &source)(error)),
        };
        let Some(record) = write.merge(current.as_deref()) else {
            return Ok(Saved::Removed);
        };
        // The index entry goes in before the record and out after it: a crash between the two
        // leaves an entry too many (a listing checks the record), never a session revocation misses.
        let (before, after) = write.owner_change().merged();
        if let (Some(owner), Some(summary)) = (after, write.summary()) {
            self.index(&owner, write.id(), write.expires_at(), &summary)?;
        }
        let target = self.path(write.id());
        self.write_atomically(&target, MAGIC, write.expires_at(), &record)?;
        if source != target {
            match write.forward() {
                Some(forward) => {
                    self.write_atomically(&source, FORWARD_MAGIC, write.forward_expires_at(), forward)?
                }
                None => self.remove(&source)?,
            }
        }
        // The source's entry may be under any of its owner's digests (one from before a key
        // rotation); all but the one just written go.
        for owner in before {
            if after != Some(owner) || source != target {
                self.unindex(&owner, write.source_id())?;
            }
        }
        Ok(Saved::Stored)
    }

    fn delete(&self, id: &SessionId) -> Result<(), FileStoreError> {
        let _lock = self.lock(&[id])?;
        self.remove(&self.path(id))
    }

    /// Writes a temporary file next to `path` (`magic`, the expiry, then `sealed`), syncs it, renames it
    /// over `path` and syncs the directory. On failure the temporary file is removed and `path` is as
    /// it was.
    fn write_atomically(
        &self,
        path: &Path,
        magic: &[u8; 4],
        expires_at: SystemTime,
        sealed: &[u8],
    ) -> Result<(), FileStoreError> {
        self.write_file(path, (magic, expires_at, sealed), self.durable)
    }

    /// [`Files::write_atomically`], syncing only with `sync`: a crash of the process still leaves
    /// the old file or the new one, a power loss may leave the old one (or, on some file systems,
    /// an empty one).
    fn write_file(
        &self,
        path: &Path,
        (magic, expires_at, sealed): (&[u8; 4], SystemTime, &[u8]),
        sync: bool,
    ) -> Result<(), FileStoreError> {
        let dir = path.parent().unwrap_or(&self.root);
        create_private_dir(dir)?;
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        let temp = dir.join(format!(".{name}.{:016x}.tmp", rand::random::<u64>()));
        let mut bytes = Vec::with_capacity(HEADER_LEN + sealed.len());
        bytes.extend_from_slice(magic);
        bytes.extend_from_slice(&seconds_of(expires_at).to_be_bytes());
        bytes.extend_from_slice(sealed);
        let result = self.write_temp(&temp, &bytes, sync).and_then(|()| {
            fs::rename(&temp, path).map_err(io_error("rename the new session file over", path))
        });
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result?;
        if sync { self.sync_dir(dir) } else { Ok(()) }
    }

    /// Writes `bytes` to a new file at `temp`, syncing it with `sync`.
    fn write_temp(&self, temp: &Path, bytes: &[u8], sync: bool) -> Result<(), FileStoreError> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(temp)
            .map_err(io_error("create the temporary session file", temp))?;
        file.write_all(bytes)
            .map_err(io_error("write the temporary session file", temp))?;
        if sync {
            file.sync_all()
                .map_err(io_error("sync the temporary session file", temp))?;
        }
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> Result<(), FileStoreError> {
        if self.durable {
            File::open(dir)
                .and_then(|dir| dir.sync_all())
                .map_err(io_error("sync the session directory", dir))?;
        }
        Ok(())
    }

    /// Moves the file at `path` to the trash as `name`, where the next [`Files::empty_trash`]
    /// deletes it; whether it was there. Gone from where it was at once, as a deletion would be,
    /// but a rename only writes the two directories, where deleting frees the file's blocks, which
    /// on a file system mounted with `discard` costs a wait for the disk: 10,000 sessions revoked
    /// took 4.3 s deleting, 0.9 s moving (`cargo bench -p sessions-examples --bench revoke_all`).
    fn discard(&self, path: &Path, name: &str) -> Result<bool, FileStoreError> {
        match fs::rename(path, self.root.join(TRASH_DIR).join(name)) {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(error) => Err(io_error("move to the trash", path)(error)),
        }
    }

    /// Deletes what [`Files::discard`] moved to the trash; a failure is logged (the next sweep
    /// tries again).
    fn empty_trash(&self) {
        let trash = self.root.join(TRASH_DIR);
        let Ok(entries) = fs::read_dir(&trash) else {
            return;
        };
        for entry in entries.flatten() {
            if let Err(error) = fs::remove_file(entry.path())
                && error.kind() != io::ErrorKind::NotFound
            {
                tracing::warn!(%error, path = %entry.path().display(), "could not empty the trash");
            }
        }
    }

    /// Makes what was done in `dirs` durable: on Linux one `syncfs` of the store's filesystem,
    /// which costs what one directory's sync does (a revoke_all of 10,000 sessions removes files
    /// from thousands of shards: synced one by one, 7.8 s); elsewhere each directory's sync.
    fn sync_dirs(&self, dirs: &BTreeSet<PathBuf>) -> Result<(), FileStoreError> {
        if !self.durable || dirs.is_empty() {
            return Ok(());
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            File::open(&self.root)
                .and_then(|root| rustix::fs::syncfs(&root).map_err(io::Error::from))
                .map_err(io_error("sync the file system of", &self.root))
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            dirs.iter().try_for_each(|dir| self.sync_dir(dir))
        }
    }

    fn remove(&self, path: &Path) -> Result<(), FileStoreError> {
        match fs::remove_file(path) {
            Ok(()) => self.sync_dir(path.parent().unwrap_or(&self.root)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(io_error("remove the session file", path)(error)),
        }
    }

    fn sweep(&self, now: SystemTime) -> Result<Swept, FileStoreError> {
        let now = seconds_of(now);
        let mut swept = Swept::default();
        let shards = fs::read_dir(&self.root).map_err(io_error("list the session directory", &self.root))?;
        for shard in shards {
            let shard = shard.map_err(io_error("list the session directory", &self.root))?;
            let name = shard.file_name();
            if [LOCKS_DIR, TRASH_DIR, owners::OWNERS_DIR, owners::REVOKED_DIR]
                .iter()
                .any(|skip| name == *skip)
                || !shard.file_type().is_ok_and(|kind| kind.is_dir())
            {
                continue;
            }
            let dir = shard.path();
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                Err(error) => return Err(io_error("list the session directory", &dir)(error)),
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') && name.ends_with(".tmp") {
                    if is_abandoned(&entry.path()) && fs::remove_file(entry.path()).is_ok() {
                        swept.temp_files += 1;
                    }
                } else if let Some(id) = SessionId::from_text(&name) {
                    self.sweep_session(&id, now, &mut swept)?;
                }
            }
        }
        self.sweep_owners(now)?;
        self.empty_trash();
        Ok(swept)
    }

    /// Removes the session if it expired by `now` or is not a record, checking again under its lock
    /// (a save may have just renewed it).
    fn sweep_session(&self, id: &SessionId, now: u64, swept: &mut Swept) -> Result<(), FileStoreError> {
        let path = self.path(id);
        if matches!(FileState::of(&path, now), FileState::Live | FileState::Gone) {
            return Ok(());
        }
        let _lock = self.lock(&[id])?;
        match FileState::of(&path, now) {
            FileState::Expired => swept.expired += 1,
            FileState::Corrupt => swept.corrupt += 1,
            FileState::Live | FileState::Gone => return Ok(()),
        }
        self.remove(&path)
    }
}

/// What a sweep finds in a session file.
enum FileState {
    Live,
    Expired,
    Corrupt,
    Gone,
}

impl FileState {
    /// A header claiming to expire later than any session can live from `now` is corrupt too (the
    /// header is not sealed; the record's own times are).
    fn of(path: &Path, now: u64) -> Self {
        let latest = now.saturating_add(Config::MAX_LIFETIME.as_secs() + CLOCK_LEEWAY);
        match read_header(path) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => Self::Gone,
            Err(_) => Self::Corrupt,
            Ok(header) => match parse(&header) {
                None => Self::Corrupt,
                Some(file) if file.expires_at > latest => Self::Corrupt,
                Some(file) if file.expires_at <= now => Self::Expired,
                Some(_) => Self::Live,
            },
        }
    }
}

/// A session file: a sealed record, or a sealed forward, after a header with its expiry.
struct SessionFile<'a> {
    forward: bool,
    /// Unix seconds, as stored: any `u64`.
    expires_at: u64,
    sealed: &'a [u8],
}

/// The parts of a session file, or `None` if it is not one.
fn parse(bytes: &[u8]) -> Option<SessionFile<'_>> {
    let (magic, expires_at, sealed) = split(bytes)?;
    let forward = match magic {
        MAGIC => false,
        FORWARD_MAGIC => true,
        _ => return None,
    };
    Some(SessionFile {
        forward,
        expires_at,
        sealed,
    })
}

/// Any file this store writes (a session, a forward, an owner index entry, a revocation): its
/// magic, the expiry after it, and what follows; `None` if it is too short for that header.
fn split(bytes: &[u8]) -> Option<(&[u8; 4], u64, &[u8])> {
    let (magic, rest) = bytes.split_first_chunk::<4>()?;
    let (expires, rest) = rest.split_first_chunk::<8>()?;
    Some((magic, u64::from_be_bytes(*expires), rest))
}

/// The header of the file at `path`, read without the rest of it.
fn read_header(path: &Path) -> io::Result<[u8; HEADER_LEN]> {
    let mut header = [0u8; HEADER_LEN];
    File::open(path).and_then(|mut file| file.read_exact(&mut header))?;
    Ok(header)
}

fn is_abandoned(temp: &Path) -> bool {
    fs::metadata(temp)
        .and_then(|meta| meta.modified())
        .is_ok_and(|modified| modified.elapsed().is_ok_and(|age| age > STALE_TEMP_AGE))
}

fn create_private_dir(path: &Path) -> Result<(), FileStoreError> {
    match DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
        Err(error) => Err(io_error("create the session directory", path)(error)),
    }
}

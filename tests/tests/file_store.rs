//! The filesystem store: records on disk that survive crashes, concurrent writers (threads and
//! processes), hostile ids, and failing disks.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use http::HeaderMap;
use sessions::clock::ManualClock;
use sessions::session::Origin;
use sessions::store::backend::FileBackend;
use sessions::store::{FileStore, FileStoreError, ServerStore};
use sessions::{Key, Keys, Rejection, SaveError, Session, Store};
use sessions_tests::child::{self, Orders, shared_keys, spawn_child};
use sessions_tests::{Browser, TempDir};

#[derive(Session, Default, Debug, PartialEq)]
#[session(cookie = "sid", max_age = "1d")]
struct Counters {
    a: u64,
    b: u64,
    c: Vec<u64>,
    note: String,
}

const START: u64 = 1_700_000_000;

fn store_in(dir: &Path, clock: &ManualClock) -> FileStore {
    FileStore::open(dir, shared_keys())
        .unwrap()
        .with_clock(clock.clone())
}

/// A store in a directory of its own, on a clock of its own.
fn fresh(name: &str) -> (TempDir, ManualClock, FileStore) {
    let dir = TempDir::new(&format!("fs-{name}"));
    let clock = ManualClock::at_unix(START);
    let store = store_in(&dir.0, &clock);
    (dir, clock, store)
}

fn session_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for shard in std::fs::read_dir(root).unwrap().flatten() {
        if shard.file_name() == "locks" || !shard.path().is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(shard.path()).unwrap().flatten() {
            files.push(entry.path());
        }
    }
    files
}

async fn new_session(store: &FileStore, note: &str) -> Browser {
    let mut browser = Browser::default();
    let mut session = browser.load::<Counters>(store).await;
    session.note = note.into();
    browser.save(store, &mut session).await;
    browser
}

#[tokio::test]
async fn sessions_live_in_private_files_sealed_at_rest() {
    let (dir, _, store) = fresh("private");
    let browser = new_session(&store, "visible only to the app").await;

    assert_eq!(
        std::fs::metadata(&dir.0).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let files = session_files(&dir.0);
    assert_eq!(files.len(), 1);
    let file = &files[0];
    assert_eq!(
        std::fs::metadata(file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(file.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    let bytes = std::fs::read(file).unwrap();
    assert!(
        !bytes.windows(7).any(|w| w == b"visible"),
        "a field value is readable on disk"
    );

    let session = browser.load::<Counters>(&store).await;
    assert_eq!(session.origin(), Origin::Restored);
    assert_eq!(session.note, "visible only to the app");
}

#[test]
fn a_world_writable_directory_is_refused() {
    let dir = TempDir::new("fs-world");
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o777)).unwrap();
    match FileStore::open(&dir.0, Keys::new(Key::generate())) {
        Err(FileStoreError::WorldWritable { path }) => assert_eq!(path, dir.0),
        other => panic!("expected WorldWritable, got {other:?}"),
    }
}

#[tokio::test]
async fn cycle_id_moves_the_file_and_destroy_removes_it() {
    let (dir, clock, store) = fresh("cycle");
    let mut browser = new_session(&store, "kept").await;
    let before = session_files(&dir.0);

    let mut session = browser.load::<Counters>(&store).await;
    session.cycle_id(); // after sign-in
    browser.save(&store, &mut session).await;
    assert_eq!(
        session_files(&dir.0).len(),
        2,
        "the new record, and a forward under the old id"
    );
    assert_eq!(browser.load::<Counters>(&store).await.note, "kept");
    // Past the cycle grace, a sweep removes the forward.
    clock.advance(
        ServerStore::<sessions::store::backend::FileBackend>::DEFAULT_CYCLE_GRACE + Duration::from_secs(1),
    );
    assert_eq!(sessions_tests::swept(&store).await.expired, 1);
    let after = session_files(&dir.0);
    assert_eq!(after.len(), 1);
    assert_ne!(before, after);

    let mut session = browser.load::<Counters>(&store).await;
    session.destroy();
    let sent = browser.save(&store, &mut session).await;
    assert_eq!(sent[0].max_age(), Some(cookie::time::Duration::ZERO));
    assert!(session_files(&dir.0).is_empty());
}

#[tokio::test]
async fn expired_sessions_are_never_returned_and_sweep_cleans_up() {
    let (dir, clock, store) = fresh("sweep");
    let old = new_session(&store, "old").await;
    clock.advance(Duration::from_secs(12 * 3600));
    let young = new_session(&store, "young").await;

    // Debris: a corrupt file under a valid name, a temp file from a writer that died an hour ago, and
    // one from a writer still at work.
    let shard = session_files(&dir.0)[0].parent().unwrap().to_owned();
    let corrupt_name = "AAAAAAAAAAAAAAAAAAAAAA";
    std::fs::create_dir_all(dir.0.join("AA")).unwrap();
    std::fs::write(dir.0.join("AA").join(corrupt_name), b"garbage").unwrap();
    let abandoned = shard.join(".AbandonedAbandonedAb.00.tmp");
    std::fs::write(&abandoned, b"half a record").unwrap();
    let two_hours_ago = SystemTime::now() - Duration::from_secs(2 * 3600);
    std::fs::File::options()
        .write(true)
        .open(&abandoned)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    let in_progress = shard.join(".InProgressInProgress.01.tmp");
    std::fs::write(&in_progress, b"being written").unwrap();

    // Temp files never confuse a load.
    assert_eq!(young.load::<Counters>(&store).await.note, "young");

    clock.advance(Duration::from_secs(12 * 3600)); // "old" is now a day old
    let swept = sessions_tests::swept(&store).await;
    assert_eq!((swept.expired, swept.corrupt, swept.temp_files), (1, 1, 1));
    assert!(in_progress.exists(), "a writer's fresh temp file is left alone");
    assert_eq!(old.rejection::<Counters>(&store).await, Some(Rejection::NotFound));
    assert_eq!(young.load::<Counters>(&store).await.note, "young");

    // Expired but not yet swept: refused on load, and removed then.
    clock.advance(Duration::from_secs(12 * 3600));
    assert_eq!(
        young.rejection::<Counters>(&store).await,
        Some(Rejection::Expired)
    );
    assert!(
        session_files(&dir.0)
            .iter()
            .all(|f| f.to_string_lossy().ends_with(".tmp"))
    );
}

#[tokio::test]
async fn the_background_sweeper_removes_expired_sessions_until_stopped() {
    let (dir, clock, store) = fresh("sweeper");
    new_session(&store, "a").await;
    new_session(&store, "b").await;
    let sweeper = store.spawn_sweeper(Duration::from_millis(10)).unwrap();
    clock.advance(Duration::from_secs(24 * 3600)); // both expire now, by the store's clock
    // The sweeper runs on a task: wait for its effect, a bounded number of times.
    let mut left = session_files(&dir.0).len();
    for _ in 0..500 {
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        left = session_files(&dir.0).len();
    }
    assert_eq!(left, 0, "the sweeper did not remove the expired sessions");
    sweeper.stop().await; // after the sweep in flight, if any
    clock.rewind(Duration::from_secs(24 * 3600));
    new_session(&store, "c").await;
    clock.advance(Duration::from_secs(24 * 3600));
    // Ten of its intervals: a sweeper still running would have removed "c" by now.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(session_files(&dir.0).len(), 1, "a dropped sweeper sweeps no more");
}

/// What a test does to a session file, and how it says so.
type Corruption = (&'static str, fn(&Path));

#[tokio::test]
async fn a_corrupt_file_gives_a_fresh_session_and_is_not_read_again() {
    let (dir, _, store) = fresh("corrupt");
    let corruptions: [Corruption; 2] = [
        ("a garbage record", |file| {
            std::fs::write(file, b"SSN1\0\0\0\0\xff\xff\xff\xffgarbage garbage garbage").unwrap()
        }),
        // The expiry's high bit: a time no `SystemTime` holds, which once panicked every load.
        ("a flipped bit in the header", |file| {
            overwrite(file, 4, |byte| byte ^ 0x80)
        }),
    ];
    for (what, corrupt) in corruptions {
        let browser = new_session(&store, "x").await;
        let file = session_files(&dir.0).remove(0);
        corrupt(&file);
        let session = browser.load::<Counters>(&store).await;
        assert_eq!(session.rejection(), Some(Rejection::Unreadable), "{what}");
        assert!(!file.exists(), "{what}: the corrupt file is removed");
    }
}

#[tokio::test]
async fn path_traversal_through_the_cookie_never_reaches_the_disk() {
    let (dir, _, store) = fresh("traversal");
    let outside = dir.0.with_extension("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("victim"), b"do not touch").unwrap();
    let hostile = [
        "../../etc/passwd".to_string(),
        "..".into(),
        "/etc/passwd".into(),
        format!("../{}/victim", outside.file_name().unwrap().to_string_lossy()),
        "AAAAAAAAAAAAAAAAAAAAAA\0".into(),
        "A".repeat(5000),
    ];
    for value in &hostile {
        let mut request = HeaderMap::new();
        let Ok(header) = format!("sid={value}").parse() else {
            continue;
        };
        request.insert(http::header::COOKIE, header);
        let mut session = store.load::<Counters>(&request).await.unwrap();
        assert!(session.rejection().is_some(), "{value:?}");
        session.note = "new".into();
        store.save(&mut session, &mut HeaderMap::new()).await.unwrap();
    }
    assert_eq!(std::fs::read(outside.join("victim")).unwrap(), b"do not touch");
    for file in session_files(&dir.0) {
        assert!(file.starts_with(&dir.0));
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            sessions::store::backend::SessionId::from_text(&name).is_some(),
            "{name}"
        );
    }
    std::fs::remove_dir_all(outside).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_saves_from_threads_each_keep_their_field() {
    let (_dir, _, store) = fresh("threads");
    let browser = new_session(&store, "shared").await;
    const ROUNDS: u64 = 40;
    let tasks: Vec<_> = (0..2)
        .map(|which| {
            let (store, mut browser) = (store.clone(), browser.clone());
            tokio::spawn(async move {
                for _ in 0..ROUNDS {
                    let mut session = browser.load::<Counters>(&store).await;
                    if which == 0 {
                        session.a += 1
                    } else {
                        session.b += 1
                    }
                    browser.save(&store, &mut session).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let session = browser.load::<Counters>(&store).await;
    assert_eq!((session.a, session.b), (ROUNDS, ROUNDS), "an increment was lost");
}

/// The other process of the cross-process tests; does nothing unless started by one.
#[test]
#[ignore = "started by the cross-process tests"]
fn child() {
    let Some(orders) = Orders::read() else {
        return;
    };
    let store = FileStore::open(&orders.place, shared_keys()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(async {
        match orders.role.as_str() {
            // Increments one field, many times.
            "a" | "b" => {
                for _ in 0..40 {
                    let mut session = orders.browsers[0].load::<Counters>(&store).await;
                    assert_eq!(session.origin(), Origin::Restored);
                    if orders.role == "a" {
                        session.a += 1
                    } else {
                        session.b += 1
                    }
                    store.save(&mut session, &mut HeaderMap::new()).await.unwrap();
                }
            }
            "crash" => child::rewrite_until_killed(&store, &orders.browsers).await,
            other => panic!("unknown role {other}"),
        }
    });
}

#[tokio::test]
async fn concurrent_saves_from_two_processes_each_keep_their_field() {
    let dir = TempDir::new("fs-processes");
    let store = FileStore::open(&dir.0, shared_keys()).unwrap();
    let browser = new_session(&store, "shared").await;
    let cookies = child::cookies_of(std::slice::from_ref(&browser));
    let children = [
        spawn_child(dir.0.as_os_str(), "a", &cookies),
        spawn_child(dir.0.as_os_str(), "b", &cookies),
    ];
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a child failed");
    }
    let session = browser.load::<Counters>(&store).await;
    assert_eq!(
        (session.a, session.b),
        (40, 40),
        "an increment was lost between processes"
    );
}

#[tokio::test]
async fn a_writer_killed_at_any_moment_leaves_every_session_whole() {
    let dir = TempDir::new("fs-crash");
    let store = FileStore::open(&dir.0, shared_keys()).unwrap();
    let browsers = child::sessions_to_rewrite(&store, 8).await;
    let cookies = child::cookies_of(&browsers);
    let spawn = || spawn_child(dir.0.as_os_str(), "crash", &cookies);
    child::every_session_survives_a_killed_writer(&browsers, 25, spawn, async |_| store.clone()).await;
    // Whatever temp files the kills left are ignored by loads and go with a sweep once abandoned.
    let temps: Vec<PathBuf> = session_files(&dir.0)
        .into_iter()
        .filter(|f| f.to_string_lossy().ends_with(".tmp"))
        .collect();
    let two_hours_ago = SystemTime::now() - Duration::from_secs(2 * 3600);
    for temp in &temps {
        std::fs::File::options()
            .write(true)
            .open(temp)
            .unwrap()
            .set_modified(two_hours_ago)
            .unwrap();
    }
    assert_eq!(sessions_tests::swept(&store).await.temp_files, temps.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_sessions_are_sharded_and_swept() {
    let dir = TempDir::new("fs-scale");
    let clock = ManualClock::at_unix(START);
    // Durability off for speed: sharding and sweeping do not depend on it.
    let backend = FileBackend::open(&dir.0).unwrap().durable(false);
    let store = ServerStore::with_backend(backend, Keys::new(Key::generate())).with_clock(clock.clone());
    const SESSIONS: usize = 100_000;
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                for n in 0..SESSIONS / 4 {
                    let mut session = store.load::<Counters>(&HeaderMap::new()).await.unwrap();
                    session.a = n as u64 + 1; // not the default, so there is something to store
                    store.save(&mut session, &mut HeaderMap::new()).await.unwrap();
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let mut largest_shard = 0;
    let mut total = 0;
    for shard in std::fs::read_dir(&dir.0).unwrap().flatten() {
        if shard.file_name() != "locks" {
            let entries = std::fs::read_dir(shard.path()).unwrap().count();
            largest_shard = largest_shard.max(entries);
            total += entries;
        }
    }
    assert_eq!(total, SESSIONS);
    assert!(largest_shard < 100, "a shard holds {largest_shard} files");
    clock.advance(Duration::from_secs(24 * 3600));
    let swept = sessions_tests::swept(&store).await;
    assert_eq!((swept.expired, swept.corrupt, swept.temp_files), (SESSIONS, 0, 0));
    assert!(session_files(&dir.0).is_empty());
}

#[tokio::test]
async fn a_missing_directory_is_an_error_with_its_path_not_a_sign_out() {
    let (dir, _, store) = fresh("missing");
    let browser = new_session(&store, "x").await;
    std::fs::remove_dir_all(&dir.0).unwrap(); // someone cleaned up the wrong directory
    let error = store.load::<Counters>(&browser.request()).await.unwrap_err();
    let cause = std::error::Error::source(&error).unwrap().to_string();
    assert!(cause.contains(&dir.0.display().to_string()), "{cause}");

    let mut fresh = store.load::<Counters>(&HeaderMap::new()).await.unwrap();
    fresh.note = "y".into();
    match store.save(&mut fresh, &mut HeaderMap::new()).await {
        Err(SaveError::Store { source, .. }) => {
            assert!(
                source.to_string().contains(&dir.0.display().to_string()),
                "{source}"
            )
        }
        other => panic!("expected a store error, got {other:?}"),
    }
}

/// Asserts that `error` is the file store's I/O error of `kind`, naming a path under `under`.
fn assert_io_error(error: &SaveError, under: &Path, kind: std::io::ErrorKind) {
    let SaveError::Store { source, .. } = error else {
        panic!("expected a store error, got {error:?}")
    };
    let io = source.downcast_ref::<FileStoreError>().unwrap();
    assert!(
        matches!(io, FileStoreError::Io { path, .. } if path.starts_with(under)),
        "{io:?}"
    );
    let cause = std::error::Error::source(io).and_then(|e| e.downcast_ref::<std::io::Error>());
    assert_eq!(cause.map(std::io::Error::kind), Some(kind));
}

/// A directory on a 64 KiB tmpfs, unmounted when dropped; `None` (with a message) where this process
/// may not mount.
struct TinyDisk(PathBuf);

impl TinyDisk {
    fn mount(name: &str) -> Option<Self> {
        let path = std::env::temp_dir().join(format!("sessions-fs-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs"])
            .arg(&path)
            .status()
            .is_ok_and(|status| status.success());
        if !mounted {
            eprintln!("SKIPPED: cannot mount a tmpfs here (needs root); the disk-full test did not run");
            let _ = std::fs::remove_dir(&path);
            return None;
        }
        Some(Self(path))
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[tokio::test]
async fn a_full_disk_is_an_error_and_leaves_the_stored_session_as_it_was() {
    let Some(disk) = TinyDisk::mount("full") else {
        return;
    };
    let clock = ManualClock::at_unix(START);
    let store = store_in(&disk.0, &clock);
    let mut browser = new_session(&store, "before").await;
    let mut session = browser.load::<Counters>(&store).await;
    // Each field under the 64 KiB a field may hold, together more than the disk has left.
    session.note = "x".repeat(60_000);
    session.c = vec![1; 30_000];
    let error = store.save(&mut session, &mut HeaderMap::new()).await.unwrap_err();
    assert_io_error(&error, &disk.0, std::io::ErrorKind::StorageFull);
    // No partial state: the old record is intact and no temp file is left behind.
    assert_eq!(browser.load::<Counters>(&store).await.note, "before");
    assert!(
        session_files(&disk.0)
            .iter()
            .all(|f| !f.to_string_lossy().ends_with(".tmp"))
    );
    // The change is still in the handle; once it fits, it saves.
    session.note = "after".into();
    session.c.clear();
    browser.save(&store, &mut session).await;
    assert_eq!(browser.load::<Counters>(&store).await.note, "after");
}

#[tokio::test]
async fn permission_denied_is_an_error_with_the_path() {
    let (dir, _, store) = fresh("denied");
    let browser = new_session(&store, "before").await;
    let shard = session_files(&dir.0)[0].parent().unwrap().to_owned();
    // Root ignores permission bits, so make the shard immutable instead: even root is refused.
    let immutable = Command::new("chattr")
        .arg("+i")
        .arg(&shard)
        .status()
        .is_ok_and(|s| s.success());
    if !immutable {
        eprintln!("SKIPPED: chattr +i is not available here; the permission test did not run");
        return;
    }
    let mut session = browser.load::<Counters>(&store).await;
    session.note = "after".into();
    let result = store.save(&mut session, &mut HeaderMap::new()).await;
    let _ = Command::new("chattr").arg("-i").arg(&shard).status();
    let error = result.unwrap_err();
    assert_io_error(&error, &shard, std::io::ErrorKind::PermissionDenied);
    assert_eq!(browser.load::<Counters>(&store).await.note, "before");
}

#[tokio::test]
async fn a_rolling_key_change_signs_nobody_out_and_deletes_nothing() {
    let dir = TempDir::new("fs-rolling-keys");
    sessions_tests::contract::keys_roll(async |keys| FileStore::open(&dir.0, keys).unwrap()).await;
    assert_eq!(
        session_files(&dir.0).len(),
        1,
        "the session's one file is still there"
    );
}

/// Writes `byte` over the byte at `at` of `file`.
fn overwrite(file: &Path, at: usize, byte: impl FnOnce(u8) -> u8) {
    let mut bytes = std::fs::read(file).unwrap();
    bytes[at] = byte(bytes[at]);
    std::fs::write(file, bytes).unwrap();
}

#[tokio::test]
async fn a_sweep_counts_corrupt_headers_and_goes_on_to_the_next_file() {
    let (dir, _, store) = fresh("sweep-corrupt");
    for note in ["a", "b", "c"] {
        new_session(&store, note).await;
    }
    let mut files = session_files(&dir.0);
    files.sort();
    // An expiry past any SystemTime; one 10 years away, more than any session lives; a bad magic.
    overwrite(&files[0], 4, |byte| byte ^ 0x80);
    overwrite(&files[1], 6, |byte| byte.wrapping_add(0x20));
    overwrite(&files[2], 0, |_| b'X');
    let live = new_session(&store, "d").await;
    let swept = sessions_tests::swept(&store).await;
    assert_eq!((swept.corrupt, swept.expired), (3, 0));
    assert_eq!(session_files(&dir.0).len(), 1);
    assert_eq!(live.rejection::<Counters>(&store).await, None);
}

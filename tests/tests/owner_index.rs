//! The owner index through what only each store does: its sweep. After a sweep, nothing is left
//! of expired or ended sessions in the index itself (not only in listings, which the revocation
//! contract checks), and a cookie store's revocations go once no session they refuse can live.

use std::path::Path;
use std::time::Duration;

use sessions::clock::{Clock as _, ManualClock};
use sessions::owner::{Owner, OwnerDigest};
use sessions::store::backend::Backend;
use sessions::store::backend::FileBackend;
use sessions::store::{FileStore, MemoryStore};
use sessions::{CookieStore, Key, Keys, Store};
use sessions_tests::TempDir;
use sessions_tests::contract::START;
use sessions_tests::revocation::{Account, signed_in, who};

fn owner(user: u64) -> Owner {
    Owner::of::<Account>(&user)
}

/// What an index under `keys` holds `user` as.
fn digest(keys: &Keys, user: u64) -> OwnerDigest {
    owner(user).digest(keys)
}

/// What the backend's index holds for user 7 under `keys`, expired sessions included.
async fn indexed(backend: &impl Backend, keys: &Keys) -> usize {
    backend
        .sessions_of(&digest(keys, 7), &[])
        .await
        .ok()
        .flatten()
        .expect("an owner index")
        .len()
}

/// Three sessions of user 7: one ended by `destroy`, one left to expire, one active.
async fn three_sessions(store: &impl Store, clock: &ManualClock) {
    let ended = signed_in(store, 7, "ended").await;
    let mut session = ended.load::<Account>(store).await;
    session.destroy();
    store
        .save(&mut session, &mut http::HeaderMap::new())
        .await
        .unwrap();
    let _idle = signed_in(store, 7, "idle").await;
    clock.advance(Duration::from_secs(50 * 60));
    let mut active = signed_in(store, 7, "active").await;
    clock.advance(Duration::from_secs(20 * 60));
    assert_eq!(who(store, &mut active).await, Some(7));
}

#[tokio::test]
async fn a_memory_sweep_leaves_only_live_sessions_in_the_index() {
    let clock = ManualClock::at_unix(START);
    let keys = Keys::new(Key::generate());
    let store = MemoryStore::new(keys.clone()).with_clock(clock.clone());
    three_sessions(&store, &clock).await;
    assert_eq!(
        indexed(store.backend(), &keys).await,
        2,
        "the idle one, until a sweep"
    );
    assert_eq!(sessions_tests::swept(&store).await.expired, 1);
    assert_eq!(indexed(store.backend(), &keys).await, 1);
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| entries.count())
}

#[tokio::test]
async fn a_file_sweep_leaves_only_live_sessions_in_the_index() {
    let dir = TempDir::new("owner-index-files");
    let clock = ManualClock::at_unix(START);
    let keys = Keys::new(Key::generate());
    let store = FileStore::open(&dir.0, keys.clone())
        .unwrap()
        .with_clock(clock.clone());
    three_sessions(&store, &clock).await;
    let owner_dir = dir.0.join("owners").join(digest(&keys, 7).to_text());
    assert_eq!(
        files_in(&owner_dir),
        3,
        "an ended session's entry stays until a sweep"
    );
    assert_eq!(indexed(store.backend(), &keys).await, 2, "but is not listed");

    sessions_tests::swept(&store).await;
    assert_eq!(files_in(&owner_dir), 1);
    assert_eq!(indexed(store.backend(), &keys).await, 1);
}

#[tokio::test]
async fn a_file_sweep_drops_revocations_once_every_session_they_refuse_has_expired() {
    let dir = TempDir::new("owner-index-revoked");
    let clock = ManualClock::at_unix(START);
    let backend = FileBackend::open(&dir.0).unwrap();
    let cookies = CookieStore::new(Key::generate())
        .with_clock(clock.clone())
        .with_revocations(backend.clone());
    let mut old = signed_in(&cookies, 7, "laptop").await;
    cookies.revoke_all::<Account>(&owner(7), None).await.unwrap();
    let revoked = dir.0.join("revoked");
    assert_eq!(files_in(&revoked), 1);

    // Within the session type's `max_age` (a day) the revocation stays, sweeps or not.
    clock.advance(Duration::from_secs(23 * 60 * 60));
    backend.sweep(clock.now()).await.unwrap();
    assert_eq!(files_in(&revoked), 1);
    assert_eq!(who(&cookies, &mut old).await, None);

    clock.advance(Duration::from_secs(2 * 60 * 60));
    backend.sweep(clock.now()).await.unwrap();
    assert_eq!(files_in(&revoked), 0);
}

/// Revocations that count their lookups, and fail while `down`.
#[derive(Default)]
struct CountedRevocations {
    inner: sessions::store::backend::MemoryRevocations,
    lookups: std::sync::atomic::AtomicUsize,
    down: std::sync::atomic::AtomicBool,
}

impl sessions::store::backend::Revocations for CountedRevocations {
    type Error = sessions_tests::Down;

    async fn mark(&self, owner: &OwnerDigest) -> Result<Option<u64>, Self::Error> {
        use std::sync::atomic::Ordering;
        self.lookups.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(sessions_tests::Down);
        }
        let Ok(mark) = self.inner.mark(owner).await;
        Ok(mark)
    }

    async fn revoke(&self, owner: &OwnerDigest, at: u64, keep_for: Duration) -> Result<u64, Self::Error> {
        let Ok(mark) = self.inner.revoke(owner, at, keep_for).await;
        Ok(mark)
    }
}

/// A cookie session with an owner costs one lookup per load, an anonymous one none; while the
/// revocation backend is down, loading a signed-in session is an error (a 503), never a fresh
/// session that would sign the user out, and anonymous sessions load as ever.
#[tokio::test]
async fn cookie_revocations_cost_one_lookup_per_owned_load_and_an_outage_signs_nobody_out() {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    let revocations = Arc::new(CountedRevocations::default());
    let store = CookieStore::new(Key::generate()).with_revocations(Arc::clone(&revocations));
    let mut signed_in_browser = signed_in(&store, 7, "laptop").await;
    let mut anonymous = sessions_tests::Browser::default();
    let mut session = anonymous.load::<Account>(&store).await;
    session.cart.push(1);
    anonymous.save(&store, &mut session).await;
    let before = revocations.lookups.load(Ordering::SeqCst);

    assert_eq!(anonymous.load::<Account>(&store).await.cart, [1]);
    assert_eq!(revocations.lookups.load(Ordering::SeqCst), before, "no lookup");
    assert_eq!(who(&store, &mut signed_in_browser).await, Some(7));
    assert_eq!(
        revocations.lookups.load(Ordering::SeqCst),
        before + 1,
        "one lookup"
    );

    revocations.down.store(true, Ordering::SeqCst);
    let error = store
        .load::<Account>(&signed_in_browser.request())
        .await
        .unwrap_err();
    assert_eq!(error.status(), 503);
    assert_eq!(anonymous.load::<Account>(&store).await.cart, [1]);
    revocations.down.store(false, Ordering::SeqCst);
    assert_eq!(
        who(&store, &mut signed_in_browser).await,
        Some(7),
        "still signed in"
    );
}

/// Revocations read back from storage are input too: a mark past any real one (a corrupt file)
/// refuses the owner's sessions, never a panic; bytes that are no revocation at all revoke nothing.
#[tokio::test]
async fn corrupt_revocation_files_neither_panic_nor_revoke_by_mistake() {
    let dir = TempDir::new("owner-index-corrupt-revoked");
    let backend = FileBackend::open(&dir.0).unwrap();
    let keys = Keys::new(Key::generate());
    let cookies = CookieStore::new(keys.clone()).with_revocations(backend);
    let mut laptop = signed_in(&cookies, 7, "laptop").await;
    let file = dir.0.join("revoked").join(digest(&keys, 7).to_text());

    std::fs::write(&file, b"not a revocation").unwrap();
    assert_eq!(who(&cookies, &mut laptop).await, Some(7));

    let mut far_future = b"SSR2".to_vec();
    far_future.extend_from_slice(&u64::MAX.to_be_bytes());
    far_future.extend_from_slice(&u64::MAX.to_be_bytes());
    std::fs::write(&file, far_future).unwrap();
    let refused = laptop.load::<Account>(&cookies).await;
    assert_eq!(refused.rejection(), Some(sessions::Rejection::Revoked));
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            (entries.flatten())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The file store's owner directories and revocation files are named by digests keyed with the
/// store's key, never by the unkeyed digest anyone with a list of user ids can compute. An index a
/// build before keyed digests wrote (under the unkeyed digest) is listed and revoked all the same,
/// and a save moves its session's entry to the keyed directory.
#[tokio::test]
async fn the_file_index_is_keyed_and_an_unkeyed_one_is_read_until_rewritten() {
    let dir = TempDir::new("owner-index-keyed");
    let keys = Keys::new(Key::generate());
    let store = FileStore::open(&dir.0, keys.clone()).unwrap();
    let (keyed, unkeyed) = (digest(&keys, 7).to_text(), owner(7).unkeyed().to_text());
    let mut laptop = signed_in(&store, 7, "laptop").await;
    let mut phone = signed_in(&store, 7, "phone").await;
    let owners = dir.0.join("owners");
    assert_eq!(names_in(&owners), std::slice::from_ref(&keyed));
    let cookies = CookieStore::new(keys.clone()).with_revocations(store.backend().clone());
    cookies.revoke_all::<Account>(&owner(7), None).await.unwrap();
    assert_eq!(names_in(&dir.0.join("revoked")), std::slice::from_ref(&keyed));

    // As a build before keyed digests left it:
    std::fs::rename(owners.join(&keyed), owners.join(&unkeyed)).unwrap();
    assert_eq!(
        store.sessions_of::<Account>(&owner(7), None).await.unwrap().len(),
        2
    );
    let mut session = laptop.load::<Account>(&store).await;
    session.cart.push(1);
    laptop.save(&store, &mut session).await;
    assert_eq!(
        files_in(&owners.join(&keyed)),
        1,
        "the laptop's save moved its entry"
    );
    assert_eq!(
        files_in(&owners.join(&unkeyed)),
        1,
        "the phone's stays until its own"
    );
    assert_eq!(
        store.sessions_of::<Account>(&owner(7), None).await.unwrap().len(),
        2,
        "each once"
    );
    store.revoke_all::<Account>(&owner(7), None).await.unwrap();
    assert_eq!(who(&store, &mut laptop).await, None);
    assert_eq!(who(&store, &mut phone).await, None);
}

/// Nor does the memory store's index know the unkeyed digest.
#[tokio::test]
async fn the_memory_index_is_keyed() {
    let keys = Keys::new(Key::generate());
    let store = MemoryStore::new(keys.clone());
    let _laptop = signed_in(&store, 7, "laptop").await;
    assert_eq!(indexed(store.backend(), &keys).await, 1);
    let unkeyed = store
        .backend()
        .sessions_of(&owner(7).unkeyed(), &[])
        .await
        .unwrap();
    assert_eq!(unkeyed.map(|sessions| sessions.len()), Some(0));
}

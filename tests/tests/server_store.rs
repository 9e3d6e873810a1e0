//! Server-side sessions through `MemoryStore` and the `Backend` trait: the cookie carries only a signed
//! id, concurrent requests merge per field, ids rotate, and backend failures are errors, not sign-outs.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use http::HeaderMap;
use sessions::clock::ManualClock;
use sessions::session::Origin;
use sessions::store::backend::MemoryBackend;
use sessions::store::backend::{Backend, Entries, SessionId, SessionWrite, Stored};
use sessions::store::{MemoryStore, ServerStore};
use sessions::{Key, Keys, LoadError, Rejection, SaveError, Store};
use sessions_tests::{AppSession, Browser};

fn setup() -> (MemoryStore, ManualClock, Browser) {
    let clock = ManualClock::at_unix(1_700_000_000);
    let store = MemoryStore::new(Keys::new(Key::generate())).with_clock(clock.clone());
    (store, clock, Browser::default())
}

async fn signed_in(store: &MemoryStore, browser: &mut Browser) {
    browser
        .change(store, |s: &mut AppSession| {
            s.user_id = Some(7);
            s.theme = "a long theme name that would make a cookie grow".into();
        })
        .await;
}

#[tokio::test]
async fn the_cookie_holds_only_a_signed_id() {
    let (store, _, mut browser) = setup();
    signed_in(&store, &mut browser).await;
    assert_eq!(store.backend().len(), 1);
    let value = browser.cookie("sid").unwrap();
    assert_eq!(
        value.len(),
        51,
        "version, key id, 128-bit id and 128-bit tag: {value}"
    );
    let session = browser.load::<AppSession>(&store).await;
    assert_eq!(session.origin(), Origin::Restored);
    assert_eq!(session.user_id, Some(7));
    // Unchanged and recently refreshed: nothing is written or sent.
    let mut session = session;
    assert!(browser.save(&store, &mut session).await.is_empty());
}

#[tokio::test]
async fn cycle_id_moves_the_session_to_a_new_id_and_the_old_one_stops_working() {
    let (store, clock, mut browser) = setup();
    signed_in(&store, &mut browser).await;
    let old_cookie = browser.cookie("sid").unwrap().to_owned();
    let mut session = browser.load::<AppSession>(&store).await;
    session.cycle_id();
    let sent = browser.save(&store, &mut session).await;
    assert_eq!(sent.len(), 1);
    assert_ne!(browser.cookie("sid").unwrap(), old_cookie);
    assert_eq!(
        store.backend().len(),
        2,
        "the record moved; under the old id, only a forward for in-flight saves"
    );
    assert_eq!(browser.load::<AppSession>(&store).await.user_id, Some(7));

    // The old id (an attacker may have planted it before sign-in) never reaches the moved session:
    // during the grace it is refused as `Moved`, then it is gone.
    let mut attacker = Browser::default();
    attacker.set("sid", &old_cookie);
    let session = attacker.load::<AppSession>(&store).await;
    assert_eq!(session.rejection(), Some(Rejection::Moved));
    assert_eq!(session.user_id, None);
    clock.advance(MemoryStore::DEFAULT_CYCLE_GRACE + Duration::from_secs(1));
    assert_eq!(sessions_tests::swept(&store).await.expired, 1, "the forward");
    assert_eq!(
        attacker.rejection::<AppSession>(&store).await,
        Some(Rejection::NotFound)
    );
}

#[tokio::test]
async fn expired_sessions_are_refused_then_swept() {
    let (store, clock, mut browser) = setup();
    signed_in(&store, &mut browser).await;
    let mut other = Browser::default();
    signed_in(&store, &mut other).await;
    assert_eq!(store.backend().len(), 2);
    clock.advance(Duration::from_secs(3600));
    assert_eq!(
        browser.rejection::<AppSession>(&store).await,
        Some(Rejection::Expired)
    );
    assert_eq!(
        store.backend().len(),
        1,
        "the expired record was removed on sight"
    );
    assert_eq!(sessions_tests::swept(&store).await.expired, 1);
    assert!(store.backend().is_empty());
}

#[tokio::test]
async fn ids_signed_with_a_fallback_key_are_resigned() {
    let clock = ManualClock::at_unix(1_700_000_000);
    let old = Key::generate();
    let backend_store = MemoryStore::new(Keys::new(old.clone())).with_clock(clock.clone());
    let mut browser = Browser::default();
    signed_in(&backend_store, &mut browser).await;
    let cookie_before = browser.cookie("sid").unwrap().to_owned();

    // Same records, new primary key: a store that shares the backend's contents.
    let rotated = ServerStore::with_backend(
        Shared(backend_store.clone()),
        Keys::new(Key::generate()).with_fallback(old),
    )
    .with_clock(clock);
    let mut session = browser.load::<AppSession>(&rotated).await;
    assert_eq!(session.user_id, Some(7));
    let sent = browser.save(&rotated, &mut session).await;
    assert_eq!(sent.len(), 1);
    assert_ne!(browser.cookie("sid").unwrap(), cookie_before);
    assert_eq!(browser.load::<AppSession>(&rotated).await.user_id, Some(7));
}

#[tokio::test]
async fn records_are_sealed_at_rest_and_bound_to_their_id() {
    let store = ServerStore::with_backend(Peek::default(), Keys::new(Key::generate()));
    let (mut alice, mut mallory) = (Browser::default(), Browser::default());
    for (browser, user) in [(&mut alice, 1), (&mut mallory, 2)] {
        browser
            .change(&store, |s: &mut AppSession| {
                s.user_id = Some(user);
                s.theme = "plain text that must not be on disk".into();
            })
            .await;
    }
    let records = store.backend().records();
    assert_eq!(records.len(), 2);
    for record in records.values() {
        assert!(
            !record.windows(10).any(|w| w == b"plain text"),
            "a field value is readable at rest"
        );
    }
    // Someone with write access to the storage copies Alice's record over Mallory's.
    let (alice_id, mallory_id) = (store.backend().id_of(1), store.backend().id_of(2));
    let alice_record = records[&alice_id].clone();
    store
        .backend()
        .records
        .lock()
        .unwrap()
        .insert(mallory_id.clone(), alice_record);
    let session = mallory.load::<AppSession>(&store).await;
    assert_eq!(session.rejection(), Some(Rejection::Unreadable));
    assert_eq!(session.user_id, None, "Mallory did not become Alice");
    assert!(
        !store.backend().records().contains_key(&mallory_id),
        "the unreadable record is removed"
    );
    assert_eq!(alice.load::<AppSession>(&store).await.user_id, Some(1));
}

/// A memory backend whose records a test can look at and change; it remembers the order in which
/// sessions were created, so a test can tell whose record is whose.
#[derive(Default)]
struct Peek {
    records: std::sync::Mutex<std::collections::HashMap<SessionId, Vec<u8>>>,
    order: std::sync::Mutex<Vec<SessionId>>,
}

impl Peek {
    fn records(&self) -> std::collections::HashMap<SessionId, Vec<u8>> {
        self.records.lock().unwrap().clone()
    }
    /// The id of the `n`-th session created (users are numbered from 1 in creation order).
    fn id_of(&self, n: usize) -> SessionId {
        self.order.lock().unwrap()[n - 1].clone()
    }
}

impl Backend for Peek {
    type Error = std::convert::Infallible;
    async fn load(&self, id: &SessionId) -> Result<Option<Stored>, Self::Error> {
        Ok(self.records.lock().unwrap().get(id).cloned().map(Stored::Record))
    }
    async fn save(&self, write: SessionWrite) -> Result<sessions::store::backend::Saved, Self::Error> {
        let mut records = self.records.lock().unwrap();
        let Some(record) = write.merge(records.get(write.source_id()).map(Vec::as_slice)) else {
            return Ok(sessions::store::backend::Saved::Removed);
        };
        if !records.contains_key(write.source_id()) {
            self.order.lock().unwrap().push(write.id().clone());
        }
        records.remove(write.source_id());
        records.insert(write.id().clone(), record);
        Ok(sessions::store::backend::Saved::Stored)
    }
    async fn delete(&self, id: &SessionId) -> Result<(), Self::Error> {
        self.records.lock().unwrap().remove(id);
        Ok(())
    }
}

#[tokio::test]
async fn a_record_sealed_with_a_fallback_key_is_resealed_so_the_old_key_can_go() {
    let clock = ManualClock::at_unix(1_700_000_000);
    let old = Key::generate();
    let first = ServerStore::with_backend(
        Shared(MemoryStore::new(Keys::new(old.clone()))),
        Keys::new(old.clone()),
    )
    .with_clock(clock.clone());
    let mut browser = Browser::default();
    signed_in_on(&first, &mut browser).await;

    let new = Key::generate();
    let rotated = ServerStore::with_backend(
        Shared(first.backend().0.clone()),
        Keys::new(new.clone()).with_fallback(old),
    )
    .with_clock(clock.clone());
    let mut session = browser.load::<AppSession>(&rotated).await;
    browser.save(&rotated, &mut session).await; // nothing changed, yet cookie and record are re-sealed

    let after =
        ServerStore::with_backend(Shared(first.backend().0.clone()), Keys::new(new)).with_clock(clock);
    assert_eq!(browser.load::<AppSession>(&after).await.user_id, Some(7));
}

async fn signed_in_on<B: Backend>(store: &ServerStore<B>, browser: &mut Browser) {
    browser.sign_in(store, 7).await;
}

/// A backend that reads and writes another store's memory backend.
struct Shared(MemoryStore);

impl Backend for Shared {
    type Error = std::convert::Infallible;
    async fn load(&self, id: &SessionId) -> Result<Option<Stored>, Self::Error> {
        self.0.backend().load(id).await
    }
    async fn save(&self, write: SessionWrite) -> Result<sessions::store::backend::Saved, Self::Error> {
        self.0.backend().save(write).await
    }
    async fn delete(&self, id: &SessionId) -> Result<(), Self::Error> {
        self.0.backend().delete(id).await
    }
}

/// A backend that counts loads and can be switched off, like a database that goes down.
#[derive(Default)]
struct Flaky {
    inner: MemoryBackend,
    loads: AtomicUsize,
    down: AtomicBool,
}

#[derive(Debug, thiserror::Error)]
#[error("connection refused")]
struct Down;

impl Flaky {
    fn check(&self) -> Result<(), Down> {
        if self.down.load(Ordering::SeqCst) {
            Err(Down)
        } else {
            Ok(())
        }
    }
}

impl Backend for Flaky {
    type Error = Down;
    async fn load(&self, id: &SessionId) -> Result<Option<Stored>, Down> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        Ok(self.inner.load(id).await.unwrap_or_default())
    }
    async fn save(&self, write: SessionWrite) -> Result<sessions::store::backend::Saved, Down> {
        self.check()?;
        let Ok(saved) = self.inner.save(write).await;
        Ok(saved)
    }
    async fn delete(&self, id: &SessionId) -> Result<(), Down> {
        self.check()?;
        let _ = self.inner.delete(id).await;
        Ok(())
    }
}

#[tokio::test]
async fn forged_ids_are_refused_before_the_backend_is_asked() {
    let store = ServerStore::with_backend(Flaky::default(), Keys::new(Key::generate()));
    let mut browser = Browser::default();
    for forged in [
        "../../etc/passwd",
        "..",
        "/etc/passwd",
        "AQIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        &"A".repeat(5000),
    ] {
        browser.set("sid", forged);
        let session = browser.load::<AppSession>(&store).await;
        assert!(session.rejection().is_some(), "{forged}");
    }
    assert_eq!(store.backend().loads.load(Ordering::SeqCst), 0);
    assert_eq!(store.rejections().total(), 5);
}

#[tokio::test]
async fn a_backend_failure_is_an_error_not_a_fresh_session() {
    let store = ServerStore::with_backend(Flaky::default(), Keys::new(Key::generate()));
    let mut browser = Browser::default();
    browser.sign_in(&store, 7).await;
    let mut session = browser.load::<AppSession>(&store).await;

    store.backend().down.store(true, Ordering::SeqCst);
    let error: LoadError = store.load::<AppSession>(&browser.request()).await.unwrap_err();
    assert_eq!(error.cookie, "sid");
    let message = error.to_string();
    assert!(
        message.starts_with("the session store failed to load the `sid` session"),
        "{message}"
    );
    assert!(message.contains("bring the store back"), "the fix: {message}");
    assert_eq!(
        sessions::ErrorChain(&error).to_string(),
        format!("{message}: connection refused"),
        "the cause, once"
    );
    assert_eq!(
        std::error::Error::source(&error).unwrap().to_string(),
        "connection refused"
    );

    session.cart.push(1);
    let mut response = HeaderMap::new();
    let error = store.save(&mut session, &mut response).await.unwrap_err();
    assert!(
        matches!(error, SaveError::Store { cookie: "sid", .. }),
        "{error:?}"
    );
    assert!(response.is_empty());

    // Back up: the same store recovers, and the unsaved change can be saved again.
    store.backend().down.store(false, Ordering::SeqCst);
    store.save(&mut session, &mut response).await.unwrap();
    assert_eq!(browser.load::<AppSession>(&store).await.cart, [1]);
}

/// A backend that stores entries and merges them as the Redis store's script does: each save writes
/// the entries it carries over the stored ones, a cycled id renames, and a removed session is not
/// brought back.
/// One stored session: the times entry, and the field entries by tag.
type StoredEntries = (Vec<u8>, std::collections::BTreeMap<u32, Vec<u8>>);

#[derive(Default)]
struct EntryMap {
    sessions: std::sync::Mutex<std::collections::HashMap<SessionId, StoredEntries>>,
}

impl Backend for EntryMap {
    type Error = std::convert::Infallible;
    async fn load(&self, id: &SessionId) -> Result<Option<Stored>, Self::Error> {
        Ok(self.sessions.lock().unwrap().get(id).map(|(meta, fields)| {
            Stored::Entries(Entries::new(meta.clone(), fields.clone().into_iter().collect()))
        }))
    }
    async fn save(&self, write: SessionWrite) -> Result<sessions::store::backend::Saved, Self::Error> {
        let mut sessions = self.sessions.lock().unwrap();
        let current = sessions.remove(write.source_id());
        if current.is_none() && !write.creates() {
            return Ok(sessions::store::backend::Saved::Removed);
        }
        let (_, mut fields) = current.unwrap_or_default();
        let entries = write.entries();
        fields.extend(entries.fields);
        sessions.insert(write.id().clone(), (entries.meta, fields));
        Ok(sessions::store::backend::Saved::Stored)
    }
    async fn delete(&self, id: &SessionId) -> Result<(), Self::Error> {
        self.sessions.lock().unwrap().remove(id);
        Ok(())
    }
}

/// A store on an [`EntryMap`], and a browser whose session there holds user 7 and `theme`.
async fn on_entries(theme: &str) -> (ServerStore<EntryMap>, Browser) {
    let store = ServerStore::with_backend(EntryMap::default(), Keys::new(Key::generate()))
        .with_clock(ManualClock::at_unix(1_700_000_000));
    let mut browser = Browser::default();
    let change = |s: &mut AppSession| {
        s.user_id = Some(7);
        s.theme = theme.into();
    };
    browser.change(&store, change).await;
    (store, browser)
}

#[tokio::test]
async fn entry_backends_merge_field_by_field() {
    let (store, mut browser) = on_entries("light").await;
    let (_, fields) = store
        .backend()
        .sessions
        .lock()
        .unwrap()
        .values()
        .next()
        .cloned()
        .unwrap();
    assert_eq!(fields.len(), 3, "a new session writes every field");

    // cycle_id moves the entries; destroy removes them, and a slower save does not bring them back.
    let mut session = browser.load::<AppSession>(&store).await;
    session.cycle_id();
    browser.save(&store, &mut session).await;
    assert_eq!(
        browser.load::<AppSession>(&store).await.theme,
        "light",
        "moved with its data"
    );
    let mut slow = browser.load::<AppSession>(&store).await;
    let mut sign_out = browser.load::<AppSession>(&store).await;
    sign_out.destroy();
    browser.save(&store, &mut sign_out).await;
    slow.cart.push(2);
    browser.save(&store, &mut slow).await;
    assert!(store.backend().sessions.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_bad_field_entry_loses_only_that_field_and_a_bad_meta_entry_the_session() {
    let (store, browser) = on_entries("dark").await;

    // Swap the cart's entry for the theme's: it is bound to its own field, so it does not open there.
    {
        let mut sessions = store.backend().sessions.lock().unwrap();
        let (_, fields) = sessions.values_mut().next().unwrap();
        let tags: Vec<u32> = fields.keys().copied().collect();
        let (a, b) = (fields[&tags[0]].clone(), fields[&tags[1]].clone());
        fields.insert(tags[0], b);
        fields.insert(tags[1], a);
    }
    let session = browser.load::<AppSession>(&store).await;
    assert_eq!(session.origin(), Origin::Restored);
    assert_eq!(session.theme, "dark", "the untouched field is kept");

    {
        let mut sessions = store.backend().sessions.lock().unwrap();
        let (meta, _) = sessions.values_mut().next().unwrap();
        let last = meta.len() - 1;
        meta[last] ^= 1;
    }
    assert_eq!(
        browser.rejection::<AppSession>(&store).await,
        Some(Rejection::Unreadable)
    );
}

#[tokio::test]
async fn a_write_after_destroy_starts_a_fresh_session_under_a_new_id() {
    let (store, _, _) = setup();
    sessions_tests::contract::after_destroy(&store).await;
    assert_eq!(store.backend().len(), 1, "the old record is gone");
}

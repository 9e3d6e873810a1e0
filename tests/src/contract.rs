//! The store contract: what every store keeps, whoever wrote it. [`store_contract!`](crate::store_contract)
//! runs it over a store as one test per promise; with `server` it adds what only a store that keeps
//! sessions on the server can promise (merging concurrent saves, moving a session to a new id).
//!
//! A store under test is a [`Fleet`]: storage (a directory, a Redis, a map) and the app instances
//! started on it, which share it as the instances of one app do.
//!
//! ```text
//! struct Memory(Arc<MemoryBackend>);
//! impl Fleet for Memory { ... }
//! sessions_tests::store_contract!(memory_store: server Memory);
//! ```

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sessions::clock::ManualClock;
use sessions::store::ServerStore;
use sessions::store::backend::{Backend, Revocations};
use sessions::{CookieStore, Key, Keys, Rejection, Store};

use crate::{AppSession, Browser};

/// When every contract's clock starts.
pub const START: u64 = 1_700_000_000;

/// Storage for one test, and the app instances started on it.
pub trait Fleet: Sized {
    /// The store an instance uses.
    type Store: Store;

    /// Fresh, empty storage.
    fn storage() -> impl Future<Output = Self>;

    /// An app instance on this storage, sealing with `keys` and reading the time from `clock`.
    fn instance(&self, keys: Keys, clock: &ManualClock) -> impl Future<Output = Self::Store>;
}

/// A name no other storage of this test binary has, for a directory or a server of a test's own.
pub fn unique(kind: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{kind}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Cookie stores whose revocations are kept by the backend of a server-side store's fleet `F`
/// (files, Redis, SQL), shared by the instances.
#[derive(Debug)]
pub struct CookiesRevokedIn<F>(F);

impl<F, B> Fleet for CookiesRevokedIn<F>
where
    F: Fleet<Store = ServerStore<B>>,
    B: Backend + Revocations + Clone,
{
    type Store = CookieStore;
    async fn storage() -> Self {
        CookiesRevokedIn(F::storage().await)
    }
    async fn instance(&self, keys: Keys, clock: &ManualClock) -> CookieStore {
        let server = self.0.instance(keys.clone(), clock).await;
        CookieStore::new(keys)
            .with_clock(clock.clone())
            .with_revocations(server.backend().clone())
    }
}

/// Every contract over a server-side store whose backend also keeps revocations (files, SQL,
/// Redis), in a module `$module`: the store contract (`store`), the revocation contract for its own
/// sessions (`owners`) and for cookie sessions revoked through its backend (`cookies_revoked_in_it`).
/// Attributes after the type go on every test. One line per store:
///
/// ```text
/// sessions_tests::server_store_contracts!(sqlite_store: Sqlite);
/// ```
#[macro_export]
macro_rules! server_store_contracts {
    ($module:ident: $fleet:ty $(, #[$attr:meta])* $(,)?) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $crate::store_contract!(store: server $fleet $(, #[$attr])*);
            $crate::revocation_contract!(owners: server $fleet $(, #[$attr])*);
            $crate::revocation_contract!(
                cookies_revoked_in_it: cookie $crate::contract::CookiesRevokedIn<$fleet> $(, #[$attr])*
            );
        }
    };
}

/// Runs the store contract over the [`Fleet`] `$fleet`, one `#[tokio::test]` per promise, in a module
/// named `$module`; `server $fleet` adds the promises of server-side stores. Attributes after the
/// type (`#[ignore = "..."]`) go on every test.
///
/// ```text
/// sessions_tests::store_contract!(cookie_store: Cookies);
/// sessions_tests::store_contract!(memory_store: server Memory);
/// ```
#[macro_export]
macro_rules! store_contract {
    ($module:ident: server $fleet:ty $(, #[$attr:meta])* $(,)?) => {
        $crate::store_contract!(@tests contract, $module, $fleet, [$(#[$attr])*],
            values_survive_requests, an_expired_session_is_refused, keys_roll_across_a_fleet,
            a_write_after_destroy_starts_a_fresh_session, merges_per_field,
            concurrent_saves_of_different_fields_lose_nothing, a_destroyed_session_stays_destroyed,
            a_save_racing_cycle_id_loses_nothing, junk_values_before_the_real_cookie_sign_nobody_out);
    };
    ($module:ident: $fleet:ty $(, #[$attr:meta])* $(,)?) => {
        $crate::store_contract!(@tests contract, $module, $fleet, [$(#[$attr])*],
            values_survive_requests, an_expired_session_is_refused, keys_roll_across_a_fleet,
            a_write_after_destroy_starts_a_fresh_session, junk_values_before_the_real_cookie_sign_nobody_out);
    };
    // One test per promise, each a function of the module `$suite` of this crate (this contract's,
    // or another's, such as `revocation`).
    (@tests $suite:ident, $module:ident, $fleet:ty, $attrs:tt, $($promise:ident),*) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $($crate::store_contract!(@test $suite, $fleet, $attrs, $promise);)*
        }
    };
    (@test $suite:ident, $fleet:ty, [$($attr:tt)*], $promise:ident) => {
        #[tokio::test]
        $($attr)*
        async fn $promise() {
            $crate::$suite::$promise::<$fleet>().await;
        }
    };
}

/// One instance with a fresh key, on fresh storage, and the clock it reads.
pub(crate) async fn one<F: Fleet>() -> (F, F::Store, ManualClock) {
    let fleet = F::storage().await;
    let clock = ManualClock::at_unix(START);
    let store = fleet.instance(Keys::new(Key::generate()), &clock).await;
    (fleet, store, clock)
}

/// Two instances sharing a key and a clock, on fresh storage.
async fn two<F: Fleet>() -> (F, F::Store, F::Store, ManualClock) {
    let fleet = F::storage().await;
    let (keys, clock) = (Keys::new(Key::generate()), ManualClock::at_unix(START));
    let a = fleet.instance(keys.clone(), &clock).await;
    let b = fleet.instance(keys, &clock).await;
    (fleet, a, b, clock)
}

/// What a request saves, the next one reads; a new session is new, a stored one is not.
pub async fn values_survive_requests<F: Fleet>() {
    let (_fleet, store, _) = one::<F>().await;
    let mut browser = Browser::default();
    let mut session = browser.load::<AppSession>(&store).await;
    assert!(session.is_new());
    session.user_id = Some(7);
    session.cart = vec![1, 2];
    browser.save(&store, &mut session).await;

    let mut session = browser.load::<AppSession>(&store).await;
    assert!(!session.is_new());
    assert_eq!(session.rejection(), None);
    assert_eq!((session.user_id, session.cart.clone()), (Some(7), vec![1, 2]));
    session.cart.push(3);
    browser.save(&store, &mut session).await;
    assert_eq!(browser.load::<AppSession>(&store).await.cart, [1, 2, 3]);
}

/// Past its `idle_timeout` (an hour) a session is refused, and the request gets a fresh one.
pub async fn an_expired_session_is_refused<F: Fleet>() {
    let (_fleet, store, clock) = one::<F>().await;
    let mut browser = Browser::default();
    let mut session = browser.load::<AppSession>(&store).await;
    session.user_id = Some(7);
    browser.save(&store, &mut session).await;

    clock.advance(Duration::from_secs(59 * 60));
    assert_eq!(browser.load::<AppSession>(&store).await.user_id, Some(7));
    clock.advance(Duration::from_secs(61 * 60));
    let session = browser.load::<AppSession>(&store).await;
    assert!(session.is_new());
    assert!(
        matches!(
            session.rejection(),
            Some(Rejection::Expired | Rejection::NotFound)
        ),
        "{:?}",
        session.rejection()
    );
    assert_eq!(session.user_id, None);
}

/// See [`keys_roll`]: over instances of `F` that share its storage.
pub async fn keys_roll_across_a_fleet<F: Fleet>() {
    let fleet = F::storage().await;
    let clock = ManualClock::at_unix(START);
    keys_roll(async |keys| fleet.instance(keys, &clock).await).await;
}

/// See [`after_destroy`].
pub async fn a_write_after_destroy_starts_a_fresh_session<F: Fleet>() {
    let (_fleet, store, _) = one::<F>().await;
    after_destroy(&store).await;
}

/// See [`merges`]: on two instances sharing storage.
pub async fn merges_per_field<F: Fleet>() {
    let (_fleet, a, b, _) = two::<F>().await;
    merges(&a, &b).await;
}

/// The session [`concurrent_saves_of_different_fields_lose_nothing`] works on.
#[derive(sessions::Session, Default, Debug)]
#[session(cookie = "sid")]
pub struct Counters {
    /// Appended to by one task each.
    pub a: Vec<u32>,
    /// See `a`.
    pub b: Vec<u32>,
    /// See `a`.
    pub c: Vec<u32>,
    /// See `a`.
    pub d: Vec<u32>,
}

/// Four tasks on two instances, each appending to its own field of one session round after round,
/// their loads and saves interleaved: every round of every task is kept.
pub async fn concurrent_saves_of_different_fields_lose_nothing<F: Fleet>() {
    const ROUNDS: u32 = 20;
    let (_fleet, a, b, _) = two::<F>().await;
    let mut browser = Browser::default();
    let mut session = browser.load::<Counters>(&a).await;
    session.a.push(ROUNDS); // stored, so every task finds the session
    browser.save(&a, &mut session).await;
    let task = async |field: usize, store: &F::Store| {
        for round in 0..ROUNDS {
            let mut session = browser.load::<Counters>(store).await;
            assert_eq!(session.rejection(), None);
            let counters = &mut *session;
            [&mut counters.a, &mut counters.b, &mut counters.c, &mut counters.d][field].push(round);
            browser.clone().save(store, &mut session).await;
        }
    };
    // On this one task, each going on whenever another waits for its store.
    tokio::join!(task(0, &a), task(1, &b), task(2, &a), task(3, &b));
    let session = browser.load::<Counters>(&b).await;
    let all: Vec<u32> = (0..ROUNDS).collect();
    assert_eq!(session.a[1..], all[..], "field a");
    for (name, field) in [("b", &session.b), ("c", &session.c), ("d", &session.d)] {
        assert_eq!(field[..], all[..], "field {name}");
    }
}

/// A request that loaded a session before another one destroyed it (sign-out) and saves after does
/// not bring it back: the session stays gone, and its cookie is removed.
pub async fn a_destroyed_session_stays_destroyed<F: Fleet>() {
    let (_fleet, a, b, _) = two::<F>().await;
    let mut browser = Browser::default();
    let mut session = browser.load::<AppSession>(&a).await;
    session.user_id = Some(7);
    browser.save(&a, &mut session).await;
    let signed_in = browser.clone();

    let mut slow = browser.load::<AppSession>(&b).await;
    let mut sign_out = browser.load::<AppSession>(&a).await;
    sign_out.destroy();
    browser.save(&a, &mut sign_out).await;

    slow.cart.push(3); // the slow request finishes after the sign-out
    let sent = signed_in.clone().save(&b, &mut slow).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        sent[0].max_age(),
        Some(cookie::time::Duration::ZERO),
        "its cookie is removed"
    );
    let after = signed_in.load::<AppSession>(&a).await;
    assert_eq!(after.rejection(), Some(Rejection::NotFound));
    assert_eq!(
        (after.user_id, after.cart.clone()),
        (None, vec![]),
        "the session stays destroyed"
    );
}

/// See [`cycle_race`]: on two instances sharing storage and a clock, with the default cycle grace.
pub async fn a_save_racing_cycle_id_loses_nothing<F: Fleet>() {
    let (_fleet, a, b, clock) = two::<F>().await;
    cycle_race(&a, &b, &clock).await;
}

/// The session [`merges`] works on.
#[derive(sessions::Session, Default, Debug)]
#[session(cookie = "merge_probe")]
pub struct MergeProbe {
    /// Set once, before the concurrent requests.
    pub user_id: Option<u64>,
    /// Changed by one request.
    pub cart: Vec<u32>,
    /// Changed by the other, then by both.
    pub theme: String,
}

/// The contract of a server-side store: two requests that load one session and change different fields
/// both keep their change; when both change the same field, the last save wins. `a` and `b` may be
/// one store, or two app instances sharing a backend.
pub async fn merges(a: &impl Store, b: &impl Store) {
    let mut browser = Browser::default();
    let mut session = browser.load::<MergeProbe>(a).await;
    session.user_id = Some(7);
    browser.save(a, &mut session).await;

    let mut first = browser.load::<MergeProbe>(a).await;
    let mut second = browser.load::<MergeProbe>(b).await;
    first.cart.push(1);
    second.theme = "dark".into();
    browser.clone().save(a, &mut first).await;
    browser.clone().save(b, &mut second).await;
    let merged = browser.load::<MergeProbe>(a).await;
    assert_eq!(
        (merged.user_id, merged.cart.clone(), merged.theme.as_str()),
        (Some(7), vec![1], "dark"),
        "a change was lost"
    );

    let mut first = browser.load::<MergeProbe>(a).await;
    let mut second = browser.load::<MergeProbe>(b).await;
    first.theme = "first".into();
    second.theme = "second".into();
    browser.clone().save(a, &mut first).await;
    browser.clone().save(b, &mut second).await;
    assert_eq!(
        browser.load::<MergeProbe>(b).await.theme,
        "second",
        "the last save did not win"
    );
}

/// The contract of a key rotation over a fleet sharing one store: `instance(keys)` starts an app
/// instance with `keys` (on the same directory, Redis or browser jar as every other instance).
///
/// Rotation is three deploys: (1) the new key as a fallback everywhere; (2) the new key promoted to
/// primary, the old one kept as a fallback; (3) the old key dropped once no session sealed with it is
/// still alive. During the rolling step (2), instances with either key first read what the others
/// wrote, and nobody is signed out. An instance that lacks a key another one uses (a step skipped)
/// refuses that session as [`Rejection::UnknownKey`] and leaves it alone: no removal cookie, no
/// deletion, so the instances that have the key go on reading it.
pub async fn keys_roll<St: Store>(instance: impl AsyncFn(Keys) -> St) {
    let (old, new) = (Key::generate(), Key::generate());
    let mut browser = Browser::default();
    let before = instance(Keys::new(old.clone())).await;
    let mut session = browser.load::<AppSession>(&before).await;
    session.user_id = Some(7);
    session.cart = vec![1];
    browser.save(&before, &mut session).await;
    let sealed_with_old = browser.clone();

    // Step 2, rolling: A has promoted the new key, B not yet. Each reads and changes what the other
    // wrote.
    let a = instance(Keys::new(new.clone()).with_fallback(old.clone())).await;
    let b = instance(Keys::new(old.clone()).with_fallback(new.clone())).await;
    for (step, store) in [(2, &a), (3, &b), (4, &a), (5, &b)] {
        let mut session = browser.load::<AppSession>(store).await;
        assert_eq!(session.rejection(), None, "step {step}");
        assert_eq!(session.user_id, Some(7), "step {step}");
        assert_eq!(session.cart.len(), step - 1, "step {step}: a change was lost");
        session.cart.push(step as u32);
        browser.save(store, &mut session).await;
    }

    // A re-seals with the new key; C never got it.
    let mut session = browser.load::<AppSession>(&a).await;
    session.cart.push(6);
    browser.save(&a, &mut session).await;
    let c = instance(Keys::new(old.clone())).await;
    let mut session = browser.load::<AppSession>(&c).await;
    assert_eq!(session.rejection(), Some(Rejection::UnknownKey));
    assert!(
        browser.clone().save(&c, &mut session).await.is_empty(),
        "a read-only request clears nothing"
    );
    // The cookie from before A re-sealed: a cookie store opens that old copy; a server-side store finds
    // its id but a record sealed with the new key, which it must not delete.
    let mut stale = sealed_with_old.load::<AppSession>(&c).await;
    match stale.rejection() {
        None => assert_eq!(stale.cart, [1], "the old copy of the cookie"),
        Some(reason) => assert_eq!(reason, Rejection::UnknownKey),
    }
    assert!(sealed_with_old.clone().save(&c, &mut stale).await.is_empty());
    // C touched nothing: A still has the whole session.
    let session = browser.load::<AppSession>(&a).await;
    assert_eq!(session.rejection(), None);
    assert_eq!(session.cart, [1, 2, 3, 4, 5, 6]);
}

/// The contract of `cycle_id` on a server-side store: a request that loaded the session before
/// another one moved it to a new id (sign-in, on instance `a`) and saves afterwards (on `b`) loses
/// nothing and signs nobody out. Its change is merged into the new id, and its response sets no cookie:
/// the browser keeps the new id, and only the request that moved the session hands it out, since the
/// old id may be an attacker's planted one. A request arriving with the old id meanwhile gets a fresh
/// session, refused as [`Rejection::Moved`], and nothing it writes is stored. Past the grace period the
/// old id is simply gone.
pub async fn cycle_race<St: Store>(a: &St, b: &St, clock: &ManualClock) {
    let mut browser = Browser::default();
    let mut session = browser.load::<AppSession>(a).await;
    session.user_id = Some(7);
    browser.save(a, &mut session).await;
    let old_id = browser.clone();

    let mut late = old_id.load::<AppSession>(b).await;
    let mut signing_in = browser.load::<AppSession>(a).await;
    signing_in.cycle_id();
    signing_in.cart.push(1);
    browser.save(a, &mut signing_in).await;
    assert_ne!(browser.cookie("sid"), old_id.cookie("sid"), "a new id");

    late.theme = "dark".into();
    let sent = old_id.clone().save(b, &mut late).await;
    assert!(
        sent.is_empty(),
        "no removal, and no new id for a holder of the old one: {sent:?}"
    );
    let merged = browser.load::<AppSession>(a).await;
    assert_eq!(merged.rejection(), None);
    assert_eq!(
        (merged.user_id, merged.cart.clone(), merged.theme.as_str()),
        (Some(7), vec![1], "dark"),
        "the late save's change was lost"
    );
    // A second save in the same late request goes the same way.
    late.theme = "darker".into();
    assert!(old_id.clone().save(b, &mut late).await.is_empty());
    assert_eq!(browser.load::<AppSession>(a).await.theme, "darker");

    let mut racing = old_id.load::<AppSession>(b).await;
    assert_eq!(racing.rejection(), Some(Rejection::Moved));
    assert_eq!(racing.user_id, None, "the old id never reaches the moved session");
    racing.cart.push(9);
    assert!(old_id.clone().save(b, &mut racing).await.is_empty());
    assert_eq!(browser.load::<AppSession>(a).await.cart, [1]);

    clock.advance(std::time::Duration::from_secs(61));
    assert_eq!(
        old_id.load::<AppSession>(b).await.rejection(),
        Some(Rejection::NotFound)
    );
    assert_eq!(browser.load::<AppSession>(a).await.cart, [1]);
}

/// The contract of writing after `destroy()`, as in a sign-out that says "You have been signed out.":
/// the old session ends (its record is deleted, every copy of its cookie refused on a server-side
/// store), and a fresh one carries only what was written after, under a new id.
pub async fn after_destroy(store: &impl Store) {
    let mut browser = Browser::default();
    let mut session = browser.load::<AppSession>(store).await;
    session.user_id = Some(7);
    session.cart = vec![1, 2];
    browser.save(store, &mut session).await;
    let signed_in = browser.clone();

    let mut session = browser.load::<AppSession>(store).await;
    session.destroy();
    session.theme = "signed out".into(); // a message for the next page
    let sent = browser.save(store, &mut session).await;
    assert_eq!(sent.len(), 1, "one Set-Cookie: the fresh session's");
    assert_ne!(browser.cookie("sid"), signed_in.cookie("sid"));
    // A second save in the same request leaves the fresh cookie alone.
    assert!(browser.save(store, &mut session).await.is_empty());

    let next = browser.load::<AppSession>(store).await;
    assert_eq!(next.rejection(), None);
    assert_eq!(
        (next.user_id, next.cart.clone(), next.theme.as_str()),
        (None, vec![], "signed out"),
        "only what was written after destroy"
    );
}

/// Values of the session's cookie name that are not its session, standing before the real one (a
/// sibling subdomain can set them): empty, short, long, of a cookie's shape, a tampered copy, a
/// value of another session that was signed out, from a few up to a browser's whole jar. The real
/// one wins wherever it stands, and no response removes it. Past the most values a store tries,
/// the request gets a fresh session, and still no removal cookie.
pub async fn junk_values_before_the_real_cookie_sign_nobody_out<F: Fleet>() {
    use http::header::{COOKIE, SET_COOKIE};
    let (fleet, store, clock) = one::<F>().await;
    let name = <AppSession as sessions::Session>::CONFIG.cookie().name();
    let signed_in_value = async |store: &F::Store, destroy: bool| {
        let mut browser = Browser::default();
        let mut session = browser.load::<AppSession>(store).await;
        session.user_id = Some(8);
        browser.save(store, &mut session).await;
        let value = browser.cookie(name).unwrap().to_owned();
        if destroy {
            let mut session = browser.load::<AppSession>(store).await;
            session.destroy();
            browser.save(store, &mut session).await;
        }
        value
    };
    // Another app's (another key), and one signed out where the store can tell (server-side).
    let foreign = signed_in_value(&fleet.instance(Keys::new(Key::generate()), &clock).await, false).await;
    let signed_out = signed_in_value(&store, true).await;

    let mut browser = Browser::default();
    let mut session = browser.load::<AppSession>(&store).await;
    session.user_id = Some(7);
    browser.save(&store, &mut session).await;
    let real = browser.cookie(name).unwrap().to_owned();
    let mut tampered = real.clone().into_bytes();
    tampered[real.len() / 2] = if tampered[real.len() / 2] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let mut junk = vec![
        String::new(),
        "x".to_owned(),
        String::from_utf8(tampered).unwrap(),
        foreign,
        "A".repeat(5000),
    ];
    let mut holder = Browser::default();
    holder.set(name, &signed_out);
    if holder.load::<AppSession>(&store).await.user_id.is_none() {
        junk.insert(1, signed_out);
    }
    junk.extend((junk.len()..400).map(|i| format!("{i:0>width$}", width = real.len())));

    let load = async |junk: &[String]| {
        let mut pairs: Vec<String> = junk.iter().map(|value| format!("{name}={value}")).collect();
        pairs.push(format!("{name}={real}"));
        let mut request = http::HeaderMap::new();
        request.insert(COOKIE, pairs.join("; ").parse().unwrap());
        let mut session = store.load::<AppSession>(&request).await.unwrap();
        let user = session.user_id;
        session.theme = "dark".to_owned();
        let mut response = http::HeaderMap::new();
        store.save(&mut session, &mut response).await.unwrap();
        let removed = response.get_all(SET_COOKIE).iter().any(|line| {
            let line = line.to_str().unwrap();
            line.starts_with(&format!("{name}=")) && line.contains("Max-Age=0")
        });
        (user, removed)
    };
    for count in [1, 4, 5, 10, 100, 179] {
        assert_eq!(
            load(&junk[..count]).await,
            (Some(7), false),
            "{count} values before it"
        );
    }
    let (user, removed) = load(&junk).await;
    assert_eq!(user, None, "past the most values tried");
    assert!(
        !removed,
        "a value left untried may be the real one: nothing is removed"
    );
    assert_eq!(
        load(&junk[..3]).await,
        (Some(7), false),
        "and the real one still works"
    );
}

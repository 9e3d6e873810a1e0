//! Support for the cross-crate tests in `tests/`: a [`Browser`] that keeps cookies between requests
//! the way a browser does, so tests drive stores through real `Cookie` and `Set-Cookie` headers, and
//! [`merges_per_field`], the contract every server-side store keeps.

use std::collections::BTreeMap;

use cookie::Cookie;
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue};
use sessions::{Key, Keys, Loaded, Rejection, Session, Store};

/// A cookie jar for one site.
#[derive(Debug, Default, Clone)]
pub struct Browser {
    jar: BTreeMap<String, String>,
}

impl Browser {
    /// The headers of a request: one `Cookie` header with every cookie in the jar.
    pub fn request(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if !self.jar.is_empty() {
            let line = self
                .jar
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; ");
            headers.insert(
                COOKIE,
                HeaderValue::from_str(&line).expect("cookies are header-safe"),
            );
        }
        headers
    }

    /// Applies a response's `Set-Cookie` lines (a `Max-Age` of zero removes the cookie) and returns them
    /// parsed, for checks on their attributes.
    pub fn receive(&mut self, response: &HeaderMap) -> Vec<Cookie<'static>> {
        let cookies: Vec<Cookie<'static>> = response
            .get_all(SET_COOKIE)
            .iter()
            .map(|line| Cookie::parse(line.to_str().expect("ASCII").to_owned()).expect("a valid Set-Cookie"))
            .collect();
        for cookie in &cookies {
            let removal = cookie
                .max_age()
                .is_some_and(|age| age.is_zero() || age.is_negative());
            if removal {
                self.jar.remove(cookie.name());
            } else {
                self.jar
                    .insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
        cookies
    }

    /// The value of cookie `name`, if the jar has it.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.jar.get(name).map(String::as_str)
    }

    /// Puts a cookie in the jar by hand, as an attacker or another site would.
    pub fn set(&mut self, name: &str, value: &str) {
        self.jar.insert(name.to_owned(), value.to_owned());
    }

    /// Loads session `S` as a request from this browser would.
    pub async fn load<S: Session>(&self, store: &impl Store) -> Loaded<S> {
        store.load(&self.request()).await.expect("loading does not fail")
    }

    /// Saves `session` and applies the response to the jar; returns the `Set-Cookie` lines sent.
    pub async fn save<S: Session>(
        &mut self,
        store: &impl Store,
        session: &mut Loaded<S>,
    ) -> Vec<Cookie<'static>> {
        let mut response = HeaderMap::new();
        store.save(session, &mut response).await.expect("saving succeeds");
        self.receive(&response)
    }
}

/// The session the server-side store tests share: a user, a cart and a theme under a `sid` cookie
/// that lives a day and ends after an hour idle.
#[derive(sessions::Session, Default, Debug)]
#[session(cookie = "sid", max_age = "1d", idle_timeout = "1h")]
pub struct AppSession {
    /// Who is signed in.
    pub user_id: Option<u64>,
    /// What is in the cart.
    pub cart: Vec<u32>,
    /// A preference.
    pub theme: String,
}

/// The session [`merges_per_field`] works on.
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
pub async fn merges_per_field(a: &impl Store, b: &impl Store) {
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
pub async fn keys_roll_across_a_fleet<St: Store>(instance: impl AsyncFn(Keys) -> St) {
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
pub async fn a_save_racing_cycle_id_loses_nothing<St: Store>(
    a: &St,
    b: &St,
    clock: &sessions::clock::ManualClock,
) {
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
pub async fn a_write_after_destroy_starts_a_fresh_session(store: &impl Store) {
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

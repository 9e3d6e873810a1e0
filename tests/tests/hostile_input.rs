//! What a client sends never signs a user out, never makes the server do unbounded work, and is
//! counted when refused: tried on the cookie store and on a server-side store.

use std::sync::atomic::{AtomicUsize, Ordering};

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use sessions::store::ServerStore;
use sessions::store::backend::MemoryBackend;
use sessions::store::backend::{Backend, SessionId, SessionWrite, Stored};
use sessions::{CookieStore, Key, Keys, Rejection, Store};
use sessions_tests::{AppSession, Browser};

/// A memory backend that counts how often it is asked for a session.
#[derive(Debug, Default)]
struct CountingBackend {
    inner: MemoryBackend,
    loads: AtomicUsize,
}

impl Backend for CountingBackend {
    type Error = <MemoryBackend as Backend>::Error;

    async fn load(&self, id: &SessionId) -> Result<Option<Stored>, Self::Error> {
        self.loads.fetch_add(1, Ordering::Relaxed);
        self.inner.load(id).await
    }

    async fn save(&self, write: SessionWrite) -> Result<sessions::store::backend::Saved, Self::Error> {
        self.inner.save(write).await
    }

    async fn delete(&self, id: &SessionId) -> Result<(), Self::Error> {
        self.inner.delete(id).await
    }
}

fn server_store() -> ServerStore<CountingBackend> {
    ServerStore::with_backend(CountingBackend::default(), Keys::new(Key::generate()))
}

/// Signs a user in with a 3-item cart; returns the session cookie's value.
async fn signed_in(store: &impl Store) -> String {
    let mut browser = Browser::default();
    browser
        .change(store, |s: &mut AppSession| {
            s.user_id = Some(7);
            s.cart = vec![1, 2, 3];
        })
        .await;
    browser.cookie("sid").unwrap().to_owned()
}

fn request(cookie_header: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(COOKIE, HeaderValue::from_bytes(cookie_header).unwrap());
    headers
}

/// Sibling cookies as browsers send them: UTF-8 raw, Latin-1 raw, and a pair that is not a cookie.
fn with_foreign_siblings(sid: &str) -> Vec<Vec<u8>> {
    vec![
        format!("pref=café; sid={sid}; lang=de").into_bytes(),
        [b"name=Jos\xe9; sid=".as_slice(), sid.as_bytes()].concat(),
        [b"sid=", sid.as_bytes(), b"; \xff\xfe; =; junk"].concat(),
    ]
}

/// Signs in, then sends the session cookie among each kind of foreign sibling: the session loads as
/// stored, and a write through it keeps everything else.
async fn foreign_siblings_leave_the_session_alone(store: &impl Store) {
    for variant in 0..3 {
        let sid = signed_in(store).await;
        let header = &with_foreign_siblings(&sid)[variant];
        let mut session = store.load::<AppSession>(&request(header)).await.unwrap();
        assert_eq!(session.rejection(), None, "{}", String::from_utf8_lossy(header));
        assert_eq!(session.cart, [1, 2, 3]);

        session.cart.push(4);
        let mut response = HeaderMap::new();
        store.save(&mut session, &mut response).await.unwrap();
        let mut browser = Browser::default();
        browser.set("sid", &sid);
        browser.receive(&response);
        let session = browser.load::<AppSession>(store).await;
        assert_eq!(session.cart, [1, 2, 3, 4], "the write added to the cart");
        assert_eq!(session.user_id, Some(7));
    }
}

#[tokio::test]
async fn a_sibling_cookie_that_is_not_ascii_does_not_sign_the_user_out() {
    foreign_siblings_leave_the_session_alone(&CookieStore::new(Keys::new(Key::generate()))).await;
    foreign_siblings_leave_the_session_alone(&server_store()).await;
}

/// The cookie values of `count` sessions that were signed in, then removed from the store: each has a
/// valid signature, so each costs a store read before it is refused.
async fn removed_sessions(store: &ServerStore<CountingBackend>, count: usize) -> Vec<String> {
    let mut values = Vec::new();
    for _ in 0..count {
        values.push(signed_in(store).await);
    }
    // Sign every one of them out.
    for value in &values {
        let mut session = store
            .load::<AppSession>(&request(format!("sid={value}").as_bytes()))
            .await
            .unwrap();
        session.destroy();
        store.save(&mut session, &mut HeaderMap::new()).await.unwrap();
    }
    store.backend().loads.store(0, Ordering::Relaxed);
    values
}

#[tokio::test]
async fn a_session_cookie_repeated_thousands_of_times_costs_one_store_read() {
    let store = server_store();
    let values = removed_sessions(&store, 1).await;
    let header = vec![format!("sid={}", values[0]); 5_000].join("; ");
    assert!(header.len() > 250_000);
    let session = store
        .load::<AppSession>(&request(header.as_bytes()))
        .await
        .unwrap();
    assert_eq!(session.rejection(), Some(Rejection::NotFound));
    assert_eq!(store.backend().loads.load(Ordering::Relaxed), 1);
    assert_eq!(store.rejections().get(Rejection::TooManyValues), 0);
}

/// Every value's signature is checked, but only the first four ids that pass are read from the
/// backend; the rest are counted, and since one of them may be good, the cookie is left alone.
#[tokio::test]
async fn at_most_four_verified_ids_are_read_and_the_rest_are_counted() {
    let store = server_store();
    let values = removed_sessions(&store, 10).await;
    let header = values
        .iter()
        .map(|value| format!("sid={value}"))
        .collect::<Vec<_>>()
        .join("; ");
    let session = store
        .load::<AppSession>(&request(header.as_bytes()))
        .await
        .unwrap();
    assert_eq!(store.backend().loads.load(Ordering::Relaxed), 4);
    assert_eq!(store.rejections().get(Rejection::TooManyValues), 6);
    assert_eq!(session.rejection(), Some(Rejection::TooManyValues));

    // Both stores try the first 180 distinct values, and count the rest.
    let cookies = CookieStore::new(Keys::new(Key::generate()));
    let bogus: Vec<String> = (0..200).map(|i| format!("sid=bogus{i}")).collect();
    let session = cookies
        .load::<AppSession>(&request(bogus.join("; ").as_bytes()))
        .await
        .unwrap();
    assert_eq!(session.rejection(), Some(Rejection::TooManyValues));
    assert_eq!(cookies.rejections().get(Rejection::TooManyValues), 20);
    assert_eq!(cookies.rejections().get(Rejection::Malformed), 1);
}

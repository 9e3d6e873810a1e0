//! What the cookie store does with every kind of cookie it may be sent: its own, damaged ones, and
//! ones made elsewhere. A bad cookie always gives a fresh session and a reason, and is counted.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderMap;
use sessions::clock::ManualClock;
use sessions::session::Origin;
use sessions::{CookieStore, Key, Keys, Rejection, SaveError, Session, Store};
use sessions_tests::Browser;
use std::time::Duration;

#[derive(Session, Default, Debug, PartialEq)]
#[session(cookie = "app")]
struct AppSession {
    user_id: Option<u64>,
    name: String,
}

/// Another type under the same cookie name: its cookies must not open as `AppSession`.
#[derive(Session, Default)]
#[session(cookie = "app")]
struct Impostor {
    user_id: Option<u64>,
    name: String,
}

/// The same fields under another cookie name.
#[derive(Session, Default)]
#[session(cookie = "other")]
struct Other {
    user_id: Option<u64>,
    name: String,
}

#[derive(Session, Default)]
#[session(cookie = "readable", signed)]
struct Readable {
    name: String,
}

const START: u64 = 1_700_000_000;

fn store(keys: Keys, clock: &ManualClock) -> CookieStore {
    CookieStore::new(keys).with_clock(clock.clone())
}

/// A browser holding a valid `app` cookie for user 7, and the store that made it.
async fn signed_in() -> (CookieStore, Browser, ManualClock) {
    let clock = ManualClock::at_unix(START);
    let store = store(Keys::new(Key::generate()), &clock);
    let mut browser = Browser::default();
    browser
        .change(&store, |s: &mut AppSession| {
            s.user_id = Some(7);
            s.name = "Ada Lovelace".into();
        })
        .await;
    (store, browser, clock)
}

async fn load_value<S: Session>(store: &CookieStore, name: &str, value: &str) -> sessions::Loaded<S> {
    let mut browser = Browser::default();
    browser.set(name, value);
    browser.load::<S>(store).await
}

#[tokio::test]
async fn a_saved_session_comes_back_with_its_fields() {
    let (store, browser, _) = signed_in().await;
    let session = browser.load::<AppSession>(&store).await;
    assert_eq!(session.origin(), Origin::Restored);
    assert_eq!(
        *session,
        AppSession {
            user_id: Some(7),
            name: "Ada Lovelace".into()
        }
    );
    assert_eq!(store.rejections().total(), 0);
}

#[tokio::test]
async fn every_single_bit_flip_is_rejected_without_panicking() {
    let (store, browser, _) = signed_in().await;
    let value = browser.cookie("app").unwrap().to_owned();
    let bytes = URL_SAFE_NO_PAD.decode(&value).unwrap();
    let mut flips = 0;
    for bit in 0..bytes.len() * 8 {
        let mut flipped = bytes.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        let session = load_value::<AppSession>(&store, "app", &URL_SAFE_NO_PAD.encode(&flipped)).await;
        assert!(session.rejection().is_some(), "bit {bit} flipped still opened");
        assert_eq!(*session, AppSession::default());
        flips += 1;
    }
    assert_eq!(store.rejections().total(), flips);
    // Flipping bits of the text itself: unused trailing bits of the last base64 character must not
    // give a second valid spelling of the same cookie.
    for (at, original) in value.char_indices() {
        for bit in 0..6 {
            let changed = (original as u8) ^ (1 << bit);
            if !(changed.is_ascii_alphanumeric() || changed == b'-' || changed == b'_') {
                continue;
            }
            let mut text = value.clone().into_bytes();
            text[at] = changed;
            let session = load_value::<AppSession>(&store, "app", std::str::from_utf8(&text).unwrap()).await;
            assert!(session.rejection().is_some(), "char {at} bit {bit} still opened");
        }
    }
}

#[tokio::test]
async fn every_truncation_is_rejected() {
    let (store, browser, _) = signed_in().await;
    let value = browser.cookie("app").unwrap().to_owned();
    for len in 0..value.len() {
        let session = load_value::<AppSession>(&store, "app", &value[..len]).await;
        // An empty cookie value is no cookie at all for some parsers; either way the session is new.
        assert!(session.is_new(), "truncated to {len} still opened");
        if len > 0 {
            assert!(
                session.rejection().is_some(),
                "truncated to {len}: {:?}",
                session.origin()
            );
        }
    }
}

#[tokio::test]
async fn each_kind_of_bad_cookie_has_its_reason_and_is_counted() {
    let (store, browser, clock) = signed_in().await;
    let good = browser.cookie("app").unwrap().to_owned();
    let bytes = URL_SAFE_NO_PAD.decode(&good).unwrap();
    let with_byte = |at: usize, value: u8| {
        let mut changed = bytes.clone();
        changed[at] = value;
        URL_SAFE_NO_PAD.encode(changed)
    };

    let stranger = store_with_new_key(&clock);
    let mut from_stranger = Browser::default();
    from_stranger
        .change(&stranger, |s: &mut AppSession| s.user_id = Some(1))
        .await;

    let cases: Vec<(&str, String, Rejection)> = vec![
        ("not base64", "%%%not*base64".into(), Rejection::Malformed),
        ("too short", "AQA".into(), Rejection::Malformed),
        ("over 4096 bytes", "A".repeat(4097), Rejection::Oversized),
        (
            "a version no release wrote",
            with_byte(0, 0),
            Rejection::Malformed,
        ),
        (
            "a newer release's format version",
            with_byte(0, 3),
            Rejection::UnsupportedVersion,
        ),
        (
            "another app's key",
            from_stranger.cookie("app").unwrap().into(),
            Rejection::UnknownKey,
        ),
    ];
    for (what, value, reason) in &cases {
        let session = load_value::<AppSession>(&store, "app", value).await;
        assert_eq!(session.rejection(), Some(*reason), "{what}");
        assert_eq!(*session, AppSession::default(), "{what}");
    }
    // The counts say how many of each kind were refused.
    assert_eq!(store.rejections().get(Rejection::Malformed), 3);
    assert_eq!(store.rejections().get(Rejection::UnsupportedVersion), 1);
    assert_eq!(store.rejections().get(Rejection::Oversized), 1);
    assert_eq!(store.rejections().get(Rejection::UnknownKey), 1);
    assert_eq!(store.rejections().total(), cases.len() as u64);
}

fn store_with_new_key(clock: &ManualClock) -> CookieStore {
    store(Keys::new(Key::generate()), clock)
}

#[tokio::test]
async fn a_cookie_never_opens_as_another_type_or_under_another_name() {
    let (store, browser, _) = signed_in().await;
    let value = browser.cookie("app").unwrap().to_owned();
    let impostor = load_value::<Impostor>(&store, "app", &value).await;
    assert_eq!(impostor.rejection(), Some(Rejection::Tampered));
    let renamed = load_value::<Other>(&store, "other", &value).await;
    assert_eq!(renamed.rejection(), Some(Rejection::Tampered));
    assert_eq!(renamed.user_id, None);
}

#[tokio::test]
async fn expired_and_future_cookies_are_refused_whatever_the_browser_kept() {
    let (store, browser, clock) = signed_in().await;
    let value = browser.cookie("app").unwrap().to_owned();
    // Issued "later" than now: the server's clock went back more than the skew allowed.
    clock.rewind(Duration::from_secs(120));
    let early = load_value::<AppSession>(&store, "app", &value).await;
    assert_eq!(early.rejection(), Some(Rejection::IssuedInFuture));
    // Within a minute of skew it still opens.
    clock.advance(Duration::from_secs(90));
    assert_eq!(
        load_value::<AppSession>(&store, "app", &value).await.origin(),
        Origin::Restored
    );
    // The clock is now 30 s before the cookie was issued. One second short of the 14-day default
    // max_age it opens; at the deadline it is refused, whatever the browser kept.
    clock.advance(Duration::from_secs(30 + 14 * 24 * 3600 - 1));
    assert_eq!(
        load_value::<AppSession>(&store, "app", &value).await.origin(),
        Origin::Restored
    );
    clock.advance(Duration::from_secs(1));
    let late = load_value::<AppSession>(&store, "app", &value).await;
    assert_eq!(late.rejection(), Some(Rejection::Expired));
}

#[tokio::test]
async fn a_refused_cookie_is_cleared_on_save_and_the_request_goes_on() {
    let (store, mut browser, _) = signed_in().await;
    browser.set("app", "garbage");
    let mut session = browser.load::<AppSession>(&store).await;
    assert_eq!(session.rejection(), Some(Rejection::Malformed));
    let sent = browser.save(&store, &mut session).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].max_age(), Some(cookie::time::Duration::ZERO));
    assert_eq!(browser.cookie("app"), None);
}

#[tokio::test]
async fn a_bad_duplicate_does_not_hide_the_good_cookie() {
    let (store, browser, _) = signed_in().await;
    let good = browser.cookie("app").unwrap();
    let mut request = HeaderMap::new();
    request.insert(
        http::header::COOKIE,
        format!("app=broken; app={good}").parse().unwrap(),
    );
    let session = store.load::<AppSession>(&request).await.unwrap();
    assert_eq!(session.user_id, Some(7));
}

#[tokio::test]
async fn keys_rotate_without_signing_anybody_out() {
    let clock = ManualClock::at_unix(START);
    let old = Key::generate();
    let before = store(Keys::new(old.clone()), &clock);
    let mut browser = Browser::default();
    browser
        .change(&before, |s: &mut AppSession| s.user_id = Some(7))
        .await;

    // Deploy with a new primary key; the old one stays as a fallback.
    let new = Key::generate();
    let rotated = store(Keys::new(new.clone()).with_fallback(old), &clock);
    let mut session = browser.load::<AppSession>(&rotated).await;
    assert_eq!(session.user_id, Some(7));
    // Nothing changed, yet the cookie is re-sealed with the new key.
    let sent = browser.save(&rotated, &mut session).await;
    assert_eq!(sent.len(), 1);

    // Later the old key is dropped: the re-sealed cookie still opens.
    let after = store(Keys::new(new), &clock);
    assert_eq!(browser.load::<AppSession>(&after).await.user_id, Some(7));
    // And a re-sealed cookie is not re-sent on every request.
    let mut session = browser.load::<AppSession>(&after).await;
    assert!(browser.save(&after, &mut session).await.is_empty());
}

#[tokio::test]
async fn a_session_too_large_for_a_cookie_is_an_error_naming_the_size() {
    let clock = ManualClock::at_unix(START);
    let store = store(Keys::new(Key::generate()), &clock);
    let mut session = store.load::<AppSession>(&HeaderMap::new()).await.unwrap();
    session.name = "x".repeat(3000);
    let mut response = HeaderMap::new();
    match store.save(&mut session, &mut response).await {
        Err(SaveError::TooLarge {
            cookie: "app",
            size,
            limit: 4096,
        }) => assert!(size > 4096, "{size}"),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert!(
        response.is_empty(),
        "nothing is sent when the cookie does not fit"
    );
    // The data is still in the handle, and a smaller value then saves.
    assert_eq!(session.name.len(), 3000);
    session.name.truncate(100);
    store.save(&mut session, &mut response).await.unwrap();
    assert_eq!(response.len(), 1);
}

#[tokio::test]
async fn signed_cookies_are_readable_but_not_changeable() {
    let clock = ManualClock::at_unix(START);
    let store = store(Keys::new(Key::generate()), &clock);
    let mut browser = Browser::default();
    browser
        .change(&store, |s: &mut Readable| s.name = "visible name".into())
        .await;
    let value = browser.cookie("readable").unwrap().to_owned();
    let bytes = URL_SAFE_NO_PAD.decode(&value).unwrap();
    let at = bytes
        .windows(12)
        .position(|w| w == b"visible name")
        .expect("readable payload");
    let mut forged = bytes.clone();
    forged[at] = b'V';
    let session = load_value::<Readable>(&store, "readable", &URL_SAFE_NO_PAD.encode(forged)).await;
    assert_eq!(session.rejection(), Some(Rejection::Tampered));
    assert_eq!(
        load_value::<Readable>(&store, "readable", &value).await.name,
        "visible name"
    );
}

#[tokio::test]
async fn a_new_session_that_stays_empty_sends_no_cookie() {
    let clock = ManualClock::at_unix(START);
    let store = store(Keys::new(Key::generate()), &clock);
    let mut browser = Browser::default();
    let mut session = browser.load::<AppSession>(&store).await;
    assert_eq!(session.origin(), Origin::New);
    assert!(browser.save(&store, &mut session).await.is_empty());
    // Saving twice after a change sends one cookie, not two.
    session.user_id = Some(1);
    assert_eq!(browser.save(&store, &mut session).await.len(), 1);
    assert!(browser.save(&store, &mut session).await.is_empty());
}

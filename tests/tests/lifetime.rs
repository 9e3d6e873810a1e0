//! How long sessions live: absolute `max_age`, sliding `idle_timeout`, browser-session cookies,
//! "remember me", and `destroy`. Time moves through an injected clock.

use sessions::clock::ManualClock;
use sessions::session::Origin;
use sessions::{CookieStore, Key, Keys, Rejection, Session};
use sessions_tests::{Browser, on_cookies};
use std::time::Duration;

const MINUTE: u64 = 60;
const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

#[derive(Session, Default)]
#[session(
    cookie = "__Host-app",
    max_age = "14d",
    idle_timeout = "2h",
    same_site = "strict"
)]
struct AppSession {
    user_id: Option<u64>,
}

#[derive(Session, Default)]
#[session(cookie = "login", max_age = "30d", session_only, partitioned)]
struct Login {
    user_id: Option<u64>,
}

/// [`on_cookies`], with user 7 signed in.
async fn signed_in() -> (CookieStore, ManualClock, Browser) {
    let (store, clock, mut browser) = on_cookies();
    browser
        .change(&store, |s: &mut AppSession| s.user_id = Some(7))
        .await;
    (store, clock, browser)
}

fn advance(clock: &ManualClock, seconds: u64) {
    clock.advance(Duration::from_secs(seconds));
}

#[tokio::test]
async fn an_active_visitor_stays_while_an_idle_one_is_signed_out() {
    let (store, clock, mut browser) = signed_in().await;

    // Requests every 100 minutes, each under the 2-hour idle timeout, keep the session alive for a day.
    for _ in 0..15 {
        advance(&clock, 100 * MINUTE);
        let mut session = browser.load::<AppSession>(&store).await;
        assert_eq!(session.user_id, Some(7));
        browser.save(&store, &mut session).await;
    }
    // Two hours without a request end it.
    advance(&clock, 2 * HOUR);
    let session = browser.load::<AppSession>(&store).await;
    assert_eq!(session.rejection(), Some(Rejection::Expired));
    assert_eq!(session.user_id, None);
}

#[tokio::test]
async fn an_unchanged_session_is_reissued_only_once_a_tenth_of_the_idle_window_has_passed() {
    let (store, clock, mut browser) = signed_in().await;

    advance(&clock, 11 * MINUTE); // under 12 minutes: a tenth of 2 hours
    let mut session = browser.load::<AppSession>(&store).await;
    assert!(browser.save(&store, &mut session).await.is_empty());

    advance(&clock, MINUTE);
    let mut session = browser.load::<AppSession>(&store).await;
    let sent = browser.save(&store, &mut session).await;
    assert_eq!(sent.len(), 1, "refreshed after 12 minutes");
    // The refreshed cookie's Max-Age is the idle window again.
    assert_eq!(
        sent[0].max_age(),
        Some(cookie::time::Duration::seconds((2 * HOUR) as i64))
    );
}

#[tokio::test]
async fn max_age_ends_even_an_active_session() {
    let (store, clock, mut browser) = signed_in().await;
    let created = browser.load::<AppSession>(&store).await.created_at();
    let mut elapsed = 0;
    while elapsed + HOUR < 14 * DAY {
        advance(&clock, HOUR);
        elapsed += HOUR;
        let mut session = browser.load::<AppSession>(&store).await;
        assert_eq!(session.user_id, Some(7), "after {elapsed} s");
        assert_eq!(
            session.created_at(),
            created,
            "activity does not move the creation time"
        );
        browser.save(&store, &mut session).await;
    }
    advance(&clock, 14 * DAY - elapsed);
    let session = browser.load::<AppSession>(&store).await;
    assert_eq!(session.rejection(), Some(Rejection::Expired));
}

#[tokio::test]
async fn cookies_carry_the_declared_attributes() {
    let (store, _, mut browser) = on_cookies();
    let sent = browser
        .change(&store, |s: &mut AppSession| s.user_id = Some(7))
        .await;
    let cookie = &sent[0];
    assert_eq!(cookie.name(), "__Host-app");
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.same_site(), Some(cookie::SameSite::Strict));
    assert_eq!(cookie.path(), Some("/"));
    assert_eq!(cookie.domain(), None);
    // Persistent by default: the idle window, shorter than what max_age leaves.
    assert_eq!(
        cookie.max_age(),
        Some(cookie::time::Duration::seconds((2 * HOUR) as i64))
    );
}

#[tokio::test]
async fn session_only_cookies_have_no_max_age_yet_expire_on_the_server() {
    let (store, clock, mut browser) = on_cookies();
    let sent = browser.change(&store, |s: &mut Login| s.user_id = Some(7)).await;
    assert_eq!(sent[0].max_age(), None);
    assert_eq!(sent[0].expires(), None);
    assert_eq!(sent[0].partitioned(), Some(true));
    // The browser never closes; the server still ends the session at max_age.
    advance(&clock, 30 * DAY);
    assert_eq!(browser.rejection::<Login>(&store).await, Some(Rejection::Expired));
}

#[tokio::test]
async fn remember_me_switches_persistence_and_the_choice_sticks() {
    let (store, clock, mut browser) = on_cookies();
    let mut login = browser.load::<Login>(&store).await;
    login.user_id = Some(7);
    assert!(!login.is_persistent());
    login.set_persistent(true); // the visitor ticked "remember me"
    let sent = browser.save(&store, &mut login).await;
    assert_eq!(
        sent[0].max_age(),
        Some(cookie::time::Duration::seconds((30 * DAY) as i64))
    );

    // A day later the choice is still there, and nothing is re-sent for it.
    advance(&clock, DAY);
    let mut login = browser.load::<Login>(&store).await;
    assert!(login.is_persistent());
    assert!(browser.save(&store, &mut login).await.is_empty());

    // Switching it off re-issues a browser-session cookie, and that sticks too.
    login.set_persistent(false);
    let sent = browser.save(&store, &mut login).await;
    assert_eq!(sent[0].max_age(), None);
    let login = browser.load::<Login>(&store).await;
    assert!(!login.is_persistent());
    assert_eq!(login.user_id, Some(7));
}

#[tokio::test]
async fn destroy_sends_a_removal_with_the_same_attributes() {
    let (store, _, mut browser) = signed_in().await;

    let mut session = browser.load::<AppSession>(&store).await;
    session.destroy();
    assert_eq!(session.user_id, None);
    let sent = browser.save(&store, &mut session).await;
    let removal = &sent[0];
    assert_eq!(removal.name(), "__Host-app");
    assert_eq!(removal.value(), "");
    assert_eq!(removal.max_age(), Some(cookie::time::Duration::ZERO));
    assert_eq!(removal.secure(), Some(true));
    assert_eq!(removal.path(), Some("/"));
    assert_eq!(removal.same_site(), Some(cookie::SameSite::Strict));
    assert_eq!(browser.cookie("__Host-app"), None);
    assert_eq!(browser.load::<AppSession>(&store).await.origin(), Origin::New);
}

/// A hand-written session with every lifetime at its largest value: nothing the derive would accept,
/// but a public constructor must take it.
#[derive(Default)]
struct Forever {
    visits: u8,
}

impl Session for Forever {
    const CONFIG: sessions::config::Config = sessions::config::Config::new("Forever", "forever")
        .max_age(Duration::MAX)
        .idle_timeout(Duration::MAX);
    const FIELDS: &'static [sessions::session::Field] =
        &[sessions::session::Field::new("visits", "u8").max_age(Duration::MAX)];

    fn encode_field(&self, _: usize, out: &mut Vec<u8>) -> Result<(), sessions::FieldError> {
        out.push(self.visits);
        Ok(())
    }

    fn decode_field(&mut self, _: usize, bytes: &[u8]) -> Result<(), sessions::FieldError> {
        self.visits = bytes.first().copied().unwrap_or_default();
        Ok(())
    }
}

async fn lifetimes_are_cut_on(store: &impl sessions::Store) {
    let mut browser = Browser::default();
    let mut session = browser.load::<Forever>(store).await;
    session.visits = 3;
    let sent = browser.save(store, &mut session).await;
    assert_eq!(sent[0].max_age(), Some(cookie::time::Duration::days(400)));
    let session = browser.load::<Forever>(store).await;
    assert_eq!(session.visits, 3);
    assert!(session.expires_at() > std::time::SystemTime::now());
}

#[tokio::test]
async fn lifetimes_past_what_browsers_keep_are_cut_to_400_days_never_a_panic() {
    assert_eq!(
        Forever::CONFIG.lifetime().max_age(),
        sessions::config::Config::MAX_LIFETIME
    );
    assert_eq!(
        Forever::CONFIG.lifetime().idle_timeout(),
        Some(sessions::config::Config::MAX_LIFETIME)
    );
    assert_eq!(
        Forever::FIELDS[0].lifetime(),
        Some(sessions::config::Config::MAX_LIFETIME)
    );
    lifetimes_are_cut_on(&CookieStore::new(Keys::new(Key::generate()))).await;
    lifetimes_are_cut_on(&sessions::store::MemoryStore::new(Keys::new(Key::generate()))).await;
}

#[test]
fn a_manual_clock_at_any_time_reads_without_a_panic() {
    use sessions::clock::Clock as _;
    let clock = ManualClock::at_unix(u64::MAX);
    clock.advance(Duration::MAX);
    assert!(clock.now() > std::time::UNIX_EPOCH);
}

//! Per-field behaviour of derived sessions, through a real store: flash fields, fields with their own
//! `max_age`, and structs that change between two deploys.

use sessions::clock::ManualClock;
use sessions::session::{ResetField, ResetReason};
use sessions::{CookieStore, Key, Keys, Session};
use sessions_tests::{Browser, on_cookies};
use std::time::Duration;

#[derive(Session, Default)]
#[session(cookie = "app", max_age = "14d")]
struct AppSession {
    user_id: Option<u64>,
    #[flash]
    notice: Option<String>,
    #[flash]
    errors: Vec<String>,
    #[max_age("10m")]
    login_code: Option<String>,
}

/// [`on_cookies`], with user 7 sent the one-time code `123456`.
async fn code_sent() -> (CookieStore, ManualClock, Browser) {
    let (store, clock, mut browser) = on_cookies();
    let change = |s: &mut AppSession| {
        s.user_id = Some(7);
        s.login_code = Some("123456".into());
    };
    browser.change(&store, change).await;
    (store, clock, browser)
}

#[tokio::test]
async fn a_session_knows_whether_it_changed() {
    let (store, _, mut browser) = on_cookies();
    let mut session = browser.load::<AppSession>(&store).await;
    assert!(!session.is_changed(), "a new session at its defaults");
    session.user_id = Some(7);
    assert!(session.is_changed());
    browser.save(&store, &mut session).await;
    assert!(!session.is_changed(), "saved");

    let mut session = browser.load::<AppSession>(&store).await;
    assert!(!session.is_changed(), "loaded as stored");
    session.user_id = Some(7); // the same value again
    assert!(!session.is_changed());
    session.flash_notice("hello".into());
    assert!(session.is_changed());
    session.take_notice();
    assert!(!session.is_changed(), "back to what was loaded");
    session.set_persistent(false);
    assert!(session.is_changed(), "remember me switched");
}

#[tokio::test]
async fn a_flash_is_set_read_once_then_gone() {
    let (store, _, mut browser) = on_cookies();
    // Request 1: sign-in handler sets a flash and redirects.
    let mut session = browser.load::<AppSession>(&store).await;
    session.user_id = Some(7);
    session.flash_notice("Signed in".into());
    browser.save(&store, &mut session).await;
    // Request 2: the page after the redirect shows it.
    let mut session = browser.load::<AppSession>(&store).await;
    assert_eq!(session.take_notice().as_deref(), Some("Signed in"));
    browser.save(&store, &mut session).await;
    // Request 3: a reload does not show it again.
    let mut session = browser.load::<AppSession>(&store).await;
    assert_eq!(session.take_notice(), None);
    assert_eq!(session.user_id, Some(7));
}

#[tokio::test]
async fn unread_flashes_survive_requests_and_a_vec_keeps_order() {
    let (store, _, mut browser) = on_cookies();
    let mut session = browser.load::<AppSession>(&store).await;
    session.flash_errors("name is required".into());
    session.flash_errors("email is invalid".into());
    browser.save(&store, &mut session).await;
    for _ in 0..3 {
        // Pages that do not show flashes leave them alone.
        browser
            .change(&store, |s: &mut AppSession| s.user_id = Some(1))
            .await;
    }
    let mut session = browser.load::<AppSession>(&store).await;
    session.flash_errors("password too short".into());
    browser.save(&store, &mut session).await;
    let mut session = browser.load::<AppSession>(&store).await;
    assert_eq!(
        session.take_errors(),
        ["name is required", "email is invalid", "password too short"]
    );
    browser.save(&store, &mut session).await;
    assert!(browser.load::<AppSession>(&store).await.errors.is_empty());
}

#[tokio::test]
async fn a_field_with_its_own_max_age_resets_alone_and_restarts_when_set_again() {
    let (store, clock, mut browser) = code_sent().await;

    clock.advance(Duration::from_secs(9 * 60 + 59));
    let mut session = browser.load::<AppSession>(&store).await;
    assert_eq!(
        session.login_code.as_deref(),
        Some("123456"),
        "present before the deadline"
    );
    // Another field changes: the code's clock does not restart.
    session.flash_notice("hello".into());
    browser.save(&store, &mut session).await;

    clock.advance(Duration::from_secs(1));
    let mut session = browser.load::<AppSession>(&store).await;
    assert_eq!(session.login_code, None, "gone 10 minutes after it was set");
    assert_eq!(session.user_id, Some(7), "the rest of the session is kept");
    assert_eq!(session.notice.as_deref(), Some("hello"));
    assert_eq!(
        session.reset_fields(),
        [ResetField {
            field: "login_code",
            reason: ResetReason::Expired
        }]
    );
    // Setting it again starts a new 10 minutes.
    session.login_code = Some("654321".into());
    browser.save(&store, &mut session).await;
    clock.advance(Duration::from_secs(9 * 60));
    let mut session = browser.load::<AppSession>(&store).await;
    assert_eq!(session.login_code.as_deref(), Some("654321"));
    // Changing its value restarts it too.
    session.login_code = Some("000000".into());
    browser.save(&store, &mut session).await;
    clock.advance(Duration::from_secs(9 * 60));
    assert_eq!(
        browser.load::<AppSession>(&store).await.login_code.as_deref(),
        Some("000000")
    );
}

#[derive(Session, Default)]
#[session(cookie = "cart")]
struct Cart {
    items: Vec<u32>,
}

#[tokio::test]
async fn several_session_types_per_request_each_with_its_own_cookie() {
    let (store, _, mut browser) = on_cookies();
    let mut app = browser.load::<AppSession>(&store).await;
    let mut cart = browser.load::<Cart>(&store).await;
    app.user_id = Some(7);
    cart.items.push(42);
    browser.save(&store, &mut app).await;
    browser.save(&store, &mut cart).await;
    assert!(browser.cookie("app").is_some() && browser.cookie("cart").is_some());

    // Saved independently: clearing the cart leaves the sign-in alone.
    let mut cart = browser.load::<Cart>(&store).await;
    cart.destroy();
    browser.save(&store, &mut cart).await;
    assert_eq!(browser.cookie("cart"), None);
    assert_eq!(browser.load::<AppSession>(&store).await.user_id, Some(7));
}

#[tokio::test]
async fn a_field_with_its_own_max_age_left_at_its_default_never_expires_and_sends_nothing() {
    let (store, clock, mut browser) = on_cookies();
    let mut session = browser.load::<AppSession>(&store).await;
    session.user_id = Some(7); // `login_code` is never set
    browser.save(&store, &mut session).await;

    for _ in 0..3 {
        clock.advance(Duration::from_secs(11 * 60));
        let mut session = browser.load::<AppSession>(&store).await;
        assert!(session.reset_fields().is_empty(), "{:?}", session.reset_fields());
        assert!(
            browser.save(&store, &mut session).await.is_empty(),
            "nothing changed: no Set-Cookie"
        );
    }
}

#[tokio::test]
async fn an_expired_field_is_reported_once_then_is_a_default_like_any_other() {
    let (store, clock, mut browser) = code_sent().await;

    clock.advance(Duration::from_secs(10 * 60));
    let mut session = browser.load::<AppSession>(&store).await;
    assert_eq!(session.reset_fields().len(), 1);
    // The cookie still holds the expired value: it is re-sent once without it.
    assert_eq!(browser.save(&store, &mut session).await.len(), 1);

    for _ in 0..3 {
        clock.advance(Duration::from_secs(11 * 60));
        let mut session = browser.load::<AppSession>(&store).await;
        assert!(session.reset_fields().is_empty(), "{:?}", session.reset_fields());
        assert!(browser.save(&store, &mut session).await.is_empty());
    }
}

/// The same session before and after a deploy that renames fields in Rust only.
mod rename_before {
    #[derive(sessions::Session, Default)]
    #[session(cookie = "renamed")]
    pub struct AppSession {
        pub cart: Vec<u32>,
        pub r#type: Option<String>,
    }
}

mod rename_after {
    #[derive(sessions::Session, Default)]
    #[session(cookie = "renamed")]
    pub struct AppSession {
        #[session(rename = "cart")]
        pub basket: Vec<u32>,
        pub r#type: Option<u32>,
    }
}

#[tokio::test]
async fn a_field_renamed_in_rust_keeps_the_value_stored_under_its_old_name() {
    let (store, _, mut browser) = on_cookies();
    let mut before = browser.load::<rename_before::AppSession>(&store).await;
    before.cart = vec![3, 1];
    before.r#type = Some("admin".into());
    browser.save(&store, &mut before).await;

    let after = browser.load::<rename_after::AppSession>(&store).await;
    assert_eq!(after.basket, [3, 1]);
    assert_eq!(after.r#type, None);
    // A raw identifier is reported as users and serde spell it.
    assert_eq!(
        after.reset_fields(),
        [ResetField {
            field: "type",
            reason: ResetReason::TypeChanged
        }]
    );
}

/// `costarring` and `liquid` hash to the same 32-bit tag; the derive refuses them side by side until
/// one is stored under another name.
#[derive(Session, Default)]
#[session(cookie = "credits")]
struct Credits {
    costarring: Option<u64>,
    #[session(rename = "liquid_v2")]
    liquid: Option<u64>,
}

#[tokio::test]
async fn names_whose_tags_collide_keep_their_own_values_once_one_is_renamed() {
    let store = sessions::store::MemoryStore::new(Keys::new(Key::generate()));
    let mut browser = Browser::default();
    browser
        .change(&store, |s: &mut Credits| s.costarring = Some(1))
        .await;

    // Two requests loaded at once, each changing one field: the server store merges them per field.
    let mut a = browser.load::<Credits>(&store).await;
    let mut b = browser.load::<Credits>(&store).await;
    a.costarring = Some(10);
    b.liquid = Some(20);
    browser.save(&store, &mut a).await;
    browser.save(&store, &mut b).await;

    let merged = browser.load::<Credits>(&store).await;
    assert_eq!((merged.costarring, merged.liquid), (Some(10), Some(20)));
    assert!(merged.reset_fields().is_empty());
}

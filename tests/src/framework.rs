//! The framework contract: what every integration of the session layer keeps, whichever framework
//! it adapts. [`framework_contract!`](crate::framework_contract) runs it over a [`Framework`] as one
//! test per promise: lazy loading, several types per handler, what is saved into which responses,
//! failed saves and loads, misuse, hostile cookies, listing errors, cache headers.
//!
//! A framework under test is a small harness: the contract's routes written with its handlers and
//! responses ([`Framework::serve`]), and a way to call them ([`Framework::get`]).
//!
//! ```text
//! struct Axum(axum::Router);
//! impl Framework for Axum { ... }
//! sessions_tests::framework_contract!(axum: Axum, #[tokio::test]);
//! ```

use std::future::Future;
use std::sync::atomic::Ordering;

use http::StatusCode;
use sessions::layer::SessionLayer;
use sessions::store::ServerStore;
use sessions::{CookieStore, Key, Keys, Session};

use crate::Watched;

/// The session kept on the server in most promises: who is signed in, and a flash message.
#[derive(Session, Default, Debug)]
#[session(cookie = "account")]
pub struct Account {
    /// Who is signed in.
    pub user: Option<u64>,
    /// Set at sign-in, read once by `/whoami`.
    #[flash]
    pub notice: Option<String>,
}

/// The session kept in its cookie in most promises.
#[derive(Session, Default, Debug)]
#[session(cookie = "cart")]
pub struct Cart {
    /// What is in the cart.
    pub items: Vec<u32>,
}

/// The body `/own-answer` answers a session it could not load with.
pub const OWN_ANSWER: &str = "the session store is resting; try again in a moment";

/// An app on one framework, serving the contract's routes, each a `GET`:
/// - `/sign-in`: `Account` and `Cart` in that order; sets `user` to 7, cycles the account's id,
///   sets the notice `"welcome"`, pushes 1 to the cart; answers `ok`.
/// - `/sign-in-cart-first`: the same, extracting `Cart` first.
/// - `/fail`: sets `user` to 7 and answers 500 with an empty body.
/// - `/plain`: no session; answers `no session here`.
/// - `/twice`: extracts `Account` twice; answers `unreachable`.
/// - `/whoami`: `Account`; answers `format!("{:?} {:?}", user, notice taken)`.
/// - `/sign-out`: destroys `Account`; answers 200.
/// - `/own-answer`: `Result` of `Account`; 200 when it loaded, else the error's status with
///   [`OWN_ANSWER`].
/// - `/own-cache`: pushes 2 to the cart; answers `mine` with `Cache-Control: no-cache` and
///   `Vary: Accept-Encoding`.
///
/// The devices app ([`Framework::devices`]) serves `/devices`: the number of sessions of owner 7
/// (`Owner::of::<Account>(&7u64)`) its store lists, or the listing's error as the framework's
/// answer to `OwnersError`.
pub trait Framework: Sized {
    /// The app behind `layer`, or with no layer at all.
    fn serve(layer: Option<SessionLayer>) -> impl Future<Output = Self>;

    /// The devices app on `store`.
    fn devices<St: sessions::Store + Clone>(store: St) -> impl Future<Output = Self>;

    /// Calls `GET path` with `cookie` as the request's `Cookie` header.
    fn get(&self, path: &str, cookie: Option<&[u8]>) -> impl Future<Output = Answer>;
}

/// What a response says: its status, its `Set-Cookie` pairs (`name=value`, a removal as `name=`),
/// the headers the contract looks at, and its body.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// `name=value` of each `Set-Cookie` line.
    pub cookies: Vec<String>,
    /// `Retry-After`.
    pub retry_after: Option<String>,
    /// `Location`.
    pub location: Option<String>,
    /// Every `Vary` value.
    pub vary: Vec<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// The body, as text.
    pub body: String,
}

impl Answer {
    /// Asserts that this is a 500 whose body says each of `saying`.
    pub fn assert_fault(&self, saying: &[&str]) {
        assert_eq!(self.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", self.body);
        for words in saying {
            assert!(self.body.contains(words), "{words} missing from {}", self.body);
        }
    }
}

/// Runs the framework contract over the [`Framework`] `$framework`, one test per promise under the
/// test attribute given (`#[tokio::test]`, `#[actix_web::test]`), in a module named `$module`.
#[macro_export]
macro_rules! framework_contract {
    ($module:ident: $framework:ty, #[$test:meta]) => {
        $crate::framework_contract!(@tests $module, $framework, $test,
            two_session_types_from_two_stores_in_one_handler_and_a_flash_read_once,
            sessions_load_lazily, cycle_id_moves_the_session_and_destroy_ends_it,
            nothing_is_saved_into_a_server_error_unless_asked,
            a_failed_save_is_a_503_to_retry_not_a_lost_write,
            one_sessions_failed_save_keeps_the_others_cookie,
            the_app_can_answer_a_failed_save_or_load_its_own_way,
            an_unreachable_store_is_a_503_to_retry_not_a_sign_out,
            misuse_is_a_500_whose_body_names_the_fix_in_debug_builds,
            hostile_cookie_headers_give_a_fresh_session_or_leave_the_real_one_alone,
            listing_errors_are_answers_with_their_status,
            responses_that_use_a_session_tell_shared_caches);
    };
    (@tests $module:ident, $framework:ty, $test:meta, $($promise:ident),*) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[$test]
                async fn $promise() {
                    $crate::framework::$promise::<$framework>().await;
                }
            )*
        }
    };
}

/// `GET path` with `cookies` (`name=value` pairs) as the `Cookie` header.
async fn call<F: Framework>(app: &F, path: &str, cookies: &[String]) -> Answer {
    let header = cookies.join("; ");
    app.get(path, (!cookies.is_empty()).then_some(header.as_bytes()))
        .await
}

/// A server store that can go down, and a cookie store, on one key.
fn stores() -> (ServerStore<Watched>, CookieStore) {
    let keys = Keys::new(Key::generate());
    (
        ServerStore::with_backend(Watched::default(), keys.clone()),
        CookieStore::new(keys),
    )
}

/// The app with accounts on `server` and carts in `cookies`.
async fn on_both<F: Framework>(server: &ServerStore<Watched>, cookies: CookieStore) -> F {
    F::serve(Some(
        SessionLayer::new()
            .with::<Account>(server.clone())
            .with::<Cart>(cookies),
    ))
    .await
}

/// The app on new [`stores`], and its server store (to look into, or to take down).
async fn started<F: Framework>() -> (ServerStore<Watched>, F) {
    let (server, cookies) = stores();
    let app = on_both(&server, cookies).await;
    (server, app)
}

/// The cookies among `cookies` named `name`.
fn named(cookies: &[String], name: &str) -> Vec<String> {
    let prefix = format!("{name}=");
    cookies
        .iter()
        .filter(|cookie| cookie.starts_with(&prefix))
        .cloned()
        .collect()
}

/// Two session types from two stores in one handler, each in its own cookie; a flash is read once.
pub async fn two_session_types_from_two_stores_in_one_handler_and_a_flash_read_once<F: Framework>() {
    let (server, app): (_, F) = started().await;
    let signed_in = call(&app, "/sign-in", &[]).await;
    assert_eq!(signed_in.status, StatusCode::OK);
    assert_eq!(signed_in.cookies.len(), 2);
    assert_eq!(named(&signed_in.cookies, "account").len(), 1);
    assert_eq!(named(&signed_in.cookies, "cart").len(), 1);
    assert_eq!(
        server.backend().inner.len(),
        1,
        "the account is on the server, the cart in its cookie"
    );
    let first = call(&app, "/whoami", &signed_in.cookies).await;
    assert_eq!(first.body, r#"Some(7) Some("welcome")"#);
    let second = call(&app, "/whoami", &signed_in.cookies).await;
    assert_eq!(second.body, "Some(7) None", "a flash is read once");
}

/// A handler that uses no session costs no store access and sends no cookie.
pub async fn sessions_load_lazily<F: Framework>() {
    let (server, app): (_, F) = started().await;
    let signed_in = call(&app, "/sign-in", &[]).await.cookies;
    let before = server.backend().loads.load(Ordering::SeqCst);
    let answer = call(&app, "/plain", &signed_in).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, "no session here");
    assert_eq!(
        server.backend().loads.load(Ordering::SeqCst),
        before,
        "no store access"
    );
    assert!(answer.cookies.is_empty());
}

/// `cycle_id` through the extractor moves the session to a new id; `destroy` removes it and its
/// cookie.
pub async fn cycle_id_moves_the_session_and_destroy_ends_it<F: Framework>() {
    let (server, app): (_, F) = started().await;
    let anonymous = call(&app, "/fail", &[]).await; // nothing stored: a 500
    assert!(anonymous.cookies.is_empty());
    let account = named(&call(&app, "/sign-in", &[]).await.cookies, "account");
    // Signing in again cycles the id: a new account cookie, and the old one no longer loads.
    let moved = named(&call(&app, "/sign-in", &account).await.cookies, "account");
    assert_eq!(moved.len(), 1);
    assert_ne!(moved, account);
    assert!(call(&app, "/whoami", &account).await.body.starts_with("None"));
    assert!(call(&app, "/whoami", &moved).await.body.starts_with("Some(7)"));

    let signed_out = call(&app, "/sign-out", &moved).await;
    assert_eq!(signed_out.cookies, ["account="], "the cookie is removed");
    assert!(call(&app, "/whoami", &moved).await.body.starts_with("None"));
    assert_eq!(
        server.backend().inner.len(),
        1,
        "the record is gone; only the forward the cycle left under the old id, for its grace"
    );
}

/// A 5xx gets no session saved into it, unless the layer is asked to.
pub async fn nothing_is_saved_into_a_server_error_unless_asked<F: Framework>() {
    let (server, _) = stores();
    let app = F::serve(Some(SessionLayer::new().with::<Account>(server.clone()))).await;
    let answer = call(&app, "/fail", &[]).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(answer.cookies.is_empty());
    assert!(server.backend().inner.is_empty());

    let asked = F::serve(Some(
        SessionLayer::new()
            .with::<Account>(server.clone())
            .save_on_server_error(true),
    ))
    .await;
    assert_eq!(call(&asked, "/fail", &[]).await.cookies.len(), 1);
    assert_eq!(server.backend().inner.len(), 1);
}

/// A save that fails is a 503 with `Retry-After` in place of the handler's answer, never a write
/// lost behind a 200.
pub async fn a_failed_save_is_a_503_to_retry_not_a_lost_write<F: Framework>() {
    let (server, app): (_, F) = started().await;
    server.backend().down.store(true, Ordering::SeqCst);
    let answer = call(&app, "/sign-in", &[]).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.retry_after.as_deref(), Some("5"));
    assert!(answer.body.is_empty(), "not the handler's body: {}", answer.body);
}

/// When one session of a request fails to save, the others are saved all the same and their
/// cookies ride on the 503, whichever of them is saved first: signing in is kept when the cart's
/// store is down, and the cart when the account's is.
pub async fn one_sessions_failed_save_keeps_the_others_cookie<F: Framework>() {
    for path in ["/sign-in", "/sign-in-cart-first"] {
        let (down, cookies) = stores();
        let app = F::serve(Some(
            SessionLayer::new()
                .with::<Account>(cookies)
                .with::<Cart>(down.clone()),
        ))
        .await;
        down.backend().down.store(true, Ordering::SeqCst);
        let answer = call(&app, path, &[]).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(answer.cookies.len(), 1, "{:?}", answer.cookies);
        assert!(answer.cookies[0].starts_with("account="), "{:?}", answer.cookies);
        let whoami = call(&app, "/whoami", &answer.cookies).await;
        assert!(
            whoami.body.starts_with("Some(7)"),
            "still signed in: {}",
            whoami.body
        );
    }
    let (server, app): (_, F) = started().await;
    server.backend().down.store(true, Ordering::SeqCst);
    let answer = call(&app, "/sign-in", &[]).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.cookies.len(), 1, "{:?}", answer.cookies);
    assert!(answer.cookies[0].starts_with("cart="), "{:?}", answer.cookies);
}

/// The app shapes the answer to a failed save with `on_save_error`, and to a failed load by
/// extracting a `Result`.
pub async fn the_app_can_answer_a_failed_save_or_load_its_own_way<F: Framework>() {
    let (server, cookies) = stores();
    let app = F::serve(Some(
        SessionLayer::new()
            .with::<Account>(server.clone())
            .with::<Cart>(cookies)
            .on_save_error(|error, response| {
                assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
                response.status = StatusCode::SEE_OTHER;
                response
                    .headers
                    .insert(http::header::LOCATION, "/try-again".parse().unwrap());
            }),
    ))
    .await;
    let signed_in = call(&app, "/sign-in", &[]).await.cookies;
    server.backend().down.store(true, Ordering::SeqCst);
    let answer = call(&app, "/sign-in", &[]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location.as_deref(), Some("/try-again"));
    let answer = call(&app, "/own-answer", &signed_in).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.body, OWN_ANSWER);
}

/// A store that cannot be reached is a 503 with `Retry-After` whose body (in debug builds) names
/// the session and the cause; the client's cookie is left alone, and works once the store is back.
pub async fn an_unreachable_store_is_a_503_to_retry_not_a_sign_out<F: Framework>() {
    let (server, app): (_, F) = started().await;
    let signed_in = call(&app, "/sign-in", &[]).await.cookies;
    server.backend().down.store(true, Ordering::SeqCst);
    let answer = call(&app, "/whoami", &signed_in).await;
    assert!(answer.cookies.is_empty(), "the client's cookie is left alone");
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.retry_after.as_deref(), Some("5"));
    assert!(
        answer.body.contains("failed to load the `account` session"),
        "{}",
        answer.body
    );
    assert!(
        answer.body.contains(": the session database is down"),
        "the cause, in debug builds: {}",
        answer.body
    );
    server.backend().down.store(false, Ordering::SeqCst);
    let answer = call(&app, "/whoami", &signed_in).await;
    assert!(answer.body.starts_with("Some(7)"), "{}", answer.body);
}

/// A type not registered, a type extracted twice, no layer at all: each a 500 whose body (in
/// debug builds) says how to fix it.
pub async fn misuse_is_a_500_whose_body_names_the_fix_in_debug_builds<F: Framework>() {
    let (server, _) = stores();
    // Cart is not registered; Account is extracted twice.
    let app = F::serve(Some(SessionLayer::new().with::<Account>(server))).await;
    let answer = call(&app, "/sign-in", &[]).await;
    answer.assert_fault(&[
        "`Cart` is not registered",
        "SessionLayer::new().with::<Cart>(store)",
    ]);
    call(&app, "/twice", &[]).await.assert_fault(&["already in use"]);
    // No layer at all.
    let bare: F = F::serve(None).await;
    call(&bare, "/whoami", &[])
        .await
        .assert_fault(&["no SessionLayer"]);
}

/// Bytes that are no cookie, a tampered value, an oversized one, thousands of values: a fresh
/// session, never an error; and foreign bytes beside the real cookie sign nobody out.
pub async fn hostile_cookie_headers_give_a_fresh_session_or_leave_the_real_one_alone<F: Framework>() {
    let (_, app): (_, F) = started().await;
    let signed_in = call(&app, "/sign-in", &[]).await.cookies;
    let account = named(&signed_in, "account").remove(0);
    let mut tampered = account.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let huge = format!("account={}", "A".repeat(8 * 1024));
    let hostile: [Vec<u8>; 4] = [
        b"account=\xff\xfe\x80; theme=\xc3\x28".to_vec(),
        tampered.into_bytes(),
        huge.into_bytes(),
        "account=x; ".repeat(2_000).into_bytes(),
    ];
    for header in hostile {
        let answer = app.get("/whoami", Some(&header)).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(
            answer.body.starts_with("None"),
            "a fresh session: {}",
            answer.body
        );
    }
    let mut header = format!("{account}; ").into_bytes();
    header.extend_from_slice(b"tracker=\xff\xfe");
    let answer = app.get("/whoami", Some(&header)).await;
    assert!(answer.body.starts_with("Some(7)"), "{}", answer.body);
}

/// A handler that lists sessions answers a failure with `?`: a store that is down is a 503 to
/// retry, a store that cannot list is a 500 whose body (in debug builds) says why.
pub async fn listing_errors_are_answers_with_their_status<F: Framework>() {
    let (server, cookies) = stores();
    let on_server = F::devices(server.clone()).await;
    let answer = call(&on_server, "/devices", &[]).await;
    assert_eq!((answer.status, answer.body.as_str()), (StatusCode::OK, "0"));
    assert_eq!(answer.retry_after, None);
    server.backend().down.store(true, Ordering::SeqCst);
    let answer = call(&on_server, "/devices", &[]).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.retry_after.as_deref(), Some("5"));

    let on_cookies = F::devices(cookies).await;
    call(&on_cookies, "/devices", &[])
        .await
        .assert_fault(&["cannot list sessions"]);
}

/// Shared caches never keep one user's session for another: a response that read a session
/// varies by `Cookie`; one that sets a session's cookie is `private, no-store`, unless the app said
/// otherwise (its `Cache-Control` is kept, `Cookie` is added to its `Vary`); a response that used no
/// session is left as it is.
pub async fn responses_that_use_a_session_tell_shared_caches<F: Framework>() {
    let (_, app): (_, F) = started().await;
    let answer = call(&app, "/sign-in", &[]).await;
    assert_eq!(answer.vary, ["Cookie"]);
    assert_eq!(answer.cache_control.as_deref(), Some("private, no-store"));
    let signed_in = answer.cookies;
    // Reading the flash changes the session: its cookie is sent again.
    let flash_taken = call(&app, "/whoami", &signed_in).await;
    let signed_in = if flash_taken.cookies.is_empty() {
        signed_in
    } else {
        flash_taken.cookies
    };
    let answer = call(&app, "/whoami", &signed_in).await;
    assert!(answer.cookies.is_empty(), "{:?}", answer.cookies);
    assert_eq!(
        (answer.vary, answer.cache_control),
        (vec!["Cookie".to_owned()], None),
        "read, not set"
    );
    let answer = call(&app, "/plain", &signed_in).await;
    assert_eq!(
        (answer.vary, answer.cache_control),
        (vec![], None),
        "no session used"
    );
    let answer = call(&app, "/own-cache", &signed_in).await;
    assert!(!answer.cookies.is_empty());
    assert_eq!(answer.vary, ["Accept-Encoding", "Cookie"]);
    assert_eq!(
        answer.cache_control.as_deref(),
        Some("no-cache"),
        "the app's own, kept"
    );
}

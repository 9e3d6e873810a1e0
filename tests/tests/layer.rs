//! The session layer and the axum extractor: lazy loading, what is saved into which responses, and
//! what happens when a store fails.

use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::State;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use http::header::COOKIE;
use sessions::axum::{SessionLayer, TypedSession};
use sessions::owner::{Owner, OwnersError};
use sessions::store::ServerStore;
use sessions::{CookieStore, Key, Keys, Store};
use sessions_tests::Watched;
use tower::ServiceExt;

mod layer_app;

use layer_app::{Account, Cart, call, set_cookies, sign_in, whoami};

async fn sign_in_cart_first(cart: TypedSession<Cart>, account: TypedSession<Account>) -> &'static str {
    sign_in(account, cart).await
}

async fn fail_after_change(mut account: TypedSession<Account>) -> StatusCode {
    account.user = Some(7);
    StatusCode::INTERNAL_SERVER_ERROR
}

async fn no_session() -> &'static str {
    "no session here"
}

async fn twice(_first: TypedSession<Account>, _second: TypedSession<Account>) -> &'static str {
    "unreachable"
}

/// Changes the session, and says itself how the response may be cached.
async fn own_cache_headers(mut cart: TypedSession<Cart>) -> impl axum::response::IntoResponse {
    cart.items.push(2);
    (
        [
            (http::header::CACHE_CONTROL, "no-cache"),
            (http::header::VARY, "Accept-Encoding"),
        ],
        "mine",
    )
}

fn app(layer: SessionLayer) -> Router {
    Router::new()
        .route("/own-cache", get(own_cache_headers))
        .route("/sign-in", get(sign_in))
        .route("/sign-in-cart-first", get(sign_in_cart_first))
        .route("/fail", get(fail_after_change))
        .route("/plain", get(no_session))
        .route("/twice", get(twice))
        .route("/whoami", get(whoami))
        .layer(layer)
}

fn stores() -> (ServerStore<Watched>, CookieStore) {
    let keys = Keys::new(Key::generate());
    (
        ServerStore::with_backend(Watched::default(), keys.clone()),
        CookieStore::new(keys),
    )
}

/// The app with the account on a server store that can go down (returned, to watch or stop) and
/// the cart in its cookie: what most of these tests run.
fn accounts_on_the_server_carts_in_cookies() -> (ServerStore<Watched>, Router) {
    let (server, cookies) = stores();
    let app = app(SessionLayer::new()
        .with::<Account>(server.clone())
        .with::<Cart>(cookies));
    (server, app)
}

#[tokio::test]
async fn two_session_types_from_two_stores_in_one_handler() {
    let (server, app) = accounts_on_the_server_carts_in_cookies();
    let response = call(&app, "/sign-in", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let sent = set_cookies(&response);
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().any(|c| c.starts_with("account=")) && sent.iter().any(|c| c.starts_with("cart=")));
    assert_eq!(
        server.backend().inner.len(),
        1,
        "the account is on the server, the cart in its cookie"
    );
    let response = call(&app, "/whoami", &sent).await;
    let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
    assert_eq!(&body[..], b"Some(7)");
}

#[tokio::test]
async fn sessions_load_lazily() {
    let (server, app) = accounts_on_the_server_carts_in_cookies();
    let signed_in = set_cookies(&call(&app, "/sign-in", &[]).await);
    let before = server.backend().loads.load(Ordering::SeqCst);
    let response = call(&app, "/plain", &signed_in).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        server.backend().loads.load(Ordering::SeqCst),
        before,
        "no store access"
    );
    assert!(set_cookies(&response).is_empty());
}

#[tokio::test]
async fn nothing_is_saved_into_a_server_error_unless_asked() {
    let (server, _) = stores();
    let app = self::app(SessionLayer::new().with::<Account>(server.clone()));
    let response = call(&app, "/fail", &[]).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(set_cookies(&response).is_empty());
    assert!(server.backend().inner.is_empty());

    let asked = self::app(
        SessionLayer::new()
            .with::<Account>(server.clone())
            .save_on_server_error(true),
    );
    let response = call(&asked, "/fail", &[]).await;
    assert_eq!(set_cookies(&response).len(), 1);
    assert_eq!(server.backend().inner.len(), 1);
}

/// The status, `Retry-After` and body text of `response`.
async fn outcome(response: axum::response::Response) -> (StatusCode, Option<String>, String) {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(http::header::RETRY_AFTER)
        .map(|value| value.to_str().unwrap().to_owned());
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap();
    (status, retry_after, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn a_failed_save_is_a_503_to_retry_not_a_lost_write() {
    let (server, _) = stores();
    let app = app(SessionLayer::new()
        .with::<Account>(server.clone())
        .with::<Cart>(CookieStore::new(Keys::new(Key::generate()))));
    server.backend().down.store(true, Ordering::SeqCst);
    let (status, retry_after, _) = outcome(call(&app, "/sign-in", &[]).await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(retry_after.as_deref(), Some("5"));
}

/// When one session of a request fails to save, the others are saved all the same and their
/// cookies ride on the 503: signing in to the account is kept when the cart's store is down,
/// whichever of the two is saved first.
#[tokio::test]
async fn one_sessions_failed_save_keeps_the_others_cookie() {
    for path in ["/sign-in", "/sign-in-cart-first"] {
        let (down, cookies) = stores();
        let app = app(SessionLayer::new()
            .with::<Account>(cookies)
            .with::<Cart>(down.clone()));
        down.backend().down.store(true, Ordering::SeqCst);
        let response = call(&app, path, &[]).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let sent = set_cookies(&response);
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert!(sent[0].starts_with("account="), "{sent:?}");
        let response = call(&app, "/whoami", &sent).await;
        let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], b"Some(7)", "still signed in");
    }
}

#[tokio::test]
async fn the_app_can_answer_a_failed_save_its_own_way() {
    let (server, _) = stores();
    let app = app(SessionLayer::new()
        .with::<Account>(server.clone())
        .with::<Cart>(CookieStore::new(Keys::new(Key::generate())))
        .on_save_error(|error, response| {
            assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
            response.status = StatusCode::SEE_OTHER;
            response
                .headers
                .insert(http::header::LOCATION, "/try-again".parse().unwrap());
        }));
    server.backend().down.store(true, Ordering::SeqCst);
    let response = call(&app, "/sign-in", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[http::header::LOCATION], "/try-again");
}

#[tokio::test]
async fn an_unreachable_store_is_a_503_to_retry_not_a_sign_out() {
    let (server, app) = accounts_on_the_server_carts_in_cookies();
    let signed_in = set_cookies(&call(&app, "/sign-in", &[]).await);
    server.backend().down.store(true, Ordering::SeqCst);
    let response = call(&app, "/whoami", &signed_in).await;
    assert!(
        set_cookies(&response).is_empty(),
        "the client's cookie is left alone"
    );
    let (status, retry_after, body) = outcome(response).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(retry_after.as_deref(), Some("5"));
    assert!(body.contains("failed to load the `account` session"), "{body}");
    assert!(
        body.contains(": the session database is down"),
        "the cause, in debug builds: {body}"
    );
}

#[tokio::test]
async fn misuse_is_a_500_whose_body_names_the_fix_in_debug_builds() {
    let (server, _) = stores();
    // Cart is not registered; Account is extracted twice.
    let app = app(SessionLayer::new().with::<Account>(server));
    let (status, _, body) = outcome(call(&app, "/sign-in", &[]).await).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("`Cart` is not registered"), "{body}");
    assert!(body.contains("SessionLayer::new().with::<Cart>(store)"), "{body}");
    let (status, _, body) = outcome(call(&app, "/twice", &[]).await).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("already in use"), "{body}");
    // No layer at all.
    let bare = Router::new().route("/whoami", get(whoami));
    let (status, _, body) = outcome(call(&bare, "/whoami", &[]).await).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("no SessionLayer"), "{body}");
}

/// A counter only one service owns: the service around it cannot be cloned.
struct Visits(u32);

#[tokio::test]
async fn the_plain_tower_layer_wraps_a_service_that_cannot_be_cloned() {
    use sessions::layer::RequestSessions;
    use tower::{Layer, Service};

    let owned = Visits(0);
    let service = tower::service_fn(move |request: Request<String>| {
        let visits = owned.0 + 1;
        async move {
            let sessions = request.extensions().get::<RequestSessions>().unwrap().clone();
            let mut account = sessions.load::<Account>(request.headers()).await?;
            account.user = Some(account.user.unwrap_or(0) + u64::from(visits));
            Ok::<_, sessions::layer::SessionError>(http::Response::new(format!("{:?}", account.user)))
        }
    });
    let mut service = SessionLayer::new()
        .with::<Account>(CookieStore::new(Keys::new(Key::generate())))
        .layer(service);

    let first = service
        .ready()
        .await
        .unwrap()
        .call(Request::new(String::new()))
        .await
        .unwrap();
    assert_eq!(first.body(), "Some(1)");
    let mut second = Request::new(String::new());
    let cookie = set_cookies(&first).join("; ");
    second.headers_mut().insert(COOKIE, cookie.parse().unwrap());
    let second = service.ready().await.unwrap().call(second).await.unwrap();
    assert_eq!(second.body(), "Some(2)", "the session came back from the cookie");
}

async fn devices<St: Store>(State(store): State<St>) -> Result<String, OwnersError> {
    let listed = store
        .sessions_of::<Account>(&Owner::of::<Account>(&7u64), None)
        .await?;
    Ok(listed.len().to_string())
}

/// A handler that lists sessions answers a failure with `?`: a store that is down is a 503 to
/// retry, a store that cannot list is a 500 whose body (in debug builds) says why.
#[tokio::test]
async fn listing_errors_are_answers_with_their_status() {
    let (server, cookies) = stores();
    let listing = |app: Router| async move { outcome(call(&app, "/devices", &[]).await).await };
    let on_server = Router::new()
        .route("/devices", get(devices::<ServerStore<Watched>>))
        .with_state(server.clone());
    assert_eq!(
        listing(on_server.clone()).await,
        (StatusCode::OK, None, "0".to_owned())
    );
    server.backend().down.store(true, Ordering::SeqCst);
    let (status, retry_after, _) = listing(on_server).await;
    assert_eq!(
        (status, retry_after.as_deref()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("5"))
    );

    let on_cookies = Router::new()
        .route("/devices", get(devices::<CookieStore>))
        .with_state(cookies);
    let (status, _, body) = listing(on_cookies).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("cannot list sessions"), "{body}");
}

/// `Vary` values and `Cache-Control` of a response.
fn cache_headers<B>(response: &http::Response<B>) -> (Vec<String>, Option<String>) {
    let vary = (response.headers().get_all(http::header::VARY).iter())
        .map(|value| value.to_str().unwrap().to_owned())
        .collect();
    let cache_control =
        (response.headers().get(http::header::CACHE_CONTROL)).map(|value| value.to_str().unwrap().to_owned());
    (vary, cache_control)
}

/// Shared caches never keep one user's session for another: a response that read a session
/// varies by `Cookie`; one that sets a session's cookie is `private, no-store`, unless the app said
/// otherwise (its `Cache-Control` is kept, `Cookie` is added to its `Vary`); a response that used no
/// session is left as it is.
#[tokio::test]
async fn responses_that_use_a_session_tell_shared_caches() {
    let (_server, app) = accounts_on_the_server_carts_in_cookies();
    let response = call(&app, "/sign-in", &[]).await;
    let signed_in = set_cookies(&response);
    assert_eq!(
        cache_headers(&response),
        (vec!["Cookie".to_owned()], Some("private, no-store".to_owned()))
    );
    let response = call(&app, "/whoami", &signed_in).await;
    assert!(set_cookies(&response).is_empty());
    assert_eq!(
        cache_headers(&response),
        (vec!["Cookie".to_owned()], None),
        "read, not set"
    );
    let response = call(&app, "/plain", &signed_in).await;
    assert_eq!(cache_headers(&response), (vec![], None), "no session used");
    let response = call(&app, "/own-cache", &signed_in).await;
    assert!(!set_cookies(&response).is_empty());
    assert_eq!(
        cache_headers(&response),
        (
            vec!["Accept-Encoding".to_owned(), "Cookie".to_owned()],
            Some("no-cache".to_owned())
        ),
        "the app's own, kept"
    );
}

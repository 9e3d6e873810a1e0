//! The session layer as actix-web middleware and the actix extractor: what `layer.rs` asks of the
//! axum integration, asked of this one (lazy loading, several types, what is saved into which
//! responses, store failures, misuse), plus flash fields, `cycle_id` and `destroy` through it.

use std::sync::atomic::Ordering;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{COOKIE, LOCATION, RETRY_AFTER, SET_COOKIE};
use actix_web::{App, HttpResponse, test, web};
use sessions::actix::{SessionError, SessionLayer, TypedSession};
use sessions::owner::{Owner, OwnersError};
use sessions::store::ServerStore;
use sessions::{CookieStore, Key, Keys, Session, Store};
use sessions_tests::Watched;

#[derive(Session, Default)]
#[session(cookie = "account")]
struct Account {
    user: Option<u64>,
    #[flash]
    notice: Option<String>,
}

#[derive(Session, Default)]
#[session(cookie = "cart")]
struct Cart {
    items: Vec<u32>,
}

async fn sign_in(mut account: TypedSession<Account>, mut cart: TypedSession<Cart>) -> HttpResponse {
    account.user = Some(7);
    account.cycle_id(); // a new id at sign-in
    account.notice = Some("welcome".into());
    cart.items.push(1);
    HttpResponse::Ok().body("ok")
}

async fn fail_after_change(mut account: TypedSession<Account>) -> HttpResponse {
    account.user = Some(7);
    HttpResponse::InternalServerError().finish()
}

async fn no_session() -> HttpResponse {
    HttpResponse::Ok().body("no session here")
}

async fn twice(_first: TypedSession<Account>, _second: TypedSession<Account>) -> HttpResponse {
    HttpResponse::Ok().body("unreachable")
}

async fn whoami(mut account: TypedSession<Account>) -> HttpResponse {
    let notice = account.notice.take();
    HttpResponse::Ok().body(format!("{:?} {notice:?}", account.user))
}

async fn sign_out(mut account: TypedSession<Account>) -> HttpResponse {
    account.destroy();
    HttpResponse::Ok().finish()
}

/// Changes the session, and says itself how the response may be cached.
async fn own_cache_headers(mut cart: TypedSession<Cart>) -> HttpResponse {
    cart.items.push(2);
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("Vary", "Accept-Encoding"))
        .body("mine")
}

async fn own_answer(account: Result<TypedSession<Account>, SessionError>) -> HttpResponse {
    match account {
        Ok(_) => HttpResponse::Ok().finish(),
        Err(error) => HttpResponse::build(StatusCode::from_u16(error.status().as_u16()).unwrap())
            .body("the session store is resting; try again in a moment"),
    }
}

/// The app under test, on `layer`; calls go straight to its service.
async fn app(
    layer: SessionLayer,
) -> impl Service<actix_http::Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>
{
    test::init_service(
        App::new()
            .wrap(layer)
            .route("/sign-in", web::get().to(sign_in))
            .route("/fail", web::get().to(fail_after_change))
            .route("/plain", web::get().to(no_session))
            .route("/twice", web::get().to(twice))
            .route("/whoami", web::get().to(whoami))
            .route("/sign-out", web::get().to(sign_out))
            .route("/own-answer", web::get().to(own_answer))
            .route("/own-cache", web::get().to(own_cache_headers)),
    )
    .await
}

/// Status, `Set-Cookie` pairs (`name=value`, a removal as `name=`), `Retry-After` and body.
struct Answer {
    status: StatusCode,
    cookies: Vec<String>,
    retry_after: Option<String>,
    location: Option<String>,
    vary: Vec<String>,
    cache_control: Option<String>,
    body: String,
}

async fn call(
    app: &impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
    path: &str,
    cookies: &[String],
) -> Answer {
    let mut request = test::TestRequest::get().uri(path);
    if !cookies.is_empty() {
        request = request.insert_header((COOKIE, cookies.join("; ")));
    }
    let response = test::call_service(app, request.to_request()).await;
    let header = |name| {
        response
            .headers()
            .get(name)
            .map(|value: &actix_web::http::header::HeaderValue| value.to_str().unwrap().to_owned())
    };
    let (retry_after, location) = (header(RETRY_AFTER), header(LOCATION));
    let cache_control = header(actix_web::http::header::CACHE_CONTROL);
    let vary = (response.headers().get_all(actix_web::http::header::VARY))
        .map(|value| value.to_str().unwrap().to_owned())
        .collect();
    let cookies = response
        .headers()
        .get_all(SET_COOKIE)
        .map(|line| line.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    let status = response.status();
    let body = test::read_body(response).await;
    Answer {
        status,
        cookies,
        retry_after,
        location,
        vary,
        cache_control,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

fn stores() -> (ServerStore<Watched>, CookieStore) {
    let keys = Keys::new(Key::generate());
    (
        ServerStore::with_backend(Watched::default(), keys.clone()),
        CookieStore::new(keys),
    )
}

/// The layer with accounts on `server` and carts in `cookies`.
fn on_both(server: &ServerStore<Watched>, cookies: CookieStore) -> SessionLayer {
    SessionLayer::new()
        .with::<Account>(server.clone())
        .with::<Cart>(cookies)
}

#[actix_web::test]
async fn two_session_types_from_two_stores_in_one_handler_and_a_flash_read_once() {
    let (server, cookies) = stores();
    let app = app(on_both(&server, cookies)).await;
    let signed_in = call(&app, "/sign-in", &[]).await;
    assert_eq!(signed_in.status, StatusCode::OK);
    assert_eq!(signed_in.cookies.len(), 2);
    assert!(signed_in.cookies.iter().any(|c| c.starts_with("account=")));
    assert!(signed_in.cookies.iter().any(|c| c.starts_with("cart=")));
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

#[actix_web::test]
async fn sessions_load_lazily() {
    let (server, cookies) = stores();
    let app = app(on_both(&server, cookies)).await;
    let signed_in = call(&app, "/sign-in", &[]).await.cookies;
    let before = server.backend().loads.load(Ordering::SeqCst);
    let answer = call(&app, "/plain", &signed_in).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        server.backend().loads.load(Ordering::SeqCst),
        before,
        "no store access"
    );
    assert!(answer.cookies.is_empty());
}

#[actix_web::test]
async fn cycle_id_moves_the_session_and_destroy_ends_it() {
    let (server, cookies) = stores();
    let app = app(on_both(&server, cookies)).await;
    let anonymous = call(&app, "/fail", &[]).await; // nothing stored: a 500
    assert!(anonymous.cookies.is_empty());
    let signed_in = call(&app, "/sign-in", &[]).await.cookies;
    let account: Vec<String> = signed_in
        .iter()
        .filter(|c| c.starts_with("account="))
        .cloned()
        .collect();
    // Signing in again cycles the id: a new account cookie, and the old one no longer loads.
    let again = call(&app, "/sign-in", &account).await.cookies;
    let moved: Vec<String> = again
        .iter()
        .filter(|c| c.starts_with("account="))
        .cloned()
        .collect();
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

#[actix_web::test]
async fn nothing_is_saved_into_a_server_error_unless_asked() {
    let (server, _) = stores();
    let app = self::app(SessionLayer::new().with::<Account>(server.clone())).await;
    let answer = call(&app, "/fail", &[]).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(answer.cookies.is_empty());
    assert!(server.backend().inner.is_empty());

    let asked = self::app(
        SessionLayer::new()
            .with::<Account>(server.clone())
            .save_on_server_error(true),
    )
    .await;
    assert_eq!(call(&asked, "/fail", &[]).await.cookies.len(), 1);
    assert_eq!(server.backend().inner.len(), 1);
}

#[actix_web::test]
async fn a_failed_save_is_a_503_to_retry_not_a_lost_write() {
    let (server, cookies) = stores();
    let app = app(on_both(&server, cookies)).await;
    server.backend().down.store(true, Ordering::SeqCst);
    let answer = call(&app, "/sign-in", &[]).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.retry_after.as_deref(), Some("5"));
    assert!(answer.body.is_empty(), "not the handler's body: {}", answer.body);
}

/// One session's failed save (the account's store is down) costs no other session its save: the
/// cart's cookie rides on the 503.
#[actix_web::test]
async fn one_sessions_failed_save_keeps_the_others_cookie() {
    let (server, cookies) = stores();
    let app = app(on_both(&server, cookies)).await;
    server.backend().down.store(true, Ordering::SeqCst);
    let answer = call(&app, "/sign-in", &[]).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.cookies.len(), 1, "{:?}", answer.cookies);
    assert!(answer.cookies[0].starts_with("cart="), "{:?}", answer.cookies);
}

#[actix_web::test]
async fn the_app_can_answer_a_failed_save_or_load_its_own_way() {
    let (server, cookies) = stores();
    let app = app(SessionLayer::new()
        .with::<Account>(server.clone())
        .with::<Cart>(cookies)
        .on_save_error(|error, response| {
            assert_eq!(error.status(), http::StatusCode::SERVICE_UNAVAILABLE);
            response.status = http::StatusCode::SEE_OTHER;
            response
                .headers
                .insert(http::header::LOCATION, "/try-again".parse().unwrap());
        }))
    .await;
    let signed_in = call(&app, "/sign-in", &[]).await.cookies;
    server.backend().down.store(true, Ordering::SeqCst);
    let answer = call(&app, "/sign-in", &[]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location.as_deref(), Some("/try-again"));
    let answer = call(&app, "/own-answer", &signed_in).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(answer.body.contains("resting"), "{}", answer.body);
}

#[actix_web::test]
async fn an_unreachable_store_is_a_503_to_retry_not_a_sign_out() {
    let (server, cookies) = stores();
    let app = app(on_both(&server, cookies)).await;
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
    server.backend().down.store(false, Ordering::SeqCst);
    assert!(
        call(&app, "/whoami", &signed_in)
            .await
            .body
            .starts_with("Some(7)")
    );
}

#[actix_web::test]
async fn misuse_is_a_500_whose_body_names_the_fix_in_debug_builds() {
    let (server, _) = stores();
    // Cart is not registered; Account is extracted twice.
    let app = app(SessionLayer::new().with::<Account>(server)).await;
    let answer = call(&app, "/sign-in", &[]).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        answer.body.contains("`Cart` is not registered"),
        "{}",
        answer.body
    );
    let answer = call(&app, "/twice", &[]).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(answer.body.contains("already in use"), "{}", answer.body);
    // No middleware at all.
    let bare = test::init_service(App::new().route("/whoami", web::get().to(whoami))).await;
    let answer = call(&bare, "/whoami", &[]).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(answer.body.contains("no SessionLayer"), "{}", answer.body);
}

#[actix_web::test]
async fn hostile_cookie_headers_give_a_fresh_session_or_leave_the_real_one_alone() {
    let (server, cookies) = stores();
    let app = app(on_both(&server, cookies)).await;
    let signed_in = call(&app, "/sign-in", &[]).await.cookies;
    let account = signed_in
        .iter()
        .find(|cookie| cookie.starts_with("account="))
        .unwrap()
        .clone();
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
        let request = test::TestRequest::get()
            .uri("/whoami")
            .insert_header((
                COOKIE,
                actix_web::http::header::HeaderValue::from_bytes(&header).unwrap(),
            ))
            .to_request();
        let response = test::call_service(&app, request).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body = test::read_body(response).await;
        assert!(body.starts_with(b"None"), "a fresh session");
    }
    // Beside a valid cookie, foreign bytes in a sibling cookie sign nobody out.
    let mut header = format!("{account}; ").into_bytes();
    header.extend_from_slice(b"tracker=\xff\xfe");
    let request = test::TestRequest::get()
        .uri("/whoami")
        .insert_header((
            COOKIE,
            actix_web::http::header::HeaderValue::from_bytes(&header).unwrap(),
        ))
        .to_request();
    let body = test::read_body(test::call_service(&app, request).await).await;
    assert!(body.starts_with(b"Some(7)"), "{body:?}");
}

async fn devices<St: Store>(store: web::Data<St>) -> Result<String, OwnersError> {
    let listed = store
        .sessions_of::<Account>(&Owner::of::<Account>(&7u64), None)
        .await?;
    Ok(listed.len().to_string())
}

/// A handler that lists sessions answers a failure with `?`: a store that is down is a 503 to
/// retry, a store that cannot list is a 500 whose body (in debug builds) says why.
#[actix_web::test]
async fn listing_errors_are_answers_with_their_status() {
    let (server, cookies) = stores();
    let on_server = test::init_service(
        App::new()
            .app_data(web::Data::new(server.clone()))
            .route("/devices", web::get().to(devices::<ServerStore<Watched>>)),
    )
    .await;
    let answer = call(&on_server, "/devices", &[]).await;
    assert_eq!((answer.status, answer.body.as_str()), (StatusCode::OK, "0"));
    server.backend().down.store(true, Ordering::SeqCst);
    let answer = call(&on_server, "/devices", &[]).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.retry_after.as_deref(), Some("5"));

    let on_cookies = test::init_service(
        App::new()
            .app_data(web::Data::new(cookies))
            .route("/devices", web::get().to(devices::<CookieStore>)),
    )
    .await;
    let answer = call(&on_cookies, "/devices", &[]).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(answer.body.contains("cannot list sessions"), "{}", answer.body);
}

/// Shared caches never keep one user's session for another: a response that read a session
/// varies by `Cookie`; one that sets a session's cookie is `private, no-store`, unless the app said
/// otherwise (its `Cache-Control` is kept, `Cookie` is added to its `Vary`); a response that used no
/// session is left as it is.
#[actix_web::test]
async fn responses_that_use_a_session_tell_shared_caches() {
    let (server, cookies) = stores();
    let app = app(SessionLayer::new()
        .with::<Account>(server.clone())
        .with::<Cart>(cookies))
    .await;
    let answer = call(&app, "/sign-in", &[]).await;
    assert_eq!(answer.vary, ["Cookie"]);
    assert_eq!(answer.cache_control.as_deref(), Some("private, no-store"));
    let signed_in = answer.cookies;
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

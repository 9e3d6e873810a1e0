//! What only the plain tower layer has: it wraps any tower service, even one that cannot be
//! cloned. What every integration keeps (lazy loading, what is saved into which responses, store
//! failures, misuse, cache headers) is the framework contract, run over axum and actix-web by
//! `framework_contract.rs`.

use axum::http::Request;
use http::header::{COOKIE, SET_COOKIE};
use sessions::axum::SessionLayer;
use sessions::{CookieStore, Key, Keys};
use sessions_tests::framework::Account;
use tower::ServiceExt;

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
    let cookie = first.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    second.headers_mut().insert(COOKIE, cookie.parse().unwrap());
    let second = service.ready().await.unwrap().call(second).await.unwrap();
    assert_eq!(second.body(), "Some(2)", "the session came back from the cookie");
}

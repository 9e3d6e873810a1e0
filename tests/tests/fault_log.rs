//! What a log receives of a failure in the session layer. A binary of its own: tracing caches
//! whether a call site is wanted when it first runs, and another test running it at the same time
//! without this subscriber would decide that for this one.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::Request;
use http::header::{COOKIE, SET_COOKIE};
use sessions::axum::{SessionLayer, TypedSession};
use sessions::store::ServerStore;
use sessions::{CookieStore, Key, Keys, Session};
use sessions_tests::Watched;
use tower::ServiceExt;

/// What a log receives of a store outage: the error with its cause, not only "failed to load".
#[test]
fn the_log_of_a_store_outage_carries_its_cause() {
    let logged = Arc::new(Mutex::new(Vec::new()));
    let subscriber = Logged(Arc::clone(&logged));
    tracing::subscriber::with_default(subscriber, || {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async {
                let keys = Keys::new(Key::generate());
                let server = ServerStore::with_backend(Watched::default(), keys.clone());
                let app = Router::new()
                    .route("/sign-in", get(sign_in))
                    .route("/whoami", get(whoami))
                    .layer(
                        SessionLayer::new()
                            .with::<Account>(server.clone())
                            .with::<Cart>(CookieStore::new(keys)),
                    );
                let signed_in = set_cookies(&call(&app, "/sign-in", &[]).await);
                server.backend().down.store(true, Ordering::SeqCst);
                call(&app, "/whoami", &signed_in).await;
            });
    });
    let logged = logged.lock().unwrap();
    assert!(
        logged
            .iter()
            .any(|line| line.contains("failed to load the `account` session")
                && line.contains("the session database is down")),
        "{logged:?}"
    );
}

/// A tracing subscriber that keeps each event's `error` field.
struct Logged(Arc<Mutex<Vec<String>>>);

impl tracing::Subscriber for Logged {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Error<'a>(&'a mut Vec<String>);
        impl tracing::field::Visit for Error<'_> {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "error" {
                    self.0.push(format!("{value:?}"));
                }
            }
        }
        event.record(&mut Error(&mut self.0.lock().unwrap()));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[derive(Session, Default)]
#[session(cookie = "account")]
struct Account {
    user: Option<u64>,
}

#[derive(Session, Default)]
#[session(cookie = "cart")]
struct Cart {
    items: Vec<u32>,
}

async fn sign_in(mut account: TypedSession<Account>, mut cart: TypedSession<Cart>) -> &'static str {
    account.user = Some(7);
    cart.items.push(1);
    "ok"
}

async fn whoami(account: TypedSession<Account>) -> String {
    format!("{:?}", account.user)
}

async fn call(app: &Router, path: &str, cookies: &[String]) -> axum::response::Response {
    let mut request = Request::builder().uri(path);
    if !cookies.is_empty() {
        request = request.header(COOKIE, cookies.join("; "));
    }
    app.clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

fn set_cookies<B>(response: &http::Response<B>) -> Vec<String> {
    let lines = response.headers().get_all(SET_COOKIE).iter();
    lines
        .map(|line| line.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect()
}

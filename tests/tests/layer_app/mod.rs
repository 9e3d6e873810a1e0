//! The session types, handlers and calls the axum layer's test binaries (`layer.rs`,
//! `fault_log.rs`) share.

use axum::Router;
use axum::body::Body;
use http::Request;
use http::header::{COOKIE, SET_COOKIE};
use sessions::Session;
use sessions::axum::TypedSession;
use tower::ServiceExt;

#[derive(Session, Default)]
#[session(cookie = "account")]
pub struct Account {
    pub user: Option<u64>,
}

#[derive(Session, Default)]
#[session(cookie = "cart")]
pub struct Cart {
    pub items: Vec<u32>,
}

pub async fn sign_in(mut account: TypedSession<Account>, mut cart: TypedSession<Cart>) -> &'static str {
    account.user = Some(7);
    cart.items.push(1);
    "ok"
}

pub async fn whoami(account: TypedSession<Account>) -> String {
    format!("{:?}", account.user)
}

pub async fn call(app: &Router, path: &str, cookies: &[String]) -> axum::response::Response {
    let mut request = Request::builder().uri(path);
    if !cookies.is_empty() {
        request = request.header(COOKIE, cookies.join("; "));
    }
    app.clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

pub fn set_cookies<B>(response: &http::Response<B>) -> Vec<String> {
    let lines = response.headers().get_all(SET_COOKIE).iter();
    lines
        .map(|line| line.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect()
}

//! The demo served with axum: each route hands its sessions to the app's function and turns the
//! [`Answer`] into a response.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderValue, USER_AGENT};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use sessions::Store;
use sessions::axum::{SessionLayer, TypedSession};

use crate::{Account, Answer, Attempts, Cart, CodeForm, EndForm, ItemForm, Origin, SignInForm};

/// The app, keeping accounts in `accounts` and carts in `carts`.
pub fn app<A: Store + Clone>(accounts: A, carts: impl Store) -> Router {
    let shared = Arc::new(Shared {
        attempts: Attempts::default(),
        accounts: accounts.clone(),
    });
    Router::new()
        .route("/", get(home))
        .route("/sign-in", post(sign_in::<A>))
        .route("/code", get(code_page).post(check_code::<A>))
        .route("/sign-out", post(sign_out))
        .route("/sessions", get(sessions_page::<A>))
        .route("/sessions/end", post(end_session::<A>))
        .route("/sessions/end-others", post(end_other_sessions::<A>))
        .route("/cart", post(add_to_cart))
        .route("/cart/clear", post(clear_cart))
        .fallback(async || crate::not_found())
        .method_not_allowed_fallback(async || crate::method_not_allowed())
        .with_state(shared)
        .layer(SessionLayer::new().with::<Account>(accounts).with::<Cart>(carts))
        .layer(axum::middleware::from_fn(store_fault_page))
}

/// Outside the session layer: its plain-text 503 (a session the store could not load or save)
/// becomes the demo's page, its headers (`Retry-After`, other sessions' cookies) kept.
async fn store_fault_page(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let get = request.method() == axum::http::Method::GET;
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let html =
        (response.headers().get(CONTENT_TYPE)).is_some_and(|kind| kind.as_bytes().starts_with(b"text/html"));
    if response.status() != StatusCode::SERVICE_UNAVAILABLE || html {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(CONTENT_LENGTH);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    Response::from_parts(parts, crate::store_unavailable(get, &path).into())
}

/// What the routes share: the count of wrong codes, and the accounts' store (for the list of a
/// user's sessions).
struct Shared<A> {
    attempts: Attempts,
    accounts: A,
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        match self {
            Answer::Page { status, html } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                (status, Html(html)).into_response()
            }
            Answer::Redirect(to) => Redirect::to(to).into_response(),
        }
    }
}

async fn home(headers: HeaderMap, mut account: TypedSession<Account>, cart: TypedSession<Cart>) -> Answer {
    let origin = Origin::from_headers(
        headers.get(HOST).map(|host| host.as_bytes()),
        headers.get("x-forwarded-proto").map(|proto| proto.as_bytes()),
    );
    crate::home(origin, &mut account, &cart)
}

async fn sign_in<A: Store>(
    State(shared): State<Arc<Shared<A>>>,
    mut account: TypedSession<Account>,
    Form(form): Form<SignInForm>,
) -> Answer {
    crate::sign_in(&shared.attempts, &mut account, form)
}

async fn code_page(mut account: TypedSession<Account>) -> Answer {
    crate::code_page(&mut account)
}

async fn check_code<A: Store>(
    State(shared): State<Arc<Shared<A>>>,
    headers: HeaderMap,
    mut account: TypedSession<Account>,
    Form(form): Form<CodeForm>,
) -> Answer {
    let user_agent = headers.get(USER_AGENT).map(|agent| agent.as_bytes());
    crate::check_code(&shared.attempts, &mut account, form, user_agent)
}

async fn sessions_page<A: Store>(
    State(shared): State<Arc<Shared<A>>>,
    mut account: TypedSession<Account>,
) -> Answer {
    crate::sessions_page(&shared.accounts, &mut account).await
}

async fn end_session<A: Store>(
    State(shared): State<Arc<Shared<A>>>,
    mut account: TypedSession<Account>,
    Form(form): Form<EndForm>,
) -> Answer {
    crate::end_session(&shared.accounts, &mut account, form).await
}

async fn end_other_sessions<A: Store>(
    State(shared): State<Arc<Shared<A>>>,
    mut account: TypedSession<Account>,
) -> Answer {
    crate::end_other_sessions(&shared.accounts, &mut account).await
}

async fn sign_out(mut account: TypedSession<Account>) -> Answer {
    crate::sign_out(&mut account)
}

async fn add_to_cart(mut cart: TypedSession<Cart>, Form(form): Form<ItemForm>) -> Answer {
    crate::add_to_cart(&mut cart, form)
}

async fn clear_cart(mut cart: TypedSession<Cart>) -> Answer {
    crate::clear_cart(&mut cart)
}

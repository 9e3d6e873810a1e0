//! actix-web: the same [`SessionLayer`] as middleware (`App::wrap`), and the extractor
//! `TypedSession<S>` in handlers.
//!
//! ```
//! use actix_web::{App, HttpResponse, web};
//! use sessions::actix::{SessionLayer, TypedSession};
//! use sessions::{CookieStore, Key, Session};
//!
//! #[derive(Session, Default)]
//! struct Cart {
//!     items: Vec<u32>,
//! }
//!
//! async fn add(mut cart: TypedSession<Cart>) -> HttpResponse {
//!     cart.items.push(42); // saved after the handler, because it changed
//!     HttpResponse::Ok().body(format!("{} items", cart.items.len()))
//! }
//!
//! let store = CookieStore::new(Key::generate());
//! let app = App::new()
//!     .wrap(SessionLayer::new().with::<Cart>(store))
//!     .route("/cart", web::post().to(add));
//! # let _ = app;
//! ```
//!
//! It behaves as with axum: sessions load when a handler extracts them, several types per handler
//! (each its own extractor); they are saved after the handler only when changed or due for a new
//! cookie, never into a 5xx unless [`SessionLayer::save_on_server_error`] says so; a store outage
//! is a 503 with `Retry-After` ([`SessionLayer::on_save_error`] shapes it otherwise), never a
//! fresh session. `TypedSession<S>` derefs to [`Loaded<S>`](crate::Loaded): `destroy()`, `cycle_id()`
//! and the flash accessors work on it directly.
//!
//! actix-web speaks `http` 0.2; the stores speak `http` 1. Only `Cookie` lines (in) and
//! `Set-Cookie` lines (out) cross, copied as bytes.

use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode as ActixStatus;
use actix_web::http::header::{self as actix_header, HeaderName, HeaderValue};
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, HttpResponse, ResponseError};

use crate::owner::OwnersError;
use crate::web::caches::{CacheHeaders, NO_STORE, VARY_COOKIE};
use crate::web::request::{Registry, RequestSessions, fault_headers};
pub use crate::web::request::{SessionError, SessionLayer, TypedSession};

type LocalBoxFuture<T> = std::pin::Pin<Box<dyn Future<Output = T>>>;

/// The layer as actix-web middleware: `App::new().wrap(layer)`.
impl<Inner, Body> Transform<Inner, ServiceRequest> for SessionLayer
where
    Inner: Service<ServiceRequest, Response = ServiceResponse<Body>, Error = actix_web::Error> + 'static,
    Body: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<Body>>;
    type Error = actix_web::Error;
    type Transform = SessionMiddleware<Inner>;
    type InitError = ();
    type Future = Ready<Result<SessionMiddleware<Inner>, ()>>;

    fn new_transform(&self, inner: Inner) -> Self::Future {
        ready(Ok(SessionMiddleware {
            inner: Rc::new(inner),
            registry: Arc::clone(&self.registry),
        }))
    }
}

/// The middleware [`SessionLayer`] wraps around an actix-web service.
pub struct SessionMiddleware<Inner> {
    inner: Rc<Inner>,
    registry: Arc<Registry>,
}

impl<Inner> std::fmt::Debug for SessionMiddleware<Inner> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionMiddleware").finish_non_exhaustive()
    }
}

impl<Inner, Body> Service<ServiceRequest> for SessionMiddleware<Inner>
where
    Inner: Service<ServiceRequest, Response = ServiceResponse<Body>, Error = actix_web::Error> + 'static,
    Body: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<Body>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<Result<Self::Response, actix_web::Error>>;

    forward_ready!(inner);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let sessions = RequestSessions::new(&self.registry);
        request.extensions_mut().insert(sessions.clone());
        let handling = self.inner.call(request);
        Box::pin(async move {
            let mut response = handling.await?;
            let Some(returned) = sessions.to_save_into(to_http_status(response.status())) else {
                return Ok(response.map_into_left_body());
            };
            let mut set_cookies = http::HeaderMap::new();
            match sessions.save_returned(returned, &mut set_cookies).await {
                Ok(()) => {
                    let headers = response.headers();
                    let add = CacheHeaders::for_response(
                        headers.get_all(actix_header::VARY).map(|value| value.as_bytes()),
                        headers.contains_key(actix_header::CACHE_CONTROL),
                        set_cookies.contains_key(http::header::SET_COOKIE),
                    );
                    copy_headers(&set_cookies, response.headers_mut());
                    let headers = response.headers_mut();
                    if add.vary_cookie {
                        headers.append(actix_header::VARY, HeaderValue::from_static(VARY_COOKIE));
                    }
                    if add.no_store {
                        headers.insert(actix_header::CACHE_CONTROL, HeaderValue::from_static(NO_STORE));
                    }
                    Ok(response.map_into_left_body())
                }
                Err(mut failed) => {
                    let sets_cookie = failed.headers.contains_key(http::header::SET_COOKIE);
                    CacheHeaders::add_to(&mut failed.headers, sets_cookie);
                    let mut replacement = HttpResponse::new(from_http_status(failed.status));
                    copy_headers(&failed.headers, replacement.headers_mut());
                    Ok(response.into_response(replacement).map_into_right_body())
                }
            }
        })
    }
}

/// A handler's `TypedSession<S>`: loaded from the request's cookies the first time the request asks.
impl<S: crate::Session> FromRequest for TypedSession<S> {
    type Error = SessionError;
    type Future = LocalBoxFuture<Result<Self, SessionError>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let sessions = request.extensions().get::<RequestSessions>().cloned();
        let cookies = cookie_lines(request);
        Box::pin(async move {
            let sessions = sessions.ok_or(SessionError::NoLayer(S::CONFIG.type_name()))?;
            sessions.load::<S>(&cookies).await
        })
    }
}

/// A handler could not get its session: a server fault, never the client's cookie. The cause is
/// logged; the response is [`SessionError::status`] (503 with `Retry-After` for a store outage, 500
/// for a misconfigured app) with [`SessionError::body_text`] (the fix, in debug builds).
///
/// For a response of the app's own, extract `Result<TypedSession<S>, SessionError>` and match on it.
impl ResponseError for SessionError {
    fn status_code(&self) -> ActixStatus {
        from_http_status(self.status())
    }

    fn error_response(&self) -> HttpResponse {
        fault_response("could not load a session", self, self.status(), self.body_text())
    }
}

/// Listing or revoking sessions failed: logged, and answered like [`SessionError`] with
/// [`OwnersError::status`] and [`OwnersError::body_text`], so a handler can use `?` on
/// [`Store::sessions_of`](crate::Store::sessions_of) and the revocations.
impl ResponseError for OwnersError {
    fn status_code(&self) -> ActixStatus {
        from_http_status(self.status())
    }

    fn error_response(&self) -> HttpResponse {
        fault_response(
            "could not list or revoke sessions",
            self,
            self.status(),
            self.body_text(),
        )
    }
}

fn fault_response(
    what: &str,
    error: &(dyn std::error::Error + 'static),
    status: http::StatusCode,
    body: String,
) -> HttpResponse {
    let mut response = HttpResponse::build(from_http_status(status)).body(body);
    copy_headers(&fault_headers(what, error, status), response.headers_mut());
    response
}

/// The request's `Cookie` lines, as the stores read them.
fn cookie_lines(request: &HttpRequest) -> http::HeaderMap {
    let mut cookies = http::HeaderMap::new();
    for line in request.headers().get_all(actix_header::COOKIE) {
        if let Ok(line) = http::HeaderValue::from_bytes(line.as_bytes()) {
            cookies.append(http::header::COOKIE, line);
        }
    }
    cookies
}

/// Appends every line of `from` (`http` 1) to `to` (actix-web's).
fn copy_headers(from: &http::HeaderMap, to: &mut actix_header::HeaderMap) {
    for (name, value) in from {
        let name = HeaderName::from_bytes(name.as_str().as_bytes());
        let value = HeaderValue::from_bytes(value.as_bytes());
        if let (Ok(name), Ok(value)) = (name, value) {
            to.append(name, value);
        }
    }
}

fn to_http_status(status: ActixStatus) -> http::StatusCode {
    http::StatusCode::from_u16(status.as_u16()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR)
}

fn from_http_status(status: http::StatusCode) -> ActixStatus {
    ActixStatus::from_u16(status.as_u16()).unwrap_or(ActixStatus::INTERNAL_SERVER_ERROR)
}

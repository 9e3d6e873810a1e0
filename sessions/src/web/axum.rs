//! The axum extractor: `TypedSession<AppSession>` in any handler behind a [`SessionLayer`].
//!
//! ```
//! use axum::{Router, routing::post};
//! use sessions::axum::{SessionLayer, TypedSession};
//! use sessions::{CookieStore, Key, Session};
//!
//! #[derive(Session, Default)]
//! struct Cart {
//!     items: Vec<u32>,
//! }
//!
//! async fn add(mut cart: TypedSession<Cart>) -> String {
//!     cart.items.push(42); // saved after the handler, because it changed
//!     format!("{} items", cart.items.len())
//! }
//!
//! let store = CookieStore::new(Key::generate());
//! let app: Router = Router::new()
//!     .route("/cart", post(add))
//!     .layer(SessionLayer::new().with::<Cart>(store));
//! ```
//!
//! Several session types in one handler are several extractors; `TypedSession<S>` derefs to
//! [`Loaded<S>`](crate::Loaded), so `destroy()`, `cycle_id()`, `set_persistent()` and the flash
//! accessors work on it directly.

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;

use crate::owner::OwnersError;
use crate::web::request::{RequestSessions, fault_headers};
pub use crate::web::request::{SessionError, SessionLayer, TypedSession};

impl<S: crate::Session, State: Sync> FromRequestParts<State> for TypedSession<S> {
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut Parts, _state: &State) -> Result<Self, SessionError> {
        let sessions = parts
            .extensions
            .get::<RequestSessions>()
            .cloned()
            .ok_or(SessionError::NoLayer(S::CONFIG.type_name()))?;
        sessions.load::<S>(&parts.headers).await
    }
}

/// A handler could not get its session: a server fault, never the client's cookie. The cause is
/// logged; the response is [`SessionError::status`] (503 with `Retry-After` for a store outage, 500
/// for a misconfigured app) with [`SessionError::body_text`] (the fix, in debug builds).
///
/// For a response of the app's own, extract `Result<TypedSession<S>, SessionError>` and match on it.
impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        fault_response("could not load a session", &self, self.status(), self.body_text())
    }
}

/// Listing or revoking sessions failed: logged, and answered like [`SessionError`] with
/// [`OwnersError::status`] and [`OwnersError::body_text`], so a handler can use `?` on
/// [`Store::sessions_of`](crate::Store::sessions_of) and the revocations.
impl IntoResponse for OwnersError {
    fn into_response(self) -> Response {
        fault_response(
            "could not list or revoke sessions",
            &self,
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
) -> Response {
    (status, fault_headers(what, error, status), body).into_response()
}

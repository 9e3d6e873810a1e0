//! A tower layer that loads sessions lazily during a request and saves them into its response, for any
//! framework built on `http` and tower (axum, hyper with `tower`, ...).
//!
//! ```
//! use http::{Request, Response, StatusCode};
//! use sessions::layer::{RequestSessions, SessionLayer};
//! use sessions::{CookieStore, Key, Session};
//! use tower::{Layer, Service, ServiceExt, service_fn};
//!
//! #[derive(Session, Default)]
//! struct Visits {
//!     count: u32,
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let layer = SessionLayer::new().with::<Visits>(CookieStore::new(Key::generate()));
//! let service = layer.layer(service_fn(|request: Request<String>| async move {
//!     let sessions = request.extensions().get::<RequestSessions>().unwrap().clone();
//!     let mut visits = sessions.load::<Visits>(request.headers()).await?; // loaded on first use
//!     visits.count += 1;
//!     Ok::<_, sessions::layer::SessionError>(Response::new(format!("visit {}", visits.count)))
//!     // `visits` goes back to the layer when dropped, and is saved into the response.
//! }));
//! let response = service.oneshot(Request::new(String::new())).await.unwrap();
//! assert_eq!(response.status(), StatusCode::OK);
//! assert!(response.headers().contains_key("set-cookie"));
//! // A shared cache (a CDN, a proxy) keeps this response for nobody else:
//! assert_eq!(response.headers()["cache-control"], "private, no-store");
//! assert_eq!(response.headers()["vary"], "Cookie");
//! # });
//! ```
//!
//! **Caches.** A response to a request that read a session gets `Vary: Cookie` (unless its `Vary`
//! names `Cookie` already); one that carries a session's `Set-Cookie` gets `Cache-Control: private,
//! no-store`, so no shared cache hands one user's session to another. A `Cache-Control` the app set
//! itself is kept as it is: a response that sets a session cookie and says `public` is the app's
//! decision. A response that used no session is left alone.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::http::header::SET_COOKIE;
use ::http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::web::caches::CacheHeaders;
use crate::web::request::{BoxFuture, Registry};
pub use crate::web::request::{RequestSessions, SessionError, SessionLayer, TypedSession};

/// The layer as tower middleware: `.layer(layer)` on an axum `Router` or any tower stack.
impl<Inner> Layer<Inner> for SessionLayer {
    type Service = SessionService<Inner>;

    fn layer(&self, inner: Inner) -> SessionService<Inner> {
        SessionService {
            inner,
            registry: Arc::clone(&self.registry),
        }
    }
}

/// The service [`SessionLayer`] wraps around yours.
#[derive(Clone)]
pub struct SessionService<Inner> {
    inner: Inner,
    registry: Arc<Registry>,
}

impl<Inner: fmt::Debug> fmt::Debug for SessionService<Inner> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<Inner, RequestBody, ResponseBody> Service<Request<RequestBody>> for SessionService<Inner>
where
    Inner: Service<Request<RequestBody>, Response = Response<ResponseBody>>,
    ResponseBody: Default + Send + 'static,
{
    type Response = Response<ResponseBody>;
    type Error = Inner::Error;
    type Future = SessionFuture<Inner::Future, ResponseBody>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, mut request: Request<RequestBody>) -> Self::Future {
        let sessions = RequestSessions::new(&self.registry);
        request.extensions_mut().insert(sessions.clone());
        // Called here, on the service `poll_ready` readied: no clone of it to keep for later.
        SessionFuture {
            state: State::Handling {
                inner: self.inner.call(request),
                sessions,
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`SessionService`]: your service's response, with the sessions it used saved
    /// into it.
    pub struct SessionFuture<F, B> {
        #[pin]
        state: State<F, B>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProjection]
    enum State<F, B> {
        Handling {
            #[pin]
            inner: F,
            sessions: RequestSessions,
        },
        Saving {
            saving: BoxFuture<'static, Response<B>>,
        },
    }
}

impl<F, B> fmt::Debug for SessionFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for SessionFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Default + Send + 'static,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProjection::Handling { inner, sessions } => {
                    let response = std::task::ready!(inner.poll(context))?;
                    match save_into(sessions, response) {
                        Saving::Done(response) => return Poll::Ready(Ok(response)),
                        Saving::Pending(saving) => state.set(State::Saving { saving }),
                    }
                }
                StateProjection::Saving { saving } => return saving.as_mut().poll(context).map(Ok),
            }
        }
    }
}

/// Where saving a request's sessions stands once its response is ready.
enum Saving<B> {
    /// Nothing to save (no session was used, or a 5xx the layer does not save into).
    Done(Response<B>),
    /// The sessions are being saved into the response.
    Pending(BoxFuture<'static, Response<B>>),
}

/// Saves every session `sessions` lent out into `response`, unless it is a 5xx and the layer was
/// not asked to. A failed save replaces the response. Allocates nothing when there is nothing to
/// save.
fn save_into<B: Default + Send + 'static>(sessions: &RequestSessions, response: Response<B>) -> Saving<B> {
    let Some(returned) = sessions.to_save_into(response.status()) else {
        return Saving::Done(response);
    };
    let sessions = sessions.clone();
    Saving::Pending(Box::pin(async move {
        let (mut head, body) = response.into_parts();
        // A save only adds `Set-Cookie` lines: more values than before is a session's cookie.
        let values_before = head.headers.len();
        match sessions.save_returned(returned, &mut head.headers).await {
            Ok(()) => {
                let sets_cookie = head.headers.len() > values_before;
                CacheHeaders::add_to(&mut head.headers, sets_cookie);
                Response::from_parts(head, body)
            }
            Err(mut failed) => {
                let sets_cookie = failed.headers.contains_key(SET_COOKIE);
                CacheHeaders::add_to(&mut failed.headers, sets_cookie);
                Response::from_parts(failed, B::default())
            }
        }
    }))
}

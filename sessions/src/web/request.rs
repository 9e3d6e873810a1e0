//! The request core, framework-neutral: which store keeps each session type ([`SessionLayer`]),
//! the sessions of one request ([`RequestSessions`]) lent to handlers ([`TypedSession`]) and saved
//! after them, and the answer to a fault. `tower.rs`, `axum.rs` and `actix.rs` adapt it.

use std::any::{Any, TypeId};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use ::http::header::{RETRY_AFTER, SET_COOKIE};
use ::http::{HeaderMap, HeaderValue, Response, StatusCode};

use crate::error::{LoadError, SaveError};
use crate::loaded::Loaded;
use crate::session::Session;
use crate::store::Store;

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Loads and saves one session type through one store, with the type erased so that a layer can
/// hold many.
trait TypedStore: Send + Sync {
    fn load<'a>(&'a self, request: &'a HeaderMap) -> BoxFuture<'a, Result<Box<dyn Any + Send>, LoadError>>;
    fn save<'a>(
        &'a self,
        session: Box<dyn Any + Send>,
        response: &'a mut HeaderMap,
    ) -> BoxFuture<'a, Result<(), SaveError>>;
    fn type_name(&self) -> &'static str;
}

struct Typed<S, St> {
    store: St,
    session: PhantomData<fn() -> S>,
}

impl<S: Session, St: Store> TypedStore for Typed<S, St> {
    fn load<'a>(&'a self, request: &'a HeaderMap) -> BoxFuture<'a, Result<Box<dyn Any + Send>, LoadError>> {
        Box::pin(async move {
            let session = self.store.load::<S>(request).await?;
            Ok(Box::new(session) as Box<dyn Any + Send>)
        })
    }

    fn save<'a>(
        &'a self,
        session: Box<dyn Any + Send>,
        response: &'a mut HeaderMap,
    ) -> BoxFuture<'a, Result<(), SaveError>> {
        Box::pin(async move {
            match session.downcast::<Loaded<S>>() {
                Ok(mut session) => self.store.save(&mut session, response).await,
                Err(_) => Ok(()), // a slot only ever holds its own type
            }
        })
    }

    fn type_name(&self) -> &'static str {
        S::CONFIG.type_name()
    }
}

/// Adds [`RequestSessions`] to each request and saves the sessions the request used into its response.
///
/// Each session type is registered with the store that keeps it, so one request can use several
/// session types, each in its own cookie, from different stores. Sessions load lazily, when a
/// handler asks; they are saved after the handler, only when they changed or their cookie must be
/// re-issued. By default nothing is saved into a 5xx response (a failed request should not half-apply);
/// [`SessionLayer::save_on_server_error`] changes that. A failed save replaces the response and logs
/// the cause, so a write is never lost silently: a store that failed (an outage) answers 503 with
/// `Retry-After: 5`, anything else 500 (see [`SaveError::status`](crate::SaveError::status)).
///
/// With feature `actix`, the same layer is actix-web middleware: `App::new().wrap(layer)` (see
/// `sessions::actix`).
#[derive(Clone, Default)]
pub struct SessionLayer {
    pub(crate) registry: Arc<Registry>,
}

/// What the app makes of a failed save: see [`SessionLayer::on_save_error`].
type SaveErrorHook = Arc<dyn Fn(&SaveError, &mut ::http::response::Parts) + Send + Sync>;

#[derive(Default, Clone)]
pub(crate) struct Registry {
    /// A few entries: a linear search beats hashing a `TypeId`.
    stores: Vec<(TypeId, Arc<dyn TypedStore>)>,
    save_on_server_error: bool,
    on_save_error: Option<SaveErrorHook>,
}

impl Registry {
    fn store(&self, type_id: TypeId) -> Option<&Arc<dyn TypedStore>> {
        self.stores
            .iter()
            .find(|(id, _)| *id == type_id)
            .map(|(_, store)| store)
    }
}

impl fmt::Debug for SessionLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut types: Vec<_> = self
            .registry
            .stores
            .iter()
            .map(|(_, store)| store.type_name())
            .collect();
        types.sort_unstable();
        f.debug_struct("SessionLayer")
            .field("sessions", &types)
            .field("save_on_server_error", &self.registry.save_on_server_error)
            .field("on_save_error", &self.registry.on_save_error.is_some())
            .finish()
    }
}

impl SessionLayer {
    /// A layer with no session types yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps sessions of type `S` in `store`.
    #[must_use]
    pub fn with<S: Session>(mut self, store: impl Store) -> Self {
        let typed: Arc<dyn TypedStore> = Arc::new(Typed {
            store,
            session: PhantomData::<fn() -> S>,
        });
        let stores = &mut self.registry_mut().stores;
        stores.retain(|(id, _)| *id != TypeId::of::<S>());
        stores.push((TypeId::of::<S>(), typed));
        self
    }

    /// Saves sessions into 5xx responses too.
    #[must_use]
    pub fn save_on_server_error(mut self, save: bool) -> Self {
        self.registry_mut().save_on_server_error = save;
        self
    }

    /// Lets the app shape the response when saving a session fails: `hook` gets the error and the
    /// response's head as the layer made it (503 with `Retry-After` for a store outage, 500 for
    /// anything else), and may change its status and headers. The body is empty. Every other
    /// session of the request is still saved, and the head carries their `Set-Cookie` lines, so
    /// that one session's failure signs nobody out of another.
    ///
    /// ```
    /// use http::{StatusCode, header};
    /// use sessions::layer::SessionLayer;
    ///
    /// // Send the user to a page that says "please try again", rather than a bare error.
    /// let layer = SessionLayer::new().on_save_error(|_error, response| {
    ///     response.status = StatusCode::SEE_OTHER;
    ///     response.headers.insert(header::LOCATION, "/try-again".parse().unwrap());
    /// });
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn on_save_error(
        mut self,
        hook: impl Fn(&SaveError, &mut ::http::response::Parts) + Send + Sync + 'static,
    ) -> Self {
        self.registry_mut().on_save_error = Some(Arc::new(hook));
        self
    }

    fn registry_mut(&mut self) -> &mut Registry {
        Arc::make_mut(&mut self.registry)
    }
}

/// The sessions of one request: put into its extensions by [`SessionLayer`].
#[derive(Clone)]
pub struct RequestSessions {
    inner: Arc<Shared>,
}

struct Shared {
    registry: Arc<Registry>,
    /// Every session type loaded during the request.
    slots: Mutex<Vec<Slot>>,
}

/// One session type's place in a request.
pub(crate) struct Slot {
    type_id: TypeId,
    /// `None` while a [`TypedSession`] has the session; then the session it handed back, to be saved.
    session: Option<Box<dyn Any + Send>>,
}

impl fmt::Debug for RequestSessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestSessions").finish_non_exhaustive()
    }
}

/// A session could not be loaded for a handler.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The request did not pass through a [`SessionLayer`].
    #[error("no SessionLayer in front of this handler; add `.layer(SessionLayer::new().with::<{0}>(store))`")]
    NoLayer(&'static str),
    /// A handler asked for the same session type twice while the first was still in use.
    #[error("the session `{0}` is already in use in this request; use the one loaded first")]
    AlreadyLoaded(&'static str),
    /// The session type was not registered with the layer.
    #[error(
        "the session type `{0}` is not registered with the SessionLayer; register it with its store: `SessionLayer::new().with::<{0}>(store)`"
    )]
    NotRegistered(&'static str),
    /// The store failed (a server-side store could not be reached).
    #[error(transparent)]
    Load(#[from] LoadError),
}

impl SessionError {
    /// The status of the response this error becomes: 503 Service Unavailable when the store could
    /// not be reached (an outage: retry later), 500 Internal Server Error when the app is
    /// misconfigured (no layer, a type not registered, a session extracted twice).
    pub fn status(&self) -> StatusCode {
        match self {
            SessionError::Load(error) => error.status(),
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body of the response this error becomes: in debug builds, what went wrong and how to fix
    /// it; in release builds only the status's reason, since details are for the logs, not clients.
    pub fn body_text(&self) -> String {
        crate::error::fault_body(self, self.status())
    }
}

/// What a 503 asks clients to wait before retrying, in seconds (`Retry-After`).
const RETRY_AFTER_SECONDS: &str = "5";

/// Asks the client to retry later when `status` says the service is unavailable (a store outage).
pub(crate) fn ask_to_retry(status: StatusCode, headers: &mut HeaderMap) {
    if status == StatusCode::SERVICE_UNAVAILABLE {
        headers.insert(RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
    }
}

/// The headers of the answer to a fault of the server (a store down, an app misconfigured), which
/// is logged: `Retry-After` when `status` is a 503. Each framework answers with `status`, these
/// headers, and the error's body text.
#[cfg(any(feature = "axum", feature = "actix"))]
pub(crate) fn fault_headers(
    what: &str,
    error: &(dyn std::error::Error + 'static),
    status: StatusCode,
) -> HeaderMap {
    report_fault(what, error);
    let mut headers = HeaderMap::new();
    ask_to_retry(status, &mut headers);
    headers
}

/// Logs a fault of the server (a store down, an app misconfigured) at error level. In a debug build
/// with no `tracing` subscriber installed, it is printed to stderr too, so it cannot go unseen.
pub(crate) fn report_fault(what: &str, error: &(dyn std::error::Error + 'static)) {
    let error = crate::error::ErrorChain(error);
    tracing::error!(error = %error, "{what}");
    if cfg!(debug_assertions) && !tracing::dispatcher::has_been_set() {
        eprintln!("sessions: {what}: {error}");
    }
}

impl RequestSessions {
    /// The sessions of a request that has used none yet.
    pub(crate) fn new(registry: &Arc<Registry>) -> Self {
        Self {
            inner: Arc::new(Shared {
                registry: Arc::clone(registry),
                slots: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Loads session `S` from the headers of this request; a second load after the first guard was
    /// dropped sees its changes. When the returned guard is dropped, the session goes back to the
    /// layer, which saves it into the response.
    pub async fn load<S: Session>(&self, request: &HeaderMap) -> Result<TypedSession<S>, SessionError> {
        let name = S::CONFIG.type_name();
        let store = self
            .inner
            .registry
            .store(TypeId::of::<S>())
            .ok_or(SessionError::NotRegistered(name))?;
        let session = match self.lend::<S>()? {
            Some(session) => session,
            None => match store.load(request).await {
                Ok(loaded) => loaded
                    .downcast::<Loaded<S>>()
                    .expect("a registered store loads its own type"),
                Err(error) => {
                    self.slots().retain(|slot| slot.type_id != TypeId::of::<S>());
                    return Err(error.into());
                }
            },
        };
        Ok(TypedSession {
            session: Some(session),
            sessions: self.clone(),
        })
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Vec<Slot>> {
        self.inner.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks `S` as lent out; returns the session a guard already handed back, if any.
    fn lend<S: Session>(&self) -> Result<Option<Box<Loaded<S>>>, SessionError> {
        let mut slots = self.slots();
        match slots.iter_mut().find(|slot| slot.type_id == TypeId::of::<S>()) {
            None => {
                slots.push(Slot {
                    type_id: TypeId::of::<S>(),
                    session: None,
                });
                Ok(None)
            }
            Some(slot) => match slot.session.take() {
                None => Err(SessionError::AlreadyLoaded(S::CONFIG.type_name())),
                Some(session) => Ok(session.downcast::<Loaded<S>>().ok()),
            },
        }
    }

    /// Takes the sessions to save into a response with `status`: `None` when the request used
    /// none, or when `status` is a 5xx and the layer was not asked to save into those.
    pub(crate) fn to_save_into(&self, status: StatusCode) -> Option<Vec<Slot>> {
        let returned = std::mem::take(&mut *self.slots());
        let skip =
            returned.is_empty() || (status.is_server_error() && !self.inner.registry.save_on_server_error);
        (!skip).then_some(returned)
    }

    /// Saves `returned` into a response's `headers`. When a save fails, the cause is logged and
    /// the answer is the head of the response to send instead, with an empty body: 503 with
    /// `Retry-After` for a store outage, 500 for anything else, as the app's hook shaped it (from
    /// the first failure). One session's failure costs no other session its save: every session
    /// is saved, and the head carries the `Set-Cookie` lines of those that were, so nobody is
    /// signed out by a failure of another session (the one that failed keeps the cookie the
    /// browser has).
    pub(crate) async fn save_returned(
        &self,
        returned: Vec<Slot>,
        headers: &mut HeaderMap,
    ) -> Result<(), ::http::response::Parts> {
        // Only with another session to keep is there a line to carry: a request with one session
        // (most) does not look (0.3% of a cookie session's request through the layer, callgrind).
        let lines_before = (returned.len() > 1).then(|| headers.get_all(SET_COOKIE).iter().count());
        let mut failed = None;
        for Slot { type_id, session } in returned {
            // A guard still held past the handler (moved into a spawned task) is not saved.
            let Some(session) = session else {
                tracing::warn!("a session was still in use when the response was sent; it is not saved");
                continue;
            };
            let Some(store) = self.inner.registry.store(type_id) else {
                continue;
            };
            if let Err(error) = store.save(session, headers).await {
                let status = error.status();
                report_fault(&format!("saving a session failed; answering {status}"), &error);
                if failed.is_none() {
                    let (mut head, ()) = Response::new(()).into_parts();
                    head.status = status;
                    ask_to_retry(status, &mut head.headers);
                    if let Some(hook) = &self.inner.registry.on_save_error {
                        hook(&error, &mut head);
                    }
                    failed = Some(head);
                }
            }
        }
        let Some(mut failed) = failed else {
            return Ok(());
        };
        if let Some(lines_before) = lines_before {
            for line in headers.get_all(SET_COOKIE).iter().skip(lines_before) {
                failed.headers.append(SET_COOKIE, line.clone());
            }
        }
        Err(failed)
    }
}

/// A loaded session lent to a handler: derefs to [`Loaded<S>`] (and so to `S`), and goes back to the
/// layer for saving when dropped. The extractor of [`crate::axum`] and [`crate::actix`], named apart
/// from the [`Session`] trait and derive so that `use sessions::Session;` and
/// `use sessions::axum::TypedSession;` go together.
pub struct TypedSession<S: Session> {
    /// Boxed, so that the session moves between the layer and the handler as a pointer, and a
    /// handler's future stays small.
    session: Option<Box<Loaded<S>>>,
    sessions: RequestSessions,
}

impl<S: Session + fmt::Debug> fmt::Debug for TypedSession<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TypedSession").field(&self.session).finish()
    }
}

impl<S: Session> Deref for TypedSession<S> {
    type Target = Loaded<S>;
    fn deref(&self) -> &Loaded<S> {
        self.session.as_ref().expect("present until dropped")
    }
}

impl<S: Session> DerefMut for TypedSession<S> {
    fn deref_mut(&mut self) -> &mut Loaded<S> {
        self.session.as_mut().expect("present until dropped")
    }
}

impl<S: Session> Drop for TypedSession<S> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            let mut slots = self.sessions.slots();
            if let Some(slot) = slots.iter_mut().find(|slot| slot.type_id == TypeId::of::<S>()) {
                slot.session = Some(session);
            }
        }
    }
}

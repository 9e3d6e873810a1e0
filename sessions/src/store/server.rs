//! Server-side sessions: a signed id in the cookie, the session in a [`Backend`].

use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use ::http::{HeaderMap, HeaderValue};

use crate::clock::{Clock, system_time};
use crate::codec::{self, Layout};
use crate::error::{LoadError, Rejection, SaveError};
use crate::http;
use crate::key::Keys;
use crate::loaded::{Intent, Loaded, Origin};
use crate::session::Session;
use crate::stats::RejectionCounts;
use crate::store::id::{self, SessionId};
use crate::store::merge::merge;
use crate::store::{Context, Store};

/// Storage for server-side sessions: opaque payloads under session ids.
///
/// A backend never sees field types: it stores the bytes it is given, and merges a save into the
/// stored record with [`Write::merge`] under whatever lock makes that atomic for it (a mutex, a file
/// lock, a Redis script).
pub trait Backend: Send + Sync + 'static {
    /// What goes wrong in this backend (I/O, connection).
    type Error: std::error::Error + Send + Sync + 'static;

    /// The stored payload of `id`, or `None` when there is none.
    fn load(&self, id: &SessionId) -> impl Future<Output = Result<Option<Vec<u8>>, Self::Error>> + Send;

    /// Applies `write`: merge it into the record of [`Write::source_id`] and store the result under
    /// [`Write::id`] (removing the source record when the two differ). Returns `false`, storing
    /// nothing, when [`Write::merge`] says there is nothing to merge into.
    fn save(&self, write: &Write<'_>) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// Removes the record of `id`, if there is one.
    fn delete(&self, id: &SessionId) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// One save of a server-side session, handed to [`Backend::save`].
#[derive(Debug)]
pub struct Write<'a> {
    id: &'a SessionId,
    source_id: &'a SessionId,
    creates: bool,
    payload: &'a [u8],
    changed: &'a [u32],
    expires_at: SystemTime,
}

impl Write<'_> {
    /// The id the record is stored under after this write.
    pub fn id(&self) -> &SessionId {
        self.id
    }

    /// The id whose record this write merges into: [`Write::id`], or the old id when the session's id
    /// is being cycled.
    pub fn source_id(&self) -> &SessionId {
        self.source_id
    }

    /// When the stored session expires; a backend may drop it after that (a TTL, a sweep).
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// The record to store, given the one stored under [`Write::source_id`] now. `None` means the
    /// session was removed since it was loaded (destroyed by a concurrent request, or expired): it must
    /// not come back, so store nothing.
    pub fn merge(&self, current: Option<&[u8]>) -> Option<Vec<u8>> {
        match current {
            Some(current) => Some(merge(current, self.payload, self.changed)),
            None if self.creates => Some(self.payload.to_vec()),
            None => None,
        }
    }
}

/// A store that keeps sessions on the server, in backend `B`, and only a signed id in the cookie.
///
/// Sessions are not limited by cookie size, can be revoked on the server, and concurrent requests
/// changing different fields of one session both keep their change. See
/// [`MemoryStore`](crate::MemoryStore) for an example.
#[derive(Debug)]
pub struct ServerStore<B> {
    backend: Arc<B>,
    context: Context,
}

/// Clones share the backend, keys and counts.
impl<B> Clone for ServerStore<B> {
    fn clone(&self) -> Self {
        Self {
            backend: Arc::clone(&self.backend),
            context: self.context.clone(),
        }
    }
}

impl<B: Backend> ServerStore<B> {
    /// A store keeping sessions in `backend`, signing ids with `keys`' primary key.
    pub fn with_backend(backend: B, keys: Keys) -> Self {
        Self {
            backend: Arc::new(backend),
            context: Context::new(keys),
        }
    }

    /// Uses `clock` instead of the system clock (for tests of expiry).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.context.clock = Arc::new(clock);
        self
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    pub(crate) fn context(&self) -> &Context {
        &self.context
    }

    fn store_error<S: Session>(error: B::Error) -> SaveError {
        SaveError::Store {
            cookie: S::CONFIG.cookie().name(),
            source: Box::new(error),
        }
    }
}

impl<B: Backend> Store for ServerStore<B> {
    async fn load<S: Session>(&self, request: &HeaderMap) -> Result<Loaded<S>, LoadError> {
        let now = self.context.now();
        let mut refused = None;
        for value in http::cookie_values(request, S::CONFIG.cookie().name()) {
            let verified = match id::verify::<S>(value, &self.context.keys) {
                Ok(verified) => verified,
                Err(reason) => {
                    refused.get_or_insert(reason);
                    continue;
                }
            };
            let record = self.backend.load(&verified.id).await.map_err(|error| LoadError {
                cookie: S::CONFIG.cookie().name(),
                source: Box::new(error),
            })?;
            let restored = match record {
                Some(bytes) => {
                    let len = bytes.len();
                    codec::restore::<S>(bytes, 0..len, now)
                }
                None => Err(Rejection::NotFound),
            };
            match restored {
                Ok(mut session) => {
                    session.id = Some(verified.id);
                    session.rekey = verified.by_fallback;
                    return Ok(session);
                }
                Err(reason) => {
                    if reason != Rejection::NotFound
                        && let Err(error) = self.backend.delete(&verified.id).await
                    {
                        tracing::warn!(%error, "could not delete an expired or unreadable session");
                    }
                    refused.get_or_insert(reason);
                }
            }
        }
        Ok(self.context.fresh(refused, now))
    }

    async fn save<S: Session>(
        &self,
        session: &mut Loaded<S>,
        response: &mut HeaderMap,
    ) -> Result<(), SaveError> {
        let options = S::CONFIG.cookie();
        let now = self.context.now();
        if session.is_destroyed() {
            if let Some(id) = session.id.take() {
                self.backend.delete(&id).await.map_err(Self::store_error::<S>)?;
            }
            if session.origin != Origin::New {
                http::append(response, http::removal(options));
            }
            *session = Loaded::new(Origin::New, now);
            return Ok(());
        }

        let mut payload = Vec::with_capacity(session.snapshot.bytes.len() + 64);
        let mut changed = Vec::new();
        let layout = codec::encode(session, now, &mut payload, |index| {
            changed.push(S::FIELDS[index].name_tag())
        })?;
        let stale = session.stale(now);
        let cycle = session.intent == Intent::CycleId;
        let Some(old_id) = session.id.clone() else {
            if changed.is_empty() && !stale {
                if session.rejection().is_some() {
                    http::append(response, http::removal(options));
                    session.origin = Origin::New;
                }
                return Ok(());
            }
            return self
                .write_record(session, response, (payload, layout), &changed, None, now)
                .await;
        };
        if changed.is_empty() && !stale && !cycle {
            if session.rekey {
                let line = self.id_cookie(&old_id, session, now)?;
                http::append(response, line);
                session.rekey = false;
            }
            return Ok(());
        }
        self.write_record(session, response, (payload, layout), &changed, Some(old_id), now)
            .await
    }

    fn rejections(&self) -> &RejectionCounts {
        &self.context.rejections
    }
}

impl<B: Backend> ServerStore<B> {
    /// The `Set-Cookie` line carrying `id`, signed with the primary key.
    fn id_cookie<S: Session>(
        &self,
        id: &SessionId,
        session: &Loaded<S>,
        now: u64,
    ) -> Result<HeaderValue, SaveError> {
        let mut value = String::with_capacity(64);
        id::sign::<S>(id, &self.context.keys, &mut value);
        http::set_cookie(
            S::CONFIG.cookie().name(),
            &S::prepared().attributes,
            session.cookie_max_age(now),
            &value,
        )
    }

    /// Stores `payload` and sends the id cookie when it changed or must be refreshed. `old_id` is the id
    /// the session was loaded under, `None` for a session stored for the first time.
    async fn write_record<S: Session>(
        &self,
        session: &mut Loaded<S>,
        response: &mut HeaderMap,
        (payload, layout): (Vec<u8>, Layout),
        changed: &[u32],
        old_id: Option<SessionId>,
        now: u64,
    ) -> Result<(), SaveError> {
        let options = S::CONFIG.cookie();
        let new_id = old_id.is_none() || session.intent == Intent::CycleId;
        let id = match (&old_id, new_id) {
            (Some(old_id), false) => old_id.clone(),
            _ => SessionId::random(),
        };
        let send_cookie = new_id
            || session.rekey
            || session.persistent != session.meta.persistent
            || (session.persistent && session.refresh_due(now));
        let line = send_cookie
            .then(|| self.id_cookie(&id, session, now))
            .transpose()?;
        let write = Write {
            id: &id,
            source_id: old_id.as_ref().unwrap_or(&id),
            creates: old_id.is_none(),
            payload: &payload,
            changed,
            expires_at: system_time(session.expires_at_unix(now)),
        };
        let stored = self.backend.save(&write).await.map_err(Self::store_error::<S>)?;
        if !stored {
            tracing::debug!(
                cookie = options.name(),
                "session was removed while this request ran; not restoring it"
            );
            http::append(response, http::removal(options));
            *session = Loaded::new(Origin::New, now);
            return Ok(());
        }
        codec::commit(session, payload, layout);
        session.id = Some(id);
        if let Some(line) = line {
            http::append(response, line);
        }
        Ok(())
    }
}

//! Server-side sessions: a signed id in the cookie, the session in a [`Backend`], sealed at rest.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ::http::{HeaderMap, HeaderValue};

use crate::clock::{Clock, system_time};
use crate::codec::payload;
use crate::codec::seal::Binding;
use crate::codec::{self, Layout};
use crate::error::{LoadError, Rejection, SaveError};
use crate::http;
use crate::key::Keys;
use crate::loaded::{Intent, Loaded, Origin};
use crate::session::Session;
use crate::stats::RejectionCounts;
use crate::store::id::{self, SessionId};
use crate::store::merge::merge;
use crate::store::record::{self, Part};
use crate::store::{Context, Store};

/// Storage for server-side sessions: sealed records under session ids.
///
/// A backend never sees a field's value: records arrive sealed (AES-256-GCM, bound to the session's
/// id), and [`Write::merge`] opens, merges and re-seals them under whatever lock makes that atomic for
/// the backend (a mutex, a file lock, a Redis transaction).
pub trait Backend: Send + Sync + 'static {
    /// What goes wrong in this backend (I/O, connection).
    type Error: std::error::Error + Send + Sync + 'static;

    /// What is stored for `id`, or `None` when there is nothing.
    fn load(&self, id: &SessionId) -> impl Future<Output = Result<Option<Stored>, Self::Error>> + Send;

    /// Applies `write`: merge it into the record of [`Write::source_id`] and store the result under
    /// [`Write::id`] (removing the source record when the two differ). Returns `false`, storing
    /// nothing, when [`Write::merge`] says there is nothing to merge into.
    fn save(&self, write: Write) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// Removes the record of `id`, if there is one.
    fn delete(&self, id: &SessionId) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// A session as a backend stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// One sealed record, from [`Write::merge`].
    Record(Vec<u8>),
    /// Sealed entries, from [`Write::entries`]: for backends that merge on the server, field by field.
    Entries(Entries),
}

/// A session as sealed entries: its times, and one entry per field, keyed by the field's tag. A
/// backend that stores them keeps the last entry written under each tag; that is the per-field merge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entries {
    /// The session's times, sealed.
    pub meta: Vec<u8>,
    /// Each field's record, sealed, by the field's tag.
    pub fields: Vec<(u32, Vec<u8>)>,
}

/// One save of a server-side session, handed to [`Backend::save`]. It owns its data, so a backend
/// can move it to a blocking thread.
#[derive(Debug)]
pub struct Write {
    id: SessionId,
    source_id: SessionId,
    creates: bool,
    /// Every entry must be sealed again: a new session, a new id (entries are bound to the id), or a
    /// session sealed with a fallback key.
    rewrites_all: bool,
    payload: Vec<u8>,
    changed: Vec<u32>,
    expires_at: SystemTime,
    time_to_live: Duration,
    keys: Arc<Keys>,
    binding: Binding,
}

impl Write {
    /// The id the record is stored under after this write.
    pub fn id(&self) -> &SessionId {
        &self.id
    }

    /// The id whose record this write merges into: [`Write::id`], or the old id when the session's id
    /// is being cycled.
    pub fn source_id(&self) -> &SessionId {
        &self.source_id
    }

    /// When the stored session expires; a backend may drop it after that (a sweep).
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// How long from now the stored session lives, by the store's clock: for a backend's TTL, which
    /// then does not depend on the backend's own clock agreeing with the app's.
    pub fn time_to_live(&self) -> Duration {
        self.time_to_live
    }

    /// Whether this write may create the session: `false` means it must already be stored (under
    /// [`Write::source_id`]); if it is not, a concurrent request removed it, and it must stay removed.
    pub fn creates(&self) -> bool {
        self.creates
    }

    /// For a backend that merges on the server: the session's times and the records of the fields
    /// this save changed, each sealed for [`Write::id`]; every record when the session is new, moves to
    /// a new id, or was sealed with a fallback key. Storing them over what is stored, entry by entry,
    /// is the per-field merge.
    pub fn entries(&self) -> Entries {
        let seal =
            |plaintext: &[u8], entry| record::seal(plaintext, entry, &self.id, &self.keys, &self.binding);
        let mut entries = Entries::default();
        let Ok((meta, records)) = payload::read(&self.payload) else {
            return entries; // a payload this crate just wrote always reads
        };
        let mut times = Vec::with_capacity(24);
        payload::Writer::begin(&mut times, meta, 0).finish();
        entries.meta = seal(&times, Part::Meta);
        for record in records.flatten() {
            if self.rewrites_all || self.changed.contains(&record.name_tag) {
                entries
                    .fields
                    .push((record.name_tag, seal(record.raw, Part::Field(record.name_tag))));
            }
        }
        entries
    }

    /// The sealed record to store, given the sealed record stored under [`Write::source_id`] now.
    ///
    /// Fields this save changed come from it, every other field stays as stored, so concurrent saves
    /// that change different fields both keep their change. `None` means the session was removed since
    /// it was loaded (destroyed by a concurrent request, or expired): it must not come back, so store
    /// nothing. A stored record that does not open is replaced.
    pub fn merge(&self, current: Option<&[u8]>) -> Option<Vec<u8>> {
        let opened = current.map(|sealed| {
            record::open(
                sealed.to_vec(),
                Part::Whole,
                &self.source_id,
                &self.keys,
                &self.binding,
            )
        });
        let payload = match opened {
            Some(Ok(current)) => merge(current.plaintext(), &self.payload, &self.changed),
            Some(Err(_)) => self.payload.clone(),
            None if self.creates => self.payload.clone(),
            None => return None,
        };
        Some(record::seal(
            &payload,
            Part::Whole,
            &self.id,
            &self.keys,
            &self.binding,
        ))
    }
}

/// A store that keeps sessions on the server, in backend `B`, and only a signed id in the cookie.
///
/// Sessions are not limited by cookie size, can be revoked on the server, are sealed at rest, and
/// concurrent requests changing different fields of one session both keep their change. See
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
    /// A store keeping sessions in `backend`, signing ids and sealing records with `keys`' primary key.
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

    /// The session stored under a verified `id`, or why there is none.
    async fn restore<S: Session>(
        &self,
        id: &SessionId,
        now: u64,
    ) -> Result<Result<Loaded<S>, Rejection>, LoadError> {
        let stored = self.backend.load(id).await.map_err(|error| LoadError {
            cookie: S::CONFIG.cookie().name(),
            source: Box::new(error),
        })?;
        let restored = match stored {
            None => return Ok(Err(Rejection::NotFound)),
            Some(Stored::Record(sealed)) => record::open(
                sealed,
                Part::Whole,
                id,
                &self.context.keys,
                &S::prepared().binding,
            )
            .and_then(|opened| {
                let mut session = codec::restore::<S>(opened.buf, opened.plaintext, now)?;
                session.rekey = opened.reseal;
                Ok(session)
            }),
            Some(Stored::Entries(entries)) => self.assemble::<S>(entries, id, now),
        };
        if let Err(reason) = &restored
            && !reason.maybe_another_instances()
            && let Err(error) = self.backend.delete(id).await
        {
            tracing::warn!(%error, "could not delete an expired or unreadable session");
        }
        Ok(restored)
    }

    /// A session from its entries: the times must open; a field entry that does not open (corrupt, or
    /// its key gone) only loses that field.
    fn assemble<S: Session>(
        &self,
        entries: Entries,
        id: &SessionId,
        now: u64,
    ) -> Result<Loaded<S>, Rejection> {
        let (keys, binding) = (&self.context.keys, &S::prepared().binding);
        let times = record::open(entries.meta, Part::Meta, id, keys, binding)?;
        let (meta, _) = payload::read(times.plaintext()).map_err(|_| Rejection::Unreadable)?;
        let fields: Vec<record::Opened> = entries
            .fields
            .into_iter()
            .filter_map(|(tag, sealed)| record::open(sealed, Part::Field(tag), id, keys, binding).ok())
            .collect();
        let mut buf =
            Vec::with_capacity(32 + fields.iter().map(|field| field.plaintext.len()).sum::<usize>());
        let mut writer = payload::Writer::begin(&mut buf, meta, fields.len());
        for field in &fields {
            writer.raw(&mut buf, field.plaintext());
        }
        writer.finish();
        let rekey = times.reseal || fields.iter().any(|field| field.reseal);
        let len = buf.len();
        let mut session = codec::restore::<S>(buf, 0..len, now)?;
        session.rekey = rekey;
        Ok(session)
    }

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
        changed: Vec<u32>,
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
            id: id.clone(),
            source_id: old_id.clone().unwrap_or_else(|| id.clone()),
            creates: old_id.is_none(),
            rewrites_all: new_id || session.rekey,
            payload: payload.clone(),
            changed,
            expires_at: system_time(session.expires_at_unix(now)),
            time_to_live: Duration::from_secs(session.expires_at_unix(now).saturating_sub(now)),
            keys: Arc::clone(&self.context.keys),
            binding: S::prepared().binding,
        };
        let stored = self.backend.save(write).await.map_err(Self::store_error::<S>)?;
        if !stored {
            tracing::debug!(
                cookie = options.name(),
                "session was removed while this request ran; not restoring it"
            );
            http::append(response, http::removal(options)?);
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

impl<B: Backend> Store for ServerStore<B> {
    async fn load<S: Session>(&self, request: &HeaderMap) -> Result<Loaded<S>, LoadError> {
        let now = self.context.now();
        let mut refused = None;
        let candidates = self
            .context
            .candidates(http::cookie_values(request, S::CONFIG.cookie().name()));
        for value in candidates.iter() {
            let verified = match id::verify::<S>(value, &self.context.keys) {
                Ok(verified) => verified,
                Err(reason) => {
                    refused.get_or_insert(reason);
                    continue;
                }
            };
            match self.restore::<S>(&verified.id, now).await? {
                Ok(mut session) => {
                    session.id = Some(verified.id);
                    session.rekey |= verified.by_fallback;
                    return Ok(session);
                }
                Err(reason) => {
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
                http::append(response, http::removal(options)?);
            }
            *session = Loaded::new(Origin::New, now);
            return Ok(());
        }

        let mut payload = Vec::with_capacity(session.snapshot.bytes.len() + 64);
        let mut changed = Vec::new();
        let layout = codec::encode(session, now, &mut payload, |index| {
            changed.push(S::FIELDS[index].name_tag())
        })?;
        let must_store = session.must_store(!changed.is_empty(), now);
        let old_id = session.id.clone();
        if old_id.is_none() && changed.is_empty() && !session.stale(now) {
            // A new session nobody wrote to: nothing to store, but a refused cookie is cleared.
            if session
                .rejection()
                .is_some_and(|reason| !reason.maybe_another_instances())
            {
                http::append(response, http::removal(options)?);
                session.origin = Origin::New;
            }
            return Ok(());
        }
        if !must_store {
            return Ok(());
        }
        self.write_record(session, response, (payload, layout), changed, old_id, now)
            .await
    }

    fn rejections(&self) -> &RejectionCounts {
        &self.context.rejections
    }
}

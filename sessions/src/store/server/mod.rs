//! Server-side sessions: a signed id in the cookie, the session in a [`Backend`], sealed at rest.
//!
//! `backend.rs` is the protocol a backend implements; `write.rs` the save it receives; `record.rs`
//! how sessions are sealed at rest, and `merge.rs` the per-field merge; here, [`ServerStore`]
//! itself, which signs ids, follows moved sessions, lists and revokes.

pub mod backend;
pub(crate) mod merge;
pub(crate) mod record;
#[cfg(feature = "tokio")]
pub(crate) mod sweeper;
pub(crate) mod write;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use ::http::{HeaderMap, HeaderValue};

use crate::clock::{Clock, system_time};
use crate::codec::id::{self, SessionId};
use crate::codec::payload;
use crate::codec::snapshot;
use crate::error::{LoadError, Rejection, SaveError};
use crate::headers;
use crate::key::Keys;
use crate::loaded::{Loaded, Origin, Pending, SaveAction};
use crate::owner::{Handle, Listed, Listing, Owner, OwnersError};
use crate::session::Session;
use crate::stats::RejectionCounts;
use crate::store::server::backend::{Backend, Entries, Indexed, Saved, Stored, Summary, Swept};
use crate::store::server::record::Part;
use crate::store::server::write::{Owned, SessionWrite};
use crate::store::{Context, Store};

/// How many times [`Store::revoke`] deletes a session that `cycle_id` keeps moving to new ids.
const REVOKE_ATTEMPTS: usize = 8;

/// The most ids of one request a [`ServerStore`] reads from its backend: ids it signed itself,
/// which a browser holds one of (a few, when cookies of one name were set for several paths).
const MAX_READS: usize = 4;

/// A store that keeps sessions on the server, in backend `B`, and only a signed id in the cookie.
///
/// Sessions are not limited by cookie size, can be revoked on the server, are sealed at rest, and
/// concurrent requests changing different fields of one session both keep their change. See
/// [`MemoryStore`](crate::store::MemoryStore) for an example.
#[derive(Debug)]
pub struct ServerStore<B> {
    backend: Arc<B>,
    context: Context,
    cycle_grace: Duration,
}

/// Clones share the backend, keys and counts.
impl<B> Clone for ServerStore<B> {
    fn clone(&self) -> Self {
        Self {
            backend: Arc::clone(&self.backend),
            context: self.context.clone(),
            cycle_grace: self.cycle_grace,
        }
    }
}

impl<B: Backend> ServerStore<B> {
    /// A store keeping sessions in `backend`, signing ids and sealing records with `keys`' primary key.
    pub fn with_backend(backend: B, keys: impl Into<Keys>) -> Self {
        Self {
            backend: Arc::new(backend),
            context: Context::new(keys.into()),
            cycle_grace: Self::DEFAULT_CYCLE_GRACE,
        }
    }

    /// How long after [`Loaded::cycle_id`] the saves of requests still carrying a session's old id reach
    /// it, unless [`ServerStore::with_cycle_grace`] says otherwise: ten seconds, more than a request
    /// in flight at a sign-in takes.
    pub const DEFAULT_CYCLE_GRACE: Duration = Duration::from_secs(10);

    /// Sets how long, after [`Loaded::cycle_id`] moved a session to a new id, requests that loaded it
    /// under the old id (in flight at that moment) still reach it with their saves: their changes are
    /// merged into it, and their responses leave the cookie alone. A load of the old id never reaches
    /// it (the old id may be an attacker's planted one): it is refused as
    /// [`Rejection::Moved`](crate::Rejection::Moved). Past the grace, the old id is gone. At most
    /// [`Config::MAX_LIFETIME`](crate::config::Config::MAX_LIFETIME); zero turns forwarding off.
    ///
    /// What such a save may do is bounded, since whoever planted the old id before a sign-in holds
    /// it too: only a request that loaded the session at most `grace` before it saves reaches the
    /// moved session, and never with a change of the `#[owner]` field (who is signed in). Any other
    /// forwarded save stores nothing, and its response leaves the cookie alone.
    #[must_use]
    pub fn with_cycle_grace(mut self, grace: Duration) -> Self {
        self.cycle_grace = crate::config::clamp_lifetime(grace);
        self
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

    /// The time now by the store's clock (see `with_clock`): for a backend's own sweep, so it agrees
    /// with the store on what has expired.
    pub fn now(&self) -> SystemTime {
        system_time(self.context.now())
    }

    /// Removes what expired by the store's clock, as its backend does it ([`Backend::sweep`]): what
    /// it removed, or `None` when the backend has nothing to sweep (Redis expires sessions by
    /// itself). [`ServerStore::spawn_sweeper`] runs it on an interval (feature `tokio`, on with
    /// every backend feature).
    pub async fn sweep(&self) -> Result<Option<Swept>, B::Error> {
        self.backend.sweep(self.now()).await
    }

    fn store_error<S: Session>(error: B::Error) -> SaveError {
        SaveError::Store {
            cookie: S::CONFIG.cookie().name(),
            source: Box::new(error),
        }
    }

    /// The session stored under `id`, with the sealed record it was opened from (when it was one
    /// record). A record that does not open (but one left alone, see [`Rejection::is_left_alone`])
    /// is deleted.
    async fn restore<S: Session>(
        &self,
        id: &SessionId,
        now: u64,
    ) -> Result<Result<(Loaded<S>, Option<Vec<u8>>), Rejection>, LoadError> {
        let stored = self.backend.load(id).await.map_err(|error| LoadError {
            cookie: S::CONFIG.cookie().name(),
            source: Box::new(error),
        })?;
        let restored = match stored {
            None => return Ok(Err(Rejection::NotFound)),
            // Never followed on load: whoever holds the old id (maybe an attacker who planted it)
            // must not reach the session it moved to.
            Some(Stored::Moved(sealed)) => match self.follow::<S>(sealed, id, now) {
                Some(_) => Err(Rejection::Moved),
                None => Err(Rejection::NotFound),
            },
            Some(Stored::Record(sealed)) => {
                let kept = sealed.clone();
                self.open_sealed::<S>(sealed, Part::Whole, id, now)
                    .map(|loaded| (loaded, Some(kept)))
            }
            Some(Stored::Entries(entries)) => {
                self.assemble::<S>(entries, id, now).map(|loaded| (loaded, None))
            }
        };
        if let Err(reason) = &restored
            && !reason.is_left_alone()
            && let Err(error) = self.backend.delete(id).await
        {
            tracing::warn!(%error, "could not delete an expired or unreadable session");
        }
        Ok(restored)
    }

    /// A session from `sealed`, a whole payload sealed as `part` of session `id` (a record, or a
    /// summary): refused if it does not open, or has expired by `now`.
    fn open_sealed<S: Session>(
        &self,
        sealed: Vec<u8>,
        part: Part,
        id: &SessionId,
        now: u64,
    ) -> Result<Loaded<S>, Rejection> {
        let opened = record::open(sealed, part, id, &self.context.keys, &S::prepared().binding)?;
        let restored = snapshot::restore(opened.buf, opened.plaintext, now)?;
        Ok(Loaded::restored(restored, opened.reseal))
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
        Ok(Loaded::restored(snapshot::restore(buf, 0..len, now)?, rekey))
    }

    /// The `Set-Cookie` line carrying `id`, signed with the primary key.
    fn id_cookie<S: Session>(
        &self,
        id: &SessionId,
        session: &Loaded<S>,
        now: u64,
    ) -> Result<HeaderValue, SaveError> {
        let mut value = String::with_capacity(64);
        id::sign(id, &self.context.keys, &S::prepared().binding, &mut value);
        headers::set_cookie(
            S::CONFIG.cookie().name(),
            &S::prepared().attributes,
            session.cookie_max_age(now),
            &value,
        )
    }

    /// Stores `pending` and sends the id cookie when the id changed or the cookie must be issued
    /// again. A session that moved meanwhile (another request cycled its id) is written where it
    /// moved, once, and the cookie is left as the browser has it; one that was removed meanwhile
    /// stays removed.
    async fn write_record<S: Session>(
        &self,
        session: &mut Loaded<S>,
        response: &mut HeaderMap,
        (pending, changed): (Pending, Vec<u32>),
        now: u64,
    ) -> Result<(), SaveError> {
        let options = S::CONFIG.cookie();
        let old_id = session.id().cloned();
        let mut id = match &old_id {
            Some(old_id) if !pending.new_id => old_id.clone(),
            _ => SessionId::random(),
        };
        let mut source_id = old_id.clone().unwrap_or_else(|| id.clone());
        let mut loaded = session.take_record();
        let mut followed = false;
        loop {
            let write = self.write::<S>(
                (&id, &source_id),
                (old_id.is_none(), loaded.take()),
                (&pending, &changed),
                session,
                now,
            );
            match self.backend.save(write).await.map_err(Self::store_error::<S>)? {
                Saved::Stored => break,
                Saved::Moved(sealed) if !followed => {
                    let Some(to) = self.follow::<S>(sealed, &source_id, now) else {
                        return self.removed(session, response, now);
                    };
                    if let Some(why) = self.refuses_forwarded(session, &changed, now) {
                        tracing::debug!(
                            cookie = options.name(),
                            why,
                            "a save through the old id of a moved session; not stored"
                        );
                        // As for a load of the old id: nothing stored, the cookie left alone.
                        *session = Loaded::new(Origin::Rejected(Rejection::Moved), now);
                        return Ok(());
                    }
                    tracing::debug!(
                        cookie = options.name(),
                        "session moved to a new id while this request ran; saving there"
                    );
                    // Only the changed fields go over what the session holds now: entries are
                    // already sealed for the id written to.
                    if id == source_id {
                        id = to.clone();
                    }
                    source_id = to;
                    followed = true;
                }
                Saved::Moved(_) | Saved::Removed => return self.removed(session, response, now),
            }
        }
        // After following a move, no cookie at all: the new id goes only to the request that moved
        // the session (the old id may be an attacker's planted one), and the browser keeps it.
        let send_cookie = !followed && (old_id.as_ref() != Some(&id) || pending.reissue_cookie);
        let line = send_cookie
            .then(|| self.id_cookie(&id, session, now))
            .transpose()?;
        session.stored(&pending.payload, pending.layout);
        // A request that followed a move keeps the old id, which it may hand out; its next save in
        // this request goes through the forward again, bounded by when it first loaded.
        if followed {
            let loaded_at = session.synced_at().unwrap_or(now);
            session.stored_under(old_id, loaded_at, None, false);
        } else {
            session.stored_under(Some(id), now, None, false);
        }
        if let Some(line) = line {
            headers::append(response, line);
        }
        Ok(())
    }

    /// The [`SessionWrite`] of `pending` from `source_id` to `id`, with the forward a move leaves
    /// behind.
    fn write<S: Session>(
        &self,
        (id, source_id): (&SessionId, &SessionId),
        (creates, loaded): (bool, Option<Vec<u8>>),
        (pending, changed): (&Pending, &[u32]),
        session: &Loaded<S>,
        now: u64,
    ) -> SessionWrite {
        let forward = (id != source_id && !creates && !self.cycle_grace.is_zero()).then(|| {
            let until = now.saturating_add(self.cycle_grace.as_secs());
            let mut plaintext = id.as_bytes().to_vec();
            plaintext.extend_from_slice(&until.to_be_bytes());
            let sealed = record::seal(
                &plaintext,
                Part::Forward,
                source_id,
                &self.context.keys,
                &S::prepared().binding,
            );
            (sealed, until)
        });
        let owned = Owned::of::<S>();
        SessionWrite {
            sets_owner: creates
                || owned
                    .as_ref()
                    .is_some_and(|owned| changed.contains(&owned.owner_tag)),
            owned,
            merged: Mutex::default(),
            id: id.clone(),
            source_id: source_id.clone(),
            creates,
            rewrites_all: pending.reseal_all,
            payload: pending.payload.clone(),
            changed: changed.to_vec(),
            expires_at: system_time(session.expires_at_unix(now)),
            time_to_live: Duration::from_secs(session.expires_at_unix(now).saturating_sub(now)),
            forward,
            loaded,
            now,
            keys: Arc::clone(&self.context.keys),
            binding: S::prepared().binding,
        }
    }

    /// Why a save of `session` (whose fields `changed`) that found it moved may not follow the move
    /// at `now`, if it may not: see [`ServerStore::with_cycle_grace`].
    fn refuses_forwarded<S: Session>(
        &self,
        session: &Loaded<S>,
        changed: &[u32],
        now: u64,
    ) -> Option<&'static str> {
        let loaded_at = session.synced_at().unwrap_or(0);
        if now.saturating_sub(loaded_at) > self.cycle_grace.as_secs() {
            return Some("the request loaded the session longer ago than the cycle grace");
        }
        let owner_changed = S::prepared().owner_tag.is_some_and(|tag| changed.contains(&tag));
        owner_changed.then_some("the request changed who is signed in (the `#[owner]` field)")
    }

    /// Where the forward `sealed`, found under `from`, points, if it opens and its grace has not
    /// passed by `now`.
    fn follow<S: Session>(&self, sealed: Vec<u8>, from: &SessionId, now: u64) -> Option<SessionId> {
        let opened = record::open(
            sealed,
            Part::Forward,
            from,
            &self.context.keys,
            &S::prepared().binding,
        )
        .ok()?;
        let (to, until) = opened.plaintext().split_first_chunk::<16>()?;
        let until = u64::from_be_bytes(until.try_into().ok()?);
        (now <= until).then(|| SessionId::from_bytes(*to))
    }

    /// The ids and sealed summaries of `owner`'s sessions, from the backend's owner index: under
    /// each of the owner's digests (a session not saved since a key rotation is still under the
    /// former key's), each session once, as the digest the store indexes by now has it.
    async fn indexed<S: Session>(&self, owner: &Owner) -> Result<Vec<Indexed>, OwnersError> {
        let mut found: Vec<Indexed> = Vec::new();
        for digest in owner.digests(&self.context.keys).iter().rev() {
            let indexed = match self.backend.sessions_of(digest, &S::prepared().listed_tags).await {
                Ok(Some(indexed)) => indexed,
                Ok(None) => {
                    return Err(OwnersError::unsupported::<S>(
                        "list sessions (its backend keeps no owner index)",
                    ));
                }
                Err(error) => return Err(OwnersError::store::<S>("list", error)),
            };
            for session in indexed {
                if !found.iter().any(|seen| seen.id == session.id) {
                    found.push(session);
                }
            }
        }
        Ok(found)
    }

    /// `owner`'s live sessions as a listing shows them, each with its id, none marked current.
    async fn listed<S: Session>(&self, owner: &Owner) -> Result<Vec<(SessionId, Listed<S>)>, OwnersError> {
        let indexed = self.indexed::<S>(owner).await?;
        let now = self.context.now();
        let keys = &self.context.keys;
        Ok(indexed
            .into_iter()
            .filter_map(|Indexed { id, summary }| {
                // An expired session is refused here, as on load: it leaves the listing at once,
                // before any sweep.
                let session: Loaded<S> = match summary {
                    Summary::Sealed(sealed) => self.open_sealed(sealed, Part::Summary, &id, now),
                    Summary::Entries(entries) => self.assemble(entries, &id, now),
                }
                .ok()?;
                // A session stored before serials is known by its id until its next save.
                let serial = session.serial().map_or(*id.as_bytes(), |serial| serial.0);
                let listed = Listed {
                    handle: Handle::of(&serial, keys),
                    current: false,
                    created_at: session.created_at(),
                    last_seen: session.last_seen(),
                    expires_at: session.expires_at(),
                    persistent: session.is_persistent(),
                    fields: session.into_inner(),
                };
                Some((id, listed))
            })
            .collect())
    }

    /// The answer to a save of a session removed meanwhile: it is not restored, and the cookie goes.
    fn removed<S: Session>(
        &self,
        session: &mut Loaded<S>,
        response: &mut HeaderMap,
        now: u64,
    ) -> Result<(), SaveError> {
        tracing::debug!(
            cookie = S::CONFIG.cookie().name(),
            "session was removed while this request ran; not restoring it"
        );
        headers::append(response, headers::removal(S::CONFIG.cookie())?);
        *session = Loaded::new(Origin::New, now);
        Ok(())
    }
}

impl<B: Backend> Store for ServerStore<B> {
    async fn load<S: Session>(&self, request: &HeaderMap) -> Result<Loaded<S>, LoadError> {
        let now = self.context.now();
        let mut refused = None;
        let candidates = self
            .context
            .candidates(headers::cookie_values(request, S::CONFIG.cookie().name()));
        // Every value's signature is checked (cheap, and only this store's ids pass); the ids that
        // pass are read from the backend, the first few of them.
        let mut reads = 0;
        let mut unread = 0;
        for value in candidates.iter() {
            let verified = match id::verify(value, &self.context.keys, &S::prepared().binding) {
                Ok(verified) => verified,
                Err(reason) => {
                    refused.get_or_insert(reason);
                    continue;
                }
            };
            if reads == MAX_READS {
                unread += 1;
                continue;
            }
            reads += 1;
            match self.restore::<S>(&verified.id, now).await? {
                Ok((mut session, record)) => {
                    session.stored_under(Some(verified.id), now, record, verified.by_fallback);
                    return Ok(session);
                }
                Err(reason) => {
                    refused.get_or_insert(reason);
                }
            }
        }
        self.context
            .rejections
            .record_many(Rejection::TooManyValues, unread);
        Ok(self
            .context
            .none_opened(refused, candidates.complete() && unread == 0, now))
    }

    async fn save<S: Session>(
        &self,
        session: &mut Loaded<S>,
        response: &mut HeaderMap,
    ) -> Result<(), SaveError> {
        let now = self.context.now();
        let mut changed = Vec::new();
        let serial = S::prepared().owner_tag.is_some();
        let plan = session.plan_save((now, 0, serial), |tag| changed.push(tag))?;
        // After `destroy`, the old record goes; what was written since is a fresh session, under a
        // new id.
        if let Some(id) = plan.ended {
            self.backend.delete(&id).await.map_err(Self::store_error::<S>)?;
        }
        match plan.action {
            SaveAction::Nothing => Ok(()),
            SaveAction::ClearCookie => {
                headers::append(response, headers::removal(S::CONFIG.cookie())?);
                Ok(())
            }
            SaveAction::Store(pending) => {
                self.write_record(session, response, (pending, changed), now)
                    .await
            }
        }
    }

    async fn sessions_of<S: Session>(
        &self,
        owner: &Owner,
        current: Option<&Loaded<S>>,
    ) -> Result<Listing<S>, OwnersError> {
        let current = current.and_then(Loaded::id);
        let listed = (self.listed::<S>(owner).await?.into_iter())
            .map(|(id, mut listed)| {
                listed.current = current == Some(&id);
                listed
            })
            .collect();
        Ok(Listing::of(listed))
    }

    /// Deletes the session `handle` names, and again wherever it went if a `cycle_id` moved it to
    /// a new id meanwhile (its handle stays), until it is listed no more.
    async fn revoke<S: Session>(&self, owner: &Owner, handle: &Handle) -> Result<bool, OwnersError> {
        let mut revoked = false;
        for _ in 0..REVOKE_ATTEMPTS {
            let listed = self.listed::<S>(owner).await?;
            let Some((id, _)) = listed.into_iter().find(|(_, listed)| listed.handle.is(handle)) else {
                return Ok(revoked);
            };
            self.backend
                .delete(&id)
                .await
                .map_err(|error| OwnersError::store::<S>("revoke", error))?;
            revoked = true;
        }
        Err(OwnersError::store::<S>(
            "revoke",
            "the session kept moving to new ids while it was revoked; try again",
        ))
    }

    async fn revoke_all<S: Session>(
        &self,
        owner: &Owner,
        keep: Option<&mut Loaded<S>>,
    ) -> Result<(), OwnersError> {
        let keep = keep.as_deref().and_then(Loaded::id);
        // Sessions move only to the last digest (the primary key's), so going through them in
        // order misses none that a save re-indexes meanwhile.
        for digest in owner.digests(&self.context.keys) {
            match self.backend.revoke_owner(&digest, keep).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    return Err(OwnersError::unsupported::<S>(
                        "revoke sessions (its backend keeps no owner index)",
                    ));
                }
                Err(error) => return Err(OwnersError::store::<S>("revoke", error)),
            }
        }
        Ok(())
    }

    fn rejections(&self) -> &RejectionCounts {
        &self.context.rejections
    }
}

//! Server-side sessions: a signed id in the cookie, the session in a [`Backend`], sealed at rest.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use ::http::{HeaderMap, HeaderValue};

use crate::clock::{Clock, system_time};
use crate::codec::id::{self, SessionId};
use crate::codec::payload;
use crate::codec::seal::Binding;
use crate::codec::snapshot;
use crate::error::{LoadError, Rejection, SaveError};
use crate::headers;
use crate::key::Keys;
use crate::loaded::{Loaded, Origin, Pending, SaveAction};
use crate::owner::{Handle, Listed, Listing, Owner, OwnerDigest, OwnersError};
use crate::session::Session;
use crate::stats::RejectionCounts;
use crate::store::merge::merge;
use crate::store::record::{self, Part};
use crate::store::{Context, Store};

/// Storage for server-side sessions: sealed records under session ids.
///
/// A backend never sees a field's value: records arrive sealed (AES-256-GCM, bound to the session's
/// id), and [`SessionWrite::merge`] opens, merges and re-seals them under whatever makes that atomic
/// for the backend (a mutex, a file lock, a Redis script, or a compare and swap: a backend that can
/// write on a condition merges into [`SessionWrite::loaded`], the record the session was loaded
/// from, and stores the result only if the record is still that one, without reading it first).
///
/// A backend may also keep an owner index, for listing and revoking an owner's sessions (see
/// [`crate::owner`]): it implements [`Backend::sessions_of`] and [`Backend::revoke_owner`], and
/// changes the index in the same atomic step as the record it belongs to
/// ([`SessionWrite::owner_after`] or [`SessionWrite::merged_owners`] say how). One that does not
/// keeps the two defaults, and its store answers listing and revoking with
/// [`OwnersError::Unsupported`].
pub trait Backend: Send + Sync + 'static {
    /// What goes wrong in this backend (I/O, connection).
    type Error: std::error::Error + Send + Sync + 'static;

    /// What is stored for `id`, or `None` when there is nothing.
    fn load(&self, id: &SessionId) -> impl Future<Output = Result<Option<Stored>, Self::Error>> + Send;

    /// Applies `write`, atomically for the ids it names:
    /// - when [`SessionWrite::source_id`] holds a forward ([`Stored::Moved`]), stores nothing and
    ///   answers [`Saved::Moved`] with it (the store then writes again to where it points);
    /// - otherwise merges the write into the record of [`SessionWrite::source_id`] and stores the
    ///   result under [`SessionWrite::id`]; when the two differ, the source record is replaced by
    ///   [`SessionWrite::forward`] until [`SessionWrite::forward_expires_at`];
    /// - answers [`Saved::Removed`], storing nothing, when [`SessionWrite::merge`] says there is
    ///   nothing to merge into.
    fn save(&self, write: SessionWrite) -> impl Future<Output = Result<Saved, Self::Error>> + Send;

    /// Removes the record of `id`, if there is one, and its entry in the owner index.
    fn delete(&self, id: &SessionId) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// The sessions indexed under `owner`: each one's id and [`Summary`], from an owner index kept exact by
    /// every save ([`SessionWrite::owner_after`]), delete and sweep. `listed` holds the tags of the
    /// fields a listing shows, for a backend of entries to return those. `None` (the default) says
    /// this backend keeps no owner index; then the store answers listing and revoking with
    /// [`OwnersError::Unsupported`](crate::owner::OwnersError::Unsupported).
    fn sessions_of(
        &self,
        owner: &OwnerDigest,
        listed: &[u32],
    ) -> impl Future<Output = Result<Option<Vec<Indexed>>, Self::Error>> + Send {
        let _ = (owner, listed);
        std::future::ready(Ok(None))
    }

    /// Removes every session indexed under `owner` but `keep`, with their index entries; how many, or `None`
    /// (the default) when this backend keeps no owner index. Atomic against saves: a session it
    /// removes is not stored again by a save in flight (that save finds no record, and answers
    /// [`Saved::Removed`]), and a session a save in flight moves to a new id (`cycle_id`) is removed
    /// under its new id.
    fn revoke_owner(
        &self,
        owner: &OwnerDigest,
        keep: Option<&SessionId>,
    ) -> impl Future<Output = Result<Option<usize>, Self::Error>> + Send {
        let _ = (owner, keep);
        std::future::ready(Ok(None))
    }
}

/// One backend behind several stores, each with its own keys or clock: the app instances of a test,
/// or of a key rotation, on one storage.
impl<B: Backend> Backend for Arc<B> {
    type Error = B::Error;

    fn load(&self, id: &SessionId) -> impl Future<Output = Result<Option<Stored>, Self::Error>> + Send {
        B::load(self, id)
    }

    fn save(&self, write: SessionWrite) -> impl Future<Output = Result<Saved, Self::Error>> + Send {
        B::save(self, write)
    }

    fn delete(&self, id: &SessionId) -> impl Future<Output = Result<(), Self::Error>> + Send {
        B::delete(self, id)
    }

    fn sessions_of(
        &self,
        owner: &OwnerDigest,
        listed: &[u32],
    ) -> impl Future<Output = Result<Option<Vec<Indexed>>, Self::Error>> + Send {
        B::sessions_of(self, owner, listed)
    }

    fn revoke_owner(
        &self,
        owner: &OwnerDigest,
        keep: Option<&SessionId>,
    ) -> impl Future<Output = Result<Option<usize>, Self::Error>> + Send {
        B::revoke_owner(self, owner, keep)
    }
}

/// One session in an owner index, as [`Backend::sessions_of`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indexed {
    /// The session's id.
    pub id: SessionId,
    /// What a listing shows of it.
    pub summary: Summary,
}

/// What a listing shows of a session: its times and its `#[listed]` fields, sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Summary {
    /// The sealed summary of the session's last save ([`SessionWrite::summary`]), for a backend
    /// that stores whole records.
    Sealed(Vec<u8>),
    /// For a backend that stores entries ([`SessionWrite::entries`]): the session's times entry
    /// and the entries of the listed fields (those [`Backend::sessions_of`] names; any others are
    /// ignored). Always as current as the session, concurrent saves included.
    Entries(Entries),
}

/// A session as a backend stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// One sealed record, from [`SessionWrite::merge`].
    Record(Vec<u8>),
    /// Sealed entries, from [`SessionWrite::entries`]: for backends that merge on the server, field by field.
    Entries(Entries),
    /// A sealed forward, from [`SessionWrite::forward`]: the session moved to a new id (`cycle_id`) a moment
    /// ago. For a grace period, saves of requests that loaded it under the old id are written where it
    /// went; loads of the old id are refused ([`crate::Rejection::Moved`]).
    Moved(Vec<u8>),
}

/// What [`Backend::save`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Saved {
    /// The write is stored.
    Stored,
    /// The session was removed since it was loaded (destroyed, expired): nothing was stored, and it
    /// stays removed.
    Removed,
    /// The session moved to a new id since it was loaded: nothing was stored; this is the sealed
    /// forward found under [`SessionWrite::source_id`].
    Moved(Vec<u8>),
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
pub struct SessionWrite {
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
    /// When the write moves the session: the sealed forward for the source id, and until when.
    forward: Option<(Vec<u8>, u64)>,
    /// The sealed record the session was loaded from, under `source_id`.
    loaded: Option<Vec<u8>>,
    /// For a type with an `#[owner]` field: that field, and the tags of the `#[listed]` ones.
    owned: Option<Owned>,
    /// Whether this write sets the owner: a new session, or its `#[owner]` field changed.
    sets_owner: bool,
    /// What the last [`SessionWrite::merge`] found and produced.
    merged: Mutex<Option<Merged>>,
    now: u64,
    keys: Arc<Keys>,
    binding: Binding,
}

impl SessionWrite {
    /// The id the record is stored under after this write.
    pub fn id(&self) -> &SessionId {
        &self.id
    }

    /// The id whose record this write merges into: [`SessionWrite::id`], or the old id when the session's id
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

    /// When this write moves the session to a new id: what to store under [`SessionWrite::source_id`] instead
    /// of its record, so that the saves of requests in flight with the old id reach the new one.
    /// `None` when the id stays, or when the store's cycle grace is zero.
    pub fn forward(&self) -> Option<&[u8]> {
        self.forward.as_ref().map(|(sealed, _)| &sealed[..])
    }

    /// When the [`SessionWrite::forward`] may be dropped (a sweep, or the backend's own expiry).
    pub fn forward_expires_at(&self) -> SystemTime {
        system_time(self.forward.as_ref().map_or(self.now, |&(_, until)| until))
    }

    /// How long from now the [`SessionWrite::forward`] is kept, by the store's clock.
    pub fn forward_time_to_live(&self) -> Duration {
        Duration::from_secs(
            self.forward
                .as_ref()
                .map_or(0, |&(_, until)| until.saturating_sub(self.now)),
        )
    }

    /// The sealed record this session was loaded from, as [`Backend::load`] returned it for
    /// [`SessionWrite::source_id`], when the store knows it (the session was loaded as one record
    /// in this request and not saved since).
    ///
    /// For a backend that can write on a condition: if the record is still this one, storing
    /// `merge(loaded)` on condition that it is (a compare and swap) saves reading it first. If the
    /// condition fails, another save got there first: read, and merge into that.
    pub fn loaded(&self) -> Option<&[u8]> {
        self.loaded.as_deref()
    }

    /// The owner the session has after this write, given the owner stored with the record of
    /// [`SessionWrite::source_id`] now: the write's own when it sets one (the session is new, or its
    /// `#[owner]` field changed), else the stored one, as for any field this write did not change,
    /// but under the digest the store indexes by now when the stored one is another digest of the
    /// same owner ([`SessionWrite::owner_aliases`]: a key rotation, or an index written before
    /// digests were keyed).
    ///
    /// A backend that keeps an owner index ([`Backend::sessions_of`]) stores the session under this
    /// owner, removing it from its former owner's, in the same atomic step as the record.
    pub fn owner_after(&self, stored: Option<&OwnerDigest>) -> Option<OwnerDigest> {
        let (owner, sets_owner) = self.owner();
        if sets_owner || stored.is_some_and(|stored| self.owner_aliases().contains(stored)) {
            owner
        } else {
            stored.copied()
        }
    }

    /// The other digests the owner this request sees may be indexed under: under each fallback
    /// key (a session saved before a key rotation), and unkeyed (saved before digests were
    /// keyed). A backend that stores the owner beside the record without reading it into the app
    /// (a Redis script) moves a record stored under one of these to [`SessionWrite::owner`]'s
    /// digest; its save re-indexes it. Empty for a session without an owner.
    pub fn owner_aliases(&self) -> Vec<OwnerDigest> {
        let Some(owner) = self
            .owned
            .as_ref()
            .and_then(|owned| owned.in_payload(&self.payload))
        else {
            return Vec::new();
        };
        let mut aliases = owner.digests(&self.keys);
        aliases.pop();
        aliases
    }

    /// After [`SessionWrite::merge`]: every digest the owner of the record it merged into may be
    /// indexed under (empty when there was none, or it named no owner; see [`Owner::digests`]), and
    /// the digest of the owner of the record it returned, as the store indexes it now. For a backend
    /// of whole records, what its owner index must change: drop the source id wherever the first
    /// has it, put the id under the second. Both empty before any merge, and for a type without an
    /// `#[owner]` field.
    pub fn merged_owners(&self) -> (Vec<OwnerDigest>, Option<OwnerDigest>) {
        let (Some(owned), Some(merged)) = (&self.owned, &*self.merged()) else {
            return (Vec::new(), None);
        };
        let owner = |value: &Option<Vec<u8>>| value.as_deref().and_then(owned.of_value);
        let before = owner(&merged.before).map_or_else(Vec::new, |owner| owner.digests(&self.keys));
        let after = owner(&merged.after).map(|owner| owner.digest(&self.keys));
        (before, after)
    }

    /// The owner as this request sees the session, under the digest the store indexes by, and
    /// whether this write sets it (see [`SessionWrite::owner_after`]); for a backend that stores
    /// the owner without reading it first, as an SQL `UPDATE` can.
    pub fn owner(&self) -> (Option<OwnerDigest>, bool) {
        let owner = self
            .owned
            .as_ref()
            .and_then(|owned| owned.in_payload(&self.payload))
            .map(|owner| owner.digest(&self.keys));
        (owner, self.sets_owner)
    }

    /// What a listing of the owner's sessions shows of this session, sealed for [`SessionWrite::id`]:
    /// its times and its `#[listed]` fields, as of the record the last call of
    /// [`SessionWrite::merge`] returned (or, before any, as this request sees them). `None` for a
    /// type without an `#[owner]` field. A backend with an owner index stores it beside the record
    /// and returns it from [`Backend::sessions_of`].
    pub fn summary(&self) -> Option<Vec<u8>> {
        let owned = self.owned.as_ref()?;
        let plaintext = match &*self.merged() {
            Some(merged) => merged.summary.clone(),
            None => summary_of(&self.payload, owned.listed_tags),
        };
        Some(record::seal(
            &plaintext,
            Part::Summary,
            &self.id,
            &self.keys,
            &self.binding,
        ))
    }

    /// Whether this write may create the session: `false` means it must already be stored (under
    /// [`SessionWrite::source_id`]); if it is not, a concurrent request removed it, and it must stay removed.
    pub fn creates(&self) -> bool {
        self.creates
    }

    /// For a backend that merges on the server: the session's times and the records of the fields
    /// this save changed, each sealed for [`SessionWrite::id`]; every record when the session is new,
    /// moves to a new id, or was sealed with a fallback key. Storing them over what is stored, entry
    /// by entry, is the per-field merge.
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

    fn merged(&self) -> std::sync::MutexGuard<'_, Option<Merged>> {
        self.merged.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The sealed record to store, given the sealed record stored under [`SessionWrite::source_id`] now.
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
        let mut before = None;
        let payload = match opened {
            Some(Ok(current)) => {
                before = self
                    .owned
                    .as_ref()
                    .and_then(|owned| owned.value_in(current.plaintext()));
                merge(current.plaintext(), &self.payload, &self.changed)
            }
            Some(Err(_)) => self.payload.clone(),
            None if self.creates => self.payload.clone(),
            None => return None,
        };
        if let Some(owned) = &self.owned {
            *self.merged() = Some(Merged {
                summary: summary_of(&payload, owned.listed_tags),
                before,
                after: owned.value_in(&payload),
            });
        }
        Some(record::seal(
            &payload,
            Part::Whole,
            &self.id,
            &self.keys,
            &self.binding,
        ))
    }
}

/// What [`SessionWrite::merge`] found and produced, for the owner index: the summary of the
/// merged payload, and the encoded value of the `#[owner]` field in the record merged into and in
/// the merged one. Owners are digested from those only when a backend asks
/// ([`SessionWrite::merged_owners`]): a backend that keeps owners itself never pays for it.
/// (Digested at every merge, an owned session's load and save on the memory store took 1.32x an
/// unowned one's; so, 1.15x: `cargo bench -p sessions --features fs,sqlite --bench owners`.)
#[derive(Debug)]
struct Merged {
    summary: Vec<u8>,
    before: Option<Vec<u8>>,
    after: Option<Vec<u8>>,
}

/// The `#[owner]` and `#[listed]` fields of a session type, for a write to read them in payloads.
#[derive(Debug)]
struct Owned {
    owner_tag: u32,
    listed_tags: &'static [u32],
    /// The owner an encoded value of the `#[owner]` field names.
    of_value: fn(&[u8]) -> Option<Owner>,
}

impl Owned {
    fn of<S: Session>() -> Option<Self> {
        let prepared = S::prepared();
        Some(Self {
            owner_tag: prepared.owner_tag?,
            listed_tags: &prepared.listed_tags,
            of_value: owner_of_value::<S>,
        })
    }

    /// The encoded value of the `#[owner]` field in `payload`.
    fn value_in(&self, payload: &[u8]) -> Option<Vec<u8>> {
        let (_, records) = payload::read(payload).ok()?;
        let record = records
            .flatten()
            .find(|record| record.name_tag == self.owner_tag)?;
        Some(record.value.to_vec())
    }

    /// The owner `payload` names.
    fn in_payload(&self, payload: &[u8]) -> Option<Owner> {
        (self.of_value)(&self.value_in(payload)?)
    }
}

/// The owner an encoded value of `S`'s `#[owner]` field names.
fn owner_of_value<S: Session>(value: &[u8]) -> Option<Owner> {
    let tag = S::prepared().owner_tag?;
    let index = S::FIELDS.iter().position(|field| field.name_tag() == tag)?;
    let mut session = S::default();
    session.decode_field(index, value).ok()?;
    Owner::of_session(&session)
}

/// The payload a listing shows of a session: its times, and the records of its `#[listed]` fields.
fn summary_of(payload: &[u8], listed_tags: &[u32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    let Ok((meta, records)) = payload::read(payload) else {
        return out; // a payload this crate just wrote always reads
    };
    let listed: Vec<_> = records
        .flatten()
        .filter(|record| listed_tags.contains(&record.name_tag))
        .collect();
    let mut writer = payload::Writer::begin(&mut out, meta, listed.len());
    for record in listed {
        writer.raw(&mut out, record.raw);
    }
    writer.finish();
    out
}

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

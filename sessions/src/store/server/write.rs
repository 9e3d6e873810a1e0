//! The write a backend receives: one save of a session ([`SessionWrite`]), the per-field merge it
//! does for backends of whole records, the entries it hands backends that merge on their own
//! server, and how it changes the owner index ([`OwnerChange`]).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use crate::clock::system_time;
use crate::codec::id::SessionId;
use crate::codec::payload;
use crate::codec::seal::Binding;
use crate::key::Keys;
use crate::owner::{Owner, OwnerDigest};
use crate::session::Session;
use crate::store::server::backend::Entries;
use crate::store::server::merge::merge;
use crate::store::server::record::{self, Part};

/// One save of a server-side session, handed to [`Backend::save`](super::Backend::save). It owns its data, so a backend
/// can move it to a blocking thread.
#[derive(Debug)]
pub struct SessionWrite {
    pub(super) id: SessionId,
    pub(super) source_id: SessionId,
    pub(super) creates: bool,
    /// Every entry must be sealed again: a new session, a new id (entries are bound to the id), or a
    /// session sealed with a fallback key.
    pub(super) rewrites_all: bool,
    pub(super) payload: Vec<u8>,
    pub(super) changed: Vec<u32>,
    pub(super) expires_at: SystemTime,
    pub(super) time_to_live: Duration,
    /// When the write moves the session: the sealed forward for the source id, and until when.
    pub(super) forward: Option<(Vec<u8>, u64)>,
    /// The sealed record the session was loaded from, under `source_id`.
    pub(super) loaded: Option<Vec<u8>>,
    /// For a type with an `#[owner]` field: that field, and the tags of the `#[listed]` ones.
    pub(super) owned: Option<Owned>,
    /// Whether this write sets the owner: a new session, or its `#[owner]` field changed.
    pub(super) sets_owner: bool,
    /// What the last [`SessionWrite::merge`] found and produced.
    pub(super) merged: Mutex<Option<Merged>>,
    pub(super) now: u64,
    pub(super) keys: Arc<Keys>,
    pub(super) binding: Binding,
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

    /// The sealed record this session was loaded from, as [`Backend::load`](super::Backend::load) returned it for
    /// [`SessionWrite::source_id`], when the store knows it (the session was loaded as one record
    /// in this request and not saved since).
    ///
    /// For a backend that can write on a condition: if the record is still this one, storing
    /// `merge(loaded)` on condition that it is (a compare and swap) saves reading it first. If the
    /// condition fails, another save got there first: read, and merge into that.
    pub fn loaded(&self) -> Option<&[u8]> {
        self.loaded.as_deref()
    }

    /// How this write changes the owner index: the one way a backend that keeps one
    /// ([`Backend::sessions_of`](super::Backend::sessions_of)) learns it, changing the index in the
    /// same atomic step as the record. [`OwnerChange`] says what each kind of backend reads of it.
    pub fn owner_change(&self) -> OwnerChange<'_> {
        OwnerChange { write: self }
    }

    /// What a listing of the owner's sessions shows of this session, sealed for [`SessionWrite::id`]:
    /// its times and its `#[listed]` fields, as of the record the last call of
    /// [`SessionWrite::merge`] returned (or, before any, as this request sees them). `None` for a
    /// type without an `#[owner]` field. A backend with an owner index stores it beside the record
    /// and returns it from [`Backend::sessions_of`](super::Backend::sessions_of).
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

/// How a [`SessionWrite`] changes the owner index, from [`SessionWrite::owner_change`].
///
/// The rule is the same for every backend: the session's owner after the write is the write's own
/// when it sets one (the session is new, or its `#[owner]` field changed), else the owner stored with
/// the record, as for any field the write did not change; a session stored under another digest of
/// the same owner (one of [`OwnerChange::aliases`]: a key rotation, or an index written before
/// digests were keyed) moves to the digest the store indexes by now. Where a backend keeps the
/// owner decides which method it reads, each computing only what it needs:
/// - the digest beside the record, read in the save's atomic step (a map entry, a row):
///   [`OwnerChange::after`];
/// - nothing but the record, merged here ([`SessionWrite::merge`]): [`OwnerChange::merged`], after
///   the merge;
/// - the digest beside the record on a server that runs the save (a Redis script): the rule's
///   inputs, [`OwnerChange::seen`], [`OwnerChange::sets`] and [`OwnerChange::aliases`].
#[derive(Debug, Clone, Copy)]
pub struct OwnerChange<'w> {
    write: &'w SessionWrite,
}

impl OwnerChange<'_> {
    /// The digest to index the session under after the write, given the one stored with the record
    /// of [`SessionWrite::source_id`] now; `None` for no owner (remove it from the index).
    pub fn after(&self, stored: Option<&OwnerDigest>) -> Option<OwnerDigest> {
        if self.sets() || stored.is_some_and(|stored| self.aliases().contains(stored)) {
            self.seen()
        } else {
            stored.copied()
        }
    }

    /// After [`SessionWrite::merge`]: every digest the owner of the record it merged into may be
    /// indexed under (drop the source id from each), and the digest of the owner of the record it
    /// returned (put the id under it). Empty before any merge, and for a type without an `#[owner]`
    /// field.
    pub fn merged(&self) -> (Vec<OwnerDigest>, Option<OwnerDigest>) {
        let write = self.write;
        let (Some(owned), Some(merged)) = (&write.owned, &*write.merged()) else {
            return (Vec::new(), None);
        };
        let owner = |value: &Option<Vec<u8>>| value.as_deref().and_then(owned.of_value);
        let before = owner(&merged.before).map_or_else(Vec::new, |owner| owner.digests(&write.keys));
        let after = owner(&merged.after).map(|owner| owner.digest(&write.keys));
        (before, after)
    }

    /// The owner as the request saving sees the session, under the digest the store indexes by.
    pub fn seen(&self) -> Option<OwnerDigest> {
        let write = self.write;
        let owner = write.owned.as_ref()?.in_payload(&write.payload)?;
        Some(owner.digest(&write.keys))
    }

    /// Whether the write sets the owner: the session is new, or its `#[owner]` field changed.
    pub fn sets(&self) -> bool {
        self.write.sets_owner
    }

    /// The other digests the owner [`OwnerChange::seen`] may be indexed under: under each fallback
    /// key, and unkeyed. Empty for a session without an owner.
    pub fn aliases(&self) -> Vec<OwnerDigest> {
        let write = self.write;
        let Some(owner) = write
            .owned
            .as_ref()
            .and_then(|owned| owned.in_payload(&write.payload))
        else {
            return Vec::new();
        };
        let mut aliases = owner.digests(&write.keys);
        aliases.pop();
        aliases
    }
}

/// What [`SessionWrite::merge`] found and produced, for the owner index: the summary of the
/// merged payload, and the encoded value of the `#[owner]` field in the record merged into and in
/// the merged one. Owners are digested from those only when a backend asks
/// ([`OwnerChange::merged`]): a backend that keeps owners itself never pays for it.
/// (Digested at every merge, an owned session's load and save on the memory store took 1.32x an
/// unowned one's; so, 1.15x: `cargo bench -p sessions --features fs,sqlite --bench owners`.)
#[derive(Debug)]
pub(super) struct Merged {
    summary: Vec<u8>,
    before: Option<Vec<u8>>,
    after: Option<Vec<u8>>,
}

/// The `#[owner]` and `#[listed]` fields of a session type, for a write to read them in payloads.
#[derive(Debug)]
pub(super) struct Owned {
    pub(super) owner_tag: u32,
    listed_tags: &'static [u32],
    /// The owner an encoded value of the `#[owner]` field names.
    of_value: fn(&[u8]) -> Option<Owner>,
}

impl Owned {
    pub(super) fn of<S: Session>() -> Option<Self> {
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

//! [`Loaded`]: a session as a request sees it, with what the store knows about where it came from.

use std::ops::{Deref, DerefMut};
use std::time::{Duration, SystemTime};

use crate::clock::system_time;
use crate::codec::id::SessionId;
use crate::codec::payload::Meta;
use crate::codec::reserved::{Reserved, SERIAL_TAG, Serial, SignedIn};
use crate::codec::snapshot::{self, Layout, ResetField, Restored, Snapshot};
use crate::error::{Rejection, SaveError};
use crate::owner::{Owner, OwnerDigest};
use crate::session::Session;

/// A loaded session: derefs to your struct, and knows whether it is new, why an incoming cookie was
/// refused, which fields were reset, and what saving it should do.
///
/// ```
/// use sessions::{CookieStore, Key, Session, Store};
/// use http::HeaderMap;
///
/// #[derive(Session, Default)]
/// #[session(cookie = "app")]
/// struct AppSession {
///     user_id: Option<u64>,
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = CookieStore::new(Key::generate());
/// let mut session = store.load::<AppSession>(&HeaderMap::new()).await.unwrap();
/// assert!(session.is_new());
/// session.user_id = Some(7); // DerefMut to AppSession
/// let mut response = HeaderMap::new();
/// store.save(&mut session, &mut response).await.unwrap();
/// assert!(response.contains_key("set-cookie"));
/// # });
/// ```
#[derive(Debug)]
pub struct Loaded<S> {
    value: S,
    origin: Origin,
    meta: Meta,
    persistent: bool,
    snapshot: Snapshot,
    resets: Vec<ResetField>,
    /// Opened with a fallback key (or from an older format): sealed again on the next save.
    rekey: bool,
    /// The store's own records the next save writes: the sign-in record (cookie stores with
    /// revocations), the serial (server-side stores, sessions with an owner).
    reserved: Reserved,
    intent: Intent,
    /// Where a server-side store keeps the session; `None` on the cookie store, or before the
    /// first save.
    stored_at: Option<Box<StoredAt>>,
    /// The client holds the cookie of a session [`Loaded::destroy`] ended, until a save clears it or
    /// replaces it.
    ended: bool,
}

/// Where a server-side store keeps a session. Boxed in [`Loaded`]: cookie sessions, which have
/// none, carry one pointer. (Inline, the record's `Vec` made every cookie session's `Loaded` 24
/// bytes larger, and a load and save through the layer 2.7% more instructions, most of them in
/// `malloc`: callgrind, the demo's `POST /cart` on the cookie store.)
#[derive(Debug)]
struct StoredAt {
    id: SessionId,
    /// When this request's view of the session was current: loaded, or last stored.
    synced_at: u64,
    /// The sealed record the store loaded the session from, until it is saved: a backend can write
    /// on condition that the record is still this one, without reading it first.
    record: Option<Vec<u8>>,
}

/// Where a loaded session came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The request carried no cookie for this session type.
    New,
    /// A valid cookie (and, for server-side stores, its record).
    Restored,
    /// The request carried a cookie that was refused; the session starts fresh.
    Rejected(Rejection),
}

/// What saving should do besides writing changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Intent {
    Keep,
    CycleId,
    Destroy,
}

/// What a save does, decided for every store in one place: [`Loaded::plan_save`].
#[derive(Debug)]
pub(crate) struct SavePlan {
    /// The id of the session [`Loaded::destroy`] ended, for a server-side store to delete.
    pub(crate) ended: Option<SessionId>,
    pub(crate) action: SaveAction,
}

#[derive(Debug)]
pub(crate) enum SaveAction {
    /// Nothing to store; the client's cookie stays as it is.
    Nothing,
    /// Nothing to store, and the client's cookie goes: it holds a session that was ended, or one that
    /// was refused (but for one left alone, see `Rejection::is_left_alone`). The session now counts
    /// as new, so a second save in the request sends nothing.
    ClearCookie,
    /// Store the session; once stored, [`Loaded::stored`] records it.
    Store(Pending),
}

/// A session to store: its encoded payload, and what the store must do besides.
#[derive(Debug)]
pub(crate) struct Pending {
    /// The payload, after the bytes the caller reserved at its start.
    pub(crate) payload: Vec<u8>,
    pub(crate) layout: Layout,
    /// The session gets a new id: it has none yet, or [`Loaded::cycle_id`] asked for one.
    pub(crate) new_id: bool,
    /// Every part must be sealed again: a new id (parts are bound to it), or a fallback key.
    pub(crate) reseal_all: bool,
    /// The cookie must be issued again even where its value stays (a server-side id): sealed with a
    /// fallback key, "remember me" switched, or an idle refresh due.
    pub(crate) reissue_cookie: bool,
}

impl<S: Session> Loaded<S> {
    /// A session with every field at its default, created at `now`.
    pub(crate) fn new(origin: Origin, now: u64) -> Self {
        let persistent = !S::CONFIG.lifetime().session_only();
        Self {
            value: S::default(),
            origin,
            meta: Meta {
                created_at: now,
                refreshed_at: now,
                persistent,
            },
            persistent,
            snapshot: Snapshot::default(),
            resets: Vec::new(),
            rekey: false,
            reserved: Reserved::default(),
            intent: Intent::Keep,
            stored_at: None,
            ended: false,
        }
    }

    /// A session restored from a payload; `rekey` says it must be sealed again on its next save.
    pub(crate) fn restored(restored: Restored<S>, rekey: bool) -> Self {
        Self {
            value: restored.value,
            origin: Origin::Restored,
            meta: restored.meta,
            persistent: restored.meta.persistent,
            reserved: restored.snapshot.reserved.clone(),
            snapshot: restored.snapshot,
            resets: restored.resets,
            rekey,
            intent: Intent::Keep,
            stored_at: None,
            ended: false,
        }
    }

    /// The payload as last loaded or stored: for tests that pin the wire format.
    #[cfg(test)]
    pub(crate) fn stored_payload(&self) -> &[u8] {
        &self.snapshot.bytes
    }

    /// The id a server-side store keeps the session under, if it is stored.
    pub(crate) fn id(&self) -> Option<&SessionId> {
        self.stored_at.as_ref().map(|at| &at.id)
    }

    /// Notes the id the session is stored under, when (`synced_at`) it was loaded from there or
    /// stored, and the sealed record stored there if the store just read it; `rekey` adds that the
    /// id's cookie must be signed again (it was signed with a fallback key).
    pub(crate) fn stored_under(
        &mut self,
        id: Option<SessionId>,
        synced_at: u64,
        record: Option<Vec<u8>>,
        rekey: bool,
    ) {
        self.stored_at = id.map(|id| {
            Box::new(StoredAt {
                id,
                synced_at,
                record,
            })
        });
        self.rekey |= rekey;
    }

    /// When a server-side store last loaded or stored this session for this request.
    pub(crate) fn synced_at(&self) -> Option<u64> {
        self.stored_at.as_ref().map(|at| at.synced_at)
    }

    /// The sign-in record the next save writes: whom the session is signed in as, under which
    /// revocation mark (see [`crate::store::backend::Revocations`]).
    pub(crate) fn signed_in(&self) -> Option<SignedIn> {
        self.reserved.signed_in()
    }

    /// Sets the sign-in record; the next save stores the session if it changed.
    pub(crate) fn sign_in(&mut self, signed_in: Option<SignedIn>) {
        self.reserved.set_signed_in(signed_in);
    }

    /// What a session with an owner is known by in listings, through `cycle_id` (see
    /// [`crate::codec::reserved`]), if it has been given it.
    pub(crate) fn serial(&self) -> Option<Serial> {
        self.reserved.serial()
    }

    /// Whether the revocation `mark` kept under `digest` refuses this session: one signed in under
    /// `digest` with a lower mark, or, with no sign-in record under it (a cookie sealed without a
    /// lookup, by an older release, or under a key since dropped), one that began no later than the
    /// second the mark was made in.
    pub(crate) fn revoked_by(&self, digest: OwnerDigest, mark: u64) -> bool {
        match self
            .signed_in()
            .filter(|signed_in| signed_in.owner == *digest.as_bytes())
        {
            Some(signed_in) => signed_in.mark < mark,
            None => self.meta.created_at.saturating_mul(1_000_000) <= mark,
        }
    }

    /// The sealed record the session was loaded from, if the store has not written since.
    pub(crate) fn take_record(&mut self) -> Option<Vec<u8>> {
        self.stored_at.as_mut().and_then(|at| at.record.take())
    }

    /// Decides what saving the session at `now` does, and encodes it after `reserved` bytes (room
    /// for an envelope's header), calling `changed` with the name tag of each field that changed.
    /// With `serial`, a session that has no serial is given one (a server-side store's session
    /// with an owner). Every store saves by this plan.
    pub(crate) fn plan_save(
        &mut self,
        (now, reserved, serial): (u64, usize, bool),
        mut changed: impl FnMut(u32),
    ) -> Result<SavePlan, SaveError> {
        // After `destroy`, the old session ends, and what was written since is a fresh session.
        let ended = self.restart_if_destroyed(now);
        if serial && self.reserved.serial().is_none() {
            self.reserved.set_serial(Some(Serial::random()));
        }
        if self.rejection() == Some(Rejection::Moved) {
            // Storing this fresh session would give the browser a new id over the one its session
            // just moved to: signed out. The racing request's changes are dropped instead.
            tracing::debug!(
                cookie = S::CONFIG.cookie().name(),
                "a request racing a cycle_id: its changes are not stored"
            );
            return Ok(SavePlan {
                ended,
                action: SaveAction::Nothing,
            });
        }
        let mut payload = Vec::with_capacity(reserved + self.snapshot.bytes.len() + 64);
        payload.resize(reserved, 0);
        let mut any_changed = false;
        let layout = self.encode(now, &mut payload, |index| {
            any_changed = true;
            changed(S::FIELDS[index].name_tag());
        })?;
        let restored = self.origin == Origin::Restored;
        let cycles = restored && self.intent == Intent::CycleId;
        // A new sign-in record is stored for its own sake; a serial goes with whatever else is
        // stored (a session stored before serials gets one at its next save, not at its next load).
        let signs_in = self.reserved.signed_in() != self.snapshot.reserved.signed_in();
        if self.reserved.serial() != self.snapshot.reserved.serial() {
            changed(SERIAL_TAG);
        }
        let action = if any_changed || self.stale(now) || self.rekey || cycles || signs_in {
            SaveAction::Store(Pending {
                payload,
                layout,
                new_id: self.stored_at.is_none() || cycles,
                reseal_all: self.stored_at.is_none() || cycles || self.rekey,
                reissue_cookie: self.rekey
                    || self.persistent != self.meta.persistent
                    || (self.persistent && self.refresh_due(now)),
            })
        } else if self.clears_cookie() {
            self.origin = Origin::New;
            self.ended = false;
            SaveAction::ClearCookie
        } else {
            SaveAction::Nothing
        };
        Ok(SavePlan { ended, action })
    }

    /// Appends the session's payload as it would be stored at `now`; see [`snapshot::encode`].
    fn encode(&self, now: u64, out: &mut Vec<u8>, changed: impl FnMut(usize)) -> Result<Layout, SaveError> {
        let meta = Meta {
            created_at: self.meta.created_at,
            refreshed_at: now,
            persistent: self.persistent,
        };
        let before = (self.origin == Origin::Restored).then_some(&self.snapshot);
        snapshot::encode(&self.value, before, (meta, &self.reserved), out, changed)
    }

    /// Records that `payload` (the plan's, without the reserved bytes) is now what is stored, so
    /// that a second save in the same request writes nothing unless something changed again.
    pub(crate) fn stored(&mut self, payload: &[u8], layout: Layout) {
        self.meta = self.snapshot.replace(payload, layout);
        self.origin = Origin::Restored;
        self.resets.clear();
        self.rekey = false;
        self.ended = false;
        self.intent = Intent::Keep;
    }

    /// At save, after [`Loaded::destroy`]: ends the session and makes this a new one (no id, nothing
    /// stored) holding what was written since. Returns the id the ended session was stored under, for
    /// a server-side store to delete.
    fn restart_if_destroyed(&mut self, now: u64) -> Option<SessionId> {
        if !self.is_destroyed() {
            return None;
        }
        let ended = self.origin != Origin::New;
        let id = self.stored_at.take().map(|at| at.id);
        let value = std::mem::take(&mut self.value);
        *self = Loaded::new(Origin::New, now);
        self.value = value;
        self.ended = ended;
        id
    }

    /// Whether a save that stores nothing removes the client's cookie: it carried a session that was
    /// ended, or one that was refused (but for one left alone, see `Rejection::is_left_alone`).
    fn clears_cookie(&self) -> bool {
        self.ended || self.rejection().is_some_and(|reason| !reason.is_left_alone())
    }

    /// The session's owner: who its `#[owner]` field names, if the type has one and it holds a
    /// value. See [`crate::owner`].
    pub fn owner(&self) -> Option<Owner> {
        Owner::of_session(&self.value)
    }

    /// Where this session came from.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// True unless the request carried a valid session.
    pub fn is_new(&self) -> bool {
        self.origin != Origin::Restored
    }

    /// Why the incoming cookie was refused, if it was.
    pub fn rejection(&self) -> Option<Rejection> {
        match self.origin {
            Origin::Rejected(rejection) => Some(rejection),
            Origin::New | Origin::Restored => None,
        }
    }

    /// Whether saving would store something new: a field's value differs from what was loaded (for a
    /// new session: from its default), or "remember me" was switched. Encodes the fields to compare
    /// them, so it costs about what a save does.
    pub fn is_changed(&self) -> bool {
        if self.persistent != self.meta.persistent
            || self.is_destroyed()
            || self.reserved.signed_in() != self.snapshot.reserved.signed_in()
        {
            return true;
        }
        let mut changed = false;
        let mut scratch = Vec::with_capacity(self.snapshot.bytes.len() + 64);
        // A field that cannot be encoded will fail the save: that is a change not yet stored.
        let encoded = self.encode(self.meta.refreshed_at, &mut scratch, |_| changed = true);
        changed || encoded.is_err()
    }

    /// The fields that went back to their defaults on load, and why.
    pub fn reset_fields(&self) -> &[ResetField] {
        &self.resets
    }

    /// When the session began (for a new one: when it was loaded).
    pub fn created_at(&self) -> SystemTime {
        system_time(self.meta.created_at)
    }

    /// When the session was last stored (for a listing of sessions).
    pub(crate) fn last_seen(&self) -> SystemTime {
        system_time(self.meta.refreshed_at)
    }

    /// When the session ends unless a request comes first: the earlier of its `max_age` after it was
    /// created and its `idle_timeout` after it was last refreshed.
    pub fn expires_at(&self) -> SystemTime {
        system_time(self.expires_at_unix(self.meta.refreshed_at))
    }

    pub(crate) fn expires_at_unix(&self, refreshed_at: u64) -> u64 {
        let lifetime = S::CONFIG.lifetime();
        let absolute = self.meta.created_at.saturating_add(lifetime.max_age().as_secs());
        match lifetime.idle_timeout() {
            Some(idle) => absolute.min(refreshed_at.saturating_add(idle.as_secs())),
            None => absolute,
        }
    }

    /// Chooses between a persistent cookie ("remember me": it has a `Max-Age`, up to what the type's
    /// `max_age` leaves) and a browser-session cookie (gone when the browser closes; the server still
    /// enforces `max_age`). The choice is stored in the session and sticks across requests.
    pub fn set_persistent(&mut self, persistent: bool) {
        self.persistent = persistent;
    }

    /// Whether the cookie is persistent; see [`Loaded::set_persistent`].
    pub fn is_persistent(&self) -> bool {
        self.persistent
    }

    /// Ends the session: every field goes back to its default, and saving removes the cookie (and a
    /// server-side store's record). The removal cookie keeps the cookie's `Path`, `Domain`, `Secure`,
    /// `SameSite` and `Partitioned`, so a browser really drops it.
    ///
    /// What is written after `destroy` starts a fresh session, under a new id on a server-side store,
    /// holding only that: a sign-out can leave "You have been signed out." for the next page.
    ///
    /// ```
    /// # use sessions::{CookieStore, Key, Session, Store};
    /// #[derive(Session, Default)]
    /// struct App {
    ///     user_id: Option<u64>,
    ///     #[flash]
    ///     notice: Option<String>,
    /// }
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// # let store = CookieStore::new(Key::generate());
    /// # let mut session = store.load::<App>(&http::HeaderMap::new()).await.unwrap();
    /// session.destroy();
    /// session.flash_notice("You have been signed out.".into());
    /// assert_eq!(session.user_id, None);
    /// # });
    /// ```
    ///
    /// On the cookie store this ends the session in this browser only. A copy of the cookie taken
    /// before (by malware, a shared computer, a proxy log) stays valid until its `idle_timeout` or
    /// `max_age` runs out, since the server keeps nothing to revoke, unless the store has a
    /// revocation backend ([`CookieStore::with_revocations`]) and the app revokes the owner's
    /// sessions ([`Store::revoke_all`]). For sign-in state, keep `idle_timeout` short, or keep
    /// sessions in a server-side store, where `destroy` deletes the record and every copy of the
    /// cookie dies with it.
    ///
    /// [`CookieStore::with_revocations`]: crate::CookieStore::with_revocations
    /// [`Store::revoke_all`]: crate::Store::revoke_all
    pub fn destroy(&mut self) {
        self.value = S::default();
        self.intent = Intent::Destroy;
    }

    /// Whether [`Loaded::destroy`] was called.
    pub fn is_destroyed(&self) -> bool {
        self.intent == Intent::Destroy
    }

    /// Gives the session a new identity on the next save, keeping its data: a server-side store moves
    /// the record to a new random id, and the cookie store re-seals the cookie. Call it when privileges
    /// change (after sign-in) to defend against session fixation.
    ///
    /// Requests of the same browser in flight meanwhile still carry the old id. On a server-side store
    /// the old id is forwarded for a grace period ([`ServerStore::with_cycle_grace`], ten seconds by
    /// default), for saves only: the changes of a request that loaded the session at most that long
    /// before it saves are merged into the moved session, but for a change of the `#[owner]` field,
    /// and its response leaves the cookie alone, so nobody is signed out. A load of the old id never
    /// reaches the moved session (refused as [`Rejection::Moved`]): the old id may be an attacker's.
    ///
    /// [`ServerStore::with_cycle_grace`]: crate::store::ServerStore::with_cycle_grace
    /// [`Rejection::Moved`]: crate::Rejection::Moved
    pub fn cycle_id(&mut self) {
        if self.intent == Intent::Keep {
            self.intent = Intent::CycleId;
        }
    }

    /// Whether the cookie should be written again because time passed: an `idle_timeout` window is a
    /// tenth used up since the cookie was last issued. So an active visitor is never signed out, and an
    /// unchanged session is not re-sent on every request.
    fn refresh_due(&self, now: u64) -> bool {
        S::CONFIG.lifetime().idle_timeout().is_some_and(|idle| {
            let window = (idle.as_secs() / 10).max(1);
            now.saturating_sub(self.meta.refreshed_at) >= window
        })
    }

    /// Whether the stored copy must be written even if no field changed: the persistence choice
    /// changed, fields were reset on load, or an idle refresh is due.
    fn stale(&self, now: u64) -> bool {
        self.persistent != self.meta.persistent
            || !self.resets.is_empty()
            || (self.origin == Origin::Restored && self.refresh_due(now))
    }

    /// The `Max-Age` of a cookie issued at `now`, or `None` for a browser-session cookie.
    pub(crate) fn cookie_max_age(&self, now: u64) -> Option<Duration> {
        self.persistent
            .then(|| Duration::from_secs(self.expires_at_unix(now).saturating_sub(now)))
    }

    /// The session's value, leaving the store's bookkeeping behind.
    pub fn into_inner(self) -> S {
        self.value
    }
}

impl<S> Deref for Loaded<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.value
    }
}

impl<S> DerefMut for Loaded<S> {
    fn deref_mut(&mut self) -> &mut S {
        &mut self.value
    }
}

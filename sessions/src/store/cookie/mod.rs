//! The cookie store: the whole session sealed inside the cookie; `revocations.rs`, where it
//! keeps what revokes signed-in cookies before they expire.

pub(crate) mod revocations;

use std::time::Duration;

use ::http::HeaderMap;

use crate::clock::{Clock, micros_of};
use crate::codec::reserved::SignedIn;
use crate::codec::{cookie, seal, snapshot};
use crate::error::{LoadError, Rejection, SaveError};
use crate::headers::{self, ValueOut};
use crate::key::Keys;
use crate::loaded::{Loaded, SaveAction};
use crate::owner::{Owner, OwnerDigest, OwnersError};
use crate::session::Session;
use crate::stats::RejectionCounts;
use crate::store::cookie::revocations::{AnyRevocations, Revocations};
use crate::store::{Context, Store};

/// Keeps each session in its own cookie, sealed with AES-256-GCM (or signed, if the type asks).
///
/// No server-side state, so any instance of an app opens any cookie; the price is the 4096-byte cookie
/// limit, which [`Store::save`] checks.
///
/// ```
/// use sessions::{CookieStore, Key, Session, Store};
/// use http::{HeaderMap, HeaderValue, header};
///
/// #[derive(Session, Default)]
/// #[session(cookie = "cart")]
/// struct Cart {
///     items: Vec<u32>,
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = CookieStore::new(Key::generate());
///
/// // Request 1: no cookie yet.
/// let mut cart = store.load::<Cart>(&HeaderMap::new()).await.unwrap();
/// cart.items.push(42);
/// let mut response = HeaderMap::new();
/// store.save(&mut cart, &mut response).await.unwrap();
///
/// // Request 2: the browser sends the cookie back.
/// let set_cookie = response[header::SET_COOKIE].to_str().unwrap();
/// let mut request = HeaderMap::new();
/// request.insert(header::COOKIE, HeaderValue::from_str(set_cookie.split(';').next().unwrap()).unwrap());
/// let cart = store.load::<Cart>(&request).await.unwrap();
/// assert_eq!(cart.items, [42]);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct CookieStore {
    context: Context,
    revocations: Option<AnyRevocations>,
}

impl CookieStore {
    /// A cookie store sealing with `keys`' primary key: a [`Key`](crate::Key), or [`Keys`] with
    /// fallbacks to rotate.
    pub fn new(keys: impl Into<Keys>) -> Self {
        Self {
            context: Context::new(keys.into()),
            revocations: None,
        }
    }

    /// Checks every session that has an owner against `revocations` on load, and lets
    /// [`Store::revoke_all`] revoke them. Without it, a cookie session cannot be revoked: it stays
    /// valid until its `idle_timeout` or `max_age` runs out, whatever the server does.
    ///
    /// ```
    /// use sessions::{CookieStore, Key, Session, Store};
    /// use sessions::store::backend::MemoryRevocations;
    /// use http::{HeaderMap, HeaderValue};
    ///
    /// #[derive(Session, Default)]
    /// struct Account {
    ///     #[owner]
    ///     user_id: Option<u64>,
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store = CookieStore::new(Key::generate()).with_revocations(MemoryRevocations::new());
    /// let mut laptop = store.load::<Account>(&HeaderMap::new()).await.unwrap();
    /// laptop.user_id = Some(7);
    /// let mut response = HeaderMap::new();
    /// store.save(&mut laptop, &mut response).await.unwrap();
    /// let cookie = response["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    ///
    /// // "Sign out everywhere", from another device or an admin page:
    /// store.revoke_all::<Account>(&laptop.owner().unwrap(), None).await.unwrap();
    ///
    /// let mut request = HeaderMap::new();
    /// request.insert("cookie", HeaderValue::from_str(&cookie).unwrap());
    /// let again = store.load::<Account>(&request).await.unwrap();
    /// assert_eq!(again.rejection(), Some(sessions::Rejection::Revoked));
    /// # });
    /// ```
    #[must_use]
    pub fn with_revocations(mut self, revocations: impl Revocations) -> Self {
        self.revocations = Some(AnyRevocations::new(revocations));
        self
    }

    /// Uses `clock` instead of the system clock (for tests of expiry).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.context.clock = std::sync::Arc::new(clock);
        self
    }

    /// Opens session `S` from the values of its cookie, as a framework's own cookie jar hands them
    /// over: the first value that opens wins, wherever it stands; none gives a fresh session, with
    /// the first refusal's reason. Repeated values are tried once, and only the first 180 distinct
    /// ones are tried (more than any browser keeps for one domain); when some were left untried,
    /// the refusal is [`Rejection::TooManyValues`], and the cookie is not removed.
    ///
    /// [`Store::load`] is this, fed from the request's `Cookie` headers, and then, on a store with
    /// revocations ([`CookieStore::with_revocations`]), the check of a session's owner against them:
    /// `open` cannot wait for that lookup, so it does not revoke anything. Use [`Store::load`] for
    /// sessions with an owner.
    pub fn open<'v, S: Session>(&self, values: impl IntoIterator<Item = &'v str>) -> Loaded<S> {
        let now = self.context.now();
        let candidates = self.context.candidates(values);
        let mut refused = None;
        for value in candidates.iter() {
            let opened = cookie::open(value, &self.context.keys, &S::prepared().binding)
                .and_then(|opened| Ok((snapshot::restore(opened.buf, opened.payload, now)?, opened.reseal)));
            match opened {
                Ok((restored, reseal)) => return Loaded::restored(restored, reseal),
                Err(reason) => {
                    refused.get_or_insert(reason);
                }
            }
        }
        self.context.none_opened(refused, candidates.complete(), now)
    }

    /// Seals `session` and says what the client's cookie should become, for a framework that sets
    /// cookies through its own jar (with the attributes of `S::CONFIG.cookie()`).
    ///
    /// [`Store::save`] is this, written as a `Set-Cookie` header, after (on a store with
    /// revocations) reading the mark of a session's new owner. `seal` cannot wait for that lookup:
    /// a session it signs in is judged by when it began, so a revocation in the second it began
    /// (or later, before its next [`Store::load`] records the mark) refuses it. Use [`Store::save`]
    /// for sessions with an owner.
    pub fn seal<S: Session>(&self, session: &mut Loaded<S>) -> Result<CookieUpdate, SaveError> {
        let sealed = self.seal_into(session, |value_len, max_age| {
            let name = S::CONFIG.cookie().name();
            headers::check_size(name, value_len, &S::prepared().attributes, max_age)?;
            Ok(String::with_capacity(value_len))
        })?;
        Ok(match sealed {
            Sealed::Unchanged => CookieUpdate::Unchanged,
            Sealed::Remove => CookieUpdate::Remove,
            Sealed::Set { out: value, max_age } => CookieUpdate::Set { value, max_age },
        })
    }

    /// Seals `session` into what `start(value_len, max_age)` returns, when the cookie must be set.
    /// `start` refuses a cookie too large for its line.
    fn seal_into<S: Session, Out: ValueOut>(
        &self,
        session: &mut Loaded<S>,
        start: impl FnOnce(usize, Option<Duration>) -> Result<Out, SaveError>,
    ) -> Result<Sealed<Out>, SaveError> {
        let now = self.context.now();
        let offset = seal::payload_offset(S::CONFIG.protection());
        let pending = match session.plan_save((now, offset, false), |_| {})?.action {
            SaveAction::Nothing => return Ok(Sealed::Unchanged),
            SaveAction::ClearCookie => return Ok(Sealed::Remove),
            SaveAction::Store(pending) => pending,
        };
        let protection = S::CONFIG.protection();
        let value_len = cookie::sealed_len(pending.payload.len(), protection);
        let max_age = session.cookie_max_age(now);
        let mut out = start(value_len, max_age)?;
        // Nothing can fail from here on.
        session.stored(&pending.payload[offset..], pending.layout);
        let before = out.value_mut().len();
        let binding = &S::prepared().binding;
        cookie::seal(
            pending.payload,
            protection,
            &self.context.keys,
            binding,
            out.value_mut(),
        );
        debug_assert_eq!(
            out.value_mut().len() - before,
            value_len,
            "the size check saw another length"
        );
        Ok(Sealed::Set { out, max_age })
    }

    /// Before a save on a store with revocations: a session that gained an owner (or changed it)
    /// records the owner's mark as of now, read from the revocation backend under the digest the
    /// store indexes by now; one that lost its owner drops its record. A record under one of the
    /// owner's fallback-key digests (signed in before a key rotation) stays as it is.
    async fn sign_in<S: Session>(&self, session: &mut Loaded<S>) -> Result<(), SaveError> {
        let Some(revocations) = &self.revocations else {
            return Ok(());
        };
        let recorded = session
            .signed_in()
            .map(|signed_in| OwnerDigest::from_bytes(signed_in.owner));
        let Some(owner) = session.owner() else {
            if recorded.is_some() {
                session.sign_in(None);
            }
            return Ok(());
        };
        let keys = &self.context.keys;
        let digest = owner.digest(keys);
        if recorded.is_some_and(|recorded| recorded == digest || fallback_digest(&owner, keys, recorded)) {
            return Ok(());
        }
        let mark = revocations
            .mark(&digest)
            .await
            .map_err(|source| SaveError::Store {
                cookie: S::CONFIG.cookie().name(),
                source,
            })?;
        session.sign_in(Some(SignedIn {
            owner: *digest.as_bytes(),
            mark: mark.unwrap_or(0),
        }));
        Ok(())
    }
}

/// Whether `recorded` is `owner`'s digest under one of the fallback keys of `keys`.
fn fallback_digest(owner: &Owner, keys: &Keys, recorded: OwnerDigest) -> bool {
    let fallbacks = &owner.digests(keys)[1..keys.len()];
    fallbacks.contains(&recorded)
}

/// What sealing decided: [`CookieUpdate`], with the sealed value in whatever `start` made.
enum Sealed<Out> {
    Unchanged,
    Set { out: Out, max_age: Option<Duration> },
    Remove,
}

/// What a save asks of the client's cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CookieUpdate {
    /// Nothing to send: the cookie the client has is current.
    Unchanged,
    /// Set the cookie to `value`: persistent for `max_age`, or a browser-session cookie when `None`.
    Set {
        /// The sealed cookie value.
        value: String,
        /// The cookie's `Max-Age`.
        max_age: Option<Duration>,
    },
    /// Remove the cookie (destroyed, or a refused cookie to clear).
    Remove,
}

impl Store for CookieStore {
    async fn load<S: Session>(&self, request: &HeaderMap) -> Result<Loaded<S>, LoadError> {
        let mut session: Loaded<S> = self.open(headers::cookie_values(request, S::CONFIG.cookie().name()));
        let Some(revocations) = &self.revocations else {
            return Ok(session);
        };
        let Some(owner) = session.owner().filter(|_| !session.is_new()) else {
            return Ok(session);
        };
        let load_error = |source| LoadError {
            cookie: S::CONFIG.cookie().name(),
            source,
        };
        // The mark to compare is the one under the digest the session was signed in under: the
        // primary key's, or a fallback's for a sign-in before a key rotation.
        let keys = &self.context.keys;
        let recorded = session
            .signed_in()
            .map(|signed_in| OwnerDigest::from_bytes(signed_in.owner));
        let mut digest = owner.digest(keys);
        if let Some(recorded) = recorded.filter(|&recorded| recorded != digest)
            && fallback_digest(&owner, keys, recorded)
        {
            digest = recorded;
        }
        let mark = revocations.mark(&digest).await.map_err(load_error)?;
        if mark.is_some_and(|mark| session.revoked_by(digest, mark)) {
            return Ok(self.context.fresh(Some(Rejection::Revoked), self.context.now()));
        }
        if recorded != Some(digest) {
            // Signed in without a lookup (`CookieStore::seal`, or an older release): from now on
            // judged by the mark, not by its start. One signed in before digests were keyed also
            // answers to the revocations made then, kept under the unkeyed digest.
            if let Some(signed_in) = session.signed_in().filter(|_| recorded == Some(owner.unkeyed()))
                && let Some(unkeyed) = revocations.mark(&owner.unkeyed()).await.map_err(load_error)?
                && signed_in.mark < unkeyed
            {
                return Ok(self.context.fresh(Some(Rejection::Revoked), self.context.now()));
            }
            session.sign_in(Some(SignedIn {
                owner: *digest.as_bytes(),
                mark: mark.unwrap_or(0),
            }));
        }
        Ok(session)
    }

    /// Stores, for `owner`, that their sessions signed in up to now are revoked. The session of
    /// `keep` (if it is `owner`'s) stays signed in, under the new mark: its next save issues the
    /// cookie again, and its `max_age` still counts from when it began.
    async fn revoke_all<S: Session>(
        &self,
        owner: &Owner,
        keep: Option<&mut Loaded<S>>,
    ) -> Result<(), OwnersError> {
        let Some(revocations) = &self.revocations else {
            return Err(OwnersError::unsupported::<S>(
                "revoke sessions (cookie sessions need a revocation backend: `CookieStore::with_revocations`)",
            ));
        };
        let at = micros_of(self.context.clock.now());
        // Under every key's digest, the primary's last: a session signed in before a key rotation
        // is judged by its fallback key's mark.
        let mut mark = 0;
        for digest in &owner.digests(&self.context.keys)[1..] {
            mark = revocations
                .revoke(digest, at, S::CONFIG.lifetime().max_age())
                .await
                .map_err(|error| OwnersError::store::<S>("revoke", error))?;
        }
        if let Some(keep) = keep
            && keep.owner() == Some(*owner)
        {
            keep.sign_in(Some(SignedIn {
                owner: *owner.digest(&self.context.keys).as_bytes(),
                mark,
            }));
        }
        Ok(())
    }

    async fn save<S: Session>(
        &self,
        session: &mut Loaded<S>,
        response: &mut HeaderMap,
    ) -> Result<(), SaveError> {
        self.sign_in(session).await?;
        let options = S::CONFIG.cookie();
        // The sealed value is written straight into its `Set-Cookie` line.
        let sealed = self.seal_into(session, |value_len, max_age| {
            headers::SetCookieLine::start(options.name(), &S::prepared().attributes, max_age, value_len)
        })?;
        match sealed {
            Sealed::Unchanged => {}
            Sealed::Set { out: line, .. } => headers::append(response, line.finish()?),
            Sealed::Remove => headers::append(response, headers::removal(options)?),
        }
        Ok(())
    }

    fn rejections(&self) -> &RejectionCounts {
        &self.context.rejections
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::Key;
    use crate::store::backend::MemoryRevocations;

    #[derive(crate::Session, Default)]
    #[session(cookie = "account")]
    struct Account {
        #[owner]
        user: Option<u64>,
    }

    /// The cookie of a session signed in as user 7 by a build before keyed digests: its sign-in
    /// record under the unkeyed digest, with `mark`.
    fn signed_in_unkeyed(store: &CookieStore, mark: u64) -> String {
        let mut session: Loaded<Account> = store.open([]);
        session.user = Some(7);
        let owner = Owner::of::<Account>(&7u64);
        session.sign_in(Some(SignedIn {
            owner: *owner.unkeyed().as_bytes(),
            mark,
        }));
        match store.seal(&mut session).unwrap() {
            CookieUpdate::Set { value, .. } => value,
            other => panic!("sealed nothing: {other:?}"),
        }
    }

    /// A session signed in before digests were keyed still answers to the revocations made then
    /// (kept under the unkeyed digest), and its first load moves its record to the keyed digest,
    /// where the revocations made now reach it.
    #[tokio::test]
    async fn a_sign_in_from_before_keyed_digests_answers_to_revocations_then_and_now() {
        let revocations = Arc::new(MemoryRevocations::default());
        let keys = Keys::new(Key::generate());
        let store = CookieStore::new(keys.clone()).with_revocations(Arc::clone(&revocations));
        let owner = Owner::of::<Account>(&7u64);
        let hour = Duration::from_secs(3600);
        let now = micros_of(store.context.clock.now());
        let Ok(_) = revocations.revoke(&owner.unkeyed(), now - 10, hour).await;
        let load = async |value: &str| {
            let mut headers = HeaderMap::new();
            let cookie = format!("account={value}");
            headers.insert(::http::header::COOKIE, cookie.parse().unwrap());
            store.load::<Account>(&headers).await.unwrap()
        };

        let revoked_since = load(&signed_in_unkeyed(&store, now - 20)).await;
        assert_eq!(revoked_since.rejection(), Some(Rejection::Revoked));

        let signed_in_since = load(&signed_in_unkeyed(&store, now - 10)).await;
        assert_eq!(signed_in_since.user, Some(7));
        let record = signed_in_since.signed_in().expect("a sign-in record");
        assert_eq!(
            record.owner,
            *owner.digest(&keys).as_bytes(),
            "moved to the keyed digest"
        );
        let mut session = signed_in_since;
        let value = match store.seal(&mut session).unwrap() {
            CookieUpdate::Set { value, .. } => value,
            other => panic!("sealed nothing: {other:?}"),
        };
        store.revoke_all::<Account>(&owner, None).await.unwrap();
        assert_eq!(load(&value).await.rejection(), Some(Rejection::Revoked));
    }
}

//! The cookie store: the whole session sealed inside the cookie.

use ::http::HeaderMap;

use crate::clock::Clock;
use crate::codec::{self, seal};
use crate::error::{LoadError, SaveError};
use crate::http;
use crate::key::Keys;
use crate::loaded::{Intent, Loaded, Origin};
use crate::session::Session;
use crate::stats::RejectionCounts;
use crate::store::{Context, Store};

/// Keeps each session in its own cookie, sealed with AES-256-GCM (or signed, if the type asks).
///
/// No server-side state, so any instance of an app opens any cookie; the price is the 4096-byte cookie
/// limit, which [`Store::save`] checks.
///
/// ```
/// use sessions::{CookieStore, Key, Keys, Session, Store};
/// use http::{HeaderMap, HeaderValue, header};
///
/// #[derive(Session, Default)]
/// #[session(cookie = "cart")]
/// struct Cart {
///     items: Vec<u32>,
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = CookieStore::new(Keys::new(Key::generate()));
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
}

impl CookieStore {
    /// A cookie store sealing with `keys`' primary key.
    pub fn new(keys: Keys) -> Self {
        Self {
            context: Context::new(keys),
        }
    }

    /// Uses `clock` instead of the system clock (for tests of expiry).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.context.clock = std::sync::Arc::new(clock);
        self
    }

    fn open<S: Session>(&self, request: &HeaderMap) -> Loaded<S> {
        let now = self.context.now();
        let mut refused = None;
        for value in http::cookie_values(request, S::CONFIG.cookie().name()) {
            match codec::open_cookie::<S>(value, &self.context.keys, now) {
                Ok(session) => return session,
                Err(reason) => {
                    refused.get_or_insert(reason);
                }
            }
        }
        self.context.fresh(refused, now)
    }

    fn write<S: Session>(&self, session: &mut Loaded<S>, response: &mut HeaderMap) -> Result<(), SaveError> {
        let options = S::CONFIG.cookie();
        let now = self.context.now();
        if session.is_destroyed() {
            if session.origin != Origin::New {
                http::append(response, http::removal(options));
            }
            *session = Loaded::new(Origin::New, now);
            return Ok(());
        }
        let offset = seal::payload_offset(S::CONFIG.protection());
        let mut buf = Vec::with_capacity(offset + session.snapshot.bytes.len() + 64);
        buf.resize(offset, 0);
        let mut changed = false;
        codec::encode(session, now, &mut buf, |_| changed = true)?;
        if !changed && !session.stale(now) && !session.rekey && session.intent != Intent::CycleId {
            if session.rejection().is_some() {
                http::append(response, http::removal(options));
                session.origin = Origin::New;
            }
            return Ok(());
        }
        let plaintext = buf[offset..].to_vec();
        let value = codec::seal_cookie::<S>(buf, &self.context.keys);
        let line = http::set_cookie(options, &value, session.cookie_max_age(now))?;
        codec::commit(session, plaintext);
        http::append(response, line);
        Ok(())
    }
}

impl Store for CookieStore {
    async fn load<S: Session>(&self, request: &HeaderMap) -> Result<Loaded<S>, LoadError> {
        Ok(self.open(request))
    }

    async fn save<S: Session>(
        &self,
        session: &mut Loaded<S>,
        response: &mut HeaderMap,
    ) -> Result<(), SaveError> {
        self.write(session, response)
    }

    fn rejections(&self) -> &RejectionCounts {
        &self.context.rejections
    }
}

//! Support for the cross-crate tests in `tests/`: a [`Browser`] that keeps cookies between requests
//! the way a browser does, so tests drive stores through real `Cookie` and `Set-Cookie` headers;
//! [`contract`], what every store keeps, run over each store by one macro; and a [`RedisServer`] of
//! a test's own.

pub mod child;
pub mod contract;
pub mod framework;
mod mysql_server;
mod postgres_server;
mod redis_server;
mod redis_topology;
pub mod revocation;
mod round_trips;
mod server_process;
pub mod sql_table;
mod temp_dir;
mod watched;

pub use mysql_server::{MySqlServer, mysql_program};
pub use postgres_server::{PostgresServer, postgres_program};
pub use redis_server::RedisServer;
pub use redis_topology::{RedisCluster, RedisDeployment, RedisSentinels};
pub use round_trips::RoundTrips;
pub use temp_dir::TempDir;
pub use watched::{Down, Watched};

/// What a sweep of `store` removed, on a backend that sweeps.
pub async fn swept<B: sessions::store::backend::Backend>(
    store: &sessions::store::ServerStore<B>,
) -> sessions::store::backend::Swept {
    (store.sweep().await)
        .expect("the sweep runs")
        .expect("the backend sweeps")
}

/// A cookie store with a new key on a clock of its own at [`contract::START`], and a browser
/// without cookies: where most tests of one promise start.
pub fn on_cookies() -> (sessions::CookieStore, sessions::clock::ManualClock, Browser) {
    let clock = sessions::clock::ManualClock::at_unix(contract::START);
    let store = sessions::CookieStore::new(sessions::Key::generate()).with_clock(clock.clone());
    (store, clock, Browser::default())
}

/// A loopback port nothing listens on right now, for a server a test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

use std::collections::BTreeMap;

use cookie::Cookie;
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue};
use sessions::{Loaded, Session, Store};

/// A cookie jar for one site.
#[derive(Debug, Default, Clone)]
pub struct Browser {
    jar: BTreeMap<String, String>,
}

impl Browser {
    /// The headers of a request: one `Cookie` header with every cookie in the jar.
    pub fn request(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if !self.jar.is_empty() {
            let line = self
                .jar
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; ");
            headers.insert(
                COOKIE,
                HeaderValue::from_str(&line).expect("cookies are header-safe"),
            );
        }
        headers
    }

    /// Applies a response's `Set-Cookie` lines (a `Max-Age` of zero removes the cookie) and returns them
    /// parsed, for checks on their attributes.
    pub fn receive(&mut self, response: &HeaderMap) -> Vec<Cookie<'static>> {
        let cookies: Vec<Cookie<'static>> = response
            .get_all(SET_COOKIE)
            .iter()
            .map(|line| Cookie::parse(line.to_str().expect("ASCII").to_owned()).expect("a valid Set-Cookie"))
            .collect();
        for cookie in &cookies {
            let removal = cookie
                .max_age()
                .is_some_and(|age| age.is_zero() || age.is_negative());
            if removal {
                self.jar.remove(cookie.name());
            } else {
                self.jar
                    .insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
        cookies
    }

    /// The value of cookie `name`, if the jar has it.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.jar.get(name).map(String::as_str)
    }

    /// Puts a cookie in the jar by hand, as an attacker or another site would.
    pub fn set(&mut self, name: &str, value: &str) {
        self.jar.insert(name.to_owned(), value.to_owned());
    }

    /// Loads session `S` as a request from this browser would.
    pub async fn load<S: Session>(&self, store: &impl Store) -> Loaded<S> {
        store.load(&self.request()).await.expect("loading does not fail")
    }

    /// Why a request from this browser finds no session `S`, if it was refused.
    pub async fn rejection<S: Session>(&self, store: &impl Store) -> Option<sessions::Rejection> {
        self.load::<S>(store).await.rejection()
    }

    /// Saves `session` and applies the response to the jar; returns the `Set-Cookie` lines sent.
    pub async fn save<S: Session>(
        &mut self,
        store: &impl Store,
        session: &mut Loaded<S>,
    ) -> Vec<Cookie<'static>> {
        let mut response = HeaderMap::new();
        store.save(session, &mut response).await.expect("saving succeeds");
        self.receive(&response)
    }

    /// Loads session `S`, changes it with `change` and saves it, as one request would; returns
    /// the `Set-Cookie` lines sent.
    pub async fn change<S: Session>(
        &mut self,
        store: &impl Store,
        change: impl FnOnce(&mut S),
    ) -> Vec<Cookie<'static>> {
        let mut session = self.load::<S>(store).await;
        change(&mut session);
        self.save(store, &mut session).await
    }

    /// A new browser holding an [`AppSession`] of `user_id` on `store`.
    pub async fn signed_in(store: &impl Store, user_id: u64) -> Self {
        let mut browser = Browser::default();
        browser.sign_in(store, user_id).await;
        browser
    }

    /// Loads an [`AppSession`], signs `user_id` in and saves it: the session a test starts from.
    pub async fn sign_in(&mut self, store: &impl Store, user_id: u64) -> Vec<Cookie<'static>> {
        self.change(store, |session: &mut AppSession| session.user_id = Some(user_id))
            .await
    }
}

/// The session the server-side store tests share: a user, a cart and a theme under a `sid` cookie
/// that lives a day and ends after an hour idle.
#[derive(sessions::Session, Default, Debug)]
#[session(cookie = "sid", max_age = "1d", idle_timeout = "1h")]
pub struct AppSession {
    /// Who is signed in.
    pub user_id: Option<u64>,
    /// What is in the cart.
    pub cart: Vec<u32>,
    /// A preference.
    pub theme: String,
}

/// What an SQL store does when its table is gone (`drop_table` drops it) after a session was
/// stored: loading that session and saving a new one are errors naming the table, never a fresh
/// session that would sign the user out.
pub async fn a_lost_table_is_an_error(store: &impl Store, drop_table: impl AsyncFnOnce()) {
    let mut browser = Browser::default();
    let mut session = browser.load::<AppSession>(store).await;
    session.user_id = Some(7);
    browser.save(store, &mut session).await;

    drop_table().await;
    let error = store.load::<AppSession>(&browser.request()).await.unwrap_err();
    let chain = format!("{error}: {}", std::error::Error::source(&error).unwrap());
    assert!(
        chain.contains("could not read the session table `sessions`"),
        "{chain}"
    );
    let mut fresh = Browser::default().load::<AppSession>(store).await;
    fresh.user_id = Some(8);
    let saved = store.save(&mut fresh, &mut HeaderMap::new()).await;
    assert!(saved.is_err(), "a save into a missing table is an error");
}

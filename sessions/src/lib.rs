//! Typed sessions for Rust web apps.
//!
//! Write a plain struct, derive [`Session`], and every field is a typed session value: no string keys,
//! no casts. The cookie's options are checked when the code compiles, and the session travels sealed
//! (AES-256-GCM) in its cookie, or as a signed id when a [`ServerStore`](store::ServerStore) keeps it.
//! The [`guide`] says what you get in full, and how deploys, keys, revocation and scaling out behave.
//!
//! ```
//! use sessions::{CookieStore, Key, Session, Store};
//! use http::{HeaderMap, HeaderValue, header};
//!
//! #[derive(Session, Default)]
//! #[session(cookie = "app", max_age = "14d", idle_timeout = "2h")]
//! struct AppSession {
//!     user_id: Option<u64>,
//!     #[flash]
//!     notice: Option<String>,   // lives until read
//!     #[max_age("10m")]
//!     login_code: Option<String>, // gone 10 minutes after it was set
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = CookieStore::new(Key::generate());
//!
//! // A request without a cookie: a new session, every field at its default.
//! let mut session = store.load::<AppSession>(&HeaderMap::new()).await.unwrap();
//! session.user_id = Some(7);
//! session.flash_notice("Welcome back".to_string());
//! let mut response = HeaderMap::new();
//! store.save(&mut session, &mut response).await.unwrap();
//!
//! // The next request carries the cookie back.
//! let cookie = response[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap();
//! let mut request = HeaderMap::new();
//! request.insert(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
//! let mut session = store.load::<AppSession>(&request).await.unwrap();
//! assert_eq!(session.user_id, Some(7));
//! assert_eq!(session.take_notice().as_deref(), Some("Welcome back"));
//! # });
//! ```
//!
//! # What is checked, and when
//! - At compile time, by the derive: cookie names; the `__Host-`, `__Secure-`, `__Http-` and
//!   `__Host-Http-` prefix rules, in any letter case since browsers match prefixes that way;
//!   `SameSite=None` or `Partitioned` without `Secure`; durations; a field outliving its session;
//!   `#[flash]` on a type that cannot hold messages; field types that cannot be stored; two fields
//!   stored under colliding tags; misspelled options, with a "did you mean".
//! - On every load: the seal, the key, the format version, the session's `max_age` and `idle_timeout`,
//!   each field's own `max_age`. A cookie that fails any check gives a fresh session and a
//!   [`Rejection`], never an error page. And each field's type: a value stored under another serde
//!   shape (an enum's variants reordered, a struct's fields retyped) resets that field alone, and never
//!   opens as another value.
//! - On every save: the size of the whole `Set-Cookie` line (4096 bytes at most).
//!
//! Browsers drop a `SameSite=None` cookie that is not `Secure`, so this does not compile:
//! ```compile_fail
//! #[derive(sessions::Session, Default)]
//! #[session(same_site = "none", secure = false)]
//! struct Embedded {
//!     user_id: Option<u64>,
//! }
//! ```
//! Nor does a field that would outlive its session:
//! ```compile_fail
//! #[derive(sessions::Session, Default)]
//! #[session(max_age = "1h")]
//! struct AppSession {
//!     #[max_age("2h")]
//!     login_code: Option<String>,
//! }
//! ```
//! Nor a flash field that cannot hold messages (it must be `Option<T>` or `Vec<T>`):
//! ```compile_fail
//! #[derive(sessions::Session, Default)]
//! struct AppSession {
//!     #[flash]
//!     notice: String,
//! }
//! ```
//!
//! # Options
//! `#[session(...)]` on the struct: `cookie = "name"` (default: the struct's name in snake_case),
//! `max_age = "14d"` (default 14 days), `idle_timeout = "2h"`, `session_only`, `path = "/"`,
//! `domain = "example.com"`, `secure` (default on; `secure = false` for plain-HTTP development),
//! `http_only` (default on), `same_site = "lax" | "strict" | "none"` (default `"lax"`), `partitioned`,
//! `signed` (HMAC-signed instead of sealed: readable, still tamper-proof).
//!
//! Durations are quoted: `"90s"`, `"10m"`, `"2h"`, `"14d"`. An unquoted integer is a number of
//! seconds (`max_age = 3600`); an unquoted integer with a suffix is refused, since the compiler would
//! drop the suffix and `max_age = 14d` would mean 14 seconds:
//! ```compile_fail
//! #[derive(sessions::Session, Default)]
//! #[session(max_age = 14d)] // error: write `"14d"`, in quotes
//! struct AppSession {
//!     user_id: Option<u64>,
//! }
//! ```
//!
//! On fields: `#[flash]` (an `Option<T>` or `Vec<T>` that keeps its messages until read; generates
//! `take_<field>()` and `flash_<field>(message)`), `#[max_age("10m")]` (the field resets to its
//! default once that long has passed since its value last changed), and
//! `#[session(rename = "stored_name")]`. They combine.
//!
//! # Fields and their stored names
//! A field's type must be owned, `Serialize` and `Deserialize`, and `Send + Sync`: its value is copied
//! into the cookie or the store and back on every request. A raw identifier is stored as users spell
//! it: `r#type` is `type`, with accessors `take_type()` and `flash_type()` if it is a flash field.
//!
//! Each field's value is stored under a 32-bit tag of its name, so renaming a field in Rust would reset
//! it on the next deploy; `rename` keeps the old stored name:
//! ```
//! #[derive(sessions::Session, Default)]
//! struct AppSession {
//!     #[session(rename = "cart")] // was `cart: Vec<u32>`: stored values carry over
//!     basket: Vec<u32>,
//! }
//! ```
//! Two different names can hash to one tag (`costarring` and `liquid` do). The derive refuses such a
//! pair, naming both fields; storing one under another name with `rename` settles it.
//!
//! The struct's own serde attributes never reach the session, which stores every field with its type's
//! own impls; `#[serde(skip)]`, `#[serde(rename)]`, `#[serde(alias)]` and `#[serde(default)]` on a
//! field are refused, since they would seem to change what is stored.
//!
//! # Where things are
//! At the root, what the common path needs: [`Session`] (the trait and its derive), [`Loaded`] (a
//! session as a request has it), [`Key`] and [`Keys`], [`Store`] and [`CookieStore`], and the errors.
//! The rest is in modules named for what they hold:
//! - [`store`]: the stores ([`CookieStore`], [`ServerStore`](store::ServerStore) on a backend:
//!   [`MemoryStore`](store::MemoryStore), `FileStore` with feature `fs`, `RedisStore` with feature
//!   `redis`, `SqliteStore`, `PostgresStore` and `MySqlStore` with features `sqlite`, `postgres`
//!   and `mysql`), their
//!   errors, and the counts of refused cookies; [`store::backend`], the protocol a backend of your
//!   own implements.
//! - [`session`]: the [`Session`] trait, [`Field`](session::Field) for a hand-written impl, and what
//!   a load reports ([`Origin`](session::Origin), [`ResetField`](session::ResetField)).
//! - [`config`]: a session type's cookie attributes, lifetime and protection, which the derive builds
//!   from `#[session(...)]`.
//! - [`clock`]: where stores read the time; [`ManualClock`](clock::ManualClock) moves it in tests.
//! - `layer` (feature `tower`), `axum` (feature `axum`) and `actix` (feature `actix`): loading
//!   sessions per request.
//!
//! # Extending it
//! - **Your own storage**: implement [`Backend`](store::backend::Backend) and wrap it in a
//!   [`ServerStore`](store::ServerStore). The store signs ids, seals records and decides what a save
//!   does; a backend only keeps sealed bytes under ids, atomically per save. The workspace's
//!   `sessions-examples` crate has one outside this crate, run through the same contract tests as
//!   the built-in stores.
//! - **A store around a store**: [`Store`] can be implemented by delegating to another store, for
//!   example to pick a store per tenant or to count loads. A store from scratch is not an extension
//!   point: [`Loaded`] is built only by this crate's stores, which keep the wire format.
//! - **Your own clock**: implement [`Clock`](clock::Clock).
//!
//! # Features
//! - `fs` (Unix): `FileStore`, sessions in files, crash-safe and merged across processes.
//! - `tower`: `layer::SessionLayer`, loading sessions per request and saving them into the response,
//!   for any tower-based framework.
//! - `axum` (implies `tower`): the extractor `axum::TypedSession<S>`.
//! - `actix`: the same `SessionLayer` as actix-web middleware (without tower), and the extractor
//!   `actix::TypedSession<S>`.
//! - `redis`: `RedisStore`, sessions in Redis shared by every instance of an app, merged per field on
//!   the server.
//! - `sqlite`: `SqliteStore`, sessions in an SQLite database through `sqlx`, concurrent saves
//!   merged per field.
//! - `postgres`: `PostgresStore`, the same in PostgreSQL, shared by every instance of an app.
//! - `mysql`: `MySqlStore`, the same in MySQL or MariaDB.
//! - `tokio`: `ServerStore::spawn_sweeper`, removing expired sessions in the background on the
//!   app's tokio runtime, for any backend (on with `fs`, `redis`, `sqlite`, `postgres` and `mysql`).
//!
//! None is on by default: the cookie store needs none of them.
//!
//! # Keys
//! A [`Key`] is a secret of at least 32 bytes; [`Keys`] holds the primary key and any fallbacks, so
//! a key can be rotated without signing anybody out.

#![cfg_attr(docsrs, feature(doc_cfg))]

// Lets the crate's own unit tests use `#[derive(Session)]`, whose output names `::sessions`.
#[cfg(test)]
extern crate self as sessions;

pub mod clock;
mod codec;
pub mod config;
mod error;
mod field;
mod headers;
mod key;
mod loaded;
pub mod owner;
mod prepared;
mod random;
pub mod session;
mod stats;
pub mod store;

#[cfg(any(feature = "tower", feature = "actix"))]
mod web;

#[cfg(feature = "actix")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
#[path = "web/actix.rs"]
pub mod actix;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
#[path = "web/axum.rs"]
pub mod axum;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
#[path = "web/tower.rs"]
pub mod layer;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

#[cfg(feature = "fuzz")]
#[doc(hidden)]
#[path = "fuzz.rs"]
pub mod __fuzz;

pub use error::{ErrorChain, FieldError, KeyError, LoadError, Rejection, SaveError};
pub use key::{Key, Keys};
pub use session::{Loaded, Session};
/// Derives [`Session`](trait@Session) for a struct; see the [crate docs](crate).
pub use sessions_derive::Session;
pub use store::{CookieStore, Store};

/// The `http` crate this one speaks (`HeaderMap`, `StatusCode`): use it from here to match its version.
pub use http;

#[cfg(all(feature = "fs", not(unix)))]
compile_error!(
    "the `fs` feature needs Unix: its files and directories are private to their owner (modes 0600 and 0700)"
);

/// The guide: what you get in full, deploys, keys, revocation, scaling out. Its text is
/// `sessions/guide.md`; its examples are doctests.
#[doc = include_str!("../guide.md")]
pub mod guide {}

/// The README's examples, compiled and run as doctests (they use axum and actix-web).
#[cfg(all(doctest, feature = "axum", feature = "actix"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

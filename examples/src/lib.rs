//! The demo app: sign in with a one-time code, flash messages after redirects, "remember me", a cart,
//! and sign-out, on two typed sessions. `src/main.rs` serves it; the end-to-end tests drive it.
//!
//! - `Account` keeps who is signed in, flash messages (good news and errors apart), and a pending
//!   sign-in whose code expires by itself ten minutes after it was sent (`#[max_age("10m")]`).
//! - `Account` names its owner (`#[owner] user`) and the device it was signed in on
//!   (`#[listed] device`), so a user sees their sessions on `/sessions` and ends any of them, or
//!   all but this one. On the cookie store that takes a revocation backend, and the page can show
//!   only this browser's session.
//! - `Cart` keeps the cart in its own cookie, so signing out leaves it alone.
//! - Wrong codes are counted on the server ([`Attempts`]), never in the session: a counter kept in a
//!   cookie can be replayed (send the cookie from before the guesses again), and one kept in any
//!   session can be raced (concurrent guesses all read the same count).
//!
//! The app is written once, here, over the sessions' types: each route is a function from the
//! sessions (and a form) to an [`Answer`]. [`app`] serves it with axum ([`axum_app`]), and
//! [`actix_app::serve`] with actix-web; the same end-to-end tests run against both.
//!
//! Beside the demo, two extension points used from outside the `sessions` crate, each run through
//! the store contract in the tests crate: [`entry_backend`], a storage backend of your own, and
//! [`counted`], a store around another store.

pub mod actix_app;
pub mod axum_app;
pub mod counted;
pub mod entry_backend;

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sessions::owner::{Handle, Owner, OwnersError};
use sessions::{Loaded, Store};
use subtle::ConstantTimeEq;

pub use axum_app::app;

/// Who is signed in.
#[derive(sessions::Session, Default, Debug)]
#[session(cookie = "demo", max_age = "30d", idle_timeout = "7d", session_only)]
pub struct Account {
    /// The signed-in user: the owner, by whom stores list and revoke sessions.
    #[owner]
    pub user: Option<String>,
    /// The device signed in on, from its `User-Agent`: shown in the list of the user's sessions.
    #[listed]
    pub device: Option<String>,
    /// Good news for the next page.
    #[flash]
    pub notice: Option<String>,
    /// An error for the next page, shown as one.
    #[flash]
    pub alert: Option<String>,
    /// A sign-in waiting for its code; gone ten minutes after the code was sent.
    #[max_age("10m")]
    pub pending: Option<PendingSignIn>,
}

/// A sign-in waiting for its one-time code. It never changes once made, so its ten minutes run from
/// when the code was sent.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PendingSignIn {
    user: String,
    code: String,
    remember: bool,
    /// The key of this sign-in's count of wrong codes in [`Attempts`].
    attempt: u128,
}

/// The wrong codes of each pending sign-in, counted on the server and atomically, so that they can
/// be neither replayed nor raced. Kept in memory: the demo runs as one process.
#[derive(Debug, Default)]
pub struct Attempts {
    by_id: Mutex<HashMap<u128, Attempt>>,
}

#[derive(Debug)]
struct Attempt {
    wrong: u8,
    used: bool,
    started: Instant,
}

/// What checking a code found.
enum Check {
    Right,
    Wrong,
    TooMany,
    Used,
    Unknown,
}

impl Attempts {
    /// Starts counting a new sign-in; forgets sign-ins older than their code (memory stays bounded).
    fn start(&self) -> u128 {
        let id = rand::random();
        let mut by_id = self.by_id.lock().unwrap_or_else(PoisonError::into_inner);
        by_id.retain(|_, attempt| attempt.started.elapsed() < CODE_LIFETIME);
        by_id.insert(
            id,
            Attempt {
                wrong: 0,
                used: false,
                started: Instant::now(),
            },
        );
        id
    }

    /// Checks `guess` against `pending`'s code, counting it, in one step under the lock.
    fn check(&self, pending: &PendingSignIn, guess: &str) -> Check {
        let mut by_id = self.by_id.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(attempt) = by_id.get_mut(&pending.attempt) else {
            return Check::Unknown;
        };
        if attempt.used {
            return Check::Used;
        }
        if attempt.wrong >= MAX_WRONG_CODES {
            return Check::TooMany;
        }
        if bool::from(guess.trim().as_bytes().ct_eq(pending.code.as_bytes())) {
            attempt.used = true;
            return Check::Right;
        }
        attempt.wrong += 1;
        if attempt.wrong >= MAX_WRONG_CODES {
            Check::TooMany
        } else {
            Check::Wrong
        }
    }
}

/// The cart: the [`CART_SIZE`] most recently added items.
#[derive(sessions::Session, Default, Debug)]
#[session(cookie = "cart", max_age = "30d")]
pub struct Cart {
    /// What is in it, in the order it was added.
    pub items: Vec<String>,
}

/// What the shop sells.
pub const CATALOG: [&str; 3] = ["tea", "coffee", "cake"];

/// A cart keeps this many of the most recently added items.
pub const CART_SIZE: usize = 10;

/// Wrong codes allowed before a sign-in must start over.
const MAX_WRONG_CODES: u8 = 3;

/// How long a code is valid; the session's `#[max_age("10m")]` enforces it.
const CODE_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// What a route answers, whatever the framework serving it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A page of the demo, with its status.
    Page {
        /// The status code.
        status: u16,
        /// The whole HTML page.
        html: String,
    },
    /// `303 See Other` to this path.
    Redirect(&'static str),
}

impl Answer {
    fn page(html: String) -> Self {
        Self::Page { status: 200, html }
    }
}

/// The page for a path the demo does not have.
pub fn not_found() -> Answer {
    let body = r#"<p>There is no such page here. <a href="/">Back to the start</a>.</p>"#;
    Answer::Page {
        status: 404,
        html: page("Not found", &Messages::none(), body),
    }
}

/// The page for a method a path does not take.
pub fn method_not_allowed() -> Answer {
    let body = r#"<p>This page does not take that kind of request. <a href="/">Back to the start</a>.</p>"#;
    Answer::Page {
        status: 405,
        html: page("Not allowed", &Messages::none(), body),
    }
}

/// How the request reached the demo: what it needs to say when cookies cannot work.
#[derive(Debug, Clone, Copy, Default)]
pub struct Origin<'a> {
    /// The `Host` header.
    pub host: Option<&'a str>,
    /// Whether a proxy in front says the client used HTTPS (`X-Forwarded-Proto: https`).
    pub forwarded_https: bool,
}

impl<'a> Origin<'a> {
    /// From the request's `Host` and `X-Forwarded-Proto` headers, as bytes.
    pub fn from_headers(host: Option<&'a [u8]>, forwarded_proto: Option<&[u8]>) -> Self {
        Self {
            host: host.and_then(|host| std::str::from_utf8(host).ok()),
            forwarded_https: forwarded_proto.is_some_and(|proto| proto.eq_ignore_ascii_case(b"https")),
        }
    }
}

/// Why nothing will work, when it will not: the demo opened over plain HTTP under a host name
/// browsers do not treat as secure. Its cookies are all `Secure`, which browsers keep only over HTTPS
/// or on loopback, so without this the visitor would see every sign-in fail, with no reason given.
fn insecure_origin(origin: Origin<'_>) -> Option<String> {
    let host = origin.host?;
    let name = host.rsplit_once(':').map_or(host, |(name, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            name
        } else {
            host
        }
    });
    let loopback = name == "localhost"
        || name.ends_with(".localhost")
        || name == "[::1]"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    (!loopback && !origin.forwarded_https).then(|| {
        format!(
            "You opened this demo as http://{host}/. Its cookies are Secure, and browsers keep Secure \
             cookies only over HTTPS or on localhost, so signing in cannot work here: open it as \
             http://localhost/ (with its port), or serve it over HTTPS."
        )
    })
}

/// `GET /`: who is signed in (or the sign-in form), the messages, and the cart.
pub fn home(origin: Origin<'_>, account: &mut Loaded<Account>, cart: &Cart) -> Answer {
    let mut messages = Messages::take(account);
    messages.warning = insecure_origin(origin);
    let body = match &account.user {
        Some(user) => format!(
            r#"<p>Signed in as <b>{}</b>. <a href="/sessions">Where you are signed in</a></p>
<form method="post" action="/sign-out"><button>Sign out</button></form>"#,
            escape(user)
        ),
        None => r#"<form method="post" action="/sign-in">
<label>Name <input name="user" required maxlength="40"></label>
<label><input type="checkbox" name="remember" value="yes"> Remember me</label>
<button>Send me a code</button></form>"#
            .to_owned(),
    };
    Answer::page(page("Home", &messages, &(body + &cart_section(cart))))
}

fn cart_section(cart: &Cart) -> String {
    let items: String = cart
        .items
        .iter()
        .map(|item| format!("<li>{}</li>", escape(item)))
        .collect();
    let buttons: String = CATALOG
        .iter()
        .map(|item| format!(r#"<button name="item" value="{item}">Add {item}</button> "#))
        .collect();
    format!(
        r#"<h2>Cart ({})</h2><ul>{items}</ul>
<form method="post" action="/cart">{buttons}</form>
<form method="post" action="/cart/clear"><button>Empty the cart</button></form>"#,
        cart.items.len()
    )
}

/// The sign-in form.
#[derive(Deserialize, Debug)]
pub struct SignInForm {
    user: String,
    remember: Option<String>,
}

/// `POST /sign-in`: a code for the name given, valid ten minutes.
pub fn sign_in(attempts: &Attempts, account: &mut Loaded<Account>, form: SignInForm) -> Answer {
    let user = form.user.trim();
    if user.is_empty() || user.chars().count() > 40 {
        account.flash_alert("Names are 1 to 40 characters.".into());
        return Answer::Redirect("/");
    }
    account.pending = Some(PendingSignIn {
        user: user.to_owned(),
        code: format!("{:06}", rand::random_range(0..1_000_000)),
        remember: form.remember.is_some(),
        attempt: attempts.start(),
    });
    account.flash_notice("We sent you a code. It is valid for 10 minutes.".into());
    Answer::Redirect("/code")
}

/// `GET /code`: the page to enter the code on.
pub fn code_page(account: &mut Loaded<Account>) -> Answer {
    let messages = Messages::take(account);
    let Some(pending) = &account.pending else {
        no_pending_sign_in(account);
        return Answer::Redirect("/");
    };
    let body = format!(
        r#"<p>This demo sends no email: your code is <code id="code">{}</code>.</p>
<form method="post" action="/code"><label>Code <input name="code" required></label>
<button>Sign in</button></form><p><a href="/">Back</a></p>"#,
        pending.code
    );
    Answer::page(page("Enter your code", &messages, &body))
}

/// Why there is no sign-in to enter a code for, as the truth: already signed in, the code's ten minutes
/// are over, the session could not be read, or no sign-in was started.
fn no_pending_sign_in(account: &mut Loaded<Account>) {
    if account.user.is_some() {
        account.flash_notice("You are already signed in.".into());
    } else if account
        .reset_fields()
        .iter()
        .any(|reset| reset.field == "pending")
    {
        account.flash_alert("That code expired; please sign in again.".into());
    } else if account.rejection().is_some() {
        account.flash_alert("Your session could not be read; please sign in again.".into());
    } else {
        account.flash_alert("Enter your name to get a code first.".into());
    }
}

/// The code form.
#[derive(Deserialize, Debug)]
pub struct CodeForm {
    code: String,
}

/// `POST /code`: signs in with the right code, on the device `user_agent` names; counts a wrong one.
pub fn check_code(
    attempts: &Attempts,
    account: &mut Loaded<Account>,
    form: CodeForm,
    user_agent: Option<&[u8]>,
) -> Answer {
    let Some(pending) = account.pending.clone() else {
        no_pending_sign_in(account);
        return Answer::Redirect("/");
    };
    let ended = match attempts.check(&pending, &form.code) {
        Check::Right => None,
        Check::Wrong => {
            account.flash_alert("Wrong code; try again.".into());
            return Answer::Redirect("/code");
        }
        Check::TooMany => Some("Too many wrong codes; please sign in again."),
        Check::Used => Some("That code was already used; please sign in again."),
        // Not counted here: the demo restarted since, or the code's time is long over.
        Check::Unknown => Some("That code expired; please sign in again."),
    };
    if let Some(why) = ended {
        account.pending = None;
        account.flash_alert(why.into());
        return Answer::Redirect("/");
    }
    account.pending = None;
    account.flash_notice(format!("Welcome, {}!", pending.user));
    account.user = Some(pending.user);
    account.device = Some(device(user_agent));
    account.set_persistent(pending.remember);
    account.cycle_id(); // a new session identity for the new privilege
    Answer::Redirect("/")
}

/// `POST /sign-out`: ends the account's session (the cart stays).
pub fn sign_out(account: &mut Loaded<Account>) -> Answer {
    account.destroy();
    account.flash_notice("You have been signed out.".into());
    Answer::Redirect("/")
}

/// What a `User-Agent` says of the device, in a few words: "Firefox on Linux".
fn device(user_agent: Option<&[u8]>) -> String {
    let agent = user_agent
        .and_then(|agent| std::str::from_utf8(agent).ok())
        .unwrap_or_default();
    let first = |names: &[(&str, &'static str)]| {
        names
            .iter()
            .find(|(token, _)| agent.contains(token))
            .map(|&(_, name)| name)
    };
    // Order matters: Edge and Chrome say "Chrome", Chrome says "Safari".
    let browser = first(&[
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]);
    let system = first(&[
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]);
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(known), None) | (None, Some(known)) => known.to_owned(),
        (None, None) if agent.is_empty() => "An unnamed device".to_owned(),
        (None, None) => agent.chars().take(40).collect(),
    }
}

/// `GET /sessions`: where the user is signed in, each session with "Sign out this one", and
/// "Sign out everywhere else". `accounts` is the store the accounts are kept in.
pub async fn sessions_page(accounts: &impl Store, account: &mut Loaded<Account>) -> Answer {
    let Some(owner) = signed_in_owner(account) else {
        return Answer::Redirect("/");
    };
    let messages = Messages::take(account);
    let listed = match accounts.sessions_of(&owner, Some(account)).await {
        Ok(listed) => listed,
        Err(OwnersError::Unsupported { .. }) => {
            let body = format!(
                r#"<p>This demo keeps each session in its browser's cookie, so the server cannot list
them: this browser's is {}, signed in {}. If you signed in elsewhere too, you can sign out there
from here.</p>{EVERYWHERE_ELSE}<p><a href="/">Back</a></p>"#,
                escape(account.device.as_deref().unwrap_or("this device")),
                httpdate::fmt_http_date(account.created_at()),
            );
            return Answer::page(page("Where you are signed in", &messages, &body));
        }
        Err(error) => return unavailable(&error),
    };
    let rows: String = listed
        .iter()
        .map(|session| {
            let device = escape(session.fields.device.as_deref().unwrap_or("An unnamed device"));
            let action = if session.current {
                "<b>This device</b>".to_owned()
            } else {
                format!(
                    r#"<form method="post" action="/sessions/end"><input type="hidden" name="handle" value="{}"><button>Sign out this one</button></form>"#,
                    session.handle
                )
            };
            // A browser closed without "remember me" takes its cookie along, unseen by the server:
            // its session is listed until it idles out.
            let ends = if session.persistent {
                format!("ends by {}", httpdate::fmt_http_date(session.expires_at))
            } else {
                format!(
                    "ends when its browser closes, or if unused, by {}",
                    httpdate::fmt_http_date(session.expires_at)
                )
            };
            format!(
                r#"<li class="session"><b>{device}</b><br>signed in {}<br>last seen {}<br>{ends}<br>{action}</li>"#,
                httpdate::fmt_http_date(session.created_at),
                httpdate::fmt_http_date(session.last_seen),
            )
        })
        .collect();
    let shown = if listed.total() > listed.len() {
        format!(" (the {} seen last)", listed.len())
    } else {
        String::new()
    };
    // With this device alone, there is nowhere else to sign out of.
    let everywhere_else = if listed.total() > 1 { EVERYWHERE_ELSE } else { "" };
    let body = format!(
        r#"<p>You are signed in on {} {}{shown}:</p><ul>{rows}</ul>{everywhere_else}<p><a href="/">Back</a></p>"#,
        listed.total(),
        if listed.total() == 1 { "device" } else { "devices" }
    );
    Answer::page(page("Where you are signed in", &messages, &body))
}

/// Who is signed in, as the stores name owners; with nobody, an alert for the page the visitor is
/// sent back to.
fn signed_in_owner(account: &mut Loaded<Account>) -> Option<Owner> {
    let owner = account.owner();
    if owner.is_none() {
        account.flash_alert("Sign in to see where you are signed in.".into());
    }
    owner
}

const EVERYWHERE_ELSE: &str =
    r#"<form method="post" action="/sessions/end-others"><button>Sign out everywhere else</button></form>"#;

/// The form that ends one session.
#[derive(Deserialize, Debug)]
pub struct EndForm {
    handle: String,
}

/// `POST /sessions/end`: ends the user's session that the form's handle names.
pub async fn end_session(accounts: &impl Store, account: &mut Loaded<Account>, form: EndForm) -> Answer {
    let Some(owner) = signed_in_owner(account) else {
        return Answer::Redirect("/");
    };
    let Some(handle) = Handle::parse(&form.handle) else {
        account.flash_alert("That is not a session of yours.".into());
        return Answer::Redirect("/sessions");
    };
    match accounts.revoke::<Account>(&owner, &handle).await {
        Ok(true) => account.flash_notice("That device is signed out.".into()),
        Ok(false) => account.flash_alert("That session had already ended.".into()),
        Err(error) => return unavailable(&error),
    }
    Answer::Redirect("/sessions")
}

/// `POST /sessions/end-others`: ends every session of the user but this one.
pub async fn end_other_sessions(accounts: &impl Store, account: &mut Loaded<Account>) -> Answer {
    let Some(owner) = signed_in_owner(account) else {
        return Answer::Redirect("/");
    };
    match accounts.revoke_all(&owner, Some(account)).await {
        Ok(()) => account.flash_notice("You are signed out everywhere else.".into()),
        Err(error) => return unavailable(&error),
    }
    Answer::Redirect("/sessions")
}

/// The page for a store that failed (or cannot list or revoke sessions), with its status.
fn unavailable(error: &OwnersError) -> Answer {
    let body = r#"<p>The session store could not do that just now. <a href="/">Back to the start</a>.</p>"#;
    Answer::Page {
        status: error.status().as_u16(),
        html: page("Try again", &Messages::none(), body),
    }
}

/// The page for a request the session store failed (the layer's 503, with `Retry-After`: the
/// store down or overloaded), in place of its plain-text body: what happened, that it is not the
/// visitor's doing, and a way to try again. A GET (`get`) is tried again at its `path`; a form sent
/// with POST was not saved, and is sent again from the start.
pub fn store_unavailable(get: bool, path: &str) -> String {
    let again = if get {
        format!(r#"<a href="{}">Try again</a> in a moment."#, escape(path))
    } else {
        r#"What you sent was not saved: <a href="/">go back to the start</a> and send it again in a moment."#
            .to_owned()
    };
    let body = format!(
        "<p>The session store is not answering just now, so this page cannot be shown. Nothing is wrong \
         with your browser, and nobody was signed out.</p><p>{again}</p>"
    );
    page("Try again in a moment", &Messages::none(), &body)
}

/// The form that adds to the cart.
#[derive(Deserialize, Debug)]
pub struct ItemForm {
    item: String,
}

/// `POST /cart`: adds an item from the catalog; the oldest goes past [`CART_SIZE`].
pub fn add_to_cart(cart: &mut Cart, form: ItemForm) -> Answer {
    if CATALOG.contains(&form.item.as_str()) {
        cart.items.push(form.item);
        if cart.items.len() > CART_SIZE {
            cart.items.remove(0);
        }
    }
    Answer::Redirect("/")
}

/// `POST /cart/clear`: ends the cart's session.
pub fn clear_cart(cart: &mut Loaded<Cart>) -> Answer {
    cart.destroy();
    Answer::Redirect("/")
}

/// The messages a page shows: the flash messages taken from the session (read once, then gone), and a
/// warning about how the demo was opened.
struct Messages {
    notice: Option<String>,
    alert: Option<String>,
    warning: Option<String>,
}

impl Messages {
    fn take(account: &mut Account) -> Self {
        Self {
            notice: account.take_notice(),
            alert: account.take_alert(),
            warning: None,
        }
    }

    fn none() -> Self {
        Self {
            notice: None,
            alert: None,
            warning: None,
        }
    }
}

fn page(title: &str, messages: &Messages, body: &str) -> String {
    let shown = |class: &str, text: &Option<String>| {
        text.as_deref().map_or(String::new(), |text| {
            format!(r#"<p class="{class}">{}</p>"#, escape(text))
        })
    };
    let messages = shown("alert", &messages.warning)
        + &shown("alert", &messages.alert)
        + &shown("notice", &messages.notice);
    format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>{title} · sessions demo</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>
<body><main><p class="brand">sessions demo</p><h1>{title}</h1>{messages}{body}</main></body></html>"#
    )
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;background:#f4f4f6;color:#222;margin:0}\
main{max-width:34rem;margin:3rem auto;background:#fff;padding:2rem 2.5rem;border-radius:12px;\
box-shadow:0 2px 12px #0001}.brand{color:#888;font-size:.85rem;margin:0;text-transform:uppercase;\
letter-spacing:.08em}h1{margin:.2rem 0 1rem}h2{font-size:1.1rem;margin-top:2rem}\
.notice{background:#e8f4ea;border-left:4px solid #3a8f4a;padding:.6rem .9rem;border-radius:4px}\
.alert{background:#fbeaea;border-left:4px solid #c0392b;padding:.6rem .9rem;border-radius:4px}\
form{margin:.6rem 0}li.session{margin:.8rem 0}label{display:block;margin:.4rem 0}input[name]{padding:.35rem .5rem;\
border:1px solid #bbb;border-radius:6px}button{padding:.4rem .9rem;border:0;border-radius:6px;\
background:#2f5bd3;color:#fff;cursor:pointer;margin:.2rem .3rem .2rem 0}code{font-size:1.2rem;\
background:#f0f0f4;padding:.1rem .4rem;border-radius:4px}ul{padding-left:1.2rem}";

fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    html_escape::encode_text(text)
}

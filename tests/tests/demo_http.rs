//! The demo app end to end: served on a loopback port, driven by an HTTP client that keeps cookies as
//! a browser does, with time moved by an injected clock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cookie::Cookie;
use http::HeaderValue;
use sessions::clock::ManualClock;
use sessions::store::{FileStore, MySqlStore, PostgresStore, RedisOptions, RedisStore};
use sessions::{CookieStore, Key, Keys, Store};
use sessions_tests::TempDir;

/// A browser's cookie jar for one site. Like browsers, it sends `Secure` cookies to a loopback
/// address; it records every `Set-Cookie` it receives, for checks on their attributes.
#[derive(Default)]
struct Jar {
    cookies: Mutex<BTreeMap<String, String>>,
    received: Mutex<Vec<Cookie<'static>>>,
}

impl reqwest::cookie::CookieStore for Jar {
    fn set_cookies(&self, headers: &mut dyn Iterator<Item = &HeaderValue>, _: &reqwest::Url) {
        for header in headers {
            let cookie = Cookie::parse(header.to_str().unwrap().to_owned()).unwrap();
            let removal = cookie.max_age().is_some_and(|age| age.is_zero());
            let mut cookies = self.cookies.lock().unwrap();
            if removal {
                cookies.remove(cookie.name());
            } else {
                cookies.insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
            self.received.lock().unwrap().push(cookie);
        }
    }

    fn cookies(&self, _: &reqwest::Url) -> Option<HeaderValue> {
        let cookies = self.cookies.lock().unwrap();
        let line: Vec<String> = cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        (!line.is_empty()).then(|| HeaderValue::from_str(&line.join("; ")).unwrap())
    }
}

impl Jar {
    fn get(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }
    fn set(&self, name: &str, value: &str) {
        self.cookies
            .lock()
            .unwrap()
            .insert(name.to_owned(), value.to_owned());
    }
    /// The last `Set-Cookie` received for `name`.
    fn last(&self, name: &str) -> Cookie<'static> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|c| c.name() == name)
            .cloned()
            .unwrap()
    }
}

/// A visitor: an HTTP client with its jar, and the address of the app it visits.
struct Visitor {
    client: reqwest::Client,
    jar: Arc<Jar>,
    base: String,
}

impl Visitor {
    fn new(base: &str) -> Self {
        Self::on(base, "sessions-tests")
    }

    /// A visitor whose browser sends `user_agent`.
    fn on(base: &str, user_agent: &str) -> Self {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(Arc::clone(&jar))
            .user_agent(user_agent)
            .build()
            .unwrap();
        Self {
            client,
            jar,
            base: base.to_owned(),
        }
    }

    /// GETs `path` (after redirects) and returns the status and page.
    async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// POSTs a form to `path`, follows the redirect, and returns the page it lands on.
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let body: Vec<String> = form.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.join("&"))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Signs in as `user` through the one-time code; returns the page after the last redirect.
    async fn sign_in(&self, user: &str, remember: bool) -> String {
        let form: &[(&str, &str)] = if remember {
            &[("user", user), ("remember", "yes")]
        } else {
            &[("user", user)]
        };
        let (status, code_page) = self.post("/sign-in", form).await;
        assert_eq!(status, 200);
        assert!(
            code_page.contains(r#"<a href="/">Back</a>"#),
            "a way back: {code_page}"
        );
        let code = code_of(&code_page);
        let (status, home) = self.post("/code", &[("code", &code)]).await;
        assert_eq!(status, 200);
        home
    }
}

fn code_of(page: &str) -> String {
    let start = page
        .find(r#"<code id="code">"#)
        .expect("the code page shows the code")
        + 16;
    page[start..start + 6].to_owned()
}

/// The frameworks the demo is served with; every test here runs on each.
#[derive(Debug, Clone, Copy)]
enum Framework {
    Axum,
    Actix,
}

/// Runs each named test (an `async fn(Framework)`) as two tests, `NAME::axum` and `NAME::actix`;
/// `NAME(ARGS)` gives `#[tokio::test(ARGS)]`.
macro_rules! on_each_framework {
    ($($name:ident $(($($runtime:tt)*))?),* $(,)?) => {$(
        mod $name {
            #[tokio::test$(($($runtime)*))?]
            async fn axum() {
                super::$name(super::Framework::Axum).await;
            }

            #[tokio::test$(($($runtime)*))?]
            async fn actix() {
                super::$name(super::Framework::Actix).await;
            }
        }
    )*};
}

/// Serves the demo with `framework` on a free loopback port with the given stores; returns its base
/// URL.
async fn serve(framework: Framework, accounts: impl Store + Clone, carts: impl Store) -> String {
    match framework {
        Framework::Axum => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            tokio::spawn(async move {
                axum::serve(listener, sessions_examples::app(accounts, carts))
                    .await
                    .unwrap()
            });
            format!("http://{address}")
        }
        Framework::Actix => {
            let address = sessions_examples::actix_app::spawn(accounts, carts).unwrap();
            format!("http://{address}")
        }
    }
}

fn clock() -> ManualClock {
    ManualClock::at_unix(1_700_000_000)
}

async fn cookie_app(framework: Framework, keys: Keys, clock: &ManualClock) -> String {
    let store = CookieStore::new(keys).with_clock(clock.clone());
    serve(framework, store.clone(), store).await
}

async fn sign_in_shows_the_flash_once_and_sets_a_secure_cookie(framework: Framework) {
    let clock = clock();
    let visitor = Visitor::new(&cookie_app(framework, Keys::new(Key::generate()), &clock).await);
    let home = visitor.sign_in("Ada", false).await;
    assert!(home.contains("Welcome, Ada!"), "{home}");
    assert!(home.contains("Signed in as <b>Ada</b>"));

    let cookie = visitor.jar.last("demo");
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.same_site(), Some(cookie::SameSite::Lax));
    assert_eq!(cookie.path(), Some("/"));
    assert_eq!(
        cookie.max_age(),
        None,
        "without remember me, a browser-session cookie"
    );

    let (status, again) = visitor.get("/").await;
    assert_eq!(status, 200);
    assert!(!again.contains("Welcome"), "the flash is shown once");
    assert!(again.contains("Signed in as <b>Ada</b>"));
}

async fn remember_me_makes_the_cookie_persistent(framework: Framework) {
    let clock = clock();
    let visitor = Visitor::new(&cookie_app(framework, Keys::new(Key::generate()), &clock).await);
    visitor.sign_in("Ada", true).await;
    let cookie = visitor.jar.last("demo");
    assert_eq!(
        cookie.max_age(),
        Some(cookie::time::Duration::days(7)),
        "the idle window"
    );
}

async fn the_cart_lives_in_its_own_cookie_across_requests_and_sign_out(framework: Framework) {
    let clock = clock();
    let visitor = Visitor::new(&cookie_app(framework, Keys::new(Key::generate()), &clock).await);
    for item in ["tea", "cake", "tea"] {
        visitor.post("/cart", &[("item", item)]).await;
    }
    visitor.sign_in("Ada", false).await;
    let (_, home) = visitor.get("/").await;
    assert!(
        home.contains("Cart (3)") && home.contains("<li>cake</li>"),
        "{home}"
    );
    assert!(
        visitor.jar.get("demo").is_some() && visitor.jar.get("cart").is_some(),
        "two session types"
    );

    let signed_in = visitor.jar.get("demo").unwrap();
    let (status, home) = visitor.post("/sign-out", &[]).await;
    assert_eq!(status, 200);
    assert!(home.contains("You have been signed out."), "{home}");
    assert!(home.contains("Send me a code"));
    assert!(home.contains("Cart (3)"), "the cart outlives the sign-out");
    assert_ne!(visitor.jar.get("demo"), Some(signed_in.clone()));
    // The signed-in cookie, replayed, is the cookie store's limit: it still opens (see README).
    let (_, home) = visitor.get("/").await;
    assert!(!home.contains("signed out"), "the message is shown once");
}

/// Starts a sign-in as Ada; returns the code.
async fn start_sign_in(visitor: &Visitor) -> String {
    let (_, code_page) = visitor.post("/sign-in", &[("user", "Ada")]).await;
    code_of(&code_page)
}

/// A code that is not `code`.
fn wrong(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

async fn replaying_the_cookie_from_before_wrong_codes_gives_no_more_guesses(framework: Framework) {
    let clock = clock();
    let visitor = Visitor::new(&cookie_app(framework, Keys::new(Key::generate()), &clock).await);
    let code = start_sign_in(&visitor).await;
    let before_guesses = visitor.jar.get("demo").unwrap();
    for _ in 0..3 {
        visitor.post("/code", &[("code", &wrong(&code))]).await;
    }
    // A counter kept in the cookie would start again from this copy.
    visitor.jar.set("demo", &before_guesses);
    let (_, page) = visitor.post("/code", &[("code", &code)]).await;
    assert!(page.contains("Too many wrong codes"), "{page}");
    assert!(!page.contains("Signed in as"), "{page}");
}

async fn concurrent_wrong_codes_count_against_one_limit(framework: Framework) {
    let dir = TempDir::new(&format!("demo-race-{framework:?}"));
    let store = FileStore::open(&dir.0, Keys::new(Key::generate())).unwrap();
    let visitor = Visitor::new(&serve(framework, store.clone(), store).await);
    let code = start_sign_in(&visitor).await;
    // Each answer is read before any redirect: a guess that was checked and found wrong sends the
    // visitor back to the code page.
    let client = reqwest::Client::builder()
        .cookie_provider(Arc::clone(&visitor.jar))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let guesses = (0..40).map(|_| {
        let request = client
            .post(format!("{}/code", visitor.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("code={}", wrong(&code)));
        tokio::spawn(async move { request.send().await.unwrap() })
    });
    let mut checked = 0;
    for guess in guesses {
        let response = guess.await.unwrap();
        checked += usize::from(response.headers()[http::header::LOCATION] == "/code");
    }
    assert!(
        checked <= 2,
        "{checked} wrong guesses were checked and let try again; the limit is 3"
    );
}

async fn a_wrong_guess_does_not_give_the_code_more_time(framework: Framework) {
    let clock = clock();
    let visitor = Visitor::new(&cookie_app(framework, Keys::new(Key::generate()), &clock).await);
    let code = start_sign_in(&visitor).await;
    clock.advance(Duration::from_secs(5 * 60));
    let (_, page) = visitor.post("/code", &[("code", &wrong(&code))]).await;
    assert!(page.contains("Wrong code; try again"), "{page}");
    clock.advance(Duration::from_secs(5 * 60));
    let (_, page) = visitor.post("/code", &[("code", &code)]).await;
    assert!(
        page.contains("That code expired"),
        "ten minutes after it was sent: {page}"
    );
}

async fn each_outcome_has_its_own_message_and_errors_look_like_errors(framework: Framework) {
    let clock = clock();
    let base = cookie_app(framework, Keys::new(Key::generate()), &clock).await;
    // A signed-in user opening the code page.
    let visitor = Visitor::new(&base);
    visitor.sign_in("Ada", false).await;
    let (_, page) = visitor.get("/code").await;
    assert!(page.contains("You are already signed in."), "{page}");
    assert!(!page.contains("expired"), "{page}");
    // A code used once, replayed with the cookie from before.
    let visitor = Visitor::new(&base);
    let code = start_sign_in(&visitor).await;
    let before = visitor.jar.get("demo").unwrap();
    visitor.post("/code", &[("code", &code)]).await;
    let replay = Visitor::new(&base);
    replay.jar.set("demo", &before);
    let (_, page) = replay.post("/code", &[("code", &code)]).await;
    assert!(page.contains("That code was already used"), "{page}");
    // No sign-in started at all.
    let (_, page) = Visitor::new(&base).get("/code").await;
    assert!(page.contains("Enter your name to get a code"), "{page}");
    // An error is styled as one; good news is not.
    let (_, page) = Visitor::new(&base).post("/sign-in", &[("user", "")]).await;
    assert!(page.contains(r#"class="alert""#), "{page}");
    let (_, page) = visitor.get("/").await;
    assert!(!page.contains(r#"class="alert""#), "{page}");
}

async fn the_code_expires_on_its_own(framework: Framework) {
    let clock = clock();
    let visitor = Visitor::new(&cookie_app(framework, Keys::new(Key::generate()), &clock).await);
    let (_, code_page) = visitor.post("/sign-in", &[("user", "Ada")]).await;
    let code = code_of(&code_page);
    clock.advance(Duration::from_secs(10 * 60));
    let (status, home) = visitor.post("/code", &[("code", &code)]).await;
    assert_eq!(status, 200);
    assert!(home.contains("That code expired"), "{home}");
    assert!(!home.contains("Signed in"));
}

async fn a_tampered_cookie_gives_a_fresh_session_not_an_error(framework: Framework) {
    let clock = clock();
    let visitor = Visitor::new(&cookie_app(framework, Keys::new(Key::generate()), &clock).await);
    visitor.sign_in("Ada", false).await;
    let mut value = visitor.jar.get("demo").unwrap();
    let at = value.len() / 2;
    let flipped = if &value[at..=at] == "A" { "B" } else { "A" };
    value.replace_range(at..=at, flipped);
    visitor.jar.set("demo", &value);
    let (status, home) = visitor.get("/").await;
    assert_eq!(status, 200);
    assert!(home.contains("Send me a code"), "signed out, not an error page");
    // The refused cookie was cleared, so it is not sent again.
    assert_eq!(visitor.jar.get("demo"), None);
}

async fn rotating_the_key_mid_visit_signs_nobody_out(framework: Framework) {
    let clock = clock();
    let old = Key::generate();
    let visitor = Visitor::new(&cookie_app(framework, Keys::new(old.clone()), &clock).await);
    visitor.sign_in("Ada", false).await;
    let before = visitor.jar.get("demo").unwrap();

    // A deploy: a new server with a new primary key, the old one kept as a fallback.
    let rotated = cookie_app(framework, Keys::new(Key::generate()).with_fallback(old), &clock).await;
    let visitor = Visitor {
        base: rotated,
        ..visitor
    };
    let (_, home) = visitor.get("/").await;
    assert!(home.contains("Signed in as <b>Ada</b>"), "{home}");
    assert_ne!(
        visitor.jar.get("demo").unwrap(),
        before,
        "re-sealed with the new key"
    );
}

async fn on_the_file_store_sign_in_moves_the_session_to_a_new_id(framework: Framework) {
    let dir = TempDir::new(&format!("demo-e2e-{framework:?}"));
    let clock = clock();
    let store = FileStore::open(&dir.0, Keys::new(Key::generate()))
        .unwrap()
        .with_clock(clock.clone());
    let visitor = Visitor::new(&serve(framework, store.clone(), store).await);
    visitor.post("/sign-in", &[("user", "Ada")]).await;
    let before_sign_in = visitor.jar.get("demo").unwrap();
    visitor.sign_in("Ada", false).await;
    let after_sign_in = visitor.jar.get("demo").unwrap();
    assert_ne!(before_sign_in, after_sign_in, "a new id after sign-in");
    let (_, home) = visitor.get("/").await;
    assert!(home.contains("Signed in as <b>Ada</b>"));

    // The id from before sign-in (which an attacker may have planted) no longer works.
    let attacker = Visitor::new(&visitor.base);
    attacker.jar.set("demo", &before_sign_in);
    let (status, page) = attacker.get("/").await;
    assert_eq!(status, 200);
    assert!(page.contains("Send me a code"));
}

async fn unknown_pages_and_methods_get_pages_of_the_demo(framework: Framework) {
    let clock = clock();
    let base = cookie_app(framework, Keys::new(Key::generate()), &clock).await;
    let visitor = Visitor::new(&base);
    let (status, page) = visitor.get("/no-such-page").await;
    assert_eq!(status, 404);
    assert!(
        page.contains("<h1>Not found</h1>") && page.contains(r#"href="/""#),
        "{page}"
    );
    let response = visitor
        .client
        .delete(format!("{base}/cart"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert!(response.text().await.unwrap().contains("<h1>Not allowed</h1>"));
}

async fn opened_over_plain_http_under_another_host_name_the_demo_says_why_nothing_works(
    framework: Framework,
) {
    let clock = clock();
    let base = cookie_app(framework, Keys::new(Key::generate()), &clock).await;
    let visitor = Visitor::new(&base);
    let port = base.rsplit(':').next().unwrap();
    let page_as = |host: String| {
        let request = visitor.client.get(format!("{base}/")).header("host", host);
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    let page = page_as(format!("demo.example:{port}")).await;
    assert!(page.contains("cookies only over HTTPS or on localhost"), "{page}");
    for loopback in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ] {
        assert!(!page_as(loopback).await.contains("over HTTPS"));
    }
    let behind_tls = visitor
        .client
        .get(format!("{base}/"))
        .header("host", "demo.example")
        .header("x-forwarded-proto", "https");
    assert!(
        !behind_tls
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("over HTTPS")
    );
}

/// The session files under `dir`: not its lock files.
fn session_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir() && !path.ends_with("locks"))
        .map(|shard| std::fs::read_dir(shard).unwrap().count())
        .sum()
}

#[tokio::test]
async fn on_the_file_store_anonymous_visits_leave_no_file_for_good() {
    let dir = TempDir::new("demo-sweep");
    let clock = clock();
    let store = FileStore::open(&dir.0, Keys::new(Key::generate()))
        .unwrap()
        .with_clock(clock.clone());
    // As the demo runs it: the app, and the store's sweeper beside it.
    let sweeper = store.spawn_sweeper(Duration::from_millis(10)).unwrap();
    let app = sessions_examples::app(store.clone(), store);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    for _ in 0..3 {
        // Opening the code page without a sign-in leaves a message, in a session of its own.
        let (status, page) = Visitor::new(&base).get("/code").await;
        assert_eq!(status, 200);
        assert!(page.contains("Send me a code"));
    }
    assert_eq!(session_files(&dir.0), 3);

    clock.advance(Duration::from_secs(31 * 24 * 3600)); // past every lifetime, by the store's clock
    // The sweeper runs on its own thread: wait for its effect, a bounded number of times.
    let mut left = session_files(&dir.0);
    for _ in 0..500 {
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        left = session_files(&dir.0);
    }
    assert_eq!(left, 0, "the demo's sweeper did not remove the expired sessions");
    drop(sweeper);
}

async fn on_the_sqlite_store_the_demo_signs_in_and_out(framework: Framework) {
    let dir = TempDir::made(&format!("demo-sqlite-{framework:?}"));
    let store = sessions::store::SqliteStore::open(dir.0.join("demo.db"), Key::generate())
        .await
        .unwrap()
        .with_clock(clock());
    let visitor = Visitor::new(&serve(framework, store.clone(), store).await);
    visitor.post("/sign-in", &[("user", "Ada")]).await;
    let before_sign_in = visitor.jar.get("demo").unwrap();
    let home = visitor.sign_in("Ada", false).await;
    assert!(home.contains("Signed in as <b>Ada</b>"));
    assert_ne!(
        visitor.jar.get("demo").unwrap(),
        before_sign_in,
        "a new id after sign-in"
    );
    let (_, page) = visitor.post("/sign-out", &[]).await;
    assert!(page.contains("You have been signed out."), "{page}");
}

const FIREFOX_ON_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";
const SAFARI_ON_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
const CHROME_ON_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

fn signed_in_as(page: &str, user: &str) -> bool {
    page.contains(&format!("Signed in as <b>{user}</b>"))
}

/// The handle in the "Sign out this one" form of the session on `device`, on the sessions page.
fn handle_of(page: &str, device: &str) -> String {
    let after = &page[page.find(device).expect("the device is listed")..];
    let start = after.find(r#"name="handle" value=""#).expect("a form to end it") + 21;
    after[start..start + 22].to_owned()
}

/// On a store that lists sessions: a user signed in on three devices sees them all on
/// `/sessions` (their own marked, each named from its `User-Agent`, those signed in without
/// "remember me" as ending with their browser), ends one, whose next page is signed out, then all
/// but their own, after which "Sign out everywhere else" is not offered; another user is not
/// touched, and a handle sent as a cookie is refused.
async fn a_user_lists_and_ends_their_sessions(base: &str, (ada, bob_name): (&str, &str)) {
    let laptop = Visitor::on(base, FIREFOX_ON_LINUX);
    let phone = Visitor::on(base, SAFARI_ON_IPHONE);
    let desktop = Visitor::on(base, CHROME_ON_WINDOWS);
    let bob = Visitor::on(base, FIREFOX_ON_LINUX);
    for (visitor, remember) in [(&laptop, true), (&phone, false), (&desktop, false)] {
        assert!(signed_in_as(&visitor.sign_in(ada, remember).await, ada));
    }
    bob.sign_in(bob_name, false).await;

    let (status, page) = laptop.get("/sessions").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("You are signed in on 3 devices"), "{page}");
    assert!(page.contains("<b>Firefox on Linux</b>"), "{page}");
    assert!(page.contains("<b>This device</b>"), "{page}");
    assert_eq!(
        page.matches("<br>ends by ").count(),
        1,
        "the remembered one's end: {page}"
    );
    assert_eq!(
        page.matches("<br>ends when its browser closes, or if unused, by ")
            .count(),
        2,
        "the others': {page}"
    );
    assert!(page.contains("Sign out everywhere else"), "{page}");
    assert!(page.contains("<b>Safari on iPhone</b>") && page.contains("<b>Chrome on Windows</b>"));
    let phone_handle = handle_of(&page, "Safari on iPhone");

    let attacker = Visitor::new(base);
    attacker.jar.set("demo", &phone_handle);
    let (status, page) = attacker.get("/").await;
    assert_eq!(status, 200);
    assert!(page.contains("Send me a code"), "a handle is no cookie");

    let (_, page) = laptop.post("/sessions/end", &[("handle", &phone_handle)]).await;
    assert!(page.contains("That device is signed out."), "{page}");
    assert!(page.contains("You are signed in on 2 devices"), "{page}");
    assert!(
        !signed_in_as(&phone.get("/").await.1, ada),
        "the phone is signed out"
    );
    let (_, page) = laptop.post("/sessions/end", &[("handle", &phone_handle)]).await;
    assert!(page.contains("That session had already ended."), "{page}");

    let (_, page) = laptop.post("/sessions/end-others", &[]).await;
    assert!(page.contains("You are signed out everywhere else."), "{page}");
    assert!(page.contains("You are signed in on 1 device:"), "{page}");
    assert!(!page.contains("Sign out everywhere else"), "nowhere else: {page}");
    assert!(page.contains(r#"<a href="/">Back</a>"#), "{page}");
    assert!(!signed_in_as(&desktop.get("/").await.1, ada));
    assert!(signed_in_as(&laptop.get("/").await.1, ada));
    assert!(signed_in_as(&bob.get("/").await.1, bob_name));

    let (_, page) = bob.post("/sign-out", &[]).await;
    assert!(page.contains("You have been signed out."));
    let (_, page) = bob.get("/sessions").await;
    assert!(page.contains("Sign in to see where you are signed in."), "{page}");
}

async fn on_the_memory_store_a_user_lists_and_ends_their_sessions(framework: Framework) {
    let store = sessions::store::MemoryStore::new(Key::generate());
    a_user_lists_and_ends_their_sessions(&serve(framework, store.clone(), store).await, ("Ada", "Bob")).await;
}

async fn on_the_file_store_a_user_lists_and_ends_their_sessions(framework: Framework) {
    let dir = TempDir::new(&format!("demo-owners-{framework:?}"));
    let store = FileStore::open(&dir.0, Key::generate()).unwrap();
    a_user_lists_and_ends_their_sessions(&serve(framework, store.clone(), store).await, ("Ada", "Bob")).await;
}

async fn on_the_sqlite_store_a_user_lists_and_ends_their_sessions(framework: Framework) {
    let dir = TempDir::made(&format!("demo-owners-sqlite-{framework:?}"));
    let store = sessions::store::SqliteStore::open(dir.0.join("demo.db"), Key::generate())
        .await
        .unwrap();
    a_user_lists_and_ends_their_sessions(&serve(framework, store.clone(), store).await, ("Ada", "Bob")).await;
}

/// A test `$name`: [`on_one_database_with_each_framework`] on a `$server` of its own, its stores
/// opened by `$connect` (given the server's URL), under the attribute `$attr`.
macro_rules! on_a_server_of_its_own {
    ($name:ident: $server:ty, $connect:expr, #[$attr:meta]) => {
        #[tokio::test]
        #[$attr]
        async fn $name() {
            let server = <$server>::start("demo-owners");
            on_one_database_with_each_framework(&server.url(), $connect).await;
        }
    };
}

on_a_server_of_its_own!(
    on_the_redis_store_a_user_lists_and_ends_their_sessions: sessions_tests::RedisServer,
    async |url: &str| RedisStore::connect(url, RedisOptions::default(), Key::generate()).await,
    #[cfg_attr(not(redis_server), ignore = "redis-server is not on the PATH")]
);
on_a_server_of_its_own!(
    on_the_postgres_store_a_user_lists_and_ends_their_sessions: sessions_tests::PostgresServer,
    async |url: &str| PostgresStore::connect(url, Key::generate()).await,
    #[cfg_attr(not(postgres_server), ignore = "initdb and postgres were not found")]
);
on_a_server_of_its_own!(
    on_the_mysql_store_a_user_lists_and_ends_their_sessions: sessions_tests::MySqlServer,
    async |url: &str| MySqlStore::connect(url, Key::generate()).await,
    #[cfg_attr(not(mysql_server), ignore = "mariadbd and mariadb-install-db not found")]
);

/// [`a_user_lists_and_ends_their_sessions`] with each framework in turn, on stores `connect` opens
/// on the database at `url` (a server of its own is slow to start): the users differ by framework.
async fn on_one_database_with_each_framework<St: Store + Clone, E: std::fmt::Debug>(
    url: &str,
    connect: impl AsyncFn(&str) -> Result<St, E>,
) {
    for framework in [Framework::Axum, Framework::Actix] {
        let store = connect(url).await.expect("the store connects");
        let users = (
            &*format!("Ada on {framework:?}"),
            &*format!("Bob on {framework:?}"),
        );
        a_user_lists_and_ends_their_sessions(&serve(framework, store.clone(), store).await, users).await;
    }
}

/// On the cookie store (with revocations): the page says it cannot list sessions and shows this
/// browser's; "sign out everywhere else" signs the other devices out, and not this one.
async fn on_the_cookie_store_a_user_signs_out_everywhere_else(framework: Framework) {
    let clock = clock();
    let store = CookieStore::new(Key::generate())
        .with_clock(clock.clone())
        .with_revocations(sessions::store::backend::MemoryRevocations::new());
    let base = serve(framework, store.clone(), store).await;
    let laptop = Visitor::on(&base, FIREFOX_ON_LINUX);
    let phone = Visitor::on(&base, SAFARI_ON_IPHONE);
    laptop.sign_in("Ada", false).await;
    phone.sign_in("Ada", false).await;
    clock.advance(Duration::from_secs(60));

    let (status, page) = laptop.get("/sessions").await;
    assert_eq!(status, 200);
    assert!(page.contains("cannot list"), "{page}");
    assert!(page.contains("Firefox on Linux"), "{page}");
    assert!(page.contains(r#"<a href="/">Back</a>"#), "a way back: {page}");
    let (_, page) = laptop.post("/sessions/end-others", &[]).await;
    assert!(page.contains("You are signed out everywhere else."), "{page}");
    assert!(!signed_in_as(&phone.get("/").await.1, "Ada"));
    assert!(signed_in_as(&laptop.get("/").await.1, "Ada"));
    clock.advance(Duration::from_secs(60));
    assert!(
        signed_in_as(&laptop.get("/").await.1, "Ada"),
        "and stays signed in"
    );
}

on_each_framework!(
    on_the_memory_store_a_user_lists_and_ends_their_sessions,
    on_the_file_store_a_user_lists_and_ends_their_sessions,
    on_the_sqlite_store_a_user_lists_and_ends_their_sessions,
    on_the_cookie_store_a_user_signs_out_everywhere_else,
);

on_each_framework!(
    sign_in_shows_the_flash_once_and_sets_a_secure_cookie,
    remember_me_makes_the_cookie_persistent,
    the_cart_lives_in_its_own_cookie_across_requests_and_sign_out,
    replaying_the_cookie_from_before_wrong_codes_gives_no_more_guesses,
    concurrent_wrong_codes_count_against_one_limit(flavor = "multi_thread", worker_threads = 4),
    a_wrong_guess_does_not_give_the_code_more_time,
    each_outcome_has_its_own_message_and_errors_look_like_errors,
    the_code_expires_on_its_own,
    a_tampered_cookie_gives_a_fresh_session_not_an_error,
    rotating_the_key_mid_visit_signs_nobody_out,
    on_the_file_store_sign_in_moves_the_session_to_a_new_id,
    unknown_pages_and_methods_get_pages_of_the_demo,
    opened_over_plain_http_under_another_host_name_the_demo_says_why_nothing_works,
    on_the_sqlite_store_the_demo_signs_in_and_out,
);

/// With the session store down, the demo answers with its own page, not the layer's plain text:
/// it says nobody was signed out, and how to try again (the same page for a GET; from the start
/// for a form, which was not saved); once the store is back, the visitor is still signed in.
async fn a_store_outage_is_a_page_with_a_way_to_try_again(framework: Framework) {
    use std::sync::atomic::Ordering;

    let backend = Arc::new(sessions_tests::Watched::default());
    let store = sessions::store::ServerStore::with_backend(Arc::clone(&backend), Key::generate());
    let base = serve(framework, store.clone(), store).await;
    let visitor = Visitor::new(&base);
    assert!(signed_in_as(&visitor.sign_in("Ada", false).await, "Ada"));

    backend.down.store(true, Ordering::SeqCst);
    let (status, page) = visitor.get("/sessions").await;
    assert_eq!(status, 503, "{page}");
    assert!(
        page.contains("<title>") && page.contains("nobody was signed out"),
        "{page}"
    );
    assert!(page.contains(r#"<a href="/sessions">Try again</a>"#), "{page}");
    let (status, page) = visitor.post("/cart", &[("item", "tea")]).await;
    assert_eq!(status, 503, "{page}");
    assert!(page.contains("What you sent was not saved"), "{page}");
    assert!(page.contains(r#"<a href="/">go back to the start</a>"#), "{page}");

    backend.down.store(false, Ordering::SeqCst);
    assert!(signed_in_as(&visitor.get("/").await.1, "Ada"));
}

on_each_framework!(a_store_outage_is_a_page_with_a_way_to_try_again);

//! The demo in a real browser: headless Chromium through chromedriver (Debian's `chromium` and
//! `chromium-driver`), walked as a visitor would. Ignored, with the reason, where they are missing;
//! CI installs them and requires them (`SESSIONS_REQUIRE_BROWSER=1`).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use sessions::store::MemoryStore;
use sessions::{CookieStore, Key, Keys, Store};

/// A chromedriver on a loopback port it picked itself, stopped when dropped. (A port picked here
/// and handed to it could be handed to another test's chromedriver too; two of them on one port
/// failed a CI run.)
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Self {
        use std::io::{BufRead as _, BufReader};
        // Made first, so that a panic below still stops the process (`Drop`).
        let mut driver = Self {
            child: Command::new("chromedriver")
                .arg("--port=0")
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver was on the PATH when the tests were built"),
            port: 0,
        };
        let stdout = driver.child.stdout.take().expect("piped");
        let mut lines = BufReader::new(stdout).lines();
        let mut said = String::new();
        while let Some(line) = lines.next() {
            let line = line.expect("chromedriver's output");
            if let Some(port) = line
                .strip_prefix("ChromeDriver was started successfully on port ")
                .and_then(|rest| rest.trim_end_matches('.').parse().ok())
            {
                driver.port = port;
                // Whatever it says later is read too, so that it never writes into a closed pipe.
                std::thread::spawn(move || lines.for_each(drop));
                return driver;
            }
            said.push_str(&line);
            said.push('\n');
        }
        panic!("chromedriver did not start: {said}");
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium with its own profile in `profile`: starting another one on the same profile
/// is a browser restart, which keeps persistent cookies and drops browser-session ones.
async fn browser(driver: &Driver, profile: &std::path::Path) -> Client {
    let options = serde_json::json!({
        "binary": "/usr/bin/chromium",
        "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--disable-quic",
            format!("--user-data-dir={}", profile.display()),
        ],
    });
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), options);
    let mut builder = ClientBuilder::new(HttpConnector::new());
    builder.capabilities(capabilities);
    let webdriver = format!("http://127.0.0.1:{}", driver.port);
    // Starting a browser can fail for reasons of the machine, not of the demo: tried three times.
    let mut last = None;
    for _ in 0..3 {
        match builder.connect(&webdriver).await {
            Ok(client) => return client,
            Err(error) => last = Some(error),
        }
    }
    panic!("no Chromium session: {last:?}");
}

/// Ends the browser and waits until it has exited and released its profile (with its cookies
/// written), as a person's browser has when it is started again.
async fn quit(browser: Client, profile: &std::path::Path) {
    browser.close().await.unwrap();
    let lock = profile.join("SingletonLock");
    for _ in 0..500 {
        if std::fs::symlink_metadata(&lock).is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("Chromium did not release its profile");
}

/// The demo on the cookie store, on a free loopback port, served with axum or (`actix`) actix-web.
async fn serve_demo(actix: bool) -> String {
    serve_demo_on(actix, CookieStore::new(Keys::new(Key::generate()))).await
}

/// The demo on `store`, on a free loopback port, served with axum or (`actix`) actix-web.
async fn serve_demo_on(actix: bool, store: impl Store + Clone) -> String {
    if actix {
        let address = sessions_examples::actix_app::spawn(store.clone(), store).unwrap();
        return format!("http://{address}");
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, sessions_examples::app(store.clone(), store))
            .await
            .unwrap()
    });
    format!("http://{address}")
}

async fn text(browser: &Client) -> String {
    browser
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Clicks the button showing `label`, in whichever form holds it, and waits for the next page: until
/// the page it was on has gone (its `main` is stale), then for the new one's `main`.
async fn click(browser: &Client, label: &str) {
    let before = browser.find(Locator::Css("main")).await.unwrap();
    let xpath = format!("//button[normalize-space()='{label}']");
    browser
        .find(Locator::XPath(&xpath))
        .await
        .unwrap_or_else(|_| panic!("a `{label}` button"))
        .click()
        .await
        .unwrap();
    let mut left = false;
    for _ in 0..500 {
        if before.text().await.is_err() {
            left = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(left, "clicking `{label}` did not lead to another page");
    browser.wait().for_element(Locator::Css("main")).await.unwrap();
}

/// Signs in as `user` through the code the demo shows; returns the page it lands on.
async fn sign_in(browser: &Client, user: &str, remember: bool) -> String {
    let name = browser.find(Locator::Css("input[name=user]")).await.unwrap();
    name.send_keys(user).await.unwrap();
    if remember {
        let checkbox = browser.find(Locator::Css("input[name=remember]")).await.unwrap();
        checkbox.click().await.unwrap();
    }
    click(browser, "Send me a code").await;
    let code = browser
        .find(Locator::Css("#code"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let field = browser.find(Locator::Css("input[name=code]")).await.unwrap();
    field.send_keys(&code).await.unwrap();
    click(browser, "Sign in").await;
    text(browser).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(browser), ignore = "chromium or chromedriver not on the PATH")]
async fn a_visit_in_a_real_browser_on_axum() {
    a_visit_in_a_real_browser(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(browser), ignore = "chromium or chromedriver not on the PATH")]
async fn a_visit_in_a_real_browser_on_actix() {
    a_visit_in_a_real_browser(true).await;
}

/// Cart, sign-in with the code, flash, browser restarts with and without "remember me", sign-out.
async fn a_visit_in_a_real_browser(actix: bool) {
    let driver = Driver::start();
    let base = serve_demo(actix).await;
    let profile = profile(if actix { "visit-actix" } else { "visit-axum" });

    let visit = browser(&driver, &profile).await;
    visit.goto(&base).await.unwrap();
    // The cart first, then sign-in with the code: the flash shows once.
    click(&visit, "Add tea").await;
    click(&visit, "Add cake").await;
    let home = sign_in(&visit, "Ada", false).await;
    assert!(home.contains("Welcome, Ada!"), "{home}");
    assert!(home.contains("Signed in as Ada"), "{home}");
    visit.refresh().await.unwrap();
    let home = text(&visit).await;
    assert!(!home.contains("Welcome"), "the flash is shown once: {home}");
    assert!(home.contains("Cart (2)"), "the cart across reloads: {home}");
    quit(visit, &profile).await;

    // A browser restart: the plain sign-in was a browser-session cookie, the cart a persistent one.
    let visit = browser(&driver, &profile).await;
    visit.goto(&base).await.unwrap();
    let home = text(&visit).await;
    assert!(
        home.contains("Send me a code"),
        "signed out by the restart: {home}"
    );
    assert!(home.contains("Cart (2)"), "{home}");
    let home = sign_in(&visit, "Ada", true).await;
    assert!(home.contains("Signed in as Ada"), "{home}");
    quit(visit, &profile).await;

    // With "remember me", the sign-in survives a restart; signing out says so.
    let visit = browser(&driver, &profile).await;
    visit.goto(&base).await.unwrap();
    let home = text(&visit).await;
    assert!(home.contains("Signed in as Ada"), "remembered: {home}");
    click(&visit, "Sign out").await;
    let home = text(&visit).await;
    assert!(home.contains("You have been signed out."), "{home}");
    assert!(home.contains("Send me a code"), "{home}");
    quit(visit, &profile).await;
    let _ = std::fs::remove_dir_all(&profile);
}

/// A fresh profile directory for one browser.
fn profile(name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "sessions-browser-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let _ = std::fs::remove_dir_all(&path);
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(browser), ignore = "chromium or chromedriver not on the PATH")]
async fn where_you_are_signed_in_in_two_real_browsers() {
    let driver = Driver::start();
    let base = serve_demo_on(false, MemoryStore::new(Key::generate())).await;
    let (first_profile, second_profile) = (profile("first"), profile("second"));
    let first = browser(&driver, &first_profile).await;
    let second = browser(&driver, &second_profile).await;
    for visit in [&first, &second] {
        visit.goto(&base).await.unwrap();
        assert!(sign_in(visit, "Ada", false).await.contains("Signed in as Ada"));
    }

    first.goto(&format!("{base}/sessions")).await.unwrap();
    let page = text(&first).await;
    assert!(page.contains("You are signed in on 2 devices"), "{page}");
    assert!(
        page.contains("Chrome on Linux"),
        "named from the browser's User-Agent: {page}"
    );
    assert!(page.contains("This device"), "{page}");
    click(&first, "Sign out this one").await;
    let page = text(&first).await;
    assert!(page.contains("That device is signed out."), "{page}");
    assert!(page.contains("You are signed in on 1 device"), "{page}");
    assert!(
        !page.contains("Sign out everywhere else"),
        "nowhere else to sign out of: {page}"
    );

    second.refresh().await.unwrap();
    let page = text(&second).await;
    assert!(
        page.contains("Send me a code"),
        "the other browser is signed out: {page}"
    );
    assert!(sign_in(&second, "Ada", false).await.contains("Signed in as Ada"));
    first.refresh().await.unwrap();
    assert!(text(&first).await.contains("You are signed in on 2 devices"));
    click(&first, "Sign out everywhere else").await;
    assert!(text(&first).await.contains("You are signed out everywhere else."));
    second.refresh().await.unwrap();
    assert!(text(&second).await.contains("Send me a code"));
    first.goto(&base).await.unwrap();
    assert!(text(&first).await.contains("Signed in as Ada"));

    quit(first, &first_profile).await;
    quit(second, &second_profile).await;
    let _ = std::fs::remove_dir_all(&first_profile);
    let _ = std::fs::remove_dir_all(&second_profile);
}

//! Tests that need a second process: a writer that saves alongside the test's own, or one killed
//! with SIGKILL mid-save. The test binary starts itself again to run its ignored `child` test, which
//! reads its [`Orders`] and does nothing when started any other way.

use std::ffi::OsStr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sessions::{Key, Keys, Session, Store};

use crate::Browser;

/// The key every process of a cross-process test opens its store with.
pub fn shared_keys() -> Keys {
    let bytes: Vec<u8> = (0u8..32).map(|i| i.wrapping_mul(29).wrapping_add(7)).collect();
    Keys::new(Key::from_bytes(&bytes).expect("32 bytes"))
}

/// What a child process is told to do.
#[derive(Debug)]
pub struct Orders {
    /// Where the store lives: a directory, a database file or URL.
    pub place: String,
    /// What to do, for a test binary with more than one kind of child.
    pub role: String,
    /// One browser per session the parent made, each holding its cookie `sid`.
    pub browsers: Vec<Browser>,
}

impl Orders {
    /// The orders this process was started with, or `None` when a test run (not a parent) started
    /// it: the `child` test then returns at once.
    pub fn read() -> Option<Self> {
        let place = std::env::var("SESSIONS_CHILD_PLACE").ok()?;
        let read = |name| std::env::var(name).expect("set beside SESSIONS_CHILD_PLACE");
        let browsers = read("SESSIONS_CHILD_COOKIES")
            .split(' ')
            .map(|value| {
                let mut browser = Browser::default();
                browser.set("sid", value);
                browser
            })
            .collect();
        Some(Self {
            place,
            role: read("SESSIONS_CHILD_ROLE"),
            browsers,
        })
    }
}

/// Runs this test binary's `child` test in another process, ordered to do `role` on the store at
/// `place` with the sessions whose `sid` cookies are `cookies`; its stdout is dropped.
pub fn spawn_child(place: &OsStr, role: &str, cookies: &[String]) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "child", "--nocapture", "--test-threads=1"])
        .env("SESSIONS_CHILD_PLACE", place)
        .env("SESSIONS_CHILD_ROLE", role)
        .env("SESSIONS_CHILD_COOKIES", cookies.join(" "))
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

/// The `sid` cookie of each browser, for [`spawn_child`].
pub fn cookies_of(browsers: &[Browser]) -> Vec<String> {
    browsers
        .iter()
        .map(|browser| browser.cookie("sid").expect("a session cookie").to_owned())
        .collect()
}

/// What the killed writer rewrites: every field to one round number, so a torn save would show.
#[derive(Session, Default, Debug)]
#[session(cookie = "sid", max_age = "1d")]
pub struct Rounds {
    /// The round that wrote it.
    pub a: u64,
    /// The same round.
    pub b: u64,
    /// The same round, many times: a record of some size.
    pub c: Vec<u64>,
    /// `round N`.
    pub note: String,
}

/// The body of a killed-writer test's `child` test: when started by [`spawn_child`], opens the
/// store at the place it was ordered to (`open`) and [`rewrite_until_killed`]; otherwise nothing.
pub fn write_when_ordered<S: Store>(open: impl AsyncFnOnce(&str) -> S) {
    let Some(orders) = Orders::read() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
    runtime.unwrap().block_on(async {
        let store = open(&orders.place).await;
        rewrite_until_killed(&store, &orders.browsers).await
    });
}

/// In the child: rewrites every session of `browsers`, round after round, until it is killed.
pub async fn rewrite_until_killed(store: &impl Store, browsers: &[Browser]) {
    for round in 1.. {
        for browser in browsers {
            let mut session = browser.load::<Rounds>(store).await;
            session.a = round;
            session.b = round;
            session.c = vec![round; 50];
            session.note = format!("round {round}");
            store
                .save(&mut session, &mut http::HeaderMap::new())
                .await
                .unwrap();
        }
    }
}

/// In the parent: `kills` times, starts a writer (a child running [`rewrite_until_killed`]) with
/// `spawn`, kills it after a while that varies from round to round (early, mid-write, mid-commit),
/// and checks on the store `reopened` gives (as after a crash) that every session of `browsers` is
/// whole: one round in every field, never torn, never lost.
pub async fn every_session_survives_a_killed_writer<S: Store>(
    browsers: &[Browser],
    kills: u64,
    spawn: impl Fn() -> Child,
    reopened: impl AsyncFn(u64) -> S,
) {
    let mut highest = 0;
    for kill in 0..kills {
        let mut writer = spawn();
        std::thread::sleep(Duration::from_millis(30 + kill * 7 % 60));
        writer.kill().unwrap();
        writer.wait().unwrap();
        let store = reopened(kill).await;
        for (n, browser) in browsers.iter().enumerate() {
            let session = browser.load::<Rounds>(&store).await;
            assert_eq!(
                session.origin(),
                sessions::session::Origin::Restored,
                "session {n} after kill {kill}"
            );
            let round = session.a;
            assert!(
                session.b == round && session.c.iter().all(|&c| c == round),
                "session {n} is torn after kill {kill}: {session:?}"
            );
            assert!(
                round == 0 || session.note == format!("round {round}"),
                "session {n} after kill {kill}: {session:?}"
            );
            highest = highest.max(round);
        }
    }
    assert!(
        highest > 0,
        "the writer never got to write; the test proved nothing"
    );
}

/// `count` sessions for a writer to rewrite, made on `store`.
pub async fn sessions_to_rewrite(store: &impl Store, count: usize) -> Vec<Browser> {
    let mut browsers = Vec::new();
    for n in 0..count {
        let mut browser = Browser::default();
        let mut session = browser.load::<Rounds>(store).await;
        session.note = format!("session {n}");
        browser.save(store, &mut session).await;
        browsers.push(browser);
    }
    browsers
}

//! Every duration form: seconds, minutes, hours, days, and a bare integer of seconds.
use sessions::Session;
use std::time::Duration;

#[derive(Session, Default)]
#[session(max_age = 86400, idle_timeout = "90m")]
struct AppSession {
    #[max_age("90s")]
    a: Option<String>,
    #[max_age("10m")]
    b: Option<String>,
    #[max_age("2h")]
    c: Option<String>,
    #[max_age("1d")]
    d: Option<String>,
    #[max_age = 30]
    e: Option<String>,
}

#[test]
fn compiles_and_runs() {
    let ages: Vec<_> = AppSession::FIELDS
        .iter()
        .map(|f| f.lifetime().unwrap().as_secs())
        .collect();
    assert_eq!(ages, [90, 600, 7200, 86_400, 30]);
    assert_eq!(
        AppSession::CONFIG.lifetime().max_age(),
        Duration::from_secs(86_400)
    );
    assert_eq!(
        AppSession::CONFIG.lifetime().idle_timeout(),
        Some(Duration::from_secs(5400))
    );
}

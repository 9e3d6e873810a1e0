//! Every `#[session(...)]` option at once, and each one's effect on the generated config.
use sessions::Session;
use sessions::config::{Protection, SameSite};
use std::time::Duration;

#[derive(Session, Default)]
#[session(
    cookie = "__Secure-app",
    max_age = "30d",
    idle_timeout = "2h",
    session_only,
    path = "/app",
    domain = "example.com",
    secure,
    http_only = false,
    same_site = "none",
    partitioned,
    signed
)]
struct AppSession {
    user_id: Option<u64>,
}

#[test]
fn compiles_and_runs() {
    let config = AppSession::CONFIG;
    let cookie = config.cookie();
    assert_eq!(cookie.name(), "__Secure-app");
    assert_eq!(cookie.path(), "/app");
    assert_eq!(cookie.domain(), Some("example.com"));
    assert!(cookie.secure());
    assert!(!cookie.http_only());
    assert_eq!(cookie.same_site(), SameSite::None);
    assert!(cookie.partitioned());
    assert_eq!(config.lifetime().max_age(), Duration::from_secs(30 * 86_400));
    assert_eq!(config.lifetime().idle_timeout(), Some(Duration::from_secs(7200)));
    assert!(config.lifetime().session_only());
    assert_eq!(config.protection(), Protection::Signed);
    assert_eq!(config.type_name(), "AppSession");
}

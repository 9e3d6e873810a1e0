//! With no options: the struct's name in snake_case, and the secure defaults.
use sessions::Session;
use sessions::config::{Config, Protection, SameSite};

#[derive(Session, Default)]
struct HTTPSession {
    user_id: Option<u64>,
}

#[test]
fn compiles_and_runs() {
    let config = HTTPSession::CONFIG;
    assert_eq!(config.cookie().name(), "http_session");
    assert_eq!(config.cookie().path(), "/");
    assert_eq!(config.cookie().domain(), None);
    assert!(config.cookie().secure());
    assert!(config.cookie().http_only());
    assert_eq!(config.cookie().same_site(), SameSite::Lax);
    assert!(!config.cookie().partitioned());
    assert_eq!(config.lifetime().max_age(), Config::DEFAULT_MAX_AGE);
    assert_eq!(config.lifetime().idle_timeout(), None);
    assert!(!config.lifetime().session_only());
    assert_eq!(config.protection(), Protection::Sealed);
}

//! `secure = false` is allowed for plain-HTTP development, with the options that do not need it.
use sessions::Session;
use sessions::config::SameSite;

#[derive(Session, Default)]
#[session(
    cookie = "dev",
    secure = false,
    same_site = "strict",
    partitioned = false,
    signed = false
)]
struct DevSession {
    user_id: Option<u64>,
}

#[test]
fn compiles_and_runs() {
    assert!(!DevSession::CONFIG.cookie().secure());
    assert_eq!(DevSession::CONFIG.cookie().same_site(), SameSite::Strict);
    assert_eq!(
        DevSession::CONFIG.protection(),
        sessions::config::Protection::Sealed
    );
}

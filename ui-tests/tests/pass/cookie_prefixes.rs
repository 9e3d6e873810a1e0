//! Cookie prefixes done right compile, in any letter case: `Secure`, `HttpOnly` and `Path=/` are the
//! defaults, and a `__Secure-` cookie may name a domain and a path.
use sessions::Session;

#[derive(Session, Default)]
#[session(cookie = "__Host-app")]
struct Host {
    user_id: Option<u64>,
}

#[derive(Session, Default)]
#[session(cookie = "__host-app", path = "/", secure, http_only)]
struct HostLowercase {
    user_id: Option<u64>,
}

#[derive(Session, Default)]
#[session(
    cookie = "__Secure-app",
    domain = "example.com",
    path = "/shop",
    http_only = false
)]
struct SecureWithDomain {
    user_id: Option<u64>,
}

#[derive(Session, Default)]
#[session(cookie = "__Host-Http-app")]
struct HostHttp {
    user_id: Option<u64>,
}

#[test]
fn compiles_and_runs() {
    assert_eq!(Host::CONFIG.cookie().name(), "__Host-app");
    assert!(Host::CONFIG.cookie().secure());
    assert_eq!(HostLowercase::CONFIG.cookie().name(), "__host-app");
    assert_eq!(SecureWithDomain::CONFIG.cookie().domain(), Some("example.com"));
    assert!(HostHttp::CONFIG.cookie().http_only());
}

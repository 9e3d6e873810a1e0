//! The derive's output trips none of the lints an app may deny: rustc's stricter ones and clippy's
//! pedantic, nursery and restriction lints that generated code would otherwise trip (its absolute
//! paths, its `__sessions_` bindings, accessors the app never calls), whatever the app writes.
#![deny(
    warnings,
    missing_docs,
    unused_qualifications,
    unused_results,
    unreachable_pub,
    clippy::pedantic,
    clippy::nursery,
    clippy::absolute_paths,
    clippy::used_underscore_binding,
    clippy::used_underscore_items,
    clippy::missing_docs_in_private_items,
    clippy::std_instead_of_core,
    clippy::pattern_type_mismatch,
    clippy::shadow_reuse,
    clippy::min_ident_chars
)]

/// A session with every kind of field: an owner, a listed value, a flash message, a field of its
/// own lifetime.
#[derive(sessions::Session, Default, Debug)]
#[session(cookie = "strict", max_age = "1d")]
struct Strict {
    /// Who is signed in.
    #[owner]
    user: Option<u64>,
    /// Shown in the list of the owner's sessions.
    #[listed]
    device: String,
    /// Read once.
    #[flash]
    notice: Option<String>,
    /// Gone ten minutes after it was set.
    #[max_age("10m")]
    code: Option<u32>,
}

#[test]
fn compiles_and_runs() {
    let session = Strict::default();
    assert_eq!(session.code, None);
    assert!(session.user.is_none() && session.device.is_empty() && session.notice.is_none());
}

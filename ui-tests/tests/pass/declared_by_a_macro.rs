//! A session declared inside a `macro_rules!` macro compiles: the generated code does not take the
//! hygiene of the user's tokens for its own `self` and locals.
use sessions::Session;

macro_rules! session {
    ($name:ident { $($field:tt)* }) => {
        #[derive(Session, Default)]
        struct $name { $($field)* }
    };
}

session!(AppSession {
    #[owner]
    user_id: Option<u64>,
    #[listed]
    device: Option<String>,
    #[flash]
    notice: Option<String>,
    #[max_age("10m")]
    code: Option<u32>,
});

#[test]
fn compiles_and_runs() {
    let mut session = AppSession::default();
    session.flash_notice("hello".into());
    assert_eq!(session.take_notice().as_deref(), Some("hello"));
    assert_eq!(AppSession::FIELDS.len(), 4);
    assert!(session.owner().is_none());
    session.user_id = Some(7);
    assert!(session.owner().is_some());
}

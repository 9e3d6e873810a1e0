//! Flash fields of both kinds, spelled with paths too, one with its own max_age, with accessors of the
//! field's visibility.
mod session {
    use sessions::Session;

    #[derive(Session, Default)]
    #[session(session_only, max_age = "1d")]
    pub struct AppSession {
        #[flash]
        pub notice: Option<String>,
        #[flash]
        pub errors: std::vec::Vec<String>,
        #[flash]
        #[max_age("5m")]
        pub toast: ::core::option::Option<u32>,
        #[flash]
        private: Option<u8>,
    }

    impl AppSession {
        pub fn touch_private(&mut self) -> Option<u8> {
            self.flash_private(1);
            self.take_private()
        }
    }
}

use sessions::Session;

#[test]
fn compiles_and_runs() {
    let mut s = session::AppSession::default();
    s.flash_notice("saved".to_string());
    s.flash_errors("a".to_string());
    s.flash_errors("b".to_string());
    s.flash_toast(3);
    assert_eq!(s.take_notice().as_deref(), Some("saved"));
    assert_eq!(s.take_notice(), None);
    assert_eq!(s.take_errors(), ["a", "b"]);
    assert_eq!(s.take_toast(), Some(3));
    assert_eq!(s.touch_private(), Some(1));
    let flash: Vec<bool> = session::AppSession::FIELDS.iter().map(|f| f.is_flash()).collect();
    assert_eq!(flash, [true, true, true, true]);
}

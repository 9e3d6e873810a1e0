//! Generated code uses absolute paths only: shadowing prelude names next to a derived session under
//! `#![deny(warnings)]` changes nothing, and neither does a module without the prelude.
#![deny(warnings)]

// Unused on purpose: they only have to be in scope. The generated flash accessors are never called
// either, and must not warn.
#[allow(dead_code)]
struct Result;
#[allow(dead_code)]
struct Option;
#[allow(dead_code)]
struct Some;
#[allow(dead_code)]
struct Ok;
#[allow(dead_code)]
struct Err;
#[allow(dead_code)]
struct Vec;
#[allow(dead_code)]
struct Default;
#[allow(dead_code)]
struct Duration;
#[allow(dead_code)]
struct Config;

#[derive(sessions::Session, ::core::default::Default)]
#[session(max_age = "1d", idle_timeout = "1h")]
struct AppSession {
    #[flash]
    notice: ::core::option::Option<::std::string::String>,
    #[max_age("10m")]
    code: ::core::option::Option<u32>,
}

mod no_prelude {
    #![no_implicit_prelude]

    #[derive(::sessions::Session, ::core::default::Default)]
    pub(super) struct Bare {
        #[flash]
        items: ::std::vec::Vec<u32>,
    }
}

#[test]
fn compiles_and_runs() {
    let _ = AppSession::default();
    let _ = no_prelude::Bare::default();
}

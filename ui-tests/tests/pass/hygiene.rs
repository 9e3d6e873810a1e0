//! Generated code uses absolute paths only: shadowing prelude names next to a derived session under
//! `#![deny(warnings)]` changes nothing, and neither does a module without the prelude.
#![deny(warnings)]
#![allow(dead_code)]

struct Result;
struct Option;
struct Some;
struct Ok;
struct Err;
struct Vec;
struct Default;
struct Duration;
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
    struct Bare {
        #[flash]
        items: ::std::vec::Vec<u32>,
    }
}

fn main() {}

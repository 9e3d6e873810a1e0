//! A `Cookie` header, any bytes, through the load and save paths of the cookie store and of a
//! server-side store on the in-memory backend.
#![no_main]

use http::{HeaderMap, HeaderValue, header};
use libfuzzer_sys::fuzz_target;
use sessions::__fuzz::{NOW, envelope, ready};
use sessions::{CookieStore, Store};
use sessions::clock::ManualClock;
use sessions::store::MemoryStore;

mod golden;
use golden::{Golden, keys};

fuzz_target!(|bytes: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(bytes) else {
        return;
    };
    let mut request = HeaderMap::new();
    request.insert(header::COOKIE, value);
    let cookies = CookieStore::new(keys()).with_clock(ManualClock::at_unix(NOW));
    let server = MemoryStore::new(keys()).with_clock(ManualClock::at_unix(NOW));
    for_store(&cookies, &request);
    for_store(&server, &request);
    if let Ok(text) = std::str::from_utf8(bytes) {
        envelope::<Golden>(&keys(), text.trim_start_matches("golden="));
    }
});

fn for_store(store: &impl Store, request: &HeaderMap) {
    let mut session = ready(store.load::<Golden>(request)).expect("in-memory loads do not fail");
    session.cart.push(golden::Line::default());
    let _ = ready(store.save(&mut session, &mut HeaderMap::new()));
}

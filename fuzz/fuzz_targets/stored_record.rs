//! A server-side store's record, any plaintext sealed as the store seals it, through load and the
//! merge of the next save; whole and as a field entry.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod golden;

fuzz_target!(|bytes: &[u8]| {
    sessions::__fuzz::stored_record::<golden::Golden>(&golden::keys(), bytes);
});

//! The payload parser behind the seal: any bytes, as if they had opened from a valid seal.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod golden;

fuzz_target!(|bytes: &[u8]| {
    sessions::__fuzz::payload::<golden::Golden>(bytes);
});

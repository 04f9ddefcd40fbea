//! Arbitrary bytes as a script of packets, events and clock jumps for a
//! Backup and a Master `Instance` and a `Router`. See `vigil_fuzz::instance`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    vigil_fuzz::instance(data);
});

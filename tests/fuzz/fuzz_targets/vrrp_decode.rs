//! Arbitrary bytes as a VRRP message over IPv4 and IPv6: parse, accessors,
//! checksum, owned copy, re-encode round trip. See `vigil_fuzz::decode`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    vigil_fuzz::decode(data);
});

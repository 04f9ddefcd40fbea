//! Replays every seed and every regression input through the fuzz harnesses
//! on stable Rust: `cargo test` in tests/fuzz.

use std::fs;
use std::path::Path;

fn replay(dir: &str, target: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let Ok(entries) = fs::read_dir(&dir) else {
        return 0;
    };
    let mut n = 0;
    for e in entries.flatten() {
        let path = e.path();
        if !path.is_file() || path.extension().is_some_and(|x| x == "md") {
            continue;
        }
        // VIGIL_FUZZ_ONLY=substring replays just the matching files.
        if let Ok(only) = std::env::var("VIGIL_FUZZ_ONLY") {
            if !path.to_string_lossy().contains(&only) {
                continue;
            }
        }
        let Ok(data) = fs::read(&path) else { continue };
        eprintln!("replaying {}", path.display());
        target(&data);
        n += 1;
    }
    n
}

#[test]
fn decode_seeds_and_regressions() {
    let n = replay("seeds/vrrp_decode", vigil_fuzz::decode);
    assert!(n >= 5 || std::env::var_os("VIGIL_FUZZ_ONLY").is_some());
    replay("regressions/vrrp_decode", vigil_fuzz::decode);
}

#[test]
fn instance_seeds_and_regressions() {
    let n = replay("seeds/vrrp_instance", vigil_fuzz::instance);
    assert!(n >= 1 || std::env::var_os("VIGIL_FUZZ_ONLY").is_some());
    replay("regressions/vrrp_instance", vigil_fuzz::instance);
}

/// The decode seeds are valid adverts with a correct checksum for the
/// addresses the harness uses.
#[test]
fn decode_seeds_are_valid() {
    use vigil_vrrp::{ChecksumMode, Family, Packet};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/vrrp_decode");
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let data = fs::read(e.path()).unwrap_or_default();
        let ok = [Family::V4, Family::V6].into_iter().any(|f| {
            let (src, dst) = vigil_fuzz::decode_addrs(f);
            Packet::parse(&data, f).is_ok_and(|p| {
                p.checksum_ok(src, dst, ChecksumMode::Rfc)
                    || p.checksum_ok(src, dst, ChecksumMode::V2Compat)
            })
        });
        assert!(ok, "{} is not a valid advert", e.path().display());
    }
}

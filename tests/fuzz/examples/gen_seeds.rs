//! Writes the seed corpora: `cargo run --example gen_seeds` in tests/fuzz.
//!
//! * `seeds/vrrp_decode/`: valid adverts (v2/v3, IPv4/IPv6) whose checksums
//!   are right for the addresses the harness checks against.
//! * `seeds/vrrp_instance/`: small scripts for the instance harness (see
//!   `vigil_fuzz::instance` for the byte format).

use std::error::Error;
use std::fs;
use std::net::IpAddr;
use std::path::Path;

use vigil_vrrp::{Advertisement, Auth, ChecksumMode, Family, Interval, Version};

fn main() -> Result<(), Box<dyn Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let dec = root.join("vrrp_decode");
    fs::create_dir_all(&dec)?;
    let v4 = |s: &str| -> Result<IpAddr, Box<dyn Error>> { Ok(s.parse()?) };
    let adv = |version, vrid, priority, cs, auth, addresses| Advertisement {
        version,
        vrid,
        priority,
        interval: Interval::from_centis(cs),
        auth,
        addresses,
    };
    let seeds: Vec<(&str, Family, ChecksumMode, Advertisement)> = vec![
        (
            "v2_ipv4_1addr",
            Family::V4,
            ChecksumMode::Rfc,
            adv(
                Version::V2,
                51,
                150,
                100,
                Auth::None,
                vec![v4("192.0.2.100")?],
            ),
        ),
        (
            "v2_ipv4_pass_2addr",
            Family::V4,
            ChecksumMode::Rfc,
            adv(
                Version::V2,
                1,
                100,
                300,
                Auth::simple("secret"),
                vec![v4("192.0.2.100")?, v4("192.0.2.101")?],
            ),
        ),
        (
            "v2_ipv4_resign",
            Family::V4,
            ChecksumMode::Rfc,
            adv(Version::V2, 7, 0, 100, Auth::None, vec![v4("10.0.0.1")?]),
        ),
        (
            "v3_ipv4_1addr",
            Family::V4,
            ChecksumMode::Rfc,
            adv(
                Version::V3,
                51,
                200,
                100,
                Auth::None,
                vec![v4("192.0.2.100")?],
            ),
        ),
        (
            "v3_ipv4_10ms_3addr",
            Family::V4,
            ChecksumMode::Rfc,
            adv(
                Version::V3,
                255,
                255,
                1,
                Auth::None,
                vec![v4("192.0.2.100")?, v4("192.0.2.101")?, v4("198.51.100.1")?],
            ),
        ),
        (
            "v3_ipv4_compat_0addr",
            Family::V4,
            ChecksumMode::V2Compat,
            adv(Version::V3, 9, 0, 0x0fff, Auth::None, vec![]),
        ),
        (
            "v3_ipv6_1addr",
            Family::V6,
            ChecksumMode::Rfc,
            adv(
                Version::V3,
                51,
                200,
                100,
                Auth::None,
                vec![v4("2001:db8::100")?],
            ),
        ),
        (
            "v3_ipv6_2addr",
            Family::V6,
            ChecksumMode::Rfc,
            adv(
                Version::V3,
                3,
                1,
                25,
                Auth::None,
                vec![v4("fe80::100")?, v4("2001:db8::1:100")?],
            ),
        ),
    ];
    for (name, family, mode, a) in seeds {
        let (src, dst) = vigil_fuzz::decode_addrs(family);
        let mut out = Vec::new();
        a.encode(src, dst, mode, &mut out)?;
        fs::write(dec.join(format!("{name}.bin")), &out)?;
    }

    let ins = root.join("vrrp_instance");
    fs::create_dir_all(&ins)?;
    let scripts: [(&str, &[u8]); 5] = [
        // v3 IPv4 10 ms; run 1 s, shut the master down, restart it.
        (
            "v3_ipv4_10ms_shutdown_restart",
            &[
                0x00, 0x40, 2, 0x03, 0xe8, 3, 1, 1, 0, 2, 0, 200, 3, 1, 0, 0, 2, 0x01, 0xf4,
            ],
        ),
        // v2 1 s with a password; a priority-250 advert with the password
        // from 192.0.2.99, then 4 s.
        (
            "v2_auth_higher_priority",
            &[0x02, 0x50, 1, 0x01, 250, 0, 1, 0x01, 0x04, 2, 0x0f, 0xa0],
        ),
        // v3 IPv6 100 ms, refresh and preempt delay; fault and recover the
        // master; then a raw packet with TTL 254.
        (
            "v3_ipv6_fault_recover",
            &[
                0x05, 0x83, 2, 0x07, 0xd0, 3, 1, 3, 1, 2, 0x03, 0xe8, 3, 1, 3, 0, 2, 0x07, 0xd0, 0,
                0x80, 254, 12, 0x31, 1, 200, 1, 0, 10, 0, 0, 192, 0, 2, 100,
            ],
        ),
        // Router: everyone shuts down, starts again, group events, partition.
        (
            "router_events_partition",
            &[
                0x00, 0x00, 2, 0x01, 0x00, 3, 2, 1, 0, 2, 0, 100, 3, 2, 0, 0, 3, 3, 5, 0, 3, 11, 3,
                1, 2, 0x21, 0x00, 2, 0x03, 0x00,
            ],
        ),
        // Priority changes and a resigning (priority 0) advert, late wake-ups.
        (
            "priority_zero_late_wakeups",
            &[
                0x04, 0x40, 3, 0, 2, 220, 2, 0x41, 0x00, 1, 0x00, 0, 0, 10, 0x00, 0x04, 4, 2, 0x40,
                0x80, 2, 0xc0, 0x30, 0x00,
            ],
        ),
    ];
    for (name, bytes) in scripts {
        fs::write(ins.join(format!("{name}.bin")), bytes)?;
    }
    println!("seeds written under {}", root.display());
    Ok(())
}

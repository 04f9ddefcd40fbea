//! Golden vectors: VRRP adverts captured from real keepalived, checked against our codec.
//!
//! Every `tests/data/keepalived/*.txt` file holds the distinct adverts of one capture of real
//! keepalived (see `tests/data/extract-keepalived-vectors.sh` for the format and
//! `tests/data/capture-keepalived-auth.sh` for how the extra captures were made). The `# key:
//! value` header states the configuration keepalived ran with. For every advert we check that
//!
//! * [`Packet::parse`] accepts it and sees the configured version, family and length;
//! * its checksum verifies with the right [`ChecksumMode`] (and not with the other one, where
//!   the modes differ);
//! * the decoded fields are the configured vrid, priority, interval, addresses and auth;
//! * our encoder, given the same parameters and IP source/destination, produces exactly
//!   keepalived's bytes.

use std::collections::BTreeMap;
use std::error::Error;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use vigil_vrrp::packet::checksum;
use vigil_vrrp::{
    Advertisement, Auth, ChecksumMode, Family, Interval, Packet, Version, MULTICAST_V4, VRRP_TTL,
};

type TestResult = Result<(), Box<dyn Error>>;

/// The captures the vectors were made from. Listed so that a lost file fails the tests
/// instead of silently shrinking the coverage.
const EXPECTED_FILES: &[&str] = &[
    "v2-ipv4-1000ms",
    "v2-ipv4-1000ms-vmac",
    "v2-ipv4-1000ms-auth-pass",
    "v3-ipv4-100ms",
    "v3-ipv4-100ms-unicast",
    "v3-ipv4-100ms-unicast-old-checksum",
    "v3-ipv6-100ms",
    "v3-ipv6-100ms-unicast",
    "v3-ipv6-500ms-multi-vip",
];

/// How keepalived computed the checksum of a capture's adverts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KaChecksum {
    /// RFC 3768 / RFC 9568.
    Rfc,
    /// keepalived's `old_unicast_checksum` (VRRPv3, IPv4 unicast): the pseudo-header carries
    /// 224.0.0.18 as destination instead of the unicast peer.
    OldUnicast,
}

#[derive(Debug)]
struct Params {
    version: Version,
    family: Family,
    vrid: u8,
    priorities: Vec<u8>,
    interval: Interval,
    addresses: Vec<IpAddr>,
    auth: Auth,
    unicast: bool,
    checksum: KaChecksum,
}

#[derive(Debug)]
struct Advert {
    line: usize,
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    bytes: Vec<u8>,
}

#[derive(Debug)]
struct VectorFile {
    name: String,
    params: Params,
    adverts: Vec<Advert>,
}

impl VectorFile {
    fn at(&self, a: &Advert) -> String {
        format!("{}.txt:{}", self.name, a.line)
    }
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/keepalived")
}

fn hex_decode(s: &str) -> Result<Vec<u8>, Box<dyn Error>> {
    if !s.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits in {s:?}").into());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .ok_or_else(|| format!("bad hex {s:?}").into())
                .and_then(|b| u8::from_str_radix(b, 16).map_err(Into::into))
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_params(name: &str, h: &BTreeMap<String, String>) -> Result<Params, Box<dyn Error>> {
    let get = |k: &str| {
        h.get(k)
            .map(String::as_str)
            .ok_or_else(|| format!("{name}.txt: header `# {k}:` missing"))
    };
    let version = match get("version")? {
        "2" => Version::V2,
        "3" => Version::V3,
        v => return Err(format!("{name}.txt: bad version {v}").into()),
    };
    let family = match get("family")? {
        "4" => Family::V4,
        "6" => Family::V6,
        f => return Err(format!("{name}.txt: bad family {f}").into()),
    };
    let auth = match get("auth")?.split_once(' ') {
        None if get("auth")? == "none" => Auth::None,
        Some(("pass", pw)) => Auth::simple(pw),
        _ => return Err(format!("{name}.txt: bad auth {:?}", get("auth")?).into()),
    };
    let unicast = match get("transport")? {
        "multicast" => false,
        "unicast" => true,
        t => return Err(format!("{name}.txt: bad transport {t}").into()),
    };
    let checksum = match get("checksum")? {
        "rfc" => KaChecksum::Rfc,
        "old-unicast" => KaChecksum::OldUnicast,
        c => return Err(format!("{name}.txt: bad checksum {c}").into()),
    };
    Ok(Params {
        version,
        family,
        vrid: get("vrid")?.parse()?,
        priorities: get("priorities")?
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()?,
        interval: Interval::from_centis(get("interval-cs")?.parse()?),
        addresses: get("addresses")?
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()?,
        auth,
        unicast,
        checksum,
    })
}

fn load_file(path: &Path) -> Result<VectorFile, Box<dyn Error>> {
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or("bad file name")?
        .to_string();
    let text = std::fs::read_to_string(path)?;
    let mut header = BTreeMap::new();
    let mut adverts = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(comment) = line.strip_prefix('#') {
            if let Some((k, v)) = comment.trim().split_once(": ") {
                if !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
                    header.insert(k.to_string(), v.trim().to_string());
                }
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let at = || format!("{name}.txt:{}", i + 1);
        let f: Vec<&str> = line.split_whitespace().collect();
        let [src, dst, ttl, bytes] = f[..] else {
            return Err(format!("{}: expected `src dst ttl hex`, got {line:?}", at()).into());
        };
        adverts.push(Advert {
            line: i + 1,
            src: src.parse().map_err(|e| format!("{}: {e}", at()))?,
            dst: dst.parse().map_err(|e| format!("{}: {e}", at()))?,
            ttl: ttl.parse().map_err(|e| format!("{}: {e}", at()))?,
            bytes: hex_decode(bytes).map_err(|e| format!("{}: {e}", at()))?,
        });
    }
    let params = parse_params(&name, &header)?;
    Ok(VectorFile {
        name,
        params,
        adverts,
    })
}

fn load_all() -> Result<Vec<VectorFile>, Box<dyn Error>> {
    let dir = data_dir();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    paths.retain(|p| p.extension().is_some_and(|x| x == "txt"));
    paths.sort();
    paths.iter().map(|p| load_file(p)).collect()
}

/// The checksum mode under which keepalived's adverts must verify, and the destination that
/// goes into the pseudo-header.
fn verify_with(f: &VectorFile, a: &Advert) -> (ChecksumMode, IpAddr) {
    match f.params.checksum {
        KaChecksum::Rfc => (ChecksumMode::Rfc, a.dst),
        KaChecksum::OldUnicast => (ChecksumMode::OldUnicast, a.dst),
    }
}

/// The advertisement the file's configuration describes, sent with `priority`.
fn expected_advert(p: &Params, priority: u8) -> Advertisement {
    Advertisement {
        version: p.version,
        vrid: p.vrid,
        priority,
        interval: p.interval,
        auth: p.auth,
        addresses: p.addresses.clone(),
    }
}

#[test]
fn every_expected_keepalived_vector_file_is_present_and_non_empty() -> TestResult {
    let files = load_all()?;
    for want in EXPECTED_FILES {
        let f = files
            .iter()
            .find(|f| f.name == *want)
            .ok_or_else(|| format!("{want}.txt missing from {}", data_dir().display()))?;
        assert!(!f.adverts.is_empty(), "{want}.txt has no adverts");
    }
    Ok(())
}

#[test]
fn keepalived_adverts_parse_with_configured_version_family_and_length() -> TestResult {
    for f in load_all()? {
        for a in &f.adverts {
            assert_eq!(Family::of(&a.src), f.params.family, "{}", f.at(a));
            assert_eq!(Family::of(&a.dst), f.params.family, "{}", f.at(a));
            let p = Packet::parse(&a.bytes, f.params.family)
                .map_err(|e| format!("{}: {e}", f.at(a)))?;
            assert_eq!(p.version(), f.params.version, "{}", f.at(a));
            assert_eq!(p.family(), f.params.family, "{}", f.at(a));
            assert_eq!(
                usize::from(p.count()),
                f.params.addresses.len(),
                "{}",
                f.at(a)
            );
            assert_eq!(
                a.bytes.len(),
                expected_advert(&f.params, 0).encoded_len(f.params.family),
                "{}",
                f.at(a)
            );
        }
    }
    Ok(())
}

#[test]
fn keepalived_checksums_verify_in_the_matching_mode_only() -> TestResult {
    for f in load_all()? {
        for a in &f.adverts {
            let p = Packet::parse(&a.bytes, f.params.family)?;
            let (mode, dst) = verify_with(&f, a);
            assert!(
                p.checksum_ok(a.src, dst, mode),
                "{}: checksum {:#06x} does not verify in {mode:?} mode",
                f.at(a),
                p.checksum_field()
            );
            match (f.params.version, f.params.family) {
                // v2 has no pseudo-header: the mode must not matter.
                (Version::V2, _) => {
                    assert!(
                        p.checksum_ok(a.src, dst, ChecksumMode::V2Compat),
                        "{}",
                        f.at(a)
                    );
                }
                // v3 over IPv4: keepalived always includes the pseudo-header, so the
                // checksum-as-v2 variant must reject its adverts.
                (Version::V3, Family::V4) => {
                    assert!(
                        !p.checksum_ok(a.src, a.dst, ChecksumMode::V2Compat),
                        "{}: also verifies without the pseudo-header",
                        f.at(a)
                    );
                }
                // IPv6 always has the pseudo-header, whatever the mode.
                (Version::V3, Family::V6) => {
                    assert!(
                        p.checksum_ok(a.src, dst, ChecksumMode::V2Compat),
                        "{}",
                        f.at(a)
                    );
                }
            }
            // The pseudo-header really is covered: another source must fail (v3 only).
            if f.params.version == Version::V3 {
                let other: IpAddr = match a.src {
                    IpAddr::V4(_) => "203.0.113.9".parse()?,
                    IpAddr::V6(_) => "2001:db8::9".parse()?,
                };
                assert!(!p.checksum_ok(other, dst, mode), "{}", f.at(a));
            }
        }
    }
    Ok(())
}

#[test]
fn keepalived_adverts_decode_to_the_configured_fields() -> TestResult {
    for f in load_all()? {
        for a in &f.adverts {
            let p = Packet::parse(&a.bytes, f.params.family)?;
            assert_eq!(p.vrid(), f.params.vrid, "{}: vrid", f.at(a));
            assert!(
                p.priority() == 0 || f.params.priorities.contains(&p.priority()),
                "{}: priority {} is neither 0 nor one of the configured {:?}",
                f.at(a),
                p.priority(),
                f.params.priorities
            );
            assert_eq!(p.interval(), f.params.interval, "{}: interval", f.at(a));
            assert_eq!(p.auth(), f.params.auth, "{}: auth", f.at(a));
            assert_eq!(
                p.addresses().collect::<Vec<_>>(),
                f.params.addresses,
                "{}: addresses",
                f.at(a)
            );
            // The owned, checksum-verifying decoder agrees field for field.
            let (mode, dst) = verify_with(&f, a);
            let adv = Advertisement::decode(&a.bytes, a.src, dst, mode)
                .map_err(|e| format!("{}: {e}", f.at(a)))?;
            assert_eq!(adv, expected_advert(&f.params, p.priority()), "{}", f.at(a));
        }
    }
    Ok(())
}

#[test]
fn encoder_output_is_byte_identical_to_keepalived() -> TestResult {
    let mut out = Vec::new();
    for f in load_all()? {
        for a in &f.adverts {
            let priority = *a.bytes.get(2).ok_or("short advert")?;
            let (mode, dst) = verify_with(&f, a);
            expected_advert(&f.params, priority).encode(a.src, dst, mode, &mut out)?;
            assert_eq!(
                hex(&out),
                hex(&a.bytes),
                "{}: our encoding (left) differs from keepalived's (right)",
                f.at(a)
            );
        }
    }
    Ok(())
}

#[test]
fn vectors_include_every_configured_priority_and_a_priority_zero_resignation() -> TestResult {
    for f in load_all()? {
        let seen: Vec<u8> = f
            .adverts
            .iter()
            .filter_map(|a| a.bytes.get(2).copied())
            .collect();
        for p in f.params.priorities.iter().chain(&[0]) {
            assert!(
                seen.contains(p),
                "{}.txt: no advert with priority {p}",
                f.name
            );
        }
    }
    Ok(())
}

#[test]
fn keepalived_sends_to_the_configured_destination_with_ttl_255_except_ipv6_unicast() -> TestResult {
    for f in load_all()? {
        for a in &f.adverts {
            if f.params.unicast {
                assert!(!a.dst.is_multicast(), "{}: unicast to {}", f.at(a), a.dst);
            } else {
                assert_eq!(a.dst, f.params.family.multicast_group(), "{}", f.at(a));
            }
            if let (IpAddr::V6(src), false) = (a.src, f.params.unicast) {
                // RFC 9568 §5.1.2.1: the source is the interface's link-local address.
                assert_eq!(src.segments()[0] & 0xffc0, 0xfe80, "{}", f.at(a));
            }
            // keepalived 2.2.7 sends IPv6 unicast adverts with hop limit 64 (the socket
            // default) instead of 255, a known deviation a strict receiver would reject.
            let want = if f.params.unicast && f.params.family == Family::V6 {
                64
            } else {
                VRRP_TTL
            };
            assert_eq!(a.ttl, want, "{}: TTL / hop limit", f.at(a));
        }
    }
    Ok(())
}

#[test]
fn keepalived_v2_password_is_sent_in_clear_nul_padded_to_8_bytes() -> TestResult {
    let files = load_all()?;
    let f = files
        .iter()
        .find(|f| f.name == "v2-ipv4-1000ms-auth-pass")
        .ok_or("v2-ipv4-1000ms-auth-pass.txt missing")?;
    assert_eq!(f.params.auth, Auth::simple("secret1"));
    for a in &f.adverts {
        assert_eq!(a.bytes.get(4), Some(&1), "{}: auth type 1", f.at(a));
        let tail = a.bytes.get(a.bytes.len().saturating_sub(8)..);
        assert_eq!(tail, Some(&b"secret1\0"[..]), "{}: auth data", f.at(a));
    }
    Ok(())
}

#[test]
fn keepalived_old_unicast_checksum_uses_224_0_0_18_in_the_pseudo_header() -> TestResult {
    let files = load_all()?;
    let f = files
        .iter()
        .find(|f| f.params.checksum == KaChecksum::OldUnicast)
        .ok_or("no old_unicast_checksum vector file")?;
    for a in &f.adverts {
        let p = Packet::parse(&a.bytes, f.params.family)?;
        // Sent to the unicast peer with 224.0.0.18 in the pseudo-header: only the
        // OldUnicast mode accepts it with the real destination.
        assert!(a.dst != IpAddr::V4(MULTICAST_V4), "{}", f.at(a));
        assert!(
            p.checksum_ok(a.src, a.dst, ChecksumMode::OldUnicast),
            "{}",
            f.at(a)
        );
        assert!(
            !p.checksum_ok(a.src, a.dst, ChecksumMode::Rfc),
            "{}",
            f.at(a)
        );
        assert!(
            !p.checksum_ok(a.src, a.dst, ChecksumMode::V2Compat),
            "{}",
            f.at(a)
        );
        // It is exactly the RFC checksum of the same advert sent to the multicast group.
        assert_eq!(
            checksum(
                Version::V3,
                ChecksumMode::Rfc,
                a.src,
                IpAddr::V4(MULTICAST_V4),
                &zero_checksum(&a.bytes)
            ),
            p.checksum_field(),
            "{}",
            f.at(a)
        );
    }
    Ok(())
}

fn zero_checksum(bytes: &[u8]) -> Vec<u8> {
    let mut v = bytes.to_vec();
    for b in v.iter_mut().skip(6).take(2) {
        *b = 0;
    }
    v
}

#[test]
fn corrupting_any_bit_of_a_keepalived_advert_is_detected() -> TestResult {
    for f in load_all()? {
        for a in &f.adverts {
            let (mode, dst) = verify_with(&f, a);
            for i in 0..a.bytes.len() * 8 {
                let mut b = a.bytes.clone();
                if let Some(byte) = b.get_mut(i / 8) {
                    *byte ^= 1 << (i % 8);
                }
                let accepted = Packet::parse(&b, f.params.family)
                    .map(|p| p.checksum_ok(a.src, dst, mode))
                    .unwrap_or(false);
                assert!(!accepted, "{}: bit {i} flipped and still accepted", f.at(a));
            }
        }
    }
    Ok(())
}

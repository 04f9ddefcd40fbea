//! VRRP advertisement codec: VRRPv2 (RFC 3768 §5) and VRRPv3 (RFC 9568 §5).
//!
//! The codec works on the VRRP message only (the IP payload). The shell strips
//! the IPv4 header (or receives an IPv6 payload directly) and passes the IP
//! source, destination and TTL / hop limit alongside, because the VRRPv3
//! checksum covers a pseudo-header built from them.
//!
//! Decoding is split in two so that the receive path allocates nothing:
//! [`Packet::parse`] checks the structure and gives a borrowed view; the
//! checksum is verified separately with [`Packet::checksum_ok`] once the
//! receiver knows which checksum flavour the virtual router uses. Neither ever
//! panics, whatever the input (there is a property test and a fuzz target).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// IP protocol number of VRRP (RFC 3768 §5.2.4, RFC 9568 §5.1.1.3).
pub const IPPROTO_VRRP: u8 = 112;
/// The IPv4 multicast group of VRRP (RFC 3768 §5.2.2, RFC 9568 §5.1.1.2).
pub const MULTICAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The IPv6 multicast group of VRRP (RFC 9568 §5.1.2.2).
pub const MULTICAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// TTL / hop limit that every advertisement is sent with and that a
/// multicast receiver insists on (RFC 3768 §5.2.3 and §7.1, RFC 9568 §5.1.1.3 and §7.1).
pub const VRRP_TTL: u8 = 255;
/// Length of the fixed header shared by both versions.
pub const HEADER_LEN: usize = 8;
/// Length of the VRRPv2 authentication data trailer (RFC 3768 §5.3.10).
pub const AUTH_DATA_LEN: usize = 8;
/// Largest v3 advertisement interval: the field is 12 bits of centiseconds.
pub const MAX_V3_INTERVAL_CS: u16 = 0x0fff;
/// The only packet type either version defines (RFC 3768 §5.3.2, RFC 9568 §5.2.2).
pub const TYPE_ADVERTISEMENT: u8 = 1;

/// VRRP protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Version {
    /// RFC 3768: IPv4 only, whole-second intervals, optional simple-text auth.
    V2,
    /// RFC 9568: IPv4 and IPv6, centisecond intervals, pseudo-header checksum.
    V3,
}

impl Version {
    /// The number carried in the version nibble.
    pub fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VRRPv{}", self.number())
    }
}

/// Address family of a virtual router: IPv4 and IPv6 instances are always
/// separate virtual routers (RFC 9568 §1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6 (VRRPv3 only).
    V6,
}

impl Family {
    /// Family of an address.
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// Bytes per address in the address list.
    pub fn addr_len(self) -> usize {
        match self {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }

    /// The VRRP multicast group of this family.
    pub fn multicast_group(self) -> IpAddr {
        match self {
            Family::V4 => IpAddr::V4(MULTICAST_V4),
            Family::V6 => IpAddr::V6(MULTICAST_V6),
        }
    }
}

/// The virtual router MAC address: 00-00-5E-00-01-{VRID} for IPv4 and
/// 00-00-5E-00-02-{VRID} for IPv6 (RFC 9568 §7.3, RFC 3768 §7.3).
pub fn virtual_mac(family: Family, vrid: u8) -> [u8; 6] {
    let f = match family {
        Family::V4 => 0x01,
        Family::V6 => 0x02,
    };
    [0x00, 0x00, 0x5e, 0x00, f, vrid]
}

/// An advertisement interval in centiseconds, the unit of VRRPv3.
///
/// VRRPv2 carries whole seconds; [`Interval::is_v2_representable`] says
/// whether a value fits there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Interval(u16);

impl Interval {
    /// One second, the default of both RFCs.
    pub const ONE_SECOND: Interval = Interval(100);

    /// An interval of `cs` centiseconds.
    pub const fn from_centis(cs: u16) -> Interval {
        Interval(cs)
    }

    /// An interval of whole seconds (the VRRPv2 unit).
    pub const fn from_secs(s: u8) -> Interval {
        Interval(s as u16 * 100)
    }

    /// The interval in centiseconds.
    pub const fn centis(self) -> u16 {
        self.0
    }

    /// The interval as a duration.
    pub fn as_duration(self) -> std::time::Duration {
        std::time::Duration::from_millis(u64::from(self.0) * 10)
    }

    /// Whether VRRPv2's one-byte seconds field can carry this interval.
    pub fn is_v2_representable(self) -> bool {
        self.0.is_multiple_of(100) && self.0 / 100 >= 1 && self.0 / 100 <= 255
    }

    /// Whether VRRPv3's 12-bit centiseconds field can carry this interval.
    pub fn is_v3_representable(self) -> bool {
        self.0 >= 1 && self.0 <= MAX_V3_INTERVAL_CS
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", u32::from(self.0) * 10)
    }
}

/// VRRPv2 authentication (RFC 3768 §5.3.6). VRRPv3 has none (RFC 9568 §9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Auth {
    /// Auth Type 0: no authentication; the data field is zero.
    None,
    /// Auth Type 1: simple text password, NUL padded to 8 bytes (RFC 2338,
    /// kept by RFC 3768 for compatibility and by keepalived as `auth_type PASS`).
    Simple([u8; AUTH_DATA_LEN]),
    /// Auth Type 2: IP Authentication Header. Recognised so that it can be
    /// rejected with its own reason; Vigil does not implement AH.
    Ah([u8; AUTH_DATA_LEN]),
    /// Any other type number, kept so the receive path can count it.
    Unknown(u8, [u8; AUTH_DATA_LEN]),
}

impl Auth {
    /// A simple-text password as keepalived builds it: the first 8 bytes, NUL padded.
    pub fn simple(password: &str) -> Auth {
        let mut data = [0u8; AUTH_DATA_LEN];
        for (d, s) in data.iter_mut().zip(password.as_bytes()) {
            *d = *s;
        }
        Auth::Simple(data)
    }

    /// The Auth Type number on the wire.
    pub fn type_number(&self) -> u8 {
        match self {
            Auth::None => 0,
            Auth::Simple(_) => 1,
            Auth::Ah(_) => 2,
            Auth::Unknown(t, _) => *t,
        }
    }

    fn data(&self) -> [u8; AUTH_DATA_LEN] {
        match self {
            Auth::None => [0; AUTH_DATA_LEN],
            Auth::Simple(d) | Auth::Ah(d) | Auth::Unknown(_, d) => *d,
        }
    }

    fn from_wire(t: u8, data: [u8; AUTH_DATA_LEN]) -> Auth {
        match t {
            // RFC 3768 §5.3.10: the data is ignored on receipt with type 0.
            0 => Auth::None,
            1 => Auth::Simple(data),
            2 => Auth::Ah(data),
            t => Auth::Unknown(t, data),
        }
    }
}

/// How the VRRPv3 checksum is computed over IPv4.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumMode {
    /// RFC 9568 §5.2.8: the IPv4/IPv6 pseudo-header is included.
    #[default]
    Rfc,
    /// VRRPv3 over IPv4 without the pseudo-header, as some older
    /// implementations send it (keepalived 2.3's `v3_checksum_as_v2`,
    /// Wireshark's `vrrp.v3_checksum_as_in_v2`). Affects only v3 over IPv4
    /// (v2 never has a pseudo-header; IPv6 always has one).
    V2Compat,
    /// keepalived's `old_unicast_checksum`: VRRPv3 over IPv4 unicast with
    /// 224.0.0.18 instead of the real destination in the pseudo-header, as
    /// keepalived before 2.0.x computed it (and still does when it sees a
    /// peer doing so). Affects only v3 over IPv4.
    OldUnicast,
}

/// Structural reasons a VRRP message cannot be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecodeError {
    /// Shorter than the fixed 8-byte header.
    #[error("packet of {len} bytes is shorter than the 8-byte VRRP header")]
    TooShort {
        /// Bytes received.
        len: usize,
    },
    /// The version nibble is neither 2 nor 3.
    #[error("unsupported VRRP version {0}")]
    BadVersion(u8),
    /// VRRPv2 over IPv6 does not exist (RFC 3768 is IPv4 only).
    #[error("VRRPv2 cannot be carried over IPv6")]
    V2OverIpv6,
    /// The type nibble is not 1 (Advertisement).
    #[error("unknown VRRP packet type {0}")]
    BadType(u8),
    /// Length does not match what the address count implies.
    #[error("length {len} does not match {expected} bytes implied by {count} addresses")]
    BadLength {
        /// Bytes received.
        len: usize,
        /// Bytes implied by the header.
        expected: usize,
        /// The Count IPvX Addrs field.
        count: u8,
    },
}

/// Reasons an [`Advertisement`] cannot be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The interval does not fit the version's field.
    #[error("interval {0} cannot be expressed in {1}")]
    Interval(Interval, Version),
    /// An address of the wrong family, or v2 over IPv6.
    #[error("address family mismatch in advertisement")]
    FamilyMismatch,
    /// More than 255 addresses.
    #[error("{0} addresses exceed the 255 an advertisement can carry")]
    TooManyAddresses(usize),
}

/// An owned VRRP advertisement: what the engine sends and what tests build.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Advertisement {
    /// Protocol version.
    pub version: Version,
    /// Virtual Router Identifier, 1..=255.
    pub vrid: u8,
    /// Sender's priority: 255 owner, 1..=254 backup, 0 resigning master.
    pub priority: u8,
    /// Advertisement interval (v2 whole seconds; v3 Max Adver Int).
    pub interval: Interval,
    /// v2 authentication; always [`Auth::None`] in v3.
    pub auth: Auth,
    /// The virtual addresses, all of the packet's family.
    pub addresses: Vec<IpAddr>,
}

impl Advertisement {
    /// Encoded length of this advertisement for `family`.
    pub fn encoded_len(&self, family: Family) -> usize {
        HEADER_LEN
            + self.addresses.len() * family.addr_len()
            + if self.version == Version::V2 {
                AUTH_DATA_LEN
            } else {
                0
            }
    }

    /// Encode into `out` (cleared first), computing the checksum for a packet
    /// sent from `src` to `dst`. The addresses decide the family.
    pub fn encode(
        &self,
        src: IpAddr,
        dst: IpAddr,
        mode: ChecksumMode,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        let family = Family::of(&src);
        if Family::of(&dst) != family
            || (self.version == Version::V2 && family == Family::V6)
            || self.addresses.iter().any(|a| Family::of(a) != family)
        {
            return Err(EncodeError::FamilyMismatch);
        }
        let count = u8::try_from(self.addresses.len())
            .map_err(|_| EncodeError::TooManyAddresses(self.addresses.len()))?;
        out.clear();
        out.reserve(self.encoded_len(family));
        out.push((self.version.number() << 4) | TYPE_ADVERTISEMENT);
        out.push(self.vrid);
        out.push(self.priority);
        out.push(count);
        match self.version {
            Version::V2 => {
                if !self.interval.is_v2_representable() {
                    return Err(EncodeError::Interval(self.interval, self.version));
                }
                out.push(self.auth.type_number());
                // Checked above: whole seconds in 1..=255.
                out.push((self.interval.centis() / 100) as u8);
            }
            Version::V3 => {
                if !self.interval.is_v3_representable() {
                    return Err(EncodeError::Interval(self.interval, self.version));
                }
                // 4 reserved bits (zero) + 12 bits of centiseconds.
                out.extend_from_slice(&self.interval.centis().to_be_bytes());
            }
        }
        out.extend_from_slice(&[0, 0]);
        for a in &self.addresses {
            match a {
                IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
                IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
            }
        }
        if self.version == Version::V2 {
            out.extend_from_slice(&self.auth.data());
        }
        let sum = checksum(self.version, mode, src, dst, out);
        out[6..8].copy_from_slice(&sum.to_be_bytes());
        Ok(())
    }

    /// Parse and checksum-verify in one step, giving an owned advertisement.
    /// Convenience for tests and tools; the daemon's receive path uses
    /// [`Packet`] to avoid allocating.
    pub fn decode(
        bytes: &[u8],
        src: IpAddr,
        dst: IpAddr,
        mode: ChecksumMode,
    ) -> Result<Advertisement, ChecksumOrDecodeError> {
        let p = Packet::parse(bytes, Family::of(&src))?;
        if !p.checksum_ok(src, dst, mode) {
            return Err(ChecksumOrDecodeError::Checksum);
        }
        Ok(p.to_advertisement())
    }
}

/// Error of [`Advertisement::decode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChecksumOrDecodeError {
    /// Structurally invalid.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Checksum mismatch.
    #[error("bad VRRP checksum")]
    Checksum,
}

/// A structurally valid VRRP message borrowed from a receive buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    bytes: &'a [u8],
    version: Version,
    family: Family,
}

impl<'a> Packet<'a> {
    /// Check the structure of a VRRP message received over `family`: header,
    /// version, type, and that the length is exactly what the address count
    /// (plus the v2 auth trailer) implies (RFC 3768 §7.1, RFC 9568 §7.1:
    /// "the received packet contains the complete VRRP packet").
    pub fn parse(bytes: &'a [u8], family: Family) -> Result<Packet<'a>, DecodeError> {
        let [vt, _vrid, _prio, count, ..] = *bytes else {
            return Err(DecodeError::TooShort { len: bytes.len() });
        };
        if bytes.len() < HEADER_LEN {
            return Err(DecodeError::TooShort { len: bytes.len() });
        }
        let version = match vt >> 4 {
            2 => Version::V2,
            3 => Version::V3,
            v => return Err(DecodeError::BadVersion(v)),
        };
        if version == Version::V2 && family == Family::V6 {
            return Err(DecodeError::V2OverIpv6);
        }
        if vt & 0x0f != TYPE_ADVERTISEMENT {
            return Err(DecodeError::BadType(vt & 0x0f));
        }
        let expected = HEADER_LEN
            + usize::from(count) * family.addr_len()
            + if version == Version::V2 {
                AUTH_DATA_LEN
            } else {
                0
            };
        if bytes.len() != expected {
            return Err(DecodeError::BadLength {
                len: bytes.len(),
                expected,
                count,
            });
        }
        Ok(Packet {
            bytes,
            version,
            family,
        })
    }

    /// Protocol version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Address family the packet was received over.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The raw message.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    fn byte(&self, i: usize) -> u8 {
        self.bytes.get(i).copied().unwrap_or(0)
    }

    /// Virtual Router Identifier.
    pub fn vrid(&self) -> u8 {
        self.byte(1)
    }

    /// Sender's priority.
    pub fn priority(&self) -> u8 {
        self.byte(2)
    }

    /// Count IPvX Addrs.
    pub fn count(&self) -> u8 {
        self.byte(3)
    }

    /// The checksum field as received.
    pub fn checksum_field(&self) -> u16 {
        u16::from_be_bytes([self.byte(6), self.byte(7)])
    }

    /// Advertisement interval (v2 seconds converted to centiseconds; v3 the
    /// 12-bit field, reserved bits ignored as RFC 9568 §5.2.6 requires).
    pub fn interval(&self) -> Interval {
        match self.version {
            Version::V2 => Interval::from_secs(self.byte(5)),
            Version::V3 => {
                Interval::from_centis(u16::from_be_bytes([self.byte(4), self.byte(5)]) & 0x0fff)
            }
        }
    }

    /// v2 authentication; [`Auth::None`] for v3.
    pub fn auth(&self) -> Auth {
        match self.version {
            Version::V3 => Auth::None,
            Version::V2 => {
                let start = self.bytes.len().saturating_sub(AUTH_DATA_LEN);
                let mut data = [0u8; AUTH_DATA_LEN];
                if let Some(src) = self.bytes.get(start..) {
                    for (d, s) in data.iter_mut().zip(src) {
                        *d = *s;
                    }
                }
                Auth::from_wire(self.byte(4), data)
            }
        }
    }

    /// The address list, without allocating.
    pub fn addresses(&self) -> impl ExactSizeIterator<Item = IpAddr> + 'a {
        let family = self.family;
        let n = usize::from(self.count());
        let list = self
            .bytes
            .get(HEADER_LEN..HEADER_LEN + n * family.addr_len())
            .unwrap_or(&[]);
        list.chunks_exact(family.addr_len()).map(move |c| match c {
            [a, b, c, d] => IpAddr::V4(Ipv4Addr::new(*a, *b, *c, *d)),
            _ => {
                let mut o = [0u8; 16];
                for (d, s) in o.iter_mut().zip(c) {
                    *d = *s;
                }
                IpAddr::V6(Ipv6Addr::from(o))
            }
        })
    }

    /// Whether the checksum is right for a packet from `src` to `dst`
    /// (RFC 3768 §5.3.8, RFC 9568 §5.2.8).
    pub fn checksum_ok(&self, src: IpAddr, dst: IpAddr, mode: ChecksumMode) -> bool {
        // Summing a message that already carries its checksum gives zero.
        checksum(self.version, mode, src, dst, self.bytes) == 0
    }

    /// An owned copy.
    pub fn to_advertisement(&self) -> Advertisement {
        Advertisement {
            version: self.version,
            vrid: self.vrid(),
            priority: self.priority(),
            interval: self.interval(),
            auth: self.auth(),
            addresses: self.addresses().collect(),
        }
    }
}

/// Ones'-complement sum of `data` as big-endian 16-bit words (RFC 1071),
/// starting from `acc`, not yet folded.
fn sum_words(mut acc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        if let [a, b] = c {
            acc += u64::from(u16::from_be_bytes([*a, *b]));
        }
    }
    if let [last] = chunks.remainder() {
        acc += u64::from(*last) << 8;
    }
    acc
}

fn fold(mut acc: u64) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    // Folded to 16 bits above.
    !(acc as u16)
}

/// The VRRP checksum of `msg` (whose checksum field is either zero, to compute
/// it, or filled in, to verify: then the result is 0).
pub fn checksum(version: Version, mode: ChecksumMode, src: IpAddr, dst: IpAddr, msg: &[u8]) -> u16 {
    let len = msg.len() as u64;
    let pseudo = match (version, src, dst) {
        (Version::V2, _, _) => 0,
        (Version::V3, IpAddr::V4(_), _) if mode == ChecksumMode::V2Compat => 0,
        (Version::V3, IpAddr::V4(s), IpAddr::V4(_)) if mode == ChecksumMode::OldUnicast => {
            sum_words(sum_words(0, &s.octets()), &MULTICAST_V4.octets())
                + u64::from(IPPROTO_VRRP)
                + len
        }
        (Version::V3, IpAddr::V4(s), IpAddr::V4(d)) => {
            // RFC 9568 §5.2.8 / RFC 768 style: src, dst, zero, protocol, length.
            sum_words(sum_words(0, &s.octets()), &d.octets()) + u64::from(IPPROTO_VRRP) + len
        }
        (Version::V3, IpAddr::V6(s), IpAddr::V6(d)) => {
            // RFC 8200 §8.1: src, dst, 32-bit length, 3 zero bytes, next header.
            sum_words(sum_words(0, &s.octets()), &d.octets()) + u64::from(IPPROTO_VRRP) + len
        }
        // Mixed families cannot be a real packet; the sum is simply wrong.
        _ => 0,
    };
    fold(sum_words(pseudo, msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn v2_round_trip_with_password() -> Result<(), Box<dyn std::error::Error>> {
        let adv = Advertisement {
            version: Version::V2,
            vrid: 51,
            priority: 150,
            interval: Interval::from_secs(1),
            auth: Auth::simple("secret"),
            addresses: vec![v4("192.0.2.100")],
        };
        let mut buf = Vec::new();
        adv.encode(
            v4("192.0.2.11"),
            v4("224.0.0.18"),
            ChecksumMode::Rfc,
            &mut buf,
        )?;
        assert_eq!(buf.len(), 20);
        assert_eq!(&buf[..6], &[0x21, 51, 150, 1, 1, 1]);
        assert_eq!(&buf[12..], b"secret\0\0");
        let back =
            Advertisement::decode(&buf, v4("192.0.2.11"), v4("224.0.0.18"), ChecksumMode::Rfc)?;
        assert_eq!(back, adv);
        Ok(())
    }

    #[test]
    fn v3_checksum_covers_pseudo_header() -> Result<(), Box<dyn std::error::Error>> {
        let adv = Advertisement {
            version: Version::V3,
            vrid: 1,
            priority: 100,
            interval: Interval::from_centis(10),
            auth: Auth::None,
            addresses: vec![v4("192.0.2.1")],
        };
        let mut buf = Vec::new();
        adv.encode(
            v4("192.0.2.11"),
            v4("224.0.0.18"),
            ChecksumMode::Rfc,
            &mut buf,
        )?;
        let p = Packet::parse(&buf, Family::V4)?;
        assert!(p.checksum_ok(v4("192.0.2.11"), v4("224.0.0.18"), ChecksumMode::Rfc));
        // Another source changes the pseudo-header, so the sum must fail.
        assert!(!p.checksum_ok(v4("192.0.2.12"), v4("224.0.0.18"), ChecksumMode::Rfc));
        assert!(!p.checksum_ok(v4("192.0.2.11"), v4("224.0.0.18"), ChecksumMode::V2Compat));
        Ok(())
    }

    #[test]
    fn v3_compat_checksum_ignores_addresses() -> Result<(), Box<dyn std::error::Error>> {
        let adv = Advertisement {
            version: Version::V3,
            vrid: 7,
            priority: 200,
            interval: Interval::from_centis(100),
            auth: Auth::None,
            addresses: vec![v4("192.0.2.7")],
        };
        let mut buf = Vec::new();
        adv.encode(
            v4("192.0.2.11"),
            v4("224.0.0.18"),
            ChecksumMode::V2Compat,
            &mut buf,
        )?;
        let p = Packet::parse(&buf, Family::V4)?;
        assert!(p.checksum_ok(v4("198.51.100.1"), v4("224.0.0.18"), ChecksumMode::V2Compat));
        assert!(!p.checksum_ok(v4("192.0.2.11"), v4("224.0.0.18"), ChecksumMode::Rfc));
        Ok(())
    }

    #[test]
    fn structural_errors() {
        assert_eq!(
            Packet::parse(&[0x31, 1, 2], Family::V4),
            Err(DecodeError::TooShort { len: 3 })
        );
        assert_eq!(
            Packet::parse(&[0x41, 1, 2, 0, 0, 100, 0, 0], Family::V4),
            Err(DecodeError::BadVersion(4))
        );
        assert_eq!(
            Packet::parse(&[0x32, 1, 2, 0, 0, 100, 0, 0], Family::V4),
            Err(DecodeError::BadType(2))
        );
        assert_eq!(
            Packet::parse(
                &[0x21, 1, 2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                Family::V6
            ),
            Err(DecodeError::V2OverIpv6)
        );
        assert_eq!(
            Packet::parse(&[0x31, 1, 2, 1, 0, 100, 0, 0], Family::V4),
            Err(DecodeError::BadLength {
                len: 8,
                expected: 12,
                count: 1
            })
        );
    }

    #[test]
    fn v3_reserved_bits_are_ignored() -> Result<(), DecodeError> {
        let p = Packet::parse(&[0x31, 1, 2, 0, 0xf0, 100, 0, 0], Family::V4)?;
        assert_eq!(p.interval(), Interval::from_centis(100));
        Ok(())
    }

    #[test]
    fn encode_rejects_unrepresentable() {
        let mut adv = Advertisement {
            version: Version::V2,
            vrid: 1,
            priority: 100,
            interval: Interval::from_centis(50),
            auth: Auth::None,
            addresses: vec![],
        };
        let mut buf = Vec::new();
        let (s, d) = (v4("192.0.2.1"), v4("224.0.0.18"));
        assert!(matches!(
            adv.encode(s, d, ChecksumMode::Rfc, &mut buf),
            Err(EncodeError::Interval(..))
        ));
        adv.version = Version::V3;
        adv.interval = Interval::from_centis(4096);
        assert!(matches!(
            adv.encode(s, d, ChecksumMode::Rfc, &mut buf),
            Err(EncodeError::Interval(..))
        ));
        adv.interval = Interval::from_centis(4095);
        adv.addresses = vec!["2001:db8::1".parse().unwrap_or(s)];
        assert_eq!(
            adv.encode(s, d, ChecksumMode::Rfc, &mut buf),
            Err(EncodeError::FamilyMismatch)
        );
    }
}

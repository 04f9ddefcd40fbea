//! Codec properties: decode(encode(p)) == p for every representable
//! advertisement, and the decoder never panics on arbitrary bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use vigil_vrrp::{
    Advertisement, Auth, ChecksumMode, Event, Family, Instance, InstanceConfig, Interval, Packet,
    RxMeta, Timestamp, Version,
};

fn advert() -> impl Strategy<Value = (Advertisement, IpAddr, IpAddr, ChecksumMode)> {
    let v4 = (
        any::<bool>(),
        1u8..=255,
        any::<u8>(),
        proptest::collection::vec(any::<[u8; 4]>(), 0..20),
        any::<[u8; 4]>(),
        any::<bool>(),
        0u8..4,
        any::<[u8; 8]>(),
        1u16..=4095,
        1u8..=255,
        any::<bool>(),
    )
        .prop_map(
            |(v2, vrid, priority, addrs, src, unicast, auth_t, auth_d, cs, secs, compat)| {
                let version = if v2 { Version::V2 } else { Version::V3 };
                let auth = match (version, auth_t) {
                    (Version::V3, _) | (_, 0) => Auth::None,
                    (_, 1) => Auth::Simple(auth_d),
                    (_, 2) => Auth::Ah(auth_d),
                    (_, _) => Auth::Unknown(3 + auth_d[0] % 200, auth_d),
                };
                let interval = if v2 {
                    Interval::from_secs(secs)
                } else {
                    Interval::from_centis(cs)
                };
                let dst = if unicast {
                    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 200))
                } else {
                    IpAddr::V4(vigil_vrrp::MULTICAST_V4)
                };
                let mode = if compat {
                    ChecksumMode::V2Compat
                } else {
                    ChecksumMode::Rfc
                };
                (
                    Advertisement {
                        version,
                        vrid,
                        priority,
                        interval,
                        auth,
                        addresses: addrs.into_iter().map(|a| IpAddr::V4(a.into())).collect(),
                    },
                    IpAddr::V4(src.into()),
                    dst,
                    mode,
                )
            },
        );
    let v6 = (
        1u8..=255,
        any::<u8>(),
        proptest::collection::vec(any::<[u8; 16]>(), 0..8),
        any::<[u8; 16]>(),
        1u16..=4095,
    )
        .prop_map(|(vrid, priority, addrs, src, cs)| {
            (
                Advertisement {
                    version: Version::V3,
                    vrid,
                    priority,
                    interval: Interval::from_centis(cs),
                    auth: Auth::None,
                    addresses: addrs
                        .into_iter()
                        .map(|a| IpAddr::V6(Ipv6Addr::from(a)))
                        .collect(),
                },
                IpAddr::V6(Ipv6Addr::from(src)),
                IpAddr::V6(vigil_vrrp::MULTICAST_V6),
                ChecksumMode::Rfc,
            )
        });
    prop_oneof![v4, v6]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn decode_of_encode_is_identity((adv, src, dst, mode) in advert()) {
        let mut buf = Vec::new();
        adv.encode(src, dst, mode, &mut buf).unwrap();
        prop_assert_eq!(buf.len(), adv.encoded_len(Family::of(&src)));
        let back = Advertisement::decode(&buf, src, dst, mode).unwrap();
        prop_assert_eq!(back, adv);
    }

    #[test]
    fn any_single_bit_flip_is_caught((adv, src, dst, mode) in advert(), bit in 0usize..64) {
        // The Internet checksum detects every single-bit error in the header,
        // unless the flip makes the packet structurally invalid first.
        let mut buf = Vec::new();
        adv.encode(src, dst, mode, &mut buf).unwrap();
        let bit = bit % (buf.len() * 8);
        buf[bit / 8] ^= 1 << (bit % 8);
        if let Ok(p) = Packet::parse(&buf, Family::of(&src)) {
            prop_assert!(!p.checksum_ok(src, dst, mode));
        }
    }

    #[test]
    fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600), v6 in any::<bool>()) {
        let family = if v6 { Family::V6 } else { Family::V4 };
        if let Ok(p) = Packet::parse(&bytes, family) {
            let _ = (p.vrid(), p.priority(), p.count(), p.interval(), p.auth(), p.checksum_field());
            prop_assert_eq!(p.addresses().count(), usize::from(p.count()));
            let src = family.multicast_group();
            let _ = p.checksum_ok(src, src, ChecksumMode::Rfc);
            let _ = p.to_advertisement();
        }
    }

    #[test]
    fn instances_never_panic_on_hostile_packets(
        packets in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 0..64), any::<u8>(), any::<[u8; 4]>(), any::<bool>()),
            1..40,
        )
    ) {
        let me = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11));
        let mut cfg = InstanceConfig::new("VI_1", 51, me, vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100))]);
        cfg.version = Version::V2;
        let mut i = Instance::new(cfg);
        i.handle_event(Timestamp::ZERO, Event::Startup);
        for (k, (mut bytes, ttl, src, fix_header)) in packets.into_iter().enumerate() {
            if fix_header && bytes.len() >= 2 {
                bytes[0] = 0x21;
                bytes[1] = 51;
            }
            let meta = RxMeta { src: IpAddr::V4(src.into()), dst: IpAddr::V4(vigil_vrrp::MULTICAST_V4), ttl };
            let now = Timestamp::from_millis(k as u64 * 100);
            let _ = i.handle_packet(now, &meta, &bytes);
            i.handle_timeout(now);
            while i.poll_action().is_some() {}
        }
    }
}

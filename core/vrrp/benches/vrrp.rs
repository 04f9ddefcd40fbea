//! Benchmarks of the VRRP engine: codec, receive path, and a 1,000-instance
//! router driven through virtual time.
//!
//! `cargo bench -p vigil-vrrp` (about 45 s on 2 cores after the build). Results and
//! their interpretation are in docs/benchmarks.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vigil_vrrp::{
    Action, Advertisement, Auth, ChecksumMode, Event, Family, IfaceKey, Instance, InstanceConfig,
    Interval, Packet, Router, RxMeta, State, Timestamp, Version, MULTICAST_V4, MULTICAST_V6,
    VRRP_TTL,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Short groups: the whole run must stay within a couple of minutes.
fn quick() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .without_plots()
}

fn advert(
    version: Version,
    vrid: u8,
    priority: u8,
    interval_cs: u16,
    vip: IpAddr,
) -> Advertisement {
    Advertisement {
        version,
        vrid,
        priority,
        interval: Interval::from_centis(interval_cs),
        auth: Auth::None,
        addresses: vec![vip],
    }
}

/// The three advert shapes: (name, advert, src, dst).
fn shapes() -> Vec<(&'static str, Advertisement, IpAddr, IpAddr)> {
    vec![
        (
            "v2_ipv4_1addr",
            advert(Version::V2, 51, 200, 100, ip("192.0.2.100")),
            ip("192.0.2.12"),
            IpAddr::V4(MULTICAST_V4),
        ),
        (
            "v3_ipv4_1addr",
            advert(Version::V3, 51, 200, 100, ip("192.0.2.100")),
            ip("192.0.2.12"),
            IpAddr::V4(MULTICAST_V4),
        ),
        (
            "v3_ipv6_1addr",
            advert(Version::V3, 51, 200, 100, ip("2001:db8::100")),
            ip("fe80::12"),
            IpAddr::V6(MULTICAST_V6),
        ),
    ]
}

fn bench_encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Elements(1));
    for (name, adv, src, dst) in shapes() {
        let mut buf = Vec::with_capacity(64);
        g.bench_function(name, |b| {
            b.iter(|| {
                black_box(&adv)
                    .encode(black_box(src), dst, ChecksumMode::Rfc, &mut buf)
                    .unwrap();
                black_box(&buf);
            });
        });
    }
    g.finish();
}

fn bench_decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode+validate");
    g.throughput(Throughput::Elements(1));
    for (name, adv, src, dst) in shapes() {
        let mut bytes = Vec::new();
        adv.encode(src, dst, ChecksumMode::Rfc, &mut bytes).unwrap();
        let family = Family::of(&src);

        // Structure + checksum only.
        g.bench_function(BenchmarkId::new("parse+checksum", name), |b| {
            b.iter(|| {
                let p = Packet::parse(black_box(&bytes), family).unwrap();
                assert!(p.checksum_ok(black_box(src), dst, ChecksumMode::Rfc));
                black_box(p.priority())
            });
        });

        // The whole receive path of one advert on a Backup instance (priority
        // 100) from a priority-200 master: parse, every RFC check, address
        // list comparison, Master_Down_Timer reset.
        let me = match family {
            Family::V4 => ip("192.0.2.11"),
            Family::V6 => ip("fe80::11"),
        };
        let mut cfg = InstanceConfig::new("VI_1", adv.vrid, me, adv.addresses.clone());
        cfg.version = adv.version;
        cfg.advert_interval = adv.interval;
        let mut inst = Instance::new(cfg);
        inst.handle_event(Timestamp::ZERO, Event::Startup);
        while inst.poll_action().is_some() {}
        assert_eq!(inst.state(), State::Backup);
        let meta = RxMeta {
            src,
            dst,
            ttl: VRRP_TTL,
        };
        let mut now = Timestamp::from_millis(1);
        inst.handle_packet(now, &meta, &bytes).unwrap();
        g.bench_function(BenchmarkId::new("handle_packet_backup", name), |b| {
            b.iter(|| {
                now = now + Duration::from_micros(10);
                inst.handle_packet(now, black_box(&meta), black_box(&bytes))
                    .unwrap();
            });
        });
        assert_eq!(inst.state(), State::Backup);
        assert!(inst.poll_action().is_none());
    }
    g.finish();
}

/// Number of instances in the engine benchmarks.
const N: usize = 1_000;
/// VRIDs used per interface (VRID is 1..=255 per interface).
const PER_IFACE: usize = 250;
/// 10 ms adverts.
const INTERVAL_CS: u16 = 1;
const PERIOD: Duration = Duration::from_millis(10);

fn slot(i: usize) -> (IfaceKey, u8, IpAddr) {
    let iface = (i / PER_IFACE) as IfaceKey;
    let vrid = (i % PER_IFACE + 1) as u8;
    // One VIP per instance: 10.<iface>.<vrid>.1
    let vip = IpAddr::V4(Ipv4Addr::new(10, iface as u8, vrid, 1));
    (iface, vrid, vip)
}

/// 1,000 v3 IPv4 instances at 10 ms; starts spread evenly over one period
/// so that the timer wake-ups are too. Returns the router and the time at
/// which the steady state begins.
fn router(priority: u8) -> (Router, Timestamp) {
    let mut r = Router::new();
    let me = ip("192.0.2.11");
    for i in 0..N {
        let (iface, vrid, vip) = slot(i);
        let mut cfg = InstanceConfig::new(format!("VI_{i}"), vrid, me, vec![vip]);
        cfg.priority = priority;
        cfg.advert_interval = Interval::from_centis(INTERVAL_CS);
        r.add_instance(iface, cfg).unwrap();
    }
    let step = PERIOD / N as u32;
    for i in 0..N {
        let at = Timestamp::ZERO + step * i as u32;
        r.handle_event(at, vigil_vrrp::InstanceId(i), Event::Startup);
    }
    while r.poll_action().is_some() {}
    // Windows (k*10ms - 1 ns, (k+1)*10ms - 1 ns] each hold exactly one
    // deadline per instance.
    (r, Timestamp::ZERO + PERIOD - Duration::from_nanos(1))
}

fn bench_engine(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine");
    // One iteration = one 10 ms period of 1,000 instances = 1,000 adverts.
    g.throughput(Throughput::Elements(N as u64));

    // Masters: every timer wake-up fires one Adver_Timer; each SendAdvert is
    // drained and encoded as the daemon would before the sendto().
    {
        let (mut r, mut now) = router(255);
        assert!(r.instances().all(|(_, i)| i.state() == State::Master));
        let mut buf = Vec::with_capacity(64);
        let mut sent = 0u64;
        g.bench_function("masters_1000x10ms_tick", |b| {
            b.iter(|| {
                let end = now + PERIOD;
                while let Some(t) = r.poll_timeout().filter(|t| *t <= end) {
                    r.handle_timeout(t);
                    while let Some((_, a)) = r.poll_action() {
                        if let Action::SendAdvert(out) = a {
                            out.encode(&mut buf).unwrap();
                            sent += 1;
                        }
                    }
                }
                now = end;
            });
        });
        // Every period every master sent exactly one advert.
        assert!(sent > 0 && sent.is_multiple_of(N as u64), "sent {sent}");
    }

    // Backups: each of the 1,000 instances receives one advert per period
    // from a priority-200 master (through Router::handle_packet: parse, VRID
    // lookup, validation, timer re-arm), and the timer queue is serviced at
    // each arrival (stale Master_Down_Timer entries popped).
    {
        let (mut r, start) = router(100);
        assert!(r.instances().all(|(_, i)| i.state() == State::Backup));
        let peer = ip("192.0.2.12");
        let dst = IpAddr::V4(MULTICAST_V4);
        let meta = RxMeta {
            src: peer,
            dst,
            ttl: VRRP_TTL,
        };
        let packets: Vec<(IfaceKey, Vec<u8>)> = (0..N)
            .map(|i| {
                let (iface, vrid, vip) = slot(i);
                let mut bytes = Vec::new();
                advert(Version::V3, vrid, 200, INTERVAL_CS, vip)
                    .encode(peer, dst, ChecksumMode::Rfc, &mut bytes)
                    .unwrap();
                (iface, bytes)
            })
            .collect();
        let step = PERIOD / N as u32;
        let mut base = start;
        g.bench_function("backups_1000x10ms_rx", |b| {
            b.iter(|| {
                for (i, (iface, bytes)) in packets.iter().enumerate() {
                    let now = base + step * i as u32;
                    r.handle_packet(now, *iface, &meta, bytes).unwrap();
                    while let Some(t) = r.poll_timeout().filter(|t| *t <= now) {
                        r.handle_timeout(t);
                    }
                    while r.poll_action().is_some() {}
                }
                base = base + PERIOD;
            });
        });
        assert!(r.instances().all(|(_, i)| i.state() == State::Backup));
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = quick();
    targets = bench_encode, bench_decode, bench_engine
}
criterion_main!(benches);

//! RFC conformance: one named test per rule of RFC 9568 §6–7 (VRRPv3) and
//! RFC 3768 §6–7 (VRRPv2) that applies to the engine, plus keepalived's
//! extensions. docs/conformance.md maps each rule to its test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::time::Duration;

use vigil_vrrp::{
    virtual_mac, Action, Advertisement, Auth, ChecksumMode, DropReason, Event, Family,
    InitialState, Instance, InstanceConfig, Interval, Reason, Router, RxMeta, State, Timestamp,
    Version, MULTICAST_V4, MULTICAST_V6,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const ME: &str = "192.0.2.11";
const PEER: &str = "192.0.2.12";
const VIP: &str = "192.0.2.100";

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn cfg_v3(prio: u8, interval_cs: u16) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_1", 51, ip(ME), vec![ip(VIP)]);
    c.priority = prio;
    c.advert_interval = Interval::from_centis(interval_cs);
    // RFC-strict by default in these tests; keepalived's reply is tested on its own.
    c.announce.lower_prio_holdoff = None;
    c
}

fn cfg_v2(prio: u8, secs: u8) -> InstanceConfig {
    let mut c = cfg_v3(prio, u16::from(secs) * 100);
    c.version = Version::V2;
    c
}

fn cfg_v6(prio: u8, interval_cs: u16) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_6", 51, ip("fe80::11"), vec![ip("2001:db8::100")]);
    c.priority = prio;
    c.advert_interval = Interval::from_centis(interval_cs);
    c.announce.lower_prio_holdoff = None;
    c
}

fn drain(i: &mut Instance) -> Vec<Action> {
    std::iter::from_fn(|| i.poll_action()).collect()
}

fn started(cfg: InstanceConfig, now: Timestamp) -> Instance {
    let mut i = Instance::new(cfg);
    i.handle_event(now, Event::Startup);
    drain(&mut i);
    i
}

/// An instance that became master at `t(0) + MDI`; returns it and that instant.
fn master(cfg: InstanceConfig) -> (Instance, Timestamp) {
    let mut i = started(cfg, t(0));
    let at = i.poll_timeout().unwrap();
    i.handle_timeout(at);
    assert_eq!(i.state(), State::Master);
    drain(&mut i);
    (i, at)
}

/// Encode an advert as a peer with the same VRID/VIPs would send it.
fn advert_from(cfg: &InstanceConfig, src: IpAddr, prio: u8) -> (RxMeta, Vec<u8>) {
    advert_with(
        cfg,
        src,
        prio,
        cfg.advert_interval,
        cfg.virtual_addresses.clone(),
    )
}

fn advert_with(
    cfg: &InstanceConfig,
    src: IpAddr,
    prio: u8,
    interval: Interval,
    addresses: Vec<IpAddr>,
) -> (RxMeta, Vec<u8>) {
    let dst = Family::of(&src).multicast_group();
    let adv = Advertisement {
        version: cfg.version,
        vrid: cfg.vrid,
        priority: prio,
        interval,
        auth: cfg.auth,
        addresses,
    };
    let mut buf = Vec::new();
    adv.encode(src, dst, cfg.checksum_mode, &mut buf).unwrap();
    (RxMeta { src, dst, ttl: 255 }, buf)
}

fn sends(actions: &[Action]) -> Vec<&Advertisement> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SendAdvert(o) => Some(&o.advert),
            _ => None,
        })
        .collect()
}

fn has_transition(actions: &[Action], to: State) -> bool {
    actions
        .iter()
        .any(|a| matches!(a, Action::Transition(tr) if tr.to == to))
}

// ---------------------------------------------------------------- §6.1 timers

#[test]
fn rfc9568_6_1_skew_time_and_master_down_interval_v3() {
    // Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256;
    // Master_Down_Interval = (3 * Master_Adver_Interval) + Skew_Time.
    let i = Instance::new(cfg_v3(100, 10));
    assert_eq!(
        i.skew_time(),
        Duration::from_micros(60_937) + Duration::from_nanos(500)
    );
    assert_eq!(
        i.master_down_interval(),
        Duration::from_micros(360_937) + Duration::from_nanos(500)
    );
}

#[test]
fn rfc3768_6_1_skew_time_and_master_down_interval_v2() {
    // Skew_Time = (256 - Priority) / 256 seconds, independent of the interval.
    let i = Instance::new(cfg_v2(100, 1));
    assert_eq!(i.skew_time(), Duration::from_nanos(609_375_000));
    assert_eq!(
        i.master_down_interval(),
        Duration::from_nanos(3_609_375_000)
    );
    let i = Instance::new(cfg_v2(100, 3));
    assert_eq!(i.skew_time(), Duration::from_nanos(609_375_000));
}

#[test]
fn rfc9568_6_1_higher_priority_backup_has_shorter_skew() {
    let hi = Instance::new(cfg_v3(200, 100));
    let lo = Instance::new(cfg_v3(50, 100));
    assert!(hi.master_down_interval() < lo.master_down_interval());
}

// --------------------------------------------------------- §6.4.1 Initialize

#[test]
fn rfc9568_6_4_1_owner_becomes_master_at_startup() {
    let mut i = Instance::new(cfg_v3(255, 100));
    i.handle_event(t(0), Event::Startup);
    let a = drain(&mut i);
    assert_eq!(i.state(), State::Master);
    // Send an ADVERTISEMENT, announce the addresses (gratuitous ARP).
    assert_eq!(sends(&a).len(), 1);
    assert_eq!(sends(&a)[0].priority, 255);
    assert!(a.iter().any(|x| matches!(x, Action::Announce { .. })));
    // Owner always accepts traffic for its own addresses.
    assert!(a
        .iter()
        .any(|x| matches!(x, Action::AddAddresses { accept: true, .. })));
    // Set the Adver_Timer to Advertisement_Interval.
    assert_eq!(i.poll_timeout(), Some(t(1000)));
}

#[test]
fn rfc9568_6_4_1_non_owner_starts_as_backup_with_master_down_timer() {
    let mut i = Instance::new(cfg_v3(100, 100));
    i.handle_event(t(0), Event::Startup);
    let a = drain(&mut i);
    assert_eq!(i.state(), State::Backup);
    assert!(sends(&a).is_empty(), "a backup does not advertise");
    assert!(!a.iter().any(|x| matches!(x, Action::AddAddresses { .. })));
    assert_eq!(i.master_adver_interval(), Interval::from_centis(100));
    assert_eq!(i.poll_timeout(), Some(t(0) + i.master_down_interval()));
}

// ------------------------------------------------------------- §6.4.2 Backup

#[test]
fn rfc9568_6_4_2_backup_does_not_hold_addresses_or_advertise() {
    let cfg = cfg_v3(100, 100);
    let mut i = started(cfg.clone(), t(0));
    let (m, b) = advert_from(&cfg, ip(PEER), 200);
    for k in 0..10 {
        i.handle_packet(t(k * 1000), &m, &b).unwrap();
        i.handle_timeout(t(k * 1000));
        let a = drain(&mut i);
        assert!(a.is_empty(), "backup produced {a:?}");
    }
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn rfc9568_6_4_2_shutdown_in_backup_goes_to_initialize() {
    let mut i = started(cfg_v3(100, 100), t(0));
    i.handle_event(t(10), Event::Shutdown);
    let a = drain(&mut i);
    assert_eq!(i.state(), State::Initialize);
    assert!(sends(&a).is_empty());
    assert_eq!(i.poll_timeout(), None, "Master_Down_Timer cancelled");
}

#[test]
fn rfc9568_6_4_2_master_down_timer_fires_takeover() {
    let mut i = started(cfg_v3(100, 100), t(0));
    let at = i.poll_timeout().unwrap();
    i.handle_timeout(at - Duration::from_nanos(1));
    assert_eq!(
        i.state(),
        State::Backup,
        "a timeout before the deadline is a no-op"
    );
    i.handle_timeout(at);
    let a = drain(&mut i);
    assert_eq!(i.state(), State::Master);
    assert_eq!(sends(&a).len(), 1, "send an ADVERTISEMENT");
    assert!(
        a.iter().any(|x| matches!(x, Action::Announce { .. })),
        "gratuitous ARP"
    );
    assert!(a
        .iter()
        .any(|x| matches!(x, Action::AddAddresses { accept: false, .. })));
    assert!(a.iter().any(|x| matches!(
        x,
        Action::Transition(tr) if tr.from == State::Backup && tr.reason == Reason::MasterDown
    )));
    assert_eq!(
        i.poll_timeout(),
        Some(at + Duration::from_secs(1)),
        "Adver_Timer armed"
    );
}

#[test]
fn rfc9568_6_4_2_priority_zero_sets_master_down_to_skew_time() {
    let cfg = cfg_v3(100, 100);
    let mut i = started(cfg.clone(), t(0));
    let (m, b) = advert_from(&cfg, ip(PEER), 0);
    i.handle_packet(t(500), &m, &b).unwrap();
    assert_eq!(i.poll_timeout(), Some(t(500) + i.skew_time()));
    i.handle_timeout(t(500) + i.skew_time());
    assert_eq!(i.state(), State::Master);
    assert!(drain(&mut i).iter().any(|x| matches!(
        x,
        Action::Transition(tr) if tr.reason == Reason::MasterResigned
    )));
}

#[test]
fn rfc9568_6_4_2_higher_priority_advert_resets_master_down_timer() {
    let cfg = cfg_v3(100, 100);
    let mut i = started(cfg.clone(), t(0));
    let (m, b) = advert_from(&cfg, ip(PEER), 200);
    i.handle_packet(t(3000), &m, &b).unwrap();
    assert_eq!(i.poll_timeout(), Some(t(3000) + i.master_down_interval()));
    assert_eq!(i.master().map(|m| m.address), Some(ip(PEER)));
}

#[test]
fn rfc9568_6_4_2_equal_priority_advert_is_accepted_in_backup() {
    let cfg = cfg_v3(100, 100);
    let mut i = started(cfg.clone(), t(0));
    let (m, b) = advert_from(&cfg, ip("192.0.2.1"), 100);
    i.handle_packet(t(3000), &m, &b).unwrap();
    assert_eq!(i.poll_timeout(), Some(t(3000) + i.master_down_interval()));
}

#[test]
fn rfc9568_6_4_2_preempt_discards_lower_priority_advert() {
    let cfg = cfg_v3(100, 100);
    let mut i = started(cfg.clone(), t(0));
    let first = i.poll_timeout().unwrap();
    let (m, b) = advert_from(&cfg, ip(PEER), 50);
    i.handle_packet(t(1000), &m, &b).unwrap();
    // Discarded: the timer is not reset, so we preempt when it fires.
    assert_eq!(i.poll_timeout(), Some(first));
    i.handle_timeout(first);
    assert_eq!(i.state(), State::Master);
}

#[test]
fn rfc9568_6_4_2_nopreempt_accepts_lower_priority_master() {
    let mut cfg = cfg_v3(100, 100);
    cfg.preempt = false;
    let mut i = started(cfg.clone(), t(0));
    let (m, b) = advert_from(&cfg, ip(PEER), 50);
    for k in 1..20 {
        i.handle_packet(t(k * 1000), &m, &b).unwrap();
        i.handle_timeout(t(k * 1000));
    }
    assert_eq!(
        i.state(),
        State::Backup,
        "Preempt_Mode False: lower master is kept"
    );
}

#[test]
fn rfc9568_6_4_2_v3_backup_learns_master_adver_interval() {
    let cfg = cfg_v3(100, 100);
    let mut i = started(cfg.clone(), t(0));
    let (m, b) = advert_with(
        &cfg,
        ip(PEER),
        200,
        Interval::from_centis(250),
        cfg.virtual_addresses.clone(),
    );
    i.handle_packet(t(100), &m, &b).unwrap();
    assert_eq!(i.master_adver_interval(), Interval::from_centis(250));
    // MDI = 3 * 2.5 s + (156 * 2.5 s) / 256.
    assert_eq!(
        i.master_down_interval(),
        Duration::from_millis(7500) + Duration::from_micros(1_523_437) + Duration::from_nanos(500)
    );
    assert_eq!(i.poll_timeout(), Some(t(100) + i.master_down_interval()));
}

// ------------------------------------------------------------- §6.4.3 Master

#[test]
fn rfc9568_6_4_3_adver_timer_sends_and_rearms() {
    let (mut i, at) = master(cfg_v3(100, 10));
    for k in 1..=5u32 {
        let next = at + Duration::from_millis(100) * k;
        assert_eq!(i.poll_timeout(), Some(next));
        i.handle_timeout(next);
        let a = drain(&mut i);
        assert_eq!(sends(&a).len(), 1);
        assert_eq!(sends(&a)[0].priority, 100);
    }
}

#[test]
fn rfc9568_6_4_3_shutdown_sends_priority_zero_and_releases() {
    let (mut i, at) = master(cfg_v3(100, 100));
    i.handle_event(at, Event::Shutdown);
    let a = drain(&mut i);
    assert_eq!(i.state(), State::Initialize);
    assert_eq!(sends(&a).len(), 1);
    assert_eq!(
        sends(&a)[0].priority,
        0,
        "Send an ADVERTISEMENT with Priority = 0"
    );
    assert!(a
        .iter()
        .any(|x| matches!(x, Action::RemoveAddresses { .. })));
    assert_eq!(i.poll_timeout(), None, "Adver_Timer cancelled");
    assert_eq!(i.stats().priority_zero_sent, 1);
}

#[test]
fn rfc9568_6_4_3_priority_zero_received_sends_advert_and_resets_timer() {
    let cfg = cfg_v3(100, 100);
    let (mut i, at) = master(cfg.clone());
    let (m, b) = advert_from(&cfg, ip(PEER), 0);
    let now = at + Duration::from_millis(300);
    i.handle_packet(now, &m, &b).unwrap();
    let a = drain(&mut i);
    assert_eq!(sends(&a).len(), 1);
    assert_eq!(i.poll_timeout(), Some(now + Duration::from_secs(1)));
    assert_eq!(i.state(), State::Master);
}

#[test]
fn rfc9568_6_4_3_higher_priority_advert_makes_master_backup() {
    let cfg = cfg_v3(100, 100);
    let (mut i, at) = master(cfg.clone());
    let (m, b) = advert_with(
        &cfg,
        ip(PEER),
        200,
        Interval::from_centis(50),
        cfg.virtual_addresses.clone(),
    );
    i.handle_packet(at, &m, &b).unwrap();
    let a = drain(&mut i);
    assert_eq!(i.state(), State::Backup);
    assert!(a
        .iter()
        .any(|x| matches!(x, Action::RemoveAddresses { .. })));
    assert!(sends(&a).is_empty(), "Cancel Adver_Timer");
    // Set Master_Adver_Interval from the advert; Master_Down_Timer to MDI.
    assert_eq!(i.master_adver_interval(), Interval::from_centis(50));
    assert_eq!(i.poll_timeout(), Some(at + i.master_down_interval()));
}

#[test]
fn rfc9568_6_4_3_equal_priority_higher_address_wins() {
    let cfg = cfg_v3(100, 100);
    let (mut i, at) = master(cfg.clone());
    let (m, b) = advert_from(&cfg, ip("192.0.2.200"), 100);
    i.handle_packet(at, &m, &b).unwrap();
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn rfc9568_6_4_3_equal_priority_lower_address_is_discarded() {
    let cfg = cfg_v3(100, 100);
    let (mut i, at) = master(cfg.clone());
    let (m, b) = advert_from(&cfg, ip("192.0.2.2"), 100);
    i.handle_packet(at, &m, &b).unwrap();
    assert_eq!(i.state(), State::Master);
    assert!(drain(&mut i).is_empty());
}

#[test]
fn rfc9568_6_4_3_ipv6_tie_break_compares_link_local_sources() {
    let cfg = cfg_v6(100, 100);
    let (mut i, at) = master(cfg.clone());
    let (m, b) = advert_from(&cfg, ip("fe80::10"), 100);
    i.handle_packet(at, &m, &b).unwrap();
    assert_eq!(i.state(), State::Master, "fe80::10 < fe80::11");
    let (m, b) = advert_from(&cfg, ip("fe80::12"), 100);
    i.handle_packet(at, &m, &b).unwrap();
    assert_eq!(i.state(), State::Backup, "fe80::12 > fe80::11");
}

#[test]
fn rfc9568_6_4_3_lower_priority_advert_is_discarded() {
    let cfg = cfg_v3(100, 100);
    let (mut i, at) = master(cfg.clone());
    let (m, b) = advert_from(&cfg, ip(PEER), 50);
    i.handle_packet(at, &m, &b).unwrap();
    assert_eq!(i.state(), State::Master);
    assert!(drain(&mut i).is_empty(), "strict RFC: nothing happens");
}

// ------------------------------------------------------ §7.1 receive checks

fn backup_v3() -> (Instance, InstanceConfig) {
    let cfg = cfg_v3(100, 100);
    (started(cfg.clone(), t(0)), cfg)
}

#[test]
fn rfc9568_7_1_ttl_must_be_255() {
    let (mut i, cfg) = backup_v3();
    let (mut m, b) = advert_from(&cfg, ip(PEER), 200);
    m.ttl = 254;
    assert_eq!(i.handle_packet(t(1), &m, &b), Err(DropReason::BadTtl));
    assert_eq!(i.stats().drops.get(DropReason::BadTtl), 1);
}

#[test]
fn rfc9568_7_1_version_must_match() {
    let (mut i, cfg) = backup_v3();
    let mut v2 = cfg.clone();
    v2.version = Version::V2;
    let (m, b) = advert_from(&v2, ip(PEER), 200);
    assert_eq!(
        i.handle_packet(t(1), &m, &b),
        Err(DropReason::VersionMismatch)
    );
    let mut bad = b.clone();
    bad[0] = 0x41;
    assert_eq!(i.handle_packet(t(1), &m, &bad), Err(DropReason::BadVersion));
}

#[test]
fn rfc9568_7_1_packet_must_be_complete() {
    let (mut i, cfg) = backup_v3();
    let (m, b) = advert_from(&cfg, ip(PEER), 200);
    assert_eq!(
        i.handle_packet(t(1), &m, &b[..b.len() - 1]),
        Err(DropReason::BadLength)
    );
    assert_eq!(
        i.handle_packet(t(1), &m, &b[..5]),
        Err(DropReason::TooShort)
    );
    let mut long = b.clone();
    long.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(i.handle_packet(t(1), &m, &long), Err(DropReason::BadLength));
}

#[test]
fn rfc9568_7_1_checksum_must_verify() {
    let (mut i, cfg) = backup_v3();
    let (m, mut b) = advert_from(&cfg, ip(PEER), 200);
    b[6] ^= 0x01;
    assert_eq!(i.handle_packet(t(1), &m, &b), Err(DropReason::BadChecksum));
    // The v3 checksum covers the pseudo-header: a spoofed source fails too.
    let (mut m, b) = advert_from(&cfg, ip(PEER), 200);
    m.src = ip("192.0.2.13");
    assert_eq!(i.handle_packet(t(1), &m, &b), Err(DropReason::BadChecksum));
}

#[test]
fn rfc9568_7_1_unknown_vrid_is_dropped() {
    let cfg = cfg_v3(100, 100);
    let mut r = Router::new();
    r.add_instance(1, cfg.clone()).unwrap();
    r.handle_event_all(t(0), Event::Startup);
    let mut other = cfg.clone();
    other.vrid = 52;
    let (m, b) = advert_from(&other, ip(PEER), 200);
    assert_eq!(
        r.handle_packet(t(1), 1, &m, &b),
        Err(DropReason::UnknownVrid)
    );
    // The same VRID on another interface is another virtual router.
    let (m, b) = advert_from(&cfg, ip(PEER), 200);
    assert_eq!(
        r.handle_packet(t(1), 2, &m, &b),
        Err(DropReason::UnknownVrid)
    );
    assert!(r.handle_packet(t(1), 1, &m, &b).is_ok());
    assert_eq!(r.drops().get(DropReason::UnknownVrid), 2);
}

#[test]
fn rfc9568_7_1_address_owner_ignores_adverts() {
    let cfg = cfg_v3(255, 100);
    let mut i = started(cfg.clone(), t(0));
    let (m, b) = advert_from(&cfg, ip(PEER), 254);
    assert_eq!(i.handle_packet(t(1), &m, &b), Err(DropReason::LocalIsOwner));
    assert_eq!(i.state(), State::Master);
}

#[test]
fn rfc9568_7_1_address_list_mismatch_dropped_unless_from_owner() {
    let (mut i, cfg) = backup_v3();
    let (m, b) = advert_with(
        &cfg,
        ip(PEER),
        200,
        cfg.advert_interval,
        vec![ip("192.0.2.99")],
    );
    assert_eq!(
        i.handle_packet(t(1), &m, &b),
        Err(DropReason::AddressListMismatch)
    );
    let (m, b) = advert_with(
        &cfg,
        ip(PEER),
        255,
        cfg.advert_interval,
        vec![ip("192.0.2.99")],
    );
    assert!(
        i.handle_packet(t(1), &m, &b).is_ok(),
        "the owner's list is authoritative"
    );
}

#[test]
fn rfc9568_7_1_address_check_can_be_disabled() {
    let mut cfg = cfg_v3(100, 100);
    cfg.check_addresses = false;
    let mut i = started(cfg.clone(), t(0));
    let (m, b) = advert_with(&cfg, ip(PEER), 200, cfg.advert_interval, vec![]);
    assert!(i.handle_packet(t(1), &m, &b).is_ok());
}

#[test]
fn rfc9568_7_1_v3_interval_mismatch_is_accepted() {
    let (mut i, cfg) = backup_v3();
    let (m, b) = advert_with(
        &cfg,
        ip(PEER),
        200,
        Interval::from_centis(7),
        cfg.virtual_addresses.clone(),
    );
    assert!(i.handle_packet(t(1), &m, &b).is_ok());
}

#[test]
fn rfc3768_7_1_v2_interval_mismatch_is_dropped() {
    let cfg = cfg_v2(100, 1);
    let mut i = started(cfg.clone(), t(0));
    let (m, b) = advert_with(
        &cfg,
        ip(PEER),
        200,
        Interval::from_secs(2),
        cfg.virtual_addresses.clone(),
    );
    assert_eq!(
        i.handle_packet(t(1), &m, &b),
        Err(DropReason::IntervalMismatch)
    );
}

#[test]
fn rfc3768_7_1_auth_type_must_match() {
    let mut cfg = cfg_v2(100, 1);
    cfg.auth = Auth::simple("secret1");
    let mut i = started(cfg.clone(), t(0));
    let mut none = cfg.clone();
    none.auth = Auth::None;
    let (m, b) = advert_from(&none, ip(PEER), 200);
    assert_eq!(
        i.handle_packet(t(1), &m, &b),
        Err(DropReason::AuthTypeMismatch)
    );
    let (m, b) = advert_from(&cfg, ip(PEER), 200);
    assert!(i.handle_packet(t(1), &m, &b).is_ok());
}

#[test]
fn rfc3768_7_1_wrong_password_is_dropped() {
    let mut cfg = cfg_v2(100, 1);
    cfg.auth = Auth::simple("secret1");
    let mut i = started(cfg.clone(), t(0));
    let mut rogue = cfg.clone();
    rogue.auth = Auth::simple("guess");
    let (m, b) = advert_from(&rogue, ip(PEER), 254);
    assert_eq!(i.handle_packet(t(1), &m, &b), Err(DropReason::AuthFailure));
    assert_eq!(i.master(), None, "the rogue is not taken as master");
}

#[test]
fn rfc3768_5_3_6_ah_is_recognised_and_rejected() {
    let cfg = cfg_v2(100, 1);
    let mut i = started(cfg.clone(), t(0));
    let mut ah = cfg.clone();
    ah.auth = Auth::Ah([0; 8]);
    let (m, b) = advert_from(&ah, ip(PEER), 200);
    assert_eq!(i.handle_packet(t(1), &m, &b), Err(DropReason::AuthAh));
}

#[test]
fn rfc3768_5_3_10_no_auth_ignores_auth_data() {
    let cfg = cfg_v2(100, 1);
    let mut i = started(cfg.clone(), t(0));
    let (m, mut b) = advert_from(&cfg, ip(PEER), 200);
    // Put garbage in the auth data and fix the checksum.
    let n = b.len();
    b[n - 8..].copy_from_slice(b"garbage!");
    b[6] = 0;
    b[7] = 0;
    let sum = vigil_vrrp::packet::checksum(Version::V2, ChecksumMode::Rfc, m.src, m.dst, &b);
    b[6..8].copy_from_slice(&sum.to_be_bytes());
    assert!(i.handle_packet(t(1), &m, &b).is_ok());
}

#[test]
fn keepalived_unicast_rejects_multicast_and_strangers() {
    let mut cfg = cfg_v3(100, 100);
    cfg.unicast_peers = vec![ip(PEER)];
    let mut i = started(cfg.clone(), t(0));
    let (m, b) = advert_from(&cfg, ip(PEER), 200);
    assert_eq!(
        i.handle_packet(t(1), &m, &b),
        Err(DropReason::WrongDestination)
    );
    // Unicast to us from the peer: fine (TTL is not required to be 255).
    let adv = Advertisement::decode(&b, m.src, m.dst, ChecksumMode::Rfc).unwrap();
    let mut u = Vec::new();
    adv.encode(ip(PEER), ip(ME), ChecksumMode::Rfc, &mut u)
        .unwrap();
    let um = RxMeta {
        src: ip(PEER),
        dst: ip(ME),
        ttl: 64,
    };
    assert!(i.handle_packet(t(1), &um, &u).is_ok());
    let mut s = Vec::new();
    adv.encode(ip("192.0.2.66"), ip(ME), ChecksumMode::Rfc, &mut s)
        .unwrap();
    let sm = RxMeta {
        src: ip("192.0.2.66"),
        dst: ip(ME),
        ttl: 255,
    };
    assert_eq!(i.handle_packet(t(1), &sm, &s), Err(DropReason::NotAPeer));
}

#[test]
fn own_looped_back_advert_is_ignored() {
    let (mut i, cfg) = backup_v3();
    let (m, b) = advert_from(&cfg, ip(ME), 200);
    assert_eq!(i.handle_packet(t(1), &m, &b), Err(DropReason::OwnAdvert));
}

// ------------------------------------------------------------ §7.2 transmit

#[test]
fn rfc9568_7_2_adverts_go_to_the_multicast_group_from_the_primary_address() {
    let (mut i, at) = master(cfg_v3(100, 100));
    i.handle_timeout(at + Duration::from_secs(1));
    let a = drain(&mut i);
    let Some(Action::SendAdvert(o)) = a.first() else {
        panic!("{a:?}")
    };
    assert_eq!(o.dst, IpAddr::V4(MULTICAST_V4));
    assert_eq!(o.src, ip(ME));
    let (mut i6, at6) = master(cfg_v6(100, 100));
    i6.handle_timeout(at6 + Duration::from_secs(1));
    let a = drain(&mut i6);
    let Some(Action::SendAdvert(o)) = a.first() else {
        panic!("{a:?}")
    };
    assert_eq!(o.dst, IpAddr::V6(MULTICAST_V6));
    assert_eq!(
        o.src,
        ip("fe80::11"),
        "IPv6 adverts come from the link-local address"
    );
    // The encoded message checks out for its own src/dst.
    let mut buf = Vec::new();
    o.encode(&mut buf).unwrap();
    assert!(Advertisement::decode(&buf, o.src, o.dst, ChecksumMode::Rfc).is_ok());
}

#[test]
fn unicast_adverts_go_to_each_peer() {
    let mut cfg = cfg_v3(100, 100);
    cfg.unicast_peers = vec![ip(PEER), ip("192.0.2.13")];
    let (mut i, at) = master(cfg);
    i.handle_timeout(at + Duration::from_secs(1));
    let dsts: Vec<IpAddr> = drain(&mut i)
        .into_iter()
        .filter_map(|a| match a {
            Action::SendAdvert(o) => Some(o.dst),
            _ => None,
        })
        .collect();
    assert_eq!(dsts, vec![ip(PEER), ip("192.0.2.13")]);
}

#[test]
fn rfc9568_7_3_virtual_router_mac() {
    assert_eq!(virtual_mac(Family::V4, 51), [0, 0, 0x5e, 0, 1, 51]);
    assert_eq!(virtual_mac(Family::V6, 255), [0, 0, 0x5e, 0, 2, 255]);
}

// ------------------------------------------------- keepalived's extensions

#[test]
fn keepalived_preempt_delay_holds_off_then_preempts() {
    let mut cfg = cfg_v3(150, 100);
    cfg.preempt_delay = Duration::from_secs(5);
    let mut i = started(cfg.clone(), t(0));
    let (m, b) = advert_from(&cfg, ip(PEER), 100);
    // A lower-priority master advertising every second is tolerated for 5 s.
    let mut now = t(500);
    while i.state() == State::Backup && now < t(20_000) {
        i.handle_packet(now, &m, &b).unwrap();
        i.handle_timeout(now);
        now = now + Duration::from_secs(1);
    }
    let took_over = now - Duration::from_secs(1);
    assert_eq!(i.state(), State::Master);
    assert!(
        took_over >= t(5500) && took_over <= t(6500),
        "took over at {took_over}"
    );
    assert!(drain(&mut i)
        .iter()
        .any(|x| matches!(x, Action::Transition(tr) if tr.reason == Reason::PreemptDelay)));
}

#[test]
fn keepalived_initial_state_master_waits_one_interval() {
    let mut cfg = cfg_v3(100, 100);
    cfg.initial_state = InitialState::Master;
    let i = started(cfg, t(0));
    assert_eq!(i.state(), State::Backup);
    assert_eq!(i.poll_timeout(), Some(t(1000) + i.skew_time()));
}

#[test]
fn keepalived_master_answers_lower_priority_once_per_holdoff() {
    let mut cfg = cfg_v3(150, 100);
    cfg.announce.lower_prio_holdoff = Some(Duration::from_secs(1));
    let (mut i, at) = master(cfg.clone());
    let (m, b) = advert_from(&cfg, ip(PEER), 100);
    i.handle_packet(at, &m, &b).unwrap();
    let a = drain(&mut i);
    assert_eq!(
        sends(&a).len(),
        1,
        "immediate advert heals a partition at once"
    );
    assert!(a.iter().any(|x| matches!(x, Action::Announce { .. })));
    i.handle_packet(at + Duration::from_millis(500), &m, &b)
        .unwrap();
    assert!(drain(&mut i).is_empty(), "held off");
    i.handle_packet(at + Duration::from_millis(1500), &m, &b)
        .unwrap();
    assert_eq!(sends(&drain(&mut i)).len(), 1);
}

#[test]
fn keepalived_garp_master_delay_sends_second_burst() {
    let mut cfg = cfg_v3(100, 100);
    cfg.announce.master_delay = Some(Duration::from_secs(5));
    cfg.announce.repeat = 5;
    let (mut i, at) = master(cfg);
    let mut bursts = 0;
    let mut now = at;
    while now <= at + Duration::from_secs(6) {
        now = i.poll_timeout().unwrap();
        i.handle_timeout(now);
        bursts += drain(&mut i)
            .iter()
            .filter(|a| matches!(a, Action::Announce { repeat: 5, .. }))
            .count();
    }
    assert_eq!(bursts, 1, "one delayed burst after the initial one");
}

#[test]
fn fault_from_master_resigns_and_recovers_to_backup() {
    let (mut i, at) = master(cfg_v3(100, 100));
    i.handle_event(at, Event::SetFault(true));
    let a = drain(&mut i);
    assert_eq!(i.state(), State::Fault);
    assert_eq!(
        sends(&a)[0].priority,
        0,
        "keepalived sends priority 0 on fault"
    );
    assert!(a
        .iter()
        .any(|x| matches!(x, Action::RemoveAddresses { .. })));
    assert_eq!(i.poll_timeout(), None, "no adverts in Fault");
    i.handle_event(at, Event::SetFault(false));
    assert_eq!(i.state(), State::Backup);
    assert!(has_transition(&drain(&mut i), State::Backup));
}

#[test]
fn fault_before_startup_starts_in_fault() {
    let mut i = Instance::new(cfg_v3(100, 100));
    i.handle_event(t(0), Event::SetFault(true));
    assert_eq!(i.state(), State::Initialize);
    i.handle_event(t(0), Event::Startup);
    assert_eq!(i.state(), State::Fault);
}

#[test]
fn priority_change_is_carried_in_next_advert() {
    let (mut i, at) = master(cfg_v3(100, 100));
    i.handle_event(at, Event::SetPriority(80));
    i.handle_timeout(at + Duration::from_secs(1));
    assert_eq!(sends(&drain(&mut i))[0].priority, 80);
}

#[test]
fn sync_group_members_follow_each_other() {
    let mut r = Router::new();
    let a = r.add_instance(1, cfg_v3(100, 100)).unwrap();
    let mut c2 = cfg_v3(100, 100);
    c2.vrid = 52;
    let b = r.add_instance(1, c2.clone()).unwrap();
    r.add_sync_group(&[a, b]).unwrap();
    r.handle_event_all(t(0), Event::Startup);
    // Nobody speaks on either VRID: both timers fire, the group goes master.
    while r.instance(a).unwrap().state() != State::Master {
        let at = r.poll_timeout().unwrap();
        r.handle_timeout(at);
    }
    assert_eq!(r.instance(b).unwrap().state(), State::Master, "b follows a");
    // A higher-priority master on b's VRID takes the whole group to Backup.
    let (m, pkt) = advert_from(&c2, ip(PEER), 200);
    r.handle_packet(t(5000), 1, &m, &pkt).unwrap();
    assert_eq!(r.instance(b).unwrap().state(), State::Backup);
    assert_eq!(r.instance(a).unwrap().state(), State::Backup, "a follows b");
    // Fault of one member takes the whole group to Fault.
    r.handle_event(t(5000), a, Event::SetFault(true));
    assert_eq!(r.instance(b).unwrap().state(), State::Fault);
    r.handle_event(t(5000), a, Event::SetFault(false));
    assert_eq!(r.instance(a).unwrap().state(), State::Backup);
    assert_eq!(r.instance(b).unwrap().state(), State::Backup);
}

#[test]
fn keepalived_sync_group_prefers_backup_to_thrashing() {
    // a hears nobody, b keeps hearing a better master: the group must not
    // take a to Master (which would drag b to Master, lose to the better
    // master, drag a back, ... every Master_Down_Interval).
    let mut r = Router::new();
    let a = r.add_instance(1, cfg_v3(150, 100)).unwrap();
    let mut c2 = cfg_v3(50, 100);
    c2.vrid = 52;
    let b = r.add_instance(1, c2.clone()).unwrap();
    r.add_sync_group(&[a, b]).unwrap();
    r.handle_event_all(t(0), Event::Startup);
    let (m, pkt) = advert_from(&c2, ip(PEER), 200);
    let mut now = t(0);
    while now < t(20_000) {
        r.handle_packet(now, 1, &m, &pkt).unwrap();
        now = now + Duration::from_secs(1);
        r.handle_timeout(now);
        assert_eq!(r.instance(a).unwrap().state(), State::Backup, "at {now}");
        assert_eq!(r.instance(b).unwrap().state(), State::Backup, "at {now}");
    }
    assert!(r.instance(a).unwrap().wants_master());
    // Once b's master goes silent, the whole group takes over.
    while r.instance(a).unwrap().state() != State::Master {
        let at = r.poll_timeout().unwrap();
        r.handle_timeout(at);
    }
    assert_eq!(r.instance(b).unwrap().state(), State::Master);
}

#[test]
fn zero_refresh_period_is_rejected() {
    let mut c = cfg_v3(100, 100);
    c.announce.refresh = Some(Duration::ZERO);
    assert!(c.validate().is_err());
}

#[test]
fn duplicate_vrid_on_one_interface_is_rejected() {
    let mut r = Router::new();
    r.add_instance(1, cfg_v3(100, 100)).unwrap();
    assert!(r.add_instance(1, cfg_v3(50, 100)).is_err());
    // Another family is another virtual router (RFC 9568 §1).
    assert!(r.add_instance(1, cfg_v6(50, 100)).is_ok());
    assert!(r.add_instance(2, cfg_v3(50, 100)).is_ok());
}

#[test]
fn config_validation_rejects_impossible_setups() {
    let mut c = cfg_v2(100, 1);
    c.advert_interval = Interval::from_centis(50);
    assert!(c.validate().is_err(), "v2 needs whole seconds");
    let mut c = cfg_v3(100, 100);
    c.advert_interval = Interval::from_centis(0);
    assert!(c.validate().is_err());
    let mut c = cfg_v6(100, 100);
    c.version = Version::V2;
    assert!(c.validate().is_err(), "v2 is IPv4 only");
    let mut c = cfg_v3(100, 100);
    c.auth = Auth::simple("x");
    assert!(c.validate().is_err(), "v3 has no auth");
    let mut c = cfg_v3(100, 100);
    c.virtual_addresses.push(ip("2001:db8::1"));
    assert!(c.validate().is_err(), "one family per instance");
}

#[test]
fn keepalived_old_unicast_checksum_is_accepted_from_unicast_peers() {
    let mut cfg = cfg_v3(100, 100);
    cfg.unicast_peers = vec![ip(PEER)];
    let mut i = started(cfg.clone(), t(0));
    let adv = Advertisement {
        version: Version::V3,
        vrid: 51,
        priority: 200,
        interval: cfg.advert_interval,
        auth: Auth::None,
        addresses: cfg.virtual_addresses.clone(),
    };
    let mut b = Vec::new();
    adv.encode(ip(PEER), ip(ME), ChecksumMode::OldUnicast, &mut b)
        .unwrap();
    let m = RxMeta {
        src: ip(PEER),
        dst: ip(ME),
        ttl: 255,
    };
    assert!(i.handle_packet(t(1), &m, &b).is_ok());
}

#[test]
fn late_wakeups_do_not_stretch_the_advert_period() {
    // The shell may wake up late (timer granularity, scheduling); the
    // Adver_Timer must stay on its grid, or a 10 ms master would advertise
    // every 11 ms and eat the backups' Master_Down_Interval margin.
    let (mut i, at) = master(cfg_v3(100, 1));
    for k in 1..=100u32 {
        let due = at + Duration::from_millis(10) * k;
        assert_eq!(i.poll_timeout(), Some(due), "advert {k}");
        i.handle_timeout(due + Duration::from_millis(1));
        assert_eq!(sends(&drain(&mut i)).len(), 1);
    }
}

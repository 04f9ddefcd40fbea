//! Fuzz harnesses for vigil-vrrp, shared by the cargo-fuzz targets in
//! `fuzz_targets/` and by the replay test in `tests/corpus.rs` (which runs
//! every seed and every regression input on stable Rust).
//!
//! * [`decode`]: arbitrary bytes as a VRRP message over IPv4 and IPv6:
//!   parse, every accessor, checksum, owned copy, and re-encode round trip.
//! * [`instance`]: arbitrary bytes as a script of packets (raw or
//!   well-formed), events and clock jumps fed to two stand-alone
//!   [`Instance`]s (a Backup and a Master) and a [`Router`] with several
//!   instances and a sync group, which share a LAN. Besides "never panics",
//!   it checks invariants every shell relies on.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use vigil_vrrp::{
    Action, Advertisement, Auth, ChecksumMode, EncodeError, Event, Family, InitialState, Instance,
    InstanceConfig, InstanceId, Interval, Packet, Router, RxMeta, State, Timestamp, Version,
    MULTICAST_V4, MULTICAST_V6,
};

/// Source and destination the decode target checks checksums against (the
/// seeds are encoded with these).
pub fn decode_addrs(family: Family) -> (IpAddr, IpAddr) {
    match family {
        Family::V4 => (
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 12)),
            IpAddr::V4(MULTICAST_V4),
        ),
        Family::V6 => (
            IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x12)),
            IpAddr::V6(MULTICAST_V6),
        ),
    }
}

/// Every checksum flavour.
const MODES: [ChecksumMode; 3] = [
    ChecksumMode::Rfc,
    ChecksumMode::V2Compat,
    ChecksumMode::OldUnicast,
];

/// The `vrrp_decode` target.
pub fn decode(data: &[u8]) {
    for family in [Family::V4, Family::V6] {
        decode_as(data, family);
    }
}

fn decode_as(data: &[u8], family: Family) {
    let (src, dst) = decode_addrs(family);
    let Ok(p) = Packet::parse(data, family) else {
        for mode in MODES {
            assert!(Advertisement::decode(data, src, dst, mode).is_err());
        }
        return;
    };
    // Accessors.
    assert_eq!(p.family(), family);
    assert_eq!(p.as_bytes(), data);
    let (vrid, prio, count) = (p.vrid(), p.priority(), p.count());
    let _ = p.checksum_field();
    let interval = p.interval();
    let auth = p.auth();
    let addrs: Vec<IpAddr> = p.addresses().collect();
    assert_eq!(addrs.len(), usize::from(count));
    assert!(addrs.iter().all(|a| Family::of(a) == family));
    if p.version() == Version::V3 {
        assert_eq!(auth, Auth::None);
        assert!(interval.centis() <= 0x0fff);
    } else {
        assert_eq!(family, Family::V4);
        assert_eq!(interval.centis() % 100, 0);
    }
    let adv = p.to_advertisement();
    assert_eq!(
        (adv.version, adv.vrid, adv.priority, adv.interval, adv.auth),
        (p.version(), vrid, prio, interval, auth)
    );
    assert_eq!(adv.addresses, addrs);
    assert_eq!(adv.encoded_len(family), data.len());

    // Multicast, and unicast (where OldUnicast differs from Rfc).
    let unicast = match family {
        Family::V4 => v4(13),
        Family::V6 => v6(13),
    };
    for (dst, mode) in [dst, unicast]
        .into_iter()
        .flat_map(|d| MODES.map(|m| (d, m)))
    {
        let ok = p.checksum_ok(src, dst, mode);
        match Advertisement::decode(data, src, dst, mode) {
            Ok(a) => {
                assert!(ok);
                assert_eq!(a, adv);
            }
            Err(_) => assert!(!ok),
        }

        // Re-encode: must succeed exactly when the interval fits the field.
        let representable = match adv.version {
            Version::V2 => adv.interval.is_v2_representable(),
            Version::V3 => adv.interval.is_v3_representable(),
        };
        let mut out = Vec::new();
        match adv.encode(src, dst, mode, &mut out) {
            Ok(()) => assert!(representable, "encoded an unrepresentable {adv:?}"),
            Err(EncodeError::Interval(..)) => {
                assert!(!representable, "refused a representable {adv:?}");
                continue;
            }
            Err(e) => panic!("encode of a parsed advert failed: {e} for {adv:?}"),
        }
        let q = match Packet::parse(&out, family) {
            Ok(q) => q,
            Err(e) => panic!("re-encoded advert does not parse: {e}: {out:02x?}"),
        };
        assert_eq!(q.to_advertisement(), adv, "round trip changed the advert");
        assert!(q.checksum_ok(src, dst, mode), "re-encoded checksum wrong");

        // Byte for byte, the re-encoding is the input with the bits the
        // receiver ignores cleared: the v3 reserved nibble and the v2 auth
        // data of Auth Type 0. The checksum matches when the input's did.
        let mut canon = data.to_vec();
        match adv.version {
            Version::V3 => canon[4] &= 0x0f,
            Version::V2 if adv.auth == Auth::None => {
                let n = canon.len();
                canon[n - 8..].fill(0);
            }
            Version::V2 => {}
        }
        let (got, want) = (&out[6..8], &data[6..8]);
        if ok && canon == data && got != want {
            // Ones'-complement arithmetic has two zeros: a received 0xffff
            // where the encoder writes 0x0000 (or the reverse) verifies too.
            let zeros = [[0x00, 0x00], [0xff, 0xff]];
            assert!(
                zeros.iter().any(|z| z == got) && zeros.iter().any(|z| z == want),
                "checksum {got:02x?} re-encoded where {want:02x?} verified"
            );
        }
        canon[6..8].copy_from_slice(got);
        assert_eq!(out, canon, "re-encoding differs from the input");
    }
}

/// Reads the fuzz input; zeros once exhausted.
struct Input<'a> {
    data: &'a [u8],
}

impl Input<'_> {
    fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    fn bytes(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.data.len());
        let (a, b) = self.data.split_at(n);
        self.data = b;
        a
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// What the harness remembers about one instance, from its actions alone.
#[derive(Debug, Clone, Copy)]
struct Shadow {
    state: State,
    holds_addresses: bool,
}

impl Default for Shadow {
    fn default() -> Self {
        Shadow {
            state: State::Initialize,
            holds_addresses: false,
        }
    }
}

/// Check one action against the shadow, and encode adverts (which must
/// succeed and verify). Returns the encoded advert, if any.
fn apply(shadow: &mut Shadow, action: &Action) -> Option<(IpAddr, IpAddr, Vec<u8>)> {
    match action {
        Action::SendAdvert(out) => {
            let mut buf = Vec::new();
            if let Err(e) = out.encode(&mut buf) {
                panic!("engine produced an advert it cannot encode: {e}: {out:?}");
            }
            let fam = Family::of(&out.src);
            let p = match Packet::parse(&buf, fam) {
                Ok(p) => p,
                Err(e) => panic!("engine's own advert does not parse: {e}"),
            };
            assert!(p.checksum_ok(out.src, out.dst, out.checksum_mode));
            assert_eq!(p.to_advertisement(), out.advert);
            Some((out.src, out.dst, buf))
        }
        Action::AddAddresses { .. } => {
            assert!(!shadow.holds_addresses, "addresses added twice");
            shadow.holds_addresses = true;
            None
        }
        Action::RemoveAddresses { .. } => {
            assert!(shadow.holds_addresses, "addresses removed but not held");
            shadow.holds_addresses = false;
            None
        }
        Action::Announce { .. } => None,
        Action::Transition(t) => {
            assert_eq!(
                t.from, shadow.state,
                "transition from a state we were not in"
            );
            assert_ne!(t.from, t.to);
            shadow.state = t.to;
            None
        }
    }
}

/// Invariants of a drained instance.
fn check(inst: &Instance, shadow: &Shadow, now: Timestamp) {
    assert_eq!(inst.state(), shadow.state, "state without a Transition");
    assert_eq!(
        shadow.holds_addresses,
        inst.state() == State::Master,
        "addresses held in {}",
        inst.state()
    );
    match inst.state() {
        // A master that stops advertising, or a backup that can never take
        // over, is stuck. (A sync-group member that heard no master waits
        // for its group without a timer: its group decides.)
        State::Master | State::Backup => {
            assert!(
                inst.poll_timeout().is_some() || inst.wants_master(),
                "{} without a timer",
                inst.state()
            )
        }
        State::Initialize | State::Fault => {}
    }
    // Every deadline due at `now` has been fired (the harness drains timers
    // before checking), except a one-shot due exactly now.
    if let Some(t) = inst.poll_timeout() {
        assert!(t >= now, "deadline {t} left behind at {now}");
    }
}

/// Fire the timers of a stand-alone instance up to `now`; `exact` steps
/// through each deadline (as the simulator does), otherwise one late wake-up
/// at `now` (as a busy daemon would).
fn run_timers_instance(
    inst: &mut Instance,
    shadow: &mut Shadow,
    now: Timestamp,
    exact: bool,
    out: &mut VecDeque<(IpAddr, IpAddr, Vec<u8>)>,
) {
    // A deadline re-armed at the very instant it fired is allowed once or
    // twice (a zero delay one-shot); more means the timer never advances and
    // a shell would spin.
    let mut stuck = 0u32;
    while let Some(t) = inst.poll_timeout().filter(|t| *t <= now) {
        let at = if exact { t } else { now };
        inst.handle_timeout(at);
        drain_instance(inst, shadow, out);
        if inst.poll_timeout().is_some_and(|n| n <= at) {
            stuck += 1;
            assert!(
                stuck < 16,
                "handle_timeout({at}) keeps re-arming at {at}: timer does not advance"
            );
        } else {
            stuck = 0;
        }
    }
}

fn drain_instance(
    inst: &mut Instance,
    shadow: &mut Shadow,
    out: &mut VecDeque<(IpAddr, IpAddr, Vec<u8>)>,
) {
    while let Some(a) = inst.poll_action() {
        if let Some(p) = apply(shadow, &a) {
            out.push_back(p);
        }
    }
}

/// A LAN: two stand-alone instances of VRID 1 and a router that also runs
/// VRID 1 (plus others) on interface 0.
struct Lan {
    now: Timestamp,
    family: Family,
    backup: Instance,
    master: Instance,
    shadows: [Shadow; 2],
    router: Router,
    router_shadows: Vec<Shadow>,
    wire: VecDeque<(IpAddr, IpAddr, Vec<u8>)>,
}

fn v4(d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, d))
}

fn v6(d: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, d))
}

fn vip(family: Family) -> IpAddr {
    match family {
        Family::V4 => v4(100),
        Family::V6 => IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100)),
    }
}

fn host(family: Family, d: u8) -> IpAddr {
    match family {
        Family::V4 => v4(d),
        Family::V6 => v6(u16::from(d)),
    }
}

/// The shared knobs of the VRID-1 instances, from two input bytes.
fn lan_config(k: u8, k2: u8, me: IpAddr, prio: u8) -> InstanceConfig {
    let family = Family::of(&me);
    let version = if family == Family::V4 && k & 0x02 != 0 {
        Version::V2
    } else {
        Version::V3
    };
    let mut c = InstanceConfig::new("VI_1", 1, me, vec![vip(family)]);
    c.version = version;
    c.priority = prio;
    c.advert_interval = match (version, (k >> 2) & 3) {
        (Version::V2, 0 | 1) => Interval::from_secs(1),
        (Version::V2, _) => Interval::from_secs(2),
        (Version::V3, 0) => Interval::from_centis(1),
        (Version::V3, 1) => Interval::from_centis(10),
        (Version::V3, 2) => Interval::from_centis(100),
        (Version::V3, _) => Interval::from_centis(0x0fff),
    };
    c.preempt = k & 0x10 == 0;
    c.preempt_delay = Duration::from_millis(u64::from(k2 & 0x0f) * 50);
    c.accept = k & 0x20 != 0;
    c.initial_state = if k & 0x40 != 0 {
        InitialState::Master
    } else {
        InitialState::Backup
    };
    c.check_addresses = k & 0x80 == 0;
    if version == Version::V2 && k2 & 0x10 != 0 {
        c.auth = Auth::simple("vigil");
    }
    if version == Version::V3 && family == Family::V4 && k2 & 0x20 != 0 {
        c.checksum_mode = ChecksumMode::V2Compat;
    }
    c.announce.master_delay = if k2 & 0x40 != 0 {
        None
    } else {
        Some(Duration::from_millis(u64::from(k2 & 0x0f) * 100))
    };
    // A zero refresh period would re-arm the refresh timer at `now` forever
    // (reported in docs/benchmarks.md); here it is 100 ms or more, which also
    // keeps an execution short.
    c.announce.refresh =
        (k2 & 0x80 != 0).then(|| Duration::from_millis(100 + u64::from(k2 & 0x0f) * 100));
    c.announce.lower_prio_holdoff = match k2 & 0x30 {
        0x00 => Some(Duration::from_secs(1)),
        0x10 => Some(Duration::ZERO),
        _ => None,
    };
    c
}

impl Lan {
    fn new(inp: &mut Input<'_>) -> Option<Lan> {
        let (k, k2) = (inp.u8(), inp.u8());
        let family = if k & 0x01 != 0 {
            Family::V6
        } else {
            Family::V4
        };
        let cb = lan_config(k, k2, host(family, 11), 100);
        let cm = lan_config(k, k2, host(family, 12), 200);
        let cr = lan_config(k, k2, host(family, 13), 50);
        for c in [&cb, &cm, &cr] {
            c.validate().ok()?;
        }
        let mut router = Router::new();
        let lan_id = router.add_instance(0, cr).ok()?;
        // VRID 2: IPv4 address owner.
        let mut owner = InstanceConfig::new("VI_2", 2, v4(13), vec![v4(13)]);
        owner.priority = 255;
        router.add_instance(0, owner).ok()?;
        // VRID 3: v2 with a password, synced with the LAN instance.
        let mut v2 = InstanceConfig::new("VI_3", 3, v4(13), vec![v4(103)]);
        v2.version = Version::V2;
        v2.priority = 150;
        v2.auth = Auth::simple("secret");
        let v2_id = router.add_instance(0, v2).ok()?;
        // VRID 4: unicast to two peers, on interface 1.
        let mut uni = InstanceConfig::new("VI_4", 4, v4(13), vec![v4(104)]);
        uni.priority = 120;
        uni.unicast_peers = vec![v4(11), v4(12)];
        router.add_instance(1, uni).ok()?;
        // VRID 5: IPv6 at 10 ms.
        let six = InstanceConfig::new("VI_5", 5, v6(13), vec![vip(Family::V6)]);
        router.add_instance(0, six).ok()?;
        router.add_sync_group(&[lan_id, v2_id]).ok()?;
        let n = router.instances().count();
        Some(Lan {
            now: Timestamp::from_millis(1_000),
            family,
            backup: Instance::new(cb),
            master: Instance::new(cm),
            shadows: [Shadow::default(); 2],
            router,
            router_shadows: vec![Shadow::default(); n],
            wire: VecDeque::new(),
        })
    }

    fn drain(&mut self) {
        drain_instance(&mut self.backup, &mut self.shadows[0], &mut self.wire);
        drain_instance(&mut self.master, &mut self.shadows[1], &mut self.wire);
        while let Some((id, a)) = self.router.poll_action() {
            let shadow = &mut self.router_shadows[id.0];
            if let Some(p) = apply(shadow, &a) {
                self.wire.push_back(p);
            }
        }
    }

    fn check(&self) {
        check(&self.backup, &self.shadows[0], self.now);
        check(&self.master, &self.shadows[1], self.now);
        for (id, inst) in self.router.instances() {
            check(inst, &self.router_shadows[id.0], self.now);
        }
        let router_next = self.router.poll_timeout();
        let earliest = self
            .router
            .instances()
            .filter_map(|(_, i)| i.poll_timeout())
            .min();
        // The heap may hold stale entries (earlier than any live deadline),
        // never miss a live one.
        if let Some(e) = earliest {
            assert!(
                router_next.is_some_and(|r| r <= e),
                "router lost a deadline"
            );
        }
    }

    /// Deliver one packet to everybody (what a LAN does), the sender included
    /// (a looped-back multicast).
    fn deliver(&mut self, meta: &RxMeta, bytes: &[u8], iface: u32) {
        let now = self.now;
        let _ = self.backup.handle_packet(now, meta, bytes);
        let _ = self.master.handle_packet(now, meta, bytes);
        let _ = self.router.handle_packet(now, iface, meta, bytes);
        self.drain();
    }

    /// Carry what was sent, a bounded number of hops.
    fn flush_wire(&mut self, enabled: bool) {
        let mut budget = 256;
        while let Some((src, dst, bytes)) = self.wire.pop_front() {
            if !enabled || budget == 0 {
                continue;
            }
            budget -= 1;
            let meta = RxMeta { src, dst, ttl: 255 };
            let iface = u32::from(!dst.is_multicast());
            self.deliver(&meta, &bytes, iface);
        }
    }

    fn advance(&mut self, d: Duration, exact: bool, wire: bool) {
        let end = self.now + d;
        // Step through the earliest deadline of anyone, so that adverts are
        // exchanged in time order. This ends: every firing moves its timer
        // past `now` (checked), and `end` is finite.
        loop {
            let next = [
                self.backup.poll_timeout(),
                self.master.poll_timeout(),
                self.router.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .filter(|t| *t <= end)
            .min();
            let Some(t) = next else { break };
            self.now = self.now.max(if exact { t } else { end });
            let now = self.now;
            run_timers_instance(
                &mut self.backup,
                &mut self.shadows[0],
                now,
                exact,
                &mut self.wire,
            );
            run_timers_instance(
                &mut self.master,
                &mut self.shadows[1],
                now,
                exact,
                &mut self.wire,
            );
            if self.router.poll_timeout().is_some_and(|t| t <= now) {
                // Fires everything due, stale heap entries included, so
                // that afterwards nothing is due any more.
                self.router.handle_timeout(now);
                self.drain();
                let next = self.router.poll_timeout();
                assert!(
                    next.is_none_or(|n| n > now),
                    "router left {next:?} due at {now}"
                );
            }
            self.drain();
            self.flush_wire(wire);
            self.check();
        }
        self.now = self.now.max(end);
    }
}

fn pick_addr(sel: u8, family: Family) -> IpAddr {
    match sel % 10 {
        0..=3 => host(family, 11 + sel % 4), // .11 .12 .13 .14
        4 => host(family, 99),
        5 => v4(11),
        6 => v6(12),
        7 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        8 => vip(family),
        _ => v4(255),
    }
}

fn pick_dst(sel: u8, family: Family) -> IpAddr {
    match sel % 6 {
        0..=2 => family.multicast_group(),
        3 => host(family, 13),
        4 => IpAddr::V4(MULTICAST_V4),
        _ => IpAddr::V6(MULTICAST_V6),
    }
}

fn event(b: u8, arg: u8) -> Event {
    match b % 7 {
        0 => Event::Startup,
        1 => Event::Shutdown,
        2 => Event::SetPriority(arg),
        3 => Event::SetFault(arg & 1 != 0),
        4 => Event::SetGroupFault(arg & 1 != 0),
        5 => Event::GroupMaster,
        _ => Event::GroupBackup,
    }
}

/// The `vrrp_instance` target.
pub fn instance(data: &[u8]) {
    let mut inp = Input { data };
    let Some(mut lan) = Lan::new(&mut inp) else {
        return;
    };
    // Everybody starts; the master-to-be takes over at once.
    let now = lan.now;
    lan.backup.handle_event(now, Event::Startup);
    lan.master.handle_event(now, Event::Startup);
    lan.router.handle_event_all(now, Event::Startup);
    lan.drain();
    lan.flush_wire(true);
    lan.check();
    if let Some(t) = lan.master.poll_timeout() {
        let d = t - lan.now;
        lan.advance(d, true, true);
    }

    let family = lan.family;
    let mut budget = Duration::from_secs(20);
    for _ in 0..256 {
        if inp.is_empty() {
            break;
        }
        let op = inp.u8();
        match op % 6 {
            // Raw bytes with arbitrary metadata.
            0 => {
                let sel = inp.u8();
                let ttl = if sel & 0x80 != 0 { inp.u8() } else { 255 };
                let len = usize::from(inp.u8());
                let bytes = inp.bytes(len).to_vec();
                let meta = RxMeta {
                    src: pick_addr(sel, family),
                    dst: pick_dst(sel >> 4, family),
                    ttl,
                };
                lan.deliver(&meta, &bytes, u32::from(sel & 0x40 != 0));
            }
            // A well-formed advert (right checksum) with fuzzed fields, then
            // maybe one corrupted byte.
            1 => {
                let f = inp.u8();
                let version = if f & 1 != 0 { Version::V2 } else { Version::V3 };
                let vrid = match (f >> 1) & 7 {
                    0..=4 => 1,
                    5 => 3,
                    6 => 5,
                    _ => inp.u8(),
                };
                let priority = inp.u8();
                let iv = inp.u16();
                let interval = match version {
                    Version::V2 => Interval::from_secs((iv % 4) as u8),
                    Version::V3 => Interval::from_centis(iv & 0x0fff),
                };
                let a = inp.u8();
                let auth = match a % 4 {
                    0 => Auth::None,
                    1 => Auth::simple("vigil"),
                    2 => Auth::simple("secret"),
                    _ => Auth::Unknown(inp.u8(), [a; 8]),
                };
                let addresses = match (a >> 2) % 4 {
                    0 => vec![vip(family)],
                    1 => vec![],
                    2 => vec![vip(family), host(family, 101)],
                    _ => vec![host(family, 13)],
                };
                let adv = Advertisement {
                    version,
                    vrid,
                    priority,
                    interval,
                    auth,
                    addresses,
                };
                let sel = inp.u8();
                let src = pick_addr(sel, family);
                let dst = pick_dst(sel >> 4, family);
                let mode = if f & 0x10 != 0 {
                    ChecksumMode::V2Compat
                } else if a & 0x10 != 0 {
                    ChecksumMode::OldUnicast
                } else {
                    ChecksumMode::Rfc
                };
                let mut bytes = Vec::new();
                if adv.encode(src, dst, mode, &mut bytes).is_ok() {
                    if f & 0x20 != 0 {
                        let at = usize::from(inp.u8()) % bytes.len().max(1);
                        let x = inp.u8();
                        if let Some(b) = bytes.get_mut(at) {
                            *b ^= x;
                        }
                    }
                    let ttl = if f & 0x40 != 0 { inp.u8() } else { 255 };
                    let meta = RxMeta { src, dst, ttl };
                    lan.deliver(&meta, &bytes, u32::from(f & 0x80 != 0));
                }
            }
            // Time passes.
            2 => {
                let x = inp.u16();
                let d = if op & 0x80 != 0 {
                    Duration::from_micros(u64::from(x))
                } else {
                    Duration::from_millis(u64::from(x % 2_000))
                };
                // At most 20 s of virtual time per input, so that an
                // execution stays in the milliseconds.
                let d = d.min(budget);
                budget = budget.saturating_sub(d);
                lan.advance(d, op & 0x40 == 0, op & 0x20 == 0);
            }
            // An event to one instance.
            3 => {
                let who = inp.u8();
                let ev = event(inp.u8(), inp.u8());
                let now = lan.now;
                match who % 4 {
                    0 => lan.backup.handle_event(now, ev),
                    1 => lan.master.handle_event(now, ev),
                    2 => lan.router.handle_event_all(now, ev),
                    _ => lan
                        .router
                        .handle_event(now, InstanceId(usize::from(who >> 2) % 6), ev),
                }
                lan.drain();
            }
            // A spurious, early or late wake-up.
            4 => {
                let now = lan.now;
                lan.backup.handle_timeout(now);
                lan.master.handle_timeout(now);
                lan.router.handle_timeout(now);
                lan.drain();
            }
            // Let the wire carry what is queued.
            _ => lan.flush_wire(op & 0x80 == 0),
        }
        lan.check();
    }
    lan.flush_wire(true);
    lan.check();
}

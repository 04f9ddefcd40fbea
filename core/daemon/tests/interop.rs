//! The `vigil` daemon on real sockets, in private network-namespace labs: Vigil pairs, Vigil
//! against real keepalived (v2/v3, IPv4/IPv6, multicast/unicast), preemption, hostile packets,
//! reloads, and everything it sends as Wireshark's dissectors see it.
//!
//! Each test skips (and passes) with `skipped: <reason>` when not root or when `ip`,
//! `keepalived` or `tshark` is missing. Run with
//! `cargo test -p vigil --test interop -- --test-threads=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::*;
use vigil_lab::{Capture, Host, Keepalived, KeepalivedConfig, Lab, VrrpVersion};

const TOOLS: &[&str] = &["keepalived", "tshark"];
const V3_ADVERT: Duration = Duration::from_millis(100);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Everything worth reading when an assertion fails: the tails of the daemons' logs.
fn diag(vigils: &[&Vigil], kas: &[&Keepalived]) -> String {
    let mut s: Vec<String> = vigils.iter().map(|v| v.log_tail(25)).collect();
    s.extend(kas.iter().map(|k| ka_tail(k, 25)));
    s.join("\n")
}

/// Scenario 1 + 4: two Vigil nodes, VRRPv3 at 100 ms over IPv4.
///
/// One holder (the higher priority); SIGKILL of the master moves the VIP within a bound derived
/// from Master_Down_Interval, and the new master sends gratuitous ARP; the crashed node,
/// restarted at a lower priority, cleans up the leftover VIP; SIGTERM of the new master removes
/// its VIP and hands over in about Skew_Time (priority-0 advert on the wire). Every advert Vigil
/// sent decodes as VRRP with a good checksum, TTL 255 and the configured fields.
#[test]
fn vigil_pair_v3_failover_and_wire() {
    let test = "vigil_pair_v3_failover_and_wire";
    if !ready(test, TOOLS) {
        return;
    }
    let t_test = Instant::now();
    let lab = Lab::new("vigil-pair").unwrap();
    let hosts = lab.add_hosts(2).unwrap();
    let (h1, h2) = (&hosts[0], &hosts[1]);
    let vip = ip("192.0.2.100");
    let mut cap = Capture::start(&lab, "wire").unwrap();

    let a = Vigil::start(h1, &[Inst::v3("VI_1", 51, 150, "192.0.2.100/24")]);
    let b = Vigil::start(h2, &[Inst::v3("VI_1", 51, 100, "192.0.2.100/24")]);
    let master = wait_single_holder(&hosts, vip, Duration::from_secs(5), 3 * V3_ADVERT, &|| {
        diag(&[&a, &b], &[])
    });
    note(&format!(
        "{test}: {master} holds the VIP {} after start",
        ms(a.started.elapsed())
    ));
    assert_eq!(
        master,
        "h1",
        "priority 150 (h1) must win over 100 (h2)\n{}",
        diag(&[&a, &b], &[])
    );
    let (sa, sb) = (a.instance("VI_1"), b.instance("VI_1"));
    assert_eq!(sa["state"], "master", "h1 status: {sa:#}");
    assert_eq!(sb["state"], "backup", "h2 status: {sb:#}");
    assert_eq!(
        sb["master"], "192.0.2.11",
        "h2 must know h1 as master: {sb:#}"
    );
    assert!(
        sb["stats"]["adverts_received"].as_u64() > Some(0),
        "h2 received no advert: {sb:#}"
    );

    // Crash: no priority-0 advert; h2 must take over after its Master_Down_Interval.
    let bound = mdi(3, V3_ADVERT, 100) + Duration::from_secs(1);
    let t_kill = Instant::now();
    a.kill9();
    let diag_b = || diag(&[&a, &b], &[]);
    vigil_lab::wait_until(bound, "h2 to take the VIP after h1's crash", || {
        Ok((holders(&hosts, vip, Some("h1")) == ["h2"]).then_some(()))
    })
    .unwrap_or_else(|e| {
        panic!(
            "{e} (bound = MDI {} + 1 s)\n{}",
            ms(mdi(3, V3_ADVERT, 100)),
            diag_b()
        )
    });
    let failover = t_kill.elapsed();
    note(&format!(
        "{test}: SIGKILL of h1 -> VIP on h2 in {} (MDI {}, bound {})",
        ms(failover),
        ms(mdi(3, V3_ADVERT, 100)),
        ms(bound)
    ));
    assert_eq!(b.state("VI_1"), "master", "{}", diag_b());

    // The crashed node comes back at priority 50: it removes its leftover VIP and stays backup.
    let a2 = Vigil::start(h1, &[Inst::v3("VI_1", 51, 50, "192.0.2.100/24")]);
    let diag_ab = || diag(&[&a2, &b], &[]);
    wait_holds(h1, vip, false, Duration::from_secs(2), &diag_ab);
    never_holds(h1, vip, mdi(3, V3_ADVERT, 50) + 3 * V3_ADVERT, &diag_ab);
    let s = a2.instance("VI_1");
    assert_eq!(s["state"], "backup", "restarted h1: {s:#}\n{}", diag_ab());
    assert_eq!(s["master"], "192.0.2.12", "restarted h1: {s:#}");
    assert!(
        h2.holds(vip).unwrap(),
        "h2 must still hold the VIP\n{}",
        diag_ab()
    );

    // Graceful stop of the new master: VIP removed, h1 takes over in about Skew_Time.
    let t_term = Instant::now();
    let t_term_epoch = epoch_now() - 0.05;
    b.term();
    let takeover = wait_holds(h1, vip, true, Duration::from_secs(3), &diag_ab);
    b.stop();
    assert!(
        !h2.holds(vip).unwrap(),
        "SIGTERM must remove the VIP from h2\n{}",
        diag_ab()
    );
    note(&format!(
        "{test}: SIGTERM of h2 -> VIP on h1 in {} (Skew_Time {}, MDI {}); h2 exited after {}",
        ms(takeover),
        ms(skew(3, V3_ADVERT, 50)),
        ms(mdi(3, V3_ADVERT, 50)),
        ms(t_term.elapsed())
    ));
    std::thread::sleep(4 * V3_ADVERT);
    assert_eq!(a2.state("VI_1"), "master", "{}", diag_ab());
    let file = cap.stop().unwrap().to_owned();

    // ---- On the wire.
    let ads = adverts(&file);
    let table = || advert_table(&ads, 40);
    let (h1_ip, h2_ip) = ("192.0.2.11", "192.0.2.12");
    assert!(ads.len() >= 10, "too few adverts captured\n{}", table());
    for ad in &ads {
        let expected_prio: &[&str] = match ad.src.as_str() {
            s if s == h1_ip => &["150", "50"],
            s if s == h2_ip => &["100", "0"],
            _ => panic!("advert from an unexpected source: {ad:?}"),
        };
        let ok = ad.dst == "224.0.0.18"
            && ad.ttl == "255"
            && ad.version == "3"
            && ad.kind == "1"
            && ad.vrid == "51"
            && expected_prio.contains(&ad.prio.as_str())
            && ad.interval == "10"
            && ad.checksum_status == "1"
            && ad.ip_checksum_status != "0"
            && ad.addrs == "192.0.2.100"
            && !ad.malformed;
        assert!(
            ok,
            "Vigil sent an advert that is not a valid VRRPv3 advert for VRID 51 \
             (want dst 224.0.0.18, TTL 255, v3, type 1, prio {expected_prio:?}, 10 cs, \
             checksum Good=1, address 192.0.2.100): {ad:?}\n{}",
            table()
        );
    }
    assert!(
        !ads.iter().any(|a| a.src == h1_ip && a.prio == "0"),
        "a SIGKILLed daemon cannot send priority 0\n{}",
        table()
    );
    let h1_150: Vec<f64> = ads
        .iter()
        .filter(|a| a.src == h1_ip && a.prio == "150")
        .map(|a| a.time)
        .collect();
    assert!(h1_150.len() >= 3, "h1 advertised too little\n{}", table());
    let mean = (h1_150[h1_150.len() - 1] - h1_150[0]) / (h1_150.len() - 1) as f64;
    assert!(
        (0.07..=0.15).contains(&mean),
        "h1 adverts should be ~100 ms apart, mean {:.1} ms\n{}",
        mean * 1e3,
        table()
    );
    assert!(
        ads.iter().any(|a| a.src == h2_ip && a.prio == "100"),
        "h2 advertised as master after the crash\n{}",
        table()
    );
    let (_, gap) = handover_gap(&ads, t_term_epoch, h2_ip, h1_ip).unwrap_or_else(|| {
        panic!(
            "no priority-0 advert from h2 followed by an advert from h1\n{}",
            table()
        )
    });
    let limit = mdi(3, V3_ADVERT, 50) - V3_ADVERT;
    note(&format!(
        "{test}: on the wire: h2 priority 0 -> h1's first advert {} (Skew_Time {}, MDI {}); mean h1 interval {:.1} ms",
        ms(Duration::from_secs_f64(gap)),
        ms(skew(3, V3_ADVERT, 50)),
        ms(mdi(3, V3_ADVERT, 50)),
        mean * 1e3
    ));
    assert!(
        gap < limit.as_secs_f64(),
        "after a priority-0 advert h1 must take over in ~Skew_Time ({}), well before MDI ({}); took {:.1} ms\n{}",
        ms(skew(3, V3_ADVERT, 50)),
        ms(mdi(3, V3_ADVERT, 50)),
        gap * 1e3,
        table()
    );

    // Gratuitous ARPs: from h2 after the crash, from h1 at the end; valid ARP requests.
    let garps = tshark(
        &file,
        "arp && arp.src.proto_ipv4 == 192.0.2.100 && arp.dst.proto_ipv4 == 192.0.2.100",
        &[
            "eth.src",
            "eth.dst",
            "arp.hw.type",
            "arp.proto.type",
            "arp.hw.size",
            "arp.proto.size",
            "arp.opcode",
            "arp.src.hw_mac",
            "arp.isgratuitous",
            "_ws.malformed",
            "_ws.expert.severity",
        ],
    );
    let (m1, m2) = (mac(h1), mac(h2));
    for who in [&m2, &m1] {
        assert!(
            garps.iter().any(|g| &g[0] == who),
            "no gratuitous ARP for 192.0.2.100 from {who}; seen: {garps:?}"
        );
    }
    for g in &garps {
        let ok = (g[0] == m1 || g[0] == m2)
            && g[1] == "ff:ff:ff:ff:ff:ff"
            && g[2] == "1"
            && g[3] == "0x0800"
            && g[4] == "6"
            && g[5] == "4"
            && g[6] == "1"
            && g[7] == g[0]
            && truthy(&g[8])
            && g[9].is_empty();
        assert!(
            ok,
            "invalid gratuitous ARP (want broadcast request, Ethernet/IPv4 6/4, sender MAC = \
             source MAC, tshark isgratuitous): {g:?}"
        );
    }
    note(&format!(
        "{test}: {} adverts and {} gratuitous ARPs checked; total {}",
        ads.len(),
        garps.len(),
        ms(t_test.elapsed())
    ));
    a2.stop();
    assert!(!h1.holds(vip).unwrap(), "SIGTERM must remove h1's VIP");
    drop(lab);
}

// ---------------------------------------------------------------------------------------------
// Scenario 2: interop with real keepalived.

/// One interop flavour.
#[derive(Clone, Copy, Debug)]
struct Variant {
    label: &'static str,
    version: u8,
    advert: Duration,
    v6: bool,
    unicast: bool,
}

impl Variant {
    fn ka_version(&self) -> VrrpVersion {
        if self.version == 2 {
            VrrpVersion::V2
        } else {
            VrrpVersion::V3
        }
    }
}

/// The "Entering X STATE" lines of a keepalived log.
fn ka_states(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("Entering ") && l.contains(" STATE"))
        .map(str::to_owned)
        .collect()
}

/// Checks every advert `src` sent: well-formed VRRP of the variant, TTL/hop limit `ttl` (when
/// given), good checksum, the VIP, one of the priorities used (150, 100, 0 on resigning), to
/// the group or the unicast peer.
/// Returns how many there were and the TTLs seen.
fn check_adverts_from(
    ads: &[Advert],
    src: &str,
    v: Variant,
    dst: &str,
    ttl: Option<&str>,
    vip: IpAddr,
    table: &dyn Fn() -> String,
) -> (usize, Vec<String>) {
    let prios = ["150", "100", "0"];
    let interval = if v.version == 2 {
        v.advert.as_secs().to_string()
    } else {
        (v.advert.as_millis() / 10).to_string()
    };
    let mine: Vec<&Advert> = ads.iter().filter(|a| a.src == src).collect();
    for ad in &mine {
        let ok = ad.dst == dst
            && ttl.is_none_or(|t| ad.ttl == t)
            && ad.version == v.version.to_string()
            && ad.kind == "1"
            && ad.vrid == "51"
            && prios.contains(&ad.prio.as_str())
            && ad.interval == interval
            && ad.checksum_status == "1"
            && ad.ip_checksum_status != "0"
            && ad.addrs == vip.to_string()
            && !ad.malformed;
        assert!(
            ok,
            "advert from {src} is not a valid v{} advert (want dst {dst}, TTL {ttl:?}, vrid 51, \
             prio {prios:?}, interval {interval}, checksum Good=1, address {vip}): {ad:?}\n{}",
            v.version,
            table()
        );
    }
    let mut ttls: Vec<String> = mine.iter().map(|a| a.ttl.clone()).collect();
    ttls.sort();
    ttls.dedup();
    (mine.len(), ttls)
}

fn interop(test: &str, v: Variant) {
    if !ready(test, TOOLS) {
        return;
    }
    let t_test = Instant::now();
    let lab = Lab::new(v.label).unwrap();
    let hosts = lab.add_hosts(2).unwrap();
    let (h1, h2) = (&hosts[0], &hosts[1]);
    let (vip, vip_len): (IpAddr, u8) = if v.v6 {
        (ip("2001:db8::100"), 64)
    } else {
        (ip("192.0.2.100"), 24)
    };
    let addr = |h: &Host| -> IpAddr {
        if v.v6 {
            h.ipv6().unwrap().into()
        } else {
            h.ipv4().unwrap().into()
        }
    };
    // The source of each side's adverts: the unicast address, the primary IPv4 address or the
    // IPv6 link-local address (RFC 9568 §5.1.2.1).
    let src = |h: &Host| -> IpAddr {
        if v.v6 && !v.unicast {
            h.link_local("eth0").unwrap().unwrap().into()
        } else {
            addr(h)
        }
    };
    let (src1, src2) = (src(h1).to_string(), src(h2).to_string());
    let group = if v.v6 { "ff02::12" } else { "224.0.0.18" };
    let (dst_from1, dst_from2) = if v.unicast {
        (addr(h2).to_string(), addr(h1).to_string())
    } else {
        (group.to_owned(), group.to_owned())
    };
    let vigil_inst = |prio: u8| Inst {
        version: v.version,
        advert: v.advert,
        unicast_source: v.unicast.then(|| addr(h1)),
        unicast_peers: if v.unicast {
            vec![addr(h2)]
        } else {
            Vec::new()
        },
        ..Inst::v3("VI_1", 51, prio, &format!("{vip}/{vip_len}"))
    };
    let ka_cfg = |prio: u8| KeepalivedConfig {
        version: v.ka_version(),
        advert: v.advert,
        unicast_src: v.unicast.then(|| addr(h2)),
        unicast_peers: if v.unicast {
            vec![addr(h1)]
        } else {
            Vec::new()
        },
        ..KeepalivedConfig::new(51, prio, (vip, vip_len))
    };
    let mdi_ = |p: u8| mdi(v.version, v.advert, p);
    let skew_ = |p: u8| skew(v.version, v.advert, p);
    // How long a joining backup must stay quiet: past its own Master_Down_Interval, with margin.
    let settle = |p: u8| mdi_(p) + (3 * v.advert).min(Duration::from_secs(1));
    let mut cap = Capture::start(&lab, "wire").unwrap();

    // (a) Vigil 150 is master; keepalived 100 joins and must stay backup.
    let vg = Vigil::start(h1, &[vigil_inst(150)]);
    let d = || diag(&[&vg], &[]);
    let t = wait_holds(h1, vip, true, mdi_(150) + Duration::from_secs(2), &d);
    note(&format!("{test}: Vigil alone is master after {}", ms(t)));
    let ka = Keepalived::start(h2, &ka_cfg(100)).unwrap();
    let d = || diag(&[&vg], &[&ka]);
    never_holds(h2, vip, settle(100), &d);
    let log = ka.log().unwrap();
    let states = ka_states(&log);
    assert!(
        states.iter().any(|l| l.contains("Entering BACKUP STATE")),
        "keepalived 100 never said BACKUP: {states:?}\n{}",
        d()
    );
    assert!(
        !states.iter().any(|l| l.contains("Entering MASTER STATE")),
        "keepalived 100 became MASTER although Vigil 150 was advertising: {states:?}\n{}",
        d()
    );
    let complaints = ka_complaints(&log);
    assert!(
        complaints.is_empty(),
        "keepalived complains about Vigil's adverts: {complaints:#?}\n{}",
        d()
    );
    assert!(
        h1.holds(vip).unwrap() && !h2.holds(vip).unwrap(),
        "VIP only on Vigil's host\n{}\n{}",
        addresses(&hosts),
        d()
    );
    let st = vg.must_status();
    let s = find_instance(&st, "VI_1").unwrap();
    assert_eq!(s["state"], "master", "Vigil status {s:#}\n{}", d());
    assert!(
        drop_list(&s["drops"]).is_empty() && drop_list(&st["router_drops"]).is_empty(),
        "Vigil dropped packets: {st:#}\n{}",
        d()
    );

    // (c) SIGTERM of Vigil (master): keepalived takes over in about Skew_Time.
    let t_vg_term = epoch_now() - 0.05;
    let t0 = Instant::now();
    vg.term();
    wait_holds(h2, vip, true, mdi_(100) + Duration::from_secs(2), &d);
    let wall1 = t0.elapsed();
    vg.stop();
    assert!(
        !h1.holds(vip).unwrap(),
        "SIGTERM must remove Vigil's VIP\n{}",
        d()
    );
    assert!(
        ka_states(&ka.log().unwrap())
            .last()
            .is_some_and(|l| l.contains("MASTER")),
        "{}",
        d()
    );

    // (b) Reverse roles: keepalived 150 master, Vigil 100 backup.
    let st = ka.stop().unwrap();
    assert!(st.success(), "keepalived exit: {st}\n{}", d());
    wait_holds(h2, vip, false, Duration::from_secs(3), &d);
    let ka2 = Keepalived::start(h2, &ka_cfg(150)).unwrap();
    let d = || diag(&[], &[&ka2]);
    let t = wait_holds(h2, vip, true, mdi_(150) + Duration::from_secs(3), &d);
    note(&format!(
        "{test}: keepalived 150 alone is master after {}",
        ms(t)
    ));
    let vg2 = Vigil::start(h1, &[vigil_inst(100)]);
    let d = || diag(&[&vg2], &[&ka2]);
    never_holds(h1, vip, settle(100), &d);
    let st = vg2.must_status();
    let s = find_instance(&st, "VI_1").unwrap();
    assert_eq!(
        s["state"],
        "backup",
        "Vigil 100 vs keepalived 150: {s:#}\n{}",
        d()
    );
    assert_eq!(
        s["master"].as_str().and_then(|m| m.parse::<IpAddr>().ok()),
        Some(src2.parse().unwrap()),
        "Vigil must name keepalived ({src2}) as master: {s:#}\n{}",
        d()
    );
    assert!(
        s["stats"]["adverts_received"].as_u64() > Some(0),
        "Vigil received no keepalived advert: {s:#}\n{}",
        d()
    );
    assert!(
        drop_list(&s["drops"]).is_empty() && drop_list(&st["router_drops"]).is_empty(),
        "Vigil dropped keepalived's adverts: {st:#}\n{}",
        d()
    );
    let log = ka2.log().unwrap();
    let states = ka_states(&log);
    assert!(
        states
            .last()
            .is_some_and(|l| l.contains("Entering MASTER STATE")),
        "keepalived 150 must be and stay MASTER: {states:?}\n{}",
        d()
    );
    let complaints = ka_complaints(&log);
    assert!(
        complaints.is_empty(),
        "keepalived complains: {complaints:#?}\n{}",
        d()
    );

    // (c) SIGTERM of keepalived (master): Vigil takes over in about Skew_Time.
    let t_ka_term = epoch_now() - 0.05;
    let t0 = Instant::now();
    ka2.term().unwrap();
    wait_holds(h1, vip, true, mdi_(100) + Duration::from_secs(2), &d);
    let wall2 = t0.elapsed();
    let st = ka2.stop().unwrap();
    assert!(st.success(), "keepalived exit: {st}\n{}", d());
    assert!(
        !h2.holds(vip).unwrap(),
        "keepalived must remove its VIP\n{}",
        d()
    );
    std::thread::sleep((3 * v.advert).min(Duration::from_millis(1500)));
    let s = vg2.instance("VI_1");
    assert_eq!(s["state"], "master", "{s:#}\n{}", d());
    assert!(
        drop_list(&s["drops"]).is_empty(),
        "Vigil dropped packets: {s:#}\n{}",
        d()
    );
    let file = cap.stop().unwrap().to_owned();

    // ---- On the wire.
    let ads = adverts(&file);
    let table = || advert_table(&ads, 40);
    // Vigil: TTL / hop limit 255 always (RFC 9568 §5.1.1.3, §5.1.2.3). keepalived's TTL is
    // only recorded: it is the reference peer, not the system under test.
    let (n1, _) = check_adverts_from(&ads, &src1, v, &dst_from1, Some("255"), vip, &table);
    let (n2, ka_ttls) = check_adverts_from(&ads, &src2, v, &dst_from2, None, vip, &table);
    assert!(
        n1 >= 3 && n2 >= 3,
        "too few adverts: Vigil {n1}, keepalived {n2}\n{}",
        table()
    );
    if ka_ttls != ["255"] {
        note(&format!(
            "{test}: note: keepalived's adverts carried TTL/hop limit {ka_ttls:?} (Vigil accepts them: unicast_min_ttl = 0)"
        ));
    }
    let others: Vec<&Advert> = ads
        .iter()
        .filter(|a| a.src != src1 && a.src != src2)
        .collect();
    assert!(
        others.is_empty(),
        "adverts from unexpected sources: {others:?}"
    );
    let limit = mdi_(100) - v.advert;
    for (who, after, from, to) in [
        ("Vigil -> keepalived", t_vg_term, &src1, &src2),
        ("keepalived -> Vigil", t_ka_term, &src2, &src1),
    ] {
        let (_, gap) = handover_gap(&ads, after, from, to).unwrap_or_else(|| {
            panic!(
                "{who}: no priority-0 advert from {from} followed by an advert from {to}\n{}",
                table()
            )
        });
        note(&format!(
            "{test}: {who}: priority 0 -> new master's first advert {} on the wire (Skew_Time {}, MDI {})",
            ms(Duration::from_secs_f64(gap)),
            ms(skew_(100)),
            ms(mdi_(100))
        ));
        assert!(
            gap < limit.as_secs_f64(),
            "{who}: handover after priority 0 took {:.1} ms; want about Skew_Time ({}), well under MDI ({})\n{}",
            gap * 1e3,
            ms(skew_(100)),
            ms(mdi_(100)),
            table()
        );
    }
    note(&format!(
        "{test}: SIGTERM -> VIP moved (wall clock, with polling): Vigil -> keepalived {}, keepalived -> Vigil {}",
        ms(wall1),
        ms(wall2)
    ));

    // Announcements from Vigil's host (it became master twice).
    let m1 = mac(h1);
    if v.v6 {
        let na = tshark(
            &file,
            &format!(
                "icmpv6.type == 136 && icmpv6.nd.na.target_address == {vip} && eth.src == {m1}"
            ),
            &[
                "ipv6.hlim",
                "ipv6.dst",
                "icmpv6.checksum.status",
                "icmpv6.nd.na.flag.o",
                "icmpv6.opt.linkaddr",
                "_ws.malformed",
            ],
        );
        assert!(
            !na.is_empty(),
            "no unsolicited NA for {vip} from Vigil ({m1})"
        );
        for r in &na {
            let ok = r[0] == "255"
                && r[1] == "ff02::1"
                && r[2] == "1"
                && truthy(&r[3])
                && r[4] == m1
                && r[5].is_empty();
            assert!(ok, "bad unsolicited NA (want hop limit 255, to ff02::1, checksum Good, Override, target LL {m1}): {r:?}");
        }
        note(&format!(
            "{test}: {} unsolicited NAs from Vigil checked",
            na.len()
        ));
    } else {
        let garps = tshark(
            &file,
            &format!("arp && arp.src.proto_ipv4 == {vip} && arp.dst.proto_ipv4 == {vip} && eth.src == {m1}"),
            &["arp.opcode", "arp.src.hw_mac", "arp.isgratuitous"],
        );
        assert!(
            !garps.is_empty(),
            "no gratuitous ARP for {vip} from Vigil ({m1})"
        );
        for g in &garps {
            assert!(
                g[0] == "1" && g[1] == m1 && truthy(&g[2]),
                "bad gratuitous ARP: {g:?}"
            );
        }
    }
    vg2.stop();
    assert!(!h1.holds(vip).unwrap(), "SIGTERM must remove Vigil's VIP");
    note(&format!(
        "{test}: {} adverts checked (Vigil {n1}, keepalived {n2}); total {}",
        ads.len(),
        ms(t_test.elapsed())
    ));
    drop(lab);
}

#[test]
fn keepalived_v2_ipv4_multicast() {
    interop(
        "keepalived_v2_ipv4_multicast",
        Variant {
            label: "ka-v2-v4",
            version: 2,
            advert: Duration::from_secs(1),
            v6: false,
            unicast: false,
        },
    );
}

#[test]
fn keepalived_v3_ipv4_multicast() {
    interop(
        "keepalived_v3_ipv4_multicast",
        Variant {
            label: "ka-v3-v4",
            version: 3,
            advert: V3_ADVERT,
            v6: false,
            unicast: false,
        },
    );
}

#[test]
fn keepalived_v3_ipv6_multicast() {
    interop(
        "keepalived_v3_ipv6_multicast",
        Variant {
            label: "ka-v3-v6",
            version: 3,
            advert: V3_ADVERT,
            v6: true,
            unicast: false,
        },
    );
}

#[test]
fn keepalived_v3_ipv4_unicast() {
    interop(
        "keepalived_v3_ipv4_unicast",
        Variant {
            label: "ka-v3-v4-uc",
            version: 3,
            advert: V3_ADVERT,
            v6: false,
            unicast: true,
        },
    );
}

#[test]
fn keepalived_v3_ipv6_unicast() {
    interop(
        "keepalived_v3_ipv6_unicast",
        Variant {
            label: "ka-v3-v6-uc",
            version: 3,
            advert: V3_ADVERT,
            v6: true,
            unicast: true,
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Scenario 3: preemption as keepalived does it.

/// keepalived 100 is master. Vigil 150 with `preempt = false` joins and stays backup (and its
/// departure disturbs nobody); restarted with preemption (the default) it takes over.
#[test]
fn preempt_and_nopreempt_against_keepalived() {
    let test = "preempt_and_nopreempt_against_keepalived";
    if !ready(test, TOOLS) {
        return;
    }
    let t_test = Instant::now();
    let lab = Lab::new("preempt").unwrap();
    let hosts = lab.add_hosts(2).unwrap();
    let (h1, h2) = (&hosts[0], &hosts[1]);
    let vip = ip("192.0.2.100");
    let ka_cfg = KeepalivedConfig {
        advert: V3_ADVERT,
        ..KeepalivedConfig::new(51, 100, (vip, 24))
    };
    let ka = Keepalived::start(h2, &ka_cfg).unwrap();
    let d = || diag(&[], &[&ka]);
    wait_holds(
        h2,
        vip,
        true,
        mdi(3, V3_ADVERT, 100) + Duration::from_secs(3),
        &d,
    );

    // nopreempt: a higher priority joins and leaves the lower-priority master alone.
    let nopre = Inst {
        preempt: Some(false),
        ..Inst::v3("VI_1", 51, 150, "192.0.2.100/24")
    };
    let vg = Vigil::start(h1, &[nopre]);
    let d = || diag(&[&vg], &[&ka]);
    never_holds(h1, vip, mdi(3, V3_ADVERT, 150) + 5 * V3_ADVERT, &d);
    let s = vg.instance("VI_1");
    assert_eq!(
        s["state"],
        "backup",
        "Vigil 150 with preempt = false must not take over from keepalived 100: {s:#}\n{}",
        d()
    );
    assert_eq!(s["master"], "192.0.2.12", "{s:#}\n{}", d());
    assert!(s["stats"]["adverts_received"].as_u64() > Some(0), "{s:#}");
    assert_eq!(s["stats"]["became_master"], 0, "{s:#}\n{}", d());
    assert!(
        h2.holds(vip).unwrap(),
        "keepalived must keep the VIP\n{}",
        d()
    );
    vg.stop();
    std::thread::sleep(5 * V3_ADVERT);
    let states = ka_states(&ka.log().unwrap());
    assert!(
        states.last().is_some_and(|l| l.contains("MASTER"))
            && states.iter().filter(|l| l.contains("MASTER")).count() == 1,
        "keepalived must have stayed MASTER throughout: {states:?}\n{}",
        d()
    );

    // preempt (default): the same router takes over.
    let vg2 = Vigil::start(h1, &[Inst::v3("VI_1", 51, 150, "192.0.2.100/24")]);
    let d = || diag(&[&vg2], &[&ka]);
    let t = wait_holds(
        h1,
        vip,
        true,
        mdi(3, V3_ADVERT, 150) + Duration::from_secs(2),
        &d,
    );
    wait_holds(h2, vip, false, Duration::from_secs(2), &d);
    note(&format!(
        "{test}: with preemption Vigil 150 took over from keepalived 100 in {} (MDI {})",
        ms(t),
        ms(mdi(3, V3_ADVERT, 150))
    ));
    std::thread::sleep(3 * V3_ADVERT);
    assert_eq!(vg2.state("VI_1"), "master", "{}", d());
    let log = ka.log().unwrap();
    let states = ka_states(&log);
    assert!(
        states
            .last()
            .is_some_and(|l| l.contains("Entering BACKUP STATE")),
        "keepalived must step down to BACKUP: {states:?}\n{}",
        d()
    );
    let complaints = ka_complaints(&log);
    assert!(
        complaints.is_empty(),
        "keepalived complains: {complaints:#?}\n{}",
        d()
    );
    vg2.stop();
    note(&format!("{test}: total {}", ms(t_test.elapsed())));
    drop(lab);
}

// ---------------------------------------------------------------------------------------------
// Scenario 5: hostile input.

/// `vigil tool send` run inside `host`; panics with its stderr when it fails.
fn tool_send(host: &Host, args: &[&str]) {
    let mut all = vec!["tool", "send", "--iface", "eth0"];
    all.extend_from_slice(args);
    let out = host.exec(VIGIL, &all).unwrap();
    assert!(
        out.status.success(),
        "vigil {} failed: {}",
        all.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every drop counter of a status: `instance/reason` and `router/reason`.
fn all_drops(st: &serde_json::Value) -> std::collections::BTreeMap<String, u64> {
    let mut m = std::collections::BTreeMap::new();
    for i in st["instances"].as_array().unwrap() {
        for (r, n) in drop_list(&i["drops"]) {
            m.insert(format!("{}/{r}", i["name"].as_str().unwrap()), n);
        }
    }
    for (r, n) in drop_list(&st["router_drops"]) {
        m.insert(format!("router/{r}"), n);
    }
    m
}

/// A Vigil pair runs VI_1 (v3, 100 ms, VRID 51) and VI_2 (v2 with a password, VRID 52). A
/// third host sends hostile packets; each is counted under the right reason on both nodes and
/// nobody changes state.
#[test]
fn hostile_packets_are_counted_and_ignored() {
    let test = "hostile_packets_are_counted_and_ignored";
    if !ready(test, TOOLS) {
        return;
    }
    let t_test = Instant::now();
    let lab = Lab::new("hostile").unwrap();
    let hosts = lab.add_hosts(3).unwrap();
    let (h1, h2, h3) = (&hosts[0], &hosts[1], &hosts[2]);
    let (vip1, vip2) = (ip("192.0.2.100"), ip("192.0.2.101"));
    let instances = |prio: u8| {
        [
            Inst::v3("VI_1", 51, prio, "192.0.2.100/24"),
            Inst {
                version: 2,
                advert: Duration::from_secs(1),
                password: Some("s3cret".into()),
                ..Inst::v3("VI_2", 52, prio, "192.0.2.101/24")
            },
        ]
    };
    let a = Vigil::start(h1, &instances(150));
    let b = Vigil::start(h2, &instances(100));
    let d = || diag(&[&a, &b], &[]);
    let pair = &hosts[..2];
    wait_single_holder(pair, vip1, Duration::from_secs(5), 3 * V3_ADVERT, &d);
    wait_single_holder(
        pair,
        vip2,
        mdi(2, Duration::from_secs(1), 100) + Duration::from_secs(3),
        Duration::from_millis(1500),
        &d,
    );
    for (name, vip) in [("VI_1", vip1), ("VI_2", vip2)] {
        assert_eq!(holders(pair, vip, None), ["h1"], "{name}: {}", d());
        assert_eq!(a.state(name), "master", "{name}\n{}", d());
        let s = b.instance(name);
        assert_eq!(s["state"], "backup", "{name}: {s:#}\n{}", d());
        assert!(
            s["stats"]["adverts_received"].as_u64() > Some(0),
            "{name}: {s:#}"
        );
    }
    let before = [a.must_status(), b.must_status()];
    let base = [all_drops(&before[0]), all_drops(&before[1])];
    assert!(
        base[0].is_empty() && base[1].is_empty(),
        "drops before the attack: {base:?}\n{}",
        d()
    );

    const N: u64 = 3;
    let n = N.to_string();
    let cases: [(&str, &str, Vec<&str>); 5] = [
        (
            "TTL 254, priority 254",
            "VI_1/bad_ttl",
            vec![
                "--ttl",
                "254",
                "--vrid",
                "51",
                "--priority",
                "254",
                "--interval-cs",
                "10",
                "--vip",
                "192.0.2.100",
            ],
        ),
        (
            "bad checksum, priority 254",
            "VI_1/bad_checksum",
            vec![
                "--vrid",
                "51",
                "--priority",
                "254",
                "--interval-cs",
                "10",
                "--vip",
                "192.0.2.100",
                "--bad-checksum",
            ],
        ),
        (
            "unknown VRID 99",
            "router/unknown_vrid",
            vec![
                "--vrid",
                "99",
                "--priority",
                "254",
                "--interval-cs",
                "10",
                "--vip",
                "192.0.2.100",
            ],
        ),
        (
            "truncated (2 bytes)",
            "router/too_short",
            vec!["--raw-hex", "3133"],
        ),
        (
            "v2, wrong password, priority 254",
            "VI_2/auth_failure",
            vec![
                "--version",
                "2",
                "--vrid",
                "52",
                "--priority",
                "254",
                "--interval-cs",
                "100",
                "--vip",
                "192.0.2.101",
                "--password",
                "wrong",
            ],
        ),
    ];
    let mut expected = [base[0].clone(), base[1].clone()];
    for (what, key, args) in &cases {
        let mut full = vec!["--src", "192.0.2.13", "--count", n.as_str()];
        full.extend(args.iter().copied());
        tool_send(h3, &full);
        for (i, v) in [&a, &b].into_iter().enumerate() {
            *expected[i].entry((*key).to_owned()).or_default() += N;
            let want = expected[i][*key];
            let r = vigil_lab::wait_until(
                Duration::from_secs(2),
                &format!("{key} = {want} on {}", v.name()),
                || {
                    let st = v.status().map_err(vigil_lab::LabError::Invalid)?;
                    Ok((all_drops(&st).get(*key).copied().unwrap_or(0) >= want).then_some(()))
                },
            );
            if let Err(e) = r {
                panic!(
                    "{what}: {e}; drops now {:?}\n{}",
                    all_drops(&v.must_status()),
                    d()
                );
            }
        }
    }
    std::thread::sleep(5 * V3_ADVERT);
    let after = [a.must_status(), b.must_status()];
    for (i, v) in [&a, &b].into_iter().enumerate() {
        assert_eq!(
            all_drops(&after[i]),
            expected[i],
            "{}: each hostile packet must be counted once, under its own reason, and nothing else dropped\n{}",
            v.name(),
            d()
        );
        for name in ["VI_1", "VI_2"] {
            let (was, now) = (
                find_instance(&before[i], name).unwrap(),
                find_instance(&after[i], name).unwrap(),
            );
            assert_eq!(
                now["state"],
                was["state"],
                "{} {name} changed state: {now:#}\n{}",
                v.name(),
                d()
            );
            assert_eq!(
                now["master"],
                was["master"],
                "{} {name} changed master: {now:#}\n{}",
                v.name(),
                d()
            );
            assert_eq!(
                now["stats"]["became_master"],
                was["stats"]["became_master"],
                "{} {name}: {now:#}",
                v.name()
            );
            assert_eq!(
                now["stats"]["released_master"],
                was["stats"]["released_master"],
                "{} {name}: {now:#}",
                v.name()
            );
        }
    }
    for vip in [vip1, vip2] {
        assert_eq!(holders(&hosts, vip, None), ["h1"], "{vip} moved\n{}", d());
    }
    note(&format!(
        "{test}: drops on the backup: {:?}; total {}",
        expected[1],
        ms(t_test.elapsed())
    ));
    a.stop();
    b.stop();
    drop(lab);
}

// ---------------------------------------------------------------------------------------------
// Scenario 6: reload.

/// Lines of `ip monitor address` output that delete `vip`.
fn deletions(monitor_log: &str, vip: IpAddr) -> Vec<String> {
    let needle = format!(" {vip}/");
    monitor_log
        .lines()
        .filter(|l| l.starts_with("Deleted") && l.contains(&needle))
        .map(str::to_owned)
        .collect()
}

/// A node runs VI_1 (VRID 51) and VI_2 (VRID 52). A broken file is rejected by `vigil reload`
/// (non-zero exit) and by SIGHUP (logged), with both instances untouched; a file changing only
/// VI_2's priority reloads VI_2 and leaves VI_1 running: no transition, no priority-0 advert,
/// its VIP never removed (`ip monitor address`).
#[test]
fn reload_keeps_unchanged_instances_and_rejects_bad_files() {
    let test = "reload_keeps_unchanged_instances_and_rejects_bad_files";
    if !ready(test, TOOLS) {
        return;
    }
    let t_test = Instant::now();
    let lab = Lab::new("reload").unwrap();
    let h1 = lab.add_hosts(1).unwrap().remove(0);
    let (vip1, vip2) = (ip("192.0.2.100"), ip("192.0.2.101"));
    let mut cap = Capture::start(&lab, "wire").unwrap();
    let good = |prio2: u8| {
        [
            Inst::v3("VI_1", 51, 150, "192.0.2.100/24"),
            Inst::v3("VI_2", 52, prio2, "192.0.2.101/24"),
        ]
    };
    let v = Vigil::start(&h1, &good(150));
    let d = || diag(&[&v], &[]);
    for vip in [vip1, vip2] {
        wait_holds(&h1, vip, true, Duration::from_secs(3), &d);
    }
    std::thread::sleep(2 * V3_ADVERT);
    let monitor = h1
        .spawn("ip", ["-o", "monitor", "address"], "monitor.log")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300)); // let it subscribe
    let s0 = v.must_status();
    for name in ["VI_1", "VI_2"] {
        let s = find_instance(&s0, name).unwrap();
        assert_eq!(s["state"], "master", "{s:#}\n{}", d());
        assert_eq!(s["stats"]["became_master"], 1, "{s:#}");
    }
    let same_as_before = |what: &str| {
        let st = v.must_status();
        for name in ["VI_1", "VI_2"] {
            let (was, now) = (
                find_instance(&s0, name).unwrap(),
                find_instance(&st, name).unwrap(),
            );
            for key in ["state", "priority", "master"] {
                assert_eq!(
                    now[key],
                    was[key],
                    "{what}: {name}.{key} changed: {now:#}\n{}",
                    d()
                );
            }
            assert_eq!(
                now["stats"]["became_master"], was["stats"]["became_master"],
                "{what}: {name}: {now:#}"
            );
            assert_eq!(
                now["stats"]["released_master"],
                0,
                "{what}: {name}: {now:#}\n{}",
                d()
            );
        }
    };

    // A syntax error: `vigil reload` fails, nothing changes.
    let broken = format!(
        "{}\n[[instance]\nname = \"VI_3\n",
        render_config(&v.socket, &good(150))
    );
    v.write_config(&broken);
    let out = v.reload();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "vigil reload must fail on a broken file; it said: {}{stderr}\n{}",
        String::from_utf8_lossy(&out.stdout),
        d()
    );
    assert!(
        !stderr.trim().is_empty(),
        "vigil reload failed without saying why"
    );
    note(&format!(
        "{test}: `vigil reload` with a broken file: {} {}",
        out.status,
        stderr.trim()
    ));
    same_as_before("after the rejected reload");

    // The same through SIGHUP: logged, still running.
    let rejected = |log: &str| log.matches("reload rejected").count();
    let n0 = rejected(&v.log());
    assert!(
        n0 >= 1,
        "the rejected `vigil reload` should be logged\n{}",
        d()
    );
    v.proc.signal(vigil_lab::Signal::Hup).unwrap();
    vigil_lab::wait_until(
        Duration::from_secs(3),
        "SIGHUP's rejection in the log",
        || Ok((rejected(&v.log()) > n0).then_some(())),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", d()));
    assert!(
        v.proc.is_running(),
        "SIGHUP with a broken file killed vigil\n{}",
        d()
    );
    same_as_before("after SIGHUP with a broken file");

    // Only VI_2's priority changes.
    v.write_config(&render_config(&v.socket, &good(160)));
    let t_reload = Instant::now();
    let t_reload_epoch = epoch_now() - 0.05;
    let out = v.reload();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "reload of a good file failed: {stdout}{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        d()
    );
    let line = |key: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(key))
            .map(|l| l[key.len()..].trim().to_owned())
            .unwrap_or_default()
    };
    assert_eq!(line("unchanged"), "VI_1", "reload summary:\n{stdout}");
    assert_eq!(line("changed"), "VI_2", "reload summary:\n{stdout}");
    // VI_1 must hold its VIP throughout; VI_2 comes back as master.
    while t_reload.elapsed() < mdi(3, V3_ADVERT, 160) + 3 * V3_ADVERT {
        assert!(
            h1.holds(vip1).unwrap(),
            "VI_1's VIP vanished {} after the reload\n{}",
            ms(t_reload.elapsed()),
            d()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    wait_holds(&h1, vip2, true, Duration::from_secs(2), &d);
    let st = v.must_status();
    let (i1, i2) = (
        find_instance(&st, "VI_1").unwrap(),
        find_instance(&st, "VI_2").unwrap(),
    );
    let was1 = find_instance(&s0, "VI_1").unwrap();
    assert_eq!(i1["state"], "master", "{i1:#}\n{}", d());
    assert_eq!(
        i1["stats"]["became_master"],
        1,
        "VI_1 must not have transitioned: {i1:#}\n{}",
        d()
    );
    assert_eq!(i1["stats"]["released_master"], 0, "{i1:#}");
    assert!(
        i1["stats"]["adverts_sent"].as_u64() > was1["stats"]["adverts_sent"].as_u64(),
        "VI_1 kept its counters and kept advertising: before {was1:#} after {i1:#}"
    );
    assert_eq!(i2["state"], "master", "{i2:#}\n{}", d());
    assert_eq!(i2["priority"], 160, "{i2:#}");
    std::thread::sleep(Duration::from_millis(200));
    monitor.terminate(Duration::from_secs(1)).unwrap();
    let mon = std::fs::read_to_string(monitor.log_path()).unwrap();
    assert!(
        deletions(&mon, vip1).is_empty(),
        "VI_1's VIP was deleted during the reload:\n{mon}"
    );
    assert!(
        !deletions(&mon, vip2).is_empty(),
        "VI_2 was restarted, its VIP should have gone and come back:\n{mon}"
    );

    // Reloading the same file again touches nothing.
    let out = v.reload();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "reload of the same file: {stdout}\n{}",
        d()
    );
    let line = |key: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(key))
            .map(|l| l[key.len()..].trim().to_owned())
            .unwrap_or_default()
    };
    assert_eq!(
        line("unchanged"),
        "VI_1, VI_2",
        "same file reloaded:\n{stdout}"
    );
    assert_eq!(line("changed"), "-", "same file reloaded:\n{stdout}");

    let file = cap.stop().unwrap().to_owned();
    let ads: Vec<Advert> = adverts(&file)
        .into_iter()
        .filter(|a| a.time >= t_reload_epoch)
        .collect();
    let table = || advert_table(&ads, 30);
    assert!(
        !ads.iter().any(|a| a.vrid == "51" && a.prio != "150"),
        "VI_1 must keep advertising 150 through the reload\n{}",
        table()
    );
    let vrid51: Vec<f64> = ads
        .iter()
        .filter(|a| a.vrid == "51")
        .map(|a| a.time)
        .collect();
    let max_gap = vrid51.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    // Longer than its Master_Down_Interval and a backup would have taken over.
    let mdi1 = mdi(3, V3_ADVERT, 150);
    assert!(
        max_gap < mdi1.as_secs_f64(),
        "VI_1's adverts paused for {:.1} ms around the reload (a backup takes over after {})\n{}",
        max_gap * 1e3,
        ms(mdi1),
        table()
    );
    assert!(
        ads.iter().any(|a| a.vrid == "52" && a.prio == "0"),
        "VI_2 resigned (priority 0)\n{}",
        table()
    );
    assert!(
        ads.iter().any(|a| a.vrid == "52" && a.prio == "160"),
        "VI_2 came back at 160\n{}",
        table()
    );
    note(&format!(
        "{test}: VI_1 untouched (largest advert gap {:.1} ms), VI_2 restarted; total {}",
        max_gap * 1e3,
        ms(t_test.elapsed())
    ));
    v.stop();
    for vip in [vip1, vip2] {
        assert!(!h1.holds(vip).unwrap(), "SIGTERM must remove {vip}");
    }
    drop(lab);
}

/// A reload that adds an instance (here an IPv6 one) must leave the running instance alone,
/// whether the new one starts or the reload is refused: never a half-applied configuration.
#[test]
fn reload_adding_an_instance_keeps_the_running_one() {
    let test = "reload_adding_an_instance_keeps_the_running_one";
    if !ready(test, TOOLS) {
        return;
    }
    let t_test = Instant::now();
    let lab = Lab::new("reload-add").unwrap();
    let h1 = lab.add_hosts(1).unwrap().remove(0);
    let (vip1, vip6) = (ip("192.0.2.100"), ip("2001:db8::100"));
    let vi1 = Inst::v3("VI_1", 51, 150, "192.0.2.100/24");
    let vi6 = Inst::v3("VI_6", 61, 150, "2001:db8::100/64");
    let v = Vigil::start(&h1, std::slice::from_ref(&vi1));
    let d = || diag(&[&v], &[]);
    wait_holds(&h1, vip1, true, Duration::from_secs(3), &d);
    std::thread::sleep(2 * V3_ADVERT);
    let before = v.instance("VI_1");

    v.write_config(&render_config(&v.socket, &[vi1, vi6]));
    let out = v.reload();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    note(&format!(
        "{test}: reload adding VI_6 (IPv6): {} {}",
        out.status,
        said.trim()
    ));
    std::thread::sleep(3 * V3_ADVERT);
    let st = v.must_status();
    let i1 = find_instance(&st, "VI_1").unwrap_or_else(|| {
        panic!(
            "VI_1 disappeared from the status after a reload ({}: {}) that only added VI_6; \
             status: {st:#}\n{}",
            out.status,
            said.trim(),
            d()
        )
    });
    assert_eq!(i1["state"], "master", "{i1:#}\n{}", d());
    assert_eq!(
        i1["stats"]["became_master"], before["stats"]["became_master"],
        "{i1:#}"
    );
    assert!(
        i1["stats"]["adverts_sent"].as_u64() > before["stats"]["adverts_sent"].as_u64(),
        "VI_1 stopped advertising: before {before:#} after {i1:#}\n{}",
        d()
    );
    assert!(h1.holds(vip1).unwrap(), "VI_1's VIP vanished\n{}", d());
    if out.status.success() {
        assert!(
            said.contains("VI_6"),
            "summary must list VI_6 as added: {said}"
        );
        wait_holds(&h1, vip6, true, Duration::from_secs(2), &d);
    } else {
        assert!(
            find_instance(&st, "VI_6").is_none(),
            "a refused reload must not start VI_6: {st:#}"
        );
    }
    v.stop();
    for vip in [vip1, vip6] {
        assert!(
            !h1.holds(vip).unwrap(),
            "SIGTERM left {vip} behind\n{}",
            d()
        );
    }
    note(&format!("{test}: total {}", ms(t_test.elapsed())));
    drop(lab);
}

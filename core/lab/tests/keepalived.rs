//! Real keepalived pairs in a lab: one VIP holder, failover, and the adverts on the wire as
//! Wireshark's VRRP dissector sees them. Skipped (passing) when not root or `ip`/`keepalived` is
//! missing; the wire checks need tshark and are skipped without it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::{note, ready};
use vigil_lab::{Capture, Host, Keepalived, KeepalivedConfig, Lab, LabError, VrrpVersion};

const ADVERT: Duration = Duration::from_millis(100);

/// Names of the hosts holding `vip`, skipping `except` (a crashed node keeps its VIP).
fn holders(hosts: &[Host], vip: IpAddr, except: Option<&str>) -> Vec<String> {
    hosts
        .iter()
        .filter(|h| Some(h.name()) != except)
        .filter(|h| h.holds(vip).unwrap())
        .map(|h| h.name().to_owned())
        .collect()
}

/// Waits until exactly one host holds `vip`, unchanged for two advert intervals.
fn wait_single_holder(hosts: &[Host], vip: IpAddr, timeout: Duration) -> String {
    let mut current: Option<(String, Instant)> = None;
    vigil_lab::wait_until(timeout, "exactly one VIP holder", || {
        let h = holders(hosts, vip, None);
        match (h.as_slice(), &current) {
            ([one], Some((name, since))) if one == name => {
                Ok((since.elapsed() >= 2 * ADVERT).then(|| name.clone()))
            }
            ([one], _) => {
                current = Some((one.clone(), Instant::now()));
                Ok(None)
            }
            _ => {
                current = None;
                Ok(None)
            }
        }
    })
    .unwrap_or_else(|e| {
        for h in hosts {
            note(&format!(
                "---- {} holds {:?}",
                h.name(),
                h.addresses("eth0")
            ));
        }
        panic!("{e}")
    })
}

/// Starts the capture, or says why the wire checks are skipped.
fn capture(lab: &Lab, test: &str) -> Option<Capture> {
    match Capture::start(lab, "wire") {
        Ok(c) => Some(c),
        Err(LabError::MissingTool(t)) => {
            note(&format!("{test}: wire checks skipped: {t} not installed"));
            None
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn v4_pair_v3_100ms_one_master_crash_failover_and_wire() {
    let test = "v4_pair_v3_100ms_one_master_crash_failover_and_wire";
    if !ready(test, &["keepalived"]) {
        return;
    }
    let t0 = Instant::now();
    let lab = Lab::new("ka-v4").unwrap();
    let hosts = lab.add_hosts(2).unwrap();
    let vip: IpAddr = "192.0.2.100".parse().unwrap();
    let mut cap = capture(&lab, test);

    let start = Instant::now();
    let ka: Vec<Keepalived> = [(&hosts[0], 150), (&hosts[1], 100)]
        .into_iter()
        .map(|(h, prio)| {
            let cfg = KeepalivedConfig {
                version: VrrpVersion::V3,
                advert: ADVERT,
                ..KeepalivedConfig::new(51, prio, (vip, 24))
            };
            Keepalived::start(h, &cfg).unwrap()
        })
        .collect();
    let master = wait_single_holder(&hosts, vip, Duration::from_secs(10));
    note(&format!(
        "{test}: {master} is master after {:?}",
        start.elapsed()
    ));
    assert_eq!(master, "h1", "priority 150 wins");

    // Crash the master: no priority-0 advert; h2 takes over after its Master_Down_Interval
    // (3 x 100 ms + skew 60.9 ms), minus the time since h1's last advert.
    ka[0].vrrp_pid(Duration::from_secs(5)).unwrap();
    let kill = Instant::now();
    ka[0].kill9().unwrap();
    assert!(!ka[0].process().is_running());
    vigil_lab::wait_until(Duration::from_secs(5), "h2 to take the VIP", || {
        Ok((holders(&hosts, vip, Some("h1")) == ["h2"]).then_some(()))
    })
    .unwrap();
    let failover = kill.elapsed();
    note(&format!(
        "{test}: kill9 -> VIP on h2 in {failover:?} (RFC bound 360.9 ms)"
    ));
    assert!(failover < Duration::from_secs(2), "{failover:?}");
    assert!(
        hosts[0].holds(vip).unwrap(),
        "a crashed keepalived leaves its VIP behind"
    );
    std::thread::sleep(4 * ADVERT); // let h2's adverts and GARPs reach the capture

    if let Some(cap) = cap.as_mut() {
        cap.stop().unwrap();
        let fields = [
            "ip.src",
            "ip.dst",
            "ip.ttl",
            "vrrp.version",
            "vrrp.type",
            "vrrp.virt_rtr_id",
            "vrrp.prio",
            "vrrp.short_adver_int",
            "vrrp.checksum.status",
            "vrrp.ip_addr",
        ];
        let rows = cap.fields("vrrp", &fields).unwrap();
        note(&format!(
            "{test}: {} adverts on the wire, first {:?}",
            rows.len(),
            rows[0]
        ));
        assert!(rows.len() >= 5, "{rows:?}");
        for r in &rows {
            // checksum.status 1 = "Good" in Wireshark's expert checksum field.
            assert_eq!(
                r[1..],
                [
                    "224.0.0.18",
                    "255",
                    "3",
                    "1",
                    "51",
                    r[6].as_str(),
                    "10",
                    "1",
                    "192.0.2.100"
                ]
            );
        }
        let from = |src: &str, prio: &str| rows.iter().any(|r| r[0] == src && r[6] == prio);
        assert!(from("192.0.2.11", "150"), "h1 advertised");
        assert!(
            from("192.0.2.12", "100"),
            "h2 advertised after the takeover"
        );
        assert!(
            !rows.iter().any(|r| r[6] == "0"),
            "a crash sends no priority-0 advert"
        );
        let garps = cap
            .fields(
                "arp && arp.src.proto_ipv4 == 192.0.2.100 && arp.dst.proto_ipv4 == 192.0.2.100",
                &["eth.src"],
            )
            .unwrap();
        assert!(!garps.is_empty(), "gratuitous ARP for the VIP");
    }
    drop(ka);
    lab.cleanup().unwrap();
    note(&format!("{test}: total {:?}", t0.elapsed()));
}

#[test]
fn v6_pair_v3_100ms_graceful_stop_sends_priority_zero() {
    let test = "v6_pair_v3_100ms_graceful_stop_sends_priority_zero";
    if !ready(test, &["keepalived"]) {
        return;
    }
    let t0 = Instant::now();
    let lab = Lab::new("ka-v6").unwrap();
    let hosts = lab.add_hosts(2).unwrap();
    let vip: IpAddr = "2001:db8::100".parse().unwrap();
    let mut cap = capture(&lab, test);

    let start = Instant::now();
    let ka: Vec<Keepalived> = [(&hosts[0], 100), (&hosts[1], 200)]
        .into_iter()
        .map(|(h, prio)| {
            let cfg = KeepalivedConfig {
                advert: ADVERT,
                ..KeepalivedConfig::new(7, prio, (vip, 64))
            };
            Keepalived::start(h, &cfg).unwrap()
        })
        .collect();
    let master = wait_single_holder(&hosts, vip, Duration::from_secs(10));
    note(&format!(
        "{test}: {master} is master after {:?}",
        start.elapsed()
    ));
    assert_eq!(master, "h2");

    let stop = Instant::now();
    ka[1].term().unwrap();
    vigil_lab::wait_until(Duration::from_secs(5), "h1 to take the VIP", || {
        Ok((holders(&hosts, vip, Some("h2")) == ["h1"]).then_some(()))
    })
    .unwrap();
    let takeover = stop.elapsed();
    let st = ka[1].stop().unwrap();
    note(&format!(
        "{test}: SIGTERM -> VIP on h1 in {takeover:?} (Skew_Time 60.9 ms); keepalived exited ({st}) after {:?}",
        stop.elapsed()
    ));
    assert!(st.success(), "{st}");
    assert!(
        !hosts[1].holds(vip).unwrap(),
        "a graceful stop removes the VIP"
    );
    std::thread::sleep(3 * ADVERT);

    if let Some(cap) = cap.as_mut() {
        cap.stop().unwrap();
        let fields = [
            "ipv6.src",
            "ipv6.dst",
            "ipv6.hlim",
            "vrrp.version",
            "vrrp.virt_rtr_id",
            "vrrp.prio",
            "vrrp.checksum.status",
            "vrrp.ipv6_addr",
        ];
        let rows = cap.fields("vrrp", &fields).unwrap();
        note(&format!("{test}: {} adverts on the wire", rows.len()));
        assert!(rows.len() >= 5, "{rows:?}");
        let h1_ll = hosts[0].link_local("eth0").unwrap().unwrap().to_string();
        let h2_ll = hosts[1].link_local("eth0").unwrap().unwrap().to_string();
        for r in &rows {
            assert_eq!(r[1..5], ["ff02::12", "255", "3", "7"], "{r:?}");
            assert_eq!(r[6], "1", "checksum Good: {r:?}");
            assert_eq!(r[7], "2001:db8::100");
            assert!(
                r[0] == h1_ll || r[0] == h2_ll,
                "sent from a link-local: {r:?}"
            );
        }
        assert!(
            rows.iter().any(|r| r[0] == h2_ll && r[5] == "0"),
            "priority-0 advert from the stopped master"
        );
        assert!(
            rows.iter().any(|r| r[0] == h1_ll && r[5] == "100"),
            "h1 took over"
        );
        let na = cap
            .fields(
                "icmpv6.type == 136 && icmpv6.nd.na.target_address == 2001:db8::100",
                &["eth.src"],
            )
            .unwrap();
        assert!(!na.is_empty(), "unsolicited NA for the VIP");
    }
    drop(ka);
    lab.cleanup().unwrap();
    note(&format!("{test}: total {:?}", t0.elapsed()));
}

#[test]
fn config_test_rejects_a_bad_file() {
    if !ready("config_test_rejects_a_bad_file", &["keepalived"]) {
        return;
    }
    let lab = Lab::new("ka-conf").unwrap();
    let h = lab.add_hosts(1).unwrap().remove(0);
    let conf = lab.dir().join("bad.conf");
    std::fs::write(&conf, "vrrp_instance X {\n    priority 999\n}\n").unwrap();
    let err = Keepalived::config_test(&h, &conf).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("keepalived") && msg.contains("999"), "{msg}");
}

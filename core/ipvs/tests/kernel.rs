//! Against the real kernel: every operation through generic netlink, checked with a dump and
//! with `ipvsadm -Ln`, and the reconciler converging from what the kernel holds.
//!
//! This machine's kernel has no IPVS; run it in the VM lab:
//! `tests/lib/ipvs-vm/run.sh -- target/debug/deps/kernel-*` (the test skips, and passes,
//! where `/proc/net/ip_vs` is missing, unless VIGIL_REQUIRE_IPVS=1).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use vigil_ipvs::handle::Ipvs;
use vigil_ipvs::model::{
    DestKey, DestSettings, Family, Forward, Protocol, ServiceKey, ServiceSettings, Table,
    TunnelType,
};
use vigil_ipvs::reconcile::plan;

fn available() -> bool {
    if std::path::Path::new("/proc/net/ip_vs").exists() {
        return true;
    }
    assert!(
        std::env::var("VIGIL_REQUIRE_IPVS").as_deref() != Ok("1"),
        "no IPVS in this kernel and VIGIL_REQUIRE_IPVS=1"
    );
    eprintln!("skipped: no IPVS in this kernel (run through tests/lib/ipvs-vm/run.sh)");
    false
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn settings(sched: &str) -> ServiceSettings {
    ServiceSettings {
        scheduler: sched.into(),
        persistence: 0,
        netmask: 32,
        sched_flags: 0,
    }
}

fn dest(a: &str, port: u16, forward: Forward, weight: u32) -> (DestKey, DestSettings) {
    (
        DestKey { addr: ip(a), port },
        DestSettings {
            forward,
            weight,
            upper_threshold: 0,
            lower_threshold: 0,
        },
    )
}

/// Services of every kind: protocols, families, fwmark, schedulers, forwarding methods.
fn desired() -> Table {
    let mut t = Table::new();
    let scheds = [
        "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh", "fo", "ovf",
    ];
    for (i, s) in scheds.iter().enumerate() {
        let i = u8::try_from(i).unwrap();
        let key = ServiceKey::Inet {
            protocol: [Protocol::Tcp, Protocol::Udp, Protocol::Sctp][usize::from(i % 3)],
            addr: ip(&format!("198.51.100.{}", i + 1)),
            port: 80,
        };
        let dests: BTreeMap<_, _> = [
            dest("192.0.2.10", 8080, Forward::Nat, 1),
            dest("192.0.2.11", 8080, Forward::Route, 2),
            dest("192.0.2.12", 8080, Forward::Tunnel(TunnelType::Ipip), 3),
        ]
        .into();
        t.insert(key, (settings(s), dests));
    }
    let v6 = ServiceKey::Inet {
        protocol: Protocol::Tcp,
        addr: ip("2001:db8::100"),
        port: 443,
    };
    t.insert(
        v6,
        (
            ServiceSettings {
                persistence: 300,
                netmask: 64,
                ..settings("wlc")
            },
            [dest("2001:db8::10", 443, Forward::Nat, 5)].into(),
        ),
    );
    let fw = ServiceKey::Fwmark {
        family: Family::V4,
        mark: 42,
    };
    t.insert(
        fw,
        (
            settings("rr"),
            [dest("192.0.2.20", 0, Forward::Route, 1)].into(),
        ),
    );
    t
}

#[tokio::test]
async fn operations_round_trip_through_the_kernel() {
    if !available() {
        return;
    }
    let mut ipvs = Ipvs::connect().unwrap();
    ipvs.flush().await.unwrap();
    let want = desired();
    let owned: BTreeSet<ServiceKey> = want.keys().cloned().collect();
    let have = ipvs.dump().await.unwrap();
    for op in plan(&want, &have, &owned) {
        ipvs.apply(&op)
            .await
            .unwrap_or_else(|e| panic!("{op:?}: {e}"));
    }
    let got = ipvs.dump().await.unwrap();
    assert_eq!(got, want, "dump after apply");
    assert!(
        plan(&want, &got, &owned).is_empty(),
        "second plan is a no-op"
    );

    let listing = std::process::Command::new("ipvsadm")
        .arg("-Ln")
        .output()
        .unwrap();
    // Compare with runs of spaces collapsed (ipvsadm pads columns).
    let listing = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>();
    for needle in [
        "TCP 198.51.100.1:80 rr",
        "-> 192.0.2.10:8080 Masq 1 0 0",
        "-> 192.0.2.11:8080 Route 2 0 0",
        "-> 192.0.2.12:8080 Tunnel 3 0 0",
        "SCTP 198.51.100.3:80 lc",
        "TCP [2001:db8::100]:443 wlc persistent 300 mask 64",
        "FWM 42 rr",
    ] {
        assert!(
            listing.iter().any(|l| l == needle),
            "ipvsadm -Ln lacks {needle:?}:\n{}",
            listing.join("\n")
        );
    }

    // Someone edits the table by hand; Vigil re-converges; foreign services stay.
    let sh = std::process::Command::new("sh")
        .arg("-c")
        .arg("ipvsadm -d -t 198.51.100.1:80 -r 192.0.2.10:8080 && ipvsadm -A -t 203.0.113.1:80 -s rr")
        .status()
        .unwrap();
    assert!(sh.success());
    let have = ipvs.dump().await.unwrap();
    let ops = plan(&want, &have, &owned);
    assert_eq!(ops.len(), 1, "{ops:?}");
    for op in ops {
        ipvs.apply(&op).await.unwrap();
    }
    let got = ipvs.dump().await.unwrap();
    let mine: Table = got
        .iter()
        .filter(|(k, _)| owned.contains(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(mine, want);
    assert_eq!(
        got.len(),
        want.len() + 1,
        "the hand-made service is left alone"
    );

    // A kernel error comes back typed, with its errno.
    let dup =
        vigil_ipvs::reconcile::Op::AddService(want.keys().next().unwrap().clone(), settings("rr"));
    match ipvs.apply(&dup).await {
        Err(vigil_ipvs::handle::IpvsError::Kernel { errno, .. }) => assert_eq!(errno, 17),
        other => panic!("expected EEXIST, got {other:?}"),
    }
    ipvs.flush().await.unwrap();
}

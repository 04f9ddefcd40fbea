//! `use_vmac` against real keepalived: the VIP lives on a macvlan with the
//! RFC virtual MAC on whichever side is master, a client resolves the VIP to
//! that virtual MAC (the parent answers no ARP for it: arp_ignore/arp_filter),
//! and failover keeps working.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::*;
use vigil_lab::{Keepalived, KeepalivedConfig, Lab};

const VMAC: &str = "00:00:5e:00:01:33";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn vmac_with_keepalived_peer() {
    let test = "vmac_with_keepalived_peer";
    if !ready(test, &["keepalived", "ping"]) {
        return;
    }
    let lab = Lab::new("vmac").unwrap();
    let hosts = lab.add_hosts(3).unwrap();
    let (h1, h2, client) = (&hosts[0], &hosts[1], &hosts[2]);
    let vip = ip("192.0.2.100");
    let vg = Vigil::start(
        h1,
        &[Inst {
            use_vmac: true,
            ..Inst::v3("VI_1", 51, 150, "192.0.2.100/24")
        }],
    );
    let ka = Keepalived::start(
        h2,
        &KeepalivedConfig {
            advert: Duration::from_millis(100),
            use_vmac: true,
            ..KeepalivedConfig::new(51, 100, (vip, 24))
        },
    )
    .unwrap();
    let d = || format!("{}\n{}", vg.log_tail(30), ka_tail(&ka, 30));
    let master = wait_single_holder(
        &hosts[..2],
        vip,
        Duration::from_secs(5),
        Duration::from_millis(300),
        &d,
    );
    assert_eq!(master, "h1", "{}", d());
    let on = h1
        .run("ip", ["-br", "addr", "show", "dev", "vrrp.51"])
        .unwrap();
    assert!(
        on.contains("192.0.2.100/24"),
        "VIP must sit on the VMAC: {on}\n{}",
        d()
    );
    let link = h1
        .run("ip", ["-br", "link", "show", "dev", "vrrp.51"])
        .unwrap();
    assert!(link.to_lowercase().contains(VMAC), "VMAC address: {link}");
    assert_eq!(vg.state("VI_1"), "master", "{}", d());
    let ka_log = ka.log().unwrap_or_default();
    assert!(
        !ka_log.contains("Entering MASTER STATE"),
        "keepalived must stay backup\n{}",
        d()
    );

    // A client resolves the VIP to the virtual MAC (not a host MAC).
    assert!(client
        .exec("ping", ["-c", "1", "-W", "1", "192.0.2.100"])
        .unwrap()
        .status
        .success());
    let neigh = client.run("ip", ["neigh", "show", "192.0.2.100"]).unwrap();
    assert!(
        neigh.to_lowercase().contains(VMAC),
        "the client must reach the VIP at the virtual MAC: {neigh}\n{}",
        d()
    );

    // Crash of the Vigil master: keepalived takes over on its own VMAC.
    vg.kill9();
    let _ = h1.exec("ip", ["link", "del", "vrrp.51"]);
    wait_holds(
        h2,
        vip,
        true,
        mdi(3, Duration::from_millis(100), 100) + Duration::from_secs(2),
        &d,
    );
    let on = h2
        .run("ip", ["-br", "addr", "show", "dev", "vrrp.51"])
        .unwrap();
    assert!(
        on.contains("192.0.2.100/24"),
        "keepalived's VIP must sit on its VMAC: {on}"
    );
    assert!(client
        .exec("ping", ["-c", "1", "-W", "1", "192.0.2.100"])
        .unwrap()
        .status
        .success());
    // Not asserted: after keepalived (2.2.7) takes over, this client's entry
    // shows h2's own MAC, not the virtual one: keepalived leaves arp_ignore at 0
    // on its base interface here, so the base answers ARP for the VIP too. That
    // is keepalived's behaviour (it was the "anomaly" of session 1); Vigil's
    // side is asserted above.
    note(&format!(
        "{test}: VIP on the VMAC ({VMAC}) on both sides of a failover"
    ));
}

//! Accept_Mode (RFC 9568 §6.1): with `accept = false` a non-owner master answers ARP for its
//! virtual address but the kernel drops what is addressed to it (nftables table `inet vigil`);
//! a reload to `accept = true` lifts that, and the table goes when the daemon stops.
//!
//! Skips (and passes) with `skipped: <reason>` when not root or `ip`/`nft` is missing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::*;
use vigil_lab::{Host, Lab};

fn pings(from: &Host, to: IpAddr) -> bool {
    from.exec("ping", ["-c", "1", "-W", "1", &to.to_string()])
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn accept_false_drops_traffic_to_the_vip_but_answers_arp() {
    let test = "accept_false_drops_traffic_to_the_vip_but_answers_arp";
    if !ready(test, &["nft", "ping"]) {
        return;
    }
    let lab = Lab::new("vigil-accept").unwrap();
    let hosts = lab.add_hosts(2).unwrap();
    let (h1, client) = (&hosts[0], &hosts[1]);
    let vip: IpAddr = "192.0.2.100".parse().unwrap();
    let inst = [Inst::v3("VI_1", 51, 150, "192.0.2.100/24")];
    let v = Vigil::start_with(h1, &inst, "accept = false\n");
    wait_holds(h1, vip, true, Duration::from_secs(5), &|| v.log_tail(20));
    let h1_addr = h1.ipv4().unwrap();
    assert!(pings(client, h1_addr.into()), "the lab itself works");

    assert!(
        !pings(client, vip),
        "accept = false: the VIP must not answer"
    );
    let neigh = client
        .run("ip", ["neigh", "show", &vip.to_string()])
        .unwrap();
    assert!(
        neigh.contains("lladdr"),
        "ARP for the VIP must still be answered: {neigh}"
    );
    let table = h1.run("nft", ["list", "table", "inet", "vigil"]).unwrap();
    assert!(table.contains("192.0.2.100"), "{table}");

    // Reload to accept = true: the rule goes and the VIP answers (the instance changed, so it
    // restarts and takes the VIP again).
    let conf = std::fs::read_to_string(&v.conf)
        .unwrap()
        .replace("accept = false", "accept = true");
    v.write_config(&conf);
    let out = v.reload();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    vigil_lab::wait_until(Duration::from_secs(5), "the VIP to answer pings", || {
        Ok(pings(client, vip).then_some(()))
    })
    .unwrap_or_else(|e| panic!("accept = true: {e}\n{}", v.log_tail(20)));
    let tables = h1.run("nft", ["list", "tables"]).unwrap();
    assert!(!tables.contains("vigil"), "{tables}");

    // Back to false, then stop: the table is removed on exit.
    v.write_config(&conf.replace("accept = true", "accept = false"));
    assert!(v.reload().status.success());
    wait_holds(h1, vip, true, Duration::from_secs(5), &|| v.log_tail(20));
    assert!(!pings(client, vip));
    v.stop();
    let tables = h1.run("nft", ["list", "tables"]).unwrap();
    assert!(!tables.contains("vigil"), "left behind: {tables}");
}

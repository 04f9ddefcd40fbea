//! Tracking in the running daemon: a check (unsandboxed script here; the plugin checks have
//! their own tests against real servers) with a weight moves the priority and so the VIP;
//! a tracked interface without a weight puts the instance in Fault on link down (rtnetlink
//! link events) and recovers on link up; `vigil status` shows why.
//!
//! Skips (and passes) with `skipped: <reason>` when not root or `ip` is missing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::*;
use vigil_lab::Lab;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn weighted_check_and_tracked_interface_move_the_vip() {
    let test = "weighted_check_and_tracked_interface_move_the_vip";
    if !ready(test, &[]) {
        return;
    }
    let lab = Lab::new("vigil-track").unwrap();
    let hosts = lab.add_hosts(2).unwrap();
    let (h1, h2) = (&hosts[0], &hosts[1]);
    let vip = ip("192.0.2.100");
    let flag = lab.dir().join("service-ok");
    std::fs::write(&flag, "").unwrap();
    // A second interface on h1 to track: a veth pair inside h1 (this kernel may lack dummy).
    h1.run(
        "ip",
        [
            "link", "add", "trk0", "type", "veth", "peer", "name", "trk1",
        ],
    )
    .unwrap();
    h1.set_link("trk1", true).unwrap();
    h1.set_link("trk0", true).unwrap();

    let extra = format!(
        "track_checks = [{{ check = \"svc\", weight = -100 }}]\n\
         track_interfaces = [\"trk0\"]\n\n\
         [[check]]\nname = \"svc\"\nunsandboxed_script = \"test -e {}\"\n\
         interval = \"100ms\"\ntimeout = \"100ms\"\nfall = 2\nrise = 2\n",
        flag.display()
    );
    let mut i1 = Inst::v3("VI_1", 51, 200, "192.0.2.100/24");
    let i2 = Inst::v3("VI_1", 51, 150, "192.0.2.100/24");
    i1.preempt = Some(true);
    // `extra` continues the last [[instance]] table (its track_* keys), then the check.
    let a = Vigil::start_with(h1, &[i1], &extra);
    let b = Vigil::start(h2, &[i2]);
    let diag = || [a.log_tail(25), b.log_tail(15)].join("\n");
    wait_holds(h1, vip, true, Duration::from_secs(5), &diag);

    // The service check fails twice: 200 - 100 = 100 < 150, h2 preempts.
    std::fs::remove_file(&flag).unwrap();
    wait_holds(h2, vip, true, Duration::from_secs(5), &diag);
    wait_holds(h1, vip, false, Duration::from_secs(5), &diag);
    let st = a.must_status();
    let tr = &st["tracking"][0];
    assert_eq!(tr["priority"], 100, "{st:#}");
    assert!(
        tr["last_change"]
            .as_str()
            .unwrap_or("")
            .contains("check \"svc\" down"),
        "{st:#}"
    );
    assert_eq!(st["checks"][0]["healthy"], false, "{st:#}");
    assert_eq!(st["checks"][0]["sandboxed"], false, "{st:#}");
    assert_eq!(a.instance("VI_1")["priority"], 100);

    // Back: h1 preempts again.
    std::fs::write(&flag, "").unwrap();
    wait_holds(h1, vip, true, Duration::from_secs(5), &diag);

    // Link down on the tracked interface: Fault, the VIP goes to h2.
    h1.set_link("trk0", false).unwrap();
    wait_holds(h2, vip, true, Duration::from_secs(5), &diag);
    vigil_lab::wait_until(Duration::from_secs(3), "h1 in fault", || {
        Ok((a.state("VI_1") == "fault").then_some(()))
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", diag()));
    // Link up: recovery, and preemption brings it back.
    h1.set_link("trk0", true).unwrap();
    wait_holds(h1, vip, true, Duration::from_secs(5), &diag);
    a.stop();
    b.stop();
}

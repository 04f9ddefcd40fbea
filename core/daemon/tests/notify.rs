//! Notifiers in the running daemon: a keepalived-style notify script (unsandboxed runner)
//! receives exactly the transitions that happened, in order, with keepalived's arguments.
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
fn notify_script_sees_every_transition_in_order() {
    let test = "notify_script_sees_every_transition_in_order";
    if !ready(test, &[]) {
        return;
    }
    let lab = Lab::new("vigil-notify").unwrap();
    let hosts = lab.add_hosts(2).unwrap();
    let (h1, h2) = (&hosts[0], &hosts[1]);
    let vip = ip("192.0.2.100");
    let log = lab.dir().join("notify-h2.log");
    let script = lab.dir().join("notify.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$1 $2 $3 $4\" >> {}\n", log.display()),
    )
    .unwrap();
    let notifier = format!(
        "[[notifier]]\nname = \"legacy\"\nunsandboxed_script = \"/bin/sh {}\"\n",
        script.display()
    );
    let inst = |prio| [Inst::v3("VI_1", 51, prio, "192.0.2.100/24")];
    let diag = |v: &[&Vigil]| -> String {
        v.iter()
            .map(|v| v.log_tail(20))
            .collect::<Vec<_>>()
            .join("\n")
    };

    let a = Vigil::start(h1, &inst(150));
    let b = Vigil::start_with(h2, &inst(100), &notifier);
    wait_single_holder(
        &hosts,
        vip,
        Duration::from_secs(5),
        Duration::from_millis(300),
        &|| diag(&[&a, &b]),
    );
    a.kill9();
    wait_holds(h2, vip, true, Duration::from_secs(3), &|| diag(&[&a, &b]));
    let a2 = Vigil::start(h1, &inst(150));
    // Preemption: h1 takes the VIP back, h2 goes back to backup.
    wait_holds(h1, vip, true, Duration::from_secs(5), &|| diag(&[&a2, &b]));
    wait_holds(h2, vip, false, Duration::from_secs(5), &|| diag(&[&a2, &b]));
    b.stop();
    a2.stop();

    let got = std::fs::read_to_string(&log).unwrap_or_default();
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(
        lines,
        [
            "INSTANCE VI_1 BACKUP 100",
            "INSTANCE VI_1 MASTER 100",
            "INSTANCE VI_1 BACKUP 100",
            "INSTANCE VI_1 STOP 100",
        ],
        "the notify script's log\n{}",
        b.log()
    );
}

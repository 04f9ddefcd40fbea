//! Namespace labs end to end: connectivity, helpers, cleanup (explicit, Drop, panic) and GC.
//! Each test prints `skipped: ...` and passes when not root or `ip` is missing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use common::{namespaces_with, note, pid_gone, ready};
use vigil_lab::{Lab, LabError};

#[test]
fn three_hosts_unicast_and_multicast() {
    if !ready("three_hosts_unicast_and_multicast", &["ping"]) {
        return;
    }
    let t0 = Instant::now();
    let lab = Lab::new("ping").unwrap();
    let hosts = lab.add_hosts(3).unwrap();
    note(&format!("3-host lab built in {:?}", t0.elapsed()));
    assert_eq!(namespaces_with(lab.prefix()).len(), 4, "sw + 3 hosts");

    for h in &hosts {
        let addrs = h.addresses("eth0").unwrap();
        assert!(addrs.contains(&IpAddr::V4(h.ipv4().unwrap())), "{addrs:?}");
        assert!(addrs.contains(&IpAddr::V6(h.ipv6().unwrap())), "{addrs:?}");
        assert!(
            h.link_local("eth0").unwrap().is_some(),
            "link-local on {}",
            h.name()
        );
    }
    assert_eq!(hosts[0].ipv4(), Some(Ipv4Addr::new(192, 0, 2, 11)));
    assert_eq!(hosts[2].ipv6(), Some("2001:db8::13".parse().unwrap()));

    let t1 = Instant::now();
    for a in &hosts {
        for b in &hosts {
            if a.name() == b.name() {
                continue;
            }
            let v4 = b.ipv4().unwrap().to_string();
            let v6 = b.ipv6().unwrap().to_string();
            a.run("ping", ["-c1", "-W2", "-q", &v4])
                .unwrap_or_else(|e| panic!("{} -> {} v4: {e}", a.name(), b.name()));
            a.run("ping", ["-6", "-c1", "-W2", "-q", &v6])
                .unwrap_or_else(|e| panic!("{} -> {} v6: {e}", a.name(), b.name()));
        }
    }
    note(&format!("12 unicast pings in {:?}", t1.elapsed()));

    // Multicast: every other host answers the all-hosts / all-nodes groups across the bridge.
    let out = hosts[0]
        .exec("ping", ["-c2", "-i0.2", "-W1", "-I", "eth0", "224.0.0.1"])
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for b in &hosts[1..] {
        let from = format!("from {}:", b.ipv4().unwrap());
        assert!(text.contains(&from), "no reply {from} in:\n{text}");
    }
    let out = hosts[0]
        .exec("ping", ["-6", "-c2", "-i0.2", "-W1", "ff02::1%eth0"])
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for b in &hosts[1..] {
        let ll = b.link_local("eth0").unwrap().unwrap();
        let hit = text.contains(&format!("from {ll}%")) || text.contains(&format!("from {ll}:"));
        assert!(hit, "no reply from {ll} ({}) in:\n{text}", b.name());
    }
    note(&format!(
        "three_hosts_unicast_and_multicast total {:?}",
        t0.elapsed()
    ));
}

#[test]
fn host_helpers_and_errors() {
    if !ready("host_helpers_and_errors", &["ping"]) {
        return;
    }
    let lab = Lab::new("helpers").unwrap();
    let hosts = lab.add_hosts(2).unwrap();
    let (h1, h2) = (&hosts[0], &hosts[1]);
    let peer = h2.ipv4().unwrap().to_string();

    h1.set_link("eth0", false).unwrap();
    let down = h1.run("ping", ["-c1", "-W1", "-q", &peer]);
    assert!(matches!(down, Err(LabError::Command { .. })), "{down:?}");
    h1.set_link("eth0", true).unwrap();
    h1.wait_link_up("eth0", Duration::from_secs(5)).unwrap();
    h1.run("ping", ["-c1", "-W2", "-q", &peer]).unwrap();

    // A failing command names itself and carries stderr.
    let err = h1.run("ip", ["link", "show", "dev", "nope0"]).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("nope0") && msg.contains("does not exist"),
        "{msg}"
    );

    // Only documentation addresses, and nothing is created for a refused host.
    let before = lab.namespaces().len();
    let r = lab.add_host("bad", Some((Ipv4Addr::new(10, 0, 0, 1), 24)), None);
    assert!(matches!(r, Err(LabError::Invalid(_))), "{r:?}");
    let r = lab.add_host("h1", None, None);
    assert!(
        matches!(r, Err(LabError::Invalid(_))),
        "duplicate name: {r:?}"
    );
    assert_eq!(lab.namespaces().len(), before);

    // A host without addresses still gets a link-local one at once (DAD off).
    let bare = lab.add_host("bare", None, None).unwrap();
    assert!(bare.link_local("eth0").unwrap().is_some());
    assert!(lab.host("bare").is_some() && lab.hosts().len() == 3);

    // Spawned processes: log capture and signals.
    let p = h1
        .spawn("sh", ["-c", "echo hello; exec sleep 600"], "sh.log")
        .unwrap();
    vigil_lab::wait_until(Duration::from_secs(5), "sh to log", || {
        Ok(p.log()?.contains("hello").then_some(()))
    })
    .unwrap();
    assert!(p.is_running());
    let st = p.terminate(Duration::from_secs(2)).unwrap();
    assert!(!st.success());
    assert!(
        !p.signal(vigil_lab::Signal::Term).unwrap(),
        "no signal after exit"
    );
}

#[test]
fn cleanup_removes_namespaces_processes_and_dir() {
    if !ready("cleanup_removes_namespaces_processes_and_dir", &[]) {
        return;
    }
    let lab = Lab::new("cleanup").unwrap();
    let hosts = lab.add_hosts(2).unwrap();
    let prefix = lab.prefix().to_owned();
    let dir = lab.dir().to_owned();
    assert_eq!(namespaces_with(&prefix).len(), 3);

    // A tracked child, and a grandchild the lab never saw (like keepalived's VRRP child).
    let direct = hosts[0].spawn("sleep", ["600"], "sleep.log").unwrap();
    let pidfile = dir.join("stray.pid");
    let script = format!("sleep 600 & echo $! > {}; wait", pidfile.display());
    hosts[1].spawn("sh", ["-c", &script], "sh.log").unwrap();
    let stray: u32 = vigil_lab::wait_until(Duration::from_secs(5), "stray pid", || {
        Ok(std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse().ok()))
    })
    .unwrap();

    let t = Instant::now();
    lab.cleanup().unwrap();
    note(&format!(
        "cleanup of 2-host lab with 3 processes took {:?}",
        t.elapsed()
    ));
    assert!(
        namespaces_with(&prefix).is_empty(),
        "{:?}",
        namespaces_with(&prefix)
    );
    assert!(pid_gone(direct.pid()), "tracked child still alive");
    assert!(pid_gone(stray), "stray grandchild still alive");
    assert!(!dir.exists(), "lab dir left behind");
    assert!(lab.is_cleaned_up());

    lab.cleanup().unwrap(); // idempotent
    let again = lab.add_host("late", None, None);
    assert!(matches!(again, Err(LabError::CleanedUp(_))), "{again:?}");
    let late = hosts[0].spawn("sleep", ["1"], "late.log");
    assert!(matches!(late, Err(LabError::CleanedUp(_))), "{late:?}");
}

#[test]
fn drop_on_panic_cleans_up() {
    if !ready("drop_on_panic_cleans_up", &[]) {
        return;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let joined = std::thread::spawn(move || {
        let lab = Lab::new("panic").unwrap();
        let h = lab
            .add_host("h1", Some((Ipv4Addr::new(192, 0, 2, 11), 24)), None)
            .unwrap();
        let p = h.spawn("sleep", ["600"], "sleep.log").unwrap();
        tx.send((lab.prefix().to_owned(), lab.dir().to_owned(), p.pid()))
            .unwrap();
        panic!("deliberate panic with a live lab");
    })
    .join();
    assert!(joined.is_err(), "the thread should have panicked");
    let (prefix, dir, pid) = rx.recv().unwrap();
    assert!(
        namespaces_with(&prefix).is_empty(),
        "{:?}",
        namespaces_with(&prefix)
    );
    assert!(pid_gone(pid));
    assert!(!dir.exists());
}

/// Removes a namespace on drop, so a failing assertion does not leak the fakes.
struct FakeNs(String);

impl FakeNs {
    fn new(name: String) -> Self {
        let st = std::process::Command::new(vigil_lab::which("ip").unwrap())
            .args(["netns", "add", &name])
            .status()
            .unwrap();
        assert!(st.success(), "ip netns add {name}");
        FakeNs(name)
    }
}

impl Drop for FakeNs {
    fn drop(&mut self) {
        if let Some(ip) = vigil_lab::which("ip") {
            let _ = std::process::Command::new(ip)
                .args(["netns", "del", &self.0])
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

#[test]
fn gc_stale_removes_only_dead_empty_namespaces() {
    if !ready("gc_stale_removes_only_dead_empty_namespaces", &["sleep"]) {
        return;
    }
    // A pid above pid_max can never be alive: a deterministic "dead owner".
    let pid_max: u32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let dead = pid_max + 1;
    let live = Lab::new("gc-live").unwrap();
    live.add_hosts(1).unwrap();

    let hex = format!("{:04x}", std::process::id() & 0xffff);
    let empty = FakeNs::new(format!("vigil-{dead}-{hex}-h1"));
    let busy = FakeNs::new(format!("vigil-{dead}-{hex}-h2"));
    let unrelated = FakeNs::new(format!("vigilx-{dead}-{hex}-h1"));
    // A process inside `busy` (ours, killed below): GC must never remove a namespace in use.
    let mut sleeper = std::process::Command::new(vigil_lab::which("ip").unwrap())
        .args(["netns", "exec", &busy.0, "sleep", "600"])
        .spawn()
        .unwrap();
    vigil_lab::wait_until(
        Duration::from_secs(5),
        "sleeper in the busy namespace",
        || {
            let out = std::process::Command::new(vigil_lab::which("ip").unwrap())
                .args(["netns", "pids", &busy.0])
                .output()
                .unwrap();
            Ok((!out.stdout.is_empty()).then_some(()))
        },
    )
    .unwrap();

    // The default age guard (30 s) protects a namespace this fresh.
    let removed = Lab::gc_stale().unwrap();
    assert!(!removed.contains(&empty.0), "{removed:?}");

    let removed = Lab::gc_stale_older_than(Duration::ZERO).unwrap();
    note(&format!("gc removed {removed:?}"));
    let all = namespaces_with("vigil");
    assert!(
        !all.contains(&empty.0),
        "dead-owner empty namespace survived"
    );
    assert!(
        all.contains(&busy.0),
        "namespace with a process was removed"
    );
    assert!(
        namespaces_with("vigilx").contains(&unrelated.0),
        "foreign name removed"
    );
    assert_eq!(namespaces_with(live.prefix()).len(), 2, "live lab touched");

    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
}

#[test]
fn keep_keeps_only_the_dir() {
    if !ready("keep_keeps_only_the_dir", &[]) {
        return;
    }
    let lab = Lab::new("keep").unwrap();
    lab.add_hosts(1).unwrap();
    std::fs::write(lab.dir().join("evidence.txt"), "x").unwrap();
    lab.keep();
    lab.cleanup().unwrap();
    assert!(
        namespaces_with(lab.prefix()).is_empty(),
        "namespaces are never kept"
    );
    assert!(lab.dir().join("evidence.txt").exists(), "the dir is kept");
    std::fs::remove_dir_all(lab.dir()).unwrap();
}

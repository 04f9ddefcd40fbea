//! SIGTERM/SIGINT cleanup, tested in a child process: this test binary re-runs itself with
//! `VIGIL_LAB_SIGNAL_CHILD=1`, the child builds a lab, installs `Lab::cleanup_on_signal`, prints
//! its prefix and waits; the parent signals it and checks that nothing is left.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{namespaces_with, note, pid_gone, ready};
use vigil_lab::Lab;

const CHILD_ENV: &str = "VIGIL_LAB_SIGNAL_CHILD";

/// Not a real test on its own: the body of the child process (a no-op otherwise).
#[test]
fn signal_child_body() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    Lab::cleanup_on_signal().unwrap();
    let lab = Lab::new("signal").unwrap();
    let hosts = lab.add_hosts(2).unwrap();
    let p = hosts[0].spawn("sleep", ["600"], "sleep.log").unwrap();
    println!(
        "CHILD-LAB {} {} {}",
        lab.prefix(),
        lab.dir().display(),
        p.pid()
    );
    std::thread::sleep(Duration::from_secs(60));
    panic!("child was not signalled");
}

fn run_child_and_signal(sig: i32, name: &str) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "signal_child_body",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // libtest prints "test signal_child_body ... " without a newline before our line.
    let line = lines
        .by_ref()
        .map(Result::unwrap)
        .find_map(|l| l.split_once("CHILD-LAB ").map(|(_, rest)| rest.to_owned()))
        .expect("child printed its lab");
    let parts: Vec<&str> = line.split_whitespace().collect();
    let (prefix, dir, pid) = (parts[0], parts[1], parts[2].parse::<u32>().unwrap());
    assert_eq!(namespaces_with(prefix).len(), 3);

    let t = Instant::now();
    kill(child.id(), sig);
    let status = child.wait().unwrap();
    note(&format!(
        "{name}: child exited ({status}) {:?} after the signal",
        t.elapsed()
    ));
    assert_eq!(
        status.signal(),
        Some(sig),
        "dies of the same signal: {status}"
    );
    assert!(
        namespaces_with(prefix).is_empty(),
        "{:?}",
        namespaces_with(prefix)
    );
    assert!(pid_gone(pid), "process in the lab survived");
    assert!(!std::path::Path::new(dir).exists(), "lab dir left behind");
}

fn kill(pid: u32, sig: i32) {
    let st = Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
fn sigterm_cleans_up() {
    if std::env::var_os(CHILD_ENV).is_some() || !ready("sigterm_cleans_up", &["sleep"]) {
        return;
    }
    run_child_and_signal(15, "SIGTERM");
}

#[test]
fn sigint_cleans_up() {
    if std::env::var_os(CHILD_ENV).is_some() || !ready("sigint_cleans_up", &["sleep"]) {
        return;
    }
    run_child_and_signal(2, "SIGINT");
}

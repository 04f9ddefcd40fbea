//! Shared helpers for the lab integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;

/// True when labs can run here; otherwise prints `skipped: <why>` straight to stderr (past
/// libtest's capture, so it shows in normal runs) and the test returns early.
pub fn ready(test: &str, tools: &[&str]) -> bool {
    match vigil_lab::preflight(tools) {
        Ok(()) => true,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "{test}: skipped: {e}");
            false
        }
    }
}

/// Printed past the capture too: timings are part of what these tests report.
pub fn note(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// Namespaces whose name starts with `<prefix>-`.
pub fn namespaces_with(prefix: &str) -> Vec<String> {
    let out = std::process::Command::new(vigil_lab::which("ip").unwrap())
        .args(["netns", "list"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(&format!("{prefix}-")))
        .map(str::to_owned)
        .collect()
}

/// Gone or a zombie (an orphan waiting for init to reap it no longer runs anything).
pub fn pid_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s
            .rfind(')')
            .and_then(|i| s[i + 1..].split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
    }
}

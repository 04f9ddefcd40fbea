//! Accept_Mode (RFC 9568 §6.1): a master that does not own the addresses and has
//! `accept = false` must not accept packets addressed to its virtual addresses. The kernel
//! accepts whatever is addressed to a local address, so the daemon installs an nftables table
//! (`inet vigil`) that drops them, as keepalived does under `vrrp_strict`. ARP is not IP and
//! never reaches it; IPv6 neighbour discovery to the addresses is let through, so the master
//! still answers for them.
//!
//! The table holds every such address all the time: while a router is backup the addresses are
//! not local, so the rule has nothing to match. It is replaced atomically on start and reload
//! (one `nft -f` transaction) and removed on exit.

use std::io::Write as _;
use std::net::IpAddr;
use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context, Result};

use crate::daemon::plan::Plan;

/// The nftables table Vigil owns.
const TABLE: &str = "inet vigil";

/// The virtual addresses that must not be accepted locally: those of instances with
/// `accept = false` that do not own them (priority 255 always accepts).
pub fn refused_addresses(plan: &Plan) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = plan
        .instances
        .iter()
        .filter(|p| !p.engine.accept && p.engine.priority != 255)
        .flat_map(|p| p.vips.iter().map(|v| v.addr))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The nft script that makes the table hold exactly `addrs` (or removes it when empty).
pub fn script(addrs: &[IpAddr]) -> String {
    // Creating the table first makes the delete valid whether or not it existed.
    let mut s = format!("table {TABLE}\ndelete table {TABLE}\n");
    if addrs.is_empty() {
        return s;
    }
    let list = |v4: bool| -> String {
        addrs
            .iter()
            .filter(|a| a.is_ipv4() == v4)
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (v4, v6) = (list(true), list(false));
    s.push_str(&format!("table {TABLE} {{\n"));
    s.push_str("  set refused_v4 { type ipv4_addr;");
    if !v4.is_empty() {
        s.push_str(&format!(" elements = {{ {v4} }};"));
    }
    s.push_str(" }\n  set refused_v6 { type ipv6_addr;");
    if !v6.is_empty() {
        s.push_str(&format!(" elements = {{ {v6} }};"));
    }
    s.push_str(
        " }\n  chain input {\n    type filter hook input priority filter; policy accept;\n\
         \x20   ip daddr @refused_v4 counter drop comment \"vigil: accept = false\"\n\
         \x20   ip6 daddr @refused_v6 icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept\n\
         \x20   ip6 daddr @refused_v6 counter drop comment \"vigil: accept = false\"\n  }\n}\n",
    );
    s
}

fn nft(script: &str) -> Result<()> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("running nft (install nftables: accept = false needs it)")?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .context("writing to nft")?;
    }
    let out = child.wait_with_output().context("waiting for nft")?;
    if !out.status.success() {
        bail!(
            "nft refused the Accept_Mode rules: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Make the kernel refuse exactly the addresses of `plan` that need it. Without any, nothing
/// is touched unless `installed` says a table of ours may exist (then it is removed).
/// Returns whether the table now exists.
pub fn apply(plan: &Plan, installed: bool) -> Result<bool> {
    let addrs = refused_addresses(plan);
    if addrs.is_empty() && !installed {
        return Ok(false);
    }
    nft(&script(&addrs)).map_err(|e| anyhow!("{e:#}"))?;
    Ok(!addrs.is_empty())
}

/// Remove the table (on exit).
pub fn remove() -> Result<()> {
    nft(&script(&[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts() {
        let a: Vec<IpAddr> = ["192.0.2.100", "2001:db8::100"]
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        let s = script(&a);
        assert!(s.starts_with("table inet vigil\ndelete table inet vigil\n"));
        assert!(s.contains("elements = { 192.0.2.100 }"));
        assert!(s.contains("elements = { 2001:db8::100 }"));
        assert!(s.contains("ip daddr @refused_v4 counter drop"));
        let v4only = script(&a[..1]);
        assert!(v4only.contains("set refused_v6 { type ipv6_addr; }"));
        assert_eq!(script(&[]), "table inet vigil\ndelete table inet vigil\n");
    }
}

//! Parsing `ip -j` output. JSON rather than scraping the text form, which changes between
//! iproute2 releases; only the few fields we use are modelled, the rest is ignored.

use std::net::IpAddr;

use serde::Deserialize;

use crate::error::{LabError, Result};

/// One address as `ip -j addr show` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    /// Interface holding the address (`eth0`, `vrrp.51` for a keepalived VMAC, ...).
    pub ifname: String,
    /// The address itself.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
}

#[derive(Debug, Deserialize)]
struct Link {
    #[serde(default)]
    ifname: Option<String>,
    #[serde(default)]
    operstate: Option<String>,
    #[serde(default)]
    addr_info: Vec<AddrInfo>,
}

#[derive(Debug, Deserialize)]
struct AddrInfo {
    #[serde(default)]
    local: Option<String>,
    #[serde(default)]
    prefixlen: Option<u8>,
}

fn parse_links(cmd: &str, json: &str) -> Result<Vec<Link>> {
    serde_json::from_str(json).map_err(|e| LabError::Parse {
        cmd: cmd.to_owned(),
        detail: e.to_string(),
    })
}

/// Addresses from `ip -j addr show [dev IF]`. Entries without an address (iproute2 prints `{}`
/// for some filtered links) are skipped; an unparsable address is an error.
pub(crate) fn parse_addrs(cmd: &str, json: &str) -> Result<Vec<IfAddr>> {
    let mut out = Vec::new();
    for link in parse_links(cmd, json)? {
        let Some(ifname) = link.ifname else { continue };
        for a in link.addr_info {
            let (Some(local), Some(prefix_len)) = (a.local, a.prefixlen) else {
                continue;
            };
            let addr = local.parse().map_err(|_| LabError::Parse {
                cmd: cmd.to_owned(),
                detail: format!("bad address {local:?} on {ifname}"),
            })?;
            out.push(IfAddr {
                ifname: ifname.clone(),
                addr,
                prefix_len,
            });
        }
    }
    Ok(out)
}

/// `operstate` of the single link in `ip -j link show dev IF`.
pub(crate) fn parse_operstate(cmd: &str, json: &str) -> Result<String> {
    parse_links(cmd, json)?
        .into_iter()
        .find_map(|l| l.operstate)
        .ok_or_else(|| LabError::Parse {
            cmd: cmd.to_owned(),
            detail: "no operstate".to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDR: &str = r#"[{"ifindex":2,"ifname":"eth0","flags":["UP"],"operstate":"UP",
        "addr_info":[{"family":"inet","local":"192.0.2.11","prefixlen":24,"scope":"global"},
                     {"family":"inet6","local":"2001:db8::11","prefixlen":64,"scope":"global"},
                     {"family":"inet6","local":"fe80::1","prefixlen":64,"scope":"link"}]},
        {},
        {"ifindex":3,"ifname":"vrrp.51","addr_info":[{"family":"inet","local":"192.0.2.100","prefixlen":24}]}]"#;

    #[test]
    fn parses_addresses_across_links() {
        let a = parse_addrs("ip", ADDR).unwrap();
        let got: Vec<String> = a
            .iter()
            .map(|a| format!("{}:{}/{}", a.ifname, a.addr, a.prefix_len))
            .collect();
        assert_eq!(
            got,
            [
                "eth0:192.0.2.11/24",
                "eth0:2001:db8::11/64",
                "eth0:fe80::1/64",
                "vrrp.51:192.0.2.100/24"
            ]
        );
    }

    #[test]
    fn operstate_and_errors() {
        assert_eq!(parse_operstate("ip", ADDR).unwrap(), "UP");
        assert!(matches!(
            parse_addrs("ip", "nope"),
            Err(LabError::Parse { .. })
        ));
        let bad = r#"[{"ifname":"x","addr_info":[{"local":"not-an-ip","prefixlen":1}]}]"#;
        assert!(parse_addrs("ip", bad).is_err());
    }
}

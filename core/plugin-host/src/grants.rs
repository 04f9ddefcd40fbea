//! Capabilities granted to one plugin instance: where it may connect, whether it
//! may resolve names, and which environment variables it sees.
//!
//! Rules are written as `ADDRESS[/PREFIX]:PORT` with `*` for any port, IPv6 in
//! brackets: `192.0.2.10:80`, `192.0.2.0/24:80`, `[2001:db8::1]:443`,
//! `127.0.0.1:*`, `[2001:db8::]/32:*`. HTTP authorities may also name a host
//! (`example.com:443`), matched exactly against the request's authority.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Everything a plugin instance may do beyond pure computation. The default
/// grants nothing: no sockets, no HTTP, no DNS, an empty environment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Grants {
    /// Addresses the plugin may open TCP connections to (and, with `udp`, send
    /// datagrams to / receive them from).
    pub connect: Vec<SocketRule>,
    /// Also allow UDP to the `connect` addresses.
    pub udp: bool,
    /// Authorities (`host:port`) the plugin may send HTTP requests to through
    /// `wasi:http`. The host makes the connection, so `connect` is not needed.
    pub http: Vec<AuthorityRule>,
    /// Allow host name resolution (`wasi:sockets/ip-name-lookup`).
    pub dns: bool,
    /// Environment variables the plugin sees; nothing is inherited.
    pub env: Vec<(String, String)>,
}

impl Grants {
    /// Whether a TCP connection (or UDP datagram) to `addr` is granted.
    pub fn allows_connect(&self, addr: SocketAddr) -> bool {
        self.connect.iter().any(|r| r.matches(addr))
    }

    /// Whether an HTTP request to `host` (an IP literal, optionally bracketed,
    /// or a name) on `port` is granted.
    pub fn allows_http(&self, host: &str, port: u16) -> bool {
        self.http.iter().any(|r| r.matches(host, port))
    }
}

/// A rule string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid address rule `{rule}`: {reason} (expected e.g. 192.0.2.0/24:80, [2001:db8::1]:443 or 127.0.0.1:*)")]
pub struct RuleError {
    pub rule: String,
    pub reason: String,
}

fn rule_err(rule: &str, reason: impl Into<String>) -> RuleError {
    RuleError {
        rule: rule.into(),
        reason: reason.into(),
    }
}

/// An IP network plus a port (or any port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SocketRule {
    pub net: IpNet,
    /// `None` means any port.
    pub port: Option<u16>,
}

impl SocketRule {
    /// Whether `addr` falls inside this rule. IPv4-mapped IPv6 addresses are
    /// compared as IPv4, so `::ffff:192.0.2.1` cannot sidestep an IPv4 rule.
    pub fn matches(&self, addr: SocketAddr) -> bool {
        self.matches_ip(addr.ip(), addr.port())
    }

    fn matches_ip(&self, ip: IpAddr, port: u16) -> bool {
        self.port.is_none_or(|p| p == port) && self.net.contains(&ip.to_canonical())
    }
}

fn split_port<'a>(s: &'a str, rule: &str) -> Result<(&'a str, Option<u16>), RuleError> {
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| rule_err(rule, "missing `:PORT` (use `:*` for any port)"))?;
    let port = match port {
        "*" => None,
        p => Some(
            p.parse::<u16>()
                .map_err(|_| rule_err(rule, format!("bad port `{p}`")))?,
        ),
    };
    Ok((host, port))
}

fn parse_net(host: &str, rule: &str) -> Result<IpNet, RuleError> {
    let (addr, prefix) = if let Some(rest) = host.strip_prefix('[') {
        let (addr, after) = rest
            .split_once(']')
            .ok_or_else(|| rule_err(rule, "missing `]`"))?;
        let prefix = match after {
            "" => None,
            p => Some(
                p.strip_prefix('/')
                    .ok_or_else(|| rule_err(rule, format!("unexpected `{p}` after `]`")))?,
            ),
        };
        let ip: std::net::Ipv6Addr = addr
            .parse()
            .map_err(|_| rule_err(rule, format!("bad IPv6 address `{addr}`")))?;
        (IpAddr::V6(ip), prefix)
    } else {
        let (addr, prefix) = match host.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (host, None),
        };
        let ip: std::net::Ipv4Addr = addr.parse().map_err(|_| {
            rule_err(
                rule,
                format!("bad IPv4 address `{addr}` (IPv6 goes in brackets)"),
            )
        })?;
        (IpAddr::V4(ip), prefix)
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match prefix {
        None => max,
        Some(p) => p
            .parse::<u8>()
            .ok()
            .filter(|l| *l <= max)
            .ok_or_else(|| rule_err(rule, format!("bad prefix length `{p}`")))?,
    };
    let net = IpNet::new(addr, len).map_err(|e| rule_err(rule, e.to_string()))?;
    Ok(net.trunc())
}

impl FromStr for SocketRule {
    type Err = RuleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (host, port) = split_port(s, s)?;
        Ok(SocketRule {
            net: parse_net(host, s)?,
            port,
        })
    }
}

fn fmt_port(f: &mut fmt::Formatter<'_>, port: Option<u16>) -> fmt::Result {
    match port {
        Some(p) => write!(f, ":{p}"),
        None => f.write_str(":*"),
    }
}

impl fmt::Display for SocketRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let full = self.net.prefix_len() == self.net.max_prefix_len();
        match (self.net.addr(), full) {
            (IpAddr::V4(a), true) => write!(f, "{a}")?,
            (IpAddr::V4(a), false) => write!(f, "{a}/{}", self.net.prefix_len())?,
            (IpAddr::V6(a), true) => write!(f, "[{a}]")?,
            (IpAddr::V6(a), false) => write!(f, "[{a}]/{}", self.net.prefix_len())?,
        }
        fmt_port(f, self.port)
    }
}

/// An HTTP authority rule: an address rule, or an exact host name plus port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AuthorityRule {
    Addr(SocketRule),
    /// A host name (lower case, no trailing dot) and port (`None` = any).
    Name {
        host: String,
        port: Option<u16>,
    },
}

impl AuthorityRule {
    /// Whether a request to `host:port` is granted. `host` may be a bracketed
    /// IPv6 literal as it appears in a URI authority.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        match (self, bare.parse::<IpAddr>()) {
            (AuthorityRule::Addr(rule), Ok(ip)) => rule.matches_ip(ip, port),
            (
                AuthorityRule::Name {
                    host: name,
                    port: p,
                },
                Err(_),
            ) => {
                p.is_none_or(|p| p == port) && bare.trim_end_matches('.').eq_ignore_ascii_case(name)
            }
            _ => false,
        }
    }
}

impl FromStr for AuthorityRule {
    type Err = RuleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (host, port) = split_port(s, s)?;
        let looks_ip = host.starts_with('[')
            || host
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '/');
        if looks_ip {
            return Ok(AuthorityRule::Addr(SocketRule {
                net: parse_net(host, s)?,
                port,
            }));
        }
        let name = host.trim_end_matches('.').to_ascii_lowercase();
        let valid = !name.is_empty()
            && name.len() <= 253
            && name.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !valid {
            return Err(rule_err(s, format!("bad host name `{host}`")));
        }
        Ok(AuthorityRule::Name { host: name, port })
    }
}

impl fmt::Display for AuthorityRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthorityRule::Addr(r) => r.fmt(f),
            AuthorityRule::Name { host, port } => {
                f.write_str(host)?;
                fmt_port(f, *port)
            }
        }
    }
}

macro_rules! serde_via_str {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
serde_via_str!(SocketRule);
serde_via_str!(AuthorityRule);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parse_and_display_round_trip() {
        for s in [
            "192.0.2.10:80",
            "192.0.2.0/24:80",
            "[2001:db8::1]:443",
            "127.0.0.1:*",
            "[2001:db8::]/32:*",
        ] {
            let r: SocketRule = s.parse().unwrap();
            assert_eq!(r.to_string(), s);
        }
        // Host bits beyond the prefix are dropped.
        let r: SocketRule = "192.0.2.77/24:80".parse().unwrap();
        assert_eq!(r.to_string(), "192.0.2.0/24:80");
    }

    #[test]
    fn rejects_bad_rules() {
        for s in [
            "192.0.2.10",
            "192.0.2.10:x",
            "192.0.2.10:70000",
            "2001:db8::1:443",
            "[2001:db8::1:443",
            "192.0.2.0/33:80",
            "example.com:80",
            "",
        ] {
            assert!(s.parse::<SocketRule>().is_err(), "{s} parsed");
        }
    }

    #[test]
    fn matching() {
        let r: SocketRule = "192.0.2.0/24:80".parse().unwrap();
        assert!(r.matches(sa("192.0.2.9:80")));
        assert!(!r.matches(sa("192.0.2.9:81")));
        assert!(!r.matches(sa("192.0.3.9:80")));
        assert!(r.matches(sa("[::ffff:192.0.2.9]:80")));
        let any: SocketRule = "127.0.0.1:*".parse().unwrap();
        assert!(any.matches(sa("127.0.0.1:1")));
        assert!(!any.matches(sa("127.0.0.2:1")));
        let v6: SocketRule = "[2001:db8::]/32:*".parse().unwrap();
        assert!(v6.matches(sa("[2001:db8:1::5]:9")));
        assert!(!v6.matches(sa("[2001:db9::5]:9")));
    }

    #[test]
    fn authorities() {
        let name: AuthorityRule = "Example.COM:443".parse().unwrap();
        assert_eq!(name.to_string(), "example.com:443");
        assert!(name.matches("example.com", 443));
        assert!(name.matches("EXAMPLE.com.", 443));
        assert!(!name.matches("www.example.com", 443));
        assert!(!name.matches("example.com", 80));
        let ip: AuthorityRule = "[2001:db8::1]:8080".parse().unwrap();
        assert!(ip.matches("[2001:db8::1]", 8080));
        assert!(!ip.matches("example.com", 8080));
        let net: AuthorityRule = "10.0.0.0/8:*".parse().unwrap();
        assert!(net.matches("10.1.2.3", 1));
        assert!("bad_name:80".parse::<AuthorityRule>().is_err());
    }

    #[test]
    fn grants_serde() {
        let g: Grants = serde_json::from_str(
            r#"{"connect":["127.0.0.1:*"],"http":["example.com:80"],"dns":true}"#,
        )
        .unwrap();
        assert!(g.allows_connect(sa("127.0.0.1:5")));
        assert!(g.allows_http("example.com", 80));
        assert!(!g.udp);
        assert_eq!(
            serde_json::to_string(&g.connect).unwrap(),
            r#"["127.0.0.1:*"]"#
        );
    }
}

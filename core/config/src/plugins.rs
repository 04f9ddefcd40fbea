//! Health checks, notifiers and the plugins that run them: `[[plugin]]`,
//! `[[check]]` and `[[notifier]]`.
//!
//! A check or notifier runs either a WebAssembly component (`plugin = ...`),
//! sandboxed with exactly the capabilities its table grants, or a native
//! command (`unsandboxed_script = ...`, keepalived's `vrrp_script` / `notify`),
//! which runs with the daemon's privileges. The key name says so on purpose:
//! whoever reads the config sees which code is not sandboxed.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::duration::ser;
use crate::raw::RawDuration;

/// Where first-party plugins are installed unless `[global] plugin_dir` says otherwise.
pub const DEFAULT_PLUGIN_DIR: &str = "/usr/lib/vigil/plugins";
/// Where compiled components are cached unless `[global] plugin_cache_dir` says otherwise.
pub const DEFAULT_PLUGIN_CACHE_DIR: &str = "/var/cache/vigil/plugins";

/// One `[[plugin]]`: a component under a name of the operator's choosing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PluginSpec {
    /// The name checks and notifiers use in `plugin = "..."`.
    pub name: String,
    /// The component file (relative paths are relative to the config file).
    pub path: PathBuf,
}

/// What a check or notifier runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Runner {
    /// A WebAssembly component in the sandbox.
    Plugin {
        /// The plugin as written in the config (`http`, or a `[[plugin]]` name).
        plugin: String,
        /// The component file it resolved to.
        path: PathBuf,
        /// The plugin's own table (`config = { ... }`) as JSON, which is what
        /// the plugin's `configure` receives.
        config_json: String,
        /// What the sandbox lets it reach.
        grants: Grants,
    },
    /// A native command, run by `/bin/sh -c` with the daemon's privileges
    /// (or as `user`), like keepalived's scripts.
    Script {
        /// The command line.
        command: String,
        /// Run as this user instead of root.
        user: Option<String>,
    },
}

impl Runner {
    /// Whether this runner is outside the sandbox (status and logs say so).
    pub fn is_sandboxed(&self) -> bool {
        matches!(self, Runner::Plugin { .. })
    }
}

/// Capabilities granted to one plugin instance. Nothing is granted unless
/// listed; a check whose target is an IP address may reach that target (TCP
/// and HTTP) when it lists no `allow_connect` / `allow_http` of its own.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Grants {
    /// TCP (and, with `udp`, UDP) destinations.
    pub connect: Vec<AddressRule>,
    /// HTTP(S) authorities for `wasi:http`.
    pub http: Vec<AddressRule>,
    /// UDP sockets to the `connect` destinations.
    pub udp: bool,
    /// Host name resolution.
    pub dns: bool,
    /// Environment variables the plugin sees (none otherwise).
    pub env: BTreeMap<String, String>,
}

/// Which hosts a rule matches.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum HostPattern {
    /// An address or network: `192.0.2.10`, `192.0.2.0/24`, `2001:db8::/32`.
    Net {
        /// The network address.
        addr: IpAddr,
        /// Its prefix length (32 or 128 for a single address).
        prefix: u8,
    },
    /// A host name, matched exactly and case-insensitively (HTTP only: sockets
    /// see addresses, never names).
    Name(String),
}

/// One allow-list entry: `HOST[/PREFIX]:PORT` or `...:*`; IPv6 in brackets.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AddressRule {
    /// The hosts.
    pub host: HostPattern,
    /// The port; `None` means any.
    pub port: Option<u16>,
}

impl AddressRule {
    /// Whether the rule admits `addr:port`.
    pub fn matches_addr(&self, addr: IpAddr, port: u16) -> bool {
        self.port.is_none_or(|p| p == port)
            && match &self.host {
                HostPattern::Net { addr: net, prefix } => in_net(addr, *net, *prefix),
                HostPattern::Name(_) => false,
            }
    }

    /// Whether the rule admits the HTTP authority `host:port`.
    pub fn matches_authority(&self, host: &str, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        match (&self.host, host.parse::<IpAddr>()) {
            (HostPattern::Net { addr, prefix }, Ok(ip)) => in_net(ip, *addr, *prefix),
            (HostPattern::Name(n), Err(_)) => n.eq_ignore_ascii_case(host),
            _ => false,
        }
    }
}

fn in_net(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        // An IPv4-mapped IPv6 address is the IPv4 address for this purpose.
        (IpAddr::V6(a), IpAddr::V4(_)) => a
            .to_ipv4_mapped()
            .is_some_and(|a| in_net(IpAddr::V4(a), net, prefix)),
        (IpAddr::V4(_), IpAddr::V6(_)) => false,
    }
}

impl fmt::Display for AddressRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let full = |a: &IpAddr| if a.is_ipv4() { 32 } else { 128 };
        match &self.host {
            HostPattern::Net { addr, prefix } => {
                let net = if *prefix == full(addr) {
                    addr.to_string()
                } else {
                    format!("{addr}/{prefix}")
                };
                if addr.is_ipv6() {
                    write!(f, "[{net}]")?;
                } else {
                    f.write_str(&net)?;
                }
            }
            HostPattern::Name(n) => f.write_str(n)?,
        }
        match self.port {
            Some(p) => write!(f, ":{p}"),
            None => f.write_str(":*"),
        }
    }
}

impl Serialize for AddressRule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl FromStr for AddressRule {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (h, p) = rest
                .split_once("]:")
                .ok_or("write IPv6 rules as \"[2001:db8::1]:443\" or \"[2001:db8::/32]:*\"")?;
            (h, p)
        } else {
            text.rsplit_once(':')
                .ok_or("a rule needs a port: \"HOST:PORT\" or \"HOST:*\"")?
        };
        if host.contains(':') && !text.starts_with('[') {
            return Err("put IPv6 addresses in brackets: \"[2001:db8::1]:443\"".into());
        }
        let port = match port {
            "*" => None,
            p => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| format!("invalid port {p:?} (1..=65535 or *)"))?,
            ),
        };
        let host = match host.split_once('/') {
            Some((a, len)) => {
                let addr: IpAddr = a
                    .parse()
                    .map_err(|_| format!("{a:?} is not an IP address (networks need one)"))?;
                let max = if addr.is_ipv4() { 32 } else { 128 };
                let prefix = len
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or_else(|| format!("invalid prefix length {len:?} (0..={max})"))?;
                HostPattern::Net { addr, prefix }
            }
            None => match host.parse::<IpAddr>() {
                Ok(addr) => HostPattern::Net {
                    addr,
                    prefix: if addr.is_ipv4() { 32 } else { 128 },
                },
                Err(_) => {
                    check_hostname(host)?;
                    HostPattern::Name(host.to_ascii_lowercase())
                }
            },
        };
        Ok(AddressRule { host, port })
    }
}

fn check_hostname(h: &str) -> Result<(), String> {
    let ok = !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{h:?} is neither an IP address, a network nor a host name"
        ))
    }
}

/// Where a check points: `192.0.2.10:80`, `[2001:db8::1]:443`, `db.example:3306`, `192.0.2.10`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Target {
    /// An IP literal or a host name.
    pub host: String,
    /// The port, if given.
    pub port: Option<u16>,
}

impl Target {
    /// The host as an address, when it is an IP literal.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v6 = self.host.contains(':');
        match (self.port, v6) {
            (Some(p), true) => write!(f, "[{}]:{p}", self.host),
            (Some(p), false) => write!(f, "{}:{p}", self.host),
            (None, true) => write!(f, "[{}]", self.host),
            (None, false) => f.write_str(&self.host),
        }
    }
}

impl FromStr for Target {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            match rest.split_once(']') {
                Some((h, "")) => (h, None),
                Some((h, p)) => (
                    h,
                    Some(
                        p.strip_prefix(':')
                            .ok_or_else(|| format!("unexpected {p:?} after \"]\""))?,
                    ),
                ),
                None => return Err("missing \"]\"".into()),
            }
        } else if text.parse::<IpAddr>().is_ok() {
            (text, None)
        } else {
            match text.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (text, None),
            }
        };
        if host.parse::<IpAddr>().is_err() {
            if host.contains(':') {
                return Err(format!("{host:?} is not a valid IPv6 address"));
            }
            check_hostname(host)?;
        }
        let port = port
            .map(|p| {
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| format!("invalid port {p:?} (1..=65535)"))
            })
            .transpose()?;
        Ok(Target {
            host: host.to_string(),
            port,
        })
    }
}

/// One `[[check]]`: a health check and its schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckSpec {
    /// Unique name, used by tracking and in status.
    pub name: String,
    /// What the check points at.
    pub target: Option<Target>,
    /// What runs it.
    pub runner: Runner,
    /// Time between the starts of two runs.
    #[serde(serialize_with = "ser::duration")]
    pub interval: Duration,
    /// How long one run may take; longer is a failure.
    #[serde(serialize_with = "ser::duration")]
    pub timeout: Duration,
    /// Delay before the first run after start.
    #[serde(serialize_with = "ser::duration")]
    pub start_delay: Duration,
    /// Consecutive failures that make a healthy check failed.
    pub fall: u32,
    /// Consecutive successes that make a failed check healthy.
    pub rise: u32,
    /// Start failed until the first `rise` successes (keepalived's `init_fail`).
    pub init_fail: bool,
    /// After a failure that has not yet made the check fail, retry after
    /// this delay instead of a full interval (keepalived's `delay_before_retry`).
    #[serde(serialize_with = "ser::opt_duration")]
    pub retry_delay: Option<Duration>,
}

/// One `[[notifier]]`: told about every state transition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotifierSpec {
    /// Unique name.
    pub name: String,
    /// What runs it.
    pub runner: Runner,
    /// How long one notification may take.
    #[serde(serialize_with = "ser::duration")]
    pub timeout: Duration,
    /// Instances and sync groups it listens to; empty means all.
    pub instances: Vec<String>,
    /// The new states it is told about (`master`, `backup`, `fault`, `stop`);
    /// empty means all. keepalived's `notify_master` is `on = ["master"]`.
    pub on: Vec<String>,
    /// Scripts: append keepalived's `TYPE NAME STATE PRIORITY` arguments
    /// (as for `notify`); `false` runs the command as written (as for
    /// `notify_master` & co.).
    pub append_args: bool,
}

/// `[[plugin]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPlugin {
    pub name: Spanned<String>,
    pub path: Spanned<String>,
}

/// The keys `[[check]]` and `[[notifier]]` share: what runs and its grants.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCheck {
    pub name: Spanned<String>,
    pub plugin: Option<Spanned<String>>,
    pub unsandboxed_script: Option<Spanned<String>>,
    pub user: Option<Spanned<String>>,
    pub target: Option<Spanned<String>>,
    pub interval: Option<Spanned<RawDuration>>,
    pub timeout: Option<Spanned<RawDuration>>,
    pub start_delay: Option<Spanned<RawDuration>>,
    pub fall: Option<Spanned<i64>>,
    pub rise: Option<Spanned<i64>>,
    pub init_fail: Option<Spanned<bool>>,
    pub retry_delay: Option<Spanned<RawDuration>>,
    #[serde(default)]
    pub allow_connect: Vec<Spanned<String>>,
    #[serde(default)]
    pub allow_http: Vec<Spanned<String>>,
    pub allow_udp: Option<Spanned<bool>>,
    pub allow_dns: Option<Spanned<bool>>,
    pub env: Option<Spanned<BTreeMap<String, String>>>,
    pub config: Option<Spanned<toml::Table>>,
}

/// `[[notifier]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNotifier {
    pub name: Spanned<String>,
    pub plugin: Option<Spanned<String>>,
    pub unsandboxed_script: Option<Spanned<String>>,
    pub user: Option<Spanned<String>>,
    pub timeout: Option<Spanned<RawDuration>>,
    #[serde(default)]
    pub instances: Vec<Spanned<String>>,
    #[serde(default)]
    pub on: Vec<Spanned<String>>,
    pub append_args: Option<Spanned<bool>>,
    #[serde(default)]
    pub allow_connect: Vec<Spanned<String>>,
    #[serde(default)]
    pub allow_http: Vec<Spanned<String>>,
    pub allow_udp: Option<Spanned<bool>>,
    pub allow_dns: Option<Spanned<bool>>,
    pub env: Option<Spanned<BTreeMap<String, String>>>,
    pub config: Option<Spanned<toml::Table>>,
}

/// A plugin's TOML table as JSON (datetimes become RFC 3339 strings).
pub(crate) fn table_to_json(t: &toml::Table) -> String {
    fn conv(v: &toml::Value) -> serde_json::Value {
        match v {
            toml::Value::String(s) => serde_json::Value::String(s.clone()),
            toml::Value::Integer(i) => serde_json::Value::from(*i),
            toml::Value::Float(f) => serde_json::Number::from_f64(*f)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
            toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
            toml::Value::Array(a) => serde_json::Value::Array(a.iter().map(conv).collect()),
            toml::Value::Table(t) => {
                serde_json::Value::Object(t.iter().map(|(k, v)| (k.clone(), conv(v))).collect())
            }
        }
    }
    serde_json::Value::Object(t.iter().map(|(k, v)| (k.clone(), conv(v))).collect()).to_string()
}

/// Resolve `plugin = "..."`: a `[[plugin]]` name, else a path (contains `/`
/// or ends in `.wasm`, relative to the config file), else a first-party
/// plugin in `plugin_dir`.
pub(crate) fn resolve_plugin(
    name: &str,
    declared: &[PluginSpec],
    plugin_dir: &Path,
    config_dir: &Path,
) -> PathBuf {
    if let Some(p) = declared.iter().find(|p| p.name == name) {
        return p.path.clone();
    }
    if name.contains('/') || name.ends_with(".wasm") {
        return config_dir.join(name);
    }
    plugin_dir.join(format!("{name}.wasm"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_print() {
        for (text, shown) in [
            ("192.0.2.10:80", "192.0.2.10:80"),
            ("192.0.2.0/24:*", "192.0.2.0/24:*"),
            ("[2001:db8::1]:443", "[2001:db8::1]:443"),
            ("[2001:db8::/32]:*", "[2001:db8::/32]:*"),
            ("Example.COM:8080", "example.com:8080"),
        ] {
            let r: AddressRule = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(r.to_string(), shown);
        }
        for bad in [
            "192.0.2.10",
            "192.0.2.10:0",
            "192.0.2.10:x",
            "2001:db8::1:80",
            "192.0.2.0/33:*",
            "bad_host:80",
            "[2001:db8::1:80",
        ] {
            assert!(bad.parse::<AddressRule>().is_err(), "{bad}");
        }
    }

    #[test]
    fn rules_match() {
        let r: AddressRule = "192.0.2.0/24:80".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(r.matches_addr("192.0.2.99".parse().unwrap_or_else(|_| panic!()), 80));
        assert!(!r.matches_addr("192.0.2.99".parse().unwrap_or_else(|_| panic!()), 81));
        assert!(!r.matches_addr("198.51.100.1".parse().unwrap_or_else(|_| panic!()), 80));
        assert!(r.matches_addr("::ffff:192.0.2.1".parse().unwrap_or_else(|_| panic!()), 80));
        assert!(r.matches_authority("192.0.2.5", 80));
        let any: AddressRule = "0.0.0.0/0:*".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(any.matches_addr("203.0.113.7".parse().unwrap_or_else(|_| panic!()), 1));
        let n: AddressRule = "web.example:443".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(n.matches_authority("WEB.example", 443));
        assert!(!n.matches_addr("192.0.2.1".parse().unwrap_or_else(|_| panic!()), 443));
        let v6: AddressRule = "[2001:db8::/32]:*"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(v6.matches_authority("[2001:db8::5]", 8080));
    }

    #[test]
    fn targets() {
        for (text, host, port) in [
            ("192.0.2.10:80", "192.0.2.10", Some(80)),
            ("192.0.2.10", "192.0.2.10", None),
            ("2001:db8::1", "2001:db8::1", None),
            ("[2001:db8::1]:443", "2001:db8::1", Some(443)),
            ("db.example:3306", "db.example", Some(3306)),
        ] {
            let t: Target = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!((t.host.as_str(), t.port), (host, port));
            assert_eq!(t.to_string().parse::<Target>(), Ok(t));
        }
        for bad in ["192.0.2.10:99999", "[2001:db8::1", "a b:80", "192.0.2.10:"] {
            assert!(bad.parse::<Target>().is_err(), "{bad}");
        }
    }

    #[test]
    fn json_of_table() {
        let t: toml::Table = toml::from_str("a = 1\nb = [\"x\", 2.5]\n[c]\nd = true\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(table_to_json(&t), r#"{"a":1,"b":["x",2.5],"c":{"d":true}}"#);
    }
}

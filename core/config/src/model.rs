//! The validated configuration: what the daemon runs.
//!
//! Every value here is resolved (instance settings inherit `[global]`
//! defaults) and has passed every check, so the daemon never needs to
//! re-validate, and two configs can be compared instance by instance
//! ([`Config::diff`]) to reload without disturbing unchanged routers.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use vigil_vrrp::{
    AnnounceConfig, Auth, ChecksumMode, Family, InitialState, InstanceConfig, Interval, Version,
};

use crate::duration::{format_duration, ser};
use crate::error::{ConfigError, ConfigErrors, ErrorKind};
use crate::plugins::{CheckSpec, NotifierSpec, PluginSpec};

/// Where the control socket lives unless `[global] control_socket` says otherwise.
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/vigil/vigil.sock";

/// A whole configuration file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Config {
    /// `[global]`.
    pub global: Global,
    /// The `[[instance]]` tables, in file order.
    pub instances: Vec<InstanceSpec>,
    /// The `[[sync_group]]` tables, in file order.
    pub sync_groups: Vec<SyncGroupSpec>,
    /// The `[[plugin]]` tables: components under names of the operator's choosing.
    pub plugins: Vec<PluginSpec>,
    /// The `[[check]]` tables, in file order.
    pub checks: Vec<CheckSpec>,
    /// The `[[notifier]]` tables, in file order.
    pub notifiers: Vec<NotifierSpec>,
}

/// Daemon-wide settings and the defaults every instance inherits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Global {
    /// Name of this router in logs and notifications; `None` means the
    /// daemon uses the host name.
    pub router_id: Option<String>,
    /// Path of the control socket.
    pub control_socket: PathBuf,
    /// Default protocol version of instances (keepalived's default is 2).
    pub vrrp_version: Version,
    /// Default delay of the second gratuitous ARP / NA burst; zero disables it.
    #[serde(serialize_with = "ser::duration")]
    pub garp_master_delay: Duration,
    /// Default messages per address in each burst.
    pub garp_master_repeat: u8,
    /// Default re-announce period while master; zero disables it.
    #[serde(serialize_with = "ser::duration")]
    pub garp_master_refresh: Duration,
    /// Default messages per address in each refresh.
    pub garp_master_refresh_repeat: u8,
    /// Spacing of gratuitous ARPs within a burst (the shell paces them).
    #[serde(serialize_with = "ser::duration")]
    pub garp_interval: Duration,
    /// Spacing of unsolicited neighbour advertisements within a burst.
    #[serde(serialize_with = "ser::duration")]
    pub gna_interval: Duration,
    /// Default of [`InstanceSpec::lower_prio_no_advert`].
    pub lower_prio_no_advert: bool,
    /// Default of [`InstanceSpec::v3_checksum_as_v2`].
    pub v3_checksum_as_v2: bool,
    /// Default of [`InstanceSpec::check_unicast_src`].
    pub check_unicast_src: bool,
    /// Where `plugin = "NAME"` finds first-party plugins (`NAME.wasm`).
    pub plugin_dir: PathBuf,
    /// Where compiled components are cached; `None` disables the cache.
    pub plugin_cache_dir: Option<PathBuf>,
}

impl Default for Global {
    fn default() -> Self {
        Global {
            router_id: None,
            control_socket: PathBuf::from(DEFAULT_CONTROL_SOCKET),
            vrrp_version: Version::V2,
            garp_master_delay: Duration::from_secs(5),
            garp_master_repeat: 5,
            garp_master_refresh: Duration::ZERO,
            garp_master_refresh_repeat: 1,
            garp_interval: Duration::ZERO,
            gna_interval: Duration::ZERO,
            lower_prio_no_advert: false,
            v3_checksum_as_v2: false,
            check_unicast_src: true,
            plugin_dir: PathBuf::from(crate::plugins::DEFAULT_PLUGIN_DIR),
            plugin_cache_dir: Some(PathBuf::from(crate::plugins::DEFAULT_PLUGIN_CACHE_DIR)),
        }
    }
}

/// VRRPv2 authentication.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Authentication {
    /// No authentication (the only choice for VRRPv3).
    #[default]
    None,
    /// Simple text password, 1 to 8 bytes (RFC 2338 type 1, keepalived `PASS`).
    Pass {
        /// The password.
        password: String,
    },
}

/// Address scope (`ip addr add ... scope`), as in `/etc/iproute2/rt_scopes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// 0: valid everywhere.
    Global,
    /// 200: within the site (IPv6).
    Site,
    /// 253: on this link only.
    Link,
    /// 254: on this host only.
    Host,
    /// 255: nowhere.
    Nowhere,
}

impl Scope {
    /// The kernel's `ifa_scope` number (`RT_SCOPE_*`).
    pub fn number(self) -> u8 {
        match self {
            Scope::Global => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
        }
    }

    /// The name used in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Site => "site",
            Scope::Link => "link",
            Scope::Host => "host",
            Scope::Nowhere => "nowhere",
        }
    }

    pub(crate) fn from_name(s: &str) -> Option<Scope> {
        Some(match s {
            "global" => Scope::Global,
            "site" => Scope::Site,
            "link" => Scope::Link,
            "host" => Scope::Host,
            "nowhere" => Scope::Nowhere,
            _ => return None,
        })
    }
}

/// One virtual address and how to add it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VirtualAddress {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length: /32 or /128 when none was written, as keepalived does.
    pub prefix_len: u8,
    /// Add it on this interface instead of the instance's.
    pub dev: Option<String>,
    /// IPv4 address label (`eth0:1`).
    pub label: Option<String>,
    /// Address scope; `None` lets the kernel choose (global).
    pub scope: Option<Scope>,
    /// IPv6: add with `IFA_F_NODAD`, so the address is usable at once and a
    /// split brain cannot leave it `dadfailed`. On by default for IPv6 (as in
    /// keepalived), always off for IPv4, which has no DAD.
    pub no_dad: bool,
}

impl VirtualAddress {
    /// The default prefix length of the address's family.
    pub fn host_prefix(addr: &IpAddr) -> u8 {
        match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        }
    }
}

/// One virtual router, with every default resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InstanceSpec {
    /// Unique name (keepalived's `vrrp_instance NAME`).
    pub name: String,
    /// The interface the adverts go out of.
    pub interface: String,
    /// Virtual Router Identifier, 1..=255.
    pub vrid: u8,
    /// 1..=255; 255 means this router owns the addresses.
    pub priority: u8,
    /// Protocol version.
    pub version: Version,
    /// Advertisement interval, representable in `version`.
    #[serde(serialize_with = "ser::duration")]
    pub advert_interval: Duration,
    /// The state it starts towards.
    pub state: InitialState,
    /// Preempt a lower-priority master.
    pub preempt: bool,
    /// Wait this long before preempting.
    #[serde(serialize_with = "ser::duration")]
    pub preempt_delay: Duration,
    /// Accept_Mode (RFC 9568 §6.1).
    pub accept: bool,
    /// VRRPv2 authentication.
    pub authentication: Authentication,
    /// Virtual addresses, all of the instance's family.
    pub vips: Vec<VirtualAddress>,
    /// Source address of adverts; `None` means the interface's primary
    /// IPv4 address or IPv6 link-local address, resolved by the daemon.
    pub unicast_source: Option<IpAddr>,
    /// Unicast peers; empty means multicast.
    pub unicast_peers: Vec<IpAddr>,
    /// Name of the macvlan carrying the virtual MAC, if one is used.
    pub use_vmac: Option<String>,
    /// With a VMAC, send adverts from the base interface.
    pub vmac_xmit_base: bool,
    /// Drop adverts whose address list differs from ours.
    pub check_addresses: bool,
    /// With unicast peers, drop adverts from other sources.
    pub check_unicast_src: bool,
    /// Minimum TTL / hop limit of accepted unicast adverts.
    pub unicast_min_ttl: u8,
    /// Delay of the second gratuitous ARP / NA burst; zero disables it.
    #[serde(serialize_with = "ser::duration")]
    pub garp_master_delay: Duration,
    /// Messages per address in each burst.
    pub garp_master_repeat: u8,
    /// Re-announce period while master; zero disables it.
    #[serde(serialize_with = "ser::duration")]
    pub garp_master_refresh: Duration,
    /// Messages per address in each refresh.
    pub garp_master_refresh_repeat: u8,
    /// Spacing of gratuitous ARPs within a burst (from `[global]`).
    #[serde(serialize_with = "ser::duration")]
    pub garp_interval: Duration,
    /// Spacing of unsolicited NAs within a burst (from `[global]`).
    #[serde(serialize_with = "ser::duration")]
    pub gna_interval: Duration,
    /// RFC-strict: silently discard lower-priority adverts while master.
    pub lower_prio_no_advert: bool,
    /// VRRPv3 over IPv4 without the pseudo-header in the checksum.
    pub v3_checksum_as_v2: bool,
    /// Checks, interfaces and files that move the priority or cause Fault.
    pub tracks: Vec<TrackSpec>,
}

/// What a tracked object is.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum TrackTarget {
    /// A `[[check]]` by name.
    Check(String),
    /// A network interface: down when its link is down or it is gone.
    Interface(String),
    /// A file holding an integer.
    File(PathBuf),
}

/// One tracked object of an instance (keepalived's `track_script`,
/// `track_interface`, `track_file`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrackSpec {
    /// What is tracked.
    pub target: TrackTarget,
    /// `None`: Fault while down. `Some(w)`: `w > 0` adds `w` while up,
    /// `w < 0` subtracts while down; a file adds value × `w`.
    pub weight: Option<i32>,
    /// Swap up and down (keepalived's `reverse`).
    pub reverse: bool,
}

impl InstanceSpec {
    /// The address family: that of the virtual addresses, else of
    /// `unicast_source`, else of the peers, else IPv4. The daemon resolves a
    /// primary address of this family when `unicast_source` is not set.
    pub fn family(&self) -> Family {
        self.vips
            .first()
            .map(|v| v.addr)
            .or(self.unicast_source)
            .or_else(|| self.unicast_peers.first().copied())
            .map_or(Family::V4, |a| Family::of(&a))
    }

    /// The engine's configuration. `primary_address` is the interface's
    /// primary address of [`InstanceSpec::family`], looked up by the daemon
    /// at run time; `unicast_source`, when set, takes its place.
    ///
    /// The result passes [`InstanceConfig::validate`] whenever the address
    /// is of the right family and is not one of the unicast peers (the only
    /// things validation of the file could not know).
    pub fn engine_config(&self, primary_address: IpAddr) -> InstanceConfig {
        let nonzero = |d: Duration| (!d.is_zero()).then_some(d);
        let centis = self.advert_interval.as_millis() / 10;
        InstanceConfig {
            name: self.name.clone(),
            version: self.version,
            vrid: self.vrid,
            priority: self.priority,
            advert_interval: Interval::from_centis(u16::try_from(centis).unwrap_or(u16::MAX)),
            preempt: self.preempt,
            preempt_delay: self.preempt_delay,
            accept: self.accept,
            auth: match &self.authentication {
                Authentication::None => Auth::None,
                Authentication::Pass { password } => Auth::simple(password),
            },
            primary_address: self.unicast_source.unwrap_or(primary_address),
            virtual_addresses: self.vips.iter().map(|v| v.addr).collect(),
            unicast_peers: self.unicast_peers.clone(),
            check_unicast_src: self.check_unicast_src,
            unicast_min_ttl: self.unicast_min_ttl,
            checksum_mode: if self.v3_checksum_as_v2 {
                ChecksumMode::V2Compat
            } else {
                ChecksumMode::Rfc
            },
            initial_state: self.state,
            check_addresses: self.check_addresses,
            announce: AnnounceConfig {
                repeat: self.garp_master_repeat,
                master_delay: nonzero(self.garp_master_delay),
                refresh: nonzero(self.garp_master_refresh),
                refresh_repeat: self.garp_master_refresh_repeat,
                lower_prio_holdoff: if self.lower_prio_no_advert {
                    None
                } else {
                    AnnounceConfig::default().lower_prio_holdoff
                },
            },
        }
    }
}

/// Instances that change state together (keepalived `vrrp_sync_group`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncGroupSpec {
    /// Unique name.
    pub name: String,
    /// Member instance names, each in one group at most.
    pub instances: Vec<String>,
}

/// What a reload changes, by instance name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ConfigDiff {
    /// Identical spec and sync-group membership: keep running untouched.
    pub unchanged: Vec<String>,
    /// Present in both with a different spec or group: restart it.
    pub changed: Vec<String>,
    /// Only in the new config: start it.
    pub added: Vec<String>,
    /// Only in the old config: stop it (gracefully, with a priority-0 advert).
    pub removed: Vec<String>,
    /// `router_id` or `control_socket` differ (settings inherited by
    /// instances show up as changed instances instead).
    pub global_changed: bool,
    /// The set of sync groups differs; the daemon rebuilds groups.
    pub sync_groups_changed: bool,
}

impl ConfigDiff {
    /// Whether the reload changes nothing.
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty()
            && self.added.is_empty()
            && self.removed.is_empty()
            && !self.global_changed
            && !self.sync_groups_changed
    }
}

impl Config {
    /// Read and validate a file.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigErrors> {
        let path = path.as_ref();
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text, path),
            Err(e) => Err(ConfigErrors(vec![ConfigError {
                path: path.to_path_buf(),
                line: 0,
                column: 0,
                section: None,
                key: None,
                kind: ErrorKind::Io {
                    message: e.to_string(),
                },
            }])),
        }
    }

    /// Validate `text`; `path` only names the file in messages.
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<Config, ConfigErrors> {
        crate::validate::parse(text, path.as_ref())
    }

    /// The instance called `name`.
    pub fn instance(&self, name: &str) -> Option<&InstanceSpec> {
        self.instances.iter().find(|i| i.name == name)
    }

    /// The sync group `instance` belongs to.
    pub fn sync_group_of(&self, instance: &str) -> Option<&SyncGroupSpec> {
        self.sync_groups
            .iter()
            .find(|g| g.instances.iter().any(|m| m == instance))
    }

    /// Classify the instances of `new` against `old` by name, for a reload.
    /// An instance whose sync group gained or lost members counts as changed,
    /// because the daemon must rebuild the group around it.
    pub fn diff(old: &Config, new: &Config) -> ConfigDiff {
        let members = |c: &Config, name: &str| -> Option<BTreeSet<String>> {
            c.sync_group_of(name)
                .map(|g| g.instances.iter().cloned().collect())
        };
        let old_by_name: HashMap<&str, &InstanceSpec> =
            old.instances.iter().map(|i| (i.name.as_str(), i)).collect();
        let mut d = ConfigDiff::default();
        for n in &new.instances {
            match old_by_name.get(n.name.as_str()) {
                None => d.added.push(n.name.clone()),
                Some(o) if *o == n && members(old, &n.name) == members(new, &n.name) => {
                    d.unchanged.push(n.name.clone())
                }
                Some(_) => d.changed.push(n.name.clone()),
            }
        }
        for o in &old.instances {
            if new.instance(&o.name).is_none() {
                d.removed.push(o.name.clone());
            }
        }
        d.global_changed = old.global.router_id != new.global.router_id
            || old.global.control_socket != new.global.control_socket;
        let groups = |c: &Config| -> BTreeSet<(String, BTreeSet<String>)> {
            c.sync_groups
                .iter()
                .map(|g| (g.name.clone(), g.instances.iter().cloned().collect()))
                .collect()
        };
        d.sync_groups_changed = groups(old) != groups(new);
        d
    }

    /// The configuration as TOML with every value explicit (the effective
    /// configuration, for display); parsing it gives back an equal [`Config`].
    pub fn to_toml(&self) -> String {
        let g = &self.global;
        let mut o = String::new();
        o.push_str("[global]\n");
        if let Some(r) = &g.router_id {
            kv(&mut o, "router_id", &q(r));
        }
        kv(
            &mut o,
            "control_socket",
            &q(&g.control_socket.to_string_lossy()),
        );
        kv(&mut o, "vrrp_version", &g.vrrp_version.number().to_string());
        kv(&mut o, "garp_master_delay", &qd(g.garp_master_delay));
        kv(
            &mut o,
            "garp_master_repeat",
            &g.garp_master_repeat.to_string(),
        );
        kv(&mut o, "garp_master_refresh", &qd(g.garp_master_refresh));
        kv(
            &mut o,
            "garp_master_refresh_repeat",
            &g.garp_master_refresh_repeat.to_string(),
        );
        kv(&mut o, "garp_interval", &qd(g.garp_interval));
        kv(&mut o, "gna_interval", &qd(g.gna_interval));
        kv(
            &mut o,
            "lower_prio_no_advert",
            &g.lower_prio_no_advert.to_string(),
        );
        kv(
            &mut o,
            "v3_checksum_as_v2",
            &g.v3_checksum_as_v2.to_string(),
        );
        kv(
            &mut o,
            "check_unicast_src",
            &g.check_unicast_src.to_string(),
        );
        kv(&mut o, "plugin_dir", &q(&g.plugin_dir.to_string_lossy()));
        let cache = g
            .plugin_cache_dir
            .as_ref()
            .map_or(String::new(), |p| p.to_string_lossy().into_owned());
        kv(&mut o, "plugin_cache_dir", &q(&cache));
        for i in &self.instances {
            o.push_str("\n[[instance]]\n");
            kv(&mut o, "name", &q(&i.name));
            kv(&mut o, "interface", &q(&i.interface));
            kv(&mut o, "vrid", &i.vrid.to_string());
            kv(&mut o, "priority", &i.priority.to_string());
            kv(&mut o, "version", &i.version.number().to_string());
            kv(&mut o, "advert_interval", &qd(i.advert_interval));
            let state = match i.state {
                InitialState::Backup => "backup",
                InitialState::Master => "master",
            };
            kv(&mut o, "state", &q(state));
            kv(&mut o, "preempt", &i.preempt.to_string());
            kv(&mut o, "preempt_delay", &qd(i.preempt_delay));
            kv(&mut o, "accept", &i.accept.to_string());
            let auth = match &i.authentication {
                Authentication::None => "{ type = \"none\" }".to_string(),
                Authentication::Pass { password } => {
                    format!("{{ type = \"pass\", password = {} }}", q(password))
                }
            };
            kv(&mut o, "authentication", &auth);
            o.push_str("virtual_addresses = [");
            for (n, v) in i.vips.iter().enumerate() {
                o.push_str(if n == 0 { "\n" } else { ",\n" });
                o.push_str("  ");
                o.push_str(&vip_toml(v));
            }
            o.push_str(if i.vips.is_empty() { "]\n" } else { ",\n]\n" });
            if let Some(s) = i.unicast_source {
                kv(&mut o, "unicast_source", &q(&s.to_string()));
            }
            let peers: Vec<String> = i.unicast_peers.iter().map(|p| q(&p.to_string())).collect();
            kv(&mut o, "unicast_peers", &format!("[{}]", peers.join(", ")));
            match &i.use_vmac {
                Some(n) => kv(&mut o, "use_vmac", &q(n)),
                None => kv(&mut o, "use_vmac", "false"),
            }
            kv(&mut o, "vmac_xmit_base", &i.vmac_xmit_base.to_string());
            kv(&mut o, "check_addresses", &i.check_addresses.to_string());
            kv(
                &mut o,
                "check_unicast_src",
                &i.check_unicast_src.to_string(),
            );
            kv(&mut o, "unicast_min_ttl", &i.unicast_min_ttl.to_string());
            kv(&mut o, "garp_master_delay", &qd(i.garp_master_delay));
            kv(
                &mut o,
                "garp_master_repeat",
                &i.garp_master_repeat.to_string(),
            );
            kv(&mut o, "garp_master_refresh", &qd(i.garp_master_refresh));
            kv(
                &mut o,
                "garp_master_refresh_repeat",
                &i.garp_master_refresh_repeat.to_string(),
            );
            kv(
                &mut o,
                "lower_prio_no_advert",
                &i.lower_prio_no_advert.to_string(),
            );
            kv(
                &mut o,
                "v3_checksum_as_v2",
                &i.v3_checksum_as_v2.to_string(),
            );
            for (key, field) in [
                ("track_checks", "check"),
                ("track_interfaces", "interface"),
                ("track_files", "file"),
            ] {
                let items: Vec<String> = i
                    .tracks
                    .iter()
                    .filter_map(|t| {
                        let name = match (&t.target, field) {
                            (TrackTarget::Check(n), "check") => n.clone(),
                            (TrackTarget::Interface(n), "interface") => n.clone(),
                            (TrackTarget::File(p), "file") => p.to_string_lossy().into_owned(),
                            _ => return None,
                        };
                        let mut parts = vec![format!("{field} = {}", q(&name))];
                        if let Some(w) = t.weight {
                            parts.push(format!("weight = {w}"));
                        }
                        if t.reverse {
                            parts.push("reverse = true".into());
                        }
                        Some(format!("{{ {} }}", parts.join(", ")))
                    })
                    .collect();
                if !items.is_empty() {
                    kv(&mut o, key, &format!("[{}]", items.join(", ")));
                }
            }
        }
        for s in &self.sync_groups {
            o.push_str("\n[[sync_group]]\n");
            kv(&mut o, "name", &q(&s.name));
            let m: Vec<String> = s.instances.iter().map(|n| q(n)).collect();
            kv(&mut o, "instances", &format!("[{}]", m.join(", ")));
        }
        for p in &self.plugins {
            o.push_str("\n[[plugin]]\n");
            kv(&mut o, "name", &q(&p.name));
            kv(&mut o, "path", &q(&p.path.to_string_lossy()));
        }
        for c in &self.checks {
            o.push_str("\n[[check]]\n");
            kv(&mut o, "name", &q(&c.name));
            if let Some(t) = &c.target {
                kv(&mut o, "target", &q(&t.to_string()));
            }
            kv(&mut o, "interval", &qd(c.interval));
            kv(&mut o, "timeout", &qd(c.timeout));
            kv(&mut o, "start_delay", &qd(c.start_delay));
            kv(&mut o, "fall", &c.fall.to_string());
            kv(&mut o, "rise", &c.rise.to_string());
            kv(&mut o, "init_fail", &c.init_fail.to_string());
            if let Some(d) = c.retry_delay {
                kv(&mut o, "retry_delay", &qd(d));
            }
            runner_toml(&mut o, &c.runner);
        }
        for n in &self.notifiers {
            o.push_str("\n[[notifier]]\n");
            kv(&mut o, "name", &q(&n.name));
            kv(&mut o, "timeout", &qd(n.timeout));
            let m: Vec<String> = n.instances.iter().map(|i| q(i)).collect();
            kv(&mut o, "instances", &format!("[{}]", m.join(", ")));
            let on: Vec<String> = n.on.iter().map(|i| q(i)).collect();
            kv(&mut o, "on", &format!("[{}]", on.join(", ")));
            if !n.runner.is_sandboxed() {
                kv(&mut o, "append_args", &n.append_args.to_string());
            }
            runner_toml(&mut o, &n.runner);
        }
        o
    }
}

/// The keys of a check's or notifier's runner. The plugin is written as it
/// was (with `plugin_dir` and the `[[plugin]]` tables it resolves the same).
fn runner_toml(o: &mut String, r: &crate::plugins::Runner) {
    match r {
        crate::plugins::Runner::Script { command, user } => {
            kv(o, "unsandboxed_script", &q(command));
            if let Some(u) = user {
                kv(o, "user", &q(u));
            }
        }
        crate::plugins::Runner::Plugin {
            plugin,
            config_json,
            grants,
            ..
        } => {
            kv(o, "plugin", &q(plugin));
            let rules = |rs: &[crate::plugins::AddressRule]| -> String {
                let v: Vec<String> = rs.iter().map(|r| q(&r.to_string())).collect();
                format!("[{}]", v.join(", "))
            };
            kv(o, "allow_connect", &rules(&grants.connect));
            kv(o, "allow_http", &rules(&grants.http));
            kv(o, "allow_udp", &grants.udp.to_string());
            kv(o, "allow_dns", &grants.dns.to_string());
            let env: Vec<String> = grants
                .env
                .iter()
                .map(|(k, v)| format!("{} = {}", q(k), q(v)))
                .collect();
            kv(o, "env", &format!("{{ {} }}", env.join(", ")));
            // JSON objects from a TOML table convert back losslessly.
            let table = serde_json::from_str::<toml::Value>(config_json)
                .ok()
                .and_then(|v| match v {
                    toml::Value::Table(t) => Some(toml::Value::Table(t)),
                    _ => None,
                })
                .map_or_else(|| "{}".to_string(), |t| inline(&t));
            kv(o, "config", &table);
        }
    }
}

/// A TOML value on one line (tables as inline tables).
fn inline(v: &toml::Value) -> String {
    match v {
        toml::Value::Table(t) => {
            let parts: Vec<String> = t
                .iter()
                .map(|(k, v)| format!("{} = {}", q(k), inline(v)))
                .collect();
            if parts.is_empty() {
                "{}".to_string()
            } else {
                format!("{{ {} }}", parts.join(", "))
            }
        }
        toml::Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(inline).collect();
            format!("[{}]", parts.join(", "))
        }
        other => other.to_string(),
    }
}

fn kv(o: &mut String, k: &str, v: &str) {
    let _ = writeln!(o, "{k} = {v}");
}

/// A TOML basic string with every needed escape.
pub(crate) fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn qd(d: Duration) -> String {
    q(&format_duration(d))
}

fn vip_toml(v: &VirtualAddress) -> String {
    let cidr = format!("{}/{}", v.addr, v.prefix_len);
    let default_dad = v.addr.is_ipv6();
    if v.dev.is_none() && v.label.is_none() && v.scope.is_none() && v.no_dad == default_dad {
        return q(&cidr);
    }
    let mut parts = vec![format!("address = {}", q(&cidr))];
    if let Some(d) = &v.dev {
        parts.push(format!("dev = {}", q(d)));
    }
    if let Some(l) = &v.label {
        parts.push(format!("label = {}", q(l)));
    }
    if let Some(s) = v.scope {
        parts.push(format!("scope = {}", q(s.as_str())));
    }
    if v.no_dad != default_dad {
        parts.push(format!("no_dad = {}", v.no_dad));
    }
    format!("{{ {} }}", parts.join(", "))
}

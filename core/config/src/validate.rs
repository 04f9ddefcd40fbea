//! Raw TOML to the validated [`Config`]: the semantic checks.
//!
//! The document is parsed once with spans kept (`toml_edit`), then each
//! table (`[global]`, every `[[instance]]`, every `[[sync_group]]`) is
//! deserialized on its own, so one broken table does not hide the mistakes
//! in the others. Then every value is checked and every failure recorded;
//! the config is returned only if there were none.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use serde::de::{DeserializeOwned, IntoDeserializer};
use toml::Spanned;
use toml_edit::{ImDocument, Item, TableLike, Value};
use vigil_vrrp::{Family, InitialState, Version};

use crate::duration::{as_nanos, parse_duration};
use crate::error::{line_col, ConfigError, ConfigErrors, ErrorKind};
use crate::model::{
    Authentication, Config, Global, InstanceSpec, Scope, SyncGroupSpec, TrackSpec, TrackTarget,
    VirtualAddress,
};
use crate::plugins::{
    resolve_plugin, table_to_json, AddressRule, CheckSpec, Grants, NotifierSpec, PluginSpec,
    RawCheck, RawNotifier, RawPlugin, Runner, Target,
};
use crate::raw::{RawAuth, RawDuration, RawGlobal, RawInstance, RawSyncGroup, RawVip, RawVmac};

/// Collects the errors of one file.
struct Cx<'a> {
    path: &'a Path,
    text: &'a str,
    errors: Vec<ConfigError>,
}

impl Cx<'_> {
    fn push(&mut self, at: Range<usize>, section: &str, key: Option<&str>, kind: ErrorKind) {
        let (line, column) = line_col(self.text, at.start);
        self.errors.push(ConfigError {
            path: self.path.to_path_buf(),
            line,
            column,
            section: (!section.is_empty()).then(|| section.to_string()),
            key: key.map(str::to_string),
            kind,
        });
    }

    /// An error about the value `v` of `key`.
    fn at<T>(&mut self, v: &Spanned<T>, section: &str, key: &str, kind: ErrorKind) {
        self.push(v.span(), section, Some(key), kind);
    }

    /// The directory relative paths in the file are relative to.
    fn config_dir(&self) -> std::path::PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        }
    }

    /// `p` as written, made relative to the config file's directory.
    fn relative(&self, p: &str) -> std::path::PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.config_dir().join(p)
        }
    }

    fn finish(mut self) -> ConfigErrors {
        self.errors.sort_by_key(|e| (e.line, e.column));
        ConfigErrors(self.errors)
    }
}

/// One table, deserialized or not, with what is needed to report on it.
struct Table<T> {
    section: String,
    /// Where the table starts, for errors with no better position.
    start: usize,
    /// The `name` key, when it is a string: lets other tables refer to a
    /// broken table without a second, misleading "unknown" error.
    name: Option<String>,
    raw: Option<T>,
}

pub(crate) fn parse(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
    let mut cx = Cx {
        path,
        text,
        errors: Vec::new(),
    };
    let doc = match ImDocument::parse(text) {
        Ok(d) => d,
        Err(e) => {
            let at = e.span().unwrap_or(0..0);
            cx.push(
                at,
                "",
                None,
                ErrorKind::Syntax {
                    message: e.message().trim().to_string(),
                },
            );
            return Err(cx.finish());
        }
    };
    let root = doc.as_table();
    let mut global: Option<Table<RawGlobal>> = None;
    let mut instances: Vec<Table<RawInstance>> = Vec::new();
    let mut groups: Vec<Table<RawSyncGroup>> = Vec::new();
    let mut plugins: Vec<Table<RawPlugin>> = Vec::new();
    let mut checks: Vec<Table<RawCheck>> = Vec::new();
    let mut notifiers: Vec<Table<RawNotifier>> = Vec::new();
    for (key, item) in root.iter() {
        let key_span = root.key(key).and_then(|k| k.span()).unwrap_or(0..0);
        match key {
            "global" => match item.as_table_like() {
                Some(t) => global = Some(table(&mut cx, t, "global".into(), key_span.start)),
                None => cx.push(
                    key_span,
                    "global",
                    None,
                    ErrorKind::Schema {
                        message: "`global` must be a table: write `[global]`".into(),
                    },
                ),
            },
            "instance" | "sync_group" | "plugin" | "check" | "notifier" => {
                let Some(elems) = array_of_tables(item) else {
                    cx.push(
                        key_span,
                        "",
                        None,
                        ErrorKind::NotArrayOfTables { name: key.into() },
                    );
                    continue;
                };
                for (n, t) in elems.into_iter().enumerate() {
                    let start = table_start(t).unwrap_or(key_span.start);
                    let name = t.get("name").and_then(Item::as_str);
                    let section = match name {
                        Some(name) => format!("{key} {name:?}"),
                        None => format!("{key} #{}", n + 1),
                    };
                    match key {
                        "instance" => instances.push(table(&mut cx, t, section, start)),
                        "sync_group" => groups.push(table(&mut cx, t, section, start)),
                        "plugin" => plugins.push(table(&mut cx, t, section, start)),
                        "check" => checks.push(table(&mut cx, t, section, start)),
                        _ => notifiers.push(table(&mut cx, t, section, start)),
                    }
                }
            }
            other => cx.push(
                key_span,
                "",
                None,
                ErrorKind::UnknownSection { name: other.into() },
            ),
        }
    }

    let global = validate_global(&mut cx, global.and_then(|t| t.raw).unwrap_or_default());
    let mut known: HashSet<String> = HashSet::new();
    let mut checked = Vec::new();
    for t in instances {
        if let Some(n) = &t.name {
            known.insert(n.clone());
        }
        if let Some(raw) = t.raw {
            checked.push(validate_instance(&mut cx, &global, &t.section, raw));
        }
    }
    cross_check(&mut cx, &checked);
    let sync_groups = validate_groups(&mut cx, groups, &known);
    for g in &sync_groups {
        known.insert(g.name.clone());
    }
    let plugins = validate_plugins(&mut cx, plugins);
    let checks = validate_checks(&mut cx, &global, &plugins, checks);
    for c in &checked {
        let sec = format!("instance {:?}", c.spec.name);
        for (name, span, key) in &c.check_refs {
            if !checks.iter().any(|k| k.name == *name) {
                cx.push(
                    span.clone(),
                    &sec,
                    Some(key),
                    ErrorKind::Invalid {
                        message: format!("no [[check]] named {name:?}"),
                    },
                );
            }
        }
    }
    let notifiers = validate_notifiers(&mut cx, &global, &plugins, notifiers, &known);
    if cx.errors.is_empty() {
        Ok(Config {
            global,
            instances: checked.into_iter().map(|c| c.spec).collect(),
            sync_groups,
            plugins,
            checks,
            notifiers,
        })
    } else {
        Err(cx.finish())
    }
}

/// The tables of `[[x]]` or `x = [{...}, ...]`; `None` for anything else.
fn array_of_tables(item: &Item) -> Option<Vec<&dyn TableLike>> {
    match item {
        Item::ArrayOfTables(a) => Some(a.iter().map(|t| t as &dyn TableLike).collect()),
        Item::Value(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_inline_table().map(|t| t as &dyn TableLike))
            .collect(),
        _ => None,
    }
}

/// Where a table's text begins: its first key, else its own span.
fn table_start(t: &dyn TableLike) -> Option<usize> {
    t.iter()
        .filter_map(|(k, _)| t.key(k).and_then(|k| k.span()).map(|s| s.start))
        .min()
}

/// Deserialize one table, recording a schema error on failure.
fn table<T: DeserializeOwned>(
    cx: &mut Cx<'_>,
    t: &dyn TableLike,
    section: String,
    start: usize,
) -> Table<T> {
    let name = t.get("name").and_then(Item::as_str).map(str::to_string);
    // Re-wrap as an inline table value: it keeps the spans of every key and
    // value, and toml_edit only exposes a public deserializer for values.
    let mut inline = toml_edit::InlineTable::new();
    for (k, item) in t.iter() {
        if let Ok(v) = item.clone().into_value() {
            let key = t.key(k).cloned().unwrap_or_else(|| toml_edit::Key::new(k));
            inline.insert_formatted(&key, v);
        }
    }
    let raw = match T::deserialize(Value::InlineTable(inline).into_deserializer()) {
        Ok(r) => Some(r),
        Err(e) => {
            let pos = e.span().map(|s| s.start);
            let key = pos.and_then(|p| key_path_in_table(t, p));
            cx.push(
                pos.map_or(start..start, |p| p..p),
                &section,
                key.as_deref(),
                ErrorKind::Schema {
                    message: e.message().trim().to_string(),
                },
            );
            None
        }
    };
    Table {
        section,
        start,
        name,
        raw,
    }
}

/// The key path (`virtual_addresses[1].dev`) of whatever lies at byte `pos`.
fn key_path_in_table(t: &dyn TableLike, pos: usize) -> Option<String> {
    for (k, item) in t.iter() {
        let key_hit = t
            .key(k)
            .and_then(|k| k.span())
            .is_some_and(|s| s.contains(&pos));
        if key_hit {
            return Some(k.to_string());
        }
        if let Some(rest) = item.as_value().and_then(|v| path_in_value(v, pos)) {
            return Some(format!("{k}{rest}"));
        }
        if item.span().is_some_and(|s| s.contains(&pos)) {
            return Some(k.to_string());
        }
    }
    None
}

fn path_in_value(v: &Value, pos: usize) -> Option<String> {
    match v {
        Value::Array(a) => a.iter().enumerate().find_map(|(i, e)| {
            let inner = path_in_value(e, pos);
            match inner {
                Some(rest) => Some(format!("[{i}]{rest}")),
                None => e
                    .span()
                    .filter(|s| s.contains(&pos))
                    .map(|_| format!("[{i}]")),
            }
        }),
        Value::InlineTable(t) => t.iter().find_map(|(k, e)| {
            let key_hit = t
                .key(k)
                .and_then(|k| k.span())
                .is_some_and(|s| s.contains(&pos));
            if key_hit {
                return Some(format!(".{k}"));
            }
            match path_in_value(e, pos) {
                Some(rest) => Some(format!(".{k}{rest}")),
                None => e
                    .span()
                    .filter(|s| s.contains(&pos))
                    .map(|_| format!(".{k}")),
            }
        }),
        _ => None,
    }
}

fn validate_global(cx: &mut Cx<'_>, r: RawGlobal) -> Global {
    let d = Global::default();
    let sec = "global";
    let mut g = Global::default();
    if let Some(v) = &r.router_id {
        if v.get_ref().is_empty() {
            cx.at(v, sec, "router_id", ErrorKind::Empty);
        }
        g.router_id = Some(v.get_ref().clone());
    }
    if let Some(v) = &r.control_socket {
        if v.get_ref().is_empty() {
            cx.at(v, sec, "control_socket", ErrorKind::Empty);
        }
        g.control_socket = v.get_ref().into();
    }
    if let Some(v) = &r.vrrp_version {
        g.vrrp_version = version(cx, sec, "vrrp_version", v).unwrap_or(d.vrrp_version);
    }
    g.garp_master_delay = opt_duration(cx, sec, "garp_master_delay", &r.garp_master_delay)
        .unwrap_or(d.garp_master_delay);
    g.garp_master_repeat = opt_repeat(cx, sec, "garp_master_repeat", &r.garp_master_repeat)
        .unwrap_or(d.garp_master_repeat);
    g.garp_master_refresh = opt_duration(cx, sec, "garp_master_refresh", &r.garp_master_refresh)
        .unwrap_or(d.garp_master_refresh);
    g.garp_master_refresh_repeat = opt_repeat(
        cx,
        sec,
        "garp_master_refresh_repeat",
        &r.garp_master_refresh_repeat,
    )
    .unwrap_or(d.garp_master_refresh_repeat);
    g.garp_interval =
        opt_duration(cx, sec, "garp_interval", &r.garp_interval).unwrap_or(d.garp_interval);
    g.gna_interval =
        opt_duration(cx, sec, "gna_interval", &r.gna_interval).unwrap_or(d.gna_interval);
    g.lower_prio_no_advert = flag(&r.lower_prio_no_advert, d.lower_prio_no_advert);
    g.v3_checksum_as_v2 = flag(&r.v3_checksum_as_v2, d.v3_checksum_as_v2);
    g.check_unicast_src = flag(&r.check_unicast_src, d.check_unicast_src);
    if let Some(v) = &r.plugin_dir {
        if v.get_ref().is_empty() {
            cx.at(v, sec, "plugin_dir", ErrorKind::Empty);
        }
        g.plugin_dir = cx.relative(v.get_ref());
    }
    if let Some(v) = &r.plugin_cache_dir {
        g.plugin_cache_dir = match v.get_ref().as_str() {
            "" => None,
            p => Some(cx.relative(p)),
        };
    }
    g
}

/// One entry of `track_checks` / `track_interfaces` / `track_files`.
fn track(
    cx: &mut Cx<'_>,
    sec: &str,
    key: &str,
    item: &Spanned<crate::raw::RawTrack>,
    field: &str,
) -> Option<TrackSpec> {
    use crate::raw::RawTrack;
    let (name, weight, reverse) = match item.get_ref() {
        RawTrack::Short(n) => (n.clone(), None, false),
        RawTrack::Full(t) => {
            let given = [
                ("check", &t.check),
                ("interface", &t.interface),
                ("file", &t.file),
            ];
            let mut name = None;
            for (k, v) in given {
                match (k == field, v) {
                    (true, Some(v)) => name = Some(v.get_ref().clone()),
                    (false, Some(v)) => {
                        cx.at(
                            v,
                            sec,
                            &format!("{key}.{k}"),
                            ErrorKind::Invalid {
                                message: format!(
                                    "this list tracks {field}s: write `{field} = ...`"
                                ),
                            },
                        );
                        return None;
                    }
                    _ => {}
                }
            }
            let Some(name) = name else {
                cx.at(
                    item,
                    sec,
                    key,
                    ErrorKind::Invalid {
                        message: format!("missing `{field} = ...`"),
                    },
                );
                return None;
            };
            let weight = match &t.weight {
                Some(w) => {
                    let n = *w.get_ref();
                    if !(-254..=254).contains(&n) {
                        cx.at(
                            w,
                            sec,
                            &format!("{key}.weight"),
                            ErrorKind::Range {
                                value: n,
                                expected: "-254..=254 (leave it out, or 0, for Fault while down)"
                                    .into(),
                            },
                        );
                        return None;
                    }
                    i32::try_from(n).ok().filter(|n| *n != 0)
                }
                None => None,
            };
            (
                name,
                weight,
                t.reverse.as_ref().is_some_and(|r| *r.get_ref()),
            )
        }
    };
    if name.is_empty() {
        cx.at(item, sec, key, ErrorKind::Empty);
        return None;
    }
    let target = match field {
        "check" => TrackTarget::Check(name),
        "interface" => {
            if let Err(reason) = check_ifname(&name) {
                cx.at(item, sec, key, ErrorKind::InterfaceName { name, reason });
                return None;
            }
            TrackTarget::Interface(name)
        }
        _ => TrackTarget::File(cx.relative(&name)),
    };
    Some(TrackSpec {
        target,
        weight,
        reverse,
    })
}

/// Plugin names are unique and name a `.wasm` file.
fn validate_plugins(cx: &mut Cx<'_>, tables: Vec<Table<RawPlugin>>) -> Vec<PluginSpec> {
    let mut out: Vec<PluginSpec> = Vec::new();
    for t in tables {
        let Some(r) = t.raw else { continue };
        let sec = t.section.as_str();
        let name = r.name.get_ref().clone();
        if !unique_name(
            cx,
            sec,
            &r.name,
            out.iter().map(|p| p.name.as_str()),
            "plugin",
        ) {
            continue;
        }
        if r.path.get_ref().is_empty() {
            cx.at(&r.path, sec, "path", ErrorKind::Empty);
            continue;
        }
        out.push(PluginSpec {
            name,
            path: cx.relative(r.path.get_ref()),
        });
    }
    out
}

/// Checks `name` against earlier names; records an error and returns false on a clash.
fn unique_name<'n>(
    cx: &mut Cx<'_>,
    sec: &str,
    name: &Spanned<String>,
    mut earlier: impl Iterator<Item = &'n str>,
    what: &str,
) -> bool {
    let n = name.get_ref();
    if n.is_empty() {
        cx.at(name, sec, "name", ErrorKind::Empty);
        return false;
    }
    if earlier.any(|e| e == n) {
        cx.at(
            name,
            sec,
            "name",
            ErrorKind::Invalid {
                message: format!("duplicate {what} name {n:?}"),
            },
        );
        return false;
    }
    true
}

/// The keys that say what runs a check or notifier, before validation.
struct RawRunner<'r> {
    plugin: &'r Option<Spanned<String>>,
    script: &'r Option<Spanned<String>>,
    user: &'r Option<Spanned<String>>,
    allow_connect: &'r [Spanned<String>],
    allow_http: &'r [Spanned<String>],
    allow_udp: &'r Option<Spanned<bool>>,
    allow_dns: &'r Option<Spanned<bool>>,
    env: &'r Option<Spanned<std::collections::BTreeMap<String, String>>>,
    config: &'r Option<Spanned<toml::Table>>,
}

/// Exactly one of `plugin` / `unsandboxed_script`; sandbox keys only with a
/// plugin, `user` only with a script.
fn runner(
    cx: &mut Cx<'_>,
    g: &Global,
    plugins: &[PluginSpec],
    sec: &str,
    start: usize,
    r: RawRunner<'_>,
    target: Option<&Target>,
) -> Option<Runner> {
    let misplaced = |cx: &mut Cx<'_>, at: Range<usize>, key: &str, why: &str| {
        cx.push(
            at,
            sec,
            Some(key),
            ErrorKind::Invalid {
                message: why.to_string(),
            },
        )
    };
    match (r.plugin, r.script) {
        (Some(p), Some(s)) => {
            misplaced(
                cx,
                s.span(),
                "unsandboxed_script",
                &format!(
                    "give either `plugin` ({:?}) or `unsandboxed_script`, not both",
                    p.get_ref()
                ),
            );
            None
        }
        (None, None) => {
            cx.push(
                start..start,
                sec,
                None,
                ErrorKind::Invalid {
                    message: "needs `plugin = \"NAME\"` (a sandboxed WebAssembly plugin) or `unsandboxed_script = \"COMMAND\"`".into(),
                },
            );
            None
        }
        (None, Some(s)) => {
            let sandbox_only = "only plugins take capabilities: a script runs unsandboxed";
            for v in r.allow_connect.iter().chain(r.allow_http) {
                misplaced(cx, v.span(), "allow_*", sandbox_only);
            }
            for (key, v) in [("allow_udp", r.allow_udp), ("allow_dns", r.allow_dns)] {
                if let Some(v) = v {
                    misplaced(cx, v.span(), key, sandbox_only);
                }
            }
            if let Some(v) = r.env {
                misplaced(cx, v.span(), "env", sandbox_only);
            }
            if let Some(v) = r.config {
                misplaced(
                    cx,
                    v.span(),
                    "config",
                    "`config` is passed to plugins; a script takes its arguments in the command",
                );
            }
            if s.get_ref().trim().is_empty() {
                cx.at(s, sec, "unsandboxed_script", ErrorKind::Empty);
                return None;
            }
            if let Some(u) = r.user {
                if u.get_ref().is_empty() {
                    cx.at(u, sec, "user", ErrorKind::Empty);
                }
            }
            Some(Runner::Script {
                command: s.get_ref().clone(),
                user: r.user.as_ref().map(|u| u.get_ref().clone()),
            })
        }
        (Some(p), None) => {
            if let Some(u) = r.user {
                misplaced(
                    cx,
                    u.span(),
                    "user",
                    "plugins run in the sandbox, not as a user; `user` is for `unsandboxed_script`",
                );
            }
            if p.get_ref().is_empty() {
                cx.at(p, sec, "plugin", ErrorKind::Empty);
                return None;
            }
            let mut grants = Grants::default();
            let mut ok = true;
            for (key, list, out) in [
                ("allow_connect", r.allow_connect, &mut grants.connect),
                ("allow_http", r.allow_http, &mut grants.http),
            ] {
                for (n, v) in list.iter().enumerate() {
                    match v.get_ref().parse::<AddressRule>() {
                        Ok(rule) => {
                            if key == "allow_connect"
                                && matches!(rule.host, crate::plugins::HostPattern::Name(_))
                            {
                                ok = false;
                                misplaced(
                                    cx,
                                    v.span(),
                                    &format!("{key}[{n}]"),
                                    "sockets see addresses, not names: grant an address or network (names are for `allow_http`)",
                                );
                            } else {
                                out.push(rule);
                            }
                        }
                        Err(reason) => {
                            ok = false;
                            misplaced(cx, v.span(), &format!("{key}[{n}]"), &reason);
                        }
                    }
                }
            }
            grants.udp = flag(r.allow_udp, false);
            grants.dns = flag(r.allow_dns, false);
            grants.env = r
                .env
                .as_ref()
                .map(|e| e.get_ref().clone())
                .unwrap_or_default();
            // The check's own target is what the operator pointed it at:
            // granted unless the table lists grants of its own.
            if grants.connect.is_empty() && grants.http.is_empty() {
                if let Some(ip) = target.and_then(Target::ip) {
                    let rule = AddressRule {
                        host: crate::plugins::HostPattern::Net {
                            addr: ip,
                            prefix: if ip.is_ipv4() { 32 } else { 128 },
                        },
                        port: target.and_then(|t| t.port),
                    };
                    grants.connect.push(rule.clone());
                    grants.http.push(rule);
                }
            }
            let config_json = r
                .config
                .as_ref()
                .map_or_else(|| "{}".to_string(), |c| table_to_json(c.get_ref()));
            let path = resolve_plugin(p.get_ref(), plugins, &g.plugin_dir, &cx.config_dir());
            ok.then(|| Runner::Plugin {
                plugin: p.get_ref().clone(),
                path,
                config_json,
                grants,
            })
        }
    }
}

fn validate_checks(
    cx: &mut Cx<'_>,
    g: &Global,
    plugins: &[PluginSpec],
    tables: Vec<Table<RawCheck>>,
) -> Vec<CheckSpec> {
    let mut out: Vec<CheckSpec> = Vec::new();
    for t in tables {
        let Some(r) = t.raw else { continue };
        let sec = t.section.as_str();
        let unique = unique_name(
            cx,
            sec,
            &r.name,
            out.iter().map(|c| c.name.as_str()),
            "check",
        );
        let target = r
            .target
            .as_ref()
            .and_then(|v| match v.get_ref().parse::<Target>() {
                Ok(t) => Some(t),
                Err(reason) => {
                    cx.at(v, sec, "target", ErrorKind::Invalid { message: reason });
                    None
                }
            });
        let interval =
            opt_duration(cx, sec, "interval", &r.interval).unwrap_or(Duration::from_secs(2));
        let timeout = opt_duration(cx, sec, "timeout", &r.timeout)
            .unwrap_or_else(|| interval.min(Duration::from_secs(1)));
        let start_delay = opt_duration(cx, sec, "start_delay", &r.start_delay).unwrap_or_default();
        if let Some(v) = &r.interval {
            if interval < Duration::from_millis(10) {
                cx.at(
                    v,
                    sec,
                    "interval",
                    ErrorKind::Invalid {
                        message: "a check interval must be at least 10ms".into(),
                    },
                );
            }
        }
        if let Some(v) = &r.timeout {
            if timeout.is_zero() {
                cx.at(
                    v,
                    sec,
                    "timeout",
                    ErrorKind::Invalid {
                        message: "must be more than 0s".into(),
                    },
                );
            } else if timeout > interval {
                cx.at(
                    v,
                    sec,
                    "timeout",
                    ErrorKind::Invalid {
                        message: format!(
                            "timeout {} is longer than interval {}: a check runs once at a time",
                            crate::format_duration(timeout),
                            crate::format_duration(interval)
                        ),
                    },
                );
            }
        }
        let count = |cx: &mut Cx<'_>, key: &str, v: &Option<Spanned<i64>>| -> u32 {
            v.as_ref()
                .and_then(|v| int_in(cx, sec, key, v, 1, 255, "1..=255 consecutive results"))
                .map_or(1, u32::from)
        };
        let fall = count(cx, "fall", &r.fall);
        let rise = count(cx, "rise", &r.rise);
        let run = runner(
            cx,
            g,
            plugins,
            sec,
            t.start,
            RawRunner {
                plugin: &r.plugin,
                script: &r.unsandboxed_script,
                user: &r.user,
                allow_connect: &r.allow_connect,
                allow_http: &r.allow_http,
                allow_udp: &r.allow_udp,
                allow_dns: &r.allow_dns,
                env: &r.env,
                config: &r.config,
            },
            target.as_ref(),
        );
        let retry_delay = opt_duration(cx, sec, "retry_delay", &r.retry_delay);
        if let (Some(v), Some(d)) = (&r.retry_delay, retry_delay) {
            if d < timeout || d > interval {
                cx.at(
                    v,
                    sec,
                    "retry_delay",
                    ErrorKind::Invalid {
                        message: format!(
                            "must lie between timeout ({}) and interval ({})",
                            crate::format_duration(timeout),
                            crate::format_duration(interval)
                        ),
                    },
                );
            }
        }
        if let (true, Some(runner)) = (unique, run) {
            out.push(CheckSpec {
                name: r.name.get_ref().clone(),
                target,
                runner,
                interval,
                timeout,
                start_delay,
                fall,
                rise,
                init_fail: flag(&r.init_fail, false),
                retry_delay,
            });
        }
    }
    out
}

fn validate_notifiers(
    cx: &mut Cx<'_>,
    g: &Global,
    plugins: &[PluginSpec],
    tables: Vec<Table<RawNotifier>>,
    known: &HashSet<String>,
) -> Vec<NotifierSpec> {
    let mut out: Vec<NotifierSpec> = Vec::new();
    for t in tables {
        let Some(r) = t.raw else { continue };
        let sec = t.section.as_str();
        let unique = unique_name(
            cx,
            sec,
            &r.name,
            out.iter().map(|c| c.name.as_str()),
            "notifier",
        );
        let timeout =
            opt_duration(cx, sec, "timeout", &r.timeout).unwrap_or(Duration::from_secs(5));
        if let (Some(v), true) = (&r.timeout, timeout.is_zero()) {
            cx.at(
                v,
                sec,
                "timeout",
                ErrorKind::Invalid {
                    message: "must be more than 0s".into(),
                },
            );
        }
        let mut instances = Vec::new();
        for (n, v) in r.instances.iter().enumerate() {
            if !known.contains(v.get_ref()) {
                cx.at(
                    v,
                    sec,
                    &format!("instances[{n}]"),
                    ErrorKind::UnknownInstance {
                        name: v.get_ref().clone(),
                    },
                );
            }
            instances.push(v.get_ref().clone());
        }
        let run = runner(
            cx,
            g,
            plugins,
            sec,
            t.start,
            RawRunner {
                plugin: &r.plugin,
                script: &r.unsandboxed_script,
                user: &r.user,
                allow_connect: &r.allow_connect,
                allow_http: &r.allow_http,
                allow_udp: &r.allow_udp,
                allow_dns: &r.allow_dns,
                env: &r.env,
                config: &r.config,
            },
            None,
        );
        let mut on = Vec::new();
        for (n, v) in r.on.iter().enumerate() {
            match v.get_ref().as_str() {
                s @ ("master" | "backup" | "fault" | "stop") => on.push(s.to_string()),
                other => cx.at(
                    v,
                    sec,
                    &format!("on[{n}]"),
                    ErrorKind::UnknownValue {
                        text: other.into(),
                        expected: "\"master\", \"backup\", \"fault\" or \"stop\"".into(),
                    },
                ),
            }
        }
        if let (Some(v), Some(Runner::Plugin { .. })) = (&r.append_args, &run) {
            cx.at(
                v,
                sec,
                "append_args",
                ErrorKind::Invalid {
                    message: "only scripts take arguments; plugins receive the transition itself"
                        .into(),
                },
            );
        }
        if let (true, Some(runner)) = (unique, run) {
            out.push(NotifierSpec {
                name: r.name.get_ref().clone(),
                runner,
                timeout,
                instances,
                on,
                append_args: flag(&r.append_args, true),
            });
        }
    }
    out
}

/// An instance and what the cross-instance checks need.
struct Checked {
    spec: InstanceSpec,
    /// `track_checks` names with where they were written, checked once the
    /// `[[check]]` tables are known.
    check_refs: Vec<(String, Range<usize>, String)>,
    name_span: Range<usize>,
    /// Span of `vrid`, when the VRID itself was valid.
    vrid_span: Option<Range<usize>>,
    interface_ok: bool,
}

fn validate_instance(cx: &mut Cx<'_>, g: &Global, sec: &str, r: RawInstance) -> Checked {
    let name = r.name.get_ref().clone();
    if name.is_empty() {
        cx.at(&r.name, sec, "name", ErrorKind::Empty);
    }
    let interface_ok = ifname(cx, sec, "interface", &r.interface);
    let vrid = int_in(cx, sec, "vrid", &r.vrid, 1, 255, "1..=255 (0 is reserved)");
    let priority = int_in(
        cx,
        sec,
        "priority",
        &r.priority,
        1,
        255,
        "1..=255 (255 means address owner; 0 is reserved for a master that resigns)",
    );
    let version = match &r.version {
        Some(v) => version(cx, sec, "version", v),
        None => Some(g.vrrp_version),
    };
    let advert_interval = match &r.advert_interval {
        Some(v) => duration(cx, sec, "advert_interval", v)
            .inspect(|d| {
                if let Some(ver) = version {
                    check_interval(cx, sec, v, *d, ver);
                }
            })
            .unwrap_or(Duration::from_secs(1)),
        None => Duration::from_secs(1),
    };
    let state = match &r.state {
        None => InitialState::Backup,
        Some(v) => match v.get_ref().as_str() {
            "backup" => InitialState::Backup,
            "master" => InitialState::Master,
            other => {
                cx.at(
                    v,
                    sec,
                    "state",
                    ErrorKind::UnknownValue {
                        text: other.into(),
                        expected: "\"backup\" or \"master\"".into(),
                    },
                );
                InitialState::Backup
            }
        },
    };
    let preempt_delay =
        opt_duration(cx, sec, "preempt_delay", &r.preempt_delay).unwrap_or(Duration::ZERO);
    let authentication = match &r.authentication {
        Some(a) => auth(cx, sec, a, version),
        None => Authentication::None,
    };

    // Addresses: the first one decides the family, the rest must agree.
    let mut family: Option<(Family, String, Range<usize>)> = None;
    let mut decide = |cx: &mut Cx<'_>, addr: IpAddr, at: Range<usize>, key: &str| {
        let f = Family::of(&addr);
        match &family {
            None => family = Some((f, key.to_string(), at)),
            Some((want, by, _)) if *want != f => cx.push(
                at,
                sec,
                Some(key),
                ErrorKind::MixedFamily {
                    addr,
                    family: family_name(f).into(),
                    instance_family: family_name(*want).into(),
                    decided_by: by.clone(),
                },
            ),
            Some(_) => {}
        }
    };
    let mut vips: Vec<VirtualAddress> = Vec::new();
    let mut seen: HashSet<IpAddr> = HashSet::new();
    for (n, v) in r.virtual_addresses.iter().enumerate() {
        let key = format!("virtual_addresses[{n}]");
        let Some(vip) = virtual_address(cx, sec, &key, v) else {
            continue;
        };
        decide(cx, vip.addr, v.span(), &key);
        if !seen.insert(vip.addr) {
            cx.at(v, sec, &key, ErrorKind::DuplicateAddress { addr: vip.addr });
        }
        vips.push(vip);
    }
    if let Some(v) = r.virtual_addresses.get(255) {
        cx.at(
            v,
            sec,
            "virtual_addresses",
            ErrorKind::Invalid {
                message: format!(
                    "{} addresses exceed the 255 an advertisement can carry",
                    r.virtual_addresses.len()
                ),
            },
        );
    }
    let unicast_source = r.unicast_source.as_ref().and_then(|v| {
        let a = ip(cx, sec, "unicast_source", v)?;
        decide(cx, a, v.span(), "unicast_source");
        Some(a)
    });
    let mut unicast_peers = Vec::new();
    for (n, v) in r.unicast_peers.iter().enumerate() {
        let key = format!("unicast_peers[{n}]");
        let Some(a) = ip(cx, sec, &key, v) else {
            continue;
        };
        decide(cx, a, v.span(), &key);
        if unicast_peers.contains(&a) {
            cx.at(v, sec, &key, ErrorKind::DuplicateAddress { addr: a });
        } else if Some(a) == unicast_source {
            cx.at(
                v,
                sec,
                &key,
                ErrorKind::Invalid {
                    message: format!("unicast peer {a} is this router's own unicast_source"),
                },
            );
        }
        unicast_peers.push(a);
    }
    let fam = family.as_ref().map_or(Family::V4, |(f, _, _)| *f);
    if version == Some(Version::V2) && fam == Family::V6 {
        match (&r.version, &family) {
            (Some(v), _) => cx.at(
                v,
                sec,
                "version",
                ErrorKind::V2Ipv6 {
                    hint: "; set `version = 3`".into(),
                },
            ),
            (None, Some((_, by, at))) => cx.push(
                at.clone(),
                sec,
                Some(by),
                ErrorKind::V2Ipv6 {
                    hint: " and `version` defaults to [global] vrrp_version = 2; set `version = 3`"
                        .into(),
                },
            ),
            (None, None) => {}
        }
    }

    let use_vmac = match r.use_vmac.as_ref().map(|v| (v, v.get_ref())) {
        None | Some((_, RawVmac::Flag(false))) => None,
        Some((_, RawVmac::Flag(true))) => Some(format!("vrrp.{}", vrid.unwrap_or(0))),
        Some((v, RawVmac::Name(n))) => {
            if let Err(reason) = check_ifname(n) {
                cx.at(
                    v,
                    sec,
                    "use_vmac",
                    ErrorKind::InterfaceName {
                        name: n.clone(),
                        reason,
                    },
                );
            }
            Some(n.clone())
        }
    };
    let vmac_xmit_base = flag(&r.vmac_xmit_base, false);
    if let (Some(v), None) = (&r.vmac_xmit_base, &use_vmac) {
        if *v.get_ref() {
            cx.at(
                v,
                sec,
                "vmac_xmit_base",
                ErrorKind::Invalid {
                    message: "vmac_xmit_base needs use_vmac".into(),
                },
            );
        }
    }
    let unicast_min_ttl = match &r.unicast_min_ttl {
        Some(v) => int_in(cx, sec, "unicast_min_ttl", v, 0, 255, "0..=255").unwrap_or(0),
        None => 0,
    };

    let spec = InstanceSpec {
        name,
        interface: r.interface.get_ref().clone(),
        vrid: vrid.unwrap_or(0),
        priority: priority.unwrap_or(100),
        version: version.unwrap_or(g.vrrp_version),
        advert_interval,
        state,
        preempt: flag(&r.preempt, true),
        preempt_delay,
        accept: flag(&r.accept, true),
        authentication,
        vips,
        unicast_source,
        unicast_peers,
        use_vmac,
        vmac_xmit_base,
        check_addresses: flag(&r.check_addresses, true),
        check_unicast_src: flag(&r.check_unicast_src, g.check_unicast_src),
        unicast_min_ttl,
        garp_master_delay: opt_duration(cx, sec, "garp_master_delay", &r.garp_master_delay)
            .unwrap_or(g.garp_master_delay),
        garp_master_repeat: opt_repeat(cx, sec, "garp_master_repeat", &r.garp_master_repeat)
            .unwrap_or(g.garp_master_repeat),
        garp_master_refresh: opt_duration(cx, sec, "garp_master_refresh", &r.garp_master_refresh)
            .unwrap_or(g.garp_master_refresh),
        garp_master_refresh_repeat: opt_repeat(
            cx,
            sec,
            "garp_master_refresh_repeat",
            &r.garp_master_refresh_repeat,
        )
        .unwrap_or(g.garp_master_refresh_repeat),
        garp_interval: g.garp_interval,
        gna_interval: g.gna_interval,
        lower_prio_no_advert: flag(&r.lower_prio_no_advert, g.lower_prio_no_advert),
        v3_checksum_as_v2: flag(&r.v3_checksum_as_v2, g.v3_checksum_as_v2),
        tracks: Vec::new(),
    };
    let mut spec = spec;
    let mut check_refs = Vec::new();
    for (list, field) in [
        (&r.track_checks, "check"),
        (&r.track_interfaces, "interface"),
        (&r.track_files, "file"),
    ] {
        let key = match field {
            "check" => "track_checks",
            "interface" => "track_interfaces",
            _ => "track_files",
        };
        for (n, item) in list.iter().enumerate() {
            let at = format!("{key}[{n}]");
            if let Some(t) = track(cx, sec, &at, item, field) {
                if let TrackTarget::Check(c) = &t.target {
                    check_refs.push((c.clone(), item.span(), at.clone()));
                }
                if spec.tracks.iter().any(|x| x.target == t.target) {
                    cx.at(
                        item,
                        sec,
                        &at,
                        ErrorKind::Invalid {
                            message: format!("{field} tracked twice"),
                        },
                    );
                    continue;
                }
                spec.tracks.push(t);
            }
        }
    }
    Checked {
        spec,
        check_refs,
        name_span: r.name.span(),
        vrid_span: vrid.map(|_| r.vrid.span()),
        interface_ok,
    }
}

/// Names are unique; no two instances share (interface, family, VRID),
/// because received adverts could not be told apart.
fn cross_check(cx: &mut Cx<'_>, checked: &[Checked]) {
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut keys: HashMap<(&str, Family, u8), (&str, usize)> = HashMap::new();
    for c in checked {
        let s = &c.spec;
        let section = format!("instance {:?}", s.name);
        let line = line_col(cx.text, c.name_span.start).0;
        if let Some(first_line) = names.get(s.name.as_str()) {
            cx.push(
                c.name_span.clone(),
                &section,
                Some("name"),
                ErrorKind::DuplicateInstance {
                    name: s.name.clone(),
                    first_line: *first_line,
                },
            );
            continue;
        }
        names.insert(&s.name, line);
        let (Some(vrid_span), true) = (&c.vrid_span, c.interface_ok) else {
            continue;
        };
        let key = (s.interface.as_str(), s.family(), s.vrid);
        match keys.get(&key) {
            Some((other, other_line)) => cx.push(
                vrid_span.clone(),
                &section,
                Some("vrid"),
                ErrorKind::DuplicateVrid {
                    vrid: s.vrid,
                    family: family_name(key.1).into(),
                    interface: s.interface.clone(),
                    other: (*other).to_string(),
                    other_line: *other_line,
                },
            ),
            None => {
                keys.insert(key, (&s.name, line));
            }
        }
    }
}

fn validate_groups(
    cx: &mut Cx<'_>,
    groups: Vec<Table<RawSyncGroup>>,
    known: &HashSet<String>,
) -> Vec<SyncGroupSpec> {
    let mut out = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut member_of: HashMap<String, String> = HashMap::new();
    for t in groups {
        let Some(r) = t.raw else { continue };
        let sec = t.section.as_str();
        let name = r.name.get_ref().clone();
        let line = line_col(cx.text, r.name.span().start).0;
        if name.is_empty() {
            cx.at(&r.name, sec, "name", ErrorKind::Empty);
        } else if let Some(first_line) = names.get(&name) {
            cx.at(
                &r.name,
                sec,
                "name",
                ErrorKind::DuplicateGroup {
                    name: name.clone(),
                    first_line: *first_line,
                },
            );
        } else {
            names.insert(name.clone(), line);
        }
        if r.instances.is_empty() {
            cx.push(t.start..t.start, sec, Some("instances"), ErrorKind::Empty);
        }
        let mut members = Vec::new();
        for (n, m) in r.instances.iter().enumerate() {
            let key = format!("instances[{n}]");
            let inst = m.get_ref();
            if !known.contains(inst) {
                cx.at(
                    m,
                    sec,
                    &key,
                    ErrorKind::UnknownInstance { name: inst.clone() },
                );
            } else if member_of.get(inst) == Some(&name) {
                cx.at(
                    m,
                    sec,
                    &key,
                    ErrorKind::Invalid {
                        message: format!("instance {inst:?} is listed twice"),
                    },
                );
            } else if let Some(group) = member_of.get(inst) {
                cx.at(
                    m,
                    sec,
                    &key,
                    ErrorKind::GroupMember {
                        name: inst.clone(),
                        group: group.clone(),
                    },
                );
            } else {
                member_of.insert(inst.clone(), name.clone());
            }
            members.push(inst.clone());
        }
        out.push(SyncGroupSpec {
            name,
            instances: members,
        });
    }
    out
}

fn auth(
    cx: &mut Cx<'_>,
    sec: &str,
    a: &Spanned<RawAuth>,
    version: Option<Version>,
) -> Authentication {
    let r = a.get_ref();
    let kind = r.kind.get_ref().as_str();
    match kind {
        "none" => {
            if let Some(p) = &r.password {
                cx.at(
                    p,
                    sec,
                    "authentication.password",
                    ErrorKind::Invalid {
                        message: "type \"none\" takes no password".into(),
                    },
                );
            }
            Authentication::None
        }
        "pass" => {
            if version == Some(Version::V3) {
                cx.at(a, sec, "authentication", ErrorKind::V3Auth);
            }
            let Some(p) = &r.password else {
                cx.at(
                    a,
                    sec,
                    "authentication",
                    ErrorKind::Invalid {
                        message: "type \"pass\" needs a `password`".into(),
                    },
                );
                return Authentication::None;
            };
            let len = p.get_ref().len();
            if len == 0 || len > 8 {
                cx.at(
                    p,
                    sec,
                    "authentication.password",
                    ErrorKind::Invalid {
                        message: format!(
                            "the password is {len} bytes; VRRPv2 carries 1 to 8 \
                             (keepalived silently truncates longer ones to 8)"
                        ),
                    },
                );
            }
            Authentication::Pass {
                password: p.get_ref().clone(),
            }
        }
        "ah" => {
            cx.at(
                &r.kind,
                sec,
                "authentication.type",
                ErrorKind::AhNotSupported,
            );
            Authentication::None
        }
        other => {
            cx.at(
                &r.kind,
                sec,
                "authentication.type",
                ErrorKind::UnknownValue {
                    text: other.into(),
                    expected: "\"none\" or \"pass\"".into(),
                },
            );
            Authentication::None
        }
    }
}

fn virtual_address(
    cx: &mut Cx<'_>,
    sec: &str,
    key: &str,
    v: &Spanned<RawVip>,
) -> Option<VirtualAddress> {
    let (text, at, t) = match v.get_ref() {
        RawVip::Short(s) => (s.as_str(), v.span(), None),
        RawVip::Full(t) => (t.address.get_ref().as_str(), t.address.span(), Some(t)),
    };
    let akey = if t.is_some() {
        format!("{key}.address")
    } else {
        key.to_string()
    };
    let (addr, prefix_len) = match cidr(text) {
        Ok(x) => x,
        Err(kind) => {
            cx.push(at, sec, Some(&akey), kind);
            return None;
        }
    };
    let mut vip = VirtualAddress {
        addr,
        prefix_len,
        dev: None,
        label: None,
        scope: None,
        no_dad: addr.is_ipv6(),
    };
    let Some(t) = t else { return Some(vip) };
    if let Some(d) = &t.dev {
        ifname(cx, sec, &format!("{key}.dev"), d);
        vip.dev = Some(d.get_ref().clone());
    }
    if let Some(l) = &t.label {
        let label = l.get_ref();
        let problem = if addr.is_ipv6() {
            Some("address labels are IPv4 only".to_string())
        } else if label.is_empty() || label.len() > 15 {
            Some(format!("a label is 1 to 15 bytes, not {}", label.len()))
        } else {
            None
        };
        if let Some(message) = problem {
            cx.at(
                l,
                sec,
                &format!("{key}.label"),
                ErrorKind::Invalid { message },
            );
        }
        vip.label = Some(label.clone());
    }
    if let Some(s) = &t.scope {
        match Scope::from_name(s.get_ref()) {
            Some(sc) => vip.scope = Some(sc),
            None => cx.at(
                s,
                sec,
                &format!("{key}.scope"),
                ErrorKind::UnknownValue {
                    text: s.get_ref().clone(),
                    expected: "\"global\", \"site\", \"link\", \"host\" or \"nowhere\"".into(),
                },
            ),
        }
    }
    if let Some(n) = &t.no_dad {
        if addr.is_ipv4() {
            cx.at(
                n,
                sec,
                &format!("{key}.no_dad"),
                ErrorKind::Invalid {
                    message: "no_dad applies to IPv6 addresses only (IPv4 has no DAD)".into(),
                },
            );
        } else {
            vip.no_dad = *n.get_ref();
        }
    }
    Some(vip)
}

/// `ADDR` or `ADDR/LEN`; no prefix means a host route, as in keepalived.
pub(crate) fn cidr(text: &str) -> Result<(IpAddr, u8), ErrorKind> {
    let (a, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let addr: IpAddr = a
        .parse()
        .map_err(|_| ErrorKind::Address { text: a.into() })?;
    let max = VirtualAddress::host_prefix(&addr);
    let prefix = match len {
        None => max,
        Some(l) => match l.parse::<u8>() {
            Ok(n) if n <= max && l.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => {
                return Err(ErrorKind::Prefix {
                    text: l.into(),
                    addr,
                    max,
                })
            }
        },
    };
    Ok((addr, prefix))
}

/// Linux's `dev_valid_name`: 1 to 15 bytes, not `.` or `..`, no `/`, `:` or
/// whitespace.
pub(crate) fn check_ifname(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty".into());
    }
    if name.len() > 15 {
        return Err(format!("{} bytes, at most 15", name.len()));
    }
    if name == "." || name == ".." {
        return Err("reserved".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| *c == '/' || *c == ':' || c.is_whitespace())
    {
        return Err(format!("contains {c:?}"));
    }
    Ok(())
}

fn ifname(cx: &mut Cx<'_>, sec: &str, key: &str, v: &Spanned<String>) -> bool {
    match check_ifname(v.get_ref()) {
        Ok(()) => true,
        Err(reason) => {
            cx.at(
                v,
                sec,
                key,
                ErrorKind::InterfaceName {
                    name: v.get_ref().clone(),
                    reason,
                },
            );
            false
        }
    }
}

fn ip(cx: &mut Cx<'_>, sec: &str, key: &str, v: &Spanned<String>) -> Option<IpAddr> {
    match v.get_ref().parse() {
        Ok(a) => Some(a),
        Err(_) => {
            cx.at(
                v,
                sec,
                key,
                ErrorKind::Address {
                    text: v.get_ref().clone(),
                },
            );
            None
        }
    }
}

fn int_in(
    cx: &mut Cx<'_>,
    sec: &str,
    key: &str,
    v: &Spanned<i64>,
    lo: i64,
    hi: i64,
    expected: &str,
) -> Option<u8> {
    let n = *v.get_ref();
    if n < lo || n > hi {
        cx.at(
            v,
            sec,
            key,
            ErrorKind::Range {
                value: n,
                expected: expected.into(),
            },
        );
        return None;
    }
    u8::try_from(n).ok()
}

fn version(cx: &mut Cx<'_>, sec: &str, key: &str, v: &Spanned<i64>) -> Option<Version> {
    match *v.get_ref() {
        2 => Some(Version::V2),
        3 => Some(Version::V3),
        n => {
            cx.at(
                v,
                sec,
                key,
                ErrorKind::Range {
                    value: n,
                    expected: "2 or 3".into(),
                },
            );
            None
        }
    }
}

fn opt_repeat(cx: &mut Cx<'_>, sec: &str, key: &str, v: &Option<Spanned<i64>>) -> Option<u8> {
    int_in(cx, sec, key, v.as_ref()?, 1, 255, "1..=255")
}

fn flag(v: &Option<Spanned<bool>>, default: bool) -> bool {
    v.as_ref().map_or(default, |v| *v.get_ref())
}

fn duration(cx: &mut Cx<'_>, sec: &str, key: &str, v: &Spanned<RawDuration>) -> Option<Duration> {
    let kind = match v.get_ref() {
        RawDuration::Text(t) => match parse_duration(t) {
            Ok(d) => return Some(d),
            Err(reason) => ErrorKind::Duration {
                text: t.clone(),
                reason,
            },
        },
        RawDuration::Number(n) => ErrorKind::DurationUnit { value: n.clone() },
    };
    cx.at(v, sec, key, kind);
    None
}

fn opt_duration(
    cx: &mut Cx<'_>,
    sec: &str,
    key: &str,
    v: &Option<Spanned<RawDuration>>,
) -> Option<Duration> {
    duration(cx, sec, key, v.as_ref()?)
}

/// v2 carries whole seconds 1..=255; v3 centiseconds 1..=4095.
fn check_interval(cx: &mut Cx<'_>, sec: &str, v: &Spanned<RawDuration>, d: Duration, ver: Version) {
    let ns = as_nanos(d);
    let (ok, expected, n) = match ver {
        Version::V2 => (
            ns.is_multiple_of(1_000_000_000) && (1..=255).contains(&(ns / 1_000_000_000)),
            "whole seconds from \"1s\" to \"255s\"",
            2,
        ),
        Version::V3 => (
            ns.is_multiple_of(10_000_000) && (1..=4095).contains(&(ns / 10_000_000)),
            "a multiple of 10ms from \"10ms\" to \"40.95s\"",
            3,
        ),
    };
    if !ok {
        let text = match v.get_ref() {
            RawDuration::Text(t) => t.clone(),
            RawDuration::Number(n) => n.clone(),
        };
        cx.at(
            v,
            sec,
            "advert_interval",
            ErrorKind::Interval {
                text,
                version: n,
                expected: expected.into(),
            },
        );
    }
}

fn family_name(f: Family) -> &'static str {
    match f {
        Family::V4 => "IPv4",
        Family::V6 => "IPv6",
    }
}

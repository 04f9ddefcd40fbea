//! The statement tree to Vigil TOML, block by block, reproducing
//! keepalived's defaults and adjustments (`vrrp.c`, `vrrp_complete_instance`)
//! and recording each as a [`Note`].

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::reader::{Loc, Node, Reader};
use super::{Conversion, ImportError, Note, Problem, Unsupported};
use crate::duration::{as_nanos, format_duration, parse_decimal_seconds};
use crate::model::q;
use crate::{Config, ErrorKind};

/// What keepalived does not have yet in Vigil, by area, for the report.
const PLANNED_TRACKING: &str = "not yet supported (tracking and checks are planned)";
const PLANNED_NOTIFY: &str = "not yet supported (notify scripts are planned)";
const PLANNED_LVS: &str = "not yet supported (LVS/IPVS is planned)";
const NOT_YET: &str = "not yet supported";

pub(crate) fn run(r: Reader<'_>) -> Result<Conversion, ImportError> {
    let (nodes, files, problems, unsupported) = r.into_tree();
    let mut c = Conv {
        files,
        problems,
        unsupported,
        notes: Vec::new(),
        global: GlobalAcc::default(),
        instances: Vec::new(),
        groups: Vec::new(),
    };
    for n in &nodes {
        c.top(n);
    }
    let out = c.emit();
    let had_problems = !c.problems.is_empty();
    if let Err(errors) = Config::parse(&out.text, "<converted>") {
        for e in errors {
            // After a conversion problem, a missing key is its consequence.
            if had_problems && matches!(e.kind, ErrorKind::Schema { .. }) {
                continue;
            }
            // Map the TOML line back to the keepalived line it came from.
            let loc = out
                .map
                .get(e.line.wrapping_sub(1))
                .copied()
                .flatten()
                .or_else(|| out.map.iter().flatten().next().copied())
                .unwrap_or(Loc { file: 0, line: 0 });
            let mut msg = String::new();
            if let Some(s) = &e.section {
                msg.push_str(s);
                msg.push_str(": ");
            }
            if let Some(k) = &e.key {
                msg.push_str(&format!("`{k}`: "));
            }
            msg.push_str(&c.describe(&e.kind, &out.map));
            c.problem(loc, msg);
        }
    }
    let mut problems = c.problems;
    let order = |p: &PathBuf| c.files.iter().position(|f| f == p).unwrap_or(usize::MAX);
    problems.sort_by_key(|p| (order(&p.file), p.line));
    if !problems.is_empty() {
        return Err(ImportError::Invalid {
            problems,
            unsupported: c.unsupported,
        });
    }
    Ok(Conversion {
        toml: out.text,
        unsupported: c.unsupported,
        notes: c.notes,
    })
}

/// TOML text and, per output line, the keepalived line it came from.
#[derive(Default)]
struct Out {
    text: String,
    map: Vec<Option<Loc>>,
}

impl Out {
    fn line(&mut self, s: &str, loc: Option<Loc>) {
        self.text.push_str(s);
        self.text.push('\n');
        self.map.push(loc);
    }

    fn kv(&mut self, e: &Entry) {
        let mut s = format!("{} = {}", e.key, e.value);
        if let Some(c) = &e.comment {
            s.push_str("  # ");
            s.push_str(&comment_safe(c));
        }
        self.line(&s, Some(e.loc));
    }
}

/// TOML comments may not hold control characters or line breaks.
fn comment_safe(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() && c != '\t' { '?' } else { c })
        .collect()
}

/// A key, its TOML value and where it came from; a later keyword of the
/// same key replaces it, as in keepalived.
struct Entry {
    key: String,
    value: String,
    loc: Loc,
    comment: Option<String>,
}

#[derive(Default)]
struct Entries(Vec<Entry>);

impl Entries {
    fn set(&mut self, key: &str, value: String, loc: Loc, comment: Option<String>) {
        let e = Entry {
            key: key.to_string(),
            value,
            loc,
            comment,
        };
        match self.0.iter_mut().find(|x| x.key == key) {
            Some(x) => *x = e,
            None => self.0.push(e),
        }
    }
}

struct GlobalAcc {
    blocks: Vec<Loc>,
    entries: Entries,
    vrrp_version: u8,
    strict: bool,
    skip_check_adv_addr: Option<(bool, Loc)>,
    check_unicast_src: bool,
}

impl Default for GlobalAcc {
    fn default() -> Self {
        GlobalAcc {
            blocks: Vec::new(),
            entries: Entries::default(),
            vrrp_version: 2,
            strict: false,
            skip_check_adv_addr: None,
            check_unicast_src: false,
        }
    }
}

type At<T> = Option<(T, Loc)>;

/// One virtual address as read.
struct Vip {
    text: String,
    loc: Loc,
    addr: Option<IpAddr>,
    dev: Option<String>,
    label: Option<String>,
    scope: Option<String>,
    dad: bool,
}

struct Inst {
    name: String,
    loc: Loc,
    master: At<bool>,
    interface: At<String>,
    vrid: At<i64>,
    priority: At<i64>,
    advert: At<Duration>,
    version: At<u8>,
    nopreempt: At<bool>,
    preempt_delay: At<Duration>,
    accept: At<bool>,
    auth_type: At<String>,
    auth_pass: At<String>,
    auth_loc: Option<Loc>,
    vips: Vec<Vip>,
    source: At<String>,
    peers: Vec<(String, Loc)>,
    peer_min_ttl: Vec<(i64, Loc)>,
    use_vmac: At<Option<String>>,
    vmac_xmit_base: Option<Loc>,
    garp: Entries,
    lower_prio_no_advert: At<bool>,
    skip_check_adv_addr: At<bool>,
    check_unicast_src: Option<Loc>,
    v3_checksum_as_v2: At<bool>,
    strict: Option<Loc>,
}

struct Group {
    name: String,
    loc: Loc,
    members: Vec<(String, Loc)>,
}

struct Conv {
    files: Vec<PathBuf>,
    problems: Vec<Problem>,
    unsupported: Vec<Unsupported>,
    notes: Vec<Note>,
    global: GlobalAcc,
    instances: Vec<Inst>,
    groups: Vec<Group>,
}

impl Conv {
    fn file(&self, loc: Loc) -> PathBuf {
        self.files.get(loc.file).cloned().unwrap_or_default()
    }

    /// `file:line` for comments in the output: the file relative to the
    /// top-level file's directory, so that the output reads like the source.
    fn at(&self, loc: Loc) -> String {
        let file = self.file(loc);
        let top_dir = self.files.first().and_then(|t| t.parent());
        let shown = match top_dir {
            Some(d) if !d.as_os_str().is_empty() => file.strip_prefix(d).unwrap_or(&file),
            _ => &file,
        };
        format!("{}:{}", shown.display(), loc.line)
    }

    fn problem(&mut self, loc: Loc, message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.file(loc),
            line: loc.line,
            message: message.into(),
        });
    }

    fn unsupported(&mut self, loc: Loc, keyword: &str, note: impl Into<String>) {
        self.unsupported.push(Unsupported {
            file: self.file(loc),
            line: loc.line,
            keyword: keyword.to_string(),
            note: note.into(),
        });
    }

    fn note(&mut self, loc: Loc, keyword: &str, note: impl Into<String>) {
        self.notes.push(Note {
            file: self.file(loc),
            line: loc.line,
            keyword: keyword.to_string(),
            note: note.into(),
        });
    }

    /// A validation error's text, with TOML line numbers inside it turned
    /// into keepalived locations.
    fn describe(&self, kind: &ErrorKind, map: &[Option<Loc>]) -> String {
        let at = |line: usize| {
            map.get(line.wrapping_sub(1))
                .copied()
                .flatten()
                .map_or_else(|| format!("line {line} of the output"), |l| self.at(l))
        };
        match kind {
            ErrorKind::DuplicateInstance { name, first_line } => {
                format!("duplicate instance name {name:?} (first defined at {})", at(*first_line))
            }
            ErrorKind::DuplicateGroup { name, first_line } => {
                format!("duplicate sync group name {name:?} (first defined at {})", at(*first_line))
            }
            ErrorKind::DuplicateVrid {
                vrid,
                family,
                interface,
                other,
                other_line,
            } => format!(
                "VRID {vrid} ({family}) is already used on interface {interface:?} by instance {other:?} ({})",
                at(*other_line)
            ),
            other => other.to_string(),
        }
    }

    // ---- argument readers: each records a problem and returns None on error.

    fn arg(&mut self, n: &Node) -> Option<String> {
        match n.arg(0) {
            Some(a) => Some(a.to_string()),
            None => {
                self.problem(n.loc, format!("`{}` needs a value", n.keyword()));
                None
            }
        }
    }

    fn int(&mut self, n: &Node) -> Option<i64> {
        let a = self.arg(n)?;
        match a.parse::<i64>() {
            Ok(v) if a.bytes().all(|b| b.is_ascii_digit()) => Some(v),
            _ => {
                self.problem(
                    n.loc,
                    format!("`{}`: expected a whole number, found {a:?}", n.keyword()),
                );
                None
            }
        }
    }

    /// keepalived's optional boolean argument: none means true.
    fn bool_opt(&mut self, n: &Node) -> Option<bool> {
        match n.arg(0) {
            None => Some(true),
            Some("true" | "on" | "yes") => Some(true),
            Some("false" | "off" | "no") => Some(false),
            Some(other) => {
                self.problem(
                    n.loc,
                    format!(
                        "`{}`: expected true/false, on/off or yes/no, found {other:?}",
                        n.keyword()
                    ),
                );
                None
            }
        }
    }

    /// Decimal seconds (`0.5`, `.456`).
    fn secs(&mut self, n: &Node) -> Option<Duration> {
        let a = self.arg(n)?;
        let d = parse_decimal_seconds(&a);
        if d.is_none() {
            self.problem(
                n.loc,
                format!(
                    "`{}`: expected seconds such as 1 or 0.5, found {a:?}",
                    n.keyword()
                ),
            );
        }
        d
    }

    /// Whole seconds, as keepalived reads the GARP delays.
    fn whole_secs(&mut self, n: &Node) -> Option<Duration> {
        self.int(n)
            .and_then(|s| u64::try_from(s).ok())
            .map(Duration::from_secs)
    }

    /// A GARP repeat count; keepalived turns 0 into 1.
    fn repeat(&mut self, n: &Node) -> Option<i64> {
        let v = self.int(n)?;
        if v == 0 {
            self.note(n.loc, n.keyword(), "0 written as 1, as keepalived does");
            return Some(1);
        }
        Some(v)
    }

    fn block<'n>(&mut self, n: &'n Node) -> Option<&'n [Node]> {
        match &n.block {
            Some(b) => Some(b),
            None => {
                self.problem(n.loc, format!("`{}` needs a {{ }} block", n.keyword()));
                None
            }
        }
    }

    // ---- top level

    fn top(&mut self, n: &Node) {
        let kw = n.keyword();
        match kw {
            "global_defs" => self.global_defs(n),
            "vrrp_instance" => self.instance(n),
            "vrrp_sync_group" => self.sync_group(n),
            "static_ipaddress" | "static_routes" | "static_rules" => self.unsupported(
                n.loc,
                kw,
                "not yet supported (Vigil does not manage static addresses, routes or rules; \
                 configure them with the system's network tools)",
            ),
            "vrrp_script" | "vrrp_track_file" | "vrrp_track_process" | "track_group"
            | "bfd_instance" => self.unsupported(n.loc, kw, PLANNED_TRACKING),
            "virtual_server" | "virtual_server_group" => self.unsupported(n.loc, kw, PLANNED_LVS),
            _ => self.unsupported(n.loc, kw, NOT_YET),
        }
    }

    fn global_defs(&mut self, n: &Node) {
        let Some(block) = self.block(n) else { return };
        self.global.blocks.push(n.loc);
        for c in block {
            let kw = c.keyword();
            let loc = c.loc;
            match kw {
                "router_id" => {
                    if let Some(a) = self.arg(c) {
                        self.global.entries.set("router_id", q(&a), loc, None);
                    }
                }
                "vrrp_version" => match self.int(c) {
                    Some(v @ (2 | 3)) => {
                        self.global.vrrp_version = if v == 2 { 2 } else { 3 };
                        self.global
                            .entries
                            .set("vrrp_version", v.to_string(), loc, None);
                    }
                    Some(v) => self.problem(loc, format!("`vrrp_version`: {v} is not 2 or 3")),
                    None => {}
                },
                "vrrp_garp_master_delay" => {
                    if let Some(d) = self.whole_secs(c) {
                        self.global
                            .entries
                            .set("garp_master_delay", qd(d), loc, None);
                    }
                }
                "vrrp_garp_master_repeat" => {
                    if let Some(v) = self.repeat(c) {
                        self.global
                            .entries
                            .set("garp_master_repeat", v.to_string(), loc, None);
                    }
                }
                "vrrp_garp_master_refresh" => {
                    if let Some(d) = self.whole_secs(c) {
                        self.global
                            .entries
                            .set("garp_master_refresh", qd(d), loc, None);
                    }
                }
                "vrrp_garp_master_refresh_repeat" => {
                    if let Some(v) = self.repeat(c) {
                        let v = v.to_string();
                        self.global
                            .entries
                            .set("garp_master_refresh_repeat", v, loc, None);
                    }
                }
                "vrrp_garp_interval" => {
                    if let Some(d) = self.secs(c) {
                        self.global.entries.set("garp_interval", qd(d), loc, None);
                    }
                }
                "vrrp_gna_interval" => {
                    if let Some(d) = self.secs(c) {
                        self.global.entries.set("gna_interval", qd(d), loc, None);
                    }
                }
                "vrrp_lower_prio_no_advert" => {
                    if let Some(b) = self.bool_opt(c) {
                        self.global
                            .entries
                            .set("lower_prio_no_advert", b.to_string(), loc, None);
                    }
                }
                "v3_checksum_as_v2" => {
                    self.global
                        .entries
                        .set("v3_checksum_as_v2", "true".into(), loc, None);
                }
                "vrrp_check_unicast_src" => {
                    self.global.check_unicast_src = true;
                    self.global
                        .entries
                        .set("check_unicast_src", "true".into(), loc, None);
                }
                "vrrp_skip_check_adv_addr" => {
                    if let Some(b) = self.bool_opt(c) {
                        self.global.skip_check_adv_addr = Some((b, loc));
                    }
                }
                "vrrp_strict" => {
                    self.global.strict = true;
                    self.unsupported(loc, kw, STRICT_NOTE);
                }
                "vrrp_script" | "enable_script_security" | "script_user" => {
                    self.unsupported(loc, kw, PLANNED_TRACKING)
                }
                "vrrp_notify_fifo"
                | "vrrp_notify_fifo_script"
                | "notify_fifo"
                | "notify_fifo_script"
                | "notification_email"
                | "notification_email_from"
                | "smtp_server"
                | "smtp_connect_timeout"
                | "smtp_alert"
                | "smtp_helo" => self.unsupported(loc, kw, PLANNED_NOTIFY),
                k if k.starts_with("lvs_") || k.starts_with("checker_") => {
                    self.unsupported(loc, kw, PLANNED_LVS)
                }
                _ => self.unsupported(loc, kw, NOT_YET),
            }
        }
    }

    fn instance(&mut self, n: &Node) {
        let (Some(name), 2) = (n.arg(0), n.words.len()) else {
            self.problem(n.loc, "`vrrp_instance` needs exactly one name");
            return;
        };
        let Some(block) = self.block(n) else { return };
        let mut i = Inst {
            name: name.to_string(),
            loc: n.loc,
            master: None,
            interface: None,
            vrid: None,
            priority: None,
            advert: None,
            version: None,
            nopreempt: None,
            preempt_delay: None,
            accept: None,
            auth_type: None,
            auth_pass: None,
            auth_loc: None,
            vips: Vec::new(),
            source: None,
            peers: Vec::new(),
            peer_min_ttl: Vec::new(),
            use_vmac: None,
            vmac_xmit_base: None,
            garp: Entries::default(),
            lower_prio_no_advert: None,
            skip_check_adv_addr: None,
            check_unicast_src: None,
            v3_checksum_as_v2: None,
            strict: None,
        };
        for c in block {
            self.instance_keyword(&mut i, c);
        }
        let has = |k: &str| block.iter().any(|c| c.keyword() == k);
        if !has("interface") {
            self.problem(
                n.loc,
                format!(
                    "vrrp_instance {name}: no `interface` (Vigil needs one for every instance)"
                ),
            );
        }
        if !has("virtual_router_id") {
            self.problem(
                n.loc,
                format!("vrrp_instance {name}: no `virtual_router_id`"),
            );
        }
        self.instances.push(i);
    }

    fn instance_keyword(&mut self, i: &mut Inst, c: &Node) {
        let kw = c.keyword();
        let loc = c.loc;
        match kw {
            "state" => match self.arg(c).as_deref() {
                Some("MASTER") => i.master = Some((true, loc)),
                Some("BACKUP") => i.master = Some((false, loc)),
                Some(other) => self.problem(
                    loc,
                    format!(
                        "`state`: {other:?} is not MASTER or BACKUP (keepalived would run it as BACKUP)"
                    ),
                ),
                None => {}
            },
            "interface" => i.interface = self.arg(c).map(|a| (a, loc)),
            "virtual_router_id" => i.vrid = self.int(c).map(|v| (v, loc)),
            "priority" => i.priority = self.int(c).map(|v| (v, loc)),
            "advert_int" => {
                if let Some(d) = self.secs(c) {
                    if d < Duration::from_millis(10) || d > Duration::from_secs(255) {
                        self.problem(loc, "`advert_int` must be from 0.01 to 255 seconds");
                    } else {
                        i.advert = Some((d, loc));
                    }
                }
            }
            "version" => match self.int(c) {
                Some(v @ (2 | 3)) => i.version = Some((if v == 2 { 2 } else { 3 }, loc)),
                Some(v) => self.problem(loc, format!("`version`: {v} is not 2 or 3")),
                None => {}
            },
            "nopreempt" => i.nopreempt = Some((true, loc)),
            "preempt" => i.nopreempt = Some((false, loc)),
            "preempt_delay" => i.preempt_delay = self.secs(c).map(|d| (d, loc)),
            "accept" => i.accept = Some((true, loc)),
            "no_accept" => i.accept = Some((false, loc)),
            "authentication" => {
                let Some(block) = self.block(c) else { return };
                i.auth_loc = Some(loc);
                for a in block {
                    match a.keyword() {
                        "auth_type" => i.auth_type = self.arg(a).map(|v| (v, a.loc)),
                        "auth_pass" => i.auth_pass = self.arg(a).map(|v| (v, a.loc)),
                        other => self.unsupported(a.loc, other, NOT_YET),
                    }
                }
            }
            "virtual_ipaddress" => {
                let Some(block) = self.block(c) else { return };
                for a in block {
                    if let Some(v) = self.vip(a) {
                        i.vips.push(v);
                    }
                }
            }
            "virtual_ipaddress_excluded" => {
                let count = c.block.as_ref().map_or(0, Vec::len);
                self.unsupported(
                    loc,
                    kw,
                    format!(
                        "not yet supported: {count} excluded address(es) (added on the master \
                         but not advertised) were not converted; adding them to \
                         virtual_addresses would change the adverts keepalived peers check"
                    ),
                );
            }
            "unicast_src_ip" | "mcast_src_ip" => i.source = self.arg(c).map(|a| (a, loc)),
            "unicast_peer" => {
                let Some(block) = self.block(c) else { return };
                for p in block {
                    self.peer(i, p);
                }
            }
            "use_vmac" => {
                let mut name = None;
                for a in c.words.iter().skip(1) {
                    if a.contains(':') {
                        self.unsupported(loc, "use_vmac", format!("MAC address {a}: not yet supported"));
                    } else {
                        name = Some(a.clone());
                    }
                }
                i.use_vmac = Some((name, loc));
            }
            "vmac_xmit_base" => i.vmac_xmit_base = Some(loc),
            "garp_master_delay" => {
                if let Some(d) = self.whole_secs(c) {
                    i.garp.set("garp_master_delay", qd(d), loc, None);
                }
            }
            "garp_master_repeat" => {
                if let Some(v) = self.repeat(c) {
                    i.garp.set("garp_master_repeat", v.to_string(), loc, None);
                }
            }
            "garp_master_refresh" => {
                if let Some(d) = self.whole_secs(c) {
                    i.garp.set("garp_master_refresh", qd(d), loc, None);
                }
            }
            "garp_master_refresh_repeat" => {
                if let Some(v) = self.repeat(c) {
                    i.garp.set("garp_master_refresh_repeat", v.to_string(), loc, None);
                }
            }
            "lower_prio_no_advert" => i.lower_prio_no_advert = self.bool_opt(c).map(|b| (b, loc)),
            "skip_check_adv_addr" => i.skip_check_adv_addr = self.bool_opt(c).map(|b| (b, loc)),
            "check_unicast_src" => i.check_unicast_src = Some(loc),
            "v3_checksum_as_v2" => i.v3_checksum_as_v2 = self.bool_opt(c).map(|b| (b, loc)),
            "unicast_ttl" => match self.int(c) {
                Some(255) => self.note(loc, kw, "Vigil sends every advert with TTL 255, as this asks"),
                Some(_) => self.unsupported(loc, kw, "not yet supported (Vigil sends every advert with TTL 255)"),
                None => {}
            },
            "strict_mode" => {
                if self.bool_opt(c) == Some(true) {
                    i.strict = Some(loc);
                    self.unsupported(loc, kw, STRICT_NOTE);
                }
            }
            "track_interface" | "track_script" | "track_file" | "track_process" | "track_bfd"
            | "dont_track_primary" => self.unsupported(loc, kw, PLANNED_TRACKING),
            k if k.starts_with("notify") || k == "smtp_alert" => {
                self.unsupported(loc, kw, PLANNED_NOTIFY)
            }
            "lvs_sync_daemon_interface" => self.unsupported(loc, kw, PLANNED_LVS),
            _ => self.unsupported(loc, kw, NOT_YET),
        }
    }

    /// One line of `virtual_ipaddress`: `ADDR[/LEN] [dev X] [label Y] [scope S] ...`.
    fn vip(&mut self, n: &Node) -> Option<Vip> {
        let text = n.keyword().to_string();
        let addr = text
            .split('/')
            .next()
            .and_then(|a| a.parse::<IpAddr>().ok());
        let mut v = Vip {
            text,
            loc: n.loc,
            addr,
            dev: None,
            label: None,
            scope: None,
            dad: false,
        };
        let words = &n.words;
        let mut k = 1;
        while let Some(opt) = words.get(k) {
            let opt = opt.as_str();
            let takes_value = matches!(
                opt,
                "dev" | "scope" | "label" | "brd" | "broadcast" | "peer" | "preferred_lft"
            );
            if takes_value {
                let Some(value) = words.get(k + 1).cloned() else {
                    self.problem(n.loc, format!("address option `{opt}` needs a value"));
                    return None;
                };
                match opt {
                    "dev" => v.dev = Some(value),
                    "label" => v.label = Some(value),
                    "scope" => v.scope = Some(scope_name(&value)),
                    "brd" | "broadcast" => self.unsupported(
                        n.loc,
                        opt,
                        "not yet supported (Vigil adds virtual addresses without a broadcast address)",
                    ),
                    _ => self.unsupported(n.loc, opt, format!("address option: {NOT_YET}")),
                }
                k += 2;
                continue;
            }
            match opt {
                "-nodad" => {
                    if v.addr.is_some_and(|a| a.is_ipv6()) {
                        v.dad = true;
                    } else {
                        self.note(n.loc, opt, "IPv4 has no DAD; nothing to convert");
                    }
                }
                "home" | "mngtmpaddr" | "noprefixroute" | "autojoin" | "no_track" | "use_vmac" => {
                    self.unsupported(n.loc, opt, format!("address option: {NOT_YET}"))
                }
                _ => self.unsupported(
                    n.loc,
                    opt,
                    "unknown address option (keepalived ignores it too)",
                ),
            }
            k += 1;
        }
        Some(v)
    }

    /// One line of `unicast_peer`: `ADDR [min_ttl N] [max_ttl N]`.
    fn peer(&mut self, i: &mut Inst, n: &Node) {
        i.peers.push((n.keyword().to_string(), n.loc));
        let mut k = 1;
        while let Some(opt) = n.words.get(k) {
            let value = n.words.get(k + 1);
            match (opt.as_str(), value) {
                ("min_ttl", Some(v)) => match v.parse::<i64>() {
                    Ok(t) => i.peer_min_ttl.push((t, n.loc)),
                    Err(_) => {
                        self.problem(n.loc, format!("`min_ttl`: expected a number, found {v:?}"))
                    }
                },
                ("max_ttl", Some(_)) => {
                    self.unsupported(n.loc, "max_ttl", "not yet supported (unicast_peer option)")
                }
                (o, _) => self.unsupported(n.loc, o, "unknown unicast_peer option"),
            }
            k += 2;
        }
    }

    fn sync_group(&mut self, n: &Node) {
        let (Some(name), 2) = (n.arg(0), n.words.len()) else {
            self.problem(n.loc, "`vrrp_sync_group` needs exactly one name");
            return;
        };
        let Some(block) = self.block(n) else { return };
        let mut g = Group {
            name: name.to_string(),
            loc: n.loc,
            members: Vec::new(),
        };
        for c in block {
            let kw = c.keyword();
            match kw {
                "group" => {
                    let Some(members) = self.block(c) else {
                        continue;
                    };
                    for m in members {
                        g.members.extend(m.words.iter().map(|w| (w.clone(), m.loc)));
                    }
                }
                k if k.starts_with("notify") || k == "smtp_alert" => {
                    self.unsupported(c.loc, kw, PLANNED_NOTIFY)
                }
                k if k.starts_with("track_")
                    || k == "global_tracking"
                    || k == "sync_group_tracking_weight" =>
                {
                    self.unsupported(c.loc, kw, PLANNED_TRACKING)
                }
                _ => self.unsupported(c.loc, kw, NOT_YET),
            }
        }
        if g.members.is_empty() {
            self.problem(
                n.loc,
                format!("vrrp_sync_group {name}: no `group {{ ... }}` block naming its instances"),
            );
        }
        self.groups.push(g);
    }

    // ---- output

    fn emit(&mut self) -> Out {
        let mut o = Out::default();
        o.line(
            "# Vigil configuration converted from keepalived by `vigil import`.",
            None,
        );
        if let Some(top) = self.files.first() {
            o.line(
                &format!("# Source: {}", comment_safe(&top.display().to_string())),
                None,
            );
        }
        o.line(
            "# Each block names the keepalived lines it came from; keywords that were not",
            None,
        );
        o.line("# converted are listed at the end.", None);
        o.line("", None);

        let from = if self.global.blocks.is_empty() {
            "keepalived defaults".to_string()
        } else {
            let locs: Vec<String> = self.global.blocks.iter().map(|l| self.at(*l)).collect();
            format!("global_defs at {}", locs.join(", "))
        };
        o.line(&format!("# {}", comment_safe(&from)), None);
        o.line("[global]", self.global.blocks.first().copied());
        if !self.global.check_unicast_src {
            let loc = self
                .global
                .blocks
                .first()
                .copied()
                .unwrap_or(Loc { file: 0, line: 1 });
            self.global.entries.set(
                "check_unicast_src",
                "false".into(),
                loc,
                Some("keepalived's default; Vigil's is true".into()),
            );
        }
        for e in &self.global.entries.0 {
            o.kv(e);
        }

        let instances = std::mem::take(&mut self.instances);
        for i in &instances {
            self.emit_instance(&mut o, i);
        }
        self.instances = instances;

        for g in &self.groups {
            o.line("", None);
            o.line(
                &format!(
                    "# vrrp_sync_group {} at {}",
                    comment_safe(&g.name),
                    comment_safe(&self.at(g.loc))
                ),
                None,
            );
            o.line("[[sync_group]]", Some(g.loc));
            o.line(&format!("name = {}", q(&g.name)), Some(g.loc));
            o.line("instances = [", Some(g.loc));
            for (m, loc) in &g.members {
                o.line(&format!("  {},", q(m)), Some(*loc));
            }
            o.line("]", Some(g.loc));
        }

        if !self.unsupported.is_empty() {
            o.line("", None);
            o.line("# Not converted:", None);
            let lines: Vec<String> = self
                .unsupported
                .iter()
                .map(|u| {
                    let loc = self.files.iter().position(|f| *f == u.file).map_or_else(
                        || u.file.display().to_string(),
                        |file| self.at(Loc { file, line: u.line }),
                    );
                    format!("#   {loc}: {}: {}", u.keyword, u.note)
                })
                .collect();
            for l in lines {
                o.line(&comment_safe(&l), None);
            }
        }
        o
    }

    fn emit_instance(&mut self, o: &mut Out, i: &Inst) {
        let g_strict = self.global.strict;
        let strict = g_strict || i.strict.is_some();
        let family_v6 = i
            .vips
            .iter()
            .find_map(|v| v.addr)
            .or_else(|| {
                i.source
                    .as_ref()
                    .and_then(|(s, _)| s.parse::<IpAddr>().ok())
            })
            .or_else(|| i.peers.iter().find_map(|(p, _)| p.parse::<IpAddr>().ok()))
            .is_some_and(|a| a.is_ipv6());

        let mut e = Entries::default();
        e.set("name", q(&i.name), i.loc, None);
        if let Some((iface, loc)) = &i.interface {
            e.set("interface", q(iface), *loc, None);
        }
        if let Some((vrid, loc)) = &i.vrid {
            e.set("vrid", vrid.to_string(), *loc, None);
        }

        // State and priority derive from each other when one is missing.
        let master = i.master.as_ref().map(|(m, _)| *m);
        let priority = match &i.priority {
            Some((p, loc)) => {
                e.set("priority", p.to_string(), *loc, None);
                *p
            }
            None if master == Some(true) => {
                let loc = i.master.as_ref().map_or(i.loc, |(_, l)| *l);
                self.note(
                    loc,
                    "priority",
                    "none given with state MASTER: keepalived uses 255 (address owner)",
                );
                e.set(
                    "priority",
                    "255".into(),
                    loc,
                    Some("keepalived: state MASTER without priority".into()),
                );
                255
            }
            None => {
                e.set(
                    "priority",
                    "100".into(),
                    i.loc,
                    Some("keepalived's default".into()),
                );
                100
            }
        };
        let master = match master {
            Some(m) if strict && m != (priority == 255) => {
                let loc = i.master.as_ref().map_or(i.loc, |(_, l)| *l);
                self.note(
                    loc,
                    "state",
                    "strict mode: keepalived starts as MASTER exactly when priority is 255",
                );
                priority == 255
            }
            Some(m) => m,
            None if priority == 255 => {
                self.note(
                    i.loc,
                    "state",
                    "none given with priority 255: keepalived starts as MASTER",
                );
                true
            }
            None => false,
        };
        if strict && !i.peers.is_empty() {
            self.problem(
                i.peers[0].1,
                "unicast peers are not allowed with strict mode (keepalived rejects this instance)",
            );
        }

        // Version: explicit, else IPv6 forces 3, else the global default.
        let version = match &i.version {
            Some((v, loc)) => {
                if *v == 2 && family_v6 && strict {
                    self.note(
                        *loc,
                        "version",
                        "VRRPv2 cannot carry IPv6: keepalived (strict) uses 3",
                    );
                    e.set(
                        "version",
                        "3".into(),
                        *loc,
                        Some("keepalived forces v3 for IPv6".into()),
                    );
                    3
                } else {
                    e.set("version", v.to_string(), *loc, None);
                    *v
                }
            }
            None if family_v6 => {
                if self.global.vrrp_version != 3 {
                    e.set(
                        "version",
                        "3".into(),
                        i.loc,
                        Some("keepalived uses v3 for IPv6".into()),
                    );
                }
                3
            }
            None => self.global.vrrp_version,
        };

        if let Some((d, loc)) = &i.advert {
            let adjusted = adjust_interval(*d, version);
            if adjusted != *d {
                self.note(
                    *loc,
                    "advert_int",
                    format!(
                        "{} is not representable in VRRPv{version}: keepalived uses {}",
                        format_duration(*d),
                        format_duration(adjusted)
                    ),
                );
            }
            e.set("advert_interval", qd(adjusted), *loc, None);
        }
        if master {
            let loc = i.master.as_ref().map_or(i.loc, |(_, l)| *l);
            e.set("state", q("master"), loc, None);
        }

        let mut nopreempt = i.nopreempt.as_ref().is_some_and(|(n, _)| *n);
        if let Some((true, loc)) = &i.nopreempt {
            if priority == 255 {
                self.note(
                    *loc,
                    "nopreempt",
                    "ignored with priority 255, as keepalived does",
                );
                nopreempt = false;
            } else if master {
                self.note(
                    *loc,
                    "nopreempt",
                    "ignored with state MASTER, as keepalived does",
                );
                nopreempt = false;
            } else {
                e.set("preempt", "false".into(), *loc, None);
            }
        }
        if let Some((d, loc)) = &i.preempt_delay {
            let why = if master {
                Some("state MASTER")
            } else if nopreempt {
                Some("nopreempt")
            } else if strict {
                Some("strict mode")
            } else {
                None
            };
            match why {
                Some(w) if !d.is_zero() => self.note(
                    *loc,
                    "preempt_delay",
                    format!("ignored with {w}, as keepalived does"),
                ),
                _ => e.set("preempt_delay", qd(*d), *loc, None),
            }
        }

        match &i.accept {
            Some((a, loc)) => {
                if *a && strict && version == 2 && priority != 255 {
                    self.note(
                        *loc,
                        "accept",
                        "VRRPv2 in strict mode: keepalived turns accept off",
                    );
                    e.set("accept", "false".into(), *loc, None);
                } else {
                    e.set("accept", a.to_string(), *loc, None);
                }
            }
            // keepalived accepts unless strict (or always, for the owner), as Vigil does by
            // default; under vrrp_strict it does not.
            None if priority == 255 || !strict => e.set("accept", "true".into(), i.loc, None),
            None => e.set(
                "accept",
                "false".into(),
                i.loc,
                Some("vrrp_strict: keepalived does not accept traffic to the addresses".into()),
            ),
        }

        if let Some(aloc) = i.auth_loc {
            self.emit_auth(&mut e, i, aloc, version, strict);
        }

        let vips_at = e.0.len();
        if let Some((s, loc)) = &i.source {
            e.set("unicast_source", q(s), *loc, None);
        }
        self.emit_peer_ttl(&mut e, i);
        if let Some((name, loc)) = &i.use_vmac {
            let v = name.as_ref().map_or_else(|| "true".to_string(), |n| q(n));
            e.set("use_vmac", v, *loc, None);
        }
        if let Some(loc) = i.vmac_xmit_base {
            if i.use_vmac.is_some() {
                e.set("vmac_xmit_base", "true".into(), loc, None);
            } else {
                self.note(
                    loc,
                    "vmac_xmit_base",
                    "ignored without use_vmac, as keepalived does",
                );
            }
        }
        let skip = i.skip_check_adv_addr.or(self.global.skip_check_adv_addr);
        if let Some((true, loc)) = skip {
            e.set("check_addresses", "false".into(), loc, None);
        }
        if let Some(loc) = i.check_unicast_src {
            e.set("check_unicast_src", "true".into(), loc, None);
        }
        for g in &i.garp.0 {
            e.set(&g.key, g.value.clone(), g.loc, g.comment.clone());
        }
        match &i.lower_prio_no_advert {
            Some((b, loc)) => {
                let b = *b || strict;
                e.set("lower_prio_no_advert", b.to_string(), *loc, None);
            }
            None if strict => {
                let loc = i.strict.unwrap_or(i.loc);
                e.set(
                    "lower_prio_no_advert",
                    "true".into(),
                    loc,
                    Some("strict mode".into()),
                );
            }
            None => {}
        }
        if let Some((b, loc)) = &i.v3_checksum_as_v2 {
            e.set("v3_checksum_as_v2", b.to_string(), *loc, None);
        }

        o.line("", None);
        o.line(
            &format!(
                "# vrrp_instance {} at {}",
                comment_safe(&i.name),
                comment_safe(&self.at(i.loc))
            ),
            None,
        );
        o.line("[[instance]]", Some(i.loc));
        for (n, entry) in e.0.iter().enumerate() {
            if n == vips_at {
                self.emit_lists(o, i);
            }
            o.kv(entry);
        }
        if vips_at >= e.0.len() {
            self.emit_lists(o, i);
        }
    }

    /// Arrays with one element per line, so errors map to the right line.
    fn emit_lists(&self, o: &mut Out, i: &Inst) {
        if !i.vips.is_empty() {
            o.line("virtual_addresses = [", i.vips.first().map(|v| v.loc));
            for v in &i.vips {
                o.line(&format!("  {},", vip_toml(v)), Some(v.loc));
            }
            o.line("]", i.vips.last().map(|v| v.loc));
        }
        if !i.peers.is_empty() {
            o.line("unicast_peers = [", i.peers.first().map(|p| p.1));
            for (p, loc) in &i.peers {
                o.line(&format!("  {},", q(p)), Some(*loc));
            }
            o.line("]", i.peers.last().map(|p| p.1));
        }
    }

    fn emit_peer_ttl(&mut self, e: &mut Entries, i: &Inst) {
        let Some((first, loc)) = i.peer_min_ttl.first().copied() else {
            return;
        };
        if i.peer_min_ttl.len() == i.peers.len() && i.peer_min_ttl.iter().all(|(t, _)| *t == first)
        {
            e.set("unicast_min_ttl", first.to_string(), loc, None);
        } else {
            for (_, l) in &i.peer_min_ttl {
                self.unsupported(
                    *l,
                    "min_ttl",
                    "not yet supported: differing per-peer min_ttl (Vigil has one unicast_min_ttl per instance)",
                );
            }
        }
    }

    fn emit_auth(&mut self, e: &mut Entries, i: &Inst, aloc: Loc, version: u8, strict: bool) {
        let kind = i.auth_type.as_ref().map(|(k, _)| k.as_str());
        let drop_because = if strict {
            Some("strict mode has no authentication")
        } else if version == 3 {
            Some("VRRPv3 has no authentication")
        } else if kind == Some("PASS") && i.auth_pass.as_ref().is_none_or(|(p, _)| p.is_empty()) {
            Some("no auth_pass is given")
        } else {
            None
        };
        if let Some(why) = drop_because {
            self.note(
                aloc,
                "authentication",
                format!("dropped: {why}; keepalived ignores it too"),
            );
            return;
        }
        match (kind, &i.auth_type) {
            (Some("PASS"), Some(_)) => {
                let Some((pass, ploc)) = &i.auth_pass else {
                    return;
                };
                let mut p = pass.clone();
                if p.len() > 8 {
                    let mut cut = 8;
                    while !p.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    p.truncate(cut);
                    self.note(
                        *ploc,
                        "auth_pass",
                        format!("longer than 8 bytes: keepalived uses only the first 8, written as {p:?}"),
                    );
                }
                let v = format!("{{ type = \"pass\", password = {} }}", q(&p));
                e.set("authentication", v, *ploc, None);
            }
            (Some("AH"), Some((_, tloc))) => {
                e.set("authentication", "{ type = \"ah\" }".into(), *tloc, None);
            }
            (Some(other), Some((_, tloc))) => {
                let m = format!("`auth_type`: {other:?} is not PASS or AH");
                self.problem(*tloc, m);
            }
            _ => self.problem(aloc, "`authentication` without `auth_type`"),
        }
    }
}

const STRICT_NOTE: &str = "not yet supported as a mode; its effects on accept, \
    lower_prio_no_advert, preempt_delay and authentication are converted";

/// keepalived's rounding of an advert interval the version cannot carry.
fn adjust_interval(d: Duration, version: u8) -> Duration {
    let ns = as_nanos(d);
    let unit: u64 = if version == 2 {
        1_000_000_000
    } else {
        10_000_000
    };
    let max: u64 = if version == 2 { 255 } else { 4095 };
    let mut units = (ns + unit / 2) / unit;
    units = units.clamp(1, max);
    Duration::from_nanos(units * unit)
}

/// Scope numbers keepalived accepts, as names.
fn scope_name(s: &str) -> String {
    match s {
        "0" => "global",
        "200" => "site",
        "253" => "link",
        "254" => "host",
        "255" => "nowhere",
        other => other,
    }
    .to_string()
}

fn qd(d: Duration) -> String {
    q(&format_duration(d))
}

fn vip_toml(v: &Vip) -> String {
    if v.dev.is_none() && v.label.is_none() && v.scope.is_none() && !v.dad {
        return q(&v.text);
    }
    let mut parts = vec![format!("address = {}", q(&v.text))];
    if let Some(d) = &v.dev {
        parts.push(format!("dev = {}", q(d)));
    }
    if let Some(l) = &v.label {
        parts.push(format!("label = {}", q(l)));
    }
    if let Some(s) = &v.scope {
        parts.push(format!("scope = {}", q(s)));
    }
    if v.dad {
        parts.push("no_dad = false".into());
    }
    format!("{{ {} }}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_rounding_matches_keepalived() {
        let ms = Duration::from_millis;
        assert_eq!(adjust_interval(ms(1000), 2), ms(1000));
        assert_eq!(adjust_interval(ms(1500), 2), ms(2000));
        assert_eq!(adjust_interval(ms(1400), 2), ms(1000));
        assert_eq!(adjust_interval(ms(100), 2), ms(1000));
        assert_eq!(adjust_interval(ms(15), 3), ms(20));
        assert_eq!(adjust_interval(ms(100), 3), ms(100));
        assert_eq!(adjust_interval(ms(60_000), 3), ms(40_950));
    }
}

//! The `vigil` daemon against keepalived, in the same run, in private network-namespace labs.
//!
//! ```sh
//! sudo cargo bench -p vigil --bench daemon                      # everything (~10 min)
//! sudo cargo bench -p vigil --bench daemon -- takeover --runs 7
//! sudo cargo bench -p vigil --bench daemon -- idle stability --duration 30
//! ```
//!
//! Scenarios (positional; default all three):
//!
//! * `takeover`: two nodes of one implementation (priorities 150/100), the master SIGKILLed at a
//!   random phase of its advert cycle (keepalived: [`Keepalived::kill9`], which kills the VRRP
//!   child). tshark on the lab bridge gives the kill instant → the new master's first advert, and
//!   the wire gap (old master's last advert → new master's first), which must equal the backup's
//!   Master_Down_Interval. A fresh lab per run; Vigil and keepalived runs alternate.
//! * `idle`: CPU (utime+stime from /proc/PID/stat, and on-CPU time from
//!   /proc/PID/task/*/schedstat) and VmRSS of both nodes over a window after settling, with 1 and
//!   with N instances at 100 ms adverts (default 250: IPv4 only, and 500: IPv4 + IPv6).
//! * `stability`: N (default 100) instances at 10 ms adverts, both cores saturated by two busy
//!   loops for `--duration` seconds; spurious transitions counted from the logs. Vigil plain and
//!   with `--realtime 10`; keepalived plain and with `vrrp_rt_priority 10`.
//!
//! Options: `--runs N` (takeover runs per row, default 5), `--takeover-configs
//! v2-1s,v3-100ms,v3-10ms`, `--instances N,M` (idle, default 250,500; at most 500; 1 is always measured), `--window S`
//! (idle, default 10), `--idle-runs N` (idle repetitions, median reported, default 1), `--settle S` (idle, default 6), `--stability-instances N` (default 100,
//! at most 250), `--duration S` (stability, default 60), `--only vigil|keepalived`, `--no-rt`
//! (stability without the realtime variants), `--keep` (keep each lab's directory: configs,
//! logs, pcaps), `--strace` (idle: after the window, `strace -c -f` the master's VRRP process for
//! 5 s and print the syscall summary; it slows the process, so it is not part of the figures),
//! `--no-capture` (stability: no tshark on the backup's eth0; by default it records VRID 1 there
//! and reports the gaps between the master's adverts as the backup's interface received them).
//!
//! Needs root, keepalived and tshark; otherwise prints `skipped: ...` and exits 0. Nothing
//! touches this machine's network: everything runs inside the lab's namespaces, with
//! documentation addresses only.

use std::collections::hash_map::RandomState;
use std::collections::BTreeSet;
use std::error::Error;
use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use vigil_lab::{Capture, Host, Keepalived, KeepalivedConfig, Lab, Process, Signal, VrrpVersion};

/// The binary under test (built by cargo for this bench, in the bench profile).
const VIGIL: &str = env!("CARGO_BIN_EXE_vigil");

type R<T> = Result<T, Box<dyn Error>>;

fn fail<T>(msg: impl Into<String>) -> R<T> {
    Err(msg.into().into())
}

// ---------------------------------------------------------------------------------------------
// Command line.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Imp {
    Vigil,
    Keepalived,
}

impl Imp {
    fn name(self) -> &'static str {
        match self {
            Imp::Vigil => "Vigil",
            Imp::Keepalived => "keepalived",
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Proto {
    version: u8,
    advert: Duration,
}

impl Proto {
    fn label(self) -> String {
        format!("VRRPv{} {}", self.version, fmt_interval(self.advert))
    }
}

#[derive(Debug)]
struct Args {
    takeover: bool,
    idle: bool,
    stability: bool,
    runs: usize,
    takeover_configs: Vec<Proto>,
    instances: Vec<usize>,
    window: Duration,
    idle_runs: usize,
    settle: Duration,
    stability_instances: usize,
    duration: Duration,
    impls: Vec<Imp>,
    realtime_variants: bool,
    keep: bool,
    strace: bool,
    capture: bool,
}

fn parse_proto(s: &str) -> R<Proto> {
    let (v, adv) = s
        .split_once('-')
        .ok_or_else(|| format!("takeover config {s:?}: want e.g. v3-100ms"))?;
    let version = match v {
        "v2" => 2,
        "v3" => 3,
        _ => return fail(format!("takeover config {s:?}: version v2 or v3")),
    };
    let advert = if let Some(n) = adv.strip_suffix("ms") {
        Duration::from_millis(n.parse()?)
    } else if let Some(n) = adv.strip_suffix('s') {
        Duration::from_secs(n.parse()?)
    } else {
        return fail(format!("takeover config {s:?}: interval like 1s or 100ms"));
    };
    Ok(Proto { version, advert })
}

fn parse_args() -> R<Args> {
    let mut a = Args {
        takeover: false,
        idle: false,
        stability: false,
        runs: 5,
        takeover_configs: vec![
            Proto {
                version: 2,
                advert: Duration::from_secs(1),
            },
            Proto {
                version: 3,
                advert: Duration::from_millis(100),
            },
            Proto {
                version: 3,
                advert: Duration::from_millis(10),
            },
        ],
        instances: vec![250, 500],
        window: Duration::from_secs(10),
        idle_runs: 1,
        settle: Duration::from_secs(6),
        stability_instances: 100,
        duration: Duration::from_secs(60),
        impls: vec![Imp::Vigil, Imp::Keepalived],
        realtime_variants: true,
        keep: false,
        strace: false,
        capture: true,
    };
    let mut it = std::env::args().skip(1);
    let mut any = false;
    while let Some(arg) = it.next() {
        let mut val = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            // cargo bench passes --bench to harness = false targets.
            "--bench" => {}
            "takeover" => (a.takeover, any) = (true, true),
            "idle" => (a.idle, any) = (true, true),
            "stability" => (a.stability, any) = (true, true),
            "--runs" => a.runs = val("--runs")?.parse()?,
            "--takeover-configs" => {
                a.takeover_configs = val("--takeover-configs")?
                    .split(',')
                    .map(parse_proto)
                    .collect::<R<_>>()?;
            }
            "--instances" => {
                a.instances = val("--instances")?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?;
            }
            "--window" => a.window = Duration::from_secs(val("--window")?.parse()?),
            "--idle-runs" => a.idle_runs = val("--idle-runs")?.parse()?,
            "--settle" => a.settle = Duration::from_secs(val("--settle")?.parse()?),
            "--stability-instances" => {
                a.stability_instances = val("--stability-instances")?.parse()?;
            }
            "--duration" => a.duration = Duration::from_secs(val("--duration")?.parse()?),
            "--only" => {
                a.impls = match val("--only")?.as_str() {
                    "vigil" => vec![Imp::Vigil],
                    "keepalived" => vec![Imp::Keepalived],
                    o => return fail(format!("--only {o}: vigil or keepalived")),
                };
            }
            "--no-rt" => a.realtime_variants = false,
            "--keep" => a.keep = true,
            "--strace" => a.strace = true,
            "--no-capture" => a.capture = false,
            "-h" | "--help" => {
                println!(
                    "cargo bench -p vigil --bench daemon -- [takeover] [idle] [stability] [--runs N] \
                     [--takeover-configs v2-1s,v3-100ms,v3-10ms] [--instances N,M] [--window S] [--idle-runs N] \
                     [--settle S] [--stability-instances N] [--duration S] \
                     [--only vigil|keepalived] [--no-rt] [--keep] [--strace] [--no-capture]"
                );
                std::process::exit(0);
            }
            o => return fail(format!("unknown argument {o:?} (try --help)")),
        }
    }
    if !any {
        (a.takeover, a.idle, a.stability) = (true, true, true);
    }
    if a.instances.iter().any(|n| !(1..=500).contains(n)) {
        return fail("--instances: each 1..=500");
    }
    if !(1..=250).contains(&a.stability_instances) {
        return fail("--stability-instances: 1..=250");
    }
    if a.runs == 0 || a.idle_runs == 0 {
        return fail("--runs, --idle-runs: at least 1");
    }
    Ok(a)
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

fn fmt_interval(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// Skew_Time of a router of priority `prio` (RFC 3768 §6.1 / RFC 9568 §6.1).
fn skew(p: Proto, prio: u8) -> Duration {
    let base = if p.version == 2 {
        Duration::from_secs(1)
    } else {
        p.advert
    };
    base * (256 - u32::from(prio)) / 256
}

/// Master_Down_Interval of a router of priority `prio`.
fn mdi(p: Proto, prio: u8) -> Duration {
    p.advert * 3 + skew(p, prio)
}

/// Uniform in [0, 1), from std's randomly seeded hasher (no rand crate needed).
fn random_unit() -> f64 {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// CLOCK_REALTIME in seconds, as tshark's `frame.time_epoch`.
fn epoch_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn progress(msg: &str) {
    eprintln!("[{}] {msg}", loadavg());
}

/// Removes ANSI escape sequences (tracing-subscriber colours its fields).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// (min, median, max).
fn stats(v: &[f64]) -> Option<(f64, f64, f64)> {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(f64::total_cmp);
    let n = s.len();
    let med = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    Some((s[0], med, s[n - 1]))
}

fn triple(v: &[f64], scale: f64, decimals: usize) -> String {
    match stats(v) {
        Some((a, b, c)) => format!(
            "{:.d$} / {:.d$} / {:.d$}",
            a * scale,
            b * scale,
            c * scale,
            d = decimals
        ),
        None => "n/a".into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Instances and configurations.

#[derive(Clone, Debug)]
struct Inst {
    vrid: u8,
    vip: IpAddr,
    prefix: u8,
}

impl Inst {
    fn name(&self) -> String {
        let fam = if self.vip.is_ipv4() { 4 } else { 6 };
        format!("VI_{fam}_{}", self.vrid)
    }
}

/// `n` distinct (eth0, family, VRID) instances: IPv4 VRIDs 1..=250, then IPv6 VRIDs 1..=250.
/// IPv4 VIPs 192.0.2.101..=250 then 198.51.100.1..=100 (/32), IPv6 2001:db8::1:<vrid> (/128).
fn layout(n: usize) -> Vec<Inst> {
    (0..n.min(500))
        .map(|i| {
            let vrid = u8::try_from(i % 250 + 1).unwrap_or(1);
            if i < 250 {
                let vip = if vrid <= 150 {
                    Ipv4Addr::new(192, 0, 2, 100 + vrid)
                } else {
                    Ipv4Addr::new(198, 51, 100, vrid - 150)
                };
                Inst {
                    vrid,
                    vip: IpAddr::V4(vip),
                    prefix: 32,
                }
            } else {
                Inst {
                    vrid,
                    vip: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 1, u16::from(vrid))),
                    prefix: 128,
                }
            }
        })
        .collect()
}

fn vigil_config(socket: &Path, p: Proto, prio: u8, insts: &[Inst]) -> String {
    let mut s = format!(
        "# Written by core/daemon/benches/daemon.rs\n[global]\ncontrol_socket = {:?}\n",
        socket.display().to_string()
    );
    for i in insts {
        let _ = write!(
            s,
            "\n[[instance]]\nname = \"{}\"\ninterface = \"eth0\"\nvrid = {}\npriority = {prio}\n\
             version = {}\nadvert_interval = \"{}\"\nvirtual_addresses = [\"{}/{}\"]\n",
            i.name(),
            i.vrid,
            p.version,
            fmt_interval(p.advert),
            i.vip,
            i.prefix
        );
    }
    s
}

fn advert_int(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        (ms / 1000).to_string()
    } else {
        let f = format!("{:03}", ms % 1000);
        format!("{}.{}", ms / 1000, f.trim_end_matches('0'))
    }
}

fn keepalived_config(router_id: &str, p: Proto, prio: u8, insts: &[Inst], rt: bool) -> String {
    let sched = if rt {
        "    vrrp_rt_priority 10\n"
    } else {
        // No realtime scheduling (the default), said explicitly to silence the NOTICE.
        "    max_auto_priority -1\n"
    };
    let mut s = format!("global_defs {{\n    router_id {router_id}\n{sched}}}\n");
    for i in insts {
        let _ = write!(
            s,
            "\nvrrp_instance {} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {}\n    \
             priority {prio}\n    advert_int {}\n    version {}\n    virtual_ipaddress {{\n        {}/{}\n    }}\n}}\n",
            i.name(),
            i.vrid,
            advert_int(p.advert),
            p.version,
            i.vip,
            i.prefix
        );
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Nodes: a Vigil or a keepalived in a lab host.

#[derive(Debug)]
struct Node {
    imp: Imp,
    /// `vigil run`, or keepalived's parent.
    proc: Process,
    /// Set when started through [`Keepalived::start`] (single instance, takeover).
    ka: Option<Keepalived>,
    /// keepalived's `-r` pid file.
    vrrp_pid_file: Option<PathBuf>,
    /// Vigil's control socket.
    socket: Option<PathBuf>,
}

impl Node {
    /// Starts `imp` in `host` with `insts` at priority `prio`.
    fn start(host: &Host, imp: Imp, p: Proto, prio: u8, insts: &[Inst], rt: bool) -> R<Node> {
        let dir = host.lab_dir();
        match imp {
            Imp::Vigil => {
                let conf = dir.join(format!("vigil-{}.toml", host.name()));
                let socket = dir.join(format!("{}.sock", host.name()));
                std::fs::write(&conf, vigil_config(&socket, p, prio, insts))?;
                let mut args: Vec<String> = vec![
                    "run".into(),
                    "-c".into(),
                    conf.display().to_string(),
                    "--socket".into(),
                    socket.display().to_string(),
                ];
                // Real-time is Vigil's default; the plain variant turns it off.
                args.extend(["--realtime".into(), if rt { "10" } else { "0" }.into()]);
                let proc = host.spawn(VIGIL, args, format!("vigil-{}.log", host.name()))?;
                Ok(Node {
                    imp,
                    proc,
                    ka: None,
                    vrrp_pid_file: None,
                    socket: Some(socket),
                })
            }
            Imp::Keepalived if insts.len() == 1 && !rt => {
                let i = &insts[0];
                let cfg = KeepalivedConfig {
                    version: if p.version == 2 {
                        VrrpVersion::V2
                    } else {
                        VrrpVersion::V3
                    },
                    advert: p.advert,
                    ..KeepalivedConfig::new(i.vrid, prio, (i.vip, i.prefix))
                };
                let ka = Keepalived::start(host, &cfg)?;
                Ok(Node {
                    imp,
                    proc: ka.process().clone(),
                    ka: Some(ka),
                    vrrp_pid_file: None,
                    socket: None,
                })
            }
            Imp::Keepalived => {
                // Many instances (or global_defs the lab's KeepalivedConfig does not render):
                // our own config, started exactly as `Keepalived::start` does.
                let base = dir.join(format!("ka-{}", host.name()));
                let file = |ext: &str| PathBuf::from(format!("{}.{ext}", base.display()));
                let conf = file("conf");
                std::fs::write(&conf, keepalived_config(host.name(), p, prio, insts, rt))?;
                Keepalived::config_test(host, &conf)?;
                let mut args: Vec<String> = ["-n", "-l", "-D", "-G", "-P", "-f"]
                    .map(String::from)
                    .into();
                args.push(conf.display().to_string());
                for (flag, ext) in [
                    ("-p", "pid"),
                    ("-r", "vrrp.pid"),
                    ("-c", "chk.pid"),
                    ("-b", "bfd.pid"),
                ] {
                    args.push(flag.into());
                    args.push(file(ext).display().to_string());
                }
                let proc = host.spawn("keepalived", args, file("log"))?;
                Ok(Node {
                    imp,
                    proc,
                    ka: None,
                    vrrp_pid_file: Some(file("vrrp.pid")),
                    socket: None,
                })
            }
        }
    }

    /// keepalived's VRRP child (waits for its pid file).
    fn vrrp_child(&self) -> R<u32> {
        if let Some(ka) = &self.ka {
            return Ok(ka.vrrp_pid(Duration::from_secs(5))?);
        }
        let Some(f) = &self.vrrp_pid_file else {
            return fail("not a keepalived");
        };
        let parent = self.proc.pid();
        Ok(vigil_lab::wait_until(
            Duration::from_secs(10),
            "keepalived's VRRP child",
            || {
                Ok(std::fs::read_to_string(f)
                    .ok()
                    .and_then(|s| s.trim().parse::<u32>().ok())
                    .filter(|&p| parent_of(p) == Some(parent)))
            },
        )?)
    }

    /// The processes to account: ("vigil", pid) or ("parent", pid), ("VRRP child", pid).
    fn pids(&self) -> R<Vec<(&'static str, u32)>> {
        Ok(match self.imp {
            Imp::Vigil => vec![("vigil", self.proc.pid())],
            Imp::Keepalived => vec![
                ("parent", self.proc.pid()),
                ("VRRP child", self.vrrp_child()?),
            ],
        })
    }

    /// A crash: SIGKILL (keepalived: [`Keepalived::kill9`]). Returns the CLOCK_REALTIME instant
    /// taken right before the signal.
    fn crash(&self) -> R<f64> {
        match (&self.imp, &self.ka) {
            (Imp::Vigil, _) => {
                let t = epoch_now();
                self.proc.signal(Signal::Kill)?;
                Ok(t)
            }
            (Imp::Keepalived, Some(ka)) => {
                // Read the pid file first so that kill9's own read is a warm, µs-scale one.
                ka.vrrp_pid(Duration::from_secs(5))?;
                let t = epoch_now();
                ka.kill9()?;
                Ok(t)
            }
            (Imp::Keepalived, None) => fail("crash: keepalived not started through Keepalived"),
        }
    }

    fn log(&self) -> String {
        strip_ansi(&self.proc.log().unwrap_or_default())
    }

    /// Transition lines in `log` (after the initial election): Vigil's "FROM -> TO", keepalived's
    /// "Entering X STATE".
    fn transitions(&self, log: &str) -> Vec<Trans> {
        let mut v = Vec::new();
        for line in log.lines() {
            let (hit, to_master, from_master) = match self.imp {
                Imp::Vigil => (
                    ["INIT", "BACKUP", "MASTER", "FAULT"]
                        .iter()
                        .any(|s| line.contains(&format!(" -> {s}"))),
                    line.contains(" -> MASTER"),
                    line.contains("MASTER -> "),
                ),
                Imp::Keepalived => (
                    line.contains("Entering ") && line.contains(" STATE"),
                    line.contains("Entering MASTER STATE"),
                    line.contains("Entering BACKUP STATE") || line.contains("Entering FAULT STATE"),
                ),
            };
            if !hit {
                continue;
            }
            let name = match self.imp {
                Imp::Vigil => line
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("instance="))
                    .map(str::to_owned),
                Imp::Keepalived => line
                    .split_once('(')
                    .and_then(|(_, r)| r.split_once(')'))
                    .map(|(n, _)| n.to_owned()),
            };
            v.push(Trans {
                tod: time_of_day(line),
                inst: name.unwrap_or_else(|| "?".into()),
                to_master,
                from_master,
            });
        }
        v
    }

    /// Vigil: sum of (became_master, released_master) over instances, from `vigil status --json`.
    fn status_counts(&self) -> Option<(u64, u64)> {
        let socket = self.socket.as_ref()?;
        let out = Command::new(VIGIL)
            .args(["status", "--json", "--socket"])
            .arg(socket)
            .output()
            .ok()?;
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        let mut up = 0;
        let mut down = 0;
        for i in v.get("instances")?.as_array()? {
            let st = i.get("stats")?;
            up += st.get("became_master")?.as_u64()?;
            down += st.get("released_master")?.as_u64()?;
        }
        Some((up, down))
    }
}

/// One transition found in a log.
#[derive(Debug)]
struct Trans {
    /// UTC time of day of the log line, in seconds (Vigil: µs resolution; keepalived: 1 s).
    tod: Option<f64>,
    inst: String,
    to_master: bool,
    from_master: bool,
}

/// The first `HH:MM:SS[.frac]` in a line, as seconds since midnight (the lab VM logs in UTC).
fn time_of_day(line: &str) -> Option<f64> {
    let b = line.as_bytes();
    let d = |i: usize| {
        b.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| f64::from(c - b'0'))
    };
    for i in 0..b.len() {
        let (Some(h1), Some(h2), Some(m1), Some(m2), Some(s1), Some(s2)) =
            (d(i), d(i + 1), d(i + 3), d(i + 4), d(i + 6), d(i + 7))
        else {
            continue;
        };
        if b.get(i + 2) != Some(&b':') || b.get(i + 5) != Some(&b':') {
            continue;
        }
        let mut t = (h1 * 10.0 + h2) * 3600.0 + (m1 * 10.0 + m2) * 60.0 + s1 * 10.0 + s2;
        if b.get(i + 8) == Some(&b'.') {
            let mut scale = 0.1;
            let mut k = i + 9;
            while let Some(x) = d(k) {
                t += x * scale;
                scale /= 10.0;
                k += 1;
            }
        }
        return Some(t);
    }
    None
}

/// Summary notes about spurious transitions: when, relative to `load_tod` (time of day at which
/// the busy loops started), and for how long an instance stayed Master.
fn transition_notes(node: &str, tr: &[Trans], load_tod: f64) -> Vec<String> {
    // keepalived logs whole seconds: durations would be meaningless.
    let fine = tr.iter().filter_map(|t| t.tod).any(|t| t.fract() != 0.0);
    let mut notes = Vec::new();
    let times: Vec<f64> = tr.iter().filter_map(|t| t.tod).collect();
    let (Some(first), Some(last)) = (
        times.iter().copied().reduce(f64::min),
        times.iter().copied().reduce(f64::max),
    ) else {
        return notes;
    };
    let mut seconds: Vec<i64> = times.iter().map(|t| t.floor() as i64).collect();
    seconds.dedup();
    notes.push(format!(
        "{node}: {} transitions from {:+.3} s to {:+.3} s relative to the start of the load, in {} distinct second(s)",
        tr.len(),
        first - load_tod,
        last - load_tod,
        seconds.len()
    ));
    // How long each Master episode lasted (→ MASTER … MASTER →, same instance).
    let mut episodes = Vec::new();
    for (k, t) in tr.iter().enumerate() {
        if !t.to_master {
            continue;
        }
        if let Some(end) = tr[k + 1..]
            .iter()
            .find(|u| u.inst == t.inst && u.from_master)
        {
            if let (Some(a), Some(b)) = (t.tod, end.tod) {
                episodes.push(b - a);
            }
        }
    }
    if let Some((lo, med, hi)) = stats(&episodes).filter(|_| fine) {
        notes.push(format!(
            "{node}: {} Master episode(s) lasted {:.3} / {:.3} / {:.3} ms (min / median / max, from the log timestamps)",
            episodes.len(),
            lo * 1e3,
            med * 1e3,
            hi * 1e3
        ));
    }
    notes
}

/// Packets dropped by the raw sockets of `host` since they were opened (the last column of
/// /proc/net/raw and /proc/net/raw6 in its namespace: receive-buffer overflows and the like).
fn raw_drops(host: &Host) -> u64 {
    ["/proc/net/raw", "/proc/net/raw6"]
        .iter()
        .filter_map(|f| host.run("cat", [f]).ok())
        .flat_map(|text| {
            text.lines()
                .skip(1)
                .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// How many of `vips` `host` holds.
fn held(host: &Host, vips: &BTreeSet<IpAddr>) -> R<usize> {
    Ok(host
        .addr_info(None)?
        .iter()
        .filter(|a| vips.contains(&a.addr))
        .count())
}

/// Waits until h1 holds every VIP and h2 none.
fn wait_elected(h1: &Host, h2: &Host, insts: &[Inst], timeout: Duration) -> R<Duration> {
    let vips: BTreeSet<IpAddr> = insts.iter().map(|i| i.vip).collect();
    let start = Instant::now();
    loop {
        let (a, b) = (held(h1, &vips)?, held(h2, &vips)?);
        if a == vips.len() && b == 0 {
            return Ok(start.elapsed());
        }
        if start.elapsed() > timeout {
            return fail(format!(
                "election: after {timeout:?} {} holds {a} and {} holds {b} of {} VIPs",
                h1.name(),
                h2.name(),
                vips.len()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------------------
// /proc accounting.

#[derive(Clone, Copy, Debug, Default)]
struct Cpu {
    /// utime + stime of the whole process, in clock ticks.
    ticks: u64,
    /// Sum over the threads of the first field of /proc/PID/task/TID/schedstat (ns on CPU).
    sched_ns: u64,
}

fn cpu(pid: u32) -> R<Cpu> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("reading /proc/{pid}/stat (has the process exited?): {e}"))?;
    let after = stat
        .rfind(')')
        .and_then(|i| stat.get(i + 1..))
        .ok_or("bad /proc/PID/stat")?;
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `after` starts at field 3.
    let utime: u64 = f.get(11).ok_or("no utime")?.parse()?;
    let stime: u64 = f.get(12).ok_or("no stime")?.parse()?;
    let mut sched_ns = 0;
    for e in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let p = e?.path().join("schedstat");
        if let Ok(s) = std::fs::read_to_string(p) {
            sched_ns += s
                .split_whitespace()
                .next()
                .and_then(|x| x.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Ok(Cpu {
        ticks: utime + stime,
        sched_ns,
    })
}

/// `strace -c -f -p PID` for 5 s, summary to stderr (diagnostics only).
fn strace_summary(label: &str, pid: u32) {
    let Some(strace) = vigil_lab::which("strace") else {
        eprintln!("{label}: strace not installed");
        return;
    };
    let Some(timeout) = vigil_lab::which("timeout") else {
        return;
    };
    let out = Command::new(timeout)
        .args(["-s", "INT", "5"])
        .arg(strace)
        .args(["-c", "-f", "-p", &pid.to_string()])
        .output();
    match out {
        Ok(o) => eprintln!(
            "strace -c -f, 5 s, {label} (pid {pid}):\n{}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => eprintln!("{label}: strace: {e}"),
    }
}

/// USER_HZ: 100 on every Linux architecture Vigil targets.
const CLK_TCK: f64 = 100.0;

/// CPU % of one core over `dt` from two samples: (from utime+stime, from schedstat).
fn cpu_pct(a: Cpu, b: Cpu, dt: Duration) -> (f64, f64) {
    let secs = dt.as_secs_f64();
    (
        (b.ticks.saturating_sub(a.ticks)) as f64 / CLK_TCK / secs * 100.0,
        (b.sched_ns.saturating_sub(a.sched_ns)) as f64 / 1e9 / secs * 100.0,
    )
}

fn rss_kib(pid: u32) -> R<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = s
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).ok_or("bad VmRSS")?.parse()?)
}

/// Scheduling policy of every thread of `pid`: "comm: policy/rt_priority" for the non-normal
/// ones, or "all SCHED_OTHER".
fn sched_policies(pid: u32) -> String {
    let mut rt = Vec::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return "?".into();
    };
    for e in dir.flatten() {
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        let Some(after) = stat.rfind(')').and_then(|i| stat.get(i + 1..)) else {
            continue;
        };
        let f: Vec<&str> = after.split_whitespace().collect();
        // Fields 40 (rt_priority) and 41 (policy).
        let (prio, policy) = (f.get(37).copied(), f.get(38).copied());
        let name = match policy {
            Some("0") | None => continue,
            Some("1") => "FIFO",
            Some("2") => "RR",
            Some(p) => p,
        };
        rt.push(format!("{} {name}/{}", comm.trim(), prio.unwrap_or("?")));
    }
    if rt.is_empty() {
        "all SCHED_OTHER".into()
    } else {
        rt.join(", ")
    }
}

// ---------------------------------------------------------------------------------------------
// Scenario 1: takeover.

#[derive(Debug, Default)]
struct TakeoverRow {
    kill_to_adv: Vec<f64>,
    gap: Vec<f64>,
    period: Vec<f64>,
    notes: Vec<String>,
    failed: usize,
}

struct TakeoverSample {
    kill_to_adv: f64,
    gap: f64,
    /// Median interval between the old master's adverts before the kill.
    period_old: f64,
    /// Same for the new master after the takeover.
    period_new: f64,
    notes: Vec<String>,
}

fn takeover_run(imp: Imp, p: Proto, keep: bool) -> R<TakeoverSample> {
    let lab = Lab::new("bench-takeover")?;
    if keep {
        lab.keep();
    }
    let hosts = lab.add_hosts(2)?;
    let (h1, h2) = (&hosts[0], &hosts[1]);
    let mut cap = Capture::start(&lab, "wire")?;
    let insts = [Inst {
        vrid: 51,
        vip: "192.0.2.100".parse()?,
        prefix: 24,
    }];
    let n1 = Node::start(h1, imp, p, 150, &insts, false)?;
    let _n2 = Node::start(h2, imp, p, 100, &insts, false)?;
    wait_elected(h1, h2, &insts, mdi(p, 150) * 3 + Duration::from_secs(5))?;
    // A few adverts so the backup has heard the master, then a random phase.
    std::thread::sleep(p.advert * 3 + p.advert.mul_f64(random_unit()));
    let t_kill = n1.crash()?;
    let vip = insts[0].vip;
    vigil_lab::wait_until(
        mdi(p, 100) * 2 + Duration::from_secs(3),
        "the backup to hold the VIP",
        || Ok(h2.holds(vip)?.then_some(())),
    )?;
    // dumpcap hands packets over in blocks retired by a timeout: packets of the last fraction
    // of a second before the stop can be lost, so keep capturing well past the takeover.
    std::thread::sleep((p.advert * 2).max(Duration::from_millis(1500)));
    cap.stop()?;
    let rows = cap.fields("vrrp", &["frame.time_epoch", "ip.src", "vrrp.prio"])?;
    let (a1, a2) = (
        h1.ipv4().map(|a| a.to_string()).unwrap_or_default(),
        h2.ipv4().map(|a| a.to_string()).unwrap_or_default(),
    );
    let mut old = Vec::new();
    let mut new = Vec::new();
    for r in &rows {
        let Some(t) = r.first().and_then(|t| t.parse::<f64>().ok()) else {
            continue;
        };
        let src = r.get(1).map(String::as_str).unwrap_or("");
        if src == a1 {
            old.push(t);
        } else if src == a2 {
            new.push(t);
        }
    }
    let mut notes = Vec::new();
    let late_old: Vec<f64> = old.iter().copied().filter(|&t| t > t_kill).collect();
    if !late_old.is_empty() {
        // SIGKILL is not instantaneous: the master can send one more advert between our clock
        // read and its death. The wire gap counts from that last advert (the backup's timer
        // restarted on it); kill → first advert still counts from the clock read.
        notes.push(format!(
            "{} advert(s) from the old master after the kill instant (+{:.3} ms): the master sent one more advert while the signal was on its way",
            late_old.len(),
            (late_old.iter().copied().fold(f64::NAN, f64::max) - t_kill) * 1e3
        ));
    }
    let early_new: Vec<f64> = new.iter().copied().filter(|&t| t <= t_kill).collect();
    if let Some(last) = early_new.iter().copied().reduce(f64::max) {
        // Usually the start-up race: both start as Backup, and at 10 ms the priority-100 node
        // can time out first if it started a few ms earlier; the 150 then preempts it.
        notes.push(format!(
            "{} advert(s) from the backup before the kill, the last {:.1} ms before it (h1 held the VIP before the kill, so this was before or during the initial election)",
            early_new.len(),
            (t_kill - last) * 1e3
        ));
    }
    let Some(first_new) = new.iter().copied().filter(|&t| t > t_kill).reduce(f64::min) else {
        return fail("no advert from the new master in the capture");
    };
    // The old master's last advert before the new master's first.
    let last_old = old
        .iter()
        .copied()
        .filter(|&t| t < first_new)
        .fold(f64::NAN, f64::max);
    if last_old.is_nan() {
        return fail("no advert from the old master in the capture");
    }
    let period = |ts: &[f64]| {
        let d: Vec<f64> = ts.windows(2).map(|w| w[1] - w[0]).collect();
        stats(&d).map_or(f64::NAN, |(_, med, _)| med)
    };
    let old_before: Vec<f64> = old.iter().copied().filter(|&t| t <= t_kill).collect();
    let new_after: Vec<f64> = new.iter().copied().filter(|&t| t > t_kill).collect();
    Ok(TakeoverSample {
        kill_to_adv: first_new - t_kill,
        gap: first_new - last_old,
        period_old: period(&old_before),
        period_new: period(&new_after),
        notes,
    })
}

fn takeover(args: &Args, out: &mut String) {
    let mut rows: Vec<(Proto, Imp, TakeoverRow)> = Vec::new();
    for &p in &args.takeover_configs {
        let mut per: Vec<TakeoverRow> = args.impls.iter().map(|_| TakeoverRow::default()).collect();
        for run in 1..=args.runs {
            for (k, &imp) in args.impls.iter().enumerate() {
                let t0 = Instant::now();
                let row = &mut per[k];
                match takeover_run(imp, p, args.keep) {
                    Ok(s) => {
                        progress(&format!(
                            "takeover {} {} run {run}: kill → first advert {:.1} ms, wire gap {:.1} ms, advert period {:.2}/{:.2} ms ({:.1} s)",
                            p.label(),
                            imp.name(),
                            s.kill_to_adv * 1e3,
                            s.gap * 1e3,
                            s.period_old * 1e3,
                            s.period_new * 1e3,
                            t0.elapsed().as_secs_f64()
                        ));
                        row.kill_to_adv.push(s.kill_to_adv);
                        row.gap.push(s.gap);
                        row.period.push(s.period_old);
                        row.period.push(s.period_new);
                        row.notes
                            .extend(s.notes.into_iter().map(|n| format!("run {run}: {n}")));
                    }
                    Err(e) => {
                        progress(&format!(
                            "takeover {} {} run {run}: FAILED: {e}",
                            p.label(),
                            imp.name()
                        ));
                        row.failed += 1;
                        row.notes.push(format!("run {run} failed: {e}"));
                    }
                }
            }
        }
        for (k, &imp) in args.impls.iter().enumerate() {
            rows.push((p, imp, std::mem::take(&mut per[k])));
        }
    }

    let _ = writeln!(out, "### Takeover after SIGKILL of the master\n");
    let _ = writeln!(
        out,
        "| protocol | implementation | runs | backup's MDI | kill → first advert of new master (ms) | ÷ MDI | wire gap (ms) | ÷ MDI | advert period on the wire (ms) |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
    for (p, imp, r) in &rows {
        let m = mdi(*p, 100).as_secs_f64();
        let ok = r.gap.len();
        let _ = writeln!(
            out,
            "| {} | {} | {ok}{} | {:.1} ms | {} | {} | {} | {} | {} |",
            p.label(),
            imp.name(),
            if r.failed > 0 {
                format!(" ({} failed)", r.failed)
            } else {
                String::new()
            },
            m * 1e3,
            triple(&r.kill_to_adv, 1e3, 1),
            triple(&r.kill_to_adv, 1.0 / m, 3),
            triple(&r.gap, 1e3, 1),
            triple(&r.gap, 1.0 / m, 4),
            triple(&r.period, 1e3, 2),
        );
    }
    let _ = writeln!(out, "\nmin / median / max. A kill at a uniformly random phase lands the first new advert in [wire gap − advert period, wire gap] after it, i.e. 0.72…1.00 of MDI for an exact implementation in all three configurations; the wire gap must be MDI. Advert period: min / median / max over the runs of the median interval between consecutive adverts of the master (before the kill) and of the new master (after the takeover).\n");

    // Goals: within 1.1 × MDI; never slower than keepalived in the same run.
    let _ = writeln!(out, "| protocol | Vigil max (kill → advert) ÷ MDI ≤ 1.1 | Vigil max wire gap ÷ MDI ≤ 1.1 | Vigil wire gap ≤ keepalived's (median, max) |");
    let _ = writeln!(out, "|---|---|---|---|");
    for &p in &args.takeover_configs {
        let m = mdi(p, 100).as_secs_f64();
        let find = |imp: Imp| {
            rows.iter()
                .find(|(q, i, _)| q.version == p.version && q.advert == p.advert && *i == imp)
                .map(|(_, _, r)| r)
        };
        let (Some(v), ka) = (find(Imp::Vigil), find(Imp::Keepalived)) else {
            continue;
        };
        let verdict = |x: Option<(f64, f64, f64)>| match x {
            Some((_, _, max)) => format!(
                "{} ({:.3})",
                if max / m <= 1.1 { "PASS" } else { "FAIL" },
                max / m
            ),
            None => "n/a".into(),
        };
        let cmp = match (stats(&v.gap), ka.and_then(|k| stats(&k.gap))) {
            (Some((_, vm, vx)), Some((_, km, kx))) => format!(
                "{} (median {:.2} vs {:.2} ms, max {:.2} vs {:.2} ms)",
                if vm <= km && vx <= kx { "PASS" } else { "FAIL" },
                vm * 1e3,
                km * 1e3,
                vx * 1e3,
                kx * 1e3
            ),
            _ => "n/a".into(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {cmp} |",
            p.label(),
            verdict(stats(&v.kill_to_adv)),
            verdict(stats(&v.gap))
        );
    }
    let notes: Vec<String> = rows
        .iter()
        .flat_map(|(p, imp, r)| {
            r.notes
                .iter()
                .map(move |n| format!("- {} {}: {n}", p.label(), imp.name()))
        })
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(out, "\nNotes:\n{}", notes.join("\n"));
    }
    let _ = writeln!(
        out,
        "\nRaw wire gaps (ms), per row: {}\n",
        rows.iter()
            .map(|(p, imp, r)| format!(
                "{} {}: [{}]",
                p.label(),
                imp.name(),
                r.gap
                    .iter()
                    .map(|g| format!("{:.2}", g * 1e3))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
}

// ---------------------------------------------------------------------------------------------
// Scenario 2: idle cost.

#[derive(Clone)]
struct IdleProc {
    node: &'static str,
    what: &'static str,
    cpu_stat: f64,
    cpu_sched: f64,
    /// Every repetition's schedstat figure (for the range).
    cpu_sched_all: Vec<f64>,
    rss_kib: u64,
}

struct IdleResult {
    procs: Vec<IdleProc>,
    elect: Duration,
    window: Duration,
    /// From a 2 s capture after the CPU window: (instances seen advertising from the master,
    /// median interval between consecutive adverts of one instance, in seconds).
    rates: (f64, f64),
    /// Raw-socket drops on (master, backup) at the end.
    drops: (u64, u64),
}

/// Median of each figure over repetitions (processes match by position).
fn merge_idle(rs: Vec<IdleResult>) -> Option<IdleResult> {
    let med = |v: Vec<f64>| stats(&v).map_or(f64::NAN, |(_, m, _)| m);
    let first = rs.first()?;
    let procs = (0..first.procs.len())
        .map(|k| {
            let col = |f: &dyn Fn(&IdleProc) -> f64| {
                med(rs.iter().filter_map(|r| r.procs.get(k)).map(f).collect())
            };
            IdleProc {
                node: first.procs[k].node,
                what: first.procs[k].what,
                cpu_stat: col(&|p| p.cpu_stat),
                cpu_sched: col(&|p| p.cpu_sched),
                cpu_sched_all: rs
                    .iter()
                    .filter_map(|r| r.procs.get(k))
                    .map(|p| p.cpu_sched)
                    .collect(),
                rss_kib: col(&|p| p.rss_kib as f64) as u64,
            }
        })
        .collect();
    Some(IdleResult {
        procs,
        elect: Duration::from_secs_f64(med(rs.iter().map(|r| r.elect.as_secs_f64()).collect())),
        window: first.window,
        rates: (
            med(rs.iter().map(|r| r.rates.0).collect()),
            med(rs.iter().map(|r| r.rates.1).collect()),
        ),
        drops: (
            rs.iter().map(|r| r.drops.0).max().unwrap_or(0),
            rs.iter().map(|r| r.drops.1).max().unwrap_or(0),
        ),
    })
}

fn idle_run(imp: Imp, n: usize, args: &Args) -> R<IdleResult> {
    let lab = Lab::new("bench-idle")?;
    if args.keep {
        lab.keep();
    }
    let hosts = lab.add_hosts(2)?;
    let (h1, h2) = (&hosts[0], &hosts[1]);
    let p = Proto {
        version: 3,
        advert: Duration::from_millis(100),
    };
    let insts = layout(n);
    let n1 = Node::start(h1, imp, p, 150, &insts, false)?;
    let n2 = Node::start(h2, imp, p, 100, &insts, false)?;
    let elect = wait_elected(h1, h2, &insts, Duration::from_secs(60))?;
    // Past the second GARP/NA burst (garp_master_delay 5 s on both).
    std::thread::sleep(args.settle);
    let mut pids = Vec::new();
    for (label, node) in [("master", &n1), ("backup", &n2)] {
        for (what, pid) in node.pids()? {
            pids.push((label, what, pid));
        }
    }
    let before: Vec<Cpu> = pids.iter().map(|&(_, _, pid)| cpu(pid)).collect::<R<_>>()?;
    let t0 = Instant::now();
    std::thread::sleep(args.window);
    let after: Vec<Cpu> = pids.iter().map(|&(_, _, pid)| cpu(pid)).collect::<R<_>>()?;
    let window = t0.elapsed();
    let mut procs = Vec::new();
    for (k, &(node, what, pid)) in pids.iter().enumerate() {
        let (cpu_stat, cpu_sched) = cpu_pct(before[k], after[k], window);
        procs.push(IdleProc {
            node,
            what,
            cpu_stat,
            cpu_sched,
            cpu_sched_all: vec![cpu_sched],
            rss_kib: rss_kib(pid)?,
        });
    }
    if args.strace {
        let (what, pid) = n1.pids()?.into_iter().last().ok_or("no master process")?;
        strace_summary(&format!("{} x{n} master {what}", imp.name()), pid);
    }
    // Still one master for everything?
    wait_elected(h1, h2, &insts, Duration::ZERO)?;
    // Are the adverts really on the wire at the configured rate? (After the CPU window: the
    // capture's own cost must not be in the figures.)
    let mut cap = Capture::start(&lab, "idle")?;
    std::thread::sleep(Duration::from_secs(2));
    cap.stop()?;
    let a1 = h1.ipv4().map(|a| a.to_string()).unwrap_or_default();
    let ll1 = h1
        .link_local("eth0")?
        .map(|a| a.to_string())
        .unwrap_or_default();
    let rows = cap.fields(
        "vrrp",
        &["frame.time_epoch", "ip.src", "ipv6.src", "vrrp.virt_rtr_id"],
    )?;
    let mut per: std::collections::BTreeMap<(bool, String), Vec<f64>> = Default::default();
    for r in &rows {
        let (Some(t), Some(s4), Some(s6), Some(vrid)) = (
            r.first().and_then(|t| t.parse::<f64>().ok()),
            r.get(1),
            r.get(2),
            r.get(3),
        ) else {
            continue;
        };
        if *s4 == a1 || *s6 == ll1 {
            per.entry((s4.is_empty(), vrid.clone()))
                .or_default()
                .push(t);
        }
    }
    let gaps: Vec<f64> = per
        .values()
        .flat_map(|ts| ts.windows(2).map(|w| w[1] - w[0]).collect::<Vec<_>>())
        .collect();
    Ok(IdleResult {
        procs,
        elect,
        window,
        rates: (
            per.len() as f64,
            stats(&gaps).map_or(f64::NAN, |(_, m, _)| m),
        ),
        drops: (raw_drops(h1), raw_drops(h2)),
    })
}

fn idle(args: &Args, out: &mut String) {
    let mut counts = vec![1];
    for &n in &args.instances {
        if !counts.contains(&n) {
            counts.push(n);
        }
    }
    let mut failures = Vec::new();
    let mut reps: Vec<(Imp, usize, Vec<IdleResult>)> = Vec::new();
    for &n in &counts {
        for &imp in &args.impls {
            reps.push((imp, n, Vec::new()));
        }
    }
    for rep in 1..=args.idle_runs {
        for (imp, n, store) in &mut reps {
            let (imp, n) = (*imp, *n);
            match idle_run(imp, n, args) {
                Ok(r) => {
                    let m: Vec<String> = r
                        .procs
                        .iter()
                        .map(|p| {
                            format!(
                                "{} {} {:.3}%/{:.3}% {} KiB",
                                p.node, p.what, p.cpu_stat, p.cpu_sched, p.rss_kib
                            )
                        })
                        .collect();
                    progress(&format!(
                        "idle {} x{n} (repetition {rep}): {}; on the wire: {:.0} instances advertising, median period {:.2} ms",
                        imp.name(),
                        m.join("; "),
                        r.rates.0,
                        r.rates.1 * 1e3
                    ));
                    store.push(r);
                }
                Err(e) => {
                    progress(&format!("idle {} x{n}: FAILED: {e}", imp.name()));
                    failures.push(format!(
                        "- {} with {n} instance(s), repetition {rep}: **failed**: {e}",
                        imp.name()
                    ));
                }
            }
        }
    }
    let results: Vec<(Imp, usize, IdleResult)> = reps
        .into_iter()
        .filter_map(|(imp, n, rs)| Some((imp, n, merge_idle(rs)?)))
        .collect();
    let _ = writeln!(out, "### Idle cost: VRRPv3, 100 ms adverts\n");
    let _ = writeln!(
        out,
        "| implementation | instances | node | process | CPU % of a core (utime+stime) | CPU % (schedstat) | CPU per instance (schedstat) | VmRSS | on the wire: master's instances advertising, median advert period | raw-socket drops |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|");
    for (imp, n, r) in &results {
        let range = |v: &[f64]| match stats(v) {
            Some((lo, _, hi)) if v.len() > 1 => format!(" ({lo:.3}–{hi:.3})"),
            _ => String::new(),
        };
        let mut rows: Vec<(String, &'static str, f64, f64, u64, String)> = r
            .procs
            .iter()
            .map(|p| {
                (
                    p.what.to_string(),
                    p.node,
                    p.cpu_stat,
                    p.cpu_sched,
                    p.rss_kib,
                    range(&p.cpu_sched_all),
                )
            })
            .collect();
        if *imp == Imp::Keepalived {
            for node in ["master", "backup"] {
                let ps: Vec<&IdleProc> = r.procs.iter().filter(|p| p.node == node).collect();
                rows.push((
                    "**total**".into(),
                    node,
                    ps.iter().map(|p| p.cpu_stat).sum(),
                    ps.iter().map(|p| p.cpu_sched).sum(),
                    ps.iter().map(|p| p.rss_kib).sum(),
                    String::new(),
                ));
            }
        }
        rows.sort_by_key(|r| (r.1 != "master", r.0.clone()));
        for (what, node, cs, cd, rss, rg) in rows {
            let rate = if node == "master" {
                format!("{:.0}, {:.2} ms", r.rates.0, r.rates.1 * 1e3)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "| {} | {n} | {node} | {what} | {cs:.2} | {cd:.3}{rg} | {:.4} | {:.1} MiB | {rate} | {} |",
                imp.name(),
                cd / *n as f64,
                rss as f64 / 1024.0,
                if node == "master" { r.drops.0 } else { r.drops.1 }
            );
        }
    }
    // Per instance: the marginal cost (N − 1 extra instances), on the master, whole implementation.
    let total = |imp: Imp, n: usize, node: &str| -> Option<f64> {
        results
            .iter()
            .find(|(i, k, _)| *i == imp && *k == n)
            .map(|(_, _, r)| {
                r.procs
                    .iter()
                    .filter(|p| p.node == node)
                    .map(|p| p.cpu_sched)
                    .sum()
            })
    };
    let big: Vec<usize> = counts.iter().copied().filter(|&n| n > 1).collect();
    if !big.is_empty() {
        let _ = writeln!(
            out,
            "\nMarginal CPU per instance = (CPU with N − CPU with 1) ÷ (N − 1), schedstat, whole implementation (keepalived: parent + VRRP child):\n"
        );
        let _ = writeln!(
            out,
            "| N | node | Vigil | keepalived | Vigil ÷ keepalived | goal ≤ 0.5 |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|");
        for &n in &big {
            for node in ["master", "backup"] {
                let per =
                    |imp| Some((total(imp, n, node)? - total(imp, 1, node)?) / (n - 1) as f64);
                let (v, k) = (per(Imp::Vigil), per(Imp::Keepalived));
                let (ratio, verdict) = match (v, k) {
                    (Some(v), Some(k)) if k > 0.0 => (
                        format!("{:.2}", v / k),
                        if v / k <= 0.5 { "PASS" } else { "FAIL" },
                    ),
                    _ => ("n/a".into(), "n/a"),
                };
                let f = |x: Option<f64>| x.map_or("n/a".into(), |x| format!("{x:.4} %"));
                let _ = writeln!(
                    out,
                    "| {n} | {node} | {} | {} | {ratio} | {} |",
                    f(v),
                    f(k),
                    if node == "master" { verdict } else { "(info)" }
                );
            }
        }
    }
    if !failures.is_empty() {
        let _ = writeln!(out, "\n{}", failures.join("\n"));
    }
    let _ = writeln!(
        out,
        "\nElection (start → every VIP on the master): {}. Measurement window: {} per repetition, {} repetition(s) (median; range of the schedstat figure in brackets when more than one). The last column comes from a 2 s tshark capture after the window: how many of the master's instances were seen advertising, and the median interval between two adverts of one instance (configured: 100 ms).\n",
        results
            .iter()
            .map(|(i, n, r)| format!("{} ×{n} {:.0} ms", i.name(), r.elect.as_secs_f64() * 1e3))
            .collect::<Vec<_>>()
            .join(", "),
        results.first().map_or("n/a".into(), |(_, _, r)| format!(
            "{:.1} s",
            r.window.as_secs_f64()
        )),
        args.idle_runs
    );
}

// ---------------------------------------------------------------------------------------------
// Scenario 3: stability under CPU saturation.

/// Quiet measurement before the busy loops start.
const QUIET_WINDOW: Duration = Duration::from_secs(5);

struct StabResult {
    notes: Vec<String>,
    /// Raw-socket drops on (master, backup) at the end.
    drops: (u64, u64),
    /// The master's adverts (VRID 1) as received on the backup's eth0 under load: gap median,
    /// p99, p99.9, max (s), and how many gaps.
    gaps: Option<(f64, f64, f64, f64, usize)>,
    quiet: (f64, f64),
    master: (usize, BTreeSet<String>),
    backup: (usize, BTreeSet<String>),
    status_delta: Option<(u64, u64)>,
    sched: String,
    cpu_master: f64,
    cpu_backup: f64,
    end_ok: bool,
    busy_cpu: f64,
}

fn stability_run(imp: Imp, rt: bool, args: &Args) -> R<StabResult> {
    let lab = Lab::new("bench-stability")?;
    if args.keep {
        lab.keep();
    }
    let hosts = lab.add_hosts(2)?;
    let (h1, h2) = (&hosts[0], &hosts[1]);
    let p = Proto {
        version: 3,
        advert: Duration::from_millis(10),
    };
    let insts = layout(args.stability_instances);
    let n1 = Node::start(h1, imp, p, 150, &insts, rt)?;
    let n2 = Node::start(h2, imp, p, 100, &insts, rt)?;
    wait_elected(h1, h2, &insts, Duration::from_secs(30))?;
    std::thread::sleep(Duration::from_secs(2));
    let master_pid = match imp {
        Imp::Vigil => n1.proc.pid(),
        Imp::Keepalived => n1.vrrp_child()?,
    };
    let backup_pid = match imp {
        Imp::Vigil => n2.proc.pid(),
        Imp::Keepalived => n2.vrrp_child()?,
    };
    let sched = format!(
        "master: {}; backup: {}",
        sched_policies(master_pid),
        sched_policies(backup_pid)
    );
    let (off1, off2) = (n1.log().len(), n2.log().len());
    let st0 = (n1.status_counts(), n2.status_counts());
    // Optional: what the backup's interface receives from the master (VRID 1 only: the capture
    // filter keeps tshark cheap). The kernel timestamps packets on arrival, whether or not the
    // backup's VRRP thread gets to run.
    let backup_cap = if args.capture {
        let file = h2.lab_dir().join("backup-eth0.pcapng");
        let p = h2.spawn(
            "tshark",
            [
                "-i".to_string(),
                "eth0".into(),
                "-n".into(),
                "-q".into(),
                "-f".into(),
                "ip proto 112 and ip[21] == 1".into(),
                "-w".into(),
                file.display().to_string(),
            ],
            "backup-eth0.tshark.log",
        )?;
        let log = h2.lab_dir().join("backup-eth0.tshark.log");
        vigil_lab::wait_until(Duration::from_secs(10), "tshark on h2", || {
            Ok(std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("Capturing on")
                .then_some(()))
        })?;
        Some((p, file))
    } else {
        None
    };
    // First a quiet window: the cost of N instances at 10 ms on an idle machine.
    let (q1, q2) = (cpu(master_pid)?, cpu(backup_pid)?);
    let tq = Instant::now();
    std::thread::sleep(QUIET_WINDOW);
    let (c1, c2) = (cpu(master_pid)?, cpu(backup_pid)?);
    let quiet = (
        cpu_pct(q1, c1, tq.elapsed()).1,
        cpu_pct(q2, c2, tq.elapsed()).1,
    );
    let t0 = Instant::now();
    let load_tod = epoch_now() % 86_400.0;
    let busy: Vec<Process> = (1..=2)
        .map(|k| h1.spawn("sh", ["-c", "while :; do :; done"], format!("busy{k}.log")))
        .collect::<Result<_, _>>()?;
    let busy_t0: Vec<Cpu> = busy.iter().map(|b| cpu(b.pid())).collect::<R<_>>()?;
    std::thread::sleep(args.duration);
    let busy_t1: Vec<Cpu> = busy.iter().map(|b| cpu(b.pid())).collect::<R<_>>()?;
    // A process that died under load (keepalived's RLIMIT_RTTIME) has no end sample.
    let (d1, d2) = (cpu(master_pid).ok(), cpu(backup_pid).ok());
    let dt = t0.elapsed();
    for b in &busy {
        b.signal(Signal::Kill)?;
    }
    let busy_cpu: f64 = busy_t0
        .iter()
        .zip(&busy_t1)
        .map(|(a, b)| cpu_pct(*a, *b, dt).1)
        .sum();
    // Let anything that flapped settle back, then read the logs.
    std::thread::sleep(Duration::from_secs(1));
    let end_ok = wait_elected(h1, h2, &insts, Duration::from_secs(3)).is_ok();
    let l1 = n1.log();
    let l2 = n2.log();
    let tr1 = n1.transitions(l1.get(off1..).unwrap_or(""));
    let tr2 = n2.transitions(l2.get(off2..).unwrap_or(""));
    let summary = |tr: &[Trans]| {
        (
            tr.len(),
            tr.iter().map(|t| t.inst.clone()).collect::<BTreeSet<_>>(),
        )
    };
    let (master, backup) = (summary(&tr1), summary(&tr2));
    let st1 = (n1.status_counts(), n2.status_counts());
    let mut notes = transition_notes("master", &tr1, load_tod);
    notes.extend(transition_notes("backup", &tr2, load_tod));
    let mut gaps = None;
    if let Some((p, file)) = backup_cap {
        p.signal(Signal::Int)?;
        p.wait_timeout(Duration::from_secs(10))?;
        let a1 = h1.ipv4().map(|a| a.to_string()).unwrap_or_default();
        let ts: Vec<f64> =
            vigil_lab::tshark_fields(&file, "vrrp", &["frame.time_epoch", "ip.src"])?
                .iter()
                .filter(|r| r.get(1) == Some(&a1))
                .filter_map(|r| r.first().and_then(|t| t.parse::<f64>().ok()))
                .collect();
        let worst = ts
            .windows(2)
            .map(|w| (w[1] - w[0], w[0]))
            .fold((0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a });
        // Only the gaps under load (from the start of the busy loops on).
        let mut under: Vec<f64> = ts
            .windows(2)
            .filter(|w| w[0] % 86_400.0 >= load_tod)
            .map(|w| w[1] - w[0])
            .collect();
        under.sort_by(f64::total_cmp);
        let q = |f: f64| {
            under
                .get(((under.len() as f64 - 1.0) * f).round() as usize)
                .copied()
                .unwrap_or(f64::NAN)
        };
        gaps = Some((q(0.5), q(0.99), q(0.999), q(1.0), under.len()));
        notes.push(format!(
            "capture on the backup's eth0, VRID 1: {} adverts from the master; the largest gap between two of them is {:.2} ms, at {:+.3} s relative to the start of the load (the backup's Master_Down_Interval is 36.09 ms)",
            ts.len(),
            worst.0 * 1e3,
            worst.1 % 86_400.0 - load_tod
        ));
    }
    for (node, n, log, off) in [("master", &n1, &l1, off1), ("backup", &n2, &l2, off2)] {
        if !n.proc.is_running() {
            notes.push(format!("{node}: {} exited", imp.name()));
        }
        for line in log.get(off..).unwrap_or("").lines() {
            let l = line.to_ascii_lowercase();
            if l.contains("exited due to signal")
                || l.contains("died")
                || l.contains("panicked")
                || l.contains(" error")
                || (imp == Imp::Vigil && l.contains(" warn "))
            {
                notes.push(format!("{node} log: {}", line.trim()));
            }
        }
    }
    let status_delta = match (st0, st1) {
        ((Some(a1), Some(a2)), (Some(b1), Some(b2))) => {
            Some(((b1.0 - a1.0) + (b2.0 - a2.0), (b1.1 - a1.1) + (b2.1 - a2.1)))
        }
        _ => None,
    };
    Ok(StabResult {
        notes,
        drops: (raw_drops(h1), raw_drops(h2)),
        gaps,
        quiet,
        master,
        backup,
        status_delta,
        sched,
        cpu_master: d1.map_or(f64::NAN, |d| cpu_pct(c1, d, dt).1),
        cpu_backup: d2.map_or(f64::NAN, |d| cpu_pct(c2, d, dt).1),
        end_ok,
        busy_cpu,
    })
}

fn stability(args: &Args, out: &mut String) {
    let mut variants: Vec<(Imp, bool)> = Vec::new();
    for &imp in &args.impls {
        variants.push((imp, false));
        if args.realtime_variants {
            variants.push((imp, true));
        }
    }
    let mut results = Vec::new();
    for (imp, rt) in variants {
        let label = match (imp, rt) {
            (Imp::Vigil, false) => "Vigil",
            (Imp::Vigil, true) => "Vigil `--realtime 10`",
            (Imp::Keepalived, false) => "keepalived",
            (Imp::Keepalived, true) => "keepalived `vrrp_rt_priority 10`",
        };
        let t0 = Instant::now();
        match stability_run(imp, rt, args) {
            Ok(r) => {
                progress(&format!(
                    "stability {label}: {} + {} transitions ({:.0} s); {}",
                    r.master.0,
                    r.backup.0,
                    t0.elapsed().as_secs_f64(),
                    r.sched
                ));
                results.push((label, r));
            }
            Err(e) => progress(&format!("stability {label}: FAILED: {e}")),
        }
    }
    let _ = writeln!(
        out,
        "### Stability: {} instances, VRRPv3 10 ms, both cores saturated for {} s\n",
        args.stability_instances,
        args.duration.as_secs()
    );
    let _ = writeln!(
        out,
        "| implementation | spurious transitions, master node (instances) | backup node (instances) | Vigil status Δ became/released master | VRRP process CPU %, master / backup, quiet 5 s | same, under load | busy loops' CPU % | master's advert gaps at the backup under load, VRID 1 (ms): median / p99 / p99.9 / max | raw-socket drops master / backup | one master for all at the end | scheduling (checked in /proc) |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|");
    for (label, r) in &results {
        let names = |s: &BTreeSet<String>| {
            if s.is_empty() {
                String::new()
            } else if s.len() <= 4 {
                format!(" ({})", s.iter().cloned().collect::<Vec<_>>().join(", "))
            } else {
                format!(" ({} instances)", s.len())
            }
        };
        let _ = writeln!(
            out,
            "| {label} | {}{} | {}{} | {} | {:.2} / {:.2} | {:.2} / {:.2} | {:.0} | {} | {} / {} | {} | {} |",
            r.master.0,
            names(&r.master.1),
            r.backup.0,
            names(&r.backup.1),
            r.status_delta
                .map_or("–".into(), |(a, b)| format!("{a} / {b}")),
            r.quiet.0,
            r.quiet.1,
            r.cpu_master,
            r.cpu_backup,
            r.busy_cpu,
            r.gaps.map_or("–".into(), |(m, p99, p999, max, n)| format!(
                "{:.2} / {:.2} / {:.2} / **{:.2}** ({n} gaps)",
                m * 1e3,
                p99 * 1e3,
                p999 * 1e3,
                max * 1e3
            )),
            r.drops.0,
            r.drops.1,
            if r.end_ok { "yes" } else { "**no**" },
            r.sched
        );
    }
    for (label, r) in &results {
        for n in r.notes.iter().take(8) {
            let _ = writeln!(out, "\n- {label}: {n}");
        }
        if r.notes.len() > 8 {
            let _ = writeln!(out, "\n- {label}: … {} more log lines", r.notes.len() - 8);
        }
    }
    let _ = writeln!(
        out,
        "\nTransitions are counted in the logs after the initial election (Vigil: \"FROM -> TO\" lines; keepalived: \"Entering X STATE\"), on both nodes, from the start of the quiet window until 1 s after the busy loops were killed. CPU is the VRRP process (keepalived: the VRRP child), schedstat, % of one core.\n"
    );
}

// ---------------------------------------------------------------------------------------------

fn tool_version(cmd: &str, arg: &str) -> String {
    let path = vigil_lab::which(cmd).unwrap_or_else(|| PathBuf::from(cmd));
    Command::new(path)
        .arg(arg)
        .output()
        .map(|o| {
            let s = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&s)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_owned()
        })
        .unwrap_or_else(|_| "?".into())
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("daemon bench: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = vigil_lab::preflight(&["keepalived", "tshark"]) {
        println!("skipped: {e}");
        return;
    }
    if let Err(e) = Lab::cleanup_on_signal() {
        eprintln!("daemon bench: {e}");
    }
    let started = Instant::now();
    let mut out = String::new();
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "?".into());
    let ncpu = std::thread::available_parallelism().map_or(0, usize::from);
    let _ = writeln!(
        out,
        "Machine: {ncpu} CPUs ({cpu_model}), kernel {}; {}; {}; vigil {VIGIL}. Load average at start: {}.\n",
        tool_version("uname", "-r"),
        tool_version("keepalived", "--version"),
        tool_version("tshark", "--version"),
        loadavg()
    );
    if args.takeover {
        let l0 = loadavg();
        takeover(&args, &mut out);
        let _ = writeln!(out, "Load average: {l0} before, {} after.\n", loadavg());
    }
    if args.idle {
        let l0 = loadavg();
        idle(&args, &mut out);
        let _ = writeln!(out, "Load average: {l0} before, {} after.\n", loadavg());
    }
    if args.stability {
        let l0 = loadavg();
        stability(&args, &mut out);
        let _ = writeln!(
            out,
            "Load average: {l0} before, {} after (the busy loops count).\n",
            loadavg()
        );
    }
    let _ = writeln!(out, "Total time: {:.0} s.", started.elapsed().as_secs_f64());
    println!("\n{out}");
}

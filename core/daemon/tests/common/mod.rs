//! Helpers for the daemon's integration tests: Vigil configs, Vigil processes in lab hosts,
//! their status over the control socket, VIP holders, keepalived logs and tshark reads.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;
use vigil_lab::{Host, Keepalived, Process, Signal};

/// The binary under test.
pub const VIGIL: &str = env!("CARGO_BIN_EXE_vigil");

/// True when the test can run here; otherwise prints `<test>: skipped: <why>` past libtest's
/// capture and the test returns early (and passes).
pub fn ready(test: &str, tools: &[&str]) -> bool {
    match vigil_lab::preflight(tools) {
        Ok(()) => true,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "{test}: skipped: {e}");
            false
        }
    }
}

/// Printed past the capture: timings are part of what these tests report.
pub fn note(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// Milliseconds with one decimal, for messages.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

// ---------------------------------------------------------------------------------------------
// Protocol timers (RFC 3768 §6.1, RFC 9568 §6.1), to derive bounds instead of guessing them.

/// Skew_Time of a router of priority `prio`.
pub fn skew(version: u8, advert: Duration, prio: u8) -> Duration {
    let base = if version == 2 {
        Duration::from_secs(1)
    } else {
        advert
    };
    base * (256 - u32::from(prio)) / 256
}

/// Master_Down_Interval of a router of priority `prio`.
pub fn mdi(version: u8, advert: Duration, prio: u8) -> Duration {
    advert * 3 + skew(version, advert, prio)
}

// ---------------------------------------------------------------------------------------------
// Configuration.

/// One `[[instance]]` of a Vigil config (the keys the tests vary).
#[derive(Clone, Debug)]
pub struct Inst {
    pub name: String,
    pub vrid: u8,
    pub priority: u8,
    pub version: u8,
    pub advert: Duration,
    pub vips: Vec<String>,
    pub unicast_source: Option<IpAddr>,
    pub unicast_peers: Vec<IpAddr>,
    pub preempt: Option<bool>,
    pub password: Option<String>,
    pub use_vmac: bool,
}

impl Inst {
    /// VRRPv3, 100 ms, `eth0`, multicast, one VIP (`"192.0.2.100/24"`).
    pub fn v3(name: &str, vrid: u8, priority: u8, vip: &str) -> Inst {
        Inst {
            name: name.to_owned(),
            vrid,
            priority,
            version: 3,
            advert: Duration::from_millis(100),
            vips: vec![vip.to_owned()],
            unicast_source: None,
            unicast_peers: Vec::new(),
            preempt: None,
            password: None,
            use_vmac: false,
        }
    }

    /// The TOML table.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let advert = if self.advert.subsec_millis() == 0 {
            format!("{}s", self.advert.as_secs())
        } else {
            format!("{}ms", self.advert.as_millis())
        };
        let q = |v: &[String]| {
            v.iter()
                .map(|a| format!("{a:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(s, "[[instance]]");
        let _ = writeln!(s, "name = {:?}", self.name);
        let _ = writeln!(s, "interface = \"eth0\"");
        let _ = writeln!(s, "vrid = {}", self.vrid);
        let _ = writeln!(s, "priority = {}", self.priority);
        let _ = writeln!(s, "version = {}", self.version);
        let _ = writeln!(s, "advert_interval = {advert:?}");
        let _ = writeln!(s, "virtual_addresses = [{}]", q(&self.vips));
        if let Some(src) = self.unicast_source {
            let _ = writeln!(s, "unicast_source = \"{src}\"");
        }
        if !self.unicast_peers.is_empty() {
            let peers: Vec<String> = self.unicast_peers.iter().map(ToString::to_string).collect();
            let _ = writeln!(s, "unicast_peers = [{}]", q(&peers));
        }
        if let Some(p) = self.preempt {
            let _ = writeln!(s, "preempt = {p}");
        }
        if self.use_vmac {
            let _ = writeln!(s, "use_vmac = true");
        }
        if let Some(p) = &self.password {
            let _ = writeln!(
                s,
                "authentication = {{ type = \"pass\", password = {p:?} }}"
            );
        }
        s
    }
}

/// A whole config file with its control socket.
pub fn render_config(socket: &Path, instances: &[Inst]) -> String {
    // Compiled plugins are cached under target/, shared by every test (and never in /var).
    let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/plugin-cache");
    let mut s = format!(
        "[global]\ncontrol_socket = {:?}\nplugin_cache_dir = {:?}\n",
        socket.display().to_string(),
        cache.display().to_string()
    );
    for i in instances {
        s.push('\n');
        s.push_str(&i.render());
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Vigil processes.

/// Removes ANSI escape sequences (`ESC [ ... letter`).
pub fn strip_ansi(s: &str) -> String {
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

/// Last `n` lines of a text.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A `vigil run` in a lab host, logging to `vigil-<host>[.N].log` in the lab dir.
#[derive(Debug)]
pub struct Vigil {
    pub host: Host,
    pub proc: Process,
    pub conf: PathBuf,
    pub socket: PathBuf,
    pub started: Instant,
}

impl Vigil {
    /// Writes the config, starts `vigil run` in `host` and waits until its control socket
    /// answers. Panics with the log when it does not come up.
    pub fn start(host: &Host, instances: &[Inst]) -> Vigil {
        Vigil::start_with(host, instances, "")
    }

    /// [`Vigil::start`] with `extra` TOML (checks, notifiers...) after the instances.
    pub fn start_with(host: &Host, instances: &[Inst], extra: &str) -> Vigil {
        let dir = host.lab_dir();
        let base = (1..)
            .map(|n| match n {
                1 => format!("vigil-{}", host.name()),
                n => format!("vigil-{}.{n}", host.name()),
            })
            .find(|b| !dir.join(format!("{b}.log")).exists())
            .unwrap();
        let conf = dir.join(format!("{base}.toml"));
        let socket = dir.join(format!("{}.sock", host.name()));
        std::fs::write(
            &conf,
            format!("{}\n{extra}", render_config(&socket, instances)),
        )
        .unwrap();
        let started = Instant::now();
        let proc = host
            .spawn(
                VIGIL,
                [
                    "run".as_ref(),
                    "-c".as_ref(),
                    conf.as_os_str(),
                    "--log".as_ref(),
                    "info,vigil=debug".as_ref(),
                ],
                dir.join(format!("{base}.log")),
            )
            .unwrap();
        let v = Vigil {
            host: host.clone(),
            proc,
            conf,
            socket,
            started,
        };
        let r = vigil_lab::wait_until(Duration::from_secs(10), "vigil's control socket", || {
            if !v.proc.is_running() {
                return Err(vigil_lab::LabError::Invalid("vigil exited".into()));
            }
            Ok(v.status().ok())
        });
        if let Err(e) = r {
            panic!(
                "vigil in {} did not come up ({e}); log:\n{}",
                host.name(),
                v.log_tail(40)
            );
        }
        v
    }

    /// Host name, for messages.
    pub fn name(&self) -> &str {
        self.host.name()
    }

    /// The log so far (colour codes removed: the daemon writes ANSI even to a file).
    pub fn log(&self) -> String {
        strip_ansi(&self.proc.log().unwrap_or_default())
    }

    /// Its last `n` lines, labelled.
    pub fn log_tail(&self, n: usize) -> String {
        format!(
            "---- vigil {} ({}):\n{}",
            self.host.name(),
            self.proc.log_path().display(),
            tail(&self.log(), n)
        )
    }

    /// `vigil status --socket S --json`.
    pub fn status(&self) -> Result<Value, String> {
        let out = Command::new(VIGIL)
            .args(["status", "--json", "--socket"])
            .arg(&self.socket)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "vigil status: {} {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| format!("status JSON: {e}"))
    }

    /// The status, or a panic with the log.
    pub fn must_status(&self) -> Value {
        self.status()
            .unwrap_or_else(|e| panic!("{e}\n{}", self.log_tail(30)))
    }

    /// One instance of the status.
    pub fn instance(&self, name: &str) -> Value {
        let st = self.must_status();
        find_instance(&st, name).unwrap_or_else(|| panic!("no instance {name} in status {st:#}"))
    }

    /// State of an instance ("master", "backup", ...).
    pub fn state(&self, name: &str) -> String {
        self.instance(name)["state"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Rewrites its config file (for reload tests).
    pub fn write_config(&self, text: &str) {
        std::fs::write(&self.conf, text).unwrap();
    }

    /// `vigil reload --socket S`.
    pub fn reload(&self) -> Output {
        Command::new(VIGIL)
            .args(["reload", "--socket"])
            .arg(&self.socket)
            .output()
            .unwrap()
    }

    /// SIGKILL: no priority-0 advert, VIPs stay.
    pub fn kill9(&self) {
        self.proc.signal(Signal::Kill).unwrap();
        self.proc.wait_timeout(Duration::from_secs(5)).unwrap();
    }

    /// SIGTERM now, without waiting.
    pub fn term(&self) {
        self.proc.signal(Signal::Term).unwrap();
    }

    /// SIGTERM and wait for a clean exit (status 0), panicking with the log otherwise.
    pub fn stop(&self) {
        let st = self.proc.terminate(Duration::from_secs(5)).unwrap();
        assert!(
            st.success(),
            "vigil in {} exited with {st} after SIGTERM\n{}",
            self.name(),
            self.log_tail(30)
        );
    }
}

/// An instance by name in a status document.
pub fn find_instance(status: &Value, name: &str) -> Option<Value> {
    status["instances"]
        .as_array()?
        .iter()
        .find(|i| i["name"] == name)
        .cloned()
}

/// `[[reason, count], ...]` as pairs.
pub fn drop_list(v: &Value) -> Vec<(String, u64)> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| Some((d.get(0)?.as_str()?.to_owned(), d.get(1)?.as_u64()?)))
                .collect()
        })
        .unwrap_or_default()
}

/// The count for one reason in a drop list (0 when absent).
pub fn drops_of(v: &Value, reason: &str) -> u64 {
    drop_list(v)
        .into_iter()
        .find(|(r, _)| r == reason)
        .map_or(0, |(_, n)| n)
}

// ---------------------------------------------------------------------------------------------
// VIP holders.

/// Names of the hosts holding `vip` (any interface), `except` one (a crashed node keeps its VIP).
pub fn holders(hosts: &[Host], vip: IpAddr, except: Option<&str>) -> Vec<String> {
    hosts
        .iter()
        .filter(|h| Some(h.name()) != except)
        .filter(|h| h.holds(vip).unwrap())
        .map(|h| h.name().to_owned())
        .collect()
}

/// Waits until exactly one host holds `vip` and keeps holding it for `stable`. Returns its
/// name; on timeout panics with every host's addresses and `diag`.
pub fn wait_single_holder(
    hosts: &[Host],
    vip: IpAddr,
    timeout: Duration,
    stable: Duration,
    diag: &dyn Fn() -> String,
) -> String {
    let mut current: Option<(String, Instant)> = None;
    let r = vigil_lab::wait_until(timeout, "exactly one VIP holder", || {
        let h = holders(hosts, vip, None);
        match (h.as_slice(), &current) {
            ([one], Some((name, since))) if one == name => {
                Ok((since.elapsed() >= stable).then(|| name.clone()))
            }
            ([one], _) => {
                current = Some((one.clone(), Instant::now()));
                Ok(None)
            }
            _ => {
                current = None;
                Ok(None)
            }
        }
    });
    r.unwrap_or_else(|e| {
        panic!(
            "{e} for {vip}: holders now {:?}\n{}\n{}",
            holders(hosts, vip, None),
            addresses(hosts),
            diag()
        )
    })
}

/// Waits until `host` holds (or, with `want == false`, no longer holds) `vip`; returns the
/// time it took. Panics with `diag` on timeout.
pub fn wait_holds(
    host: &Host,
    vip: IpAddr,
    want: bool,
    timeout: Duration,
    diag: &dyn Fn() -> String,
) -> Duration {
    let t0 = Instant::now();
    let what = format!(
        "{} to {} {vip}",
        host.name(),
        if want { "hold" } else { "release" }
    );
    vigil_lab::wait_until(timeout, &what, || {
        Ok((host.holds(vip)? == want).then_some(()))
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", diag()));
    t0.elapsed()
}

/// Watches for `period` that `host` never holds `vip` (polling); panics with `diag` if it does.
pub fn never_holds(host: &Host, vip: IpAddr, period: Duration, diag: &dyn Fn() -> String) {
    let t0 = Instant::now();
    while t0.elapsed() < period {
        if host.holds(vip).unwrap() {
            panic!(
                "{} took {vip} {} after the watch began; it must stay backup\n{}",
                host.name(),
                ms(t0.elapsed()),
                diag()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `ip addr` of every host, for failure messages.
pub fn addresses(hosts: &[Host]) -> String {
    hosts
        .iter()
        .map(|h| format!("---- {} addresses: {:?}", h.name(), h.addresses("eth0")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// MAC of `eth0` (`ip -j link show`), lower-case colon form as tshark prints it.
pub fn mac(host: &Host) -> String {
    let out = host
        .run("ip", ["-j", "link", "show", "dev", "eth0"])
        .unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    v[0]["address"].as_str().unwrap().to_lowercase()
}

// ---------------------------------------------------------------------------------------------
// keepalived.

/// keepalived's log, labelled and cut to the last `n` lines.
pub fn ka_tail(ka: &Keepalived, n: usize) -> String {
    format!(
        "---- keepalived {} ({}):\n{}",
        ka.host().name(),
        ka.process().log_path().display(),
        tail(&ka.log().unwrap_or_default(), n)
    )
}

/// Lines of a keepalived log that complain about something received: the words keepalived
/// uses when it discards or distrusts an advert.
pub fn ka_complaints(log: &str) -> Vec<String> {
    const WORDS: [&str; 7] = [
        "invalid",
        "bad",
        "mismatch",
        "wrong",
        "error",
        "not present",
        "discard",
    ];
    log.lines()
        .filter(|l| {
            let l = l.to_lowercase();
            WORDS.iter().any(|w| l.contains(w))
        })
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// tshark.

/// Reads `fields` of the packets matching `filter` (with IP header checksums verified).
/// One row per packet; repeated values joined with `,`.
pub fn tshark(file: &Path, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new(vigil_lab::which("tshark").unwrap());
    cmd.arg("-r")
        .arg(file)
        .args(["-n", "-o", "ip.check_checksum:TRUE", "-Y", filter])
        .args(["-T", "fields", "-E", "separator=/t", "-E", "occurrence=a"])
        .args(["-E", "aggregator=,"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "tshark -r {} -Y {filter:?} failed: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

/// A VRRP advert as tshark decoded it.
#[derive(Clone, Debug)]
pub struct Advert {
    pub time: f64,
    pub src: String,
    pub dst: String,
    pub ttl: String,
    pub version: String,
    pub kind: String,
    pub vrid: String,
    pub prio: String,
    /// v2: seconds (`vrrp.adver_int`); v3: centiseconds (`vrrp.short_adver_int`).
    pub interval: String,
    pub checksum_status: String,
    pub addrs: String,
    pub auth_type: String,
    pub malformed: bool,
    pub ip_checksum_status: String,
}

/// Every VRRP packet of a capture, in order.
pub fn adverts(file: &Path) -> Vec<Advert> {
    let fields = [
        "frame.time_epoch",
        "ip.src",
        "ipv6.src",
        "ip.dst",
        "ipv6.dst",
        "ip.ttl",
        "ipv6.hlim",
        "vrrp.version",
        "vrrp.type",
        "vrrp.virt_rtr_id",
        "vrrp.prio",
        "vrrp.adver_int",
        "vrrp.short_adver_int",
        "vrrp.checksum.status",
        "vrrp.ip_addr",
        "vrrp.ipv6_addr",
        "vrrp.auth_type",
        "_ws.malformed",
        "ip.checksum.status",
    ];
    // Not the copies quoted in ICMP errors (a unicast advert to a host with no VRRP socket).
    tshark(file, "vrrp && !icmp && !icmpv6", &fields)
        .into_iter()
        .map(|r| {
            let g = |i: usize| r.get(i).cloned().unwrap_or_default();
            let or = |a: String, b: String| if a.is_empty() { b } else { a };
            let version = g(7);
            Advert {
                time: g(0).parse().unwrap_or(0.0),
                src: or(g(1), g(2)),
                dst: or(g(3), g(4)),
                ttl: or(g(5), g(6)),
                interval: if version == "2" { g(11) } else { g(12) },
                version,
                kind: g(8),
                vrid: g(9),
                prio: g(10),
                checksum_status: g(13),
                addrs: or(g(14), g(15)),
                auth_type: g(16),
                malformed: !g(17).is_empty(),
                ip_checksum_status: g(18),
            }
        })
        .collect()
}

/// Wall-clock time in seconds since the epoch, comparable to tshark's `frame.time_epoch`.
pub fn epoch_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Time from the first priority-0 advert of `resigner` sent at or after `after` (epoch
/// seconds) to the first non-zero advert of `taker` after it: (time of the priority-0 advert,
/// gap). `None` when either is missing.
pub fn handover_gap(ads: &[Advert], after: f64, resigner: &str, taker: &str) -> Option<(f64, f64)> {
    let zero = ads
        .iter()
        .find(|a| a.time >= after && a.src == resigner && a.prio == "0")?;
    let next = ads
        .iter()
        .find(|a| a.src == taker && a.time >= zero.time && a.prio != "0")?;
    Some((zero.time, next.time - zero.time))
}

/// A short table of adverts for failure messages (the last `n`).
pub fn advert_table(ads: &[Advert], n: usize) -> String {
    let start = ads.len().saturating_sub(n);
    let t0 = ads.first().map_or(0.0, |a| a.time);
    let mut s = format!(
        "---- last {} of {} VRRP packets on the wire:\n",
        ads.len() - start,
        ads.len()
    );
    for a in &ads[start..] {
        let _ = writeln!(
            s,
            "{:>9.3}s {} -> {} ttl {} v{} vrid {} prio {} int {} csum {} addrs {}{}",
            a.time - t0,
            a.src,
            a.dst,
            a.ttl,
            a.version,
            a.vrid,
            a.prio,
            a.interval,
            a.checksum_status,
            a.addrs,
            if a.malformed { " MALFORMED" } else { "" }
        );
    }
    s
}

/// tshark prints booleans as `1`/`True` depending on the version.
pub fn truthy(s: &str) -> bool {
    matches!(s, "1" | "True" | "true" | "TRUE")
}

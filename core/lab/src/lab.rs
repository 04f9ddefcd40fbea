//! The lab itself: namespaces, the switch, hosts, and their teardown.
//!
//! All mutable state sits behind one `Arc<Mutex<LabState>>` shared by the [`Lab`], its
//! [`Host`]s, [`Process`](crate::Process) handles and the signal-cleanup registry. Operations
//! that create something hold the lock for their whole duration, so a cleanup racing with them
//! (from a signal thread) either runs before (and the creation fails with
//! [`LabError::CleanedUp`]) or after (and removes what was created): nothing is ever leaked.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::cmd::{preflight, Cmd};
use crate::error::{LabError, Result};
use crate::host::{kill_pid, Host, HostInfo, Signal};

/// Where `ip netns add` puts the namespace handles.
const NETNS_DIR: &str = "/run/netns";
/// SIGTERM → SIGKILL grace for tracked processes during cleanup.
const TERM_GRACE: Duration = Duration::from_secs(2);
/// Same, for leftover processes found inside our namespaces.
const STRAY_GRACE: Duration = Duration::from_secs(1);
/// Default minimum age for [`Lab::gc_stale`] (see there).
const GC_MIN_AGE: Duration = Duration::from_secs(30);

pub(crate) type Shared = Arc<Mutex<LabState>>;

/// Locks the state; a panic in another thread while it held the lock must not stop cleanup.
pub(crate) fn lock(s: &Shared) -> MutexGuard<'_, LabState> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A process started by the lab. The [`Child`] stays here (never handed out), so its pid cannot
/// be reaped and reused behind our back: signalling a tracked pid is always safe.
#[derive(Debug)]
pub(crate) struct Tracked {
    pub id: u64,
    pub label: String,
    pub child: Child,
    pub status: Option<ExitStatus>,
}

impl Tracked {
    /// Polls the child; caches the exit status.
    pub fn poll(&mut self) -> std::io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = self.child.try_wait()?;
        }
        Ok(self.status)
    }
}

#[derive(Debug)]
pub(crate) struct LabState {
    pub prefix: String,
    pub dir: PathBuf,
    /// Namespaces we created, in creation order.
    pub namespaces: Vec<String>,
    pub switch: Option<String>,
    pub hosts: Vec<HostInfo>,
    pub ports: u32,
    pub procs: Vec<Tracked>,
    pub next_id: u64,
    pub keep_dir: bool,
    pub cleaned: bool,
}

impl LabState {
    pub fn ensure_live(&self) -> Result<()> {
        if self.cleaned {
            Err(LabError::CleanedUp(self.prefix.clone()))
        } else {
            Ok(())
        }
    }

    fn ns_add(&mut self, ns: &str) -> Result<()> {
        Cmd::ip()?.args(["netns", "add", ns]).run()?;
        self.namespaces.push(ns.to_owned());
        Cmd::ip()?
            .args(["-n", ns, "link", "set", "lo", "up"])
            .run()?;
        Ok(())
    }

    fn switch(&mut self) -> Result<String> {
        self.ensure_live()?;
        if let Some(sw) = &self.switch {
            return Ok(sw.clone());
        }
        let sw = format!("{}-sw", self.prefix);
        self.ns_add(&sw)?;
        // Pure L2: no IPv6 of its own (no DAD, no RS/MLD noise in captures).
        sysctl(
            &sw,
            &[
                "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1",
            ],
        )?;
        // STP off + forward_delay 0: ports forward at once. Snooping off: ff02::12 and
        // 224.0.0.18 are flooded without an MLD/IGMP querier.
        Cmd::ip()?
            .args(["-n", &sw, "link", "add", "br0", "type", "bridge"])
            .args([
                "stp_state",
                "0",
                "forward_delay",
                "0",
                "mcast_snooping",
                "0",
            ])
            .run()?;
        Cmd::ip()?
            .args(["-n", &sw, "link", "set", "br0", "up"])
            .run()?;
        self.switch = Some(sw.clone());
        Ok(sw)
    }

    fn add_host(
        &mut self,
        name: &str,
        v4: Option<(Ipv4Addr, u8)>,
        v6: Option<(Ipv6Addr, u8)>,
    ) -> Result<HostInfo> {
        self.ensure_live()?;
        validate_name(name)?;
        if self.hosts.iter().any(|h| h.name == name) {
            return Err(LabError::Invalid(format!("host {name:?} already exists")));
        }
        if let Some((a, len)) = v4 {
            check_v4(a, len)?;
        }
        if let Some((a, len)) = v6 {
            check_v6(a, len)?;
        }
        let sw = self.switch()?;
        let ns = format!("{}-{name}", self.prefix);
        self.ns_add(&ns)?;
        // DAD off *before* eth0 exists, so link-local and global v6 work at once (VRRPv3 over
        // IPv6 sends from the link-local address). Answer broadcast/multicast echo for tests.
        sysctl(
            &ns,
            &[
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
                "net.ipv6.conf.default.dad_transmits=0",
                "net.ipv6.conf.default.router_solicitations=0",
                "net.ipv4.icmp_echo_ignore_broadcasts=0",
            ],
        )?;
        self.ports += 1;
        let port = format!("p{}", self.ports);
        // Created inside the switch namespace with its peer directly in the host namespace:
        // nothing ever appears in the root namespace.
        Cmd::ip()?
            .args(["-n", &sw, "link", "add", &port, "type", "veth"])
            .args(["peer", "name", "eth0", "netns", &ns])
            .run()?;
        Cmd::ip()?
            .args(["-n", &sw, "link", "set", &port, "master", "br0", "up"])
            .run()?;
        Cmd::ip()?
            .args(["-n", &ns, "link", "set", "eth0", "up"])
            .run()?;
        if let Some((a, len)) = v4 {
            Cmd::ip()?
                .args([
                    "-n",
                    &ns,
                    "addr",
                    "add",
                    &format!("{a}/{len}"),
                    "dev",
                    "eth0",
                ])
                .run()?;
        }
        if let Some((a, len)) = v6 {
            Cmd::ip()?
                .args(["-n", &ns, "-6", "addr", "add", &format!("{a}/{len}")])
                .args(["dev", "eth0", "nodad"])
                .run()?;
        }
        let info = HostInfo {
            name: name.to_owned(),
            ns,
            v4,
            v6,
        };
        self.hosts.push(info.clone());
        Ok(info)
    }

    /// Idempotent teardown: tracked processes, strays in our namespaces, namespaces, temp dir.
    /// Keeps going after errors and reports the first.
    pub fn cleanup(&mut self) -> Result<()> {
        if self.cleaned {
            return Ok(());
        }
        self.cleaned = true;
        let mut first: Option<LabError> = None;
        let mut note = |r: Result<()>| {
            if let Err(e) = r {
                first.get_or_insert(e);
            }
        };

        note(stop_tracked(&mut self.procs));
        note(kill_strays(&self.namespaces));
        // Hosts before the switch (reverse creation order); deleting a host namespace destroys
        // its veth and so the switch port.
        for ns in self.namespaces.iter().rev() {
            let r = Cmd::ip().and_then(|c| c.args(["netns", "del", ns]).run());
            // Already gone (someone ran `ip netns del` by hand) is not an error.
            if r.is_err() && Path::new(NETNS_DIR).join(ns).exists() {
                note(r.map(drop));
            }
        }
        if self.keep_dir {
            eprintln!("vigil-lab: kept {} (VIGIL_LAB_KEEP)", self.dir.display());
        } else if self.dir.exists() {
            note(
                std::fs::remove_dir_all(&self.dir)
                    .map_err(|e| LabError::io(format!("removing {}", self.dir.display()), e)),
            );
        }
        first.map_or(Ok(()), Err)
    }
}

/// `sysctl -qw k=v ...` inside a namespace (/proc/sys/net is per network namespace).
fn sysctl(ns: &str, settings: &[&str]) -> Result<()> {
    Cmd::in_netns(ns, "sysctl")?
        .arg("-qw")
        .args(settings)
        .run()
        .map(drop)
}

/// CONT+TERM every running tracked process, wait up to [`TERM_GRACE`], then KILL and reap.
fn stop_tracked(procs: &mut [Tracked]) -> Result<()> {
    for t in procs.iter_mut() {
        if matches!(t.poll(), Ok(None)) {
            // CONT first: a SIGSTOPped process (a "hung" keepalived) would never see TERM.
            let _ = kill_pid(t.child.id(), Signal::Cont);
            let _ = kill_pid(t.child.id(), Signal::Term);
        }
    }
    let start = Instant::now();
    while procs.iter_mut().any(|t| matches!(t.poll(), Ok(None))) && start.elapsed() < TERM_GRACE {
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut first = None;
    for t in procs.iter_mut() {
        if matches!(t.poll(), Ok(None)) {
            let _ = t.child.kill();
            match t.child.wait() {
                Ok(st) => t.status = Some(st),
                Err(e) => {
                    first.get_or_insert(LabError::io(format!("reaping {}", t.label), e));
                }
            }
        }
    }
    first.map_or(Ok(()), Err)
}

/// Processes still inside our namespaces that we did not start directly: keepalived's VRRP child,
/// tshark's dumpcap, anything a tracked process forked. Our namespaces are private to this lab,
/// so everything in them was started by it.
fn kill_strays(namespaces: &[String]) -> Result<()> {
    let me = std::process::id();
    let strays = |ns: &[String]| -> Vec<u32> {
        ns.iter()
            .flat_map(|n| netns_pids(n).unwrap_or_default())
            .filter(|&p| p != me)
            .collect()
    };
    let mut pids = strays(namespaces);
    if pids.is_empty() {
        return Ok(());
    }
    for &p in &pids {
        let _ = kill_pid(p, Signal::Cont);
        let _ = kill_pid(p, Signal::Term);
    }
    // `ip netns pids` skips zombies (their /proc/PID/ns is gone), so "empty" means "exited".
    let start = Instant::now();
    while !pids.is_empty() && start.elapsed() < STRAY_GRACE {
        std::thread::sleep(Duration::from_millis(20));
        pids = strays(namespaces);
    }
    for &p in &pids {
        let _ = kill_pid(p, Signal::Kill);
    }
    Ok(())
}

/// `ip netns pids NS`.
pub(crate) fn netns_pids(ns: &str) -> Result<Vec<u32>> {
    let out = Cmd::ip()?.args(["netns", "pids", ns]).run()?;
    Ok(out
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect())
}

/// Names of all network namespaces (`ip netns list`, first column).
pub(crate) fn netns_list() -> Result<Vec<String>> {
    let out = Cmd::ip()?.args(["netns", "list"]).run()?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect())
}

/// Host names become namespace suffixes and appear in file names: keep them boring.
fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 15
        && name != "sw"
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(LabError::Invalid(format!(
            "host name {name:?}: want 1-15 chars of [a-z0-9_-], not \"sw\""
        )))
    }
}

/// Only documentation ranges (RFC 5737), and the whole subnet inside one, so even the connected
/// route names nothing real.
fn check_v4(a: Ipv4Addr, len: u8) -> Result<()> {
    let o = a.octets();
    let doc = matches!(
        (o[0], o[1], o[2]),
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113)
    );
    if doc && (24..=32).contains(&len) {
        Ok(())
    } else {
        Err(LabError::Invalid(format!(
            "{a}/{len}: lab IPv4 must be in 192.0.2.0/24, 198.51.100.0/24 or 203.0.113.0/24 (prefix >= 24)"
        )))
    }
}

/// Only 2001:db8::/32 (RFC 3849), prefix inside it.
fn check_v6(a: Ipv6Addr, len: u8) -> Result<()> {
    let s = a.segments();
    if s[0] == 0x2001 && s[1] == 0x0db8 && (32..=128).contains(&len) {
        Ok(())
    } else {
        Err(LabError::Invalid(format!(
            "{a}/{len}: lab IPv6 must be in 2001:db8::/32 (prefix >= 32)"
        )))
    }
}

/// `vigil-<pid>-<4 hex>-<suffix>` → owner pid. Anything else is not one of ours.
pub(crate) fn parse_owned_name(ns: &str) -> Option<u32> {
    let rest = ns.strip_prefix("vigil-")?;
    let (pid, rest) = rest.split_once('-')?;
    let (hex, suffix) = rest.split_once('-')?;
    let pid_ok = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    let hex_ok = hex.len() == 4 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if pid_ok && hex_ok && !suffix.is_empty() {
        pid.parse().ok()
    } else {
        None
    }
}

fn random_u16() -> u16 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // RandomState is seeded randomly per process (and per call): enough for a name.
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    (RandomState::new().hash_one(n) & 0xffff) as u16
}

/// A private L2 network: one switch namespace (bridge `br0`) and host namespaces hanging off it
/// by veth pairs, plus a temp dir for configs, logs and captures.
///
/// Everything it creates is removed by [`Lab::cleanup`], which also runs on `Drop` (so on panic
/// unwinding) and, after [`Lab::cleanup_on_signal`], on SIGINT/SIGTERM/SIGHUP.
///
/// ```no_run
/// # fn main() -> Result<(), vigil_lab::LabError> {
/// let lab = vigil_lab::Lab::new("doc")?;
/// let hosts = lab.add_hosts(2)?; // h1 192.0.2.11, h2 192.0.2.12
/// let out = hosts[0].run("ping", ["-c1", "-W1", "192.0.2.12"])?;
/// assert!(out.contains("1 received"));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Lab {
    shared: Shared,
    prefix: String,
    dir: PathBuf,
}

impl Lab {
    /// Creates an empty lab with a fresh name prefix `vigil-<pid>-<4 hex>` (the pid lets
    /// [`Lab::gc_stale`] recognise leftovers of dead runs) and a temp dir
    /// `$TMPDIR/<prefix>-<label>`. Nothing network-related exists until hosts are added.
    ///
    /// Fails with [`LabError::NotRoot`] or [`LabError::MissingTool`] (`ip`) when labs cannot
    /// work here; tests turn those into "skipped". `VIGIL_LAB_KEEP=1` implies [`Lab::keep`].
    pub fn new(label: &str) -> Result<Lab> {
        preflight(&[])?;
        let label: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(40)
            .collect();
        let existing = netns_list()?;
        let pid = std::process::id();
        for _ in 0..64 {
            let prefix = format!("vigil-{pid}-{:04x}", random_u16());
            let taken = existing
                .iter()
                .any(|n| n.starts_with(&format!("{prefix}-")));
            if taken {
                continue;
            }
            let name = if label.is_empty() {
                prefix.clone()
            } else {
                format!("{prefix}-{label}")
            };
            let dir = std::env::temp_dir().join(name);
            match std::fs::create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(LabError::io(format!("creating {}", dir.display()), e)),
            }
            let keep_dir = std::env::var_os("VIGIL_LAB_KEEP").is_some_and(|v| v == "1");
            let shared = Arc::new(Mutex::new(LabState {
                prefix: prefix.clone(),
                dir: dir.clone(),
                namespaces: Vec::new(),
                switch: None,
                hosts: Vec::new(),
                ports: 0,
                procs: Vec::new(),
                next_id: 0,
                keep_dir,
                cleaned: false,
            }));
            crate::signals::register(&shared);
            return Ok(Lab {
                shared,
                prefix,
                dir,
            });
        }
        Err(LabError::Invalid(
            "no free lab prefix after 64 tries".to_owned(),
        ))
    }

    /// The unique prefix (`vigil-<pid>-<4 hex>`) of every namespace of this lab.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Per-lab temp dir for configs, logs and captures; removed on cleanup unless kept.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates the switch namespace `<prefix>-sw` with bridge `br0` (idempotent; `add_host` calls
    /// it too). Returns the namespace name.
    pub fn add_switch(&self) -> Result<String> {
        lock(&self.shared).switch()
    }

    /// The switch namespace, once created.
    pub fn switch_ns(&self) -> Option<String> {
        lock(&self.shared).switch.clone()
    }

    /// Adds host namespace `<prefix>-<name>` whose `eth0` is a port of the switch, with the given
    /// addresses (documentation ranges only; IPv6 added `nodad`). Returns once `eth0` is up.
    pub fn add_host(
        &self,
        name: &str,
        v4: Option<(Ipv4Addr, u8)>,
        v6: Option<(Ipv6Addr, u8)>,
    ) -> Result<Host> {
        let info = lock(&self.shared).add_host(name, v4, v6)?;
        let host = Host::new(Arc::clone(&self.shared), info);
        host.wait_link_up("eth0", Duration::from_secs(5))?;
        Ok(host)
    }

    /// Adds hosts `h1..hN` addressed like the shell lab: `192.0.2.(10+i)/24` and
    /// `2001:db8::(10+i)/64` (same digits, so h1 is .11 and ::11). `n` ≤ 80 keeps clear of the
    /// conventional VIP `.100`.
    pub fn add_hosts(&self, n: u8) -> Result<Vec<Host>> {
        if n == 0 || n > 80 {
            return Err(LabError::Invalid(format!("add_hosts({n}): want 1..=80")));
        }
        (1..=n)
            .map(|i| {
                let v4 = Ipv4Addr::new(192, 0, 2, 10 + i);
                let d = u16::from(10 + i);
                // "11" read as hex, like netns.sh's `2001:db8::$((10+i))`.
                let v6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, (d / 10) * 16 + d % 10);
                self.add_host(&format!("h{i}"), Some((v4, 24)), Some((v6, 64)))
            })
            .collect()
    }

    /// A host by name.
    pub fn host(&self, name: &str) -> Option<Host> {
        let st = lock(&self.shared);
        st.hosts
            .iter()
            .find(|h| h.name == name)
            .map(|h| Host::new(Arc::clone(&self.shared), h.clone()))
    }

    /// All hosts, in creation order.
    pub fn hosts(&self) -> Vec<Host> {
        let st = lock(&self.shared);
        st.hosts
            .iter()
            .map(|h| Host::new(Arc::clone(&self.shared), h.clone()))
            .collect()
    }

    /// Namespaces created so far (switch first).
    pub fn namespaces(&self) -> Vec<String> {
        lock(&self.shared).namespaces.clone()
    }

    /// Keep the temp dir (configs, logs, pcaps) after cleanup, for debugging; its path is
    /// printed. Namespaces and processes are removed regardless.
    pub fn keep(&self) {
        lock(&self.shared).keep_dir = true;
    }

    /// Kills every process the lab started (SIGCONT+SIGTERM, SIGKILL after 2 s), then anything
    /// left inside its namespaces, deletes the namespaces and the temp dir. Idempotent; also
    /// runs on Drop. Later operations fail with [`LabError::CleanedUp`].
    pub fn cleanup(&self) -> Result<()> {
        lock(&self.shared).cleanup()
    }

    /// Whether cleanup already ran (for example from a signal).
    pub fn is_cleaned_up(&self) -> bool {
        lock(&self.shared).cleaned
    }

    /// Deletes namespaces left behind by labs whose process died without cleaning up (SIGKILL):
    /// names `vigil-<pid>-<4 hex>-*` whose `<pid>` is not alive, that contain no process, and
    /// that are at least 30 s old. The age guard protects labs of a process in another pid
    /// namespace, whose pid we cannot see. Returns the names removed. Never kills anything.
    pub fn gc_stale() -> Result<Vec<String>> {
        Self::gc_stale_older_than(GC_MIN_AGE)
    }

    /// [`Lab::gc_stale`] with an explicit minimum age (tests use zero).
    pub fn gc_stale_older_than(min_age: Duration) -> Result<Vec<String>> {
        preflight(&[])?;
        let mut removed = Vec::new();
        for ns in netns_list()? {
            let Some(owner) = parse_owned_name(&ns) else {
                continue;
            };
            if owner == std::process::id() || pid_alive(owner) {
                continue;
            }
            let age = std::fs::metadata(Path::new(NETNS_DIR).join(&ns))
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok());
            if age.is_none_or(|a| a < min_age) {
                continue;
            }
            if !netns_pids(&ns)?.is_empty() {
                continue;
            }
            Cmd::ip()?.args(["netns", "del", &ns]).run()?;
            removed.push(ns);
        }
        Ok(removed)
    }

    /// Installs (once per process) a SIGINT/SIGTERM/SIGHUP handler that cleans up every live lab
    /// and then dies of the same signal, so exit statuses stay conventional (130, 143). A second
    /// signal during cleanup exits at once. Use this *or* call [`crate::cleanup_all`] from your
    /// own handler (e.g. tokio's `ctrl_c`), not both.
    pub fn cleanup_on_signal() -> Result<()> {
        crate::signals::install()
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Err(e) = self.cleanup() {
            eprintln!("vigil-lab: cleanup of {}: {e}", self.prefix);
        }
    }
}

/// `kill(pid, 0)`: alive unless ESRCH.
fn pid_alive(pid: u32) -> bool {
    let Some(p) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    match rustix::process::test_kill_process(p) {
        Ok(()) => true,
        Err(e) => e != rustix::io::Errno::SRCH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_names() {
        assert_eq!(parse_owned_name("vigil-1234-0a9f-h1"), Some(1234));
        assert_eq!(parse_owned_name("vigil-1234-0a9f-sw"), Some(1234));
        assert_eq!(parse_owned_name("vigil-1234-0a9f-web-2"), Some(1234));
        for bad in [
            "vigil-1234-0a9f",
            "vigil-1234-0a9f-",
            "vigil-12x4-0a9f-h1",
            "vigil-1234-0A9F-h1",
            "vigil-1234-0a9-h1",
            "vigilcap-1234-0a9f-a",
            "other",
        ] {
            assert_eq!(parse_owned_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_documentation_addresses() {
        assert!(check_v4(Ipv4Addr::new(192, 0, 2, 11), 24).is_ok());
        assert!(check_v4(Ipv4Addr::new(203, 0, 113, 1), 32).is_ok());
        assert!(check_v4(Ipv4Addr::new(192, 0, 2, 11), 16).is_err());
        assert!(check_v4(Ipv4Addr::new(10, 0, 0, 1), 24).is_err());
        assert!(check_v6("2001:db8::11".parse().unwrap(), 64).is_ok());
        assert!(check_v6("2001:db9::11".parse().unwrap(), 64).is_err());
        assert!(check_v6("2001:db8::11".parse().unwrap(), 16).is_err());
    }

    #[test]
    fn host_names() {
        assert!(validate_name("h1").is_ok());
        assert!(validate_name("web-2").is_ok());
        for bad in ["", "sw", "H1", "-a", "a b", "abcdefghijklmnop"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dead_pid_is_dead() {
        assert!(pid_alive(std::process::id()));
        assert!(!pid_alive(i32::MAX as u32));
        assert!(!pid_alive(0));
    }
}

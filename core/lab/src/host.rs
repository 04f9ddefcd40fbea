//! Hosts (one namespace each) and the processes the lab runs in them.

use std::ffi::OsStr;
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cmd::{check, Cmd};
use crate::error::{LabError, Result};
use crate::ipjson::{parse_addrs, parse_operstate, IfAddr};
use crate::lab::{lock, Shared, Tracked};

#[derive(Debug, Clone)]
pub(crate) struct HostInfo {
    pub name: String,
    pub ns: String,
    pub v4: Option<(Ipv4Addr, u8)>,
    pub v6: Option<(Ipv6Addr, u8)>,
}

/// Signals the lab sends. Our own enum so the public API does not depend on a syscall crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Signal {
    /// SIGHUP (keepalived: reload).
    Hup,
    /// SIGINT (tshark: stop and flush).
    Int,
    /// SIGKILL.
    Kill,
    /// SIGUSR1 (keepalived: dump data).
    Usr1,
    /// SIGUSR2 (keepalived: dump stats).
    Usr2,
    /// SIGTERM (keepalived: priority-0 advert, release VIPs).
    Term,
    /// SIGCONT.
    Cont,
    /// SIGSTOP (simulates a hung daemon).
    Stop,
}

impl Signal {
    fn raw(self) -> rustix::process::Signal {
        use rustix::process::Signal as S;
        match self {
            Signal::Hup => S::HUP,
            Signal::Int => S::INT,
            Signal::Kill => S::KILL,
            Signal::Usr1 => S::USR1,
            Signal::Usr2 => S::USR2,
            Signal::Term => S::TERM,
            Signal::Cont => S::CONT,
            Signal::Stop => S::STOP,
        }
    }
}

/// Raw `kill(2)`. Callers must only pass pids the lab is entitled to signal: tracked children
/// (whose `Child` we hold, so the pid cannot be recycled) or processes in our namespaces.
pub(crate) fn kill_pid(pid: u32, sig: Signal) -> Result<()> {
    let p = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .ok_or_else(|| LabError::Invalid(format!("bad pid {pid}")))?;
    rustix::process::kill_process(p, sig.raw())
        .map_err(|e| LabError::io(format!("kill -{sig:?} {pid}"), e.into()))
}

/// Parent pid from `/proc/PID/stat` (the field after the parenthesised command name).
pub(crate) fn parent_pid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// One host namespace of a [`Lab`](crate::Lab), with `eth0` on the lab switch. Cheap to clone;
/// every clone refers to the same namespace, which lives until the lab is cleaned up.
#[derive(Debug, Clone)]
pub struct Host {
    shared: Shared,
    info: HostInfo,
}

impl Host {
    pub(crate) fn new(shared: Shared, info: HostInfo) -> Self {
        Host { shared, info }
    }

    /// Short name (`h1`).
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// Namespace name (`vigil-<pid>-<hex>-h1`), for `ip netns exec` by hand.
    pub fn ns(&self) -> &str {
        &self.info.ns
    }

    /// Configured IPv4 address of `eth0`.
    pub fn ipv4(&self) -> Option<Ipv4Addr> {
        self.info.v4.map(|(a, _)| a)
    }

    /// Configured global IPv6 address of `eth0`.
    pub fn ipv6(&self) -> Option<Ipv6Addr> {
        self.info.v6.map(|(a, _)| a)
    }

    /// The lab's temp dir.
    pub fn lab_dir(&self) -> PathBuf {
        lock(&self.shared).dir.clone()
    }

    /// Runs `program args` inside the host (`ip netns exec`) and returns its output, whatever
    /// the exit status (ping to a group "fails" with replies worth reading).
    pub fn exec<I, S>(&self, program: &str, args: I) -> Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Cmd::in_netns(&self.info.ns, program)?.args(args).output()
    }

    /// Like [`Host::exec`], but a non-zero exit is a [`LabError::Command`] carrying stderr.
    /// Returns stdout.
    pub fn run<I, S>(&self, program: &str, args: I) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let cmd = Cmd::in_netns(&self.info.ns, program)?.args(args);
        let out = cmd.output()?;
        check(&cmd, &out)?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Starts `program args` in the background inside the host, stdout+stderr to `log`
    /// (relative paths are inside the lab dir). The process is killed on cleanup.
    pub fn spawn<I, S>(&self, program: &str, args: I, log: impl AsRef<Path>) -> Result<Process>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        spawn_in(&self.shared, &self.info.ns, program, args, log.as_ref())
    }

    /// Every address on `ifname`, link-local included (`ip -j addr show dev IF`).
    pub fn addresses(&self, ifname: &str) -> Result<Vec<IpAddr>> {
        Ok(self
            .addr_info(Some(ifname))?
            .into_iter()
            .map(|a| a.addr)
            .collect())
    }

    /// Addresses with interface and prefix length, of one interface or all of them.
    pub fn addr_info(&self, ifname: Option<&str>) -> Result<Vec<IfAddr>> {
        let mut cmd = Cmd::ip()?.args(["-j", "-n", &self.info.ns, "addr", "show"]);
        if let Some(i) = ifname {
            cmd = cmd.args(["dev", i]);
        }
        parse_addrs(&cmd.display(), &cmd.run()?)
    }

    /// Whether any interface holds `addr` (a VIP may sit on `eth0` or on a VMAC `vrrp.N`).
    pub fn holds(&self, addr: IpAddr) -> Result<bool> {
        Ok(self.addr_info(None)?.iter().any(|a| a.addr == addr))
    }

    /// The fe80::/10 address of `ifname`, if it has one yet.
    pub fn link_local(&self, ifname: &str) -> Result<Option<Ipv6Addr>> {
        Ok(self.addresses(ifname)?.into_iter().find_map(|a| match a {
            IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80 => Some(v6),
            _ => None,
        }))
    }

    /// `ip link set IF up|down` (link-failure tests).
    pub fn set_link(&self, ifname: &str, up: bool) -> Result<()> {
        Cmd::ip()?
            .args(["-n", &self.info.ns, "link", "set", ifname])
            .arg(if up { "up" } else { "down" })
            .run()
            .map(drop)
    }

    /// Waits until `ifname` is operationally up (veth carrier; normally immediate).
    pub fn wait_link_up(&self, ifname: &str, timeout: Duration) -> Result<()> {
        let cmd = Cmd::ip()?.args(["-j", "-n", &self.info.ns, "link", "show", "dev", ifname]);
        crate::wait_until(timeout, &format!("{ifname} up in {}", self.info.ns), || {
            Ok((parse_operstate(&cmd.display(), &cmd.run()?)? == "UP").then_some(()))
        })
    }
}

/// Spawns inside `ns` and tracks the child. Holds the state lock throughout, so a concurrent
/// cleanup cannot miss the new process.
pub(crate) fn spawn_in<I, S>(
    shared: &Shared,
    ns: &str,
    program: &str,
    args: I,
    log: &Path,
) -> Result<Process>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let cmd = Cmd::in_netns(ns, program)?.args(args);
    let mut st = lock(shared);
    st.ensure_live()?;
    let log = if log.is_relative() {
        st.dir.join(log)
    } else {
        log.to_owned()
    };
    let out =
        File::create(&log).map_err(|e| LabError::io(format!("creating {}", log.display()), e))?;
    let err = out
        .try_clone()
        .map_err(|e| LabError::io(format!("dup {}", log.display()), e))?;
    let child = cmd
        .command()
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .map_err(|source| LabError::Spawn {
            cmd: cmd.display(),
            source,
        })?;
    st.next_id += 1;
    let id = st.next_id;
    let pid = child.id();
    let label = format!("{program} in {ns} (pid {pid})");
    st.procs.push(Tracked {
        id,
        label: label.clone(),
        child,
        status: None,
    });
    Ok(Process {
        shared: Arc::clone(shared),
        id,
        pid,
        label,
        log,
    })
}

/// Handle to a process started by the lab. The lab keeps the underlying `Child`, so the pid is
/// never reaped behind our back and signalling it can never hit a recycled pid.
#[derive(Debug, Clone)]
pub struct Process {
    shared: Shared,
    id: u64,
    pid: u32,
    label: String,
    log: PathBuf,
}

impl Process {
    /// OS pid (the program's own: `ip netns exec` execs it).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Log file receiving stdout and stderr.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The log so far.
    pub fn log(&self) -> Result<String> {
        std::fs::read_to_string(&self.log)
            .map_err(|e| LabError::io(format!("reading {}", self.log.display()), e))
    }

    fn with<T>(&self, f: impl FnOnce(&mut Tracked) -> Result<T>) -> Result<T> {
        let mut st = lock(&self.shared);
        let t = st
            .procs
            .iter_mut()
            .find(|t| t.id == self.id)
            .ok_or_else(|| LabError::Invalid(format!("unknown process {}", self.label)))?;
        f(t)
    }

    /// Exit status if it has exited (non-blocking).
    pub fn try_wait(&self) -> Result<Option<ExitStatus>> {
        self.with(|t| {
            t.poll()
                .map_err(|e| LabError::io(format!("waiting for {}", t.label), e))
        })
    }

    /// Still running (or stopped)?
    pub fn is_running(&self) -> bool {
        matches!(self.try_wait(), Ok(None))
    }

    /// Sends `sig` if the process has not exited. Returns whether it was sent.
    pub fn signal(&self, sig: Signal) -> Result<bool> {
        self.with(|t| {
            let running = t
                .poll()
                .map_err(|e| LabError::io(format!("waiting for {}", t.label), e))?
                .is_none();
            if running {
                kill_pid(t.child.id(), sig)?;
            }
            Ok(running)
        })
    }

    /// Waits up to `timeout` for the process to exit (polling, without holding the lab lock).
    pub fn wait_timeout(&self, timeout: Duration) -> Result<Option<ExitStatus>> {
        let start = Instant::now();
        loop {
            if let Some(st) = self.try_wait()? {
                return Ok(Some(st));
            }
            if start.elapsed() >= timeout {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// SIGCONT + SIGTERM, then SIGKILL after `grace`; returns the exit status.
    pub fn terminate(&self, grace: Duration) -> Result<ExitStatus> {
        self.signal(Signal::Cont)?;
        self.signal(Signal::Term)?;
        if let Some(st) = self.wait_timeout(grace)? {
            return Ok(st);
        }
        self.signal(Signal::Kill)?;
        self.wait_timeout(Duration::from_secs(5))?
            .ok_or_else(|| LabError::Timeout {
                what: format!("{} to die after SIGKILL", self.label),
                after: Duration::from_secs(5),
            })
    }

    /// Sends `sig` to a child of this process (keepalived's VRRP child, ...), after checking in
    /// /proc that it really is our child: we only ever signal processes we started.
    pub fn signal_child(&self, child_pid: u32, sig: Signal) -> Result<()> {
        if parent_pid(child_pid) != Some(self.pid) {
            return Err(LabError::Invalid(format!(
                "pid {child_pid} is not a child of {}",
                self.label
            )));
        }
        kill_pid(child_pid, sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_of_self() {
        let me = std::process::id();
        let pp = parent_pid(me);
        assert!(pp.is_some_and(|p| p != me));
        assert_eq!(parent_pid(u32::MAX), None);
    }
}

//! Real keepalived (Debian's 2.2.x) in a lab host: the reference implementation Vigil is tested
//! against.
//!
//! Started as `ip netns exec NS keepalived -n -l -D -G -P -f CONF -p PID -r VRRPPID -c CHKPID
//! -b BFDPID`: `-n` stays in the foreground so the tracked pid is keepalived's own, `-l -D -G`
//! log in detail to the log file and not to syslog, `-P` runs only the VRRP child, and per-lab pid
//! files keep parallel instances apart. `ip netns exec` rather than `--namespace`, which rewrites
//! the pid file names.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use crate::cmd::{require, Cmd};
use crate::error::{LabError, Result};
use crate::host::{Host, Process, Signal};

/// VRRP version of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VrrpVersion {
    /// RFC 3768: IPv4 only, whole-second adverts, optional PASS authentication.
    V2,
    /// RFC 9568: IPv4 or IPv6, centisecond adverts.
    V3,
}

/// keepalived's `state`: where the instance starts. (keepalived 2.2.7 still starts in BACKUP
/// and waits one Master_Down_Interval unless priority is 255.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitialState {
    /// `state BACKUP`.
    Backup,
    /// `state MASTER`.
    Master,
}

/// The handful of keepalived settings interop tests vary; rendered by
/// [`KeepalivedConfig::render`]. Build with [`KeepalivedConfig::new`] and struct update syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeepalivedConfig {
    /// `virtual_router_id` (1..=255).
    pub vrid: u8,
    /// `priority` (1..=255).
    pub priority: u8,
    /// `version`.
    pub version: VrrpVersion,
    /// `advert_int`: whole seconds for v2, a multiple of 10 ms up to 40.95 s for v3.
    pub advert: Duration,
    /// `interface` (the lab's `eth0`).
    pub interface: String,
    /// `virtual_ipaddress` entries (one family; documentation ranges only).
    pub vips: Vec<(IpAddr, u8)>,
    /// `unicast_src_ip`.
    pub unicast_src: Option<IpAddr>,
    /// `unicast_peer` block; empty means multicast (224.0.0.18 / ff02::12).
    pub unicast_peers: Vec<IpAddr>,
    /// `authentication { auth_type PASS auth_pass .. }` (v2 only, up to 8 characters).
    pub auth_pass: Option<String>,
    /// `nopreempt` (requires [`InitialState::Backup`]).
    pub nopreempt: bool,
    /// `state`.
    pub state: InitialState,
    /// `use_vmac`: keepalived creates macvlan `vrrp.<vrid>` with the RFC virtual MAC.
    pub use_vmac: bool,
    /// A `vrrp_script` the instance tracks (`track_script`).
    pub script: Option<KeepalivedScript>,
}

/// keepalived's `vrrp_script`: a command run every `interval_s` seconds (keepalived accepts
/// whole seconds only), `fall`/`rise` results to change state, and a `weight` (none = FAULT).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeepalivedScript {
    /// The command (run as root, with script security enabled).
    pub command: String,
    /// `interval` and `timeout`, seconds.
    pub interval_s: u32,
    /// `fall`.
    pub fall: u32,
    /// `rise`.
    pub rise: u32,
    /// `weight`; `None` means the instance goes to FAULT while the script fails.
    pub weight: Option<i32>,
}

impl KeepalivedConfig {
    /// VRRPv3, 1 s adverts, `eth0`, one VIP, multicast, BACKUP, preempting.
    pub fn new(vrid: u8, priority: u8, vip: (IpAddr, u8)) -> Self {
        KeepalivedConfig {
            vrid,
            priority,
            version: VrrpVersion::V3,
            advert: Duration::from_secs(1),
            interface: "eth0".to_owned(),
            vips: vec![vip],
            unicast_src: None,
            unicast_peers: Vec::new(),
            auth_pass: None,
            nopreempt: false,
            state: InitialState::Backup,
            use_vmac: false,
            script: None,
        }
    }

    /// Rejects what keepalived would silently "fix" (it clamps a bad priority to 100 and carries
    /// on), so a test never runs with a config other than the one it asked for.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(LabError::Invalid(format!("keepalived config: {m}")));
        if self.vrid == 0 {
            return bad("vrid must be 1..=255".into());
        }
        if self.priority == 0 {
            return bad("priority must be 1..=255".into());
        }
        let ms = self.advert.as_millis();
        match self.version {
            VrrpVersion::V2 if !ms.is_multiple_of(1000) || !(1000..=255_000).contains(&ms) => {
                return bad(format!(
                    "VRRPv2 advert must be 1..=255 whole seconds, got {ms} ms"
                ));
            }
            VrrpVersion::V3 if !ms.is_multiple_of(10) || !(10..=40_950).contains(&ms) => {
                return bad(format!(
                    "VRRPv3 advert must be a multiple of 10 ms in 10..=40950 ms, got {ms} ms"
                ));
            }
            _ => {}
        }
        if self.interface.is_empty() || self.interface.contains(char::is_whitespace) {
            return bad(format!("bad interface {:?}", self.interface));
        }
        let Some(&(first, _)) = self.vips.first() else {
            return bad("at least one VIP".into());
        };
        let v6 = first.is_ipv6();
        for &(a, len) in &self.vips {
            if a.is_ipv6() != v6 {
                return bad("VIPs of both families in one instance".into());
            }
            match a {
                IpAddr::V4(a) => check_doc_v4(a, len)?,
                IpAddr::V6(a) => check_doc_v6(a, len)?,
            }
        }
        if v6 && self.version == VrrpVersion::V2 {
            return bad("IPv6 VIPs need VRRPv3".into());
        }
        for a in self.unicast_src.iter().chain(&self.unicast_peers) {
            if a.is_ipv6() != v6 {
                return bad(format!("unicast address {a} is not of the VIPs' family"));
            }
        }
        if let Some(p) = &self.auth_pass {
            if self.version != VrrpVersion::V2 {
                return bad("authentication exists only in VRRPv2".into());
            }
            let ok = (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_graphic());
            if !ok || p.contains(['"', '#', '!']) {
                return bad("auth_pass must be 1..=8 printable characters".into());
            }
        }
        if self.nopreempt && self.state == InitialState::Master {
            return bad("nopreempt needs state BACKUP".into());
        }
        Ok(())
    }

    /// keepalived.conf text for router `router_id`.
    pub fn render(&self, router_id: &str) -> Result<String> {
        self.validate()?;
        if router_id.is_empty() || router_id.contains(char::is_whitespace) {
            return Err(LabError::Invalid(format!("bad router_id {router_id:?}")));
        }
        let mut s = String::new();
        // `max_auto_priority -1` = no realtime scheduling (the default), said explicitly to
        // silence keepalived's NOTICE about it.
        let scripts = if self.script.is_some() {
            "    script_user root\n    enable_script_security\n"
        } else {
            ""
        };
        let _ = write!(
            s,
            "global_defs {{\n    router_id {router_id}\n    max_auto_priority -1\n{scripts}}}\n\n"
        );
        if let Some(sc) = &self.script {
            let _ = writeln!(s, "vrrp_script chk {{");
            let _ = writeln!(s, "    script \"{}\"", sc.command.replace('"', "\\\""));
            let _ = writeln!(s, "    interval {}", sc.interval_s);
            let _ = writeln!(s, "    timeout {}", sc.interval_s);
            let _ = writeln!(s, "    fall {}", sc.fall);
            let _ = writeln!(s, "    rise {}", sc.rise);
            if let Some(w) = sc.weight {
                let _ = writeln!(s, "    weight {w}");
            }
            s.push_str("}\n\n");
        }
        let _ = writeln!(s, "vrrp_instance VI_{} {{", self.vrid);
        let state = match self.state {
            InitialState::Backup => "BACKUP",
            InitialState::Master => "MASTER",
        };
        let version = match self.version {
            VrrpVersion::V2 => 2,
            VrrpVersion::V3 => 3,
        };
        let _ = writeln!(s, "    state {state}");
        let _ = writeln!(s, "    interface {}", self.interface);
        let _ = writeln!(s, "    virtual_router_id {}", self.vrid);
        let _ = writeln!(s, "    priority {}", self.priority);
        let _ = writeln!(s, "    advert_int {}", advert_int(self.advert));
        let _ = writeln!(s, "    version {version}");
        if self.nopreempt {
            s.push_str("    nopreempt\n");
        }
        if self.use_vmac {
            s.push_str("    use_vmac\n");
        }
        if let Some(p) = &self.auth_pass {
            let _ = writeln!(
                s,
                "    authentication {{\n        auth_type PASS\n        auth_pass {p}\n    }}"
            );
        }
        if let Some(src) = self.unicast_src {
            let _ = writeln!(s, "    unicast_src_ip {src}");
        }
        if !self.unicast_peers.is_empty() {
            s.push_str("    unicast_peer {\n");
            for p in &self.unicast_peers {
                let _ = writeln!(s, "        {p}");
            }
            s.push_str("    }\n");
        }
        s.push_str("    virtual_ipaddress {\n");
        for (a, len) in &self.vips {
            let _ = writeln!(s, "        {a}/{len}");
        }
        s.push_str("    }\n");
        if self.script.is_some() {
            s.push_str("    track_script {\n        chk\n    }\n");
        }
        s.push_str("}\n");
        Ok(s)
    }
}

/// `advert_int` in seconds with the fewest decimals (`1`, `0.1`, `0.25`).
fn advert_int(d: Duration) -> String {
    let ms = d.as_millis();
    let (secs, frac) = (ms / 1000, ms % 1000);
    if frac == 0 {
        secs.to_string()
    } else {
        let f = format!("{frac:03}");
        format!("{secs}.{}", f.trim_end_matches('0'))
    }
}

fn check_doc_v4(a: std::net::Ipv4Addr, len: u8) -> Result<()> {
    let o = a.octets();
    let doc = matches!(
        (o[0], o[1], o[2]),
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113)
    );
    if doc && len <= 32 {
        Ok(())
    } else {
        Err(LabError::Invalid(format!(
            "VIP {a}/{len} is not in an IPv4 documentation range"
        )))
    }
}

fn check_doc_v6(a: std::net::Ipv6Addr, len: u8) -> Result<()> {
    let s = a.segments();
    if s[0] == 0x2001 && s[1] == 0x0db8 && len <= 128 {
        Ok(())
    } else {
        Err(LabError::Invalid(format!(
            "VIP {a}/{len} is not in 2001:db8::/32"
        )))
    }
}

/// A keepalived running in a lab host. Dropping the handle leaves it running; lab cleanup
/// stops it.
#[derive(Debug)]
pub struct Keepalived {
    host: Host,
    proc: Process,
    conf: PathBuf,
    vrrp_pid_file: PathBuf,
}

impl Keepalived {
    /// Writes `ka-<host>[.N].conf` into the lab dir, checks it with `keepalived -t`, and starts
    /// keepalived in `host`, logging to `ka-<host>[.N].log`. `.N` numbers restarts on one host.
    pub fn start(host: &Host, cfg: &KeepalivedConfig) -> Result<Keepalived> {
        require("keepalived")?;
        let text = cfg.render(host.name())?;
        let dir = host.lab_dir();
        let base = (1..)
            .map(|n| match n {
                1 => format!("ka-{}", host.name()),
                n => format!("ka-{}.{n}", host.name()),
            })
            .find(|b| !dir.join(format!("{b}.conf")).exists())
            .unwrap_or_default();
        let file = |ext: &str| dir.join(format!("{base}.{ext}"));
        let conf = file("conf");
        std::fs::write(&conf, text)
            .map_err(|e| LabError::io(format!("writing {}", conf.display()), e))?;
        Self::config_test(host, &conf)?;
        let vrrp_pid_file = file("vrrp.pid");
        let mut args: Vec<OsString> = ["-n", "-l", "-D", "-G", "-P", "-f"]
            .map(OsString::from)
            .into();
        args.push(conf.clone().into());
        let pid_files = [
            ("-p", "pid"),
            ("-r", "vrrp.pid"),
            ("-c", "chk.pid"),
            ("-b", "bfd.pid"),
        ];
        for (flag, ext) in pid_files {
            args.push(flag.into());
            args.push(file(ext).into());
        }
        let proc = host.spawn("keepalived", args, file("log"))?;
        Ok(Keepalived {
            host: host.clone(),
            proc,
            conf,
            vrrp_pid_file,
        })
    }

    /// `keepalived -t -f CONF` inside `host` (so `interface` resolves as it will at run time).
    /// Its complaints (stderr) are in the error.
    pub fn config_test(host: &Host, conf: &Path) -> Result<()> {
        let cmd = Cmd::in_netns(host.ns(), require("keepalived")?)?
            .args(["-t", "-l", "-G", "-f"])
            .arg(conf);
        let out = cmd.output()?;
        crate::cmd::check(&cmd, &out)
    }

    /// The host it runs in.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The parent keepalived process.
    pub fn process(&self) -> &Process {
        &self.proc
    }

    /// The generated keepalived.conf.
    pub fn conf_path(&self) -> &Path {
        &self.conf
    }

    /// keepalived's log so far.
    pub fn log(&self) -> Result<String> {
        self.proc.log()
    }

    /// Pid of the VRRP child, from the `-r` pid file (waits up to `timeout` for it to appear).
    pub fn vrrp_pid(&self, timeout: Duration) -> Result<u32> {
        crate::wait_until(timeout, "keepalived's VRRP child pid file", || {
            let pid = std::fs::read_to_string(&self.vrrp_pid_file)
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok())
                .filter(|&p| crate::host::parent_pid(p) == Some(self.proc.pid()));
            if pid.is_none() && !self.proc.is_running() {
                return Err(LabError::Invalid(format!(
                    "keepalived in {} exited (see {})",
                    self.host.ns(),
                    self.proc.log_path().display()
                )));
            }
            Ok(pid)
        })
    }

    /// A crash: SIGSTOP the parent (so it cannot respawn the child or clean up), SIGKILL the
    /// VRRP child, then SIGKILL the parent. No priority-0 advert goes out and the VIP stays
    /// configured in the namespace, as after a real crash.
    pub fn kill9(&self) -> Result<()> {
        let child = self.vrrp_pid(Duration::from_secs(5))?;
        self.proc.signal(Signal::Stop)?;
        self.proc.signal_child(child, Signal::Kill)?;
        self.proc.signal(Signal::Kill)?;
        self.proc.wait_timeout(Duration::from_secs(5))?;
        Ok(())
    }

    /// A hung daemon: SIGSTOP the parent, then the VRRP child. Cleanup (or
    /// [`Process::terminate`]) sends SIGCONT before SIGTERM.
    pub fn freeze(&self) -> Result<()> {
        let child = self.vrrp_pid(Duration::from_secs(5))?;
        self.proc.signal(Signal::Stop)?;
        self.proc.signal_child(child, Signal::Stop)
    }

    /// Graceful stop: SIGTERM, so the master sends a priority-0 advert and removes its VIPs.
    /// Waits for exit (SIGKILL after 5 s); keepalived can take about a second to exit, long
    /// after the backup took over, so time a takeover from [`Keepalived::term`] instead.
    pub fn stop(&self) -> Result<ExitStatus> {
        self.proc.terminate(Duration::from_secs(5))
    }

    /// Sends SIGTERM and returns at once (the start of a graceful-failover measurement).
    pub fn term(&self) -> Result<()> {
        self.proc.signal(Signal::Term).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vip() -> (IpAddr, u8) {
        ("192.0.2.100".parse().unwrap(), 24)
    }

    #[test]
    fn renders_a_full_config() {
        let cfg = KeepalivedConfig {
            version: VrrpVersion::V2,
            unicast_src: Some("192.0.2.11".parse().unwrap()),
            unicast_peers: vec!["192.0.2.12".parse().unwrap()],
            auth_pass: Some("secret".into()),
            nopreempt: true,
            use_vmac: true,
            ..KeepalivedConfig::new(51, 150, vip())
        };
        let text = cfg.render("h1").unwrap();
        let expected = "global_defs {
    router_id h1
    max_auto_priority -1
}

vrrp_instance VI_51 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    version 2
    nopreempt
    use_vmac
    authentication {
        auth_type PASS
        auth_pass secret
    }
    unicast_src_ip 192.0.2.11
    unicast_peer {
        192.0.2.12
    }
    virtual_ipaddress {
        192.0.2.100/24
    }
}
";
        assert_eq!(text, expected);
    }

    #[test]
    fn advert_int_formatting() {
        assert_eq!(advert_int(Duration::from_millis(100)), "0.1");
        assert_eq!(advert_int(Duration::from_millis(250)), "0.25");
        assert_eq!(advert_int(Duration::from_millis(1010)), "1.01");
        assert_eq!(advert_int(Duration::from_secs(3)), "3");
    }

    #[test]
    fn rejects_what_keepalived_would_fix_silently() {
        let base = KeepalivedConfig::new(51, 100, vip());
        let v3_100ms = KeepalivedConfig {
            advert: Duration::from_millis(100),
            ..base.clone()
        };
        assert!(v3_100ms.validate().is_ok());
        let bad = [
            KeepalivedConfig {
                priority: 0,
                ..base.clone()
            },
            KeepalivedConfig {
                vrid: 0,
                ..base.clone()
            },
            KeepalivedConfig {
                version: VrrpVersion::V2,
                advert: Duration::from_millis(500),
                ..base.clone()
            },
            KeepalivedConfig {
                advert: Duration::from_millis(105),
                ..base.clone()
            },
            KeepalivedConfig {
                auth_pass: Some("x".into()),
                ..base.clone()
            },
            KeepalivedConfig {
                vips: vec![("2001:db8::100".parse().unwrap(), 64)],
                version: VrrpVersion::V2,
                ..base.clone()
            },
            KeepalivedConfig {
                vips: vec![vip(), ("2001:db8::100".parse().unwrap(), 64)],
                ..base.clone()
            },
            KeepalivedConfig {
                vips: vec![("10.0.0.1".parse().unwrap(), 24)],
                ..base.clone()
            },
            KeepalivedConfig {
                vips: vec![],
                ..base.clone()
            },
            KeepalivedConfig {
                unicast_peers: vec!["2001:db8::12".parse().unwrap()],
                ..base.clone()
            },
            KeepalivedConfig {
                nopreempt: true,
                state: InitialState::Master,
                ..base.clone()
            },
        ];
        for cfg in bad {
            assert!(cfg.validate().is_err(), "{cfg:?}");
        }
    }
}

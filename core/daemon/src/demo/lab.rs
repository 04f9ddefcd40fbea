//! The demo in network namespaces: real `vigil run` processes (this very
//! binary) and a real keepalived, on a private bridge.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use vigil_lab::{Host, Keepalived, KeepalivedConfig, Lab, Process, Signal, VrrpVersion};

use super::{DemoArgs, Kill};

const VIP: &str = "192.0.2.100";
const VRID: u8 = 51;

struct Node {
    host: Host,
    prio: u8,
    kind: Kind,
}

enum Kind {
    Vigil {
        conf: PathBuf,
        socket: PathBuf,
        proc: Option<Process>,
    },
    Keepalived(Option<Keepalived>),
}

fn mdi(version: u8, advert: Duration, prio: u8) -> Duration {
    advert * 3 + skew(version, advert, prio)
}

fn skew(version: u8, advert: Duration, prio: u8) -> Duration {
    let base = if version == 2 {
        Duration::from_secs(1)
    } else {
        advert
    };
    base * (256 - u32::from(prio)) / 256
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

struct Clock(Instant);

impl Clock {
    fn stamp(&self) -> String {
        format!("[{:>7.3} s]", self.0.elapsed().as_secs_f64())
    }
}

pub fn run(args: &DemoArgs) -> Result<bool> {
    if args.vrrp_version == 2 && !args.advert_ms.is_multiple_of(1000) {
        bail!("VRRPv2 counts whole seconds: use --advert-ms 1000 (or a multiple)");
    }
    if !args.advert_ms.is_multiple_of(10) || args.advert_ms == 0 || args.advert_ms > 40_950 {
        bail!("--advert-ms must be a multiple of 10 between 10 and 40950");
    }
    let advert = Duration::from_millis(u64::from(args.advert_ms));
    let vip: IpAddr = VIP.parse()?;
    let exe = std::env::current_exe().context("finding the vigil binary")?;
    let with_keepalived = vigil_lab::which("keepalived").is_some();

    Lab::cleanup_on_signal()?;
    let clock = Clock(Instant::now());
    println!("Vigil demo — a real cluster in private network namespaces");
    println!(
        "(a bridge and hosts made for this run; nothing touches this machine's own network)\n"
    );
    let lab = Lab::new("demo")?;
    lab.add_switch()?;
    let hosts = lab.add_hosts(if with_keepalived { 4 } else { 3 })?;
    let mut nodes = Vec::new();
    for (i, h) in hosts.iter().enumerate() {
        let prio = [150u8, 100, 50].get(i).copied();
        match (i, prio) {
            (0 | 1, Some(p)) => {
                let conf = lab.dir().join(format!("{}.toml", h.name()));
                let socket = lab.dir().join(format!("{}.sock", h.name()));
                write_config(&conf, &socket, args, p)?;
                nodes.push(Node {
                    host: h.clone(),
                    prio: p,
                    kind: Kind::Vigil {
                        conf,
                        socket,
                        proc: None,
                    },
                });
            }
            (2, Some(p)) if with_keepalived => nodes.push(Node {
                host: h.clone(),
                prio: p,
                kind: Kind::Keepalived(None),
            }),
            _ => {}
        }
    }
    let client = hosts.last().cloned().context("no client host")?;
    println!(
        "{} lab {} ready: {} hosts on bridge br0, VRRPv{}, VRID {VRID}, advert interval {}, VIP {VIP}",
        clock.stamp(),
        lab.prefix(),
        hosts.len(),
        args.vrrp_version,
        ms(advert)
    );
    for n in &nodes {
        let what = match n.kind {
            Kind::Vigil { .. } => "vigil     ",
            Kind::Keepalived(_) => "keepalived",
        };
        println!(
            "    {}  {:<13} {what}  priority {:>3}   Master_Down_Interval {}",
            n.host.name(),
            n.host.ipv4().map(|a| a.to_string()).unwrap_or_default(),
            n.prio,
            ms(mdi(args.vrrp_version, advert, n.prio))
        );
    }
    if !with_keepalived {
        println!("    (keepalived is not installed: `apt-get install keepalived` adds it as a third peer)");
    }
    println!(
        "    {}  {:<13} client",
        client.name(),
        client.ipv4().map(|a| a.to_string()).unwrap_or_default()
    );
    println!();

    // Start everyone.
    let started = Instant::now();
    for n in &mut nodes {
        start(n, &exe, args)?;
    }
    println!(
        "{} started every daemon; waiting for the election",
        clock.stamp()
    );
    let settle = mdi(args.vrrp_version, advert, 50) * 3 + Duration::from_secs(3);
    let first = wait_single_holder(&nodes, vip, settle)?;
    println!(
        "{} {} holds {VIP} — elected {} after start; exactly one holder",
        clock.stamp(),
        nodes[first].host.name(),
        ms(started.elapsed())
    );
    print_status(&exe, &nodes)?;
    show_client(&client, vip, &hosts)?;

    // Let it run a moment, then kill the master.
    std::thread::sleep(advert * 5 + Duration::from_millis(137));
    let killed_at = Instant::now();
    let how = kill(&mut nodes[first], args.kill)?;
    println!("\n{} {how}", clock.stamp());
    let second = wait_holder_other_than(&nodes, vip, first, settle)?;
    let took = killed_at.elapsed();
    let bound = match args.kill {
        Kill::Crash => mdi(args.vrrp_version, advert, nodes[second].prio),
        Kill::Shutdown => skew(args.vrrp_version, advert, nodes[second].prio),
    };
    println!(
        "{} {} holds {VIP} — takeover {} after the kill ({:.2} x its {} of {})",
        clock.stamp(),
        nodes[second].host.name(),
        ms(took),
        took.as_secs_f64() / bound.as_secs_f64(),
        if args.kill == Kill::Crash {
            "Master_Down_Interval"
        } else {
            "Skew_Time"
        },
        ms(bound)
    );
    if args.kill == Kill::Crash {
        println!(
            "           (a crash lands anywhere in the advert cycle, so the takeover falls between\n            Master_Down_Interval − one interval and Master_Down_Interval; measured by polling the\n            addresses every few ms, so add a few ms of resolution)"
        );
    }
    show_client(&client, vip, &hosts)?;

    // Bring the old master back: it preempts.
    println!(
        "\n{} restarting {}",
        clock.stamp(),
        nodes[first].host.name()
    );
    let restarted = Instant::now();
    start(&mut nodes[first], &exe, args)?;
    let back = wait_holder(&nodes, vip, first, settle)?;
    println!(
        "{} {} holds {VIP} again — preempted {} after its restart (priority {} > {})",
        clock.stamp(),
        nodes[back].host.name(),
        ms(restarted.elapsed()),
        nodes[first].prio,
        nodes[second].prio
    );
    let holders_now = holders(&nodes, vip)?;
    println!("{} holders of {VIP}: {holders_now:?}", clock.stamp());
    print_status(&exe, &nodes)?;
    show_keepalived(&nodes);

    // A graceful stop: the master resigns with priority 0 and the backup
    // takes over after Skew_Time instead of Master_Down_Interval.
    std::thread::sleep(advert * 5 + Duration::from_millis(61));
    let stopped_at = Instant::now();
    let how = kill(&mut nodes[first], Kill::Shutdown)?;
    println!("\n{} {how}", clock.stamp());
    let next = wait_holder_other_than(&nodes, vip, first, settle)?;
    let took = stopped_at.elapsed();
    let sk = skew(args.vrrp_version, advert, nodes[next].prio);
    println!(
        "{} {} holds {VIP} — takeover {} after the SIGTERM ({:.2} x its Skew_Time of {})",
        clock.stamp(),
        nodes[next].host.name(),
        ms(took),
        took.as_secs_f64() / sk.as_secs_f64(),
        ms(sk)
    );
    std::thread::sleep(Duration::from_millis(300));
    let holders = holders(&nodes, vip)?;
    println!("{} holders of {VIP}: {holders:?}", clock.stamp());

    for n in &mut nodes {
        stop(n);
    }
    let ns = lab.namespaces().len();
    lab.cleanup()?;
    println!(
        "\n{} cleaned up: {ns} namespaces and every process removed",
        clock.stamp()
    );
    Ok(holders.len() == 1)
}

fn write_config(path: &Path, socket: &Path, args: &DemoArgs, prio: u8) -> Result<()> {
    let interval = if args.advert_ms.is_multiple_of(1000) {
        format!("{}s", args.advert_ms / 1000)
    } else {
        format!("{}ms", args.advert_ms)
    };
    let text = format!(
        "# Written by `vigil demo`.\n[global]\ncontrol_socket = \"{}\"\n\n[[instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvrid = {VRID}\npriority = {prio}\nversion = {}\nadvert_interval = \"{interval}\"\nvirtual_addresses = [\"{VIP}/24\"]\n",
        socket.display(),
        args.vrrp_version
    );
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn start(n: &mut Node, exe: &Path, args: &DemoArgs) -> Result<()> {
    match &mut n.kind {
        Kind::Vigil { conf, socket, proc } => {
            let log = conf.with_extension(format!("{}.log", std::process::id()));
            let p = n.host.spawn(
                &exe.display().to_string(),
                [
                    "run".to_string(),
                    "-c".into(),
                    conf.display().to_string(),
                    "--socket".into(),
                    socket.display().to_string(),
                ],
                log,
            )?;
            *proc = Some(p);
        }
        Kind::Keepalived(k) => {
            let mut cfg = KeepalivedConfig::new(VRID, n.prio, (VIP.parse()?, 24));
            cfg.version = if args.vrrp_version == 2 {
                VrrpVersion::V2
            } else {
                VrrpVersion::V3
            };
            cfg.advert = Duration::from_millis(u64::from(args.advert_ms));
            *k = Some(Keepalived::start(&n.host, &cfg)?);
        }
    }
    Ok(())
}

fn kill(n: &mut Node, how: Kill) -> Result<String> {
    let name = n.host.name().to_string();
    match (&mut n.kind, how) {
        (Kind::Vigil { proc: Some(p), .. }, Kill::Crash) => {
            p.signal(Signal::Kill)?;
            Ok(format!("kill -9 vigil on {name}, and its VIP goes as if the machine died (no goodbye advert)"))
        }
        (Kind::Vigil { proc: Some(p), .. }, Kill::Shutdown) => {
            p.signal(Signal::Term)?;
            Ok(format!("SIGTERM vigil on {name}: it resigns with a priority-0 advert"))
        }
        (Kind::Keepalived(Some(k)), Kill::Crash) => {
            k.kill9()?;
            Ok(format!("kill -9 keepalived on {name}, and its VIP goes as if the machine died"))
        }
        (Kind::Keepalived(Some(k)), Kill::Shutdown) => {
            k.term()?;
            Ok(format!("SIGTERM keepalived on {name}"))
        }
        _ => bail!("{name} is not running"),
    }
    .inspect(|_| {
        // A crashed host's address vanishes with its "machine": remove it as
        // the power loss would, so the LAN sees one holder.
        if how == Kill::Crash {
            let _ = n.host.exec("ip", ["addr", "del", &format!("{VIP}/24"), "dev", "eth0"]);
        }
    })
}

fn stop(n: &mut Node) {
    match &mut n.kind {
        Kind::Vigil { proc, .. } => {
            if let Some(p) = proc.take() {
                let _ = p.terminate(Duration::from_secs(2));
            }
        }
        Kind::Keepalived(k) => {
            if let Some(k) = k.take() {
                let _ = k.stop();
            }
        }
    }
}

fn holders(nodes: &[Node], vip: IpAddr) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for n in nodes {
        if n.host.holds(vip)? {
            out.push(n.host.name().to_string());
        }
    }
    Ok(out)
}

fn wait_single_holder(nodes: &[Node], vip: IpAddr, timeout: Duration) -> Result<usize> {
    let deadline = Instant::now() + timeout;
    loop {
        let held: Vec<usize> = (0..nodes.len())
            .filter(|i| nodes[*i].host.holds(vip).unwrap_or(false))
            .collect();
        if let [one] = held[..] {
            return Ok(one);
        }
        if Instant::now() > deadline {
            bail!("no single holder of {VIP} after {timeout:?} (holders: {held:?})");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn wait_holder_other_than(
    nodes: &[Node],
    vip: IpAddr,
    not: usize,
    timeout: Duration,
) -> Result<usize> {
    let deadline = Instant::now() + timeout;
    loop {
        for (i, n) in nodes.iter().enumerate() {
            if i != not && n.host.holds(vip).unwrap_or(false) {
                return Ok(i);
            }
        }
        if Instant::now() > deadline {
            bail!("nobody took {VIP} over within {timeout:?}");
        }
    }
}

fn wait_holder(nodes: &[Node], vip: IpAddr, want: usize, timeout: Duration) -> Result<usize> {
    let deadline = Instant::now() + timeout;
    loop {
        if nodes[want].host.holds(vip).unwrap_or(false) {
            return Ok(want);
        }
        if Instant::now() > deadline {
            bail!(
                "{} did not take {VIP} back within {timeout:?}",
                nodes[want].host.name()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn print_status(exe: &Path, nodes: &[Node]) -> Result<()> {
    for n in nodes {
        if let Kind::Vigil {
            socket,
            proc: Some(_),
            ..
        } = &n.kind
        {
            let out = std::process::Command::new(exe)
                .args(["status", "--socket"])
                .arg(socket)
                .output()?;
            println!("\n  $ vigil status   # on {}", n.host.name());
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                println!("  {line}");
            }
        }
    }
    Ok(())
}

fn show_client(client: &Host, vip: IpAddr, hosts: &[Host]) -> Result<()> {
    let ping = client.exec("ping", ["-c", "1", "-W", "1", &vip.to_string()])?;
    let neigh = client.run("ip", ["neigh", "show", &vip.to_string(), "dev", "eth0"])?;
    let mac = neigh
        .split_whitespace()
        .skip_while(|w| *w != "lladdr")
        .nth(1)
        .unwrap_or("?")
        .to_string();
    let owner = hosts
        .iter()
        .find(|h| {
            h.run("cat", ["/sys/class/net/eth0/address"])
                .map(|m| m.trim() == mac)
                .unwrap_or(false)
        })
        .map_or("?".to_string(), |h| h.name().to_string());
    println!(
        "           client {}: ping {VIP} {} — its ARP entry {mac} is {owner}'s MAC",
        client.name(),
        if ping.status.success() {
            "answered"
        } else {
            "NOT answered"
        },
    );
    Ok(())
}

fn show_keepalived(nodes: &[Node]) {
    for n in nodes {
        if let Kind::Keepalived(Some(k)) = &n.kind {
            let log = k.log().unwrap_or_default();
            let tag = format!("(VI_{VRID}) ");
            let states: Vec<&str> = log
                .lines()
                .filter_map(|l| l.split(&tag).nth(1))
                .filter(|l| l.starts_with("Entering"))
                .collect();
            println!(
                "\n  keepalived on {} says: {}",
                n.host.name(),
                states.join(" / ")
            );
        }
    }
}

//! `vigil demo --simulate`: the three-router cluster in the deterministic
//! simulator, for machines where network namespaces are not available. The
//! very same engine runs: every advert is encoded,
//! carried over an in-memory LAN and validated by the receivers. Times are
//! virtual and say so.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use vigil_vrrp::sim::{Sim, TraceEvent, Wire};
use vigil_vrrp::{InstanceConfig, InstanceId, Interval, Reason, State, Timestamp, Version};

use super::{DemoArgs, Kill};

const VIP: &str = "192.0.2.100";
const ROUTERS: [(&str, &str, u8); 3] = [
    ("r1", "192.0.2.11", 150),
    ("r2", "192.0.2.12", 100),
    ("r3", "192.0.2.13", 50),
];

/// Run the demo and return the text to print.
pub fn run(args: &DemoArgs) -> Result<String> {
    let version = if args.vrrp_version == 2 {
        Version::V2
    } else {
        Version::V3
    };
    if !args.advert_ms.is_multiple_of(10) || args.advert_ms == 0 {
        bail!("--advert-ms must be a positive multiple of 10 ms (VRRPv3 counts centiseconds)");
    }
    let cs = u16::try_from(args.advert_ms / 10).context("--advert-ms is too large")?;
    let interval = Interval::from_centis(cs);
    let vip: IpAddr = VIP.parse()?;

    let mut sim = Sim::new(args.seed, Wire::default());
    for (name, addr, prio) in ROUTERS {
        let mut c = InstanceConfig::new("VI_1", 51, addr.parse()?, vec![vip]);
        c.version = version;
        c.priority = prio;
        c.advert_interval = interval;
        c.validate().with_context(|| format!("router {name}"))?;
        sim.add_node(name, vec![c], vec![])?;
    }

    let mut out = String::new();
    let mdi = |prio: u8| -> Duration {
        let skew_base = match version {
            Version::V2 => Duration::from_secs(1),
            Version::V3 => interval.as_duration(),
        };
        interval.as_duration() * 3 + skew_base * (256 - u32::from(prio)) / 256
    };
    writeln!(
        out,
        "Vigil demo — SIMULATED: the real VRRP engine on a virtual LAN in virtual time."
    )?;
    writeln!(
        out,
        "(Every advert is encoded, sent over an in-memory wire with 50–200 µs delay and"
    )?;
    writeln!(
        out,
        " validated by the receivers; no packets touch this machine's network. The demo in"
    )?;
    writeln!(
        out,
        " network namespaces with real sockets and keepalived arrives with the daemon.)"
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "Cluster: {version}, VRID 51, advert interval {interval}, VIP {VIP}"
    )?;
    for (name, addr, prio) in ROUTERS {
        writeln!(
            out,
            "  {name}  {addr:<12}  priority {prio:>3}  Master_Down_Interval {:>9.3} ms",
            ms(mdi(prio))
        )?;
    }
    writeln!(out)?;

    let t0 = sim.now();
    for i in 0..ROUTERS.len() {
        sim.start(i);
    }
    let settle = mdi(ROUTERS[2].2) * 2 + interval.as_duration() * 5;
    sim.run_for(settle);
    let masters = sim.masters(51);
    if masters != [0] {
        bail!("election did not settle on r1 (masters: {masters:?})");
    }

    let kill_at = sim.now() + interval.as_duration() / 3;
    sim.run_until(kill_at);
    match args.kill {
        Kill::Crash => sim.crash(0),
        Kill::Shutdown => sim.shutdown(0),
    }
    sim.run_for(mdi(ROUTERS[1].2) * 2);
    let restart_at = sim.now();
    sim.restart(0)?;
    sim.run_for(mdi(ROUTERS[0].2) * 2 + interval.as_duration() * 2);

    writeln!(out, "Timeline (ms of simulated time since start):")?;
    // Within one instant and router, show the state change before its effects.
    let mut trace: Vec<&TraceEvent> = sim.trace().iter().collect();
    trace.sort_by_key(|e| match e {
        TraceEvent::Transition { node, transition } => (transition.at, *node, 0),
        TraceEvent::AddressesAdded { at, node, .. }
        | TraceEvent::AddressesRemoved { at, node, .. }
        | TraceEvent::Announced { at, node, .. } => (*at, *node, 1),
        TraceEvent::Crashed { at, node } | TraceEvent::Restarted { at, node } => (*at, *node, 0),
    });
    let mut last_line = String::new();
    for e in trace {
        let line = describe(&sim, e, t0);
        if let Some(line) = line {
            if line != last_line {
                writeln!(out, "{line}")?;
                last_line = line;
            }
        }
    }
    writeln!(out)?;

    // The takeover figure, measured from the trace.
    let takeover = sim.trace().iter().find_map(|e| match e {
        TraceEvent::Transition { node, transition }
            if *node != 0 && transition.to == State::Master && transition.at >= kill_at =>
        {
            Some((*node, transition.at - kill_at, transition.reason))
        }
        _ => None,
    });
    let Some((node, took, reason)) = takeover else {
        bail!("no router took over after the master died");
    };
    let (bound, bound_name) = match args.kill {
        Kill::Crash => (mdi(ROUTERS[node].2), "Master_Down_Interval"),
        Kill::Shutdown => {
            let skew_base = match version {
                Version::V2 => Duration::from_secs(1),
                Version::V3 => interval.as_duration(),
            };
            (
                skew_base * (256 - u32::from(ROUTERS[node].2)) / 256,
                "Skew_Time",
            )
        }
    };
    writeln!(
        out,
        "Takeover: {} became master {:.3} ms after r1 went away ({}), {:.2} x its {bound_name} of {:.3} ms.",
        ROUTERS[node].0,
        ms(took),
        reason_text(reason),
        took.as_secs_f64() / bound.as_secs_f64(),
        ms(bound)
    )?;
    if args.kill == Kill::Crash {
        writeln!(
            out,
            "          (After a crash the backup's timer started at r1's last advert, so the takeover"
        )?;
        writeln!(
            out,
            "           lands between Master_Down_Interval minus one advert interval and Master_Down_Interval.)"
        )?;
    }
    let back = sim.trace().iter().any(|e| {
        matches!(e, TraceEvent::Transition { node: 0, transition }
            if transition.to == State::Master && transition.at >= restart_at)
    });
    writeln!(
        out,
        "Preemption: r1 came back at {:.3} ms and {}.",
        ms(restart_at - t0),
        if back {
            "took the VIP back (priority 150 > 100)"
        } else {
            "did not take over"
        }
    )?;
    let holders = sim.holders(51);
    writeln!(
        out,
        "Final: VIP {VIP} on {} — exactly one holder: {}. Adverts on the wire: {}.",
        holders
            .iter()
            .map(|n| sim.name(*n).to_string())
            .collect::<Vec<_>>()
            .join(", "),
        if holders.len() == 1 { "yes" } else { "NO" },
        sim.adverts_on_wire()
    )?;
    let drops: u64 = (0..sim.len())
        .filter_map(|n| sim.router(n))
        .map(|r| {
            r.drops().total()
                + r.instance(InstanceId(0))
                    .map_or(0, |i| i.stats().drops.total())
        })
        .sum();
    writeln!(out, "Dropped packets (all reasons, all routers): {drops}.")?;
    if holders.len() != 1 {
        bail!("{out}\nthe VIP is not on exactly one router");
    }
    Ok(out)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn at(t: Timestamp, t0: Timestamp) -> String {
    format!("{:>10.3}", ms(t - t0))
}

fn reason_text(r: Reason) -> String {
    match r {
        Reason::Startup => "startup".into(),
        Reason::Shutdown => "shutdown".into(),
        Reason::AddressOwner => "address owner".into(),
        Reason::MasterDown => "no advert for Master_Down_Interval".into(),
        Reason::MasterResigned => "master resigned with priority 0".into(),
        Reason::PreemptDelay => "preempt delay elapsed".into(),
        Reason::HigherPriority { from, priority } => {
            format!("heard priority {priority} from {from}")
        }
        Reason::Fault => "fault".into(),
        Reason::FaultCleared => "fault cleared".into(),
        Reason::SyncGroup => "sync group".into(),
    }
}

fn describe(sim: &Sim, e: &TraceEvent, t0: Timestamp) -> Option<String> {
    Some(match e {
        TraceEvent::Transition { node, transition } => format!(
            "{}  {}  {} -> {}  ({})",
            at(transition.at, t0),
            sim.name(*node),
            transition.from,
            transition.to,
            reason_text(transition.reason)
        ),
        TraceEvent::AddressesAdded { at: t, node, .. } => {
            format!("{}  {}  adds VIP {VIP}", at(*t, t0), sim.name(*node))
        }
        TraceEvent::AddressesRemoved { at: t, node, .. } => {
            format!("{}  {}  removes VIP {VIP}", at(*t, t0), sim.name(*node))
        }
        TraceEvent::Announced { at: t, node, .. } => format!(
            "{}  {}  sends gratuitous ARP for {VIP}",
            at(*t, t0),
            sim.name(*node)
        ),
        TraceEvent::Crashed { at: t, node } => format!(
            "{}  {}  CRASHES (kill -9: no priority-0 advert, VIP gone with it)",
            at(*t, t0),
            sim.name(*node)
        ),
        TraceEvent::Restarted { at: t, node } => {
            format!("{}  {}  restarts", at(*t, t0), sim.name(*node))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_shows_takeover_and_preemption() -> Result<()> {
        for (v, ms, kill) in [
            (3, 100, Kill::Crash),
            (2, 1000, Kill::Shutdown),
            (3, 10, Kill::Crash),
        ] {
            let out = run(&DemoArgs {
                vrrp_version: v,
                advert_ms: ms,
                kill,
                seed: 1,
                simulate: true,
            })?;
            assert!(out.contains("Takeover: r2 became master"), "{out}");
            assert!(out.contains("took the VIP back"), "{out}");
            assert!(out.contains("exactly one holder: yes"), "{out}");
        }
        Ok(())
    }

    #[test]
    fn demo_rejects_bad_interval() {
        let r = run(&DemoArgs {
            vrrp_version: 2,
            advert_ms: 500,
            kill: Kill::Crash,
            seed: 1,
            simulate: true,
        });
        assert!(r.is_err());
    }
}

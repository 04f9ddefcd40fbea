//! Simulated failover times as a ratio of the protocol's own intervals.
//!
//! For VRRPv3 at 10 ms, 100 ms and 1 s adverts, with two routers (priorities
//! 150/100) and three (150/100/50), the master (150) is stopped at a random
//! phase of its advert cycle, 200 seeded runs per row:
//!
//! * crash (`Sim::crash`, no goodbye): time from the crash until the
//!   priority-100 backup becomes Master, divided by that backup's
//!   Master_Down_Interval (`3 * Master_Adver_Interval + Skew_Time`);
//! * wire gap after a crash: the old master's last advert on the wire to the
//!   new master's first advert, divided by the same Master_Down_Interval;
//! * graceful shutdown (`Sim::shutdown`, priority-0 advert): time from the
//!   shutdown until the backup is Master, divided by its Skew_Time.
//!
//! The wire has a fixed one-way delay of 100 µs, so that the send time of an
//! advert is exactly its receive time minus 100 µs.
//!
//! ```text
//! cargo run --release -p vigil-vrrp --example failover_ratio [RUNS] [SEED]
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::time::Duration;

use vigil_vrrp::sim::{Sim, SplitMix64, TraceEvent, Wire};
use vigil_vrrp::{InstanceConfig, InstanceId, Interval, State, Timestamp};

const VRID: u8 = 51;
const DELAY: Duration = Duration::from_micros(100);
const MASTER: usize = 0;
const BACKUP: usize = 1;

type Error = Box<dyn std::error::Error>;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A LAN of `priorities.len()` routers with the first one settled as master.
fn lan(seed: u64, interval: Interval, priorities: &[u8]) -> Result<Sim, Error> {
    let wire = Wire {
        min_delay: DELAY,
        max_delay: DELAY,
        loss_ppm: 0,
    };
    let mut sim = Sim::new(seed, wire);
    for (k, prio) in priorities.iter().enumerate() {
        let me = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 11 + k as u8));
        let mut cfg = InstanceConfig::new("VI_1", VRID, me, vec![ip("192.0.2.100")]);
        cfg.priority = *prio;
        cfg.advert_interval = interval;
        sim.add_node(format!("r{prio}"), vec![cfg], vec![])?;
    }
    for k in 0..priorities.len() {
        sim.start(k);
    }
    // All start as Backup; the highest priority has the shortest
    // Master_Down_Interval and takes over after ~3.6 intervals.
    sim.run_for(interval.as_duration() * 6);
    if sim.masters(VRID) != [MASTER] {
        return Err(format!("no single master after startup: {:?}", sim.masters(VRID)).into());
    }
    Ok(sim)
}

/// Advance to a random phase of the master's advert cycle (after a few
/// whole cycles of steady state).
fn random_phase(sim: &mut Sim, rng: &mut SplitMix64, interval: Interval) {
    let i = interval.as_duration();
    let phase = Duration::from_nanos(rng.below(i.as_nanos() as u64));
    sim.run_for(i * 10 + phase);
}

/// When `node` next became Master after trace index `from`.
fn became_master(sim: &Sim, from: usize, node: usize) -> Option<Timestamp> {
    sim.trace().get(from..)?.iter().find_map(|e| match e {
        TraceEvent::Transition {
            node: n,
            transition,
        } if *n == node && transition.to == State::Master => Some(transition.at),
        _ => None,
    })
}

fn backup_timing(sim: &Sim) -> Result<(Duration, Duration), Error> {
    let b = sim
        .router(BACKUP)
        .and_then(|r| r.instance(InstanceId(0)))
        .ok_or("backup instance")?;
    Ok((b.master_down_interval(), b.skew_time()))
}

fn ratio(d: Duration, of: Duration) -> f64 {
    d.as_secs_f64() / of.as_secs_f64()
}

#[derive(Default)]
struct Samples {
    crash: Vec<f64>,
    gap: Vec<f64>,
    graceful: Vec<f64>,
    mdi: Duration,
    skew: Duration,
}

fn crash_run(seed: u64, interval: Interval, prios: &[u8], s: &mut Samples) -> Result<(), Error> {
    let mut rng = SplitMix64(seed ^ 0xc4a5);
    let mut sim = lan(seed, interval, prios)?;
    random_phase(&mut sim, &mut rng, interval);
    let (mdi, skew) = backup_timing(&sim)?;
    s.mdi = mdi;
    s.skew = skew;
    let mark = sim.trace().len();
    let crashed_at = sim.now();
    sim.crash(MASTER);
    // Let the adverts already on the wire arrive, then read when the backup
    // last heard the old master.
    sim.run_until(crashed_at + DELAY);
    let heard = sim
        .router(BACKUP)
        .and_then(|r| r.instance(InstanceId(0)))
        .and_then(|i| i.master())
        .ok_or("backup knows no master")?;
    if heard.address != ip("192.0.2.11") {
        return Err(format!("backup's master is {}", heard.address).into());
    }
    let last_advert_sent =
        Timestamp::from_nanos(heard.last_seen.as_nanos() - DELAY.as_nanos() as u64);
    sim.run_for(mdi * 2);
    let at = became_master(&sim, mark, BACKUP).ok_or("backup never became master")?;
    if sim.masters(VRID) != [BACKUP] {
        return Err(format!("masters after crash: {:?}", sim.masters(VRID)).into());
    }
    s.crash.push(ratio(at - crashed_at, mdi));
    // become_master sends its first advert at once.
    s.gap.push(ratio(at - last_advert_sent, mdi));
    Ok(())
}

fn shutdown_run(seed: u64, interval: Interval, prios: &[u8], s: &mut Samples) -> Result<(), Error> {
    let mut rng = SplitMix64(seed ^ 0x5d0e);
    let mut sim = lan(seed, interval, prios)?;
    random_phase(&mut sim, &mut rng, interval);
    let (_, skew) = backup_timing(&sim)?;
    let mark = sim.trace().len();
    let stopped_at = sim.now();
    sim.shutdown(MASTER);
    sim.run_for(interval.as_duration() * 8);
    let at = became_master(&sim, mark, BACKUP).ok_or("backup never became master")?;
    if sim.masters(VRID) != [BACKUP] {
        return Err(format!("masters after shutdown: {:?}", sim.masters(VRID)).into());
    }
    s.graceful.push(ratio(at - stopped_at, skew));
    Ok(())
}

fn summary(v: &mut [f64]) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let med = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    (v[0], med, v[n - 1])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let runs: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(200);
    let seed: u64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(0x5eed);

    println!(
        "VRRPv3, VRID {VRID}, fixed one-way delay {} µs, {runs} seeded runs per row (seed {seed}).",
        DELAY.as_micros()
    );
    println!("Ratios are of the priority-100 backup's Master_Down_Interval (MDI) or Skew_Time.");
    println!();
    println!("| advert | routers | measure | reference | min | median | max | expected |");
    println!("|---|---|---|---|---|---|---|---|");
    for cs in [1u16, 10, 100] {
        let interval = Interval::from_centis(cs);
        for prios in [&[150u8, 100][..], &[150, 100, 50][..]] {
            let mut s = Samples::default();
            for r in 0..runs {
                let seed = seed.wrapping_add(r.wrapping_mul(0x9e37_79b9));
                crash_run(seed, interval, prios, &mut s)?;
                shutdown_run(seed, interval, prios, &mut s)?;
            }
            let topo = prios
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join("/");
            let i = interval.as_duration();
            let (mdi, skew) = (s.mdi, s.skew);
            let d = DELAY.as_secs_f64();
            // Crash at a uniform phase: the backup's timer was last reset
            // between 0 and one interval before the crash.
            let crash_lo = (mdi.as_secs_f64() - i.as_secs_f64() + d) / mdi.as_secs_f64();
            let crash_hi = (mdi.as_secs_f64() + d) / mdi.as_secs_f64();
            let gap = (mdi.as_secs_f64() + d) / mdi.as_secs_f64();
            let grace = (skew.as_secs_f64() + d) / skew.as_secs_f64();
            let rows = [
                (
                    "crash → backup Master",
                    format!("MDI {:.3} ms", ms(mdi)),
                    &mut s.crash,
                    format!("{crash_lo:.3} … {crash_hi:.3}"),
                ),
                (
                    "wire gap after crash",
                    format!("MDI {:.3} ms", ms(mdi)),
                    &mut s.gap,
                    format!("{gap:.4}"),
                ),
                (
                    "graceful → backup Master",
                    format!("Skew {:.3} ms", ms(skew)),
                    &mut s.graceful,
                    format!("{grace:.4}"),
                ),
            ];
            for (what, reference, v, expected) in rows {
                let (lo, med, hi) = summary(v);
                println!(
                    "| {} | {topo} | {what} | {reference} | {lo:.4} | {med:.4} | {hi:.4} | {expected} |",
                    interval
                );
            }
        }
    }
    Ok(())
}

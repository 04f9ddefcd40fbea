//! The engine proven in the deterministic simulator: N routers on a lossy
//! virtual LAN with partitions, crashes, restarts and priority changes.
//!
//! The central property (issue: "never leaves two masters after the network
//! settles"): after any sequence of faults followed by a quiet period longer
//! than Master_Down_Interval, there is exactly one master per VRID, it holds
//! the addresses alone, and it is the highest-priority live router (with
//! preemption), or merely one master (without).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::time::Duration;

use proptest::prelude::*;
use vigil_vrrp::sim::{Sim, TraceEvent, Wire};
use vigil_vrrp::{Event, InstanceConfig, Interval, Reason, State, Timestamp, Version};

const VRID: u8 = 51;

fn node_cfg(
    i: usize,
    prio: u8,
    version: Version,
    interval: Interval,
    preempt: bool,
) -> InstanceConfig {
    let me: IpAddr = format!("192.0.2.{}", 11 + i).parse().unwrap();
    let mut c = InstanceConfig::new(
        format!("VI_{i}"),
        VRID,
        me,
        vec!["192.0.2.100".parse().unwrap()],
    );
    c.version = version;
    c.priority = prio;
    c.advert_interval = interval;
    c.preempt = preempt;
    c
}

fn cluster(prios: &[u8], version: Version, interval: Interval, preempt: bool, seed: u64) -> Sim {
    let mut sim = Sim::new(seed, Wire::default());
    for (i, p) in prios.iter().enumerate() {
        sim.add_node(
            format!("r{i}"),
            vec![node_cfg(i, *p, version, interval, preempt)],
            vec![],
        )
        .unwrap();
    }
    for i in 0..prios.len() {
        sim.start(i);
    }
    sim
}

/// Master_Down_Interval of the slowest (lowest-priority) possible backup.
fn worst_mdi(interval: Interval, version: Version) -> Duration {
    let skew = match version {
        Version::V2 => Duration::from_secs(1),
        Version::V3 => interval.as_duration(),
    };
    interval.as_duration() * 3 + skew
}

fn first_transition_to_master_after(
    sim: &Sim,
    after: Timestamp,
) -> Option<(usize, Timestamp, Reason)> {
    sim.trace().iter().find_map(|e| match e {
        TraceEvent::Transition { node, transition }
            if transition.to == State::Master && transition.at >= after =>
        {
            Some((*node, transition.at, transition.reason))
        }
        _ => None,
    })
}

#[test]
fn three_routers_elect_the_highest_priority() {
    let mut sim = cluster(
        &[100, 200, 150],
        Version::V3,
        Interval::from_centis(10),
        true,
        1,
    );
    sim.run_for(Duration::from_secs(2));
    assert_eq!(sim.masters(VRID), vec![1]);
    assert_eq!(sim.holders(VRID), vec![1]);
}

#[test]
fn crash_of_master_is_taken_over_within_master_down_interval() {
    for (version, interval) in [
        (Version::V2, Interval::from_secs(1)),
        (Version::V3, Interval::from_centis(100)),
        (Version::V3, Interval::from_centis(10)),
        (Version::V3, Interval::from_centis(1)),
    ] {
        let mut sim = cluster(&[150, 100, 50], version, interval, true, 7);
        sim.run_for(Duration::from_secs(5));
        assert_eq!(sim.masters(VRID), vec![0]);
        // Crash at an odd phase of the advert cycle.
        sim.run_for(interval.as_duration() / 3);
        let crash = sim.now();
        sim.crash(0);
        sim.run_for(Duration::from_secs(6));
        let (node, at, reason) = first_transition_to_master_after(&sim, crash).unwrap();
        assert_eq!(node, 1, "the priority-100 router takes over, not the 50");
        assert_eq!(reason, Reason::MasterDown);
        let b = sim
            .router(1)
            .unwrap()
            .instance(vigil_vrrp::InstanceId(0))
            .unwrap();
        let mdi = match version {
            Version::V2 => interval.as_duration() * 3 + Duration::from_nanos(609_375_000),
            Version::V3 => interval.as_duration() * 3 + interval.as_duration() * 156 / 256,
        };
        let _ = b;
        let took = at - crash;
        // The backup's timer restarted at the master's last advert, so the
        // takeover lands in [MDI - interval, MDI] (+ wire delay).
        assert!(
            took <= mdi + Duration::from_millis(1),
            "{version} {interval}: {took:?} > {mdi:?}"
        );
        assert!(
            took + interval.as_duration() >= mdi,
            "{version} {interval}: {took:?} too early"
        );
        assert_eq!(sim.masters(VRID), vec![1]);
        assert_eq!(sim.holders(VRID), vec![1]);
    }
}

#[test]
fn graceful_shutdown_hands_over_after_skew_time() {
    let interval = Interval::from_centis(100);
    let mut sim = cluster(&[150, 100], Version::V3, interval, true, 3);
    sim.run_for(Duration::from_secs(5));
    let stop = sim.now();
    sim.shutdown(0);
    sim.run_for(Duration::from_secs(2));
    let (node, at, reason) = first_transition_to_master_after(&sim, stop).unwrap();
    assert_eq!((node, reason), (1, Reason::MasterResigned));
    let skew = Duration::from_millis(1000) * 156 / 256;
    let took = at - stop;
    assert!(
        took >= skew && took <= skew + Duration::from_millis(1),
        "{took:?} vs skew {skew:?}"
    );
}

#[test]
fn split_brain_heals_to_one_master() {
    for holdoff in [None, Some(Duration::from_secs(1))] {
        let interval = Interval::from_centis(10);
        let mut sim = Sim::new(11, Wire::default());
        for (i, p) in [150u8, 100].iter().enumerate() {
            let mut c = node_cfg(i, *p, Version::V3, interval, true);
            c.announce.lower_prio_holdoff = holdoff;
            sim.add_node(format!("r{i}"), vec![c], vec![]).unwrap();
            sim.start(i);
        }
        sim.run_for(Duration::from_secs(1));
        sim.set_segment(1, 1);
        sim.run_for(Duration::from_secs(1));
        assert_eq!(
            sim.masters(VRID),
            vec![0, 1],
            "partitioned: both are master"
        );
        sim.heal();
        let healed = sim.now();
        // Within Master_Down_Interval + one advert interval, one master remains.
        sim.run_for(worst_mdi(interval, Version::V3) + interval.as_duration());
        assert_eq!(sim.masters(VRID), vec![0], "holdoff {holdoff:?}");
        assert_eq!(sim.holders(VRID), vec![0]);
        // The winner re-announces the addresses after the heal when it answers
        // lower-priority adverts (keepalived's default).
        let reannounced = sim
            .trace()
            .iter()
            .any(|e| matches!(e, TraceEvent::Announced { at, node: 0, .. } if *at >= healed));
        assert_eq!(reannounced, holdoff.is_some());
    }
}

#[test]
fn nopreempt_keeps_a_lower_priority_master() {
    let interval = Interval::from_centis(10);
    let mut sim = cluster(&[150, 100], Version::V3, interval, false, 5);
    sim.run_for(Duration::from_secs(2));
    assert_eq!(sim.masters(VRID), vec![0]);
    sim.crash(0);
    sim.run_for(Duration::from_secs(2));
    assert_eq!(sim.masters(VRID), vec![1]);
    sim.restart(0).unwrap();
    sim.run_for(Duration::from_secs(5));
    assert_eq!(
        sim.masters(VRID),
        vec![1],
        "the returning 150 does not preempt"
    );
    // With preemption it would have.
    let mut sim = cluster(&[150, 100], Version::V3, interval, true, 5);
    sim.run_for(Duration::from_secs(2));
    sim.crash(0);
    sim.run_for(Duration::from_secs(2));
    sim.restart(0).unwrap();
    sim.run_for(Duration::from_secs(5));
    assert_eq!(sim.masters(VRID), vec![0]);
}

#[test]
fn peer_restarted_a_hundred_times_never_leaves_two_masters() {
    let interval = Interval::from_centis(10);
    let mut sim = cluster(&[100, 150], Version::V3, interval, true, 9);
    sim.run_for(Duration::from_secs(1));
    for k in 0..100u64 {
        sim.crash(1);
        sim.run_for(Duration::from_millis(50 + (k * 37) % 400));
        sim.restart(1).unwrap();
        sim.run_for(Duration::from_millis(20 + (k * 53) % 600));
    }
    sim.run_for(worst_mdi(interval, Version::V3) * 2);
    assert_eq!(sim.masters(VRID), vec![1]);
    assert_eq!(sim.holders(VRID), vec![1]);
}

#[test]
fn sync_group_moves_together_across_the_cluster() {
    let interval = Interval::from_centis(10);
    let mut sim = Sim::new(4, Wire::default());
    for (i, p) in [150u8, 100].iter().enumerate() {
        let a = node_cfg(i, *p, Version::V3, interval, true);
        let mut b = a.clone();
        b.vrid = 52;
        b.virtual_addresses = vec!["192.0.2.101".parse().unwrap()];
        sim.add_node(format!("r{i}"), vec![a, b], vec![vec![0, 1]])
            .unwrap();
        sim.start(i);
    }
    sim.run_for(Duration::from_secs(2));
    assert_eq!(sim.masters(51), vec![0]);
    assert_eq!(sim.masters(52), vec![0]);
    // A tracked failure on r0's first instance takes both of its instances to
    // Fault; r1 takes over both VRIDs.
    sim.event(0, 0, Event::SetFault(true));
    assert_eq!(sim.state(0, 1), Some(State::Fault));
    sim.run_for(Duration::from_secs(2));
    assert_eq!(sim.masters(51), vec![1]);
    assert_eq!(sim.masters(52), vec![1]);
    sim.event(0, 0, Event::SetFault(false));
    sim.run_for(Duration::from_secs(2));
    assert_eq!(sim.masters(51), vec![0]);
    assert_eq!(sim.masters(52), vec![0]);
}

#[test]
fn rogue_with_wrong_password_cannot_take_over() {
    let mut sim = Sim::new(2, Wire::default());
    for (i, (p, pw)) in [(100u8, "secret1"), (150, "secret1"), (254, "wrong")]
        .iter()
        .enumerate()
    {
        let mut c = node_cfg(i, *p, Version::V2, Interval::from_secs(1), true);
        c.auth = vigil_vrrp::Auth::simple(pw);
        sim.add_node(format!("r{i}"), vec![c], vec![]).unwrap();
        sim.start(i);
    }
    sim.run_for(Duration::from_secs(10));
    // The rogue thinks it is master (nobody it trusts speaks), but the two
    // legitimate routers still agree among themselves.
    let masters = sim.masters(VRID);
    assert!(masters.contains(&1) && !masters.contains(&0), "{masters:?}");
    let drops = sim
        .router(1)
        .unwrap()
        .instance(vigil_vrrp::InstanceId(0))
        .unwrap()
        .stats()
        .drops;
    assert!(drops.get(vigil_vrrp::DropReason::AuthFailure) > 0);
}

// ----------------------------------------------------------- property tests

#[derive(Clone, Debug)]
enum Op {
    Wait(u64),
    Crash(usize),
    Restart(usize),
    Shutdown(usize),
    Partition(u8),
    Heal,
    Loss(u32),
    Priority(usize, u8),
    Fault(usize, bool),
}

fn op(n: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1u64..5_000).prop_map(Op::Wait),
        1 => (0..n).prop_map(Op::Crash),
        1 => (0..n).prop_map(Op::Restart),
        1 => (0..n).prop_map(Op::Shutdown),
        1 => any::<u8>().prop_map(Op::Partition),
        1 => Just(Op::Heal),
        1 => (0u32..500_000).prop_map(Op::Loss),
        1 => ((0..n), 1u8..=254).prop_map(|(i, p)| Op::Priority(i, p)),
        1 => ((0..n), any::<bool>()).prop_map(|(i, f)| Op::Fault(i, f)),
    ]
}

fn scenario() -> impl Strategy<Value = (Vec<u8>, bool, u16, bool, Option<u64>, u64, Vec<Op>)> {
    (2usize..=4).prop_flat_map(|n| {
        (
            proptest::collection::vec(1u8..=254, n),
            any::<bool>(), // v2?
            prop_oneof![Just(1u16), Just(10), Just(100)],
            any::<bool>(), // preempt
            prop_oneof![Just(None), Just(Some(1000u64))],
            any::<u64>(), // seed
            proptest::collection::vec(op(n), 1..16),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn settles_to_exactly_one_master((prios, v2, cs, preempt, holdoff, seed, ops) in scenario()) {
        let (version, interval) = if v2 {
            (Version::V2, Interval::from_secs(1))
        } else {
            (Version::V3, Interval::from_centis(cs))
        };
        let mut sim = Sim::new(seed, Wire::default());
        let mut prio = prios.clone();
        let mut alive = vec![true; prios.len()];
        let mut faulted = vec![false; prios.len()];
        for (i, p) in prios.iter().enumerate() {
            let mut c = node_cfg(i, *p, version, interval, preempt);
            c.announce.lower_prio_holdoff = holdoff.map(Duration::from_millis);
            sim.add_node(format!("r{i}"), vec![c], vec![]).unwrap();
            sim.start(i);
        }
        for op in ops {
            match op {
                Op::Wait(ms) => sim.run_for(Duration::from_millis(ms)),
                Op::Crash(i) => { sim.crash(i); alive[i] = false; }
                Op::Shutdown(i) => { sim.shutdown(i); alive[i] = false; }
                Op::Restart(i) => {
                    sim.restart(i).unwrap();
                    alive[i] = true;
                    prio[i] = prios[i];
                    faulted[i] = false;
                }
                Op::Partition(mask) => {
                    for i in 0..prios.len() {
                        sim.set_segment(i, u32::from((mask >> i) & 1));
                    }
                }
                Op::Heal => sim.heal(),
                Op::Loss(ppm) => sim.set_wire(Wire { loss_ppm: ppm, ..Wire::default() }),
                Op::Priority(i, p) => {
                    if alive[i] {
                        sim.event(i, 0, Event::SetPriority(p));
                        prio[i] = p;
                    }
                }
                Op::Fault(i, f) => {
                    if alive[i] {
                        sim.event(i, 0, Event::SetFault(f));
                        faulted[i] = f;
                    }
                }
            }
        }
        // Quiet period: the network heals and stops losing packets.
        sim.heal();
        sim.set_wire(Wire::default());
        sim.run_for(worst_mdi(interval, version) * 2 + interval.as_duration());

        let live: Vec<usize> = (0..prios.len()).filter(|i| alive[*i] && !faulted[*i]).collect();
        let masters = sim.masters(VRID);
        if live.is_empty() {
            prop_assert!(masters.is_empty());
        } else {
            prop_assert_eq!(masters.len(), 1, "masters {:?} live {:?} prio {:?}", masters, live, prio);
            prop_assert_eq!(sim.holders(VRID), masters.clone(), "addresses on the master only");
            let best = live.iter().map(|i| prio[*i]).max().unwrap_or(0);
            if preempt {
                prop_assert_eq!(prio[masters[0]], best, "highest priority wins under preempt");
            }
        }
    }
}

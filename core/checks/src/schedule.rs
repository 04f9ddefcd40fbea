//! When checks run, and what their results add up to.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use serde::Serialize;
use vigil_vrrp::Timestamp;

/// A check registered with a [`Scheduler`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct CheckId(pub usize);

/// How one check is scheduled and debounced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Time between the starts of two runs.
    pub interval: Duration,
    /// Delay before the first run.
    pub start_delay: Duration,
    /// After a failure that has not yet made a healthy check fail, run again
    /// after this delay instead of a full interval (keepalived's
    /// `delay_before_retry`); `None` keeps the interval.
    pub retry_delay: Option<Duration>,
    /// Consecutive failures that make a healthy check failed.
    pub fall: u32,
    /// Consecutive successes that make a failed check healthy.
    pub rise: u32,
    /// Start failed (keepalived's `init_fail`) rather than healthy.
    pub init_fail: bool,
}

impl Schedule {
    /// An interval with keepalived's defaults for the rest.
    pub fn every(interval: Duration) -> Schedule {
        Schedule {
            interval,
            start_delay: Duration::ZERO,
            retry_delay: None,
            fall: 1,
            rise: 1,
            init_fail: false,
        }
    }
}

/// Counters of one check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Runs started.
    pub runs: u64,
    /// Runs that passed.
    pub passed: u64,
    /// Runs that failed.
    pub failed: u64,
    /// Slots skipped because the previous run had not reported yet.
    pub overruns: u64,
    /// Health changes (up to down or back).
    pub changes: u64,
}

#[derive(Debug)]
struct Entry {
    schedule: Schedule,
    healthy: bool,
    /// Consecutive results that disagree with `healthy`.
    streak: u32,
    in_flight: bool,
    /// When the next run is due; stale heap entries are skipped against it.
    due: Timestamp,
    stats: Stats,
}

/// Runs checks on their schedules and debounces their results.
///
/// The first run of each check is placed at its start delay plus a phase
/// derived from its id and the scheduler's seed, spread over one interval,
/// so that 1,000 checks with the same interval do not all fire in the same
/// millisecond; later runs keep that phase (one interval apart), so the
/// spacing of one check's runs stays exact. A check whose run has not
/// reported when its next slot comes skips that slot (counted as an
/// overrun): a slow check never queues runs behind itself, and never
/// delays another check.
#[derive(Debug)]
pub struct Scheduler {
    entries: Vec<Entry>,
    heap: BinaryHeap<Reverse<(Timestamp, usize)>>,
    seed: u64,
}

/// SplitMix64: a well-mixed, deterministic phase per check.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Scheduler {
    /// An empty scheduler; `seed` decides the phases (the daemon uses a
    /// random one, tests a fixed one).
    pub fn new(seed: u64) -> Scheduler {
        Scheduler {
            entries: Vec::new(),
            heap: BinaryHeap::new(),
            seed,
        }
    }

    /// Register a check at `now`; its first run is due after its start
    /// delay plus its phase.
    pub fn add(&mut self, now: Timestamp, schedule: Schedule) -> CheckId {
        let id = self.entries.len();
        let interval_ns = u64::try_from(schedule.interval.as_nanos()).unwrap_or(u64::MAX);
        let phase = match interval_ns {
            0 => 0,
            n => mix(self.seed ^ (id as u64)) % n,
        };
        let due = now + schedule.start_delay + Duration::from_nanos(phase);
        self.entries.push(Entry {
            healthy: !schedule.init_fail,
            schedule,
            streak: 0,
            in_flight: false,
            due,
            stats: Stats::default(),
        });
        self.heap.push(Reverse((due, id)));
        CheckId(id)
    }

    /// The next moment something is due.
    pub fn poll_timeout(&mut self) -> Option<Timestamp> {
        while let Some(Reverse((t, id))) = self.heap.peek().copied() {
            if self.entries.get(id).is_some_and(|e| e.due == t) {
                return Some(t);
            }
            self.heap.pop();
        }
        None
    }

    /// The checks to start now. Each is marked in flight until
    /// [`Scheduler::on_result`] reports it.
    pub fn handle_timeout(&mut self, now: Timestamp) -> Vec<CheckId> {
        let mut start = Vec::new();
        while let Some(Reverse((t, id))) = self.heap.peek().copied() {
            if t > now {
                break;
            }
            self.heap.pop();
            let Some(e) = self.entries.get_mut(id) else {
                continue;
            };
            if e.due != t {
                continue;
            }
            // The next slot keeps the phase: one interval after this one,
            // or the first slot after `now` if the caller woke up late.
            let mut next = t + e.schedule.interval;
            while next <= now && !e.schedule.interval.is_zero() {
                next = next + e.schedule.interval;
            }
            e.due = next;
            self.heap.push(Reverse((next, id)));
            if e.in_flight {
                e.stats.overruns += 1;
                continue;
            }
            e.in_flight = true;
            e.stats.runs += 1;
            start.push(CheckId(id));
        }
        start
    }

    /// A run finished. Returns the new health when it changed.
    pub fn on_result(&mut self, now: Timestamp, id: CheckId, passed: bool) -> Option<bool> {
        let e = self.entries.get_mut(id.0)?;
        if !e.in_flight {
            return None;
        }
        e.in_flight = false;
        if passed {
            e.stats.passed += 1;
        } else {
            e.stats.failed += 1;
        }
        if passed == e.healthy {
            e.streak = 0;
            return None;
        }
        e.streak += 1;
        let needed = if e.healthy {
            e.schedule.fall
        } else {
            e.schedule.rise
        };
        if e.streak >= needed.max(1) {
            e.healthy = passed;
            e.streak = 0;
            e.stats.changes += 1;
            return Some(passed);
        }
        // A failure on the way down: retry sooner if asked to.
        if let (false, Some(d)) = (passed, e.schedule.retry_delay) {
            let retry = now + d;
            if retry < e.due {
                e.due = retry;
                self.heap.push(Reverse((retry, id.0)));
            }
        }
        None
    }

    /// The debounced health of a check.
    pub fn healthy(&self, id: CheckId) -> bool {
        self.entries.get(id.0).is_some_and(|e| e.healthy)
    }

    /// Counters of a check.
    pub fn stats(&self, id: CheckId) -> Stats {
        self.entries.get(id.0).map(|e| e.stats).unwrap_or_default()
    }

    /// When a check runs next.
    pub fn next_run(&self, id: CheckId) -> Option<Timestamp> {
        self.entries.get(id.0).map(|e| e.due)
    }

    /// Number of checks.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn ms(n: u64) -> Timestamp {
        Timestamp::from_millis(n)
    }

    /// Start times per check, and the health changes.
    type Trace = (Vec<Vec<Timestamp>>, Vec<(Timestamp, CheckId, bool)>);

    /// Run every due check and answer with `result(id, run)`.
    fn drive(
        s: &mut Scheduler,
        until: Timestamp,
        mut result: impl FnMut(CheckId, u64) -> bool,
    ) -> Trace {
        let mut starts = vec![Vec::new(); s.len()];
        let mut changes = Vec::new();
        while let Some(t) = s.poll_timeout() {
            if t > until {
                break;
            }
            for id in s.handle_timeout(t) {
                starts[id.0].push(t);
                let n = s.stats(id).runs;
                if let Some(h) = s.on_result(t, id, result(id, n)) {
                    changes.push((t, id, h));
                }
            }
        }
        (starts, changes)
    }

    #[test]
    fn runs_keep_their_interval_and_phases_are_spread() {
        let mut s = Scheduler::new(7);
        let ids: Vec<CheckId> = (0..100)
            .map(|_| s.add(ms(0), Schedule::every(Duration::from_secs(1))))
            .collect();
        let (starts, _) = drive(&mut s, ms(10_000), |_, _| true);
        for id in &ids {
            let st = &starts[id.0];
            assert!(st.len() >= 9, "{st:?}");
            assert!(st
                .windows(2)
                .all(|w| w[1].saturating_since(w[0]) == Duration::from_secs(1)));
            assert!(st[0] < ms(1000), "first run within one interval");
        }
        // Spread: the first runs fall in many different 100 ms buckets.
        let mut buckets: Vec<u64> = starts
            .iter()
            .map(|s| s[0].as_nanos() / 100_000_000)
            .collect();
        buckets.sort_unstable();
        buckets.dedup();
        assert!(buckets.len() >= 8, "phases bunched: {buckets:?}");
    }

    #[test]
    fn fall_and_rise_debounce() {
        let mut s = Scheduler::new(1);
        let id = s.add(
            ms(0),
            Schedule {
                fall: 3,
                rise: 2,
                ..Schedule::every(Duration::from_millis(100))
            },
        );
        // Runs 1-2 pass, 3-7 fail, 8+ pass.
        let (_, changes) = drive(&mut s, ms(2000), |_, n| !(3..=7).contains(&n));
        let flips: Vec<bool> = changes.iter().map(|c| c.2).collect();
        assert_eq!(flips, [false, true]);
        let stats = s.stats(id);
        assert_eq!(stats.changes, 2);
        // Down after the 3rd failure (run 5), up after the 2nd success (run 9).
        assert_eq!(stats.failed, 5);
        assert!(s.healthy(id));
    }

    #[test]
    fn init_fail_starts_down() {
        let mut s = Scheduler::new(1);
        let id = s.add(
            ms(0),
            Schedule {
                init_fail: true,
                ..Schedule::every(Duration::from_millis(100))
            },
        );
        assert!(!s.healthy(id));
        let (_, changes) = drive(&mut s, ms(500), |_, _| true);
        assert_eq!(changes.len(), 1);
        assert!(changes[0].2);
    }

    #[test]
    fn a_slow_run_skips_slots_and_delays_nobody() {
        let mut s = Scheduler::new(3);
        let slow = s.add(ms(0), Schedule::every(Duration::from_millis(100)));
        let fast = s.add(ms(0), Schedule::every(Duration::from_millis(100)));
        let mut fast_runs = 0;
        let mut t = ms(0);
        while t < ms(1000) {
            t = s.poll_timeout().unwrap();
            for id in s.handle_timeout(t) {
                if id == fast {
                    fast_runs += 1;
                    s.on_result(t, id, true);
                }
                // `slow` never reports.
            }
        }
        assert_eq!(s.stats(slow).runs, 1);
        assert!(s.stats(slow).overruns >= 8);
        assert!(fast_runs >= 9, "{fast_runs}");
    }

    #[test]
    fn retries_come_sooner_after_a_failure() {
        let mut s = Scheduler::new(5);
        let id = s.add(
            ms(0),
            Schedule {
                fall: 3,
                retry_delay: Some(Duration::from_millis(50)),
                ..Schedule::every(Duration::from_secs(1))
            },
        );
        let (starts, changes) = drive(&mut s, ms(3000), |_, _| false);
        let st = &starts[id.0];
        // First run, then two retries 50 ms apart, then down.
        assert_eq!(st[1].saturating_since(st[0]), Duration::from_millis(50));
        assert_eq!(st[2].saturating_since(st[1]), Duration::from_millis(50));
        assert_eq!(changes.first().map(|c| (c.0, c.2)), Some((st[2], false)));
    }

    #[test]
    fn a_late_wake_up_does_not_run_missed_slots() {
        let mut s = Scheduler::new(9);
        let id = s.add(ms(0), Schedule::every(Duration::from_millis(100)));
        let first = s.poll_timeout().unwrap();
        // Wake up 1 s late: one run, next slot in the future on the same phase.
        let late = first + Duration::from_millis(1000);
        assert_eq!(s.handle_timeout(late), [id]);
        let next = s.next_run(id).unwrap();
        assert!(next > late && next <= late + Duration::from_millis(100));
        assert_eq!(next.saturating_since(first).as_millis() % 100, 0);
    }
}

//! keepalived's tracking: what a check, an interface or a file does to the
//! priority (or the Fault state) of the instances that track it.
//!
//! - A tracked object **without a weight** puts the instance in Fault while
//!   it is down (a file: while its value is not 0).
//! - **With a weight** `w > 0`, the instance gains `w` while the object is
//!   up; with `w < 0` it loses `|w|` while the object is down. `reverse`
//!   swaps up and down. A file contributes its integer value times `w`.
//! - The effective priority is the configured one plus every contribution,
//!   kept within 1..=254; an address owner (255) keeps 255, as in keepalived.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;

/// Something an instance can track.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Source {
    /// A `[[check]]` by name.
    Check(String),
    /// A network interface by name (down = link down or removed).
    Interface(String),
    /// A file holding an integer.
    File(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Check(n) => write!(f, "check {n:?}"),
            Source::Interface(n) => write!(f, "interface {n:?}"),
            Source::File(p) => write!(f, "file {}", p.display()),
        }
    }
}

/// What a tracked object does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Weight {
    /// Down means Fault.
    Fault,
    /// Add or subtract as described in the module docs; `reverse` swaps up and down.
    Priority {
        /// -254..=254.
        weight: i32,
        /// keepalived's `reverse`.
        reverse: bool,
    },
}

/// One tracked object of an instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Track {
    /// What is tracked.
    pub source: Source,
    /// What it does.
    pub weight: Weight,
}

/// A change to apply to an instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Effect {
    /// The instance (index given by [`Tracker::add_instance`]).
    pub instance: usize,
    /// Its effective priority now.
    pub priority: u8,
    /// Whether it is in Fault now.
    pub fault: bool,
    /// What changed, for logs and status: "check \"web\" down (-20)".
    pub reason: String,
}

#[derive(Debug)]
struct Inst {
    base: u8,
    tracks: Vec<Track>,
    priority: u8,
    fault: bool,
}

/// The value of a source: up/down, or a file's integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Value {
    Up(bool),
    Number(i64),
}

/// Effective priorities and Fault states of instances from their tracked
/// objects. Objects start up (files at 0) until told otherwise.
#[derive(Debug, Default)]
pub struct Tracker {
    instances: Vec<Inst>,
    values: HashMap<Source, Value>,
}

impl Tracker {
    /// An empty tracker.
    pub fn new() -> Tracker {
        Tracker::default()
    }

    /// Register an instance with its configured priority and tracks; returns
    /// its index.
    pub fn add_instance(&mut self, base: u8, tracks: Vec<Track>) -> usize {
        let mut i = Inst {
            base,
            tracks,
            priority: base,
            fault: false,
        };
        let (p, f) = evaluate(&i, &self.values);
        i.priority = p;
        i.fault = f;
        self.instances.push(i);
        self.instances.len() - 1
    }

    /// A check or interface went up or down.
    pub fn set_up(&mut self, source: &Source, up: bool) -> Vec<Effect> {
        self.set(source, Value::Up(up))
    }

    /// A tracked file now holds `value`.
    pub fn set_number(&mut self, source: &Source, value: i64) -> Vec<Effect> {
        self.set(source, Value::Number(value))
    }

    fn set(&mut self, source: &Source, v: Value) -> Vec<Effect> {
        if self.values.get(source) == Some(&v) {
            return Vec::new();
        }
        self.values.insert(source.clone(), v);
        let what = match v {
            Value::Up(true) => format!("{source} up"),
            Value::Up(false) => format!("{source} down"),
            Value::Number(n) => format!("{source} = {n}"),
        };
        let mut out = Vec::new();
        for (idx, inst) in self.instances.iter_mut().enumerate() {
            if !inst.tracks.iter().any(|t| t.source == *source) {
                continue;
            }
            let (p, f) = evaluate(inst, &self.values);
            if (p, f) != (inst.priority, inst.fault) {
                let detail = match (f != inst.fault, f) {
                    (true, true) => "fault".to_string(),
                    (true, false) => "fault cleared".to_string(),
                    _ => format!("priority {} -> {p}", inst.priority),
                };
                inst.priority = p;
                inst.fault = f;
                out.push(Effect {
                    instance: idx,
                    priority: p,
                    fault: f,
                    reason: format!("{what}: {detail}"),
                });
            }
        }
        out
    }

    /// The effective priority and Fault state of an instance.
    pub fn state(&self, instance: usize) -> Option<(u8, bool)> {
        self.instances.get(instance).map(|i| (i.priority, i.fault))
    }

    /// Each tracked object of an instance with what it currently adds
    /// (`None` when it is a fault-only track), for status.
    pub fn contributions(&self, instance: usize) -> Vec<(Source, bool, Option<i32>)> {
        let Some(inst) = self.instances.get(instance) else {
            return Vec::new();
        };
        inst.tracks
            .iter()
            .map(|t| {
                let v = self.values.get(&t.source).copied();
                let (ok, delta) = contribution(t, v);
                (t.source.clone(), ok, delta)
            })
            .collect()
    }
}

/// Whether a track is healthy, and what it adds to the priority.
fn contribution(t: &Track, v: Option<Value>) -> (bool, Option<i32>) {
    let v = v.unwrap_or(match t.source {
        Source::File(_) => Value::Number(0),
        _ => Value::Up(true),
    });
    match (t.weight, v) {
        (Weight::Fault, Value::Up(up)) => (up, None),
        (Weight::Fault, Value::Number(n)) => (n == 0, None),
        (Weight::Priority { weight, reverse }, Value::Up(up)) => {
            let up = up != reverse;
            let delta = match (weight > 0, up) {
                (true, true) | (false, false) => weight,
                _ => 0,
            };
            (up, Some(delta))
        }
        (Weight::Priority { weight, reverse }, Value::Number(n)) => {
            let sign = if reverse { -1 } else { 1 };
            let delta = n
                .saturating_mul(i64::from(weight))
                .saturating_mul(sign)
                .clamp(-254, 254);
            (true, Some(i32::try_from(delta).unwrap_or(0)))
        }
    }
}

fn evaluate(inst: &Inst, values: &HashMap<Source, Value>) -> (u8, bool) {
    let mut sum: i64 = 0;
    let mut fault = false;
    for t in &inst.tracks {
        let (ok, delta) = contribution(t, values.get(&t.source).copied());
        match delta {
            None => fault |= !ok,
            Some(d) => sum += i64::from(d),
        }
    }
    if inst.base == 255 {
        return (255, fault);
    }
    let p = (i64::from(inst.base) + sum).clamp(1, 254);
    (u8::try_from(p).unwrap_or(1), fault)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn check(n: &str) -> Source {
        Source::Check(n.into())
    }

    fn w(weight: i32) -> Weight {
        Weight::Priority {
            weight,
            reverse: false,
        }
    }

    #[test]
    fn keepalived_weights() {
        let mut t = Tracker::new();
        let i = t.add_instance(
            100,
            vec![
                Track {
                    source: check("plus"),
                    weight: w(20),
                },
                Track {
                    source: check("minus"),
                    weight: w(-30),
                },
            ],
        );
        // Everything starts up: +20.
        assert_eq!(t.state(i), Some((120, false)));
        let e = t.set_up(&check("minus"), false);
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].priority, e[0].fault), (90, false));
        assert!(
            e[0].reason.contains("check \"minus\" down"),
            "{}",
            e[0].reason
        );
        let e = t.set_up(&check("plus"), false);
        assert_eq!(e[0].priority, 70);
        // Same value again: nothing.
        assert!(t.set_up(&check("plus"), false).is_empty());
        t.set_up(&check("plus"), true);
        t.set_up(&check("minus"), true);
        assert_eq!(t.state(i), Some((120, false)));
    }

    #[test]
    fn unweighted_means_fault_and_clamps_hold() {
        let mut t = Tracker::new();
        let a = t.add_instance(
            250,
            vec![
                Track {
                    source: Source::Interface("eth1".into()),
                    weight: Weight::Fault,
                },
                Track {
                    source: check("big"),
                    weight: w(100),
                },
            ],
        );
        let owner = t.add_instance(
            255,
            vec![Track {
                source: check("big"),
                weight: w(-100),
            }],
        );
        assert_eq!(t.state(a), Some((254, false)), "clamped to 254");
        let e = t.set_up(&Source::Interface("eth1".into()), false);
        assert_eq!(e.len(), 1);
        assert!(e[0].fault);
        assert!(e[0].reason.ends_with("fault"), "{}", e[0].reason);
        t.set_up(&check("big"), false);
        assert_eq!(
            t.state(owner),
            Some((255, false)),
            "an address owner keeps 255"
        );
        let e = t.set_up(&Source::Interface("eth1".into()), true);
        assert_eq!(e[0].reason, "interface \"eth1\" up: fault cleared");
    }

    #[test]
    fn reverse_and_files() {
        let f = Source::File("/run/prio".into());
        let mut t = Tracker::new();
        let i = t.add_instance(
            100,
            vec![
                Track {
                    source: check("maint"),
                    weight: Weight::Priority {
                        weight: -50,
                        reverse: true,
                    },
                },
                Track {
                    source: f.clone(),
                    weight: w(2),
                },
            ],
        );
        // `maint` up, reversed: counts as down, so -50.
        assert_eq!(t.state(i), Some((50, false)));
        t.set_up(&check("maint"), false);
        assert_eq!(t.state(i), Some((100, false)));
        t.set_number(&f, 10);
        assert_eq!(t.state(i), Some((120, false)));
        t.set_number(&f, -1000);
        assert_eq!(
            t.state(i),
            Some((1, false)),
            "file contribution clamps, then priority"
        );
        let faulty = t.add_instance(
            100,
            vec![Track {
                source: f.clone(),
                weight: Weight::Fault,
            }],
        );
        assert_eq!(
            t.state(faulty),
            Some((100, true)),
            "non-zero file value = fault"
        );
        let c = t.contributions(i);
        assert_eq!(c.len(), 2);
    }
}

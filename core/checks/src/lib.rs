//! # vigil-checks
//!
//! The sans-IO core of Vigil's health checking, in the same shape as the
//! VRRP engine: time comes in as [`Timestamp`]s, results come in as events,
//! and what to do comes out as values. No sockets, no clock, no tasks — the
//! daemon runs the checks (WebAssembly plugins or scripts) and feeds back
//! what they said.
//!
//! - [`Scheduler`]: when each check runs (interval, start delay, a phase
//!   spread so that checks do not fire in lockstep, retries after a failure),
//!   and its debounced health (`fall` failures to go down, `rise` successes
//!   to come back up, optionally starting down like keepalived's `init_fail`).
//! - [`Tracker`]: keepalived's tracking — checks, interfaces and files that
//!   add or subtract a weight from an instance's priority, or put it in Fault
//!   when they carry no weight — and the reason for every change.

mod schedule;
mod track;

pub use schedule::{CheckId, Schedule, Scheduler, Stats};
pub use track::{Effect, Source, Track, Tracker, Weight};
pub use vigil_vrrp::Timestamp;

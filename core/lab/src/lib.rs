//! Private network-namespace labs for Vigil's demo and integration tests.
//!
//! A [`Lab`] is an isolated L2 network built from network namespaces: a switch namespace with a
//! bridge `br0`, and host namespaces whose `eth0` is a veth port of that bridge. veth pairs are
//! created directly inside the namespaces and only documentation addresses (192.0.2.0/24 and
//! friends, 2001:db8::/32) are accepted, so the host's own interfaces, routes and root namespace
//! are never touched. It shells out to iproute2 (`ip`), which every consumer has anyway; errors
//! carry the failing command and its stderr.
//!
//! On top: [`Host::exec`]/[`Host::spawn`] run programs inside hosts, [`Capture`] records the
//! switch with tshark, and [`Keepalived`] runs real keepalived as the reference peer.
//!
//! Cleanup: [`Lab::cleanup`] (idempotent, also on `Drop`, so on panic too) kills every process
//! the lab started and deletes its namespaces and temp dir. For SIGINT/SIGTERM either call
//! [`Lab::cleanup_on_signal`] once at start-up, or call [`cleanup_all`] from your own handler.
//! Leftovers of a SIGKILLed run are removed by [`Lab::gc_stale`].
//!
//! Needs root (or CAP_NET_ADMIN + CAP_SYS_ADMIN); [`preflight`] reports what is missing as
//! [`LabError::NotRoot`] / [`LabError::MissingTool`] so tests can print "skipped".

mod capture;
mod cmd;
mod error;
mod host;
mod ipjson;
mod keepalived;
mod lab;
pub mod services;
mod signals;

pub use capture::{tshark_fields, Capture};
pub use cmd::{preflight, wait_until, which};
pub use error::{LabError, Result};
pub use host::{Host, Process, Signal};
pub use ipjson::IfAddr;
pub use keepalived::{InitialState, Keepalived, KeepalivedConfig, KeepalivedScript, VrrpVersion};
pub use lab::Lab;
pub use signals::cleanup_all;

//! # vigil-config
//!
//! The `vigil` daemon's configuration: a strict TOML schema, validated into
//! a model the daemon runs as is, and an importer for keepalived.conf.
//!
//! Like ripgrep's low-level/high-level argument split, parsing happens in
//! two steps: raw serde structs mirror the file and reject unknown keys;
//! validation turns them into a [`Config`], checking every value and
//! collecting every mistake with its file, line, column and key path:
//!
//! ```text
//! vigil.toml:12:19: instance "VI_1": key `advert_interval`: "1.5s" is not a valid advert interval for VRRPv2: whole seconds from "1s" to "255s"
//! ```
//!
//! Nothing is silently defaulted: a value is either valid or an error.
//!
//! ```
//! use vigil_config::Config;
//!
//! let cfg = Config::parse(r#"
//! [[instance]]
//! name = "VI_1"
//! interface = "eth0"
//! vrid = 51
//! priority = 150
//! virtual_addresses = ["192.0.2.100/24"]
//! "#, "vigil.toml")?;
//! let vi = &cfg.instances[0];
//! let engine = vi.engine_config("192.0.2.11".parse()?);
//! engine.validate()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The daemon calls [`Config::load`], resolves each instance's primary
//! address on [`InstanceSpec::interface`] (of [`InstanceSpec::family`],
//! unless [`InstanceSpec::unicast_source`] is set), builds the engine's
//! config with [`InstanceSpec::engine_config`], and on reload uses
//! [`Config::diff`] to restart only what changed.

pub mod duration;
mod error;
pub mod keepalived;
mod model;
pub mod plugins;
mod raw;
mod validate;

pub use duration::{format_duration, parse_duration};
pub use error::{ConfigError, ConfigErrors, ErrorKind};
pub use model::{
    Authentication, Config, ConfigDiff, Global, InstanceSpec, Scope, SyncGroupSpec, TrackSpec,
    TrackTarget, VirtualAddress, DEFAULT_CONTROL_SOCKET,
};
pub use plugins::{
    AddressRule, CheckSpec, Grants, HostPattern, NotifierSpec, PluginSpec, Runner, Target,
};

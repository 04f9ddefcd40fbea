//! Plain Rust mirrors of the WIT types (`vigil:plugin/types`).
//!
//! The daemon, the CLI and the status API use these, never the `bindgen!` types:
//! those are regenerated with every wasmtime release and carry no serde.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::bindings::{wit, WitLevel};

/// What a health check observed about its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Health {
    /// The service answers as configured.
    Up,
    /// The service answers but something is off; counts as up.
    Degraded,
    /// The service answers wrongly.
    Down,
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Health::Up => "up",
            Health::Degraded => "degraded",
            Health::Down => "down",
        })
    }
}

/// One named number a check reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub name: String,
    pub value: f64,
}

/// The outcome of a check call that reached a verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub health: Health,
    /// One line for humans.
    pub message: String,
    pub metrics: Vec<Metric>,
}

impl fmt::Display for CheckResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.health)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

/// Where a health check points.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Target {
    /// An IP literal or a host name.
    pub host: String,
    pub port: Option<u16>,
}

impl Target {
    /// A target with a port.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Target {
            host: host.into(),
            port: Some(port),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v6 = self.host.contains(':');
        match (self.port, v6) {
            (Some(p), true) => write!(f, "[{}]:{p}", self.host),
            (Some(p), false) => write!(f, "{}:{p}", self.host),
            (None, _) => f.write_str(&self.host),
        }
    }
}

/// A configuration key the plugin rejects, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub key: String,
    pub reason: String,
}

/// Why a plugin refuses its configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigError {
    #[error("unknown key `{0}`")]
    UnknownKey(String),
    #[error("missing key `{0}`")]
    MissingKey(String),
    #[error("invalid value for `{}`: {}", .0.key, .0.reason)]
    InvalidValue(FieldError),
    #[error("invalid target: {0}")]
    InvalidTarget(String),
}

/// Why a check could not reach a verdict (reported by the plugin itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "kebab-case")]
pub enum CheckError {
    #[error("timed out")]
    Timeout,
    #[error("denied by the sandbox: {0}")]
    Denied(String),
    #[error("connection refused: {0}")]
    ConnectionRefused(String),
    #[error("name resolution failed: {0}")]
    NameResolution(String),
    #[error("I/O error: {0}")]
    Io(String),
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("internal plugin error: {0}")]
    Internal(String),
}

/// What a plugin may ask the operator to grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    Tcp,
    Udp,
    Http,
    Dns,
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Capability::Tcp => "tcp",
            Capability::Udp => "udp",
            Capability::Http => "http",
            Capability::Dns => "dns",
        })
    }
}

/// Who a plugin says it is (`plugin.info`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub description: String,
    pub capabilities: Vec<Capability>,
}

/// A VRRP instance state, as notifiers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VrrpState {
    Initialize,
    Backup,
    Master,
    Fault,
    Stop,
}

impl fmt::Display for VrrpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VrrpState::Initialize => "initialize",
            VrrpState::Backup => "backup",
            VrrpState::Master => "master",
            VrrpState::Fault => "fault",
            VrrpState::Stop => "stop",
        })
    }
}

/// One state transition of a VRRP instance or sync group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// `instance` or `group`.
    pub kind: String,
    pub name: String,
    pub old_state: VrrpState,
    pub new_state: VrrpState,
    pub priority: u8,
    pub reason: String,
    /// Milliseconds since the Unix epoch.
    pub unix_time_ms: u64,
}

/// Why a notifier could not deliver a notification (reported by the plugin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "kebab-case")]
pub enum NotifyError {
    #[error("denied by the sandbox: {0}")]
    Denied(String),
    #[error("I/O error: {0}")]
    Io(String),
    #[error("rejected by the receiver: {0}")]
    Rejected(String),
    #[error("internal plugin error: {0}")]
    Internal(String),
}

/// Level of a message a plugin logged through the `log` import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        })
    }
}

// ---- conversions from and to the bindgen types ----

impl From<wit::Health> for Health {
    fn from(h: wit::Health) -> Self {
        match h {
            wit::Health::Up => Health::Up,
            wit::Health::Degraded => Health::Degraded,
            wit::Health::Down => Health::Down,
        }
    }
}

impl From<wit::CheckResult> for CheckResult {
    fn from(r: wit::CheckResult) -> Self {
        CheckResult {
            health: r.health.into(),
            message: r.message,
            metrics: r
                .metrics
                .into_iter()
                .map(|m| Metric {
                    name: m.name,
                    value: m.value,
                })
                .collect(),
        }
    }
}

impl From<&Target> for wit::Target {
    fn from(t: &Target) -> Self {
        wit::Target {
            host: t.host.clone(),
            port: t.port,
        }
    }
}

impl From<wit::ConfigError> for ConfigError {
    fn from(e: wit::ConfigError) -> Self {
        match e {
            wit::ConfigError::UnknownKey(k) => ConfigError::UnknownKey(k),
            wit::ConfigError::MissingKey(k) => ConfigError::MissingKey(k),
            wit::ConfigError::InvalidValue(f) => ConfigError::InvalidValue(FieldError {
                key: f.key,
                reason: f.reason,
            }),
            wit::ConfigError::InvalidTarget(s) => ConfigError::InvalidTarget(s),
        }
    }
}

impl From<wit::CheckError> for CheckError {
    fn from(e: wit::CheckError) -> Self {
        match e {
            wit::CheckError::Timeout => CheckError::Timeout,
            wit::CheckError::Denied(s) => CheckError::Denied(s),
            wit::CheckError::ConnectionRefused(s) => CheckError::ConnectionRefused(s),
            wit::CheckError::NameResolution(s) => CheckError::NameResolution(s),
            wit::CheckError::Io(s) => CheckError::Io(s),
            wit::CheckError::Protocol(s) => CheckError::Protocol(s),
            wit::CheckError::Internal(s) => CheckError::Internal(s),
        }
    }
}

impl From<wit::Capability> for Capability {
    fn from(c: wit::Capability) -> Self {
        match c {
            wit::Capability::Tcp => Capability::Tcp,
            wit::Capability::Udp => Capability::Udp,
            wit::Capability::Http => Capability::Http,
            wit::Capability::Dns => Capability::Dns,
        }
    }
}

impl From<wit::PluginInfo> for PluginInfo {
    fn from(i: wit::PluginInfo) -> Self {
        PluginInfo {
            name: i.name,
            version: i.version,
            description: i.description,
            capabilities: i.capabilities.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<VrrpState> for wit::VrrpState {
    fn from(s: VrrpState) -> Self {
        match s {
            VrrpState::Initialize => wit::VrrpState::Initialize,
            VrrpState::Backup => wit::VrrpState::Backup,
            VrrpState::Master => wit::VrrpState::Master,
            VrrpState::Fault => wit::VrrpState::Fault,
            VrrpState::Stop => wit::VrrpState::Stop,
        }
    }
}

impl From<&Transition> for wit::Transition {
    fn from(t: &Transition) -> Self {
        wit::Transition {
            kind: t.kind.clone(),
            name: t.name.clone(),
            old_state: t.old_state.into(),
            new_state: t.new_state.into(),
            priority: t.priority,
            reason: t.reason.clone(),
            unix_time_ms: t.unix_time_ms,
        }
    }
}

impl From<wit::NotifyError> for NotifyError {
    fn from(e: wit::NotifyError) -> Self {
        match e {
            wit::NotifyError::Denied(s) => NotifyError::Denied(s),
            wit::NotifyError::Io(s) => NotifyError::Io(s),
            wit::NotifyError::Rejected(s) => NotifyError::Rejected(s),
            wit::NotifyError::Internal(s) => NotifyError::Internal(s),
        }
    }
}

impl From<WitLevel> for LogLevel {
    fn from(l: WitLevel) -> Self {
        match l {
            WitLevel::Trace => LogLevel::Trace,
            WitLevel::Debug => LogLevel::Debug,
            WitLevel::Info => LogLevel::Info,
            WitLevel::Warn => LogLevel::Warn,
            WitLevel::Error => LogLevel::Error,
        }
    }
}

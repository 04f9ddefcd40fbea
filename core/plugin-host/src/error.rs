//! Error types, one per stage: creating the host, loading a component, setting
//! up a configured check or notifier, and a failed call.

use std::path::PathBuf;
use std::time::Duration;

use crate::types::ConfigError;
use crate::World;

/// The plugin host itself could not be created.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("invalid plugin host options: {0}")]
    Options(String),
    /// Usually the pooling allocator failing to reserve address space for
    /// `max_instances` slots.
    #[error("creating the WebAssembly engine failed: {0}")]
    Engine(String),
    #[error("linking the host interfaces failed: {0}")]
    Link(String),
    #[error("plugin cache directory {}: {source}", path.display())]
    CacheDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("starting the epoch ticker thread failed: {0}")]
    Ticker(std::io::Error),
}

/// A component could not be loaded as a plugin.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("reading plugin {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("plugin {name}: not a valid WebAssembly component: {reason}")]
    Invalid { name: String, reason: String },
    /// The component was built against a WIT version this host does not speak.
    #[error(
        "plugin {name}: built for {interface}@{found}, but this Vigil implements \
         vigil:plugin@{supported} and accepts only {compatible}; rebuild the plugin \
         against vigil:plugin@{supported}"
    )]
    WitVersion {
        name: String,
        interface: String,
        found: String,
        supported: String,
        /// Human form of the accepted range, e.g. `0.1.x`.
        compatible: String,
    },
    #[error(
        "plugin {name}: not a Vigil plugin: it exports neither vigil:plugin/checker \
         nor vigil:plugin/notifier (it exports: {})",
        list_or_nothing(exports)
    )]
    NotAPlugin { name: String, exports: Vec<String> },
    #[error("plugin {name}: exports {world} but not vigil:plugin/plugin (info)")]
    MissingInfo { name: String, world: String },
    #[error(
        "plugin {name}: imports interfaces the Vigil plugin host does not provide: {} \
         (available: vigil:plugin/log, WASI 0.2 cli/clocks/io/random/sockets/filesystem, \
         wasi:http/outgoing-handler)",
        imports.join(", ")
    )]
    UnsupportedImports { name: String, imports: Vec<String> },
    #[error("plugin {name}: cannot be linked: {reason}")]
    Link { name: String, reason: String },
}

fn list_or_nothing(v: &[String]) -> String {
    if v.is_empty() {
        "nothing".into()
    } else {
        v.join(", ")
    }
}

/// Why a call into a plugin failed without a verdict from the plugin. The
/// instance that failed is discarded; the next call gets a fresh one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "detail")]
pub enum Failure {
    /// The guest trapped (`unreachable`, a Rust panic, out-of-bounds access...).
    #[error("plugin trapped: {0}")]
    Trap(String),
    /// The call ran past its timeout (CPU loop or a slow I/O wait).
    #[error("deadline of {} exceeded", fmt_duration(*.0))]
    Deadline(Duration),
    /// The guest tried to grow its memory past the per-instance limit.
    #[error("memory limit ({}) exceeded", fmt_mib(*.0))]
    MemoryLimit(usize),
    /// Every instance slot of the pooling allocator is in use.
    #[error("all {0} plugin instance slots are in use (raise the plugin host's max_instances)")]
    PoolExhausted(u32),
    #[error("instantiation failed: {0}")]
    Instantiate(String),
    /// The plugin refused its configuration on a fresh instance.
    #[error("configuration rejected: {0}")]
    Configure(ConfigError),
}

fn fmt_mib(bytes: usize) -> String {
    const MIB: usize = 1 << 20;
    if bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    }
}

fn fmt_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// A configured check or notifier could not be started.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SetupError {
    #[error("plugin {plugin} is a {found} plugin, but {name} needs a {expected} plugin")]
    WrongWorld {
        plugin: String,
        name: String,
        expected: World,
        found: World,
    },
    /// The plugin's `configure` returned an error: the config is wrong.
    #[error("plugin {plugin} rejected the configuration of {name}: {error}")]
    Config {
        plugin: String,
        name: String,
        error: ConfigError,
        /// What the plugin printed while configuring.
        output: String,
    },
    #[error("plugin {plugin}: starting {name} failed: {failure}")]
    Failed {
        plugin: String,
        name: String,
        failure: Failure,
        output: String,
    },
}

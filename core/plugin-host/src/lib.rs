//! Vigil's WebAssembly plugin host: health checks and notifiers run as
//! sandboxed components of the `vigil:plugin@0.1.0` WIT package
//! (`wit/vigil-plugin.wit`, worlds `health-check` and `notifier-plugin`).
//!
//! # Sandbox model
//!
//! Every configured check or notifier gets its own component instance in its
//! own `Store`, so plugins share nothing with each other or with the daemon:
//!
//! - **No ambient authority.** The WASI context inherits nothing from the host:
//!   no preopened directories (no filesystem), an empty environment plus the
//!   variables the operator granted, empty stdin, and stdout/stderr captured into
//!   a bounded 64 KiB buffer returned with each call (and logged at debug).
//! - **Own deadline.** Every check instance also sees [`CHECK_TIMEOUT_ENV`]
//!   (`VIGIL_CHECK_TIMEOUT_MS`, the check's timeout in milliseconds; notifiers
//!   [`NOTIFY_TIMEOUT_ENV`]), so it can end a call with its own clean
//!   `timeout` error before the host's deadline discards the instance. It tells
//!   a plugin nothing but its own deadline, and overrides a granted variable
//!   of the same name.
//! - **Network by grant.** TCP (and optionally UDP) connections go through
//!   `wasi:sockets` and are checked against the check's [`Grants::connect`]
//!   rules; name lookups need [`Grants::dns`]; HTTP through `wasi:http` is
//!   limited to [`Grants::http`] authorities. A refused attempt fails inside the
//!   plugin with WASI's `access-denied` / `HTTP-request-denied`. Plugins may
//!   set the `Host` header (virtual hosts): the grant and the connection follow
//!   the request's authority, never that header, and exactly one `Host` is
//!   sent; the other headers wasmtime-wasi-http forbids stay forbidden.
//! - **Bounded resources.** Instances come from a pooling allocator sized by
//!   [`HostOptions::max_instances`]; each memory is capped at
//!   [`HostOptions::memory_limit`] (a refused growth is reported as
//!   [`Failure::MemoryLimit`], not as the trap it turns into), and host-side
//!   resource tables are capped.
//! - **Bounded time.** A thread advances the engine epoch every
//!   [`HostOptions::epoch_tick`]; guest code yields to tokio on each tick and
//!   traps when its call's budget (timeout / tick) is spent, and every call is
//!   also wrapped in a tokio timeout for time spent waiting on I/O. Dropping a
//!   call cancels it.
//! - **Fail fresh.** After a trap, deadline or memory-limit failure the instance
//!   is discarded; the next call instantiates and configures a fresh one.
//!   Healthy instances stay warm, so plugins may keep state between calls.
//!
//! Components are compiled once and cached on disk (see `cache`), and checked
//! on load: the exported `vigil:plugin` interfaces must be semver-compatible
//! with [`WIT_VERSION`], and every import must be one the host provides.

mod bindings;
mod cache;
mod error;
mod grants;
mod host;
mod run;
mod sandbox;
pub mod types;

#[cfg(feature = "testing")]
pub mod testing;

pub use error::{Failure, HostError, LoadError, SetupError};
pub use grants::{AuthorityRule, Grants, RuleError, SocketRule};
pub use host::{HostOptions, Plugin, PluginHost, World, WIT_VERSION};
pub use run::{
    CheckOutcome, CheckReport, CheckSpec, Checker, Notifier, NotifierSpec, NotifyOutcome,
    NotifyReport,
};
pub use semver;
pub use types::{
    Capability, CheckError, CheckResult, ConfigError, FieldError, Health, LogLevel, Metric,
    NotifyError, PluginInfo, Target, Transition, VrrpState,
};

pub use sandbox::{CHECK_TIMEOUT_ENV, NOTIFY_TIMEOUT_ENV};

/// Output limit (bytes) of a plugin's captured stdout + stderr per call.
pub const OUTPUT_LIMIT: usize = sandbox::OUTPUT_LIMIT;

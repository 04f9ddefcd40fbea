//! Configured checks and notifiers: one sandboxed instance each, kept warm
//! between calls and replaced after any failure.

use std::fmt;
use std::time::{Duration, Instant};

use wasmtime::Store;

use crate::bindings::check::HealthCheck;
use crate::bindings::notify::NotifierPlugin;
use crate::error::{Failure, SetupError};
use crate::grants::Grants;
use crate::host::{Plugin, PluginHost, World, WorldPre};
use crate::sandbox::{Call, Labels, StoreState};
use crate::types::{
    CheckError, CheckResult, ConfigError, Health, LogLevel, NotifyError, Target, Transition,
};

/// What a configured health check runs.
#[derive(Debug, Clone)]
pub struct CheckSpec {
    /// The check's name in the config (used in logs).
    pub name: String,
    /// The check's plugin table, as JSON.
    pub config_json: String,
    pub target: Target,
    pub grants: Grants,
    /// Wall-clock limit of one call, and of instantiate + configure. The
    /// plugin sees it as [`crate::CHECK_TIMEOUT_ENV`] (milliseconds), so it can
    /// give up cleanly (`CheckError::Timeout`) before the host's deadline.
    pub timeout: Duration,
}

/// Result of one check call.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "detail")]
pub enum CheckOutcome {
    /// The plugin reached a verdict.
    Verdict(CheckResult),
    /// The plugin reported why it could not reach one.
    Error(CheckError),
    /// The sandbox stopped the plugin (trap, deadline, memory limit...).
    Failed(Failure),
}

impl CheckOutcome {
    /// Whether the check passed: a verdict of up or degraded.
    pub fn passed(&self) -> bool {
        matches!(self, CheckOutcome::Verdict(r) if matches!(r.health, Health::Up | Health::Degraded))
    }
}

impl fmt::Display for CheckOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckOutcome::Verdict(r) => r.fmt(f),
            CheckOutcome::Error(e) => write!(f, "check error: {e}"),
            CheckOutcome::Failed(e) => write!(f, "check failed: {e}"),
        }
    }
}

/// Everything one call produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckReport {
    pub outcome: CheckOutcome,
    /// Wall time of the call, including instantiation when `fresh_instance`.
    pub elapsed: Duration,
    /// Messages from the `log` import during this call (bounded).
    pub logs: Vec<(LogLevel, String)>,
    /// Captured stdout + stderr of this call (bounded to 64 KiB).
    pub output: String,
    /// Whether this call ran on a newly created instance.
    pub fresh_instance: bool,
}

struct Live<B> {
    store: Store<StoreState>,
    bindings: B,
}

/// Adds the panic message a Rust guest printed to a trap reason, so the status
/// says more than "unreachable".
fn explain(failure: Failure, output: &str) -> Failure {
    match failure {
        Failure::Trap(msg) => match panic_message(output) {
            Some(p) => Failure::Trap(format!("{msg} (plugin panicked: {p})")),
            None => Failure::Trap(msg),
        },
        other => other,
    }
}

fn panic_message(output: &str) -> Option<String> {
    let mut lines = output.lines();
    while let Some(line) = lines.next() {
        if let Some(pos) = line.find("panicked at ") {
            let location = line[pos + 12..].trim_end_matches(':');
            let message = lines.next().unwrap_or("").trim();
            return Some(format!("{message} at {location}"));
        }
    }
    None
}

/// A failed first instantiate + configure, as the error a check or notifier
/// setup returns: a plugin refusing its configuration is a config mistake,
/// anything else a failure of the plugin.
fn setup_error(plugin: &Plugin, name: &str, failure: Failure, output: String) -> SetupError {
    match failure {
        Failure::Configure(error) => SetupError::Config {
            plugin: plugin.name().into(),
            name: name.into(),
            error,
            output,
        },
        failure => SetupError::Failed {
            plugin: plugin.name().into(),
            name: name.into(),
            failure,
            output,
        },
    }
}

/// One configured health check. Owns its instance: calls reuse it (plugins may
/// keep state between calls) until a call fails, which discards it; the next
/// call instantiates and configures a fresh one.
pub struct Checker {
    host: PluginHost,
    plugin: Plugin,
    spec: CheckSpec,
    labels: Labels,
    live: Option<Live<HealthCheck>>,
    /// Holds one of the host's warm slots: keeps its instance between runs.
    warm: bool,
}

impl Drop for Checker {
    fn drop(&mut self) {
        if self.warm {
            self.host.release_warm();
        }
    }
}

impl fmt::Debug for Checker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checker")
            .field("plugin", &self.plugin.name())
            .field("spec", &self.spec)
            .field("live", &self.live.is_some())
            .field("warm", &self.warm)
            .finish()
    }
}

impl Checker {
    /// Instantiates the plugin and configures it. A configuration the plugin
    /// rejects is a [`SetupError::Config`].
    pub async fn new(
        host: &PluginHost,
        plugin: &Plugin,
        spec: CheckSpec,
    ) -> Result<Self, SetupError> {
        if plugin.world() != World::HealthCheck {
            return Err(SetupError::WrongWorld {
                plugin: plugin.name().into(),
                name: spec.name,
                expected: World::HealthCheck,
                found: plugin.world(),
            });
        }
        let labels = Labels {
            plugin: plugin.name().into(),
            check: spec.name.as_str().into(),
        };
        let warm = host.take_warm();
        let mut checker = Checker {
            host: host.clone(),
            plugin: plugin.clone(),
            spec,
            labels,
            live: None,
            warm,
        };
        match checker.start().await {
            Ok(live) => {
                // The configuration is known good; a cold checker lets its
                // instance go until the next run.
                if checker.warm {
                    checker.live = Some(live);
                }
                Ok(checker)
            }
            Err((failure, _, output)) => Err(setup_error(
                &checker.plugin,
                &checker.spec.name,
                failure,
                output,
            )),
        }
    }

    /// Whether this checker keeps its instance between runs (see
    /// [`crate::HostOptions::max_warm`]).
    pub fn is_warm(&self) -> bool {
        self.warm
    }

    /// The check's spec.
    pub fn spec(&self) -> &CheckSpec {
        &self.spec
    }

    /// The plugin this check runs.
    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }

    /// Instantiate + configure under the check's timeout.
    async fn start(
        &mut self,
    ) -> Result<Live<HealthCheck>, (Failure, Vec<(LogLevel, String)>, String)> {
        let WorldPre::Check(pre) = &self.plugin.inner.pre else {
            return Err((
                Failure::Instantiate("not a health-check plugin".into()),
                Vec::new(),
                String::new(),
            ));
        };
        let host = &self.host;
        let timeout = self.spec.timeout;
        let mut store =
            host.new_store(&self.spec.grants, Call::Check(timeout), self.labels.clone());
        host.arm(&mut store, timeout);
        let target = (&self.spec.target).into();
        // A local, not `self.spec...`: the async block would borrow all of
        // `self`, and `&Checker` is not `Send` (a `Store` is not `Sync`).
        let config_json = self.spec.config_json.clone();
        let result = tokio::time::timeout(timeout, async {
            let bindings = pre.instantiate_async(&mut store).await?;
            let configured = bindings
                .vigil_plugin_checker()
                .call_configure(&mut store, &config_json, &target)
                .await?;
            Ok::<_, wasmtime::Error>((bindings, configured))
        })
        .await;
        let failure = match result {
            Ok(Ok((bindings, Ok(())))) => return Ok(Live { store, bindings }),
            Ok(Ok((_, Err(e)))) => Failure::Configure(ConfigError::from(e)),
            Ok(Err(e)) => host.failure(&store, Ok(e), timeout),
            Err(elapsed) => host.failure(&store, Err(elapsed), timeout),
        };
        let (logs, output) = store.data_mut().drain();
        Err((explain(failure, &output), logs, output))
    }

    /// Runs the check once, on the warm instance if there is one. Never panics;
    /// every problem is an outcome.
    pub async fn check(&mut self) -> CheckReport {
        self.run(false).await
    }

    /// Runs the check on a fresh instance (instantiate from the pool +
    /// configure + check), discarding any warm one: for benchmarks, and for
    /// plugins that must not keep state.
    pub async fn check_fresh(&mut self) -> CheckReport {
        self.run(true).await
    }

    async fn run(&mut self, fresh: bool) -> CheckReport {
        let started = Instant::now();
        if fresh {
            self.live = None;
        }
        let fresh_instance = self.live.is_none();
        let mut live = match self.live.take() {
            Some(live) => live,
            None => match self.start().await {
                Ok(live) => live,
                Err((failure, logs, output)) => {
                    return CheckReport {
                        outcome: CheckOutcome::Failed(failure),
                        elapsed: started.elapsed(),
                        logs,
                        output,
                        fresh_instance,
                    }
                }
            },
        };
        let timeout = self.spec.timeout;
        self.host.arm(&mut live.store, timeout);
        let result = tokio::time::timeout(
            timeout,
            live.bindings
                .vigil_plugin_checker()
                .call_check(&mut live.store),
        )
        .await;
        let (logs, output) = live.store.data_mut().drain();
        let outcome = match result {
            Ok(Ok(Ok(r))) => CheckOutcome::Verdict(r.into()),
            Ok(Ok(Err(e))) => CheckOutcome::Error(e.into()),
            Ok(Err(e)) => CheckOutcome::Failed(self.host.failure(&live.store, Ok(e), timeout)),
            Err(elapsed) => {
                CheckOutcome::Failed(self.host.failure(&live.store, Err(elapsed), timeout))
            }
        };
        let outcome = match outcome {
            CheckOutcome::Failed(f) => {
                let f = explain(f, &output);
                tracing::warn!(plugin = %self.labels.plugin, check = %self.labels.check, "{f}; instance discarded");
                CheckOutcome::Failed(f)
            }
            other => {
                if self.warm {
                    self.live = Some(live);
                }
                other
            }
        };
        CheckReport {
            outcome,
            elapsed: started.elapsed(),
            logs,
            output,
            fresh_instance,
        }
    }
}

/// What a configured notifier runs.
#[derive(Debug, Clone)]
pub struct NotifierSpec {
    pub name: String,
    pub config_json: String,
    pub grants: Grants,
    /// Wall-clock limit of one call, and of instantiate + configure; the
    /// plugin sees it as [`crate::NOTIFY_TIMEOUT_ENV`] (milliseconds).
    pub timeout: Duration,
}

/// Result of one notification.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "detail")]
pub enum NotifyOutcome {
    Delivered,
    Error(NotifyError),
    Failed(Failure),
}

impl fmt::Display for NotifyOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotifyOutcome::Delivered => f.write_str("delivered"),
            NotifyOutcome::Error(e) => write!(f, "notify error: {e}"),
            NotifyOutcome::Failed(e) => write!(f, "notifier failed: {e}"),
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct NotifyReport {
    pub outcome: NotifyOutcome,
    pub elapsed: Duration,
    pub logs: Vec<(LogLevel, String)>,
    pub output: String,
    pub fresh_instance: bool,
}

/// One configured notifier; same instance lifecycle as [`Checker`].
pub struct Notifier {
    host: PluginHost,
    plugin: Plugin,
    spec: NotifierSpec,
    labels: Labels,
    live: Option<Live<NotifierPlugin>>,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field("plugin", &self.plugin.name())
            .field("spec", &self.spec)
            .field("live", &self.live.is_some())
            .finish()
    }
}

impl Notifier {
    /// Instantiates the plugin and configures it.
    pub async fn new(
        host: &PluginHost,
        plugin: &Plugin,
        spec: NotifierSpec,
    ) -> Result<Self, SetupError> {
        if plugin.world() != World::Notifier {
            return Err(SetupError::WrongWorld {
                plugin: plugin.name().into(),
                name: spec.name,
                expected: World::Notifier,
                found: plugin.world(),
            });
        }
        let labels = Labels {
            plugin: plugin.name().into(),
            check: spec.name.as_str().into(),
        };
        let mut n = Notifier {
            host: host.clone(),
            plugin: plugin.clone(),
            spec,
            labels,
            live: None,
        };
        match n.start().await {
            Ok(live) => {
                n.live = Some(live);
                Ok(n)
            }
            Err((failure, _, output)) => Err(setup_error(&n.plugin, &n.spec.name, failure, output)),
        }
    }

    pub fn spec(&self) -> &NotifierSpec {
        &self.spec
    }

    async fn start(
        &mut self,
    ) -> Result<Live<NotifierPlugin>, (Failure, Vec<(LogLevel, String)>, String)> {
        let WorldPre::Notify(pre) = &self.plugin.inner.pre else {
            return Err((
                Failure::Instantiate("not a notifier plugin".into()),
                Vec::new(),
                String::new(),
            ));
        };
        let host = &self.host;
        let timeout = self.spec.timeout;
        let mut store = host.new_store(
            &self.spec.grants,
            Call::Notify(timeout),
            self.labels.clone(),
        );
        host.arm(&mut store, timeout);
        let config_json = self.spec.config_json.clone();
        let result = tokio::time::timeout(timeout, async {
            let bindings = pre.instantiate_async(&mut store).await?;
            let configured = bindings
                .vigil_plugin_notifier()
                .call_configure(&mut store, &config_json)
                .await?;
            Ok::<_, wasmtime::Error>((bindings, configured))
        })
        .await;
        let failure = match result {
            Ok(Ok((bindings, Ok(())))) => return Ok(Live { store, bindings }),
            Ok(Ok((_, Err(e)))) => Failure::Configure(ConfigError::from(e)),
            Ok(Err(e)) => host.failure(&store, Ok(e), timeout),
            Err(elapsed) => host.failure(&store, Err(elapsed), timeout),
        };
        let (logs, output) = store.data_mut().drain();
        Err((explain(failure, &output), logs, output))
    }

    /// Delivers one transition. Never panics.
    pub async fn notify(&mut self, transition: Transition) -> NotifyReport {
        let started = Instant::now();
        let fresh_instance = self.live.is_none();
        let mut live = match self.live.take() {
            Some(live) => live,
            None => match self.start().await {
                Ok(live) => live,
                Err((failure, logs, output)) => {
                    return NotifyReport {
                        outcome: NotifyOutcome::Failed(failure),
                        elapsed: started.elapsed(),
                        logs,
                        output,
                        fresh_instance,
                    }
                }
            },
        };
        let timeout = self.spec.timeout;
        let event = (&transition).into();
        self.host.arm(&mut live.store, timeout);
        let result = tokio::time::timeout(
            timeout,
            live.bindings
                .vigil_plugin_notifier()
                .call_notify(&mut live.store, &event),
        )
        .await;
        let (logs, output) = live.store.data_mut().drain();
        let outcome = match result {
            Ok(Ok(Ok(()))) => NotifyOutcome::Delivered,
            Ok(Ok(Err(e))) => NotifyOutcome::Error(e.into()),
            Ok(Err(e)) => NotifyOutcome::Failed(self.host.failure(&live.store, Ok(e), timeout)),
            Err(elapsed) => {
                NotifyOutcome::Failed(self.host.failure(&live.store, Err(elapsed), timeout))
            }
        };
        let outcome = match outcome {
            NotifyOutcome::Failed(f) => {
                let f = explain(f, &output);
                tracing::warn!(plugin = %self.labels.plugin, notifier = %self.labels.check, "{f}; instance discarded");
                NotifyOutcome::Failed(f)
            }
            other => {
                self.live = Some(live);
                other
            }
        };
        NotifyReport {
            outcome,
            elapsed: started.elapsed(),
            logs,
            output,
            fresh_instance,
        }
    }
}

/// The daemon drives checks and notifiers from spawned tokio tasks.
#[allow(dead_code)]
fn futures_are_send(c: &mut Checker, n: &mut Notifier, p: &Plugin, h: &PluginHost) {
    fn is_send<T: Send>(_: T) {}
    is_send(c.check());
    is_send(n.notify(Transition {
        kind: String::new(),
        name: String::new(),
        old_state: crate::types::VrrpState::Backup,
        new_state: crate::types::VrrpState::Master,
        priority: 0,
        reason: String::new(),
        unix_time_ms: 0,
    }));
    is_send(p.info(h));
    is_send(Checker::new(h, p, c.spec.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_messages() {
        let out = "thread '<unnamed>' panicked at src/lib.rs:170:24:\nchaos panicked\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(
            panic_message(out).as_deref(),
            Some("chaos panicked at src/lib.rs:170:24")
        );
        assert_eq!(panic_message("hello"), None);
    }
}

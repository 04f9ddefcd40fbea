//! Notifiers: every state transition goes, in order, to each configured
//! `[[notifier]]` — a sandboxed WebAssembly plugin or a keepalived-style
//! unsandboxed script (`$1..$4` = `INSTANCE NAME STATE PRIORITY`).
//!
//! Each notifier has its own task and queue, so a slow webhook delays
//! nobody: not the engine (which never waits for notifications), not the
//! other notifiers. A full queue drops the event with a warning rather than
//! grow without bound.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Result};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};
use vigil_config::{Config, NotifierSpec, Runner};
use vigil_plugin_host::{self as host, PluginHost, VrrpState};
use vigil_vrrp::{State, Transition};

use crate::script::{notify_args, Script};

/// Events queued per notifier before new ones are dropped.
const QUEUE: usize = 1024;

/// One transition, as notifiers see it.
#[derive(Clone, Debug)]
pub struct NotifyEvent {
    /// A sync group's transition (keepalived's `GROUP`), not an instance's.
    pub group: bool,
    /// The instance (or sync group).
    pub instance: String,
    /// The transition from the engine.
    pub transition: Transition,
    /// Wall-clock time it was reported.
    pub unix_time_ms: u64,
}

impl NotifyEvent {
    /// Stamp a transition with the wall clock.
    pub fn new(instance: String, transition: Transition) -> Self {
        let unix_time_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        NotifyEvent {
            group: false,
            instance,
            transition,
            unix_time_ms,
        }
    }
}

/// A sync group's state from its members': Fault if any member is, otherwise the state all
/// members share; `None` while they disagree (the group is moving).
fn group_state(members: &[State]) -> Option<State> {
    if members.contains(&State::Fault) {
        return Some(State::Fault);
    }
    let first = *members.first()?;
    members.iter().all(|s| *s == first).then_some(first)
}

/// keepalived's state words; leaving the protocol (Initialize) is `STOP`.
fn state_word(s: State) -> &'static str {
    match s {
        State::Initialize => "STOP",
        State::Backup => "BACKUP",
        State::Master => "MASTER",
        State::Fault => "FAULT",
    }
}

fn plugin_state(s: State, is_new: bool) -> VrrpState {
    match s {
        State::Initialize if is_new => VrrpState::Stop,
        State::Initialize => VrrpState::Initialize,
        State::Backup => VrrpState::Backup,
        State::Master => VrrpState::Master,
        State::Fault => VrrpState::Fault,
    }
}

/// The running notifiers of one configuration.
#[derive(Debug, Default)]
pub struct Notifiers {
    running: Vec<Running>,
    /// Sync groups and their members, for GROUP notifications.
    groups: Vec<(String, Vec<String>)>,
    /// Last known state of each instance and group.
    states: std::collections::HashMap<String, State>,
}

#[derive(Debug)]
struct Running {
    name: String,
    /// Instance names it listens to; empty = all.
    instances: Vec<String>,
    /// New states it listens to (`master`...); empty = all.
    on: Vec<String>,
    tx: mpsc::Sender<NotifyEvent>,
    task: JoinHandle<()>,
}

enum Sink {
    Plugin(Box<host::Notifier>),
    /// A script, and whether keepalived's arguments are appended.
    Script(Script, bool),
}

impl Notifiers {
    /// Start the notifiers of `cfg`. A plugin that does not load or rejects
    /// its configuration is an error: the daemon does not start (or the
    /// reload is refused) rather than run without a notifier it was given.
    pub async fn start(cfg: &Config, host: Option<&PluginHost>) -> Result<Notifiers> {
        let mut running = Vec::new();
        for spec in &cfg.notifiers {
            let sink = match &spec.runner {
                Runner::Script { command, user } => {
                    info!(notifier = %spec.name, "notifier runs an unsandboxed script: {command}");
                    Sink::Script(
                        Script {
                            command: command.clone(),
                            user: user.clone(),
                            timeout: spec.timeout,
                        },
                        spec.append_args,
                    )
                }
                Runner::Plugin {
                    path,
                    config_json,
                    grants,
                    ..
                } => {
                    let host = host.ok_or_else(|| anyhow!("no plugin host"))?;
                    let plugin = host.load_file(path).map_err(|e| {
                        anyhow!("notifier {:?}: {}: {e}", spec.name, path.display())
                    })?;
                    let n = host::Notifier::new(
                        host,
                        &plugin,
                        host::NotifierSpec {
                            name: spec.name.clone(),
                            config_json: config_json.clone(),
                            grants: crate::plugin_cmd::host_grants(grants)?,
                            timeout: spec.timeout,
                        },
                    )
                    .await
                    .map_err(|e| anyhow!("notifier {:?}: {e}", spec.name))?;
                    Sink::Plugin(Box::new(n))
                }
            };
            running.push(spawn(spec, sink));
        }
        Ok(Notifiers {
            running,
            groups: cfg
                .sync_groups
                .iter()
                .map(|g| (g.name.clone(), g.instances.clone()))
                .collect(),
            states: Default::default(),
        })
    }

    /// Record an instance's transition, notify it, and notify the transition of its sync
    /// group when the members now agree on a new state.
    pub fn dispatch(&mut self, ev: &NotifyEvent) {
        self.states.insert(ev.instance.clone(), ev.transition.to);
        self.send(ev);
        for (group, members) in &self.groups {
            if !members.contains(&ev.instance) {
                continue;
            }
            let states: Vec<State> = members
                .iter()
                .map(|m| self.states.get(m).copied().unwrap_or(State::Initialize))
                .collect();
            let Some(to) = group_state(&states) else {
                continue;
            };
            let from = self.states.get(group).copied().unwrap_or(State::Initialize);
            if from == to {
                continue;
            }
            let mut transition = ev.transition;
            transition.from = from;
            transition.to = to;
            transition.priority = 0;
            transition.reason = vigil_vrrp::Reason::SyncGroup;
            let gev = NotifyEvent {
                group: true,
                instance: group.clone(),
                transition,
                unix_time_ms: ev.unix_time_ms,
            };
            self.states.insert(group.clone(), to);
            self.send(&gev);
        }
    }

    /// Carry the known states over from the notifiers a reload replaces.
    pub fn adopt_states(&mut self, old: &Notifiers) {
        self.states = old.states.clone();
    }

    fn send(&self, ev: &NotifyEvent) {
        for r in &self.running {
            if !r.instances.is_empty() && !r.instances.contains(&ev.instance) {
                continue;
            }
            let to = state_word(ev.transition.to).to_ascii_lowercase();
            if !r.on.is_empty() && !r.on.contains(&to) {
                continue;
            }
            if r.tx.try_send(ev.clone()).is_err() {
                warn!(notifier = %r.name, instance = %ev.instance, "notifier queue full: transition dropped");
            }
        }
    }

    /// How many notifiers run.
    pub fn len(&self) -> usize {
        self.running.len()
    }

    /// Stop taking events and let each notifier finish its queue (each
    /// notification is bounded by its timeout), waiting at most `wait`.
    pub async fn close(self, wait: Duration) {
        let tasks: Vec<JoinHandle<()>> = self
            .running
            .into_iter()
            .map(|r| {
                drop(r.tx);
                r.task
            })
            .collect();
        let all = futures::future::join_all(tasks);
        if tokio::time::timeout(wait, all).await.is_err() {
            warn!("notifiers still busy after {wait:?}; not waiting for them");
        }
    }
}

/// Messages to the notification hub.
#[derive(Debug)]
pub enum HubMsg {
    /// A transition to pass on.
    Event(NotifyEvent),
    /// A reload: switch to these notifiers (the old ones finish their queues).
    Replace(Notifiers),
    /// Shutdown: deliver what is queued, then reply.
    Close(tokio::sync::oneshot::Sender<()>),
}

/// Route transitions to the current notifiers until closed.
pub async fn hub(mut notifiers: Notifiers, mut rx: mpsc::UnboundedReceiver<HubMsg>) {
    while let Some(msg) = rx.recv().await {
        match msg {
            HubMsg::Event(ev) => notifiers.dispatch(&ev),
            HubMsg::Replace(mut new) => {
                new.adopt_states(&notifiers);
                let old = std::mem::replace(&mut notifiers, new);
                tokio::spawn(old.close(Duration::from_secs(60)));
            }
            HubMsg::Close(reply) => {
                let wait = Duration::from_secs(10);
                std::mem::take(&mut notifiers).close(wait).await;
                let _ = reply.send(());
                return;
            }
        }
    }
}

fn spawn(spec: &NotifierSpec, mut sink: Sink) -> Running {
    let (tx, mut rx) = mpsc::channel::<NotifyEvent>(QUEUE);
    let name = spec.name.clone();
    let task = tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            let t = &ev.transition;
            match &mut sink {
                Sink::Script(s, append) => {
                    // keepalived: `INSTANCE NAME STATE PRIORITY`, `GROUP NAME STATE`.
                    let args = match (*append, ev.group) {
                        (false, _) => Vec::new(),
                        (true, false) => {
                            notify_args("INSTANCE", &ev.instance, state_word(t.to), t.priority)
                        }
                        (true, true) => {
                            let mut a = notify_args("GROUP", &ev.instance, state_word(t.to), 0);
                            a.truncate(3);
                            a
                        }
                    };
                    let r = s.run(&args, &[]).await;
                    if r.success() {
                        debug!(notifier = %name, instance = %ev.instance, "notify script done");
                    } else {
                        warn!(notifier = %name, instance = %ev.instance, output = %r.output.trim_end(), "notify script {}", r.status);
                    }
                }
                Sink::Plugin(n) => {
                    let tr = host::Transition {
                        kind: if ev.group { "group" } else { "instance" }.into(),
                        name: ev.instance.clone(),
                        old_state: plugin_state(t.from, false),
                        new_state: plugin_state(t.to, true),
                        priority: t.priority,
                        reason: t.reason.to_string(),
                        unix_time_ms: ev.unix_time_ms,
                    };
                    let r = n.notify(tr).await;
                    match r.outcome {
                        host::NotifyOutcome::Delivered => {
                            debug!(notifier = %name, instance = %ev.instance, elapsed_ms = r.elapsed.as_millis(), "notified")
                        }
                        other => {
                            warn!(notifier = %name, instance = %ev.instance, "notification failed: {other}")
                        }
                    }
                }
            }
        }
    });
    Running {
        name: spec.name.clone(),
        instances: spec.instances.clone(),
        on: spec.on.clone(),
        tx,
        task,
    }
}

/// The plugin host a configuration needs: `None` when nothing in it is a
/// plugin. Pool slots leave room for reloads that add plugins.
pub fn plugin_host(cfg: &Config) -> Result<Option<PluginHost>> {
    let plugins = cfg
        .checks
        .iter()
        .map(|c| &c.runner)
        .chain(cfg.notifiers.iter().map(|n| &n.runner))
        .filter(|r| r.is_sandboxed())
        .count();
    if plugins == 0 {
        return Ok(None);
    }
    let cache_dir = cfg.global.plugin_cache_dir.clone();
    if let Some(dir) = &cache_dir {
        if let Err(e) = std::fs::create_dir_all(dir) {
            warn!(
                "plugin cache {}: {e}; compiling without a cache",
                dir.display()
            );
        }
    }
    let slots = u32::try_from(plugins.saturating_mul(2).saturating_add(16))
        .unwrap_or(u32::MAX)
        .max(256);
    let h = PluginHost::new(host::HostOptions {
        cache_dir: cache_dir.filter(|d| d.is_dir()),
        max_instances: slots,
        ..host::HostOptions::default()
    })
    .map_err(|e| anyhow!("starting the plugin host: {e}"))?;
    Ok(Some(h))
}

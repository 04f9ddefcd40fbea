//! The checks task: runs every `[[check]]` on its schedule (sandboxed plugin
//! or unsandboxed script), watches tracked interfaces (rtnetlink link
//! events) and files, and turns all of it into priority and Fault updates
//! for the engine thread — the I/O shell around `vigil-checks`.
//!
//! Every run is its own tokio task, so a slow check never delays another;
//! the scheduler skips a check's slot while its previous run is still out.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use futures::StreamExt;
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::packet_core::NetlinkPayload;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};
use vigil_checks::{CheckId, Schedule, Scheduler, Source, Track, Tracker, Weight};
use vigil_config::{CheckSpec, Config, Runner, TrackTarget};
use vigil_plugin_host::{self as host, PluginHost};

use super::engine::{Clock, Command};
use crate::script::Script;

/// How often tracked files are read (keepalived watches them with inotify;
/// a one-second poll is simpler and bounds the delay).
const FILE_POLL: Duration = Duration::from_secs(1);

/// Requests to the checks task.
#[derive(Debug)]
pub enum ChecksCmd {
    /// Reply with the state of every check and tracked object.
    Status(oneshot::Sender<ChecksStatus>),
    /// Reply with each check's spec and health, so that a reload can carry
    /// the health of unchanged checks over.
    Snapshot(oneshot::Sender<Carried>),
    /// Stop.
    Stop,
}

/// Health of checks kept across a reload, by name.
pub type Carried = HashMap<String, (CheckSpec, bool)>;

/// One check in `vigil status`.
#[derive(Clone, Debug, Serialize)]
pub struct CheckStatus {
    /// Name.
    pub name: String,
    /// `plugin NAME` or `unsandboxed script`.
    pub runner: String,
    /// Whether it runs in the sandbox.
    pub sandboxed: bool,
    /// Debounced health.
    pub healthy: bool,
    /// What the last run said.
    pub last_result: Option<String>,
    /// How long the last run took.
    pub last_ms: Option<f64>,
    /// Counters.
    pub stats: vigil_checks::Stats,
}

/// One instance's tracking in `vigil status`.
#[derive(Clone, Debug, Serialize)]
pub struct TrackingStatus {
    /// Instance.
    pub instance: String,
    /// Effective priority from tracking.
    pub priority: u8,
    /// Fault from its own tracked objects.
    pub fault: bool,
    /// The last change and why.
    pub last_change: Option<String>,
    /// Each tracked object: what, healthy, what it adds.
    pub tracks: Vec<(String, bool, Option<i32>)>,
}

/// The checks task's part of `vigil status`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ChecksStatus {
    /// Checks.
    pub checks: Vec<CheckStatus>,
    /// Instances with tracked objects.
    pub tracking: Vec<TrackingStatus>,
}

/// A handle to the running checks task.
#[derive(Debug)]
pub struct Checks {
    /// Commands.
    pub tx: mpsc::Sender<ChecksCmd>,
    task: JoinHandle<()>,
}

impl Checks {
    /// The health of every check now.
    pub async fn snapshot(&self) -> Carried {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(ChecksCmd::Snapshot(tx)).await.is_ok() {
            rx.await.unwrap_or_default()
        } else {
            Carried::default()
        }
    }

    /// Stop the task (runs in flight finish on their own and are dropped).
    pub async fn stop(self) {
        let _ = self.tx.send(ChecksCmd::Stop).await;
        let _ = self.task.await;
    }
}

enum Run {
    Plugin(Box<host::Checker>),
    Script(Script),
}

struct Done {
    id: CheckId,
    run: Run,
    passed: bool,
    summary: String,
    elapsed: Duration,
}

struct Entry {
    spec: CheckSpec,
    run: Option<Run>,
    last: Option<(String, Duration)>,
}

/// Start the checks of `cfg`. Plugins are loaded and configured here, so a
/// broken plugin or plugin config stops the start (or the reload) with a
/// clear error instead of failing quietly later.
pub async fn start(
    cfg: &Config,
    host: Option<&PluginHost>,
    engine: mpsc::Sender<Command>,
    carried: Carried,
) -> Result<Checks> {
    let clock = Clock::new();
    let now = clock.now();
    let seed = u64::from(std::process::id()) ^ now.as_nanos().rotate_left(17);
    let mut sched = Scheduler::new(seed);
    let mut entries = Vec::new();
    for spec in &cfg.checks {
        let run = match &spec.runner {
            Runner::Script { command, user } => {
                info!(check = %spec.name, "check runs an unsandboxed script: {command}");
                Run::Script(Script {
                    command: command.clone(),
                    user: user.clone(),
                    timeout: spec.timeout,
                })
            }
            Runner::Plugin {
                path,
                config_json,
                grants,
                ..
            } => {
                let host = host.ok_or_else(|| anyhow!("no plugin host"))?;
                let plugin = host
                    .load_file(path)
                    .map_err(|e| anyhow!("check {:?}: {}: {e}", spec.name, path.display()))?;
                let target = crate::plugin_cmd::to_host_target(spec.target.as_ref());
                let checker = host::Checker::new(
                    host,
                    &plugin,
                    host::CheckSpec {
                        name: spec.name.clone(),
                        config_json: config_json.clone(),
                        target,
                        grants: crate::plugin_cmd::host_grants(grants)?,
                        timeout: spec.timeout,
                    },
                )
                .await
                .map_err(|e| anyhow!("check {:?}: {e}", spec.name))?;
                Run::Plugin(Box::new(checker))
            }
        };
        // An unchanged check keeps its health across a reload.
        let init_fail = match carried.get(&spec.name) {
            Some((old, healthy)) if old == spec => !healthy,
            _ => spec.init_fail,
        };
        sched.add(
            now,
            Schedule {
                interval: spec.interval,
                start_delay: spec.start_delay,
                retry_delay: spec.retry_delay,
                fall: spec.fall,
                rise: spec.rise,
                init_fail,
            },
        );
        entries.push(Entry {
            spec: spec.clone(),
            run: Some(run),
            last: None,
        });
    }
    let mut tracker = Tracker::new();
    let mut instances = Vec::new();
    let mut interfaces: Vec<String> = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    for inst in cfg.instances.iter().filter(|i| !i.tracks.is_empty()) {
        let tracks = inst
            .tracks
            .iter()
            .map(|t| {
                let source = match &t.target {
                    TrackTarget::Check(n) => Source::Check(n.clone()),
                    TrackTarget::Interface(n) => {
                        if !interfaces.contains(n) {
                            interfaces.push(n.clone());
                        }
                        Source::Interface(n.clone())
                    }
                    TrackTarget::File(p) => {
                        if !files.contains(p) {
                            files.push(p.clone());
                        }
                        Source::File(p.clone())
                    }
                };
                Track {
                    source,
                    weight: match t.weight {
                        None => Weight::Fault,
                        Some(weight) => Weight::Priority {
                            weight,
                            reverse: t.reverse,
                        },
                    },
                }
            })
            .collect();
        tracker.add_instance(inst.priority, tracks);
        instances.push((inst.name.clone(), None::<String>));
    }
    // Checks start in their initial (or carried) health.
    for (i, e) in entries.iter().enumerate() {
        tracker.set_up(
            &Source::Check(e.spec.name.clone()),
            sched.healthy(CheckId(i)),
        );
    }
    let (links_tx, links_rx) = mpsc::unbounded_channel();
    let link_task = if interfaces.is_empty() {
        None
    } else {
        Some(watch_links(interfaces, links_tx)?)
    };
    let (tx, rx) = mpsc::channel(16);
    let task = tokio::spawn(
        Task {
            clock,
            sched,
            entries,
            tracker,
            instances,
            files,
            engine,
            link_task,
        }
        .run(rx, links_rx),
    );
    Ok(Checks { tx, task })
}

struct Task {
    clock: Clock,
    sched: Scheduler,
    entries: Vec<Entry>,
    tracker: Tracker,
    /// Tracked instances (tracker index order) and their last change.
    instances: Vec<(String, Option<String>)>,
    files: Vec<PathBuf>,
    engine: mpsc::Sender<Command>,
    link_task: Option<JoinHandle<()>>,
}

impl Task {
    async fn run(
        mut self,
        mut cmds: mpsc::Receiver<ChecksCmd>,
        mut links: mpsc::UnboundedReceiver<(String, bool)>,
    ) {
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
        // Whatever tracking says at start (init_fail, carried health, files).
        self.poll_files().await;
        for idx in 0..self.instances.len() {
            self.push(idx, None).await;
        }
        let mut file_poll = tokio::time::interval(FILE_POLL);
        file_poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let next = self.sched.poll_timeout().map(|t| self.clock.instant(t));
            let sleep = async {
                match next {
                    Some(t) => tokio::time::sleep_until(t).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = sleep => {
                    let now = self.clock.now();
                    for id in self.sched.handle_timeout(now) {
                        self.launch(id, &done_tx);
                    }
                }
                Some(d) = done_rx.recv() => self.finish(d).await,
                Some((name, up)) = links.recv() => {
                    let effects = self.tracker.set_up(&Source::Interface(name), up);
                    self.apply(effects).await;
                }
                _ = file_poll.tick(), if !self.files.is_empty() => self.poll_files().await,
                cmd = cmds.recv() => match cmd {
                    Some(ChecksCmd::Status(reply)) => { let _ = reply.send(self.status()); }
                    Some(ChecksCmd::Snapshot(reply)) => {
                        let carried = self.entries.iter().enumerate().map(|(i, e)| {
                            (e.spec.name.clone(), (e.spec.clone(), self.sched.healthy(CheckId(i))))
                        }).collect();
                        let _ = reply.send(carried);
                    }
                    Some(ChecksCmd::Stop) | None => break,
                },
            }
        }
        if let Some(t) = self.link_task.take() {
            t.abort();
        }
    }

    fn launch(&mut self, id: CheckId, done: &mpsc::UnboundedSender<Done>) {
        let Some(e) = self.entries.get_mut(id.0) else {
            return;
        };
        let Some(mut run) = e.run.take() else {
            return;
        };
        let done = done.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let (passed, summary) = match &mut run {
                Run::Plugin(c) => {
                    let r = c.check().await;
                    for (level, msg) in &r.logs {
                        debug!(check = %c.spec().name, "plugin log {level}: {msg}");
                    }
                    (r.outcome.passed(), r.outcome.to_string())
                }
                Run::Script(s) => {
                    let r = s.run(&[], &[]).await;
                    (r.success(), r.status.to_string())
                }
            };
            let _ = done.send(Done {
                id,
                run,
                passed,
                summary,
                elapsed: started.elapsed(),
            });
        });
    }

    async fn finish(&mut self, d: Done) {
        let now = self.clock.now();
        let Some(e) = self.entries.get_mut(d.id.0) else {
            return;
        };
        e.run = Some(d.run);
        e.last = Some((d.summary.clone(), d.elapsed));
        let name = e.spec.name.clone();
        if !d.passed {
            debug!(check = %name, "check failed: {}", d.summary);
        }
        if let Some(healthy) = self.sched.on_result(now, d.id, d.passed) {
            if healthy {
                info!(check = %name, "check is up: {}", d.summary);
            } else {
                warn!(check = %name, "check is down: {}", d.summary);
            }
            let effects = self.tracker.set_up(&Source::Check(name), healthy);
            self.apply(effects).await;
        }
    }

    async fn poll_files(&mut self) {
        for f in self.files.clone() {
            let value = match std::fs::read_to_string(&f) {
                Ok(text) => text.trim().parse::<i64>().unwrap_or_else(|_| {
                    debug!(file = %f.display(), "tracked file holds no integer: counts as 0");
                    0
                }),
                // keepalived: a missing file counts as 0.
                Err(_) => 0,
            };
            let effects = self.tracker.set_number(&Source::File(f), value);
            self.apply(effects).await;
        }
    }

    async fn apply(&mut self, effects: Vec<vigil_checks::Effect>) {
        for e in effects {
            info!(
                instance = self.instances.get(e.instance).map_or("?", |i| i.0.as_str()),
                priority = e.priority,
                fault = e.fault,
                "tracking: {}",
                e.reason
            );
            self.push(e.instance, Some(e.reason)).await;
        }
    }

    async fn push(&mut self, idx: usize, reason: Option<String>) {
        let Some((priority, fault)) = self.tracker.state(idx) else {
            return;
        };
        let Some((name, last)) = self.instances.get_mut(idx) else {
            return;
        };
        if reason.is_some() {
            *last = reason;
        }
        let _ = self
            .engine
            .send(Command::Track {
                instance: name.clone(),
                priority,
                fault,
            })
            .await;
    }

    fn status(&self) -> ChecksStatus {
        let checks = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| CheckStatus {
                name: e.spec.name.clone(),
                runner: match &e.spec.runner {
                    Runner::Plugin { plugin, .. } => format!("plugin {plugin}"),
                    Runner::Script { .. } => "unsandboxed script".into(),
                },
                sandboxed: e.spec.runner.is_sandboxed(),
                healthy: self.sched.healthy(CheckId(i)),
                last_result: e.last.as_ref().map(|l| l.0.clone()),
                last_ms: e.last.as_ref().map(|l| l.1.as_secs_f64() * 1e3),
                stats: self.sched.stats(CheckId(i)),
            })
            .collect();
        let tracking = self
            .instances
            .iter()
            .enumerate()
            .filter_map(|(i, (name, last))| {
                let (priority, fault) = self.tracker.state(i)?;
                Some(TrackingStatus {
                    instance: name.clone(),
                    priority,
                    fault,
                    last_change: last.clone(),
                    tracks: self
                        .tracker
                        .contributions(i)
                        .into_iter()
                        .map(|(s, ok, d)| (s.to_string(), ok, d))
                        .collect(),
                })
            })
            .collect();
        ChecksStatus { checks, tracking }
    }
}

/// Link state of the tracked interfaces: the current state first, then every
/// change from rtnetlink's link multicast group. Up means administratively
/// up and running (carrier), as keepalived counts it; a deleted link is down.
fn watch_links(
    names: Vec<String>,
    tx: mpsc::UnboundedSender<(String, bool)>,
) -> Result<JoinHandle<()>> {
    let (conn, handle, mut messages) =
        rtnetlink::new_multicast_connection(&[rtnetlink::MulticastGroup::Link])
            .map_err(|e| anyhow!("netlink link monitor: {e}"))?;
    tokio::spawn(conn);
    let state = |m: &LinkMessage| -> Option<(String, bool)> {
        let name = m.attributes.iter().find_map(|a| match a {
            LinkAttribute::IfName(n) => Some(n.clone()),
            _ => None,
        })?;
        let f = m.header.flags;
        Some((
            name,
            f.contains(LinkFlags::Up) && f.contains(LinkFlags::Running),
        ))
    };
    Ok(tokio::spawn(async move {
        for name in &names {
            let mut req = handle.link().get().match_name(name.clone()).execute();
            let up = match req.next().await {
                Some(Ok(m)) => state(&m).is_some_and(|s| s.1),
                _ => false,
            };
            let _ = tx.send((name.clone(), up));
        }
        while let Some((msg, _)) = messages.next().await {
            let (m, deleted) = match msg.payload {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(m)) => (m, false),
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(m)) => (m, true),
                _ => continue,
            };
            if let Some((name, up)) = state(&m) {
                if names.contains(&name) {
                    let _ = tx.send((name, up && !deleted));
                }
            }
        }
    }))
}

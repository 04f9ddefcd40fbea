//! `vigil run`: the daemon's main loop — configuration, signals, control
//! socket — around the engine thread and the effects worker.

pub mod checks;
pub mod effects;
pub mod engine;
pub mod notify;
pub mod plan;

use std::path::{Path, PathBuf};

use anyhow::Result;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, oneshot};
use tracing::{error, info, warn};

use crate::control::{self, ControlHandle};
use crate::net::netlink::Netlink;
use effects::Effect;
use engine::Command;

/// Options of `vigil run`.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Configuration file.
    pub config: PathBuf,
    /// Override of the control socket path.
    pub control_socket: Option<PathBuf>,
    /// SCHED_FIFO priority for the VRRP thread.
    pub realtime: Option<i32>,
}

fn load(path: &Path) -> Result<vigil_config::Config> {
    vigil_config::Config::load(path).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Run the daemon until SIGTERM / SIGINT.
pub async fn run(opts: RunOptions) -> Result<()> {
    let cfg = load(&opts.config)?;
    let nl = Netlink::open()?;
    let vmacs = plan::ensure_vmacs(&nl, &cfg).await?;
    let plan = plan::resolve(&nl, &cfg).await?;
    let socket_path = opts
        .control_socket
        .clone()
        .unwrap_or_else(|| plan.control_socket.clone());
    info!(
        config = %opts.config.display(),
        instances = plan.instances.len(),
        "vigil starting"
    );
    // Accept_Mode: refuse local traffic to the VIPs of `accept = false` instances.
    // A table left by a daemon that was killed goes too (ignored where nft is missing).
    if crate::net::filter::refused_addresses(&plan).is_empty() {
        let _ = crate::net::filter::remove();
    }
    let filtered = crate::net::filter::apply(&plan, false)?;
    let host = notify::plugin_host(&cfg)?;
    let notifiers = notify::Notifiers::start(&cfg, host.as_ref()).await?;
    if notifiers.len() > 0 {
        info!(notifiers = notifiers.len(), "notifiers started");
    }
    let (hub_tx, hub_rx) = mpsc::unbounded_channel();
    let hub_task = tokio::spawn(notify::hub(notifiers, hub_rx));
    let (eff_tx, eff_rx) = mpsc::unbounded_channel();
    let effects_task = tokio::spawn(effects::run(nl.clone(), eff_rx, hub_tx.clone()));
    let (engine, thread) = engine::spawn(plan.clone(), eff_tx.clone(), opts.realtime)?;
    let checks = checks::start(
        &cfg,
        host.as_ref(),
        engine.clone(),
        checks::Carried::default(),
    )
    .await?;
    if !cfg.checks.is_empty() {
        info!(checks = cfg.checks.len(), "checks started");
    }
    let (checks_tx, checks_rx) = tokio::sync::watch::channel(checks.tx.clone());
    let mut live = Live {
        vmacs,
        host,
        checks,
        filtered,
    };

    let (reload_tx, mut reload_rx) =
        mpsc::channel::<oneshot::Sender<Result<serde_json::Value, String>>>(4);
    let listener = control::bind(&socket_path)?;
    let control_task = tokio::spawn(control::serve(
        listener,
        ControlHandle {
            engine: engine.clone(),
            reload: reload_tx,
            checks: checks_rx,
        },
    ));

    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    info!(control = %socket_path.display(), "vigil running");
    loop {
        tokio::select! {
            _ = hup.recv() => {
                info!("SIGHUP: reloading {}", opts.config.display());
                if let Err(e) = reload(&opts.config, &nl, &engine, &hub_tx, &mut live).await {
                    error!("reload rejected, the running configuration stays: {e:#}");
                }
                let _ = checks_tx.send(live.checks.tx.clone());
            }
            Some(reply) = reload_rx.recv() => {
                let r = reload(&opts.config, &nl, &engine, &hub_tx, &mut live).await;
                let _ = checks_tx.send(live.checks.tx.clone());
                if let Err(e) = &r {
                    error!("reload rejected, the running configuration stays: {e:#}");
                }
                let _ = reply.send(r.map_err(|e| format!("{e:#}")));
            }
            _ = term.recv() => { info!("SIGTERM: resigning and stopping"); break; }
            _ = int.recv() => { info!("SIGINT: resigning and stopping"); break; }
        }
    }

    let Live {
        vmacs,
        checks,
        filtered,
        ..
    } = live;
    checks.stop().await;
    // Resign: priority-0 adverts go out from the engine thread at once, then
    // the addresses are removed in order by the effects worker.
    let (tx, rx) = oneshot::channel();
    if engine.send(Command::Shutdown(tx)).await.is_ok() {
        let _ = rx.await;
    }
    let (tx, rx) = oneshot::channel();
    if eff_tx.send(Effect::Flush(tx)).is_ok() {
        let _ = rx.await;
    }
    for name in &vmacs {
        if let Ok(l) = nl.link(name).await {
            if let Err(e) = nl.del_link(l.index).await {
                warn!("removing VMAC {name}: {e}");
            }
        }
    }
    control_task.abort();
    drop(eff_tx);
    let _ = effects_task.await;
    // notify_stop and friends: what the shutdown reported is delivered first.
    let (tx, rx) = oneshot::channel();
    if hub_tx.send(notify::HubMsg::Close(tx)).is_ok() {
        let _ = rx.await;
    }
    let _ = hub_task.await;
    let _ = std::fs::remove_file(&socket_path);
    if filtered {
        if let Err(e) = crate::net::filter::remove() {
            warn!("removing the Accept_Mode rules: {e:#}");
        }
    }
    let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    info!("vigil stopped");
    Ok(())
}

/// What runs beside the engine and changes on reload.
struct Live {
    /// VMAC interfaces created (removed on exit).
    vmacs: Vec<String>,
    /// The plugin host, once a configuration needed one.
    host: Option<vigil_plugin_host::PluginHost>,
    /// The checks task.
    checks: checks::Checks,
    /// Whether the Accept_Mode table is installed.
    filtered: bool,
}

async fn reload(
    path: &Path,
    nl: &Netlink,
    engine: &mpsc::Sender<Command>,
    hub: &mpsc::UnboundedSender<notify::HubMsg>,
    live: &mut Live,
) -> Result<serde_json::Value> {
    let Live {
        vmacs,
        host,
        checks,
        filtered,
    } = live;
    let cfg = load(path)?;
    // Notifiers are started before anything changes: one that fails to load
    // rejects the reload and the running configuration stays.
    if host.is_none() {
        *host = notify::plugin_host(&cfg)?;
    }
    let notifiers = notify::Notifiers::start(&cfg, host.as_ref()).await?;
    // New checks are loaded and configured before the old ones stop; an
    // unchanged check keeps its health.
    let carried = checks.snapshot().await;
    let new_checks = checks::start(&cfg, host.as_ref(), engine.clone(), carried).await?;
    for name in plan::ensure_vmacs(nl, &cfg).await? {
        if !vmacs.contains(&name) {
            vmacs.push(name);
        }
    }
    let plan = plan::resolve(nl, &cfg).await?;
    *filtered = crate::net::filter::apply(&plan, *filtered)?;
    let (tx, rx) = oneshot::channel();
    engine
        .send(Command::Reload(Box::new(plan), tx))
        .await
        .map_err(|_| anyhow::anyhow!("engine stopped"))?;
    let summary = rx
        .await
        .map_err(|_| anyhow::anyhow!("engine stopped"))?
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let _ = hub.send(notify::HubMsg::Replace(notifiers));
    std::mem::replace(checks, new_checks).stop().await;
    Ok(serde_json::to_value(summary)?)
}

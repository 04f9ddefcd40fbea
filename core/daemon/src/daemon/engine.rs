//! The engine thread: the VRRP router, its sockets and its timers, on a
//! dedicated OS thread with its own single-threaded runtime.
//!
//! Why a thread of its own: advert timing must not wait behind netlink
//! round-trips, the control API or a slow notifier. Everything slow is
//! handed to the effects worker through a channel; this thread only parses,
//! runs the state machine and sends adverts (non-blocking sendto).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};
use vigil_vrrp::{Action, Event, Family, Instance, InstanceId, Router, State, Timestamp};

use super::effects::Effect;
use super::plan::{InstancePlan, Plan};
use crate::net::vrrp_socket::VrrpSocket;

/// How much of each timer wait is done precisely rather than by tokio's
/// millisecond timer wheel. tokio rounds a deadline up to its next 1 ms tick
/// and the epoll timeout up to the next millisecond again, so its wake-up can
/// come up to ~2 ms after the requested instant: waking 2.5 ms early keeps it
/// before the real deadline. Packets that arrive meanwhile keep their kernel
/// receive time (SO_TIMESTAMPNS), so the blocking wait does not skew timers.
const PRECISE_WAIT: Duration = Duration::from_micros(2500);

/// Queued packets processed before firing timers (bounded, so a flood
/// cannot starve the timers).
const RX_BEFORE_TIMEOUT: usize = 1024;

/// Largest VRRP packet we accept: 255 IPv6 addresses + headers fit in 4 KiB.
const RX_BUF: usize = 4096;

/// Converts the monotonic clock into engine timestamps.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    origin: Instant,
}

impl Clock {
    /// When a packet arrived, on this clock: now, minus how long ago the
    /// kernel stamped it (never later than now, never more than 1 s back,
    /// so a wall-clock jump cannot move it far).
    pub fn arrival(&self, kernel_rx: Option<std::time::SystemTime>) -> Timestamp {
        let now = self.now();
        let Some(rx) = kernel_rx else { return now };
        let age = std::time::SystemTime::now()
            .duration_since(rx)
            .unwrap_or(Duration::ZERO)
            .min(Duration::from_secs(1));
        now - age
    }

    /// A clock whose origin is now.
    pub fn new() -> Clock {
        Clock {
            origin: Instant::now(),
        }
    }

    /// Now, as an engine timestamp.
    pub fn now(&self) -> Timestamp {
        Timestamp::from_nanos(u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    /// An engine timestamp as a tokio instant.
    pub fn instant(&self, t: Timestamp) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.origin + Duration::from_nanos(t.as_nanos()))
    }
}

/// Requests to the engine thread.
#[derive(Debug)]
pub enum Command {
    /// Reply with a status snapshot.
    Status(oneshot::Sender<Status>),
    /// Apply a new plan (instances equal to the running ones keep running).
    Reload(Box<Plan>, oneshot::Sender<Result<ReloadSummary, String>>),
    /// Tracking changed an instance's effective priority or Fault state.
    Track {
        /// Instance name.
        instance: String,
        /// Effective priority (ignored for address owners by the engine).
        priority: u8,
        /// Whether its own tracked objects put it in Fault.
        fault: bool,
    },
    /// Resign everything and stop.
    Shutdown(oneshot::Sender<()>),
}

/// What a reload did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ReloadSummary {
    /// Instances that kept running untouched.
    pub unchanged: Vec<String>,
    /// Instances restarted with a new configuration.
    pub changed: Vec<String>,
    /// New instances.
    pub added: Vec<String>,
    /// Instances stopped.
    pub removed: Vec<String>,
}

/// The state of one instance for `vigil status`.
#[derive(Clone, Debug, Serialize)]
pub struct InstanceStatus {
    /// Name.
    pub name: String,
    /// Interface.
    pub interface: String,
    /// VRID.
    pub vrid: u8,
    /// Version.
    pub version: vigil_vrrp::Version,
    /// State.
    pub state: State,
    /// Effective priority.
    pub priority: u8,
    /// Configured priority.
    pub base_priority: u8,
    /// Advert interval in ms.
    pub advert_interval_ms: u32,
    /// Our source address.
    pub source: IpAddr,
    /// Current master (ourselves when master).
    pub master: Option<IpAddr>,
    /// Virtual addresses.
    pub virtual_addresses: Vec<String>,
    /// Counters.
    pub stats: vigil_vrrp::Stats,
    /// Drops by reason (non-zero only), for humans.
    pub drops: Vec<(String, u64)>,
}

/// A snapshot of the whole daemon.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    /// Instances.
    pub instances: Vec<InstanceStatus>,
    /// Packets dropped before an instance was identified.
    pub router_drops: Vec<(String, u64)>,
    /// Adverts that could not be sent.
    pub send_errors: u64,
    /// Seconds since start.
    pub uptime_s: f64,
}

struct RxPacket {
    iface: u32,
    meta: vigil_vrrp::RxMeta,
    data: Vec<u8>,
    kernel_rx: Option<std::time::SystemTime>,
}

struct Engine {
    clock: Clock,
    router: Router,
    plans: Vec<InstancePlan>,
    sockets: HashMap<(u32, Family), Arc<VrrpSocket>>,
    /// The receiving sockets (parent interfaces), read directly before timers fire.
    rx_sockets: Vec<(u32, Arc<VrrpSocket>)>,
    rx_buf: Vec<u8>,
    /// Actions drained from the router, reused between wake-ups.
    pending: Vec<(InstanceId, Action)>,
    rx_tx: mpsc::Sender<RxPacket>,
    effects: mpsc::UnboundedSender<Effect>,
    send_buf: Vec<u8>,
    send_errors: u64,
    started: Instant,
}

/// Start the engine thread with an initial plan. Sockets are opened before
/// this returns, so permission or interface errors surface at once.
pub fn spawn(
    plan: Plan,
    effects: mpsc::UnboundedSender<Effect>,
    realtime: Option<i32>,
) -> anyhow::Result<(mpsc::Sender<Command>, std::thread::JoinHandle<()>)> {
    let (cmd_tx, cmd_rx) = mpsc::channel::<Command>(64);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<anyhow::Result<()>>();
    let handle = std::thread::Builder::new()
        .name("vigil-vrrp".into())
        .spawn(move || {
            if let Some(prio) = realtime {
                match crate::net::sys::set_realtime(prio) {
                    Ok(()) => info!(priority = prio, "VRRP thread runs SCHED_FIFO"),
                    Err(e) => warn!(
                        "cannot make the VRRP thread real-time ({e}); adverts may be late on a saturated machine"
                    ),
                }
            }
            if let Err(e) = crate::net::sys::set_timer_slack(1) {
                debug!("cannot set the VRRP thread's timer slack: {e}");
            }
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.into()));
                    return;
                }
            };
            rt.block_on(async move {
                let (rx_tx, rx_rx) = mpsc::channel::<RxPacket>(4096);
                let mut engine = Engine {
                    clock: Clock::new(),
                    router: Router::new(),
                    plans: Vec::new(),
                    sockets: HashMap::new(),
                    rx_sockets: Vec::new(),
                    rx_buf: vec![0u8; RX_BUF],
                    pending: Vec::new(),
                    rx_tx,
                    effects,
                    send_buf: Vec::with_capacity(128),
                    send_errors: 0,
                    started: Instant::now(),
                };
                match engine.install(plan) {
                    Ok(_) => {
                        let _ = ready_tx.send(Ok(()));
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                }
                engine.run(cmd_rx, rx_rx).await;
            });
        })?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok((cmd_tx, handle)),
        Ok(Err(e)) => {
            let _ = handle.join();
            Err(e)
        }
        Err(_) => Err(anyhow::anyhow!("the VRRP thread died while starting")),
    }
}

impl Engine {
    /// Install a plan on an empty or running router, keeping unchanged
    /// instances (same resolved plan) with their state and timers.
    fn install(&mut self, plan: Plan) -> anyhow::Result<ReloadSummary> {
        // Everything that can fail happens before the running router is
        // touched, so a rejected plan leaves the old one running as it was.
        let mut scratch = Router::new();
        for p in &plan.instances {
            scratch.add_instance(p.ifindex, p.engine.clone())?;
        }
        for g in &plan.sync_groups {
            let ids: Vec<InstanceId> = g.iter().map(|i| InstanceId(*i)).collect();
            scratch.add_sync_group(&ids)?;
        }
        for p in &plan.instances {
            self.ensure_socket(p)?;
        }
        let now = self.clock.now();
        // Flush what the old router still had to say before taking it apart.
        self.drain();
        let old_router = std::mem::take(&mut self.router);
        let old_plans = std::mem::take(&mut self.plans);
        let mut old: HashMap<String, (InstancePlan, Instance)> = old_plans
            .into_iter()
            .zip(old_router.into_instances())
            .map(|(p, (_, i))| (p.name.clone(), (p, i)))
            .collect();
        let mut summary = ReloadSummary::default();
        let mut router = Router::new();
        let mut starting = Vec::new();
        for p in &plan.instances {
            match old.remove(&p.name) {
                Some((op, inst)) if op == *p => {
                    router.insert_instance(now, p.ifindex, inst)?;
                    summary.unchanged.push(p.name.clone());
                }
                prev => {
                    if let Some((_, mut inst)) = prev {
                        inst.handle_event(now, Event::Shutdown);
                        self.carry_out(&mut inst, &p.clone());
                        summary.changed.push(p.name.clone());
                    } else {
                        summary.added.push(p.name.clone());
                    }
                    let id = router.add_instance(p.ifindex, p.engine.clone())?;
                    starting.push(id);
                }
            }
        }
        for (name, (op, mut inst)) in old {
            inst.handle_event(now, Event::Shutdown);
            self.carry_out(&mut inst, &op);
            summary.removed.push(name);
        }
        for g in &plan.sync_groups {
            let ids: Vec<InstanceId> = g.iter().map(|i| InstanceId(*i)).collect();
            router.add_sync_group(&ids)?;
        }
        self.router = router;
        self.plans = plan.instances;
        for id in starting {
            // Leftovers from a crash would make two holders: start clean.
            if let Some(p) = self.plans.get(id.0) {
                let _ = self.effects.send(Effect::RemoveAddresses {
                    instance: p.name.clone(),
                    ifindex: p.ifindex,
                    vips: p.vips.clone(),
                    quiet: true,
                });
            }
            self.router.handle_event(now, id, Event::Startup);
        }
        self.drain();
        Ok(summary)
    }

    /// Carry out the actions of an instance that is leaving the router.
    fn carry_out(&mut self, inst: &mut Instance, plan: &InstancePlan) {
        while let Some(a) = inst.poll_action() {
            self.perform(plan, a);
        }
    }

    fn ensure_socket(&mut self, p: &InstancePlan) -> anyhow::Result<()> {
        let family = p.engine.family();
        // Adverts leave from the VMAC (so their source MAC is the virtual
        // one, RFC 9568 §7.2); everything is received on the parent.
        if p.tx_ifindex != p.ifindex && !self.sockets.contains_key(&(p.tx_ifindex, family)) {
            let tx = VrrpSocket::open(family, &p.tx_iface, p.tx_ifindex, false)
                .map_err(|e| anyhow::anyhow!("VRRP socket on {} ({family:?}): {e}", p.tx_iface))?;
            self.sockets.insert((p.tx_ifindex, family), Arc::new(tx));
        }
        let key = (p.ifindex, family);
        if self.sockets.contains_key(&key) {
            return Ok(());
        }
        let sock = Arc::new(
            VrrpSocket::open(
                family,
                &p.iface,
                p.ifindex,
                p.engine.unicast_peers.is_empty(),
            )
            .map_err(|e| anyhow::anyhow!("VRRP socket on {} ({family:?}): {e}", p.iface))?,
        );
        self.sockets.insert(key, sock.clone());
        self.rx_sockets.push((p.ifindex, sock.clone()));
        let tx = self.rx_tx.clone();
        let ifindex = p.ifindex;
        tokio::spawn(async move {
            let mut buf = vec![0u8; RX_BUF];
            loop {
                match sock.recv(&mut buf).await {
                    Ok(r) => {
                        let data = buf.get(r.payload.clone()).unwrap_or(&[]).to_vec();
                        let pkt = RxPacket {
                            iface: ifindex,
                            meta: r.meta,
                            data,
                            kernel_rx: r.kernel_rx,
                        };
                        if tx.send(pkt).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        warn!(iface = sock.ifname(), "VRRP receive error: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        Ok(())
    }

    async fn run(&mut self, mut cmds: mpsc::Receiver<Command>, mut rx: mpsc::Receiver<RxPacket>) {
        loop {
            let deadline = self.router.poll_timeout().map(|t| self.clock.instant(t));
            // tokio's timer wheel has millisecond granularity and rounds up,
            // which would make every VRRP timer up to 1 ms late (10 % of a
            // 10 ms advert interval). Wake a little early through tokio, then
            // finish the wait precisely on this (dedicated) thread.
            let sleep = async {
                match deadline {
                    Some(d) => {
                        tokio::time::sleep_until(d.checked_sub(PRECISE_WAIT).unwrap_or(d)).await;
                        let left = d.saturating_duration_since(tokio::time::Instant::now());
                        if !left.is_zero() {
                            std::thread::sleep(left);
                        }
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                biased;
                _ = sleep => {
                    self.catch_up(&mut rx);
                    let now = self.clock.now();
                    self.router.handle_timeout(now);
                }
                Some(pkt) = rx.recv() => {
                    let now = self.clock.arrival(pkt.kernel_rx);
                    if let Err(reason) = self.router.handle_packet(now, pkt.iface, &pkt.meta, &pkt.data) {
                        debug!(src = %pkt.meta.src, %reason, "VRRP packet dropped");
                    }
                }
                cmd = cmds.recv() => match cmd {
                    Some(Command::Status(reply)) => {
                        let _ = reply.send(self.status());
                    }
                    Some(Command::Reload(plan, reply)) => match self.install(*plan) {
                        Ok(summary) => {
                            info!(?summary, "configuration reloaded");
                            let _ = reply.send(Ok(summary));
                        }
                        Err(e) => {
                            let _ = reply.send(Err(format!("{e:#}")));
                        }
                    },
                    Some(Command::Track { instance, priority, fault }) => {
                        let now = self.clock.now();
                        match self.plans.iter().position(|p| p.name == instance) {
                            Some(idx) => {
                                let id = InstanceId(idx);
                                self.router.handle_event(now, id, Event::SetPriority(priority));
                                self.router.handle_event(now, id, Event::SetFault(fault));
                            }
                            None => debug!(%instance, "tracking update for an unknown instance"),
                        }
                    }
                    Some(Command::Shutdown(reply)) => {
                        let now = self.clock.now();
                        self.router.handle_event_all(now, Event::Shutdown);
                        self.drain();
                        let _ = reply.send(());
                        return;
                    }
                    None => return,
                },
            }
            self.drain();
        }
    }

    /// Adverts that arrived while this thread was held off the CPU count
    /// before a deadline fires: a stalled backup must not take over while its
    /// master's adverts sit queued, in the channel (older) or still in the
    /// sockets' kernel buffers (newer). Bounded, so a flood cannot starve
    /// the timers.
    fn catch_up(&mut self, rx: &mut mpsc::Receiver<RxPacket>) {
        let mut budget = RX_BEFORE_TIMEOUT;
        while budget > 0 {
            let Ok(pkt) = rx.try_recv() else { break };
            budget -= 1;
            let now = self.clock.now();
            let _ = self
                .router
                .handle_packet(now, pkt.iface, &pkt.meta, &pkt.data);
        }
        for (ifindex, sock) in &self.rx_sockets {
            while budget > 0 {
                let Ok(Some(r)) = sock.try_recv(&mut self.rx_buf) else {
                    break;
                };
                budget -= 1;
                let data = self.rx_buf.get(r.payload.clone()).unwrap_or(&[]);
                let now = self.clock.arrival(r.kernel_rx);
                let _ = self.router.handle_packet(now, *ifindex, &r.meta, data);
            }
        }
    }

    fn drain(&mut self) {
        let mut pending = std::mem::take(&mut self.pending);
        while let Some(a) = self.router.poll_action() {
            pending.push(a);
        }
        // Adverts first: on a takeover the advert leaves before the address,
        // announcement and logging work is handed on (and without cloning
        // the instance's plan, which the other actions need).
        for (id, a) in &pending {
            if let Action::SendAdvert(out) = a {
                self.send_advert(id.0, out);
            }
        }
        for (id, action) in pending.drain(..) {
            if matches!(action, Action::SendAdvert(_)) {
                continue;
            }
            let Some(plan) = self.plans.get(id.0).cloned() else {
                continue;
            };
            self.perform(&plan, action);
        }
        self.pending = pending;
    }

    fn send_advert(&mut self, idx: usize, out: &vigil_vrrp::Outgoing) {
        let Some(plan) = self.plans.get(idx) else {
            return;
        };
        let key = (plan.tx_ifindex, plan.engine.family());
        let r = match self.sockets.get(&key) {
            Some(s) => s.send(out, &mut self.send_buf),
            None => Err(std::io::Error::other("no socket")),
        };
        if let Err(e) = r {
            self.send_errors += 1;
            if self.send_errors.is_power_of_two() {
                warn!(instance = %plan.name, dst = %out.dst, "advert not sent: {e} ({} so far)", self.send_errors);
            }
        }
    }

    fn perform(&mut self, plan: &InstancePlan, action: Action) {
        match action {
            Action::SendAdvert(out) => {
                let key = (plan.tx_ifindex, plan.engine.family());
                let r = match self.sockets.get(&key) {
                    Some(s) => s.send(&out, &mut self.send_buf),
                    None => Err(std::io::Error::other("no socket")),
                };
                if let Err(e) = r {
                    self.send_errors += 1;
                    if self.send_errors.is_power_of_two() {
                        warn!(instance = %plan.name, dst = %out.dst, "advert not sent: {e} ({} so far)", self.send_errors);
                    }
                }
            }
            Action::AddAddresses { .. } => {
                let _ = self.effects.send(Effect::AddAddresses {
                    instance: plan.name.clone(),
                    ifindex: plan.ifindex,
                    vips: plan.vips.clone(),
                });
            }
            Action::RemoveAddresses { .. } => {
                let _ = self.effects.send(Effect::RemoveAddresses {
                    instance: plan.name.clone(),
                    ifindex: plan.ifindex,
                    vips: plan.vips.clone(),
                    quiet: false,
                });
            }
            Action::Announce { addresses, repeat } => {
                let _ = self.effects.send(Effect::Announce {
                    iface: plan.vip_iface.clone(),
                    ifindex: plan.vip_ifindex,
                    mac: plan.mac,
                    addresses,
                    repeat,
                    garp_interval: plan.garp_interval,
                    gna_interval: plan.gna_interval,
                });
            }
            Action::Transition(t) => {
                info!(
                    instance = %plan.name,
                    vrid = t.vrid,
                    iface = %plan.iface,
                    priority = t.priority,
                    reason = %t.reason,
                    "{} -> {}", t.from, t.to
                );
                let _ = self.effects.send(Effect::Transition {
                    instance: plan.name.clone(),
                    transition: t,
                });
            }
        }
    }

    fn status(&self) -> Status {
        let instances = self
            .router
            .instances()
            .filter_map(|(id, i)| {
                let p = self.plans.get(id.0)?;
                let cfg = i.config();
                Some(InstanceStatus {
                    name: p.name.clone(),
                    interface: p.iface.clone(),
                    vrid: cfg.vrid,
                    version: cfg.version,
                    state: i.state(),
                    priority: i.priority(),
                    base_priority: cfg.priority,
                    advert_interval_ms: u32::from(cfg.advert_interval.centis()) * 10,
                    source: cfg.primary_address,
                    master: i.master().map(|m| m.address),
                    virtual_addresses: p
                        .vips
                        .iter()
                        .map(|v| format!("{}/{}", v.addr, v.prefix_len))
                        .collect(),
                    stats: *i.stats(),
                    drops: i
                        .stats()
                        .drops
                        .iter()
                        .map(|(r, n)| (r.to_string(), n))
                        .collect(),
                })
            })
            .collect();
        Status {
            instances,
            router_drops: self
                .router
                .drops()
                .iter()
                .map(|(r, n)| (r.to_string(), n))
                .collect(),
            send_errors: self.send_errors,
            uptime_s: self.started.elapsed().as_secs_f64(),
        }
    }
}

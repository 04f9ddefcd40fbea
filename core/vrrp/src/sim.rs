//! A deterministic simulator: N routers on a virtual LAN, virtual time.
//!
//! Every advert really goes through the codec (encoded by the sender,
//! parsed and validated by each receiver), the wire has seeded delay, loss
//! and partitions, and nodes can crash, resign, restart and change priority.
//! Nothing sleeps: [`Sim::run_until`] jumps from event to event, so hours of
//! protocol time take milliseconds and a failing seed replays exactly.
//! This is how the engine is proven (see `tests/sim.rs`), and what
//! `vigil demo` shows until the daemon exists.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::net::IpAddr;
use std::time::Duration;

use crate::config::InstanceConfig;
use crate::instance::{Action, Event, RxMeta, State, Transition};
use crate::packet::VRRP_TTL;
use crate::router::{InstanceId, Router, RouterError};
use crate::time::Timestamp;

/// Index of a node in the simulation.
pub type NodeId = usize;

/// Properties of the virtual wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wire {
    /// Smallest one-way delay.
    pub min_delay: Duration,
    /// Largest one-way delay (uniform in between).
    pub max_delay: Duration,
    /// Probability of losing each delivery, in parts per million.
    pub loss_ppm: u32,
}

impl Default for Wire {
    /// A quiet LAN: 50..200 µs, no loss.
    fn default() -> Self {
        Wire {
            min_delay: Duration::from_micros(50),
            max_delay: Duration::from_micros(200),
            loss_ppm: 0,
        }
    }
}

/// Something that happened, for timelines and assertions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceEvent {
    /// An instance changed state.
    Transition {
        /// Which node.
        node: NodeId,
        /// What changed.
        transition: Transition,
    },
    /// A node added its virtual addresses.
    AddressesAdded {
        /// When.
        at: Timestamp,
        /// Which node.
        node: NodeId,
        /// VRID.
        vrid: u8,
    },
    /// A node removed its virtual addresses.
    AddressesRemoved {
        /// When.
        at: Timestamp,
        /// Which node.
        node: NodeId,
        /// VRID.
        vrid: u8,
    },
    /// Gratuitous ARP / NA sent.
    Announced {
        /// When.
        at: Timestamp,
        /// Which node.
        node: NodeId,
        /// VRID.
        vrid: u8,
    },
    /// A node crashed (no priority-0 advert).
    Crashed {
        /// When.
        at: Timestamp,
        /// Which node.
        node: NodeId,
    },
    /// A node was restarted.
    Restarted {
        /// When.
        at: Timestamp,
        /// Which node.
        node: NodeId,
    },
}

#[derive(Debug)]
struct Node {
    name: String,
    configs: Vec<InstanceConfig>,
    groups: Vec<Vec<InstanceId>>,
    router: Router,
    alive: bool,
    segment: u32,
    addresses: BTreeSet<IpAddr>,
    /// Virtual addresses currently configured, per VRID.
    held: BTreeSet<(u8, IpAddr)>,
    last_advert_sent: Option<Timestamp>,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Delivery {
    at: Timestamp,
    seq: u64,
    to: NodeId,
    src: IpAddr,
    dst: IpAddr,
    bytes: Vec<u8>,
}

/// The simulation.
#[derive(Debug)]
pub struct Sim {
    now: Timestamp,
    wire: Wire,
    rng: SplitMix64,
    nodes: Vec<Node>,
    wire_queue: BinaryHeap<Reverse<Delivery>>,
    seq: u64,
    trace: Vec<TraceEvent>,
    adverts_on_wire: u64,
    encode_buf: Vec<u8>,
}

impl Sim {
    /// An empty LAN with the given wire and seed.
    pub fn new(seed: u64, wire: Wire) -> Sim {
        Sim {
            now: Timestamp::from_millis(1_000),
            wire,
            rng: SplitMix64(seed),
            nodes: Vec::new(),
            wire_queue: BinaryHeap::new(),
            seq: 0,
            trace: Vec::new(),
            adverts_on_wire: 0,
            encode_buf: Vec::with_capacity(64),
        }
    }

    /// Add a router running `configs` (one per VRID), not yet started.
    /// `groups` lists sync groups as indexes into `configs`.
    pub fn add_node(
        &mut self,
        name: impl Into<String>,
        configs: Vec<InstanceConfig>,
        groups: Vec<Vec<usize>>,
    ) -> Result<NodeId, RouterError> {
        let groups: Vec<Vec<InstanceId>> = groups
            .into_iter()
            .map(|g| g.into_iter().map(InstanceId).collect())
            .collect();
        let router = build_router(&configs, &groups)?;
        let addresses = configs.iter().map(|c| c.primary_address).collect();
        self.nodes.push(Node {
            name: name.into(),
            configs,
            groups,
            router,
            alive: false,
            segment: 0,
            addresses,
            held: BTreeSet::new(),
            last_advert_sent: None,
        });
        Ok(self.nodes.len() - 1)
    }

    /// Current virtual time.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// A node's name.
    pub fn name(&self, node: NodeId) -> &str {
        self.nodes.get(node).map_or("?", |n| n.name.as_str())
    }

    /// Everything that happened so far.
    pub fn trace(&self) -> &[TraceEvent] {
        &self.trace
    }

    /// Adverts put on the wire so far (one per destination).
    pub fn adverts_on_wire(&self) -> u64 {
        self.adverts_on_wire
    }

    /// Start a node (Startup event for all its instances).
    pub fn start(&mut self, node: NodeId) {
        if let Some(n) = self.nodes.get_mut(node) {
            n.alive = true;
            n.router.handle_event_all(self.now, Event::Startup);
        }
        self.drain(node);
    }

    /// Kill a node without a goodbye (kill -9, power loss): its adverts stop,
    /// its addresses vanish with it.
    pub fn crash(&mut self, node: NodeId) {
        if let Some(n) = self.nodes.get_mut(node) {
            n.alive = false;
            n.held.clear();
            self.trace.push(TraceEvent::Crashed { at: self.now, node });
        }
    }

    /// Stop a node gracefully: masters send priority 0 and remove addresses.
    pub fn shutdown(&mut self, node: NodeId) {
        if let Some(n) = self.nodes.get_mut(node) {
            n.router.handle_event_all(self.now, Event::Shutdown);
        }
        self.drain(node);
        if let Some(n) = self.nodes.get_mut(node) {
            n.alive = false;
        }
    }

    /// Bring a crashed or stopped node back with fresh state.
    pub fn restart(&mut self, node: NodeId) -> Result<(), RouterError> {
        if let Some(n) = self.nodes.get_mut(node) {
            n.router = build_router(&n.configs, &n.groups)?;
            n.held.clear();
            self.trace
                .push(TraceEvent::Restarted { at: self.now, node });
        }
        self.start(node);
        Ok(())
    }

    /// Deliver an event to one instance of a running node.
    pub fn event(&mut self, node: NodeId, instance: usize, event: Event) {
        if let Some(n) = self.nodes.get_mut(node) {
            if n.alive {
                n.router.handle_event(self.now, InstanceId(instance), event);
            }
        }
        self.drain(node);
    }

    /// Put nodes in separate broadcast domains: packets only flow between
    /// nodes of the same segment.
    pub fn set_segment(&mut self, node: NodeId, segment: u32) {
        if let Some(n) = self.nodes.get_mut(node) {
            n.segment = segment;
        }
    }

    /// Join every node into one segment again.
    pub fn heal(&mut self) {
        for n in &mut self.nodes {
            n.segment = 0;
        }
    }

    /// Change the wire (e.g. start or stop losing packets).
    pub fn set_wire(&mut self, wire: Wire) {
        self.wire = wire;
    }

    /// Inject raw bytes as if `src` had sent them to `dst` with `ttl`, to
    /// every running node in segment 0 (for hostile-input tests).
    pub fn inject(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        bytes: &[u8],
    ) -> Vec<Result<InstanceId, crate::DropReason>> {
        let mut out = Vec::new();
        for i in 0..self.nodes.len() {
            if let Some(n) = self.nodes.get_mut(i) {
                if n.alive {
                    let meta = RxMeta { src, dst, ttl };
                    out.push(n.router.handle_packet(self.now, 0, &meta, bytes));
                }
            }
            self.drain(i);
        }
        out
    }

    /// A node's state for its `instance`-th virtual router.
    pub fn state(&self, node: NodeId, instance: usize) -> Option<State> {
        let n = self.nodes.get(node)?;
        if !n.alive {
            return None;
        }
        n.router.instance(InstanceId(instance)).map(|i| i.state())
    }

    /// The router of a node (for counters and details).
    pub fn router(&self, node: NodeId) -> Option<&Router> {
        self.nodes.get(node).map(|n| &n.router)
    }

    /// Running nodes that are master of `vrid`.
    pub fn masters(&self, vrid: u8) -> Vec<NodeId> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.alive)
            .filter(|(_, n)| {
                n.router
                    .instances()
                    .any(|(_, i)| i.config().vrid == vrid && i.state() == State::Master)
            })
            .map(|(k, _)| k)
            .collect()
    }

    /// Running nodes that hold `vrid`'s virtual addresses.
    pub fn holders(&self, vrid: u8) -> Vec<NodeId> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.alive && n.held.iter().any(|(v, _)| *v == vrid))
            .map(|(k, _)| k)
            .collect()
    }

    /// Advance virtual time to `until`, processing every delivery and timer.
    pub fn run_until(&mut self, until: Timestamp) {
        loop {
            let next_wire = self.wire_queue.peek().map(|Reverse(d)| d.at);
            let next_timer = self
                .nodes
                .iter()
                .filter(|n| n.alive)
                .filter_map(|n| n.router.poll_timeout())
                .min();
            let next = match (next_wire, next_timer) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => break,
                },
            };
            if next > until {
                break;
            }
            self.now = self.now.max(next);
            // Deliveries first: a packet and a timer at the same instant
            // race in reality too; delivering first is the kinder order.
            while self
                .wire_queue
                .peek()
                .is_some_and(|Reverse(d)| d.at <= self.now)
            {
                if let Some(Reverse(d)) = self.wire_queue.pop() {
                    self.deliver(d);
                }
            }
            for i in 0..self.nodes.len() {
                if let Some(n) = self.nodes.get_mut(i) {
                    if n.alive && n.router.poll_timeout().is_some_and(|t| t <= self.now) {
                        n.router.handle_timeout(self.now);
                    }
                }
                self.drain(i);
            }
        }
        self.now = self.now.max(until);
    }

    /// Run for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    fn deliver(&mut self, d: Delivery) {
        let Some(n) = self.nodes.get_mut(d.to) else {
            return;
        };
        if !n.alive {
            return;
        }
        let meta = RxMeta {
            src: d.src,
            dst: d.dst,
            ttl: VRRP_TTL,
        };
        // Drops are counted inside the router; the sim has nothing to add.
        let _ = n.router.handle_packet(self.now, 0, &meta, &d.bytes);
        self.drain(d.to);
    }

    /// Carry out a node's actions: put adverts on the wire, track addresses.
    fn drain(&mut self, node: NodeId) {
        loop {
            let Some(n) = self.nodes.get_mut(node) else {
                return;
            };
            let Some((id, action)) = n.router.poll_action() else {
                return;
            };
            let vrid = n.router.instance(id).map_or(0, |i| i.config().vrid);
            match action {
                Action::SendAdvert(out) => {
                    if !n.alive {
                        continue;
                    }
                    n.last_advert_sent = Some(self.now);
                    if out.encode(&mut self.encode_buf).is_err() {
                        continue;
                    }
                    self.adverts_on_wire += 1;
                    let bytes = self.encode_buf.clone();
                    self.transmit(node, out.src, out.dst, bytes);
                }
                Action::AddAddresses { addresses, .. } => {
                    for a in addresses {
                        n.held.insert((vrid, a));
                    }
                    self.trace.push(TraceEvent::AddressesAdded {
                        at: self.now,
                        node,
                        vrid,
                    });
                }
                Action::RemoveAddresses { addresses } => {
                    for a in addresses {
                        n.held.remove(&(vrid, a));
                    }
                    self.trace.push(TraceEvent::AddressesRemoved {
                        at: self.now,
                        node,
                        vrid,
                    });
                }
                Action::Announce { .. } => {
                    self.trace.push(TraceEvent::Announced {
                        at: self.now,
                        node,
                        vrid,
                    });
                }
                Action::Transition(transition) => {
                    self.trace.push(TraceEvent::Transition { node, transition });
                }
            }
        }
    }

    fn transmit(&mut self, from: NodeId, src: IpAddr, dst: IpAddr, bytes: Vec<u8>) {
        let Some(segment) = self.nodes.get(from).map(|n| n.segment) else {
            return;
        };
        let targets: Vec<NodeId> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(k, n)| *k != from && n.segment == segment)
            .filter(|(_, n)| dst.is_multicast() || n.addresses.contains(&dst))
            .map(|(k, _)| k)
            .collect();
        for to in targets {
            if self.wire.loss_ppm > 0 && self.rng.below(1_000_000) < u64::from(self.wire.loss_ppm) {
                continue;
            }
            let span = self
                .wire
                .max_delay
                .saturating_sub(self.wire.min_delay)
                .as_nanos();
            let jitter = u64::try_from(span).unwrap_or(u64::MAX);
            let delay = self.wire.min_delay
                + Duration::from_nanos(self.rng.below(jitter.saturating_add(1)));
            self.seq += 1;
            self.wire_queue.push(Reverse(Delivery {
                at: self.now + delay,
                seq: self.seq,
                to,
                src,
                dst,
                bytes: bytes.clone(),
            }));
        }
    }
}

fn build_router(
    configs: &[InstanceConfig],
    groups: &[Vec<InstanceId>],
) -> Result<Router, RouterError> {
    let mut r = Router::new();
    for c in configs {
        r.add_instance(0, c.clone())?;
    }
    for g in groups {
        r.add_sync_group(g)?;
    }
    Ok(r)
}

/// SplitMix64: tiny, seedable, good enough for simulation noise.
#[derive(Clone, Debug)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
}

//! Many instances behind one entry point: demultiplexing by interface,
//! family and VRID, one timer queue for all of them, and sync groups.
//!
//! A daemon with 1,000 virtual routers must not scan 1,000 deadlines per
//! packet, so deadlines live in a binary heap with lazy invalidation: each
//! instance's current deadline is remembered and stale heap entries are
//! skipped when popped.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, InstanceConfig};
use crate::instance::{Action, Event, Instance, Reason, RxMeta, State};
use crate::packet::{Family, Packet};
use crate::stats::{DropCounters, DropReason};
use crate::time::Timestamp;

/// Index of an instance in its [`Router`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InstanceId(pub usize);

/// Opaque interface key chosen by the shell (e.g. the ifindex).
pub type IfaceKey = u32;

/// Why an instance cannot be added.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouterError {
    /// The config is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Two instances with one VRID and family on one interface cannot be told apart.
    #[error("VRID {vrid} ({family:?}) is already used on this interface by instance {existing:?}")]
    DuplicateVrid {
        /// The VRID.
        vrid: u8,
        /// The family.
        family: Family,
        /// The instance that has it.
        existing: InstanceId,
    },
    /// A sync group names an unknown instance or one already in a group.
    #[error("instance {0:?} is unknown or already in a sync group")]
    BadGroupMember(InstanceId),
}

/// A set of virtual routers with shared dispatch, timers and sync groups.
#[derive(Debug, Default)]
pub struct Router {
    instances: Vec<Instance>,
    ifaces: Vec<IfaceKey>,
    by_key: HashMap<(IfaceKey, Family, u8), InstanceId>,
    group_of: Vec<Option<usize>>,
    groups: Vec<Vec<InstanceId>>,
    armed: Vec<Option<Timestamp>>,
    heap: BinaryHeap<Reverse<(Timestamp, usize)>>,
    actions: VecDeque<(InstanceId, Action)>,
    drops: DropCounters,
}

impl Router {
    /// An empty router.
    pub fn new() -> Router {
        Router::default()
    }

    /// Add a virtual router on interface `iface`.
    pub fn add_instance(
        &mut self,
        iface: IfaceKey,
        cfg: InstanceConfig,
    ) -> Result<InstanceId, RouterError> {
        cfg.validate()?;
        let key = (iface, cfg.family(), cfg.vrid);
        if let Some(existing) = self.by_key.get(&key) {
            return Err(RouterError::DuplicateVrid {
                vrid: cfg.vrid,
                family: cfg.family(),
                existing: *existing,
            });
        }
        let id = InstanceId(self.instances.len());
        self.instances.push(Instance::new(cfg));
        self.ifaces.push(iface);
        self.group_of.push(None);
        self.armed.push(None);
        self.by_key.insert(key, id);
        Ok(id)
    }

    /// Adopt a running instance (with its state and timers), e.g. one that
    /// survived a configuration reload unchanged. Its pending actions and
    /// deadline are picked up at `now`.
    pub fn insert_instance(
        &mut self,
        now: Timestamp,
        iface: IfaceKey,
        inst: Instance,
    ) -> Result<InstanceId, RouterError> {
        let cfg = inst.config();
        cfg.validate()?;
        let key = (iface, cfg.family(), cfg.vrid);
        if let Some(existing) = self.by_key.get(&key) {
            return Err(RouterError::DuplicateVrid {
                vrid: cfg.vrid,
                family: cfg.family(),
                existing: *existing,
            });
        }
        let id = InstanceId(self.instances.len());
        self.instances.push(inst);
        self.ifaces.push(iface);
        self.group_of.push(None);
        self.armed.push(None);
        self.by_key.insert(key, id);
        self.after(now, id);
        Ok(id)
    }

    /// Take the instances out (in id order, with their interfaces), to
    /// rebuild a router after a reload.
    pub fn into_instances(self) -> Vec<(IfaceKey, Instance)> {
        self.ifaces.into_iter().zip(self.instances).collect()
    }

    /// The interface an instance was added on.
    pub fn iface(&self, id: InstanceId) -> Option<IfaceKey> {
        self.ifaces.get(id.0).copied()
    }

    /// Make `members` move together (keepalived `vrrp_sync_group`).
    pub fn add_sync_group(&mut self, members: &[InstanceId]) -> Result<(), RouterError> {
        let g = self.groups.len();
        for m in members {
            match self.group_of.get(m.0) {
                Some(None) => {}
                _ => return Err(RouterError::BadGroupMember(*m)),
            }
        }
        for m in members {
            if let Some(slot) = self.group_of.get_mut(m.0) {
                *slot = Some(g);
            }
            if let Some(i) = self.instances.get_mut(m.0) {
                i.set_sync_gated(members.len() > 1);
            }
        }
        self.groups.push(members.to_vec());
        Ok(())
    }

    /// The instances.
    pub fn instances(&self) -> impl Iterator<Item = (InstanceId, &Instance)> {
        self.instances
            .iter()
            .enumerate()
            .map(|(i, x)| (InstanceId(i), x))
    }

    /// One instance.
    pub fn instance(&self, id: InstanceId) -> Option<&Instance> {
        self.instances.get(id.0)
    }

    /// Drops that happened before an instance could be identified.
    pub fn drops(&self) -> &DropCounters {
        &self.drops
    }

    /// Dispatch a received message to its instance.
    pub fn handle_packet(
        &mut self,
        now: Timestamp,
        iface: IfaceKey,
        meta: &RxMeta,
        bytes: &[u8],
    ) -> Result<InstanceId, DropReason> {
        let family = Family::of(&meta.src);
        let p = match Packet::parse(bytes, family) {
            Ok(p) => p,
            Err(e) => {
                let r = DropReason::from(e);
                self.drops.bump(r);
                return Err(r);
            }
        };
        let Some(id) = self.by_key.get(&(iface, family, p.vrid())).copied() else {
            self.drops.bump(DropReason::UnknownVrid);
            return Err(DropReason::UnknownVrid);
        };
        let r = match self.instances.get_mut(id.0) {
            Some(inst) => inst.handle_parsed(now, meta, &p),
            None => Err(DropReason::UnknownVrid),
        };
        self.after(now, id);
        r.map(|()| id)
    }

    /// Send an event to one instance.
    pub fn handle_event(&mut self, now: Timestamp, id: InstanceId, event: Event) {
        if let Some(inst) = self.instances.get_mut(id.0) {
            inst.handle_event(now, event);
            self.after(now, id);
        }
    }

    /// Send an event to every instance (e.g. `Startup`, `Shutdown`).
    pub fn handle_event_all(&mut self, now: Timestamp, event: Event) {
        for i in 0..self.instances.len() {
            self.handle_event(now, InstanceId(i), event);
        }
    }

    /// Fire every due timer.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        while let Some(Reverse((t, i))) = self.heap.peek().copied() {
            if t > now {
                break;
            }
            self.heap.pop();
            if self.armed.get(i).copied().flatten() != Some(t) {
                continue; // stale entry
            }
            if let Some(slot) = self.armed.get_mut(i) {
                *slot = None;
            }
            if let Some(inst) = self.instances.get_mut(i) {
                inst.handle_timeout(now);
            }
            self.after(now, InstanceId(i));
        }
    }

    /// The earliest deadline of any instance.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.heap.peek().map(|Reverse((t, _))| *t)
    }

    /// Next action of any instance, in order.
    pub fn poll_action(&mut self) -> Option<(InstanceId, Action)> {
        self.actions.pop_front()
    }

    /// Collect `id`'s actions, re-arm its timer, and apply sync-group rules
    /// to its transitions.
    fn after(&mut self, now: Timestamp, id: InstanceId) {
        let mut work = vec![id];
        while let Some(id) = work.pop() {
            let Some(inst) = self.instances.get_mut(id.0) else {
                continue;
            };
            let mut group_moves = Vec::new();
            while let Some(a) = inst.poll_action() {
                if let Action::Transition(t) = &a {
                    group_moves.push((t.from, t.to, t.reason));
                }
                self.actions.push_back((id, a));
            }
            let deadline = inst.poll_timeout();
            if let Some(slot) = self.armed.get_mut(id.0) {
                if *slot != deadline {
                    *slot = deadline;
                    if let Some(t) = deadline {
                        self.heap.push(Reverse((t, id.0)));
                    }
                }
            }
            let Some(g) = self.group_of.get(id.0).copied().flatten() else {
                continue;
            };
            let members = self.groups.get(g).cloned().unwrap_or_default();
            // Group fault: each member is held in Fault while another member's
            // own tracking fails.
            for m in &members {
                let others_faulty = members
                    .iter()
                    .filter(|o| *o != m)
                    .any(|o| self.instances.get(o.0).is_some_and(Instance::own_fault));
                if let Some(mi) = self.instances.get_mut(m.0) {
                    if mi.is_faulted() != (mi.own_fault() || others_faulty) {
                        mi.handle_event(now, Event::SetGroupFault(others_faulty));
                        work.push(*m);
                    }
                }
            }
            // The group goes master when every member hears no master
            // (wants it) or already is master, and none is faulty.
            let get = |m: &InstanceId| self.instances.get(m.0);
            let all_agree = members
                .iter()
                .any(|m| get(m).is_some_and(Instance::wants_master))
                && members.iter().all(|m| {
                    get(m).is_some_and(|i| i.wants_master() || i.state() == State::Master)
                });
            if all_agree {
                for m in &members {
                    if let Some(mi) = self.instances.get_mut(m.0) {
                        if mi.state() == State::Backup {
                            mi.handle_event(now, Event::GroupMaster);
                            work.push(*m);
                        }
                    }
                }
            }
            // Followers move with a member that moved on its own.
            for (from, to, reason) in group_moves {
                if reason == Reason::SyncGroup {
                    continue;
                }
                let ev = match (from, to) {
                    (_, State::Master) => Event::GroupMaster,
                    (State::Master, State::Backup) => Event::GroupBackup,
                    _ => continue,
                };
                for m in members.iter().filter(|m| **m != id) {
                    if let Some(mi) = self.instances.get_mut(m.0) {
                        mi.handle_event(now, ev);
                        work.push(*m);
                    }
                }
            }
        }
    }
}

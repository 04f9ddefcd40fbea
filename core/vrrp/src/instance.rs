//! The per-virtual-router state machine (RFC 9568 §6, RFC 3768 §6), sans-IO.
//!
//! Feed it with [`Instance::handle_packet`], [`Instance::handle_event`] and
//! [`Instance::handle_timeout`]; after each call drain
//! [`Instance::poll_action`] until it returns `None` and re-arm your timer at
//! [`Instance::poll_timeout`]. A spurious or early `handle_timeout` is a
//! no-op, so the shell may wake up as often as it likes.
//!
//! RFC 9568 renamed Master to "Active"; Vigil keeps "Master" because that is
//! what keepalived users read in their logs. Master_Down_Timer is the RFC's
//! Active_Down_Timer and so on.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{InitialState, InstanceConfig};
use crate::packet::{Advertisement, Auth, ChecksumMode, Interval, Packet, Version, VRRP_TTL};
use crate::stats::{DropReason, Stats};
use crate::time::Timestamp;

/// Protocol state (RFC 9568 §6.4, plus keepalived's Fault).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Not running: before `Startup` or after `Shutdown` (RFC 9568 §6.4.1).
    Initialize,
    /// Listening for the master (RFC 9568 §6.4.2).
    Backup,
    /// Forwarding for the virtual addresses (RFC 9568 §6.4.3, "Active").
    Master,
    /// A tracked resource failed: no adverts, no addresses (keepalived FAULT).
    Fault,
}

impl State {
    /// Upper-case name as keepalived prints it and passes to notify scripts.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Initialize => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a transition happened: shown in status and passed to notifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Reason {
    /// `Startup` event.
    Startup,
    /// `Shutdown` event.
    Shutdown,
    /// We own the addresses (priority 255) (RFC 9568 §6.4.1).
    AddressOwner,
    /// Master_Down_Timer fired: nobody (better) is advertising (RFC 9568 §6.4.2).
    MasterDown,
    /// The master resigned with priority 0 and Skew_Time passed.
    MasterResigned,
    /// We preempted a lower-priority master after `preempt_delay`.
    PreemptDelay,
    /// An advert with a higher priority (or equal priority and a higher
    /// address) arrived while master (RFC 9568 §6.4.3).
    HigherPriority {
        /// The winner's address.
        from: IpAddr,
        /// The winner's priority.
        priority: u8,
    },
    /// A tracked resource failed.
    Fault,
    /// The fault cleared.
    FaultCleared,
    /// A member of our sync group moved.
    SyncGroup,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Startup => f.write_str("startup"),
            Reason::Shutdown => f.write_str("shutdown"),
            Reason::AddressOwner => f.write_str("address owner (priority 255)"),
            Reason::MasterDown => f.write_str("master down timer expired"),
            Reason::MasterResigned => f.write_str("master resigned (priority 0)"),
            Reason::PreemptDelay => f.write_str("preempt delay passed"),
            Reason::HigherPriority { from, priority } => {
                write!(
                    f,
                    "higher priority advert from {from} (priority {priority})"
                )
            }
            Reason::Fault => f.write_str("tracked object failed"),
            Reason::FaultCleared => f.write_str("fault cleared"),
            Reason::SyncGroup => f.write_str("sync group member moved"),
        }
    }
}

/// A state change, for notify scripts, notifier plugins and logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// When it happened.
    pub at: Timestamp,
    /// VRID of the instance.
    pub vrid: u8,
    /// Old state.
    pub from: State,
    /// New state.
    pub to: State,
    /// Effective priority at the time.
    pub priority: u8,
    /// Why.
    pub reason: Reason,
}

/// An advertisement to put on the wire: everything needed to encode it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    /// Source address (our primary address).
    pub src: IpAddr,
    /// Multicast group or unicast peer.
    pub dst: IpAddr,
    /// Checksum flavour.
    pub checksum_mode: ChecksumMode,
    /// The message.
    pub advert: Advertisement,
}

impl Outgoing {
    /// Encode the VRRP message (send it with TTL / hop limit 255).
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), crate::packet::EncodeError> {
        self.advert
            .encode(self.src, self.dst, self.checksum_mode, out)
    }
}

/// What the shell must do, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Send an advertisement with TTL / hop limit 255.
    SendAdvert(Outgoing),
    /// Add the virtual addresses to the interface. With `accept` false and not
    /// the owner, the shell must not deliver traffic addressed to them
    /// locally (RFC 9568 §6.4.3 Accept_Mode).
    AddAddresses {
        /// The addresses.
        addresses: Vec<IpAddr>,
        /// Accept_Mode (or owner).
        accept: bool,
    },
    /// Remove the virtual addresses.
    RemoveAddresses {
        /// The addresses.
        addresses: Vec<IpAddr>,
    },
    /// Send gratuitous ARP (IPv4) or unsolicited Neighbor Advertisements
    /// with R and O set (IPv6), `repeat` times per address (RFC 9568 §6.4.1/§6.4.2).
    Announce {
        /// The addresses.
        addresses: Vec<IpAddr>,
        /// Messages per address.
        repeat: u8,
    },
    /// The state changed: notify.
    Transition(Transition),
}

/// Inputs other than packets and timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// Start the virtual router (RFC 9568 §6.4.1 Startup event).
    Startup,
    /// Stop it: a master resigns with priority 0 (RFC 9568 §6.4.3 Shutdown).
    Shutdown,
    /// Tracking changed the effective priority (1..=255; 0 is ignored).
    SetPriority(u8),
    /// This instance's own tracked objects failed (true) or recovered (false).
    SetFault(bool),
    /// Fault imposed by the sync group (another member is faulty).
    SetGroupFault(bool),
    /// A sync-group member became master: follow it.
    GroupMaster,
    /// A sync-group member fell back to backup: follow it.
    GroupBackup,
}

/// What an accepted advert told us about the current master.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterInfo {
    /// Its primary address (the packet's source).
    pub address: IpAddr,
    /// Its priority.
    pub priority: u8,
    /// Its advertisement interval.
    pub interval: Interval,
    /// When we last heard it.
    pub last_seen: Timestamp,
}

/// Metadata of a received packet, from the IP layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RxMeta {
    /// IP source address.
    pub src: IpAddr,
    /// IP destination address.
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Timers {
    /// Adver_Timer (Master).
    adver: Option<Timestamp>,
    /// Master_Down_Timer (Backup).
    master_down: Option<Timestamp>,
    /// Preempt a lower-priority master at this instant (Backup).
    preempt: Option<Timestamp>,
    /// Second announce burst (Master).
    announce: Option<Timestamp>,
    /// Periodic re-announce (Master).
    refresh: Option<Timestamp>,
}

/// One virtual router.
#[derive(Debug)]
pub struct Instance {
    cfg: InstanceConfig,
    state: State,
    priority: u8,
    master_adver_interval: Interval,
    own_fault: bool,
    group_fault: bool,
    timers: Timers,
    master: Option<MasterInfo>,
    last_lower_prio_reply: Option<Timestamp>,
    /// In a sync group, Master_Down_Timer expiry only makes us *want* to be
    /// master; the group goes master when every member wants it.
    gated: bool,
    wants_master: bool,
    actions: VecDeque<Action>,
    stats: Stats,
}

impl Instance {
    /// A new instance in Initialize. The config must have passed
    /// [`InstanceConfig::validate`].
    pub fn new(cfg: InstanceConfig) -> Instance {
        Instance {
            priority: cfg.priority,
            master_adver_interval: cfg.advert_interval,
            cfg,
            state: State::Initialize,
            own_fault: false,
            group_fault: false,
            timers: Timers::default(),
            master: None,
            last_lower_prio_reply: None,
            gated: false,
            wants_master: false,
            actions: VecDeque::new(),
            stats: Stats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &InstanceConfig {
        &self.cfg
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Effective priority (configured, adjusted by tracking).
    pub fn priority(&self) -> u8 {
        self.priority
    }

    /// Master_Adver_Interval: ours while master, the master's while backup (v3 learns it).
    pub fn master_adver_interval(&self) -> Interval {
        self.master_adver_interval
    }

    /// The master we last accepted an advert from (ourselves while master).
    pub fn master(&self) -> Option<MasterInfo> {
        self.master
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Gate takeovers on the sync group (set by [`crate::Router`]): see
    /// [`Instance::wants_master`].
    pub fn set_sync_gated(&mut self, gated: bool) {
        self.gated = gated;
    }

    /// A gated Backup whose Master_Down_Timer fired: it hears no master and
    /// waits for the rest of its sync group to agree (keepalived's
    /// `vrrp_sync_can_goto_master`: prefer Backup rather than thrash when one
    /// member still hears a better master).
    pub fn wants_master(&self) -> bool {
        self.wants_master
    }

    /// Whether this instance's own tracked objects are failing.
    pub fn own_fault(&self) -> bool {
        self.own_fault
    }

    /// Whether any fault (own or group) holds.
    pub fn is_faulted(&self) -> bool {
        self.own_fault || self.group_fault
    }

    /// Skew_Time for our current priority: RFC 3768 §6.1 `(256 - Priority) / 256`
    /// seconds; RFC 9568 §6.1 `((256 - Priority) * Master_Adver_Interval) / 256`.
    pub fn skew_time(&self) -> Duration {
        let base = match self.cfg.version {
            Version::V2 => Duration::from_secs(1),
            Version::V3 => self.master_adver_interval.as_duration(),
        };
        base * (256 - u32::from(self.priority)) / 256
    }

    /// Master_Down_Interval: `3 * Master_Adver_Interval + Skew_Time`.
    pub fn master_down_interval(&self) -> Duration {
        self.master_adver_interval.as_duration() * 3 + self.skew_time()
    }

    /// The next action for the shell, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`Instance::handle_timeout`] must next be called, if ever.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let t = &self.timers;
        [t.adver, t.master_down, t.preempt, t.announce, t.refresh]
            .into_iter()
            .flatten()
            .min()
    }

    /// Process an event.
    pub fn handle_event(&mut self, now: Timestamp, event: Event) {
        match event {
            Event::Startup => {
                if self.state == State::Initialize {
                    self.startup(now, Reason::Startup);
                }
            }
            Event::Shutdown => self.shutdown(now),
            Event::SetPriority(p) => {
                if p != 0 {
                    self.priority = p;
                }
            }
            Event::SetFault(f) => {
                self.own_fault = f;
                self.update_fault(now);
            }
            Event::SetGroupFault(f) => {
                self.group_fault = f;
                self.update_fault(now);
            }
            Event::GroupMaster => {
                if self.state == State::Backup {
                    self.become_master(now, Reason::SyncGroup);
                }
            }
            Event::GroupBackup => {
                if self.state == State::Master {
                    self.become_backup(now, Reason::SyncGroup);
                }
            }
        }
    }

    /// Fire every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let due = |t: Option<Timestamp>| t.is_some_and(|t| t <= now);
        if due(self.timers.master_down) {
            self.timers.master_down = None;
            if self.state == State::Backup && self.gated {
                self.wants_master = true;
            } else if self.state == State::Backup {
                // RFC 9568 §6.4.2: "If the Master_Down_Timer fires".
                let reason = if self.master.is_some_and(|m| m.priority == 0) {
                    Reason::MasterResigned
                } else {
                    Reason::MasterDown
                };
                self.become_master(now, reason);
            }
        }
        if due(self.timers.preempt) {
            self.timers.preempt = None;
            let lower_master = self.master.is_some_and(|m| m.priority < self.priority);
            if self.state == State::Backup && self.cfg.preempt && lower_master {
                self.become_master(now, Reason::PreemptDelay);
            }
        }
        if let Some(deadline) = self.timers.adver.filter(|t| *t <= now) {
            // RFC 9568 §6.4.3: "If the Adver_Timer fires": send, reset.
            // The next deadline counts from this one, not from when the shell
            // woke us up, so a late wake-up never stretches the period (at
            // 10 ms adverts a 1 ms timer granularity would otherwise add 10 %).
            self.send_advert(self.priority);
            let interval = self.cfg.advert_interval.as_duration();
            let next = deadline + interval;
            self.timers.adver = Some(if next > now { next } else { now + interval });
        }
        if due(self.timers.announce) {
            self.timers.announce = None;
            self.announce(self.cfg.announce.repeat);
        }
        if due(self.timers.refresh) {
            self.announce(self.cfg.announce.refresh_repeat);
            // A zero period would re-arm at `now` forever: treat it as off.
            self.timers.refresh = self
                .cfg
                .announce
                .refresh
                .filter(|d| !d.is_zero())
                .map(|d| now + d);
        }
    }

    /// Validate and process a received VRRP message (RFC 3768 §7.1, RFC 9568
    /// §7.1), for this instance's VRID. On a drop the reason is counted and returned.
    pub fn handle_packet(
        &mut self,
        now: Timestamp,
        meta: &RxMeta,
        bytes: &[u8],
    ) -> Result<(), DropReason> {
        let r = Packet::parse(bytes, self.cfg.family())
            .map_err(DropReason::from)
            .and_then(|p| self.validate(meta, &p).map(|()| p));
        match r {
            Ok(p) => {
                self.stats.adverts_received += 1;
                self.process_advert(now, meta, &p);
                Ok(())
            }
            Err(reason) => {
                self.stats.drops.bump(reason);
                Err(reason)
            }
        }
    }

    /// Process an already parsed packet (the [`crate::Router`] parses once to
    /// find the VRID).
    pub fn handle_parsed(
        &mut self,
        now: Timestamp,
        meta: &RxMeta,
        p: &Packet<'_>,
    ) -> Result<(), DropReason> {
        match self.validate(meta, p) {
            Ok(()) => {
                self.stats.adverts_received += 1;
                self.process_advert(now, meta, p);
                Ok(())
            }
            Err(reason) => {
                self.stats.drops.bump(reason);
                Err(reason)
            }
        }
    }

    /// The receive checks, in RFC order where the order is observable.
    fn validate(&self, meta: &RxMeta, p: &Packet<'_>) -> Result<(), DropReason> {
        let cfg = &self.cfg;
        if meta.src == cfg.primary_address {
            return Err(DropReason::OwnAdvert);
        }
        if self.state == State::Initialize {
            return Err(DropReason::NotRunning);
        }
        let unicast = !cfg.unicast_peers.is_empty();
        // RFC 9568 §7.1: "MUST verify that the IPv4 TTL or IPv6 Hop Limit is 255".
        // Unicast is outside the RFC; keepalived accepts routed unicast adverts.
        let min_ttl = if unicast {
            cfg.unicast_min_ttl
        } else {
            VRRP_TTL
        };
        if meta.ttl < min_ttl {
            return Err(DropReason::BadTtl);
        }
        // "MUST verify that the VRRP version is 3" (2 for RFC 3768).
        if p.version() != cfg.version {
            return Err(DropReason::VersionMismatch);
        }
        // "MUST verify the VRRP checksum". Like keepalived, a unicast
        // receiver also accepts its peers' pre-2.0 `old_unicast_checksum`.
        let checksum_ok = p.checksum_ok(meta.src, meta.dst, cfg.checksum_mode)
            || (unicast
                && cfg.checksum_mode == ChecksumMode::Rfc
                && p.checksum_ok(meta.src, meta.dst, ChecksumMode::OldUnicast));
        if !checksum_ok {
            return Err(DropReason::BadChecksum);
        }
        if unicast == is_multicast(&meta.dst) {
            return Err(DropReason::WrongDestination);
        }
        if unicast && cfg.check_unicast_src && !cfg.unicast_peers.contains(&meta.src) {
            return Err(DropReason::NotAPeer);
        }
        // "MUST verify that the VRID is configured on the receiving interface
        // and the local router is not the IPvX address owner".
        if self.priority == 255 {
            return Err(DropReason::LocalIsOwner);
        }
        if cfg.version == Version::V2 {
            // RFC 3768 §7.1: "MUST verify that the Auth Type matches the
            // locally configured authentication method".
            let auth = p.auth();
            match (auth, cfg.auth) {
                (Auth::Ah(_), _) => return Err(DropReason::AuthAh),
                (a, c) if a.type_number() != c.type_number() => {
                    return Err(DropReason::AuthTypeMismatch)
                }
                (Auth::Simple(got), Auth::Simple(want)) if !constant_time_eq(&got, &want) => {
                    return Err(DropReason::AuthFailure)
                }
                _ => {}
            }
            // RFC 3768 §7.1: "MUST verify that the Adver Interval in the VRRP
            // packet is the same as the locally configured for this virtual router".
            if p.interval() != cfg.advert_interval {
                return Err(DropReason::IntervalMismatch);
            }
        }
        // RFC 9568 §7.1: "MAY verify that 'Count IPvX Addrs' and the list of
        // IPvX address(es) match ... If the packet was not generated by the
        // address owner (Priority does not equal 255), the receiver MUST drop
        // the packet".
        if cfg.check_addresses && p.priority() != 255 && !self.same_addresses(p) {
            return Err(DropReason::AddressListMismatch);
        }
        Ok(())
    }

    fn same_addresses(&self, p: &Packet<'_>) -> bool {
        let ours = &self.cfg.virtual_addresses;
        // Equal counts and every received address is ours: with no duplicates
        // in our list, the sets are equal.
        usize::from(p.count()) == ours.len() && p.addresses().all(|a| ours.contains(&a))
    }

    fn process_advert(&mut self, now: Timestamp, meta: &RxMeta, p: &Packet<'_>) {
        let prio = p.priority();
        if prio == 0 {
            self.stats.priority_zero_received += 1;
        }
        match self.state {
            State::Initialize => {}
            State::Fault => {
                // Listen only: remember who is master for status.
                self.note_master(now, meta.src, prio, p.interval());
            }
            State::Backup => self.backup_receive(now, meta.src, prio, p.interval()),
            State::Master => self.master_receive(now, meta.src, prio, p.interval()),
        }
    }

    /// RFC 9568 §6.4.2, "If an ADVERTISEMENT is received".
    fn backup_receive(&mut self, now: Timestamp, src: IpAddr, prio: u8, interval: Interval) {
        if prio == 0 {
            // "Set the Master_Down_Timer to Skew_Time".
            self.note_master(now, src, 0, interval);
            self.timers.master_down = Some(now + self.skew_time());
            return;
        }
        let in_preempt_delay = self.cfg.preempt
            && prio < self.priority
            && !self.cfg.preempt_delay.is_zero()
            && self.timers.preempt.is_none_or(|t| now < t);
        if !self.cfg.preempt || prio >= self.priority || in_preempt_delay {
            // "Set Master_Adver_Interval to Adver Interval contained in the
            // ADVERTISEMENT; Recompute the Master_Down_Interval; Reset the
            // Master_Down_Timer to Master_Down_Interval". v2 intervals were
            // checked equal to ours during validation.
            self.master_adver_interval = interval;
            self.note_master(now, src, prio, interval);
            self.timers.master_down = Some(now + self.master_down_interval());
            self.wants_master = false;
            if in_preempt_delay {
                if self.timers.preempt.is_none() {
                    self.timers.preempt = Some(now + self.cfg.preempt_delay);
                }
            } else {
                self.timers.preempt = None;
            }
        }
        // else: "Discard the ADVERTISEMENT"; Master_Down_Timer will fire.
    }

    /// RFC 9568 §6.4.3, "If an ADVERTISEMENT is received".
    fn master_receive(&mut self, now: Timestamp, src: IpAddr, prio: u8, interval: Interval) {
        if prio == 0 {
            // "Send an ADVERTISEMENT; Reset the Adver_Timer".
            self.send_advert(self.priority);
            self.timers.adver = Some(now + self.cfg.advert_interval.as_duration());
            return;
        }
        let wins =
            prio > self.priority || (prio == self.priority && src > self.cfg.primary_address);
        if wins {
            // "Cancel Adver_Timer; Set Master_Adver_Interval; Recompute the
            // Skew_Time and Master_Down_Interval; Set Master_Down_Timer;
            // Transition to the {Backup} state".
            self.master_adver_interval = interval;
            self.note_master(now, src, prio, interval);
            self.become_backup(
                now,
                Reason::HigherPriority {
                    from: src,
                    priority: prio,
                },
            );
            return;
        }
        // "Discard the ADVERTISEMENT". keepalived (unless lower_prio_no_advert)
        // answers at once so that a healed partition converges in one packet.
        if let Some(holdoff) = self.cfg.announce.lower_prio_holdoff {
            if self
                .last_lower_prio_reply
                .is_none_or(|t| now.saturating_since(t) >= holdoff)
            {
                self.last_lower_prio_reply = Some(now);
                self.send_advert(self.priority);
                self.announce(self.cfg.announce.repeat);
            }
        }
    }

    fn note_master(&mut self, now: Timestamp, address: IpAddr, priority: u8, interval: Interval) {
        self.master = Some(MasterInfo {
            address,
            priority,
            interval,
            last_seen: now,
        });
    }

    /// RFC 9568 §6.4.1 (also used when a fault clears).
    fn startup(&mut self, now: Timestamp, reason: Reason) {
        if self.is_faulted() {
            self.set_state(now, State::Fault, Reason::Fault);
            return;
        }
        if self.priority == 255 {
            self.become_master(now, Reason::AddressOwner);
            return;
        }
        // "Set Master_Adver_Interval to Advertisement_Interval; Set the
        // Master_Down_Timer to Master_Down_Interval; Transition to {Backup}".
        self.master_adver_interval = self.cfg.advert_interval;
        self.master = None;
        let wait = match self.cfg.initial_state {
            InitialState::Backup => self.master_down_interval(),
            // keepalived `state MASTER`: one interval to hear a better master.
            InitialState::Master => self.cfg.advert_interval.as_duration() + self.skew_time(),
        };
        self.timers = Timers {
            master_down: Some(now + wait),
            ..Timers::default()
        };
        self.set_state(now, State::Backup, reason);
    }

    fn become_master(&mut self, now: Timestamp, reason: Reason) {
        self.timers = Timers {
            adver: Some(now + self.cfg.advert_interval.as_duration()),
            announce: self.cfg.announce.master_delay.map(|d| now + d),
            refresh: self
                .cfg
                .announce
                .refresh
                .filter(|d| !d.is_zero())
                .map(|d| now + d),
            ..Timers::default()
        };
        self.master_adver_interval = self.cfg.advert_interval;
        self.note_master(
            now,
            self.cfg.primary_address,
            self.priority,
            self.cfg.advert_interval,
        );
        self.last_lower_prio_reply = None;
        self.actions.push_back(Action::AddAddresses {
            addresses: self.cfg.virtual_addresses.clone(),
            accept: self.cfg.accept || self.priority == 255,
        });
        self.send_advert(self.priority);
        self.announce(self.cfg.announce.repeat);
        self.stats.became_master += 1;
        self.set_state(now, State::Master, reason);
    }

    fn become_backup(&mut self, now: Timestamp, reason: Reason) {
        self.leave_master(false);
        self.timers = Timers {
            master_down: Some(now + self.master_down_interval()),
            ..Timers::default()
        };
        self.set_state(now, State::Backup, reason);
    }

    /// Cancel Adver_Timer, optionally resign with priority 0, drop the addresses.
    fn leave_master(&mut self, resign: bool) {
        if self.state != State::Master {
            return;
        }
        if resign {
            self.send_advert(0);
        }
        self.actions.push_back(Action::RemoveAddresses {
            addresses: self.cfg.virtual_addresses.clone(),
        });
        self.stats.released_master += 1;
    }

    fn shutdown(&mut self, now: Timestamp) {
        if self.state == State::Initialize {
            return;
        }
        // RFC 9568 §6.4.3 Shutdown: "Send an ADVERTISEMENT with Priority = 0".
        self.leave_master(true);
        self.timers = Timers::default();
        self.set_state(now, State::Initialize, Reason::Shutdown);
    }

    fn update_fault(&mut self, now: Timestamp) {
        match (self.state, self.is_faulted()) {
            (State::Backup | State::Master, true) => {
                // keepalived resigns with priority 0 when a master faults.
                self.leave_master(true);
                self.timers = Timers::default();
                self.set_state(now, State::Fault, Reason::Fault);
            }
            (State::Fault, false) => self.startup(now, Reason::FaultCleared),
            _ => {}
        }
    }

    fn set_state(&mut self, now: Timestamp, to: State, reason: Reason) {
        let from = self.state;
        self.wants_master = false;
        self.state = to;
        if from != to {
            self.actions.push_back(Action::Transition(Transition {
                at: now,
                vrid: self.cfg.vrid,
                from,
                to,
                priority: self.priority,
                reason,
            }));
        }
    }

    fn send_advert(&mut self, priority: u8) {
        let cfg = &self.cfg;
        let advert = Advertisement {
            version: cfg.version,
            vrid: cfg.vrid,
            priority,
            interval: cfg.advert_interval,
            auth: cfg.auth,
            addresses: cfg.virtual_addresses.clone(),
        };
        let dsts: Vec<IpAddr> = if cfg.unicast_peers.is_empty() {
            vec![cfg.family().multicast_group()]
        } else {
            cfg.unicast_peers.clone()
        };
        for dst in dsts {
            self.stats.adverts_sent += 1;
            if priority == 0 {
                self.stats.priority_zero_sent += 1;
            }
            self.actions.push_back(Action::SendAdvert(Outgoing {
                src: cfg.primary_address,
                dst,
                checksum_mode: cfg.checksum_mode,
                advert: advert.clone(),
            }));
        }
    }

    fn announce(&mut self, repeat: u8) {
        if repeat > 0 && !self.cfg.virtual_addresses.is_empty() {
            self.actions.push_back(Action::Announce {
                addresses: self.cfg.virtual_addresses.clone(),
                repeat,
            });
        }
    }
}

fn is_multicast(a: &IpAddr) -> bool {
    a.is_multicast()
}

/// Compare passwords without an early exit.
fn constant_time_eq(a: &[u8; 8], b: &[u8; 8]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

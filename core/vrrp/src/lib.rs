//! # vigil-vrrp
//!
//! A sans-IO implementation of VRRPv2 (RFC 3768) and VRRPv3 (RFC 9568) for
//! IPv4 and IPv6: the packet codec, the receive rules, the per-VRID state
//! machine, sync groups, and a deterministic simulator.
//!
//! The crate performs no I/O and reads no clock. A shell (the `vigil` daemon,
//! a test, the simulator) passes packets, events and the current
//! [`Timestamp`] in, and carries the [`Action`]s out: send this advert, add
//! these addresses, announce them, notify this transition, and wake me at
//! [`Instance::poll_timeout`]. That makes every behaviour reproducible, and
//! lets the same engine run on real sockets and in virtual time.
//!
//! ```
//! use std::net::IpAddr;
//! use vigil_vrrp::{Action, Event, Instance, InstanceConfig, State, Timestamp};
//!
//! let me: IpAddr = "192.0.2.11".parse()?;
//! let vip: IpAddr = "192.0.2.100".parse()?;
//! let mut cfg = InstanceConfig::new("VI_1", 51, me, vec![vip]);
//! cfg.priority = 150;
//! cfg.validate()?;
//!
//! let mut vr = Instance::new(cfg);
//! let t0 = Timestamp::ZERO;
//! vr.handle_event(t0, Event::Startup);
//! assert_eq!(vr.state(), State::Backup);
//!
//! // Nobody else speaks: the Master_Down_Timer fires and we take over.
//! let deadline = vr.poll_timeout().ok_or("timer armed")?;
//! vr.handle_timeout(deadline);
//! assert_eq!(vr.state(), State::Master);
//! let actions: Vec<Action> = std::iter::from_fn(|| vr.poll_action()).collect();
//! assert!(actions.iter().any(|a| matches!(a, Action::AddAddresses { .. })));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod config;
pub mod instance;
pub mod packet;
pub mod router;
pub mod sim;
pub mod stats;
pub mod time;

pub use config::{AnnounceConfig, ConfigError, InitialState, InstanceConfig};
pub use instance::{
    Action, Event, Instance, MasterInfo, Outgoing, Reason, RxMeta, State, Transition,
};
pub use packet::{
    virtual_mac, Advertisement, Auth, ChecksumMode, DecodeError, EncodeError, Family, Interval,
    Packet, Version, IPPROTO_VRRP, MULTICAST_V4, MULTICAST_V6, VRRP_TTL,
};
pub use router::{IfaceKey, InstanceId, Router, RouterError};
pub use stats::{DropCounters, DropReason, Stats};
pub use time::Timestamp;

//! The validated configuration of one virtual router instance.
//!
//! This is the engine's model, not the user's TOML: the config crate parses
//! and reports file/line errors, then builds an [`InstanceConfig`] whose
//! [`InstanceConfig::validate`] enforces what the protocol itself requires.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::packet::{Auth, ChecksumMode, Family, Interval, Version};

/// The state an instance starts towards (keepalived's `state`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InitialState {
    /// RFC behaviour: wait Master_Down_Interval for a master.
    #[default]
    Backup,
    /// keepalived's `state MASTER`: listen for one advert interval plus
    /// Skew_Time only, then take over if nobody better spoke.
    Master,
}

/// Gratuitous ARP / unsolicited NA behaviour on becoming master, with
/// keepalived's defaults (`garp_master_repeat 5`, `garp_master_delay 5`,
/// no refresh).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnounceConfig {
    /// Messages per address in each burst.
    pub repeat: u8,
    /// Delay before a second burst after becoming master; `None` disables it.
    pub master_delay: Option<Duration>,
    /// Re-announce every this long while master; `None` disables it.
    pub refresh: Option<Duration>,
    /// Messages per address in each refresh.
    pub refresh_repeat: u8,
    /// When a lower-priority advert arrives while master (a healed
    /// partition), answer with an advert at once and re-announce the
    /// addresses, at most once per this interval. `None` follows the RFC
    /// strictly: the advert is silently discarded (keepalived's
    /// `lower_prio_no_advert`).
    pub lower_prio_holdoff: Option<Duration>,
}

impl Default for AnnounceConfig {
    fn default() -> Self {
        AnnounceConfig {
            repeat: 5,
            master_delay: Some(Duration::from_secs(5)),
            refresh: None,
            refresh_repeat: 1,
            lower_prio_holdoff: Some(Duration::from_secs(1)),
        }
    }
}

/// One virtual router (a VRID on an interface, in one address family).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceConfig {
    /// Human name (keepalived's `vrrp_instance NAME`), for logs and notify.
    pub name: String,
    /// Protocol version.
    pub version: Version,
    /// Virtual Router Identifier, 1..=255.
    pub vrid: u8,
    /// Configured priority: 255 only for the address owner, else 1..=254.
    pub priority: u8,
    /// Advertisement_Interval.
    pub advert_interval: Interval,
    /// Preempt_Mode (keepalived `nopreempt` sets it false).
    pub preempt: bool,
    /// Wait this long after first seeing a lower-priority master before
    /// preempting it (keepalived `preempt_delay`).
    pub preempt_delay: Duration,
    /// Accept_Mode (RFC 9568 §6.1): whether the shell should accept packets
    /// addressed to the virtual addresses while master and not owner.
    pub accept: bool,
    /// v2 authentication ([`Auth::None`] or [`Auth::Simple`]).
    pub auth: Auth,
    /// Our source address: the interface's primary IPv4 address, or its IPv6
    /// link-local address (RFC 9568 §5.1.2.1). Also the tie-breaker.
    pub primary_address: IpAddr,
    /// The virtual addresses (all of one family).
    pub virtual_addresses: Vec<IpAddr>,
    /// Unicast peers; empty means multicast to 224.0.0.18 / ff02::12.
    pub unicast_peers: Vec<IpAddr>,
    /// With unicast peers, drop adverts from any other source (keepalived
    /// `check_unicast_src`, on by default here).
    pub check_unicast_src: bool,
    /// Minimum TTL / hop limit accepted on unicast adverts. Multicast adverts
    /// always need 255 (RFC 9568 §7.1); unicast is outside the RFC and
    /// keepalived sends IPv6 unicast with the system hop limit.
    pub unicast_min_ttl: u8,
    /// VRRPv3-over-IPv4 checksum flavour.
    pub checksum_mode: ChecksumMode,
    /// keepalived's `state`.
    pub initial_state: InitialState,
    /// Drop adverts (from non-owners) whose address list differs from ours
    /// (RFC 9568 §7.1 MAY; keepalived checks unless `skip_check_adv_addr`).
    pub check_addresses: bool,
    /// Gratuitous ARP / NA behaviour.
    pub announce: AnnounceConfig,
}

impl InstanceConfig {
    /// A config with the RFC defaults for `vrid` with our `primary_address`
    /// and the given virtual addresses: v3, priority 100, 1 s, preempt.
    pub fn new(
        name: impl Into<String>,
        vrid: u8,
        primary_address: IpAddr,
        vips: Vec<IpAddr>,
    ) -> Self {
        InstanceConfig {
            name: name.into(),
            version: Version::V3,
            vrid,
            priority: 100,
            advert_interval: Interval::ONE_SECOND,
            preempt: true,
            preempt_delay: Duration::ZERO,
            accept: false,
            auth: Auth::None,
            primary_address,
            virtual_addresses: vips,
            unicast_peers: Vec::new(),
            check_unicast_src: true,
            unicast_min_ttl: 0,
            checksum_mode: ChecksumMode::Rfc,
            initial_state: InitialState::Backup,
            check_addresses: true,
            announce: AnnounceConfig::default(),
        }
    }

    /// The address family of this virtual router.
    pub fn family(&self) -> Family {
        Family::of(&self.primary_address)
    }

    /// Check what the protocol requires of a configuration.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.vrid == 0 {
            return Err(ConfigError::Vrid);
        }
        if self.priority == 0 {
            return Err(ConfigError::Priority);
        }
        let family = self.family();
        if self.version == Version::V2 {
            if family == Family::V6 {
                return Err(ConfigError::V2Ipv6);
            }
            if !self.advert_interval.is_v2_representable() {
                return Err(ConfigError::Interval(self.advert_interval, self.version));
            }
        } else {
            if !self.advert_interval.is_v3_representable() {
                return Err(ConfigError::Interval(self.advert_interval, self.version));
            }
            if !matches!(self.auth, Auth::None) {
                return Err(ConfigError::V3Auth);
            }
        }
        match self.auth {
            Auth::None | Auth::Simple(_) => {}
            Auth::Ah(_) | Auth::Unknown(..) => {
                return Err(ConfigError::AuthType(self.auth.type_number()))
            }
        }
        if let Some(a) = self
            .virtual_addresses
            .iter()
            .chain(&self.unicast_peers)
            .find(|a| Family::of(a) != family)
        {
            return Err(ConfigError::MixedFamily(*a));
        }
        if self.virtual_addresses.len() > 255 {
            return Err(ConfigError::TooManyAddresses(self.virtual_addresses.len()));
        }
        if self.announce.refresh.is_some_and(|d| d.is_zero()) {
            return Err(ConfigError::ZeroRefresh);
        }
        if self.unicast_peers.contains(&self.primary_address) {
            return Err(ConfigError::SelfPeer(self.primary_address));
        }
        Ok(())
    }
}

/// Why an [`InstanceConfig`] is not a valid virtual router.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// VRID 0 is reserved.
    #[error("virtual router id must be 1..=255")]
    Vrid,
    /// Priority 0 is reserved for a resigning master.
    #[error("priority must be 1..=255 (0 is reserved for a master that resigns)")]
    Priority,
    /// RFC 3768 is IPv4 only.
    #[error("VRRPv2 is IPv4 only; use version 3 for IPv6")]
    V2Ipv6,
    /// The interval does not fit the version.
    #[error("advert interval {0} is not valid for {1} (v2: whole seconds 1..=255; v3: 10 ms..=40.95 s in 10 ms steps)")]
    Interval(Interval, Version),
    /// VRRPv3 removed authentication (RFC 9568 §9).
    #[error("VRRPv3 has no authentication (RFC 9568 removed it)")]
    V3Auth,
    /// Only none and simple password are implemented.
    #[error("authentication type {0} is not supported (only none and simple password)")]
    AuthType(u8),
    /// An address of the other family.
    #[error("address {0} is not of the instance's address family")]
    MixedFamily(IpAddr),
    /// More addresses than an advert can carry.
    #[error("{0} virtual addresses exceed the 255 an advertisement can carry")]
    TooManyAddresses(usize),
    /// A zero re-announce period (use `None` to disable it).
    #[error("gratuitous ARP refresh period must be positive (leave it unset to disable)")]
    ZeroRefresh,
    /// Our own address among the peers would make us talk to ourselves.
    #[error("unicast peer {0} is our own source address")]
    SelfPeer(IpAddr),
}

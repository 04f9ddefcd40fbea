//! Virtual services and their real servers, as the kernel's IPVS table holds them.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Transport protocol of an address-based virtual service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP (IPPROTO_TCP, 6).
    Tcp,
    /// UDP (IPPROTO_UDP, 17).
    Udp,
    /// SCTP (IPPROTO_SCTP, 132).
    Sctp,
}

impl Protocol {
    /// The IP protocol number.
    pub fn number(self) -> u16 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }
}

/// Address family of a service or destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Family {
    /// AF_INET.
    V4,
    /// AF_INET6.
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(a: &IpAddr) -> Family {
        if a.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        }
    }
}

/// What identifies a virtual service in the kernel.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ServiceKey {
    /// `-t/-u/--sctp-service ADDR:PORT`.
    Inet {
        /// Protocol.
        protocol: Protocol,
        /// Virtual address.
        addr: IpAddr,
        /// Virtual port.
        port: u16,
    },
    /// `-f MARK`: packets marked by the firewall.
    Fwmark {
        /// Family of the marked packets.
        family: Family,
        /// The mark.
        mark: u32,
    },
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Inet {
                protocol,
                addr: IpAddr::V6(a),
                port,
            } => write!(f, "{protocol:?} [{a}]:{port}"),
            ServiceKey::Inet {
                protocol,
                addr,
                port,
            } => write!(f, "{protocol:?} {addr}:{port}"),
            ServiceKey::Fwmark { family, mark } => write!(f, "fwmark {mark} ({family:?})"),
        }
    }
}

/// A virtual service's settings (what `ipvsadm -E` can change without recreating it).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ServiceSettings {
    /// Scheduler: rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, mh, fo, ovf, twos.
    pub scheduler: String,
    /// Persistence timeout in seconds; 0 = not persistent.
    pub persistence: u32,
    /// Persistence netmask (IPv4: a mask as a prefix length; IPv6: prefix length).
    pub netmask: u8,
    /// Scheduler flags (`IP_VS_SVC_F_SCHED1..3`, e.g. `sh-fallback`, `sh-port`).
    pub sched_flags: u32,
}

/// How packets reach a real server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Forward {
    /// NAT (`-m`, masquerading).
    Nat,
    /// Direct routing (`-g`, gatewaying).
    Route,
    /// IP-in-IP or GUE/GRE tunnel (`-i`), with the tunnel type.
    Tunnel(TunnelType),
    /// Bypass (local).
    Bypass,
}

/// Tunnel encapsulation of [`Forward::Tunnel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelType {
    /// IP in IP.
    Ipip,
    /// Generic UDP encapsulation, to this port.
    Gue(u16),
    /// GRE.
    Gre,
}

/// A real server's settings.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DestSettings {
    /// Forwarding method.
    pub forward: Forward,
    /// Weight; 0 keeps it configured but sends it no new connections.
    pub weight: u32,
    /// Upper connection threshold (0 = none).
    pub upper_threshold: u32,
    /// Lower connection threshold (0 = none).
    pub lower_threshold: u32,
}

/// What identifies a real server within its service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DestKey {
    /// Real server address.
    pub addr: IpAddr,
    /// Real server port.
    pub port: u16,
}

/// A whole IPVS table (or the part of it Vigil owns): services, each with its real servers.
pub type Table = std::collections::BTreeMap<
    ServiceKey,
    (
        ServiceSettings,
        std::collections::BTreeMap<DestKey, DestSettings>,
    ),
>;

//! The Linux IPVS generic-netlink family (`"IPVS"`, version 1) as typed messages.
//!
//! Constants follow `include/uapi/linux/ip_vs.h`. Wire conventions, as the kernel expects
//! them: addresses are 16-byte `union nf_inet_addr` fields (IPv4 in the first 4 bytes),
//! ports are big-endian, every other integer is native-endian. Attributes this module does
//! not know are kept raw ([`DefaultNla`]) so that parsing never loses or rejects them;
//! malformed known attributes are reported as errors, never panics.
//!
//! No sockets here: [`IpvsMessage`] implements [`GenlFamily`], [`Emitable`] and
//! [`ParseableParametrized`] so it can be carried in a
//! [`netlink_packet_generic::GenlMessage`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{
    emit_u16, emit_u16_be, emit_u32, emit_u64, parse_string, parse_u16, parse_u16_be, parse_u32,
    parse_u64, parse_u8, DecodeError, DefaultNla, Emitable, ErrorContext, Nla, NlaBuffer,
    NlasIterator, Parseable, ParseableParametrized, NLA_F_NESTED,
};
use netlink_packet_generic::{GenlFamily, GenlHeader};

use crate::model::{
    DestKey, DestSettings, Family, Forward, Protocol, ServiceKey, ServiceSettings, TunnelType,
};

/// Generic-netlink family name of IPVS.
pub const IPVS_GENL_NAME: &str = "IPVS";
/// Generic-netlink family version of IPVS.
pub const IPVS_GENL_VERSION: u8 = 1;

// Commands (enum in ip_vs.h).
/// `IPVS_CMD_NEW_SERVICE`.
pub const IPVS_CMD_NEW_SERVICE: u8 = 1;
/// `IPVS_CMD_SET_SERVICE`.
pub const IPVS_CMD_SET_SERVICE: u8 = 2;
/// `IPVS_CMD_DEL_SERVICE`.
pub const IPVS_CMD_DEL_SERVICE: u8 = 3;
/// `IPVS_CMD_GET_SERVICE`.
pub const IPVS_CMD_GET_SERVICE: u8 = 4;
/// `IPVS_CMD_NEW_DEST`.
pub const IPVS_CMD_NEW_DEST: u8 = 5;
/// `IPVS_CMD_SET_DEST`.
pub const IPVS_CMD_SET_DEST: u8 = 6;
/// `IPVS_CMD_DEL_DEST`.
pub const IPVS_CMD_DEL_DEST: u8 = 7;
/// `IPVS_CMD_GET_DEST`.
pub const IPVS_CMD_GET_DEST: u8 = 8;
/// `IPVS_CMD_NEW_DAEMON`.
pub const IPVS_CMD_NEW_DAEMON: u8 = 9;
/// `IPVS_CMD_DEL_DAEMON`.
pub const IPVS_CMD_DEL_DAEMON: u8 = 10;
/// `IPVS_CMD_GET_DAEMON`.
pub const IPVS_CMD_GET_DAEMON: u8 = 11;
/// `IPVS_CMD_SET_CONFIG`.
pub const IPVS_CMD_SET_CONFIG: u8 = 12;
/// `IPVS_CMD_GET_CONFIG`.
pub const IPVS_CMD_GET_CONFIG: u8 = 13;
/// `IPVS_CMD_SET_INFO`.
pub const IPVS_CMD_SET_INFO: u8 = 14;
/// `IPVS_CMD_GET_INFO`.
pub const IPVS_CMD_GET_INFO: u8 = 15;
/// `IPVS_CMD_ZERO`.
pub const IPVS_CMD_ZERO: u8 = 16;
/// `IPVS_CMD_FLUSH`.
pub const IPVS_CMD_FLUSH: u8 = 17;

// Top-level attributes.
/// `IPVS_CMD_ATTR_SERVICE` (nested).
pub const IPVS_CMD_ATTR_SERVICE: u16 = 1;
/// `IPVS_CMD_ATTR_DEST` (nested).
pub const IPVS_CMD_ATTR_DEST: u16 = 2;
/// `IPVS_CMD_ATTR_DAEMON` (nested).
pub const IPVS_CMD_ATTR_DAEMON: u16 = 3;
/// `IPVS_CMD_ATTR_TIMEOUT_TCP` (u32).
pub const IPVS_CMD_ATTR_TIMEOUT_TCP: u16 = 4;
/// `IPVS_CMD_ATTR_TIMEOUT_TCP_FIN` (u32).
pub const IPVS_CMD_ATTR_TIMEOUT_TCP_FIN: u16 = 5;
/// `IPVS_CMD_ATTR_TIMEOUT_UDP` (u32).
pub const IPVS_CMD_ATTR_TIMEOUT_UDP: u16 = 6;

// Top-level attributes of IPVS_CMD_GET_INFO replies.
/// `IPVS_INFO_ATTR_VERSION` (u32).
pub const IPVS_INFO_ATTR_VERSION: u16 = 1;
/// `IPVS_INFO_ATTR_CONN_TAB_SIZE` (u32).
pub const IPVS_INFO_ATTR_CONN_TAB_SIZE: u16 = 2;

// Service attributes.
/// `IPVS_SVC_ATTR_AF` (u16).
pub const IPVS_SVC_ATTR_AF: u16 = 1;
/// `IPVS_SVC_ATTR_PROTOCOL` (u16).
pub const IPVS_SVC_ATTR_PROTOCOL: u16 = 2;
/// `IPVS_SVC_ATTR_ADDR` (16 bytes).
pub const IPVS_SVC_ATTR_ADDR: u16 = 3;
/// `IPVS_SVC_ATTR_PORT` (be16).
pub const IPVS_SVC_ATTR_PORT: u16 = 4;
/// `IPVS_SVC_ATTR_FWMARK` (u32).
pub const IPVS_SVC_ATTR_FWMARK: u16 = 5;
/// `IPVS_SVC_ATTR_SCHED_NAME` (string).
pub const IPVS_SVC_ATTR_SCHED_NAME: u16 = 6;
/// `IPVS_SVC_ATTR_FLAGS` (`struct ip_vs_flags`).
pub const IPVS_SVC_ATTR_FLAGS: u16 = 7;
/// `IPVS_SVC_ATTR_TIMEOUT` (u32).
pub const IPVS_SVC_ATTR_TIMEOUT: u16 = 8;
/// `IPVS_SVC_ATTR_NETMASK` (u32).
pub const IPVS_SVC_ATTR_NETMASK: u16 = 9;
/// `IPVS_SVC_ATTR_STATS` (nested).
pub const IPVS_SVC_ATTR_STATS: u16 = 10;
/// `IPVS_SVC_ATTR_PE_NAME` (string).
pub const IPVS_SVC_ATTR_PE_NAME: u16 = 11;
/// `IPVS_SVC_ATTR_STATS64` (nested).
pub const IPVS_SVC_ATTR_STATS64: u16 = 12;

// Destination attributes.
/// `IPVS_DEST_ATTR_ADDR` (16 bytes).
pub const IPVS_DEST_ATTR_ADDR: u16 = 1;
/// `IPVS_DEST_ATTR_PORT` (be16).
pub const IPVS_DEST_ATTR_PORT: u16 = 2;
/// `IPVS_DEST_ATTR_FWD_METHOD` (u32).
pub const IPVS_DEST_ATTR_FWD_METHOD: u16 = 3;
/// `IPVS_DEST_ATTR_WEIGHT` (u32).
pub const IPVS_DEST_ATTR_WEIGHT: u16 = 4;
/// `IPVS_DEST_ATTR_U_THRESH` (u32).
pub const IPVS_DEST_ATTR_U_THRESH: u16 = 5;
/// `IPVS_DEST_ATTR_L_THRESH` (u32).
pub const IPVS_DEST_ATTR_L_THRESH: u16 = 6;
/// `IPVS_DEST_ATTR_ACTIVE_CONNS` (u32).
pub const IPVS_DEST_ATTR_ACTIVE_CONNS: u16 = 7;
/// `IPVS_DEST_ATTR_INACT_CONNS` (u32).
pub const IPVS_DEST_ATTR_INACT_CONNS: u16 = 8;
/// `IPVS_DEST_ATTR_PERSIST_CONNS` (u32).
pub const IPVS_DEST_ATTR_PERSIST_CONNS: u16 = 9;
/// `IPVS_DEST_ATTR_STATS` (nested).
pub const IPVS_DEST_ATTR_STATS: u16 = 10;
/// `IPVS_DEST_ATTR_ADDR_FAMILY` (u16).
pub const IPVS_DEST_ATTR_ADDR_FAMILY: u16 = 11;
/// `IPVS_DEST_ATTR_STATS64` (nested).
pub const IPVS_DEST_ATTR_STATS64: u16 = 12;
/// `IPVS_DEST_ATTR_TUN_TYPE` (u8).
pub const IPVS_DEST_ATTR_TUN_TYPE: u16 = 13;
/// `IPVS_DEST_ATTR_TUN_PORT` (be16).
pub const IPVS_DEST_ATTR_TUN_PORT: u16 = 14;
/// `IPVS_DEST_ATTR_TUN_FLAGS` (u16).
pub const IPVS_DEST_ATTR_TUN_FLAGS: u16 = 15;

// Statistics attributes (inside *_ATTR_STATS and *_ATTR_STATS64).
/// `IPVS_STATS_ATTR_CONNS`.
pub const IPVS_STATS_ATTR_CONNS: u16 = 1;
/// `IPVS_STATS_ATTR_INPKTS`.
pub const IPVS_STATS_ATTR_INPKTS: u16 = 2;
/// `IPVS_STATS_ATTR_OUTPKTS`.
pub const IPVS_STATS_ATTR_OUTPKTS: u16 = 3;
/// `IPVS_STATS_ATTR_INBYTES`.
pub const IPVS_STATS_ATTR_INBYTES: u16 = 4;
/// `IPVS_STATS_ATTR_OUTBYTES`.
pub const IPVS_STATS_ATTR_OUTBYTES: u16 = 5;
/// `IPVS_STATS_ATTR_CPS`.
pub const IPVS_STATS_ATTR_CPS: u16 = 6;
/// `IPVS_STATS_ATTR_INPPS`.
pub const IPVS_STATS_ATTR_INPPS: u16 = 7;
/// `IPVS_STATS_ATTR_OUTPPS`.
pub const IPVS_STATS_ATTR_OUTPPS: u16 = 8;
/// `IPVS_STATS_ATTR_INBPS`.
pub const IPVS_STATS_ATTR_INBPS: u16 = 9;
/// `IPVS_STATS_ATTR_OUTBPS`.
pub const IPVS_STATS_ATTR_OUTBPS: u16 = 10;

// Address families.
/// `AF_INET`.
pub const AF_INET: u16 = 2;
/// `AF_INET6`.
pub const AF_INET6: u16 = 10;

// Service flags.
/// `IP_VS_SVC_F_PERSISTENT`.
pub const IP_VS_SVC_F_PERSISTENT: u32 = 0x0001;
/// `IP_VS_SVC_F_HASHED` (kernel-internal, reported on dumps).
pub const IP_VS_SVC_F_HASHED: u32 = 0x0002;
/// `IP_VS_SVC_F_ONEPACKET`.
pub const IP_VS_SVC_F_ONEPACKET: u32 = 0x0004;
/// `IP_VS_SVC_F_SCHED1`.
pub const IP_VS_SVC_F_SCHED1: u32 = 0x0008;
/// `IP_VS_SVC_F_SCHED2`.
pub const IP_VS_SVC_F_SCHED2: u32 = 0x0010;
/// `IP_VS_SVC_F_SCHED3`.
pub const IP_VS_SVC_F_SCHED3: u32 = 0x0020;

// Forwarding methods (IP_VS_CONN_F_*), masked by IP_VS_CONN_F_FWD_MASK.
/// `IP_VS_CONN_F_FWD_MASK`.
pub const IP_VS_CONN_F_FWD_MASK: u32 = 0x0007;
/// `IP_VS_CONN_F_MASQ` (NAT).
pub const IP_VS_CONN_F_MASQ: u32 = 0;
/// `IP_VS_CONN_F_LOCALNODE`.
pub const IP_VS_CONN_F_LOCALNODE: u32 = 1;
/// `IP_VS_CONN_F_TUNNEL`.
pub const IP_VS_CONN_F_TUNNEL: u32 = 2;
/// `IP_VS_CONN_F_DROUTE` (direct routing).
pub const IP_VS_CONN_F_DROUTE: u32 = 3;
/// `IP_VS_CONN_F_BYPASS`.
pub const IP_VS_CONN_F_BYPASS: u32 = 4;

// Tunnel types.
/// `IP_VS_CONN_F_TUNNEL_TYPE_IPIP`.
pub const IP_VS_CONN_F_TUNNEL_TYPE_IPIP: u8 = 0;
/// `IP_VS_CONN_F_TUNNEL_TYPE_GUE`.
pub const IP_VS_CONN_F_TUNNEL_TYPE_GUE: u8 = 1;
/// `IP_VS_CONN_F_TUNNEL_TYPE_GRE`.
pub const IP_VS_CONN_F_TUNNEL_TYPE_GRE: u8 = 2;

/// Errors of converting attribute lists to model types.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GenlError {
    /// A required attribute is absent.
    #[error("missing attribute {0}")]
    Missing(&'static str),
    /// An attribute has a value the model cannot represent.
    #[error("unsupported value {value} for {what}")]
    Unsupported {
        /// Which attribute.
        what: &'static str,
        /// Its value.
        value: u64,
    },
}

/// An IPVS generic-netlink command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpvsCmd {
    /// Add a virtual service.
    NewService,
    /// Change a virtual service.
    SetService,
    /// Delete a virtual service.
    DelService,
    /// Get (or dump) virtual services.
    GetService,
    /// Add a real server.
    NewDest,
    /// Change a real server.
    SetDest,
    /// Delete a real server.
    DelDest,
    /// Get (dump) the real servers of a service.
    GetDest,
    /// Start a sync daemon.
    NewDaemon,
    /// Stop a sync daemon.
    DelDaemon,
    /// Get sync daemons.
    GetDaemon,
    /// Set timeouts.
    SetConfig,
    /// Get timeouts.
    GetConfig,
    /// Currently unused by the kernel.
    SetInfo,
    /// Get version and connection-table size.
    GetInfo,
    /// Zero the counters.
    Zero,
    /// Delete every service.
    Flush,
    /// A command this module does not know.
    Other(u8),
}

impl From<IpvsCmd> for u8 {
    fn from(c: IpvsCmd) -> u8 {
        match c {
            IpvsCmd::NewService => IPVS_CMD_NEW_SERVICE,
            IpvsCmd::SetService => IPVS_CMD_SET_SERVICE,
            IpvsCmd::DelService => IPVS_CMD_DEL_SERVICE,
            IpvsCmd::GetService => IPVS_CMD_GET_SERVICE,
            IpvsCmd::NewDest => IPVS_CMD_NEW_DEST,
            IpvsCmd::SetDest => IPVS_CMD_SET_DEST,
            IpvsCmd::DelDest => IPVS_CMD_DEL_DEST,
            IpvsCmd::GetDest => IPVS_CMD_GET_DEST,
            IpvsCmd::NewDaemon => IPVS_CMD_NEW_DAEMON,
            IpvsCmd::DelDaemon => IPVS_CMD_DEL_DAEMON,
            IpvsCmd::GetDaemon => IPVS_CMD_GET_DAEMON,
            IpvsCmd::SetConfig => IPVS_CMD_SET_CONFIG,
            IpvsCmd::GetConfig => IPVS_CMD_GET_CONFIG,
            IpvsCmd::SetInfo => IPVS_CMD_SET_INFO,
            IpvsCmd::GetInfo => IPVS_CMD_GET_INFO,
            IpvsCmd::Zero => IPVS_CMD_ZERO,
            IpvsCmd::Flush => IPVS_CMD_FLUSH,
            IpvsCmd::Other(n) => n,
        }
    }
}

impl From<u8> for IpvsCmd {
    fn from(n: u8) -> IpvsCmd {
        match n {
            IPVS_CMD_NEW_SERVICE => IpvsCmd::NewService,
            IPVS_CMD_SET_SERVICE => IpvsCmd::SetService,
            IPVS_CMD_DEL_SERVICE => IpvsCmd::DelService,
            IPVS_CMD_GET_SERVICE => IpvsCmd::GetService,
            IPVS_CMD_NEW_DEST => IpvsCmd::NewDest,
            IPVS_CMD_SET_DEST => IpvsCmd::SetDest,
            IPVS_CMD_DEL_DEST => IpvsCmd::DelDest,
            IPVS_CMD_GET_DEST => IpvsCmd::GetDest,
            IPVS_CMD_NEW_DAEMON => IpvsCmd::NewDaemon,
            IPVS_CMD_DEL_DAEMON => IpvsCmd::DelDaemon,
            IPVS_CMD_GET_DAEMON => IpvsCmd::GetDaemon,
            IPVS_CMD_SET_CONFIG => IpvsCmd::SetConfig,
            IPVS_CMD_GET_CONFIG => IpvsCmd::GetConfig,
            IPVS_CMD_SET_INFO => IpvsCmd::SetInfo,
            IPVS_CMD_GET_INFO => IpvsCmd::GetInfo,
            IPVS_CMD_ZERO => IpvsCmd::Zero,
            IPVS_CMD_FLUSH => IpvsCmd::Flush,
            n => IpvsCmd::Other(n),
        }
    }
}

/// One statistics counter (inside `*_ATTR_STATS` / `*_ATTR_STATS64`).
///
/// Values are held as u64. In a 32-bit `STATS` nest the kernel sends every counter as u32
/// except the byte counters; emitting such a nest truncates the other counters to u32.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatsAttr {
    /// Connections scheduled.
    Conns(u64),
    /// Incoming packets.
    InPkts(u64),
    /// Outgoing packets.
    OutPkts(u64),
    /// Incoming bytes.
    InBytes(u64),
    /// Outgoing bytes.
    OutBytes(u64),
    /// Connection rate.
    Cps(u64),
    /// Incoming packet rate.
    InPps(u64),
    /// Outgoing packet rate.
    OutPps(u64),
    /// Incoming byte rate.
    InBps(u64),
    /// Outgoing byte rate.
    OutBps(u64),
    /// Anything else (e.g. `IPVS_STATS_ATTR_PAD`), raw.
    Other(DefaultNla),
}

/// A stats attribute together with the width its nest gives it on the wire.
#[derive(Debug)]
struct StatsNla<'a> {
    attr: &'a StatsAttr,
    wide: bool,
}

impl StatsAttr {
    fn kind_value(&self) -> Option<(u16, u64)> {
        Some(match self {
            StatsAttr::Conns(v) => (IPVS_STATS_ATTR_CONNS, *v),
            StatsAttr::InPkts(v) => (IPVS_STATS_ATTR_INPKTS, *v),
            StatsAttr::OutPkts(v) => (IPVS_STATS_ATTR_OUTPKTS, *v),
            StatsAttr::InBytes(v) => (IPVS_STATS_ATTR_INBYTES, *v),
            StatsAttr::OutBytes(v) => (IPVS_STATS_ATTR_OUTBYTES, *v),
            StatsAttr::Cps(v) => (IPVS_STATS_ATTR_CPS, *v),
            StatsAttr::InPps(v) => (IPVS_STATS_ATTR_INPPS, *v),
            StatsAttr::OutPps(v) => (IPVS_STATS_ATTR_OUTPPS, *v),
            StatsAttr::InBps(v) => (IPVS_STATS_ATTR_INBPS, *v),
            StatsAttr::OutBps(v) => (IPVS_STATS_ATTR_OUTBPS, *v),
            StatsAttr::Other(_) => return None,
        })
    }

    fn parse_nla(buf: &NlaBuffer<&[u8]>) -> Result<Self, DecodeError> {
        let kind = buf.kind();
        let payload = buf.value();
        let known = matches!(kind, IPVS_STATS_ATTR_CONNS..=IPVS_STATS_ATTR_OUTBPS);
        if !known || buf.nested_flag() {
            return Ok(StatsAttr::Other(DefaultNla::parse(buf)?));
        }
        let v = match payload.len() {
            4 => u64::from(parse_u32(payload)?),
            8 => parse_u64(payload)?,
            n => return Err(DecodeError::invalid_number(8, n)),
        };
        Ok(match kind {
            IPVS_STATS_ATTR_CONNS => StatsAttr::Conns(v),
            IPVS_STATS_ATTR_INPKTS => StatsAttr::InPkts(v),
            IPVS_STATS_ATTR_OUTPKTS => StatsAttr::OutPkts(v),
            IPVS_STATS_ATTR_INBYTES => StatsAttr::InBytes(v),
            IPVS_STATS_ATTR_OUTBYTES => StatsAttr::OutBytes(v),
            IPVS_STATS_ATTR_CPS => StatsAttr::Cps(v),
            IPVS_STATS_ATTR_INPPS => StatsAttr::InPps(v),
            IPVS_STATS_ATTR_OUTPPS => StatsAttr::OutPps(v),
            IPVS_STATS_ATTR_INBPS => StatsAttr::InBps(v),
            _ => StatsAttr::OutBps(v),
        })
    }
}

impl StatsNla<'_> {
    fn is_u64(&self, kind: u16) -> bool {
        self.wide || kind == IPVS_STATS_ATTR_INBYTES || kind == IPVS_STATS_ATTR_OUTBYTES
    }
}

impl Nla for StatsNla<'_> {
    fn value_len(&self) -> usize {
        match self.attr.kind_value() {
            Some((k, _)) if self.is_u64(k) => 8,
            Some(_) => 4,
            None => match self.attr {
                StatsAttr::Other(n) => n.value_len(),
                _ => 0,
            },
        }
    }

    fn kind(&self) -> u16 {
        match (self.attr.kind_value(), self.attr) {
            (Some((k, _)), _) => k,
            (None, StatsAttr::Other(n)) => n.kind(),
            (None, _) => 0,
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match (self.attr.kind_value(), self.attr) {
            (Some((k, v)), _) if self.is_u64(k) => emit_u64(buffer, v),
            (Some((_, v)), _) => emit_u32(buffer, u32::try_from(v).unwrap_or(u32::MAX)),
            (None, StatsAttr::Other(n)) => {
                n.emit_value(buffer);
                Ok(())
            }
            (None, _) => Ok(()),
        }
        .unwrap_or(());
    }
}

/// A nest of stats attributes.
#[derive(Debug)]
struct StatsNest<'a> {
    kind: u16,
    attrs: &'a [StatsAttr],
    wide: bool,
}

impl StatsNest<'_> {
    fn items(&self) -> Vec<StatsNla<'_>> {
        self.attrs
            .iter()
            .map(|attr| StatsNla {
                attr,
                wide: self.wide,
            })
            .collect()
    }
}

impl Nla for StatsNest<'_> {
    fn value_len(&self) -> usize {
        self.items().as_slice().buffer_len()
    }
    fn kind(&self) -> u16 {
        self.kind
    }
    fn is_nested(&self) -> bool {
        true
    }
    fn emit_value(&self, buffer: &mut [u8]) {
        self.items().as_slice().emit(buffer);
    }
}

fn parse_nest<T>(
    payload: &[u8],
    f: impl Fn(&NlaBuffer<&[u8]>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    NlasIterator::new(payload)
        .map(|nla| nla.and_then(|nla| f(&nla)))
        .collect()
}

fn parse_addr(payload: &[u8]) -> Result<[u8; 16], DecodeError> {
    <[u8; 16]>::try_from(payload).map_err(|_| DecodeError::invalid_ip_address(payload.len()))
}

/// An attribute inside `IPVS_CMD_ATTR_SERVICE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SvcAttr {
    /// Address family (`AF_INET`/`AF_INET6`).
    Af(u16),
    /// IP protocol number.
    Protocol(u16),
    /// Virtual address, 16 bytes (IPv4 in the first 4).
    Addr([u8; 16]),
    /// Virtual port (host order here, big-endian on the wire).
    Port(u16),
    /// Firewall mark.
    Fwmark(u32),
    /// Scheduler name.
    SchedName(String),
    /// Flags and the mask of flags to change.
    Flags {
        /// `IP_VS_SVC_F_*`.
        flags: u32,
        /// Which flags to change.
        mask: u32,
    },
    /// Persistence timeout, seconds.
    Timeout(u32),
    /// Persistence netmask, as the kernel's raw u32 (IPv4: a network-order mask; IPv6: a
    /// prefix length).
    Netmask(u32),
    /// 32-bit statistics.
    Stats(Vec<StatsAttr>),
    /// Persistence engine name.
    PeName(String),
    /// 64-bit statistics.
    Stats64(Vec<StatsAttr>),
    /// Anything else, raw.
    Other(DefaultNla),
}

impl Nla for SvcAttr {
    fn value_len(&self) -> usize {
        match self {
            SvcAttr::Af(_) | SvcAttr::Protocol(_) | SvcAttr::Port(_) => 2,
            SvcAttr::Addr(_) => 16,
            SvcAttr::Fwmark(_) | SvcAttr::Timeout(_) | SvcAttr::Netmask(_) => 4,
            SvcAttr::SchedName(s) | SvcAttr::PeName(s) => s.len() + 1,
            SvcAttr::Flags { .. } => 8,
            SvcAttr::Stats(a) => stats_nest(IPVS_SVC_ATTR_STATS, a, false).value_len(),
            SvcAttr::Stats64(a) => stats_nest(IPVS_SVC_ATTR_STATS64, a, true).value_len(),
            SvcAttr::Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            SvcAttr::Af(_) => IPVS_SVC_ATTR_AF,
            SvcAttr::Protocol(_) => IPVS_SVC_ATTR_PROTOCOL,
            SvcAttr::Addr(_) => IPVS_SVC_ATTR_ADDR,
            SvcAttr::Port(_) => IPVS_SVC_ATTR_PORT,
            SvcAttr::Fwmark(_) => IPVS_SVC_ATTR_FWMARK,
            SvcAttr::SchedName(_) => IPVS_SVC_ATTR_SCHED_NAME,
            SvcAttr::Flags { .. } => IPVS_SVC_ATTR_FLAGS,
            SvcAttr::Timeout(_) => IPVS_SVC_ATTR_TIMEOUT,
            SvcAttr::Netmask(_) => IPVS_SVC_ATTR_NETMASK,
            SvcAttr::Stats(_) => IPVS_SVC_ATTR_STATS,
            SvcAttr::PeName(_) => IPVS_SVC_ATTR_PE_NAME,
            SvcAttr::Stats64(_) => IPVS_SVC_ATTR_STATS64,
            SvcAttr::Other(n) => n.kind(),
        }
    }

    fn is_nested(&self) -> bool {
        matches!(self, SvcAttr::Stats(_) | SvcAttr::Stats64(_))
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        let r = match self {
            SvcAttr::Af(v) | SvcAttr::Protocol(v) => emit_u16(buffer, *v),
            SvcAttr::Port(v) => emit_u16_be(buffer, *v),
            SvcAttr::Addr(a) => {
                buffer[..16].copy_from_slice(a);
                Ok(())
            }
            SvcAttr::Fwmark(v) | SvcAttr::Timeout(v) | SvcAttr::Netmask(v) => emit_u32(buffer, *v),
            SvcAttr::SchedName(s) | SvcAttr::PeName(s) => {
                buffer[..s.len()].copy_from_slice(s.as_bytes());
                buffer[s.len()] = 0;
                Ok(())
            }
            SvcAttr::Flags { flags, mask } => {
                emit_u32(&mut buffer[..4], *flags).and_then(|()| emit_u32(&mut buffer[4..8], *mask))
            }
            SvcAttr::Stats(a) => {
                stats_nest(IPVS_SVC_ATTR_STATS, a, false).emit_value(buffer);
                Ok(())
            }
            SvcAttr::Stats64(a) => {
                stats_nest(IPVS_SVC_ATTR_STATS64, a, true).emit_value(buffer);
                Ok(())
            }
            SvcAttr::Other(n) => {
                n.emit_value(buffer);
                Ok(())
            }
        };
        r.unwrap_or(());
    }
}

fn stats_nest(kind: u16, attrs: &[StatsAttr], wide: bool) -> StatsNest<'_> {
    StatsNest { kind, attrs, wide }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for SvcAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let p = buf.value();
        let nested = buf.nested_flag();
        Ok(match buf.kind() {
            IPVS_SVC_ATTR_AF if !nested => SvcAttr::Af(parse_u16(p).context("svc af")?),
            IPVS_SVC_ATTR_PROTOCOL if !nested => {
                SvcAttr::Protocol(parse_u16(p).context("svc protocol")?)
            }
            IPVS_SVC_ATTR_ADDR if !nested => SvcAttr::Addr(parse_addr(p).context("svc addr")?),
            IPVS_SVC_ATTR_PORT if !nested => SvcAttr::Port(parse_u16_be(p).context("svc port")?),
            IPVS_SVC_ATTR_FWMARK if !nested => SvcAttr::Fwmark(parse_u32(p).context("svc fwmark")?),
            IPVS_SVC_ATTR_SCHED_NAME if !nested => {
                SvcAttr::SchedName(parse_string(p).context("svc sched name")?)
            }
            IPVS_SVC_ATTR_FLAGS if !nested => {
                if p.len() != 8 {
                    return Err(DecodeError::invalid_number(8, p.len()));
                }
                SvcAttr::Flags {
                    flags: parse_u32(&p[..4])?,
                    mask: parse_u32(&p[4..])?,
                }
            }
            IPVS_SVC_ATTR_TIMEOUT if !nested => {
                SvcAttr::Timeout(parse_u32(p).context("svc timeout")?)
            }
            IPVS_SVC_ATTR_NETMASK if !nested => {
                SvcAttr::Netmask(parse_u32(p).context("svc netmask")?)
            }
            IPVS_SVC_ATTR_STATS => {
                SvcAttr::Stats(parse_nest(p, StatsAttr::parse_nla).context("svc stats")?)
            }
            IPVS_SVC_ATTR_PE_NAME if !nested => {
                SvcAttr::PeName(parse_string(p).context("svc pe name")?)
            }
            IPVS_SVC_ATTR_STATS64 => {
                SvcAttr::Stats64(parse_nest(p, StatsAttr::parse_nla).context("svc stats64")?)
            }
            _ => SvcAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// An attribute inside `IPVS_CMD_ATTR_DEST`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DestAttr {
    /// Real server address, 16 bytes (IPv4 in the first 4).
    Addr([u8; 16]),
    /// Real server port (host order here, big-endian on the wire).
    Port(u16),
    /// Forwarding method (`IP_VS_CONN_F_*`).
    FwdMethod(u32),
    /// Weight.
    Weight(u32),
    /// Upper connection threshold.
    UThresh(u32),
    /// Lower connection threshold.
    LThresh(u32),
    /// Active connections (replies only).
    ActiveConns(u32),
    /// Inactive connections (replies only).
    InactConns(u32),
    /// Persistent connections (replies only).
    PersistConns(u32),
    /// 32-bit statistics.
    Stats(Vec<StatsAttr>),
    /// Address family of the real server.
    AddrFamily(u16),
    /// 64-bit statistics.
    Stats64(Vec<StatsAttr>),
    /// Tunnel type (`IP_VS_CONN_F_TUNNEL_TYPE_*`).
    TunType(u8),
    /// Tunnel port (host order here, big-endian on the wire).
    TunPort(u16),
    /// Tunnel flags.
    TunFlags(u16),
    /// Anything else, raw.
    Other(DefaultNla),
}

impl Nla for DestAttr {
    fn value_len(&self) -> usize {
        match self {
            DestAttr::Addr(_) => 16,
            DestAttr::Port(_)
            | DestAttr::AddrFamily(_)
            | DestAttr::TunPort(_)
            | DestAttr::TunFlags(_) => 2,
            DestAttr::TunType(_) => 1,
            DestAttr::FwdMethod(_)
            | DestAttr::Weight(_)
            | DestAttr::UThresh(_)
            | DestAttr::LThresh(_)
            | DestAttr::ActiveConns(_)
            | DestAttr::InactConns(_)
            | DestAttr::PersistConns(_) => 4,
            DestAttr::Stats(a) => stats_nest(IPVS_DEST_ATTR_STATS, a, false).value_len(),
            DestAttr::Stats64(a) => stats_nest(IPVS_DEST_ATTR_STATS64, a, true).value_len(),
            DestAttr::Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            DestAttr::Addr(_) => IPVS_DEST_ATTR_ADDR,
            DestAttr::Port(_) => IPVS_DEST_ATTR_PORT,
            DestAttr::FwdMethod(_) => IPVS_DEST_ATTR_FWD_METHOD,
            DestAttr::Weight(_) => IPVS_DEST_ATTR_WEIGHT,
            DestAttr::UThresh(_) => IPVS_DEST_ATTR_U_THRESH,
            DestAttr::LThresh(_) => IPVS_DEST_ATTR_L_THRESH,
            DestAttr::ActiveConns(_) => IPVS_DEST_ATTR_ACTIVE_CONNS,
            DestAttr::InactConns(_) => IPVS_DEST_ATTR_INACT_CONNS,
            DestAttr::PersistConns(_) => IPVS_DEST_ATTR_PERSIST_CONNS,
            DestAttr::Stats(_) => IPVS_DEST_ATTR_STATS,
            DestAttr::AddrFamily(_) => IPVS_DEST_ATTR_ADDR_FAMILY,
            DestAttr::Stats64(_) => IPVS_DEST_ATTR_STATS64,
            DestAttr::TunType(_) => IPVS_DEST_ATTR_TUN_TYPE,
            DestAttr::TunPort(_) => IPVS_DEST_ATTR_TUN_PORT,
            DestAttr::TunFlags(_) => IPVS_DEST_ATTR_TUN_FLAGS,
            DestAttr::Other(n) => n.kind(),
        }
    }

    fn is_nested(&self) -> bool {
        matches!(self, DestAttr::Stats(_) | DestAttr::Stats64(_))
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        let r = match self {
            DestAttr::Addr(a) => {
                buffer[..16].copy_from_slice(a);
                Ok(())
            }
            DestAttr::Port(v) | DestAttr::TunPort(v) => emit_u16_be(buffer, *v),
            DestAttr::AddrFamily(v) | DestAttr::TunFlags(v) => emit_u16(buffer, *v),
            DestAttr::TunType(v) => {
                buffer[0] = *v;
                Ok(())
            }
            DestAttr::FwdMethod(v)
            | DestAttr::Weight(v)
            | DestAttr::UThresh(v)
            | DestAttr::LThresh(v)
            | DestAttr::ActiveConns(v)
            | DestAttr::InactConns(v)
            | DestAttr::PersistConns(v) => emit_u32(buffer, *v),
            DestAttr::Stats(a) => {
                stats_nest(IPVS_DEST_ATTR_STATS, a, false).emit_value(buffer);
                Ok(())
            }
            DestAttr::Stats64(a) => {
                stats_nest(IPVS_DEST_ATTR_STATS64, a, true).emit_value(buffer);
                Ok(())
            }
            DestAttr::Other(n) => {
                n.emit_value(buffer);
                Ok(())
            }
        };
        r.unwrap_or(());
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for DestAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let p = buf.value();
        let nested = buf.nested_flag();
        Ok(match buf.kind() {
            IPVS_DEST_ATTR_ADDR if !nested => DestAttr::Addr(parse_addr(p).context("dest addr")?),
            IPVS_DEST_ATTR_PORT if !nested => DestAttr::Port(parse_u16_be(p).context("dest port")?),
            IPVS_DEST_ATTR_FWD_METHOD if !nested => {
                DestAttr::FwdMethod(parse_u32(p).context("dest fwd method")?)
            }
            IPVS_DEST_ATTR_WEIGHT if !nested => {
                DestAttr::Weight(parse_u32(p).context("dest weight")?)
            }
            IPVS_DEST_ATTR_U_THRESH if !nested => {
                DestAttr::UThresh(parse_u32(p).context("dest u_thresh")?)
            }
            IPVS_DEST_ATTR_L_THRESH if !nested => {
                DestAttr::LThresh(parse_u32(p).context("dest l_thresh")?)
            }
            IPVS_DEST_ATTR_ACTIVE_CONNS if !nested => {
                DestAttr::ActiveConns(parse_u32(p).context("dest active conns")?)
            }
            IPVS_DEST_ATTR_INACT_CONNS if !nested => {
                DestAttr::InactConns(parse_u32(p).context("dest inact conns")?)
            }
            IPVS_DEST_ATTR_PERSIST_CONNS if !nested => {
                DestAttr::PersistConns(parse_u32(p).context("dest persist conns")?)
            }
            IPVS_DEST_ATTR_STATS => {
                DestAttr::Stats(parse_nest(p, StatsAttr::parse_nla).context("dest stats")?)
            }
            IPVS_DEST_ATTR_ADDR_FAMILY if !nested => {
                DestAttr::AddrFamily(parse_u16(p).context("dest addr family")?)
            }
            IPVS_DEST_ATTR_STATS64 => {
                DestAttr::Stats64(parse_nest(p, StatsAttr::parse_nla).context("dest stats64")?)
            }
            IPVS_DEST_ATTR_TUN_TYPE if !nested => {
                DestAttr::TunType(parse_u8(p).context("dest tun type")?)
            }
            IPVS_DEST_ATTR_TUN_PORT if !nested => {
                DestAttr::TunPort(parse_u16_be(p).context("dest tun port")?)
            }
            IPVS_DEST_ATTR_TUN_FLAGS if !nested => {
                DestAttr::TunFlags(parse_u16(p).context("dest tun flags")?)
            }
            _ => DestAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// A top-level attribute of an IPVS message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IpvsAttr {
    /// `IPVS_CMD_ATTR_SERVICE`.
    Service(Vec<SvcAttr>),
    /// `IPVS_CMD_ATTR_DEST`.
    Dest(Vec<DestAttr>),
    /// `IPVS_CMD_ATTR_DAEMON`, kept raw.
    Daemon(Vec<DefaultNla>),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP`, seconds.
    TimeoutTcp(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP_FIN`, seconds.
    TimeoutTcpFin(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_UDP`, seconds.
    TimeoutUdp(u32),
    /// `IPVS_INFO_ATTR_VERSION` (only in [`IpvsCmd::GetInfo`] messages).
    InfoVersion(u32),
    /// `IPVS_INFO_ATTR_CONN_TAB_SIZE` (only in [`IpvsCmd::GetInfo`] messages).
    InfoConnTabSize(u32),
    /// Anything else, raw.
    Other(DefaultNla),
}

impl Nla for IpvsAttr {
    fn value_len(&self) -> usize {
        match self {
            IpvsAttr::Service(a) => a.as_slice().buffer_len(),
            IpvsAttr::Dest(a) => a.as_slice().buffer_len(),
            IpvsAttr::Daemon(a) => a.as_slice().buffer_len(),
            IpvsAttr::TimeoutTcp(_)
            | IpvsAttr::TimeoutTcpFin(_)
            | IpvsAttr::TimeoutUdp(_)
            | IpvsAttr::InfoVersion(_)
            | IpvsAttr::InfoConnTabSize(_) => 4,
            IpvsAttr::Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            IpvsAttr::Service(_) => IPVS_CMD_ATTR_SERVICE,
            IpvsAttr::Dest(_) => IPVS_CMD_ATTR_DEST,
            IpvsAttr::Daemon(_) => IPVS_CMD_ATTR_DAEMON,
            IpvsAttr::TimeoutTcp(_) => IPVS_CMD_ATTR_TIMEOUT_TCP,
            IpvsAttr::TimeoutTcpFin(_) => IPVS_CMD_ATTR_TIMEOUT_TCP_FIN,
            IpvsAttr::TimeoutUdp(_) => IPVS_CMD_ATTR_TIMEOUT_UDP,
            IpvsAttr::InfoVersion(_) => IPVS_INFO_ATTR_VERSION,
            IpvsAttr::InfoConnTabSize(_) => IPVS_INFO_ATTR_CONN_TAB_SIZE,
            IpvsAttr::Other(n) => n.kind(),
        }
    }

    fn is_nested(&self) -> bool {
        matches!(
            self,
            IpvsAttr::Service(_) | IpvsAttr::Dest(_) | IpvsAttr::Daemon(_)
        )
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            IpvsAttr::Service(a) => a.as_slice().emit(buffer),
            IpvsAttr::Dest(a) => a.as_slice().emit(buffer),
            IpvsAttr::Daemon(a) => a.as_slice().emit(buffer),
            IpvsAttr::TimeoutTcp(v)
            | IpvsAttr::TimeoutTcpFin(v)
            | IpvsAttr::TimeoutUdp(v)
            | IpvsAttr::InfoVersion(v)
            | IpvsAttr::InfoConnTabSize(v) => emit_u32(buffer, *v).unwrap_or(()),
            IpvsAttr::Other(n) => n.emit_value(buffer),
        }
    }
}

impl IpvsAttr {
    /// Parses one top-level attribute; `cmd` decides what attribute numbers mean
    /// (`GET_INFO` replies use `IPVS_INFO_ATTR_*`).
    pub fn parse_for(buf: &NlaBuffer<&[u8]>, cmd: IpvsCmd) -> Result<Self, DecodeError> {
        let p = buf.value();
        let nested = buf.nested_flag();
        if cmd == IpvsCmd::GetInfo {
            return Ok(match buf.kind() {
                IPVS_INFO_ATTR_VERSION if !nested => {
                    IpvsAttr::InfoVersion(parse_u32(p).context("info version")?)
                }
                IPVS_INFO_ATTR_CONN_TAB_SIZE if !nested => {
                    IpvsAttr::InfoConnTabSize(parse_u32(p).context("info conn tab size")?)
                }
                _ => IpvsAttr::Other(DefaultNla::parse(buf)?),
            });
        }
        Ok(match buf.kind() {
            IPVS_CMD_ATTR_SERVICE => IpvsAttr::Service(
                parse_nest(p, |b| SvcAttr::parse(b)).context("service attributes")?,
            ),
            IPVS_CMD_ATTR_DEST => {
                IpvsAttr::Dest(parse_nest(p, |b| DestAttr::parse(b)).context("dest attributes")?)
            }
            IPVS_CMD_ATTR_DAEMON => IpvsAttr::Daemon(
                parse_nest(p, |b| DefaultNla::parse(b)).context("daemon attributes")?,
            ),
            IPVS_CMD_ATTR_TIMEOUT_TCP if !nested => {
                IpvsAttr::TimeoutTcp(parse_u32(p).context("timeout tcp")?)
            }
            IPVS_CMD_ATTR_TIMEOUT_TCP_FIN if !nested => {
                IpvsAttr::TimeoutTcpFin(parse_u32(p).context("timeout tcp fin")?)
            }
            IPVS_CMD_ATTR_TIMEOUT_UDP if !nested => {
                IpvsAttr::TimeoutUdp(parse_u32(p).context("timeout udp")?)
            }
            _ => IpvsAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// One IPVS generic-netlink message: a command and its attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpvsMessage {
    /// The command.
    pub cmd: IpvsCmd,
    /// Its top-level attributes.
    pub attrs: Vec<IpvsAttr>,
}

impl GenlFamily for IpvsMessage {
    fn family_name() -> &'static str {
        IPVS_GENL_NAME
    }

    fn command(&self) -> u8 {
        self.cmd.into()
    }

    fn version(&self) -> u8 {
        IPVS_GENL_VERSION
    }
}

impl Emitable for IpvsMessage {
    fn buffer_len(&self) -> usize {
        self.attrs.as_slice().buffer_len()
    }

    fn emit(&self, buffer: &mut [u8]) {
        self.attrs.as_slice().emit(buffer)
    }
}

impl ParseableParametrized<[u8], GenlHeader> for IpvsMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        let cmd = IpvsCmd::from(header.cmd);
        let attrs = parse_nest(buf, |b| IpvsAttr::parse_for(b, cmd))
            .context("failed to parse IPVS message attributes")?;
        Ok(IpvsMessage { cmd, attrs })
    }
}

impl IpvsMessage {
    /// Parses the attribute payload (after the genl header) of a message with command `cmd`.
    pub fn parse_payload(cmd: IpvsCmd, buf: &[u8]) -> Result<Self, DecodeError> {
        Self::parse_with_param(
            buf,
            GenlHeader {
                cmd: cmd.into(),
                version: IPVS_GENL_VERSION,
            },
        )
    }

    /// Emits the attribute payload (after the genl header) into a new buffer.
    pub fn to_payload(&self) -> Vec<u8> {
        let mut v = vec![0; self.buffer_len()];
        self.emit(&mut v);
        v
    }

    /// The first `IPVS_CMD_ATTR_SERVICE` nest, if any.
    pub fn service(&self) -> Option<&[SvcAttr]> {
        self.attrs.iter().find_map(|a| match a {
            IpvsAttr::Service(s) => Some(s.as_slice()),
            _ => None,
        })
    }

    /// The first `IPVS_CMD_ATTR_DEST` nest, if any.
    pub fn dest(&self) -> Option<&[DestAttr]> {
        self.attrs.iter().find_map(|a| match a {
            IpvsAttr::Dest(d) => Some(d.as_slice()),
            _ => None,
        })
    }

    /// `NEW_SERVICE` / `SET_SERVICE` (`cmd`) for a service with its settings.
    pub fn service_with_settings(cmd: IpvsCmd, key: &ServiceKey, s: &ServiceSettings) -> Self {
        IpvsMessage {
            cmd,
            attrs: vec![IpvsAttr::Service(service_nest(key, s))],
        }
    }

    /// `DEL_SERVICE` / `GET_SERVICE` (`cmd`) for a service key.
    pub fn service_only(cmd: IpvsCmd, key: &ServiceKey) -> Self {
        IpvsMessage {
            cmd,
            attrs: vec![IpvsAttr::Service(service_key_attrs(key))],
        }
    }

    /// `NEW_DEST` / `SET_DEST` (`cmd`) for a real server of a service.
    pub fn dest_with_settings(
        cmd: IpvsCmd,
        svc: &ServiceKey,
        key: &DestKey,
        s: &DestSettings,
    ) -> Self {
        IpvsMessage {
            cmd,
            attrs: vec![
                IpvsAttr::Service(service_key_attrs(svc)),
                IpvsAttr::Dest(dest_nest(key, s)),
            ],
        }
    }

    /// `DEL_DEST` for a real server of a service.
    pub fn del_dest(svc: &ServiceKey, key: &DestKey) -> Self {
        IpvsMessage {
            cmd: IpvsCmd::DelDest,
            attrs: vec![
                IpvsAttr::Service(service_key_attrs(svc)),
                IpvsAttr::Dest(dest_key_attrs(key)),
            ],
        }
    }
}

fn family_af(f: Family) -> u16 {
    match f {
        Family::V4 => AF_INET,
        Family::V6 => AF_INET6,
    }
}

fn af_family(af: u16) -> Result<Family, GenlError> {
    match af {
        AF_INET => Ok(Family::V4),
        AF_INET6 => Ok(Family::V6),
        v => Err(GenlError::Unsupported {
            what: "address family",
            value: u64::from(v),
        }),
    }
}

/// An address as the kernel's 16-byte `union nf_inet_addr`.
pub fn addr_bytes(a: &IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v4) => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&v4.octets());
            b
        }
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// The address of family `f` in a 16-byte `union nf_inet_addr`.
pub fn bytes_addr(b: &[u8; 16], f: Family) -> IpAddr {
    match f {
        Family::V4 => IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(*b)),
    }
}

fn protocol_of(n: u16) -> Result<Protocol, GenlError> {
    match n {
        6 => Ok(Protocol::Tcp),
        17 => Ok(Protocol::Udp),
        132 => Ok(Protocol::Sctp),
        v => Err(GenlError::Unsupported {
            what: "protocol",
            value: u64::from(v),
        }),
    }
}

fn key_family(key: &ServiceKey) -> Family {
    match key {
        ServiceKey::Inet { addr, .. } => Family::of(addr),
        ServiceKey::Fwmark { family, .. } => *family,
    }
}

/// The attributes that identify a service (for `DEL_SERVICE`, `GET_SERVICE` and the
/// service nest of destination commands).
pub fn service_key_attrs(key: &ServiceKey) -> Vec<SvcAttr> {
    match key {
        ServiceKey::Inet {
            protocol,
            addr,
            port,
        } => vec![
            SvcAttr::Af(family_af(Family::of(addr))),
            SvcAttr::Protocol(protocol.number()),
            SvcAttr::Addr(addr_bytes(addr)),
            SvcAttr::Port(*port),
        ],
        ServiceKey::Fwmark { family, mark } => {
            vec![SvcAttr::Af(family_af(*family)), SvcAttr::Fwmark(*mark)]
        }
    }
}

/// The kernel's raw netmask value for a prefix length: IPv4 a network-order mask, IPv6 the
/// prefix length itself.
pub fn netmask_raw(f: Family, prefix: u8) -> u32 {
    match f {
        Family::V4 => {
            let p = u32::from(prefix.min(32));
            let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
            u32::from_ne_bytes(mask.to_be_bytes())
        }
        Family::V6 => u32::from(prefix),
    }
}

/// The prefix length of a kernel netmask value (inverse of [`netmask_raw`]).
pub fn netmask_prefix(f: Family, raw: u32) -> u8 {
    match f {
        Family::V4 => {
            let mask = u32::from_be_bytes(raw.to_ne_bytes());
            u8::try_from(mask.leading_ones()).unwrap_or(32)
        }
        Family::V6 => u8::try_from(raw).unwrap_or(128),
    }
}

/// A full service nest (key + settings), for `NEW_SERVICE` / `SET_SERVICE`.
pub fn service_nest(key: &ServiceKey, s: &ServiceSettings) -> Vec<SvcAttr> {
    let mut v = service_key_attrs(key);
    let persistent = if s.persistence > 0 {
        IP_VS_SVC_F_PERSISTENT
    } else {
        0
    };
    v.push(SvcAttr::SchedName(s.scheduler.clone()));
    v.push(SvcAttr::Flags {
        flags: (s.sched_flags & !(IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_HASHED)) | persistent,
        mask: u32::MAX,
    });
    v.push(SvcAttr::Timeout(s.persistence));
    v.push(SvcAttr::Netmask(netmask_raw(key_family(key), s.netmask)));
    v
}

/// The service key of a service nest.
pub fn service_key_from_attrs(attrs: &[SvcAttr]) -> Result<ServiceKey, GenlError> {
    let mut af = None;
    let mut proto = None;
    let mut addr = None;
    let mut port = None;
    let mut mark = None;
    for a in attrs {
        match a {
            SvcAttr::Af(v) => af = Some(*v),
            SvcAttr::Protocol(v) => proto = Some(*v),
            SvcAttr::Addr(v) => addr = Some(*v),
            SvcAttr::Port(v) => port = Some(*v),
            SvcAttr::Fwmark(v) => mark = Some(*v),
            _ => {}
        }
    }
    let family = af_family(af.ok_or(GenlError::Missing("IPVS_SVC_ATTR_AF"))?)?;
    match mark {
        Some(mark) if mark != 0 => Ok(ServiceKey::Fwmark { family, mark }),
        _ => Ok(ServiceKey::Inet {
            protocol: protocol_of(proto.ok_or(GenlError::Missing("IPVS_SVC_ATTR_PROTOCOL"))?)?,
            addr: bytes_addr(
                &addr.ok_or(GenlError::Missing("IPVS_SVC_ATTR_ADDR"))?,
                family,
            ),
            port: port.ok_or(GenlError::Missing("IPVS_SVC_ATTR_PORT"))?,
        }),
    }
}

/// The service key and settings of a service nest (as `GET_SERVICE` replies carry them).
/// Absent settings default to empty/zero; kernel-internal flags (`PERSISTENT`, `HASHED`)
/// are dropped from `sched_flags`.
pub fn service_from_attrs(attrs: &[SvcAttr]) -> Result<(ServiceKey, ServiceSettings), GenlError> {
    let key = service_key_from_attrs(attrs)?;
    let family = key_family(&key);
    let mut s = ServiceSettings {
        scheduler: String::new(),
        persistence: 0,
        netmask: 0,
        sched_flags: 0,
    };
    for a in attrs {
        match a {
            SvcAttr::SchedName(n) => s.scheduler = n.clone(),
            SvcAttr::Flags { flags, .. } => {
                s.sched_flags = flags & !(IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_HASHED)
            }
            SvcAttr::Timeout(t) => s.persistence = *t,
            SvcAttr::Netmask(m) => s.netmask = netmask_prefix(family, *m),
            _ => {}
        }
    }
    Ok((key, s))
}

/// The attributes that identify a real server (for `DEL_DEST`).
pub fn dest_key_attrs(key: &DestKey) -> Vec<DestAttr> {
    vec![
        DestAttr::AddrFamily(family_af(Family::of(&key.addr))),
        DestAttr::Addr(addr_bytes(&key.addr)),
        DestAttr::Port(key.port),
    ]
}

/// A full destination nest (key + settings), for `NEW_DEST` / `SET_DEST`.
pub fn dest_nest(key: &DestKey, s: &DestSettings) -> Vec<DestAttr> {
    let mut v = dest_key_attrs(key);
    let fwd = match s.forward {
        Forward::Nat => IP_VS_CONN_F_MASQ,
        Forward::Route => IP_VS_CONN_F_DROUTE,
        Forward::Tunnel(_) => IP_VS_CONN_F_TUNNEL,
        Forward::Bypass => IP_VS_CONN_F_BYPASS,
    };
    v.push(DestAttr::FwdMethod(fwd));
    v.push(DestAttr::Weight(s.weight));
    v.push(DestAttr::UThresh(s.upper_threshold));
    v.push(DestAttr::LThresh(s.lower_threshold));
    if let Forward::Tunnel(t) = s.forward {
        match t {
            TunnelType::Ipip => v.push(DestAttr::TunType(IP_VS_CONN_F_TUNNEL_TYPE_IPIP)),
            TunnelType::Gue(port) => {
                v.push(DestAttr::TunType(IP_VS_CONN_F_TUNNEL_TYPE_GUE));
                v.push(DestAttr::TunPort(port));
            }
            TunnelType::Gre => v.push(DestAttr::TunType(IP_VS_CONN_F_TUNNEL_TYPE_GRE)),
        }
    }
    v
}

/// The key and settings of a destination nest. `svc_family` is used when the nest has no
/// `IPVS_DEST_ATTR_ADDR_FAMILY` (older kernels). `IP_VS_CONN_F_LOCALNODE`, which the kernel
/// reports for a real server on a local address, reads as [`Forward::Bypass`].
pub fn dest_from_attrs(
    attrs: &[DestAttr],
    svc_family: Family,
) -> Result<(DestKey, DestSettings), GenlError> {
    let mut af = None;
    let mut addr = None;
    let mut port = None;
    let mut fwd = None;
    let mut weight = 0;
    let mut upper = 0;
    let mut lower = 0;
    let mut tun_type = None;
    let mut tun_port = 0;
    for a in attrs {
        match a {
            DestAttr::AddrFamily(v) => af = Some(*v),
            DestAttr::Addr(v) => addr = Some(*v),
            DestAttr::Port(v) => port = Some(*v),
            DestAttr::FwdMethod(v) => fwd = Some(*v),
            DestAttr::Weight(v) => weight = *v,
            DestAttr::UThresh(v) => upper = *v,
            DestAttr::LThresh(v) => lower = *v,
            DestAttr::TunType(v) => tun_type = Some(*v),
            DestAttr::TunPort(v) => tun_port = *v,
            _ => {}
        }
    }
    let family = match af {
        Some(af) => af_family(af)?,
        None => svc_family,
    };
    let key = DestKey {
        addr: bytes_addr(
            &addr.ok_or(GenlError::Missing("IPVS_DEST_ATTR_ADDR"))?,
            family,
        ),
        port: port.ok_or(GenlError::Missing("IPVS_DEST_ATTR_PORT"))?,
    };
    let fwd = fwd.ok_or(GenlError::Missing("IPVS_DEST_ATTR_FWD_METHOD"))? & IP_VS_CONN_F_FWD_MASK;
    let forward = match fwd {
        IP_VS_CONN_F_MASQ => Forward::Nat,
        IP_VS_CONN_F_DROUTE => Forward::Route,
        IP_VS_CONN_F_LOCALNODE | IP_VS_CONN_F_BYPASS => Forward::Bypass,
        IP_VS_CONN_F_TUNNEL => Forward::Tunnel(match tun_type {
            None | Some(IP_VS_CONN_F_TUNNEL_TYPE_IPIP) => TunnelType::Ipip,
            Some(IP_VS_CONN_F_TUNNEL_TYPE_GUE) => TunnelType::Gue(tun_port),
            Some(IP_VS_CONN_F_TUNNEL_TYPE_GRE) => TunnelType::Gre,
            Some(t) => {
                return Err(GenlError::Unsupported {
                    what: "tunnel type",
                    value: u64::from(t),
                })
            }
        }),
        v => {
            return Err(GenlError::Unsupported {
                what: "forwarding method",
                value: u64::from(v),
            })
        }
    };
    Ok((
        key,
        DestSettings {
            forward,
            weight,
            upper_threshold: upper,
            lower_threshold: lower,
        },
    ))
}

/// Whether `kind` (as read from an attribute header) has the nested flag.
pub fn is_nested_kind(kind: u16) -> bool {
    kind & NLA_F_NESTED != 0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_REQUEST};
    use netlink_packet_generic::GenlMessage;
    use proptest::prelude::*;

    fn roundtrip(m: &IpvsMessage) -> IpvsMessage {
        let buf = m.to_payload();
        assert_eq!(buf.len(), m.buffer_len());
        IpvsMessage::parse_payload(m.cmd, &buf).unwrap()
    }

    fn v4svc() -> ServiceKey {
        ServiceKey::Inet {
            protocol: Protocol::Tcp,
            addr: "192.0.2.10".parse().unwrap(),
            port: 443,
        }
    }

    fn v6svc() -> ServiceKey {
        ServiceKey::Inet {
            protocol: Protocol::Sctp,
            addr: "2001:db8::10".parse().unwrap(),
            port: 8080,
        }
    }

    fn settings(netmask: u8) -> ServiceSettings {
        ServiceSettings {
            scheduler: "wlc".into(),
            persistence: 300,
            netmask,
            sched_flags: IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED3,
        }
    }

    fn all_forwards() -> Vec<Forward> {
        vec![
            Forward::Nat,
            Forward::Route,
            Forward::Bypass,
            Forward::Tunnel(TunnelType::Ipip),
            Forward::Tunnel(TunnelType::Gue(6080)),
            Forward::Tunnel(TunnelType::Gre),
        ]
    }

    fn all_stats() -> Vec<StatsAttr> {
        vec![
            StatsAttr::Conns(1),
            StatsAttr::InPkts(2),
            StatsAttr::OutPkts(3),
            StatsAttr::InBytes(u64::from(u32::MAX) + 4),
            StatsAttr::OutBytes(5),
            StatsAttr::Cps(6),
            StatsAttr::InPps(7),
            StatsAttr::OutPps(8),
            StatsAttr::InBps(9),
            StatsAttr::OutBps(10),
            StatsAttr::Other(DefaultNla::new(11, vec![0; 8])),
        ]
    }

    #[test]
    fn every_command_roundtrips() {
        for n in 0..=20u8 {
            let cmd = IpvsCmd::from(n);
            assert_eq!(u8::from(cmd), n);
            let m = IpvsMessage { cmd, attrs: vec![] };
            assert_eq!(roundtrip(&m), m);
        }
        assert_eq!(IpvsCmd::from(IPVS_CMD_FLUSH), IpvsCmd::Flush);
        assert_eq!(IpvsCmd::from(99), IpvsCmd::Other(99));
    }

    #[test]
    fn services_roundtrip_v4_v6_fwmark() {
        let keys = [
            (v4svc(), 24u8),
            (v6svc(), 64),
            (
                ServiceKey::Fwmark {
                    family: Family::V4,
                    mark: 7,
                },
                32,
            ),
            (
                ServiceKey::Fwmark {
                    family: Family::V6,
                    mark: 0xdead,
                },
                128,
            ),
        ];
        for (key, nm) in keys {
            let s = settings(nm);
            for cmd in [IpvsCmd::NewService, IpvsCmd::SetService] {
                let m = IpvsMessage::service_with_settings(cmd, &key, &s);
                let back = roundtrip(&m);
                assert_eq!(back, m);
                assert_eq!(
                    service_from_attrs(back.service().unwrap()).unwrap(),
                    (key.clone(), s.clone())
                );
            }
            for cmd in [IpvsCmd::DelService, IpvsCmd::GetService] {
                let m = IpvsMessage::service_only(cmd, &key);
                let back = roundtrip(&m);
                assert_eq!(back, m);
                assert_eq!(
                    service_key_from_attrs(back.service().unwrap()).unwrap(),
                    key
                );
            }
        }
    }

    #[test]
    fn wire_format_details() {
        let m = IpvsMessage::service_only(IpvsCmd::GetService, &v4svc());
        let buf = m.to_payload();
        // outer nest header: len, type SERVICE | NESTED
        assert_eq!(
            u16::from_ne_bytes([buf[2], buf[3]]),
            IPVS_CMD_ATTR_SERVICE | NLA_F_NESTED
        );
        // af(8) + protocol(8) + addr header: value begins at 4 + 8 + 8 + 4
        let addr = &buf[24..40];
        assert_eq!(&addr[..4], &[192, 0, 2, 10]);
        assert!(addr[4..].iter().all(|b| *b == 0));
        // port attr: header then big-endian 443
        assert_eq!(&buf[44..46], &443u16.to_be_bytes());
        assert_eq!(
            netmask_raw(Family::V4, 24).to_ne_bytes(),
            [255, 255, 255, 0]
        );
        assert_eq!(netmask_prefix(Family::V4, netmask_raw(Family::V4, 0)), 0);
        assert_eq!(netmask_raw(Family::V6, 64), 64);
    }

    #[test]
    fn dests_roundtrip_every_forward() {
        let dkeys = [
            (
                v4svc(),
                DestKey {
                    addr: "10.0.0.1".parse().unwrap(),
                    port: 443,
                },
            ),
            (
                v6svc(),
                DestKey {
                    addr: "2001:db8::1".parse().unwrap(),
                    port: 80,
                },
            ),
            (
                ServiceKey::Fwmark {
                    family: Family::V4,
                    mark: 1,
                },
                DestKey {
                    addr: "10.0.0.2".parse().unwrap(),
                    port: 0,
                },
            ),
        ];
        for (svc, dk) in dkeys {
            for forward in all_forwards() {
                let s = DestSettings {
                    forward,
                    weight: 5,
                    upper_threshold: 100,
                    lower_threshold: 10,
                };
                for cmd in [IpvsCmd::NewDest, IpvsCmd::SetDest, IpvsCmd::GetDest] {
                    let m = IpvsMessage::dest_with_settings(cmd, &svc, &dk, &s);
                    let back = roundtrip(&m);
                    assert_eq!(back, m);
                    assert_eq!(
                        service_key_from_attrs(back.service().unwrap()).unwrap(),
                        svc
                    );
                    let fam = key_family(&svc);
                    assert_eq!(
                        dest_from_attrs(back.dest().unwrap(), fam).unwrap(),
                        (dk, s.clone())
                    );
                }
            }
            let m = IpvsMessage::del_dest(&svc, &dk);
            assert_eq!(roundtrip(&m), m);
        }
    }

    #[test]
    fn dest_without_family_uses_service_family_and_localnode_is_bypass() {
        let attrs = vec![
            DestAttr::Addr(addr_bytes(&"2001:db8::5".parse().unwrap())),
            DestAttr::Port(1),
            DestAttr::FwdMethod(IP_VS_CONN_F_LOCALNODE),
        ];
        let (k, s) = dest_from_attrs(&attrs, Family::V6).unwrap();
        assert_eq!(k.addr, "2001:db8::5".parse::<IpAddr>().unwrap());
        assert_eq!(s.forward, Forward::Bypass);
        assert!(matches!(
            dest_from_attrs(&attrs[..2], Family::V6),
            Err(GenlError::Missing(_))
        ));
    }

    #[test]
    fn every_attribute_kind_roundtrips() {
        let svc = vec![
            SvcAttr::Af(AF_INET6),
            SvcAttr::Protocol(17),
            SvcAttr::Addr(addr_bytes(&"2001:db8::1".parse().unwrap())),
            SvcAttr::Port(53),
            SvcAttr::Fwmark(9),
            SvcAttr::SchedName("mh".into()),
            SvcAttr::Flags {
                flags: 0x2a,
                mask: 0xff,
            },
            SvcAttr::Timeout(60),
            SvcAttr::Netmask(128),
            SvcAttr::Stats(all_stats()),
            SvcAttr::PeName("sip".into()),
            SvcAttr::Stats64(all_stats()),
            SvcAttr::Other(DefaultNla::new(200, vec![1, 2, 3])),
        ];
        let dest = vec![
            DestAttr::Addr([7; 16]),
            DestAttr::Port(8080),
            DestAttr::FwdMethod(IP_VS_CONN_F_TUNNEL),
            DestAttr::Weight(1),
            DestAttr::UThresh(2),
            DestAttr::LThresh(3),
            DestAttr::ActiveConns(4),
            DestAttr::InactConns(5),
            DestAttr::PersistConns(6),
            DestAttr::Stats(all_stats()),
            DestAttr::AddrFamily(AF_INET6),
            DestAttr::Stats64(all_stats()),
            DestAttr::TunType(IP_VS_CONN_F_TUNNEL_TYPE_GUE),
            DestAttr::TunPort(6080),
            DestAttr::TunFlags(3),
            DestAttr::Other(DefaultNla::new(300, vec![9; 5])),
        ];
        let m = IpvsMessage {
            cmd: IpvsCmd::GetDest,
            attrs: vec![
                IpvsAttr::Service(svc),
                IpvsAttr::Dest(dest),
                IpvsAttr::Daemon(vec![DefaultNla::new(1, vec![1, 0, 0, 0])]),
                IpvsAttr::Other(DefaultNla::new(77, vec![])),
            ],
        };
        assert_eq!(roundtrip(&m), m);

        let cfg = IpvsMessage {
            cmd: IpvsCmd::SetConfig,
            attrs: vec![
                IpvsAttr::TimeoutTcp(900),
                IpvsAttr::TimeoutTcpFin(120),
                IpvsAttr::TimeoutUdp(300),
            ],
        };
        assert_eq!(roundtrip(&cfg), cfg);

        let info = IpvsMessage {
            cmd: IpvsCmd::GetInfo,
            attrs: vec![
                IpvsAttr::InfoVersion(0x010201),
                IpvsAttr::InfoConnTabSize(4096),
            ],
        };
        assert_eq!(roundtrip(&info), info);

        for cmd in [IpvsCmd::Flush, IpvsCmd::Zero, IpvsCmd::GetConfig] {
            let m = IpvsMessage { cmd, attrs: vec![] };
            assert_eq!(roundtrip(&m), m);
        }
    }

    #[test]
    fn through_genl_and_netlink_headers() {
        let m = IpvsMessage::service_with_settings(IpvsCmd::NewService, &v6svc(), &settings(128));
        let mut genl = GenlMessage::from_payload(m.clone());
        genl.set_resolved_family_id(0x23);
        let mut nl = NetlinkMessage::from(genl);
        nl.header.flags = NLM_F_REQUEST;
        nl.finalize();
        let mut buf = vec![0; nl.buffer_len()];
        nl.serialize(&mut buf);
        let back = NetlinkMessage::<GenlMessage<IpvsMessage>>::deserialize(&buf).unwrap();
        assert_eq!(back.header.message_type, 0x23);
        match back.payload {
            NetlinkPayload::InnerMessage(g) => {
                assert_eq!(g.header.cmd, IPVS_CMD_NEW_SERVICE);
                assert_eq!(g.header.version, IPVS_GENL_VERSION);
                assert_eq!(g.payload, m);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn bad_input_errors() {
        let m = IpvsMessage::dest_with_settings(
            IpvsCmd::NewDest,
            &v4svc(),
            &DestKey {
                addr: "10.0.0.1".parse().unwrap(),
                port: 1,
            },
            &DestSettings {
                forward: Forward::Tunnel(TunnelType::Gue(1)),
                weight: 1,
                upper_threshold: 0,
                lower_threshold: 0,
            },
        );
        let buf = m.to_payload();
        for cut in 1..buf.len() {
            // must not panic; most cuts are errors
            let _ = IpvsMessage::parse_payload(IpvsCmd::NewDest, &buf[..cut]);
        }
        assert!(IpvsMessage::parse_payload(IpvsCmd::NewDest, &buf[..buf.len() - 3]).is_err());
        // a known attribute with a wrong length
        let bad = IpvsMessage {
            cmd: IpvsCmd::NewService,
            attrs: vec![IpvsAttr::Service(vec![SvcAttr::Other(DefaultNla::new(
                IPVS_SVC_ATTR_ADDR,
                vec![1, 2, 3],
            ))])],
        };
        assert!(IpvsMessage::parse_payload(IpvsCmd::NewService, &bad.to_payload()).is_err());
        assert!(matches!(
            service_key_from_attrs(&[SvcAttr::Af(99)]),
            Err(GenlError::Unsupported { .. })
        ));
    }

    proptest! {
        #[test]
        fn garbage_never_panics(cmd in any::<u8>(), buf in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(m) = IpvsMessage::parse_payload(IpvsCmd::from(cmd), &buf) {
                // whatever parsed must re-emit without panicking and parse again
                let again = IpvsMessage::parse_payload(m.cmd, &m.to_payload());
                prop_assert!(again.is_ok());
                if let Some(s) = m.service() { let _ = service_from_attrs(s); }
                if let Some(d) = m.dest() { let _ = dest_from_attrs(d, Family::V4); }
            }
        }

        #[test]
        fn mutated_valid_messages_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
            let m = IpvsMessage::dest_with_settings(
                IpvsCmd::NewDest,
                &v6svc(),
                &DestKey { addr: "2001:db8::1".parse().unwrap(), port: 80 },
                &DestSettings { forward: Forward::Tunnel(TunnelType::Gue(5)), weight: 1, upper_threshold: 2, lower_threshold: 3 },
            );
            let mut buf = m.to_payload();
            for (i, b) in edits {
                let n = buf.len();
                buf[i % n] = b;
            }
            let cut = cut % (buf.len() + 1);
            if let Ok(p) = IpvsMessage::parse_payload(IpvsCmd::NewDest, &buf[..cut]) {
                prop_assert!(IpvsMessage::parse_payload(p.cmd, &p.to_payload()).is_ok());
                if let Some(s) = p.service() { let _ = service_from_attrs(s); }
                if let Some(d) = p.dest() { let _ = dest_from_attrs(d, Family::V6); }
            }
        }

        #[test]
        fn dest_roundtrip_any(a in any::<[u8; 16]>(), v4 in any::<bool>(), port in any::<u16>(),
                              w in any::<u32>(), u in any::<u32>(), l in any::<u32>(), gue in any::<u16>()) {
            let addr = if v4 { IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3])) } else { IpAddr::V6(Ipv6Addr::from(a)) };
            let dk = DestKey { addr, port };
            let s = DestSettings { forward: Forward::Tunnel(TunnelType::Gue(gue)), weight: w, upper_threshold: u, lower_threshold: l };
            let m = IpvsMessage::dest_with_settings(IpvsCmd::NewDest, &v4svc(), &dk, &s);
            let back = IpvsMessage::parse_payload(m.cmd, &m.to_payload()).unwrap();
            prop_assert_eq!(&back, &m);
            prop_assert_eq!(dest_from_attrs(back.dest().unwrap(), Family::V4).unwrap(), (dk, s));
        }
    }
}

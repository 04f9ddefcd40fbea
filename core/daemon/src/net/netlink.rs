//! Interfaces and addresses over rtnetlink: find a link, its MAC and primary
//! address, add and remove virtual addresses, create and delete VMACs.

use std::net::IpAddr;

use futures::TryStreamExt;
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressScope,
};
use netlink_packet_route::link::{LinkAttribute, MacVlanMode};
use rtnetlink::{Handle, LinkMacVlan};

/// Errors of netlink operations, with what was being done.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    /// The socket could not be opened.
    #[error("cannot open a netlink socket")]
    Open(#[source] std::io::Error),
    /// The kernel refused a request.
    #[error("{what}")]
    Request {
        /// What was attempted.
        what: String,
        /// The kernel's answer.
        #[source]
        source: rtnetlink::Error,
    },
    /// No such interface.
    #[error("interface {0:?} not found")]
    NoInterface(String),
    /// The interface has no usable source address.
    #[error("interface {iface:?} has no {what} address (set unicast_source, or add one)")]
    NoAddress {
        /// Interface.
        iface: String,
        /// "primary IPv4" or "IPv6 link-local".
        what: &'static str,
    },
}

/// A network interface as the daemon needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// Name.
    pub name: String,
    /// ifindex.
    pub index: u32,
    /// Hardware address (6 bytes on Ethernet).
    pub mac: Vec<u8>,
}

/// A handle to the route netlink socket.
#[derive(Clone, Debug)]
pub struct Netlink {
    handle: Handle,
}

fn req(what: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> NetlinkError {
    let what = what.into();
    move |source| NetlinkError::Request { what, source }
}

impl Netlink {
    /// Open a connection and drive it on the current tokio runtime.
    pub fn open() -> Result<Netlink, NetlinkError> {
        let (conn, handle, _) = rtnetlink::new_connection().map_err(NetlinkError::Open)?;
        tokio::spawn(conn);
        Ok(Netlink { handle })
    }

    /// Look an interface up by name.
    pub async fn link(&self, name: &str) -> Result<Link, NetlinkError> {
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        let msg = match links.try_next().await {
            Ok(Some(m)) => m,
            Ok(None) => return Err(NetlinkError::NoInterface(name.to_string())),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENODEV => {
                return Err(NetlinkError::NoInterface(name.to_string()))
            }
            Err(e) => return Err(req(format!("get link {name}"))(e)),
        };
        let mac = msg
            .attributes
            .iter()
            .find_map(|a| match a {
                LinkAttribute::Address(m) => Some(m.clone()),
                _ => None,
            })
            .unwrap_or_default();
        Ok(Link {
            name: name.to_string(),
            index: msg.header.index,
            mac,
        })
    }

    /// All addresses on an interface, with their prefix lengths.
    pub async fn addresses(&self, index: u32) -> Result<Vec<(IpAddr, u8, bool)>, NetlinkError> {
        let mut out = Vec::new();
        let mut s = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute();
        while let Some(m) = s
            .try_next()
            .await
            .map_err(req(format!("get addresses of ifindex {index}")))?
        {
            let secondary = m.header.flags.contains(AddressHeaderFlags::Secondary);
            for a in &m.attributes {
                if let AddressAttribute::Address(ip) = a {
                    out.push((*ip, m.header.prefix_len, secondary));
                }
            }
        }
        Ok(out)
    }

    /// The source address VRRP uses on `link`: its primary IPv4 address, or
    /// its IPv6 link-local address (RFC 9568 §5.1.1.1, §5.1.2.1), never one
    /// of `exclude` (our own virtual addresses).
    pub async fn primary_address(
        &self,
        link: &Link,
        v6: bool,
        exclude: &[IpAddr],
    ) -> Result<IpAddr, NetlinkError> {
        let addrs = self.addresses(link.index).await?;
        let found = addrs.iter().find(|(ip, _, secondary)| {
            !exclude.contains(ip)
                && match ip {
                    IpAddr::V4(_) => !v6 && !secondary,
                    IpAddr::V6(a) => v6 && (a.segments()[0] & 0xffc0) == 0xfe80,
                }
        });
        found.map(|(ip, _, _)| *ip).ok_or(NetlinkError::NoAddress {
            iface: link.name.clone(),
            what: if v6 {
                "IPv6 link-local"
            } else {
                "primary IPv4"
            },
        })
    }

    /// Add an address (idempotent: an existing one is replaced).
    pub async fn add_address(
        &self,
        index: u32,
        addr: IpAddr,
        prefix_len: u8,
        label: Option<&str>,
        no_dad: bool,
        scope: Option<u8>,
    ) -> Result<(), NetlinkError> {
        let mut r = self.handle.address().add(index, addr, prefix_len).replace();
        let m = r.message_mut();
        if let (Some(l), IpAddr::V4(_)) = (label, addr) {
            m.attributes.push(AddressAttribute::Label(l.to_string()));
        }
        if no_dad && addr.is_ipv6() {
            m.header.flags |= AddressHeaderFlags::Nodad;
            m.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        m.header.scope = scope.map_or(AddressScope::Universe, AddressScope::from);
        r.execute()
            .await
            .map_err(req(format!("add {addr}/{prefix_len} on ifindex {index}")))
    }

    /// Remove an address; a missing one is not an error.
    pub async fn del_address(
        &self,
        index: u32,
        addr: IpAddr,
        prefix_len: u8,
    ) -> Result<(), NetlinkError> {
        let mut s = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .set_address_filter(addr)
            .execute();
        while let Some(m) = s
            .try_next()
            .await
            .map_err(req(format!("find {addr} on ifindex {index}")))?
        {
            if m.header.prefix_len != prefix_len {
                continue;
            }
            match self.handle.address().del(m).execute().await {
                Ok(()) => {}
                Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::EADDRNOTAVAIL => {}
                Err(e) => {
                    return Err(req(format!(
                        "delete {addr}/{prefix_len} on ifindex {index}"
                    ))(e))
                }
            }
        }
        Ok(())
    }

    /// Create (or find) the macvlan `name` on `parent` with the virtual MAC,
    /// up, in private mode: frames for the virtual MAC arrive on it and
    /// adverts leave from it (keepalived's `use_vmac`).
    pub async fn ensure_vmac(
        &self,
        name: &str,
        parent: u32,
        mac: [u8; 6],
    ) -> Result<Link, NetlinkError> {
        if let Ok(l) = self.link(name).await {
            return Ok(l);
        }
        let msg = LinkMacVlan::new(name, parent, MacVlanMode::Private)
            .address(mac.to_vec())
            .build();
        self.handle
            .link()
            .add(msg)
            .execute()
            .await
            .map_err(req(format!("create macvlan {name}")))?;
        self.link(name).await
    }

    /// Bring a link up.
    pub async fn set_up(&self, index: u32) -> Result<(), NetlinkError> {
        let msg = rtnetlink::LinkUnspec::new_with_index(index).up().build();
        self.handle
            .link()
            .set(msg)
            .execute()
            .await
            .map_err(req(format!("set link {index} up")))
    }

    /// Delete an interface; a missing one is not an error.
    pub async fn del_link(&self, index: u32) -> Result<(), NetlinkError> {
        match self.handle.link().del(index).execute().await {
            Ok(()) => Ok(()),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENODEV => Ok(()),
            Err(e) => Err(req(format!("delete link {index}"))(e)),
        }
    }
}

//! Raw IP protocol 112 sockets, one per interface and family.
//!
//! IPv4 uses `IP_HDRINCL` so that the source address and TTL of every
//! advert are exactly what the engine decided (keepalived does the same);
//! received IPv4 packets carry their header, which gives TTL and destination.
//! IPv6 has no header on raw sockets, so the source is chosen per packet with
//! `IPV6_PKTINFO` and the hop limit and destination are read from ancillary
//! data (`IPV6_RECVHOPLIMIT`, `IPV6_RECVPKTINFO`).

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;

use nix::sys::socket::{
    self as nixsock, sockopt, ControlMessage, ControlMessageOwned, MsgFlags, SockaddrIn6,
};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};
use tokio::io::unix::AsyncFd;
use vigil_vrrp::{Family, Outgoing, RxMeta, IPPROTO_VRRP, MULTICAST_V4, MULTICAST_V6, VRRP_TTL};

/// IPTOS_PREC_INTERNETCONTROL, as routing protocols (and keepalived) send.
const TOS_INTERNETCONTROL: u8 = 0xc0;

/// A VRRP socket bound to one interface.
#[derive(Debug)]
pub struct VrrpSocket {
    fd: AsyncFd<Socket>,
    family: Family,
    ifindex: u32,
    ifname: String,
}

/// A received VRRP message.
#[derive(Debug)]
pub struct Received {
    /// IP metadata for the engine.
    pub meta: RxMeta,
    /// Where the VRRP message sits in the receive buffer.
    pub payload: std::ops::Range<usize>,
    /// When the kernel received it (`SO_TIMESTAMPNS`, wall clock), so that
    /// Master_Down counts from the advert's arrival, not from when the
    /// engine got round to it.
    pub kernel_rx: Option<std::time::SystemTime>,
}

/// The kernel receive timestamp among a message's control messages.
fn rx_time(ts: &nix::sys::time::TimeSpec) -> Option<std::time::SystemTime> {
    let secs = u64::try_from(ts.tv_sec()).ok()?;
    let nanos = u32::try_from(ts.tv_nsec()).ok()?;
    std::time::UNIX_EPOCH.checked_add(std::time::Duration::new(secs, nanos))
}

fn nix_io(e: nix::errno::Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

impl VrrpSocket {
    /// Open a socket on `ifname`, joining the VRRP group when `multicast`.
    pub fn open(
        family: Family,
        ifname: &str,
        ifindex: u32,
        multicast: bool,
    ) -> io::Result<VrrpSocket> {
        let proto = Protocol::from(i32::from(IPPROTO_VRRP));
        let s = match family {
            Family::V4 => {
                let s = Socket::new(Domain::IPV4, Type::RAW, Some(proto))?;
                s.set_header_included_v4(true)?;
                s.set_multicast_loop_v4(false)?;
                s.set_multicast_ttl_v4(u32::from(VRRP_TTL))?;
                s.set_ttl_v4(u32::from(VRRP_TTL))?;
                if multicast {
                    s.join_multicast_v4_n(&MULTICAST_V4, &InterfaceIndexOrAddress::Index(ifindex))?;
                }
                s
            }
            Family::V6 => {
                let s = Socket::new(Domain::IPV6, Type::RAW, Some(proto))?;
                s.set_multicast_loop_v6(false)?;
                s.set_multicast_hops_v6(u32::from(VRRP_TTL))?;
                s.set_unicast_hops_v6(u32::from(VRRP_TTL))?;
                s.set_multicast_if_v6(ifindex)?;
                nixsock::setsockopt(&s, sockopt::Ipv6RecvPacketInfo, &true).map_err(nix_io)?;
                nixsock::setsockopt(&s, sockopt::Ipv6RecvHopLimit, &true).map_err(nix_io)?;
                if multicast {
                    s.join_multicast_v6(&MULTICAST_V6, ifindex)?;
                }
                s
            }
        };
        nixsock::setsockopt(&s, sockopt::ReceiveTimestampns, &true).map_err(nix_io)?;
        s.bind_device(Some(ifname.as_bytes()))?;
        s.set_nonblocking(true)?;
        Ok(VrrpSocket {
            fd: super::sys::async_socket(s)?,
            family,
            ifindex,
            ifname: ifname.to_string(),
        })
    }

    /// The interface name.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// Encode and send an advert now (never waits: a full socket buffer is an error).
    pub fn send(&self, out: &Outgoing, buf: &mut Vec<u8>) -> io::Result<()> {
        let mut msg = std::mem::take(buf);
        out.encode(&mut msg)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let r = self.send_raw(out.src, out.dst, VRRP_TTL, &msg);
        *buf = msg;
        r
    }

    /// Send a VRRP message as is, from `src` to `dst` with `ttl`.
    pub fn send_raw(&self, src: IpAddr, dst: IpAddr, ttl: u8, vrrp: &[u8]) -> io::Result<()> {
        match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                let total = u16::try_from(20 + vrrp.len())
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "advert too large"))?;
                let mut pkt = Vec::with_capacity(20 + vrrp.len());
                pkt.extend_from_slice(&[0x45, TOS_INTERNETCONTROL]);
                pkt.extend_from_slice(&total.to_be_bytes());
                // Identification and header checksum are filled in by the kernel.
                pkt.extend_from_slice(&[0, 0, 0, 0, ttl, IPPROTO_VRRP, 0, 0]);
                pkt.extend_from_slice(&src.octets());
                pkt.extend_from_slice(&dst.octets());
                pkt.extend_from_slice(vrrp);
                let to = SocketAddrV4::new(dst, 0);
                self.fd.get_ref().send_to(&pkt, &to.into())?;
                Ok(())
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                let pktinfo = libc::in6_pktinfo {
                    ipi6_addr: libc::in6_addr {
                        s6_addr: src.octets(),
                    },
                    ipi6_ifindex: self.ifindex,
                };
                let hops = libc::c_int::from(ttl);
                let scope = if is_link_scoped(&dst) {
                    self.ifindex
                } else {
                    0
                };
                let to = SockaddrIn6::from(SocketAddrV6::new(dst, 0, 0, scope));
                let iov = [IoSlice::new(vrrp)];
                let cmsg = [
                    ControlMessage::Ipv6PacketInfo(&pktinfo),
                    ControlMessage::Ipv6HopLimit(&hops),
                ];
                nixsock::sendmsg(
                    self.fd.get_ref().as_raw_fd(),
                    &iov,
                    &cmsg,
                    MsgFlags::empty(),
                    Some(&to),
                )
                .map_err(nix_io)?;
                Ok(())
            }
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "address family mismatch",
            )),
        }
    }

    /// The next queued VRRP message, without waiting: `None` when the socket
    /// buffer is empty. Lets the VRRP thread look at what the kernel already
    /// holds before it fires a timer.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        let r = match self.family {
            Family::V4 => recv_v4(self.fd.get_ref(), buf),
            Family::V6 => recv_v6(self.fd.get_ref(), buf),
        };
        match r {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Wait for the next VRRP message. Malformed IP headers come back with an
    /// empty payload, so the engine counts them as too short.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<Received> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| match self.family {
                Family::V4 => recv_v4(fd.get_ref(), buf),
                Family::V6 => recv_v6(fd.get_ref(), buf),
            }) {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }
}

fn is_link_scoped(a: &Ipv6Addr) -> bool {
    (a.segments()[0] & 0xffc0) == 0xfe80 || (a.is_multicast() && (a.segments()[0] & 0x000f) <= 2)
}

fn recv_v4(s: &Socket, buf: &mut [u8]) -> io::Result<Received> {
    let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
    let (n, kernel_rx) = {
        let mut iov = [IoSliceMut::new(buf)];
        let msg =
            nixsock::recvmsg::<()>(s.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::empty())
                .map_err(nix_io)?;
        let mut kernel_rx = None;
        for c in msg.cmsgs().map_err(nix_io)? {
            if let ControlMessageOwned::ScmTimestampns(ts) = c {
                kernel_rx = rx_time(&ts);
            }
        }
        (msg.bytes, kernel_rx)
    };
    let pkt = buf.get(..n).unwrap_or(&[]);
    let byte = |i: usize| pkt.get(i).copied().unwrap_or(0);
    let addr = |i: usize| {
        IpAddr::V4(Ipv4Addr::new(
            byte(i),
            byte(i + 1),
            byte(i + 2),
            byte(i + 3),
        ))
    };
    let ihl = usize::from(byte(0) & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([byte(2), byte(3)]));
    let meta = RxMeta {
        src: addr(12),
        dst: addr(16),
        ttl: byte(8),
    };
    if n < 20 || byte(0) >> 4 != 4 || ihl < 20 || total < ihl || total > n {
        return Ok(Received {
            meta,
            payload: 0..0,
            kernel_rx,
        });
    }
    Ok(Received {
        meta,
        payload: ihl..total,
        kernel_rx,
    })
}

fn recv_v6(s: &Socket, buf: &mut [u8]) -> io::Result<Received> {
    let mut cmsg = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int, nix::sys::time::TimeSpec);
    let (n, src, dst, hops, kernel_rx) = {
        let mut iov = [IoSliceMut::new(buf)];
        let msg = nixsock::recvmsg::<SockaddrIn6>(
            s.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::empty(),
        )
        .map_err(nix_io)?;
        let mut dst = Ipv6Addr::UNSPECIFIED;
        let mut hops = 0u8;
        let mut kernel_rx = None;
        for c in msg.cmsgs().map_err(nix_io)? {
            match c {
                ControlMessageOwned::ScmTimestampns(ts) => kernel_rx = rx_time(&ts),
                ControlMessageOwned::Ipv6PacketInfo(pi) => {
                    dst = Ipv6Addr::from(pi.ipi6_addr.s6_addr)
                }
                ControlMessageOwned::Ipv6HopLimit(h) => hops = u8::try_from(h).unwrap_or(0),
                _ => {}
            }
        }
        let src = msg.address.map_or(Ipv6Addr::UNSPECIFIED, |a| a.ip());
        (msg.bytes, src, dst, hops, kernel_rx)
    };
    Ok(Received {
        meta: RxMeta {
            src: IpAddr::V6(src),
            dst: IpAddr::V6(dst),
            ttl: hops,
        },
        payload: 0..n,
        kernel_rx,
    })
}

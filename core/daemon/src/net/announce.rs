//! Gratuitous ARP (IPv4) and unsolicited Neighbor Advertisements (IPv6):
//! how a new master tells the LAN that the virtual addresses moved
//! (RFC 9568 §6.4.1, §6.4.2; RFC 5227 §3 announcements; RFC 4861 §7.2.6).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV6};

use socket2::{Domain, Protocol, Socket, Type};

use super::sys::packet_addr;

const ETH_P_ARP: u16 = 0x0806;
const BROADCAST: [u8; 6] = [0xff; 6];
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// Sends announcements on one interface.
#[derive(Debug)]
pub struct Announcer {
    ifindex: u32,
    mac: [u8; 6],
    arp: Option<Socket>,
    nd: Option<Socket>,
}

impl Announcer {
    /// Prepare sockets for `ifname`, announcing `mac` (the interface's own,
    /// or the VMAC) as the owner of the addresses.
    pub fn open(
        ifname: &str,
        ifindex: u32,
        mac: [u8; 6],
        v4: bool,
        v6: bool,
    ) -> io::Result<Announcer> {
        let arp = if v4 {
            let s = Socket::new(
                Domain::PACKET,
                Type::RAW,
                Some(Protocol::from(i32::from(ETH_P_ARP.to_be()))),
            )?;
            s.set_nonblocking(true)?;
            Some(s)
        } else {
            None
        };
        let nd = if v6 {
            let s = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
            // Neighbor Discovery requires hop limit 255 (RFC 4861 §7.1.2).
            s.set_multicast_hops_v6(255)?;
            s.set_multicast_if_v6(ifindex)?;
            s.set_multicast_loop_v6(false)?;
            s.bind_device(Some(ifname.as_bytes()))?;
            s.set_nonblocking(true)?;
            Some(s)
        } else {
            None
        };
        Ok(Announcer {
            ifindex,
            mac,
            arp,
            nd,
        })
    }

    /// Announce one address once.
    pub fn announce(&self, addr: IpAddr) -> io::Result<()> {
        match addr {
            IpAddr::V4(a) => self.garp(a),
            IpAddr::V6(a) => self.unsolicited_na(a),
        }
    }

    fn garp(&self, vip: Ipv4Addr) -> io::Result<()> {
        let Some(s) = &self.arp else {
            return Err(io::Error::new(io::ErrorKind::Unsupported, "no ARP socket"));
        };
        let frame = garp_frame(self.mac, vip);
        s.send_to(&frame, &packet_addr(self.ifindex, ETH_P_ARP, BROADCAST))?;
        Ok(())
    }

    fn unsolicited_na(&self, target: Ipv6Addr) -> io::Result<()> {
        let Some(s) = &self.nd else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "no ICMPv6 socket",
            ));
        };
        let msg = na_message(self.mac, target);
        let to = SocketAddrV6::new(ALL_NODES, 0, 0, self.ifindex);
        s.send_to(&msg, &to.into())?;
        Ok(())
    }
}

/// An Ethernet frame carrying a gratuitous ARP request for `vip`: sender and
/// target protocol address are both the VIP, padded to the 60-byte minimum.
pub fn garp_frame(mac: [u8; 6], vip: Ipv4Addr) -> Vec<u8> {
    let mut f = Vec::with_capacity(60);
    f.extend_from_slice(&BROADCAST);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&ETH_P_ARP.to_be_bytes());
    // Hardware type Ethernet, protocol IPv4, lengths 6 and 4, operation request.
    f.extend_from_slice(&[0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&vip.octets());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&vip.octets());
    f.resize(60, 0);
    f
}

/// An ICMPv6 Neighbor Advertisement for `target` with the Router and
/// Override flags set and the target link-layer address option (the kernel
/// fills in the checksum on raw ICMPv6 sockets).
pub fn na_message(mac: [u8; 6], target: Ipv6Addr) -> Vec<u8> {
    let mut m = Vec::with_capacity(32);
    // Type 136, code 0, checksum 0; flags R (0x80) | O (0x20), S unset.
    m.extend_from_slice(&[136, 0, 0, 0, 0xa0, 0, 0, 0]);
    m.extend_from_slice(&target.octets());
    // Option 2 (target link-layer address), length 1 (8 bytes).
    m.extend_from_slice(&[2, 1]);
    m.extend_from_slice(&mac);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garp_layout() {
        let f = garp_frame([2, 0, 0, 0, 0, 1], Ipv4Addr::new(192, 0, 2, 100));
        assert_eq!(f.len(), 60);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        assert_eq!(&f[28..32], &[192, 0, 2, 100], "sender protocol address");
        assert_eq!(&f[38..42], &[192, 0, 2, 100], "target protocol address");
    }

    #[test]
    fn na_layout() {
        let m = na_message(
            [2, 0, 0, 0, 0, 1],
            "2001:db8::100".parse().unwrap_or(Ipv6Addr::UNSPECIFIED),
        );
        assert_eq!(m.len(), 32);
        assert_eq!(m[0], 136);
        assert_eq!(m[4], 0xa0);
        assert_eq!(&m[24..26], &[2, 1]);
    }
}

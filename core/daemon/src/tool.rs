//! `vigil tool send`: put a hand-made VRRP packet on the wire, for tests and
//! for operators checking what a peer does with a malformed or hostile
//! advert (wrong TTL, wrong VRID, bad checksum, rogue priority).

use std::net::IpAddr;

use anyhow::{bail, Context, Result};
use vigil_vrrp::{Advertisement, Auth, ChecksumMode, Family, Interval, Version};

use crate::net::vrrp_socket::VrrpSocket;

/// Options of `vigil tool send`.
#[derive(Clone, Debug, clap::Args)]
pub struct SendArgs {
    /// Interface to send on.
    #[arg(long)]
    pub iface: String,
    /// Source address (must be on the interface; IPv6: link-local).
    #[arg(long)]
    pub src: IpAddr,
    /// Destination (default: the VRRP multicast group of the family).
    #[arg(long)]
    pub dst: Option<IpAddr>,
    /// IPv4 TTL / IPv6 hop limit.
    #[arg(long, default_value_t = 255)]
    pub ttl: u8,
    /// VRRP version.
    #[arg(long, default_value_t = 3)]
    pub version: u8,
    /// VRID.
    #[arg(long, default_value_t = 51)]
    pub vrid: u8,
    /// Priority.
    #[arg(long, default_value_t = 100)]
    pub priority: u8,
    /// Advert interval in centiseconds.
    #[arg(long, default_value_t = 100)]
    pub interval_cs: u16,
    /// Virtual addresses carried.
    #[arg(long = "vip")]
    pub vips: Vec<IpAddr>,
    /// v2 simple password.
    #[arg(long)]
    pub password: Option<String>,
    /// Send these raw bytes (hex) as the VRRP message instead of encoding one.
    #[arg(long)]
    pub raw_hex: Option<String>,
    /// Corrupt the checksum.
    #[arg(long)]
    pub bad_checksum: bool,
    /// How many copies.
    #[arg(long, default_value_t = 1)]
    pub count: u32,
}

/// Send the packet(s).
pub async fn send(a: &SendArgs) -> Result<bool> {
    let family = Family::of(&a.src);
    let dst = a.dst.unwrap_or_else(|| family.multicast_group());
    let ifindex = nix::net::if_::if_nametoindex(a.iface.as_str())
        .with_context(|| format!("interface {}", a.iface))?;
    let sock = VrrpSocket::open(family, &a.iface, ifindex, false)
        .context("opening a raw socket (root needed)")?;
    let msg = match &a.raw_hex {
        Some(h) => decode_hex(h)?,
        None => {
            let version = match a.version {
                2 => Version::V2,
                3 => Version::V3,
                v => bail!("--version {v}: must be 2 or 3"),
            };
            let adv = Advertisement {
                version,
                vrid: a.vrid,
                priority: a.priority,
                interval: Interval::from_centis(a.interval_cs),
                auth: a.password.as_deref().map_or(Auth::None, Auth::simple),
                addresses: a.vips.clone(),
            };
            let mut b = Vec::new();
            adv.encode(a.src, dst, ChecksumMode::Rfc, &mut b)?;
            b
        }
    };
    let mut msg = msg;
    if a.bad_checksum && msg.len() >= 8 {
        msg[6] ^= 0xff;
    }
    for _ in 0..a.count {
        sock.send_raw(a.src, dst, a.ttl, &msg)?;
    }
    Ok(true)
}

fn decode_hex(h: &str) -> Result<Vec<u8>> {
    let h: String = h.chars().filter(|c| !c.is_whitespace()).collect();
    if !h.len().is_multiple_of(2) {
        bail!("--raw-hex needs an even number of hex digits");
    }
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(h.get(i..i + 2).unwrap_or("zz"), 16).context("--raw-hex"))
        .collect()
}

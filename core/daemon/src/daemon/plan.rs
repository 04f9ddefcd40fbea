//! What the daemon runs: the configuration resolved against the system
//! (interface indexes, MACs, source addresses). Building a plan touches
//! netlink but changes nothing, so a reload can be rejected before any
//! running instance is disturbed.

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;
use vigil_config::{Config, InstanceSpec};
use vigil_vrrp::{virtual_mac, InstanceConfig};

use crate::net::netlink::{Link, Netlink, NetlinkError};

/// A virtual address as the shell configures it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Vip {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// Label (IPv4 only), e.g. `eth0:1`.
    pub label: Option<String>,
    /// Skip duplicate address detection (IPv6).
    pub no_dad: bool,
    /// Address scope (kernel number), default global.
    pub scope: Option<u8>,
    /// Interface the address goes on when it is not the instance's (keepalived `dev`).
    pub dev: Option<String>,
}

/// One instance, resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InstancePlan {
    /// Name from the config.
    pub name: String,
    /// Interface adverts are received on (the configured one, or its VMAC).
    pub iface: String,
    /// Its ifindex (the router's interface key).
    pub ifindex: u32,
    /// Interface adverts leave from (the VMAC unless `vmac_xmit_base`).
    pub tx_iface: String,
    /// Its index.
    pub tx_ifindex: u32,
    /// Interface that holds the addresses and sends announcements.
    pub vip_iface: String,
    /// Its index.
    pub vip_ifindex: u32,
    /// MAC announced for the addresses (the interface's, or the VMAC).
    pub mac: [u8; 6],
    /// VMAC interface to create, if `use_vmac`.
    pub vmac: Option<String>,
    /// The engine's configuration (primary address resolved).
    pub engine: InstanceConfig,
    /// The virtual addresses with their shell details.
    pub vips: Vec<Vip>,
    /// Spacing of gratuitous ARPs within a burst.
    pub garp_interval: Duration,
    /// Spacing of unsolicited NAs within a burst.
    pub gna_interval: Duration,
}

/// Everything the daemon runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The instances.
    pub instances: Vec<InstancePlan>,
    /// Sync groups, as indexes into `instances`.
    pub sync_groups: Vec<Vec<usize>>,
    /// Control socket path.
    pub control_socket: std::path::PathBuf,
}

/// Why a configuration cannot run on this system.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// An interface or address problem.
    #[error("instance {instance:?}")]
    Netlink {
        /// Instance name.
        instance: String,
        /// What went wrong.
        #[source]
        source: NetlinkError,
    },
    /// Something the engine refuses.
    #[error("instance {instance:?}: {message}")]
    Invalid {
        /// Instance name.
        instance: String,
        /// Why.
        message: String,
    },
}

fn mac6(link: &Link) -> [u8; 6] {
    let mut m = [0u8; 6];
    for (d, s) in m.iter_mut().zip(&link.mac) {
        *d = *s;
    }
    m
}

/// Resolve a parsed config against the running system.
pub async fn resolve(nl: &Netlink, cfg: &Config) -> Result<Plan, PlanError> {
    let mut instances = Vec::with_capacity(cfg.instances.len());
    for spec in &cfg.instances {
        instances.push(resolve_instance(nl, spec).await?);
    }
    let sync_groups = cfg
        .sync_groups
        .iter()
        .map(|g| {
            g.instances
                .iter()
                .filter_map(|n| cfg.instances.iter().position(|i| &i.name == n))
                .collect()
        })
        .collect();
    Ok(Plan {
        instances,
        sync_groups,
        control_socket: cfg.global.control_socket.clone(),
    })
}

async fn resolve_instance(nl: &Netlink, spec: &InstanceSpec) -> Result<InstancePlan, PlanError> {
    let err = |source| PlanError::Netlink {
        instance: spec.name.clone(),
        source,
    };
    let link = nl.link(&spec.interface).await.map_err(err)?;
    let vip_addrs: Vec<IpAddr> = spec.vips.iter().map(|v| v.addr).collect();
    let v6 = spec.family() == vigil_vrrp::Family::V6;
    let primary = match spec.unicast_source {
        Some(a) => a,
        None => nl
            .primary_address(&link, v6, &vip_addrs)
            .await
            .map_err(err)?,
    };
    let engine = spec.engine_config(primary);
    engine.validate().map_err(|e| PlanError::Invalid {
        instance: spec.name.clone(),
        message: e.to_string(),
    })?;
    let (mac, vip_link) = match &spec.use_vmac {
        Some(name) => {
            let vmac = nl.link(name).await.map_err(err)?;
            (virtual_mac(engine.family(), engine.vrid), vmac)
        }
        None => (mac6(&link), link.clone()),
    };
    // With a VMAC, the kernel's macvlan delivers adverts that carry the
    // virtual MAC (our peers', which is also ours) only to the VMAC, so
    // receiving happens there. IPv6 adverts must come from the parent's
    // link-local address, so they leave from the parent.
    let tx_link = if spec.use_vmac.is_some() && !spec.vmac_xmit_base && !v6 {
        vip_link.clone()
    } else {
        link.clone()
    };
    let rx_link = vip_link.clone();
    Ok(InstancePlan {
        name: spec.name.clone(),
        iface: rx_link.name.clone(),
        ifindex: rx_link.index,
        tx_iface: tx_link.name.clone(),
        tx_ifindex: tx_link.index,
        vip_iface: vip_link.name.clone(),
        vip_ifindex: vip_link.index,
        mac,
        vmac: spec.use_vmac.clone(),
        engine,
        vips: spec
            .vips
            .iter()
            .map(|v| Vip {
                addr: v.addr,
                prefix_len: v.prefix_len,
                label: v.label.clone(),
                no_dad: v.no_dad,
                scope: v.scope.map(|s| s.number()),
                dev: v.dev.clone().or_else(|| spec.use_vmac.clone()),
            })
            .collect(),
        garp_interval: spec.garp_interval,
        gna_interval: spec.gna_interval,
    })
}

/// Create the VMAC interfaces the configuration asks for (idempotent) and
/// configure them as keepalived does: on the VMAC, `arp_ignore=1` (never
/// answer for the parent's addresses), `accept_local=1` and `rp_filter=0`
/// (hear peers although the VMAC has no address of its own); on the parent,
/// `arp_ignore=1`, `arp_filter=1` and `arp_announce=2` (never answer for,
/// nor announce, the VIPs with the parent's MAC). Returns their names.
pub async fn ensure_vmacs(nl: &Netlink, cfg: &Config) -> Result<Vec<String>, PlanError> {
    let mut out = Vec::new();
    for spec in &cfg.instances {
        let Some(name) = &spec.use_vmac else { continue };
        let err = |source| PlanError::Netlink {
            instance: spec.name.clone(),
            source,
        };
        let parent = nl.link(&spec.interface).await.map_err(err)?;
        let mac = virtual_mac(spec.family(), spec.vrid);
        let vmac = nl.ensure_vmac(name, parent.index, mac).await.map_err(err)?;
        // Every node has the same VMAC: a backup's VMAC must stay silent, or
        // the bridge learns the virtual MAC on the wrong port. So no IPv6
        // link-local (hence no MLD / router solicitations) on it.
        let v6 = spec.family() == vigil_vrrp::Family::V6;
        for (path, value) in [
            (format!("ipv4/conf/{name}/arp_ignore"), "1"),
            (format!("ipv4/conf/{name}/accept_local"), "1"),
            (format!("ipv4/conf/{name}/rp_filter"), "0"),
            (format!("ipv4/conf/{}/arp_ignore", spec.interface), "1"),
            (format!("ipv4/conf/{}/arp_filter", spec.interface), "1"),
            // Replies leaving the parent with the VIP as source must not
            // announce the VIP with the parent's MAC in their ARP requests.
            (format!("ipv4/conf/{}/arp_announce", spec.interface), "2"),
            (format!("ipv6/conf/{name}/addr_gen_mode"), "1"),
            (
                format!("ipv6/conf/{name}/disable_ipv6"),
                if v6 { "0" } else { "1" },
            ),
        ] {
            let path = format!("/proc/sys/net/{path}");
            if let Err(e) = std::fs::write(&path, value) {
                tracing::warn!("VMAC {name}: cannot set {path} = {value}: {e}");
            }
        }
        nl.set_up(vmac.index).await.map_err(err)?;
        out.push(name.clone());
    }
    Ok(out)
}

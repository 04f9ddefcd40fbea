//! The effects worker: everything the engine decided that takes time —
//! netlink address changes, announcement bursts, notifications — carried
//! out in order, off the engine thread.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{info, warn};
use vigil_vrrp::Transition;

use super::plan::Vip;
use crate::net::announce::Announcer;
use crate::net::netlink::Netlink;

/// Work for the effects worker.
#[derive(Debug)]
pub enum Effect {
    /// Add an instance's virtual addresses.
    AddAddresses {
        /// Instance name (for logs).
        instance: String,
        /// Default interface.
        ifindex: u32,
        /// Addresses.
        vips: Vec<Vip>,
    },
    /// Remove them.
    RemoveAddresses {
        /// Instance name.
        instance: String,
        /// Default interface.
        ifindex: u32,
        /// Addresses.
        vips: Vec<Vip>,
        /// Clean-up of leftovers at start: don't log.
        quiet: bool,
    },
    /// Send gratuitous ARP / unsolicited NA.
    Announce {
        /// Interface name.
        iface: String,
        /// Its index.
        ifindex: u32,
        /// MAC to announce.
        mac: [u8; 6],
        /// Addresses.
        addresses: Vec<IpAddr>,
        /// Messages per address.
        repeat: u8,
        /// Spacing of ARPs.
        garp_interval: Duration,
        /// Spacing of NAs.
        gna_interval: Duration,
    },
    /// A state change, for the notifiers.
    Transition {
        /// Instance name.
        instance: String,
        /// What changed.
        transition: Transition,
    },
    /// Reply when everything before this has been done.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// Run the worker until the channel closes.
pub async fn run(
    nl: Netlink,
    mut rx: mpsc::UnboundedReceiver<Effect>,
    notify: mpsc::UnboundedSender<super::notify::HubMsg>,
) {
    let mut announcers: HashMap<(u32, [u8; 6]), Arc<Announcer>> = HashMap::new();
    let mut dev_index: HashMap<String, u32> = HashMap::new();
    while let Some(effect) = rx.recv().await {
        match effect {
            Effect::AddAddresses {
                instance,
                ifindex,
                vips,
            } => {
                for v in &vips {
                    let idx = resolve_dev(&nl, &mut dev_index, v, ifindex).await;
                    match nl
                        .add_address(
                            idx,
                            v.addr,
                            v.prefix_len,
                            v.label.as_deref(),
                            v.no_dad,
                            v.scope,
                        )
                        .await
                    {
                        Ok(()) => info!(%instance, vip = %v.addr, "virtual address added"),
                        Err(e) => warn!(%instance, "cannot add {}: {e}", v.addr),
                    }
                }
            }
            Effect::RemoveAddresses {
                instance,
                ifindex,
                vips,
                quiet,
            } => {
                for v in &vips {
                    let idx = resolve_dev(&nl, &mut dev_index, v, ifindex).await;
                    match nl.del_address(idx, v.addr, v.prefix_len).await {
                        Ok(()) if !quiet => {
                            info!(%instance, vip = %v.addr, "virtual address removed")
                        }
                        Ok(()) => {}
                        Err(e) => warn!(%instance, "cannot remove {}: {e}", v.addr),
                    }
                }
            }
            Effect::Announce {
                iface,
                ifindex,
                mac,
                addresses,
                repeat,
                garp_interval,
                gna_interval,
            } => {
                let a = match announcers.get(&(ifindex, mac)) {
                    Some(a) => a.clone(),
                    None => match Announcer::open(&iface, ifindex, mac, true, true) {
                        Ok(a) => {
                            let a = Arc::new(a);
                            announcers.insert((ifindex, mac), a.clone());
                            a
                        }
                        Err(e) => {
                            warn!(%iface, "cannot open announcement sockets: {e}");
                            continue;
                        }
                    },
                };
                // Bursts run concurrently so a long garp_interval never
                // delays the next address change.
                tokio::spawn(async move {
                    for round in 0..repeat {
                        for addr in &addresses {
                            if let Err(e) = a.announce(*addr) {
                                warn!(%iface, "announcing {addr}: {e}");
                            }
                            let gap = if addr.is_ipv4() {
                                garp_interval
                            } else {
                                gna_interval
                            };
                            if !gap.is_zero() && round + 1 < repeat {
                                tokio::time::sleep(gap).await;
                            }
                        }
                    }
                });
            }
            Effect::Transition {
                instance,
                transition,
            } => {
                let ev = super::notify::NotifyEvent::new(instance, transition);
                let _ = notify.send(super::notify::HubMsg::Event(ev));
            }
            Effect::Flush(reply) => {
                let _ = reply.send(());
            }
        }
    }
}

async fn resolve_dev(nl: &Netlink, cache: &mut HashMap<String, u32>, v: &Vip, default: u32) -> u32 {
    let Some(dev) = &v.dev else {
        return default;
    };
    if let Some(i) = cache.get(dev) {
        return *i;
    }
    match nl.link(dev).await {
        Ok(l) => {
            cache.insert(dev.clone(), l.index);
            l.index
        }
        Err(e) => {
            warn!(
                "virtual address {}: {e}; using the instance's interface",
                v.addr
            );
            default
        }
    }
}

//! The I/O side: a generic-netlink connection to the kernel's IPVS family, with one async
//! method per operation and a dump of the whole table.

use futures::StreamExt;
use genetlink::GenetlinkHandle;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_generic::GenlMessage;

use crate::genl::{dest_from_attrs, service_from_attrs, GenlError, IpvsCmd, IpvsMessage};
use crate::model::{Family, ServiceKey, Table};
use crate::reconcile::Op;

/// What can go wrong talking to the kernel.
#[derive(Debug, thiserror::Error)]
pub enum IpvsError {
    /// The netlink socket could not be opened.
    #[error("cannot open a generic netlink socket: {0}")]
    Open(#[source] std::io::Error),
    /// The family could not be resolved or the request not sent (no IPVS in this kernel?).
    #[error("IPVS generic netlink: {0}")]
    Genetlink(String),
    /// The kernel refused a request.
    #[error("{what}: the kernel said {errno} ({})", std::io::Error::from_raw_os_error(*.errno))]
    Kernel {
        /// What was asked.
        what: String,
        /// The positive errno.
        errno: i32,
    },
    /// A reply did not parse.
    #[error("malformed IPVS reply: {0}")]
    Decode(String),
    /// A reply parsed but made no sense for the model.
    #[error(transparent)]
    Model(#[from] GenlError),
}

/// A connection to IPVS. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Ipvs {
    handle: GenetlinkHandle,
}

impl Ipvs {
    /// Open a connection, driven by a task on the current tokio runtime.
    pub fn connect() -> Result<Ipvs, IpvsError> {
        let (conn, handle, _) = genetlink::new_connection().map_err(IpvsError::Open)?;
        tokio::spawn(conn);
        Ok(Ipvs { handle })
    }

    async fn request(
        &mut self,
        msg: IpvsMessage,
        dump: bool,
        what: impl Fn() -> String,
    ) -> Result<Vec<IpvsMessage>, IpvsError> {
        let mut nl = NetlinkMessage::from(GenlMessage::from_payload(msg));
        nl.header.flags = NLM_F_REQUEST | if dump { NLM_F_DUMP } else { NLM_F_ACK };
        let mut replies = self
            .handle
            .request(nl)
            .await
            .map_err(|e| IpvsError::Genetlink(e.to_string()))?;
        let mut out = Vec::new();
        while let Some(r) = replies.next().await {
            let r = r.map_err(|e| IpvsError::Decode(e.to_string()))?;
            match r.payload {
                NetlinkPayload::InnerMessage(g) => out.push(g.payload),
                NetlinkPayload::Error(e) => {
                    if let Some(code) = e.code {
                        return Err(IpvsError::Kernel {
                            what: what(),
                            errno: -code.get(),
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// Carry out one reconciler operation.
    pub async fn apply(&mut self, op: &Op) -> Result<(), IpvsError> {
        let (msg, what) = match op {
            Op::AddService(k, s) => (
                IpvsMessage::service_with_settings(IpvsCmd::NewService, k, s),
                format!("add service {k}"),
            ),
            Op::EditService(k, s) => (
                IpvsMessage::service_with_settings(IpvsCmd::SetService, k, s),
                format!("edit service {k}"),
            ),
            Op::DelService(k) => (
                IpvsMessage::service_only(IpvsCmd::DelService, k),
                format!("delete service {k}"),
            ),
            Op::AddDest(k, d, s) => (
                IpvsMessage::dest_with_settings(IpvsCmd::NewDest, k, d, s),
                format!("add real server {}:{} to {k}", d.addr, d.port),
            ),
            Op::EditDest(k, d, s) => (
                IpvsMessage::dest_with_settings(IpvsCmd::SetDest, k, d, s),
                format!("edit real server {}:{} of {k}", d.addr, d.port),
            ),
            Op::DelDest(k, d) => (
                IpvsMessage::del_dest(k, d),
                format!("delete real server {}:{} of {k}", d.addr, d.port),
            ),
        };
        self.request(msg, false, || what.clone()).await.map(drop)
    }

    /// The whole kernel table: every service, then the real servers of each.
    pub async fn dump(&mut self) -> Result<Table, IpvsError> {
        let services = self
            .request(
                IpvsMessage {
                    cmd: IpvsCmd::GetService,
                    attrs: Vec::new(),
                },
                true,
                || "dump services".into(),
            )
            .await?;
        let mut table = Table::new();
        for m in services {
            let Some(attrs) = m.service() else { continue };
            let (key, settings) = service_from_attrs(attrs)?;
            table.insert(key, (settings, Default::default()));
        }
        let keys: Vec<ServiceKey> = table.keys().cloned().collect();
        for key in keys {
            let family = match &key {
                ServiceKey::Inet { addr, .. } => Family::of(addr),
                ServiceKey::Fwmark { family, .. } => *family,
            };
            let dests = self
                .request(
                    IpvsMessage::service_only(IpvsCmd::GetDest, &key),
                    true,
                    || format!("dump real servers of {key}"),
                )
                .await?;
            let mut map = std::collections::BTreeMap::new();
            for m in dests {
                let Some(attrs) = m.dest() else { continue };
                let (k, s) = dest_from_attrs(attrs, family)?;
                map.insert(k, s);
            }
            if let Some(e) = table.get_mut(&key) {
                e.1 = map;
            }
        }
        Ok(table)
    }

    /// Delete every service (`ipvsadm -C`).
    pub async fn flush(&mut self) -> Result<(), IpvsError> {
        self.request(
            IpvsMessage {
                cmd: IpvsCmd::Flush,
                attrs: Vec::new(),
            },
            false,
            || "flush".into(),
        )
        .await
        .map(drop)
    }
}

//! Sans-IO reconciliation: the IPVS table Vigil wants vs the one the kernel has, in; the
//! minimal ordered list of operations that turns one into the other, out.
//!
//! Vigil touches only the services it owns (those it configured, now or before a reload):
//! anything else in the kernel table, added by hand or by another tool, is left alone. If
//! someone edits an owned service by hand, the next reconcile puts it back.
//!
//! Order of the operations: new services, service edits, new real servers, real-server edits,
//! real-server removals, service removals — so a service that changes its real servers keeps
//! at least the old ones until the new ones are in.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::model::{DestKey, DestSettings, ServiceKey, ServiceSettings, Table};

/// One netlink operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Op {
    /// `IPVS_CMD_NEW_SERVICE`.
    AddService(ServiceKey, ServiceSettings),
    /// `IPVS_CMD_SET_SERVICE`.
    EditService(ServiceKey, ServiceSettings),
    /// `IPVS_CMD_DEL_SERVICE` (the kernel removes its real servers with it).
    DelService(ServiceKey),
    /// `IPVS_CMD_NEW_DEST`.
    AddDest(ServiceKey, DestKey, DestSettings),
    /// `IPVS_CMD_SET_DEST`.
    EditDest(ServiceKey, DestKey, DestSettings),
    /// `IPVS_CMD_DEL_DEST`.
    DelDest(ServiceKey, DestKey),
}

/// The operations that make the owned part of `current` equal `desired`. `owned` are the
/// services Vigil may delete (its configured services, including those a reload dropped);
/// every service in `desired` is Vigil's by definition.
pub fn plan(desired: &Table, current: &Table, owned: &BTreeSet<ServiceKey>) -> Vec<Op> {
    let mut add_svc = Vec::new();
    let mut edit_svc = Vec::new();
    let mut add_dest = Vec::new();
    let mut edit_dest = Vec::new();
    let mut del_dest = Vec::new();
    let mut del_svc = Vec::new();
    for (key, (settings, dests)) in desired {
        match current.get(key) {
            None => {
                add_svc.push(Op::AddService(key.clone(), settings.clone()));
                for (d, ds) in dests {
                    add_dest.push(Op::AddDest(key.clone(), *d, ds.clone()));
                }
            }
            Some((cur_settings, cur_dests)) => {
                if cur_settings != settings {
                    edit_svc.push(Op::EditService(key.clone(), settings.clone()));
                }
                diff_dests(
                    key,
                    dests,
                    cur_dests,
                    &mut add_dest,
                    &mut edit_dest,
                    &mut del_dest,
                );
            }
        }
    }
    for key in current.keys() {
        if owned.contains(key) && !desired.contains_key(key) {
            del_svc.push(Op::DelService(key.clone()));
        }
    }
    let mut ops = add_svc;
    ops.extend(edit_svc);
    ops.extend(add_dest);
    ops.extend(edit_dest);
    ops.extend(del_dest);
    ops.extend(del_svc);
    ops
}

fn diff_dests(
    key: &ServiceKey,
    want: &BTreeMap<DestKey, DestSettings>,
    have: &BTreeMap<DestKey, DestSettings>,
    add: &mut Vec<Op>,
    edit: &mut Vec<Op>,
    del: &mut Vec<Op>,
) {
    for (d, ds) in want {
        match have.get(d) {
            None => add.push(Op::AddDest(key.clone(), *d, ds.clone())),
            Some(cur) if cur != ds => edit.push(Op::EditDest(key.clone(), *d, ds.clone())),
            Some(_) => {}
        }
    }
    for d in have.keys() {
        if !want.contains_key(d) {
            del.push(Op::DelDest(key.clone(), *d));
        }
    }
}

/// Why an operation does not apply to a table, as the kernel would refuse it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// EEXIST.
    #[error("{0} already exists")]
    Exists(String),
    /// ENOENT / ESRCH.
    #[error("{0} does not exist")]
    Missing(String),
}

/// Apply one operation to an in-memory table with the kernel's rules (used by tests and by
/// the daemon to track what it believes the kernel holds).
pub fn apply(table: &mut Table, op: &Op) -> Result<(), ApplyError> {
    match op {
        Op::AddService(k, s) => {
            if table.contains_key(k) {
                return Err(ApplyError::Exists(k.to_string()));
            }
            table.insert(k.clone(), (s.clone(), BTreeMap::new()));
        }
        Op::EditService(k, s) => match table.get_mut(k) {
            Some(e) => e.0 = s.clone(),
            None => return Err(ApplyError::Missing(k.to_string())),
        },
        Op::DelService(k) => {
            if table.remove(k).is_none() {
                return Err(ApplyError::Missing(k.to_string()));
            }
        }
        Op::AddDest(k, d, s) => {
            let e = table
                .get_mut(k)
                .ok_or_else(|| ApplyError::Missing(k.to_string()))?;
            if e.1.contains_key(d) {
                return Err(ApplyError::Exists(format!("{}:{} in {k}", d.addr, d.port)));
            }
            e.1.insert(*d, s.clone());
        }
        Op::EditDest(k, d, s) => {
            let e = table
                .get_mut(k)
                .ok_or_else(|| ApplyError::Missing(k.to_string()))?;
            match e.1.get_mut(d) {
                Some(cur) => *cur = s.clone(),
                None => return Err(ApplyError::Missing(format!("{}:{} in {k}", d.addr, d.port))),
            }
        }
        Op::DelDest(k, d) => {
            let e = table
                .get_mut(k)
                .ok_or_else(|| ApplyError::Missing(k.to_string()))?;
            if e.1.remove(d).is_none() {
                return Err(ApplyError::Missing(format!("{}:{} in {k}", d.addr, d.port)));
            }
        }
    }
    Ok(())
}

/// A real server as configured, with its health.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Real {
    /// Address and port.
    pub key: DestKey,
    /// Settings when healthy.
    pub settings: DestSettings,
    /// Its checks say it is up.
    pub healthy: bool,
}

/// A virtual server as configured (keepalived's `virtual_server`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualServer {
    /// The service.
    pub key: ServiceKey,
    /// Its settings.
    pub settings: ServiceSettings,
    /// Real servers.
    pub reals: Vec<Real>,
    /// Used when no real server is up (or the quorum is not met).
    pub sorry_server: Option<(DestKey, DestSettings)>,
    /// keepalived `inhibit_on_failure`: a failed real server stays with weight 0 (existing
    /// connections live on) instead of being removed.
    pub inhibit_on_failure: bool,
    /// keepalived `quorum`: the sum of healthy weights needed to serve (default 1).
    pub quorum: u32,
}

/// What the table should hold for `servers` given their health: healthy real servers with
/// their weight, failed ones removed (or at weight 0 with `inhibit_on_failure`), and the
/// sorry server in their place while the healthy weight is below the quorum.
pub fn desired(servers: &[VirtualServer]) -> Table {
    let mut t = Table::new();
    for vs in servers {
        let mut dests = BTreeMap::new();
        let mut up_weight: u64 = 0;
        for r in &vs.reals {
            if r.healthy {
                up_weight += u64::from(r.settings.weight);
                dests.insert(r.key, r.settings.clone());
            } else if vs.inhibit_on_failure {
                dests.insert(
                    r.key,
                    DestSettings {
                        weight: 0,
                        ..r.settings.clone()
                    },
                );
            }
        }
        if up_weight < u64::from(vs.quorum.max(1)) {
            if let Some((k, s)) = &vs.sorry_server {
                dests.insert(*k, s.clone());
            }
        }
        t.insert(vs.key.clone(), (vs.settings.clone(), dests));
    }
    t
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::net::{IpAddr, Ipv4Addr};

    use proptest::prelude::*;

    use super::*;
    use crate::model::{Family, Forward, Protocol, TunnelType};

    fn svc(n: u8) -> ServiceKey {
        if n % 5 == 4 {
            ServiceKey::Fwmark {
                family: Family::V4,
                mark: u32::from(n),
            }
        } else {
            ServiceKey::Inet {
                protocol: [Protocol::Tcp, Protocol::Udp, Protocol::Sctp][usize::from(n % 3)],
                addr: IpAddr::V4(Ipv4Addr::new(198, 51, 100, n)),
                port: 80,
            }
        }
    }

    fn settings(s: u8) -> ServiceSettings {
        ServiceSettings {
            scheduler: ["rr", "wrr", "wlc", "sh"][usize::from(s % 4)].into(),
            persistence: u32::from(s % 2) * 300,
            netmask: 32,
            sched_flags: 0,
        }
    }

    fn dest(n: u8) -> DestKey {
        DestKey {
            addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, n)),
            port: 8080,
        }
    }

    fn ds(w: u8) -> DestSettings {
        DestSettings {
            forward: [
                Forward::Nat,
                Forward::Route,
                Forward::Tunnel(TunnelType::Ipip),
                Forward::Tunnel(TunnelType::Gue(6080)),
            ][usize::from(w % 4)],
            weight: u32::from(w % 7),
            upper_threshold: 0,
            lower_threshold: 0,
        }
    }

    /// A small random table: service ids 0..8, dest ids 0..6.
    fn table() -> impl Strategy<Value = Table> {
        prop::collection::btree_map(
            0u8..8,
            (
                any::<u8>(),
                prop::collection::btree_map(0u8..6, any::<u8>(), 0..5),
            ),
            0..6,
        )
        .prop_map(|m| {
            m.into_iter()
                .map(|(k, (s, d))| {
                    (
                        svc(k),
                        (
                            settings(s),
                            d.into_iter().map(|(dk, w)| (dest(dk), ds(w))).collect(),
                        ),
                    )
                })
                .collect()
        })
    }

    proptest! {
        /// Any start, any desired state: after applying the plan, the owned part equals the
        /// desired state, foreign services are untouched, and a second plan is empty.
        #[test]
        fn converges_and_is_idempotent(current in table(), desired_t in table(), foreign in table()) {
            // Foreign services: those in `foreign` whose keys nobody else uses.
            let mut kernel = current.clone();
            let mut foreign_only = Table::new();
            for (k, v) in foreign {
                if !current.contains_key(&k) && !desired_t.contains_key(&k) {
                    kernel.insert(k.clone(), v.clone());
                    foreign_only.insert(k, v);
                }
            }
            let owned: BTreeSet<ServiceKey> =
                current.keys().chain(desired_t.keys()).cloned().collect();
            let ops = plan(&desired_t, &kernel, &owned);
            for op in &ops {
                apply(&mut kernel, op).unwrap();
            }
            let mine: Table = kernel.iter().filter(|(k, _)| owned.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
            prop_assert_eq!(&mine, &desired_t);
            for (k, v) in &foreign_only {
                prop_assert_eq!(kernel.get(k), Some(v));
            }
            prop_assert!(plan(&desired_t, &kernel, &owned).is_empty());
        }
    }

    #[test]
    fn one_server_change_is_one_operation() {
        // 1,000 services x 10 real servers; one weight changes: one SET_DEST, no rescan of
        // anything else in the output.
        let mut want = Table::new();
        for s in 0..1000u32 {
            let key = ServiceKey::Fwmark {
                family: Family::V4,
                mark: s + 1,
            };
            let dests = (0..10u8).map(|d| (dest(d), ds(1))).collect();
            want.insert(key, (settings(0), dests));
        }
        let have = want.clone();
        let owned = want.keys().cloned().collect();
        let key = ServiceKey::Fwmark {
            family: Family::V4,
            mark: 500,
        };
        if let Some(e) = want.get_mut(&key) {
            e.1.insert(dest(3), ds(2));
        }
        let ops = plan(&want, &have, &owned);
        assert_eq!(ops, [Op::EditDest(key, dest(3), ds(2))]);
    }

    #[test]
    fn order_adds_before_removals() {
        let k = svc(1);
        let have: Table = [(k.clone(), (settings(0), [(dest(1), ds(1))].into()))].into();
        let want: Table = [(k.clone(), (settings(1), [(dest(2), ds(1))].into()))].into();
        let owned = [k.clone()].into();
        let ops = plan(&want, &have, &owned);
        assert_eq!(
            ops,
            [
                Op::EditService(k.clone(), settings(1)),
                Op::AddDest(k.clone(), dest(2), ds(1)),
                Op::DelDest(k, dest(1)),
            ]
        );
    }

    #[test]
    fn health_decides_weights_sorry_server_and_quorum() {
        let real = |n: u8, w: u32, healthy: bool| Real {
            key: dest(n),
            settings: DestSettings { weight: w, ..ds(0) },
            healthy,
        };
        let mut vs = VirtualServer {
            key: svc(1),
            settings: settings(1),
            reals: vec![real(1, 3, true), real(2, 2, false)],
            sorry_server: Some((dest(99), ds(1))),
            inhibit_on_failure: false,
            quorum: 1,
        };
        let t = desired(std::slice::from_ref(&vs));
        let d = &t[&svc(1)].1;
        assert_eq!(
            d.keys().copied().collect::<Vec<_>>(),
            [dest(1)],
            "failed one removed"
        );
        vs.inhibit_on_failure = true;
        let t = desired(std::slice::from_ref(&vs));
        assert_eq!(t[&svc(1)].1[&dest(2)].weight, 0, "inhibit: weight 0");
        vs.quorum = 4; // 3 healthy < 4: the sorry server joins
        let t = desired(std::slice::from_ref(&vs));
        assert!(t[&svc(1)].1.contains_key(&dest(99)));
        vs.reals[0].healthy = false;
        vs.quorum = 1;
        vs.inhibit_on_failure = false;
        let t = desired(&[vs]);
        assert_eq!(t[&svc(1)].1.keys().copied().collect::<Vec<_>>(), [dest(99)]);
    }
}

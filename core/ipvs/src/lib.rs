//! # vigil-ipvs
//!
//! Linux IPVS (the kernel's layer-4 load balancer, LVS) for Vigil, written on the
//! rust-netlink stack because no registry crate implements the IPVS generic-netlink family.
//!
//! - [`model`]: virtual services and real servers (destinations) as plain data.
//! - [`reconcile`]: sans-IO — desired state vs the kernel's table in, the minimal ordered
//!   list of operations out.

pub mod genl;
pub mod handle;
pub mod model;
pub mod reconcile;

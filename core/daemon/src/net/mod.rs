//! The I/O shell's network pieces: VRRP sockets, announcements, netlink.

pub mod announce;
pub mod filter;
pub mod netlink;
pub mod sys;
pub mod vrrp_socket;

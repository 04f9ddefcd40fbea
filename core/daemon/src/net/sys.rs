//! The one place that builds a raw `sockaddr_ll`: socket2 has no safe
//! constructor for link-layer addresses, so this module holds the only
//! `unsafe` code of the daemon, small enough to audit at a glance.

use socket2::{SockAddr, SockAddrStorage};

/// A link-layer destination for an `AF_PACKET` socket: interface `ifindex`,
/// EtherType `protocol` (host order), hardware address `mac`.
#[allow(unsafe_code)]
pub fn packet_addr(ifindex: u32, protocol: u16, mac: [u8; 6]) -> SockAddr {
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: `SockAddrStorage` is a zeroed `sockaddr_storage`, which is large
    // enough and suitably aligned for every socket address type, including
    // `sockaddr_ll`; every field of `sockaddr_ll` is plain data.
    let ll: &mut libc::sockaddr_ll = unsafe { storage.view_as() };
    ll.sll_family = libc::AF_PACKET as libc::sa_family_t;
    ll.sll_protocol = protocol.to_be();
    ll.sll_ifindex = ifindex as libc::c_int;
    ll.sll_halen = 6;
    ll.sll_addr[..6].copy_from_slice(&mac);
    let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: the storage was initialised above as a `sockaddr_ll` of `len` bytes.
    unsafe { SockAddr::new(storage, len) }
}

/// Run the calling thread under `SCHED_FIFO` at `priority` (1..=99), so that
/// advert timing survives a machine saturated by ordinary processes.
#[allow(unsafe_code)]
pub fn set_realtime(priority: i32) -> std::io::Result<()> {
    let param = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: plain syscall on the calling thread (pid 0) with a valid,
    // initialised `sched_param`; it reads the struct and touches no memory of ours.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Make the calling thread's timers expire when asked: Linux otherwise lets
/// a sleeping thread's wake-up slip by up to 50 µs (the default timer slack)
/// to batch wake-ups, which shows up in every VRRP timer.
#[allow(unsafe_code)]
pub fn set_timer_slack(nanos: u64) -> std::io::Result<()> {
    let nanos = libc::c_ulong::try_from(nanos).unwrap_or(libc::c_ulong::MAX);
    // SAFETY: PR_SET_TIMERSLACK takes an integer argument and affects only the
    // calling thread; no memory is passed.
    let rc = unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, nanos, 0, 0, 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Register a socket with the tokio reactor.
#[allow(unsafe_code)]
pub fn async_socket(
    s: socket2::Socket,
) -> std::io::Result<tokio::io::unix::AsyncFd<socket2::Socket>> {
    // SAFETY: a `socket2::Socket` owns its descriptor: it stays open and is the
    // same descriptor for the Socket's whole life, which the AsyncFd takes over.
    unsafe { tokio::io::unix::AsyncFd::register(s) }.map_err(std::io::Error::from)
}

//! TCP connections and name resolution with real timeouts.
//!
//! Inside a component this talks to `wasi:sockets` directly (not `std::net`), so it
//! works on wasm32-wasip2 and on the wasm32-wasip1 + adapter route, where `std::net`
//! is unsupported. Every wait polls the socket together with a `wasi:clocks` timer,
//! so a peer that accepts but never answers ends in [`CheckError::Timeout`].
//! Natively (unit tests) the same API runs on `std::net`.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::{CheckError, Target};

/// Maps an I/O error from [`TcpStream`] (or any `std::io` code) onto a [`CheckError`].
pub fn io_error(e: io::Error) -> CheckError {
    match e.kind() {
        // Native sockets report an expired read timeout as WouldBlock on Unix.
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => CheckError::Timeout,
        io::ErrorKind::PermissionDenied => CheckError::Denied(e.to_string()),
        io::ErrorKind::ConnectionRefused => CheckError::ConnectionRefused(e.to_string()),
        _ => CheckError::Io(e.to_string()),
    }
}

/// Parses an IP literal, with or without IPv6 brackets.
fn ip_literal(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

/// Resolves `host` to its addresses. IP literals are returned as they are, without
/// a lookup (names need the `dns` capability).
pub fn resolve(host: &str) -> Result<Vec<IpAddr>, CheckError> {
    resolve_until(host, None)
}

fn resolve_until(host: &str, deadline: Option<sys::Deadline>) -> Result<Vec<IpAddr>, CheckError> {
    if let Some(ip) = ip_literal(host) {
        return Ok(vec![ip]);
    }
    if host.is_empty() {
        return Err(CheckError::NameResolution("empty host name".into()));
    }
    let addrs = sys::lookup(host, deadline)?;
    if addrs.is_empty() {
        return Err(CheckError::NameResolution(format!("{host}: no addresses")));
    }
    Ok(addrs)
}

/// A connected TCP stream. Reads and writes wait at most the stream's timeout (set
/// by `connect`, changed with [`TcpStream::set_timeout`]) and then fail with
/// `io::ErrorKind::TimedOut`; [`io_error`] turns that into [`CheckError::Timeout`].
///
/// Writes may be buffered by the host: call `flush()` after a request.
#[derive(Debug)]
pub struct TcpStream {
    inner: sys::Stream,
    peer: SocketAddr,
    timeout: Duration,
}

impl TcpStream {
    /// Connects to `host:port`, trying each resolved address in turn, within
    /// `timeout` overall (resolution included). The stream keeps `timeout` as its
    /// read/write timeout.
    pub fn connect(host: &str, port: u16, timeout: Duration) -> Result<Self, CheckError> {
        let deadline = sys::deadline(timeout);
        let mut last = CheckError::NameResolution(format!("{host}: no addresses"));
        for ip in resolve_until(host, Some(deadline))? {
            let peer = SocketAddr::new(ip, port);
            match sys::Stream::connect(peer, deadline) {
                Ok(inner) => {
                    let mut s = TcpStream {
                        inner,
                        peer,
                        timeout,
                    };
                    s.set_timeout(timeout);
                    return Ok(s);
                }
                Err(CheckError::Timeout) => return Err(CheckError::Timeout),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Connects to a check's target; `default_port` is used when the target names
    /// none (a target with neither is a bug the plugin should reject in `new`).
    pub fn connect_target(
        target: &Target,
        default_port: Option<u16>,
        timeout: Duration,
    ) -> Result<Self, CheckError> {
        let port = target.port.or(default_port).ok_or_else(|| {
            CheckError::Internal(format!(
                "target {} has no port and the plugin has no default",
                target.host
            ))
        })?;
        Self::connect(&target.host, port, timeout)
    }

    /// Sets the timeout of each later read, write and flush.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
        self.inner.set_timeout(timeout);
    }

    /// The current read/write timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The address actually connected to.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// Closes the sending half (the peer reads end-of-stream); reading still works.
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        self.inner.shutdown_write()
    }
}

impl io::Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl io::Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, format!("{what} timed out"))
}

#[cfg(target_arch = "wasm32")]
pub(crate) mod sys {
    //! `wasi:sockets` + `wasi:io/poll` + `wasi:clocks/monotonic-clock`.

    use std::io;
    use std::net::{IpAddr, SocketAddr};
    use std::time::Duration;

    use wasip2::clocks::monotonic_clock;
    use wasip2::io::poll::{poll, Pollable};
    use wasip2::io::streams::{InputStream, OutputStream, StreamError};
    use wasip2::sockets::instance_network::instance_network;
    use wasip2::sockets::ip_name_lookup::resolve_addresses;
    use wasip2::sockets::network::{
        ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress,
        Ipv6SocketAddress,
    };
    use wasip2::sockets::tcp::{ShutdownType, TcpSocket};
    use wasip2::sockets::tcp_create_socket::create_tcp_socket;

    use super::timed_out;
    use crate::CheckError;

    /// A monotonic-clock instant in nanoseconds.
    pub type Deadline = u64;

    pub fn deadline(timeout: Duration) -> Deadline {
        let ns = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        monotonic_clock::now().saturating_add(ns)
    }

    /// Blocks until `p` is ready or `deadline` passes; false on timeout.
    pub fn wait(p: &Pollable, deadline: Option<Deadline>) -> bool {
        match deadline {
            None => {
                p.block();
                true
            }
            Some(d) => {
                let timer = monotonic_clock::subscribe_instant(d);
                poll(&[p, &timer]).contains(&0)
            }
        }
    }

    /// Maps a socket error; `what` says which step and address failed.
    pub fn socket_error(code: ErrorCode, what: &str) -> CheckError {
        let msg = format!("{what}: {}", code.message());
        match code {
            ErrorCode::AccessDenied | ErrorCode::NotSupported => CheckError::Denied(format!(
                "{what}: access denied (not granted to this plugin)"
            )),
            ErrorCode::ConnectionRefused => CheckError::ConnectionRefused(msg),
            ErrorCode::Timeout => CheckError::Timeout,
            ErrorCode::NameUnresolvable
            | ErrorCode::TemporaryResolverFailure
            | ErrorCode::PermanentResolverFailure => CheckError::NameResolution(msg),
            _ => CheckError::Io(msg),
        }
    }

    pub fn lookup(host: &str, deadline: Option<Deadline>) -> Result<Vec<IpAddr>, CheckError> {
        let what = format!("resolve {host}");
        let stream =
            resolve_addresses(&instance_network(), host).map_err(|e| socket_error(e, &what))?;
        let pollable = stream.subscribe();
        let mut addrs = Vec::new();
        loop {
            match stream.resolve_next_address() {
                Ok(Some(IpAddress::Ipv4((a, b, c, d)))) => addrs.push(IpAddr::from([a, b, c, d])),
                Ok(Some(IpAddress::Ipv6((a, b, c, d, e, f, g, h)))) => {
                    addrs.push(IpAddr::from([a, b, c, d, e, f, g, h]))
                }
                Ok(None) => return Ok(addrs),
                Err(ErrorCode::WouldBlock) => {
                    if !wait(&pollable, deadline) {
                        return Err(CheckError::Timeout);
                    }
                }
                Err(e) => return Err(socket_error(e, &what)),
            }
        }
    }

    fn to_wasi(addr: SocketAddr) -> IpSocketAddress {
        match addr {
            SocketAddr::V4(a) => {
                let [o0, o1, o2, o3] = a.ip().octets();
                IpSocketAddress::Ipv4(Ipv4SocketAddress {
                    port: a.port(),
                    address: (o0, o1, o2, o3),
                })
            }
            SocketAddr::V6(a) => {
                let [s0, s1, s2, s3, s4, s5, s6, s7] = a.ip().segments();
                IpSocketAddress::Ipv6(Ipv6SocketAddress {
                    port: a.port(),
                    flow_info: a.flowinfo(),
                    address: (s0, s1, s2, s3, s4, s5, s6, s7),
                    scope_id: a.scope_id(),
                })
            }
        }
    }

    /// Maps a stream error, using the socket error code when the host gives one.
    fn stream_error(e: StreamError, what: &str) -> io::Error {
        match e {
            StreamError::Closed => {
                io::Error::new(io::ErrorKind::BrokenPipe, format!("{what}: stream closed"))
            }
            StreamError::LastOperationFailed(err) => {
                // WASI 0.2.12 has no accessor for a socket error code on a stream
                // error; the host's description is all there is.
                let text = err.to_debug_string();
                let lower = text.to_ascii_lowercase();
                let kind = if lower.contains("reset") {
                    io::ErrorKind::ConnectionReset
                } else if lower.contains("refused") {
                    io::ErrorKind::ConnectionRefused
                } else if lower.contains("timed out") || lower.contains("timeout") {
                    io::ErrorKind::TimedOut
                } else if lower.contains("denied") || lower.contains("permission") {
                    io::ErrorKind::PermissionDenied
                } else {
                    io::ErrorKind::Other
                };
                io::Error::new(kind, format!("{what}: {text}"))
            }
        }
    }

    /// Field order is drop order: the streams are children of the socket and must
    /// go first.
    #[derive(Debug)]
    pub struct Stream {
        input: InputStream,
        output: OutputStream,
        socket: TcpSocket,
        timeout: Option<Duration>,
    }

    impl Stream {
        pub fn connect(peer: SocketAddr, deadline: Deadline) -> Result<Self, CheckError> {
            let what = format!("connect to {peer}");
            let family = if peer.is_ipv4() {
                IpAddressFamily::Ipv4
            } else {
                IpAddressFamily::Ipv6
            };
            let socket = create_tcp_socket(family).map_err(|e| socket_error(e, &what))?;
            socket
                .start_connect(&instance_network(), to_wasi(peer))
                .map_err(|e| socket_error(e, &what))?;
            let pollable = socket.subscribe();
            let (input, output) = loop {
                match socket.finish_connect() {
                    Ok(streams) => break streams,
                    Err(ErrorCode::WouldBlock) => {
                        if !wait(&pollable, Some(deadline)) {
                            return Err(CheckError::Timeout);
                        }
                    }
                    Err(e) => return Err(socket_error(e, &what)),
                }
            };
            drop(pollable);
            Ok(Stream {
                input,
                output,
                socket,
                timeout: None,
            })
        }

        pub fn set_timeout(&mut self, timeout: Duration) {
            self.timeout = Some(timeout);
        }

        fn op_deadline(&self) -> Option<Deadline> {
            self.timeout.map(deadline)
        }

        pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if buf.is_empty() {
                return Ok(0);
            }
            let deadline = self.op_deadline();
            loop {
                match self.input.read(buf.len() as u64) {
                    Ok(data) if data.is_empty() => {
                        if !wait(&self.input.subscribe(), deadline) {
                            return Err(timed_out("read"));
                        }
                    }
                    Ok(data) => {
                        let n = data.len().min(buf.len());
                        buf[..n].copy_from_slice(&data[..n]);
                        return Ok(n);
                    }
                    Err(StreamError::Closed) => return Ok(0),
                    Err(e) => return Err(stream_error(e, "read")),
                }
            }
        }

        /// Waits for room in the output buffer, returning how many bytes fit.
        fn writable(&mut self, deadline: Option<Deadline>, what: &str) -> io::Result<usize> {
            loop {
                match self.output.check_write() {
                    Ok(0) => {
                        if !wait(&self.output.subscribe(), deadline) {
                            return Err(timed_out(what));
                        }
                    }
                    Ok(n) => return Ok(usize::try_from(n).unwrap_or(usize::MAX)),
                    Err(e) => return Err(stream_error(e, what)),
                }
            }
        }

        pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if buf.is_empty() {
                return Ok(0);
            }
            let n = self.writable(self.op_deadline(), "write")?.min(buf.len());
            self.output
                .write(&buf[..n])
                .map_err(|e| stream_error(e, "write"))?;
            Ok(n)
        }

        pub fn flush(&mut self) -> io::Result<()> {
            let deadline = self.op_deadline();
            self.output.flush().map_err(|e| stream_error(e, "flush"))?;
            // The stream accepts writes again once the flush has completed.
            self.writable(deadline, "flush").map(|_| ())
        }

        pub fn shutdown_write(&mut self) -> io::Result<()> {
            self.socket
                .shutdown(ShutdownType::Send)
                .map_err(|e| io::Error::other(format!("shutdown: {}", e.message())))
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod sys {
    //! `std::net`, so plugins can exercise their I/O in native tests.

    use std::io::{self, Read, Write};
    use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
    use std::time::{Duration, Instant};

    use super::io_error;
    use crate::CheckError;

    pub type Deadline = Instant;

    pub fn deadline(timeout: Duration) -> Deadline {
        Instant::now() + timeout
    }

    pub fn lookup(host: &str, _deadline: Option<Deadline>) -> Result<Vec<IpAddr>, CheckError> {
        let addrs = (host, 0)
            .to_socket_addrs()
            .map_err(|e| CheckError::NameResolution(format!("resolve {host}: {e}")))?;
        Ok(addrs.map(|a| a.ip()).collect())
    }

    #[derive(Debug)]
    pub struct Stream(std::net::TcpStream);

    /// Native sockets report an expired timeout as WouldBlock on Unix.
    fn timeouts(e: io::Error, what: &str) -> io::Error {
        if e.kind() == io::ErrorKind::WouldBlock {
            super::timed_out(what)
        } else {
            e
        }
    }

    impl Stream {
        pub fn connect(peer: SocketAddr, deadline: Deadline) -> Result<Self, CheckError> {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(CheckError::Timeout);
            }
            std::net::TcpStream::connect_timeout(&peer, left)
                .map(Stream)
                .map_err(|e| match io_error(e) {
                    CheckError::Io(m) => CheckError::Io(format!("connect to {peer}: {m}")),
                    CheckError::ConnectionRefused(m) => {
                        CheckError::ConnectionRefused(format!("connect to {peer}: {m}"))
                    }
                    other => other,
                })
        }

        pub fn set_timeout(&mut self, timeout: Duration) {
            // Zero means "no timeout" to std; keep a tiny one instead.
            let t = Some(timeout.max(Duration::from_millis(1)));
            // Setting a non-zero timeout cannot fail.
            let _ = self.0.set_read_timeout(t);
            let _ = self.0.set_write_timeout(t);
        }

        pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0.read(buf).map_err(|e| timeouts(e, "read"))
        }

        pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.write(buf).map_err(|e| timeouts(e, "write"))
        }

        pub fn flush(&mut self) -> io::Result<()> {
            self.0.flush()
        }

        pub fn shutdown_write(&mut self) -> io::Result<()> {
            self.0.shutdown(std::net::Shutdown::Write)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::time::Instant;

    use super::*;

    #[test]
    fn literals_resolve_without_lookup() {
        assert_eq!(
            resolve("192.0.2.1").unwrap(),
            vec![IpAddr::from([192, 0, 2, 1])]
        );
        assert_eq!(
            resolve("[::1]").unwrap(),
            vec!["::1".parse::<IpAddr>().unwrap()]
        );
        assert!(matches!(resolve(""), Err(CheckError::NameResolution(_))));
    }

    #[test]
    fn io_errors_map_to_check_errors() {
        let e = |k| io_error(io::Error::new(k, "x"));
        assert_eq!(e(io::ErrorKind::TimedOut), CheckError::Timeout);
        assert!(matches!(
            e(io::ErrorKind::PermissionDenied),
            CheckError::Denied(_)
        ));
        assert!(matches!(
            e(io::ErrorKind::ConnectionRefused),
            CheckError::ConnectionRefused(_)
        ));
        assert!(matches!(e(io::ErrorKind::UnexpectedEof), CheckError::Io(_)));
    }

    #[test]
    fn echo_and_read_timeout() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut b = [0u8; 4];
            s.read_exact(&mut b).unwrap();
            s.write_all(&b).unwrap();
            // Then stay silent until the client gives up.
            let _ = s.read(&mut b);
        });
        let t = Target {
            host: "127.0.0.1".into(),
            port: None,
        };
        let mut s = TcpStream::connect_target(&t, Some(port), Duration::from_secs(2)).unwrap();
        assert_eq!(s.peer_addr().port(), port);
        s.write_all(b"ping").unwrap();
        s.flush().unwrap();
        let mut b = [0u8; 4];
        s.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"ping");
        s.set_timeout(Duration::from_millis(200));
        let start = Instant::now();
        let e = s.read(&mut b).unwrap_err();
        assert_eq!(io_error(e), CheckError::Timeout);
        assert!(start.elapsed() < Duration::from_secs(2));
        drop(s);
        server.join().unwrap();
    }

    #[test]
    fn refused_and_missing_port() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = TcpStream::connect("127.0.0.1", port, Duration::from_secs(2)).unwrap_err();
        assert!(matches!(e, CheckError::ConnectionRefused(_)), "{e:?}");
        let t = Target {
            host: "127.0.0.1".into(),
            port: None,
        };
        let e = TcpStream::connect_target(&t, None, Duration::from_secs(1)).unwrap_err();
        assert!(matches!(e, CheckError::Internal(_)));
    }
}

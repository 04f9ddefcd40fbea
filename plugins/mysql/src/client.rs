//! A minimal blocking MySQL client over any byte stream: log in, run text queries,
//! quit. Generic over the transport so the same code runs inside the plugin (over
//! `vigil_sdk::net::TcpStream`) and in native tests (over `std::net::TcpStream` or a
//! scripted in-memory peer).

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use crate::protocol::{
    self, AuthReply, Handshake, Login, QueryStart, ResultSet, WireError, NATIVE_PASSWORD,
};

/// Largest logical packet or resultset this client accepts: a health-check query
/// returns a few small rows, so anything bigger is a misconfiguration or a hostile
/// peer, and must not make the sandbox run out of memory.
pub const MAX_RESPONSE_BYTES: usize = 4 << 20;

/// A stream whose reads and writes can be bounded in time.
pub trait Transport: Read + Write {
    fn set_io_timeout(&mut self, timeout: Duration) -> io::Result<()>;
}

impl Transport for std::net::TcpStream {
    fn set_io_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(timeout))?;
        self.set_write_timeout(Some(timeout))
    }
}

/// Why talking to the server failed.
#[derive(Debug)]
pub enum Error {
    /// The check's deadline passed.
    Timeout,
    /// The connection failed; `during` says what the client was doing.
    Io {
        during: &'static str,
        source: io::Error,
    },
    /// The server sent bytes this client cannot use, or an ERR packet.
    Wire(WireError),
    /// The account needs an authentication plugin this client does not speak.
    UnsupportedAuth(String),
}

impl From<WireError> for Error {
    fn from(e: WireError) -> Self {
        Error::Wire(e)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Timeout => f.write_str("timed out"),
            Error::Io { during, source } if source.kind() == io::ErrorKind::UnexpectedEof => {
                write!(f, "server closed the connection while {during}")
            }
            Error::Io { during, source } => write!(f, "{during}: {source}"),
            Error::Wire(e) => e.fmt(f),
            Error::UnsupportedAuth(plugin) => write!(f, "{}", unsupported_auth_message(plugin)),
        }
    }
}

fn unsupported_auth_message(plugin: &str) -> String {
    format!(
        "the server asks for authentication plugin '{plugin}', which this check does not \
         support; give the check's user the mysql_native_password plugin"
    )
}

/// One connection: the stream, the packet sequence id and the check's deadline.
#[derive(Debug)]
pub struct Conn<S> {
    stream: S,
    seq: u8,
    deadline: Instant,
}

impl<S: Transport> Conn<S> {
    /// Wraps a connected stream; every read and write must finish by `deadline`.
    pub fn new(stream: S, deadline: Instant) -> Self {
        Conn {
            stream,
            seq: 0,
            deadline,
        }
    }

    fn arm(&mut self, during: &'static str) -> Result<(), Error> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Timeout);
        }
        self.stream
            .set_io_timeout(left)
            .map_err(|source| Error::Io { during, source })
    }

    fn io_err(during: &'static str, source: io::Error) -> Error {
        match source.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::Timeout,
            _ => Error::Io { during, source },
        }
    }

    fn read_exact(&mut self, buf: &mut [u8], during: &'static str) -> Result<(), Error> {
        self.arm(during)?;
        self.stream
            .read_exact(buf)
            .map_err(|e| Self::io_err(during, e))
    }

    /// Reads one logical packet (joining continuation packets) and checks its
    /// sequence id.
    pub fn read_packet(&mut self, during: &'static str) -> Result<Vec<u8>, Error> {
        let mut payload = Vec::new();
        loop {
            let mut header = [0u8; 4];
            self.read_exact(&mut header, during)?;
            let len =
                usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
            if header[3] != self.seq {
                return Err(WireError::Malformed(format!(
                    "packets out of order while {during}: expected sequence id {}, got {}",
                    self.seq, header[3]
                ))
                .into());
            }
            self.seq = self.seq.wrapping_add(1);
            if payload.len() + len > MAX_RESPONSE_BYTES {
                return Err(WireError::Malformed(format!(
                    "server sent a packet over {} MiB while {during}",
                    MAX_RESPONSE_BYTES >> 20
                ))
                .into());
            }
            let start = payload.len();
            payload.resize(start + len, 0);
            self.read_exact(&mut payload[start..], during)?;
            if len < protocol::MAX_PAYLOAD {
                return Ok(payload);
            }
        }
    }

    /// Writes one logical packet with the next sequence id.
    pub fn write_packet(&mut self, payload: &[u8], during: &'static str) -> Result<(), Error> {
        let (bytes, next) = protocol::encode_packet(self.seq, payload);
        self.seq = next;
        self.arm(during)?;
        self.stream
            .write_all(&bytes)
            .and_then(|()| self.stream.flush())
            .map_err(|e| Self::io_err(during, e))
    }

    /// Reads the greeting and authenticates with `mysql_native_password`, following
    /// an AuthSwitchRequest to it; any other plugin is reported as unsupported.
    pub fn login(&mut self, login: &Login<'_>) -> Result<Handshake, Error> {
        self.seq = 0;
        let greeting = self.read_packet("reading the server greeting")?;
        let hs = protocol::parse_handshake(&greeting)?;
        let response = protocol::handshake_response(&hs, login)?;
        self.write_packet(&response, "sending the login")?;
        // Servers switch plugins at most once; the bound guards against a peer that
        // keeps asking.
        for _ in 0..4 {
            let reply = self.read_packet("authenticating")?;
            match protocol::parse_auth_reply(&reply)? {
                AuthReply::Ok => return Ok(hs),
                AuthReply::Switch { plugin, data } if plugin == NATIVE_PASSWORD => {
                    let auth = protocol::scramble_native(login.password.as_bytes(), &data);
                    self.write_packet(&auth, "answering the auth switch")?;
                }
                AuthReply::Switch { plugin, .. } => return Err(Error::UnsupportedAuth(plugin)),
                AuthReply::MoreData(_) => {
                    // Only caching_sha2_password and friends send this, and we never
                    // agreed to them.
                    return Err(Error::UnsupportedAuth(
                        hs.auth_plugin
                            .clone()
                            .unwrap_or_else(|| "unknown".to_string()),
                    ));
                }
            }
        }
        Err(WireError::Malformed("authentication did not finish after 4 rounds".into()).into())
    }

    /// Runs `sql` with COM_QUERY and returns its (first) text resultset; statements
    /// without rows give an empty one. Further result sets (from `CALL`) are read and
    /// dropped so the connection stays in sync.
    pub fn query(&mut self, sql: &str) -> Result<ResultSet, Error> {
        self.seq = 0;
        self.write_packet(&protocol::com_query(sql), "sending the query")?;
        let mut first: Option<ResultSet> = None;
        let mut total = 0usize;
        // A stored procedure may return several result sets; bound how many we read.
        for _ in 0..64 {
            let (rs, status) = self.read_result(&mut total)?;
            if first.is_none() {
                first = Some(rs);
            }
            if status & protocol::SERVER_MORE_RESULTS_EXISTS == 0 {
                return Ok(first.unwrap_or_default());
            }
        }
        Err(WireError::Malformed("more than 64 result sets for one query".into()).into())
    }

    fn read_result(&mut self, total: &mut usize) -> Result<(ResultSet, u16), Error> {
        const DURING: &str = "reading the query result";
        let start = self.read_packet(DURING)?;
        let ncols = match protocol::parse_query_start(&start)? {
            QueryStart::Ok { status } => return Ok((ResultSet::default(), status)),
            QueryStart::Columns(n) => n,
        };
        let mut rs = ResultSet::default();
        for _ in 0..ncols {
            let def = self.read_packet(DURING)?;
            *total += def.len();
            rs.columns.push(protocol::parse_column_name(&def)?);
        }
        let eof = self.read_packet(DURING)?;
        if !protocol::is_eof(&eof) {
            return Err(WireError::Malformed("missing EOF after column definitions".into()).into());
        }
        loop {
            let pkt = self.read_packet(DURING)?;
            if protocol::is_eof(&pkt) {
                return Ok((rs, protocol::status_flags(&pkt)?));
            }
            if pkt.first() == Some(&0xff) {
                return Err(protocol::err_packet(&pkt).into());
            }
            *total += pkt.len();
            if *total > MAX_RESPONSE_BYTES {
                return Err(WireError::Malformed(format!(
                    "query result over {} MiB; a health-check query should return a few rows",
                    MAX_RESPONSE_BYTES >> 20
                ))
                .into());
            }
            rs.rows.push(protocol::parse_text_row(&pkt, ncols)?);
        }
    }

    /// Sends COM_QUIT so the server logs a clean disconnect instead of "aborted
    /// connection"; failures are ignored because the verdict is already known.
    pub fn quit(mut self) {
        self.seq = 0;
        let _ = self.write_packet(&protocol::COM_QUIT, "quitting");
    }
}

/// A scripted in-memory server for unit tests (here and in the plugin glue).
#[cfg(test)]
pub(crate) mod scripted {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::protocol::put_lenenc_int;

    /// An in-memory server: replies are pre-scripted, writes are recorded.
    #[derive(Debug, Default)]
    pub(crate) struct Scripted {
        pub(crate) input: io::Cursor<Vec<u8>>,
        pub(crate) written: Vec<u8>,
    }

    impl Read for Scripted {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.input.read(buf)
        }
    }
    impl Write for Scripted {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl Transport for Scripted {
        fn set_io_timeout(&mut self, _: Duration) -> io::Result<()> {
            Ok(())
        }
    }

    pub(crate) fn script(packets: &[(u8, Vec<u8>)]) -> Conn<Scripted> {
        let mut input = Vec::new();
        for (seq, p) in packets {
            input.extend(protocol::encode_packet(*seq, p).0);
        }
        Conn::new(
            Scripted {
                input: io::Cursor::new(input),
                written: Vec::new(),
            },
            Instant::now() + Duration::from_secs(5),
        )
    }

    pub(crate) fn greeting(plugin: &str) -> Vec<u8> {
        let mut p = vec![10];
        p.extend_from_slice(b"8.0.36\0");
        p.extend_from_slice(&7u32.to_le_bytes());
        p.extend_from_slice(b"abcdefgh\0");
        p.extend_from_slice(&0xffffu16.to_le_bytes());
        p.push(255);
        p.extend_from_slice(&2u16.to_le_bytes());
        p.extend_from_slice(&0xdfffu16.to_le_bytes());
        p.push(21);
        p.extend_from_slice(&[0; 10]);
        p.extend_from_slice(b"ijklmnopqrst\0");
        p.extend_from_slice(plugin.as_bytes());
        p.push(0);
        p
    }

    pub(crate) fn login() -> Login<'static> {
        Login {
            user: "vigil",
            password: "secret",
            database: None,
        }
    }

    pub(crate) const OK: [u8; 7] = [0, 0, 0, 2, 0, 0, 0];

    pub(crate) fn col(name: &str) -> Vec<u8> {
        let mut p = Vec::new();
        for s in ["def", "", "", "", name, ""] {
            put_lenenc_int(&mut p, s.len() as u64);
            p.extend_from_slice(s.as_bytes());
        }
        p.extend_from_slice(&[0x0c, 0x21, 0, 0, 1, 0, 0, 0xfd, 0, 0, 0, 0, 0]);
        p
    }

    pub(crate) fn row(values: &[Option<&str>]) -> Vec<u8> {
        let mut p = Vec::new();
        for v in values {
            match v {
                Some(s) => {
                    put_lenenc_int(&mut p, s.len() as u64);
                    p.extend_from_slice(s.as_bytes());
                }
                None => p.push(0xfb),
            }
        }
        p
    }

    pub(crate) const EOF: [u8; 5] = [0xfe, 0, 0, 2, 0];
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::scripted::*;
    use super::*;

    #[test]
    fn logs_in_directly() {
        let mut c = script(&[(0, greeting(NATIVE_PASSWORD)), (2, OK.to_vec())]);
        let hs = c.login(&login()).unwrap();
        assert_eq!(hs.server_version, "8.0.36");
        // Our response went out with sequence id 1.
        assert_eq!(c.stream.written[3], 1);
    }

    #[test]
    fn follows_switch_to_native_password() {
        let mut switch = vec![0xfe];
        switch.extend_from_slice(b"mysql_native_password\0ABCDEFGHIJKLMNOPQRST\0");
        let mut c = script(&[
            (0, greeting("caching_sha2_password")),
            (2, switch),
            (4, OK.to_vec()),
        ]);
        c.login(&login()).unwrap();
        // The switch answer: 20-byte scramble over the new nonce, sequence id 3.
        let w = &c.stream.written;
        let first_len = usize::from(w[0]) + 4;
        let answer = &w[first_len..];
        assert_eq!(&answer[..4], &[20, 0, 0, 3]);
        assert_eq!(
            &answer[4..],
            protocol::scramble_native(b"secret", b"ABCDEFGHIJKLMNOPQRST").as_slice()
        );
    }

    #[test]
    fn reports_unsupported_plugin() {
        let mut switch = vec![0xfe];
        switch.extend_from_slice(b"caching_sha2_password\0nonce\0");
        let mut c = script(&[(0, greeting("caching_sha2_password")), (2, switch)]);
        let e = c.login(&login()).unwrap_err();
        assert!(matches!(&e, Error::UnsupportedAuth(p) if p == "caching_sha2_password"));
        assert!(e.to_string().contains("mysql_native_password"));
    }

    #[test]
    fn access_denied_is_a_server_error() {
        let mut err = vec![0xff, 0x15, 0x04, b'#'];
        err.extend_from_slice(
            b"28000Access denied for user 'vigil'@'localhost' (using password: YES)",
        );
        let mut c = script(&[(0, greeting(NATIVE_PASSWORD)), (2, err)]);
        let e = c.login(&login()).unwrap_err();
        match e {
            Error::Wire(WireError::Server(s)) => {
                assert_eq!(s.code, 1045);
                assert!(s.message.starts_with("Access denied for user 'vigil'"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn out_of_order_sequence_is_rejected() {
        let mut c = script(&[(0, greeting(NATIVE_PASSWORD)), (5, OK.to_vec())]);
        let e = c.login(&login()).unwrap_err();
        assert!(e.to_string().contains("out of order"), "{e}");
    }

    #[test]
    fn eof_mid_packet_is_an_io_error() {
        let mut c = script(&[(0, greeting(NATIVE_PASSWORD))]);
        c.stream.input.get_mut().truncate(20);
        let e = c.read_packet("reading the server greeting").unwrap_err();
        assert_eq!(
            e.to_string(),
            "server closed the connection while reading the server greeting"
        );
    }

    #[test]
    fn reads_text_resultset() {
        let mut c = script(&[
            (1, vec![2]),
            (2, col("Slave_IO_Running")),
            (3, col("Seconds_Behind_Master")),
            (4, EOF.to_vec()),
            (5, row(&[Some("Yes"), None])),
            (6, row(&[Some("No"), Some("12")])),
            (7, EOF.to_vec()),
        ]);
        let rs = c.query("SHOW SLAVE STATUS").unwrap();
        assert_eq!(
            rs.columns,
            vec!["Slave_IO_Running", "Seconds_Behind_Master"]
        );
        assert_eq!(rs.rows.len(), 2);
        assert_eq!(rs.rows[1][1].as_deref(), Some("12"));
        // The query packet: sequence 0, COM_QUERY.
        let w = &c.stream.written;
        assert_eq!(&w[3..5], &[0, 0x03]);
        assert_eq!(&w[5..], b"SHOW SLAVE STATUS");
    }

    #[test]
    fn drains_extra_result_sets() {
        let more = [0xfe, 0, 0, 0x0a, 0];
        let mut c = script(&[
            (1, vec![1]),
            (2, col("a")),
            (3, EOF.to_vec()),
            (4, row(&[Some("1")])),
            (5, more.to_vec()),
            (6, OK.to_vec()),
        ]);
        let rs = c.query("CALL p()").unwrap();
        assert_eq!(rs.rows, vec![vec![Some("1".to_string())]]);
        assert_eq!(
            c.stream.input.position() as usize,
            c.stream.input.get_ref().len()
        );
    }

    #[test]
    fn query_error_and_no_rows() {
        let mut err = vec![0xff, 0x28, 0x04, b'#'];
        err.extend_from_slice(b"42000You have an error in your SQL syntax");
        let mut c = script(&[(1, err)]);
        match c.query("SHOW REPLICA STATUS").unwrap_err() {
            Error::Wire(WireError::Server(s)) => assert_eq!(s.code, protocol::ER_PARSE_ERROR),
            other => panic!("{other:?}"),
        }
        let mut c = script(&[(1, OK.to_vec())]);
        assert_eq!(c.query("DO 1").unwrap(), ResultSet::default());
    }

    #[test]
    fn expired_deadline_is_a_timeout() {
        let mut c = script(&[(0, greeting(NATIVE_PASSWORD))]);
        c.deadline = Instant::now();
        assert!(matches!(c.login(&login()), Err(Error::Timeout)));
    }

    #[test]
    fn oversized_packet_is_refused_before_allocating() {
        let mut c = script(&[]);
        // Only a header announcing 16 MiB: refused before the body is read.
        c.stream.input = io::Cursor::new(vec![0xff, 0xff, 0xff, 0]);
        let e = c.read_packet("reading").unwrap_err();
        assert!(e.to_string().contains("over 4 MiB"), "{e}");
    }
}

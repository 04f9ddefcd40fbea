//! HTTP(S) requests through `wasi:http/outgoing-handler`.
//!
//! The host makes the connection (and does TLS for `https`), and only to the
//! authorities the operator granted; a refused request is [`CheckError::Denied`].
//! Redirects are not followed: a check sees the status the server sent.
//! Outside a component `send` supports plain `http` over `std::net`, so plugins can
//! test against a local server natively.

use std::time::Duration;

use crate::CheckError;

/// The overall timeout of a request outside a Vigil call (natively); inside one,
/// a request without [`Request::timeout`] gets the call's I/O budget
/// ([`crate::io_budget`] of [`crate::check_timeout`] or
/// [`crate::notify_timeout`]).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

fn default_timeout() -> Duration {
    crate::check_timeout()
        .or_else(crate::notify_timeout)
        .map_or(DEFAULT_TIMEOUT, crate::io_budget)
}
/// The default cap on the response body kept in memory (1 MiB).
pub const DEFAULT_MAX_BODY: usize = 1 << 20;

/// An HTTP request under construction.
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    timeout: Duration,
    max_body: usize,
}

impl Request {
    fn new(method: &str, url: &str) -> Self {
        Request {
            method: method.to_owned(),
            url: url.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: default_timeout(),
            max_body: DEFAULT_MAX_BODY,
        }
    }

    /// A `GET` of `url` (`http://host[:port]/path?query` or `https://...`).
    pub fn get(url: &str) -> Self {
        Self::new("GET", url)
    }

    /// A `POST` to `url`.
    pub fn post(url: &str) -> Self {
        Self::new("POST", url)
    }

    /// Replaces the method (`HEAD`, `PUT`, or any token).
    pub fn method(mut self, method: &str) -> Self {
        method.clone_into(&mut self.method);
        self
    }

    /// Adds a header. `Content-Length` is set automatically for a body.
    ///
    /// `Host` (once) sends a virtual host instead of the URL's authority
    /// (keepalived's `virtualhost`): the connection still goes to the URL's
    /// authority, which is what the operator grants, and with `https` TLS (SNI
    /// and the certificate name checked) also follows the authority, not the
    /// `Host` header. Older Vigil hosts forbid `Host`: [`CheckError::Denied`].
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the request body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The deadline for the whole exchange: connect, send, response and body
    /// (default: the call's I/O budget, see [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Keeps at most `n` body bytes (the rest is not read); see [`Response::truncated`].
    pub fn max_body(mut self, n: usize) -> Self {
        self.max_body = n;
        self
    }

    /// Sends the request and reads the response.
    pub fn send(self) -> Result<Response, CheckError> {
        let url = Url::parse(&self.url)
            .map_err(|e| CheckError::Internal(format!("invalid URL {:?}: {e}", self.url)))?;
        let hosts = self
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("host"))
            .count();
        if hosts > 1 {
            return Err(CheckError::Internal(
                "more than one Host header: a request names one virtual host".into(),
            ));
        }
        sys::send(&self, &url)
    }
}

/// A response, with its body read (up to the request's `max_body`).
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    /// Header names are lowercase, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text; invalid UTF-8 is replaced, not an error.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Whether the body was cut at `max_body` bytes, as far as `Content-Length` tells.
    pub fn truncated(&self) -> bool {
        self.header("content-length")
            .and_then(|l| l.trim().parse::<usize>().ok())
            .is_some_and(|l| l > self.body.len())
    }
}

/// The URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

/// A parsed `http(s)://authority/path?query` URL (no user info, no fragment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub scheme: Scheme,
    /// `host[:port]` as written (IPv6 hosts in brackets).
    pub authority: String,
    /// The host without brackets.
    pub host: String,
    /// The port, explicit or the scheme's default.
    pub port: u16,
    /// Always starts with `/`.
    pub path_with_query: String,
}

impl Url {
    /// Parses an absolute `http` or `https` URL.
    pub fn parse(url: &str) -> Result<Url, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or("missing scheme (http:// or https://)")?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            other => return Err(format!("unsupported scheme {other:?}")),
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err("user info in URLs is not supported; use an Authorization header".into());
        }
        let default_port = if scheme == Scheme::Https { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or("unclosed [ in host")?;
            match after.strip_prefix(':') {
                Some(p) => (host, parse_port(p)?),
                None if after.is_empty() => (host, default_port),
                None => return Err(format!("junk after IPv6 host: {after:?}")),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, parse_port(p)?),
                None => (authority, default_port),
            }
        };
        if host.is_empty() {
            return Err("missing host".into());
        }
        let path_with_query = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_owned()
        };
        Ok(Url {
            scheme,
            authority: authority.to_owned(),
            host: host.to_owned(),
            port,
            path_with_query,
        })
    }
}

/// Validates a virtual host for the `Host` header (keepalived's `virtualhost`):
/// `name`, `name:port`, an IPv4 literal or a bracketed IPv6 literal, optionally
/// with a port. Plugins call it in `new`, so a bad value is a config error
/// rather than a refused request at every check.
pub fn validate_virtual_host(vhost: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("{vhost:?} is not a host[:port]: {why}"));
    if vhost.is_empty() {
        return bad("empty");
    }
    let (host, port) = if let Some(v6) = vhost.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return bad("unclosed [");
        };
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return bad("not an IPv6 address in brackets");
        }
        match after {
            "" => (None, None),
            _ => match after.strip_prefix(':') {
                Some(p) => (None, Some(p)),
                None => return bad("junk after ]"),
            },
        }
    } else {
        match vhost.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(vhost), None),
        }
    };
    if let Some(p) = port {
        if p.parse::<u16>().is_err() {
            return bad("invalid port");
        }
    }
    if let Some(h) = host {
        // RFC 3986 reg-name characters, without percent-encoding.
        let ok = |c: char| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=".contains(c);
        if h.is_empty() || !h.chars().all(ok) {
            return bad("a host name has letters, digits, '-' and '.'");
        }
    }
    Ok(())
}

fn parse_port(p: &str) -> Result<u16, String> {
    p.parse().map_err(|_| format!("invalid port {p:?}"))
}

#[cfg(target_arch = "wasm32")]
mod sys {
    //! `wasi:http/outgoing-handler`, with every wait bounded by the request deadline.

    use wasip2::http::outgoing_handler;
    use wasip2::http::types::{
        self as http, ErrorCode, Fields, HeaderError, IncomingBody, Method, OutgoingBody,
        OutgoingRequest, RequestOptions,
    };
    use wasip2::io::streams::{InputStream, OutputStream, StreamError};

    use super::{Request, Response, Scheme, Url};
    use crate::net::sys::{deadline, wait, Deadline};
    use crate::CheckError;

    fn http_error(code: ErrorCode, authority: &str) -> CheckError {
        use ErrorCode as E;
        match code {
            E::HttpRequestDenied | E::DestinationIpProhibited => CheckError::Denied(format!(
                "HTTP request to {authority} denied (not granted to this plugin)"
            )),
            E::DnsTimeout
            | E::ConnectionTimeout
            | E::ConnectionReadTimeout
            | E::ConnectionWriteTimeout
            | E::HttpResponseTimeout => CheckError::Timeout,
            E::ConnectionRefused => {
                CheckError::ConnectionRefused(format!("{authority}: connection refused"))
            }
            E::DnsError(p) => CheckError::NameResolution(format!(
                "{authority}: DNS error {}",
                p.rcode.unwrap_or_default()
            )),
            E::DestinationNotFound => CheckError::NameResolution(format!("{authority}: not found")),
            E::TlsProtocolError | E::TlsCertificateError | E::TlsAlertReceived(_) => {
                CheckError::Io(format!("{authority}: TLS: {code:?}"))
            }
            E::HttpProtocolError
            | E::HttpResponseIncomplete
            | E::HttpResponseHeaderSectionSize(_)
            | E::HttpResponseHeaderSize(_)
            | E::HttpResponseBodySize(_)
            | E::HttpResponseTrailerSectionSize(_)
            | E::HttpResponseTrailerSize(_)
            | E::HttpResponseTransferCoding(_)
            | E::HttpResponseContentCoding(_)
            | E::HttpUpgradeFailed => CheckError::Protocol(format!("{authority}: {code:?}")),
            E::HttpRequestUriInvalid
            | E::HttpRequestMethodInvalid
            | E::HttpRequestUriTooLong
            | E::HttpRequestHeaderSectionSize(_)
            | E::HttpRequestHeaderSize(_)
            | E::ConfigurationError => CheckError::Internal(format!("{authority}: {code:?}")),
            E::InternalError(Some(m)) => CheckError::Io(format!("{authority}: {m}")),
            other => CheckError::Io(format!("{authority}: {other:?}")),
        }
    }

    fn stream_error(e: StreamError, authority: &str, what: &str) -> CheckError {
        match e {
            StreamError::Closed => CheckError::Io(format!("{authority}: {what}: stream closed")),
            StreamError::LastOperationFailed(err) => match http::http_error_code(&err) {
                Some(code) => http_error(code, authority),
                None => CheckError::Io(format!("{authority}: {what}: {}", err.to_debug_string())),
            },
        }
    }

    fn method(m: &str) -> Method {
        match m.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "CONNECT" => Method::Connect,
            "OPTIONS" => Method::Options,
            "TRACE" => Method::Trace,
            "PATCH" => Method::Patch,
            _ => Method::Other(m.to_owned()),
        }
    }

    fn headers(req: &Request) -> Result<Fields, CheckError> {
        let fields = Fields::new();
        for (name, value) in &req.headers {
            fields.append(name, value.as_bytes()).map_err(|e| match e {
                HeaderError::Forbidden => CheckError::Denied(format!(
                    "the host does not let plugins set the {name} header"
                )),
                _ => CheckError::Internal(format!("invalid header {name}: {value:?}")),
            })?;
        }
        let has_length = req
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-length"));
        if !req.body.is_empty() && !has_length {
            fields
                .append("content-length", req.body.len().to_string().as_bytes())
                .map_err(|_| CheckError::Internal("cannot set content-length".into()))?;
        }
        Ok(fields)
    }

    fn write_all(
        out: &OutputStream,
        mut data: &[u8],
        deadline: Deadline,
        authority: &str,
    ) -> Result<(), CheckError> {
        let err = |e| stream_error(e, authority, "sending the body");
        while !data.is_empty() {
            let n = out.check_write().map_err(err)?;
            if n == 0 {
                if !wait(&out.subscribe(), Some(deadline)) {
                    return Err(CheckError::Timeout);
                }
                continue;
            }
            let n = usize::try_from(n).unwrap_or(usize::MAX).min(data.len());
            out.write(&data[..n]).map_err(err)?;
            data = &data[n..];
        }
        // Closed once everything is written means the receiver has it all (it
        // stops reading at Content-Length).
        match out.flush() {
            Ok(()) => {}
            Err(StreamError::Closed) => return Ok(()),
            Err(e) => return Err(err(e)),
        }
        loop {
            match out.check_write() {
                Ok(0) => {
                    if !wait(&out.subscribe(), Some(deadline)) {
                        return Err(CheckError::Timeout);
                    }
                }
                Ok(_) | Err(StreamError::Closed) => return Ok(()),
                Err(e) => return Err(err(e)),
            }
        }
    }

    fn read_body(
        input: &InputStream,
        max: usize,
        deadline: Deadline,
        authority: &str,
    ) -> Result<Vec<u8>, CheckError> {
        let mut body = Vec::new();
        while body.len() < max {
            let want = (max - body.len()).min(64 * 1024) as u64;
            match input.read(want) {
                Ok(chunk) if chunk.is_empty() => {
                    if !wait(&input.subscribe(), Some(deadline)) {
                        return Err(CheckError::Timeout);
                    }
                }
                Ok(chunk) => body.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(e) => return Err(stream_error(e, authority, "reading the body")),
            }
        }
        Ok(body)
    }

    pub fn send(req: &Request, url: &Url) -> Result<Response, CheckError> {
        let authority = url.authority.as_str();
        let internal = |what: &str| CheckError::Internal(format!("{authority}: cannot set {what}"));
        let deadline = deadline(req.timeout);

        let request = OutgoingRequest::new(headers(req)?);
        request
            .set_method(&method(&req.method))
            .map_err(|()| internal("the method"))?;
        let scheme = match url.scheme {
            Scheme::Http => http::Scheme::Http,
            Scheme::Https => http::Scheme::Https,
        };
        request
            .set_scheme(Some(&scheme))
            .map_err(|()| internal("the scheme"))?;
        request
            .set_authority(Some(authority))
            .map_err(|()| internal("the authority"))?;
        request
            .set_path_with_query(Some(&url.path_with_query))
            .map_err(|()| internal("the path"))?;
        let body = request.body().map_err(|()| internal("the body"))?;

        // The host's own timeouts, where it supports them; the deadline below is ours.
        let options = RequestOptions::new();
        let ns = u64::try_from(req.timeout.as_nanos()).unwrap_or(u64::MAX);
        let _ = options.set_connect_timeout(Some(ns));
        let _ = options.set_first_byte_timeout(Some(ns));
        let _ = options.set_between_bytes_timeout(Some(ns));

        let future = outgoing_handler::handle(request, Some(options))
            .map_err(|e| http_error(e, authority))?;
        // A server may answer before it has read the whole body (or a refused
        // request closes the body stream): then the response future decides.
        let mut early = None;
        if !req.body.is_empty() {
            let out = body.write().map_err(|()| internal("the body stream"))?;
            if let Err(e) = write_all(&out, &req.body, deadline, authority) {
                drop(out);
                let mut result = future.get();
                if result.is_none() && wait(&future.subscribe(), Some(deadline)) {
                    result = future.get();
                }
                match result {
                    Some(Ok(Ok(response))) => early = Some(response),
                    Some(Ok(Err(code))) => return Err(http_error(code, authority)),
                    _ => return Err(e),
                }
            }
        }
        let response = match early {
            Some(response) => {
                drop(body);
                response
            }
            None => {
                OutgoingBody::finish(body, None).map_err(|e| http_error(e, authority))?;
                loop {
                    match future.get() {
                        Some(Ok(Ok(response))) => break response,
                        Some(Ok(Err(code))) => return Err(http_error(code, authority)),
                        Some(Err(())) => {
                            return Err(CheckError::Internal(format!(
                                "{authority}: response taken twice"
                            )))
                        }
                        None => {
                            if !wait(&future.subscribe(), Some(deadline)) {
                                return Err(CheckError::Timeout);
                            }
                        }
                    }
                }
            }
        };
        let status = response.status();
        let headers = response
            .headers()
            .entries()
            .into_iter()
            .map(|(k, v)| {
                (
                    k.to_ascii_lowercase(),
                    String::from_utf8_lossy(&v).into_owned(),
                )
            })
            .collect();
        let incoming = response
            .consume()
            .map_err(|()| internal("the response body"))?;
        let input = incoming
            .stream()
            .map_err(|()| internal("the response body stream"))?;
        let body = read_body(&input, req.max_body, deadline, authority)?;
        drop(input);
        // Trailers are not needed; dropping the future discards them.
        drop(IncomingBody::finish(incoming));
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod sys {
    //! A minimal HTTP/1.1 client over `std::net` for native tests (no TLS).

    use std::io::{Read, Write};
    use std::time::Instant;

    use super::{Request, Response, Scheme, Url};
    use crate::net::{io_error, TcpStream};
    use crate::CheckError;

    pub fn send(req: &Request, url: &Url) -> Result<Response, CheckError> {
        if url.scheme == Scheme::Https {
            return Err(CheckError::Internal(
                "https needs the Vigil host (wasi:http); native tests support http only".into(),
            ));
        }
        let start = Instant::now();
        let mut s = TcpStream::connect(&url.host, url.port, req.timeout)?;
        s.set_timeout(req.timeout.saturating_sub(start.elapsed()));
        let mut head = format!("{} {} HTTP/1.1\r\n", req.method, url.path_with_query);
        if !req
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("host"))
        {
            head.push_str(&format!("host: {}\r\n", url.authority));
        }
        for (k, v) in &req.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if !req.body.is_empty()
            && !req
                .headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        {
            head.push_str(&format!("content-length: {}\r\n", req.body.len()));
        }
        head.push_str("connection: close\r\n\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(&req.body);
        s.write_all(&out)
            .and_then(|()| s.flush())
            .map_err(io_error)?;

        let mut raw = Vec::new();
        let limit = req.max_body.saturating_add(64 * 1024);
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = s.read(&mut buf).map_err(io_error)?;
            if n == 0 || raw.len() > limit {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
        }
        parse_response(&raw, &req.method, req.max_body)
    }

    fn protocol(msg: &str) -> CheckError {
        CheckError::Protocol(msg.into())
    }

    /// Parses a whole `Connection: close` response.
    pub fn parse_response(
        raw: &[u8],
        method: &str,
        max_body: usize,
    ) -> Result<Response, CheckError> {
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| protocol("incomplete response head"))?;
        let head = String::from_utf8_lossy(&raw[..end]);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| protocol("bad status line"))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let mut body = raw[end + 4..].to_vec();
        let no_body = method.eq_ignore_ascii_case("HEAD")
            || status / 100 == 1
            || status == 204
            || status == 304;
        let header = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
        };
        if no_body {
            body.clear();
        } else if header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
            body = dechunk(&body)?;
        } else if let Some(len) = header("content-length").and_then(|l| l.parse::<usize>().ok()) {
            body.truncate(len);
        }
        body.truncate(max_body);
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, CheckError> {
        let mut out = Vec::new();
        loop {
            let eol = data
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or_else(|| protocol("bad chunk"))?;
            let size_text = String::from_utf8_lossy(&data[..eol]);
            let size_hex = size_text.split(';').next().unwrap_or_default().trim();
            let size =
                usize::from_str_radix(size_hex, 16).map_err(|_| protocol("bad chunk size"))?;
            data = &data[eol + 2..];
            if size == 0 {
                return Ok(out);
            }
            let chunk = data
                .get(..size)
                .ok_or_else(|| protocol("truncated chunk"))?;
            out.extend_from_slice(chunk);
            data = data.get(size + 2..).unwrap_or_default();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let u = Url::parse("http://192.0.2.1:8080/health?x=1").unwrap();
        assert_eq!(
            (
                u.scheme,
                u.authority.as_str(),
                u.host.as_str(),
                u.port,
                u.path_with_query.as_str()
            ),
            (
                Scheme::Http,
                "192.0.2.1:8080",
                "192.0.2.1",
                8080,
                "/health?x=1"
            )
        );
        let u = Url::parse("HTTPS://[2001:db8::1]").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path_with_query.as_str()),
            ("2001:db8::1", 443, "/")
        );
        let u = Url::parse("http://example.com?q#frag").unwrap();
        assert_eq!((u.port, u.path_with_query.as_str()), (80, "/?q"));
        for bad in [
            "example.com/",
            "ftp://x/",
            "http:///x",
            "http://h:99999/",
            "http://u@h/",
            "http://[::1/",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn virtual_hosts() {
        for ok in [
            "www.example.com",
            "www.example.com:8080",
            "localhost",
            "192.0.2.1",
            "192.0.2.1:80",
            "[2001:db8::1]",
            "[2001:db8::1]:443",
            "under_score.example",
        ] {
            assert_eq!(validate_virtual_host(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "a b",
            "a/b",
            "user@host",
            "host:",
            "host:port",
            "host:99999",
            ":80",
            "[::1",
            "[nope]",
            "[::1]x",
            "a\r\nX-Evil: 1",
            "2001:db8::1",
        ] {
            assert!(validate_virtual_host(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn response_helpers() {
        let r = Response {
            status: 200,
            headers: vec![
                ("content-type".into(), "text/plain".into()),
                ("content-length".into(), "10".into()),
            ],
            body: b"ab\xffc".to_vec(),
        };
        assert_eq!(r.header("Content-Type"), Some("text/plain"));
        assert_eq!(r.header("x"), None);
        assert_eq!(r.text(), "ab\u{fffd}c");
        assert!(r.truncated());
    }

    #[test]
    fn native_client_parses_responses() {
        let r = sys::parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
            "GET",
            100,
        )
        .unwrap();
        assert_eq!(
            (r.status, r.body.as_slice(), r.header("x-a")),
            (200, &b"abcde"[..], Some("b"))
        );
        let r = sys::parse_response(
            b"HTTP/1.0 404 Not Found\r\nContent-Length: 2\r\n\r\nnoextra",
            "GET",
            100,
        )
        .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (404, &b"no"[..]));
        let r = sys::parse_response(b"HTTP/1.1 200 OK\r\n\r\nabcdef", "GET", 3).unwrap();
        assert_eq!(r.body, b"abc");
        assert!(sys::parse_response(b"garbage", "GET", 3).is_err());
    }

    #[test]
    fn native_round_trip() {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut req = Vec::new();
            let mut b = [0u8; 1024];
            while !req.windows(6).any(|w| w == b"\r\n\r\nhi") {
                let n = s.read(&mut b).unwrap();
                req.extend_from_slice(&b[..n]);
            }
            s.write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
                .unwrap();
            String::from_utf8(req).unwrap()
        });
        let r = Request::post(&format!("http://127.0.0.1:{port}/x"))
            .header("X-Token", "t")
            .body("hi")
            .timeout(Duration::from_secs(5))
            .send()
            .unwrap();
        assert_eq!((r.status, r.text().as_str()), (201, "ok"));
        let req = server.join().unwrap();
        assert!(req.starts_with("POST /x HTTP/1.1\r\n"), "{req}");
        assert!(
            req.contains("X-Token: t\r\n") && req.contains("content-length: 2\r\n"),
            "{req}"
        );
    }

    #[test]
    fn virtual_host_replaces_the_authority_once() {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut req = Vec::new();
            let mut b = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut b).unwrap();
                req.extend_from_slice(&b[..n]);
            }
            s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
            String::from_utf8(req).unwrap()
        });
        let r = Request::get(&format!("http://127.0.0.1:{port}/"))
            .header("Host", "www.example.com")
            .timeout(Duration::from_secs(5))
            .send()
            .unwrap();
        assert_eq!(r.status, 204);
        let req = server.join().unwrap();
        let hosts: Vec<&str> = req
            .lines()
            .filter(|l| l.to_ascii_lowercase().starts_with("host:"))
            .collect();
        assert_eq!(hosts, ["Host: www.example.com"], "{req}");

        let e = Request::get(&format!("http://127.0.0.1:{port}/"))
            .header("host", "a.example")
            .header("Host", "b.example")
            .send()
            .unwrap_err();
        assert!(
            matches!(&e, CheckError::Internal(m) if m.contains("more than one Host")),
            "{e:?}"
        );
    }
}

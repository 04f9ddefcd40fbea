//! Per-instance store state: the WASI context built from [`Grants`], the HTTP
//! policy, resource limits, and the bounded buffers that collect what a plugin
//! logs and prints.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{
    ForbiddenHeaderFilter, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView,
    DEFAULT_FORBIDDEN_HEADERS,
};

use crate::bindings::{check::vigil::plugin::log, check::vigil::plugin::types, WitLevel};
use crate::grants::{AuthorityRule, Grants};
use crate::types::LogLevel;

/// Bytes of stdout + stderr kept per call; the rest is counted and dropped.
pub(crate) const OUTPUT_LIMIT: usize = 64 * 1024;
/// `log` messages kept per call, and the length each is cut to.
pub(crate) const LOG_ENTRIES: usize = 256;
pub(crate) const LOG_MESSAGE_LIMIT: usize = 4096;
/// Host-side resources (streams, sockets, HTTP handles) one instance may hold.
const MAX_RESOURCES: usize = 1024;

/// The environment variable that tells a health-check instance its check's
/// timeout, in whole milliseconds (see `wit/vigil-plugin.wit`).
pub const CHECK_TIMEOUT_ENV: &str = "VIGIL_CHECK_TIMEOUT_MS";
/// The same for a notifier instance: its notifier's timeout in milliseconds.
pub const NOTIFY_TIMEOUT_ENV: &str = "VIGIL_NOTIFY_TIMEOUT_MS";

/// What an instance is created for, which decides the deadline it is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// `plugin.info` on a throw-away instance: no deadline variable.
    Info,
    /// A configured check with its timeout ([`CHECK_TIMEOUT_ENV`]).
    Check(Duration),
    /// A configured notifier with its timeout ([`NOTIFY_TIMEOUT_ENV`]).
    Notify(Duration),
}

/// An instance's environment: the variables the operator granted, plus the
/// call's own deadline. The host's deadline variable always wins over a
/// granted variable of the same name (a plugin must be able to trust it), and
/// it reveals nothing but the plugin's own timeout.
pub(crate) fn plugin_env(granted: &[(String, String)], call: Call) -> Vec<(String, String)> {
    let ours = match call {
        Call::Info => None,
        Call::Check(t) => Some((CHECK_TIMEOUT_ENV, t)),
        Call::Notify(t) => Some((NOTIFY_TIMEOUT_ENV, t)),
    };
    let reserved = |k: &str| k == CHECK_TIMEOUT_ENV || k == NOTIFY_TIMEOUT_ENV;
    let mut env: Vec<(String, String)> = granted
        .iter()
        .filter(|(k, _)| !reserved(k))
        .cloned()
        .collect();
    if let Some((name, timeout)) = ours {
        // Whole milliseconds, at least 1: a plugin divides it, never waits on 0.
        let ms = timeout.as_millis().max(1);
        env.push((name.to_owned(), ms.to_string()));
    }
    env
}

/// Names attached to every tracing event of one instance.
#[derive(Debug, Clone)]
pub(crate) struct Labels {
    pub plugin: Arc<str>,
    pub check: Arc<str>,
}

/// The `T` of `Store<T>` for every plugin instance.
pub(crate) struct StoreState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: HttpPolicy,
    table: ResourceTable,
    pub(crate) limiter: Limiter,
    pub(crate) output: Capture,
    pub(crate) logs: Vec<(LogLevel, String)>,
    pub(crate) logs_dropped: usize,
    pub(crate) labels: Labels,
    /// Epoch ticks of guest execution left in the current call.
    pub(crate) ticks_left: u64,
}

impl std::fmt::Debug for StoreState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreState")
            .field("labels", &self.labels)
            .finish_non_exhaustive()
    }
}

impl StoreState {
    /// Builds the sandbox for one instance: nothing inherited from the host, no
    /// preopened directories, empty stdin, stdout/stderr captured, network only
    /// as granted. The environment is the granted variables plus the call's
    /// deadline ([`plugin_env`]).
    pub(crate) fn new(grants: &Grants, call: Call, memory_limit: usize, labels: Labels) -> Self {
        let output = Capture::new(OUTPUT_LIMIT);
        let mut b = WasiCtx::builder();
        b.stdout(output.clone()).stderr(output.clone());
        b.envs(&plugin_env(&grants.env, call));
        let tcp = !grants.connect.is_empty();
        let udp = tcp && grants.udp;
        b.allow_tcp(tcp)
            .allow_udp(udp)
            .allow_ip_name_lookup(grants.dns);
        let rules: Arc<[crate::grants::SocketRule]> = grants.connect.clone().into();
        b.socket_addr_check(move |addr, use_| {
            let ok = match use_ {
                // Connecting binds implicitly to the wildcard address first.
                SocketAddrUse::TcpBind => tcp && addr.ip().is_unspecified() && addr.port() == 0,
                SocketAddrUse::UdpBind => udp && addr.ip().is_unspecified() && addr.port() == 0,
                SocketAddrUse::TcpConnect => tcp && rules.iter().any(|r| r.matches(addr)),
                SocketAddrUse::UdpSend | SocketAddrUse::UdpReceive => {
                    udp && rules.iter().any(|r| r.matches(addr))
                }
                // A health check never serves anything.
                SocketAddrUse::TcpListen | SocketAddrUse::TcpAccept => false,
            };
            Box::pin(async move { ok })
        });
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_RESOURCES);
        StoreState {
            wasi: b.build(),
            http: WasiHttpCtx::new(),
            hooks: HttpPolicy {
                rules: grants.http.clone().into(),
                labels: labels.clone(),
            },
            table,
            limiter: Limiter::new(memory_limit),
            output,
            logs: Vec::new(),
            logs_dropped: 0,
            labels,
            ticks_left: 0,
        }
    }

    /// Takes what the plugin logged and printed since the last call.
    pub(crate) fn drain(&mut self) -> (Vec<(LogLevel, String)>, String) {
        let mut logs = std::mem::take(&mut self.logs);
        if self.logs_dropped > 0 {
            logs.push((
                LogLevel::Warn,
                format!("[{} more log messages dropped]", self.logs_dropped),
            ));
            self.logs_dropped = 0;
        }
        let output = self.output.take();
        if !output.is_empty() {
            for line in output.lines() {
                tracing::debug!(plugin = %self.labels.plugin, check = %self.labels.check, "output: {line}");
            }
        }
        (logs, output)
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for StoreState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl types::Host for StoreState {}

impl log::Host for StoreState {
    fn log(&mut self, level: WitLevel, message: String) {
        let level = LogLevel::from(level);
        let mut message = message;
        truncate_utf8(&mut message, LOG_MESSAGE_LIMIT);
        let (p, c) = (&*self.labels.plugin, &*self.labels.check);
        match level {
            LogLevel::Trace => tracing::trace!(plugin = p, check = c, "{message}"),
            LogLevel::Debug => tracing::debug!(plugin = p, check = c, "{message}"),
            LogLevel::Info => tracing::info!(plugin = p, check = c, "{message}"),
            LogLevel::Warn => tracing::warn!(plugin = p, check = c, "{message}"),
            LogLevel::Error => tracing::error!(plugin = p, check = c, "{message}"),
        }
        if self.logs.len() < LOG_ENTRIES {
            self.logs.push((level, message));
        } else {
            self.logs_dropped += 1;
        }
    }
}

fn truncate_utf8(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
}

/// `wasi:http` policy: only granted authorities; the host connects for the
/// plugin, so `socket_addr_check` does not apply to HTTP.
///
/// Plugins may set the `Host` header (virtual hosts, keepalived's
/// `virtualhost`), which wasmtime-wasi-http forbids by default. That is safe
/// because the grant is checked against the request's URI authority, and the
/// connection (and TLS name) follows that authority, never the header; the
/// header only tells the granted server which of its sites is meant. Exactly
/// one `Host` reaches the server: wasmtime's own copy of the authority is
/// turned off ([`WasiHttpHooks::set_host_header`]) and [`host_header`] adds
/// it only when the plugin set none, and refuses a request with several or a
/// malformed one. Every other default-forbidden header (`Connection`,
/// `Transfer-Encoding`, `Upgrade`, `Proxy-Authorization`, ...) stays forbidden.
struct HttpPolicy {
    rules: Arc<[AuthorityRule]>,
    labels: Labels,
}

/// Headers a plugin may not set: wasmtime-wasi-http's defaults except `Host`.
fn forbidden_header(name: &http::HeaderName) -> bool {
    *name != http::header::HOST && DEFAULT_FORBIDDEN_HEADERS.contains(name)
}

/// Leaves exactly one valid `Host` header on `request`: the plugin's own (a
/// virtual host), or else the URI authority, as wasmtime would have set it.
/// Several `Host` headers, or one that is not a `host[:port]`, are refused.
fn host_header<B>(request: &mut http::Request<B>) -> Result<(), String> {
    let headers = request.headers();
    let mut values = headers.get_all(http::header::HOST).iter();
    match (values.next(), values.next()) {
        (None, _) => {
            let authority = request
                .uri()
                .authority()
                .ok_or("the request has no authority")?;
            let value = http::HeaderValue::from_str(authority.as_str())
                .map_err(|e| format!("authority {authority} as a Host header: {e}"))?;
            request.headers_mut().insert(http::header::HOST, value);
            Ok(())
        }
        (Some(v), None) => {
            let text = v
                .to_str()
                .map_err(|_| "the Host header is not visible ASCII".to_owned())?;
            // `Authority` also takes user info and a non-numeric port; a
            // Host header is `host[:port]` (RFC 9110 §7.2).
            let valid = !text.contains('@')
                && text.parse::<http::uri::Authority>().is_ok_and(|a| {
                    let host = a.host();
                    !host.is_empty()
                        && text.get(host.len()..).is_some_and(|rest| {
                            rest.is_empty()
                                || rest
                                    .strip_prefix(':')
                                    .is_some_and(|p| p.parse::<u16>().is_ok())
                        })
                });
            if valid {
                Ok(())
            } else {
                Err(format!(
                    "invalid Host header {text:?}: expected host[:port]"
                ))
            }
        }
        (Some(_), Some(_)) => Err("more than one Host header".into()),
    }
}

type SendFuture = Box<
    dyn std::future::Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<wasmtime_wasi_http::WasiBody>,
                Box<dyn std::future::Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for HttpPolicy {
    fn is_forbidden_header(&mut self, name: &http::HeaderName) -> bool {
        forbidden_header(name)
    }

    fn forbidden_header_filter(&mut self) -> ForbiddenHeaderFilter {
        Arc::new(forbidden_header)
    }

    /// Off: `send_request` sets `Host` itself (see [`host_header`]), so a
    /// plugin's virtual host does not end up next to the authority.
    fn set_host_header(&mut self) -> bool {
        false
    }

    fn send_request(
        &mut self,
        mut request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn std::future::Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> SendFuture {
        let uri = request.uri();
        let tls = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        // The grant is checked against the URI authority, which is also where
        // `default_send_request` connects; the Host header plays no part.
        let allowed = uri.authority().is_some_and(|a| {
            let port = a.port_u16().unwrap_or(if tls { 443 } else { 80 });
            self.rules.iter().any(|r| r.matches(a.host(), port))
        });
        if !allowed {
            tracing::debug!(
                plugin = %self.labels.plugin,
                check = %self.labels.check,
                uri = %uri,
                "HTTP request denied: authority not granted"
            );
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        if let Err(why) = host_header(&mut request) {
            tracing::debug!(
                plugin = %self.labels.plugin,
                check = %self.labels.check,
                uri = %request.uri(),
                "HTTP request refused: {why}"
            );
            return Box::new(
                async move { Err(wasmtime_wasi_http::Error::InternalError(Some(why))) },
            );
        }
        Box::new(async move {
            use http_body_util::BodyExt;
            let (res, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                res.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn std::future::Future<Output = _> + Send>,
            ))
        })
    }
}

/// Wraps [`StoreLimits`] and remembers whether it refused to grow a memory, so
/// the resulting trap (usually `unreachable` after the guest's allocator gives
/// up) is reported as the memory limit it really is.
pub(crate) struct Limiter {
    inner: StoreLimits,
    pub(crate) memory_limit: usize,
    pub(crate) memory_refused: bool,
}

impl Limiter {
    fn new(memory_limit: usize) -> Self {
        Limiter {
            inner: StoreLimitsBuilder::new()
                .memory_size(memory_limit)
                .table_elements(crate::host::TABLE_ELEMENTS)
                .instances(crate::host::CORE_INSTANCES_PER_COMPONENT as usize)
                .tables(crate::host::TABLES_PER_COMPONENT as usize)
                .memories(crate::host::MEMORIES_PER_COMPONENT as usize)
                .build(),
            memory_limit,
            memory_refused: false,
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let ok = self.inner.memory_growing(current, desired, maximum)?;
        if !ok {
            self.memory_refused = true;
        }
        Ok(ok)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// Bounded capture of a plugin's stdout and stderr (interleaved). Writes past
/// the limit are accepted and dropped, so a chatty plugin neither traps nor
/// grows host memory.
#[derive(Clone)]
pub(crate) struct Capture(Arc<Mutex<CaptureBuf>>);

struct CaptureBuf {
    data: Vec<u8>,
    limit: usize,
    dropped: usize,
}

impl Capture {
    fn new(limit: usize) -> Self {
        Capture(Arc::new(Mutex::new(CaptureBuf {
            data: Vec::new(),
            limit,
            dropped: 0,
        })))
    }

    fn lock(&self) -> MutexGuard<'_, CaptureBuf> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, bytes: &[u8]) {
        let mut b = self.lock();
        let room = b.limit.saturating_sub(b.data.len());
        let n = room.min(bytes.len());
        b.data.extend_from_slice(&bytes[..n]);
        b.dropped += bytes.len() - n;
    }

    /// Takes the captured text (lossy UTF-8), noting how much was dropped.
    pub(crate) fn take(&self) -> String {
        let mut b = self.lock();
        let data = std::mem::take(&mut b.data);
        let mut s = String::from_utf8_lossy(&data).into_owned();
        if b.dropped > 0 {
            s.push_str(&format!("\n[{} more bytes of output dropped]\n", b.dropped));
            b.dropped = 0;
        }
        s
    }
}

impl IsTerminal for Capture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Capture {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Capture {
    async fn ready(&mut self) {}
}

#[wasmtime_wasi::async_trait]
impl OutputStream for Capture {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for Capture {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.push(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn env(granted: &[(&str, &str)], call: Call) -> Vec<(String, String)> {
        let granted: Vec<(String, String)> = granted
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        plugin_env(&granted, call)
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn instances_learn_their_own_deadline() {
        let granted = [("TOKEN", "t")];
        assert_eq!(
            env(&granted, Call::Check(Duration::from_millis(1500))),
            pairs(&[("TOKEN", "t"), (CHECK_TIMEOUT_ENV, "1500")])
        );
        assert_eq!(
            env(&granted, Call::Notify(Duration::from_secs(5))),
            pairs(&[("TOKEN", "t"), (NOTIFY_TIMEOUT_ENV, "5000")])
        );
        assert_eq!(env(&granted, Call::Info), pairs(&granted));
        // Sub-millisecond timeouts still say something a plugin can use.
        assert_eq!(
            env(&[], Call::Check(Duration::from_micros(300))),
            pairs(&[(CHECK_TIMEOUT_ENV, "1")])
        );
        // A granted variable cannot impersonate the host's deadline.
        assert_eq!(
            env(
                &[
                    (CHECK_TIMEOUT_ENV, "60000"),
                    (NOTIFY_TIMEOUT_ENV, "1"),
                    ("A", "b")
                ],
                Call::Check(Duration::from_secs(1))
            ),
            pairs(&[("A", "b"), (CHECK_TIMEOUT_ENV, "1000")])
        );
    }

    #[test]
    fn only_host_is_lifted_from_the_forbidden_headers() {
        assert!(!forbidden_header(&http::header::HOST));
        for name in DEFAULT_FORBIDDEN_HEADERS
            .iter()
            .filter(|h| **h != http::header::HOST)
        {
            assert!(forbidden_header(name), "{name}");
        }
        assert!(!forbidden_header(&http::header::AUTHORIZATION));
        let mut policy = HttpPolicy {
            rules: Arc::new([]),
            labels: Labels {
                plugin: "p".into(),
                check: "c".into(),
            },
        };
        assert!(!policy.set_host_header());
        assert!(!policy.is_forbidden_header(&http::header::HOST));
        assert!(policy.is_forbidden_header(&http::header::TRANSFER_ENCODING));
        assert!((policy.forbidden_header_filter())(
            &http::header::CONNECTION
        ));
        assert!(!(policy.forbidden_header_filter())(&http::header::HOST));
    }

    fn request(hosts: &[&str]) -> http::Request<()> {
        let mut b = http::Request::get("http://127.0.0.1:8080/x");
        for h in hosts {
            b = b.header(http::header::HOST, *h);
        }
        b.body(()).unwrap()
    }

    fn hosts(r: &http::Request<()>) -> Vec<&str> {
        r.headers()
            .get_all(http::header::HOST)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    }

    #[test]
    fn exactly_one_host_header_is_sent() {
        // None from the plugin: the authority, as wasmtime would have set it.
        let mut r = request(&[]);
        host_header(&mut r).unwrap();
        assert_eq!(hosts(&r), ["127.0.0.1:8080"]);
        // A virtual host replaces it; the URI (where the host connects) stays.
        for vhost in [
            "www.example.com",
            "www.example.com:8443",
            "[2001:db8::1]:80",
        ] {
            let mut r = request(&[vhost]);
            host_header(&mut r).unwrap();
            assert_eq!(hosts(&r), [vhost]);
            assert_eq!(r.uri().authority().unwrap().as_str(), "127.0.0.1:8080");
        }
        let e = host_header(&mut request(&["a.example", "b.example"])).unwrap_err();
        assert!(e.contains("more than one"), "{e}");
        for bad in [
            "",
            "user@evil.example",
            "a b",
            "host:port",
            "host:",
            "host:99999",
            "a/b",
            ":80",
        ] {
            let r = host_header(&mut request(&[bad]));
            assert!(
                matches!(&r, Err(e) if e.contains("invalid Host header")),
                "{bad:?}: {r:?}"
            );
        }
    }
}

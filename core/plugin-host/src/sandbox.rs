//! Per-instance store state: the WASI context built from [`Grants`], the HTTP
//! policy, resource limits, and the bounded buffers that collect what a plugin
//! logs and prints.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

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
    /// as granted.
    pub(crate) fn new(grants: &Grants, memory_limit: usize, labels: Labels) -> Self {
        let output = Capture::new(OUTPUT_LIMIT);
        let mut b = WasiCtx::builder();
        b.stdout(output.clone()).stderr(output.clone());
        b.envs(&grants.env);
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
struct HttpPolicy {
    rules: Arc<[AuthorityRule]>,
    labels: Labels,
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
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn std::future::Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> SendFuture {
        let uri = request.uri();
        let tls = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
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

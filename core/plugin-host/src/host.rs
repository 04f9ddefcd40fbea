//! The engine, linker, epoch ticker and loader shared by every plugin.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, UpdateDeadline,
};

use crate::bindings::check::{HealthCheck, HealthCheckPre};
use crate::bindings::notify::NotifierPluginPre;
use crate::cache::{self, Cache};
use crate::error::{Failure, HostError, LoadError};
use crate::grants::Grants;
use crate::sandbox::{Call, Labels, StoreState};
use crate::types::PluginInfo;

/// The WIT package version this host implements.
pub const WIT_VERSION: semver::Version = semver::Version::new(0, 1, 0);

/// How long `Plugin::info` may take (it must not do I/O).
const INFO_TIMEOUT: Duration = Duration::from_secs(5);

// Per-component shape limits, for the pooling allocator and the store limiter.
// A Rust plugin built for wasm32-wasip2 has 1 memory, 2 tables and ~4 core
// instances (its module plus the component model's shim/fixup modules); a
// wit-component adapted plugin has 2 memories. These leave headroom.
pub(crate) const CORE_INSTANCES_PER_COMPONENT: u32 = 16;
pub(crate) const MEMORIES_PER_COMPONENT: u32 = 2;
pub(crate) const TABLES_PER_COMPONENT: u32 = 8;
pub(crate) const TABLE_ELEMENTS: usize = 20_000;

/// Settings of a [`PluginHost`].
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// Where compiled components are cached; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// Pool slots: the maximum number of plugin instances alive at once
    /// (warm checks + notifiers + runs in flight + transient `info` calls).
    pub max_instances: u32,
    /// How many checks keep their instance between runs (warm: ~1 µs per
    /// call, ~70 KiB each). Checks beyond this run on a fresh instance each
    /// time (~35 µs) and hold no instance in between, so 10,000 configured
    /// checks do not need 10,000 live instances.
    pub max_warm: u32,
    /// Linear-memory limit per instance, in bytes.
    pub memory_limit: usize,
    /// Epoch tick: granularity of CPU deadlines and of yielding to tokio.
    pub epoch_tick: Duration,
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            cache_dir: None,
            max_instances: 1000,
            max_warm: 500,
            memory_limit: 64 << 20,
            epoch_tick: Duration::from_millis(10),
        }
    }
}

/// The WIT world a plugin implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum World {
    /// Exports `vigil:plugin/checker`.
    HealthCheck,
    /// Exports `vigil:plugin/notifier`.
    Notifier,
}

impl fmt::Display for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            World::HealthCheck => "health-check",
            World::Notifier => "notifier",
        })
    }
}

/// Runs WebAssembly plugins. Cheap to clone; clones share one engine, one
/// instance pool and one epoch ticker.
#[derive(Clone)]
pub struct PluginHost {
    pub(crate) inner: Arc<HostInner>,
}

pub(crate) struct HostInner {
    /// Warm checker slots in use (see [`HostOptions::max_warm`]).
    pub(crate) warm: std::sync::atomic::AtomicU32,
    pub(crate) engine: Engine,
    linker: Linker<StoreState>,
    pub(crate) opts: HostOptions,
    cache: Option<Cache>,
    stop_ticker: Arc<AtomicBool>,
}

impl Drop for HostInner {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

impl fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginHost")
            .field("opts", &self.inner.opts)
            .finish_non_exhaustive()
    }
}

/// Rounds up to whole 64 KiB wasm pages.
fn round_to_pages(bytes: usize) -> usize {
    const PAGE: usize = 64 << 10;
    bytes.div_ceil(PAGE).saturating_mul(PAGE)
}

fn engine_config(opts: &HostOptions) -> Config {
    let memory = round_to_pages(opts.memory_limit);
    let n = opts.max_instances;
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(n)
        .total_core_instances(n.saturating_mul(CORE_INSTANCES_PER_COMPONENT))
        .total_memories(n.saturating_mul(MEMORIES_PER_COMPONENT))
        .total_tables(n.saturating_mul(TABLES_PER_COMPONENT))
        // A live instance keeps its store's fiber stack between calls.
        .total_stacks(n)
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .max_tables_per_component(TABLES_PER_COMPONENT)
        .max_tables_per_module(TABLES_PER_COMPONENT)
        .table_elements(TABLE_ELEMENTS)
        .max_memory_size(memory);
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        // Address space per linear memory = the memory limit itself (plus two
        // 64 KiB guards) instead of wasmtime's default 4 GiB + 32 MiB guard
        // (which would elide bounds checks): 10,000 slots x 2 memories x 64 MiB
        // is 1.3 TB of PROT_NONE reservation, well inside x86-64's 128 TiB,
        // while the default would need 80+ TiB. The cost is an explicit bounds
        // check on each memory access, negligible for health checks.
        .memory_reservation(memory as u64)
        .memory_guard_size(64 << 10)
        .memory_reservation_for_growth(0)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

impl PluginHost {
    /// Creates the engine (reserving the instance pool), the linker with
    /// Vigil's and WASI's host interfaces, and the epoch ticker thread.
    pub fn new(opts: HostOptions) -> Result<Self, HostError> {
        if opts.max_instances == 0 {
            return Err(HostError::Options(
                "max_instances must be at least 1".into(),
            ));
        }
        if opts.memory_limit < (64 << 10) || opts.memory_limit > (4 << 30) {
            return Err(HostError::Options(
                "memory_limit must be between 64 KiB and 4 GiB".into(),
            ));
        }
        if opts.epoch_tick < Duration::from_millis(1) || opts.epoch_tick > Duration::from_secs(1) {
            return Err(HostError::Options(
                "epoch_tick must be between 1 ms and 1 s".into(),
            ));
        }
        let engine =
            Engine::new(&engine_config(&opts)).map_err(|e| HostError::Engine(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .and_then(|()| wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker))
            .and_then(|()| HealthCheck::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s))
            .map_err(|e| HostError::Link(format!("{e:#}")))?;
        let cache = match &opts.cache_dir {
            Some(dir) => Some(Cache::open(dir, &engine)?),
            None => None,
        };
        let stop_ticker = Arc::new(AtomicBool::new(false));
        {
            let engine = engine.clone();
            let stop = stop_ticker.clone();
            let tick = opts.epoch_tick;
            std::thread::Builder::new()
                .name("vigil-wasm-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(tick);
                        engine.increment_epoch();
                    }
                })
                .map_err(HostError::Ticker)?;
        }
        Ok(PluginHost {
            inner: Arc::new(HostInner {
                warm: std::sync::atomic::AtomicU32::new(0),
                engine,
                linker,
                opts,
                cache,
                stop_ticker,
            }),
        })
    }

    /// Take a warm slot if one is free.
    pub(crate) fn take_warm(&self) -> bool {
        let max = self.inner.opts.max_warm;
        self.inner
            .warm
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok()
    }

    /// Give a warm slot back.
    pub(crate) fn release_warm(&self) {
        let _ = self
            .inner
            .warm
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }

    /// The options the host was created with.
    pub fn options(&self) -> &HostOptions {
        &self.inner.opts
    }

    /// Loads a component file; the plugin is named after the file stem.
    pub fn load_file(&self, path: &Path) -> Result<Plugin, LoadError> {
        let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
            path: path.to_owned(),
            source,
        })?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("plugin");
        self.load_bytes(name, &bytes)
    }

    /// Loads a component (binary, or WAT text), using the compiled cache when
    /// enabled, checks its WIT version and imports, and pre-links it.
    pub fn load_bytes(&self, name: &str, bytes: &[u8]) -> Result<Plugin, LoadError> {
        let started = Instant::now();
        let digest = cache::digest(bytes);
        let inner = &self.inner;
        let cached = inner
            .cache
            .as_ref()
            .and_then(|c| c.load(&inner.engine, &digest));
        let from_cache = cached.is_some();
        let component = match cached {
            Some(c) => c,
            None => {
                let c = Component::new(&inner.engine, bytes).map_err(|e| LoadError::Invalid {
                    name: name.into(),
                    reason: format!("{e:#}"),
                })?;
                if let Some(cache) = &inner.cache {
                    cache.store(&digest, &c);
                }
                c
            }
        };
        let ty = component.component_type();
        let exports: Vec<String> = ty
            .exports(&inner.engine)
            .map(|(n, _)| n.to_string())
            .collect();
        let imports: Vec<String> = ty
            .imports(&inner.engine)
            .map(|(n, _)| n.to_string())
            .collect();
        let (world, wit_version) = classify_exports(name, &exports, &imports)?;
        let pre = inner.linker.instantiate_pre(&component).map_err(|e| {
            let unsupported: Vec<String> = imports
                .iter()
                .filter(|i| !import_supported(i))
                .cloned()
                .collect();
            if unsupported.is_empty() {
                LoadError::Link {
                    name: name.into(),
                    reason: format!("{e:#}"),
                }
            } else {
                LoadError::UnsupportedImports {
                    name: name.into(),
                    imports: unsupported,
                }
            }
        })?;
        let link_err = |e: wasmtime::Error| LoadError::Link {
            name: name.into(),
            reason: format!("{e:#}"),
        };
        let pre = match world {
            World::HealthCheck => WorldPre::Check(HealthCheckPre::new(pre).map_err(link_err)?),
            World::Notifier => WorldPre::Notify(NotifierPluginPre::new(pre).map_err(link_err)?),
        };
        let plugin = Plugin {
            inner: Arc::new(PluginInner {
                name: name.into(),
                world,
                wit_version,
                digest,
                size: bytes.len(),
                from_cache,
                load_time: started.elapsed(),
                imports,
                exports,
                pre,
            }),
        };
        tracing::debug!(
            plugin = name,
            world = %world,
            from_cache,
            load_ms = plugin.inner.load_time.as_secs_f64() * 1e3,
            "plugin loaded"
        );
        Ok(plugin)
    }

    /// A store for one instance, sandboxed by `grants`, told the deadline of
    /// `call`, with limits and the epoch-deadline policy installed.
    pub(crate) fn new_store(
        &self,
        grants: &Grants,
        call: Call,
        labels: Labels,
    ) -> Store<StoreState> {
        let state = StoreState::new(grants, call, self.inner.opts.memory_limit, labels);
        let mut store = Store::new(&self.inner.engine, state);
        store.limiter(|s| &mut s.limiter);
        // Each tick of guest execution costs one tick of budget and yields to
        // tokio (so timers, including the call's own timeout, keep running on
        // this worker); an empty budget traps.
        store.epoch_deadline_callback(|mut cx| {
            let s = cx.data_mut();
            if s.ticks_left == 0 {
                return Err(wasmtime::Error::new(DeadlineExceeded));
            }
            s.ticks_left -= 1;
            Ok(UpdateDeadline::Yield(1))
        });
        store
    }

    /// Prepares a store for one call with `timeout`.
    pub(crate) fn arm(&self, store: &mut Store<StoreState>, timeout: Duration) {
        let tick = self.inner.opts.epoch_tick.as_nanos().max(1);
        let ticks = timeout.as_nanos().div_ceil(tick).max(1);
        let s = store.data_mut();
        s.ticks_left = u64::try_from(ticks).unwrap_or(u64::MAX);
        s.limiter.memory_refused = false;
        store.set_epoch_deadline(1);
    }

    /// Turns a failed call into the reason to report.
    pub(crate) fn failure(
        &self,
        store: &Store<StoreState>,
        result: Result<wasmtime::Error, tokio::time::error::Elapsed>,
        timeout: Duration,
    ) -> Failure {
        let state = store.data();
        if state.limiter.memory_refused {
            return Failure::MemoryLimit(state.limiter.memory_limit);
        }
        let e = match result {
            Err(_elapsed) => return Failure::Deadline(timeout),
            Ok(e) => e,
        };
        if e.is::<DeadlineExceeded>() {
            return Failure::Deadline(timeout);
        }
        if e.is::<wasmtime::PoolConcurrencyLimitError>() {
            return Failure::PoolExhausted(self.inner.opts.max_instances);
        }
        if let Some(trap) = e.downcast_ref::<wasmtime::Trap>() {
            if *trap == wasmtime::Trap::Interrupt {
                return Failure::Deadline(timeout);
            }
            return Failure::Trap(trap.to_string());
        }
        Failure::Trap(format!("{e:#}"))
    }
}

/// The epoch callback's error when a call's tick budget is spent.
#[derive(Debug, thiserror::Error)]
#[error("plugin call exceeded its deadline")]
pub(crate) struct DeadlineExceeded;

/// Finds the world and WIT version from the exports, refusing incompatible
/// versions of any `vigil:plugin` interface, exported or imported.
fn classify_exports(
    name: &str,
    exports: &[String],
    imports: &[String],
) -> Result<(World, semver::Version), LoadError> {
    let mut world = None;
    let mut has_info = false;
    let mut version = None;
    for item in exports.iter().chain(imports) {
        let Some(rest) = item.strip_prefix("vigil:plugin/") else {
            continue;
        };
        let (iface, ver) = match rest.split_once('@') {
            Some((i, v)) => (i, Some(v)),
            None => (rest, None),
        };
        let parsed = ver.and_then(|v| semver::Version::parse(v).ok());
        let ok = parsed.as_ref().is_some_and(wit_compatible);
        if !ok {
            return Err(LoadError::WitVersion {
                name: name.into(),
                interface: format!("vigil:plugin/{iface}"),
                found: ver.unwrap_or("(unversioned)").into(),
                supported: WIT_VERSION.to_string(),
                compatible: format!("{}.{}.x", WIT_VERSION.major, WIT_VERSION.minor),
            });
        }
        if exports.contains(item) {
            match iface {
                "checker" => world = world.or(Some(World::HealthCheck)),
                "notifier" => world = world.or(Some(World::Notifier)),
                "plugin" => has_info = true,
                _ => {}
            }
            if matches!(iface, "checker" | "notifier") {
                version = parsed;
            }
        }
    }
    let (Some(world), Some(version)) = (world, version) else {
        return Err(LoadError::NotAPlugin {
            name: name.into(),
            exports: exports.to_vec(),
        });
    };
    if !has_info {
        return Err(LoadError::MissingInfo {
            name: name.into(),
            world: match world {
                World::HealthCheck => "vigil:plugin/checker".into(),
                World::Notifier => "vigil:plugin/notifier".into(),
            },
        });
    }
    Ok((world, version))
}

/// Semver compatibility with [`WIT_VERSION`] (caret rules: 0.1.x for 0.1.0).
fn wit_compatible(v: &semver::Version) -> bool {
    let s = &WIT_VERSION;
    if s.major > 0 {
        v.major == s.major
    } else {
        v.major == 0 && v.minor == s.minor
    }
}

/// Whether an import is one the linker provides (used only to explain a link
/// failure).
fn import_supported(import: &str) -> bool {
    let (iface, ver) = match import.split_once('@') {
        Some((i, v)) => (i, v),
        None => return false,
    };
    let Ok(ver) = semver::Version::parse(ver) else {
        return false;
    };
    let wasi02 = ver.major == 0 && ver.minor == 2;
    match iface.split_once('/') {
        Some(("vigil:plugin", i)) => matches!(i, "log" | "types") && wit_compatible(&ver),
        Some(("wasi:http", i)) => matches!(i, "types" | "outgoing-handler") && wasi02,
        Some((pkg, _)) => {
            wasi02
                && matches!(
                    pkg,
                    "wasi:cli"
                        | "wasi:clocks"
                        | "wasi:filesystem"
                        | "wasi:io"
                        | "wasi:random"
                        | "wasi:sockets"
                )
        }
        None => false,
    }
}

#[derive(Clone)]
pub(crate) enum WorldPre {
    Check(HealthCheckPre<StoreState>),
    Notify(NotifierPluginPre<StoreState>),
}

/// A loaded, version-checked and pre-linked plugin component. Cheap to clone;
/// each configured check instantiates it separately.
#[derive(Clone)]
pub struct Plugin {
    pub(crate) inner: Arc<PluginInner>,
}

pub(crate) struct PluginInner {
    pub(crate) name: String,
    pub(crate) world: World,
    wit_version: semver::Version,
    digest: String,
    size: usize,
    from_cache: bool,
    load_time: Duration,
    imports: Vec<String>,
    exports: Vec<String>,
    pub(crate) pre: WorldPre,
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.inner.name)
            .field("world", &self.inner.world)
            .field("wit_version", &self.inner.wit_version.to_string())
            .field("digest", &self.inner.digest)
            .field("from_cache", &self.inner.from_cache)
            .finish_non_exhaustive()
    }
}

impl Plugin {
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    pub fn world(&self) -> World {
        self.inner.world
    }

    /// The `vigil:plugin` version the component was built against.
    pub fn wit_version(&self) -> &semver::Version {
        &self.inner.wit_version
    }

    /// Hex SHA-256 of the component bytes.
    pub fn digest(&self) -> &str {
        &self.inner.digest
    }

    /// Size of the component in bytes.
    pub fn size(&self) -> usize {
        self.inner.size
    }

    /// Whether the compiled code came from the on-disk cache.
    pub fn from_cache(&self) -> bool {
        self.inner.from_cache
    }

    /// Time to compile (or load from cache), inspect and pre-link.
    pub fn load_time(&self) -> Duration {
        self.inner.load_time
    }

    /// The component's imports (interface names with versions).
    pub fn imports(&self) -> &[String] {
        &self.inner.imports
    }

    /// The component's exports.
    pub fn exports(&self) -> &[String] {
        &self.inner.exports
    }

    /// Calls `plugin.info` on a throw-away instance with nothing granted.
    pub async fn info(&self, host: &PluginHost) -> Result<PluginInfo, Failure> {
        let labels = Labels {
            plugin: self.inner.name.as_str().into(),
            check: "info".into(),
        };
        let mut store = host.new_store(&Grants::default(), Call::Info, labels);
        host.arm(&mut store, INFO_TIMEOUT);
        let call = async {
            match &self.inner.pre {
                WorldPre::Check(pre) => {
                    let b = pre.instantiate_async(&mut store).await?;
                    b.vigil_plugin_plugin().call_info(&mut store).await
                }
                WorldPre::Notify(pre) => {
                    let b = pre.instantiate_async(&mut store).await?;
                    b.vigil_plugin_plugin().call_info(&mut store).await
                }
            }
        };
        let result = tokio::time::timeout(INFO_TIMEOUT, call).await;
        let _ = store.data_mut().drain();
        match result {
            Ok(Ok(info)) => Ok(info.into()),
            Ok(Err(e)) => Err(host.failure(&store, Ok(e), INFO_TIMEOUT)),
            Err(elapsed) => Err(host.failure(&store, Err(elapsed), INFO_TIMEOUT)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn versions() {
        let ok = classify_exports(
            "p",
            &s(&["vigil:plugin/plugin@0.1.0", "vigil:plugin/checker@0.1.3"]),
            &s(&["vigil:plugin/log@0.1.0", "wasi:io/error@0.2.12"]),
        );
        assert!(matches!(ok, Ok((World::HealthCheck, v)) if v == semver::Version::new(0, 1, 3)));
        let bad = classify_exports(
            "p",
            &s(&["vigil:plugin/plugin@0.2.0", "vigil:plugin/checker@0.2.0"]),
            &[],
        );
        assert!(
            matches!(bad, Err(LoadError::WitVersion { ref found, .. }) if found == "0.2.0"),
            "{bad:?}"
        );
        let none = classify_exports("p", &s(&["run"]), &[]);
        assert!(matches!(none, Err(LoadError::NotAPlugin { .. })));
        let no_info = classify_exports("p", &s(&["vigil:plugin/notifier@0.1.0"]), &[]);
        assert!(matches!(no_info, Err(LoadError::MissingInfo { .. })));
    }

    #[test]
    fn supported_imports() {
        assert!(import_supported("wasi:sockets/tcp@0.2.12"));
        assert!(import_supported("wasi:http/outgoing-handler@0.2.0"));
        assert!(import_supported("vigil:plugin/log@0.1.0"));
        assert!(!import_supported("wasi:http/incoming-handler@0.2.0"));
        assert!(!import_supported("wasi:keyvalue/store@0.2.0"));
        assert!(!import_supported("wasi:sockets/tcp@0.3.0"));
    }
}

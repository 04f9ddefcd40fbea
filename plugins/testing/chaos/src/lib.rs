//! A hostile health-check plugin for testing and benchmarking Vigil's plugin host.
//!
//! It is built directly on the WIT contract (no SDK) so the host is tested against the
//! contract alone. The check's JSON config selects what it does:
//!
//! | mode          | behaviour                                                        |
//! |---------------|------------------------------------------------------------------|
//! | `up`          | returns `up` immediately (the trivial plugin for benchmarks)     |
//! | `down`        | returns `down`                                                   |
//! | `error`       | returns a `protocol` check error                                 |
//! | `trap`        | executes `unreachable`                                           |
//! | `panic`       | panics (abort: a trap, with the message on stderr)               |
//! | `loop`        | spins forever                                                    |
//! | `sleep`       | blocks on the WASI monotonic clock for `ms` milliseconds         |
//! | `memory-bomb` | grows a `Vec` until allocation fails                             |
//! | `connect`     | TCP-connects to the target with `std::net`, reports the error    |
//! | `http`        | `GET http://target/` through `wasi:http`, with `headers` (a list |
//! |               | of `[name, value]` pairs, appended in order; a refused header is |
//! |               | a `denied` error naming it); reports the status                  |
//! | `env`         | reports whether environment variable `var` is visible (e.g. the  |
//! |               | host's `VIGIL_CHECK_TIMEOUT_MS`)                                 |
//! | `fs`          | tries to read `/etc/hostname`                                    |
//! | `stateful`    | counts calls, to prove an instance stays warm                    |
//! | `log`         | calls the `log` import and prints to stdout and stderr           |
//! | `print`       | prints `bytes` bytes to stdout (output buffer bounds)            |
//!
//! With `"warmup": N` the first N calls on an instance return `up` before the
//! mode applies, so a test can see a failure followed by a healthy fresh instance.

use std::cell::Cell;
use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::time::Duration;

wit_bindgen::generate!({ path: "../../../wit", world: "health-check" });

use exports::vigil::plugin::checker::Guest as CheckerGuest;
use exports::vigil::plugin::plugin::Guest as PluginGuest;
use vigil::plugin::log::{log, Level};
use vigil::plugin::types::{
    Capability, CheckError, CheckResult, ConfigError, FieldError, Health, Metric, PluginInfo,
    Target,
};

const MODES: &[&str] = &[
    "up",
    "down",
    "error",
    "trap",
    "panic",
    "loop",
    "sleep",
    "memory-bomb",
    "connect",
    "http",
    "env",
    "fs",
    "stateful",
    "log",
    "print",
];

#[derive(Debug, Default, Clone)]
struct Config {
    mode: String,
    ms: u64,
    var: String,
    bytes: usize,
    warmup: u64,
    headers: Vec<(String, String)>,
    target: Option<(String, u16)>,
}

thread_local! {
    static CONFIG: std::cell::RefCell<Option<Config>> = const { std::cell::RefCell::new(None) };
    static COUNTER: Cell<u64> = const { Cell::new(0) };
}

struct Chaos;

export!(Chaos);

impl PluginGuest for Chaos {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "chaos".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Misbehaves on purpose, to test the plugin host's sandbox".into(),
            capabilities: vec![Capability::Tcp, Capability::Http],
        }
    }
}

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidValue(FieldError {
        key: key.into(),
        reason: reason.into(),
    })
}

impl CheckerGuest for Chaos {
    fn configure(config: String, target: Target) -> Result<(), ConfigError> {
        let value: serde_json::Value =
            serde_json::from_str(&config).map_err(|e| invalid("", e.to_string()))?;
        let obj = value
            .as_object()
            .ok_or_else(|| invalid("", "not a table"))?;
        let mut cfg = Config::default();
        for (key, v) in obj {
            match key.as_str() {
                "mode" => {
                    let m = v.as_str().ok_or_else(|| invalid("mode", "not a string"))?;
                    if !MODES.contains(&m) {
                        return Err(invalid("mode", format!("unknown mode {m:?}")));
                    }
                    cfg.mode = m.into();
                }
                "ms" => cfg.ms = v.as_u64().ok_or_else(|| invalid("ms", "not an integer"))?,
                "var" => {
                    cfg.var = v
                        .as_str()
                        .ok_or_else(|| invalid("var", "not a string"))?
                        .into()
                }
                "warmup" => {
                    cfg.warmup = v
                        .as_u64()
                        .ok_or_else(|| invalid("warmup", "not an integer"))?
                }
                "bytes" => {
                    cfg.bytes = v
                        .as_u64()
                        .ok_or_else(|| invalid("bytes", "not an integer"))?
                        as usize
                }
                "headers" => {
                    let pairs = v
                        .as_array()
                        .ok_or_else(|| invalid("headers", "not a list"))?;
                    for pair in pairs {
                        match pair.as_array().map(Vec::as_slice) {
                            Some([serde_json::Value::String(k), serde_json::Value::String(v)]) => {
                                cfg.headers.push((k.clone(), v.clone()))
                            }
                            _ => return Err(invalid("headers", "not a [name, value] pair")),
                        }
                    }
                }
                other => return Err(ConfigError::UnknownKey(other.into())),
            }
        }
        if cfg.mode.is_empty() {
            return Err(ConfigError::MissingKey("mode".into()));
        }
        cfg.target = target.port.map(|p| (target.host.clone(), p));
        if matches!(cfg.mode.as_str(), "connect" | "http") && cfg.target.is_none() {
            return Err(ConfigError::InvalidTarget(format!(
                "mode {} needs a port",
                cfg.mode
            )));
        }
        CONFIG.with(|c| *c.borrow_mut() = Some(cfg));
        Ok(())
    }

    fn check() -> Result<CheckResult, CheckError> {
        let cfg = CONFIG
            .with(|c| c.borrow().clone())
            .ok_or_else(|| CheckError::Internal("check before configure".into()))?;
        let calls = COUNTER.with(|c| {
            c.set(c.get() + 1);
            c.get()
        });
        if calls <= cfg.warmup {
            return Ok(verdict(Health::Up, &format!("warming up ({calls})")));
        }
        match cfg.mode.as_str() {
            "up" => Ok(verdict(Health::Up, "up")),
            "down" => Ok(verdict(Health::Down, "down on purpose")),
            "error" => Err(CheckError::Protocol("error on purpose".into())),
            "trap" => {
                #[cfg(target_arch = "wasm32")]
                core::arch::wasm32::unreachable();
                #[cfg(not(target_arch = "wasm32"))]
                std::process::abort();
            }
            "panic" => panic!("chaos plugin panicked on purpose"),
            "loop" => {
                let mut x = 0u64;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            "sleep" => {
                std::thread::sleep(Duration::from_millis(cfg.ms));
                Ok(verdict(Health::Up, &format!("slept {} ms", cfg.ms)))
            }
            "memory-bomb" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    // Infallible allocation: failure aborts (a trap the host attributes
                    // to its memory limit).
                    let chunk = vec![0xa5u8; 1 << 20];
                    hoard.push(std::hint::black_box(chunk));
                }
            }
            "connect" => connect(&cfg),
            "http" => http(&cfg),
            "env" => match std::env::var(&cfg.var) {
                Ok(v) => Ok(verdict(Health::Up, &format!("{}={v}", cfg.var))),
                Err(_) => Ok(verdict(Health::Down, &format!("{} not visible", cfg.var))),
            },
            "fs" => match std::fs::read_to_string("/etc/hostname") {
                Ok(s) => Ok(verdict(
                    Health::Up,
                    &format!("read /etc/hostname: {}", s.trim()),
                )),
                Err(e) => Err(CheckError::Denied(format!("read /etc/hostname: {e}"))),
            },
            "stateful" => {
                let n = calls;
                let mut r = verdict(Health::Up, &format!("call {n}"));
                r.metrics.push(Metric {
                    name: "calls".into(),
                    value: n as f64,
                });
                Ok(r)
            }
            "log" => {
                log(Level::Info, "hello from chaos");
                log(Level::Warn, "a warning from chaos");
                println!("chaos stdout line");
                eprintln!("chaos stderr line");
                Ok(verdict(Health::Up, "logged"))
            }
            "print" => {
                let line = [b'x'; 1023];
                let mut out = std::io::stdout().lock();
                let mut left = cfg.bytes;
                while left > 0 {
                    let n = left.min(1023);
                    let _ = out.write_all(&line[..n]);
                    let _ = out.write_all(b"\n");
                    left = left.saturating_sub(n + 1);
                }
                let _ = out.flush();
                Ok(verdict(Health::Up, "printed"))
            }
            other => Err(CheckError::Internal(format!("mode {other}"))),
        }
    }
}

fn verdict(health: Health, message: &str) -> CheckResult {
    CheckResult {
        health,
        message: message.into(),
        metrics: Vec::new(),
    }
}

fn connect(cfg: &Config) -> Result<CheckResult, CheckError> {
    let Some((host, port)) = &cfg.target else {
        return Err(CheckError::Internal("no target".into()));
    };
    match TcpStream::connect((host.as_str(), *port)) {
        Ok(_) => Ok(verdict(Health::Up, &format!("connected to {host}:{port}"))),
        Err(e) => {
            let msg = format!("{host}:{port}: {:?}: {e}", e.kind());
            Err(match e.kind() {
                ErrorKind::PermissionDenied => CheckError::Denied(msg),
                ErrorKind::ConnectionRefused => CheckError::ConnectionRefused(msg),
                _ => CheckError::Io(msg),
            })
        }
    }
}

fn http(cfg: &Config) -> Result<CheckResult, CheckError> {
    use wasip2::http::outgoing_handler;
    use wasip2::http::types::{ErrorCode, Fields, HeaderError, Method, OutgoingRequest, Scheme};

    let Some((host, port)) = &cfg.target else {
        return Err(CheckError::Internal("no target".into()));
    };
    let map_err = |e: ErrorCode| match e {
        ErrorCode::HttpRequestDenied => CheckError::Denied(format!("{host}:{port}: {e:?}")),
        ErrorCode::ConnectionRefused => CheckError::ConnectionRefused(format!("{e:?}")),
        ErrorCode::DnsError(_) => CheckError::NameResolution(format!("{e:?}")),
        other => CheckError::Io(format!("{other:?}")),
    };
    let fields = Fields::new();
    for (name, value) in &cfg.headers {
        fields.append(name, value.as_bytes()).map_err(|e| match e {
            HeaderError::Forbidden => CheckError::Denied(format!("header {name}: forbidden")),
            other => CheckError::Internal(format!("header {name}: {other:?}")),
        })?;
    }
    let req = OutgoingRequest::new(fields);
    let _ = req.set_method(&Method::Get);
    let _ = req.set_scheme(Some(&Scheme::Http));
    let _ = req.set_authority(Some(&format!("{host}:{port}")));
    let _ = req.set_path_with_query(Some("/"));
    let fut = outgoing_handler::handle(req, None).map_err(map_err)?;
    fut.subscribe().block();
    let resp = match fut.get() {
        Some(Ok(Ok(resp))) => resp,
        Some(Ok(Err(e))) => return Err(map_err(e)),
        Some(Err(())) | None => return Err(CheckError::Internal("response taken".into())),
    };
    let status = resp.status();
    let health = if (200..400).contains(&status) {
        Health::Up
    } else {
        Health::Down
    };
    Ok(verdict(health, &format!("HTTP {status}")))
}

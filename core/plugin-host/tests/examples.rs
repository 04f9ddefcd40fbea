//! The example health check of `examples/` ("health-endpoint"), built in every guest language by
//! `examples/build.sh` into `target/examples/check-<lang>.wasm`, behaves as `examples/README.md`
//! documents when this host runs it against a small HTTP server on 127.0.0.1.
//!
//! A component that is not built is skipped with a message, unless `VIGIL_REQUIRE_EXAMPLES=1`
//! (then the Rust, JavaScript, Python and C examples must all be there; Go stays optional).
//! `VIGIL_EXAMPLES_DIR` overrides where the components are looked for.
//!
//! The JavaScript and Python components are 12-19 MB: Cranelift compiles them in seconds in a
//! release build but in minutes in a debug build, so the compiled components are cached in
//! `target/examples/host-cache` (`VIGIL_EXAMPLES_CACHE=0` turns the cache off, e.g. to time a cold
//! compile: `cargo test --release -p vigil-plugin-host --test examples -- --nocapture`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use vigil_plugin_host::{
    Capability, CheckError, CheckOutcome, CheckReport, CheckSpec, Checker, ConfigError, Grants,
    Health, HostOptions, Plugin, PluginHost, SetupError, Target,
};

/// Languages whose example `VIGIL_REQUIRE_EXAMPLES=1` requires.
const REQUIRED: &[&str] = &["rust", "js", "python", "c"];

fn examples_dir() -> PathBuf {
    std::env::var_os("VIGIL_EXAMPLES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/examples"))
}

fn example(lang: &str) -> Option<PathBuf> {
    let path = examples_dir().join(format!("check-{lang}.wasm"));
    if path.is_file() {
        return Some(path);
    }
    let required = std::env::var("VIGIL_REQUIRE_EXAMPLES").as_deref() == Ok("1");
    if required && REQUIRED.contains(&lang) {
        panic!(
            "{} is missing and VIGIL_REQUIRE_EXAMPLES=1: build it with examples/build.sh {lang}",
            path.display()
        );
    }
    eprintln!(
        "skipped: {} not found (build it with examples/build.sh {lang})",
        path.display()
    );
    None
}

/// A tiny HTTP/1.1 server on 127.0.0.1 answering one request per connection:
///
/// | path        | status | body                                   |
/// |-------------|--------|----------------------------------------|
/// | `/health`   | 200    | `{"status":"ok","version":"1.2"}`      |
/// | `/degraded` | 200    | `{"status":"degraded"}`                |
/// | `/failing`  | 200    | `{"status":"failing"}`                 |
/// | `/error`    | 503    | `{"status":"ok"}` (the code decides)   |
/// | `/garbage`  | 200    | `hello` (not JSON)                     |
/// | `/nofield`  | 200    | `{"state":"ok"}`                       |
/// | other       | 404    | `{"status":"not found"}`               |
fn serve() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind test server");
    let port = listener.local_addr().expect("local addr").port();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            thread::spawn(move || answer(conn));
        }
    });
    port
}

fn answer(mut conn: TcpStream) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let request = String::from_utf8_lossy(&request);
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let (status, body) = match path {
        "/health" => ("200 OK", r#"{"status":"ok","version":"1.2"}"#),
        "/degraded" => ("200 OK", r#"{"status":"degraded"}"#),
        "/failing" => ("200 OK", r#"{"status":"failing"}"#),
        "/error" => ("503 Service Unavailable", r#"{"status":"ok"}"#),
        "/garbage" => ("200 OK", "hello"),
        "/nofield" => ("200 OK", r#"{"state":"ok"}"#),
        _ => ("404 Not Found", r#"{"status":"not found"}"#),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = conn.write_all(response.as_bytes());
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
fn closed_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    listener.local_addr().expect("local addr").port()
}

fn http_grant(port: u16) -> Grants {
    Grants {
        http: vec![format!("127.0.0.1:{port}").parse().expect("authority rule")],
        ..Grants::default()
    }
}

fn spec(config: &str, port: u16, grants: Grants) -> CheckSpec {
    CheckSpec {
        name: "example".into(),
        config_json: config.into(),
        target: Target::new("127.0.0.1", port),
        grants,
        timeout: Duration::from_secs(20),
    }
}

async fn check_once(
    host: &PluginHost,
    plugin: &Plugin,
    config: &str,
    port: u16,
    grants: Grants,
) -> CheckReport {
    let mut checker = match Checker::new(host, plugin, spec(config, port, grants)).await {
        Ok(c) => c,
        Err(e) => panic!("{}: configure {config} failed: {e}", plugin.name()),
    };
    checker.check().await
}

fn verdict(lang: &str, what: &str, report: &CheckReport) -> (Health, String) {
    match &report.outcome {
        CheckOutcome::Verdict(r) => (r.health, r.message.clone()),
        other => panic!(
            "{lang} {what}: expected a verdict, got {other} (output: {:?})",
            report.output
        ),
    }
}

fn check_error(lang: &str, what: &str, report: &CheckReport) -> CheckError {
    match &report.outcome {
        CheckOutcome::Error(e) => e.clone(),
        other => panic!(
            "{lang} {what}: expected a check error, got {other} (output: {:?})",
            report.output
        ),
    }
}

async fn config_error(host: &PluginHost, plugin: &Plugin, config: &str) -> ConfigError {
    match Checker::new(host, plugin, spec(config, 80, Grants::default())).await {
        Err(SetupError::Config { error, .. }) => error,
        Err(e) => panic!(
            "{}: config {config}: expected a config error, got {e}",
            plugin.name()
        ),
        Ok(_) => panic!("{}: config {config} was accepted", plugin.name()),
    }
}

async fn run_example(lang: &str) {
    let Some(path) = example(lang) else { return };
    let cache = std::env::var("VIGIL_EXAMPLES_CACHE").as_deref() != Ok("0");
    let host = PluginHost::new(HostOptions {
        cache_dir: cache.then(|| examples_dir().join("host-cache")),
        ..HostOptions::default()
    })
    .expect("plugin host");
    let started = Instant::now();
    let plugin = host
        .load_file(&path)
        .unwrap_or_else(|e| panic!("{lang}: load {}: {e}", path.display()));
    eprintln!(
        "{lang}: {} bytes, loaded in {:.2?} ({})",
        plugin.size(),
        started.elapsed(),
        if plugin.from_cache() {
            "from the compile cache"
        } else {
            "compiled"
        }
    );

    let info = plugin
        .info(&host)
        .await
        .unwrap_or_else(|e| panic!("{lang}: info: {e}"));
    assert_eq!(info.name, format!("health-endpoint-{lang}"));
    assert_eq!(info.capabilities, vec![Capability::Http]);

    // configure: bad input is refused with the documented config-error variants.
    assert_eq!(
        config_error(&host, &plugin, r#"{"bogus": 1}"#).await,
        ConfigError::UnknownKey("bogus".into()),
        "{lang}: unknown key"
    );
    for bad in [r#"{"path": "health"}"#, r#"{"path": 5}"#] {
        match config_error(&host, &plugin, bad).await {
            ConfigError::InvalidValue(f) => assert_eq!(f.key, "path", "{lang}: {bad}"),
            other => panic!("{lang}: {bad}: expected invalid-value(path), got {other:?}"),
        }
    }
    match config_error(&host, &plugin, r#"{"field": ""}"#).await {
        ConfigError::InvalidValue(f) => assert_eq!(f.key, "field", "{lang}"),
        other => panic!("{lang}: empty field: expected invalid-value(field), got {other:?}"),
    }
    for bad in ["42", "not json"] {
        match config_error(&host, &plugin, bad).await {
            ConfigError::InvalidValue(f) => assert_eq!(f.key, "(config)", "{lang}: {bad}"),
            other => panic!("{lang}: {bad}: expected invalid-value((config)), got {other:?}"),
        }
    }

    let port = serve();
    let grants = || http_grant(port);

    // up, with the default path and field; the status code is reported as a metric.
    let report = check_once(&host, &plugin, "{}", port, grants()).await;
    let (health, message) = verdict(lang, "/health", &report);
    assert_eq!(health, Health::Up, "{lang}: {message}");
    let CheckOutcome::Verdict(result) = &report.outcome else {
        unreachable!()
    };
    assert!(
        result
            .metrics
            .iter()
            .any(|m| m.name == "http_status" && m.value == 200.0),
        "{lang}: metrics {:?}",
        result.metrics
    );
    assert!(
        report.logs.iter().any(|(_, m)| m.contains("status=ok")),
        "{lang}: logs {:?}",
        report.logs
    );

    let (health, message) = verdict(
        lang,
        "degraded",
        &check_once(&host, &plugin, r#"{"path": "/degraded"}"#, port, grants()).await,
    );
    assert_eq!(health, Health::Degraded, "{lang}: {message}");

    let (health, message) = verdict(
        lang,
        "failing",
        &check_once(&host, &plugin, r#"{"path": "/failing"}"#, port, grants()).await,
    );
    assert_eq!(health, Health::Down, "{lang}: {message}");
    assert!(message.contains("failing"), "{lang}: {message}");

    let (health, message) = verdict(
        lang,
        "503",
        &check_once(&host, &plugin, r#"{"path": "/error"}"#, port, grants()).await,
    );
    assert_eq!(health, Health::Down, "{lang}: {message}");
    assert!(message.contains("503"), "{lang}: {message}");

    // `field` picks another key of the body.
    let (health, message) = verdict(
        lang,
        "field",
        &check_once(
            &host,
            &plugin,
            r#"{"path": "/nofield", "field": "state"}"#,
            port,
            grants(),
        )
        .await,
    );
    assert_eq!(health, Health::Up, "{lang}: {message}");

    // A body that is not the expected JSON is a protocol error, not a verdict.
    for path in ["/garbage", "/nofield"] {
        let config = format!(r#"{{"path": "{path}"}}"#);
        let error = check_error(
            lang,
            path,
            &check_once(&host, &plugin, &config, port, grants()).await,
        );
        assert!(
            matches!(error, CheckError::Protocol(_)),
            "{lang} {path}: {error:?}"
        );
    }

    // Nothing listening: connection refused. Not granted: the sandbox refuses the request.
    // JavaScript's fetch() hides wasi:http's error-code, so its example reports both as `io`.
    let closed = closed_port();
    let error = check_error(
        lang,
        "closed port",
        &check_once(&host, &plugin, "{}", closed, http_grant(closed)).await,
    );
    let error_denied = check_error(
        lang,
        "no grant",
        &check_once(&host, &plugin, "{}", port, Grants::default()).await,
    );
    if lang == "js" {
        assert!(
            matches!(error, CheckError::Io(_)),
            "{lang}: closed port: {error:?}"
        );
        assert!(
            matches!(error_denied, CheckError::Io(_)),
            "{lang}: no grant: {error_denied:?}"
        );
    } else {
        assert!(
            matches!(error, CheckError::ConnectionRefused(_)),
            "{lang}: closed port: {error:?}"
        );
        assert!(
            matches!(error_denied, CheckError::Denied(_)),
            "{lang}: no grant: {error_denied:?}"
        );
    }

    // A warm instance answers repeatedly.
    let mut checker = Checker::new(&host, &plugin, spec("{}", port, grants()))
        .await
        .expect("configure");
    for _ in 0..3 {
        let report = checker.check().await;
        assert!(report.outcome.passed(), "{lang}: {}", report.outcome);
    }
    let warm = Instant::now();
    let report = checker.check().await;
    assert!(report.outcome.passed(), "{lang}: {}", report.outcome);
    eprintln!("{lang}: warm check in {:.2?}", warm.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_example() {
    run_example("rust").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_example() {
    run_example("js").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_example() {
    run_example("python").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_example() {
    run_example("c").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_example() {
    run_example("go").await;
}

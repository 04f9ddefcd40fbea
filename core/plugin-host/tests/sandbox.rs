//! The sandbox against the hostile `chaos` plugin (plugins/testing/chaos): every
//! misbehaviour yields a failed check with the right reason, the instance is
//! replaced, and the next call works again.
//!
//! Components come from `$VIGIL_PLUGIN_DIR` or `<repo>/target/plugins`; without
//! them the tests print "skipped: build plugins with plugins/build.sh" unless
//! `VIGIL_REQUIRE_PLUGINS=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vigil_plugin_host::testing::plugin_path;
use vigil_plugin_host::{
    Capability, CheckError, CheckOutcome, CheckReport, CheckSpec, Checker, ConfigError, Failure,
    Grants, Health, HostOptions, LogLevel, Plugin, PluginHost, SetupError, Target, World,
    OUTPUT_LIMIT,
};

const MEMORY_LIMIT: usize = 16 << 20;

fn host() -> &'static PluginHost {
    static HOST: OnceLock<PluginHost> = OnceLock::new();
    HOST.get_or_init(|| {
        PluginHost::new(HostOptions {
            max_instances: 64,
            memory_limit: MEMORY_LIMIT,
            ..HostOptions::default()
        })
        .expect("plugin host")
    })
}

fn chaos() -> Option<Plugin> {
    static PLUGIN: OnceLock<Plugin> = OnceLock::new();
    let path = plugin_path("chaos")?;
    Some(
        PLUGIN
            .get_or_init(|| host().load_file(&path).expect("load chaos"))
            .clone(),
    )
}

fn spec(config: serde_json::Value, port: u16, grants: Grants, timeout: Duration) -> CheckSpec {
    CheckSpec {
        name: format!("chaos-{}", config["mode"].as_str().unwrap_or("?")),
        config_json: config.to_string(),
        target: Target::new("127.0.0.1", port),
        grants,
        timeout,
    }
}

async fn checker(config: serde_json::Value, port: u16, grants: Grants) -> Option<Checker> {
    let plugin = chaos()?;
    Some(
        Checker::new(
            host(),
            &plugin,
            spec(config, port, grants, Duration::from_secs(2)),
        )
        .await
        .expect("configure"),
    )
}

fn verdict(r: &CheckReport, health: Health) -> String {
    match &r.outcome {
        CheckOutcome::Verdict(v) if v.health == health => v.message.clone(),
        other => panic!("expected {health}, got {other} (output: {})", r.output),
    }
}

fn check_error(r: &CheckReport) -> CheckError {
    match &r.outcome {
        CheckOutcome::Error(e) => e.clone(),
        other => panic!("expected a check error, got {other}"),
    }
}

fn failure(r: &CheckReport) -> Failure {
    match &r.outcome {
        CheckOutcome::Failed(f) => f.clone(),
        other => panic!("expected a failure, got {other}"),
    }
}

/// With `warmup: 1`: the first call on an instance is up, the second misbehaves;
/// after that failure the next call must run on a fresh instance and be up.
async fn fails_then_recovers(mode: &str, timeout: Duration) -> Option<Failure> {
    let plugin = chaos()?;
    let config = serde_json::json!({"mode": mode, "warmup": 1, "ms": 60_000});
    let mut c = Checker::new(host(), &plugin, spec(config, 1, Grants::default(), timeout))
        .await
        .expect("configure");
    let first = c.check().await;
    verdict(&first, Health::Up);
    assert!(!first.fresh_instance);
    let started = Instant::now();
    let bad = c.check().await;
    assert!(!bad.outcome.passed());
    assert!(
        started.elapsed() < timeout + Duration::from_secs(1),
        "{mode}: took {:?}",
        started.elapsed()
    );
    let f = failure(&bad);
    let again = c.check().await;
    assert!(again.fresh_instance, "{mode}: instance not replaced");
    assert_eq!(verdict(&again, Health::Up), "warming up (1)");
    let warm = c.check().await;
    assert!(!warm.fresh_instance);
    Some(f)
}

#[tokio::test]
async fn trap_is_reported_and_instance_replaced() {
    let Some(f) = fails_then_recovers("trap", Duration::from_secs(2)).await else {
        return;
    };
    assert!(
        matches!(&f, Failure::Trap(m) if m.contains("unreachable")),
        "{f}"
    );
}

#[tokio::test]
async fn panic_is_reported_with_its_message() {
    let Some(f) = fails_then_recovers("panic", Duration::from_secs(2)).await else {
        return;
    };
    assert!(
        matches!(&f, Failure::Trap(m) if m.contains("chaos plugin panicked on purpose")),
        "{f}"
    );
}

#[tokio::test]
async fn endless_loop_hits_the_deadline() {
    let timeout = Duration::from_millis(300);
    let Some(f) = fails_then_recovers("loop", timeout).await else {
        return;
    };
    assert_eq!(f, Failure::Deadline(timeout));
    assert_eq!(f.to_string(), "deadline of 300 ms exceeded");
}

#[tokio::test]
async fn blocking_sleep_hits_the_deadline() {
    let timeout = Duration::from_millis(300);
    let Some(f) = fails_then_recovers("sleep", timeout).await else {
        return;
    };
    assert_eq!(f, Failure::Deadline(timeout));
}

#[tokio::test]
async fn memory_bomb_hits_the_memory_limit() {
    let Some(f) = fails_then_recovers("memory-bomb", Duration::from_secs(5)).await else {
        return;
    };
    assert_eq!(f, Failure::MemoryLimit(MEMORY_LIMIT));
    assert_eq!(f.to_string(), "memory limit (16 MiB) exceeded");
}

#[tokio::test]
async fn connect_is_denied_unless_granted() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = serde_json::json!({"mode": "connect"});

    // Nothing granted: TCP itself is off.
    let Some(mut c) = checker(config.clone(), port, Grants::default()).await else {
        return;
    };
    let r = c.check().await;
    assert!(matches!(check_error(&r), CheckError::Denied(m) if m.contains("PermissionDenied")));

    // TCP granted, but to another port.
    let other = Grants {
        connect: vec![format!("127.0.0.1:{}", port.wrapping_add(1))
            .parse()
            .unwrap()],
        ..Grants::default()
    };
    let mut c = checker(config.clone(), port, other).await.unwrap();
    assert!(matches!(
        check_error(&c.check().await),
        CheckError::Denied(_)
    ));

    // Another network.
    let net = Grants {
        connect: vec!["192.0.2.0/24:*".parse().unwrap()],
        ..Grants::default()
    };
    let mut c = checker(config.clone(), port, net).await.unwrap();
    assert!(matches!(
        check_error(&c.check().await),
        CheckError::Denied(_)
    ));

    // Granted exactly, and by a wildcard port rule.
    for rule in [format!("127.0.0.1:{port}"), "127.0.0.0/8:*".to_string()] {
        let grants = Grants {
            connect: vec![rule.parse().unwrap()],
            ..Grants::default()
        };
        let mut c = checker(config.clone(), port, grants).await.unwrap();
        let msg = verdict(&c.check().await, Health::Up);
        assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
    }
    drop(listener);
}

/// A one-response-per-connection HTTP server.
async fn http_server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    port
}

#[tokio::test]
async fn http_is_denied_unless_granted() {
    if chaos().is_none() {
        return;
    }
    let port = http_server().await;
    let config = serde_json::json!({"mode": "http"});

    let mut c = checker(config.clone(), port, Grants::default())
        .await
        .unwrap();
    let e = check_error(&c.check().await);
    assert!(
        matches!(&e, CheckError::Denied(m) if m.contains("HttpRequestDenied")),
        "{e}"
    );

    let wrong = Grants {
        http: vec![format!("127.0.0.1:{}", port.wrapping_add(1))
            .parse()
            .unwrap()],
        // A socket grant does not open HTTP.
        connect: vec!["127.0.0.1:*".parse().unwrap()],
        ..Grants::default()
    };
    let mut c = checker(config.clone(), port, wrong).await.unwrap();
    assert!(matches!(
        check_error(&c.check().await),
        CheckError::Denied(_)
    ));

    let granted = Grants {
        http: vec![format!("127.0.0.1:{port}").parse().unwrap()],
        ..Grants::default()
    };
    let mut c = checker(config, port, granted).await.unwrap();
    assert_eq!(verdict(&c.check().await, Health::Up), "HTTP 204");
}

#[tokio::test]
async fn environment_is_invisible_unless_granted() {
    let Some(mut c) = checker(
        serde_json::json!({"mode": "env", "var": "PATH"}),
        1,
        Grants::default(),
    )
    .await
    else {
        return;
    };
    assert_eq!(verdict(&c.check().await, Health::Down), "PATH not visible");

    let grants = Grants {
        env: vec![("VIGIL_TOKEN".into(), "s3cret".into())],
        ..Grants::default()
    };
    let mut c = checker(
        serde_json::json!({"mode": "env", "var": "VIGIL_TOKEN"}),
        1,
        grants.clone(),
    )
    .await
    .unwrap();
    assert_eq!(verdict(&c.check().await, Health::Up), "VIGIL_TOKEN=s3cret");
    let mut c = checker(serde_json::json!({"mode": "env", "var": "PATH"}), 1, grants)
        .await
        .unwrap();
    verdict(&c.check().await, Health::Down);
}

#[tokio::test]
async fn there_is_no_filesystem() {
    let Some(mut c) = checker(serde_json::json!({"mode": "fs"}), 1, Grants::default()).await else {
        return;
    };
    let e = check_error(&c.check().await);
    assert!(
        matches!(&e, CheckError::Denied(m) if m.contains("/etc/hostname")),
        "{e}"
    );
}

#[tokio::test]
async fn warm_instances_keep_state() {
    let Some(mut c) = checker(
        serde_json::json!({"mode": "stateful"}),
        1,
        Grants::default(),
    )
    .await
    else {
        return;
    };
    for n in 1..=5 {
        let r = c.check().await;
        assert_eq!(verdict(&r, Health::Up), format!("call {n}"));
        assert!(!r.fresh_instance);
    }
    // A fresh instance starts over.
    let r = c.check_fresh().await;
    assert!(r.fresh_instance);
    assert_eq!(verdict(&r, Health::Up), "call 1");
    assert_eq!(verdict(&c.check().await, Health::Up), "call 2");
}

#[tokio::test]
async fn logs_and_output_are_captured() {
    let Some(mut c) = checker(serde_json::json!({"mode": "log"}), 1, Grants::default()).await
    else {
        return;
    };
    let r = c.check().await;
    verdict(&r, Health::Up);
    assert_eq!(
        r.logs,
        vec![
            (LogLevel::Info, "hello from chaos".to_string()),
            (LogLevel::Warn, "a warning from chaos".to_string())
        ]
    );
    assert!(r.output.contains("chaos stdout line\n"), "{:?}", r.output);
    assert!(r.output.contains("chaos stderr line\n"), "{:?}", r.output);
    // Per call, not cumulative.
    let r = c.check().await;
    assert_eq!(r.logs.len(), 2);
    assert_eq!(r.output.matches("chaos stdout line").count(), 1);
}

#[tokio::test]
async fn output_is_bounded() {
    let Some(mut c) = checker(
        serde_json::json!({"mode": "print", "bytes": 1_000_000}),
        1,
        Grants::default(),
    )
    .await
    else {
        return;
    };
    let r = c.check().await;
    verdict(&r, Health::Up);
    assert!(r.output.len() < OUTPUT_LIMIT + 100, "{}", r.output.len());
    assert!(r.output.contains("more bytes of output dropped"));
    // Still healthy and bounded on the next call.
    let r = c.check().await;
    verdict(&r, Health::Up);
    assert!(!r.fresh_instance);
}

#[tokio::test]
async fn bad_config_is_a_setup_error() {
    let Some(plugin) = chaos() else {
        return;
    };
    let cases = [
        (
            serde_json::json!({"mode": "nope"}),
            "invalid value for `mode`: unknown mode \"nope\"",
        ),
        (serde_json::json!({}), "missing key `mode`"),
        (
            serde_json::json!({"mode": "up", "colour": 1}),
            "unknown key `colour`",
        ),
    ];
    for (config, want) in cases {
        let s = spec(config, 1, Grants::default(), Duration::from_secs(2));
        match Checker::new(host(), &plugin, s).await {
            Err(SetupError::Config { error, .. }) => assert_eq!(error.to_string(), want),
            other => panic!("expected a config error, got {other:?}"),
        }
    }
    let no_port = CheckSpec {
        target: Target {
            host: "127.0.0.1".into(),
            port: None,
        },
        ..spec(
            serde_json::json!({"mode": "connect"}),
            1,
            Grants::default(),
            Duration::from_secs(2),
        )
    };
    let err = Checker::new(host(), &plugin, no_port).await.unwrap_err();
    assert!(matches!(
        err,
        SetupError::Config {
            error: ConfigError::InvalidTarget(_),
            ..
        }
    ));
    assert!(
        err.to_string()
            .contains("rejected the configuration of chaos-connect"),
        "{err}"
    );
}

#[tokio::test]
async fn basic_verdicts_and_info() {
    let Some(plugin) = chaos() else {
        return;
    };
    assert_eq!(plugin.world(), World::HealthCheck);
    assert_eq!(plugin.wit_version(), &vigil_plugin_host::WIT_VERSION);
    assert_eq!(plugin.digest().len(), 64);
    assert!(plugin
        .imports()
        .iter()
        .any(|i| i.starts_with("vigil:plugin/log@0.1")));
    let info = plugin.info(host()).await.unwrap();
    assert_eq!(info.name, "chaos");
    assert_eq!(info.capabilities, vec![Capability::Tcp, Capability::Http]);

    let mut up = checker(serde_json::json!({"mode": "up"}), 1, Grants::default())
        .await
        .unwrap();
    let r = up.check().await;
    assert!(r.outcome.passed());
    let mut down = checker(serde_json::json!({"mode": "down"}), 1, Grants::default())
        .await
        .unwrap();
    assert!(!down.check().await.outcome.passed());
    let mut error = checker(serde_json::json!({"mode": "error"}), 1, Grants::default())
        .await
        .unwrap();
    let r = error.check().await;
    assert_eq!(
        check_error(&r),
        CheckError::Protocol("error on purpose".into())
    );
    assert!(!r.fresh_instance, "a check error keeps the instance");
    assert!(!error.check().await.fresh_instance);
}

#[tokio::test]
async fn pool_exhaustion_is_reported() {
    let Some(path) = plugin_path("chaos") else {
        return;
    };
    let small = PluginHost::new(HostOptions {
        max_instances: 2,
        ..HostOptions::default()
    })
    .unwrap();
    let plugin = small.load_file(&path).unwrap();
    let s = || {
        spec(
            serde_json::json!({"mode": "up"}),
            1,
            Grants::default(),
            Duration::from_secs(2),
        )
    };
    let a = Checker::new(&small, &plugin, s()).await.unwrap();
    let _b = Checker::new(&small, &plugin, s()).await.unwrap();
    let err = Checker::new(&small, &plugin, s()).await.unwrap_err();
    assert!(
        matches!(
            &err,
            SetupError::Failed {
                failure: Failure::PoolExhausted(2),
                ..
            }
        ),
        "{err}"
    );
    drop(a);
    Checker::new(&small, &plugin, s()).await.unwrap();
}

#[tokio::test]
async fn plugins_see_their_own_check_timeout() {
    let Some(plugin) = chaos() else {
        return;
    };
    let var = vigil_plugin_host::CHECK_TIMEOUT_ENV;
    assert_eq!(var, "VIGIL_CHECK_TIMEOUT_MS");
    let config = serde_json::json!({"mode": "env", "var": var});
    for (timeout, seen) in [
        (Duration::from_secs(2), "2000"),
        (Duration::from_millis(750), "750"),
    ] {
        let mut c = Checker::new(
            host(),
            &plugin,
            spec(config.clone(), 1, Grants::default(), timeout),
        )
        .await
        .unwrap();
        assert_eq!(
            verdict(&c.check().await, Health::Up),
            format!("{var}={seen}")
        );
        // A fresh instance is told the same.
        assert_eq!(
            verdict(&c.check_fresh().await, Health::Up),
            format!("{var}={seen}")
        );
    }
    // The operator cannot grant a different value by accident: the host's wins,
    // and the other granted variables are still there.
    let grants = Grants {
        env: vec![
            (var.into(), "60000".into()),
            ("VIGIL_TOKEN".into(), "s3cret".into()),
        ],
        ..Grants::default()
    };
    let mut c = checker(config, 1, grants.clone()).await.unwrap();
    assert_eq!(verdict(&c.check().await, Health::Up), format!("{var}=2000"));
    let mut c = checker(
        serde_json::json!({"mode": "env", "var": "VIGIL_TOKEN"}),
        1,
        grants,
    )
    .await
    .unwrap();
    assert_eq!(verdict(&c.check().await, Health::Up), "VIGIL_TOKEN=s3cret");
    // A check is not told a notifier's deadline.
    let mut c = checker(
        serde_json::json!({"mode": "env", "var": vigil_plugin_host::NOTIFY_TIMEOUT_ENV}),
        1,
        Grants::default(),
    )
    .await
    .unwrap();
    verdict(&c.check().await, Health::Down);
}

/// An HTTP server that hands the head of every request it gets to the test
/// and answers 204.
async fn recording_http_server() -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tx.send(String::from_utf8_lossy(&head).into_owned());
                let _ = s
                    .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    (port, rx)
}

/// The values of the `Host` header lines in a request head.
fn host_lines(head: &str) -> Vec<String> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.trim().to_owned())
        .collect()
}

fn http_grant(port: u16) -> Grants {
    Grants {
        http: vec![format!("127.0.0.1:{port}").parse().unwrap()],
        ..Grants::default()
    }
}

#[tokio::test]
async fn plugins_may_send_a_virtual_host_and_nothing_else_forbidden() {
    if chaos().is_none() {
        return;
    }
    let (port, mut seen) = recording_http_server().await;
    let (other, mut other_seen) = recording_http_server().await;
    let http = |headers: serde_json::Value| serde_json::json!({"mode": "http", "headers": headers});

    // No Host from the plugin: exactly one, the authority.
    let mut c = checker(http(serde_json::json!([])), port, http_grant(port))
        .await
        .unwrap();
    assert_eq!(verdict(&c.check().await, Health::Up), "HTTP 204");
    let head = seen.recv().await.unwrap();
    assert_eq!(host_lines(&head), [format!("127.0.0.1:{port}")], "{head}");

    // A virtual host replaces it; exactly one Host reaches the server.
    let vhost = serde_json::json!([["Host", "www.example.com"]]);
    let mut c = checker(http(vhost), port, http_grant(port)).await.unwrap();
    assert_eq!(verdict(&c.check().await, Health::Up), "HTTP 204");
    let head = seen.recv().await.unwrap();
    assert_eq!(host_lines(&head), ["www.example.com"], "{head}");

    // Naming another server in Host moves nothing: the connection goes to the
    // granted authority of the URI, and the other server hears nothing.
    let elsewhere = serde_json::json!([["host", format!("127.0.0.1:{other}")]]);
    let mut c = checker(http(elsewhere.clone()), port, http_grant(port))
        .await
        .unwrap();
    assert_eq!(verdict(&c.check().await, Health::Up), "HTTP 204");
    let head = seen.recv().await.unwrap();
    assert_eq!(host_lines(&head), [format!("127.0.0.1:{other}")], "{head}");
    // ... and a Host naming a granted server does not open an ungranted URI.
    let granted_host = serde_json::json!([["host", format!("127.0.0.1:{port}")]]);
    let mut c = checker(http(granted_host), other, http_grant(port))
        .await
        .unwrap();
    let e = check_error(&c.check().await);
    assert!(
        matches!(&e, CheckError::Denied(m) if m.contains("HttpRequestDenied")),
        "{e}"
    );

    // Two Host headers, or a malformed one, never reach the wire.
    for bad in [
        serde_json::json!([["host", "a.example"], ["host", "b.example"]]),
        serde_json::json!([["host", "user@evil.example"]]),
        serde_json::json!([["host", "a.example:http"]]),
    ] {
        let mut c = checker(http(bad.clone()), port, http_grant(port))
            .await
            .unwrap();
        let e = check_error(&c.check().await);
        assert!(
            matches!(&e, CheckError::Io(m) if m.contains("Host header")),
            "{bad}: {e}"
        );
    }

    // The other headers wasmtime-wasi-http forbids stay forbidden.
    for name in [
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
        "http2-settings",
    ] {
        let mut c = checker(
            http(serde_json::json!([[name, "x"]])),
            port,
            http_grant(port),
        )
        .await
        .unwrap();
        assert_eq!(
            check_error(&c.check().await),
            CheckError::Denied(format!("header {name}: forbidden"))
        );
    }

    // Nothing refused above was sent anywhere.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(seen.try_recv().is_err());
    assert!(other_seen.try_recv().is_err());
}

//! The first-party health-check plugins, run by this host against real servers
//! (nginx, HAProxy, MariaDB) on 127.0.0.1: each check is up when its service is
//! healthy; fails, before the host's deadline, when the service is stopped,
//! wedged (SIGSTOP) or misconfigured (also with the plugin's default `timeout`
//! under a 1 s check: the plugin learns the check's timeout from the host); and
//! is refused by the sandbox when its address is not granted. The http plugins'
//! `virtualhost` reaches nginx as the one Host header and picks its server block.
//!
//! Components come from `$VIGIL_PLUGIN_DIR` or `<repo>/target/plugins` (built by
//! `plugins/build.sh`); a missing one skips its tests ("skipped: build plugins
//! with plugins/build.sh") unless `VIGIL_REQUIRE_PLUGINS=1`. A missing server
//! binary skips its tests ("skipped: nginx not installed") unless
//! `VIGIL_REQUIRE_SERVERS=1`. Servers are started per test (nginx, HAProxy: a few
//! milliseconds) or copied from a data directory made once per run (MariaDB).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod servers;

use std::collections::HashMap;
use std::net::{Ipv4Addr, TcpStream};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde_json::{json, Value};
use servers::{pages, Server};
use vigil_plugin_host::testing::plugin_path;
use vigil_plugin_host::{
    AuthorityRule, CheckError, CheckOutcome, CheckReport, CheckResult, CheckSpec, Checker, Grants,
    Health, HostOptions, Plugin, PluginHost, SocketRule, Target,
};

/// The host's deadline for one call. Plugins get a 1 s timeout, so a failure
/// that reaches this deadline means the plugin's own timeout did not work.
const HOST_DEADLINE: Duration = Duration::from_secs(4);
/// The plugins' own timeout (their `timeout` key).
const TIMEOUT: &str = "1s";
/// A Vigil check's default timeout. A plugin left at its default `timeout`
/// spends most of it (the host tells it `VIGIL_CHECK_TIMEOUT_MS`), so a wedged
/// server is the plugin's own `timeout` error, not the host's deadline.
const CHECK_TIMEOUT: Duration = Duration::from_secs(1);

fn host() -> &'static PluginHost {
    static HOST: OnceLock<PluginHost> = OnceLock::new();
    HOST.get_or_init(|| {
        let cache = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/plugin-cache");
        PluginHost::new(HostOptions {
            cache_dir: Some(cache),
            max_instances: 64,
            ..HostOptions::default()
        })
        .expect("plugin host")
    })
}

/// Loads a first-party component once per test binary; `None` skips the test.
fn plugin(name: &str) -> Option<Plugin> {
    static LOADED: OnceLock<Mutex<HashMap<String, Plugin>>> = OnceLock::new();
    let loaded = LOADED.get_or_init(Default::default);
    let mut loaded = loaded.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = loaded.get(name) {
        return Some(p.clone());
    }
    let path = plugin_path(name)?;
    let p = host()
        .load_file(&path)
        .unwrap_or_else(|e| panic!("loading {}: {e}", path.display()));
    loaded.insert(name.into(), p.clone());
    Some(p)
}

fn tcp_grant(port: u16) -> Grants {
    Grants {
        connect: vec![format!("127.0.0.1:{port}").parse::<SocketRule>().unwrap()],
        ..Grants::default()
    }
}

fn http_grant(port: u16) -> Grants {
    Grants {
        http: vec![format!("127.0.0.1:{port}")
            .parse::<AuthorityRule>()
            .unwrap()],
        ..Grants::default()
    }
}

/// One configured check of a first-party plugin against 127.0.0.1:`port`.
struct Probe {
    label: String,
    checker: Checker,
}

impl Probe {
    /// `None` when the plugin is not built (the test is skipped).
    async fn new(plugin_name: &str, config: Value, port: u16, grants: Grants) -> Option<Probe> {
        Self::with_timeout(plugin_name, config, port, grants, HOST_DEADLINE).await
    }

    /// A probe whose check has `timeout` (the host's deadline for each call).
    async fn with_timeout(
        plugin_name: &str,
        config: Value,
        port: u16,
        grants: Grants,
        timeout: Duration,
    ) -> Option<Probe> {
        let plugin = plugin(plugin_name)?;
        let label = format!("{plugin_name} {config} within {timeout:?}");
        let spec = CheckSpec {
            name: label.clone(),
            config_json: config.to_string(),
            target: Target::new("127.0.0.1", port),
            grants,
            timeout,
        };
        let checker = Checker::new(host(), &plugin, spec)
            .await
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        Some(Probe { label, checker })
    }

    async fn check(&mut self) -> CheckReport {
        let report = self.checker.check().await;
        eprintln!(
            "[{}] {} ({} ms)",
            self.label,
            report.outcome,
            report.elapsed.as_millis()
        );
        report
    }
}

#[track_caller]
fn verdict(report: &CheckReport, health: Health) -> CheckResult {
    match &report.outcome {
        CheckOutcome::Verdict(r) if r.health == health => r.clone(),
        other => panic!(
            "expected a {health} verdict, got {other}; plugin output: {}",
            report.output
        ),
    }
}

#[track_caller]
fn error(report: &CheckReport) -> CheckError {
    match &report.outcome {
        CheckOutcome::Error(e) => e.clone(),
        other => panic!(
            "expected a check error, got {other}; plugin output: {}",
            report.output
        ),
    }
}

/// The check failed (a down verdict or a check error) and the plugin itself
/// ended the call: the host's deadline was not needed.
#[track_caller]
fn failed_in_time(report: &CheckReport) {
    assert!(
        !report.outcome.passed(),
        "expected a failure, got {}",
        report.outcome
    );
    assert!(
        !matches!(report.outcome, CheckOutcome::Failed(_)),
        "the plugin did not finish by itself: {}",
        report.outcome
    );
    assert!(report.elapsed < HOST_DEADLINE);
}

#[track_caller]
fn denied(report: &CheckReport) {
    match error(report) {
        CheckError::Denied(_) => {}
        other => panic!("expected the sandbox to deny the address, got {other}"),
    }
}

#[track_caller]
fn timed_out(report: &CheckReport) {
    failed_in_time(report);
    match error(report) {
        CheckError::Timeout => {}
        other => panic!("expected a timeout from the wedged server, got {other}"),
    }
}

/// With the plugin's default `timeout` and a [`CHECK_TIMEOUT`] check: the
/// wedged server ends as the plugin's own `timeout` error, before the host's
/// deadline (which would discard the instance as `Failure::Deadline`).
#[track_caller]
fn timed_out_by_itself(report: &CheckReport) {
    assert!(
        matches!(report.outcome, CheckOutcome::Error(CheckError::Timeout)),
        "expected the plugin's own timeout, got {} after {:?}",
        report.outcome,
        report.elapsed
    );
    assert!(report.elapsed < CHECK_TIMEOUT, "{:?}", report.elapsed);
    // Most of the check's timeout was used for waiting, not given away.
    assert!(
        report.elapsed >= CHECK_TIMEOUT / 2,
        "gave up early: {:?}",
        report.elapsed
    );
}

#[track_caller]
fn metric(r: &CheckResult, name: &str) -> f64 {
    r.metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no metric {name} in {:?}", r.metrics))
        .value
}

// ---------------------------------------------------------------------------
// nginx (stub_status)

#[tokio::test]
async fn nginx_reads_stub_status() {
    let Some(nginx) = servers::nginx() else {
        return;
    };
    let Some(mut p) = Probe::new(
        "nginx",
        json!({"timeout": TIMEOUT}),
        nginx.port,
        http_grant(nginx.port),
    )
    .await
    else {
        return;
    };
    let r = verdict(&p.check().await, Health::Up);
    // The check's own request is active (writing) while nginx renders the page.
    assert!(metric(&r, "active") >= 1.0, "{r}");
    assert!(metric(&r, "writing") >= 1.0, "{r}");
    let first = metric(&r, "requests");
    let r = verdict(&p.check().await, Health::Up);
    assert!(
        metric(&r, "requests") > first,
        "requests counter did not grow: {r}"
    );
    assert_eq!(metric(&r, "accepts"), metric(&r, "handled"));

    // The check's own connection is one, so max_active 0 is always exceeded.
    let mut p = Probe::new(
        "nginx",
        json!({"timeout": TIMEOUT, "max_active": 0}),
        nginx.port,
        http_grant(nginx.port),
    )
    .await
    .unwrap();
    let r = verdict(&p.check().await, Health::Degraded);
    assert!(r.message.contains("over max_active 0"), "{r}");
}

#[tokio::test]
async fn nginx_wrong_page_is_down_or_protocol_error() {
    let Some(nginx) = servers::nginx() else {
        return;
    };
    let grants = http_grant(nginx.port);
    for (path, status) in [("/error", 500), ("/missing", 404)] {
        let Some(mut p) = Probe::new(
            "nginx",
            json!({"path": path, "timeout": TIMEOUT}),
            nginx.port,
            grants.clone(),
        )
        .await
        else {
            return;
        };
        let r = verdict(&p.check().await, Health::Down);
        assert!(r.message.contains(&format!("HTTP {status}")), "{r}");
    }
    // A 200 page that is not stub_status: the check is pointed at the wrong thing.
    let mut p = Probe::new(
        "nginx",
        json!({"path": "/health", "timeout": TIMEOUT}),
        nginx.port,
        grants,
    )
    .await
    .unwrap();
    match error(&p.check().await) {
        CheckError::Protocol(m) => assert!(m.contains("not an nginx stub_status page"), "{m}"),
        other => panic!("expected a protocol error, got {other}"),
    }
}

#[tokio::test]
async fn nginx_virtualhost_selects_the_server_block() {
    let Some(nginx) = servers::nginx() else {
        return;
    };
    let grants = http_grant(nginx.port);
    let config = json!({"path": "/vhost_status", "virtualhost": pages::VHOST, "timeout": TIMEOUT});
    let Some(mut p) = Probe::new("nginx", config, nginx.port, grants.clone()).await else {
        return;
    };
    // stub_status exists only in the virtual server's block.
    let r = verdict(&p.check().await, Health::Up);
    assert!(metric(&r, "requests") >= 1.0, "{r}");
    // Without the Host header the default server answers 404 there.
    let mut p = Probe::new(
        "nginx",
        json!({"path": "/vhost_status", "timeout": TIMEOUT}),
        nginx.port,
        grants,
    )
    .await
    .unwrap();
    verdict(&p.check().await, Health::Down);
}

/// `/whoami` names the server block that answered and the Host header nginx
/// got; nginx refuses a request with two Host headers (400), so a 200 also
/// says exactly one arrived.
fn whoami_regex(server: &str, host: &str) -> String {
    let body = pages::whoami(server, host);
    format!("(?m)^{}$", body.trim_end().replace('.', r"\."))
}

#[tokio::test]
async fn http_plugins_send_the_virtualhost() {
    let Some(nginx) = servers::nginx() else {
        return;
    };
    let grants = http_grant(nginx.port);
    let authority = format!("127.0.0.1:{}", nginx.port);
    for (vhost, server, host) in [
        (Some(pages::VHOST), "virtual", pages::VHOST),
        (None, "default", authority.as_str()),
    ] {
        let mut config = json!({"path": "/whoami", "regex": whoami_regex(server, host)});
        if let Some(v) = vhost {
            config["virtualhost"] = json!(v);
        }
        let Some(mut p) = Probe::new("http", config, nginx.port, grants.clone()).await else {
            return;
        };
        verdict(&p.check().await, Health::Up);

        let mut config =
            json!({"path": "/whoami", "contains": [pages::whoami(server, host).trim_end()]});
        if let Some(v) = vhost {
            config["virtualhost"] = json!(v);
        }
        let Some(mut p) = Probe::new("http-dump", config, nginx.port, grants.clone()).await else {
            return;
        };
        let report = p.check().await;
        verdict(&report, Health::Up);
    }
    // The wrong expectation is down, so the checks above did look at the body.
    let config = json!({"path": "/whoami", "virtualhost": pages::VHOST,
                        "regex": whoami_regex("default", pages::VHOST)});
    let mut p = Probe::new("http", config, nginx.port, grants.clone())
        .await
        .unwrap();
    verdict(&p.check().await, Health::Down);
    // With a port in the virtual host, nginx still picks the block by name.
    let vhost = format!("{}:{}", pages::VHOST, nginx.port);
    let config = json!({"path": "/whoami", "virtualhost": vhost,
                        "regex": whoami_regex("virtual", &vhost)});
    let mut p = Probe::new("http", config, nginx.port, grants)
        .await
        .unwrap();
    verdict(&p.check().await, Health::Up);
}

#[tokio::test]
async fn nginx_stopped_wedged_and_not_granted() {
    let Some(mut nginx) = servers::nginx() else {
        return;
    };
    let config = json!({"timeout": TIMEOUT});
    let Some(mut p) = Probe::new("nginx", config.clone(), nginx.port, http_grant(nginx.port)).await
    else {
        return;
    };
    let mut refused = Probe::new(
        "nginx",
        config,
        nginx.port,
        http_grant(servers::closed_port()),
    )
    .await
    .unwrap();
    let mut default = Probe::with_timeout(
        "nginx",
        json!({}),
        nginx.port,
        http_grant(nginx.port),
        CHECK_TIMEOUT,
    )
    .await
    .unwrap();
    denied(&refused.check().await);
    verdict(&p.check().await, Health::Up);
    verdict(&default.check().await, Health::Up);
    {
        let _frozen = nginx.wedge();
        timed_out(&p.check().await);
        timed_out_by_itself(&default.check().await);
    }
    verdict(&p.check().await, Health::Up);
    let r = default.check().await;
    verdict(&r, Health::Up);
    assert!(!r.fresh_instance, "the instance was kept");
    nginx.stop();
    failed_in_time(&p.check().await);
}

// ---------------------------------------------------------------------------
// HAProxy (stats CSV)

/// nginx plus an HAProxy whose backend `app` has web1 = nginx (UP) and web2 = a
/// closed port (DOWN), waiting until HAProxy's checks have settled.
fn haproxy_pair() -> Option<(Server, servers::Haproxy)> {
    let nginx = servers::nginx()?;
    let h = servers::haproxy(nginx.port)?;
    let settled = |csv: &str, server: &str, status: &str| {
        csv.lines()
            .any(|l| l.starts_with(&format!("app,{server},")) && l.contains(&format!(",{status},")))
    };
    for _ in 0..100 {
        let csv = servers::http_get(h.stats_port, "/stats;csv").unwrap_or_default();
        if settled(&csv, "web1", "UP") && settled(&csv, "web2", "DOWN") {
            return Some((nginx, h));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "HAProxy's health checks did not settle; its log:\n{}",
        h.server.log()
    );
}

#[tokio::test]
async fn haproxy_judges_backend_servers() {
    let Some((_nginx, h)) = haproxy_pair() else {
        return;
    };
    let grants = http_grant(h.stats_port);
    let probe = |config: Value| Probe::new("haproxy", config, h.stats_port, grants.clone());

    let Some(mut p) = probe(json!({"backend": "solo", "timeout": TIMEOUT})).await else {
        return;
    };
    let r = verdict(&p.check().await, Health::Up);
    assert_eq!(metric(&r, "servers_up"), 1.0);
    assert_eq!(metric(&r, "servers_total"), 1.0);
    assert_eq!(metric(&r, "sessions"), 0.0);

    let mut p = probe(json!({"backend": "app", "timeout": TIMEOUT}))
        .await
        .unwrap();
    let r = verdict(&p.check().await, Health::Degraded);
    assert_eq!(metric(&r, "servers_up"), 1.0);
    assert_eq!(metric(&r, "servers_total"), 2.0);
    assert!(r.message.contains("not up: web2 (DOWN)"), "{r}");

    let mut p = probe(json!({"backend": "app", "min_up": 2, "timeout": TIMEOUT}))
        .await
        .unwrap();
    let r = verdict(&p.check().await, Health::Down);
    assert!(r.message.contains("fewer than min_up 2"), "{r}");

    // A server put in maintenance counts as not up.
    servers::haproxy_cli(&h, "disable server solo/web1");
    let mut p = probe(json!({"backend": "solo", "timeout": TIMEOUT}))
        .await
        .unwrap();
    let r = verdict(&p.check().await, Health::Down);
    assert!(r.message.contains("web1 (MAINT)"), "{r}");

    let mut p = probe(json!({"backend": "nope", "timeout": TIMEOUT}))
        .await
        .unwrap();
    let r = verdict(&p.check().await, Health::Down);
    assert!(r.message.contains("not in the stats"), "{r}");

    // The HTML stats page (no `;csv`) is not what the check reads.
    let mut p = probe(json!({"backend": "app", "path": "/stats", "timeout": TIMEOUT}))
        .await
        .unwrap();
    assert!(matches!(error(&p.check().await), CheckError::Protocol(m) if m.contains(";csv")));
}

#[tokio::test]
async fn haproxy_backend_goes_down_with_its_servers() {
    let Some((mut nginx, h)) = haproxy_pair() else {
        return;
    };
    let config = json!({"backend": "solo", "timeout": TIMEOUT});
    let Some(mut p) = Probe::new("haproxy", config, h.stats_port, http_grant(h.stats_port)).await
    else {
        return;
    };
    verdict(&p.check().await, Health::Up);
    nginx.stop();
    let mut last = None;
    for _ in 0..40 {
        let report = p.check().await;
        if let CheckOutcome::Verdict(r) = &report.outcome {
            if r.health == Health::Down {
                last = Some(r.clone());
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = last.expect("backend solo never went down after nginx stopped");
    assert!(r.message.contains("backend 'solo' is DOWN"), "{r}");
}

#[tokio::test]
async fn haproxy_frontends() {
    let Some((_nginx, h)) = haproxy_pair() else {
        return;
    };
    let grants = http_grant(h.stats_port);
    let config = json!({"frontend": "web", "backend": "solo", "timeout": TIMEOUT});
    let Some(mut p) = Probe::new("haproxy", config, h.stats_port, grants.clone()).await else {
        return;
    };
    let r = verdict(&p.check().await, Health::Up);
    assert!(r.message.contains("frontend 'web' is OPEN"), "{r}");

    // `tiny` has maxconn 1: one idle connection puts it at its session limit.
    let mut p = Probe::new(
        "haproxy",
        json!({"frontend": "tiny", "timeout": TIMEOUT}),
        h.stats_port,
        grants.clone(),
    )
    .await
    .unwrap();
    verdict(&p.check().await, Health::Up);
    let hold = TcpStream::connect((Ipv4Addr::LOCALHOST, h.tiny_port)).unwrap();
    assert!(
        servers::wait_for_stats(&h, "tiny,FRONTEND,,,1,", Duration::from_secs(2)),
        "tiny never counted the held connection"
    );
    let r = verdict(&p.check().await, Health::Degraded);
    assert!(r.message.contains("at its session limit (1/1)"), "{r}");
    drop(hold);

    // Paused from the admin socket (as during a soft stop): down.
    servers::haproxy_cli(&h, "disable frontend tiny");
    let r = verdict(&p.check().await, Health::Down);
    assert_eq!(r.message, "frontend 'tiny' is PAUSED");

    let mut p = Probe::new(
        "haproxy",
        json!({"frontend": "nope", "timeout": TIMEOUT}),
        h.stats_port,
        grants,
    )
    .await
    .unwrap();
    verdict(&p.check().await, Health::Down);
}

#[tokio::test]
async fn haproxy_stats_auth() {
    let Some((_nginx, h)) = haproxy_pair() else {
        return;
    };
    let port = h.auth_stats_port;
    let probe = |config: Value| Probe::new("haproxy", config, port, http_grant(port));
    let Some(mut p) = probe(json!({"backend": "solo", "timeout": TIMEOUT})).await else {
        return;
    };
    let r = verdict(&p.check().await, Health::Down);
    assert!(r.message.contains("HTTP 401"), "{r}");

    let mut p = probe(json!({"backend": "solo", "user": servers::STATS_USER, "password": "wrong", "timeout": TIMEOUT}))
        .await
        .unwrap();
    let r = verdict(&p.check().await, Health::Down);
    assert!(r.message.contains("rejected"), "{r}");

    let mut p = probe(json!({
        "backend": "solo",
        "user": servers::STATS_USER,
        "password": servers::STATS_PASSWORD,
        "timeout": TIMEOUT,
    }))
    .await
    .unwrap();
    verdict(&p.check().await, Health::Up);
}

#[tokio::test]
async fn haproxy_stopped_wedged_and_not_granted() {
    let Some((_nginx, mut h)) = haproxy_pair() else {
        return;
    };
    let config = json!({"backend": "solo", "timeout": TIMEOUT});
    let Some(mut p) = Probe::new(
        "haproxy",
        config.clone(),
        h.stats_port,
        http_grant(h.stats_port),
    )
    .await
    else {
        return;
    };
    let mut refused = Probe::new("haproxy", config, h.stats_port, http_grant(h.web_port))
        .await
        .unwrap();
    let mut default = Probe::with_timeout(
        "haproxy",
        json!({"backend": "solo"}),
        h.stats_port,
        http_grant(h.stats_port),
        CHECK_TIMEOUT,
    )
    .await
    .unwrap();
    denied(&refused.check().await);
    verdict(&p.check().await, Health::Up);
    verdict(&default.check().await, Health::Up);
    {
        let _frozen = h.server.wedge();
        timed_out(&p.check().await);
        timed_out_by_itself(&default.check().await);
    }
    verdict(&p.check().await, Health::Up);
    h.server.stop();
    failed_in_time(&p.check().await);
}

// ---------------------------------------------------------------------------
// MySQL / MariaDB

/// One MariaDB shared by the tests that do not stop or freeze it (not started
/// when the mysql plugin is not built).
fn shared_mariadb() -> Option<&'static Server> {
    static DB: OnceLock<Option<Server>> = OnceLock::new();
    plugin("mysql")?;
    DB.get_or_init(servers::mariadb).as_ref()
}

fn mysql_config(extra: Value) -> Value {
    let mut config = json!({
        "user": servers::DB_USER,
        "password": servers::DB_PASSWORD,
        "timeout": TIMEOUT,
    });
    if let (Some(c), Value::Object(extra)) = (config.as_object_mut(), extra) {
        c.extend(extra);
    }
    config
}

async fn mysql_probe(db: &Server, extra: Value) -> Option<Probe> {
    Probe::new("mysql", mysql_config(extra), db.port, tcp_grant(db.port)).await
}

#[tokio::test]
async fn mysql_logs_in_and_queries() {
    let Some(db) = shared_mariadb() else { return };
    let Some(mut p) = mysql_probe(db, json!({})).await else {
        return;
    };
    let r = verdict(&p.check().await, Health::Up);
    assert!(r.message.contains("MariaDB"), "{r}");
    assert!(r.message.contains("SELECT 1 returned 1 row"), "{r}");
    assert!(metric(&r, "latency_ms") > 0.0);
    // The instance stays warm; a second check logs in again.
    verdict(&p.check().await, Health::Up);

    let mut p = mysql_probe(
        db,
        json!({"database": "vigil", "query": "SELECT CONCAT('re', 'ady')", "expect": "ready"}),
    )
    .await
    .unwrap();
    verdict(&p.check().await, Health::Up);

    let mut p = mysql_probe(db, json!({"query": "SELECT 'stale'", "expect": "ready"}))
        .await
        .unwrap();
    let r = verdict(&p.check().await, Health::Down);
    assert!(
        r.message.contains(r#"returned "stale", expected "ready""#),
        "{r}"
    );
}

#[tokio::test]
async fn mysql_server_errors_are_down_with_the_servers_message() {
    let Some(db) = shared_mariadb() else { return };
    let Some(mut p) = mysql_probe(db, json!({"password": "wrong"})).await else {
        return;
    };
    let r = verdict(&p.check().await, Health::Down);
    assert!(
        r.message
            .contains("Access denied for user 'vigil'@'127.0.0.1'"),
        "{r}"
    );

    let mut p = mysql_probe(db, json!({"database": "nope"})).await.unwrap();
    let r = verdict(&p.check().await, Health::Down);
    assert!(r.message.contains("'nope'"), "{r}");

    let mut p = mysql_probe(db, json!({"query": "SELEC 1"})).await.unwrap();
    let r = verdict(&p.check().await, Health::Down);
    assert!(r.message.contains("error in your SQL syntax"), "{r}");
}

#[tokio::test]
async fn mysql_reports_unsupported_auth_plugin() {
    let Some(db) = shared_mariadb() else { return };
    let Some(mut p) = mysql_probe(db, json!({"user": servers::DB_ED25519_USER})).await else {
        return;
    };
    let report = p.check().await;
    failed_in_time(&report);
    match error(&report) {
        CheckError::Protocol(m) => {
            assert!(m.contains("'client_ed25519'"), "{m}");
            assert!(m.contains("mysql_native_password"), "{m}");
        }
        other => panic!("expected a protocol error naming the plugin, got {other}"),
    }
}

#[tokio::test]
async fn mysql_replica_check_on_a_primary_is_down() {
    let Some(db) = shared_mariadb() else { return };
    let Some(mut p) = mysql_probe(db, json!({"replica": true})).await else {
        return;
    };
    let r = verdict(&p.check().await, Health::Down);
    assert!(r.message.contains("not a replica"), "{r}");
}

#[tokio::test]
async fn mysql_replica_check_follows_replication() {
    if plugin("mysql").is_none() {
        return;
    }
    let Some(primary) = servers::mariadb_with(1, &["--log-bin=primary-bin".into()]) else {
        return;
    };
    servers::mariadb_sql(
        &primary,
        "SET SESSION sql_log_bin = 0;
         CREATE USER 'repl'@'%' IDENTIFIED BY 'repl';
         GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';",
    );
    let replica = servers::mariadb_with(2, &[]).unwrap();
    servers::mariadb_sql(
        &replica,
        &format!(
            "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, MASTER_USER='repl',
               MASTER_PASSWORD='repl', MASTER_USE_GTID=no, MASTER_CONNECT_RETRY=1;
             START SLAVE;",
            primary.port
        ),
    );
    let config = json!({"warn_replica_lag": 30, "max_replica_lag": 60});
    let mut p = mysql_probe(&replica, config.clone()).await.unwrap();
    let mut up = None;
    for _ in 0..100 {
        let report = p.check().await;
        match &report.outcome {
            CheckOutcome::Verdict(r) if r.health == Health::Up => {
                up = Some(r.clone());
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let r = up.unwrap_or_else(|| {
        panic!(
            "the replica never became healthy: {}",
            servers::mariadb_sql(&replica, "SHOW SLAVE STATUS\\G")
        )
    });
    assert!(r.message.contains("replica running"), "{r}");
    // Up means within warn_replica_lag; the exact lag depends on the machine's load.
    assert!(metric(&r, "replica_lag_seconds") >= 0.0);

    servers::mariadb_sql(&replica, "STOP SLAVE SQL_THREAD;");
    let r = verdict(&p.check().await, Health::Down);
    assert!(r.message.contains("SQL thread is not running"), "{r}");
    servers::mariadb_sql(&replica, "START SLAVE SQL_THREAD;");

    // The primary gone: the IO thread stops connecting.
    drop(primary);
    let mut down = None;
    for _ in 0..50 {
        let report = p.check().await;
        if let CheckOutcome::Verdict(r) = &report.outcome {
            if r.health == Health::Down && r.message.contains("IO thread") {
                down = Some(r.clone());
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    down.expect("replica check did not go down after its primary stopped");
}

#[tokio::test]
async fn mysql_stopped_wedged_and_not_granted() {
    if plugin("mysql").is_none() {
        return;
    }
    let Some(mut db) = servers::mariadb() else {
        return;
    };
    let mut p = mysql_probe(&db, json!({})).await.unwrap();
    let mut refused = Probe::new(
        "mysql",
        mysql_config(json!({})),
        db.port,
        tcp_grant(servers::closed_port()),
    )
    .await
    .unwrap();
    let mut default = Probe::with_timeout(
        "mysql",
        json!({"user": servers::DB_USER, "password": servers::DB_PASSWORD}),
        db.port,
        tcp_grant(db.port),
        CHECK_TIMEOUT,
    )
    .await
    .unwrap();
    denied(&refused.check().await);
    verdict(&p.check().await, Health::Up);
    verdict(&default.check().await, Health::Up);
    {
        let _frozen = db.wedge();
        timed_out(&p.check().await);
        timed_out_by_itself(&default.check().await);
    }
    verdict(&p.check().await, Health::Up);
    db.stop();
    let report = p.check().await;
    failed_in_time(&report);
    assert!(
        matches!(error(&report), CheckError::ConnectionRefused(_)),
        "{}",
        report.outcome
    );
}

// ---------------------------------------------------------------------------
// tcp (connect, send/expect)

/// An HTTP request the tcp check sends to nginx.
const HEALTH_REQUEST: &str = "GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n";

#[tokio::test]
async fn tcp_connects_and_expects() {
    let Some(nginx) = servers::nginx() else {
        return;
    };
    let grants = tcp_grant(nginx.port);
    let Some(mut p) = Probe::new(
        "tcp",
        json!({"timeout": TIMEOUT}),
        nginx.port,
        grants.clone(),
    )
    .await
    else {
        return;
    };
    let r = verdict(&p.check().await, Health::Up);
    assert!(metric(&r, "connect_ms") >= 0.0);

    let config = json!({"send": HEALTH_REQUEST, "expect": "200 OK", "timeout": TIMEOUT});
    let mut p = Probe::new("tcp", config, nginx.port, grants.clone())
        .await
        .unwrap();
    verdict(&p.check().await, Health::Up);

    // nginx answers, but not what the check expects.
    let config = json!({"send": HEALTH_REQUEST, "expect": "418 I'm a teapot", "timeout": TIMEOUT});
    let mut p = Probe::new("tcp", config, nginx.port, grants).await.unwrap();
    failed_in_time(&p.check().await);
}

#[tokio::test]
async fn tcp_stopped_wedged_and_not_granted() {
    let Some(mut nginx) = servers::nginx() else {
        return;
    };
    // Connect-only would pass against a frozen server (the kernel still accepts);
    // send/expect notices.
    let config = json!({"send": HEALTH_REQUEST, "expect": "200 OK", "timeout": TIMEOUT});
    let Some(mut p) = Probe::new("tcp", config.clone(), nginx.port, tcp_grant(nginx.port)).await
    else {
        return;
    };
    let mut refused = Probe::new("tcp", config, nginx.port, tcp_grant(servers::closed_port()))
        .await
        .unwrap();
    let mut default = Probe::with_timeout(
        "tcp",
        json!({"send": HEALTH_REQUEST, "expect": "200 OK"}),
        nginx.port,
        tcp_grant(nginx.port),
        CHECK_TIMEOUT,
    )
    .await
    .unwrap();
    denied(&refused.check().await);
    verdict(&p.check().await, Health::Up);
    verdict(&default.check().await, Health::Up);
    {
        let _frozen = nginx.wedge();
        timed_out(&p.check().await);
        timed_out_by_itself(&default.check().await);
    }
    verdict(&p.check().await, Health::Up);
    nginx.stop();
    let report = p.check().await;
    failed_in_time(&report);
    assert!(
        matches!(error(&report), CheckError::ConnectionRefused(_)),
        "{}",
        report.outcome
    );
}

// ---------------------------------------------------------------------------
// http (status, digest, regex)

/// MD5 of [`pages::KNOWN`], as keepalived's `genhash` prints it.
const KNOWN_MD5: &str = "91f7af06a6e05c95a84d738962fd2662";

#[tokio::test]
async fn http_status_digest_and_regex() {
    let Some(nginx) = servers::nginx() else {
        return;
    };
    let grants = http_grant(nginx.port);
    let probe = |config: Value| Probe::new("http", config, nginx.port, grants.clone());
    let Some(mut p) = probe(json!({"path": "/health", "timeout": TIMEOUT})).await else {
        return;
    };
    verdict(&p.check().await, Health::Up);

    let mut p = probe(json!({"path": "/error", "timeout": TIMEOUT}))
        .await
        .unwrap();
    let r = verdict(&p.check().await, Health::Down);
    assert!(r.message.contains("500"), "{r}");
    let mut p = probe(json!({"path": "/error", "status": [500], "timeout": TIMEOUT}))
        .await
        .unwrap();
    verdict(&p.check().await, Health::Up);
    let mut p = probe(json!({"path": "/missing", "timeout": TIMEOUT}))
        .await
        .unwrap();
    verdict(&p.check().await, Health::Down);

    let mut p = probe(json!({"path": "/known", "digest": KNOWN_MD5, "timeout": TIMEOUT}))
        .await
        .unwrap();
    verdict(&p.check().await, Health::Up);
    let wrong = "0123456789abcdef0123456789abcdef";
    let mut p = probe(json!({"path": "/known", "digest": wrong, "timeout": TIMEOUT}))
        .await
        .unwrap();
    verdict(&p.check().await, Health::Down);

    let mut p =
        probe(json!({"path": "/known", "regex": "status=(green|yellow)", "timeout": TIMEOUT}))
            .await
            .unwrap();
    verdict(&p.check().await, Health::Up);
    let mut p = probe(json!({"path": "/known", "regex": "status=red", "timeout": TIMEOUT}))
        .await
        .unwrap();
    verdict(&p.check().await, Health::Down);
    let mut p = probe(json!({"path": "/known", "regex_no_match": "green", "timeout": TIMEOUT}))
        .await
        .unwrap();
    verdict(&p.check().await, Health::Down);
}

#[tokio::test]
async fn http_stopped_wedged_and_not_granted() {
    let Some(mut nginx) = servers::nginx() else {
        return;
    };
    let config = json!({"path": "/health", "timeout": TIMEOUT});
    let Some(mut p) = Probe::new("http", config.clone(), nginx.port, http_grant(nginx.port)).await
    else {
        return;
    };
    let mut refused = Probe::new(
        "http",
        config,
        nginx.port,
        http_grant(servers::closed_port()),
    )
    .await
    .unwrap();
    let mut default = Probe::with_timeout(
        "http",
        json!({"path": "/health"}),
        nginx.port,
        http_grant(nginx.port),
        CHECK_TIMEOUT,
    )
    .await
    .unwrap();
    denied(&refused.check().await);
    verdict(&p.check().await, Health::Up);
    verdict(&default.check().await, Health::Up);
    {
        let _frozen = nginx.wedge();
        timed_out(&p.check().await);
        timed_out_by_itself(&default.check().await);
    }
    verdict(&p.check().await, Health::Up);
    nginx.stop();
    failed_in_time(&p.check().await);
}

// ---------------------------------------------------------------------------
// http-dump (page text)

#[tokio::test]
async fn http_dump_checks_the_page_text() {
    let Some(nginx) = servers::nginx() else {
        return;
    };
    let grants = http_grant(nginx.port);
    let probe = |config: Value| Probe::new("http-dump", config, nginx.port, grants.clone());
    let config = json!({
        "path": "/index.html",
        "contains": ["Hello from nginx", "status: green"],
        "not_contains": ["status: red"],
        "timeout": TIMEOUT,
    });
    let Some(mut p) = probe(config).await else {
        return;
    };
    let report = p.check().await;
    verdict(&report, Health::Up);
    // The rendered text is printed for `vigil plugin run`; markup is gone.
    assert!(
        report.output.contains("Hello from nginx"),
        "{}",
        report.output
    );
    assert!(!report.output.contains("<h1>"), "{}", report.output);

    let mut p =
        probe(json!({"path": "/index.html", "contains": ["status: red"], "timeout": TIMEOUT}))
            .await
            .unwrap();
    verdict(&p.check().await, Health::Down);
    let mut p =
        probe(json!({"path": "/index.html", "not_contains": ["green"], "timeout": TIMEOUT}))
            .await
            .unwrap();
    verdict(&p.check().await, Health::Down);
    let mut p = probe(json!({"path": "/error", "timeout": TIMEOUT}))
        .await
        .unwrap();
    verdict(&p.check().await, Health::Down);
}

#[tokio::test]
async fn http_dump_stopped_wedged_and_not_granted() {
    let Some(mut nginx) = servers::nginx() else {
        return;
    };
    let config = json!({"path": "/index.html", "contains": ["Hello"], "timeout": TIMEOUT});
    let Some(mut p) = Probe::new(
        "http-dump",
        config.clone(),
        nginx.port,
        http_grant(nginx.port),
    )
    .await
    else {
        return;
    };
    let mut refused = Probe::new(
        "http-dump",
        config,
        nginx.port,
        http_grant(servers::closed_port()),
    )
    .await
    .unwrap();
    let mut default = Probe::with_timeout(
        "http-dump",
        json!({"path": "/index.html", "contains": ["Hello"]}),
        nginx.port,
        http_grant(nginx.port),
        CHECK_TIMEOUT,
    )
    .await
    .unwrap();
    denied(&refused.check().await);
    verdict(&p.check().await, Health::Up);
    verdict(&default.check().await, Health::Up);
    {
        let _frozen = nginx.wedge();
        timed_out(&p.check().await);
        timed_out_by_itself(&default.check().await);
    }
    verdict(&p.check().await, Health::Up);
    nginx.stop();
    failed_in_time(&p.check().await);
}

//! `[[plugin]]`, `[[check]]` and `[[notifier]]`: what is accepted, the
//! grants a plugin ends up with, and the precise errors for mistakes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use vigil_config::{Config, ConfigErrors, Runner};

fn ok(text: &str) -> Config {
    Config::parse(text, "/etc/vigil/vigil.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn err(text: &str) -> ConfigErrors {
    match Config::parse(text, "/etc/vigil/vigil.toml") {
        Ok(_) => panic!("should fail:\n{text}"),
        Err(e) => e,
    }
}

fn has(e: &ConfigErrors, line: usize, key: &str, needle: &str) {
    let hit = e
        .0
        .iter()
        .any(|x| x.line == line && x.key.as_deref() == Some(key) && x.to_string().contains(needle));
    assert!(hit, "expected line {line} key {key} {needle:?} in:\n{e}");
}

const FULL: &str = r#"
[global]
plugin_dir = "/opt/vigil/plugins"

[[instance]]
name = "VI_1"
interface = "eth0"
vrid = 51
priority = 150
virtual_addresses = ["192.0.2.100/24"]
track_checks = ["legacy", { check = "web", weight = -20 }, { check = "db", weight = 10, reverse = true }]
track_interfaces = ["eth1", { interface = "eth2", weight = -5 }]
track_files = [{ file = "prio", weight = 2 }]

[[plugin]]
name = "mine"
path = "plugins/mine.wasm"

[[check]]
name = "web"
plugin = "http"
target = "192.0.2.10:80"
interval = "2s"
timeout = "500ms"
fall = 3
rise = 2
init_fail = true
retry_delay = "1s"
config = { path = "/health", status = [200, "300-399"], nested = { on = true } }

[[check]]
name = "db"
plugin = "mine"
target = "db.example:3306"
allow_connect = ["192.0.2.0/24:3306", "[2001:db8::/32]:*"]
allow_dns = true
env = { TZ = "UTC" }

[[check]]
name = "legacy"
unsandboxed_script = "/usr/bin/pgrep -x nginx"
user = "nobody"

[[notifier]]
name = "hook"
plugin = "webhook"
allow_http = ["hooks.example:443"]
instances = ["VI_1"]
config = { url = "https://hooks.example/vigil" }

[[notifier]]
name = "script"
unsandboxed_script = "/etc/vigil/notify.sh"

[[notifier]]
name = "on-master"
unsandboxed_script = "/etc/vigil/became-master.sh"
on = ["master"]
append_args = false
"#;

#[test]
fn full_example_is_understood() {
    let c = ok(FULL);
    assert_eq!(c.checks.len(), 3);
    let web = &c.checks[0];
    assert_eq!(web.interval, Duration::from_secs(2));
    assert_eq!(web.timeout, Duration::from_millis(500));
    assert_eq!((web.fall, web.rise), (3, 2));
    let Runner::Plugin {
        path,
        config_json,
        grants,
        ..
    } = &web.runner
    else {
        panic!("plugin runner")
    };
    assert_eq!(path, Path::new("/opt/vigil/plugins/http.wasm"));
    let json: serde_json::Value = serde_json::from_str(config_json).unwrap();
    assert_eq!(json["status"][1], "300-399");
    assert_eq!(json["nested"]["on"], true);
    // The target is granted implicitly, and nothing else.
    let shown: Vec<String> = grants.connect.iter().map(|r| r.to_string()).collect();
    assert_eq!(shown, ["192.0.2.10:80"]);
    assert_eq!(grants.http.len(), 1);
    assert!(!grants.dns && !grants.udp && grants.env.is_empty());

    let db = &c.checks[1];
    let Runner::Plugin { path, grants, .. } = &db.runner else {
        panic!()
    };
    assert_eq!(path, Path::new("/etc/vigil/plugins/mine.wasm"));
    assert_eq!(grants.connect.len(), 2);
    assert!(
        grants.http.is_empty(),
        "explicit grants replace the implicit ones"
    );
    assert!(grants.dns);
    assert_eq!(grants.env.get("TZ").map(String::as_str), Some("UTC"));
    // Defaults: keepalived's fall/rise of 1, a 2 s interval, 1 s timeout.
    assert_eq!((db.fall, db.rise), (1, 1));
    assert_eq!(db.interval, Duration::from_secs(2));
    assert_eq!(db.timeout, Duration::from_secs(1));

    let legacy = &c.checks[2];
    assert!(!legacy.runner.is_sandboxed());
    assert_eq!(
        legacy.runner,
        Runner::Script {
            command: "/usr/bin/pgrep -x nginx".into(),
            user: Some("nobody".into())
        }
    );
    assert_eq!(c.notifiers.len(), 3);
    assert_eq!(c.notifiers[0].instances, ["VI_1"]);
    assert_eq!(c.notifiers[0].timeout, Duration::from_secs(5));
    assert!(c.notifiers[1].on.is_empty() && c.notifiers[1].append_args);
    assert_eq!(c.notifiers[2].on, ["master"]);
    assert!(!c.notifiers[2].append_args);
    assert!(web.init_fail && !db.init_fail);
    assert_eq!(web.retry_delay, Some(Duration::from_secs(1)));

    use vigil_config::{TrackSpec, TrackTarget};
    let t = &c.instances[0].tracks;
    assert_eq!(t.len(), 6);
    assert_eq!(
        t[0],
        TrackSpec {
            target: TrackTarget::Check("legacy".into()),
            weight: None,
            reverse: false
        }
    );
    assert_eq!(t[1].weight, Some(-20));
    assert!(t[2].reverse);
    assert_eq!(t[3].target, TrackTarget::Interface("eth1".into()));
    assert_eq!(t[5].target, TrackTarget::File("/etc/vigil/prio".into()));
}

#[test]
fn tracking_mistakes() {
    let base = "[[instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvrid = 1\npriority = 100\n";
    let e = err(&format!(
        "{base}track_checks = [\"nope\", {{ check = \"c\", weight = 300 }}, {{ interface = \"eth1\" }}]\n\
         track_interfaces = [\"bad/name\", \"eth1\", \"eth1\"]\n\n\
         [[check]]\nname = \"c\"\nplugin = \"tcp\"\n"
    ));
    has(&e, 6, "track_checks[0]", "no [[check]] named \"nope\"");
    has(&e, 6, "track_checks[1].weight", "out of range");
    has(&e, 6, "track_checks[2].interface", "tracks checks");
    has(&e, 7, "track_interfaces[0]", "invalid interface name");
    has(&e, 7, "track_interfaces[2]", "tracked twice");
    let e = err("[[check]]\nname = \"x\"\nplugin = \"tcp\"\ninterval = \"2s\"\nretry_delay = \"5s\"\n\n\
        [[notifier]]\nname = \"n\"\nplugin = \"log\"\non = [\"master\", \"primary\"]\nappend_args = false\n");
    has(&e, 5, "retry_delay", "between timeout");
    has(&e, 10, "on[1]", "unknown value");
    has(&e, 11, "append_args", "only scripts");
}

#[test]
fn round_trips_through_to_toml() {
    let c = ok(FULL);
    let text = c.to_toml();
    let again =
        Config::parse(&text, "/etc/vigil/vigil.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(c, again, "{text}");
    assert_eq!(again.to_toml(), text);
}

#[test]
fn mistakes_name_line_and_key() {
    let e = err(r#"
[[check]]
name = "a"
plugin = "http"
unsandboxed_script = "true"

[[check]]
name = "b"
target = "192.0.2.1:99999"
plugin = "tcp"
timeout = "3s"
interval = "1s"
fall = 0
allow_connect = ["192.0.2.1", "web.example:80"]

[[check]]
name = "c"
unsandboxed_script = "true"
allow_dns = true
config = { x = 1 }

[[check]]
name = "c"
plugin = "tcp"
user = "root"
bogus = 1

[[notifier]]
name = "n"
plugin = "log"
instances = ["nope"]
"#);
    has(&e, 5, "unsandboxed_script", "not both");
    has(&e, 9, "target", "invalid port");
    has(&e, 11, "timeout", "longer than interval");
    has(&e, 13, "fall", "out of range");
    has(&e, 14, "allow_connect[0]", "needs a port");
    has(&e, 14, "allow_connect[1]", "sockets see addresses");
    has(&e, 19, "allow_dns", "unsandboxed");
    has(&e, 20, "config", "passed to plugins");
    has(&e, 26, "bogus", "unknown field");
    has(&e, 31, "instances[0]", "unknown instance");
}

#[test]
fn a_check_needs_something_to_run() {
    let e = err("[[check]]\nname = \"x\"\ninterval = \"5ms\"\n");
    assert!(e.to_string().contains("needs `plugin"), "{e}");
    has(&e, 3, "interval", "at least 10ms");
}

#[test]
fn duplicate_names_are_refused() {
    let e = err(
        "[[check]]\nname = \"x\"\nplugin = \"tcp\"\n\n[[check]]\nname = \"x\"\nplugin = \"tcp\"\n",
    );
    has(&e, 6, "name", "duplicate check name");
}

//! The everyday keepalived job, end to end with real services in namespaces: two hosts each run
//! nginx and Vigil with the first-party `http` check (a sandboxed WebAssembly plugin); nginx dies
//! on the master, the VIP moves to the backup, and a client in a third namespace keeps getting
//! answers through the VIP; nginx comes back and preemption returns the VIP.
//!
//! Skips with `skipped: <reason>` when not root, when nginx/curl is missing, or when the
//! plugins are not built (`plugins/build.sh`), unless VIGIL_REQUIRE_PLUGINS=1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use vigil_lab::{Host, Lab, Process};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Where plugins/build.sh puts the components.
fn plugin_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("VIGIL_PLUGIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/plugins"));
    if dir.join("http.wasm").is_file() {
        return Some(dir);
    }
    if std::env::var("VIGIL_REQUIRE_PLUGINS").as_deref() == Ok("1") {
        panic!("{} has no http.wasm: run plugins/build.sh", dir.display());
    }
    None
}

/// nginx in `host`, on port 80 of every address, answering /health with "ok <host>".
fn nginx(host: &Host, dir: &Path) -> Process {
    let root = dir.join(format!("nginx-{}", host.name()));
    std::fs::create_dir_all(root.join("html")).unwrap();
    std::fs::write(root.join("html/health"), format!("ok {}\n", host.name())).unwrap();
    let conf = format!(
        "worker_processes 1;\nerror_log {r}/error.log;\npid {r}/nginx.pid;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {r}/tmp;\n  proxy_temp_path {r}/tmp;\n\
           fastcgi_temp_path {r}/tmp;\n  uwsgi_temp_path {r}/tmp;\n  scgi_temp_path {r}/tmp;\n\
           server {{ listen 80; root {r}/html; location = /health {{ default_type text/plain; }} }}\n}}\n",
        r = root.display()
    );
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    std::fs::write(root.join("nginx.conf"), conf).unwrap();
    let conf_path = root.join("nginx.conf");
    host.spawn(
        "nginx",
        [
            "-p".as_ref(),
            root.as_os_str(),
            "-c".as_ref(),
            conf_path.as_os_str(),
            "-g".as_ref(),
            "daemon off;".as_ref(),
        ],
        root.join("stderr.log"),
    )
    .unwrap()
}

/// One request to the VIP from the client: the body, or None.
fn get(client: &Host, vip: IpAddr) -> Option<String> {
    let out = client
        .exec(
            "curl",
            ["-s", "--max-time", "0.3", &format!("http://{vip}/health")],
        )
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Poll the VIP until `want` answers, counting failed requests on the way.
fn until_served_by(client: &Host, vip: IpAddr, want: &str, timeout: Duration) -> (Duration, u32) {
    let t0 = Instant::now();
    let mut failed = 0;
    loop {
        match get(client, vip) {
            Some(b) if b == format!("ok {want}") => return (t0.elapsed(), failed),
            Some(_) => {}
            None => failed += 1,
        }
        assert!(
            t0.elapsed() < timeout,
            "{want} did not serve the VIP within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn nginx_pair_fails_over_when_nginx_dies_and_comes_back() {
    let test = "nginx_pair_fails_over_when_nginx_dies_and_comes_back";
    if !ready(test, &["nginx", "curl"]) {
        return;
    }
    let Some(plugins) = plugin_dir() else {
        note(&format!(
            "{test}: skipped: build plugins with plugins/build.sh"
        ));
        return;
    };
    let lab = Lab::new("vigil-nginx").unwrap();
    let hosts = lab.add_hosts(3).unwrap();
    let (h1, h2, client) = (&hosts[0], &hosts[1], &hosts[2]);
    let vip = ip("192.0.2.100");
    let extra = format!(
        "track_checks = [\"nginx\"]\n\n\
         [[check]]\nname = \"nginx\"\nplugin = \"{}\"\ntarget = \"127.0.0.1:80\"\n\
         interval = \"200ms\"\ntimeout = \"200ms\"\nfall = 2\nrise = 2\n\
         config = {{ path = \"/health\", regex = \"^ok\" }}\n",
        plugins.join("http.wasm").display()
    );
    let n1 = nginx(h1, lab.dir());
    let n2 = nginx(h2, lab.dir());
    let a = Vigil::start_with(h1, &[Inst::v3("VI_1", 51, 150, "192.0.2.100/24")], &extra);
    let b = Vigil::start_with(h2, &[Inst::v3("VI_1", 51, 100, "192.0.2.100/24")], &extra);
    let diag = || [a.log_tail(20), b.log_tail(20)].join("\n");
    wait_holds(h1, vip, true, Duration::from_secs(5), &diag);
    until_served_by(client, vip, "h1", Duration::from_secs(5));
    let st = a.must_status();
    assert_eq!(st["checks"][0]["healthy"], true, "{st:#}");
    assert_eq!(st["checks"][0]["sandboxed"], true, "{st:#}");

    // nginx dies on the master: its check fails twice, h1 goes to Fault, h2 takes over.
    let t_kill = Instant::now();
    n1.terminate(Duration::from_secs(5)).unwrap();
    let (_, failed) = until_served_by(client, vip, "h2", Duration::from_secs(10));
    note(&format!(
        "{test}: nginx stopped on h1 -> h2 serves the VIP after {} ({failed} failed requests)",
        ms(t_kill.elapsed())
    ));
    assert_eq!(a.state("VI_1"), "fault", "{}", diag());
    assert!(!h1.holds(vip).unwrap(), "h1 still holds the VIP");

    // nginx back on h1: two good checks, Fault clears, preemption returns the VIP.
    let n1 = nginx(h1, lab.dir());
    until_served_by(client, vip, "h1", Duration::from_secs(10));
    assert_eq!(a.state("VI_1"), "master", "{}", diag());
    a.stop();
    b.stop();
    drop((n1, n2));
}

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

/// nginx in `host` (see `vigil_lab::services::nginx`).
fn nginx(host: &Host, dir: &Path) -> Process {
    vigil_lab::services::nginx(host, dir).unwrap()
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
    nginx_pair("nginx_pair_fails_over_when_nginx_dies_and_comes_back", true);
}

/// The same under `preempt = false` (keepalived's `nopreempt`): nginx coming back on h1 does
/// not take the VIP back from h2.
#[test]
fn nginx_pair_under_nopreempt_keeps_the_new_master() {
    nginx_pair("nginx_pair_under_nopreempt_keeps_the_new_master", false);
}

fn nginx_pair(test: &str, preempt: bool) {
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
    let inst = |prio| {
        let mut i = Inst::v3("VI_1", 51, prio, "192.0.2.100/24");
        i.preempt = Some(preempt);
        [i]
    };
    let a = Vigil::start_with(h1, &inst(150), &extra);
    let b = Vigil::start_with(h2, &inst(100), &extra);
    let diag = || [a.log_tail(20), b.log_tail(20)].join("\n");
    // Under nopreempt whoever gets there first keeps it: wait for a master, make it h1.
    wait_single_holder(
        &hosts,
        vip,
        Duration::from_secs(5),
        Duration::from_millis(300),
        &diag,
    );
    if !preempt && h2.holds(vip).unwrap() {
        b.term();
        wait_holds(h1, vip, true, Duration::from_secs(5), &diag);
        panic!("h2 became master first; this test expects h1 (priority 150) to win at start");
    }
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

    // nginx back on h1: two good checks, Fault clears; preemption returns the VIP, or under
    // nopreempt h2 keeps it.
    let n1 = nginx(h1, lab.dir());
    if preempt {
        until_served_by(client, vip, "h1", Duration::from_secs(10));
        assert_eq!(a.state("VI_1"), "master", "{}", diag());
    } else {
        vigil_lab::wait_until(Duration::from_secs(5), "h1 to leave fault", || {
            Ok((a.state("VI_1") == "backup").then_some(()))
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", diag()));
        std::thread::sleep(Duration::from_millis(800));
        assert_eq!(get(client, vip).as_deref(), Some("ok h2"), "{}", diag());
        assert_eq!(b.state("VI_1"), "master", "{}", diag());
    }
    a.stop();
    b.stop();
    for n in [n1, n2] {
        let _ = n.terminate(Duration::from_secs(5));
    }
}

/// HAProxy in `host`: a frontend on :80 to a local python backend that answers "ok <host>",
/// and a stats page on 127.0.0.1:8404. Returns (haproxy, backend).
fn haproxy(host: &Host, dir: &Path) -> (Process, Process) {
    let root = dir.join(format!("haproxy-{}", host.name()));
    std::fs::create_dir_all(root.join("www")).unwrap();
    std::fs::write(root.join("www/health"), format!("ok {}\n", host.name())).unwrap();
    let backend = host
        .spawn(
            "python3",
            [
                "-m".as_ref(),
                "http.server".as_ref(),
                "8081".as_ref(),
                "--bind".as_ref(),
                "127.0.0.1".as_ref(),
                "--directory".as_ref(),
                root.join("www").as_os_str(),
            ],
            root.join("backend.log"),
        )
        .unwrap();
    let conf = format!(
        "global\n  maxconn 256\n  pidfile {r}/haproxy.pid\n\
         defaults\n  mode http\n  timeout connect 500ms\n  timeout client 5s\n  timeout server 5s\n\
         frontend stats\n  bind 127.0.0.1:8404\n  stats enable\n  stats uri /stats\n\
         frontend web\n  bind :80\n  default_backend app\n\
         backend app\n  option httpchk GET /health\n  default-server inter 200ms fall 1 rise 1\n\
           server local 127.0.0.1:8081 check\n",
        r = root.display()
    );
    std::fs::write(root.join("haproxy.cfg"), conf).unwrap();
    let cfg = root.join("haproxy.cfg");
    let hp = host
        .spawn(
            "haproxy",
            ["-db".as_ref(), "-f".as_ref(), cfg.as_os_str()],
            root.join("haproxy.log"),
        )
        .unwrap();
    (hp, backend)
}

#[test]
fn haproxy_pair_fails_over_when_haproxy_dies() {
    let test = "haproxy_pair_fails_over_when_haproxy_dies";
    if !ready(test, &["haproxy", "curl", "python3"]) {
        return;
    }
    let Some(plugins) = plugin_dir() else {
        note(&format!(
            "{test}: skipped: build plugins with plugins/build.sh"
        ));
        return;
    };
    let lab = Lab::new("vigil-haproxy").unwrap();
    let hosts = lab.add_hosts(3).unwrap();
    let (h1, h2, client) = (&hosts[0], &hosts[1], &hosts[2]);
    let vip = ip("192.0.2.100");
    let extra = format!(
        "track_checks = [{{ check = \"haproxy\", weight = -100 }}]\n\n\
         [[check]]\nname = \"haproxy\"\nplugin = \"{}\"\ntarget = \"127.0.0.1:8404\"\n\
         interval = \"200ms\"\ntimeout = \"200ms\"\nfall = 2\nrise = 2\n\
         config = {{ path = \"/stats;csv\", backend = \"app\", min_up = 1 }}\n",
        plugins.join("haproxy.wasm").display()
    );
    let (p1, b1) = haproxy(h1, lab.dir());
    let (p2, b2) = haproxy(h2, lab.dir());
    let a = Vigil::start_with(h1, &[Inst::v3("VI_1", 51, 150, "192.0.2.100/24")], &extra);
    let b = Vigil::start_with(h2, &[Inst::v3("VI_1", 51, 100, "192.0.2.100/24")], &extra);
    let diag = || [a.log_tail(20), b.log_tail(20)].join("\n");
    wait_holds(h1, vip, true, Duration::from_secs(5), &diag);
    until_served_by(client, vip, "h1", Duration::from_secs(10));

    // The backend behind h1's HAProxy dies: the stats say backend "app" has no server up,
    // the weighted check drops h1 to 50, h2 (100) preempts.
    b1.terminate(Duration::from_secs(5)).unwrap();
    let t0 = Instant::now();
    let (_, failed) = until_served_by(client, vip, "h2", Duration::from_secs(10));
    note(&format!(
        "{test}: h1's backend died -> h2 serves after {} ({failed} failed requests)",
        ms(t0.elapsed())
    ));
    assert_eq!(a.instance("VI_1")["priority"], 50, "{}", diag());
    assert_eq!(a.state("VI_1"), "backup", "{}", diag());
    // HAProxy itself dies too: the check now fails with a connection error; still backup.
    p1.terminate(Duration::from_secs(5)).unwrap();
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(a.state("VI_1"), "backup", "{}", diag());
    a.stop();
    b.stop();
    for p in [p2, b2] {
        let _ = p.terminate(Duration::from_secs(5));
    }
}

/// A MariaDB server in `host` on :3306 from a copy of `template`, with user vigil/secret and a
/// table naming the node.
fn mariadb(host: &Host, dir: &Path, template: &Path) -> Process {
    let root = dir.join(format!("mariadb-{}", host.name()));
    std::fs::create_dir_all(&root).unwrap();
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(template)
        .arg(root.join("data"))
        .status()
        .unwrap();
    assert!(st.success());
    let sock = root.join("sock");
    let args: Vec<String> = vec![
        "--no-defaults".into(),
        format!("--datadir={}", root.join("data").display()),
        format!("--socket={}", sock.display()),
        "--port=3306".into(),
        "--bind-address=0.0.0.0".into(),
        "--user=root".into(),
        format!("--pid-file={}", root.join("pid").display()),
        format!("--tmpdir={}", root.display()),
        "--innodb-buffer-pool-size=16M".into(),
        "--innodb-log-file-size=4M".into(),
        "--skip-name-resolve".into(),
    ];
    let p = host
        .spawn(
            "mariadbd",
            args.iter().map(String::as_str),
            root.join("mariadbd.log"),
        )
        .unwrap();
    let sql = format!(
        "CREATE USER 'vigil'@'%' IDENTIFIED BY 'secret';\
         CREATE DATABASE demo; CREATE TABLE demo.node (name VARCHAR(16));\
         INSERT INTO demo.node VALUES ('{}'); GRANT SELECT ON demo.* TO 'vigil'@'%';",
        host.name()
    );
    vigil_lab::wait_until(Duration::from_secs(20), "mariadbd to accept", || {
        Ok(host
            .exec(
                "mariadb",
                [
                    "--no-defaults",
                    &format!("--socket={}", sock.display()),
                    "--user=root",
                    "-e",
                    "SELECT 1",
                ],
            )
            .ok()
            .filter(|o| o.status.success())
            .map(|_| ()))
    })
    .unwrap_or_else(|e| {
        panic!(
            "{e}: {}",
            std::fs::read_to_string(root.join("mariadbd.log")).unwrap_or_default()
        )
    });
    let out = host
        .exec(
            "mariadb",
            [
                "--no-defaults",
                &format!("--socket={}", sock.display()),
                "--user=root",
                "-e",
                &sql,
            ],
        )
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    p
}

/// Which node answers through the VIP, read with the mariadb client from `client`.
fn db_node(client: &Host, vip: IpAddr) -> Option<String> {
    let out = client
        .exec(
            "mariadb",
            [
                "--no-defaults",
                "-h",
                &vip.to_string(),
                "-uvigil",
                "-psecret",
                "--connect-timeout=1",
                "--batch",
                "--skip-column-names",
                "-e",
                "SELECT name FROM demo.node",
            ],
        )
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn mariadb_pair_fails_over_when_the_database_dies() {
    let test = "mariadb_pair_fails_over_when_the_database_dies";
    if !ready(test, &["mariadbd", "mariadb", "mariadb-install-db"]) {
        return;
    }
    let Some(plugins) = plugin_dir() else {
        note(&format!(
            "{test}: skipped: build plugins with plugins/build.sh"
        ));
        return;
    };
    let lab = Lab::new("vigil-mariadb").unwrap();
    let hosts = lab.add_hosts(3).unwrap();
    let (h1, h2, client) = (&hosts[0], &hosts[1], &hosts[2]);
    let vip = ip("192.0.2.100");
    let template = lab.dir().join("mariadb-template");
    let out = std::process::Command::new("mariadb-install-db")
        .args([
            "--no-defaults",
            &format!("--datadir={}", template.display()),
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--user=root",
            &format!("--tmpdir={}", lab.dir().display()),
            "--innodb-buffer-pool-size=16M",
            "--innodb-log-file-size=4M",
            "--skip-name-resolve",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d1 = mariadb(h1, lab.dir(), &template);
    let d2 = mariadb(h2, lab.dir(), &template);
    let extra = format!(
        "track_checks = [\"db\"]\n\n\
         [[check]]\nname = \"db\"\nplugin = \"{}\"\ntarget = \"127.0.0.1:3306\"\n\
         interval = \"300ms\"\ntimeout = \"300ms\"\nfall = 2\nrise = 2\n\
         config = {{ user = \"vigil\", password = \"secret\", database = \"demo\", query = \"SELECT COUNT(*) FROM node\", expect = \"1\" }}\n",
        plugins.join("mysql.wasm").display()
    );
    let a = Vigil::start_with(h1, &[Inst::v3("VI_1", 51, 150, "192.0.2.100/24")], &extra);
    let b = Vigil::start_with(h2, &[Inst::v3("VI_1", 51, 100, "192.0.2.100/24")], &extra);
    let diag = || [a.log_tail(20), b.log_tail(20)].join("\n");
    wait_holds(h1, vip, true, Duration::from_secs(5), &diag);
    vigil_lab::wait_until(
        Duration::from_secs(10),
        "h1's database through the VIP",
        || Ok((db_node(client, vip).as_deref() == Some("h1")).then_some(())),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", diag()));

    // The database dies on h1: the mysql check fails twice, h1 goes to Fault, h2 takes over,
    // and the client keeps reading through the VIP (from h2's database).
    let t0 = Instant::now();
    d1.terminate(Duration::from_secs(10)).unwrap();
    let mut failed = 0;
    vigil_lab::wait_until(
        Duration::from_secs(10),
        "h2's database through the VIP",
        || match db_node(client, vip) {
            Some(n) if n == "h2" => Ok(Some(())),
            Some(_) => Ok(None),
            None => {
                failed += 1;
                Ok(None)
            }
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", diag()));
    note(&format!(
        "{test}: mariadbd killed on h1 -> client reads from h2 after {} ({failed} failed queries)",
        ms(t0.elapsed())
    ));
    assert_eq!(a.state("VI_1"), "fault", "{}", diag());
    let st = a.must_status();
    assert_eq!(st["checks"][0]["healthy"], false, "{st:#}");
    a.stop();
    b.stop();
    let _ = d2.terminate(Duration::from_secs(10));
}

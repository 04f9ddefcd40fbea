//! Real servers for the first-party plugin tests: nginx, HAProxy and MariaDB on
//! 127.0.0.1, each in a fresh temp directory, killed and cleaned up on drop.
//!
//! Every server runs under a tiny `sh` watchdog, and every temp directory has a
//! `sh` janitor; each holds the read end of a pipe whose write end lives in the
//! [`Server`] or [`TempDir`]. When the test process ends in any way (a panic, an
//! abort, SIGKILL, or the end of a test binary whose shared server sits in a
//! `static` that Rust never drops), the pipes close: the watchdog kills the
//! server and the janitor removes the directory. So no run leaves servers or
//! files behind.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Finds a server binary. When missing, prints "skipped: NAME not installed" and
/// returns `None`, unless `VIGIL_REQUIRE_SERVERS=1` (CI), where it panics.
pub fn require(binary: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(binary))
        .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var("VIGIL_REQUIRE_SERVERS").as_deref() == Ok("1") {
            panic!("{binary} is not installed and VIGIL_REQUIRE_SERVERS=1");
        }
        eprintln!("skipped: {binary} not installed");
    }
    found
}

/// A TCP port on 127.0.0.1 that was free a moment ago (the kernel does not hand
/// the same ephemeral port out again right away).
pub fn free_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// A port nothing listens on: connections to it are refused.
pub fn closed_port() -> u16 {
    free_port()
}

/// Waits until something accepts on `port`.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A fresh directory under the system temp dir, removed on drop or, failing
/// that, by its janitor when this process exits.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
    janitor: Child,
}

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "vigil-e2e-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        let janitor = Command::new("sh")
            .arg("-c")
            // After a crash, wait a moment for the watchdogs to kill what writes here.
            .arg(r#"cat >/dev/null; if [ -e "$1" ]; then sleep 0.3; rm -rf "$1"; fi"#)
            .arg("vigil-janitor")
            .arg(&path)
            .stdin(Stdio::piped())
            .spawn()
            .expect("spawn janitor");
        TempDir { path, janitor }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
        drop(self.janitor.stdin.take());
        let _ = self.janitor.wait();
    }
}

/// The watchdog: starts the server in the background with its output in
/// `$1/server.log`, prints its pid, waits for EOF on stdin, then kills the server
/// (SIGCONT first, in case a test left it stopped).
const WATCHDOG: &str = r#"
dir="$1"; shift
"$@" >"$dir/server.log" 2>&1 </dev/null &
pid=$!
echo "$pid"
cat >/dev/null
kill -CONT "$pid" 2>/dev/null
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
"#;

/// Runs a command to completion, like `Command::output`, in a new process group
/// that a guard kills if this process dies first (so an interrupted
/// `mariadb-install-db` does not go on writing into a removed directory).
pub fn run_guarded(argv: &[String]) -> std::process::Output {
    use std::os::unix::process::CommandExt;
    const GUARD: &str = r#"
exec 3<&0
( cat <&3 >/dev/null; kill -KILL 0 ) >/dev/null 2>&1 &
exec 3<&-
"$@" </dev/null
"#;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(GUARD)
        .arg("vigil-guard")
        .args(argv)
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {argv:?}: {e}"));
    // The lifeline (stdin) stays open until the command is done (`wait_with_output`
    // would close it first), then closes and the guard exits. The guard must not
    // hold stdout/stderr, or `wait_with_output` would wait for it.
    let lifeline = child.stdin.take();
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("run {argv:?}: {e}"));
    drop(lifeline);
    out
}

/// A running server process and its directory.
#[derive(Debug)]
pub struct Server {
    pub name: &'static str,
    pub port: u16,
    pub dir: PathBuf,
    pid: Pid,
    watchdog: Child,
    lifeline: Option<ChildStdin>,
    killed: bool,
    /// Dropped after the server is killed (fields drop after `Drop::drop`).
    _tmp: TempDir,
}

impl Server {
    /// Starts `cmd` (argv) under the watchdog in `dir`, and waits for `port`.
    pub fn spawn(name: &'static str, tmp: TempDir, port: u16, argv: &[String]) -> Server {
        let dir = tmp.path().to_path_buf();
        let mut watchdog = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("vigil-watchdog")
            .arg(&dir)
            .args(argv)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn sh");
        let mut line = String::new();
        let stdout = watchdog.stdout.take().expect("watchdog stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read server pid");
        let pid: i32 = line.trim().parse().expect("server pid");
        let mut server = Server {
            name,
            port,
            dir,
            pid: Pid::from_raw(pid),
            lifeline: watchdog.stdin.take(),
            watchdog,
            killed: false,
            _tmp: tmp,
        };
        if !wait_for_port(port, Duration::from_secs(20)) {
            let log = server.log();
            server.stop();
            panic!("{name} did not listen on 127.0.0.1:{port} within 20 s; its log:\n{log}");
        }
        server
    }

    /// The server's captured stdout + stderr so far.
    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(self.dir.join("server.log")) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Freezes the server (SIGSTOP): it keeps its sockets, so connections are
    /// accepted by the kernel but never answered. Resumed when the guard drops.
    pub fn wedge(&self) -> Wedged<'_> {
        kill(self.pid, Signal::SIGSTOP).expect("SIGSTOP");
        Wedged(self)
    }

    /// Kills the server now (SIGKILL) and waits until its port is closed.
    pub fn stop(&mut self) {
        if self.killed {
            return;
        }
        self.killed = true;
        let _ = kill(self.pid, Signal::SIGCONT);
        let _ = kill(self.pid, Signal::SIGKILL);
        // Closing the lifeline lets the watchdog reap the server and clean up.
        self.lifeline = None;
        let _ = self.watchdog.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A stopped server; SIGCONT on drop (also when the test panics).
#[derive(Debug)]
pub struct Wedged<'a>(&'a Server);

impl Drop for Wedged<'_> {
    fn drop(&mut self) {
        let _ = kill(self.0.pid, Signal::SIGCONT);
    }
}

fn write(path: &Path, text: &str) {
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

// ---------------------------------------------------------------------------
// nginx

/// Bodies the nginx test server serves.
pub mod pages {
    pub const HEALTH: &str = "OK\n";
    pub const HTML: &str = "<!DOCTYPE html>\n<html><head><title>Vigil test page</title></head>\
                            <body><h1>Hello from nginx</h1><p>status: green</p></body></html>\n";
    pub const KNOWN: &str = "vigil known body: 0123456789 status=green\n";
    pub const ERROR: &str = "internal error\n";
    /// The name-based virtual server that also has a stub_status location.
    pub const VHOST: &str = "status.vigil.test";
    /// What `/whoami` answers: which server block took the request, and the
    /// Host header nginx saw (`$http_host`).
    pub fn whoami(server: &str, host: &str) -> String {
        format!("{server} server, Host {host}\n")
    }
}

/// Escapes a body for an nginx `return` string.
fn nginx_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '\\' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Starts nginx on a free port with:
/// `/health` (200 "OK"), `/index.html` (HTML), `/known` (a fixed body),
/// `/nginx_status` (stub_status), `/error` (500), `/whoami` ("default server,
/// Host <Host header>"), anything else 404; and a virtual server
/// `status.vigil.test` with stub_status at `/vhost_status` and its own
/// `/whoami` ("virtual server, Host ...").
pub fn nginx() -> Option<Server> {
    let bin = require("nginx")?;
    let dir = TempDir::new("nginx");
    let d = dir.path().to_path_buf();
    let port = free_port();
    std::fs::create_dir_all(d.join("tmp")).expect("mkdir tmp");
    let conf = format!(
        r#"master_process off;
worker_processes 1;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    default_type text/plain;
    server {{
        listen 127.0.0.1:{port} default_server;
        server_name localhost;
        location = /health {{ return 200 {health}; }}
        location = /index.html {{ default_type text/html; return 200 {html}; }}
        location = /known {{ return 200 {known}; }}
        location = /nginx_status {{ stub_status; }}
        location = /error {{ return 500 {error}; }}
        location = /whoami {{ return 200 "default server, Host $http_host\n"; }}
        location / {{ return 404; }}
    }}
    server {{
        listen 127.0.0.1:{port};
        server_name {vhost};
        location = /vhost_status {{ stub_status; }}
        location = /whoami {{ return 200 "virtual server, Host $http_host\n"; }}
    }}
}}
"#,
        d = d.display(),
        health = nginx_quote(pages::HEALTH),
        html = nginx_quote(pages::HTML),
        known = nginx_quote(pages::KNOWN),
        error = nginx_quote(pages::ERROR),
        vhost = pages::VHOST,
    );
    write(&d.join("nginx.conf"), &conf);
    let argv = [
        bin.display().to_string(),
        "-p".into(),
        d.display().to_string(),
        "-c".into(),
        d.join("nginx.conf").display().to_string(),
        "-e".into(),
        d.join("error.log").display().to_string(),
        "-g".into(),
        format!("daemon off; pid {}/nginx.pid;", d.display()),
    ];
    Some(Server::spawn("nginx", dir, port, &argv))
}

// ---------------------------------------------------------------------------
// HAProxy

/// Credentials of the authenticated stats page.
pub const STATS_USER: &str = "admin";
pub const STATS_PASSWORD: &str = "s3cret";

/// A running HAProxy and its ports.
#[derive(Debug)]
pub struct Haproxy {
    pub server: Server,
    /// Stats at `/stats` without authentication.
    pub stats_port: u16,
    /// Stats at `/stats` with basic auth [`STATS_USER`]/[`STATS_PASSWORD`].
    pub auth_stats_port: u16,
    /// Frontend `web` (default backend `app`).
    pub web_port: u16,
    /// Frontend `tiny` with `maxconn 1`: FULL while one connection is open.
    pub tiny_port: u16,
}

/// Starts HAProxy in the foreground (`-db`) with stats pages, frontend `web`,
/// backend `app` with servers `web1` (at `backend_port`, e.g. nginx) and `web2`
/// (a closed port, so DOWN after its first check), backend `solo` with only
/// `web1`, and a frontend `tiny` that takes one connection at a time.
pub fn haproxy(backend_port: u16) -> Option<Haproxy> {
    let bin = require("haproxy")?;
    let dir = TempDir::new("haproxy");
    let d = dir.path().to_path_buf();
    let (stats_port, auth_stats_port, web_port, tiny_port) =
        (free_port(), free_port(), free_port(), free_port());
    let closed = closed_port();
    let conf = format!(
        r#"global
    maxconn 64
    pidfile {d}/haproxy.pid
    stats socket {d}/admin.sock level admin
defaults
    mode http
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
frontend stats
    bind 127.0.0.1:{stats_port}
    stats enable
    stats uri /stats
frontend stats_auth
    bind 127.0.0.1:{auth_stats_port}
    stats enable
    stats uri /stats
    stats auth {STATS_USER}:{STATS_PASSWORD}
frontend web
    bind 127.0.0.1:{web_port}
    default_backend app
frontend tiny
    bind 127.0.0.1:{tiny_port}
    maxconn 1
    default_backend app
backend app
    option httpchk GET /health
    default-server inter 100ms fall 1 rise 1
    server web1 127.0.0.1:{backend_port} check
    server web2 127.0.0.1:{closed} check
backend solo
    option httpchk GET /health
    default-server inter 100ms fall 1 rise 1
    server web1 127.0.0.1:{backend_port} check
"#,
        d = d.display(),
    );
    write(&d.join("haproxy.cfg"), &conf);
    let argv = [
        bin.display().to_string(),
        "-db".into(),
        "-f".into(),
        d.join("haproxy.cfg").display().to_string(),
    ];
    let server = Server::spawn("haproxy", dir, stats_port, &argv);
    Some(Haproxy {
        server,
        stats_port,
        auth_stats_port,
        web_port,
        tiny_port,
    })
}

/// Runs a command on HAProxy's admin socket (`disable frontend tiny`, ...).
pub fn haproxy_cli(h: &Haproxy, command: &str) -> String {
    let mut s = std::os::unix::net::UnixStream::connect(h.server.dir.join("admin.sock"))
        .expect("connect to HAProxy's admin socket");
    s.write_all(format!("{command}\n").as_bytes())
        .expect("write to HAProxy's admin socket");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// A plain HTTP/1.0 GET on 127.0.0.1 (to watch a server from the test itself).
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// Waits until HAProxy's stats CSV contains `needle` (e.g. a server's line with
/// its status); health checks settle within a few `inter` periods.
pub fn wait_for_stats(h: &Haproxy, needle: &str, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if http_get(h.stats_port, "/stats;csv").is_some_and(|s| s.contains(needle)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

// ---------------------------------------------------------------------------
// MariaDB

/// The account the tests log in with (mysql_native_password).
pub const DB_USER: &str = "vigil";
pub const DB_PASSWORD: &str = "vigil-s3cret";
/// An account with an authentication plugin the check does not speak (ed25519).
pub const DB_ED25519_USER: &str = "edwards";

/// Small settings so a test server starts fast and uses little disk and memory.
const MARIADB_TUNING: [&str; 3] = [
    "--innodb-log-file-size=4M",
    "--innodb-buffer-pool-size=16M",
    "--skip-name-resolve",
];

/// A data directory made once per test binary by `mariadb-install-db`; each
/// server copies it, so starting one takes about a second instead of five.
#[derive(Debug)]
struct Template {
    data: PathBuf,
    /// Lives until the process exits (it sits in a `static`).
    _dir: TempDir,
}

fn template() -> Option<&'static Template> {
    static TEMPLATE: std::sync::OnceLock<Option<Template>> = std::sync::OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let install = require("mariadb-install-db")?;
            require("mariadbd")?;
            require("mariadb")?;
            let dir = TempDir::new("mariadb-template");
            let data = dir.path().join("data");
            let mut argv = vec![
                install.display().to_string(),
                "--no-defaults".into(),
                format!("--datadir={}", data.display()),
                "--auth-root-authentication-method=normal".into(),
                "--skip-test-db".into(),
                "--user=root".into(),
                // Not /tmp: concurrent bootstraps there trip over each other.
                format!("--tmpdir={}", dir.path().display()),
            ];
            argv.extend(MARIADB_TUNING.map(String::from));
            let out = run_guarded(&argv);
            assert!(
                out.status.success(),
                "mariadb-install-db failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            Some(Template { data, _dir: dir })
        })
        .as_ref()
}

/// Starts a MariaDB server on a free port, from a copy of the template data
/// directory, and creates [`DB_USER`] (mysql_native_password, allowed to read
/// replica status) and [`DB_ED25519_USER`].
pub fn mariadb() -> Option<Server> {
    mariadb_with(1, &[])
}

/// [`mariadb`] with a server id and extra server options (e.g. `--log-bin`).
/// The accounts are created without writing the binary log, so a replica of
/// this server does not replay them.
pub fn mariadb_with(server_id: u32, extra: &[String]) -> Option<Server> {
    let template = template()?;
    let bin = require("mariadbd")?;
    let dir = TempDir::new("mariadb");
    let d = dir.path().to_path_buf();
    let status = Command::new("cp")
        .arg("-a")
        .arg(&template.data)
        .arg(d.join("data"))
        .status()
        .expect("cp");
    assert!(status.success(), "copying the MariaDB template failed");
    let port = free_port();
    let sock = d.join("sock");
    let mut argv = vec![
        bin.display().to_string(),
        "--no-defaults".into(),
        format!("--datadir={}", d.join("data").display()),
        format!("--socket={}", sock.display()),
        format!("--port={port}"),
        "--bind-address=127.0.0.1".into(),
        "--skip-networking=0".into(),
        "--user=root".into(),
        format!("--pid-file={}", d.join("mariadbd.pid").display()),
        format!("--server-id={server_id}"),
        format!("--tmpdir={}", d.display()),
    ];
    argv.extend(MARIADB_TUNING.map(String::from));
    argv.extend(extra.iter().cloned());
    let server = Server::spawn("mariadb", dir, port, &argv);
    mariadb_sql(
        &server,
        &format!(
            "SET SESSION sql_log_bin = 0;
             CREATE USER '{DB_USER}'@'%' IDENTIFIED VIA mysql_native_password \
               USING PASSWORD('{DB_PASSWORD}');
             GRANT SLAVE MONITOR ON *.* TO '{DB_USER}'@'%';
             CREATE DATABASE vigil;
             GRANT SELECT ON vigil.* TO '{DB_USER}'@'%';
             INSTALL SONAME 'auth_ed25519';
             CREATE USER '{DB_ED25519_USER}'@'%' IDENTIFIED VIA ed25519 \
               USING PASSWORD('{DB_PASSWORD}');"
        ),
    );
    Some(server)
}

/// Runs SQL as root through the server's socket with the `mariadb` client.
pub fn mariadb_sql(server: &Server, sql: &str) -> String {
    let out = Command::new("mariadb")
        .arg("--no-defaults")
        .arg(format!("--socket={}", server.dir.join("sock").display()))
        .arg("--user=root")
        .arg("--batch")
        .arg("--skip-column-names")
        .arg("-e")
        .arg(sql)
        .output()
        .expect("run mariadb client");
    assert!(
        out.status.success(),
        "mariadb -e {sql:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

//! Plugin host benchmarks (plain timing loops; `cargo bench -p vigil-plugin-host`).
//!
//! Uses the `chaos` test plugin (plugins/testing/chaos, built by
//! plugins/build.sh): `up` is the trivial check, `connect` a TCP connect check.
//! Prints one table; `BENCH_SCALE=0.1` shortens every loop.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use vigil_plugin_host::testing::{plugin_path, rss_bytes};
use vigil_plugin_host::{
    CheckResult, CheckSpec, Checker, Grants, Health, HostOptions, Plugin, PluginHost, Target,
};

const LIVE_CHECKERS: usize = 10_000;

struct Row {
    what: String,
    value: String,
    note: String,
}

fn scale(n: usize) -> usize {
    let s: f64 = std::env::var("BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    ((n as f64 * s) as usize).max(1)
}

fn per_call(d: Duration, n: usize) -> String {
    let us = d.as_secs_f64() * 1e6 / n as f64;
    if us < 1.0 {
        format!("{:.1} ns/call", us * 1e3)
    } else {
        format!("{us:.2} µs/call")
    }
}

fn spec(config: &str, port: u16, grants: Grants) -> CheckSpec {
    CheckSpec {
        name: "bench".into(),
        config_json: config.into(),
        target: Target::new("127.0.0.1", port),
        grants,
        timeout: Duration::from_secs(5),
    }
}

/// The native equivalent of chaos `up`: build a verdict and return it.
#[inline(never)]
fn native_up() -> CheckResult {
    CheckResult {
        health: Health::Up,
        message: "up".into(),
        metrics: Vec::new(),
    }
}

/// The native equivalent of chaos `connect`.
#[inline(never)]
fn native_connect(addr: &std::net::SocketAddr) -> bool {
    TcpStream::connect(addr).is_ok()
}

/// A local listener with a deep backlog (so a busy machine does not drop SYNs
/// and add 1 s retransmits), accepting and closing on its own thread.
fn listener() -> std::net::SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let sock = tokio::net::TcpSocket::new_v4().unwrap();
            sock.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let l = sock.listen(4096).unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            loop {
                if let Ok((s, _)) = l.accept().await {
                    drop(s);
                }
            }
        });
    });
    rx.recv().unwrap()
}

/// Median and mean of per-call timings.
fn stats(mut v: Vec<Duration>) -> String {
    let mean = v.iter().sum::<Duration>() / v.len() as u32;
    v.sort();
    let median = v[v.len() / 2];
    format!(
        "{:.1} µs median / {:.1} µs mean",
        median.as_secs_f64() * 1e6,
        mean.as_secs_f64() * 1e6
    )
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

async fn bench_calls(host: &PluginHost, plugin: &Plugin, rows: &mut Vec<Row>) {
    // Warm check on a live instance.
    let mut c = Checker::new(host, plugin, spec(r#"{"mode":"up"}"#, 1, Grants::default()))
        .await
        .unwrap();
    for _ in 0..1000 {
        assert!(c.check().await.outcome.passed());
    }
    let n = scale(50_000);
    let t = Instant::now();
    for _ in 0..n {
        black_box(c.check().await);
    }
    let warm = t.elapsed();
    rows.push(Row {
        what: "warm check() (chaos up, live instance)".into(),
        value: per_call(warm, n),
        note: format!("{n} calls, current-thread runtime"),
    });
    rows.push(Row {
        what: "trivial checks per second, one core".into(),
        value: format!("{:.0} /s", n as f64 / warm.as_secs_f64()),
        note: "same loop as above".into(),
    });

    // Fresh instance from the pool + configure + check.
    let n = scale(10_000);
    for _ in 0..200 {
        assert!(c.check_fresh().await.outcome.passed());
    }
    let t = Instant::now();
    for _ in 0..n {
        black_box(c.check_fresh().await);
    }
    rows.push(Row {
        what: "fresh instance from pool + configure + check".into(),
        value: per_call(t.elapsed(), n),
        note: format!("{n} calls (new Store + WASI ctx each)"),
    });

    // Native baseline for the trivial check.
    let n = scale(10_000_000);
    let t = Instant::now();
    for _ in 0..n {
        black_box(native_up());
    }
    rows.push(Row {
        what: "native baseline: fn returning CheckResult".into(),
        value: per_call(t.elapsed(), n),
        note: format!("{n} calls"),
    });

    // TCP connect: native vs wasm, against a local listener. Per-call timings,
    // reported as median and mean (the machine is shared; the median is robust).
    let addr = listener();
    let n = scale(5_000);
    for _ in 0..200 {
        assert!(native_connect(&addr));
    }
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        assert!(native_connect(black_box(&addr)));
        times.push(t.elapsed());
    }
    rows.push(Row {
        what: "native TCP connect check (std, blocking)".into(),
        value: stats(times),
        note: format!("{n} connects to 127.0.0.1"),
    });
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        assert!(tokio::net::TcpStream::connect(black_box(addr))
            .await
            .is_ok());
        times.push(t.elapsed());
    }
    rows.push(Row {
        what: "native TCP connect check (tokio, async)".into(),
        value: stats(times),
        note: format!("{n} connects to 127.0.0.1"),
    });
    let grants = Grants {
        connect: vec![format!("{addr}").parse().unwrap()],
        ..Grants::default()
    };
    let mut c = Checker::new(
        host,
        plugin,
        spec(r#"{"mode":"connect"}"#, addr.port(), grants),
    )
    .await
    .unwrap();
    for _ in 0..200 {
        let r = c.check().await;
        assert!(r.outcome.passed(), "{}", r.outcome);
    }
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = c.check().await;
        times.push(t.elapsed());
        assert!(r.outcome.passed(), "{}", r.outcome);
    }
    rows.push(Row {
        what: "wasm TCP connect check (chaos connect, warm)".into(),
        value: stats(times),
        note: format!("{n} connects, socket_addr_check on"),
    });
}

/// `warm`: how many of the checkers keep their instance (`HostOptions::max_warm`).
async fn bench_live_checkers(path: &Path, rows: &mut Vec<Row>, warm: Option<u32>) {
    let n = scale(LIVE_CHECKERS);
    let max_warm = warm.unwrap_or(n as u32 + 1);
    let label = match warm {
        None => format!("{n} configured checks, all warm"),
        Some(w) => format!("{n} configured checks, {w} warm (default)"),
    };
    let host = PluginHost::new(HostOptions {
        max_instances: max_warm.min(n as u32 + 1) + 16,
        max_warm,
        ..HostOptions::default()
    })
    .unwrap();
    let plugin = host.load_file(path).unwrap();
    // One checker first, so lazily initialised host state is not counted.
    let mut first = Checker::new(
        &host,
        &plugin,
        spec(r#"{"mode":"up"}"#, 1, Grants::default()),
    )
    .await
    .unwrap();
    assert!(first.check().await.outcome.passed());
    let before = rss_bytes().unwrap();
    let t = Instant::now();
    let mut checkers = Vec::with_capacity(n);
    for _ in 0..n {
        checkers.push(
            Checker::new(
                &host,
                &plugin,
                spec(r#"{"mode":"up"}"#, 1, Grants::default()),
            )
            .await
            .unwrap(),
        );
    }
    let created = t.elapsed();
    let configured = rss_bytes().unwrap();
    let t = Instant::now();
    for c in &mut checkers {
        assert!(c.check().await.outcome.passed());
    }
    let checked_in = t.elapsed();
    let checked = rss_bytes().unwrap();
    rows.push(Row {
        what: format!("{label}: RSS after configure"),
        value: format!("+{:.0} MiB", mib(configured - before)),
        note: format!(
            "{:.1} KiB each; created in {:.2} s ({:.0} µs each)",
            (configured - before) as f64 / 1024.0 / n as f64,
            created.as_secs_f64(),
            created.as_secs_f64() * 1e6 / n as f64
        ),
    });
    rows.push(Row {
        what: format!("{label}: RSS after one check each"),
        value: format!("+{:.0} MiB", mib(checked - before)),
        note: format!(
            "{:.1} KiB each; total RSS {:.0} MiB; one round of checks {:.0} ms",
            (checked - before) as f64 / 1024.0 / n as f64,
            mib(checked),
            checked_in.as_secs_f64() * 1e3
        ),
    });
    drop(checkers);
}

fn bench_cold_start(path: &Path, rows: &mut Vec<Row>) {
    let dir = std::env::temp_dir().join(format!("vigil-bench-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let rounds = scale(5).max(3);
    let mut compile = Vec::new();
    let mut cached = Vec::new();
    for _ in 0..rounds {
        let _ = std::fs::remove_dir_all(&dir);
        let host = PluginHost::new(HostOptions {
            cache_dir: Some(dir.clone()),
            ..HostOptions::default()
        })
        .unwrap();
        let t = Instant::now();
        let p = host.load_file(path).unwrap();
        compile.push(t.elapsed());
        assert!(!p.from_cache());
        // A fresh host (as after a daemon restart) with a warm cache.
        let host = PluginHost::new(HostOptions {
            cache_dir: Some(dir.clone()),
            ..HostOptions::default()
        })
        .unwrap();
        let t = Instant::now();
        let p = host.load_file(path).unwrap();
        cached.push(t.elapsed());
        assert!(p.from_cache());
    }
    let _ = std::fs::remove_dir_all(&dir);
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let size = std::fs::metadata(path).unwrap().len();
    rows.push(Row {
        what: "cold load_file, no cache (compile)".into(),
        value: format!("{:.1} ms", median(&mut compile).as_secs_f64() * 1e3),
        note: format!(
            "median of {rounds}; chaos.wasm {} KiB; 2 cores",
            size / 1024
        ),
    });
    rows.push(Row {
        what: "cold load_file, warm cache".into(),
        value: format!("{:.2} ms", median(&mut cached).as_secs_f64() * 1e3),
        note: format!("median of {rounds}; new host each time"),
    });
}

fn main() {
    // `cargo bench` passes `--bench`; anything else is ignored.
    let Some(path) = plugin_path("chaos") else {
        return;
    };
    let mut rows = Vec::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let host = PluginHost::new(HostOptions::default()).unwrap();
    let plugin = host.load_file(&path).unwrap();
    rt.block_on(bench_calls(&host, &plugin, &mut rows));
    drop(plugin);
    drop(host);
    bench_cold_start(&path, &mut rows);
    // Default first: the all-warm run's memory is not all returned to the OS, so the
    // default's total RSS is only meaningful before it.
    rt.block_on(bench_live_checkers(
        &path,
        &mut rows,
        Some(HostOptions::default().max_warm),
    ));
    rt.block_on(bench_live_checkers(&path, &mut rows, None));

    let w = rows.iter().map(|r| r.what.len()).max().unwrap_or(0);
    let v = rows
        .iter()
        .map(|r| r.value.chars().count())
        .max()
        .unwrap_or(0);
    println!(
        "\nvigil-plugin-host benchmarks (release, {} cores)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!("{:<w$}  {:>v$}  notes", "benchmark", "result");
    println!("{}", "-".repeat(w + v + 40));
    for r in &rows {
        println!("{:<w$}  {:>v$}  {}", r.what, r.value, r.note);
    }
}

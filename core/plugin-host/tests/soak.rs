//! The host survives 10,000 hostile calls (traps and panics, each discarding its
//! instance and instantiating a fresh one) without growing memory. Its own test
//! binary, so RSS is not disturbed by other tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use vigil_plugin_host::testing::{plugin_path, rss_bytes};
use vigil_plugin_host::{
    CheckOutcome, CheckSpec, Checker, Failure, Grants, HostOptions, PluginHost, Target,
};

const CALLS: usize = 10_000;
/// Allowed RSS growth over the measured calls (allocator noise, tracing, lazily
/// touched pool pages).
const MAX_GROWTH: u64 = 24 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_hostile_calls_do_not_grow_memory() {
    let Some(path) = plugin_path("chaos") else {
        return;
    };
    let host = PluginHost::new(HostOptions {
        max_instances: 16,
        memory_limit: 16 << 20,
        ..HostOptions::default()
    })
    .unwrap();
    let plugin = host.load_file(&path).unwrap();
    let spec = |mode: &str| CheckSpec {
        name: format!("soak-{mode}"),
        config_json: serde_json::json!({ "mode": mode }).to_string(),
        target: Target::new("127.0.0.1", 1),
        grants: Grants::default(),
        timeout: Duration::from_secs(2),
    };
    let mut trap = Checker::new(&host, &plugin, spec("trap")).await.unwrap();
    let mut panic = Checker::new(&host, &plugin, spec("panic")).await.unwrap();
    let mut up = Checker::new(&host, &plugin, spec("up")).await.unwrap();

    async fn round(trap: &mut Checker, panic: &mut Checker, n: usize) {
        for i in 0..n {
            let c = if i % 2 == 0 { &mut *trap } else { &mut *panic };
            let r = c.check().await;
            assert!(
                matches!(&r.outcome, CheckOutcome::Failed(Failure::Trap(_))),
                "call {i}: {}",
                r.outcome
            );
        }
    }
    // Warm-up: pool slots, allocator arenas and lazily initialised state settle.
    round(&mut trap, &mut panic, 1_000).await;
    let before = rss_bytes().unwrap();
    let started = Instant::now();
    round(&mut trap, &mut panic, CALLS).await;
    let elapsed = started.elapsed();
    let after = rss_bytes().unwrap();
    eprintln!(
        "{CALLS} hostile calls in {elapsed:?} ({:?}/call); RSS {} -> {} KiB ({:+} KiB)",
        elapsed / CALLS as u32,
        before / 1024,
        after / 1024,
        (after as i64 - before as i64) / 1024
    );
    assert!(
        after < before + MAX_GROWTH,
        "RSS grew from {before} to {after} bytes over {CALLS} hostile calls"
    );
    // And the host still works.
    assert!(up.check().await.outcome.passed());
}

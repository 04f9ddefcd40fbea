//! Service death to VIP moved: Vigil (the sandboxed `http` check plugin) against keepalived
//! (an equivalent `vrrp_script` running curl), in the same run, in private namespace labs.
//!
//! ```sh
//! plugins/build.sh && sudo cargo bench -p vigil --bench failover -- --runs 5
//! ```
//!
//! Each run: a fresh lab (h1, h2 running nginx; a client), VRRPv3 at 100 ms adverts, priorities
//! 150/100, the check every 1 s with `fall 2` and no weight (the instance goes to FAULT, as with
//! keepalived's weightless `track_script`). After settling and a random delay (a random phase
//! against the check schedule), nginx on the master is stopped. tshark on the lab bridge
//! timestamps the old master's priority-0 advert (it resigns on FAULT) and the new master's first
//! advert; so the time splits into **detection** (stop → resign: check interval × fall, by
//! design) and **takeover** (resign → new master's first advert, whose protocol bound is the
//! backup's Skew_Time). A client in a third namespace requests the VIP every 20 ms (curl, 300 ms
//! timeout) and the failed requests between the stop and the first answer from h2 are counted.
//!
//! Options: `--runs N` (per implementation, default 5), `--only vigil|keepalived`, `--keep`,
//! `--interval-ms N` (Vigil's check interval and timeout, default 1000; keepalived's
//! `vrrp_script` takes whole seconds only, so below 1000 run `--only vigil`).
//! Needs root, nginx, curl, tshark and keepalived; the `http` component (plugins/build.sh).
//! Otherwise prints `skipped: ...` and exits 0.

use std::error::Error;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use vigil_lab::{Capture, Host, Keepalived, KeepalivedConfig, KeepalivedScript, Lab, VrrpVersion};

const VIGIL: &str = env!("CARGO_BIN_EXE_vigil");
const ADVERT: Duration = Duration::from_millis(100);

type R<T> = Result<T, Box<dyn Error>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Imp {
    Vigil,
    Keepalived,
}

impl Imp {
    fn name(self) -> &'static str {
        match self {
            Imp::Vigil => "Vigil (http plugin)",
            Imp::Keepalived => "keepalived (vrrp_script curl)",
        }
    }
}

/// The client's requests: start time (Unix seconds) and the body, or None on failure.
type ClientLog = Vec<(f64, Option<String>)>;

struct Run {
    detection: Duration,
    takeover: Duration,
    total: Duration,
    failed: u32,
}

fn epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn plugin_dir() -> PathBuf {
    std::env::var_os("VIGIL_PLUGIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/plugins"))
}

/// One GET of the VIP's /health from the client: the body, or None.
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

fn wait(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) -> R<()> {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        if f() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Err(format!("timed out waiting for {what}").into())
}

fn vigil_config(dir: &std::path::Path, host: &Host, prio: u8, interval_ms: u64) -> String {
    format!(
        "[global]\ncontrol_socket = {sock:?}\nplugin_cache_dir = {cache:?}\n\n\
         [[instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvrid = 51\npriority = {prio}\n\
         version = 3\nadvert_interval = \"100ms\"\nvirtual_addresses = [\"192.0.2.100/24\"]\n\
         track_checks = [\"web\"]\n\n\
         [[check]]\nname = \"web\"\nplugin = {plugin:?}\ntarget = \"127.0.0.1:80\"\n\
         interval = \"{interval_ms}ms\"\ntimeout = \"{interval_ms}ms\"\nfall = 2\nrise = 2\nconfig = {{ path = \"/health\" }}\n",
        sock = dir.join(format!("{}.sock", host.name())).display().to_string(),
        cache = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/plugin-cache")
            .display()
            .to_string(),
        plugin = plugin_dir().join("http.wasm").display().to_string(),
    )
}

fn start_node(imp: Imp, lab: &Lab, host: &Host, prio: u8, interval_ms: u64) -> R<()> {
    match imp {
        Imp::Vigil => {
            let conf = lab.dir().join(format!("vigil-{}.toml", host.name()));
            std::fs::write(&conf, vigil_config(lab.dir(), host, prio, interval_ms))?;
            host.spawn(
                VIGIL,
                ["run".as_ref(), "-c".as_ref(), conf.as_os_str()],
                lab.dir().join(format!("vigil-{}.log", host.name())),
            )?;
        }
        Imp::Keepalived => {
            let mut cfg = KeepalivedConfig::new(51, prio, ("192.0.2.100".parse()?, 24));
            cfg.version = VrrpVersion::V3;
            cfg.advert = ADVERT;
            cfg.script = Some(KeepalivedScript {
                command: "/usr/bin/curl -sf -m 1 -o /dev/null http://127.0.0.1/health".into(),
                interval_s: 1,
                fall: 2,
                rise: 2,
                weight: None,
            });
            Keepalived::start(host, &cfg)?;
        }
    }
    Ok(())
}

fn one_run(imp: Imp, keep: bool, interval_ms: u64) -> R<Run> {
    let lab = Lab::new("bench-failover")?;
    if keep {
        lab.keep();
    }
    let hosts = lab.add_hosts(3)?;
    let (h1, h2, client) = (&hosts[0], &hosts[1], &hosts[2]);
    let vip: IpAddr = "192.0.2.100".parse()?;
    let n1 = vigil_lab::services::nginx(h1, lab.dir())?;
    let _n2 = vigil_lab::services::nginx(h2, lab.dir())?;
    start_node(imp, &lab, h1, 150, interval_ms)?;
    start_node(imp, &lab, h2, 100, interval_ms)?;
    wait("h1 to serve the VIP", Duration::from_secs(20), || {
        get(client, vip).as_deref() == Some("ok h1")
    })?;
    // Let both nodes settle (checks running, h2 a steady backup).
    std::thread::sleep(Duration::from_secs(3));
    let mut cap = Capture::start(&lab, "failover")?;
    std::thread::sleep(Duration::from_millis(300));

    // The client: one request every 20 ms, each stamped with its start.
    let stop = Arc::new(AtomicBool::new(false));
    let log: Arc<Mutex<ClientLog>> = Arc::default();
    let client_thread = {
        let (stop, log, client) = (stop.clone(), log.clone(), client.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let t = epoch();
                let r = get(&client, vip);
                if let Ok(mut l) = log.lock() {
                    l.push((t, r));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    // A random phase against the check schedule.
    let phase = u64::from(SystemTime::now().duration_since(UNIX_EPOCH)?.subsec_nanos())
        % interval_ms.max(1);
    std::thread::sleep(Duration::from_millis(500 + phase));
    let t_kill = epoch();
    n1.terminate(Duration::from_secs(5))?;
    wait("h2 to serve the VIP", Duration::from_secs(20), || {
        log.lock()
            .map(|l| {
                l.iter()
                    .any(|(t, r)| *t > t_kill && r.as_deref() == Some("ok h2"))
            })
            .unwrap_or(false)
    })?;
    stop.store(true, Ordering::Relaxed);
    let _ = client_thread.join();
    std::thread::sleep(Duration::from_millis(200));
    let file = cap.stop()?.to_path_buf();
    let rows =
        vigil_lab::tshark_fields(&file, "vrrp", &["frame.time_epoch", "ip.src", "vrrp.prio"])?;
    let mut resign = None;
    let mut first_h2 = None;
    let h1_ip = h1.ipv4().map(|a| a.to_string()).unwrap_or_default();
    let h2_ip = h2.ipv4().map(|a| a.to_string()).unwrap_or_default();
    for r in rows {
        let (Some(t), Some(src), Some(prio)) = (r.first(), r.get(1), r.get(2)) else {
            continue;
        };
        let t: f64 = t.parse()?;
        if t < t_kill {
            continue;
        }
        if *src == h1_ip && prio == "0" && resign.is_none() {
            resign = Some(t);
        }
        if *src == h2_ip && first_h2.is_none() {
            first_h2 = Some(t);
        }
    }
    let (Some(resign), Some(first_h2)) = (resign, first_h2) else {
        return Err(format!("no resign/takeover adverts in {}", file.display()).into());
    };
    let l = log.lock().map_err(|_| "client log poisoned")?;
    let served = l
        .iter()
        .find(|(t, r)| *t > t_kill && r.as_deref() == Some("ok h2"))
        .map_or(first_h2, |x| x.0);
    let failed = l
        .iter()
        .filter(|(t, r)| *t > t_kill && *t < served && r.is_none())
        .count();
    Ok(Run {
        detection: Duration::from_secs_f64((resign - t_kill).max(0.0)),
        takeover: Duration::from_secs_f64((first_h2 - resign).max(0.0)),
        total: Duration::from_secs_f64((first_h2 - t_kill).max(0.0)),
        failed: u32::try_from(failed)?,
    })
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    match (v.first(), v.get(v.len() / 2), v.last()) {
        (Some(a), Some(m), Some(b)) => format!("{} / {} / {}", ms(*a), ms(*m), ms(*b)),
        _ => "-".into(),
    }
}

fn main() -> R<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut runs = 5;
    let mut only = None;
    let mut keep = false;
    let mut interval_ms: u64 = 1000;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => runs = it.next().ok_or("--runs N")?.parse()?,
            "--only" => {
                only = Some(match it.next().map(String::as_str) {
                    Some("vigil") => Imp::Vigil,
                    Some("keepalived") => Imp::Keepalived,
                    _ => return Err("--only vigil|keepalived".into()),
                })
            }
            "--keep" => keep = true,
            "--interval-ms" => interval_ms = it.next().ok_or("--interval-ms N")?.parse()?,
            "--bench" => {}
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if let Err(e) = vigil_lab::preflight(&["nginx", "curl", "tshark", "keepalived"]) {
        println!("skipped: {e}");
        return Ok(());
    }
    if !plugin_dir().join("http.wasm").is_file() {
        println!("skipped: build plugins with plugins/build.sh");
        return Ok(());
    }
    Lab::cleanup_on_signal()?;
    let imps: Vec<Imp> = [Imp::Vigil, Imp::Keepalived]
        .into_iter()
        .filter(|i| only.is_none_or(|o| o == *i))
        .collect();
    let mut results: Vec<(Imp, Vec<Run>)> = imps.iter().map(|i| (*i, Vec::new())).collect();
    for n in 0..runs {
        for (imp, out) in &mut results {
            match one_run(*imp, keep, interval_ms) {
                Ok(r) => {
                    println!(
                        "run {}: {:<30} detection {:>7} ms  takeover {:>6} ms  total {:>7} ms  failed requests {}",
                        n + 1,
                        imp.name(),
                        ms(r.detection),
                        ms(r.takeover),
                        ms(r.total),
                        r.failed
                    );
                    out.push(r);
                }
                Err(e) => println!("run {}: {}: error: {e}", n + 1, imp.name()),
            }
        }
    }
    // Skew_Time of the backup (priority 100, v3, 100 ms): the takeover bound after a resign.
    let skew = ADVERT * (256 - 100) / 256;
    println!();
    println!(
        "check every {interval_ms} ms, fall 2, FAULT without weight; VRRPv3 100 ms; backup Skew_Time {} ms",
        ms(skew)
    );
    println!(
        "| Implementation | Runs | Detection min / median / max (ms) | Takeover min / median / max (ms) | Takeover / Skew_Time (median) | Total median (ms) | Failed requests min / median / max |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (imp, rs) in &results {
        if rs.is_empty() {
            continue;
        }
        let mut tk: Vec<Duration> = rs.iter().map(|r| r.takeover).collect();
        tk.sort();
        let med = tk.get(tk.len() / 2).copied().unwrap_or_default();
        let mut tot: Vec<Duration> = rs.iter().map(|r| r.total).collect();
        tot.sort();
        let mut f: Vec<u32> = rs.iter().map(|r| r.failed).collect();
        f.sort();
        println!(
            "| {} | {} | {} | {} | {:.2} | {} | {} / {} / {} |",
            imp.name(),
            rs.len(),
            stats(rs.iter().map(|r| r.detection).collect()),
            stats(tk),
            med.as_secs_f64() / skew.as_secs_f64(),
            ms(tot.get(tot.len() / 2).copied().unwrap_or_default()),
            f.first().unwrap_or(&0),
            f.get(f.len() / 2).unwrap_or(&0),
            f.last().unwrap_or(&0)
        );
    }
    Ok(())
}

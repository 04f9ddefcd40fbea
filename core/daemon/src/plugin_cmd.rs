//! `vigil plugin ...`: the plugin author's and the operator's tools.
//!
//! `run` executes one check (a component file, or a `[[check]]` of a config
//! file, sandboxed plugin or unsandboxed script) once or a few times and
//! prints what the daemon would see: verdict, metrics, the plugin's log
//! lines and its output. `inspect` shows what a component is and what it
//! asks for, before anything is granted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use serde::Serialize;
use vigil_config::{Config, Runner};
use vigil_plugin_host::{
    CheckOutcome, CheckReport, CheckSpec, Checker, Grants, HostOptions, PluginHost, Target,
};

use crate::script::Script;

/// `vigil plugin` subcommands.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Run a health check once (or `--count` times) and print the result,
    /// the plugin's log and its output. Exit status 0 when every run passed.
    Run(Box<RunArgs>),
    /// Show a component's world, WIT version, digest, imports and the
    /// capabilities it asks for, without granting it anything.
    Inspect(InspectArgs),
}

/// Arguments of `vigil plugin run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The component (.wasm). Not with `--check`.
    #[arg(required_unless_present = "check")]
    plugin: Option<PathBuf>,
    /// Run the `[[check]]` of this name from the configuration file instead.
    #[arg(long, conflicts_with = "plugin", requires = "config_file")]
    check: Option<String>,
    /// Configuration file for `--check`.
    #[arg(short = 'c', long = "config-file")]
    config_file: Option<PathBuf>,
    /// Target: HOST:PORT, [IPv6]:PORT or HOST.
    #[arg(long)]
    target: Option<String>,
    /// The plugin's configuration as JSON (default `{}`).
    #[arg(long, default_value = "{}")]
    config: String,
    /// Grant TCP connections to ADDR[/PREFIX]:PORT|* (repeatable). Without any
    /// grant, a target given as an IP address is granted (TCP and HTTP).
    #[arg(long = "allow-connect", value_name = "RULE")]
    allow_connect: Vec<String>,
    /// Grant HTTP requests to HOST:PORT|* (repeatable).
    #[arg(long = "allow-http", value_name = "RULE")]
    allow_http: Vec<String>,
    /// Grant both TCP connections and HTTP requests to RULE (repeatable).
    #[arg(long = "allow", value_name = "RULE")]
    allow: Vec<String>,
    /// Grant UDP to the `--allow-connect` addresses.
    #[arg(long)]
    allow_udp: bool,
    /// Grant host name resolution.
    #[arg(long)]
    allow_dns: bool,
    /// Environment variable the plugin sees, NAME=VALUE (repeatable).
    #[arg(long = "env", value_name = "NAME=VALUE")]
    env: Vec<String>,
    /// Deadline of each run.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    timeout: Duration,
    /// Runs on the same (warm) instance, to see state kept between calls.
    #[arg(long, default_value_t = 1)]
    count: u32,
    /// Machine-readable output (one JSON object per run).
    #[arg(long)]
    json: bool,
}

/// Arguments of `vigil plugin inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The component (.wasm).
    plugin: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    vigil_config::parse_duration(s)
}

/// Entry point; `Ok(false)` means a check did not pass.
pub fn run(cmd: PluginCommand) -> Result<bool> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async move {
        match cmd {
            PluginCommand::Run(args) => match &args.check {
                Some(name) => run_configured(&args, name).await,
                None => run_file(&args).await,
            },
            PluginCommand::Inspect(args) => inspect(&args).await,
        }
    })
}

fn host() -> Result<PluginHost> {
    PluginHost::new(HostOptions {
        max_instances: 16,
        ..HostOptions::default()
    })
    .map_err(|e| anyhow!("starting the plugin host: {e}"))
}

/// A config-crate grant list in the host's terms.
pub fn host_grants(g: &vigil_config::Grants) -> Result<Grants> {
    let rules = |rs: &[vigil_config::AddressRule]| -> Result<Vec<String>> {
        Ok(rs.iter().map(host_rule).collect())
    };
    grants_from(
        &rules(&g.connect)?,
        &rules(&g.http)?,
        g.udp,
        g.dns,
        g.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    )
}

/// The host writes IPv6 networks as `[2001:db8::]/32:443`.
fn host_rule(r: &vigil_config::AddressRule) -> String {
    let port = r.port.map_or("*".to_string(), |p| p.to_string());
    match &r.host {
        vigil_config::HostPattern::Net { addr, prefix } if addr.is_ipv6() => {
            if *prefix == 128 {
                format!("[{addr}]:{port}")
            } else {
                format!("[{addr}]/{prefix}:{port}")
            }
        }
        _ => r.to_string(),
    }
}

fn grants_from(
    connect: &[String],
    http: &[String],
    udp: bool,
    dns: bool,
    env: Vec<(String, String)>,
) -> Result<Grants> {
    let mut g = Grants {
        udp,
        dns,
        env,
        ..Grants::default()
    };
    for r in connect {
        g.connect
            .push(r.parse().map_err(|e| anyhow!("--allow-connect {r}: {e}"))?);
    }
    for r in http {
        g.http
            .push(r.parse().map_err(|e| anyhow!("--allow-http {r}: {e}"))?);
    }
    Ok(g)
}

/// A config target in the host's terms (an empty host when the check names none).
pub fn to_host_target(t: Option<&vigil_config::Target>) -> Target {
    match t {
        Some(t) => Target {
            host: t.host.clone(),
            port: t.port,
        },
        None => Target {
            host: String::new(),
            port: None,
        },
    }
}

async fn run_file(args: &RunArgs) -> Result<bool> {
    let Some(path) = &args.plugin else {
        bail!("name a component file or --check");
    };
    serde_json::from_str::<serde_json::Value>(&args.config)
        .context("--config must be JSON (e.g. '{\"path\": \"/health\"}')")?;
    let target: Option<vigil_config::Target> = args
        .target
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e| anyhow!("--target: {e}"))?;
    let env = args
        .env
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| anyhow!("--env {kv}: write NAME=VALUE"))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut connect = args.allow_connect.clone();
    let mut http = args.allow_http.clone();
    connect.extend(args.allow.iter().cloned());
    http.extend(args.allow.iter().cloned());
    // As in the config: the target itself, when nothing else is granted.
    if connect.is_empty() && http.is_empty() {
        if let Some(ip) = target.as_ref().and_then(vigil_config::Target::ip) {
            let rule = vigil_config::AddressRule {
                host: vigil_config::HostPattern::Net {
                    addr: ip,
                    prefix: if ip.is_ipv4() { 32 } else { 128 },
                },
                port: target.as_ref().and_then(|t| t.port),
            };
            connect.push(host_rule(&rule));
            http.push(host_rule(&rule));
        }
    }
    let grants = grants_from(&connect, &http, args.allow_udp, args.allow_dns, env)?;
    let host = host()?;
    let plugin = host
        .load_file(path)
        .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let spec = CheckSpec {
        name: "cli".into(),
        config_json: args.config.clone(),
        target: to_host_target(target.as_ref()),
        grants,
        timeout: args.timeout,
    };
    check_loop(&host, &plugin, spec, args).await
}

async fn check_loop(
    host: &PluginHost,
    plugin: &vigil_plugin_host::Plugin,
    spec: CheckSpec,
    args: &RunArgs,
) -> Result<bool> {
    let mut checker = match Checker::new(host, plugin, spec).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("vigil plugin run: {e}");
            return Ok(false);
        }
    };
    let mut all_passed = true;
    for n in 0..args.count.max(1) {
        let report = checker.check().await;
        all_passed &= report.outcome.passed();
        print_report(n + 1, &report, args.json)?;
    }
    Ok(all_passed)
}

/// One run as JSON.
#[derive(Serialize)]
struct JsonRun<'a> {
    run: u32,
    passed: bool,
    outcome: &'a CheckOutcome,
    elapsed_ms: f64,
    fresh_instance: bool,
    logs: Vec<String>,
    output: &'a str,
}

fn print_report(n: u32, r: &CheckReport, json: bool) -> Result<()> {
    if json {
        let j = JsonRun {
            run: n,
            passed: r.outcome.passed(),
            outcome: &r.outcome,
            elapsed_ms: r.elapsed.as_secs_f64() * 1e3,
            fresh_instance: r.fresh_instance,
            logs: r.logs.iter().map(|(l, m)| format!("{l}: {m}")).collect(),
            output: &r.output,
        };
        println!("{}", serde_json::to_string(&j)?);
        return Ok(());
    }
    for (level, msg) in &r.logs {
        println!("  log {level}: {msg}");
    }
    if !r.output.is_empty() {
        println!("--- output ---");
        print!("{}", r.output);
        if !r.output.ends_with('\n') {
            println!();
        }
        println!("--------------");
    }
    let verdict = if r.outcome.passed() { "PASS" } else { "FAIL" };
    println!(
        "run {n}: {verdict} in {:.1} ms{}: {}",
        r.elapsed.as_secs_f64() * 1e3,
        if r.fresh_instance {
            " (fresh instance)"
        } else {
            ""
        },
        r.outcome
    );
    if let CheckOutcome::Verdict(v) = &r.outcome {
        for m in &v.metrics {
            println!("  metric {} = {}", m.name, m.value);
        }
    }
    Ok(())
}

async fn run_configured(args: &RunArgs, name: &str) -> Result<bool> {
    let path: &Path = args
        .config_file
        .as_deref()
        .ok_or_else(|| anyhow!("--check needs -c CONFIG"))?;
    let cfg = Config::load(path).map_err(|e| anyhow!("{e}"))?;
    let check = cfg
        .checks
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| anyhow!("no [[check]] named {name:?} in {}", path.display()))?;
    match &check.runner {
        Runner::Script { command, user } => {
            eprintln!("note: check {name:?} is an unsandboxed script: it runs with this process's privileges");
            let script = Script {
                command: command.clone(),
                user: user.clone(),
                timeout: check.timeout,
            };
            let mut all = true;
            for n in 0..args.count.max(1) {
                let r = script.run(&[], &[]).await;
                all &= r.success();
                if !r.output.is_empty() {
                    print!("{}", r.output);
                }
                println!(
                    "run {}: {} in {:.1} ms: {}",
                    n + 1,
                    if r.success() { "PASS" } else { "FAIL" },
                    r.elapsed.as_secs_f64() * 1e3,
                    r.status
                );
            }
            Ok(all)
        }
        Runner::Plugin {
            path: wasm,
            config_json,
            grants,
            ..
        } => {
            let host = host()?;
            let plugin = host
                .load_file(wasm)
                .map_err(|e| anyhow!("{}: {e}", wasm.display()))?;
            let spec = CheckSpec {
                name: check.name.clone(),
                config_json: config_json.clone(),
                target: to_host_target(check.target.as_ref()),
                grants: host_grants(grants)?,
                timeout: check.timeout,
            };
            check_loop(&host, &plugin, spec, args).await
        }
    }
}

/// For `vigil check-config`: load every plugin the config names, check its world and WIT
/// version, and run its `configure` with the check's (or notifier's) `config` table, in the
/// sandbox with nothing granted. Prints each problem; `Ok(false)` if there was one.
pub async fn verify_plugins(cfg: &Config) -> Result<bool> {
    let runners: Vec<(&str, &str, &Runner, Option<&vigil_config::Target>, Duration)> = cfg
        .checks
        .iter()
        .map(|c| {
            (
                "check",
                c.name.as_str(),
                &c.runner,
                c.target.as_ref(),
                c.timeout,
            )
        })
        .chain(
            cfg.notifiers
                .iter()
                .map(|n| ("notifier", n.name.as_str(), &n.runner, None, n.timeout)),
        )
        .collect();
    if !runners.iter().any(|r| r.2.is_sandboxed()) {
        return Ok(true);
    }
    let host = PluginHost::new(HostOptions {
        max_instances: 8,
        cache_dir: cfg.global.plugin_cache_dir.clone().filter(|d| d.is_dir()),
        ..HostOptions::default()
    })
    .map_err(|e| anyhow!("starting the plugin host: {e}"))?;
    let mut ok = true;
    for (kind, name, runner, target, timeout) in runners {
        let Runner::Plugin {
            path, config_json, ..
        } = runner
        else {
            continue;
        };
        let plugin = match host.load_file(path) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{kind} {name:?}: {}: {e}", path.display());
                ok = false;
                continue;
            }
        };
        // Nothing granted: `configure` must not do I/O anyway.
        let r = if kind == "check" {
            Checker::new(
                &host,
                &plugin,
                CheckSpec {
                    name: name.to_string(),
                    config_json: config_json.clone(),
                    target: to_host_target(target),
                    grants: Grants::default(),
                    timeout,
                },
            )
            .await
            .map(drop)
        } else {
            vigil_plugin_host::Notifier::new(
                &host,
                &plugin,
                vigil_plugin_host::NotifierSpec {
                    name: name.to_string(),
                    config_json: config_json.clone(),
                    grants: Grants::default(),
                    timeout,
                },
            )
            .await
            .map(drop)
        };
        if let Err(e) = r {
            eprintln!("{kind} {name:?}: {e}");
            ok = false;
        }
    }
    Ok(ok)
}

/// What `inspect` shows.
#[derive(Serialize)]
struct Inspection {
    file: String,
    size: usize,
    sha256: String,
    world: String,
    wit_version: String,
    info: Option<vigil_plugin_host::PluginInfo>,
    info_error: Option<String>,
    imports: Vec<String>,
    exports: Vec<String>,
}

async fn inspect(args: &InspectArgs) -> Result<bool> {
    let host = host()?;
    let plugin = host
        .load_file(&args.plugin)
        .map_err(|e| anyhow!("{}: {e}", args.plugin.display()))?;
    let info = plugin.info(&host).await;
    let i = Inspection {
        file: args.plugin.display().to_string(),
        size: plugin.size(),
        sha256: plugin.digest().to_string(),
        world: plugin.world().to_string(),
        wit_version: plugin.wit_version().to_string(),
        info_error: info.as_ref().err().map(ToString::to_string),
        info: info.ok(),
        imports: plugin.imports().to_vec(),
        exports: plugin.exports().to_vec(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&i)?);
        return Ok(i.info_error.is_none());
    }
    println!("{}", i.file);
    println!(
        "  world        {} (vigil:plugin@{})",
        i.world, i.wit_version
    );
    println!("  size         {} bytes", i.size);
    println!("  sha256       {}", i.sha256);
    match (&i.info, &i.info_error) {
        (Some(info), _) => {
            println!("  name         {} {}", info.name, info.version);
            println!("  description  {}", info.description);
            let caps: Vec<String> = info.capabilities.iter().map(ToString::to_string).collect();
            println!(
                "  asks for     {}",
                if caps.is_empty() {
                    "nothing (pure computation)".to_string()
                } else {
                    caps.join(", ")
                }
            );
        }
        (None, Some(e)) => println!("  info         failed: {e}"),
        (None, None) => {}
    }
    println!("  imports");
    for im in &i.imports {
        println!("    {im}");
    }
    Ok(i.info_error.is_none())
}

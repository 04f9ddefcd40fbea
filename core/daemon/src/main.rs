//! `vigil`: keepalived rebuilt in Rust.
//!
//! This binary is deliberately thin: the protocol lives in `vigil-vrrp`
//! (sans-IO), the configuration in `vigil-config`; this crate is the I/O
//! shell (sockets, netlink, signals, control socket) and the subcommands.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

mod control;
mod daemon;
mod demo;
mod net;
mod plugin_cmd;
mod script;
mod status;
mod tool;

const DEFAULT_CONFIG: &str = "/etc/vigil/vigil.toml";
const DEFAULT_SOCKET: &str = "/run/vigil/vigil.sock";

/// Vigil: VRRP high availability, LVS and sandboxed health checks.
#[derive(Debug, Parser)]
#[command(name = "vigil", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon in the foreground (logs to stderr; SIGHUP reloads,
    /// SIGTERM/SIGINT resign mastership, remove addresses and exit).
    Run {
        /// Configuration file.
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// Control socket (default: `global.control_socket` of the config).
        #[arg(long)]
        socket: Option<PathBuf>,
        /// SCHED_FIFO priority of the VRRP thread (1..=99), so adverts keep
        /// their timing on a saturated machine; 0 leaves it an ordinary thread.
        /// Falls back to an ordinary thread (with a warning) where not permitted.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(i32).range(0..=99))]
        realtime: i32,
        /// Log filter (tracing's EnvFilter syntax; RUST_LOG also works).
        #[arg(long, default_value = "info")]
        log: String,
    },
    /// Check a configuration file: every error with file, line and key;
    /// exit status 1 if there is any.
    CheckConfig {
        /// Configuration file.
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// Print the validated model as JSON.
        #[arg(long)]
        json: bool,
        /// Skip loading the plugins (by default each one is loaded, its WIT
        /// version checked, and its `config` table passed to its `configure`,
        /// in the sandbox, without network access).
        #[arg(long)]
        no_plugins: bool,
    },
    /// Show the running daemon's instances (from its control socket).
    Status {
        /// Control socket.
        #[arg(long, default_value = DEFAULT_SOCKET)]
        socket: PathBuf,
        /// Raw JSON.
        #[arg(long)]
        json: bool,
    },
    /// Ask the running daemon to reload its configuration (like SIGHUP, but
    /// reports the result).
    Reload {
        /// Control socket.
        #[arg(long, default_value = DEFAULT_SOCKET)]
        socket: PathBuf,
    },
    /// Convert a keepalived.conf (its VRRP side) into Vigil's TOML; lists
    /// every option not converted and exits 1 if anything was left out.
    Import {
        /// keepalived configuration.
        keepalived_conf: PathBuf,
        /// Output file (default: stdout).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// keepalived's --config-id, for `@ID` conditional lines.
        #[arg(long)]
        config_id: Option<String>,
    },
    /// Run and inspect WebAssembly plugins (health checks, notifiers).
    #[command(subcommand)]
    Plugin(plugin_cmd::PluginCommand),
    /// Tools for tests and troubleshooting.
    #[command(subcommand, hide = true)]
    Tool(ToolCommand),
    /// Show a VRRP cluster electing a master, losing it and failing over: real
    /// daemons (and keepalived) in private network namespaces, or simulated.
    Demo(demo::DemoArgs),
}

#[derive(Debug, Subcommand)]
enum ToolCommand {
    /// Send a hand-made (possibly malformed or hostile) VRRP packet.
    Send(tool::SendArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            config,
            socket,
            realtime,
            log,
        } => run(config, socket, realtime, &log),
        Command::CheckConfig {
            config,
            json,
            no_plugins,
        } => check_config(&config, json, !no_plugins),
        Command::Status { socket, json } => block_on(status::show(&socket, json)),
        Command::Reload { socket } => block_on(status::reload(&socket)),
        Command::Import {
            keepalived_conf,
            output,
            config_id,
        } => import(&keepalived_conf, output.as_deref(), config_id.as_deref()),
        Command::Tool(ToolCommand::Send(args)) => block_on(tool::send(&args)),
        Command::Demo(args) => demo::run(&args),
        Command::Plugin(cmd) => plugin_cmd::run(cmd),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("vigil: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn block_on<F: std::future::Future<Output = Result<bool>>>(f: F) -> Result<bool> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?
        .block_on(f)
}

fn run(config: PathBuf, socket: Option<PathBuf>, realtime: i32, log: &str) -> Result<bool> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(log))
        .context("--log")?;
    // Colours only for a human at a terminal, never in journald or log files.
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("vigil-main")
        .build()
        .context("starting the runtime")?;
    rt.block_on(daemon::run(daemon::RunOptions {
        config,
        control_socket: socket,
        realtime: (realtime > 0).then_some(realtime),
    }))?;
    Ok(true)
}

fn check_config(path: &std::path::Path, json: bool, plugins: bool) -> Result<bool> {
    match vigil_config::Config::load(path) {
        Ok(cfg) => {
            if plugins && !block_on(plugin_cmd::verify_plugins(&cfg))? {
                return Ok(false);
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&cfg)?);
            } else {
                println!(
                    "{}: OK ({} instance(s), {} sync group(s), {} check(s), {} notifier(s))",
                    path.display(),
                    cfg.instances.len(),
                    cfg.sync_groups.len(),
                    cfg.checks.len(),
                    cfg.notifiers.len()
                );
            }
            Ok(true)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(false)
        }
    }
}

fn import(
    input: &std::path::Path,
    output: Option<&std::path::Path>,
    config_id: Option<&str>,
) -> Result<bool> {
    let opts = vigil_config::keepalived::ImportOptions {
        config_id: config_id.map(str::to_string),
    };
    let conv =
        vigil_config::keepalived::convert_with(input, &opts).map_err(|e| anyhow::anyhow!("{e}"))?;
    match output {
        Some(p) => {
            std::fs::write(p, &conv.toml).with_context(|| format!("writing {}", p.display()))?
        }
        None => print!("{}", conv.toml),
    }
    for n in &conv.notes {
        eprintln!("note: {n}");
    }
    if conv.unsupported.is_empty() {
        eprintln!("vigil import: everything converted");
        return Ok(true);
    }
    eprintln!(
        "vigil import: {} keepalived option(s) not converted:",
        conv.unsupported.len()
    );
    for u in &conv.unsupported {
        eprintln!("  {u}");
    }
    Ok(false)
}

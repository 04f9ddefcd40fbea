//! `vigil demo`: what a newcomer runs first.
//!
//! As root with iproute2, it builds a private lab of network namespaces
//! (nothing touches this machine's own network), runs two real Vigil daemons
//! and — when installed — one real keepalived as peers, shows the election,
//! kills the master, measures the takeover, and brings it back. Elsewhere, or
//! with `--simulate`, it runs the same engine in the deterministic simulator
//! and says so.

mod lab;
mod sim;

use anyhow::Result;

/// How the master dies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kill {
    /// kill -9: no goodbye, the backups wait Master_Down_Interval.
    Crash,
    /// SIGTERM: the master resigns with priority 0, backups wait Skew_Time.
    Shutdown,
}

/// Options of `vigil demo`.
#[derive(Clone, Debug, clap::Args)]
pub struct DemoArgs {
    /// VRRP version (2 needs whole-second intervals).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(2..=3))]
    pub vrrp_version: u8,
    /// Advertisement interval in milliseconds (v3: multiple of 10).
    #[arg(long, default_value_t = 100)]
    pub advert_ms: u32,
    /// How the master dies.
    #[arg(long, value_enum, default_value_t = Kill::Crash)]
    pub kill: Kill,
    /// Seed of the simulated LAN's delays (with --simulate).
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Run in the simulator instead of network namespaces.
    #[arg(long)]
    pub simulate: bool,
}

/// Run the demo, printing as it goes.
pub fn run(args: &DemoArgs) -> Result<bool> {
    if !args.simulate {
        match vigil_lab::preflight(&[]) {
            Ok(()) => return lab::run(args),
            Err(e) => {
                println!("Network namespaces are not available here ({e}); running the simulated demo instead.\n");
            }
        }
    }
    print!("{}", sim::run(args)?);
    Ok(true)
}

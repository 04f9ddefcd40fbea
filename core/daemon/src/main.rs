//! `vigil`: keepalived rebuilt in Rust.
//!
//! This binary is deliberately thin: the protocol lives in `vigil-vrrp`
//! (sans-IO), and each subcommand is a small module. The daemon's I/O shell
//! (`vigil run`) arrives with issue #4; today the binary offers the demo.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod demo;

/// Vigil: VRRP high availability, LVS and sandboxed health checks.
#[derive(Debug, Parser)]
#[command(name = "vigil", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show a three-router VRRP cluster electing a master, losing it and
    /// failing over (simulated: the real engine on a virtual LAN).
    Demo(demo::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args).map(|text| print!("{text}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vigil: {e:#}");
            ExitCode::FAILURE
        }
    }
}

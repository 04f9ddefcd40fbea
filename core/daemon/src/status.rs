//! `vigil status` and `vigil reload`: clients of the control socket.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Result;
use hyper::Method;
use serde_json::Value;

use crate::control;

/// Print the daemon's instances as a table (or raw JSON).
pub async fn show(socket: &PathBuf, json: bool) -> Result<bool> {
    let v = control::request(socket, Method::GET, "/v1/status").await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", table(&v));
    }
    Ok(true)
}

/// Ask for a reload and print what changed.
pub async fn reload(socket: &PathBuf) -> Result<bool> {
    let v = control::request(socket, Method::POST, "/v1/reload").await?;
    for key in ["unchanged", "changed", "added", "removed"] {
        let names: Vec<&str> = v
            .get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        println!(
            "{key:<9} {}",
            if names.is_empty() {
                "-".to_string()
            } else {
                names.join(", ")
            }
        );
    }
    Ok(true)
}

fn s(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".into(),
        Some(x) => x.to_string(),
    }
}

/// Render the status JSON for humans.
pub fn table(v: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:<10} {:>4} {:>3} {:<7} {:>8} {:>8}  {:<28} {:<22} {:>9} {:>9} {:>6}",
        "INSTANCE",
        "IFACE",
        "VRID",
        "VER",
        "STATE",
        "PRIO",
        "ADVERT",
        "MASTER",
        "VIPS",
        "RX",
        "TX",
        "DROPS"
    );
    let empty = Vec::new();
    for i in v
        .get("instances")
        .and_then(Value::as_array)
        .unwrap_or(&empty)
    {
        let stats = i.get("stats").cloned().unwrap_or(Value::Null);
        let prio = format!("{}/{}", s(i, "priority"), s(i, "base_priority"));
        let drops: u64 = i
            .get("drops")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|d| d.get(1).and_then(Value::as_u64))
                    .sum()
            })
            .unwrap_or(0);
        let vips = i
            .get("virtual_addresses")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{:<16} {:<10} {:>4} {:>3} {:<7} {:>8} {:>6}ms  {:<28} {:<22} {:>9} {:>9} {:>6}",
            s(i, "name"),
            s(i, "interface"),
            s(i, "vrid"),
            s(i, "version").trim_start_matches('v'),
            s(i, "state").to_uppercase(),
            prio,
            s(i, "advert_interval_ms"),
            s(i, "master"),
            vips,
            s(&stats, "adverts_received"),
            s(&stats, "adverts_sent"),
            drops
        );
        if let Some(d) = i.get("drops").and_then(Value::as_array) {
            for r in d {
                if let (Some(name), Some(n)) = (
                    r.get(0).and_then(Value::as_str),
                    r.get(1).and_then(Value::as_u64),
                ) {
                    let _ = writeln!(out, "    dropped {n} packet(s): {name}");
                }
            }
        }
    }
    out
}

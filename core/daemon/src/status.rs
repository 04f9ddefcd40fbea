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
        // Tracking: why the priority is what it is.
        let name = i.get("name").and_then(Value::as_str).unwrap_or("");
        if let Some(t) = v.get("tracking").and_then(Value::as_array).and_then(|a| {
            a.iter()
                .find(|t| t.get("instance").and_then(Value::as_str) == Some(name))
        }) {
            if let Some(tracks) = t.get("tracks").and_then(Value::as_array) {
                for tr in tracks {
                    let what = tr.get(0).and_then(Value::as_str).unwrap_or("?");
                    let ok = tr.get(1).and_then(Value::as_bool).unwrap_or(true);
                    let effect = match tr.get(2).and_then(Value::as_i64) {
                        Some(d) => format!("{d:+}"),
                        None if ok => "ok".into(),
                        None => "FAULT".into(),
                    };
                    let _ = writeln!(
                        out,
                        "    tracks {what}: {} ({effect})",
                        if ok { "up" } else { "down" }
                    );
                }
            }
            if let Some(c) = t.get("last_change").and_then(Value::as_str) {
                let _ = writeln!(out, "    last change: {c}");
            }
        }
    }
    if let Some(checks) = v
        .get("checks")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
    {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<16} {:<26} {:<6} {:>8} {:>8} {:>9}  LAST RESULT",
            "CHECK", "RUNNER", "HEALTH", "RUNS", "FAILED", "LAST MS"
        );
        for c in checks {
            let stats = c.get("stats").cloned().unwrap_or(Value::Null);
            let runner = match c.get("sandboxed").and_then(Value::as_bool) {
                Some(false) => format!("{} (!)", s(c, "runner")),
                _ => s(c, "runner"),
            };
            let health = match c.get("healthy").and_then(Value::as_bool) {
                Some(true) => "up",
                _ => "DOWN",
            };
            let last_ms = c
                .get("last_ms")
                .and_then(Value::as_f64)
                .map_or("-".to_string(), |m| format!("{m:.1}"));
            let _ = writeln!(
                out,
                "{:<16} {:<26} {:<6} {:>8} {:>8} {:>9}  {}",
                s(c, "name"),
                runner,
                health,
                s(&stats, "runs"),
                s(&stats, "failed"),
                last_ms,
                s(c, "last_result")
            );
        }
        if checks
            .iter()
            .any(|c| c.get("sandboxed").and_then(Value::as_bool) == Some(false))
        {
            let _ = writeln!(out, "(!) unsandboxed: runs with the daemon's privileges");
        }
    }
    out
}

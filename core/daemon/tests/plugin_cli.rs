//! `vigil plugin inspect`, `vigil plugin run` and the plugin checks of `vigil check-config`,
//! with the first-party components (plugins/build.sh) and a listener on 127.0.0.1.
//!
//! Skips with a message when the components are not built, unless VIGIL_REQUIRE_PLUGINS=1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};

const VIGIL: &str = env!("CARGO_BIN_EXE_vigil");

fn plugins() -> Option<PathBuf> {
    let dir = std::env::var_os("VIGIL_PLUGIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/plugins"));
    if dir.join("tcp.wasm").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var("VIGIL_REQUIRE_PLUGINS").as_deref() != Ok("1"),
        "{} has no tcp.wasm: run plugins/build.sh",
        dir.display()
    );
    eprintln!("skipped: build plugins with plugins/build.sh");
    None
}

fn vigil(args: &[&str]) -> Output {
    Command::new(VIGIL).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn inspect_shows_world_version_and_capabilities() {
    let Some(dir) = plugins() else { return };
    let o = vigil(&["plugin", "inspect", dir.join("tcp.wasm").to_str().unwrap()]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("health-check (vigil:plugin@0.1.0)"), "{t}");
    assert!(t.contains("asks for     tcp"), "{t}");
    assert!(t.contains("wasi:sockets/tcp@0.2"), "{t}");
    let o = vigil(&[
        "plugin",
        "inspect",
        "--json",
        dir.join("webhook.wasm").to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["world"], "notifier");
    assert_eq!(v["info"]["capabilities"][0], "http");
}

#[test]
fn run_passes_when_granted_and_fails_when_not() {
    let Some(dir) = plugins() else { return };
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = l.local_addr().unwrap().to_string();
    let tcp = dir.join("tcp.wasm");
    // The target is granted implicitly.
    let o = vigil(&[
        "plugin",
        "run",
        tcp.to_str().unwrap(),
        "--target",
        &target,
        "--count",
        "2",
    ]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("run 2: PASS"), "{t}");
    assert!(t.contains("metric connect_ms"), "{t}");
    // An explicit grant elsewhere replaces it: denied by the sandbox.
    let o = vigil(&[
        "plugin",
        "run",
        tcp.to_str().unwrap(),
        "--target",
        &target,
        "--allow-connect",
        "127.0.0.1:1",
        "--json",
    ]);
    assert!(!o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["passed"], false);
    assert!(v["outcome"].to_string().contains("denied"), "{v}");
    // A bad plugin config is refused before any run.
    let o = vigil(&[
        "plugin",
        "run",
        tcp.to_str().unwrap(),
        "--target",
        &target,
        "--config",
        r#"{"exepct": "x"}"#,
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("unknown key `exepct`"), "{}", text(&o));
}

#[test]
fn check_config_runs_each_plugins_configure() {
    let Some(dir) = plugins() else { return };
    let tmp = std::env::temp_dir().join(format!("vigil-cc-{}.toml", std::process::id()));
    let conf = |http_config: &str| {
        format!(
            "[global]\nplugin_dir = {:?}\nplugin_cache_dir = \"\"\n\n\
             [[check]]\nname = \"web\"\nplugin = \"http\"\ntarget = \"192.0.2.10:80\"\nconfig = {http_config}\n\n\
             [[check]]\nname = \"ghost\"\nplugin = \"no-such-plugin\"\n",
            dir.display().to_string()
        )
    };
    std::fs::write(&tmp, conf(r#"{ path = "/health", statuss = 200 }"#)).unwrap();
    let o = vigil(&["check-config", "-c", tmp.to_str().unwrap()]);
    let t = text(&o);
    assert!(!o.status.success(), "{t}");
    assert!(
        t.contains(
            "check \"web\": plugin http rejected the configuration of web: unknown key `statuss`"
        ),
        "{t}"
    );
    assert!(t.contains("check \"ghost\""), "{t}");
    assert!(t.contains("no-such-plugin.wasm"), "{t}");
    // --no-plugins checks only the file itself.
    let o = vigil(&["check-config", "--no-plugins", "-c", tmp.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let _ = std::fs::remove_file(&tmp);
}

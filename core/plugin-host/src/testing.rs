//! Helpers shared by this crate's tests and benchmarks (feature `testing`).

use std::path::PathBuf;

/// Locates the component `{name}.wasm` built by `plugins/build.sh`, in
/// `$VIGIL_PLUGIN_DIR` or `<repo>/target/plugins`.
///
/// When it is missing, prints "skipped: build plugins with plugins/build.sh" and
/// returns `None` so the caller can skip, unless `VIGIL_REQUIRE_PLUGINS=1`
/// (CI), where a missing plugin is a failure and this panics.
pub fn plugin_path(name: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("VIGIL_PLUGIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/plugins"));
    let path = dir.join(format!("{name}.wasm"));
    if path.is_file() {
        return Some(path);
    }
    if std::env::var("VIGIL_REQUIRE_PLUGINS").as_deref() == Ok("1") {
        panic!(
            "plugin {} is missing and VIGIL_REQUIRE_PLUGINS=1: build plugins with plugins/build.sh",
            path.display()
        );
    }
    eprintln!(
        "skipped: build plugins with plugins/build.sh ({} not found)",
        path.display()
    );
    None
}

/// Resident set size of this process in bytes, from `/proc/self/status`.
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

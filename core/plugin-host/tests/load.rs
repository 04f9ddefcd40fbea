//! Loading: WIT version checks, non-plugins, unsatisfiable imports, and the
//! compiled-component cache.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use vigil_plugin_host::testing::plugin_path;
use vigil_plugin_host::{CheckSpec, Checker, Grants, HostOptions, LoadError, PluginHost, Target};

fn host(cache_dir: Option<PathBuf>) -> PluginHost {
    PluginHost::new(HostOptions {
        cache_dir,
        max_instances: 16,
        ..HostOptions::default()
    })
    .unwrap()
}

/// A minimal component exporting the given `vigil:plugin` interfaces (each an
/// instance with one nullary function), importing `imports` (each an instance
/// with one function).
fn component(exports: &[&str], imports: &[&str]) -> Vec<u8> {
    let mut wat = String::from("(component\n");
    for i in imports {
        wat.push_str(&format!(
            "  (import \"{i}\" (instance (export \"f\" (func))))\n"
        ));
    }
    wat.push_str(
        "  (core module $m (func (export \"f\")))\n  (core instance $i (instantiate $m))\n  \
         (func $f (canon lift (core func $i \"f\")))\n  (instance $inst (export \"f\" (func $f)))\n",
    );
    for e in exports {
        wat.push_str(&format!("  (export \"{e}\" (instance $inst))\n"));
    }
    wat.push(')');
    wat::parse_str(&wat).unwrap()
}

#[test]
fn wrong_wit_version_is_a_clear_load_error() {
    let h = host(None);
    let bytes = component(
        &["vigil:plugin/plugin@0.2.0", "vigil:plugin/checker@0.2.0"],
        &[],
    );
    let err = h.load_bytes("future", &bytes).unwrap_err();
    assert!(
        matches!(&err, LoadError::WitVersion { found, supported, .. } if found == "0.2.0" && supported == "0.1.0"),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("vigil:plugin/plugin@0.2.0") || msg.contains("vigil:plugin/checker@0.2.0")
    );
    assert!(
        msg.contains("vigil:plugin@0.1.0") && msg.contains("0.1.x"),
        "{msg}"
    );

    // An older major (1.x) and an unversioned interface are refused too.
    let err = h
        .load_bytes("old", &component(&["vigil:plugin/notifier@1.0.0"], &[]))
        .unwrap_err();
    assert!(matches!(err, LoadError::WitVersion { .. }), "{err:?}");
    let err = h
        .load_bytes("unversioned", &component(&["vigil:plugin/checker"], &[]))
        .unwrap_err();
    assert!(matches!(&err, LoadError::WitVersion { found, .. } if found == "(unversioned)"));

    // A vigil import at the wrong version is refused the same way.
    let err = h
        .load_bytes(
            "mixed",
            &component(
                &["vigil:plugin/plugin@0.1.0", "vigil:plugin/checker@0.1.0"],
                &["vigil:plugin/log@0.3.0"],
            ),
        )
        .unwrap_err();
    assert!(
        matches!(&err, LoadError::WitVersion { interface, .. } if interface == "vigil:plugin/log"),
        "{err:?}"
    );
}

#[test]
fn compatible_version_passes_the_version_check() {
    // 0.1.7 is compatible; this fake component then fails later, when its
    // exports are type-checked against the world, not on the version.
    let h = host(None);
    let err = h
        .load_bytes(
            "newer-patch",
            &component(
                &["vigil:plugin/plugin@0.1.7", "vigil:plugin/checker@0.1.7"],
                &[],
            ),
        )
        .unwrap_err();
    assert!(matches!(err, LoadError::Link { .. }), "{err:?}");
}

#[test]
fn non_plugins_are_refused() {
    let h = host(None);
    let err = h
        .load_bytes("other", &component(&["example:thing/run@1.0.0"], &[]))
        .unwrap_err();
    assert!(
        matches!(&err, LoadError::NotAPlugin { exports, .. } if exports == &["example:thing/run@1.0.0"])
    );
    assert!(err
        .to_string()
        .contains("neither vigil:plugin/checker nor vigil:plugin/notifier"));

    let err = h.load_bytes("junk", b"\0asm not really").unwrap_err();
    assert!(matches!(err, LoadError::Invalid { .. }), "{err:?}");

    // A core module is not a component.
    let err = h
        .load_bytes("core", &wat::parse_str("(module)").unwrap())
        .unwrap_err();
    assert!(matches!(err, LoadError::Invalid { .. }), "{err:?}");

    let err = h
        .load_bytes("no-info", &component(&["vigil:plugin/checker@0.1.0"], &[]))
        .unwrap_err();
    assert!(matches!(err, LoadError::MissingInfo { .. }), "{err:?}");
}

#[test]
fn unsatisfiable_imports_are_listed() {
    let h = host(None);
    let bytes = component(
        &["vigil:plugin/plugin@0.1.0", "vigil:plugin/checker@0.1.0"],
        &[
            "wasi:keyvalue/store@0.2.0",
            "wasi:http/incoming-handler@0.2.0",
            "wasi:io/error@0.2.0",
        ],
    );
    let err = h.load_bytes("greedy", &bytes).unwrap_err();
    match &err {
        LoadError::UnsupportedImports { imports, .. } => assert_eq!(
            imports,
            &[
                "wasi:keyvalue/store@0.2.0",
                "wasi:http/incoming-handler@0.2.0"
            ]
        ),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("wasi:keyvalue/store@0.2.0"));
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vigil-plugin-host-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test]
async fn compiled_cache_is_hit_and_survives_corruption() {
    let Some(path) = plugin_path("chaos") else {
        return;
    };
    let dir = temp_dir("cache");
    let h = host(Some(dir.clone()));
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
    let first = h.load_file(&path).unwrap();
    assert!(!first.from_cache());
    let entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    let file = entry.file_name().unwrap().to_str().unwrap();
    assert!(
        file.starts_with(first.digest()) && file.ends_with(".cwasm"),
        "{file}"
    );

    // Same host, and a new host (a daemon restart), both hit.
    let second = h.load_file(&path).unwrap();
    assert!(second.from_cache());
    let restarted = host(Some(dir.clone()));
    let third = restarted.load_file(&path).unwrap();
    assert!(third.from_cache());
    assert!(
        third.load_time() < first.load_time(),
        "cached {:?} vs compiled {:?}",
        third.load_time(),
        first.load_time()
    );
    // And the cached code runs.
    let spec = CheckSpec {
        name: "cached".into(),
        config_json: r#"{"mode":"up"}"#.into(),
        target: Target::new("127.0.0.1", 1),
        grants: Grants::default(),
        timeout: Duration::from_secs(2),
    };
    let mut c = Checker::new(&restarted, &third, spec.clone())
        .await
        .unwrap();
    assert!(c.check().await.outcome.passed());

    // Corrupt entries (garbage, truncated) fall back to compiling and are rewritten.
    let good = std::fs::read(entry).unwrap();
    for bad in [b"garbage".to_vec(), good[..good.len() / 2].to_vec()] {
        std::fs::write(entry, &bad).unwrap();
        let p = h.load_file(&path).unwrap();
        assert!(!p.from_cache());
        let mut c = Checker::new(&h, &p, spec.clone()).await.unwrap();
        assert!(c.check().await.outcome.passed());
        assert!(h.load_file(&path).unwrap().from_cache());
    }

    // No cache dir: never cached.
    let uncached = host(None);
    assert!(!uncached.load_file(&path).unwrap().from_cache());
    assert!(!uncached.load_file(&path).unwrap().from_cache());
    let _ = std::fs::remove_dir_all(&dir);
}

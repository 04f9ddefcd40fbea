//! The notifier world, with the first-party `log` notifier (plugins/log), and
//! world mismatches with the `chaos` health check.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use vigil_plugin_host::testing::plugin_path;
use vigil_plugin_host::{
    CheckSpec, Checker, Grants, HostOptions, Notifier, NotifierSpec, NotifyError, NotifyOutcome,
    PluginHost, SetupError, Target, Transition, VrrpState, World,
};

fn host() -> PluginHost {
    PluginHost::new(HostOptions {
        max_instances: 8,
        ..HostOptions::default()
    })
    .unwrap()
}

fn nspec(config: &str) -> NotifierSpec {
    NotifierSpec {
        name: "to-log".into(),
        config_json: config.into(),
        grants: Grants::default(),
        timeout: Duration::from_secs(2),
    }
}

#[tokio::test]
async fn log_notifier_delivers() {
    let Some(path) = plugin_path("log") else {
        return;
    };
    let h = host();
    let plugin = h.load_file(&path).unwrap();
    assert_eq!(plugin.world(), World::Notifier);
    let mut n = Notifier::new(&h, &plugin, nspec("{}")).await.unwrap();
    let t = Transition {
        kind: "instance".into(),
        name: "VI_1".into(),
        old_state: VrrpState::Backup,
        new_state: VrrpState::Master,
        priority: 150,
        reason: "test".into(),
        unix_time_ms: 1_700_000_000_000,
    };
    for _ in 0..3 {
        let r = n.notify(t.clone()).await;
        assert!(
            matches!(r.outcome, NotifyOutcome::Delivered),
            "{}",
            r.outcome
        );
        assert!(
            r.logs.iter().any(|(_, m)| m.contains("VI_1")),
            "{:?}",
            r.logs
        );
        assert!(!r.fresh_instance);
    }
    // The notifier world cannot be used as a check, nor the reverse.
    let err = Checker::new(
        &h,
        &plugin,
        CheckSpec {
            name: "c".into(),
            config_json: "{}".into(),
            target: Target::new("127.0.0.1", 1),
            grants: Grants::default(),
            timeout: Duration::from_secs(1),
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(
        err,
        SetupError::WrongWorld {
            expected: World::HealthCheck,
            found: World::Notifier,
            ..
        }
    ));
}

#[tokio::test]
async fn health_check_is_not_a_notifier() {
    let Some(path) = plugin_path("chaos") else {
        return;
    };
    let h = host();
    let plugin = h.load_file(&path).unwrap();
    let err = Notifier::new(&h, &plugin, nspec("{}")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin chaos is a health-check plugin, but to-log needs a notifier plugin"
    );
}

/// A notifier's own timeout defaults to most of its Vigil timeout (the host
/// tells it `VIGIL_NOTIFY_TIMEOUT_MS`), so a receiver that accepts and never
/// answers is the plugin's clean error, not the host's deadline.
#[tokio::test]
async fn webhook_gives_up_before_the_notifier_deadline() {
    let Some(path) = plugin_path("webhook") else {
        return;
    };
    // Accepts connections (the kernel does) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let h = host();
    let plugin = h.load_file(&path).unwrap();
    let spec = NotifierSpec {
        name: "hook".into(),
        config_json: format!(r#"{{"url": "http://127.0.0.1:{port}/hook"}}"#),
        grants: Grants {
            http: vec![format!("127.0.0.1:{port}").parse().unwrap()],
            ..Grants::default()
        },
        timeout: Duration::from_secs(1),
    };
    let mut n = Notifier::new(&h, &plugin, spec).await.unwrap();
    let r = n
        .notify(Transition {
            kind: "instance".into(),
            name: "VI_1".into(),
            old_state: VrrpState::Backup,
            new_state: VrrpState::Master,
            priority: 150,
            reason: "test".into(),
            unix_time_ms: 1_700_000_000_000,
        })
        .await;
    assert!(
        matches!(&r.outcome, NotifyOutcome::Error(NotifyError::Io(m)) if m == "timed out"),
        "{}",
        r.outcome
    );
    assert!(
        r.elapsed >= Duration::from_millis(700) && r.elapsed < Duration::from_secs(1),
        "{:?}",
        r.elapsed
    );
    assert!(!r.fresh_instance);
    drop(silent);
}

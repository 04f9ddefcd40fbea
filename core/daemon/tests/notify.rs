//! Notifiers in the running daemon: a keepalived-style notify script (unsandboxed runner) and
//! the sandboxed `webhook` plugin (posting to a real HTTP server in a third namespace) receive
//! exactly the transitions that happened, in order.
//!
//! Skips (and passes) with `skipped: <reason>` when not root or `ip` is missing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::*;
use vigil_lab::Lab;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn notify_script_sees_every_transition_in_order() {
    let test = "notify_script_sees_every_transition_in_order";
    if !ready(test, &[]) {
        return;
    }
    let lab = Lab::new("vigil-notify").unwrap();
    let hosts = lab.add_hosts(3).unwrap();
    let (h1, h2) = (&hosts[0], &hosts[1]);
    let vip = ip("192.0.2.100");
    let log = lab.dir().join("notify-h2.log");
    let script = lab.dir().join("notify.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$1 $2 $3 $4\" >> {}\n", log.display()),
    )
    .unwrap();
    let notifier: String = format!(
        "[[notifier]]\nname = \"legacy\"\nunsandboxed_script = \"/bin/sh {}\"\n",
        script.display()
    );
    // A webhook receiver in a third namespace, when the plugins are built.
    let plugin = std::env::var_os("VIGIL_PLUGIN_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/plugins")
        })
        .join("webhook.wasm");
    let require = std::env::var("VIGIL_REQUIRE_PLUGINS").as_deref() == Ok("1");
    assert!(plugin.is_file() || !require, "{} missing", plugin.display());
    let hooks = lab.dir().join("hooks.jsonl");
    let mut receiver = None;
    let mut notifier = notifier;
    if plugin.is_file() {
        let h3 = &hosts[2];
        let server = lab.dir().join("hook.py");
        std::fs::write(
            &server,
            format!(
                "import http.server\n\
                 class H(http.server.BaseHTTPRequestHandler):\n\
                 \x20   def do_POST(self):\n\
                 \x20       n = int(self.headers.get('Content-Length', 0))\n\
                 \x20       open({:?}, 'ab').write(self.rfile.read(n) + b'\\n')\n\
                 \x20       self.send_response(204); self.end_headers()\n\
                 \x20   def log_message(self, *a): pass\n\
                 http.server.HTTPServer(('0.0.0.0', 8080), H).serve_forever()\n",
                hooks.display().to_string()
            ),
        )
        .unwrap();
        let addr = h3.ipv4().unwrap();
        receiver = Some(
            h3.spawn("python3", [server.as_os_str()], lab.dir().join("hook.log"))
                .unwrap(),
        );
        vigil_lab::wait_until(Duration::from_secs(5), "the webhook receiver", || {
            Ok(h3
                .exec(
                    "python3",
                    [
                        "-c",
                        &format!("import socket; socket.create_connection(('{addr}', 8080), 1)"),
                    ],
                )
                .ok()
                .filter(|o| o.status.success())
                .map(|_| ()))
        })
        .unwrap();
        notifier.push_str(&format!(
            "\n[[notifier]]\nname = \"hook\"\nplugin = {:?}\nallow_http = [\"{addr}:8080\"]\n\
             config = {{ url = \"http://{addr}:8080/hook\", fields = {{ cluster = \"lab\" }} }}\n",
            plugin.display().to_string()
        ));
    }
    let inst = |prio| [Inst::v3("VI_1", 51, prio, "192.0.2.100/24")];
    let diag = |v: &[&Vigil]| -> String {
        v.iter()
            .map(|v| v.log_tail(20))
            .collect::<Vec<_>>()
            .join("\n")
    };

    let a = Vigil::start(h1, &inst(150));
    let b = Vigil::start_with(h2, &inst(100), &notifier);
    wait_single_holder(
        &hosts,
        vip,
        Duration::from_secs(5),
        Duration::from_millis(300),
        &|| diag(&[&a, &b]),
    );
    a.kill9();
    wait_holds(h2, vip, true, Duration::from_secs(3), &|| diag(&[&a, &b]));
    let a2 = Vigil::start(h1, &inst(150));
    // Preemption: h1 takes the VIP back, h2 goes back to backup.
    wait_holds(h1, vip, true, Duration::from_secs(5), &|| diag(&[&a2, &b]));
    wait_holds(h2, vip, false, Duration::from_secs(5), &|| diag(&[&a2, &b]));
    b.stop();
    a2.stop();

    let got = std::fs::read_to_string(&log).unwrap_or_default();
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(
        lines,
        [
            "INSTANCE VI_1 BACKUP 100",
            "INSTANCE VI_1 MASTER 100",
            "INSTANCE VI_1 BACKUP 100",
            "INSTANCE VI_1 STOP 100",
        ],
        "the notify script's log\n{}",
        b.log()
    );
    if receiver.is_some() {
        let posted = std::fs::read_to_string(&hooks).unwrap_or_default();
        let docs: Vec<serde_json::Value> = posted
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let states: Vec<String> = docs
            .iter()
            .map(|d| format!("{} {} {}", d["name"], d["new_state"], d["priority"]))
            .collect();
        assert_eq!(
            states,
            [
                "\"VI_1\" \"BACKUP\" 100",
                "\"VI_1\" \"MASTER\" 100",
                "\"VI_1\" \"BACKUP\" 100",
                "\"VI_1\" \"STOP\" 100",
            ],
            "webhook documents: {posted}\n{}",
            b.log()
        );
        assert_eq!(docs[1]["reason"], "master down timer expired", "{posted}");
        assert_eq!(docs[1]["cluster"], "lab", "{posted}");
    }
}

/// Sync groups: keepalived's `GROUP NAME STATE` notification once the members agree, after
/// their own `INSTANCE` ones.
#[test]
fn sync_group_transitions_are_notified_as_group() {
    let test = "sync_group_transitions_are_notified_as_group";
    if !ready(test, &[]) {
        return;
    }
    let lab = Lab::new("vigil-notify-group").unwrap();
    let hosts = lab.add_hosts(1).unwrap();
    let log = lab.dir().join("notify.log");
    let script = lab.dir().join("notify.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$*\" >> {}\n", log.display()),
    )
    .unwrap();
    let extra = format!(
        "[[sync_group]]\nname = \"G\"\ninstances = [\"VI_1\", \"VI_2\"]\n\n\
         [[notifier]]\nname = \"legacy\"\nunsandboxed_script = \"/bin/sh {}\"\n",
        script.display()
    );
    let v = Vigil::start_with(
        &hosts[0],
        &[
            Inst::v3("VI_1", 51, 100, "192.0.2.100/24"),
            Inst::v3("VI_2", 52, 100, "192.0.2.101/24"),
        ],
        &extra,
    );
    // Alone on the link, both become master after Master_Down_Interval.
    vigil_lab::wait_until(Duration::from_secs(5), "both instances master", || {
        Ok((v.state("VI_1") == "master" && v.state("VI_2") == "master").then_some(()))
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", v.log_tail(30)));
    v.stop();
    let got = std::fs::read_to_string(&log).unwrap_or_default();
    let lines: Vec<&str> = got.lines().collect();
    let groups: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("GROUP"))
        .collect();
    assert_eq!(
        groups,
        ["GROUP G BACKUP", "GROUP G MASTER", "GROUP G STOP"],
        "{got}"
    );
    // The group's MASTER comes after both members'.
    let pos = |needle: &str| {
        lines
            .iter()
            .position(|l| *l == needle)
            .unwrap_or(usize::MAX)
    };
    assert!(
        pos("GROUP G MASTER") > pos("INSTANCE VI_1 MASTER 100")
            && pos("GROUP G MASTER") > pos("INSTANCE VI_2 MASTER 100"),
        "{got}"
    );
}

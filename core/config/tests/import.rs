//! `vigil import`: one small keepalived config per feature (tests/data),
//! and the real-world corpus in ../shared.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use vigil_config::keepalived::{self, Conversion, ImportError, ImportOptions};
use vigil_config::{Authentication, Config, InstanceSpec, Scope};
use vigil_vrrp::{InitialState, Version};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/keepalived")
        .join(name)
}

/// Convert a test file; the TOML must parse.
fn import(name: &str, opts: &ImportOptions) -> (Conversion, Config) {
    let c = keepalived::convert_with(data(name), opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    let cfg = Config::parse(&c.toml, name).unwrap_or_else(|e| panic!("{e}\n{}", c.toml));
    (c, cfg)
}

fn import_default(name: &str) -> (Conversion, Config) {
    import(name, &ImportOptions::default())
}

/// The (line, message) of every problem of a failing import.
fn problems(name: &str, opts: &ImportOptions) -> Vec<(usize, String)> {
    match keepalived::convert_with(data(name), opts) {
        Ok(c) => panic!("{name} should fail:\n{}", c.toml),
        Err(ImportError::Invalid { problems, .. }) => {
            problems.into_iter().map(|p| (p.line, p.message)).collect()
        }
        Err(e) => panic!("{e}"),
    }
}

fn instance<'a>(c: &'a Config, name: &str) -> &'a InstanceSpec {
    c.instance(name)
        .unwrap_or_else(|| panic!("no instance {name}"))
}

fn has_note(c: &Conversion, line: usize, keyword: &str) -> bool {
    c.notes
        .iter()
        .any(|n| n.line == line && n.keyword == keyword)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn basic_instance_and_global_defs() {
    let (c, cfg) = import_default("basic.conf");
    let g = &cfg.global;
    assert_eq!(g.router_id.as_deref(), Some("LB1"));
    assert_eq!(g.vrrp_version, Version::V2);
    assert_eq!(g.garp_master_delay, Duration::from_secs(3));
    assert_eq!(g.garp_master_repeat, 4);
    assert_eq!(g.garp_master_refresh, Duration::from_secs(60));
    assert_eq!(g.garp_master_refresh_repeat, 2);
    assert_eq!(g.garp_interval, Duration::from_millis(1));
    assert_eq!(g.gna_interval, Duration::from_millis(500));
    assert!(g.lower_prio_no_advert);
    assert!(g.check_unicast_src);

    let i = instance(&cfg, "VI_1");
    assert_eq!(
        (i.interface.as_str(), i.vrid, i.priority),
        ("eth0", 51, 150)
    );
    assert_eq!(i.state, InitialState::Backup);
    assert_eq!(i.advert_interval, Duration::from_secs(2));
    assert!(!i.preempt, "nopreempt");
    assert!(!i.accept, "no_accept");
    assert_eq!(
        i.authentication,
        Authentication::Pass {
            password: "s3cret".into()
        }
    );
    assert_eq!(i.vips.len(), 3);
    assert_eq!(
        (i.vips[0].addr, i.vips[0].prefix_len),
        (ip("192.168.1.100"), 24)
    );
    assert_eq!(i.vips[1].dev.as_deref(), Some("eth1"));
    assert_eq!(i.vips[1].label.as_deref(), Some("eth1:1"));
    assert_eq!(i.vips[1].scope, Some(Scope::Global));
    assert_eq!(i.vips[2].prefix_len, 32);
    assert_eq!(i.unicast_source, Some(ip("192.168.1.11")));
    assert_eq!(i.unicast_peers, [ip("192.168.1.12"), ip("192.168.1.13")]);
    assert_eq!(i.unicast_min_ttl, 64);
    assert_eq!(i.use_vmac.as_deref(), Some("vrrp51"));
    assert!(i.vmac_xmit_base);
    assert_eq!(i.garp_master_delay, Duration::from_secs(1));
    assert_eq!(i.garp_master_repeat, 2);
    assert!(
        !i.lower_prio_no_advert,
        "instance `off` overrides the global"
    );
    assert!(!i.check_addresses, "vrrp_skip_check_adv_addr");
    i.engine_config(ip("192.168.1.11")).validate().unwrap();

    let i = instance(&cfg, "VI_2");
    assert!(i.accept, "keepalived's default without vrrp_strict");
    assert_eq!(i.preempt_delay, Duration::from_millis(2500));
    assert!(i.check_unicast_src);
    assert!(!i.check_addresses);

    assert!(
        c.toml.contains("# global_defs at basic.conf:2\n"),
        "{}",
        c.toml
    );
    assert!(
        c.toml.contains("# vrrp_instance VI_1 at basic.conf:16\n"),
        "{}",
        c.toml
    );
    assert!(c.unsupported.is_empty(), "{:?}", c.unsupported);
}

#[test]
fn comments_quotes_and_braces() {
    let (c, cfg) = import_default("syntax.conf");
    assert_eq!(cfg.global.router_id.as_deref(), Some("lb two"));
    let i = instance(&cfg, "VI_1");
    assert_eq!(i.vrid, 7);
    assert_eq!(
        i.vips.iter().map(|v| v.addr).collect::<Vec<_>>(),
        [ip("10.0.0.1"), ip("10.0.0.2")]
    );
    assert_eq!(
        i.authentication,
        Authentication::Pass {
            password: "p#ss".into()
        }
    );
    assert!(c.unsupported.is_empty(), "{:?}", c.unsupported);
}

#[test]
fn sync_groups() {
    let (c, cfg) = import_default("sync_group.conf");
    assert_eq!(cfg.sync_groups.len(), 1);
    assert_eq!(cfg.sync_groups[0].name, "G1");
    assert_eq!(cfg.sync_groups[0].instances, ["VI_A", "VI_B", "VI_C"]);
    assert_eq!(cfg.instances.len(), 3);
    let u: Vec<(usize, &str)> = c
        .unsupported
        .iter()
        .map(|u| (u.line, u.keyword.as_str()))
        .collect();
    assert_eq!(u, [(6, "notify_master")]);
}

#[test]
fn every_unconverted_keyword_is_reported() {
    let (c, cfg) = import_default("unsupported.conf");
    let u: Vec<(usize, &str)> = c
        .unsupported
        .iter()
        .map(|u| (u.line, u.keyword.as_str()))
        .collect();
    assert_eq!(
        u,
        [
            (2, "notification_email"),
            (5, "smtp_server"),
            (6, "enable_script_security"),
            (9, "vrrp_script"),
            (14, "static_ipaddress"),
            (22, "track_script"),
            (25, "track_interface"),
            (28, "notify_master"),
            (29, "notify"),
            (31, "brd"),
            (31, "noprefixroute"),
            (33, "virtual_ipaddress_excluded"),
            (37, "unicast_ttl"),
            (38, "some_future_keyword"),
            (41, "virtual_server"),
        ]
    );
    assert!(c
        .unsupported
        .iter()
        .all(|u| u.file.ends_with("unsupported.conf") && !u.note.is_empty()));
    let excluded = c
        .unsupported
        .iter()
        .find(|u| u.keyword == "virtual_ipaddress_excluded")
        .unwrap();
    assert!(
        excluded.note.contains("2 excluded address"),
        "{}",
        excluded.note
    );
    // The addresses that could be converted were.
    assert_eq!(instance(&cfg, "VI_1").vips[0].addr, ip("10.0.0.100"));
    // And the output lists what it left out.
    assert!(c.toml.contains("# Not converted:\n"));
    assert!(
        c.toml.contains("#   unsupported.conf:41: virtual_server: "),
        "{}",
        c.toml
    );
}

#[test]
fn keepalived_defaults_and_adjustments_are_explicit() {
    let (c, cfg) = import_default("defaults.conf");

    let owner = instance(&cfg, "OWNER");
    assert_eq!((owner.priority, owner.state), (255, InitialState::Master));
    assert!(has_note(&c, 7, "priority"), "{:?}", c.notes);

    let m = instance(&cfg, "MASTER_NOPREEMPT");
    assert!(m.preempt, "keepalived clears nopreempt with state MASTER");
    assert_eq!(m.preempt_delay, Duration::ZERO);
    assert_eq!(m.version, Version::V3);
    assert_eq!(
        m.advert_interval,
        Duration::from_millis(20),
        "15 ms rounds to 20 ms in v3"
    );
    assert_eq!(
        m.authentication,
        Authentication::None,
        "v3 has no authentication"
    );
    for (line, kw) in [
        (21, "nopreempt"),
        (22, "preempt_delay"),
        (23, "advert_int"),
        (24, "authentication"),
    ] {
        assert!(
            has_note(&c, line, kw),
            "note for {kw} at {line}: {:?}",
            c.notes
        );
    }

    let v2 = instance(&cfg, "V2");
    assert_eq!(v2.version, Version::V2);
    assert_eq!(
        v2.advert_interval,
        Duration::from_secs(2),
        "1.5 s rounds up"
    );
    assert_eq!(
        v2.authentication,
        Authentication::Pass {
            password: "01234567".into()
        }
    );
    assert_eq!(v2.garp_master_repeat, 1);
    assert!(has_note(&c, 40, "garp_master_repeat"), "{:?}", c.notes);
    assert!(has_note(&c, 43, "auth_pass"), "{:?}", c.notes);

    let six = instance(&cfg, "SIX");
    assert_eq!(six.version, Version::V3);
    assert!(six.vips[0].no_dad, "IPv6 addresses skip DAD by default");
    assert!(!six.vips[1].no_dad, "-nodad turns DAD back on");
}

#[test]
fn strict_mode_effects() {
    let (c, cfg) = import_default("strict.conf");
    let i = instance(&cfg, "VI_1");
    assert_eq!(
        i.state,
        InitialState::Backup,
        "strict: MASTER only for the owner"
    );
    assert!(!i.accept);
    assert!(i.lower_prio_no_advert);
    assert_eq!(i.preempt_delay, Duration::ZERO);
    assert_eq!(i.authentication, Authentication::None);
    assert!(c
        .unsupported
        .iter()
        .any(|u| u.keyword == "vrrp_strict" && u.line == 2));
}

#[test]
fn errors_are_all_reported_at_their_lines() {
    let p = problems("errors.conf", &ImportOptions::default());
    let lines: Vec<usize> = p.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, [2, 4, 6, 7, 9, 16, 18, 22, 25, 29], "{p:#?}");
    let text = |line: usize| {
        p.iter()
            .find(|(l, _)| *l == line)
            .map(|(_, m)| m.as_str())
            .unwrap()
    };
    assert!(text(2).contains("\"master\" is not MASTER or BACKUP"));
    assert!(text(4).contains("\"fifty\""));
    assert!(text(9).contains("`dev` needs a value"));
    assert!(
        text(16).contains("`priority`") && text(16).contains("out of range"),
        "{}",
        text(16)
    );
    assert!(
        text(18).contains("invalid IP address \"10.0.0.300\""),
        "{}",
        text(18)
    );
    assert!(text(22).contains("no `interface`"));
    assert!(text(25).contains("MD5"));
    assert!(text(29).contains("'}'"));
    let e = keepalived::convert(data("errors.conf"))
        .unwrap_err()
        .to_string();
    assert!(e.lines().all(|l| l.contains("errors.conf:")), "{e}");
}

#[test]
fn conditional_lines_and_definitions() {
    // Without a config id the @lb1/@lb2 lines are skipped and reported, and
    // $PRIO is then undefined.
    // (keepalived splits `${PRIO}` at its braces too, leaving `priority $`.)
    let p = problems("conditional.conf", &ImportOptions::default());
    // Lines expanded from a definition are reported at the line that used it.
    let at: Vec<usize> = p.iter().map(|(l, _)| *l).collect();
    assert_eq!(at, [20, 22], "{p:?}");
    assert!(p.iter().all(|(_, m)| m.contains("`priority`")), "{p:?}");
    let err = keepalived::convert(data("conditional.conf")).unwrap_err();
    let ImportError::Invalid { unsupported, .. } = err else {
        panic!()
    };
    assert!(unsupported
        .iter()
        .any(|u| u.keyword == "@lb1" && u.line == 2));
    assert!(unsupported.iter().any(|u| u.keyword == "$PRIO"));
    assert!(unsupported
        .iter()
        .any(|u| u.keyword == "~SEQ" && u.line == 23));

    let lb1 = ImportOptions {
        config_id: Some("lb1".into()),
    };
    let (_, cfg) = import("conditional.conf", &lb1);
    let names: Vec<&str> = cfg.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        ["VI_1", "VI_2"],
        "the multi-line definition expands twice"
    );
    let i = instance(&cfg, "VI_2");
    assert_eq!(
        (i.vrid, i.priority, i.state),
        (62, 150, InitialState::Master)
    );
    assert_eq!(i.vips[0].addr, ip("10.6.2.1"));

    let lb2 = ImportOptions {
        config_id: Some("lb2".into()),
    };
    let (_, cfg) = import("conditional.conf", &lb2);
    let i = instance(&cfg, "VI_1");
    assert_eq!((i.priority, i.state), (100, InitialState::Backup));
}

#[test]
fn includes_with_globs_and_braces() {
    let (c, cfg) = import_default("include/main.conf");
    assert_eq!(cfg.global.router_id.as_deref(), Some("INC"));
    let names: Vec<&str> = cfg.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["A", "B"]);
    assert_eq!(
        instance(&cfg, "B").vips[0].addr,
        ip("10.0.0.2"),
        "block closed in another file"
    );
    assert_eq!(cfg.sync_groups[0].instances, ["A", "B"]);
    assert!(
        c.toml.contains("# vrrp_instance A at conf.d/a.conf:1\n"),
        "{}",
        c.toml
    );
    let u: Vec<(&str, usize, &str)> = c
        .unsupported
        .iter()
        .map(|u| {
            (
                u.file.file_name().unwrap().to_str().unwrap(),
                u.line,
                u.keyword.as_str(),
            )
        })
        .collect();
    assert_eq!(
        u,
        [("main.conf", 6, "include")],
        "an empty glob is reported"
    );
}

#[test]
fn include_loops_and_missing_files_are_errors() {
    let p = problems("include/loop.conf", &ImportOptions::default());
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].1.contains("include loop"), "{p:?}");
    let Err(ImportError::Invalid {
        problems: found, ..
    }) = keepalived::convert(data("include/loop.conf"))
    else {
        panic!()
    };
    assert!(found[0].file.ends_with("loop_b.conf"));

    let p = problems("include/missing.conf", &ImportOptions::default());
    assert_eq!(p.len(), 1);
    assert!(
        p[0].1.contains("does-not-exist.conf: no such file"),
        "{p:?}"
    );

    let e = keepalived::convert(data("nope.conf")).unwrap_err();
    assert!(matches!(e, ImportError::Read { .. }), "{e}");
}

#[test]
fn converted_configs_round_trip() {
    for name in [
        "basic.conf",
        "syntax.conf",
        "sync_group.conf",
        "unsupported.conf",
        "defaults.conf",
        "strict.conf",
        "include/main.conf",
    ] {
        let (_, cfg) = import_default(name);
        let again = Config::parse(&cfg.to_toml(), "canonical.toml").unwrap();
        assert_eq!(cfg, again, "{name}");
    }
}

#[test]
fn odd_text_never_panics() {
    let samples = [
        "",
        "{",
        "}",
        "{{{{",
        "}}}}",
        "vrrp_instance",
        "vrrp_instance {",
        "vrrp_instance a b {}",
        "vrrp_instance X { virtual_ipaddress }",
        "vrrp_instance X { virtual_ipaddress { dev } }",
        "global_defs { vrrp_version }",
        "\"",
        "\"unterminated {",
        "$",
        "${",
        "$A=$A\n$A",
        "$A=x \\\n$A\n",
        "@",
        "@x",
        "@^x y",
        "include",
        "include {a,b",
        "include [",
        "~SEQ",
        "vrrp_sync_group G { group }",
        "vrrp_instance X { authentication { auth_type } }",
        "vrrp_instance X {\n unicast_peer { 1.2.3.4 min_ttl }\n}",
        "\u{0}\u{1}\u{7f}",
        "vrrp_instance \u{7}name\u{1b} { interface \"e\nth0\" }",
    ];
    for s in samples {
        let _ = keepalived::convert_str(s, "/nonexistent/dir/odd.conf", &ImportOptions::default());
    }
    // Definitions that use each other many times are cut off, not expanded
    // exponentially.
    let mut bomb = String::from("$D0= \\\nvrrp_script x { }\n");
    for n in 1..12 {
        bomb.push_str(&format!(
            "$D{n}= \\\n{}\n",
            "$D{m} \\\n".replace("{m}", &(n - 1).to_string()).repeat(4)
        ));
    }
    bomb.push_str("$D11\n");
    let r = keepalived::convert_str(&bomb, "bomb.conf", &ImportOptions::default());
    let Err(ImportError::Invalid { problems: p, .. }) = r else {
        panic!("{r:?}")
    };
    assert!(
        p.iter()
            .any(|p| p.message.contains("lines after includes and definitions")),
        "{p:?}"
    );

    let deep = "a {\n".repeat(500);
    let r = keepalived::convert_str(&deep, "deep.conf", &ImportOptions::default());
    assert!(r.is_err());
}

// ---------------------------------------------------------------- the corpus

fn corpus_dir() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/keepalived");
    d.join("INDEX.tsv").is_file().then_some(d)
}

fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let index = std::fs::read_to_string(dir.join("INDEX.tsv")).unwrap();
    index
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .filter(|f| !f.is_empty())
        .map(|f| dir.join(f))
        .collect()
}

/// Every corpus file converts to TOML that `Config::parse` accepts, or
/// fails with problems that each name a file and a line.
#[test]
fn corpus_converts_or_fails_precisely() {
    let Some(dir) = corpus_dir() else {
        eprintln!("skipped: ../shared not found");
        return;
    };
    let files = corpus_files(&dir);
    assert!(!files.is_empty());
    let (mut converted, mut failed, mut instances, mut unsupported) = (0, 0, 0, 0);
    for f in &files {
        match keepalived::convert(f) {
            Ok(c) => {
                let cfg = Config::parse(&c.toml, f)
                    .unwrap_or_else(|e| panic!("{}: {e}\n{}", f.display(), c.toml));
                converted += 1;
                instances += cfg.instances.len();
                unsupported += c.unsupported.len();
                for u in &c.unsupported {
                    assert!(
                        u.line > 0 && !u.keyword.is_empty() && !u.note.is_empty(),
                        "{u}"
                    );
                }
            }
            Err(ImportError::Invalid { problems, .. }) => {
                failed += 1;
                assert!(!problems.is_empty(), "{}", f.display());
                for p in &problems {
                    assert!(p.line > 0, "{}: {p}", f.display());
                    assert!(p.file.is_file(), "{}: {p}", f.display());
                }
            }
            Err(e) => panic!("{}: {e}", f.display()),
        }
    }
    println!(
        "corpus: {} files: {converted} converted ({instances} instances, {unsupported} keywords reported), \
         {failed} failed with precise errors",
        files.len()
    );
    assert_eq!(converted + failed, files.len());
    // Well-formed official samples must convert.
    for must in [
        "keepalived__keepalived__doc__samples__keepalived.conf.vrrp.sync.conf",
        "keepalived__keepalived__doc__samples__keepalived.conf.vrrp.localcheck.conf",
        "keepalived__keepalived__keepalived__etc__keepalived__keepalived.conf",
    ] {
        let p = dir.join(must);
        if p.is_file() {
            keepalived::convert(&p).unwrap_or_else(|e| panic!("{must}: {e}"));
        }
    }
}

/// Conditional maintainer configs convert once a config id picks their lines.
#[test]
fn corpus_conditional_configs_with_a_config_id() {
    let Some(dir) = corpus_dir() else {
        eprintln!("skipped: ../shared not found");
        return;
    };
    let low = ImportOptions {
        config_id: Some("low".into()),
    };
    for name in [
        "pqarmitage__keepalived-devel-tools__configs__751.conf",
        "pqarmitage__keepalived-devel-tools__configs__bfd.conf",
    ] {
        let p = dir.join(name);
        if !p.is_file() {
            continue;
        }
        let c = keepalived::convert_with(&p, &low).unwrap_or_else(|e| panic!("{name}: {e}"));
        Config::parse(&c.toml, name).unwrap();
    }
}

/// Truncated corpus files (unclosed blocks, cut words) never panic.
#[test]
fn corpus_prefixes_never_panic() {
    let Some(dir) = corpus_dir() else {
        eprintln!("skipped: ../shared not found");
        return;
    };
    for f in corpus_files(&dir) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        let mut cut = 0;
        while cut < text.len() {
            if text.is_char_boundary(cut) {
                let _ = keepalived::convert_str(&text[..cut], &f, &ImportOptions::default());
            }
            cut += 97;
        }
    }
}

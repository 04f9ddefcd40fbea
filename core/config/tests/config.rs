//! The TOML schema: one test per error kind (asserting the line and key the
//! message names), defaults, the engine mapping, diff, and round trips.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::time::Duration;

use vigil_config::{Authentication, Config, ConfigError, ErrorKind, Scope, VirtualAddress};
use vigil_vrrp::{ChecksumMode, Family, InitialState, Version};

fn errors(text: &str) -> Vec<ConfigError> {
    match Config::parse(text, "vigil.toml") {
        Ok(c) => panic!("expected errors, got {c:#?}"),
        Err(e) => e.0,
    }
}

/// The single error of `text`, checked for line and key.
fn error_at(text: &str, line: usize, key: Option<&str>) -> ConfigError {
    let e = errors(text);
    assert_eq!(e.len(), 1, "expected one error, got:\n{}", list(&e));
    let e = e.into_iter().next().unwrap();
    assert_eq!(e.line, line, "line of: {e}");
    assert_eq!(e.key.as_deref(), key, "key of: {e}");
    let shown = e.to_string();
    assert!(shown.starts_with(&format!("vigil.toml:{line}:")), "{shown}");
    if let Some(k) = key {
        assert!(shown.contains(&format!("key `{k}`")), "{shown}");
    }
    e
}

fn list(e: &[ConfigError]) -> String {
    e.iter().map(|e| format!("  {e}\n")).collect()
}

fn ok(text: &str) -> Config {
    Config::parse(text, "vigil.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// A valid instance (lines 1-6) followed by `extra` from line 7 on.
fn inst(extra: &str) -> String {
    format!(
        "[[instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvrid = 51\npriority = 150\n\
         virtual_addresses = [\"192.0.2.100/24\"]\n{extra}"
    )
}

fn contains(e: &ConfigError, needle: &str) {
    let s = e.to_string();
    assert!(s.contains(needle), "{s:?} should contain {needle:?}");
}

// ---------------------------------------------------------------- defaults

#[test]
fn minimal_instance_gets_documented_defaults() {
    let c = ok(&inst(""));
    let g = &c.global;
    assert_eq!(g.vrrp_version, Version::V2);
    assert_eq!(g.control_socket.to_str(), Some("/run/vigil/vigil.sock"));
    assert_eq!(g.router_id, None);
    let i = &c.instances[0];
    assert_eq!(i.version, Version::V2);
    assert_eq!(i.advert_interval, Duration::from_secs(1));
    assert_eq!(i.state, InitialState::Backup);
    assert!(i.preempt);
    assert!(i.accept, "keepalived's default: the master serves its VIPs");
    assert_eq!(i.authentication, Authentication::None);
    assert_eq!(i.garp_master_delay, Duration::from_secs(5));
    assert_eq!(i.garp_master_repeat, 5);
    assert_eq!(i.garp_master_refresh, Duration::ZERO);
    assert_eq!(i.garp_master_refresh_repeat, 1);
    assert!(i.check_addresses && i.check_unicast_src);
    assert!(!i.lower_prio_no_advert && !i.v3_checksum_as_v2);
    assert_eq!(i.use_vmac, None);
    assert_eq!(i.family(), Family::V4);
    assert_eq!(
        i.vips,
        [VirtualAddress {
            addr: "192.0.2.100".parse().unwrap(),
            prefix_len: 24,
            dev: None,
            label: None,
            scope: None,
            no_dad: false,
        }]
    );
}

#[test]
fn address_without_prefix_is_a_host_route() {
    let c = ok(
        "[[instance]]\nname = \"a\"\ninterface = \"eth0\"\nvrid = 1\npriority = 1\n\
                version = 3\nvirtual_addresses = [\"2001:db8::1\", \"2001:db8::2/64\"]\n\
                [[instance]]\nname = \"b\"\ninterface = \"eth0\"\nvrid = 2\npriority = 1\n\
                virtual_addresses = [\"192.0.2.1\"]\n",
    );
    assert_eq!(c.instances[0].vips[0].prefix_len, 128);
    assert_eq!(c.instances[0].vips[1].prefix_len, 64);
    assert!(
        c.instances[0].vips[0].no_dad,
        "IPv6 defaults to no DAD, as keepalived"
    );
    assert_eq!(c.instances[0].family(), Family::V6);
    assert_eq!(c.instances[1].vips[0].prefix_len, 32);
}

#[test]
fn global_defaults_are_inherited_and_overridden() {
    let c = ok(&format!(
        "[global]\nvrrp_version = 3\ngarp_master_delay = \"0s\"\ngarp_master_repeat = 2\n\
         lower_prio_no_advert = true\ncheck_unicast_src = false\ngarp_interval = \"10ms\"\n{}",
        inst("garp_master_repeat = 9\nlower_prio_no_advert = false\n")
    ));
    let i = &c.instances[0];
    assert_eq!(i.version, Version::V3);
    assert_eq!(i.garp_master_delay, Duration::ZERO);
    assert_eq!(i.garp_master_repeat, 9);
    assert!(!i.lower_prio_no_advert);
    assert!(!i.check_unicast_src);
    assert_eq!(i.garp_interval, Duration::from_millis(10));
}

// ---------------------------------------------------------------- syntax and schema

#[test]
fn toml_syntax_error_has_a_position() {
    let e = error_at("[global]\nrouter_id = \"a\nx = 1\n", 2, None);
    assert!(matches!(e.kind, ErrorKind::Syntax { .. }));
}

#[test]
fn unknown_key() {
    let e = error_at(&inst("advert_int = \"1s\"\n"), 7, Some("advert_int"));
    contains(&e, "unknown field `advert_int`");
    assert_eq!(e.section.as_deref(), Some("instance \"VI_1\""));
}

#[test]
fn unknown_key_in_global_and_nested_tables() {
    error_at("[global]\nvrrp_versoin = 2\n", 2, Some("vrrp_versoin"));
    let e = error_at(
        &inst("authentication = { type = \"pass\", pasword = \"x\" }\n"),
        7,
        Some("authentication.pasword"),
    );
    contains(&e, "unknown field `pasword`");
    error_at(
        "[[instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvrid = 51\npriority = 150\n\
         virtual_addresses = [\"192.0.2.1/24\",\n  { address = \"192.0.2.2\", devv = \"eth1\" }]\n",
        7,
        Some("virtual_addresses[1].devv"),
    );
}

#[test]
fn unknown_section_and_wrong_shapes() {
    let e = error_at(&format!("{}\n[instances]\nx = 1\n", inst("")), 8, None);
    contains(&e, "unknown section `instances`");
    let e = error_at(
        "[instance]\nname = \"VI_1\"\ninterface = \"eth0\"\nvrid = 51\npriority = 1\n",
        1,
        None,
    );
    contains(&e, "write `[[instance]]`");
}

#[test]
fn missing_required_key_points_at_the_table() {
    let e = error_at(
        "[global]\n\n[[instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvrid = 51\n",
        4,
        None,
    );
    contains(&e, "missing field `priority`");
}

#[test]
fn wrong_type() {
    let e = error_at(&inst("preempt = \"yes\"\n"), 7, Some("preempt"));
    contains(&e, "expected a boolean");
}

// ---------------------------------------------------------------- values

#[test]
fn bad_addresses() {
    let e = error_at(
        "[[instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvrid = 51\npriority = 150\n\
         virtual_addresses = [\"192.0.2.300/24\"]\n",
        6,
        Some("virtual_addresses[0]"),
    );
    contains(&e, "invalid IP address \"192.0.2.300\"");
    error_at(
        &inst("unicast_source = \"eth0\"\n"),
        7,
        Some("unicast_source"),
    );
    error_at(
        &inst("unicast_peers = [\"192.0.2.12\", \"nope\"]\n"),
        7,
        Some("unicast_peers[1]"),
    );
    error_at(
        &inst("virtual_addresses = [{ address = \"1.2.3\" }]\n")
            .replace("virtual_addresses = [\"192.0.2.100/24\"]\n", ""),
        6,
        Some("virtual_addresses[0].address"),
    );
}

#[test]
fn bad_prefixes() {
    for (vip, len) in [
        ("192.0.2.1/33", "33"),
        ("192.0.2.1/", ""),
        ("192.0.2.1/2x", "2x"),
        ("2001:db8::1/129", "129"),
    ] {
        let text = format!(
            "[[instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvrid = 51\npriority = 150\n\
             version = 3\nvirtual_addresses = [\"{vip}\"]\n"
        );
        let e = error_at(&text, 7, Some("virtual_addresses[0]"));
        assert!(
            matches!(&e.kind, ErrorKind::Prefix { text, .. } if text == len),
            "{e}"
        );
    }
}

#[test]
fn v2_timers_are_whole_seconds_1_to_255() {
    for bad in ["1.5s", "0s", "500ms", "256s"] {
        let e = error_at(
            &inst(&format!("advert_interval = \"{bad}\"\n")),
            7,
            Some("advert_interval"),
        );
        assert!(
            matches!(e.kind, ErrorKind::Interval { version: 2, .. }),
            "{e}"
        );
        contains(&e, "VRRPv2");
    }
    for good in ["1s", "2s", "255s", "1000ms"] {
        ok(&inst(&format!("advert_interval = \"{good}\"\n")));
    }
}

#[test]
fn v3_timers_are_10ms_steps_up_to_40_95s() {
    for bad in ["5ms", "15ms", "0s", "41s", "40.96s", "0.001s"] {
        let e = error_at(
            &inst(&format!("version = 3\nadvert_interval = \"{bad}\"\n")),
            8,
            Some("advert_interval"),
        );
        assert!(
            matches!(e.kind, ErrorKind::Interval { version: 3, .. }),
            "{e}"
        );
    }
    for good in ["10ms", "100ms", "1.5s", "40.95s", "40950ms"] {
        let c = ok(&inst(&format!(
            "version = 3\nadvert_interval = \"{good}\"\n"
        )));
        let cfg = c.instances[0].engine_config("192.0.2.11".parse().unwrap());
        assert_eq!(
            cfg.advert_interval.as_duration(),
            c.instances[0].advert_interval
        );
        cfg.validate().unwrap();
    }
}

#[test]
fn durations_need_units() {
    let e = error_at(&inst("advert_interval = 1\n"), 7, Some("advert_interval"));
    contains(&e, "write \"1s\"");
    let e = error_at(&inst("preempt_delay = 2.5\n"), 7, Some("preempt_delay"));
    contains(&e, "write \"2.5s\"");
    let e = error_at(
        "[global]\ngarp_master_delay = \"5m\"\n",
        2,
        Some("garp_master_delay"),
    );
    assert!(matches!(e.kind, ErrorKind::Duration { .. }));
    let e = error_at(
        "[global]\ngna_interval = \"1.5ms\"\n",
        2,
        Some("gna_interval"),
    );
    contains(&e, "whole");
}

#[test]
fn priority_and_vrid_ranges() {
    let text = |vrid: i64, prio: i64| {
        format!(
            "[[instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvrid = {vrid}\npriority = {prio}\n"
        )
    };
    let e = error_at(&text(51, 0), 5, Some("priority"));
    contains(&e, "0 is reserved");
    error_at(&text(51, 256), 5, Some("priority"));
    error_at(&text(51, -1), 5, Some("priority"));
    let e = error_at(&text(0, 100), 4, Some("vrid"));
    assert!(matches!(e.kind, ErrorKind::Range { value: 0, .. }));
    error_at(&text(256, 100), 4, Some("vrid"));
    ok(&text(255, 255));
}

#[test]
fn repeats_and_ttl_ranges() {
    error_at(
        "[global]\ngarp_master_repeat = 0\n",
        2,
        Some("garp_master_repeat"),
    );
    error_at(
        &inst("garp_master_refresh_repeat = 256\n"),
        7,
        Some("garp_master_refresh_repeat"),
    );
    error_at(&inst("unicast_min_ttl = 256\n"), 7, Some("unicast_min_ttl"));
    error_at("[global]\nvrrp_version = 4\n", 2, Some("vrrp_version"));
    error_at(&inst("version = 1\n"), 7, Some("version"));
}

#[test]
fn state_words() {
    assert_eq!(
        ok(&inst("state = \"master\"\n")).instances[0].state,
        InitialState::Master
    );
    let e = error_at(&inst("state = \"MASTER\"\n"), 7, Some("state"));
    contains(&e, "\"backup\" or \"master\"");
}

#[test]
fn interface_names() {
    for bad in ["", "this-name-is-too-long", "eth0:1", "a/b", "a b", ".."] {
        let text = format!(
            "[[instance]]\nname = \"VI_1\"\ninterface = \"{bad}\"\nvrid = 51\npriority = 150\n"
        );
        let e = error_at(&text, 3, Some("interface"));
        assert!(matches!(e.kind, ErrorKind::InterfaceName { .. }), "{e}");
    }
}

// ---------------------------------------------------------------- cross-field rules

#[test]
fn v2_with_ipv6_explicit() {
    let e = error_at(
        "[[instance]]\nname = \"VI_6\"\ninterface = \"eth0\"\nvrid = 51\npriority = 150\n\
         version = 2\nvirtual_addresses = [\"fe80::1\"]\n",
        6,
        Some("version"),
    );
    assert!(matches!(e.kind, ErrorKind::V2Ipv6 { .. }));
}

#[test]
fn v2_with_ipv6_from_global_default() {
    let e = error_at(
        "[[instance]]\nname = \"VI_6\"\ninterface = \"eth0\"\nvrid = 51\npriority = 150\n\
         virtual_addresses = [\"fe80::1\"]\n",
        6,
        Some("virtual_addresses[0]"),
    );
    contains(&e, "[global] vrrp_version");
    // IPv6 decided by the peers alone is caught too.
    error_at(
        "[[instance]]\nname = \"VI_6\"\ninterface = \"eth0\"\nvrid = 51\npriority = 150\n\
         unicast_peers = [\"2001:db8::2\"]\n",
        6,
        Some("unicast_peers[0]"),
    );
}

#[test]
fn v3_with_authentication() {
    let e = error_at(
        &inst("version = 3\nauthentication = { type = \"pass\", password = \"x\" }\n"),
        8,
        Some("authentication"),
    );
    assert_eq!(e.kind, ErrorKind::V3Auth);
    ok(&inst("version = 3\nauthentication = { type = \"none\" }\n"));
}

#[test]
fn authentication_rules() {
    let c = ok(&inst(
        "authentication = { type = \"pass\", password = \"secret1\" }\n",
    ));
    assert_eq!(
        c.instances[0].authentication,
        Authentication::Pass {
            password: "secret1".into()
        }
    );
    let e = error_at(
        &inst("authentication = { type = \"ah\", password = \"x\" }\n"),
        7,
        Some("authentication.type"),
    );
    assert_eq!(e.kind, ErrorKind::AhNotSupported);
    contains(&e, "not supported");
    let e = error_at(
        &inst("authentication = { type = \"pass\", password = \"123456789\" }\n"),
        7,
        Some("authentication.password"),
    );
    contains(&e, "9 bytes");
    error_at(
        &inst("authentication = { type = \"pass\", password = \"\" }\n"),
        7,
        Some("authentication.password"),
    );
    error_at(
        &inst("authentication = { type = \"pass\" }\n"),
        7,
        Some("authentication"),
    );
    error_at(
        &inst("authentication = { type = \"none\", password = \"x\" }\n"),
        7,
        Some("authentication.password"),
    );
    error_at(
        &inst("authentication = { type = \"PASS\", password = \"x\" }\n"),
        7,
        Some("authentication.type"),
    );
}

#[test]
fn mixed_families_in_one_instance() {
    let e = error_at(
        "[[instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvrid = 51\npriority = 150\n\
         version = 3\nvirtual_addresses = [\n  \"192.0.2.1/24\",\n  \"2001:db8::1/64\",\n]\n",
        9,
        Some("virtual_addresses[1]"),
    );
    assert!(matches!(e.kind, ErrorKind::MixedFamily { .. }));
    contains(&e, "from virtual_addresses[0]");
}

#[test]
fn unicast_source_of_the_wrong_family() {
    let e = error_at(
        &inst("unicast_source = \"2001:db8::11\"\n"),
        7,
        Some("unicast_source"),
    );
    assert!(matches!(e.kind, ErrorKind::MixedFamily { .. }));
    let e = error_at(
        &inst("unicast_peers = [\"192.0.2.12\", \"2001:db8::12\"]\n"),
        7,
        Some("unicast_peers[1]"),
    );
    assert!(matches!(e.kind, ErrorKind::MixedFamily { .. }));
}

#[test]
fn duplicate_addresses_and_self_peer() {
    error_at(
        &inst("").replace(
            "[\"192.0.2.100/24\"]",
            "[\"192.0.2.100/24\", \"192.0.2.100/32\"]",
        ),
        6,
        Some("virtual_addresses[1]"),
    );
    error_at(
        &inst("unicast_peers = [\"192.0.2.12\", \"192.0.2.12\"]\n"),
        7,
        Some("unicast_peers[1]"),
    );
    let e = error_at(
        &inst("unicast_source = \"192.0.2.11\"\nunicast_peers = [\"192.0.2.11\"]\n"),
        8,
        Some("unicast_peers[0]"),
    );
    contains(&e, "own unicast_source");
}

#[test]
fn duplicate_instance_names() {
    let text = format!(
        "{}\n{}",
        inst(""),
        inst("").replace("vrid = 51", "vrid = 52")
    );
    let e = error_at(&text, 9, Some("name"));
    assert!(
        matches!(e.kind, ErrorKind::DuplicateInstance { first_line: 2, .. }),
        "{e}"
    );
}

#[test]
fn duplicate_interface_family_vrid() {
    let second = inst("").replace("VI_1", "VI_2");
    let e = error_at(&format!("{}\n{second}", inst("")), 11, Some("vrid"));
    assert!(
        matches!(&e.kind, ErrorKind::DuplicateVrid { vrid: 51, other, other_line: 2, .. } if other == "VI_1"),
        "{e}"
    );
    // Another interface, or the other family, is another virtual router.
    ok(&format!("{}\n{}", inst(""), second.replace("eth0", "eth1")));
    ok(&format!(
        "{}\n{}",
        inst(""),
        second.replace("192.0.2.100/24", "2001:db8::100/64") + "version = 3\n"
    ));
}

#[test]
fn sync_groups() {
    let two = format!(
        "{}\n{}",
        inst(""),
        inst("").replace("VI_1", "VI_2").replace("51", "52")
    );
    let c = ok(&format!(
        "{two}\n[[sync_group]]\nname = \"G1\"\ninstances = [\"VI_1\", \"VI_2\"]\n"
    ));
    assert_eq!(c.sync_groups[0].instances, ["VI_1", "VI_2"]);
    assert_eq!(c.sync_group_of("VI_2").map(|g| g.name.as_str()), Some("G1"));

    // Line 17 holds the group's instance list.
    let e = error_at(
        &format!("{two}\n[[sync_group]]\nname = \"G1\"\ninstances = [\"VI_1\", \"VI_9\"]\n"),
        17,
        Some("instances[1]"),
    );
    assert!(matches!(&e.kind, ErrorKind::UnknownInstance { name } if name == "VI_9"));
    let e = error_at(
        &format!("{two}\n[[sync_group]]\nname = \"G1\"\ninstances = [\"VI_1\", \"VI_1\"]\n"),
        17,
        Some("instances[1]"),
    );
    contains(&e, "listed twice");
    let e = error_at(
        &format!(
            "{two}\n[[sync_group]]\nname = \"G1\"\ninstances = [\"VI_1\"]\n\
             [[sync_group]]\nname = \"G2\"\ninstances = [\"VI_1\", \"VI_2\"]\n"
        ),
        20,
        Some("instances[0]"),
    );
    assert!(matches!(&e.kind, ErrorKind::GroupMember { group, .. } if group == "G1"));
    error_at(
        &format!("{two}\n[[sync_group]]\nname = \"G1\"\ninstances = []\n"),
        16,
        Some("instances"),
    );
    let e = error_at(
        &format!(
            "{two}\n[[sync_group]]\nname = \"G1\"\ninstances = [\"VI_1\"]\n\
             [[sync_group]]\nname = \"G1\"\ninstances = [\"VI_2\"]\n"
        ),
        19,
        Some("name"),
    );
    assert!(matches!(
        e.kind,
        ErrorKind::DuplicateGroup { first_line: 16, .. }
    ));
}

#[test]
fn vmac() {
    let c = ok(&inst("use_vmac = true\nvmac_xmit_base = true\n"));
    assert_eq!(c.instances[0].use_vmac.as_deref(), Some("vrrp.51"));
    assert!(c.instances[0].vmac_xmit_base);
    let c = ok(&inst("use_vmac = \"vmac51\"\n"));
    assert_eq!(c.instances[0].use_vmac.as_deref(), Some("vmac51"));
    error_at(&inst("use_vmac = \"bad name\"\n"), 7, Some("use_vmac"));
    error_at(&inst("vmac_xmit_base = true\n"), 7, Some("vmac_xmit_base"));
    error_at(&inst("use_vmac = 1\n"), 7, Some("use_vmac"));
}

#[test]
fn address_options() {
    let c = ok(&inst(
        "virtual_addresses = [{ address = \"192.0.2.9/24\", dev = \"eth1\", label = \"eth1:9\", scope = \"link\" }]\n",
    )
    .replace("virtual_addresses = [\"192.0.2.100/24\"]\n", ""));
    let v = &c.instances[0].vips[0];
    assert_eq!(
        (v.dev.as_deref(), v.label.as_deref(), v.scope),
        (Some("eth1"), Some("eth1:9"), Some(Scope::Link))
    );
    let base = |opts: &str, addr: &str| {
        format!(
            "[[instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvrid = 51\npriority = 150\n\
             version = 3\nvirtual_addresses = [{{ address = \"{addr}\"{opts} }}]\n"
        )
    };
    error_at(
        &base(", label = \"x\"", "2001:db8::1"),
        7,
        Some("virtual_addresses[0].label"),
    );
    error_at(
        &base(", label = \"a-very-long-label\"", "192.0.2.1"),
        7,
        Some("virtual_addresses[0].label"),
    );
    error_at(
        &base(", no_dad = true", "192.0.2.1"),
        7,
        Some("virtual_addresses[0].no_dad"),
    );
    error_at(
        &base(", scope = \"universe\"", "192.0.2.1"),
        7,
        Some("virtual_addresses[0].scope"),
    );
    error_at(
        &base(", dev = \"eth 1\"", "192.0.2.1"),
        7,
        Some("virtual_addresses[0].dev"),
    );
    let c = ok(&base(", no_dad = false", "2001:db8::1"));
    assert!(!c.instances[0].vips[0].no_dad);
}

#[test]
fn empty_strings() {
    error_at("[global]\nrouter_id = \"\"\n", 2, Some("router_id"));
    error_at(
        "[global]\ncontrol_socket = \"\"\n",
        2,
        Some("control_socket"),
    );
    error_at(&inst("").replace("\"VI_1\"", "\"\""), 2, Some("name"));
}

// ---------------------------------------------------------------- collection

#[test]
fn all_errors_of_a_file_are_reported_in_order() {
    let text = "[global]\nvrrp_version = 9\n\n\
                [[instance]]\nname = \"A\"\ninterface = \"eth0\"\nvrid = 0\npriority = 300\n\
                advert_interval = 1\nvirtual_addresses = [\"10.0.0.1/40\"]\n\n\
                [[instance]]\nname = \"B\"\ninterface = \"eth0\"\nvrid = 5\npriority = 100\nbogus = 1\n\n\
                [[sync_group]]\nname = \"G\"\ninstances = [\"A\", \"B\", \"C\"]\n";
    let e = errors(text);
    let got: Vec<(usize, Option<&str>)> = e.iter().map(|e| (e.line, e.key.as_deref())).collect();
    assert_eq!(
        got,
        [
            (2, Some("vrrp_version")),
            (7, Some("vrid")),
            (8, Some("priority")),
            (9, Some("advert_interval")),
            (10, Some("virtual_addresses[0]")),
            (17, Some("bogus")),
            (21, Some("instances[2]")),
        ],
        "{}",
        list(&e)
    );
    // "B" failed to deserialize, but a group naming it is not told it is unknown.
    assert!(!e
        .iter()
        .any(|e| e.to_string().contains("unknown instance \"B\"")));
    let all = vigil_config::ConfigErrors(e).to_string();
    assert_eq!(all.lines().count(), 7);
}

#[test]
fn load_reports_io_errors_with_the_path() {
    let e = Config::load("/nonexistent/vigil.toml").unwrap_err();
    assert_eq!(e.len(), 1);
    assert!(
        e.to_string()
            .starts_with("/nonexistent/vigil.toml: cannot read"),
        "{e}"
    );
}

// ---------------------------------------------------------------- engine mapping

#[test]
fn engine_config_maps_every_field() {
    let c = ok("[global]\nvrrp_version = 3\ngarp_master_refresh = \"30s\"\nv3_checksum_as_v2 = true\n\
                [[instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvrid = 51\npriority = 200\n\
                advert_interval = \"250ms\"\nstate = \"master\"\npreempt = false\npreempt_delay = \"3s\"\n\
                accept = true\nvirtual_addresses = [\"192.0.2.100/24\", \"192.0.2.101\"]\n\
                unicast_peers = [\"192.0.2.12\"]\ncheck_addresses = false\nunicast_min_ttl = 64\n\
                garp_master_delay = \"0s\"\ngarp_master_repeat = 3\nlower_prio_no_advert = true\n");
    let i = &c.instances[0];
    let me: IpAddr = "192.0.2.11".parse().unwrap();
    let e = i.engine_config(me);
    e.validate().unwrap();
    assert_eq!(e.name, "VI_1");
    assert_eq!((e.version, e.vrid, e.priority), (Version::V3, 51, 200));
    assert_eq!(e.advert_interval.centis(), 25);
    assert_eq!(e.initial_state, InitialState::Master);
    assert!(!e.preempt && e.accept && !e.check_addresses);
    assert_eq!(e.preempt_delay, Duration::from_secs(3));
    assert_eq!(e.primary_address, me);
    assert_eq!(e.virtual_addresses.len(), 2);
    assert_eq!(e.unicast_peers, ["192.0.2.12".parse::<IpAddr>().unwrap()]);
    assert_eq!(e.unicast_min_ttl, 64);
    assert_eq!(e.checksum_mode, ChecksumMode::V2Compat);
    assert_eq!(e.announce.repeat, 3);
    assert_eq!(
        e.announce.master_delay, None,
        "\"0s\" disables the second burst"
    );
    assert_eq!(e.announce.refresh, Some(Duration::from_secs(30)));
    assert_eq!(e.announce.lower_prio_holdoff, None, "RFC-strict");
}

#[test]
fn engine_config_prefers_unicast_source_and_keeps_defaults() {
    let c = ok(&inst(
        "unicast_source = \"192.0.2.5\"\nauthentication = { type = \"pass\", password = \"pw\" }\n",
    ));
    let e = c.instances[0].engine_config("192.0.2.11".parse().unwrap());
    assert_eq!(e.primary_address, "192.0.2.5".parse::<IpAddr>().unwrap());
    assert_eq!(e.auth, vigil_vrrp::Auth::simple("pw"));
    assert_eq!(e.announce, vigil_vrrp::AnnounceConfig::default());
    e.validate().unwrap();
}

// ---------------------------------------------------------------- diff

fn two_instances(prio_b: u8, extra_global: &str) -> Config {
    ok(&format!(
        "[global]\n{extra_global}\n{}\n{}",
        inst(""),
        inst("")
            .replace("VI_1", "VI_2")
            .replace("vrid = 51", "vrid = 52")
            .replace("150", &prio_b.to_string())
    ))
}

#[test]
fn diff_classifies_by_name() {
    let old = two_instances(100, "");
    assert!(Config::diff(&old, &old).is_empty());
    assert_eq!(Config::diff(&old, &old).unchanged, ["VI_1", "VI_2"]);

    let new = two_instances(101, "");
    let d = Config::diff(&old, &new);
    assert_eq!(
        (d.unchanged.as_slice(), d.changed.as_slice()),
        (&["VI_1".to_string()][..], &["VI_2".to_string()][..])
    );

    let mut added = new.clone();
    added.instances.remove(0);
    let d = Config::diff(&old, &added);
    assert_eq!(d.removed, ["VI_1"]);
    let d = Config::diff(&added, &old);
    assert_eq!(d.added, ["VI_1"]);
}

#[test]
fn diff_sees_inherited_and_group_changes() {
    let old = two_instances(100, "");
    let d = Config::diff(&old, &two_instances(100, "garp_master_repeat = 2"));
    assert_eq!(
        d.changed,
        ["VI_1", "VI_2"],
        "a [global] default reaches every instance"
    );
    assert!(!d.global_changed);

    let d = Config::diff(&old, &two_instances(100, "router_id = \"lb9\""));
    assert!(d.global_changed && d.changed.is_empty());

    let mut grouped = old.clone();
    grouped.sync_groups.push(vigil_config::SyncGroupSpec {
        name: "G".into(),
        instances: vec!["VI_1".into(), "VI_2".into()],
    });
    let d = Config::diff(&old, &grouped);
    assert!(d.sync_groups_changed);
    assert_eq!(d.changed, ["VI_1", "VI_2"]);
}

// ---------------------------------------------------------------- round trips

const FULL: &str = r#"
[global]
router_id = "lb1"
control_socket = "/run/vigil/other.sock"
vrrp_version = 3
garp_master_delay = "2.5s"
garp_master_repeat = 7
garp_master_refresh = "90s"
garp_master_refresh_repeat = 2
garp_interval = "0.000001s"
gna_interval = "15ms"
lower_prio_no_advert = true
v3_checksum_as_v2 = true
check_unicast_src = false

[[instance]]
name = "VI \"quoted\" \\ name"
interface = "eth0"
vrid = 51
priority = 255
advert_interval = "20ms"
state = "master"
preempt = false
preempt_delay = "1.25s"
accept = true
virtual_addresses = [
  "192.0.2.100/24",
  { address = "192.0.2.101", dev = "eth1", label = "eth1:x", scope = "host" },
]
unicast_source = "192.0.2.11"
unicast_peers = ["192.0.2.12", "192.0.2.13"]
use_vmac = "vm51"
vmac_xmit_base = true
check_addresses = false
check_unicast_src = true
unicast_min_ttl = 3
garp_master_delay = "0s"
garp_master_repeat = 1
garp_master_refresh = "0s"
garp_master_refresh_repeat = 255
lower_prio_no_advert = false
v3_checksum_as_v2 = false

[[instance]]
name = "VI_6"
interface = "eth0"
vrid = 51
priority = 1
version = 3
virtual_addresses = ["fe80::1/64", { address = "2001:db8::1/64", no_dad = false }]

[[instance]]
name = "VI_2"
interface = "eth0"
vrid = 52
priority = 100
version = 2
authentication = { type = "pass", password = "p\u00e9ss" }
virtual_addresses = []

[[sync_group]]
name = "G"
instances = ["VI_6", "VI_2"]
"#;

#[test]
fn to_toml_round_trips() {
    let c = ok(FULL);
    let text = c.to_toml();
    let again = Config::parse(&text, "canonical.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(c, again, "{text}");
    assert_eq!(again.to_toml(), text, "canonical form is a fixed point");
    assert_eq!(c.instances[0].name, "VI \"quoted\" \\ name");
    assert_eq!(c.global.garp_interval, Duration::from_micros(1));
}

#[test]
fn to_toml_round_trips_the_minimal_config() {
    let c = ok(&inst(""));
    assert_eq!(ok(&c.to_toml()), c);
}

#[test]
fn json_uses_the_written_forms() {
    let c = ok(FULL);
    let v = serde_json::to_value(&c).unwrap();
    assert_eq!(v["instances"][0]["advert_interval"], "20ms");
    assert_eq!(v["instances"][0]["preempt_delay"], "1.25s");
    assert_eq!(v["instances"][0]["vips"][1]["scope"], "host");
    assert_eq!(v["instances"][2]["authentication"]["type"], "pass");
    assert_eq!(v["global"]["garp_master_delay"], "2.5s");
    let e = Config::parse(&inst("priority = 1\n"), "x.toml").unwrap_err();
    let j = serde_json::to_value(&e).unwrap();
    assert_eq!(j[0]["line"], 7);
    assert_eq!(j[0]["kind"]["kind"], "syntax");
}

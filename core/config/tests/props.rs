//! Properties: no input makes either parser panic, and whatever the importer
//! produces is a valid configuration that survives a round trip.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use vigil_config::keepalived::{convert_str, ImportOptions};
use vigil_config::Config;

/// Words keepalived configs are made of, valid and not.
const WORDS: &[&str] = &[
    "vrrp_instance",
    "VI_1",
    "VI_2",
    "{",
    "}",
    "state",
    "MASTER",
    "BACKUP",
    "interface",
    "eth0",
    "eth1",
    "virtual_router_id",
    "51",
    "52",
    "0",
    "256",
    "priority",
    "100",
    "255",
    "advert_int",
    "1",
    "0.5",
    "version",
    "2",
    "3",
    "nopreempt",
    "preempt_delay",
    "accept",
    "no_accept",
    "authentication",
    "auth_type",
    "PASS",
    "AH",
    "auth_pass",
    "secret123",
    "virtual_ipaddress",
    "10.0.0.1/24",
    "10.0.0.2",
    "fe80::1/64",
    "2001:db8::1",
    "dev",
    "label",
    "eth0:1",
    "scope",
    "link",
    "brd",
    "-nodad",
    "unicast_src_ip",
    "10.0.0.11",
    "unicast_peer",
    "10.0.0.12",
    "min_ttl",
    "use_vmac",
    "vmac_xmit_base",
    "garp_master_delay",
    "garp_master_repeat",
    "lower_prio_no_advert",
    "skip_check_adv_addr",
    "check_unicast_src",
    "vrrp_sync_group",
    "G1",
    "group",
    "global_defs",
    "router_id",
    "vrrp_version",
    "vrrp_strict",
    "vrrp_garp_interval",
    "track_script",
    "notify",
    "\"quoted word\"",
    "#",
    "!",
    "$X=eth9",
    "$X",
    "${X}",
    "@a",
    "\n",
    "\n",
    "\n",
    "\n",
];

fn keepalived_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(WORDS), 0..120).prop_map(|w| {
        let mut s = String::new();
        for x in w {
            s.push_str(x);
            s.push(if x == "\n" { '\n' } else { ' ' });
        }
        s
    })
}

/// Structured configs: most convert, exercising the defaults and adjustments.
fn keepalived_config() -> impl Strategy<Value = String> {
    let opt = prop::sample::select(
        &[
            "state MASTER",
            "state BACKUP",
            "priority 100",
            "priority 255",
            "priority 0",
            "advert_int 1",
            "advert_int 1.5",
            "advert_int 0.01",
            "advert_int 45",
            "version 2",
            "version 3",
            "nopreempt",
            "preempt",
            "preempt_delay 5",
            "accept",
            "no_accept",
            "authentication {\n auth_type PASS\n auth_pass 123456789\n}",
            "authentication {\n auth_type PASS\n}",
            "unicast_src_ip 10.0.0.11",
            "unicast_src_ip fe80::11",
            "unicast_peer {\n 10.0.0.12 min_ttl 3\n 10.0.0.13\n}",
            "use_vmac",
            "use_vmac vm1",
            "vmac_xmit_base",
            "garp_master_delay 0",
            "garp_master_repeat 0",
            "garp_master_refresh 30",
            "lower_prio_no_advert",
            "skip_check_adv_addr off",
            "check_unicast_src",
            "v3_checksum_as_v2",
            "strict_mode",
            "unicast_ttl 255",
            "track_script {\n chk\n}",
            "virtual_ipaddress_excluded {\n 10.9.0.1\n}",
        ][..],
    );
    let vip = prop::sample::select(
        &[
            "10.0.0.1/24",
            "10.0.0.2",
            "10.0.0.3/24 dev eth1 label eth1:3",
            "10.0.0.4 brd +",
            "fe80::1/64",
            "2001:db8::1/64 -nodad",
            "10.0.0.5/24 scope 253",
        ][..],
    );
    let instance = (
        0u8..3,
        0u8..4,
        prop::collection::vec(opt, 0..8),
        prop::collection::vec(vip, 0..3),
    )
        .prop_map(|(iface, vrid, opts, vips)| {
            let mut s = format!("interface eth{iface}\nvirtual_router_id {}\n", vrid + 1);
            for o in opts {
                s.push_str(o);
                s.push('\n');
            }
            s.push_str("virtual_ipaddress {\n");
            for v in vips {
                s.push_str(v);
                s.push('\n');
            }
            s.push_str("}\n");
            s
        });
    let global = prop::collection::vec(
        prop::sample::select(
            &[
                "router_id r1",
                "vrrp_version 3",
                "vrrp_strict",
                "vrrp_garp_master_repeat 0",
                "vrrp_garp_interval 0.001",
                "vrrp_check_unicast_src",
                "vrrp_skip_check_adv_addr",
                "vrrp_lower_prio_no_advert false",
                "notification_email {\n a@b\n}",
            ][..],
        ),
        0..4,
    );
    (global, prop::collection::vec(instance, 1..4), any::<bool>()).prop_map(|(g, insts, group)| {
        let mut s = format!("global_defs {{\n{}\n}}\n", g.join("\n"));
        for (n, body) in insts.iter().enumerate() {
            s.push_str(&format!("vrrp_instance VI_{n} {{\n{body}}}\n"));
        }
        if group {
            let names: Vec<String> = (0..insts.len()).map(|n| format!("VI_{n}")).collect();
            s.push_str(&format!(
                "vrrp_sync_group G {{\n group {{\n {}\n }}\n}}\n",
                names.join(" ")
            ));
        }
        s
    })
}

proptest! {
    #[test]
    fn structured_imports_are_valid_and_round_trip(text in keepalived_config()) {
        if let Ok(c) = convert_str(&text, "/nonexistent/gen.conf", &ImportOptions::default()) {
            let cfg = Config::parse(&c.toml, "converted.toml")
                .unwrap_or_else(|e| panic!("{e}\n--- input ---\n{text}\n--- output ---\n{}", c.toml));
            for i in &cfg.instances {
                let primary = match i.family() {
                    vigil_vrrp::Family::V4 => "10.0.0.250".parse().unwrap(),
                    vigil_vrrp::Family::V6 => "fe80::250".parse().unwrap(),
                };
                prop_assert!(i.engine_config(primary).validate().is_ok(), "{:?}", i);
            }
            let again = Config::parse(&cfg.to_toml(), "canonical.toml").unwrap();
            prop_assert_eq!(cfg, again);
        }
    }

    #[test]
    fn config_parse_never_panics(s in "\\PC{0,300}") {
        let _ = Config::parse(&s, "fuzz.toml");
    }

    #[test]
    fn config_parse_of_toml_like_text_never_panics(
        lines in prop::collection::vec(
            prop::sample::select(&[
                "[global]", "[[instance]]", "[[sync_group]]", "name = \"a\"", "name = \"b\"",
                "interface = \"eth0\"", "vrid = 1", "vrid = 0", "priority = 1", "priority = 999",
                "version = 3", "advert_interval = \"10ms\"", "advert_interval = 1",
                "virtual_addresses = [\"1.2.3.4/33\", { address = \"::1\", no_dad = true }]",
                "unicast_peers = [\"1.2.3.4\", \"::2\"]", "instances = [\"a\", \"a\", \"z\"]",
                "authentication = { type = \"pass\" }", "use_vmac = true", "x = 1", "[instance]",
            ][..]),
            0..40,
        )
    ) {
        let _ = Config::parse(&lines.join("\n"), "fuzz.toml");
    }

    #[test]
    fn import_never_panics_and_its_output_is_valid(text in keepalived_text()) {
        if let Ok(c) = convert_str(&text, "/nonexistent/fuzz.conf", &ImportOptions::default()) {
            let cfg = Config::parse(&c.toml, "converted.toml")
                .unwrap_or_else(|e| panic!("{e}\n--- input ---\n{text}\n--- output ---\n{}", c.toml));
            let again = Config::parse(&cfg.to_toml(), "canonical.toml").unwrap();
            prop_assert_eq!(cfg, again);
        }
    }

    #[test]
    fn import_of_arbitrary_text_never_panics(s in "\\PC{0,300}") {
        let _ = convert_str(&s, "/nonexistent/fuzz.conf", &ImportOptions::default());
    }
}

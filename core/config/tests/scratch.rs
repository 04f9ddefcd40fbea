use vigil_config::Config;
#[test]
fn scratch() {
    let t = r#"
[global]
vrrp_version = 2
bogus = 1

[[instance]]
name = "VI_1"
interface = "eth0"
vrid = 0
priority = 300
advert_interval = 5
virtual_addresses = ["192.0.2.100/24", { address = "192.0.2.101/33", devv = "eth1" }]

[[instance]]
name = "VI_2"
interface = "eth0"
vrid = 51
priority = 100
advert_interval = "1.5s"
authentication = { type = "pass", password = "secret123" }
virtual_addresses = ["192.0.2.100/24", "2001:db8::1"]
unicast_source = "2001:db8::5"

[[instance]]
interface = "eth0"
vrid = 51
priority = 100

[[sync_group]]
name = "G"
instances = ["VI_1", "VI_2", "VI_3", "VI_2"]
"#;
    match Config::parse(t, "vigil.toml") {
        Ok(c) => println!("{c:#?}"),
        Err(e) => println!("{e}"),
    }
}

//! The configuration as written: serde structs that mirror the TOML schema
//! one to one, reject unknown keys, and keep each value's byte span so that
//! [`crate::validate`] can point at the line of a semantic mistake.
//!
//! Values that need checking beyond their TOML type (numbers with ranges,
//! addresses, durations, enumerated words) are kept loose here (`i64`,
//! `String`, [`RawDuration`]) so that every such mistake becomes a precise
//! validation error, and all of them are reported rather than the first.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

/// `[global]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGlobal {
    pub router_id: Option<Spanned<String>>,
    pub control_socket: Option<Spanned<String>>,
    pub vrrp_version: Option<Spanned<i64>>,
    pub garp_master_delay: Option<Spanned<RawDuration>>,
    pub garp_master_repeat: Option<Spanned<i64>>,
    pub garp_master_refresh: Option<Spanned<RawDuration>>,
    pub garp_master_refresh_repeat: Option<Spanned<i64>>,
    pub garp_interval: Option<Spanned<RawDuration>>,
    pub gna_interval: Option<Spanned<RawDuration>>,
    pub lower_prio_no_advert: Option<Spanned<bool>>,
    pub v3_checksum_as_v2: Option<Spanned<bool>>,
    pub check_unicast_src: Option<Spanned<bool>>,
    pub plugin_dir: Option<Spanned<String>>,
    pub plugin_cache_dir: Option<Spanned<String>>,
}

/// One `[[instance]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInstance {
    pub name: Spanned<String>,
    pub interface: Spanned<String>,
    pub vrid: Spanned<i64>,
    pub priority: Spanned<i64>,
    pub version: Option<Spanned<i64>>,
    pub advert_interval: Option<Spanned<RawDuration>>,
    pub state: Option<Spanned<String>>,
    pub preempt: Option<Spanned<bool>>,
    pub preempt_delay: Option<Spanned<RawDuration>>,
    pub accept: Option<Spanned<bool>>,
    pub authentication: Option<Spanned<RawAuth>>,
    #[serde(default)]
    pub virtual_addresses: Vec<Spanned<RawVip>>,
    pub unicast_source: Option<Spanned<String>>,
    #[serde(default)]
    pub unicast_peers: Vec<Spanned<String>>,
    pub use_vmac: Option<Spanned<RawVmac>>,
    pub vmac_xmit_base: Option<Spanned<bool>>,
    pub check_addresses: Option<Spanned<bool>>,
    pub check_unicast_src: Option<Spanned<bool>>,
    pub unicast_min_ttl: Option<Spanned<i64>>,
    pub garp_master_delay: Option<Spanned<RawDuration>>,
    pub garp_master_repeat: Option<Spanned<i64>>,
    pub garp_master_refresh: Option<Spanned<RawDuration>>,
    pub garp_master_refresh_repeat: Option<Spanned<i64>>,
    pub lower_prio_no_advert: Option<Spanned<bool>>,
    pub v3_checksum_as_v2: Option<Spanned<bool>>,
    #[serde(default)]
    pub track_checks: Vec<Spanned<RawTrack>>,
    #[serde(default)]
    pub track_interfaces: Vec<Spanned<RawTrack>>,
    #[serde(default)]
    pub track_files: Vec<Spanned<RawTrack>>,
}

/// The long form of a tracked object: exactly one of `check`, `interface`,
/// `file` (the one its list is about), and an optional weight.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTrackTable {
    pub check: Option<Spanned<String>>,
    pub interface: Option<Spanned<String>>,
    pub file: Option<Spanned<String>>,
    pub weight: Option<Spanned<i64>>,
    pub reverse: Option<Spanned<bool>>,
}

/// A tracked object: `"name"` (no weight: Fault while down) or the table.
#[derive(Debug)]
pub(crate) enum RawTrack {
    Short(String),
    Full(RawTrackTable),
}

impl<'de> Deserialize<'de> for RawTrack {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawTrack;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a name like \"web\" or a table { check = \"web\", weight = -20 }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawTrack, E> {
                Ok(RawTrack::Short(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawTrack, A::Error> {
                RawTrackTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawTrack::Full)
            }
        }
        d.deserialize_any(V)
    }
}

/// `authentication = { type = "pass", password = "..." }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAuth {
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    pub password: Option<Spanned<String>>,
}

/// One `[[sync_group]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSyncGroup {
    pub name: Spanned<String>,
    pub instances: Vec<Spanned<String>>,
}

/// The long form of a virtual address.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVipTable {
    pub address: Spanned<String>,
    pub dev: Option<Spanned<String>>,
    pub label: Option<Spanned<String>>,
    pub scope: Option<Spanned<String>>,
    pub no_dad: Option<Spanned<bool>>,
}

/// A virtual address: `"192.0.2.1/24"` or `{ address = "...", dev = ... }`.
#[derive(Debug)]
pub(crate) enum RawVip {
    Short(String),
    Full(RawVipTable),
}

impl<'de> Deserialize<'de> for RawVip {
    // Hand-written rather than `#[serde(untagged)]` so that a mistake inside
    // the table form (an unknown key) keeps its own message and position.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawVip;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an address string like \"192.0.2.1/24\" or a table { address = \"...\", dev = \"...\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawVip, E> {
                Ok(RawVip::Short(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawVip, A::Error> {
                RawVipTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawVip::Full)
            }
        }
        d.deserialize_any(V)
    }
}

/// `use_vmac = true | false | "name"`.
#[derive(Debug)]
pub(crate) enum RawVmac {
    Flag(bool),
    Name(String),
}

impl<'de> Deserialize<'de> for RawVmac {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawVmac;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false, or the VMAC interface name")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawVmac, E> {
                Ok(RawVmac::Flag(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawVmac, E> {
                Ok(RawVmac::Name(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A duration as written. Numbers are accepted here only to be refused by
/// validation with a hint that names the unit.
#[derive(Debug)]
pub(crate) enum RawDuration {
    Text(String),
    Number(String),
}

impl<'de> Deserialize<'de> for RawDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string such as \"1s\" or \"100ms\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawDuration, E> {
                Ok(RawDuration::Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawDuration, E> {
                Ok(RawDuration::Number(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawDuration, E> {
                Ok(RawDuration::Number(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawDuration, E> {
                Ok(RawDuration::Number(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}
